/* dynamodb.h - Amazon DynamoDB (awsJson1_0): GetItem and PutItem, the two
 * calls the shared ledger needs (aws/dynamodb_ledger.h).
 *
 * Every call is `POST /` to the DynamoDB endpoint with
 *   Content-Type: application/x-amz-json-1.0
 *   X-Amz-Target: DynamoDB_20120810.<Operation>
 * (both signed, signing name "dynamodb") through wc_aws_send: SigV4, the
 * SDK standard retry (throttling - ProvisionedThroughputExceededException,
 * ThrottlingException, RequestLimitExceeded - and 5xx are retried there).
 *
 * Attributes are the two scalar types the ledger uses, S and N (a number is
 * kept as its decimal text, as the wire carries it); an item's other types
 * are skipped when it is read.
 *
 * Errors (the code after "#", see aws/aws_error.h):
 *   ResourceNotFoundException (no such table, or not ACTIVE) -> WC_ERR_NOT_FOUND
 *   AccessDeniedException, UnrecognizedClientException, ...  -> WC_ERR_AUTH
 *   throttling (after the retries)                            -> WC_ERR_THROTTLED
 *   ConditionalCheckFailedException (PutItem)                 -> WC_OK with
 *                                                   *condition_failed = true
 *   anything else (ValidationException: the key does not match the
 *   table's schema, ...)                                      -> WC_ERR_SERVICE
 * or the transport's WC_ERR_TIMEOUT / WC_ERR_HTTP / WC_ERR_TOO_LARGE. The
 * service's error comes back in err (code, message) for the caller to say.
 * Thread-safe: the client holds nothing that changes after wc_dynamodb_new.
 */
#ifndef WC_AWS_DYNAMODB_H
#define WC_AWS_DYNAMODB_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws_client.h"
#include "aws/aws_error.h"
#include "aws/credentials.h"
#include "core/buf.h"
#include "core/log.h"

#define WC_DYNAMODB_TARGET_PREFIX "DynamoDB_20120810."
#define WC_DYNAMODB_CONTENT_TYPE "application/x-amz-json-1.0"
/* An item is at most 400 KB; an answer carries one, or an error. */
#define WC_DYNAMODB_MAX_RESPONSE_BYTES ((size_t)512 * 1024)
#define WC_DYNAMODB_DEFAULT_TIMEOUT_MS 3000L

enum wc_dynamodb_type {
    WC_DYNAMODB_S = 0, /* string */
    WC_DYNAMODB_N,     /* number, as decimal text */
};

/* One attribute; strings borrowed when handed in, owned by the item when
 * read back (wc_dynamodb_item). */
struct wc_dynamodb_attr {
    const char *name;
    enum wc_dynamodb_type type;
    const char *value;
};

/* An item read back: its S and N attributes. */
struct wc_dynamodb_item {
    struct wc_dynamodb_attr *attrs; /* names and values owned */
    size_t n;
};

#define WC_DYNAMODB_ITEM_INIT {NULL, 0}

void wc_dynamodb_item_clean_up(struct wc_dynamodb_item *item);
/* The attribute called name, NULL when the item has none. */
const struct wc_dynamodb_attr *wc_dynamodb_item_get(const struct wc_dynamodb_item *item,
                                                    const char *name);

struct wc_dynamodb_options {
    struct wc_aws *aws;              /* borrowed */
    struct wc_creds_provider *creds; /* borrowed */
    const char *region;              /* signing region (required) */
    const char *endpoint;            /* base URL, no trailing '/' (wc_endpoints_resolve
                                      * "dynamodb"); NULL: the region's standard one */
    long timeout_ms;                 /* per attempt; 0: WC_DYNAMODB_DEFAULT_TIMEOUT_MS */
    struct wc_logger *logger;        /* NULL: the wc_aws logger */
};

struct wc_dynamodb;

/* NULL on bad options (no aws, creds or valid region) or allocation
 * failure. Strings are copied. */
struct wc_dynamodb *wc_dynamodb_new(const struct wc_dynamodb_options *o);
void wc_dynamodb_destroy(struct wc_dynamodb *d);
const char *wc_dynamodb_region(const struct wc_dynamodb *d);
const char *wc_dynamodb_endpoint(const struct wc_dynamodb *d);

struct wc_dynamodb_get {
    const char *table;
    const struct wc_dynamodb_attr *key; /* the whole primary key */
    size_t n_key;
    bool consistent;                    /* ConsistentRead */
    const char *const *projection;      /* attribute names to read (NULL: all); sent
                                         * as ExpressionAttributeNames #p0, #p1, ... */
    size_t n_projection;
};

/* GetItem. WC_OK with *found and, when found, the item in out (which must
 * be WC_DYNAMODB_ITEM_INIT or cleaned up). */
int wc_dynamodb_get_item(struct wc_dynamodb *d, const struct wc_dynamodb_get *get, bool *found,
                         struct wc_dynamodb_item *out, struct wc_aws_error *err);

/* A name placeholder of a condition: "#k" -> "pk". */
struct wc_dynamodb_name {
    const char *placeholder;
    const char *name;
};

struct wc_dynamodb_put {
    const char *table;
    const struct wc_dynamodb_attr *item;
    size_t n_item;
    const char *condition;                    /* ConditionExpression, may be NULL */
    const struct wc_dynamodb_name *names;     /* ExpressionAttributeNames */
    size_t n_names;
    const struct wc_dynamodb_attr *values;    /* ExpressionAttributeValues (":now") */
    size_t n_values;
};

/* PutItem. WC_OK when written, and also when the condition failed, which
 * *condition_failed then says (nothing was written). */
int wc_dynamodb_put_item(struct wc_dynamodb *d, const struct wc_dynamodb_put *put,
                         bool *condition_failed, struct wc_aws_error *err);

/* Request bodies (exposed for tests); out is appended to. */
int wc_dynamodb_get_item_body(const struct wc_dynamodb_get *get, struct wc_buf *out);
int wc_dynamodb_put_item_body(const struct wc_dynamodb_put *put, struct wc_buf *out);
/* Parse a GetItem answer: *found, and the item's S and N attributes.
 * WC_ERR_PARSE for what is not a JSON object or an Item that is not one. */
int wc_dynamodb_parse_item(const char *json, size_t len, bool *found,
                           struct wc_dynamodb_item *out);

/* Map a DynamoDB error code to a wc_err (rc: what wc_aws_send returned,
 * kept for codes without a meaning of their own). */
int wc_dynamodb_error_rc(const char *code, int rc);

#endif
