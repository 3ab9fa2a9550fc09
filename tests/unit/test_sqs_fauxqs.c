/* Live tests of aws/sqs and aws/s3 over the real libcurl transport:
 *   - SQS against the fauxqs emulator (tests/support/fauxqs/start), queues
 *     created through FAUXQS_INIT: receive (long poll), attributes and
 *     receive counts, change visibility (one and batch), the queue's
 *     VisibilityTimeout (GetQueueAttributes), delete batch, redrive to a DLQ
 *     after maxReceiveCount 3, GetQueueUrl by name;
 *   - S3 GetObject against the stand-in (tests/support/standins/start --s3),
 *     which verifies SigV4 independently with botocore: a gzip object under
 *     an AWSLogs/.../AWS::EC2::Instance/... key, a wrong secret
 *     (SignatureDoesNotMatch), a missing key, a bucket in another region.
 * Both servers listen on 127.0.0.1 only and are stopped by PID in the group
 * teardown. If either cannot be installed or started the tests FAIL (CI
 * must exercise them). Every wait is bounded. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/http_curl.h"
#include "aws/s3.h"
#include "aws/sqs.h"
#include "core/change.h"
#include "core/err.h"
#include "core/log.h"
#include "core/queue.h"
#include "tests/support/gzip_util.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define BUCKET "config-bucket-123456789012"
#define REGIONAL_BUCKET "config-bucket-paris"
#define KEY                                                                                 \
    "AWSLogs/123456789012/Config/us-west-2/2016/10/6/OversizedChangeNotification/"          \
    "AWS::EC2::Instance/resourceId_14b76876 x/123456789012_Config_us-west-2_Change"         \
    "Notification_AWS::EC2::Instance_resourceId_14b76876_20161006T164616Z_0.json.gz"
#define SAMPLE "samples/config/s3-object-oversized-change-notification.constructed.json"

static const char s_init[] =
    "{\"queues\":["
    "{\"name\":\"wc-flow\",\"attributes\":{\"VisibilityTimeout\":\"30\"}},"
    "{\"name\":\"wc-vis\",\"attributes\":{\"VisibilityTimeout\":\"30\"}},"
    "{\"name\":\"wc-lease\",\"attributes\":{\"VisibilityTimeout\":\"45\"}},"
    "{\"name\":\"wc-redrive-dlq\"},"
    "{\"name\":\"wc-redrive\",\"attributes\":{\"VisibilityTimeout\":\"30\",\"RedrivePolicy\":"
    "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:wc-redrive-dlq\\\","
    "\\\"maxReceiveCount\\\":\\\"3\\\"}\"}}]}";

struct live {
    char dir[64];
    char root[1024];
    pid_t fauxqs_pid, standin_pid;
    int fauxqs_port, standin_port;
    char sqs_endpoint[64], s3_endpoint[64];
    struct wc_logger *logger;
    struct wc_http *http;
    struct wc_aws *aws;
    struct wc_creds_provider *creds, *bad_creds;
};

static struct live g_live; /* the group fixture */

/* --- processes ------------------------------------------------------------- */

/* Run cmd (through sh), read "PID PORT" from its stdout. */
static int s_start(const char *cmd, pid_t *pid, int *port)
{
    FILE *p = popen(cmd, "r");
    long a = 0, b = 0;
    int n, rc;

    if (!p)
        return -1;
    n = fscanf(p, "%ld %ld", &a, &b);
    rc = pclose(p);
    if (n != 2 || rc != 0 || a <= 1 || b <= 0 || b > 65535)
        return -1;
    *pid = (pid_t)a;
    *port = (int)b;
    return 0;
}

/* SIGTERM, wait up to 5 s, then SIGKILL. Not our child: poll with kill(0). */
static void s_stop(pid_t *pid)
{
    if (*pid <= 1)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 50 && kill(*pid, 0) == 0; i++)
        usleep(100 * 1000);
    if (kill(*pid, 0) == 0)
        kill(*pid, SIGKILL);
    *pid = 0;
}

static int s_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* mkdir -p for the directory part of path. */
static int s_mkdirs(const char *path)
{
    char tmp[2048];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* The S3 objects the stand-in serves. */
static int s_write_objects(struct live *l)
{
    struct wc_buf json = WC_BUF_INIT, gz = WC_BUF_INIT;
    char path[2048];
    int rc;

    wc_test_read_ref(SAMPLE, &json);
    wc_test_gzip(json.ptr, json.len, &gz);
    snprintf(path, sizeof(path), "%s/s3/%s/%s", l->dir, BUCKET, KEY);
    rc = s_mkdirs(path) || s_write_file(path, gz.ptr, gz.len);
    snprintf(path, sizeof(path), "%s/s3/%s/obj.json.gz", l->dir, REGIONAL_BUCKET);
    rc = rc || s_mkdirs(path) || s_write_file(path, gz.ptr, gz.len);
    wc_buf_clean_up(&json);
    wc_buf_clean_up(&gz);
    return rc;
}

static int group_teardown(void **state);

/* On failure everything started so far is stopped (cmocka does not run the
 * group teardown after a failed setup). */
static int group_setup(void **state)
{
    struct live *l = &g_live;
    struct wc_http_curl_options ho = {.allow_plain_http_loopback = true,
                                      .connect_timeout_ms = 2000, .timeout_ms = 15000};
    struct wc_logger_options lo = {.level = WC_LOG_WARN};
    struct wc_aws_options ao = {0};
    struct wc_aws_credentials c = {.access_key_id = (char *)AKID,
                                   .secret_access_key = (char *)SECRET};
    const char *root = getenv("WC_ROOT");
    char cmd[4096], path[1024];

    *state = l;
    snprintf(l->root, sizeof(l->root), "%s", root ? root : ".");
    snprintf(l->dir, sizeof(l->dir), "/tmp/wc-sqs-live.XXXXXX");
    if (!mkdtemp(l->dir)) {
        print_error("mkdtemp failed\n");
        goto fail;
    }
    if (snprintf(cmd, sizeof(cmd),
                 "cd '%s' && timeout 300 scripts/fauxqs-install >'%s/install.log' 2>&1", l->root,
                 l->dir) >= (int)sizeof(cmd) ||
        system(cmd) != 0) {
        print_error("scripts/fauxqs-install failed (see %s/install.log)\n", l->dir);
        goto fail;
    }
    if (snprintf(path, sizeof(path), "%s/init.json", l->dir) >= (int)sizeof(path))
        goto fail;
    if (s_write_file(path, s_init, sizeof(s_init) - 1) != 0 || s_write_objects(l) != 0) {
        print_error("cannot write the fixtures in %s\n", l->dir);
        goto fail;
    }
    if (snprintf(cmd, sizeof(cmd),
             "FAUXQS_LOG='%s/fauxqs.log' '%s/tests/support/fauxqs/start' 0 '%s' 2>>'%s/start.err'",
             l->dir, l->root, path, l->dir) >= (int)sizeof(cmd))
        goto fail;
    if (s_start(cmd, &l->fauxqs_pid, &l->fauxqs_port) != 0) {
        print_error("fauxqs did not start (see %s/start.err)\n", l->dir);
        goto fail;
    }
    if (snprintf(cmd, sizeof(cmd),
             "STANDIN_LOG='%s/standin.log' '%s/tests/support/standins/start' --s3 --s3-dir "
             "'%s/s3' --s3-bucket-region " REGIONAL_BUCKET "=eu-west-3 2>>'%s/start.err'",
             l->dir, l->root, l->dir, l->dir) >= (int)sizeof(cmd))
        goto fail;
    if (s_start(cmd, &l->standin_pid, &l->standin_port) != 0) {
        print_error("the S3 stand-in did not start (see %s/start.err)\n", l->dir);
        goto fail;
    }
    snprintf(l->sqs_endpoint, sizeof(l->sqs_endpoint), "http://127.0.0.1:%d", l->fauxqs_port);
    snprintf(l->s3_endpoint, sizeof(l->s3_endpoint), "http://127.0.0.1:%d", l->standin_port);
    if (wc_http_curl_global_init() != WC_OK)
        goto fail;
    l->logger = wc_logger_new(&lo);
    ho.logger = l->logger;
    l->http = wc_http_curl_new(&ho);
    ao.http = l->http;
    ao.logger = l->logger;
    l->aws = l->http ? wc_aws_new(&ao) : NULL;
    l->creds = wc_creds_static_new(&c, NULL);
    c.secret_access_key = (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY";
    l->bad_creds = wc_creds_static_new(&c, NULL);
    if (l->aws && l->creds && l->bad_creds)
        return 0;
fail:
    group_teardown(state);
    return -1;
}

static int group_teardown(void **state)
{
    struct live *l = &g_live;
    char cmd[256];

    (void)state;
    s_stop(&l->fauxqs_pid);
    s_stop(&l->standin_pid);
    wc_aws_destroy(l->aws);
    wc_http_destroy(l->http);
    wc_creds_provider_destroy(l->creds);
    wc_creds_provider_destroy(l->bad_creds);
    wc_logger_destroy(l->logger);
    wc_http_curl_global_clean_up();
    if (!strncmp(l->dir, "/tmp/wc-sqs-live.", 17) && !strchr(l->dir, '\'')) {
        if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", l->dir) < (int)sizeof(cmd) &&
            system(cmd) != 0)
            print_error("could not remove %s\n", l->dir);
    }
    return 0;
}

/* --- SQS helpers ----------------------------------------------------------- */

static int64_t s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct wc_queue *s_queue(struct live *l, const char *name)
{
    struct wc_sqs_options o = {.aws = l->aws, .creds = l->creds, .region = "us-east-1",
                               .endpoint = l->sqs_endpoint, .queue_name = name};
    struct wc_queue *q = wc_sqs_new(&o);

    assert_non_null(q);
    assert_int_equal(wc_sqs_resolve(q), WC_OK);
    return q;
}

/* SendMessage through a signed JSON call of our own; returns the MessageId
 * (heap). */
static char *s_send_message(struct live *l, struct wc_queue *q, const char *body)
{
    struct wc_aws_credentials creds = {0};
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    static const struct wc_http_header h[] = {
        {(char *)"Content-Type", (char *)"application/x-amz-json-1.0"},
        {(char *)"X-Amz-Target", (char *)"AmazonSQS.SendMessage"},
        {(char *)"x-amzn-query-mode", (char *)"true"},
    };
    char url[80], *text, *id;
    cJSON *req = cJSON_CreateObject(), *root;
    struct wc_aws_request r = {.service = "sqs", .region = "us-east-1", .method = "POST",
                               .headers = h, .n_headers = 3};

    snprintf(url, sizeof(url), "%s/", l->sqs_endpoint);
    r.url = url;
    cJSON_AddStringToObject(req, "QueueUrl", wc_sqs_queue_url(q));
    cJSON_AddStringToObject(req, "MessageBody", body);
    text = cJSON_PrintUnformatted(req);
    r.body = text;
    r.body_len = strlen(text);
    assert_int_equal(wc_creds_provider_get(l->creds, &creds), WC_OK);
    assert_int_equal(wc_aws_send(l->aws, &creds, &r, &resp, &err, NULL), WC_OK);
    root = cJSON_Parse(resp.body.ptr);
    id = wc_strdup(cJSON_GetStringValue(cJSON_GetObjectItem(root, "MessageId")));
    assert_non_null(id);
    cJSON_Delete(root);
    cJSON_free(text);
    cJSON_Delete(req);
    wc_http_response_clean_up(&resp);
    wc_aws_error_clean_up(&err);
    wc_aws_credentials_clean_up(&creds);
    return id;
}

/* Receive until want messages arrived or tries long polls of wait_s passed;
 * appended to out (which owns them). */
static void s_receive_n(struct wc_queue *q, size_t want, int wait_s, int tries,
                        struct wc_queue_batch *out)
{
    for (int i = 0; i < tries && out->len < want; i++) {
        struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;

        assert_int_equal(wc_queue_receive(q, 10, wait_s, &b), WC_OK);
        if (b.len) {
            out->items = realloc(out->items, (out->len + b.len) * sizeof(*out->items));
            assert_non_null(out->items);
            memcpy(out->items + out->len, b.items, b.len * sizeof(*b.items));
            out->len += b.len;
        }
        free(b.items);
    }
}

/* --- SQS ------------------------------------------------------------------- */

static void test_receive_attributes_delete(void **state)
{
    struct live *l = *state;
    struct wc_queue *q = s_queue(l, "wc-flow");
    struct wc_queue_batch got = WC_QUEUE_BATCH_INIT, none = WC_QUEUE_BATCH_INIT;
    const char *bodies[] = {"hello fauxqs",
                            "{\"Type\":\"Notification\",\"Message\":\"h\\u00e9llo \\u2713 "
                            "\\\"quoted\\\"\"} caf\xc3\xa9 \xe2\x9c\x93"};
    char *ids[2];
    const char *handles[2];
    int results[2] = {99, 99};
    int64_t t0 = s_now_ms();

    assert_non_null(strstr(wc_sqs_queue_url(q), "/000000000000/wc-flow"));
    ids[0] = s_send_message(l, q, bodies[0]);
    ids[1] = s_send_message(l, q, bodies[1]);
    s_receive_n(q, 2, 1, 4, &got);
    assert_int_equal(got.len, 2);
    for (size_t i = 0; i < 2; i++) {
        struct wc_queue_message *m = &got.items[i];
        size_t j = strcmp(m->message_id, ids[0]) == 0 ? 0 : 1;

        assert_string_equal(m->message_id, ids[j]);
        /* the MD5 check passed on the real MD5OfBody, UTF-8 included */
        assert_string_equal(m->body, bodies[j]);
        assert_int_equal(m->body_len, strlen(bodies[j]));
        assert_int_equal(m->receive_count, 1);
        assert_true(m->sent_ms >= t0 - 5000 && m->sent_ms <= s_now_ms() + 5000);
        assert_true(m->first_receive_ms >= m->sent_ms);
        handles[i] = m->receipt_handle;
    }
    assert_int_equal(wc_queue_delete_batch(q, handles, 2, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    assert_int_equal(results[1], WC_OK);
    /* gone: nothing after a 1 s long poll */
    assert_int_equal(wc_queue_receive(q, 10, 1, &none), WC_OK);
    assert_int_equal(none.len, 0);
    wc_queue_batch_clean_up(&got);
    free(ids[0]);
    free(ids[1]);
    wc_queue_destroy(q);
}

static void test_change_visibility(void **state)
{
    struct live *l = *state;
    struct wc_queue *q = s_queue(l, "wc-vis");
    struct wc_queue_batch a = WC_QUEUE_BATCH_INIT, b = WC_QUEUE_BATCH_INIT,
                          c = WC_QUEUE_BATCH_INIT, none = WC_QUEUE_BATCH_INIT;
    char *id = s_send_message(l, q, "later please");
    const char *h[1];
    int results[1] = {99};
    int64_t t;

    s_receive_n(q, 1, 1, 3, &a);
    assert_int_equal(a.len, 1);
    assert_int_equal(a.items[0].receive_count, 1);
    /* back in 1 s, not before */
    assert_int_equal(wc_queue_retry_later(q, a.items[0].receipt_handle, 1), WC_OK);
    t = s_now_ms();
    assert_int_equal(wc_queue_receive(q, 10, 0, &none), WC_OK);
    assert_int_equal(none.len, 0);
    s_receive_n(q, 1, 3, 2, &b);
    assert_int_equal(b.len, 1);
    assert_true(s_now_ms() - t >= 900);
    assert_string_equal(b.items[0].message_id, id);
    assert_int_equal(b.items[0].receive_count, 2);
    assert_string_not_equal(b.items[0].receipt_handle, a.items[0].receipt_handle);
    /* the batch form */
    h[0] = b.items[0].receipt_handle;
    assert_int_equal(wc_sqs_change_visibility_batch(q, h, 1, 1, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    s_receive_n(q, 1, 3, 2, &c);
    assert_int_equal(c.len, 1);
    assert_int_equal(c.items[0].receive_count, 3);
    h[0] = c.items[0].receipt_handle;
    results[0] = 99;
    assert_int_equal(wc_queue_delete_batch(q, h, 1, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    assert_int_equal(wc_queue_receive(q, 10, 1, &none), WC_OK);
    assert_int_equal(none.len, 0);
    /* deleted meanwhile: MessageNotInflight, for the worker "move on" */
    assert_int_equal(wc_queue_retry_later(q, c.items[0].receipt_handle, 5), WC_ERR_NOT_FOUND);
    wc_queue_batch_clean_up(&a);
    wc_queue_batch_clean_up(&b);
    wc_queue_batch_clean_up(&c);
    free(id);
    wc_queue_destroy(q);
}

/* The lease calls of the queue port: the queue's VisibilityTimeout
 * (GetQueueAttributes) and ChangeMessageVisibilityBatch as heartbeat and
 * as release. */
static void test_visibility_timeout_and_lease_batch(void **state)
{
    struct live *l = *state;
    struct wc_queue *q = s_queue(l, "wc-lease"), *vis = s_queue(l, "wc-vis");
    struct wc_queue_batch a = WC_QUEUE_BATCH_INIT, b = WC_QUEUE_BATCH_INIT,
                          none = WC_QUEUE_BATCH_INIT;
    char *ids[2];
    const char *h[3];
    int results[3] = {99, 99, 99}, v = -1;

    assert_int_equal(wc_queue_visibility_timeout(q, &v), WC_OK);
    assert_int_equal(v, 45);
    assert_int_equal(wc_queue_visibility_timeout(vis, &v), WC_OK);
    assert_int_equal(v, 30);

    ids[0] = s_send_message(l, q, "lease one");
    ids[1] = s_send_message(l, q, "lease two");
    s_receive_n(q, 2, 1, 4, &a);
    assert_int_equal(a.len, 2);
    h[0] = a.items[0].receipt_handle;
    h[1] = a.items[1].receipt_handle;
    /* heartbeat: both kept in flight for another 30 s */
    assert_int_equal(wc_queue_change_visibility_batch(q, h, 2, 30, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    assert_int_equal(results[1], WC_OK);
    assert_int_equal(wc_queue_receive(q, 10, 1, &none), WC_OK);
    assert_int_equal(none.len, 0);
    /* release: visible again at once, received a second time */
    results[0] = results[1] = 99;
    assert_int_equal(wc_queue_change_visibility_batch(q, h, 2, 0, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    assert_int_equal(results[1], WC_OK);
    s_receive_n(q, 2, 1, 4, &b);
    assert_int_equal(b.len, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(b.items[i].receive_count, 2);
        assert_true(!strcmp(b.items[i].message_id, ids[0]) ||
                    !strcmp(b.items[i].message_id, ids[1]));
    }
    /* delete the first; a batch naming it and the other: per-entry results
     * (fauxqs answers ReceiptHandleIsInvalid for a handle no longer in
     * flight, SQS MessageNotInflight: either way not WC_OK) */
    h[0] = b.items[0].receipt_handle;
    h[1] = b.items[1].receipt_handle;
    results[0] = 99;
    assert_int_equal(wc_queue_delete_batch(q, h, 1, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    h[2] = a.items[0].receipt_handle; /* stale: from the first receive */
    results[0] = results[1] = results[2] = 99;
    assert_int_equal(wc_queue_change_visibility_batch(q, h, 3, 0, results), WC_OK);
    assert_true(results[0] == WC_ERR_INVALID || results[0] == WC_ERR_NOT_FOUND);
    assert_int_equal(results[1], WC_OK);
    assert_true(results[2] == WC_ERR_INVALID || results[2] == WC_ERR_NOT_FOUND);
    /* the second, released, is the only one left */
    wc_queue_batch_clean_up(&none);
    s_receive_n(q, 1, 1, 3, &none);
    assert_int_equal(none.len, 1);
    assert_string_equal(none.items[0].message_id, b.items[1].message_id);
    h[0] = none.items[0].receipt_handle;
    assert_int_equal(wc_queue_delete_batch(q, h, 1, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    wc_queue_batch_clean_up(&a);
    wc_queue_batch_clean_up(&b);
    wc_queue_batch_clean_up(&none);
    free(ids[0]);
    free(ids[1]);
    wc_queue_destroy(q);
    wc_queue_destroy(vis);
}

static void test_redrive_after_three_receives(void **state)
{
    struct live *l = *state;
    struct wc_queue *q = s_queue(l, "wc-redrive"), *dlq = s_queue(l, "wc-redrive-dlq");
    struct wc_queue_batch none = WC_QUEUE_BATCH_INIT, dead = WC_QUEUE_BATCH_INIT;
    char *id = s_send_message(l, q, "poison");

    for (int i = 1; i <= 3; i++) {
        struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;

        s_receive_n(q, 1, 1, 3, &b);
        assert_int_equal(b.len, 1);
        assert_string_equal(b.items[0].message_id, id);
        assert_int_equal(b.items[0].receive_count, i);
        /* visible again at once, as the worker's "retry now" would do */
        assert_int_equal(wc_queue_retry_later(q, b.items[0].receipt_handle, 0), WC_OK);
        wc_queue_batch_clean_up(&b);
    }
    /* the fourth receive moves it to the dead-letter queue instead */
    assert_int_equal(wc_queue_receive(q, 10, 1, &none), WC_OK);
    assert_int_equal(none.len, 0);
    s_receive_n(dlq, 1, 1, 3, &dead);
    assert_int_equal(dead.len, 1);
    assert_string_equal(dead.items[0].body, "poison");
    wc_queue_batch_clean_up(&dead);
    free(id);
    wc_queue_destroy(q);
    wc_queue_destroy(dlq);
}

static void test_missing_queue(void **state)
{
    struct live *l = *state;
    struct wc_sqs_options o = {.aws = l->aws, .creds = l->creds, .region = "us-east-1",
                               .endpoint = l->sqs_endpoint, .queue_name = "wc-no-such-queue"};
    struct wc_queue *q = wc_sqs_new(&o);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;

    assert_non_null(q);
    assert_int_equal(wc_sqs_resolve(q), WC_ERR_NOT_FOUND);
    assert_int_equal(wc_queue_receive(q, 1, 0, &b), WC_ERR_NOT_FOUND);
    wc_queue_destroy(q);
}

/* --- S3 against the SigV4-verifying stand-in -------------------------------- */

static void test_s3_fetch_verified(void **state)
{
    struct live *l = *state;
    struct wc_s3_options o = {.aws = l->aws, .creds = l->creds, .endpoint = l->s3_endpoint};
    struct wc_oversized loc = {.s3_bucket = (char *)BUCKET, .s3_key = (char *)KEY};
    struct wc_notification *n = NULL;
    char err[512] = "";

    if (wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)) != WC_OK)
        fail_msg("fetch failed: %s", err);
    assert_non_null(n);
    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_string_equal(n->change.resource_type, "AWS::EC2::Instance");
    assert_string_equal(n->change.resource_id, "resourceId_14b76876-7969-4097-ab8e-a31942b02e80");
    wc_notification_destroy(n);
    n = NULL;
    /* a key that is not there */
    loc.s3_key = (char *)"AWSLogs/123456789012/Config/none.json.gz";
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)),
                     WC_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "NoSuchKey"));
    assert_null(n);
}

static void test_s3_wrong_secret_rejected(void **state)
{
    struct live *l = *state;
    struct wc_s3_options o = {.aws = l->aws, .creds = l->bad_creds, .endpoint = l->s3_endpoint};
    struct wc_oversized loc = {.s3_bucket = (char *)BUCKET, .s3_key = (char *)KEY};
    struct wc_notification *n = NULL;
    char err[512] = "";

    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)),
                     WC_ERR_AUTH);
    assert_non_null(strstr(err, "SignatureDoesNotMatch"));
    assert_null(n);
}

static void test_s3_bucket_in_other_region(void **state)
{
    struct live *l = *state;
    struct wc_s3_options o = {.aws = l->aws, .creds = l->creds, .endpoint = l->s3_endpoint};
    struct wc_oversized loc = {.s3_location = (char *)REGIONAL_BUCKET "/obj.json.gz"};
    struct wc_notification *n = NULL;
    char err[512] = "";

    /* signed for us-west-2 first; the answer names eu-west-3; retried there */
    if (wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)) != WC_OK)
        fail_msg("fetch failed: %s", err);
    assert_non_null(n);
    assert_string_equal(n->change.resource_type, "AWS::EC2::Instance");
    wc_notification_destroy(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receive_attributes_delete),
        cmocka_unit_test(test_change_visibility),
        cmocka_unit_test(test_visibility_timeout_and_lease_batch),
        cmocka_unit_test(test_redrive_after_three_receives),
        cmocka_unit_test(test_missing_queue),
        cmocka_unit_test(test_s3_fetch_verified),
        cmocka_unit_test(test_s3_wrong_secret_rejected),
        cmocka_unit_test(test_s3_bucket_in_other_region),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
