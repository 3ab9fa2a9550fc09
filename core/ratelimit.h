/* ratelimit.h - token buckets keyed by a string (account/region), shared by
 * every thread, with an injected clock. No I/O, no sleeping: the caller is
 * told how long to wait.
 *
 * CloudTrail allows 2 LookupEvents calls per second per account and region;
 * the CloudTrail client reserves a slot here before each call so that the
 * worker never causes throttling, however many changes are in flight.
 */
#ifndef WC_RATELIMIT_H
#define WC_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

/* Keys tracked at once (review finding 14: keys come from messages). When
 * full, idle buckets are dropped (nothing is lost: a new bucket behaves the
 * same), and if none is idle the one whose reservations end first. */
#define WC_RATELIMIT_MAX_KEYS 1024

struct wc_ratelimit;

/* rate_per_s > 0 tokens per second, burst >= 1 bucket size. The clock's
 * monotonic time is used (copied; NULL: the system clock). */
struct wc_ratelimit *wc_ratelimit_new(double rate_per_s, double burst,
                                      const struct wc_clock *clock);
void wc_ratelimit_destroy(struct wc_ratelimit *rl);

/* Reserve the next token for key. Returns the milliseconds the caller must
 * wait before using it (0: go now), or a negative wc_err. Reservations are
 * first come, first served: each caller gets its own future slot. */
int64_t wc_ratelimit_reserve(struct wc_ratelimit *rl, const char *key);

/* Push key's next slot back by delay_ms (after the service throttled us). */
int wc_ratelimit_penalize(struct wc_ratelimit *rl, const char *key, int64_t delay_ms);

/* Keys tracked now (at most WC_RATELIMIT_MAX_KEYS). */
size_t wc_ratelimit_keys(struct wc_ratelimit *rl);

#endif
