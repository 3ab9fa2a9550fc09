/* Unit tests for aws/aws_client (the signed call + retry loop), aws/sts
 * (AssumeRole) and aws/cloudtrail (LookupEvents pages, token bucket, one page
 * at a time for the scheduler), over a
 * fake transport. Requests are really signed; the signature itself is
 * verified independently by the stand-in tests (tests/integration). */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "aws/aws_client.h"
#include "aws/cloudtrail.h"
#include "aws/credentials.h"
#include "aws/probe.h"
#include "aws/retry.h"
#include "aws/sts.h"
#include "core/err.h"
#include "core/log.h"
#include "core/trail.h"
#include "tests/support/aws_fixture.h"

#define STS_URL "https://sts.eu-west-1.amazonaws.com/"
#define CT_URL "https://cloudtrail.eu-west-1.amazonaws.com/"
#define STS_ROLE "arn:aws:iam::210987654321:role/R"

static double s_half(void *ctx)
{
    (void)ctx;
    return 0.5;
}

/* The shared fixture with a retry policy whose jitter is always 0.5. */
static int setup(void **state)
{
    struct wc_retry_options ro = {.rand01 = s_half};
    struct aws_fixture_options o = {.retry = &ro};

    *state = aws_fixture_new(&o);
    return *state ? 0 : -1;
}

static const struct wc_aws_credentials s_base = {
    .access_key_id = (char *)"AKIABASEEXAMPLE12345",
    .secret_access_key = (char *)"baseSECRETexample",
};

/* --- aws_client ------------------------------------------------------------ */

static void test_send_signs_and_retries_transient(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    static const struct wc_http_header h[] = {{(char *)"Content-Type", (char *)"text/plain"}};
    struct wc_aws_request req = {.service = "sts", .region = "eu-west-1", .method = "POST",
                                 .url = STS_URL, .headers = h, .n_headers = 1,
                                 .body = "x=1", .body_len = 3};
    const struct fake_http_req *r;
    int attempts = 0;

    fake_http_add(f->http, "POST", STS_URL, 500, "<Error><Code>InternalError</Code></Error>");
    fake_http_add(f->http, "POST", STS_URL, 503, "busy");
    fake_http_add(f->http, "POST", STS_URL, 200, "fine");
    assert_int_equal(wc_aws_send(f->aws, &s_base, &req, &resp, &err, &attempts), WC_OK);
    assert_int_equal(attempts, 3);
    assert_string_equal(resp.body.ptr, "fine");
    /* full jitter with rand 0.5: 0.5 * 1 s * 2^0, then 0.5 * 2 s */
    assert_int_equal(f->n_sleeps, 2);
    assert_int_equal(f->slept[0], 500);
    assert_int_equal(f->slept[1], 1000);
    r = fake_http_request(f->http, 2);
    assert_non_null(fake_http_req_header(r, "Authorization"));
    assert_non_null(strstr(fake_http_req_header(r, "Authorization"),
                           "Credential=AKIABASEEXAMPLE12345/20240501/eu-west-1/sts/aws4_request"));
    /* signed at the clock's time, which the sleeps advanced by 1.5 s */
    assert_string_equal(fake_http_req_header(r, "X-Amz-Date"), "20240501T120001Z");
    assert_non_null(fake_http_req_header(r, "Host"));
    wc_http_response_clean_up(&resp);
    wc_aws_error_clean_up(&err);
}

static void test_send_client_error_not_retried(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct wc_aws_request req = {.service = "sts", .region = "eu-west-1", .method = "POST",
                                 .url = STS_URL};
    struct wc_aws_credentials bad = {0};
    int attempts = 0;

    fake_http_add(f->http, "POST", STS_URL, 400,
                  "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
                  "<Message>bad</Message></Error></ErrorResponse>");
    assert_int_equal(wc_aws_send(f->aws, &s_base, &req, &resp, &err, &attempts), WC_ERR_SERVICE);
    assert_int_equal(attempts, 1);
    assert_string_equal(err.code, "ValidationError");
    assert_int_equal(f->n_sleeps, 0);
    /* credentials without a secret never reach the wire */
    assert_int_equal(wc_aws_send(f->aws, &bad, &req, &resp, &err, NULL), WC_ERR_INVALID);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    wc_http_response_clean_up(&resp);
    wc_aws_error_clean_up(&err);
}

static void test_error_mapping(void **state)
{
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    e.code = (char *)"ThrottlingException";
    e.status = 400;
    assert_int_equal(wc_aws_error_to_rc(&e), WC_ERR_THROTTLED);
    e.code = (char *)"UnrecognizedClientException";
    assert_int_equal(wc_aws_error_to_rc(&e), WC_ERR_AUTH);
    e.code = (char *)"AccessDenied";
    e.status = 403;
    assert_int_equal(wc_aws_error_to_rc(&e), WC_ERR_AUTH);
    e.code = (char *)"NoSuchKey";
    e.status = 404;
    assert_int_equal(wc_aws_error_to_rc(&e), WC_ERR_NOT_FOUND);
    e.code = (char *)"InternalError";
    e.status = 500;
    assert_int_equal(wc_aws_error_to_rc(&e), WC_ERR_SERVICE);
}

/* --- STS ------------------------------------------------------------------- */

static struct wc_sts *s_sts(struct aws_fixture *f, int duration_s)
{
    struct wc_sts_options o = {.aws = f->aws, .endpoint = "https://sts.eu-west-1.amazonaws.com",
                               .region = "eu-west-1", .duration_s = duration_s};

    return wc_sts_new(&o);
}

static void test_sts_assume_role(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sts *sts = s_sts(f, 0);
    struct wc_aws_credentials c = {0};
    const struct fake_http_req *r;
    struct wc_buf b = WC_BUF_INIT;

    wc_test_read_ref("samples/sts/assume-role-response.wire.constructed.xml", &b);
    fake_http_add(f->http, "POST", STS_URL, 200, b.ptr);
    wc_buf_clean_up(&b);
    assert_int_equal(wc_sts_assume_role(sts, &s_base, "arn:aws:iam::210987654321:role/ChangeAuditor",
                                        "change-auditor", "a+b=c/d:e", &c),
                     WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0777");
    assert_non_null(c.session_token);
    assert_string_equal(c.source, "assume-role");
    assert_true(c.expiration_ms > AWS_FIXTURE_T0_MS);
    wc_aws_credentials_clean_up(&c);
    r = fake_http_request(f->http, 0);
    assert_string_equal(r->body,
                        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                        "210987654321%3Arole%2FChangeAuditor&RoleSessionName=change-auditor"
                        "&ExternalId=a%2Bb%3Dc%2Fd%3Ae");
    assert_string_equal(fake_http_req_header(r, "Content-Type"),
                        "application/x-www-form-urlencoded; charset=utf-8");
    assert_non_null(
        strstr(fake_http_req_header(r, "Authorization"),
               "/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date"));
    wc_sts_destroy(sts);
}

static void test_sts_errors(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sts *sts = s_sts(f, 0);
    struct wc_aws_credentials c = {0};
    struct wc_buf b = WC_BUF_INIT;
    const char *role = STS_ROLE;

    wc_test_read_ref("samples/sts/error-access-denied.constructed.xml", &b);
    fake_http_add(f->http, "POST", STS_URL, 403, b.ptr);
    wc_buf_clean_up(&b);
    assert_int_equal(wc_sts_assume_role(sts, &s_base, role, "s1", NULL, &c), WC_ERR_AUTH);
    /* one warn line, wc_aws_send's, naming the action and the role */
    aws_fixture_assert_one_denied(f, 0, "not authorized to sts:AssumeRole on " STS_ROLE
                                        " (AccessDenied: User: arn:aws:iam::123456789012:");
    assert_int_equal(aws_fixture_log_lines(f, 0, NULL, "sts: AssumeRole"), 0);
    assert_null(c.access_key_id);
    fake_http_clear(f->http);
    /* any other error: sts's own line, naming the role */
    {
        size_t from = f->log.len;

        fake_http_add(f->http, "POST", STS_URL, 403,
                      "<ErrorResponse><Error><Type>Sender</Type><Code>RegionDisabledException"
                      "</Code><Message>STS is not activated in this region</Message></Error>"
                      "</ErrorResponse>");
        assert_int_not_equal(wc_sts_assume_role(sts, &s_base, role, "s1", NULL, &c), WC_OK);
        assert_int_equal(aws_fixture_log_lines(f, from, "warn",
                                               "sts: AssumeRole " STS_ROLE " failed: "
                                               "RegionDisabledException: STS is not "
                                               "activated in this region"),
                         1);
        assert_int_equal(aws_fixture_log_lines(f, from, NULL, "not authorized"), 0);
        assert_null(c.access_key_id);
        fake_http_clear(f->http);
    }
    fake_http_add(f->http, "POST", STS_URL, 200, "<AssumeRoleResponse/>");
    assert_int_equal(wc_sts_assume_role(sts, &s_base, role, "s1", NULL, &c), WC_ERR_PARSE);
    /* bad parameters: nothing is sent */
    assert_int_equal(wc_sts_assume_role(sts, &s_base, role, "s1", "bad external id", &c),
                     WC_ERR_INVALID);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    assert_null(strstr(f->log.ptr, "baseSECRETexample"));
    wc_sts_destroy(sts);
    sts = s_sts(f, 60); /* below STS's 900 s minimum */
    assert_int_equal(wc_sts_assume_role(sts, &s_base, role, "s1", NULL, &c), WC_ERR_INVALID);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    wc_sts_destroy(sts);
}

static void test_accounts_over_sts(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sts *sts = s_sts(f, 0);
    struct wc_clock c = f->clock;
    struct wc_creds_options o = {.clock = &c, .assume_role_fn = wc_sts_assume_role,
                                 .assume_role_ctx = sts, .logger = f->logger};
    struct wc_aws_credentials got = {0};
    struct wc_creds_provider *bp = wc_creds_static_new(&s_base, &o);
    struct wc_creds_accounts *acc =
        wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/whochanged-reader", NULL, NULL, &o);
    struct wc_buf b = WC_BUF_INIT;

    assert_non_null(acc);
    wc_test_read_ref("samples/sts/assume-role-response.wire.constructed.xml", &b);
    fake_http_add(f->http, "POST", STS_URL, 200, b.ptr); /* expires 13:00 */
    wc_buf_clean_up(&b);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wc_creds_accounts_get(acc, "210987654321", &got), WC_OK);
        assert_string_equal(got.access_key_id, "ASIA3EXAMPLEKEYID0777");
        wc_aws_credentials_clean_up(&got);
        f->now += 10 * 60 * 1000;
    }
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_non_null(strstr(fake_http_request(f->http, 0)->body,
                           "RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fwhochanged-reader"
                           "&RoleSessionName=whochanged"));
    /* within the refresh margin of the expiry: assumed again */
    f->now = AWS_FIXTURE_T0_MS + 56 * 60 * 1000;
    assert_int_equal(wc_creds_accounts_get(acc, "210987654321", &got), WC_OK);
    wc_aws_credentials_clean_up(&got);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    wc_creds_accounts_destroy(acc);
    wc_creds_provider_destroy(bp);
    wc_sts_destroy(sts);
}

/* --- CloudTrail ------------------------------------------------------------ */

static void test_lookup_body_matches_vector(void **state)
{
    struct wc_buf body = WC_BUF_INIT, want = WC_BUF_INIT;
    struct wc_trail_query q = {.account_id = "123456789012", .region = "us-east-1",
                               .attribute_key = "ResourceName",
                               .attribute_value = "sg-0123456789abcdef0",
                               .start_ms = 1714560000000LL, .end_ms = 1714564800000LL};
    char *nl;

    (void)state;
    assert_int_equal(wc_cloudtrail_lookup_body(&q, NULL, &body), WC_OK);
    wc_test_read_ref("sigv4-testsuite/generated-service-vectors/cloudtrail-lookup-events/request.txt",
                     &want);
    nl = strstr(want.ptr, "\n\n");
    assert_non_null(nl);
    assert_string_equal(body.ptr, nl + 2);
    /* a window in ms widens to whole seconds, never narrows */
    q.start_ms = 1714560000999LL;
    q.end_ms = 1714564800001LL;
    wc_buf_reset(&body);
    assert_int_equal(wc_cloudtrail_lookup_body(&q, "tok", &body), WC_OK);
    assert_non_null(strstr(body.ptr, "\"StartTime\":1714560000,"));
    assert_non_null(strstr(body.ptr, "\"EndTime\":1714564801,"));
    assert_non_null(strstr(body.ptr, "\"NextToken\":\"tok\""));
    /* the write-events scan over a window, and a related event by id */
    q.attribute_key = "ReadOnly";
    q.attribute_value = "false";
    wc_buf_reset(&body);
    assert_int_equal(wc_cloudtrail_lookup_body(&q, NULL, &body), WC_OK);
    assert_non_null(strstr(body.ptr, "{\"LookupAttributes\":[{\"AttributeKey\":\"ReadOnly\","
                                     "\"AttributeValue\":\"false\"}]"));
    q.attribute_key = "EventId";
    q.attribute_value = "1a2b3c4d-5e6f-4a7b-8c9d-EXAMPLE00002";
    wc_buf_reset(&body);
    assert_int_equal(wc_cloudtrail_lookup_body(&q, NULL, &body), WC_OK);
    assert_non_null(strstr(body.ptr, "\"AttributeKey\":\"EventId\""));
    wc_buf_clean_up(&body);
    wc_buf_clean_up(&want);
}

static const char *s_page(const char *id, const char *token)
{
    static char buf[2048];

    snprintf(buf, sizeof(buf),
             "{\"Events\":[{\"EventId\":\"%s\",\"EventName\":\"AuthorizeSecurityGroupIngress\","
             "\"ReadOnly\":\"false\",\"EventTime\":1.7145648E9,\"EventSource\":\"ec2.amazonaws.com\","
             "\"Resources\":[{\"ResourceType\":\"AWS::EC2::SecurityGroup\",\"ResourceName\":"
             "\"sg-1\"}],\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"%s\\\",\\\"eventName\\\":"
             "\\\"AuthorizeSecurityGroupIngress\\\",\\\"eventTime\\\":\\\"2024-05-01T12:00:00Z\\\","
             "\\\"userIdentity\\\":{\\\"type\\\":\\\"IAMUser\\\",\\\"arn\\\":\\\"arn:aws:iam::"
             "123456789012:user/bob\\\"}}\"}]%s%s%s}",
             id, id, token ? ",\"NextToken\":\"" : "", token ? token : "", token ? "\"" : "");
    return buf;
}

static void test_cloudtrail_pages_and_rate(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_creds_provider *bp = NULL;
    struct wc_trail *t;
    struct wc_event_list out = WC_EVENT_LIST_INIT;
    struct wc_cloudtrail_stats st;
    struct wc_trail_query q = {.account_id = "123456789012", .region = "eu-west-1",
                               .attribute_key = "ResourceName", .attribute_value = "sg-1",
                               .start_ms = AWS_FIXTURE_T0_MS - 180000,
                               .end_ms = AWS_FIXTURE_T0_MS + 180000};
    struct wc_clock c = f->clock;
    struct wc_env env = {aws_fixture_no_env, NULL};
    struct wc_cloudtrail_options o = {.aws = f->aws, .clock = &c, .env = &env};
    char page1[2048], page2[2048];
    size_t before;

    bp = wc_creds_static_new(&s_base, NULL);
    o.creds = bp;
    t = wc_cloudtrail_new(&o);
    assert_non_null(t);
    snprintf(page1, sizeof(page1), "%s", s_page("e-1", "page-2-token"));
    snprintf(page2, sizeof(page2), "%s", s_page("e-2", "page-3-token"));
    fake_http_add(f->http, "POST", CT_URL, 200, page1);
    fake_http_add(f->http, "POST", CT_URL, 200, page2);
    fake_http_add(f->http, "POST", CT_URL, 200, s_page("e-3", NULL));
    assert_int_equal(wc_trail_lookup(t, &q, &out), WC_OK);
    assert_int_equal(out.len, 3);
    assert_string_equal(out.items[2].event_id, "e-3");
    assert_null(out.next_token);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    assert_null(strstr(fake_http_request(f->http, 0)->body, "NextToken"));
    assert_non_null(strstr(fake_http_request(f->http, 1)->body, "\"NextToken\":\"page-2-token\""));
    assert_string_equal(fake_http_req_header(fake_http_request(f->http, 2), "X-Amz-Target"),
                        WC_CLOUDTRAIL_TARGET);
    /* 2 calls per second, 10% margin: the 2nd and 3rd page waited 550 ms each */
    assert_int_equal(f->n_sleeps, 2);
    assert_int_equal(f->slept[0], 550);
    assert_int_equal(f->slept[1], 550);
    wc_cloudtrail_stats(t, &st);
    assert_int_equal(st.calls, 3);
    assert_int_equal(st.failures, 0);
    wc_event_list_clean_up(&out);

    /* throttled: each try waits for a new slot of the bucket, pushed back
     * 1 s, 2 s, 4 s; after WC_CLOUDTRAIL_THROTTLE_TRIES the lookup fails */
    fake_http_clear(f->http);
    f->n_sleeps = 0;
    before = fake_http_n_requests(f->http);
    fake_http_add(f->http, "POST", CT_URL, 400,
                        "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}");
    assert_int_equal(wc_trail_lookup(t, &q, &out), WC_ERR_THROTTLED);
    assert_int_equal(fake_http_n_requests(f->http) - before, WC_CLOUDTRAIL_THROTTLE_TRIES);
    wc_cloudtrail_stats(t, &st);
    assert_int_equal(st.throttled, WC_CLOUDTRAIL_THROTTLE_TRIES);
    assert_int_equal(st.failures, 1);
    /* the waits before tries 2..4 include the back-off: >= 1, 2, 4 s */
    assert_int_equal(f->n_sleeps, WC_CLOUDTRAIL_THROTTLE_TRIES);
    assert_true(f->slept[1] >= 1000 && f->slept[2] >= 2000 && f->slept[3] >= 4000);
    /* and a throttle followed by success is no failure */
    fake_http_clear(f->http);
    fake_http_add(f->http, "POST", CT_URL, 400,
                        "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}");
    fake_http_add(f->http, "POST", CT_URL, 200, s_page("e-9", NULL));
    assert_int_equal(wc_trail_lookup(t, &q, &out), WC_OK);
    assert_int_equal(out.len, 1);
    wc_event_list_clean_up(&out);
    assert_int_equal(out.len, 0);
    wc_trail_destroy(t);
    wc_creds_provider_destroy(bp);
}

/* lookup_page: one call, one page, no token bucket, throttling handed back */
static void test_cloudtrail_lookup_page(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_creds_provider *bp = wc_creds_static_new(&s_base, NULL);
    struct wc_trail *t;
    struct wc_event_list out = WC_EVENT_LIST_INIT;
    struct wc_cloudtrail_stats st;
    struct wc_trail_query q = {.account_id = "123456789012", .region = "eu-west-1",
                               .attribute_key = "ResourceName", .attribute_value = "sg-1",
                               .start_ms = AWS_FIXTURE_T0_MS - 180000,
                               .end_ms = AWS_FIXTURE_T0_MS + 180000};
    struct wc_clock c = f->clock;
    struct wc_env env = {aws_fixture_no_env, NULL};
    struct wc_cloudtrail_options o = {.aws = f->aws, .clock = &c, .env = &env, .creds = bp};
    struct wc_buf want = WC_BUF_INIT;
    char page1[2048];

    t = wc_cloudtrail_new(&o);
    assert_non_null(t);
    /* the first page: no NextToken asked, the answer's handed back */
    snprintf(page1, sizeof(page1), "%s", s_page("e-1", "page-2-token"));
    fake_http_push(f->http, 200, NULL, page1);
    assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_int_equal(wc_cloudtrail_lookup_body(&q, NULL, &want), WC_OK);
    assert_string_equal(aws_fixture_req(f, 0)->body, want.ptr);
    assert_string_equal(aws_fixture_req(f, 0)->url, CT_URL);
    assert_string_equal(aws_fixture_req_header(f, 0, "X-Amz-Target"), WC_CLOUDTRAIL_TARGET);
    assert_string_equal(aws_fixture_req_header(f, 0, "Content-Type"),
                        "application/x-amz-json-1.1");
    assert_int_equal(out.len, 1);
    assert_string_equal(out.items[0].event_id, "e-1");
    assert_non_null(out.next_token);
    assert_string_equal(out.next_token, "page-2-token");

    /* the next page, straight after: the caller's token in the body, no
     * wait for a bucket slot (the caller owns the budget) */
    fake_http_push(f->http, 200, NULL, s_page("e-2", NULL));
    assert_int_equal(wc_trail_lookup_page(t, &q, "page-2-token", &out), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    wc_buf_reset(&want);
    assert_int_equal(wc_cloudtrail_lookup_body(&q, "page-2-token", &want), WC_OK);
    assert_string_equal(aws_fixture_req(f, 1)->body, want.ptr);
    assert_non_null(strstr(aws_fixture_req(f, 1)->body, "\"NextToken\":\"page-2-token\""));
    assert_int_equal(out.len, 2);
    assert_string_equal(out.items[1].event_id, "e-2");
    assert_null(out.next_token);
    assert_int_equal(f->n_sleeps, 0);
    wc_event_list_clean_up(&out);

    /* throttled: WC_ERR_THROTTLED after exactly one request, although the
     * fixture's retry policy would retry it */
    fake_http_push(f->http, 400, NULL,
                   "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}");
    fake_http_push(f->http, 200, NULL, s_page("e-3", NULL)); /* must stay unserved */
    assert_int_equal(wc_trail_lookup_page(t, &q, "page-2-token", &out), WC_ERR_THROTTLED);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    assert_int_equal(f->n_sleeps, 0);
    assert_int_equal(out.len, 0);
    assert_null(out.next_token);
    wc_cloudtrail_stats(t, &st);
    assert_int_equal(st.calls, 3);
    assert_int_equal(st.throttled, 1);
    assert_int_equal(st.failures, 0);
    /* the answer left queued is the next call's */
    assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 4);
    assert_string_equal(out.items[0].event_id, "e-3");
    wc_event_list_clean_up(&out);

    /* another transient error keeps wc_aws_send's standard retry */
    fake_http_push(f->http, 500, NULL, "{\"__type\":\"InternalFailure\"}");
    fake_http_push(f->http, 200, NULL, s_page("e-4", NULL));
    assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 6);
    assert_int_equal(f->n_sleeps, 1);
    assert_string_equal(out.items[0].event_id, "e-4");
    wc_event_list_clean_up(&out);
    /* a client error fails the page (and counts) */
    fake_http_push(f->http, 400, NULL,
                   "{\"__type\":\"InvalidLookupAttributesException\",\"message\":\"no\"}");
    assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_ERR_SERVICE);
    assert_int_equal(fake_http_n_requests(f->http), 7);
    assert_int_equal(aws_fixture_log_lines(f, 0, "warn",
                                           "cloudtrail: LookupEvents ResourceName=sg-1 in "
                                           "123456789012/eu-west-1 failed: "
                                           "InvalidLookupAttributesException: no"),
                     1);
    assert_int_equal(aws_fixture_log_lines(f, 0, NULL, "not authorized"), 0);
    wc_cloudtrail_stats(t, &st);
    /* calls counts sends that were answered; the 500 retried inside
     * wc_aws_send counts once with its retry */
    assert_int_equal(st.calls, 6);
    assert_int_equal(st.throttled, 1);
    assert_int_equal(st.failures, 1);
    /* refused: one warn line, wc_aws_send's, naming the action and the
     * account-region queried (the region alone for the own account) */
    {
        static const char denied[] = "{\"__type\":\"AccessDeniedException\",\"message\":"
                                     "\"User: arn:aws:iam::123456789012:user/w is not "
                                     "authorized to perform: cloudtrail:LookupEvents\"}";
        size_t from = f->log.len;

        fake_http_push(f->http, 400, NULL, denied);
        assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_ERR_AUTH);
        aws_fixture_assert_one_denied(f, from, "not authorized to cloudtrail:LookupEvents on "
                                               "account 123456789012 in eu-west-1 "
                                               "(AccessDeniedException: User: ");
        assert_int_equal(aws_fixture_log_lines(f, from, NULL, "cloudtrail: LookupEvents"), 0);
        from = f->log.len;
        q.account_id = NULL;
        fake_http_push(f->http, 400, NULL, denied);
        assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_ERR_AUTH);
        aws_fixture_assert_one_denied(f, from, "not authorized to cloudtrail:LookupEvents on "
                                               "region eu-west-1 (AccessDeniedException: ");
        assert_int_equal(aws_fixture_log_lines(f, from, NULL, "cloudtrail: LookupEvents"), 0);
        q.account_id = "123456789012";
        assert_int_equal(fake_http_n_requests(f->http), 9);
        wc_cloudtrail_stats(t, &st);
        assert_int_equal(st.failures, 3);
    }
    /* a bad query sends nothing (and is the caller's bug, not a failure) */
    q.region = NULL;
    assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_ERR_INVALID);
    assert_int_equal(fake_http_n_requests(f->http), 9);
    wc_cloudtrail_stats(t, &st);
    assert_int_equal(st.failures, 3);
    wc_event_list_clean_up(&out);
    wc_buf_clean_up(&want);
    wc_trail_destroy(t);
    wc_creds_provider_destroy(bp);
}

/* The account-region scan: ReadOnly=false over the window, one page */
static void test_cloudtrail_lookup_page_scan(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_creds_provider *bp = wc_creds_static_new(&s_base, NULL);
    struct wc_trail *t;
    struct wc_event_list out = WC_EVENT_LIST_INIT;
    struct wc_trail_query q = {.account_id = "123456789012", .region = "eu-west-1",
                               .attribute_key = WC_TRAIL_SCAN_KEY,
                               .attribute_value = WC_TRAIL_SCAN_VALUE,
                               .start_ms = 1714560000500LL, .end_ms = 1714564800500LL};
    struct wc_env env = {aws_fixture_no_env, NULL};
    struct wc_cloudtrail_options o = {.aws = f->aws, .clock = &f->clock, .env = &env,
                                      .creds = bp};

    t = wc_cloudtrail_new(&o);
    assert_non_null(t);
    fake_http_push(f->http, 200, NULL, s_page("e-1", "scan-2"));
    assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_OK);
    assert_string_equal(aws_fixture_req(f, 0)->body,
                        "{\"LookupAttributes\":[{\"AttributeKey\":\"ReadOnly\","
                        "\"AttributeValue\":\"false\"}],\"StartTime\":1714560000,"
                        "\"EndTime\":1714564801,\"MaxResults\":50}");
    assert_string_equal(out.next_token, "scan-2");
    fake_http_push(f->http, 200, NULL, s_page("e-2", NULL));
    assert_int_equal(wc_trail_lookup_page(t, &q, out.next_token, &out), WC_OK);
    assert_string_equal(aws_fixture_req(f, 1)->body,
                        "{\"LookupAttributes\":[{\"AttributeKey\":\"ReadOnly\","
                        "\"AttributeValue\":\"false\"}],\"StartTime\":1714560000,"
                        "\"EndTime\":1714564801,\"MaxResults\":50,\"NextToken\":\"scan-2\"}");
    assert_int_equal(out.len, 2);
    assert_null(out.next_token);
    wc_event_list_clean_up(&out);
    wc_trail_destroy(t);
    wc_creds_provider_destroy(bp);
}

/* Another account's page is signed with that account's role, as lookup's */
static void test_cloudtrail_lookup_page_account_role(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sts *sts = s_sts(f, 0);
    struct wc_clock c = f->clock;
    struct wc_creds_options co = {.clock = &c, .assume_role_fn = wc_sts_assume_role,
                                  .assume_role_ctx = sts, .logger = f->logger};
    struct wc_creds_provider *bp = wc_creds_static_new(&s_base, &co);
    struct wc_creds_accounts *acc =
        wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/whochanged-reader", NULL, NULL,
                              &co);
    struct wc_env env = {aws_fixture_no_env, NULL};
    struct wc_cloudtrail_options o = {.aws = f->aws, .clock = &c, .env = &env, .creds = bp,
                                      .accounts = acc};
    struct wc_trail_query q = {.account_id = "210987654321", .region = "eu-west-1",
                               .attribute_key = "ResourceName", .attribute_value = "sg-1",
                               .start_ms = AWS_FIXTURE_T0_MS - 1000,
                               .end_ms = AWS_FIXTURE_T0_MS + 1000};
    struct wc_event_list out = WC_EVENT_LIST_INIT;
    struct wc_trail *t = wc_cloudtrail_new(&o);
    struct wc_buf b = WC_BUF_INIT;

    assert_non_null(acc);
    assert_non_null(t);
    wc_test_read_ref("samples/sts/assume-role-response.wire.constructed.xml", &b);
    fake_http_add(f->http, "POST", STS_URL, 200, b.ptr);
    wc_buf_clean_up(&b);
    fake_http_add(f->http, "POST", CT_URL, 200, s_page("e-1", NULL));
    assert_int_equal(wc_trail_lookup_page(t, &q, NULL, &out), WC_OK);
    assert_int_equal(fake_http_count(f->http, "POST", STS_URL), 1);
    assert_int_equal(fake_http_count(f->http, "POST", CT_URL), 1);
    assert_non_null(strstr(aws_fixture_req_header(f, 1, "Authorization"),
                           "Credential=ASIA3EXAMPLEKEYID0777/"));
    assert_non_null(aws_fixture_req_header(f, 1, "X-Amz-Security-Token"));
    assert_int_equal(out.len, 1);
    wc_event_list_clean_up(&out);
    wc_trail_destroy(t);
    wc_creds_accounts_destroy(acc);
    wc_creds_provider_destroy(bp);
    wc_sts_destroy(sts);
}


/* --- issue 9: the observer, operations, AccessDenied, the probes ------------ */

struct s_seen {
    char lines[8][128];
    int n;
};

static void s_observe(void *ctx, const char *service, const char *operation, const char *outcome)
{
    struct s_seen *s = ctx;

    if (s->n < 8)
        snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s %s %s", service, operation, outcome);
}

static void test_observer_and_access_denied(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    static const struct wc_http_header sqs_h[] = {
        {(char *)"X-Amz-Target", (char *)"AmazonSQS.ReceiveMessage"}};
    struct wc_aws_request sqs = {.service = "sqs", .region = "eu-west-1", .method = "POST",
                                 .url = "https://sqs.eu-west-1.amazonaws.com/", .headers = sqs_h,
                                 .n_headers = 1, .body = "{}", .body_len = 2};
    struct wc_aws_request sts = {.service = "sts", .region = "eu-west-1", .method = "POST",
                                 .url = STS_URL, .body = "Action=AssumeRole&Version=x",
                                 .body_len = 27};
    struct s_seen seen = {0};
    char op[64];

    wc_aws_set_observer(f->aws, s_observe, &seen);
    /* SQS's AccessDenied (query-compatible): not "authentication failed" */
    fake_http_push(f->http, 403, "x-amzn-query-error: AccessDenied;Sender",
                   "{\"__type\":\"com.amazonaws.sqs#AccessDenied\",\"message\":\"User: "
                   "arn:aws:iam::123456789012:user/w is not authorized to perform: "
                   "sqs:receivemessage\"}");
    assert_int_equal(wc_aws_send(f->aws, &s_base, &sqs, &resp, &err, NULL), WC_ERR_AUTH);
    assert_non_null(strstr(f->log.ptr, "not authorized to sqs:ReceiveMessage (AccessDenied: "
                                       "User: arn:aws:iam::123456789012:user/w is not"));
    /* a transient failure and its retry, then success: one observation each */
    fake_http_push(f->http, 500, NULL, "<ErrorResponse><Error><Code>InternalError</Code>"
                                       "</Error></ErrorResponse>");
    fake_http_push(f->http, 200, NULL, "<ok/>");
    assert_int_equal(wc_aws_send(f->aws, &s_base, &sts, &resp, &err, NULL), WC_OK);
    fake_http_push(f->http, 400, NULL, "{\"__type\":\"ThrottlingException\"}");
    sqs.caller_retries_throttles = true;
    assert_int_equal(wc_aws_send(f->aws, &s_base, &sqs, &resp, &err, NULL), WC_ERR_THROTTLED);
    assert_int_equal(seen.n, 4);
    assert_string_equal(seen.lines[0], "sqs ReceiveMessage access_denied");
    assert_string_equal(seen.lines[1], "sts AssumeRole server_error");
    assert_string_equal(seen.lines[2], "sts AssumeRole ok");
    assert_string_equal(seen.lines[3], "sqs ReceiveMessage throttled");

    /* operation names */
    sts.operation = "GetCallerIdentity";
    wc_aws_request_operation(&sts, op, sizeof(op));
    assert_string_equal(op, "GetCallerIdentity");
    {
        struct wc_aws_request s3 = {.service = "s3", .method = "GET", .s3 = true,
                                    .url = "https://b.s3.amazonaws.com/k"};
        struct wc_aws_request q = {.service = "sts", .method = "GET",
                                   .url = "https://sts.amazonaws.com/?Action=GetSessionToken&V=1"};

        wc_aws_request_operation(&s3, op, sizeof(op));
        assert_string_equal(op, "GetObject");
        wc_aws_request_operation(&q, op, sizeof(op));
        assert_string_equal(op, "GetSessionToken");
    }
    /* outcome classes */
    {
        struct wc_aws_error e = {.code = (char *)"InvalidClientTokenId", .status = 403};

        assert_string_equal(wc_aws_outcome(WC_OK, &e), "credentials");
        e.code = (char *)"UnauthorizedOperation";
        assert_string_equal(wc_aws_outcome(WC_OK, &e), "access_denied");
        e.code = (char *)"NonExistentQueue";
        e.status = 400;
        assert_string_equal(wc_aws_outcome(WC_OK, &e), "client_error");
        assert_string_equal(wc_aws_outcome(WC_ERR_TIMEOUT, NULL), "timeout");
        assert_string_equal(wc_aws_outcome(WC_ERR_HTTP, NULL), "transport");
        assert_string_equal(wc_aws_outcome(WC_OK, NULL), "ok");
    }
    wc_http_response_clean_up(&resp);
    wc_aws_error_clean_up(&err);
}

static void test_describe(void **state)
{
    struct wc_aws_error e = {.code = (char *)"AccessDeniedException",
                             .message = (char *)"no\nidentity-based policy", .status = 400};
    char out[256];

    (void)state;
    wc_aws_error_describe(&e, "cloudtrail", "LookupEvents", out, sizeof(out));
    assert_string_equal(out, "not authorized to cloudtrail:LookupEvents (AccessDeniedException: "
                             "no identity-based policy)");
    /* with what the call was about; an empty or NULL resource adds nothing */
    wc_aws_error_describe_on(&e, "sqs", "ReceiveMessage",
                             "https://sqs.eu-west-1.amazonaws.com/123456789012/q", out,
                             sizeof(out));
    assert_string_equal(out, "not authorized to sqs:ReceiveMessage on "
                             "https://sqs.eu-west-1.amazonaws.com/123456789012/q "
                             "(AccessDeniedException: no identity-based policy)");
    wc_aws_error_describe_on(&e, "sqs", "ReceiveMessage", "", out, sizeof(out));
    assert_string_equal(out, "not authorized to sqs:ReceiveMessage (AccessDeniedException: "
                             "no identity-based policy)");
    e.code = (char *)"ExpiredToken";
    e.message = NULL;
    wc_aws_error_describe(&e, "sts", "AssumeRole", out, sizeof(out));
    assert_string_equal(out, "credentials refused by sts (ExpiredToken)");
    e.code = (char *)"ValidationError";
    wc_aws_error_describe(&e, "sts", "AssumeRole", out, sizeof(out));
    assert_string_equal(out, "ValidationError");
    assert_string_equal(wc_strerror(WC_ERR_AUTH), "not authorized or credentials refused");
}

static void test_probes(void **state)
{
    struct aws_fixture *f = *state;
    char arn[128], acct[16], why[256];
    const struct fake_http_req *r;

    fake_http_push(f->http, 200, NULL,
                   "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/w</Arn>"
                   "<UserId>AIDA</UserId><Account>123456789012</Account>"
                   "</GetCallerIdentityResult></GetCallerIdentityResponse>");
    assert_int_equal(wc_probe_caller_identity(f->aws, &s_base, STS_URL, "eu-west-1", arn,
                                              sizeof(arn), acct, sizeof(acct), why, sizeof(why)),
                     WC_OK);
    assert_string_equal(arn, "arn:aws:iam::123456789012:user/w");
    assert_string_equal(acct, "123456789012");
    r = fake_http_request(f->http, 0);
    assert_non_null(r);
    assert_non_null(strstr(r->body, "Action=GetCallerIdentity"));

    fake_http_push(f->http, 400, NULL, "{\"__type\":\"AccessDeniedException\","
                                       "\"message\":\"not allowed\"}");
    assert_int_equal(wc_probe_lookup_events(f->aws, &s_base, CT_URL, "eu-west-1", why,
                                            sizeof(why)),
                     WC_ERR_AUTH);
    assert_string_equal(why, "not authorized to cloudtrail:LookupEvents "
                             "(AccessDeniedException: not allowed)");
    r = fake_http_request(f->http, 1);
    assert_non_null(r);
    assert_non_null(strstr(r->body, "\"MaxResults\":1"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, aws_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_send_signs_and_retries_transient),
        T(test_send_client_error_not_retried),
        cmocka_unit_test(test_error_mapping),
        T(test_sts_assume_role),
        T(test_sts_errors),
        T(test_accounts_over_sts),
        cmocka_unit_test(test_lookup_body_matches_vector),
        T(test_cloudtrail_pages_and_rate),
        T(test_cloudtrail_lookup_page),
        T(test_cloudtrail_lookup_page_scan),
        T(test_cloudtrail_lookup_page_account_role),
        T(test_observer_and_access_denied),
        cmocka_unit_test(test_describe),
        T(test_probes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
