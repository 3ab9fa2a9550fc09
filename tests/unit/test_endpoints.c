/* Unit tests for aws/endpoints: precedence with a fake environment, the
 * standard endpoints per partition, region validation, S3 virtual hosts and
 * the region of SQS queue URLs. */
#include "tests/support/testutil.h"

#include <string.h>

#include "aws/endpoints.h"
#include "core/err.h"

/* A fake environment: NULL-terminated name/value pairs. */
struct s_fake_env {
    const char *const *pairs;
    int lookups;
};

static const char *s_fake_getenv(void *ctx, const char *name)
{
    struct s_fake_env *e = ctx;

    e->lookups++;
    for (size_t i = 0; e->pairs && e->pairs[i]; i += 2)
        if (strcmp(e->pairs[i], name) == 0)
            return e->pairs[i + 1];
    return NULL;
}

static void s_expect_url(const char *service, const char *region,
                         const struct wc_endpoint_override *ov, size_t nov,
                         const char *const *pairs, const char *want)
{
    struct s_fake_env fe = {pairs, 0};
    struct wc_env env = {s_fake_getenv, &fe};
    char *url = NULL;

    assert_int_equal(wc_endpoint_resolve(service, region, ov, nov, &env, &url), WC_OK);
    assert_non_null(url);
    assert_string_equal(url, want);
    free(url);
}

static void test_standard_endpoints(void **state)
{
    (void)state;
    s_expect_url("sqs", "eu-west-1", NULL, 0, NULL, "https://sqs.eu-west-1.amazonaws.com");
    s_expect_url("cloudtrail", "us-east-1", NULL, 0, NULL, "https://cloudtrail.us-east-1.amazonaws.com");
    s_expect_url("sts", "ap-southeast-2", NULL, 0, NULL, "https://sts.ap-southeast-2.amazonaws.com");
    s_expect_url("s3", "eu-central-1", NULL, 0, NULL, "https://s3.eu-central-1.amazonaws.com");
    s_expect_url("sqs", "cn-north-1", NULL, 0, NULL, "https://sqs.cn-north-1.amazonaws.com.cn");
    s_expect_url("sts", "cn-northwest-1", NULL, 0, NULL, "https://sts.cn-northwest-1.amazonaws.com.cn");
    s_expect_url("cloudtrail", "us-gov-west-1", NULL, 0, NULL,
                 "https://cloudtrail.us-gov-west-1.amazonaws.com");
}

static void test_precedence(void **state)
{
    static const char *const both[] = {
        "AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9001",
        "AWS_ENDPOINT_URL", "http://127.0.0.1:9002/",
        NULL};
    static const char *const global_only[] = {"AWS_ENDPOINT_URL", "https://localhost:4566/", NULL};
    static const char *const empty_specific[] = {
        "AWS_ENDPOINT_URL_STS", "",
        "AWS_ENDPOINT_URL", "http://127.0.0.1:9002",
        NULL};
    const struct wc_endpoint_override ov[] = {
        {"cloudtrail", "http://127.0.0.1:7000"},
        {"sqs", "http://127.0.0.1:8000//"},
    };

    (void)state;
    /* config beats both env vars */
    s_expect_url("sqs", "eu-west-1", ov, 2, both, "http://127.0.0.1:8000");
    /* service env var beats the global one */
    s_expect_url("sqs", "eu-west-1", NULL, 0, both, "http://127.0.0.1:9001");
    /* an override for another service does not apply */
    s_expect_url("sts", "eu-west-1", ov, 2, both, "http://127.0.0.1:9002");
    s_expect_url("s3", "eu-west-1", NULL, 0, global_only, "https://localhost:4566");
    /* an empty variable counts as unset */
    s_expect_url("sts", "eu-west-1", NULL, 0, empty_specific, "http://127.0.0.1:9002");
    /* the config wins even when its service appears later in the list */
    s_expect_url("cloudtrail", "eu-west-1", ov, 2, both, "http://127.0.0.1:7000");
}

static void test_fake_env_is_used(void **state)
{
    struct s_fake_env fe = {NULL, 0};
    struct wc_env env = {s_fake_getenv, &fe};
    char *url = NULL;

    (void)state;
    /* even if the process has AWS_ENDPOINT_URL set, the fake (empty) env rules */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    assert_int_equal(wc_endpoint_resolve("sqs", "eu-west-1", NULL, 0, &env, &url), WC_OK);
    assert_string_equal(url, "https://sqs.eu-west-1.amazonaws.com");
    assert_int_equal(fe.lookups, 2);
    free(url);
    /* and a NULL env reads the process environment */
    assert_int_equal(wc_endpoint_resolve("sqs", "eu-west-1", NULL, 0, NULL, &url), WC_OK);
    assert_string_equal(url, "http://127.0.0.1:1");
    free(url);
    unsetenv("AWS_ENDPOINT_URL");
}

static void test_invalid_inputs(void **state)
{
    static const char *const bad_env[] = {"AWS_ENDPOINT_URL_SQS", "ftp://127.0.0.1/", NULL};
    struct s_fake_env fe = {bad_env, 0};
    struct wc_env env = {s_fake_getenv, &fe};
    const struct wc_endpoint_override bad_ov[] = {{"sts", "sts.example"}, {"s3", "http://a b"}};
    char *url = (char *)"sentinel";

    (void)state;
    assert_int_equal(wc_endpoint_resolve("sqs", "EU-WEST-1", NULL, 0, &env, &url), WC_ERR_INVALID);
    assert_null(url);
    assert_int_equal(wc_endpoint_resolve("sqs", "eu-west-1", NULL, 0, &env, &url), WC_ERR_INVALID);
    assert_int_equal(wc_endpoint_resolve("lambda", "eu-west-1", NULL, 0, &env, &url),
                     WC_ERR_INVALID);
    assert_int_equal(wc_endpoint_resolve("sts", "eu-west-1", bad_ov, 2, &env, &url), WC_ERR_INVALID);
    assert_int_equal(wc_endpoint_resolve("s3", "eu-west-1", bad_ov, 2, &env, &url), WC_ERR_INVALID);
    assert_int_equal(wc_endpoint_resolve(NULL, "eu-west-1", NULL, 0, &env, &url), WC_ERR_INVALID);
    assert_int_equal(wc_endpoint_resolve("sqs", NULL, NULL, 0, &env, &url), WC_ERR_INVALID);
    assert_int_equal(wc_endpoint_resolve("sqs", "eu-west-1", NULL, 0, &env, NULL), WC_ERR_INVALID);
    assert_null(url);
}

static void test_region_validation(void **state)
{
    static const char *good[] = {"us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1",
                                 "cn-north-1", "us-isob-east-1", "il-central-1", "eu-west-10"};
    static const char *bad[] = {"", "us", "us-east", "useast1", "us-east-1a", "US-EAST-1",
                                "us--east-1", "us-east-", "u-east-1", "us-east-1/../x",
                                "us.east-1", "-us-east-1", "us-east-1 ", "us-3ast-1",
                                "aws-global", "localhost"};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(wc_region_is_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wc_region_is_valid(bad[i]))
            fail_msg("region \"%s\" accepted", bad[i]);
    assert_false(wc_region_is_valid(NULL));
    assert_true(wc_region_is_china("cn-north-1"));
    assert_false(wc_region_is_china("us-east-1"));
}

static void test_s3_virtual_host(void **state)
{
    char *url = NULL;

    (void)state;
    assert_int_equal(wc_endpoint_s3_virtual_host("config-bucket-123", "eu-west-1", &url), WC_OK);
    assert_string_equal(url, "https://config-bucket-123.s3.eu-west-1.amazonaws.com");
    free(url);
    assert_int_equal(wc_endpoint_s3_virtual_host("cfg", "cn-north-1", &url), WC_OK);
    assert_string_equal(url, "https://cfg.s3.cn-north-1.amazonaws.com.cn");
    free(url);
    assert_int_equal(wc_endpoint_s3_virtual_host("my.dotted.bucket", "eu-west-1", &url),
                     WC_ERR_INVALID);
    assert_null(url);
    assert_int_equal(wc_endpoint_s3_virtual_host("ok-bucket", "nowhere", &url), WC_ERR_INVALID);
    assert_false(wc_s3_bucket_is_virtual_hostable("ab"));
    assert_false(wc_s3_bucket_is_virtual_hostable("Upper"));
    assert_false(wc_s3_bucket_is_virtual_hostable("-leading"));
    assert_false(wc_s3_bucket_is_virtual_hostable("trailing-"));
    assert_false(wc_s3_bucket_is_virtual_hostable("under_score"));
    assert_false(wc_s3_bucket_is_virtual_hostable(
        "a234567890123456789012345678901234567890123456789012345678901234"));
    assert_true(wc_s3_bucket_is_virtual_hostable(
        "a23456789012345678901234567890123456789012345678901234567890123"));
}

static void test_sqs_region_from_queue_url(void **state)
{
    static const struct {
        const char *url, *region;
    } cases[] = {
        {"https://sqs.eu-west-1.amazonaws.com/123456789012/config-changes", "eu-west-1"},
        {"https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"},
        {"https://sqs.us-gov-west-1.amazonaws.com/123456789012/q", "us-gov-west-1"},
        {"https://ap-southeast-2.queue.amazonaws.com/123456789012/q", "ap-southeast-2"},
        {"https://queue.amazonaws.com/123456789012/q", "us-east-1"},
        {"HTTPS://sqs.eu-west-1.amazonaws.com/1/q", "eu-west-1"},
        {"http://localhost:4566/000000000000/q", NULL},
        {"http://127.0.0.1:9324/queue/q", NULL},
        {"https://sqs.eu-west-1.example.com/1/q", NULL},
        {"https://sqs.amazonaws.com/1/q", NULL},
        {"https://sqs.not_a_region.amazonaws.com/1/q", NULL},
        {"https://evil.example/sqs.eu-west-1.amazonaws.com/1/q", NULL},
        {"ftp://sqs.eu-west-1.amazonaws.com/1/q", NULL},
        {"", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = wc_sqs_region_from_queue_url(cases[i].url);

        if (cases[i].region) {
            if (!r || strcmp(r, cases[i].region) != 0)
                fail_msg("%s: got %s, want %s", cases[i].url, r ? r : "NULL", cases[i].region);
        } else if (r) {
            fail_msg("%s: got %s, want NULL", cases[i].url, r);
        }
        free(r);
    }
    assert_null(wc_sqs_region_from_queue_url(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_endpoints),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_fake_env_is_used),
        cmocka_unit_test(test_invalid_inputs),
        cmocka_unit_test(test_region_validation),
        cmocka_unit_test(test_s3_virtual_host),
        cmocka_unit_test(test_sqs_region_from_queue_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
