/* trail.h - the CloudTrail port: "look up events for a resource in a window".
 *
 * core/ declares it; aws/cloudtrail.c implements it with LookupEvents;
 * tests use in-memory fakes. wc_trail_lookup_change() decides which lookups
 * a change needs (the plan) and runs them through the port.
 */
#ifndef WC_TRAIL_H
#define WC_TRAIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "core/event.h"

#define WC_TRAIL_MAX_QUERIES 6
#define WC_TRAIL_MAX_RELATED_LOOKUPS 3

/* One LookupEvents call (all of its pages): one attribute, one window. */
struct wc_trail_query {
    const char *account_id;      /* whose trail: the change's account */
    const char *region;          /* the change's lookup region */
    const char *attribute_key;   /* "ResourceName" or "EventId" */
    const char *attribute_value; /* borrowed from the change */
    int64_t start_ms;            /* inclusive */
    int64_t end_ms;              /* inclusive */
};

struct wc_trail;

struct wc_trail_vtable {
    const char *name;
    /* Append every event of the query's window (all pages) to out. */
    int (*lookup)(struct wc_trail *t, const struct wc_trail_query *q, struct wc_event_list *out);
    /* One call: one page of the query (token NULL for the first), appended
     * to out, out->next_token set (owned) when there are more. No
     * client-side rate limit and no retry on throttling: the caller (the
     * lookup scheduler) owns the budget and gets WC_ERR_THROTTLED back.
     * NULL when the backend cannot page (then lookup is used). */
    int (*lookup_page)(struct wc_trail *t, const struct wc_trail_query *q, const char *token,
                       struct wc_event_list *out);
    void (*destroy)(struct wc_trail *t);
};

struct wc_trail {
    const struct wc_trail_vtable *vtable;
    void *impl;
};

int wc_trail_lookup(struct wc_trail *t, const struct wc_trail_query *q, struct wc_event_list *out);
/* vtable->lookup_page, or WC_ERR_UNSUPPORTED. */
int wc_trail_lookup_page(struct wc_trail *t, const struct wc_trail_query *q, const char *token,
                         struct wc_event_list *out);
void wc_trail_destroy(struct wc_trail *t);

/* The scan of an account-region: every write event in a window, read once
 * for many waiting changes (LookupAttributes ReadOnly=false). */
#define WC_TRAIL_SCAN_KEY "ReadOnly"
#define WC_TRAIL_SCAN_VALUE "false"

/* Would LookupEvents answer query q with event e? The same whole-second
 * window as the request (wc_cloudtrail_lookup_body rounds outwards) and the
 * same attribute: EventId equals, ResourceName equals one of e's resource
 * names, ReadOnly "false"/"true" against e's readOnly. */
bool wc_trail_query_matches(const struct wc_trail_query *q, const struct wc_event *e);

/* True when l holds a write call that succeeded (not read-only, no
 * errorCode): what can explain a change. */
bool wc_trail_found_write(const struct wc_event_list *l);

/* Move the events of src whose event id out does not hold yet into out
 * (src is left empty). */
int wc_trail_merge(struct wc_event_list *out, struct wc_event_list *src);

/* wc_trail_lookup_change answered from events already read (a scan that
 * covered c's window): the same plan, each lookup answered by the events of
 * `have` that wc_trail_query_matches, the same early stop. The result is
 * what wc_trail_lookup_change would have found against a trail holding
 * `have` (exactly, when `have` holds every event of c's window that a
 * lookup could return). Copies into out. */
int wc_trail_lookup_change_in(const struct wc_event_list *have, const struct wc_change *c,
                              int skew_s, struct wc_event_list *out);

/* The lookups for change c over its window (wc_change_window: capture
 * +-skew_s, from lookback_s earlier for periodic recording): EventId for
 * each related event (at most WC_TRAIL_MAX_RELATED_LOOKUPS), then ResourceName for the
 * resource id, and for its name and ARN when they differ from the id.
 * Values are borrowed from c. */
int wc_trail_plan(const struct wc_change *c, int skew_s, struct wc_trail_query *out,
                  size_t max, size_t *n_out);

/* Run the plan for c, appending the events found (deduplicated by event id)
 * to out. The first lookup that finds a write event (not read-only, no
 * errorCode) ends the plan: CloudTrail indexes an event under each of its
 * resources, so the remaining lookups would find the same events and cost
 * LookupEvents budget (2 calls/s per account and region). Stops at the
 * first failing lookup and returns its error. */
int wc_trail_lookup_change(struct wc_trail *t, const struct wc_change *c, int skew_s,
                           struct wc_event_list *out, size_t *n_calls);

#endif
