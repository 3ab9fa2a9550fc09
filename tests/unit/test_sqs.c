/* Unit tests for aws/sqs (the queue port over SQS JSON 1.0) with a fake
 * transport that serves canned answers (status, headers, body) and records
 * every request. The clock is pinned to the generated vectors' time, so the
 * requests the client signs can be compared byte for byte - body and
 * Authorization - with aws-reference/sigv4-testsuite/generated-service-vectors. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/sqs.h"
#include "core/err.h"
#include "core/log.h"
#include "core/queue.h"
#include "tests/support/aws_fixture.h"

#define SQS_URL "https://sqs.us-east-1.amazonaws.com/"
#define QURL "https://sqs.us-east-1.amazonaws.com/123456789012/config-changes"
#define RH1 "AQEBzbVv8x0EXAMPLEreceipthandle+/=Mxw1TlY9gQ=="
#define RH2 "AQEBzbVv8x0EXAMPLE2receipthandle+/=Mxw1TlY9gQ=="
#define VEC "sigv4-testsuite/generated-service-vectors/"

/* An aws-reference "*.http.txt" answer: status line, headers, blank line, body. */
static void fake_add_http_file(struct aws_fixture *f, const char *rel)
{
    struct wc_buf text = WC_BUF_INIT, headers = WC_BUF_INIT;
    char *p, *body;
    long status;

    wc_test_read_ref(rel, &text);
    assert_int_equal(sscanf(text.ptr, "HTTP/1.1 %ld", &status), 1);
    body = strstr(text.ptr, "\n\n");
    assert_non_null(body);
    *body = '\0';
    body += 2;
    p = strchr(text.ptr, '\n');
    assert_non_null(p);
    assert_int_equal(wc_buf_append_cstr(&headers, p + 1), WC_OK);
    fake_http_push(f->http, status, headers.ptr, body);
    wc_buf_clean_up(&headers);
    wc_buf_clean_up(&text);
}

static struct wc_queue *s_queue(struct aws_fixture *f, const char *url, int visibility_s)
{
    struct wc_sqs_options o = {.aws = f->aws, .creds = f->creds, .region = "us-east-1",
                               .endpoint = "https://sqs.us-east-1.amazonaws.com",
                               .queue_url = url, .visibility_timeout_s = visibility_s};
    struct wc_queue *q = wc_sqs_new(&o);

    assert_non_null(q);
    return q;
}

/* The body of a generated vector's request.txt (after the blank line). */
static void s_vector_body(const char *name, struct wc_buf *out)
{
    struct wc_buf text = WC_BUF_INIT;
    char rel[256];
    const char *body;

    snprintf(rel, sizeof(rel), VEC "%s/request.txt", name);
    wc_test_read_ref(rel, &text);
    body = strstr(text.ptr, "\n\n");
    assert_non_null(body);
    wc_buf_init(out, 0);
    assert_int_equal(wc_buf_append_cstr(out, body + 2), WC_OK);
    wc_buf_clean_up(&text);
}

/* The request r has the SQS headers for op, the vector's body and its
 * Authorization. */
static void s_check_against_vector(const struct fake_http_req *r, const char *op,
                                   const char *vector)
{
    struct wc_buf body = WC_BUF_INIT, authz = WC_BUF_INIT;
    char rel[256], target[64];

    s_vector_body(vector, &body);
    snprintf(rel, sizeof(rel), VEC "%s/authorization.txt", vector);
    wc_test_read_ref(rel, &authz);
    snprintf(target, sizeof(target), "AmazonSQS.%s", op);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, SQS_URL);
    assert_string_equal(fake_http_req_header(r, "Content-Type"), "application/x-amz-json-1.0");
    assert_string_equal(fake_http_req_header(r, "X-Amz-Target"), target);
    assert_string_equal(fake_http_req_header(r, "x-amzn-query-mode"), "true");
    assert_string_equal(fake_http_req_header(r, "X-Amz-Date"), "20240501T120000Z");
    assert_string_equal(r->body, body.ptr);
    assert_string_equal(fake_http_req_header(r, "Authorization"),
                        wc_str_trim(wc_buf_str(&authz)).ptr);
    wc_buf_clean_up(&body);
    wc_buf_clean_up(&authz);
}

/* --- request shapes -------------------------------------------------------- */

static void test_receive_request_matches_vector(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 60);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;

    fake_http_push(f->http, 200, "Content-Type: application/x-amz-json-1.0\n", "{}");
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    s_check_against_vector(aws_fixture_req(f, 0), "ReceiveMessage", "sqs-receive-message");
    /* long poll: the HTTP timeout outlasts the wait by 10 s; the answer is capped */
    assert_int_equal(aws_fixture_req(f, 0)->timeout_ms, 30000);
    assert_int_equal(aws_fixture_req(f, 0)->max_response_bytes, WC_SQS_MAX_RECEIVE_BYTES);
    assert_true(WC_SQS_MAX_RECEIVE_BYTES >= 10 * WC_SQS_MAX_MESSAGE_BYTES);
    wc_queue_destroy(q);
}

static void test_receive_request_with_session_token(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0); /* 0: no VisibilityTimeout */
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;
    struct wc_buf want = WC_BUF_INIT;

    fake_http_push(f->http, 200, NULL, "{}");
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_OK);
    /* the vector asks for no attribute names; ours adds ["All"] - compare the rest */
    s_vector_body("sqs-receive-message-with-session-token", &want);
    assert_int_equal(strncmp(aws_fixture_req(f, 0)->body, want.ptr, want.len - 1), 0);
    assert_string_equal(aws_fixture_req(f, 0)->body + want.len - 1,
                        ",\"MessageSystemAttributeNames\":[\"All\"]}");
    assert_non_null(aws_fixture_req_header(f, 0, "X-Amz-Security-Token"));
    assert_non_null(strstr(aws_fixture_req_header(f, 0, "Authorization"),
                           "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                           "x-amz-target;x-amzn-query-mode,"));
    wc_buf_clean_up(&want);
    wc_queue_destroy(q);
}

static void test_change_visibility_matches_vector(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);

    fake_http_push(f->http, 200, NULL, "{}");
    assert_int_equal(wc_queue_retry_later(q, RH1, 0), WC_OK);
    s_check_against_vector(aws_fixture_req(f, 0), "ChangeMessageVisibility",
                           "sqs-change-message-visibility");
    wc_queue_destroy(q);
}

static void test_delete_batch_body(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    const char *handles[] = {RH1, RH2};
    int results[2] = {99, 99};

    fake_http_push(f->http, 200, NULL,
                   "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"}],\"Failed\":[]}");
    assert_int_equal(wc_queue_delete_batch(q, handles, 2, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    assert_int_equal(results[1], WC_OK);
    assert_string_equal(aws_fixture_req_header(f, 0, "X-Amz-Target"),
                        "AmazonSQS.DeleteMessageBatch");
    /* the vector's shape, with our Ids "0".."9" */
    assert_string_equal(aws_fixture_req(f, 0)->body,
                        "{\"QueueUrl\":\"" QURL
                        "\",\"Entries\":[{\"Id\":\"0\",\"ReceiptHandle\":\"" RH1
                        "\"},{\"Id\":\"1\",\"ReceiptHandle\":\"" RH2 "\"}]}");
    wc_queue_destroy(q);
}

static void test_bodies_refuse_bad_input(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    const char *handles[11] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    const char *empty[] = {""};

    (void)state;
    assert_int_equal(wc_sqs_receive_body(QURL, 11, 20, 0, &b), WC_ERR_INVALID);
    assert_int_equal(wc_sqs_receive_body(QURL, 1, 21, 0, &b), WC_ERR_INVALID);
    assert_int_equal(wc_sqs_receive_body(QURL, 1, 1, 43201, &b), WC_ERR_INVALID);
    assert_int_equal(wc_sqs_batch_body(QURL, handles, 11, -1, &b), WC_ERR_INVALID);
    assert_int_equal(wc_sqs_batch_body(QURL, empty, 1, -1, &b), WC_ERR_INVALID);
    assert_int_equal(wc_sqs_batch_body(QURL, handles, 10, -1, &b), WC_OK);
    assert_non_null(strstr(b.ptr, "{\"Id\":\"9\",\"ReceiptHandle\":\"j\"}]}"));
    assert_null(strstr(b.ptr, "VisibilityTimeout"));
    wc_buf_clean_up(&b);
}

/* --- responses ------------------------------------------------------------- */

static void test_receive_parses_sample(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;
    struct wc_buf sample = WC_BUF_INIT;
    cJSON *root, *m0, *m1;

    wc_test_read_ref("samples/sqs/receive-message-response.constructed.json", &sample);
    fake_http_push(f->http, 200, "Content-Type: application/x-amz-json-1.0\n", sample.ptr);
    assert_int_equal(wc_queue_receive(q, 10, 1, &b), WC_OK);
    assert_int_equal(b.len, 2);
    root = cJSON_Parse(sample.ptr);
    m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "Messages"), 0);
    m1 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "Messages"), 1);
    assert_string_equal(b.items[0].message_id, "5fea7756-0ea4-451a-a703-a558b933e274");
    assert_string_equal(b.items[0].receipt_handle,
                        cJSON_GetObjectItem(m0, "ReceiptHandle")->valuestring);
    assert_string_equal(b.items[0].body, cJSON_GetObjectItem(m0, "Body")->valuestring);
    assert_int_equal(b.items[0].body_len, strlen(cJSON_GetObjectItem(m0, "Body")->valuestring));
    assert_int_equal(b.items[0].receive_count, 1);
    assert_int_equal(b.items[0].sent_ms, 1714564800876LL);
    assert_int_equal(b.items[0].first_receive_ms, 1714564801234LL);
    assert_string_equal(b.items[1].message_id, "7b2e6d1c-3f4a-4c5b-9d6e-0f1a2b3c4d5e");
    assert_string_equal(b.items[1].body, cJSON_GetObjectItem(m1, "Body")->valuestring);
    assert_int_equal(b.items[1].receive_count, 3);
    assert_int_equal(b.items[1].sent_ms, 1714564700001LL);
    assert_int_equal(b.items[1].first_receive_ms, 1714564802345LL);
    /* the body is the SNS envelope, still a string to decode */
    assert_non_null(strstr(b.items[0].body, "\"Type\":\"Notification\""));
    cJSON_Delete(root);
    wc_queue_batch_clean_up(&b);
    wc_buf_clean_up(&sample);
    wc_queue_destroy(q);
}

static void test_receive_empty_sample(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;
    struct wc_buf sample = WC_BUF_INIT;

    wc_test_read_ref("samples/sqs/receive-message-response-empty.json", &sample);
    fake_http_push(f->http, 200, NULL, sample.ptr);
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_OK);
    assert_int_equal(b.len, 0);
    assert_null(b.items);
    /* not JSON: a parse error, nothing returned */
    fake_http_push(f->http, 200, NULL, "<html>");
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_ERR_PARSE);
    assert_int_equal(b.len, 0);
    wc_buf_clean_up(&sample);
    wc_queue_destroy(q);
}

static void test_receive_skips_md5_mismatch(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;
    struct wc_buf sample = WC_BUF_INIT;
    char *p;

    wc_test_read_ref("samples/sqs/receive-message-response.constructed.json", &sample);
    /* corrupt the first message's body by one byte: its MD5 no longer matches */
    p = strstr(sample.ptr, "i-007d374c8912e3e90");
    assert_non_null(p);
    p[2] = '1';
    fake_http_push(f->http, 200, NULL, sample.ptr);
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_OK);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.items[0].message_id, "7b2e6d1c-3f4a-4c5b-9d6e-0f1a2b3c4d5e");
    assert_non_null(strstr(f->log.ptr, "corrupt message"));
    assert_non_null(strstr(f->log.ptr, "5fea7756-0ea4-451a-a703-a558b933e274"));
    /* skipped, not deleted: the only request was the receive */
    assert_int_equal(fake_http_n_requests(f->http), 1);
    wc_queue_batch_clean_up(&b);
    wc_buf_clean_up(&sample);
    wc_queue_destroy(q);
}

static void test_delete_batch_partial_failure(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    struct wc_buf sample = WC_BUF_INIT;
    const char *handles[] = {RH1, RH2, "AQEBthird"};
    int results[3] = {99, 99, 99};

    wc_test_read_ref("samples/sqs/delete-message-batch-response.constructed.json", &sample);
    fake_http_push(f->http, 200, NULL, sample.ptr);
    assert_int_equal(wc_queue_delete_batch(q, handles, 3, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    assert_int_equal(results[1], WC_ERR_INVALID); /* ReceiptHandleIsInvalid */
    assert_int_equal(results[2], WC_ERR_SERVICE); /* in neither list */
    assert_non_null(strstr(f->log.ptr, "ReceiptHandleIsInvalid"));
    /* a failed call fails every entry */
    fake_add_http_file(f, "samples/sqs/error-access-denied.constructed.http.txt");
    results[0] = 99;
    assert_int_equal(wc_queue_delete_batch(q, handles, 1, results), WC_ERR_AUTH);
    assert_int_equal(results[0], WC_ERR_SERVICE);
    wc_buf_clean_up(&sample);
    wc_queue_destroy(q);
}

static void test_change_visibility_batch(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    const char *handles[] = {RH1, RH2};
    int results[2] = {99, 99};

    fake_http_push(
        f->http, 200, NULL,
        "{\"Successful\":[{\"Id\":\"1\"}],\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true,"
        "\"Code\":\"AWS.SimpleQueueService.MessageNotInflight\",\"Message\":\"gone\"}]}");
    assert_int_equal(wc_sqs_change_visibility_batch(q, handles, 2, 300, results), WC_OK);
    assert_int_equal(results[0], WC_ERR_NOT_FOUND);
    assert_int_equal(results[1], WC_OK);
    assert_string_equal(aws_fixture_req_header(f, 0, "X-Amz-Target"),
                        "AmazonSQS.ChangeMessageVisibilityBatch");
    assert_string_equal(aws_fixture_req(f, 0)->body,
                        "{\"QueueUrl\":\"" QURL
                        "\",\"Entries\":[{\"Id\":\"0\",\"ReceiptHandle\":\"" RH1
                        "\",\"VisibilityTimeout\":300},{\"Id\":\"1\",\"ReceiptHandle\":\"" RH2
                        "\",\"VisibilityTimeout\":300}]}");
    assert_int_equal(wc_sqs_change_visibility_batch(q, handles, 2, 43201, results),
                     WC_ERR_INVALID);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    /* the same call through the queue port (the lease heartbeat) */
    fake_http_push(f->http, 200, NULL, "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"}]}");
    results[0] = results[1] = 99;
    assert_int_equal(wc_queue_change_visibility_batch(q, handles, 2, 0, results), WC_OK);
    assert_int_equal(results[0], WC_OK);
    assert_int_equal(results[1], WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    assert_string_equal(aws_fixture_req_header(f, 1, "X-Amz-Target"),
                        "AmazonSQS.ChangeMessageVisibilityBatch");
    assert_string_equal(aws_fixture_req(f, 1)->body,
                        "{\"QueueUrl\":\"" QURL
                        "\",\"Entries\":[{\"Id\":\"0\",\"ReceiptHandle\":\"" RH1
                        "\",\"VisibilityTimeout\":0},{\"Id\":\"1\",\"ReceiptHandle\":\"" RH2
                        "\",\"VisibilityTimeout\":0}]}");
    wc_queue_destroy(q);
}

static void test_visibility_timeout(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    struct wc_buf body = WC_BUF_INIT;
    static const char *const bad[] = {
        "{\"Attributes\":{\"VisibilityTimeout\":\"43201\"}}",  /* above SQS's maximum */
        "{\"Attributes\":{\"VisibilityTimeout\":\"-1\"}}",
        "{\"Attributes\":{\"VisibilityTimeout\":\"30s\"}}",
        "{\"Attributes\":{\"VisibilityTimeout\":\"\"}}",
        "{\"Attributes\":{\"VisibilityTimeout\":\"99999999999999999999\"}}",
        "{\"Attributes\":{\"VisibilityTimeout\":30}}",          /* SQS sends strings */
        "{\"Attributes\":{\"DelaySeconds\":\"0\"}}",           /* not the one asked */
        "{}",
        "[]",
    };
    int v = -1;

    assert_int_equal(wc_sqs_get_queue_attributes_body(QURL, "VisibilityTimeout", &body), WC_OK);
    assert_string_equal(body.ptr, "{\"QueueUrl\":\"" QURL
                                  "\",\"AttributeNames\":[\"VisibilityTimeout\"]}");
    assert_int_equal(wc_sqs_get_queue_attributes_body(QURL, "", &body), WC_ERR_INVALID);
    assert_int_equal(wc_sqs_get_queue_attributes_body(NULL, "VisibilityTimeout", &body),
                     WC_ERR_INVALID);

    fake_http_push(f->http, 200, "Content-Type: application/x-amz-json-1.0\n",
                   "{\"Attributes\":{\"VisibilityTimeout\":\"45\"}}");
    assert_int_equal(wc_queue_visibility_timeout(q, &v), WC_OK);
    assert_int_equal(v, 45);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_string_equal(aws_fixture_req(f, 0)->method, "POST");
    assert_string_equal(aws_fixture_req(f, 0)->url, SQS_URL);
    assert_string_equal(aws_fixture_req(f, 0)->body, body.ptr);
    assert_string_equal(aws_fixture_req_header(f, 0, "X-Amz-Target"),
                        "AmazonSQS.GetQueueAttributes");
    assert_string_equal(aws_fixture_req_header(f, 0, "Content-Type"),
                        "application/x-amz-json-1.0");
    assert_string_equal(aws_fixture_req_header(f, 0, "x-amzn-query-mode"), "true");
    /* the bounds themselves */
    fake_http_push(f->http, 200, NULL, "{\"Attributes\":{\"VisibilityTimeout\":\"0\"}}");
    assert_int_equal(wc_queue_visibility_timeout(q, &v), WC_OK);
    assert_int_equal(v, 0);
    fake_http_push(f->http, 200, NULL, "{\"Attributes\":{\"VisibilityTimeout\":\"43200\"}}");
    assert_int_equal(wc_queue_visibility_timeout(q, &v), WC_OK);
    assert_int_equal(v, 43200);
    /* anything else is a bad answer, and v is left alone */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        fake_http_push(f->http, 200, NULL, bad[i]);
        assert_int_equal(wc_queue_visibility_timeout(q, &v), WC_ERR_PARSE);
        assert_int_equal(v, 7);
    }
    assert_non_null(strstr(f->log.ptr, "is not 0..43200 seconds"));
    assert_non_null(strstr(f->log.ptr, "no VisibilityTimeout in the answer"));
    /* errors map as for every call */
    fake_add_http_file(f, "samples/sqs/error-doc-queue-does-not-exist.http.txt");
    assert_int_equal(wc_queue_visibility_timeout(q, &v), WC_ERR_NOT_FOUND);
    fake_add_http_file(f, "samples/sqs/error-access-denied.constructed.http.txt");
    assert_int_equal(wc_queue_visibility_timeout(q, &v), WC_ERR_AUTH);
    assert_int_equal(v, 7);
    assert_int_equal(wc_queue_visibility_timeout(q, NULL), WC_ERR_INVALID);
    wc_buf_clean_up(&body);
    wc_queue_destroy(q);
}

/* --- errors ---------------------------------------------------------------- */

static void test_errors(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;

    fake_add_http_file(f, "samples/sqs/error-doc-queue-does-not-exist.http.txt");
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_ERR_NOT_FOUND);
    assert_non_null(strstr(f->log.ptr, "does not exist"));
    assert_non_null(strstr(f->log.ptr, "AWS.SimpleQueueService.NonExistentQueue"));
    {
        /* AccessDenied: one warn line, naming the action and the queue */
        size_t from = f->log.len, n = 0;
        const char *p;

        fake_add_http_file(f, "samples/sqs/error-access-denied.constructed.http.txt");
        assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_ERR_AUTH);
        for (p = f->log.ptr + from; (p = strstr(p, "AccessDenied")); p++)
            n++;
        if (n != 1)
            fail_msg("%zu lines name AccessDenied, want 1:\n%s", n, f->log.ptr + from);
        assert_non_null(strstr(f->log.ptr + from, "not authorized to sqs:ReceiveMessage on " QURL
                                                  " (AccessDenied: User: "));
        assert_null(strstr(f->log.ptr + from, "sqs: ReceiveMessage failed"));
    }
    fake_add_http_file(f, "samples/sqs/error-receipt-handle-invalid.constructed.http.txt");
    assert_int_equal(wc_queue_retry_later(q, "AQEBexample", 30), WC_ERR_INVALID);
    /* the message was deleted or is visible again: the worker moves on */
    fake_http_push(f->http, 400,
                   "x-amzn-query-error: AWS.SimpleQueueService.MessageNotInflight;Sender\n",
                   "{\"__type\":\"com.amazonaws.sqs#MessageNotInflight\",\"message\":\"nope\"}");
    assert_int_equal(wc_queue_retry_later(q, RH1, 30), WC_ERR_NOT_FOUND);
    /* JSON code alone, no query-error header */
    fake_http_push(f->http, 400, NULL, "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\"}");
    assert_int_equal(wc_queue_retry_later(q, RH1, 30), WC_ERR_NOT_FOUND);
    fake_http_push(
        f->http, 403, "x-amzn-query-error: OverLimit;Sender\n",
        "{\"__type\":\"com.amazonaws.sqs#OverLimit\",\"message\":\"too many in flight\"}");
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_ERR_THROTTLED);
    fake_http_push(f->http, 500, NULL, "{\"__type\":\"InternalFailure\"}");
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_ERR_SERVICE);
    assert_int_equal(b.len, 0);
    /* no network at all */
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_ERR_HTTP);
    assert_int_equal(wc_sqs_error_rc("RequestThrottled", WC_ERR_SERVICE), WC_ERR_THROTTLED);
    assert_int_equal(wc_sqs_error_rc("SomethingElse", WC_ERR_SERVICE), WC_ERR_SERVICE);
    assert_int_equal(wc_sqs_error_rc(NULL, WC_ERR_HTTP), WC_ERR_HTTP);
    wc_queue_destroy(q);
}

/* No credentials is an auth problem, never "no such queue / message". */
static void test_no_credentials(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_creds_provider *none = aws_fixture_no_creds_new();
    struct wc_sqs_options o = {.aws = f->aws, .creds = none, .region = "us-east-1",
                               .queue_url = QURL};
    struct wc_queue *q;
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;

    assert_non_null(none);
    q = wc_sqs_new(&o);
    assert_non_null(q);
    assert_int_equal(wc_queue_receive(q, 1, 0, &b), WC_ERR_AUTH);
    assert_int_equal(wc_queue_retry_later(q, RH1, 0), WC_ERR_AUTH);
    assert_int_equal(fake_http_n_requests(f->http), 0);
    wc_queue_destroy(q);
    wc_creds_provider_destroy(none);
}

static void test_receive_too_large(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_queue *q = s_queue(f, QURL, 0);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;
    size_t len = WC_SQS_MAX_RECEIVE_BYTES + 1;
    char *big = malloc(len);

    assert_non_null(big);
    memset(big, ' ', len);
    fake_http_push_bytes(f->http, 200, NULL, big, len);
    free(big);
    assert_int_equal(wc_queue_receive(q, 10, 20, &b), WC_ERR_TOO_LARGE);
    assert_int_equal(b.len, 0);
    wc_queue_destroy(q);
}

/* --- queue URL ------------------------------------------------------------- */

static void test_get_queue_url_from_name(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sqs_options o = {.aws = f->aws, .creds = f->creds, .region = "eu-west-1",
                               .endpoint = "https://sqs.eu-west-1.amazonaws.com/",
                               .queue_name = "config-changes",
                               .queue_owner_account_id = "123456789012"};
    struct wc_queue *q = wc_sqs_new(&o);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;
    struct wc_buf want = WC_BUF_INIT, sample = WC_BUF_INIT, authz = WC_BUF_INIT;
    const char *eu = "https://sqs.eu-west-1.amazonaws.com/123456789012/config-changes";

    assert_non_null(q);
    assert_null(wc_sqs_queue_url(q)); /* lazy: no call yet */
    assert_int_equal(fake_http_n_requests(f->http), 0);
    fake_add_http_file(f, "samples/sqs/error-doc-queue-does-not-exist.http.txt");
    assert_int_equal(wc_sqs_resolve(q), WC_ERR_NOT_FOUND);
    assert_non_null(strstr(f->log.ptr, "queue config-changes does not exist"));
    assert_null(wc_sqs_queue_url(q));
    /* retried on the next use */
    wc_test_read_ref("samples/sqs/get-queue-url-response.json", &sample);
    fake_http_push(f->http, 200, NULL, sample.ptr);
    fake_http_push(f->http, 200, NULL, "{}");
    fake_http_push(f->http, 200, NULL, "{}");
    assert_int_equal(wc_queue_receive(q, 1, 0, &b), WC_OK);
    assert_int_equal(wc_queue_receive(q, 1, 0, &b), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http),
                     4); /* one failed lookup, one lookup, two receives */
    s_vector_body("sqs-get-queue-url", &want);
    assert_string_equal(aws_fixture_req(f, 1)->body, want.ptr);
    assert_string_equal(aws_fixture_req(f, 1)->url, "https://sqs.eu-west-1.amazonaws.com/");
    assert_string_equal(aws_fixture_req_header(f, 1, "X-Amz-Target"), "AmazonSQS.GetQueueUrl");
    wc_test_read_ref(VEC "sqs-get-queue-url/authorization.txt", &authz);
    assert_string_equal(aws_fixture_req_header(f, 1, "Authorization"),
                        wc_str_trim(wc_buf_str(&authz)).ptr);
    assert_string_equal(wc_sqs_queue_url(q), eu);
    assert_non_null(strstr(aws_fixture_req(f, 2)->body, eu));
    assert_non_null(strstr(aws_fixture_req(f, 3)->body, eu));
    assert_string_equal(aws_fixture_req_header(f, 3, "X-Amz-Target"), "AmazonSQS.ReceiveMessage");
    wc_buf_clean_up(&want);
    wc_buf_clean_up(&sample);
    wc_buf_clean_up(&authz);
    wc_queue_destroy(q);
}

static void test_legacy_queue_url(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sqs_options o = {.aws = f->aws, .creds = f->creds,
                               .queue_url = "https://queue.amazonaws.com/123456789012/q"};
    struct wc_queue *q = wc_sqs_new(&o);
    struct wc_queue_batch b = WC_QUEUE_BATCH_INIT;

    assert_non_null(q); /* region from the URL, endpoint the standard one */
    fake_http_push(f->http, 200, NULL, "{}");
    assert_int_equal(wc_queue_receive(q, 1, 0, &b), WC_OK);
    assert_string_equal(aws_fixture_req(f, 0)->url, SQS_URL);
    assert_non_null(strstr(aws_fixture_req(f, 0)->body,
                           "\"QueueUrl\":\"https://queue.amazonaws.com/123456789012/q\""));
    assert_non_null(
        strstr(aws_fixture_req_header(f, 0, "Authorization"), "/us-east-1/sqs/aws4_request"));
    wc_queue_destroy(q);

    o.queue_url = "https://eu-west-2.queue.amazonaws.com/123456789012/q";
    q = wc_sqs_new(&o);
    assert_non_null(q);
    fake_http_push(f->http, 200, NULL, "{}");
    assert_int_equal(wc_queue_receive(q, 1, 0, &b), WC_OK);
    assert_string_equal(aws_fixture_req(f, 1)->url, "https://sqs.eu-west-2.amazonaws.com/");
    assert_non_null(strstr(aws_fixture_req(f, 1)->body,
                           "\"https://eu-west-2.queue.amazonaws.com/123456789012/q\""));
    wc_queue_destroy(q);
}

static void test_new_rejects_bad_options(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sqs_options o = {.aws = f->aws, .creds = f->creds, .region = "us-east-1"};

    assert_null(wc_sqs_new(NULL));
    assert_null(wc_sqs_new(&o)); /* neither URL nor name */
    o.queue_url = QURL;
    o.queue_name = "config-changes";
    assert_null(wc_sqs_new(&o)); /* both */
    o.queue_name = NULL;
    o.visibility_timeout_s = 43201;
    assert_null(wc_sqs_new(&o));
    o.visibility_timeout_s = 0;
    o.region = NULL;
    o.queue_url = "http://127.0.0.1:9324/000000000000/q";
    assert_null(wc_sqs_new(&o)); /* no region to sign with */
    o.creds = NULL;
    o.region = "us-east-1";
    assert_null(wc_sqs_new(&o));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, aws_fixture_setup, aws_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_receive_request_matches_vector),
        cmocka_unit_test_setup_teardown(test_receive_request_with_session_token,
                                        aws_fixture_setup_token, aws_fixture_teardown),
        T(test_change_visibility_matches_vector),
        T(test_delete_batch_body),
        cmocka_unit_test(test_bodies_refuse_bad_input),
        T(test_receive_parses_sample),
        T(test_receive_empty_sample),
        T(test_receive_skips_md5_mismatch),
        T(test_delete_batch_partial_failure),
        T(test_change_visibility_batch),
        T(test_visibility_timeout),
        T(test_errors),
        T(test_no_credentials),
        T(test_receive_too_large),
        T(test_get_queue_url_from_name),
        T(test_legacy_queue_url),
        T(test_new_rejects_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
