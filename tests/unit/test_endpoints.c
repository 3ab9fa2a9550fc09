/* Unit tests for aws/endpoints: precedence with a fake environment, the
 * standard endpoints per partition, region validation, S3 virtual hosts and
 * the region of SQS queue URLs. */
#include "tests/support/testutil.h"

#include <string.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "core/buf.h"
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
    assert_true(fe.lookups >= 2);
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
        {"https://sqs-fips.us-east-1.amazonaws.com/123456789012/q", "us-east-1"},
        {"https://sqs.eu-west-1.api.aws/123456789012/q", "eu-west-1"},
        {"https://sqs-fips.us-gov-east-1.api.aws/123456789012/q", "us-gov-east-1"},
        {"https://sqs.cn-north-1.api.amazonwebservices.com.cn/1/q", "cn-north-1"},
        {"https://sqs.eu-west-1.amazonaws.com.cn/1/q", NULL}, /* wrong partition */
        {"https://sqs.cn-north-1.api.aws/1/q", NULL},
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

/* ---- the resolver: settings, profile, templates ---- */

/* A fake profile view: {section or NULL, key, value} rows. */
struct s_row {
    const char *section, *key, *value;
};

static const char *s_fake_profile_get(void *ctx, const char *section, const char *key)
{
    const struct s_row *r = ctx;

    for (; r && r->key; r++)
        if (((!section && !r->section) || (section && r->section && !strcmp(section, r->section))) &&
            !strcmp(key, r->key))
            return r->value;
    return NULL;
}

static struct wc_endpoints *s_new(const char *const *pairs, const struct s_row *rows,
                                  const struct wc_endpoint_override *ov, size_t nov, char *err,
                                  size_t errlen)
{
    static struct s_fake_env fe;
    static struct wc_env env;
    static struct wc_aws_profile prof;
    struct wc_endpoints_options o = {ov, nov, &env, rows ? &prof : NULL};

    fe = (struct s_fake_env){pairs, 0};
    env = (struct wc_env){s_fake_getenv, &fe};
    prof = (struct wc_aws_profile){s_fake_profile_get, (void *)rows, "dev"};
    return wc_endpoints_new(&o, err, errlen);
}

static void s_expect(const struct wc_endpoints *e, const char *service, const char *region,
                     const char *want)
{
    char *url = NULL;
    int rc = wc_endpoints_resolve(e, service, region, &url);

    if (rc != WC_OK || !url || strcmp(url, want))
        fail_msg("%s %s: got %s (%s), want %s", service, region, url ? url : "NULL",
                 wc_strerror(rc), want);
    free(url);
}

/* Every row of botocore's answer for the standard endpoints (FIPS and
 * dual-stack, every partition): tests/data/endpoints/botocore-1.43.11.txt. */
static void test_standard_endpoints_match_botocore(void **state)
{
    struct wc_buf text = WC_BUF_INIT;
    char *save = NULL, *line;
    size_t rows = 0;

    (void)state;
    wc_test_read_data("endpoints/botocore-1.43.11.txt", &text);
    for (line = strtok_r(text.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char service[32], region[64], want[256];
        int fips, ds;
        const char *pairs[5] = {"AWS_USE_FIPS_ENDPOINT", NULL, "AWS_USE_DUALSTACK_ENDPOINT", NULL,
                                NULL};
        struct wc_endpoints *e;
        char *url = NULL;
        int rc;

        if (line[0] == '#')
            continue;
        assert_int_equal(sscanf(line, "%31s %63s %d %d %255s", service, region, &fips, &ds, want), 5);
        pairs[1] = fips ? "true" : "false";
        pairs[3] = ds ? "TRUE" : "False";
        assert_non_null(e = s_new(pairs, NULL, NULL, 0, NULL, 0));
        rc = wc_endpoints_resolve(e, service, region, &url);
        if (!strcmp(want, "UNSUPPORTED")) {
            if (rc != WC_ERR_UNSUPPORTED)
                fail_msg("%s: got %s (%s)", line, url ? url : "NULL", wc_strerror(rc));
        } else if (rc != WC_OK || strcmp(url, want)) {
            fail_msg("%s: got %s (%s)", line, url ? url : "NULL", wc_strerror(rc));
        }
        free(url);
        wc_endpoints_destroy(e);
        rows++;
    }
    assert_true(rows >= 190);
    wc_buf_clean_up(&text);
}

/* The SDKs' order: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the
 * profile's services section, the profile's endpoint_url; ours first. */
static void test_profile_services_precedence(void **state)
{
    static const struct s_row rows[] = {
        {NULL, "services", "local"},
        {NULL, "endpoint_url", "http://127.0.0.1:5000"},
        {"services local", "sqs.endpoint_url", "http://127.0.0.1:5001/"},
        {"services local", "sso_oidc.endpoint_url", "http://127.0.0.1:5002"},
        {"services other", "sts.endpoint_url", "http://127.0.0.1:5999"},
        {NULL, NULL, NULL},
    };
    static const char *const env_sts[] = {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:6001", NULL};
    static const char *const env_all[] = {"AWS_ENDPOINT_URL", "http://127.0.0.1:6000",
                                          "AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:6002", NULL};
    const struct wc_endpoint_override ov[] = {{"sqs", "http://127.0.0.1:7000"}};
    struct wc_endpoints *e;

    (void)state;
    assert_non_null(e = s_new(NULL, rows, NULL, 0, NULL, 0));
    s_expect(e, "sqs", "eu-west-1", "http://127.0.0.1:5001");            /* services section */
    assert_string_equal(wc_endpoints_source(e, "sqs"), "profile dev: services local");
    s_expect(e, "sso-oidc", "eu-west-1", "http://127.0.0.1:5002");
    s_expect(e, "cloudtrail", "eu-west-1", "http://127.0.0.1:5000");     /* endpoint_url */
    assert_string_equal(wc_endpoints_source(e, "cloudtrail"), "profile dev: endpoint_url");
    s_expect(e, "sts", "eu-west-1", "http://127.0.0.1:5000");            /* not "other" */
    wc_endpoints_destroy(e);

    assert_non_null(e = s_new(env_sts, rows, NULL, 0, NULL, 0));
    s_expect(e, "sts", "eu-west-1", "http://127.0.0.1:6001");
    s_expect(e, "sqs", "eu-west-1", "http://127.0.0.1:5001");
    wc_endpoints_destroy(e);

    /* the global variable beats the services section */
    assert_non_null(e = s_new(env_all, rows, ov, 1, NULL, 0));
    s_expect(e, "sqs", "eu-west-1", "http://127.0.0.1:7000");            /* ours first */
    assert_string_equal(wc_endpoints_source(e, "sqs"), "endpoints.sqs");
    s_expect(e, "sso-oidc", "eu-west-1", "http://127.0.0.1:6000");
    s_expect(e, "s3", "eu-west-1", "http://127.0.0.1:6000");
    assert_string_equal(wc_endpoints_source(e, "s3"), "AWS_ENDPOINT_URL");
    wc_endpoints_destroy(e);
}

static void test_ignore_configured_endpoint_urls(void **state)
{
    static const struct s_row rows[] = {
        {NULL, "services", "local"},
        {NULL, "endpoint_url", "http://127.0.0.1:5000"},
        {"services local", "sqs.endpoint_url", "http://127.0.0.1:5001"},
        {NULL, NULL, NULL},
    };
    static const struct s_row ignoring[] = {
        {NULL, "ignore_configured_endpoint_urls", "true"},
        {NULL, "endpoint_url", "http://127.0.0.1:5000"},
        {NULL, NULL, NULL},
    };
    static const char *const env_ignore[] = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true",
                                             "AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:6002", NULL};
    static const char *const env_dont[] = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", NULL};
    const struct wc_endpoint_override ov[] = {{"cloudtrail", "http://127.0.0.1:7000"}};
    struct wc_endpoints *e;

    (void)state;
    assert_non_null(e = s_new(env_ignore, rows, ov, 1, NULL, 0));
    s_expect(e, "sqs", "eu-west-1", "https://sqs.eu-west-1.amazonaws.com");
    assert_null(wc_endpoints_source(e, "sqs"));
    s_expect(e, "sts", "eu-west-1", "https://sts.eu-west-1.amazonaws.com");
    s_expect(e, "cloudtrail", "eu-west-1", "http://127.0.0.1:7000"); /* ours still applies */
    wc_endpoints_destroy(e);
    /* from the profile */
    assert_non_null(e = s_new(NULL, ignoring, NULL, 0, NULL, 0));
    s_expect(e, "sqs", "eu-west-1", "https://sqs.eu-west-1.amazonaws.com");
    wc_endpoints_destroy(e);
    /* the variable wins over the profile key */
    assert_non_null(e = s_new(env_dont, ignoring, NULL, 0, NULL, 0));
    s_expect(e, "sqs", "eu-west-1", "http://127.0.0.1:5000");
    wc_endpoints_destroy(e);
}

static void test_region_template(void **state)
{
    const struct wc_endpoint_override ov[] = {
        {"cloudtrail", "https://cloudtrail.{region}.example/"},
        {"sqs", "http://127.0.0.1:4566/{region}"},
        {"s3", "http://127.0.0.1:4566"},
    };
    const struct wc_endpoint_override bad[] = {{"sts", "https://sts.{regoin}.example"}};
    const struct wc_endpoint_override bad2[] = {{"sts", "https://sts.{region.example"}};
    const struct wc_endpoint_override unknown[] = {{"lambda", "https://x.example"}};
    struct wc_endpoints *e;
    char err[256];
    char *url = NULL;

    (void)state;
    assert_non_null(e = s_new(NULL, NULL, ov, 3, NULL, 0));
    s_expect(e, "cloudtrail", "us-east-1", "https://cloudtrail.us-east-1.example");
    s_expect(e, "cloudtrail", "eu-west-1", "https://cloudtrail.eu-west-1.example");
    s_expect(e, "sqs", "ap-southeast-2", "http://127.0.0.1:4566/ap-southeast-2");
    s_expect(e, "s3", "ap-southeast-2", "http://127.0.0.1:4566"); /* one URL for all */
    /* a region that is not one never reaches the template */
    assert_int_equal(wc_endpoints_resolve(e, "cloudtrail", "x/../y-1", &url), WC_ERR_INVALID);
    assert_null(url);
    wc_endpoints_destroy(e);
    /* the one-shot form expands too */
    assert_int_equal(wc_endpoint_resolve("sqs", "eu-west-1", ov, 3, NULL, &url), WC_OK);
    assert_string_equal(url, "http://127.0.0.1:4566/eu-west-1");
    free(url);

    assert_null(s_new(NULL, NULL, bad, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "endpoints.sts"));
    assert_null(s_new(NULL, NULL, bad2, 1, err, sizeof(err)));
    assert_null(s_new(NULL, NULL, unknown, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "lambda"));
    assert_true(wc_endpoint_url_template_ok("http://127.0.0.1:4566/{region}/{region}"));
    assert_false(wc_endpoint_url_template_ok("http://127.0.0.1:4566/{account}"));
    assert_false(wc_endpoint_url_template_ok("127.0.0.1:4566/{region}"));
    assert_false(wc_endpoint_url_template_ok(NULL));
}

static void test_bad_settings_refused(void **state)
{
    static const char *const bad_fips[] = {"AWS_USE_FIPS_ENDPOINT", "yes", NULL};
    static const char *const bad_url[] = {"AWS_ENDPOINT_URL_CLOUDTRAIL", "cloudtrail.local", NULL};
    static const struct s_row bad_ds[] = {{NULL, "use_dualstack_endpoint", "1"}, {NULL, NULL, NULL}};
    static const struct s_row bad_svc[] = {{NULL, "services", "s"},
                                           {"services s", "sts.endpoint_url", "ftp://x"},
                                           {NULL, NULL, NULL}};
    static const struct s_row fips_profile[] = {{NULL, "use_fips_endpoint", "TRUE"},
                                                {NULL, NULL, NULL}};
    static const char *const env_no_fips[] = {"AWS_USE_FIPS_ENDPOINT", "false", NULL};
    struct wc_endpoints *e;
    char err[256];

    (void)state;
    assert_null(s_new(bad_fips, NULL, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "AWS_USE_FIPS_ENDPOINT must be true or false, got 'yes'"));
    assert_null(s_new(NULL, bad_ds, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "profile dev: use_dualstack_endpoint must be true or false"));
    assert_null(s_new(bad_url, NULL, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "AWS_ENDPOINT_URL_CLOUDTRAIL"));
    assert_null(s_new(NULL, bad_svc, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "services s"));
    /* the profile's FIPS, and the variable over it */
    assert_non_null(e = s_new(NULL, fips_profile, NULL, 0, NULL, 0));
    assert_true(wc_endpoints_fips(e));
    s_expect(e, "cloudtrail", "eu-west-1", "https://cloudtrail-fips.eu-west-1.amazonaws.com");
    wc_endpoints_destroy(e);
    assert_non_null(e = s_new(env_no_fips, fips_profile, NULL, 0, NULL, 0));
    assert_false(wc_endpoints_fips(e));
    wc_endpoints_destroy(e);
}

static void test_s3_base(void **state)
{
    static const char *const fips[] = {"AWS_USE_FIPS_ENDPOINT", "true", NULL};
    static const char *const both[] = {"AWS_USE_FIPS_ENDPOINT", "true",
                                       "AWS_USE_DUALSTACK_ENDPOINT", "true", NULL};
    static const char *const ds[] = {"AWS_USE_DUALSTACK_ENDPOINT", "true", NULL};
    static const char *const custom[] = {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", NULL};
    static const struct {
        const char *const *env;
        const char *bucket, *region, *want;
        bool vhost;
    } rows[] = {
        {NULL, "cfg-bucket", "eu-west-1", "https://cfg-bucket.s3.eu-west-1.amazonaws.com", true},
        {fips, "cfg-bucket", "us-east-1", "https://cfg-bucket.s3-fips.us-east-1.amazonaws.com", true},
        {both, "cfg-bucket", "us-gov-west-1",
         "https://cfg-bucket.s3-fips.dualstack.us-gov-west-1.amazonaws.com", true},
        {ds, "cfg-bucket", "cn-north-1", "https://cfg-bucket.s3.dualstack.cn-north-1.amazonaws.com.cn",
         true},
        {ds, "my.dotted", "eu-west-1", "https://s3.dualstack.eu-west-1.amazonaws.com", false},
        {custom, "cfg-bucket", "eu-west-1", "http://127.0.0.1:9000", false},
    };
    struct wc_endpoints *e;
    char *url = NULL;
    bool vhost = true;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_non_null(e = s_new(rows[i].env, NULL, NULL, 0, NULL, 0));
        assert_int_equal(wc_endpoints_s3_base(e, rows[i].bucket, rows[i].region, &url, &vhost), WC_OK);
        if (strcmp(url, rows[i].want) || vhost != rows[i].vhost)
            fail_msg("row %zu: got %s (%d)", i, url, vhost);
        free(url);
        wc_endpoints_destroy(e);
    }
    assert_non_null(e = s_new(fips, NULL, NULL, 0, NULL, 0));
    assert_int_equal(wc_endpoints_s3_base(e, "cfg-bucket", "cn-north-1", &url, &vhost),
                     WC_ERR_UNSUPPORTED);
    assert_null(url);
    wc_endpoints_destroy(e);
}

/* ~/.aws/config through the credentials' parser (aws/credentials.h). */
struct s_file_env {
    const char *config_file, *profile;
};

static const char *s_file_getenv(void *ctx, const char *name)
{
    const struct s_file_env *fe = ctx;

    if (!strcmp(name, "AWS_CONFIG_FILE"))
        return fe->config_file;
    if (!strcmp(name, "AWS_PROFILE"))
        return fe->profile;
    return NULL;
}

static const char *s_shared_get(void *ctx, const char *section, const char *key)
{
    return wc_aws_shared_config_get(ctx, section, key);
}

static void test_shared_config_file(void **state)
{
    static const char text[] =
        "[default]\n"
        "region = eu-west-1\n"
        "[profile dev]\n"
        "services = local-services\n"
        "use_dualstack_endpoint = true\n"
        "s3 =\n"
        "  addressing_style = path\n"
        "[services local-services]\n"
        "# comment\n"
        "sqs =\n"
        "  endpoint_url = http://127.0.0.1:4566\n"
        "  # another\n"
        "cloudtrail =\n"
        "\tendpoint_url = http://127.0.0.1:4567/{region}\n"
        "[sso-session corp]\n"
        "sso_region = us-east-1\n";
    char path[] = "/tmp/wc-test-awsconfig-XXXXXX";
    int fd = mkstemp(path);
    struct s_file_env fe = {path, "dev"};
    struct wc_creds_options co = {.getenv_fn = s_file_getenv, .getenv_ctx = &fe};
    struct wc_aws_shared_config *f = NULL;
    struct wc_aws_profile prof;
    struct wc_env env = {s_file_getenv, &fe};
    struct wc_endpoints_options eo = {NULL, 0, &env, &prof};
    struct wc_endpoints *e;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    assert_int_equal(wc_aws_shared_config_load(&co, &f), WC_OK);
    assert_string_equal(wc_aws_shared_config_profile(f), "dev");
    assert_string_equal(wc_aws_shared_config_get(f, NULL, "services"), "local-services");
    assert_string_equal(wc_aws_shared_config_get(f, NULL, "s3.addressing_style"), "path");
    assert_null(wc_aws_shared_config_get(f, NULL, "region")); /* default's, not dev's */
    assert_string_equal(wc_aws_shared_config_get(f, "services local-services", "sqs.endpoint_url"),
                        "http://127.0.0.1:4566");
    prof = (struct wc_aws_profile){s_shared_get, f, wc_aws_shared_config_profile(f)};
    assert_non_null(e = wc_endpoints_new(&eo, NULL, 0));
    s_expect(e, "sqs", "eu-west-1", "http://127.0.0.1:4566");
    /* {region} is expanded in a configured URL too */
    s_expect(e, "cloudtrail", "eu-west-1", "http://127.0.0.1:4567/eu-west-1");
    s_expect(e, "sts", "eu-west-1", "https://sts.eu-west-1.api.aws"); /* dual-stack */
    wc_endpoints_destroy(e);
    wc_aws_shared_config_destroy(f);

    /* the default profile */
    fe.profile = NULL;
    assert_int_equal(wc_aws_shared_config_load(&co, &f), WC_OK);
    assert_string_equal(wc_aws_shared_config_get(f, NULL, "region"), "eu-west-1");
    wc_aws_shared_config_destroy(f);
    unlink(path);
    /* no file: no settings */
    assert_int_equal(wc_aws_shared_config_load(&co, &f), WC_OK);
    assert_null(wc_aws_shared_config_get(f, NULL, "region"));
    wc_aws_shared_config_destroy(f);
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
        cmocka_unit_test(test_standard_endpoints_match_botocore),
        cmocka_unit_test(test_profile_services_precedence),
        cmocka_unit_test(test_ignore_configured_endpoint_urls),
        cmocka_unit_test(test_region_template),
        cmocka_unit_test(test_bad_settings_refused),
        cmocka_unit_test(test_s3_base),
        cmocka_unit_test(test_shared_config_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
