/* trust.h - whether a notification comes from where the policy says
 * notifications may come from. Pure: no I/O.
 *
 * A queue message is input: whoever may send to the queue can forge one
 * (review finding 2, the confused deputy). The account id it names chooses
 * which account's role the worker assumes (with the configured external
 * id) and whose CloudTrail it reads; an oversized item's s3BucketLocation
 * chooses which bucket the worker reads with its own credentials. The
 * policy's allowlists bound both, and the SNS topic the message came
 * through:
 *
 *   accounts.allowed           allowed_accounts: 12-digit ids, exact. An AWS
 *                              Organizations id (o-...) never matches an
 *                              account (membership cannot be checked
 *                              offline); config/ refuses a list of org ids
 *                              alone.
 *   sns.allowed_topics         allowed_topics: globs over the SNS envelope's
 *                              TopicArn. When set, a message without an SNS
 *                              envelope (raw delivery, EventBridge) is
 *                              refused: it names no topic to check.
 *   oversized.allowed_buckets  allowed_buckets: "bucket" globs (any key) or
 *                              "bucket/key" globs, the bucket part matched
 *                              against the bucket alone.
 *
 * An empty list allows anything (the behaviour before the lists existed).
 * A refused message is permanently unusable to us: the pipeline leaves it
 * for the dead-letter queue, like a malformed one.
 */
#ifndef WC_TRUST_H
#define WC_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/change.h"
#include "core/policy.h"

bool wc_trust_account_allowed(const struct wc_policy *p, const char *account_id);
/* topic_arn NULL (no SNS envelope): allowed only when the list is empty. */
bool wc_trust_topic_allowed(const struct wc_policy *p, const char *topic_arn);
bool wc_trust_bucket_allowed(const struct wc_policy *p, const char *bucket, const char *key);

/* A message as received: its topic; for a change or an oversized summary,
 * its account; for an oversized summary, its bucket. WC_OK, or
 * WC_ERR_INVALID with a one-line reason in why (printable, no secrets: the
 * offending value, cut short, and the key that refused it). */
int wc_trust_check(const struct wc_policy *p, const struct wc_notification *n, char *why,
                   size_t whylen);

/* An oversized item as fetched from S3 (no envelope): its account. */
int wc_trust_check_item(const struct wc_policy *p, const struct wc_notification *item,
                        char *why, size_t whylen);

#endif
