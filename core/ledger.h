/* ledger.h - the ledger port: which (notifier, subject) pairs a notifier has
 * already accepted, so that a redelivered SQS message, or a restart after a
 * crash between "posted" and "deleted", never posts twice.
 *
 * core/ declares it; store/statefile.c implements it with a file in
 * state_dir (the default); wc_ledger_memory_new() keeps it in memory
 * (--dry-run, explain, tests). A subject is what wc_worker_subject() says.
 *
 * Every call may do I/O (a file, DynamoDB), so the worker never makes one
 * itself: its pipeline hands out LEDGER_CHECK and LEDGER_RECORD actions
 * (core/pipeline.h) that the runner's I/O threads carry out, several at
 * once (never two at once for one pair). An implementation is therefore
 * thread-safe.
 */
#ifndef WC_LEDGER_H
#define WC_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

struct wc_ledger;

struct wc_ledger_vtable {
    const char *name;
    /* true when notifier_id already accepted subject (and it has not expired):
     * the fast check, from memory. It may miss a pair accepted long ago that
     * has since left memory (the state file keeps only recent pairs there),
     * never a recent one: enough for a first delivery, whose copies (SNS
     * fan-out, duplicate notifications) come seconds apart. */
    bool (*accepted)(struct wc_ledger *l, const char *notifier_id, const char *subject);
    /* The same, thoroughly: also asks durable storage on a miss. For a
     * message delivered before (ApproximateReceiveCount > 1), which may have
     * been accepted long ago. Optional: NULL means accepted() is exact. */
    bool (*accepted_thorough)(struct wc_ledger *l, const char *notifier_id,
                              const char *subject);
    /* Make durable that notifier_id accepted subject (a no-op when it is).
     * WC_ERR_IO when it could not be: the pair is remembered in memory anyway
     * (accepted() says true, this process never posts it again) and written
     * by the next record() of the same pair - the worker calls record()
     * again before deleting a message whose pair was accepted. */
    int (*record)(struct wc_ledger *l, const char *notifier_id, const char *subject);
    void (*destroy)(struct wc_ledger *l);
};

struct wc_ledger {
    const struct wc_ledger_vtable *vtable;
    void *impl;
};

bool wc_ledger_accepted(struct wc_ledger *l, const char *notifier_id, const char *subject);
bool wc_ledger_accepted_thorough(struct wc_ledger *l, const char *notifier_id,
                                 const char *subject);
int wc_ledger_record(struct wc_ledger *l, const char *notifier_id, const char *subject);
void wc_ledger_destroy(struct wc_ledger *l);

/* A ledger in memory only (core/dedup.h), entries kept ttl_ms (<= 0: the
 * dedup default), the last WC_DEDUP_DEFAULT_MAX_ENTRIES of them (fixed
 * memory, 1 MiB; nothing to ask beyond it, so thorough is the same check).
 * NULL on allocation failure. */
struct wc_ledger *wc_ledger_memory_new(int64_t ttl_ms);

#endif
