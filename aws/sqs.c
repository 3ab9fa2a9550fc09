#include "aws/sqs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "aws/endpoints.h"
#include "core/err.h"

struct s_sqs {
    struct wc_queue base;
    struct wc_aws *aws;
    struct wc_creds_provider *creds;
    struct wc_logger *logger;
    char *region;
    char *url;        /* endpoint + "/" */
    char *queue_name; /* NULL when built from a URL */
    char *owner_account_id;
    int visibility_timeout_s;
    pthread_mutex_t lock; /* guards queue_url */
    char *queue_url;
};

#define S_LEGACY_PREFIX "AWS.SimpleQueueService."

/* --- errors ---------------------------------------------------------------- */

static bool s_code_is(const char *code, const char *name)
{
    size_t plen = sizeof(S_LEGACY_PREFIX) - 1;

    if (!code)
        return false;
    if (!strncmp(code, S_LEGACY_PREFIX, plen))
        code += plen;
    return !strcmp(code, name);
}

int wc_sqs_error_rc(const char *code, int rc)
{
    if (s_code_is(code, "NonExistentQueue") || s_code_is(code, "QueueDoesNotExist") ||
        s_code_is(code, "MessageNotInflight"))
        return WC_ERR_NOT_FOUND;
    if (s_code_is(code, "ReceiptHandleIsInvalid"))
        return WC_ERR_INVALID;
    if (s_code_is(code, "OverLimit") || s_code_is(code, "RequestThrottled"))
        return WC_ERR_THROTTLED;
    return rc;
}

/* --- request bodies -------------------------------------------------------- */

static int s_print(cJSON *root, bool ok, struct wc_buf *out)
{
    char *text = NULL;
    int rc = WC_ERR_NOMEM;

    if (ok && (text = cJSON_PrintUnformatted(root)) != NULL)
        rc = wc_buf_append_cstr(out, text);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

int wc_sqs_receive_body(const char *queue_url, int max_messages, int wait_s,
                        int visibility_timeout_s, struct wc_buf *out)
{
    cJSON *root, *names;
    bool ok;

    if (!queue_url || !out || max_messages < 1 || max_messages > WC_QUEUE_MAX_BATCH ||
        wait_s < 0 || wait_s > 20 || visibility_timeout_s < 0 ||
        visibility_timeout_s > WC_SQS_MAX_VISIBILITY_S)
        return WC_ERR_INVALID;
    root = cJSON_CreateObject();
    ok = root && cJSON_AddStringToObject(root, "QueueUrl", queue_url) &&
         cJSON_AddNumberToObject(root, "MaxNumberOfMessages", max_messages) &&
         cJSON_AddNumberToObject(root, "WaitTimeSeconds", wait_s) &&
         (visibility_timeout_s == 0 ||
          cJSON_AddNumberToObject(root, "VisibilityTimeout", visibility_timeout_s));
    names = ok ? cJSON_AddArrayToObject(root, "MessageSystemAttributeNames") : NULL;
    ok = names && cJSON_AddItemToArray(names, cJSON_CreateString("All"));
    return s_print(root, ok, out);
}

int wc_sqs_batch_body(const char *queue_url, const char *const *receipt_handles, size_t n,
                      int visibility_s, struct wc_buf *out)
{
    cJSON *root, *entries;
    bool ok;

    if (!queue_url || !receipt_handles || !out || n == 0 || n > WC_QUEUE_MAX_BATCH ||
        visibility_s > WC_SQS_MAX_VISIBILITY_S)
        return WC_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (wc_str_empty(receipt_handles[i]))
            return WC_ERR_INVALID;
    root = cJSON_CreateObject();
    ok = root && cJSON_AddStringToObject(root, "QueueUrl", queue_url);
    entries = ok ? cJSON_AddArrayToObject(root, "Entries") : NULL;
    ok = entries != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        char id[24];

        snprintf(id, sizeof(id), "%zu", i);
        ok = e && cJSON_AddItemToArray(entries, e) && cJSON_AddStringToObject(e, "Id", id) &&
             cJSON_AddStringToObject(e, "ReceiptHandle", receipt_handles[i]) &&
             (visibility_s < 0 || cJSON_AddNumberToObject(e, "VisibilityTimeout", visibility_s));
    }
    return s_print(root, ok, out);
}

int wc_sqs_get_queue_attributes_body(const char *queue_url, const char *attribute_name,
                                     struct wc_buf *out)
{
    cJSON *root, *names;
    bool ok;

    if (!queue_url || wc_str_empty(attribute_name) || !out)
        return WC_ERR_INVALID;
    root = cJSON_CreateObject();
    ok = root && cJSON_AddStringToObject(root, "QueueUrl", queue_url);
    names = ok ? cJSON_AddArrayToObject(root, "AttributeNames") : NULL;
    ok = names && cJSON_AddItemToArray(names, cJSON_CreateString(attribute_name));
    return s_print(root, ok, out);
}

/* --- the signed call ------------------------------------------------------- */

/* POST body to the endpoint as AmazonSQS.<op>. WC_OK: resp holds the answer
 * (cleaned up by the caller). Errors are mapped and logged here, but for an
 * access-denied one: wc_aws_send logs that, naming the action and queue. */
static int s_call(struct s_sqs *s, const char *op, const char *queue, const struct wc_buf *body,
                  long timeout_ms, size_t max_bytes, struct wc_http_response *resp)
{
    struct wc_aws_credentials creds = {0};
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    char target[64];
    struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)WC_SQS_CONTENT_TYPE},
        {(char *)"X-Amz-Target", target},
        {(char *)"x-amzn-query-mode", (char *)"true"},
    };
    struct wc_aws_request req = {
        .service = "sqs",
        .region = s->region,
        .method = "POST",
        .url = s->url,
        .headers = headers,
        .n_headers = sizeof(headers) / sizeof(headers[0]),
        .body = body->ptr,
        .body_len = body->len,
        .max_response_bytes = max_bytes,
        .timeout_ms = timeout_ms,
        /* a long poll is cut short by shutdown; deletes and releases never */
        .abortable = !strcmp(op, "ReceiveMessage"),
        .resource = queue,
    };
    int rc;

    snprintf(target, sizeof(target), WC_SQS_TARGET_PREFIX "%s", op);
    if ((rc = wc_creds_provider_get(s->creds, &creds)) != WC_OK) {
        WC_LOGW(s->logger, NULL, "sqs: %s: no credentials: %s", op, wc_strerror(rc));
        if (rc == WC_ERR_NOT_FOUND) /* not "no such queue / message" */
            rc = WC_ERR_AUTH;
        goto out;
    }
    rc = wc_aws_send(s->aws, &creds, &req, resp, &err, NULL);
    if (rc != WC_OK) {
        rc = wc_sqs_error_rc(err.code, rc);
        if (s_code_is(err.code, "MessageNotInflight"))
            WC_LOGI(s->logger, NULL, "sqs: %s: the message is no longer in flight (deleted, "
                    "or visible again)", op);
        else if (rc == WC_ERR_NOT_FOUND)
            WC_LOGE(s->logger, NULL, "sqs: %s: queue %s does not exist (%s)", op,
                    queue, err.code);
        else
            wc_aws_error_log(s->logger, WC_LOG_WARN, NULL, &err, rc, "sqs: %s failed", op);
    }
out:
    wc_aws_error_clean_up(&err);
    wc_aws_credentials_clean_up(&creds);
    return rc;
}

/* Parse the answer of op; a tree only when it is a JSON object (the caller
 * frees it in the same function, having copied out what it needs). */
static bool s_answer_is_object(struct s_sqs *s, const char *op, const cJSON *root)
{
    if (cJSON_IsObject(root))
        return true;
    WC_LOGW(s->logger, NULL, "sqs: %s: the answer is not a JSON object", op);
    return false;
}

#define S_PARSE(resp) cJSON_ParseWithLength((resp)->body.ptr ? (resp)->body.ptr : "", \
                                            (resp)->body.len)

/* --- queue URL ------------------------------------------------------------- */

static int s_get_queue_url(struct s_sqs *s, char **out)
{
    struct wc_buf body = WC_BUF_INIT;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    cJSON *root = NULL, *req = cJSON_CreateObject();
    const char *url;
    bool ok;
    int rc;

    ok = req && cJSON_AddStringToObject(req, "QueueName", s->queue_name) &&
         (!s->owner_account_id ||
          cJSON_AddStringToObject(req, "QueueOwnerAWSAccountId", s->owner_account_id));
    if ((rc = s_print(req, ok, &body)) != WC_OK)
        goto out;
    rc = s_call(s, "GetQueueUrl", s->queue_name, &body, 0, WC_SQS_MAX_RESPONSE_BYTES, &resp);
    if (rc != WC_OK)
        goto out;
    rc = WC_ERR_PARSE;
    root = S_PARSE(&resp);
    if (!s_answer_is_object(s, "GetQueueUrl", root))
        goto out;
    url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "QueueUrl"));
    if (wc_str_empty(url)) {
        WC_LOGW(s->logger, NULL, "sqs: GetQueueUrl: no QueueUrl in the answer");
        goto out;
    }
    rc = (*out = wc_strdup(url)) ? WC_OK : WC_ERR_NOMEM;
    if (rc == WC_OK)
        WC_LOGI(s->logger, NULL, "sqs: queue %s is %s", s->queue_name, url);
out:
    cJSON_Delete(root);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    return rc;
}

/* Copy of the queue URL (resolving it first when needed) into *out. */
static int s_queue_url(struct s_sqs *s, char **out)
{
    int rc = WC_OK;

    pthread_mutex_lock(&s->lock);
    if (!s->queue_url)
        rc = s_get_queue_url(s, &s->queue_url);
    if (rc == WC_OK && !(*out = wc_strdup(s->queue_url)))
        rc = WC_ERR_NOMEM;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int wc_sqs_resolve(struct wc_queue *q)
{
    char *url = NULL;
    int rc;

    if (!q || !q->impl)
        return WC_ERR_INVALID;
    rc = s_queue_url(q->impl, &url);
    free(url);
    return rc;
}

const char *wc_sqs_queue_url(struct wc_queue *q)
{
    struct s_sqs *s;
    const char *url;

    if (!q || !(s = q->impl))
        return NULL;
    pthread_mutex_lock(&s->lock);
    url = s->queue_url;
    pthread_mutex_unlock(&s->lock);
    return url;
}

/* --- receive --------------------------------------------------------------- */

static void s_md5_hex(const char *data, size_t len, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL) != 1 || n != 16)
        return;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Attribute value: a string of decimal digits; 0 when absent or bad. */
static int64_t s_attr_int(const cJSON *attrs, const char *name)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(attrs, name));
    char *end = NULL;
    long long n;

    if (!v || *v < '0' || *v > '9')
        return 0;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || *end || n < 0)
        return 0;
    return (int64_t)n;
}

/* One message into *m; WC_ERR_PARSE to skip it (logged). */
static int s_message(struct s_sqs *s, const cJSON *item, struct wc_queue_message *m)
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "MessageId"));
    const char *rh = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "ReceiptHandle"));
    const char *body = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "Body"));
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(item, "MD5OfBody");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(item, "Attributes");
    size_t len;
    int64_t count;

    if (wc_str_empty(id) || wc_str_empty(rh) || !body) {
        WC_LOGW(s->logger, id, "sqs: skipping a message without MessageId, ReceiptHandle or Body");
        return WC_ERR_PARSE;
    }
    len = strlen(body);
    if (md5) {
        char hex[33];

        s_md5_hex(body, len, hex);
        if (!cJSON_IsString(md5) || strcasecmp(md5->valuestring, hex) != 0) {
            WC_LOGE(s->logger, id,
                    "sqs: corrupt message: MD5OfBody %s but the body's MD5 is %s; "
                    "skipped (left for redelivery / the dead-letter queue)",
                    cJSON_IsString(md5) ? md5->valuestring : "(not a string)", hex);
            return WC_ERR_PARSE;
        }
    }
    m->message_id = wc_strdup(id);
    m->receipt_handle = wc_strdup(rh);
    m->body = wc_strndup(body, len);
    m->body_len = len;
    count = s_attr_int(attrs, "ApproximateReceiveCount");
    m->receive_count = count > 0 && count < 1000000000 ? (int)count : 1;
    m->first_receive_ms = s_attr_int(attrs, "ApproximateFirstReceiveTimestamp");
    m->sent_ms = s_attr_int(attrs, "SentTimestamp");
    if (!m->message_id || !m->receipt_handle || !m->body) {
        wc_queue_message_clean_up(m);
        return WC_ERR_NOMEM;
    }
    return WC_OK;
}

static int s_receive(struct wc_queue *q, int max_messages, int wait_s, struct wc_queue_batch *out)
{
    struct s_sqs *s = q->impl;
    struct wc_buf body = WC_BUF_INIT;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_queue_batch batch = WC_QUEUE_BATCH_INIT;
    cJSON *root = NULL, *msgs, *item;
    char *url = NULL;
    int rc, n, skipped = 0;

    if (out->items || out->len)
        return WC_ERR_INVALID;
    if ((rc = s_queue_url(s, &url)) != WC_OK)
        goto out;
    if ((rc = wc_sqs_receive_body(url, max_messages, wait_s, s->visibility_timeout_s, &body)) !=
        WC_OK)
        goto out;
    rc = s_call(s, "ReceiveMessage", url, &body, ((long)wait_s + 10) * 1000L,
                WC_SQS_MAX_RECEIVE_BYTES, &resp);
    if (rc != WC_OK)
        goto out;
    rc = WC_ERR_PARSE;
    root = S_PARSE(&resp);
    if (!s_answer_is_object(s, "ReceiveMessage", root))
        goto out;
    msgs = cJSON_GetObjectItemCaseSensitive(root, "Messages");
    if (msgs && !cJSON_IsArray(msgs) && !cJSON_IsNull(msgs)) {
        WC_LOGW(s->logger, NULL, "sqs: ReceiveMessage: Messages is not an array");
        goto out;
    }
    n = cJSON_GetArraySize(msgs);
    if (n > WC_QUEUE_MAX_BATCH) {
        WC_LOGW(s->logger, NULL, "sqs: ReceiveMessage returned %d messages (asked %d)", n,
                max_messages);
        goto out;
    }
    rc = WC_OK;
    if (n > 0 && !(batch.items = calloc((size_t)n, sizeof(*batch.items)))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    cJSON_ArrayForEach(item, msgs) {
        int mrc = s_message(s, item, &batch.items[batch.len]);

        if (mrc == WC_ERR_NOMEM) {
            rc = mrc;
            goto out;
        }
        if (mrc == WC_OK)
            batch.len++;
        else
            skipped++;
    }
    WC_LOGD(s->logger, NULL, "sqs: received %zu message(s)%s", batch.len,
            skipped ? ", skipped corrupt ones" : "");
    *out = batch;
    batch = (struct wc_queue_batch)WC_QUEUE_BATCH_INIT;
out:
    wc_queue_batch_clean_up(&batch);
    cJSON_Delete(root);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    free(url);
    return rc;
}

/* --- batches --------------------------------------------------------------- */

/* Id "0".."9" -> index, or -1. */
static int s_entry_index(const cJSON *e, size_t n)
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Id"));
    char *end = NULL;
    long i;

    if (!id || *id < '0' || *id > '9')
        return -1;
    i = strtol(id, &end, 10);
    return *end == '\0' && i >= 0 && (size_t)i < n ? (int)i : -1;
}

static int s_batch(struct s_sqs *s, const char *op, const char *const *handles, size_t n,
                   int visibility_s, int *results)
{
    struct wc_buf body = WC_BUF_INIT;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    cJSON *root = NULL, *e;
    char *url = NULL;
    int rc;

    for (size_t i = 0; i < n; i++)
        results[i] = WC_ERR_SERVICE; /* until the answer says otherwise */
    if ((rc = s_queue_url(s, &url)) != WC_OK)
        goto out;
    if ((rc = wc_sqs_batch_body(url, handles, n, visibility_s, &body)) != WC_OK)
        goto out;
    if ((rc = s_call(s, op, url, &body, 0, WC_SQS_MAX_RESPONSE_BYTES, &resp)) != WC_OK)
        goto out;
    rc = WC_ERR_PARSE;
    root = S_PARSE(&resp);
    if (!s_answer_is_object(s, op, root))
        goto out;
    rc = WC_OK;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "Successful")) {
        int i = s_entry_index(e, n);

        if (i >= 0)
            results[i] = WC_OK;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "Failed")) {
        int i = s_entry_index(e, n);
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Code"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Message"));

        if (i < 0)
            continue;
        results[i] = wc_sqs_error_rc(code, WC_ERR_SERVICE);
        if (results[i] == WC_ERR_THROTTLED)
            results[i] = WC_ERR_SERVICE;
        WC_LOGW(s->logger, NULL, "sqs: %s entry %d failed: %s%s%s%s", op, i,
                code ? code : "(no code)", msg ? ": " : "", msg ? msg : "",
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "SenderFault"))
                    ? " (sender fault)" : "");
    }
    for (size_t i = 0; i < n; i++)
        if (results[i] == WC_ERR_SERVICE)
            WC_LOGD(s->logger, NULL, "sqs: %s entry %zu not confirmed", op, i);
out:
    cJSON_Delete(root);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    free(url);
    return rc;
}

static int s_delete_batch(struct wc_queue *q, const char *const *receipt_handles, size_t n,
                          int *results)
{
    if (!receipt_handles)
        return WC_ERR_INVALID;
    return s_batch(q->impl, "DeleteMessageBatch", receipt_handles, n, -1, results);
}

int wc_sqs_change_visibility_batch(struct wc_queue *q, const char *const *receipt_handles,
                                   size_t n, int visibility_s, int *results)
{
    if (!q || !q->impl || !receipt_handles || !results || n == 0 || n > WC_QUEUE_MAX_BATCH ||
        visibility_s < 0 || visibility_s > WC_SQS_MAX_VISIBILITY_S)
        return WC_ERR_INVALID;
    return s_batch(q->impl, "ChangeMessageVisibilityBatch", receipt_handles, n, visibility_s,
                   results);
}

static int s_change_visibility_batch(struct wc_queue *q, const char *const *receipt_handles,
                                     size_t n, int visibility_s, int *results)
{
    return wc_sqs_change_visibility_batch(q, receipt_handles, n, visibility_s, results);
}

static int s_retry_later(struct wc_queue *q, const char *receipt_handle, int delay_s)
{
    struct s_sqs *s = q->impl;
    struct wc_buf body = WC_BUF_INIT;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    cJSON *req = NULL;
    char *url = NULL;
    bool ok;
    int rc;

    if (wc_str_empty(receipt_handle) || delay_s < 0 || delay_s > WC_SQS_MAX_VISIBILITY_S)
        return WC_ERR_INVALID;
    if ((rc = s_queue_url(s, &url)) != WC_OK)
        goto out;
    req = cJSON_CreateObject();
    ok = req && cJSON_AddStringToObject(req, "QueueUrl", url) &&
         cJSON_AddStringToObject(req, "ReceiptHandle", receipt_handle) &&
         cJSON_AddNumberToObject(req, "VisibilityTimeout", delay_s);
    if ((rc = s_print(req, ok, &body)) != WC_OK)
        goto out;
    rc = s_call(s, "ChangeMessageVisibility", url, &body, 0, WC_SQS_MAX_RESPONSE_BYTES, &resp);
out:
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    free(url);
    return rc;
}

/* --- queue attributes ------------------------------------------------------ */

/* A count of seconds as SQS gives attributes: decimal digits only, within
 * 0..max. */
static bool s_parse_seconds(const char *v, int max, int *out)
{
    long n = 0;

    if (wc_str_empty(v) || strlen(v) > 9)
        return false;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        n = n * 10 + (*p - '0');
    }
    if (n > max)
        return false;
    *out = (int)n;
    return true;
}

static int s_visibility_timeout(struct wc_queue *q, int *out_s)
{
    static const char *const op = "GetQueueAttributes", *const name = "VisibilityTimeout";
    struct s_sqs *s = q->impl;
    struct wc_buf body = WC_BUF_INIT;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    cJSON *root = NULL;
    const char *v;
    char *url = NULL;
    int rc, n = 0;

    if ((rc = s_queue_url(s, &url)) != WC_OK)
        goto out;
    if ((rc = wc_sqs_get_queue_attributes_body(url, name, &body)) != WC_OK)
        goto out;
    if ((rc = s_call(s, op, url, &body, 0, WC_SQS_MAX_RESPONSE_BYTES, &resp)) != WC_OK)
        goto out;
    rc = WC_ERR_PARSE;
    root = S_PARSE(&resp);
    if (!s_answer_is_object(s, op, root))
        goto out;
    v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "Attributes"), name));
    if (!v) {
        WC_LOGW(s->logger, NULL, "sqs: %s: no %s in the answer", op, name);
        goto out;
    }
    if (!s_parse_seconds(v, WC_SQS_MAX_VISIBILITY_S, &n)) {
        WC_LOGW(s->logger, NULL, "sqs: %s: %s \"%.32s\" is not 0..%d seconds", op, name, v,
                WC_SQS_MAX_VISIBILITY_S);
        goto out;
    }
    *out_s = n;
    rc = WC_OK;
out:
    cJSON_Delete(root);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    free(url);
    return rc;
}

/* --- life cycle ------------------------------------------------------------ */

static void s_destroy(struct wc_queue *q)
{
    struct s_sqs *s;

    if (!q || !(s = q->impl))
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->region);
    free(s->url);
    free(s->queue_name);
    free(s->owner_account_id);
    free(s->queue_url);
    free(s);
}

static const struct wc_queue_vtable s_vtable = {
    .name = "sqs",
    .receive = s_receive,
    .delete_batch = s_delete_batch,
    .retry_later = s_retry_later,
    .change_visibility_batch = s_change_visibility_batch,
    .visibility_timeout = s_visibility_timeout,
    .destroy = s_destroy,
};

static const char *s_no_env(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

struct wc_queue *wc_sqs_new(const struct wc_sqs_options *o)
{
    struct s_sqs *s;
    struct wc_buf url = WC_BUF_INIT;
    const struct wc_env no_env = {s_no_env, NULL};
    char *endpoint = NULL;
    bool ok;

    if (!o || !o->aws || !o->creds || wc_str_empty(o->queue_url) == wc_str_empty(o->queue_name) ||
        o->visibility_timeout_s < 0 || o->visibility_timeout_s > WC_SQS_MAX_VISIBILITY_S)
        return NULL;
    if (!(s = calloc(1, sizeof(*s))))
        return NULL;
    s->base.vtable = &s_vtable;
    s->base.impl = s;
    s->aws = o->aws;
    s->creds = o->creds;
    s->logger = o->logger ? o->logger : wc_aws_logger(o->aws);
    s->visibility_timeout_s = o->visibility_timeout_s;
    pthread_mutex_init(&s->lock, NULL);
    if (!wc_str_empty(o->region))
        ok = (s->region = wc_strdup(o->region)) != NULL;
    else if (o->queue_url)
        ok = (s->region = wc_sqs_region_from_queue_url(o->queue_url)) != NULL;
    else
        ok = false;
    if (ok && o->queue_url)
        ok = (s->queue_url = wc_strdup(o->queue_url)) != NULL;
    if (ok && o->queue_name)
        ok = (s->queue_name = wc_strdup(o->queue_name)) != NULL;
    if (ok && o->queue_owner_account_id)
        ok = (s->owner_account_id = wc_strdup(o->queue_owner_account_id)) != NULL;
    if (ok && wc_str_empty(o->endpoint))
        ok = wc_endpoint_resolve("sqs", s->region, NULL, 0, &no_env, &endpoint) == WC_OK;
    if (ok) {
        const char *base = endpoint ? endpoint : o->endpoint;
        size_t len = strlen(base);

        while (len > 0 && base[len - 1] == '/')
            len--;
        ok = wc_buf_appendf(&url, "%.*s/", (int)len, base) == WC_OK;
    }
    free(endpoint);
    if (!ok) {
        wc_buf_clean_up(&url);
        s_destroy(&s->base);
        return NULL;
    }
    s->url = wc_buf_steal(&url);
    return &s->base;
}
