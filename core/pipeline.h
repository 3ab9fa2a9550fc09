/* pipeline.h - what the worker does with every message it holds, decided
 * without I/O and without threads.
 *
 * A message's life (README "The worker"):
 *
 *   received --parse--> change --(oversized: FETCH)--> waiting for CloudTrail
 *            `-- malformed: left for the queue's redrive policy
 *            `-- from an account, topic or bucket the policy does not allow
 *                (core/trust.h): left for the redrive policy, never looked up
 *            `-- not a change / ignored type: decided at once
 *   waiting  --the scheduler's LOOKUP calls (scan or per-resource)--> events
 *   events   --verdict (core/finding, core/worker)--> deliver, or retry later
 *   deliver  --LEDGER_CHECK per notifier (thorough when delivered before):
 *              accepted before -> LEDGER_RECORD (again, in case it was not
 *              durable), no post; else human: digest by actor session
 *              (digest_ms) -- SEND per notifier, paced (min_interval_ms),
 *              split (fit) -- accepted -> LEDGER_RECORD --> DELETE
 *   retry    --> VISIBILITY (the message comes back after the delay)
 *   every message in hand has its lease extended (VISIBILITY, lease_s)
 *   before it ends.
 *
 * The pipeline hands out actions (wc_pipeline_next) for the runner to carry
 * out - on any thread, in any order - and takes their results back (the
 * wc_pipeline_*_done functions). Nothing in it blocks: a change waiting for
 * CloudTrail budget is a row in the scheduler, not a thread. Not
 * thread-safe: the runner serialises every call (one lock).
 *
 * Guarantees (each pinned by tests/unit/test_pipeline.c):
 *   - a message is deleted only after every notifier that wants its verdict
 *     has accepted it and the ledger has recorded it;
 *   - a notifier is never handed a (notifier, subject) pair the ledger says
 *     it accepted; of copies of one subject in hand, one asks the ledger and
 *     sends, the others wait for its answer (so a check never races the
 *     record of a copy);
 *   - the ledger is only called by the runner (LEDGER_* actions, at most
 *     WC_PIPELINE_MAX_LEDGER at once): a slow or failing ledger holds no
 *     other message up;
 *   - a malformed message is never deleted (redrive) and never released;
 *   - a message the policy's allowlists refuse is treated as malformed: no
 *     role is assumed, no lookup made, no object fetched for it;
 *   - an SNS SubscriptionConfirmation is logged at warn with its
 *     SubscribeURL and topic, counted (metrics, stats) and left on the
 *     queue (never deleted, its URL never fetched);
 *   - at most WC_PIPELINE_MAX_FETCHES oversized items are fetched at once;
 *   - a change not yet attributable is released with the backoff of
 *     core/worker.h, and decided as unattributed at its deadline;
 *   - no message in hand outlives its lease (heartbeat at 2/3 of it).
 */
#ifndef WC_PIPELINE_H
#define WC_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "core/clock.h"
#include "core/evindex.h"
#include "core/evstream.h"
#include "core/finding.h"
#include "core/ledger.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/notifier.h"
#include "core/policy.h"
#include "core/queue.h"
#include "core/scheduler.h"
#include "core/worker.h"

/* A lookup or notifier that failed is tried again after this long. */
#define WC_PIPELINE_FAILURE_RETRY_S 30
/* A change waiting on the event stream is decided this long after the last
 * event that could decide it arrived: the other events of its window that
 * come in the same breath are counted too, as a LookupEvents call would. */
#define WC_PIPELINE_STREAM_SETTLE_MS 1000
/* --once: a released message not seen again this long after it was due was
 * taken by another worker or moved to the dead-letter queue. */
#define WC_PIPELINE_DEFERRED_GRACE_MS 30000
#define WC_PIPELINE_DEFERRED_MAX 10000
/* Sends under way at once to one notifier without pacing. */
#define WC_PIPELINE_MAX_SENDS 8
/* FETCH actions (oversized items: S3 GetObject, gunzip, parse) under way at
 * once; the others wait their turn. Parsing an item of up to
 * WC_OVERSIZED_OBJECT_MAX_BYTES takes many times its size in memory. */
#define WC_PIPELINE_MAX_FETCHES 2
/* LEDGER_CHECK and LEDGER_RECORD actions under way at once; the others wait
 * their turn. A ledger in trouble (DynamoDB retrying for seconds) holds at
 * most this many I/O threads, the rest go on with lookups, sends, deletes
 * and lease extensions. */
#define WC_PIPELINE_MAX_LEDGER 4

struct wc_pipeline_options {
    struct wc_schedule schedule;  /* retry backoff and deadline */
    int lease_s;                  /* the queue's VisibilityTimeout (>= 1) */
    size_t max_in_hand;           /* messages held at once (>= 1) */
    int64_t digest_ms;            /* digest window; 0: each human change alone */
    struct wc_sched_options sched;/* skew_s is taken from the policy */
    bool dry_run;                 /* nothing deleted, extended or recorded; every message
                                   * released at once when looked at */
    /* The CloudTrail event stream (README "CloudTrail events as a second
     * source"): when enabled, a change is first answered from the events
     * given to wc_pipeline_stream, and waits up to stream_grace_ms for its
     * event there before LookupEvents is asked. */
    bool stream;
    struct wc_evindex_options stream_index;
    int64_t stream_grace_ms;
};

/* Called for every decided message (explain, tests, dry-run output). */
typedef void wc_pipeline_decided_fn(void *ctx, const char *message_id,
                                    const struct wc_finding *f);

struct wc_pipeline_ports {
    const struct wc_clock *clock;          /* NULL: system */
    struct wc_ledger *ledger;              /* required */
    struct wc_notifier *const *notifiers;  /* borrowed */
    size_t n_notifiers;
    struct wc_logger *logger;              /* may be NULL */
    struct wc_metrics *metrics;            /* may be NULL */
    wc_pipeline_decided_fn *on_decided;    /* may be NULL */
    void *ctx;
};

struct wc_pipeline;

/* policy is copied. NULL on bad options or allocation failure. */
struct wc_pipeline *wc_pipeline_new(const struct wc_pipeline_options *o,
                                    const struct wc_pipeline_ports *ports,
                                    const struct wc_policy *policy);
void wc_pipeline_destroy(struct wc_pipeline *p);

/* Replace the policy (SIGHUP): copied; decisions from now on use it. */
int wc_pipeline_set_policy(struct wc_pipeline *p, const struct wc_policy *policy);

/* How many more messages may be taken now (0..max_in_hand); 0 while
 * stopping or not healthy. */
size_t wc_pipeline_room(const struct wc_pipeline *p);

/* false for WC_PIPELINE_FAILURE_RETRY_S after the ledger failed to record
 * an accepted delivery (disk full): receiving pauses, /healthz says so. */
bool wc_pipeline_healthy(const struct wc_pipeline *p);

/* Take message m (its strings are moved out; m is left empty). */
void wc_pipeline_receive(struct wc_pipeline *p, struct wc_queue_message *m);

/* A message of the events queue (options.stream): parsed, its write event
 * indexed, and every change waiting for it decided at once. Returns WC_OK
 * when the runner is to delete the message (indexed, a duplicate, or of a
 * kind that is ignored: *kind says which), a negative wc_err when it is to
 * be left on the queue: malformed (for the redrive policy), an SNS
 * subscription message (for the operator, as on the Config queue; counted
 * in whochanged_subscription_confirmations_total{queue="events"}), or the
 * stream is off. */
int wc_pipeline_stream(struct wc_pipeline *p, struct wc_str body, enum wc_evstream_kind *kind);

enum wc_action_kind {
    WC_ACTION_FETCH = 1, /* oversized item: S3 GetObject, parse -> wc_pipeline_fetch_done */
    WC_ACTION_LOOKUP,    /* one LookupEvents page -> wc_pipeline_lookup_done */
    WC_ACTION_SEND,      /* notifier send -> wc_pipeline_send_done */
    WC_ACTION_DELETE,    /* DeleteMessageBatch -> wc_pipeline_queue_done */
    WC_ACTION_VISIBILITY,/* ChangeMessageVisibilityBatch -> wc_pipeline_queue_done */
    WC_ACTION_LEDGER_CHECK,  /* wc_ledger_accepted (thorough: _accepted_thorough)
                              * -> wc_pipeline_check_done */
    WC_ACTION_LEDGER_RECORD, /* wc_ledger_record -> wc_pipeline_record_done */
};

/* Every pointer stays valid until the action's result is handed back. */
struct wc_action {
    enum wc_action_kind kind;
    uint64_t id;
    const char *log_id;                        /* a message id, for log lines */
    /* FETCH */
    const struct wc_oversized *object;
    const char *region;
    /* LOOKUP */
    struct wc_trail_query query;
    const char *token;
    /* SEND, LEDGER_* */
    struct wc_notifier *notifier;
    struct wc_notice notice;                   /* SEND */
    /* LEDGER_*: the pair (notifier->id, subject) in ledger (the ports') */
    struct wc_ledger *ledger;
    const char *subject;
    bool thorough;                             /* LEDGER_CHECK */
    /* DELETE, VISIBILITY */
    const char *handles[WC_QUEUE_MAX_BATCH];
    size_t n_handles;
    int visibility_s;
};

/* The next action to carry out now: true and *out filled, or false. */
bool wc_pipeline_next(struct wc_pipeline *p, struct wc_action *out);

/* Monotonic ms at which wc_pipeline_next may have something new without
 * any result coming back (INT64_MAX: nothing scheduled). */
int64_t wc_pipeline_wake_ms(struct wc_pipeline *p);

/* full: the parsed item (taken), or NULL with rc and a one-line reason;
 * WC_OK with NULL: decide from the notification's summary. */
void wc_pipeline_fetch_done(struct wc_pipeline *p, uint64_t id, int rc,
                            struct wc_notification *full, const char *reason);
/* page's events are moved out; rc as wc_trail_lookup_page returned. */
void wc_pipeline_lookup_done(struct wc_pipeline *p, uint64_t id, int rc,
                             struct wc_event_list *page);
void wc_pipeline_send_done(struct wc_pipeline *p, uint64_t id, int rc,
                           const struct wc_send_result *res);
/* rc: the call's result; results[i] per handle when rc is WC_OK. */
void wc_pipeline_queue_done(struct wc_pipeline *p, uint64_t id, int rc, const int *results);
/* accepted: what the ledger answered (a ledger that cannot tell answers
 * true, see core/ledger.h). */
void wc_pipeline_check_done(struct wc_pipeline *p, uint64_t id, bool accepted);
/* rc as wc_ledger_record returned. */
void wc_pipeline_record_done(struct wc_pipeline *p, uint64_t id, int rc);

/* Stop: changes still waiting for CloudTrail are released at once (no
 * thread or budget is spent on them any more), open digests are sent now.
 * Actions already handed out still report back. */
void wc_pipeline_shutdown(struct wc_pipeline *p);

/* Messages in hand (received, not yet deleted, released or left). */
size_t wc_pipeline_in_hand(const struct wc_pipeline *p);
/* Actions handed out and not yet reported back. */
size_t wc_pipeline_outstanding(const struct wc_pipeline *p);

/* --once: nothing in hand, nothing outstanding, and no change released
 * for a late CloudTrail event still due back (those not back within
 * WC_PIPELINE_DEFERRED_GRACE_MS of their due time are forgotten). */
bool wc_pipeline_once_done(struct wc_pipeline *p);

struct wc_pipeline_stats {
    uint64_t received, decided, deleted, released, left, errors;
    uint64_t sends, lookups_calls, lookups_throttled, ledger_failures;
    uint64_t subscriptions;       /* SNS subscription messages left for the operator */
    uint64_t stream_decided;      /* changes decided from the event stream */
    uint64_t stream_fallbacks;    /* changes whose grace ran out: LookupEvents asked */
    int64_t oldest_retry_age_s;   /* the oldest change released for a late event */
    size_t in_hand;
};
void wc_pipeline_get_stats(struct wc_pipeline *p, struct wc_pipeline_stats *out);

#endif
