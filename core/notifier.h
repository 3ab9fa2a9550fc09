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

/* What a send is about: one or more findings caused by the same CloudTrail
 * event (coalesced into one message), all with the same verdict. */
struct wc_notice {
    const struct wc_finding *const *findings;
    size_t n_findings;
    const char *account_alias; /* may be NULL */
};

struct wc_send_result {
    int64_t retry_after_ms; /* set with WC_ERR_THROTTLED when the service said so */
    long http_status;       /* last status seen, 0 if none */
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
    void (*destroy)(struct wc_notifier *n);
};

struct wc_notifier {
    const struct wc_notifier_vtable *vtable;
    void *impl;
    char *id;               /* stable name for dedup state, e.g. "slack#0" */
    unsigned verdict_mask;  /* which verdicts it receives */
};

int wc_notifier_render(struct wc_notifier *n, const struct wc_notice *notice, struct wc_buf *out);
int wc_notifier_send(struct wc_notifier *n, const struct wc_notice *notice,
                     struct wc_send_result *result);
int wc_notifier_reopen(struct wc_notifier *n);
void wc_notifier_destroy(struct wc_notifier *n);
bool wc_notifier_wants(const struct wc_notifier *n, enum wc_verdict v);

#endif
