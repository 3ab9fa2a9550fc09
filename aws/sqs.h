/* sqs.h - Amazon SQS (awsJson1_0, query-compatible), implementing the queue
 * port of core/queue.h.
 *
 * Every call is `POST /` to the SQS endpoint root with
 *   Content-Type: application/x-amz-json-1.0
 *   X-Amz-Target: AmazonSQS.<Operation>
 *   x-amzn-query-mode: true
 * (all three signed, signing name "sqs") and the QueueUrl in the JSON body,
 * through wc_aws_send (SigV4 + the SDK standard retry loop).
 *
 * Queue URL: given directly (queue_url), or looked up with GetQueueUrl from
 * queue_name. The lookup is lazy - on the first call that needs the URL,
 * once, thread-safe - so wc_sqs_new never touches the network; call
 * wc_sqs_resolve() at start-up to fail fast with a clear error (a missing
 * queue is WC_ERR_NOT_FOUND and logged as such). A failed lookup is retried
 * on the next call.
 *
 * Legacy queue URLs (https://queue.amazonaws.com/..., https://<region>.queue
 * .amazonaws.com/...) are sent as the QueueUrl value, unchanged, while the
 * request itself goes to the SQS endpoint.
 *
 * visibility_timeout: GetQueueAttributes AttributeNames ["VisibilityTimeout"];
 * the value (a string, as SQS gives every attribute) must be decimal digits
 * within 0..43200, else WC_ERR_PARSE (logged).
 *
 * Receive: MessageSystemAttributeNames ["All"]; the HTTP timeout is
 * wait + 10 s; the response is capped at WC_SQS_MAX_RECEIVE_BYTES; every
 * message's MD5OfBody is checked against the MD5 of its body and a
 * mismatching (corrupt) message is logged with its id and skipped - not
 * deleted, so it comes back and eventually goes to the dead-letter queue.
 * A message without MessageId, ReceiptHandle or Body is skipped the same way;
 * one without MD5OfBody (SQS always sends it) is taken unchecked.
 * Credentials that cannot be had are WC_ERR_AUTH (never WC_ERR_NOT_FOUND,
 * which means "no such queue / message" here).
 *
 * Errors (the code after the SDKs' query-compatible mapping, see
 * aws/aws_error.h):
 *   AWS.SimpleQueueService.NonExistentQueue / QueueDoesNotExist -> WC_ERR_NOT_FOUND
 *   AWS.SimpleQueueService.MessageNotInflight (ChangeMessageVisibility: the
 *     message was deleted or is visible again)                   -> WC_ERR_NOT_FOUND
 *   ReceiptHandleIsInvalid                                        -> WC_ERR_INVALID
 *   OverLimit, RequestThrottled                                   -> WC_ERR_THROTTLED
 *   credential / access errors                                    -> WC_ERR_AUTH
 *   anything else                                                 -> WC_ERR_SERVICE
 * (or the transport's WC_ERR_TIMEOUT / WC_ERR_HTTP / WC_ERR_TOO_LARGE).
 */
#ifndef WC_AWS_SQS_H
#define WC_AWS_SQS_H

#include <stddef.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "core/log.h"
#include "core/queue.h"

#define WC_SQS_TARGET_PREFIX "AmazonSQS."
#define WC_SQS_CONTENT_TYPE "application/x-amz-json-1.0"
/* 1 MiB message bodies, whose JSON escaping can double them, times 10,
 * plus room for ids, receipt handles and attributes. */
#define WC_SQS_MAX_MESSAGE_BYTES ((size_t)1024 * 1024)
#define WC_SQS_MAX_RECEIVE_BYTES \
    ((size_t)WC_QUEUE_MAX_BATCH * 2 * WC_SQS_MAX_MESSAGE_BYTES + (size_t)256 * 1024)
/* Any other answer (GetQueueUrl, batches, errors). */
#define WC_SQS_MAX_RESPONSE_BYTES ((size_t)256 * 1024)
#define WC_SQS_MAX_VISIBILITY_S 43200

struct wc_sqs_options {
    struct wc_aws *aws;               /* borrowed */
    struct wc_creds_provider *creds;  /* borrowed */
    const char *region;               /* signing region; NULL: from queue_url */
    const char *endpoint;             /* resolved SQS base URL (no trailing '/');
                                       * NULL: https://sqs.<region>.amazonaws.com[.cn] */
    const char *queue_url;            /* either this ... */
    const char *queue_name;           /* ... or this (GetQueueUrl, lazily) */
    const char *queue_owner_account_id; /* GetQueueUrl's QueueOwnerAWSAccountId, may be NULL */
    int visibility_timeout_s;         /* ReceiveMessage VisibilityTimeout; 0: queue default */
    struct wc_logger *logger;         /* NULL: the wc_aws logger */
};

/* NULL on bad options (no aws/creds, neither or both of queue_url and
 * queue_name, no region and none derivable from the queue URL, a
 * visibility timeout out of 0..43200) or allocation failure. Strings are
 * copied. Destroy with wc_queue_destroy. */
struct wc_queue *wc_sqs_new(const struct wc_sqs_options *o);

/* Make sure the queue URL is known (GetQueueUrl when built from a name).
 * WC_OK, WC_ERR_NOT_FOUND when the queue does not exist, or the call's error;
 * the reason is logged. q must come from wc_sqs_new. */
int wc_sqs_resolve(struct wc_queue *q);

/* The queue URL, or NULL while not yet resolved. */
const char *wc_sqs_queue_url(struct wc_queue *q);

/* ChangeMessageVisibilityBatch: give each of the n (1..10) messages
 * visibility_s (0..43200) from now. results[i] receives WC_OK or the entry's
 * error (ReceiptHandleIsInvalid -> WC_ERR_INVALID, MessageNotInflight ->
 * WC_ERR_NOT_FOUND, others WC_ERR_SERVICE; an entry the answer does not
 * mention is WC_ERR_SERVICE). Returns WC_OK when the call itself succeeded. */
int wc_sqs_change_visibility_batch(struct wc_queue *q, const char *const *receipt_handles,
                                   size_t n, int visibility_s, int *results);

/* Request bodies (exposed for tests); out is appended to. */
int wc_sqs_receive_body(const char *queue_url, int max_messages, int wait_s,
                        int visibility_timeout_s, struct wc_buf *out);
/* Entries get Id "0".."n-1"; visibility_s < 0: DeleteMessageBatch entries
 * (no VisibilityTimeout). */
int wc_sqs_batch_body(const char *queue_url, const char *const *receipt_handles, size_t n,
                      int visibility_s, struct wc_buf *out);

/* GetQueueAttributes for one attribute: AttributeNames [attribute_name]. */
int wc_sqs_get_queue_attributes_body(const char *queue_url, const char *attribute_name,
                                     struct wc_buf *out);

/* Map an SQS error code (legacy or JSON form) to a wc_err; rc is what
 * wc_aws_send returned and is kept for codes with no special meaning. */
int wc_sqs_error_rc(const char *code, int rc);

#endif
