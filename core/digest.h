/* digest.h - human findings by the same actor session within a window go
 * into one notice. No I/O, no threads, not thread-safe (the owner,
 * core/pipeline.c, serialises).
 *
 * The actor session of a finding is its first human match's principal
 * (userIdentity.arn, else the account and user name) together with the
 * session: the access key id when CloudTrail gives one, else the session
 * name. Two findings with equal keys were made by the same person in the
 * same sign-in.
 *
 * A group opens with its first finding and closes window_ms later (or when
 * it holds max_findings); wc_digest_take_due hands out closed groups, oldest
 * first, findings in the order they were added.
 */
#ifndef WC_DIGEST_H
#define WC_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/finding.h"

#define WC_DIGEST_DEFAULT_MAX_FINDINGS 200

struct wc_digest_options {
    int64_t window_ms;     /* > 0 (0 = off is the caller's: it skips the digest) */
    size_t max_findings;   /* per group; 0: WC_DIGEST_DEFAULT_MAX_FINDINGS */
};

struct wc_digest;

struct wc_digest *wc_digest_new(const struct wc_digest_options *o);
void wc_digest_destroy(struct wc_digest *d);

/* The actor-session key of f (human verdict with at least one match):
 * appended to out. WC_ERR_INVALID when f has none. */
int wc_digest_key(const struct wc_finding *f, struct wc_buf *out);

/* Add f (borrowed until it comes out of wc_digest_take_due) with the
 * caller's token. now_ms: monotonic. */
int wc_digest_add(struct wc_digest *d, const struct wc_finding *f, uint64_t token,
                  int64_t now_ms);

struct wc_digest_group {
    const struct wc_finding **findings; /* n, in the order added */
    uint64_t *tokens;                   /* n */
    size_t n;
    char *key;
};
#define WC_DIGEST_GROUP_INIT {NULL, NULL, 0, NULL}

/* Pop the oldest group that is due (its window has passed, or it is full,
 * or flush is true: every group is due). false when none. */
bool wc_digest_take_due(struct wc_digest *d, int64_t now_ms, bool flush,
                        struct wc_digest_group *out);
void wc_digest_group_clean_up(struct wc_digest_group *g);

/* Monotonic time the next group is due; INT64_MAX when none is open. */
int64_t wc_digest_next_due_ms(const struct wc_digest *d);
size_t wc_digest_open_findings(const struct wc_digest *d);

#endif
