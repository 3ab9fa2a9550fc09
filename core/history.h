/* history.h - `whochanged history`: the recorded changes of one resource
 * (AWS Config's GetResourceConfigHistory), each attributed through the
 * worker's correlation. No I/O, no threads, no sleeping: like the pipeline,
 * it hands out actions (wc_history_next) that the runner (cmd/history.c)
 * carries out and reports back.
 *
 *   baseline  one Config call (Reverse, limit 2, laterTime = since): the last
 *             item before the range, so that the first change in it has
 *             something to be compared with;
 *   pages     Config calls over [since, until], oldest first (Forward,
 *             limit 100, nextToken), read while fewer than
 *             WC_HISTORY_MAX_PENDING changes wait for CloudTrail (memory
 *             stays bounded and lines come out as they are decided);
 *   change    each configuration item becomes a wc_change through the
 *             notification parser (core/notification_internal.h), with a
 *             configurationItemDiff made by comparing it with the item
 *             before: the top-level keys of `configuration` and of
 *             `supplementaryConfiguration`, each tag, `relationships`;
 *   lookups   the worker's: core/scheduler.h, per-resource lookups only
 *             (related EventIds, then ResourceName id, name, ARN; window
 *             capture +- skew), one account-region budget with the adaptive
 *             rate, throttling handed back and slowed down for;
 *   verdict   wc_finding_decide, as the worker decides.
 * A change captured more than WC_HISTORY_CLOUDTRAIL_DAYS ago is not looked
 * up (LookupEvents keeps 90 days): it is unattributed and says so. Changes
 * come out (wc_history_take) in capture order, oldest first.
 *
 * Periodic recording (recordingFrequency DAILY): the change happened at
 * some time in the day before the capture. The lookup window of such an
 * item is the change window of core/change.h once that knows the period
 * (see s_periodic_hook in history.c); until then the item is looked up
 * around its capture like any other and its line says it was recorded daily.
 */
#ifndef WC_HISTORY_H
#define WC_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/policy.h"
#include "core/scheduler.h"

/* CloudTrail's LookupEvents answers for the last 90 days. */
#define WC_HISTORY_CLOUDTRAIL_DAYS 90
/* GetResourceConfigHistory's largest page. */
#define WC_HISTORY_PAGE_LIMIT 100
/* Changes waiting for CloudTrail before the next Config page is read. */
#define WC_HISTORY_MAX_PENDING 200
/* Configuration items read at most (the rest: narrow --since/--until). */
#define WC_HISTORY_MAX_ITEMS 10000
/* A change captured this recently may still have its event on the way
 * (CloudTrail delivers within about 5 minutes, with no guarantee). */
#define WC_HISTORY_RECENT_MS ((int64_t)15 * 60 * 1000)
/* "No time given" in a Config query. */
#define WC_HISTORY_NO_TIME INT64_MIN

/* One GetResourceConfigHistory call. Strings borrowed from the history. */
struct wc_config_history_query {
    const char *account_id;    /* whose Config: NULL for our own credentials' account */
    const char *region;
    const char *resource_type; /* "AWS::EC2::SecurityGroup" */
    const char *resource_id;
    int64_t earlier_ms;        /* earlierTime (inclusive), or WC_HISTORY_NO_TIME */
    int64_t later_ms;          /* laterTime (inclusive), or WC_HISTORY_NO_TIME */
    bool forward;              /* chronologicalOrder Forward (oldest first), else Reverse */
    int limit;                 /* 1..WC_HISTORY_PAGE_LIMIT */
};

struct wc_history_options {
    const char *resource_type;   /* required (copied) */
    const char *resource_id;     /* required (copied) */
    const char *account_id;      /* NULL: our own (copied) */
    const char *region;          /* required (copied) */
    int64_t since_ms, until_ms;  /* the range, wall clock, inclusive; since < until */
    int64_t now_ms;              /* the wall clock at the start (the 90 days) */
    struct wc_sched_options sched; /* rate, wall_offset_ms; skew_s is the policy's,
                                    * no_scan is forced (one resource) */
    size_t max_items;            /* 0: WC_HISTORY_MAX_ITEMS */
};

enum wc_history_action_kind {
    WC_HISTORY_CONFIG = 1, /* one GetResourceConfigHistory page -> wc_history_config_done */
    WC_HISTORY_LOOKUP,     /* one LookupEvents page -> wc_history_lookup_done */
};

/* Every pointer stays valid until the action's result is handed back. */
struct wc_history_action {
    enum wc_history_action_kind kind;
    struct wc_config_history_query config; /* CONFIG */
    const char *token;                     /* CONFIG: nextToken, NULL for the first */
    struct wc_sched_call lookup;           /* LOOKUP */
};

/* How a change's events were had. */
enum wc_history_lookup {
    WC_HISTORY_LOOKED_UP = 1, /* looked up in CloudTrail */
    WC_HISTORY_TOO_OLD,       /* captured beyond CloudTrail's 90 days: not looked up */
    WC_HISTORY_NOT_NEEDED,    /* decided without events (an ignored resource type) */
    WC_HISTORY_FAILED,        /* the lookup failed (lookup_rc): unattributed */
};

/* One recorded change, decided. */
struct wc_history_entry {
    struct wc_finding *finding;   /* verdict, reason, change (its changed_properties:
                                   * the difference with the item before), events */
    enum wc_history_lookup lookup;
    int lookup_rc;                /* WC_HISTORY_FAILED: the error */
    bool compared;                /* an item before it was had to compare with */
    char *state_id;               /* configurationStateId, may be NULL */
    char *recording_frequency;    /* recordingFrequency, may be NULL */
    bool recent;                  /* captured less than WC_HISTORY_RECENT_MS before the start */
};

void wc_history_entry_destroy(struct wc_history_entry *e);

struct wc_history;

/* policy is copied. NULL with a one-line reason in err on bad options. */
struct wc_history *wc_history_new(const struct wc_history_options *o,
                                  const struct wc_policy *policy, char *err, size_t errlen);
void wc_history_destroy(struct wc_history *h);

/* The next action to carry out now (mono_ms: the monotonic clock): true and
 * *out filled, or false with *wake_ms the monotonic time something may be
 * due (INT64_MAX: nothing until a result comes back, or finished). */
bool wc_history_next(struct wc_history *h, int64_t mono_ms, struct wc_history_action *out,
                     int64_t *wake_ms);

/* The answer to the outstanding CONFIG action: rc WC_OK with the response
 * body, or an error with the service's error code (may be NULL) and a
 * one-line description (may be NULL). An error ends the history (see
 * wc_history_error): no more Config calls, but the changes already read are
 * still attributed and come out. mono_ms: the monotonic clock. */
void wc_history_config_done(struct wc_history *h, int rc, struct wc_str body,
                            const char *error_code, const char *description, int64_t mono_ms);

/* The answer to a LOOKUP action (page's events are moved out). */
void wc_history_lookup_done(struct wc_history *h, uint64_t call_id, int rc,
                            struct wc_event_list *page, int64_t mono_ms);

/* The next decided change in capture order: true and *out (the caller
 * destroys it), or false. */
bool wc_history_take(struct wc_history *h, struct wc_history_entry **out);

/* Nothing left to do: every item read, decided and taken (or an error). */
bool wc_history_finished(const struct wc_history *h);

/* The error that ended the history (NULL: none): one line, such as
 * "AWS::EC2::SecurityGroup sg-0123 is not recorded by AWS Config in
 * account 123456789012, eu-west-1 (ResourceNotDiscoveredException) ...".
 * *rc_out (may be NULL) gets its wc_err. */
const char *wc_history_error(const struct wc_history *h, int *rc_out);

struct wc_history_stats {
    size_t config_calls;   /* GetResourceConfigHistory pages asked */
    size_t items;          /* configuration items in the range */
    size_t lookups;        /* LookupEvents pages answered */
    size_t throttled;      /* of which throttled */
    size_t failed;         /* changes whose lookup failed */
    size_t too_old;        /* changes beyond CloudTrail's 90 days */
    bool truncated;        /* stopped at max_items */
};
void wc_history_get_stats(const struct wc_history *h, struct wc_history_stats *out);

/* --- arguments (exposed for cmd/ and tests) ------------------------------ */

/* "AWS::EC2::SecurityGroup/sg-0123" -> type and id (heap, the caller frees
 * them). The type is three "::"-separated names of letters and digits; the
 * id is what follows the first '/' after it (ids may hold '/': ARNs), 1 to
 * 768 bytes, no control characters or spaces. WC_ERR_INVALID with a reason. */
int wc_history_parse_resource(const char *s, char **type, char **id, char *err, size_t errlen);

/* --since / --until: "7d", "36h", "90m", "45s", "2w" before now_ms, an RFC
 * 3339 time, or a date (YYYY-MM-DD, midnight UTC). WC_ERR_INVALID with a
 * reason. */
int wc_history_parse_time(const char *s, int64_t now_ms, int64_t *out_ms, char *err,
                          size_t errlen);

/* --- output ---------------------------------------------------------------- */

/* The class column: human, automation, service, unattributed, ignored. */
const char *wc_history_class_name(const struct wc_history_entry *e);

/* One line (no newline): time, class, who, the event's name, what changed:
 *   2026-11-30T10:00:30Z  human         alice@example.com  AuthorizeSecurityGroupIngress
 *   changed IpPermissions
 * (one line). Appended to out. */
int wc_history_entry_text(const struct wc_history_entry *e, struct wc_buf *out);

/* One JSON object (one line, no newline): the `explain` object (verdict,
 * reason, change, events) preceded by time, class, who, event_name, what
 * (the changed keys), and followed by lookup (looked_up, too_old,
 * not_needed, failed), configuration_state_id, recording_frequency. */
int wc_history_entry_json(const struct wc_history_entry *e, struct wc_buf *out);

#endif
