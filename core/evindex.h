/* evindex.h - a bounded in-memory index of streamed CloudTrail events
 * (issue 10): the events queue's write events, by account, region and the
 * names a LookupEvents ResourceName lookup finds them by, so that the
 * question "which events of account A, region R, in window [t0, t1] could
 * name change C" costs a few hash probes. No I/O, no threads, no clock: the
 * owner passes now_ms (the wall clock, in ms: event times are wall times)
 * and serialises the calls.
 *
 * The verdict is not the index's: wc_evindex_lookup_change hands the
 * candidate events to wc_trail_lookup_change_in (core/trail.h), the very
 * function that answers a change from a LookupEvents scan. Every event that
 * some lookup of c's plan (related EventIds, ResourceName id / name / ARN,
 * in c's account and lookup region, in c's window) would return is a
 * candidate, so the result is what the scan path finds from the same events
 * (tests/unit/test_evindex.c checks it on the scheduler's 300-change
 * scenario). The names an event is found by are its resources[].name
 * entries: LookupEvents' Resources, or for a streamed event the names
 * wc_evstream_parse derived the same way.
 *
 * Bounds: an event is kept while its eventTime is within retention_ms of
 * now, and while the index's memory - every byte it allocates, strings and
 * tables included, counted as the allocator rounds them - stays within
 * max_bytes: the oldest events (by eventTime) go first. An event older than
 * the retention is refused when it arrives. The same eventID (in the same
 * account-region) is held once. wc_evindex_horizon_ms says from when on the
 * index is complete (nothing evicted), so the owner can tell a window the
 * index can answer for from one it cannot (LookupEvents then).
 *
 * Waiting changes (wc_evindex_watch) are woken by wc_evindex_add when an
 * event arrives that a lookup of theirs would return and that can end it (a
 * write without errorCode: wc_trail_found_write): the owner then asks
 * wc_evindex_lookup_change again and decides at once.
 */
#ifndef WC_EVINDEX_H
#define WC_EVINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "core/event.h"

#define WC_EVINDEX_DEFAULT_RETENTION_MS ((int64_t)30 * 60 * 1000)
#define WC_EVINDEX_DEFAULT_MAX_BYTES ((size_t)64 * 1024 * 1024)
/* Below this a cap holds only the tables: refused. */
#define WC_EVINDEX_MIN_MAX_BYTES ((size_t)64 * 1024)

struct wc_evindex_options {
    int64_t retention_ms; /* 0: WC_EVINDEX_DEFAULT_RETENTION_MS */
    size_t max_bytes;     /* 0: WC_EVINDEX_DEFAULT_MAX_BYTES; >= WC_EVINDEX_MIN_MAX_BYTES */
};

struct wc_evindex;

/* NULL on bad options or out of memory. */
struct wc_evindex *wc_evindex_new(const struct wc_evindex_options *o);
void wc_evindex_destroy(struct wc_evindex *x);

enum wc_evindex_added {
    WC_EVINDEX_ADDED = 1,
    WC_EVINDEX_DUPLICATE, /* this eventID of this account-region is held: dropped */
    WC_EVINDEX_TOO_OLD,   /* eventTime before now - retention: dropped */
    WC_EVINDEX_FUTURE,    /* eventTime after now + retention (a broken clock): dropped */
};

/* Ids of watches (wc_evindex_watch) an added event may decide. Appended to;
 * each id at most once per wc_evindex_add. */
struct wc_evindex_wake {
    uint64_t *ids;
    size_t len;
    size_t cap;
};
#define WC_EVINDEX_WAKE_INIT {NULL, 0, 0}
void wc_evindex_wake_clean_up(struct wc_evindex_wake *w);

/* Add event *e, TAKING it: *e is moved into the index or freed, and zeroed,
 * whatever the result. It needs an event id, a recipient account and a
 * region (WC_ERR_INVALID otherwise). Expires what now_ms makes too old,
 * then evicts the oldest events while over max_bytes (which may be this
 * one). *how (may be NULL) says what became of it; wake (may be NULL) gets
 * the watches it woke (WC_EVINDEX_ADDED only). */
int wc_evindex_add(struct wc_evindex *x, struct wc_event *e, int64_t now_ms,
                   enum wc_evindex_added *how, struct wc_evindex_wake *wake);

/* Drop the events older than now_ms - retention. Cheap when there are none. */
void wc_evindex_expire(struct wc_evindex *x, int64_t now_ms);

/* From this time on (ms) the index holds every event it was given that is
 * still within the retention: now_ms - retention, or later when max_bytes
 * made it evict younger events (one ms after the youngest of those). */
int64_t wc_evindex_horizon_ms(const struct wc_evindex *x, int64_t now_ms);

/* true when the index can answer for c's window: the window (capture -
 * skew, in the whole seconds a LookupEvents request covers) starts at or
 * after the horizon. */
bool wc_evindex_covers(const struct wc_evindex *x, const struct wc_change *c, int skew_s,
                       int64_t now_ms);

/* Copy into out (appended) the events some lookup of c's plan
 * (wc_trail_plan: account, lookup region, window, EventId / ResourceName)
 * would return, each once, newest first (then by event id). */
int wc_evindex_candidates(const struct wc_evindex *x, const struct wc_change *c, int skew_s,
                          struct wc_event_list *out);

/* wc_trail_lookup_change_in over the candidates: appends to out what the
 * lookups of c's plan find, with the plan's early stop. c is decided when
 * wc_trail_found_write(out). */
int wc_evindex_lookup_change(const struct wc_evindex *x, const struct wc_change *c, int skew_s,
                             struct wc_event_list *out);

/* Watch for the events that could decide change c (id is the caller's; a
 * watch with the same id is replaced). c is copied as far as needed. */
int wc_evindex_watch(struct wc_evindex *x, uint64_t id, const struct wc_change *c, int skew_s);
/* Stop watching id (no-op when unknown). */
void wc_evindex_unwatch(struct wc_evindex *x, uint64_t id);

struct wc_evindex_stats {
    size_t events;           /* held */
    size_t bytes;            /* memory used, all included */
    size_t max_bytes;
    size_t watches;
    int64_t oldest_ms;       /* eventTime of the oldest held event (0: none) */
    int64_t newest_ms;
    uint64_t added;
    uint64_t duplicates;
    uint64_t too_old;        /* refused on arrival: older than the retention */
    uint64_t future;         /* refused on arrival: later than now + retention */
    uint64_t expired;        /* dropped for age */
    uint64_t evicted;        /* dropped for max_bytes */
    uint64_t evicted_bytes;  /* the bytes they held */
    uint64_t woken;          /* watch ids handed out by wc_evindex_add */
};
void wc_evindex_get_stats(const struct wc_evindex *x, struct wc_evindex_stats *out);

#endif
