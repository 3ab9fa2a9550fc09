/* scheduler.h - which CloudTrail LookupEvents call to make next, for the
 * changes waiting for their events. No I/O, no threads, no sleeping: the
 * owner (core/pipeline.c) serialises every call and carries the calls out.
 *
 * Changes are grouped by account and lookup region ("account-region"),
 * each with its own budget: an adaptive token bucket whose ceiling is
 * rate_per_s (CloudTrail: 2 calls/s per account-region), lowered when calls
 * are throttled and raised again after a quiet spell (wc_adaptive_* below),
 * so that several workers sharing one account-region's budget converge on
 * it without a coordinator.
 *
 * For each account-region with waiting changes and a token, in round-robin
 * order (a burst in one never delays another), the scheduler picks:
 *   - per-resource lookups for one change (the oldest): exactly the plan of
 *     wc_trail_lookup_change (related EventIds, then ResourceName id, name,
 *     ARN; every page; stop at the first lookup that finds a write), one
 *     call (page) at a time; or
 *   - a scan: LookupAttributes ReadOnly=false over [earliest capture - skew,
 *     latest capture + skew] of the waiting changes, every page, after which
 *     every change the scan was made for is answered with
 *     wc_trail_lookup_change_in (the same verdict as one-by-one lookups).
 * A scan is chosen when it is estimated to cost fewer calls than the
 * per-resource lookups of the changes it covers: one call per page of
 * page_size events, the number of write events in the window estimated
 * from the rate (write events per second) learned from earlier scans of the
 * same account-region; per-resource lookups cost about one call per change.
 * A change whose window is wider than capture +- skew (periodic
 * recording, lookback_s in change.h) is never scanned for: it gets
 * per-resource lookups over its own window. A burst still arriving settles
 * first (settle_ms) so that one scan covers it. A scan's window is narrowed
 * (oldest changes first) to stay within max_scan_pages. At most one lookup
 * (scan or per-resource) is under way per account-region; changes added
 * meanwhile wait for the next.
 *
 * Every change added comes out exactly once through wc_sched_take, with its
 * events or an error (after wc_sched_remove, never).
 */
#ifndef WC_SCHEDULER_H
#define WC_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "core/event.h"
#include "core/trail.h"

#define WC_SCHED_DEFAULT_RATE 2.0
#define WC_SCHED_DEFAULT_PAGE_SIZE 50
#define WC_SCHED_DEFAULT_MAX_SCAN_PAGES 20
#define WC_SCHED_DEFAULT_MAX_REGIONS 16384
/* A change whose window reaches further back than this before its capture
 * (change.h lookback_s: periodic recording, 24 h) is never part of a scan:
 * per-resource lookups only. */
#define WC_SCHED_SCAN_MAX_LOOKBACK_S 0
/* The worker's settle_ms (see wc_sched_options). Settling pays only when
 * calls are scarce: an account-region whose rate is this high or more
 * (a raised lookups_per_second) does not wait. */
#define WC_SCHED_SETTLE_MS 500
#define WC_SCHED_SETTLE_BELOW_RATE 5.0

struct wc_sched_options {
    double rate_per_s;   /* ceiling per account-region; 0: 2 */
    int skew_s;          /* correlation window: capture +- skew_s (> 0) */
    bool no_scan;        /* true: per-resource lookups only (the baseline) */
    int page_size;       /* 0: 50 */
    int max_scan_pages;  /* 0: 20 */
    size_t max_regions;  /* account-regions remembered (idle ones evicted); 0: default */
    int settle_ms;       /* several changes waiting in one account-region (a burst
                          * arriving) wait until none has joined for this long, at
                          * most 4 times it after the first; a lone change never
                          * waits, nor does an account-region whose rate is
                          * WC_SCHED_SETTLE_BELOW_RATE or more. 0: no settling */
    int64_t wall_offset_ms; /* the wall clock less the clock now_ms reads: workers
                             * sharing a budget call in slots of wall time */
};

struct wc_sched;

struct wc_sched *wc_sched_new(const struct wc_sched_options *o);
void wc_sched_destroy(struct wc_sched *s);

/* Change skew for changes added from now on (SIGHUP). */
void wc_sched_set_skew(struct wc_sched *s, int skew_s);

/* Change c waits for its events. id is the caller's (unique among waiting
 * changes); c is copied. now_ms: monotonic. */
int wc_sched_add(struct wc_sched *s, uint64_t id, const struct wc_change *c, int64_t now_ms);

/* Forget id (shutdown, lease lost): it will not come out of wc_sched_take.
 * A call under way for it still completes normally. */
void wc_sched_remove(struct wc_sched *s, uint64_t id);

/* One LookupEvents call: one page of one query. */
struct wc_sched_call {
    uint64_t call_id;
    struct wc_trail_query query; /* strings owned by the scheduler until wc_sched_done */
    const char *token;           /* NextToken, NULL for the first page */
    bool scan;                   /* part of a scan (for metrics and logs) */
};

/* The next call that may go now. true: *out filled (answer it with
 * wc_sched_done). false: nothing may go now; *wake_ms (monotonic) is when a
 * call could (INT64_MAX when no change waits or every account-region has a
 * call under way). */
bool wc_sched_next(struct wc_sched *s, int64_t now_ms, struct wc_sched_call *out,
                   int64_t *wake_ms);

/* The answer to call_id: rc WC_OK with the page's events (moved out of
 * page; page->next_token read), or an error. WC_ERR_THROTTLED lowers the
 * account-region's rate and the same page is asked again later; any other
 * error ends the lookup: its changes come out with that error. */
int wc_sched_done(struct wc_sched *s, uint64_t call_id, int rc, struct wc_event_list *page,
                  int64_t now_ms);

/* A change whose lookup has ended. */
struct wc_sched_result {
    uint64_t id;
    int rc;                        /* WC_OK or the lookup's error */
    struct wc_event_list events;   /* owned by the caller: wc_event_list_clean_up */
    size_t calls;                  /* calls made for it (a scan's are shared: counted once,
                                    * on the first change it answered) */
    bool from_scan;
};

/* Pop one ended change. false when none. */
bool wc_sched_take(struct wc_sched *s, struct wc_sched_result *out);

struct wc_sched_stats {
    uint64_t calls;        /* answered calls (pages) */
    uint64_t throttled;    /* of which ThrottlingException */
    uint64_t scans;        /* scans completed */
    uint64_t per_resource; /* per-resource lookups completed */
    size_t waiting;        /* changes waiting (not under way) */
    size_t regions;        /* account-regions remembered */
};
void wc_sched_get_stats(const struct wc_sched *s, struct wc_sched_stats *out);

/* --- the adaptive rate, on its own (exposed for tests) ----------------------
 * A ladder of rungs that every worker shares. Rung 1 (alone): calls at the
 * ceiling less 10%, at once when idle. Rungs L >= 2 (sharing): calls only
 * in slots, instants 1.21 s apart (at 2/s) counted from the wall clock's
 * epoch so that workers on any host see the same slots; a strict
 * one-second window never holds two slots, so a slot takes as many calls
 * as the ceiling allows in a second (2). On rung L a worker calls in one
 * slot of every L - 1 (its phase) and keeps that phase across idle spells:
 * 2 (L - 1) workers fit.
 *   - A throttle on rung 1 means another worker (or tool) shares the
 *     budget: down to rung 3 at once.
 *   - A throttle on rung L >= 2 means the slot was taken: the same call
 *     goes at the next slot, a new phase. L - 1 throttles without a
 *     success (every phase tried), throttles that keep coming for 8 s, or
 *     a fifth run of throttles within a minute: more workers than places,
 *     down to rung L + 1.
 *   - probe_wait_ms (5 min) after the last throttle, one rung up if the
 *     worker's calls have been taking back-to-back slots (it needs more);
 *     a throttle before the next step is due takes the step back, to the
 *     phase held before, and doubles probe_wait_ms (up to 32 min); a step
 *     that holds halves it (not below 5 min).
 * The AWS SDKs' adaptive mode (CUBIC on a continuous rate) was tried
 * first: against a strict sliding one-second window, workers on unequal
 * rates drift in phase and keep colliding (over 10% of calls throttled
 * with three workers, however slow the probing); continuous phases walked
 * in small steps converged with steady demand but not when demand comes
 * and goes (over 4% throttled). tests/unit/test_scheduler.c simulates
 * three workers against such a window, busy and live. */
struct wc_adaptive_rate {
    double ceiling;         /* calls/s (the service's limit) */
    double rate;            /* the rung's calls/s */
    double origin_ms;       /* the clock's reading at the wall clock's epoch */
    double next_ms;         /* the next call's instant (a slot on rungs >= 2) */
    int level;              /* the rung, 1 ... */
    int strikes;            /* throttles in the strike window (rung 1) or episode */
    int64_t strike_start_ms;
    int bursts;             /* runs of throttles (rung >= 2) within the burst window */
    int64_t burst_start_ms;
    int walked;             /* phases tried since the last success (rung >= 2) */
    int64_t last_throttle_ms;
    int64_t probe_at_ms;    /* next step up, if no throttle before */
    int64_t probe_wait_ms;
    int64_t probed_ms;      /* when the last step up was taken; 0: none on trial */
    double last_slot_ms;    /* the slot of the last call (rungs >= 2) */
    int64_t busy_ms;        /* when a call last took the slot after its last one's */
    double probe_phase_ms;  /* a slot of the phase held before the step on trial */
};
/* wall_offset_ms: the wall clock less the clock that now_ms reads (0 when
 * now_ms is the wall clock). */
void wc_adaptive_init_at(struct wc_adaptive_rate *a, double ceiling, int64_t now_ms,
                         int64_t wall_offset_ms);
void wc_adaptive_init(struct wc_adaptive_rate *a, double ceiling, int64_t now_ms);
/* 0 when a call may go now (its slot is taken), else ms until one may. */
int64_t wc_adaptive_acquire(struct wc_adaptive_rate *a, int64_t now_ms);
/* Ms until a call may go (without taking the slot). */
int64_t wc_adaptive_wait_ms(struct wc_adaptive_rate *a, int64_t now_ms);
void wc_adaptive_on_success(struct wc_adaptive_rate *a, int64_t now_ms);
void wc_adaptive_on_throttle(struct wc_adaptive_rate *a, int64_t now_ms);

#endif
