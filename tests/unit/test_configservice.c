/* Unit tests for aws/configservice (GetResourceConfigHistory over the fake
 * transport): the request (URL, target, signing scope, body), the answer
 * handed back, errors mapped as wc_aws_send maps them, throttling retried,
 * another account's role, and the Config endpoint. Requests are really
 * signed; the signature itself is verified by the stand-in
 * (tests/integration/history.sh). */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/aws_client.h"
#include "aws/aws_error.h"
#include "aws/configservice.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "aws/retry.h"
#include "aws/sts.h"
#include "core/err.h"
#include "core/history.h"
#include "tests/support/aws_fixture.h"

#define CFG_URL "https://config.eu-west-1.amazonaws.com/"
#define STS_URL "https://sts.eu-west-1.amazonaws.com/"
#define PAGE "{\"configurationItems\":[{\"resourceId\":\"sg-1\"}],\"nextToken\":\"t2\"}"

static double s_half(void *ctx)
{
    (void)ctx;
    return 0.5;
}

static int setup(void **state)
{
    struct wc_retry_options ro = {.rand01 = s_half};
    struct aws_fixture_options o = {.retry = &ro};

    *state = aws_fixture_new(&o);
    return *state ? 0 : -1;
}

static const struct wc_env s_no_env = {aws_fixture_no_env, NULL};

static struct wc_configservice *s_client(struct aws_fixture *f, struct wc_creds_accounts *acc)
{
    struct wc_configservice_options o = {.aws = f->aws, .creds = f->creds, .accounts = acc,
                                         .env = &s_no_env};
    struct wc_configservice *cs = wc_configservice_new(&o);

    assert_non_null(cs);
    return cs;
}

static const struct wc_config_history_query s_query = {
    .region = "eu-west-1",
    .resource_type = "AWS::EC2::SecurityGroup",
    .resource_id = "sg-1",
    .earlier_ms = AWS_FIXTURE_T0_MS - 86400000 + 250, /* rounded down */
    .later_ms = AWS_FIXTURE_T0_MS + 250,              /* rounded up */
    .forward = true,
    .limit = 100,
};

static void test_body(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_config_history_query q = s_query;
    cJSON *j;

    (void)state;
    assert_int_equal(wc_configservice_history_body(&q, "tok", &b), WC_OK);
    j = cJSON_Parse(b.ptr);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "resourceType")->valuestring,
                        "AWS::EC2::SecurityGroup");
    assert_string_equal(cJSON_GetObjectItem(j, "resourceId")->valuestring, "sg-1");
    assert_int_equal((int64_t)cJSON_GetObjectItem(j, "earlierTime")->valuedouble,
                     AWS_FIXTURE_T0_MS / 1000 - 86400);
    assert_int_equal((int64_t)cJSON_GetObjectItem(j, "laterTime")->valuedouble,
                     AWS_FIXTURE_T0_MS / 1000 + 1);
    assert_string_equal(cJSON_GetObjectItem(j, "chronologicalOrder")->valuestring, "Forward");
    assert_int_equal(cJSON_GetObjectItem(j, "limit")->valueint, 100);
    assert_string_equal(cJSON_GetObjectItem(j, "nextToken")->valuestring, "tok");
    cJSON_Delete(j);

    /* the item before a range: no earlierTime, newest first, no token */
    wc_buf_reset(&b);
    q.earlier_ms = WC_HISTORY_NO_TIME;
    q.forward = false;
    q.limit = 2;
    assert_int_equal(wc_configservice_history_body(&q, NULL, &b), WC_OK);
    j = cJSON_Parse(b.ptr);
    assert_non_null(j);
    assert_null(cJSON_GetObjectItem(j, "earlierTime"));
    assert_null(cJSON_GetObjectItem(j, "nextToken"));
    assert_string_equal(cJSON_GetObjectItem(j, "chronologicalOrder")->valuestring, "Reverse");
    assert_int_equal(cJSON_GetObjectItem(j, "limit")->valueint, 2);
    cJSON_Delete(j);
    wc_buf_clean_up(&b);
}

static void test_page_request_and_answer(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_configservice *cs = s_client(f, NULL);
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct wc_buf out = WC_BUF_INIT, want = WC_BUF_INIT;
    const char *auth;

    fake_http_push(f->http, 200, "Content-Type: application/x-amz-json-1.1", PAGE);
    assert_int_equal(wc_configservice_history_page(cs, &s_query, "tok", &out, &err), WC_OK);
    assert_string_equal(out.ptr, PAGE);
    assert_null(err.code);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_string_equal(aws_fixture_req(f, 0)->method, "POST");
    assert_string_equal(aws_fixture_req(f, 0)->url, CFG_URL);
    assert_string_equal(aws_fixture_req_header(f, 0, "X-Amz-Target"),
                        "StarlingDoveService.GetResourceConfigHistory");
    assert_string_equal(aws_fixture_req_header(f, 0, "Content-Type"),
                        "application/x-amz-json-1.1");
    auth = aws_fixture_req_header(f, 0, "Authorization");
    assert_non_null(auth);
    assert_non_null(strstr(auth, "/20240501/eu-west-1/config/aws4_request"));
    assert_non_null(strstr(auth, "x-amz-target"));
    assert_int_equal(wc_configservice_history_body(&s_query, "tok", &want), WC_OK);
    assert_string_equal(aws_fixture_req(f, 0)->body, want.ptr);
    /* a query without its resource sends nothing */
    {
        struct wc_config_history_query q = s_query;

        q.resource_id = NULL;
        assert_int_equal(wc_configservice_history_page(cs, &q, NULL, &out, &err),
                         WC_ERR_INVALID);
        assert_int_equal(fake_http_n_requests(f->http), 1);
    }
    wc_buf_clean_up(&want);
    wc_buf_clean_up(&out);
    wc_aws_error_clean_up(&err);
    wc_configservice_destroy(cs);
}

static void test_page_errors(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_configservice *cs = s_client(f, NULL);
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct wc_buf out = WC_BUF_INIT;
    char line[512];

    /* not discovered: the service's error, not retried */
    fake_http_push(f->http, 400, NULL,
                   "{\"__type\":\"ResourceNotDiscoveredException\",\"message\":\"Resource sg-1 "
                   "of resourceType:AWS::EC2::SecurityGroup is unknown or has not been "
                   "discovered\"}");
    assert_int_equal(wc_configservice_history_page(cs, &s_query, NULL, &out, &err),
                     WC_ERR_SERVICE);
    assert_string_equal(err.code, "ResourceNotDiscoveredException");
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_int_equal(out.len, 0);
    /* not access denied: the client's own (info) line */
    assert_int_equal(aws_fixture_log_lines(f, 0, "info",
                                           "config: GetResourceConfigHistory "
                                           "AWS::EC2::SecurityGroup sg-1 in -/eu-west-1 failed: "
                                           "ResourceNotDiscoveredException: Resource sg-1"),
                     1);
    assert_int_equal(aws_fixture_log_lines(f, 0, NULL, "not authorized"), 0);
    wc_aws_error_clean_up(&err);

    /* no permission */
    fake_http_push(f->http, 400, NULL,
                   "{\"__type\":\"AccessDeniedException\",\"message\":\"User: arn:aws:iam::"
                   "123456789012:user/x is not authorized to perform: "
                   "config:GetResourceConfigHistory\"}");
    {
        struct wc_config_history_query q = s_query;
        size_t from = f->log.len;

        assert_int_equal(wc_configservice_history_page(cs, &q, NULL, &out, &err), WC_ERR_AUTH);
        assert_string_equal(err.code, "AccessDeniedException");
        wc_aws_error_describe(&err, "config", "GetResourceConfigHistory", line, sizeof(line));
        assert_non_null(strstr(line, "not authorized to config:GetResourceConfigHistory"));
        assert_int_equal(fake_http_n_requests(f->http), 2);
        /* logged once, by wc_aws_send: the action and the region (and
         * account) asked */
        aws_fixture_assert_one_denied(f, from, "not authorized to config:"
                                               "GetResourceConfigHistory on region eu-west-1 "
                                               "(AccessDeniedException: User: ");
        assert_int_equal(aws_fixture_log_lines(f, from, NULL, "config: GetResource"), 0);
        wc_aws_error_clean_up(&err);
        from = f->log.len;
        q.account_id = "210987654321";
        fake_http_push(f->http, 400, NULL,
                       "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}");
        assert_int_equal(wc_configservice_history_page(cs, &q, NULL, &out, &err), WC_ERR_AUTH);
        aws_fixture_assert_one_denied(f, from, "not authorized to config:"
                                               "GetResourceConfigHistory on account "
                                               "210987654321 in eu-west-1 "
                                               "(AccessDeniedException: no)");
        assert_int_equal(aws_fixture_log_lines(f, from, NULL, "config: GetResource"), 0);
        assert_int_equal(fake_http_n_requests(f->http), 3);
        wc_aws_error_clean_up(&err);
    }

    /* throttled, then answered: the standard retry with its backoff */
    fake_http_push(f->http, 400, NULL,
                   "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}");
    fake_http_push(f->http, 200, NULL, PAGE);
    assert_int_equal(wc_configservice_history_page(cs, &s_query, NULL, &out, &err), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 5);
    assert_int_equal(f->n_sleeps, 1);
    assert_string_equal(out.ptr, PAGE);
    wc_buf_clean_up(&out);
    wc_aws_error_clean_up(&err);
    wc_configservice_destroy(cs);
}

/* --account: signed with that account's role, as CloudTrail lookups are */
static void test_page_account_role(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_sts_options so = {.aws = f->aws, .endpoint = "https://sts.eu-west-1.amazonaws.com",
                                .region = "eu-west-1"};
    struct wc_sts *sts = wc_sts_new(&so);
    struct wc_clock c = f->clock;
    struct wc_creds_options co = {.clock = &c, .assume_role_fn = wc_sts_assume_role,
                                  .assume_role_ctx = sts, .logger = f->logger};
    struct wc_creds_accounts *acc =
        wc_creds_accounts_new(f->creds, "arn:aws:iam::{account_id}:role/whochanged-reader", NULL,
                              NULL, &co);
    struct wc_configservice *cs = s_client(f, acc);
    struct wc_config_history_query q = s_query;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct wc_buf out = WC_BUF_INIT, b = WC_BUF_INIT;

    assert_non_null(sts);
    assert_non_null(acc);
    wc_test_read_ref("samples/sts/assume-role-response.wire.constructed.xml", &b);
    fake_http_add(f->http, "POST", STS_URL, 200, b.ptr);
    fake_http_add(f->http, "POST", CFG_URL, 200, PAGE);
    q.account_id = "210987654321";
    assert_int_equal(wc_configservice_history_page(cs, &q, NULL, &out, &err), WC_OK);
    assert_int_equal(fake_http_count(f->http, "POST", STS_URL), 1);
    assert_non_null(strstr(fake_http_request(f->http, 0)->body,
                           "arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fwhochanged-reader"));
    assert_non_null(strstr(aws_fixture_req_header(f, 1, "Authorization"),
                           "Credential=ASIA3EXAMPLEKEYID0777/"));
    assert_non_null(aws_fixture_req_header(f, 1, "X-Amz-Security-Token"));
    /* our own account (no --account): our own credentials, no STS */
    wc_buf_reset(&out);
    q.account_id = NULL;
    assert_int_equal(wc_configservice_history_page(cs, &q, NULL, &out, &err), WC_OK);
    assert_int_equal(fake_http_count(f->http, "POST", STS_URL), 1);
    assert_null(strstr(aws_fixture_req_header(f, 2, "Authorization"), "ASIA3EXAMPLEKEYID0777"));
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&out);
    wc_aws_error_clean_up(&err);
    wc_configservice_destroy(cs);
    wc_creds_accounts_destroy(acc);
    wc_sts_destroy(sts);
}

static const char *s_env_url(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "AWS_ENDPOINT_URL_CONFIG_SERVICE") == 0 ? "http://127.0.0.1:4566" : NULL;
}

static void test_endpoint(void **state)
{
    struct wc_env env = {s_env_url, NULL};
    struct wc_endpoint_override ov = {"config", "https://config.{region}.vpce.example"};
    char *url = NULL;

    (void)state;
    assert_int_equal(wc_endpoint_resolve("config", "eu-west-1", NULL, 0, &s_no_env, &url), WC_OK);
    assert_string_equal(url, "https://config.eu-west-1.amazonaws.com");
    free(url);
    assert_int_equal(wc_endpoint_resolve("config", "cn-north-1", NULL, 0, &s_no_env, &url),
                     WC_OK);
    assert_string_equal(url, "https://config.cn-north-1.amazonaws.com.cn");
    free(url);
    assert_int_equal(wc_endpoint_resolve("config", "eu-west-1", NULL, 0, &env, &url), WC_OK);
    assert_string_equal(url, "http://127.0.0.1:4566");
    free(url);
    /* the config file's endpoints.config first, {region} expanded */
    assert_int_equal(wc_endpoint_resolve("config", "eu-west-2", &ov, 1, &env, &url), WC_OK);
    assert_string_equal(url, "https://config.eu-west-2.vpce.example");
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body),
        cmocka_unit_test_setup_teardown(test_page_request_and_answer, setup,
                                        aws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_page_errors, setup, aws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_page_account_role, setup, aws_fixture_teardown),
        cmocka_unit_test(test_endpoint),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
