/* dynamodb_ledger.h - the ledger port (core/ledger.h) over a DynamoDB table
 * that every worker shares, on one host or many: what one worker posted,
 * another never posts again, even when the first died between the post
 * and the delete and the message went to the second.
 *
 * It lives in aws/ beside the other adapters that speak to AWS (sqs.c is
 * the queue port, cloudtrail.c the trail port); store/ keeps the local
 * file and no AWS dependency.
 *
 * The table (examples/org-central.yaml makes it): partition key "pk" (S),
 * on-demand, TTL on "expires_at". One item per (notifier id, subject):
 *   pk           "<notifier id>|<subject>" ('|' is not in a notifier id),
 *                or "sha256:<hex>" of it when longer than
 *                WC_DYNAMODB_LEDGER_KEY_MAX bytes
 *   notifier     the notifier id          subject      the subject
 *   recorded_at  epoch seconds            expires_at   epoch seconds (TTL)
 *
 * accepted: a pair this process recorded or saw in the table lately (a
 * small cache in memory, cache_ttl_ms) is answered from memory; any other
 * is a GetItem with ConsistentRead, so a record made by another worker a
 * moment ago is seen. The check is always thorough: accepted_thorough is
 * the same. An item whose expires_at has passed counts as absent
 * (DynamoDB deletes expired items lazily, up to days later).
 *
 * record: PutItem with ConditionExpression
 *   attribute_not_exists(pk) OR expires_at < :now
 * ConditionalCheckFailedException means another worker (or we, before a
 * crash) recorded it and the record is live: that is success, not an
 * error (record is idempotent). The item lives ttl_ms (48 h, like the
 * state file).
 *
 * Failures (after wc_aws_send's retries; a call waits at most timeout_ms
 * per attempt, and the pipeline calls the port under its lock):
 *   - record fails: WC_ERR_IO, and as the port says the pair is kept in
 *     memory (accepted says true) and written by the next record of it;
 *     the pipeline keeps the message and pauses receiving;
 *   - accepted fails: nobody knows whether the pair was posted. accepted
 *     says true (nothing is posted on a guess) and marks the pair "in
 *     doubt"; the next record of it - the pipeline asks right after - fails
 *     with WC_ERR_IO without writing anything, so the message is kept for
 *     redelivery, receiving pauses, and the pair is asked again then.
 * Thread-safe.
 */
#ifndef WC_AWS_DYNAMODB_LEDGER_H
#define WC_AWS_DYNAMODB_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "aws/dynamodb.h"
#include "core/ledger.h"

#define WC_DYNAMODB_LEDGER_KEY "pk"
#define WC_DYNAMODB_LEDGER_TTL_ATTR "expires_at"
/* A longer "<notifier>|<subject>" is stored as its SHA-256 (a partition key
 * may have 2048 bytes). */
#define WC_DYNAMODB_LEDGER_KEY_MAX 1024
/* How long a pair known accepted is answered from memory. */
#define WC_DYNAMODB_LEDGER_CACHE_TTL_MS ((int64_t)10 * 60 * 1000)
/* The key of the probe made at open (never written). */
#define WC_DYNAMODB_LEDGER_PROBE_KEY "whochanged|probe"

struct wc_dynamodb_ledger_options {
    struct wc_dynamodb_options client; /* the client the ledger makes and owns */
    const char *table;
    int64_t ttl_ms;       /* <= 0: WC_DEDUP_DEFAULT_TTL_MS (48 h) */
    int64_t cache_ttl_ms; /* 0: WC_DYNAMODB_LEDGER_CACHE_TTL_MS; < 0: no cache */
    /* false: check at open that the table exists and that GetItem and
     * PutItem are allowed (a GetItem, and a PutItem whose condition cannot
     * hold, so nothing is written) */
    bool no_probe;
};

struct wc_dynamodb_ledger_stats {
    uint64_t gets;         /* GetItem calls answered */
    uint64_t cache_hits;   /* accepted answered from memory */
    uint64_t puts;         /* items written */
    uint64_t already;      /* PutItem found a live record (another worker's) */
    uint64_t failures;     /* GetItem or PutItem calls that failed */
    uint64_t in_doubt;     /* accepted that could not be answered */
};

/* The ledger, or NULL with a one-line reason in err: a bad table name or
 * region, or (unless no_probe) the table missing, access denied, a key
 * schema that is not ours, or DynamoDB out of reach. */
struct wc_ledger *wc_dynamodb_ledger_open(const struct wc_dynamodb_ledger_options *o, char *err,
                                          size_t errlen);

/* The table key of (notifier_id, subject) into out (appended). */
int wc_dynamodb_ledger_key(const char *notifier_id, const char *subject, struct wc_buf *out);

/* l must come from wc_dynamodb_ledger_open (else zeros). */
void wc_dynamodb_ledger_stats(struct wc_ledger *l, struct wc_dynamodb_ledger_stats *out);

#endif
