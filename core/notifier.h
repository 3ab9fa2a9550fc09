/* notifier.h - the notifier port: where findings go (Slack, webhook, JSON lines).
 *
 * core/ declares it; each backend is one file in notifiers/ with a static
 * const vtable, found by name in a NULL-terminated registry. Backends speak
 * HTTP only through core/http.h.
 */
#ifndef WC_NOTIFIER_H
#define WC_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/finding.h"

/* What a send is about: one finding, or a digest - several findings with
 * the same verdict by the same actor session (core/digest.h), in one
 * message. A digest too long for one message is split by the caller
 * (vtable->fit); part > 1 of such a digest names the actor again and, where
 * the backend can, replies in the thread of part 1 (thread_ts). */
struct wc_notice {
    const struct wc_finding *const *findings;
    size_t n_findings;
    const char *account_alias; /* may be NULL */
    const char *thread_ts;     /* reply in this thread (Slack API); NULL: none */
    int part, parts;           /* 1-based part of a split digest; 0, 0: not split */
};

#define WC_THREAD_TS_MAX 64

struct wc_send_result {
    int64_t retry_after_ms; /* set with WC_ERR_THROTTLED when the service said so */
    long http_status;       /* last status seen, 0 if none */
    char thread_ts[WC_THREAD_TS_MAX]; /* the posted message's ts when known ("" else) */
};

struct wc_notifier;

struct wc_notifier_vtable {
    const char *name;
    /* The payload this backend would send (used by --dry-run and tests). */
    int (*render)(struct wc_notifier *n, const struct wc_notice *notice, struct wc_buf *out);
    /* Deliver. WC_OK when accepted (2xx); WC_ERR_THROTTLED (retry_after_ms set
     * if known), WC_ERR_TIMEOUT, WC_ERR_HTTP or WC_ERR_SERVICE (5xx) when a
     * later attempt may succeed; WC_ERR_INVALID / WC_ERR_AUTH when it will not
     * (other 4xx). A backend may retry within one call, bounded. */
    int (*send)(struct wc_notifier *n, const struct wc_notice *notice,
                struct wc_send_result *result);
    /* Reopen files after log rotation (SIGHUP); NULL if not needed. */
    int (*reopen)(struct wc_notifier *n);
    /* How many of notice's findings, from the first, fit in one message
     * (>= 1; a single finding always "fits", shortened if need be). NULL:
     * one finding per message (JSON lines, webhook: one finding per change). */
    size_t (*fit)(struct wc_notifier *n, const struct wc_notice *notice);
    void (*destroy)(struct wc_notifier *n);
};

struct wc_notifier {
    const struct wc_notifier_vtable *vtable;
    void *impl;
    char *id;               /* stable name for dedup state, e.g. "slack#0" */
    unsigned verdict_mask;  /* which verdicts it receives */
    int64_t min_interval_ms;/* at most one send per this (Slack: ~1 s); 0: no pacing */
};

int wc_notifier_render(struct wc_notifier *n, const struct wc_notice *notice, struct wc_buf *out);
int wc_notifier_send(struct wc_notifier *n, const struct wc_notice *notice,
                     struct wc_send_result *result);
int wc_notifier_reopen(struct wc_notifier *n);
void wc_notifier_destroy(struct wc_notifier *n);
bool wc_notifier_wants(const struct wc_notifier *n, enum wc_verdict v);
/* vtable->fit, clamped to 1..notice->n_findings; 1 without fit. */
size_t wc_notifier_fit(struct wc_notifier *n, const struct wc_notice *notice);
/* True when the backend takes digests (it has fit). */
bool wc_notifier_digests(const struct wc_notifier *n);

#endif
