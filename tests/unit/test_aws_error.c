/* Unit tests for aws/aws_error: the error cases of the botocore protocol
 * tests (one TAP line each), the captured/constructed error samples, and
 * edge cases (empty bodies, malformed bodies, hostile XML). */
#include "tests/support/testutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "aws/aws_error.h"
#include "core/err.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/log.h"
#include "core/str.h"

/* ---- helpers ---- */

/* Parse a sample "HTTP/1.1 400 ...\r\nName: v\n\nbody" file into resp. */
static void s_load_http_sample(const char *rel, struct wc_http_response *resp)
{
    struct wc_buf raw = WC_BUF_INIT;
    const char *p, *end, *eol;

    wc_test_read_ref(rel, &raw);
    p = raw.ptr;
    end = raw.ptr + raw.len;
    assert_int_equal(strncmp(p, "HTTP/1.1 ", 9), 0);
    resp->status = strtol(p + 9, NULL, 10);
    p = strchr(p, '\n') + 1;
    while (p < end && *p != '\n' && *p != '\r') {
        const char *colon;

        eol = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(eol);
        colon = memchr(p, ':', (size_t)(eol - p));
        assert_non_null(colon);
        {
            struct wc_str v = wc_str_trim((struct wc_str){colon + 1, (size_t)(eol - colon - 1)});

            assert_int_equal(wc_http_response_add_header(resp, p, (size_t)(colon - p), v.ptr, v.len),
                             WC_OK);
        }
        p = eol + 1;
    }
    if (p < end && *p == '\r')
        p++;
    if (p < end)
        p++;
    wc_buf_init(&resp->body, 0);
    assert_int_equal(wc_buf_append(&resp->body, p, (size_t)(end - p)), WC_OK);
    wc_buf_clean_up(&raw);
}

static void s_expect(const struct wc_aws_error *e, const char *code, const char *msg_prefix,
                     const char *request_id, bool sender)
{
    assert_non_null(e->code);
    assert_string_equal(e->code, code);
    if (msg_prefix) {
        assert_non_null(e->message);
        assert_int_equal(strncmp(e->message, msg_prefix, strlen(msg_prefix)), 0);
    } else {
        assert_null(e->message);
    }
    if (request_id) {
        assert_non_null(e->request_id);
        assert_string_equal(e->request_id, request_id);
    } else {
        assert_null(e->request_id);
    }
    assert_int_equal(e->sender_fault, sender);
}

static void s_check_http_sample(const char *rel, const char *code, const char *msg_prefix,
                                const char *request_id, bool sender)
{
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    s_load_http_sample(rel, &resp);
    assert_int_equal(wc_aws_error_parse(&resp, &e), WC_OK);
    assert_int_equal(e.status, resp.status);
    s_expect(&e, code, msg_prefix, request_id, sender);
    wc_aws_error_clean_up(&e);
    wc_http_response_clean_up(&resp);
}

static void s_check_xml_sample(const char *rel, long status, const char *code,
                               const char *msg_prefix, const char *request_id)
{
    struct wc_buf body = WC_BUF_INIT;
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    wc_test_read_ref(rel, &body);
    assert_int_equal(wc_aws_error_parse_parts(status, NULL, 0, body.ptr, body.len, &e), WC_OK);
    s_expect(&e, code, msg_prefix, request_id, true);
    wc_aws_error_clean_up(&e);
    wc_buf_clean_up(&body);
}

/* ---- samples ---- */

static void test_sample_sqs_queue_does_not_exist(void **state)
{
    (void)state;
    /* the legacy code from x-amzn-query-error wins over __type */
    s_check_http_sample("samples/sqs/error-doc-queue-does-not-exist.http.txt",
                        "AWS.SimpleQueueService.NonExistentQueue",
                        "The specified queue does not exist.",
                        "66916324-67ca-54bb-a410-3f567a7a0571", true);
}

static void test_sample_sqs_access_denied(void **state)
{
    (void)state;
    s_check_http_sample("samples/sqs/error-access-denied.constructed.http.txt", "AccessDenied",
                        "User: arn:aws:iam::123456789012:user/Alice is not authorized",
                        "4c3f9e50-EXAMPLE-4d12-b15e-denied", true);
}

static void test_sample_sqs_receipt_handle_invalid(void **state)
{
    (void)state;
    s_check_http_sample("samples/sqs/error-receipt-handle-invalid.constructed.http.txt",
                        "ReceiptHandleIsInvalid",
                        "The input receipt handle \"AQEBexample\" is not a valid receipt handle.",
                        "3b2e8d4f-EXAMPLE-4c01-a04d-rhinvalid", true);
}

static void test_sample_cloudtrail_throttling(void **state)
{
    (void)state;
    s_check_http_sample("samples/cloudtrail/error-throttling.http.txt", "ThrottlingException",
                        "Rate exceeded", "0e9b5a1c-EXAMPLE-4f7e-9d1a-throttled", true);
}

static void test_sample_cloudtrail_invalid_time_range(void **state)
{
    (void)state;
    /* "Message" with a capital M */
    s_check_http_sample("samples/cloudtrail/error-invalid-time-range.http.txt",
                        "InvalidTimeRangeException", "Start time must be earlier than end time.",
                        "1f0c6b2d-EXAMPLE-4a8f-8e2b-badrange", true);
}

static void test_sample_cloudtrail_unrecognized_client(void **state)
{
    (void)state;
    s_check_http_sample("samples/cloudtrail/error-unrecognized-client.http.txt",
                        "UnrecognizedClientException",
                        "The security token included in the request is invalid.",
                        "2a1d7c3e-EXAMPLE-4b90-9f3c-badcreds", true);
}

static void test_sample_sts_access_denied(void **state)
{
    (void)state;
    s_check_xml_sample("samples/sts/error-access-denied.constructed.xml", 403, "AccessDenied",
                       "User: arn:aws:iam::123456789012:user/Alice is not authorized to perform: "
                       "sts:AssumeRole on resource: arn:aws:iam::210987654321:role/ChangeAuditor",
                       "9b2f4d3e-EXAMPLE-4f6e-8d8c-accessdeny");
}

static void test_sample_sts_expired_token(void **state)
{
    (void)state;
    s_check_xml_sample("samples/sts/error-expired-token.constructed.xml", 400, "ExpiredToken",
                       "The security token included in the request is expired",
                       "ac3e5f4a-EXAMPLE-4071-9e9d-expired");
}

/* ---- shapes not in the samples ---- */

static void test_s3_error_xml(void **state)
{
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message>"
        "<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>";
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(404, NULL, 0, body, strlen(body), &e), WC_OK);
    s_expect(&e, "NoSuchKey", "The resource you requested does not exist", "4442587FB7D0A2F9", true);
    wc_aws_error_clean_up(&e);
}

static void test_s3_request_time_too_skewed_header_request_id(void **state)
{
    static const char body[] = "<Error><Code>RequestTimeTooSkewed</Code>"
                               "<Message>The difference between the request time and the current "
                               "time is too large.</Message></Error>";
    struct wc_http_header hs[] = {{"x-amz-request-id", "ABC123"}};
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(403, hs, 1, body, strlen(body), &e), WC_OK);
    s_expect(&e, "RequestTimeTooSkewed", "The difference between", "ABC123", true);
    wc_aws_error_clean_up(&e);
}

static void test_receiver_fault_xml(void **state)
{
    static const char body[] = "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure"
                               "</Code></Error><RequestId>r-1</RequestId></ErrorResponse>";
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    /* Type says Receiver even though the status is 4xx */
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, body, strlen(body), &e), WC_OK);
    s_expect(&e, "InternalFailure", NULL, "r-1", false);
    wc_aws_error_clean_up(&e);
}

static void test_empty_body_uses_status(void **state)
{
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(503, NULL, 0, NULL, 0, &e), WC_OK);
    s_expect(&e, "503", NULL, NULL, false);
    wc_aws_error_clean_up(&e);
    assert_int_equal(wc_aws_error_parse_parts(403, NULL, 0, "", 0, &e), WC_OK);
    s_expect(&e, "403", NULL, NULL, true);
    wc_aws_error_clean_up(&e);
}

static void test_malformed_bodies(void **state)
{
    static const char *bodies[] = {
        "<html><body>502 Bad Gateway</body></html>",
        "{\"__type\": \"Trunc",
        "[1,2,3]",
        "<ErrorResponse><Error><Code>Half",
        "not json at all",
        "{\"__type\": 42, \"message\": null}",
    };
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(wc_aws_error_parse_parts(502, NULL, 0, bodies[i], strlen(bodies[i]), &e),
                         WC_OK);
        assert_string_equal(e.code, "502");
        assert_null(e.message);
        wc_aws_error_clean_up(&e);
    }
}

static void test_xml_doctype_refused(void **state)
{
    static const char body[] =
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
        "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
        "<Error><Code>&lol2;</Code></Error>";
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, body, strlen(body), &e), WC_OK);
    assert_string_equal(e.code, "400");
    wc_aws_error_clean_up(&e);
}

/* The XML front end's guards apply to error bodies: an external entity, a
 * declared encoding other than UTF-8, a body over 64 KiB and nesting past the
 * cap leave the code to the status; a long message is cut on a UTF-8 boundary. */
static void test_xml_front_end_guards(void **state)
{
    static const char xxe[] =
        "<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
        "<Error><Code>&xxe;</Code><Message>m</Message></Error>";
    static const char latin1[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                                 "<Error><Code>AccessDenied</Code></Error>";
    struct wc_aws_error e = WC_AWS_ERROR_INIT;
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(403, NULL, 0, xxe, strlen(xxe), &e), WC_OK);
    s_expect(&e, "403", NULL, NULL, true);
    wc_aws_error_clean_up(&e);
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, latin1, strlen(latin1), &e), WC_OK);
    s_expect(&e, "400", NULL, NULL, true);
    wc_aws_error_clean_up(&e);

    /* over 64 KiB: not read at all */
    wc_buf_init(&b, 0);
    assert_int_equal(wc_buf_append_cstr(&b, "<Error><Code>AccessDenied</Code><Message>"), WC_OK);
    while (b.len <= 64 * 1024)
        assert_int_equal(wc_buf_append_cstr(&b, "padding "), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, "</Message></Error>"), WC_OK);
    assert_int_equal(wc_aws_error_parse_parts(403, NULL, 0, b.ptr, b.len, &e), WC_OK);
    s_expect(&e, "403", NULL, NULL, true);
    wc_aws_error_clean_up(&e);

    /* nesting past the cap before the code: refused there */
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append_cstr(&b, "<Error>"), WC_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(wc_buf_append_cstr(&b, "<x>"), WC_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(wc_buf_append_cstr(&b, "</x>"), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, "<Code>Deep</Code></Error>"), WC_OK);
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, b.ptr, b.len, &e), WC_OK);
    s_expect(&e, "400", NULL, NULL, true);
    wc_aws_error_clean_up(&e);

    /* a message over 8 KiB is cut, never inside a UTF-8 sequence */
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append_cstr(&b, "<Error><Code>Long</Code><Message>"), WC_OK);
    for (int i = 0; i < 8191; i++)
        assert_int_equal(wc_buf_append_char(&b, 'a'), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, "\xC3\xA9tail</Message></Error>"), WC_OK);
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, b.ptr, b.len, &e), WC_OK);
    assert_string_equal(e.code, "Long");
    assert_non_null(e.message);
    assert_int_equal(strlen(e.message), 8191);
    assert_int_equal(e.message[8190], 'a');
    wc_aws_error_clean_up(&e);
    wc_buf_clean_up(&b);
}

static void test_xml_entities_and_cdata(void **state)
{
    static const char body[] = "<ErrorResponse><Error><Code>A&amp;B</Code>"
                               "<Message><![CDATA[x < y]]> &quot;q&quot;</Message></Error>"
                               "</ErrorResponse>";
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, body, strlen(body), &e), WC_OK);
    assert_string_equal(e.code, "A&B");
    assert_string_equal(e.message, "x < y \"q\"");
    wc_aws_error_clean_up(&e);
}

static void test_nested_code_ignored(void **state)
{
    /* Only <Code> directly under <Error> names the error. */
    static const char body[] = "<ErrorResponse><Error><Detail><Code>Inner</Code></Detail>"
                               "<Code>Outer</Code></Error></ErrorResponse>";
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, body, strlen(body), &e), WC_OK);
    assert_string_equal(e.code, "Outer");
    wc_aws_error_clean_up(&e);
}

static void test_sanitize_code(void **state)
{
    char a[] = "aws.protocoltests.json10#FooError:http://internal.amazon.com/coral/x/";
    char b[] = "FooError:http://x";
    char c[] = "a#b#FooError";
    char d[] = "Plain";

    (void)state;
    wc_aws_error_sanitize_code(a);
    wc_aws_error_sanitize_code(b);
    wc_aws_error_sanitize_code(c);
    wc_aws_error_sanitize_code(d);
    assert_string_equal(a, "FooError");
    assert_string_equal(b, "FooError");
    assert_string_equal(c, "FooError");
    assert_string_equal(d, "Plain");
    wc_aws_error_sanitize_code(NULL);
}

static void test_query_error_header_sender_field(void **state)
{
    static const char body[] = "{\"__type\":\"com.amazonaws.sqs#KmsThrottled\",\"message\":\"m\"}";
    struct wc_http_header hs[] = {{"X-Amzn-Query-Error", "KmsThrottled;Receiver"}};
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(400, hs, 1, body, strlen(body), &e), WC_OK);
    s_expect(&e, "KmsThrottled", "m", NULL, false);
    wc_aws_error_clean_up(&e);
    assert_int_equal(wc_aws_error_parse(NULL, &e), WC_ERR_INVALID);
}

/* Found by tests/fuzz/fuzz_aws_error: a blank first field of
 * x-amzn-query-error replaced the code with "" (s_set trims), so a
 * successful parse returned an empty code. */
static void test_query_error_header_blank_code(void **state)
{
    static const char body[] = "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\"}";
    struct wc_http_header blank[] = {{"x-amzn-query-error", " \t;Sender"}};
    struct wc_http_header formfeed[] = {{"x-amzn-query-error", "\f"}};
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    assert_int_equal(wc_aws_error_parse_parts(400, blank, 1, body, strlen(body), &e), WC_OK);
    s_expect(&e, "QueueDoesNotExist", NULL, NULL, true);
    wc_aws_error_clean_up(&e);
    assert_int_equal(wc_aws_error_parse_parts(503, formfeed, 1, NULL, 0, &e), WC_OK);
    assert_string_equal(e.code, "503");
    wc_aws_error_clean_up(&e);
}

/* ---- protocol tests: one cmocka test per error case ---- */

struct s_case {
    char name[160];
    long status;
    struct wc_http_header *headers;
    size_t n_headers;
    char *body;
    char *want_code;
    char *want_message; /* NULL: must be absent */
};

static void test_protocol_case(void **state)
{
    const struct s_case *c = *state;
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    assert_int_equal(wc_aws_error_parse_parts(c->status, c->headers, c->n_headers, c->body,
                                              c->body ? strlen(c->body) : 0, &e),
                     WC_OK);
    assert_non_null(e.code);
    assert_string_equal(e.code, c->want_code);
    if (c->want_message) {
        assert_non_null(e.message);
        assert_string_equal(e.message, c->want_message);
    } else {
        assert_null(e.message);
    }
    assert_int_equal(e.status, c->status);
    wc_aws_error_clean_up(&e);
}

static void s_case_free(struct s_case *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_headers; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    free(c->headers);
    free(c->body);
    free(c->want_code);
    free(c->want_message);
    free(c);
}

static struct s_case *s_case_from_json(const char *file, const cJSON *jc)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(jc, "response");
    const cJSON *hdrs = cJSON_GetObjectItemCaseSensitive(resp, "headers");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(resp, "body");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(jc, "errorMessage");
    const cJSON *h;
    struct s_case *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    snprintf(c->name, sizeof(c->name), "%s: %s", file,
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jc, "id")));
    c->status = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(resp, "status_code"));
    c->want_code = wc_strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jc, "errorCode")));
    c->want_message = cJSON_IsString(msg) ? wc_strdup(msg->valuestring) : NULL;
    c->body = cJSON_IsString(body) ? wc_strdup(body->valuestring) : NULL;
    c->headers = calloc((size_t)cJSON_GetArraySize(hdrs) + 1, sizeof(*c->headers));
    cJSON_ArrayForEach(h, hdrs) {
        if (!cJSON_IsString(h) || !c->headers)
            continue;
        c->headers[c->n_headers].name = wc_strdup(h->string);
        c->headers[c->n_headers].value = wc_strdup(h->valuestring);
        c->n_headers++;
    }
    return c;
}

static void s_load_protocol_cases(const char *file, struct s_case **cases, size_t *n, size_t cap)
{
    char rel[256];
    struct wc_buf raw = WC_BUF_INIT;
    cJSON *root, *suite, *jc;
    char path[4096];
    FILE *f;

    snprintf(rel, sizeof(rel), "protocol-tests/output/%s.json", file);
    f = fopen(wc_test_ref_path(rel, path, sizeof(path)), "rb");
    if (!f)
        return; /* the count check in main turns this into a failure */
    fclose(f);
    wc_test_read_file(path, &raw);
    root = cJSON_ParseWithLength(raw.ptr, raw.len);
    cJSON_ArrayForEach(suite, root) {
        cJSON_ArrayForEach(jc, cJSON_GetObjectItemCaseSensitive(suite, "cases")) {
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(jc, "errorCode")) || *n >= cap)
                continue;
            cases[*n] = s_case_from_json(file, jc);
            if (cases[*n])
                (*n)++;
        }
    }
    cJSON_Delete(root);
    wc_buf_clean_up(&raw);
}

static void test_protocol_cases_loaded(void **state)
{
    size_t n = *(size_t *)*state;

    /* json_1_0: 12, json: 12, query: 3, query-compatible: 2 */
    assert_true(n >= 29);
}

#define S_MAX_CASES 128

static void s_capture(void *ctx, const char *line, size_t len)
{
    assert_int_equal(wc_buf_append(ctx, line, len), WC_OK);
}

/* A client's failure line: the code and message after its text, or the
 * error's text without an AWS error; nothing for an access-denied error
 * (wc_aws_send's line names it) nor below the logger's level. */
static void test_error_log_line(void **state)
{
    struct wc_buf out = WC_BUF_INIT;
    struct wc_logger_options o = {.level = WC_LOG_INFO, .write = s_capture, .write_ctx = &out};
    struct wc_logger *lg = wc_logger_new(&o);
    struct wc_aws_error e = {.code = "ThrottlingException", .message = "Rate exceeded"};
    struct wc_aws_error denied = {.code = "AccessDeniedException", .message = "no"};

    (void)state;
    assert_non_null(lg);
    wc_aws_error_log(lg, WC_LOG_WARN, "m-1", &e, WC_ERR_THROTTLED, "svc: Op %s failed", "x");
    assert_non_null(strstr(out.ptr, "svc: Op x failed: ThrottlingException: Rate exceeded"));
    assert_non_null(strstr(out.ptr, "m-1"));
    wc_buf_reset(&out);
    wc_aws_error_log(lg, WC_LOG_WARN, NULL, NULL, WC_ERR_TIMEOUT, "svc: Op failed");
    assert_non_null(strstr(out.ptr, "svc: Op failed: "));
    assert_non_null(strstr(out.ptr, wc_strerror(WC_ERR_TIMEOUT)));
    wc_buf_reset(&out);
    wc_aws_error_log(lg, WC_LOG_WARN, NULL, &denied, WC_ERR_AUTH, "svc: Op failed");
    wc_aws_error_log(lg, WC_LOG_DEBUG, NULL, &e, WC_ERR_THROTTLED, "svc: Op failed");
    assert_int_equal(out.len, 0);
    wc_aws_error_log(NULL, WC_LOG_ERROR, NULL, &e, WC_ERR_THROTTLED, "no logger: no crash");
    wc_logger_destroy(lg);
    wc_buf_clean_up(&out);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_sample_sqs_queue_does_not_exist),
        cmocka_unit_test(test_sample_sqs_access_denied),
        cmocka_unit_test(test_sample_sqs_receipt_handle_invalid),
        cmocka_unit_test(test_sample_cloudtrail_throttling),
        cmocka_unit_test(test_sample_cloudtrail_invalid_time_range),
        cmocka_unit_test(test_sample_cloudtrail_unrecognized_client),
        cmocka_unit_test(test_sample_sts_access_denied),
        cmocka_unit_test(test_sample_sts_expired_token),
        cmocka_unit_test(test_s3_error_xml),
        cmocka_unit_test(test_s3_request_time_too_skewed_header_request_id),
        cmocka_unit_test(test_receiver_fault_xml),
        cmocka_unit_test(test_empty_body_uses_status),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_xml_doctype_refused),
        cmocka_unit_test(test_xml_front_end_guards),
        cmocka_unit_test(test_xml_entities_and_cdata),
        cmocka_unit_test(test_nested_code_ignored),
        cmocka_unit_test(test_sanitize_code),
        cmocka_unit_test(test_query_error_header_sender_field),
        cmocka_unit_test(test_query_error_header_blank_code),
        cmocka_unit_test(test_error_log_line),
    };
    static const char *files[] = {"json_1_0", "json", "query", "json_1_0-query-compatible"};
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    struct s_case *cases[S_MAX_CASES] = {0};
    struct CMUnitTest *tests;
    size_t n = 0, nt = 0;
    int rc;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        s_load_protocol_cases(files[i], cases, &n, S_MAX_CASES);
    tests = calloc(nfixed + n + 1, sizeof(*tests));
    if (!tests)
        return 1;
    for (size_t i = 0; i < nfixed; i++)
        tests[nt++] = fixed[i];
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test_prestate(test_protocol_cases_loaded, &n);
    for (size_t i = 0; i < n; i++)
        tests[nt++] = (struct CMUnitTest){cases[i]->name, test_protocol_case, NULL, NULL, cases[i]};
    rc = _cmocka_run_group_tests("aws_error", tests, nt, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        s_case_free(cases[i]);
    free(tests);
    return rc;
}
