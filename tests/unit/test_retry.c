/* Unit tests for aws/retry: classification table, backoff bounds with a
 * fixed random source, the retry quota (exhaustion, refund, cap), thread
 * safety of the quota, and clock-skew correction from a Date header. */
#include "tests/support/testutil.h"

#include <pthread.h>
#include <string.h>

#include "aws/aws_error.h"
#include "aws/retry.h"
#include "core/clock.h"
#include "core/err.h"

static void test_classify_table(void **state)
{
    static const struct {
        long status;
        const char *code, *msg;
        int transport_rc;
        enum wc_retry_class want;
    } cases[] = {
        /* transport failures */
        {0, NULL, NULL, WC_ERR_TIMEOUT, WC_RETRY_TIMEOUT},
        {0, NULL, NULL, WC_ERR_HTTP, WC_RETRY_TRANSIENT},
        {0, NULL, NULL, WC_ERR_TOO_LARGE, WC_RETRY_NO},
        {0, NULL, NULL, WC_ERR_INVALID, WC_RETRY_NO},
        /* success */
        {200, NULL, NULL, WC_OK, WC_RETRY_NO},
        /* CloudTrail throttles with HTTP 400 */
        {400, "ThrottlingException", "Rate exceeded", WC_OK, WC_RETRY_THROTTLE},
        {400, "RequestThrottled", NULL, WC_OK, WC_RETRY_THROTTLE},
        {503, "SlowDown", NULL, WC_OK, WC_RETRY_THROTTLE},
        {400, "PriorRequestNotComplete", NULL, WC_OK, WC_RETRY_THROTTLE},
        {429, "SomethingElse", NULL, WC_OK, WC_RETRY_THROTTLE},
        {429, NULL, NULL, WC_OK, WC_RETRY_THROTTLE},
        /* transient */
        {400, "RequestTimeout", NULL, WC_OK, WC_RETRY_TRANSIENT},
        {408, "RequestTimeoutException", NULL, WC_OK, WC_RETRY_TRANSIENT},
        {500, "InternalError", NULL, WC_OK, WC_RETRY_TRANSIENT},
        {502, NULL, NULL, WC_OK, WC_RETRY_TRANSIENT},
        {503, "ServiceUnavailable", NULL, WC_OK, WC_RETRY_TRANSIENT},
        {504, "504", NULL, WC_OK, WC_RETRY_TRANSIENT},
        {501, "NotImplemented", NULL, WC_OK, WC_RETRY_NO},
        /* clock skew */
        {403, "RequestTimeTooSkewed", "The difference ... is too large.", WC_OK, WC_RETRY_CLOCK_SKEW},
        {400, "RequestExpired", "Request has expired.", WC_OK, WC_RETRY_CLOCK_SKEW},
        {400, "InvalidSignatureException",
         "Signature expired: 20240501T120000Z is now earlier than 20240501T120500Z", WC_OK,
         WC_RETRY_CLOCK_SKEW},
        {403, "SignatureDoesNotMatch", "Signature expired: 20240501T120000Z ...", WC_OK,
         WC_RETRY_CLOCK_SKEW},
        {403, "SignatureDoesNotMatch", "The request signature we calculated does not match", WC_OK,
         WC_RETRY_NO},
        {400, "InvalidSignatureException", NULL, WC_OK, WC_RETRY_NO},
        {401, "AuthFailure", "AWS was not able to validate the provided access credentials", WC_OK,
         WC_RETRY_NO},
        {401, "AuthFailure", "Request has clock skew", WC_OK, WC_RETRY_CLOCK_SKEW},
        /* plain client errors */
        {400, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.",
         WC_OK, WC_RETRY_NO},
        {400, "InvalidTimeRangeException", NULL, WC_OK, WC_RETRY_NO},
        {403, "AccessDenied", NULL, WC_OK, WC_RETRY_NO},
        {400, "UnrecognizedClientException", NULL, WC_OK, WC_RETRY_NO},
        {400, "throttlingexception", NULL, WC_OK, WC_RETRY_NO}, /* codes are case-sensitive */
        {404, NULL, NULL, WC_OK, WC_RETRY_NO},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum wc_retry_class got = wc_retry_classify(cases[i].status, cases[i].code, cases[i].msg,
                                                    cases[i].transport_rc);
        if (got != cases[i].want)
            fail_msg("case %zu (%ld %s): got %s, want %s", i, cases[i].status,
                     cases[i].code ? cases[i].code : "-", wc_retry_class_name(got),
                     wc_retry_class_name(cases[i].want));
    }
}

static void test_classify_parsed_error(void **state)
{
    static const char body[] = "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}";
    static const char skew[] = "<Error><Code>RequestTimeTooSkewed</Code></Error>";
    struct wc_aws_error e = WC_AWS_ERROR_INIT;

    (void)state;
    /* CloudTrail's HTTP 400 throttle, end to end through the error parser */
    assert_int_equal(wc_aws_error_parse_parts(400, NULL, 0, body, strlen(body), &e), WC_OK);
    assert_int_equal(wc_retry_classify_error(&e, WC_OK), WC_RETRY_THROTTLE);
    wc_aws_error_clean_up(&e);
    assert_int_equal(wc_aws_error_parse_parts(403, NULL, 0, skew, strlen(skew), &e), WC_OK);
    assert_int_equal(wc_retry_classify_error(&e, WC_OK), WC_RETRY_CLOCK_SKEW);
    wc_aws_error_clean_up(&e);
    /* an empty 503 has the status as its code */
    assert_int_equal(wc_aws_error_parse_parts(503, NULL, 0, NULL, 0, &e), WC_OK);
    assert_int_equal(wc_retry_classify_error(&e, WC_OK), WC_RETRY_TRANSIENT);
    wc_aws_error_clean_up(&e);
    assert_int_equal(wc_retry_classify_error(NULL, WC_ERR_TIMEOUT), WC_RETRY_TIMEOUT);
    assert_int_equal(wc_retry_classify_error(NULL, WC_OK), WC_RETRY_NO);
}

static void test_throttling_code_list(void **state)
{
    /* aws-reference README gotcha 6 / botocore _THROTTLED_ERROR_CODES */
    static const char *codes[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException"};

    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_true(wc_retry_is_throttling_code(codes[i]));
        assert_int_equal(wc_retry_classify(400, codes[i], NULL, WC_OK), WC_RETRY_THROTTLE);
    }
    assert_false(wc_retry_is_throttling_code("KmsThrottled"));
    assert_false(wc_retry_is_throttling_code("Throttled"));
    assert_false(wc_retry_is_throttling_code(NULL));
}

/* A random source that returns a fixed value. */
static double s_fixed_rand(void *ctx)
{
    return *(double *)ctx;
}

static void test_backoff_bounds(void **state)
{
    double r = 0.999999;
    struct wc_retry_options o = {.max_attempts = 10, .rand01 = s_fixed_rand, .rand_ctx = &r};
    struct wc_retry_policy *p = wc_retry_policy_new(&o);
    int64_t d = -1;
    /* 1 s * 2^(attempt-1), capped at 20 s */
    static const int64_t caps[] = {0, 1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000, 20000};

    (void)state;
    assert_non_null(p);
    for (int a = 1; a < 10; a++) {
        assert_int_equal(wc_retry_backoff_cap_ms(p, a), caps[a]);
        r = 0.999999;
        assert_true(wc_retry_should(p, a, WC_RETRY_TRANSIENT, &d));
        assert_true(d <= caps[a] && d >= caps[a] - 1);
        r = 0.0;
        assert_true(wc_retry_should(p, a, WC_RETRY_THROTTLE, &d));
        assert_int_equal(d, 0);
        r = 0.5;
        assert_true(wc_retry_should(p, a, WC_RETRY_CLOCK_SKEW, &d));
        assert_int_equal(d, caps[a] / 2);
    }
    /* a misbehaving random source is clamped into [0, cap) */
    r = 7.0;
    assert_true(wc_retry_should(p, 2, WC_RETRY_TRANSIENT, &d));
    assert_true(d < 2000);
    r = -3.0;
    assert_true(wc_retry_should(p, 2, WC_RETRY_TRANSIENT, &d));
    assert_int_equal(d, 0);
    /* the huge attempt numbers do not overflow */
    assert_int_equal(wc_retry_backoff_cap_ms(p, 1000000), 20000);
    wc_retry_policy_destroy(p);
}

static void test_default_random_within_bounds(void **state)
{
    struct wc_retry_options o = {.max_attempts = 100, .quota_capacity = -1};
    struct wc_retry_policy *p = wc_retry_policy_new(&o);
    int64_t d, lo = INT64_MAX, hi = -1;

    (void)state;
    assert_non_null(p);
    for (int i = 0; i < 2000; i++) {
        assert_true(wc_retry_should(p, 3, WC_RETRY_TRANSIENT, &d));
        assert_true(d >= 0 && d < 4000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    /* full jitter: spread over the range, not a constant */
    assert_true(lo < 400);
    assert_true(hi > 3600);
    wc_retry_policy_destroy(p);
}

static void test_max_attempts(void **state)
{
    struct wc_retry_policy *p = wc_retry_policy_new(NULL);
    struct wc_retry_options o = {.max_attempts = 5};
    int64_t d;

    (void)state;
    assert_non_null(p);
    /* default: 3 attempts = 2 retries */
    assert_true(wc_retry_should(p, 1, WC_RETRY_TRANSIENT, &d));
    assert_true(wc_retry_should(p, 2, WC_RETRY_TRANSIENT, &d));
    assert_false(wc_retry_should(p, 3, WC_RETRY_TRANSIENT, &d));
    assert_int_equal(d, 0);
    assert_false(wc_retry_should(p, 1, WC_RETRY_NO, &d));
    assert_false(wc_retry_should(p, 0, WC_RETRY_TRANSIENT, &d));
    wc_retry_policy_destroy(p);

    p = wc_retry_policy_new(&o);
    assert_true(wc_retry_should(p, 4, WC_RETRY_THROTTLE, &d));
    assert_false(wc_retry_should(p, 5, WC_RETRY_THROTTLE, &d));
    wc_retry_policy_destroy(p);
    assert_false(wc_retry_should(NULL, 1, WC_RETRY_TRANSIENT, &d));
}

/* AWS_MAX_ATTEMPTS / AWS_RETRY_MODE (and the profile keys) as values. */
static void test_settings_parse(void **state)
{
    static const struct {
        const char *attempts, *mode;
        int rc, want_attempts;
        enum wc_retry_mode want_mode;
    } rows[] = {
        {NULL, NULL, WC_OK, 0, WC_RETRY_MODE_STANDARD},
        {"1", NULL, WC_OK, 1, WC_RETRY_MODE_STANDARD},
        {"10", "adaptive", WC_OK, 10, WC_RETRY_MODE_ADAPTIVE},
        {"20", "legacy", WC_OK, 20, WC_RETRY_MODE_LEGACY},
        {NULL, "standard", WC_OK, 0, WC_RETRY_MODE_STANDARD},
        {"0", NULL, WC_ERR_CONFIG, 0, 0},
        {"21", NULL, WC_ERR_CONFIG, 0, 0},
        {"-1", NULL, WC_ERR_CONFIG, 0, 0},
        {"3x", NULL, WC_ERR_CONFIG, 0, 0},
        {"", NULL, WC_ERR_CONFIG, 0, 0},
        {"99999999999999999999", NULL, WC_ERR_CONFIG, 0, 0},
        {NULL, "Standard", WC_ERR_CONFIG, 0, 0},
        {NULL, "fast", WC_ERR_CONFIG, 0, 0},
        {"3", "", WC_ERR_CONFIG, 0, 0},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct wc_retry_options o = {0};
        int rc;

        err[0] = '\0';
        rc = wc_retry_options_parse(rows[i].attempts, "AWS_MAX_ATTEMPTS", rows[i].mode,
                                    "profile dev: retry_mode", &o, err, sizeof(err));
        if (rc != rows[i].rc)
            fail_msg("row %zu: rc %d (%s)", i, rc, err);
        if (rc == WC_OK) {
            assert_int_equal(o.max_attempts, rows[i].want_attempts);
            assert_int_equal(o.mode, rows[i].want_mode);
        } else if (rows[i].attempts && !rows[i].mode) {
            assert_non_null(strstr(err, "AWS_MAX_ATTEMPTS must be a whole number from 1 to 20"));
        } else {
            assert_non_null(strstr(err, "profile dev: retry_mode must be standard, adaptive or "
                                        "legacy"));
        }
    }
}

/* legacy: 5 attempts by default and no quota; standard/adaptive: 3 and a
 * quota; an explicit max_attempts wins in every mode. */
static void test_modes(void **state)
{
    struct wc_retry_options lo = {.mode = WC_RETRY_MODE_LEGACY};
    struct wc_retry_options ao = {.mode = WC_RETRY_MODE_ADAPTIVE, .max_attempts = 2};
    struct wc_retry_options bad = {.mode = (enum wc_retry_mode)7};
    struct wc_retry_policy *p;
    int64_t d;

    (void)state;
    assert_non_null(p = wc_retry_policy_new(&lo));
    assert_int_equal(wc_retry_policy_mode(p), WC_RETRY_MODE_LEGACY);
    assert_int_equal(wc_retry_policy_max_attempts(p), 5);
    assert_int_equal(wc_retry_quota_available(p), -1);
    /* no quota: 200 retries in a row still pass */
    for (int i = 0; i < 200; i++)
        assert_true(wc_retry_should(p, 4, WC_RETRY_TIMEOUT, &d));
    assert_false(wc_retry_should(p, 5, WC_RETRY_TRANSIENT, &d));
    wc_retry_policy_destroy(p);

    assert_non_null(p = wc_retry_policy_new(&ao));
    assert_int_equal(wc_retry_policy_max_attempts(p), 2);
    assert_int_equal(wc_retry_quota_available(p), 500);
    assert_true(wc_retry_should(p, 1, WC_RETRY_THROTTLE, &d));
    assert_false(wc_retry_should(p, 2, WC_RETRY_THROTTLE, &d));
    wc_retry_policy_destroy(p);

    assert_null(wc_retry_policy_new(&bad));
    assert_string_equal(wc_retry_mode_name(WC_RETRY_MODE_ADAPTIVE), "adaptive");
}

static void test_quota_exhaustion_and_refund(void **state)
{
    struct wc_retry_options o = {.max_attempts = 3};
    struct wc_retry_policy *p = wc_retry_policy_new(&o);
    int64_t d;
    int retries = 0;

    (void)state;
    assert_non_null(p);
    assert_int_equal(wc_retry_quota_available(p), 500);
    assert_true(wc_retry_should(p, 1, WC_RETRY_TRANSIENT, &d));
    assert_int_equal(wc_retry_quota_available(p), 495);
    assert_true(wc_retry_should(p, 1, WC_RETRY_TIMEOUT, &d));
    assert_int_equal(wc_retry_quota_available(p), 485);
    /* a refused retry (max attempts) costs nothing */
    assert_false(wc_retry_should(p, 3, WC_RETRY_TRANSIENT, &d));
    assert_int_equal(wc_retry_quota_available(p), 485);
    /* drain: 485 / 5 = 97 more retries */
    while (wc_retry_should(p, 1, WC_RETRY_THROTTLE, &d) && retries < 1000)
        retries++;
    assert_int_equal(retries, 97);
    assert_int_equal(wc_retry_quota_available(p), 0);
    assert_false(wc_retry_should(p, 1, WC_RETRY_TRANSIENT, &d));
    /* refunds: 1 for a clean success, the retry's cost after a retry */
    wc_retry_on_success(p);
    assert_int_equal(wc_retry_quota_available(p), 1);
    assert_false(wc_retry_should(p, 1, WC_RETRY_TRANSIENT, &d));
    wc_retry_on_success_after_retry(p, WC_RETRY_TRANSIENT);
    assert_int_equal(wc_retry_quota_available(p), 6);
    /* a timeout retry needs 10 */
    assert_false(wc_retry_should(p, 1, WC_RETRY_TIMEOUT, &d));
    assert_true(wc_retry_should(p, 1, WC_RETRY_TRANSIENT, &d));
    assert_int_equal(wc_retry_quota_available(p), 1);
    wc_retry_on_success_after_retry(p, WC_RETRY_TIMEOUT);
    assert_int_equal(wc_retry_quota_available(p), 11);
    /* never above capacity */
    for (int i = 0; i < 1000; i++)
        wc_retry_on_success(p);
    assert_int_equal(wc_retry_quota_available(p), 500);
    wc_retry_policy_destroy(p);
}

static void test_quota_disabled(void **state)
{
    struct wc_retry_options o = {.max_attempts = 3, .quota_capacity = -1};
    struct wc_retry_policy *p = wc_retry_policy_new(&o);
    int64_t d;

    (void)state;
    for (int i = 0; i < 1000; i++)
        assert_true(wc_retry_should(p, 1, WC_RETRY_TIMEOUT, &d));
    wc_retry_policy_destroy(p);
}

struct s_drain {
    struct wc_retry_policy *p;
    int granted;
};

static void *s_drain_thread(void *arg)
{
    struct s_drain *t = arg;
    int64_t d;

    for (int i = 0; i < 200; i++)
        if (wc_retry_should(t->p, 1, WC_RETRY_TRANSIENT, &d))
            t->granted++;
    return NULL;
}

static void test_quota_shared_between_threads(void **state)
{
    struct wc_retry_options o = {.quota_capacity = 500};
    struct wc_retry_policy *p = wc_retry_policy_new(&o);
    struct s_drain t[4];
    pthread_t th[4];
    int total = 0;

    (void)state;
    for (int i = 0; i < 4; i++) {
        t[i] = (struct s_drain){p, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_drain_thread, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += t[i].granted;
    }
    /* exactly 500 / 5 retries in all, however the threads interleave */
    assert_int_equal(total, 100);
    assert_int_equal(wc_retry_quota_available(p), 0);
    wc_retry_policy_destroy(p);
}

static void test_http_date_parse(void **state)
{
    int64_t ms = 0;
    static const char *bad[] = {"", "Sun, 06 Nov 1994 08:49:37", "Sunday, 06-Nov-94 08:49:37 GMT",
                                "Sun Nov  6 08:49:37 1994", "Sun, 31 Feb 2024 08:49:37 GMT",
                                "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT",
                                "Sun, 06 Nov 1994 08:49:37 UTC", "Thu, 29 Feb 2023 00:00:00 GMT",
                                "Sun, 0x Nov 1994 08:49:37 GMT"};

    (void)state;
    assert_int_equal(wc_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &ms), WC_OK);
    assert_int_equal(ms, 784111777000LL);
    assert_int_equal(wc_http_date_parse("Wed, 01 May 2024 12:00:00 GMT", &ms), WC_OK);
    assert_int_equal(ms, 1714564800000LL);
    assert_int_equal(wc_http_date_parse("  Thu, 29 Feb 2024 23:59:59 GMT\r\n", &ms), WC_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wc_http_date_parse(bad[i], &ms) != WC_ERR_PARSE)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(wc_http_date_parse(NULL, &ms), WC_ERR_INVALID);
}

static int64_t s_pinned_now(void *ctx)
{
    return *(int64_t *)ctx;
}

static void test_clock_skew_update(void **state)
{
    int64_t local = 1714564800000LL; /* 2024-05-01T12:00:00Z */
    struct wc_clock base = {s_pinned_now, s_pinned_now, &local};
    struct wc_clock_skew skew;
    struct wc_clock signer;

    (void)state;
    wc_clock_skew_init(&skew, &base);
    signer = wc_clock_skew_clock(&skew);
    assert_int_equal(wc_clock_now_ms(&signer), local);
    /* our clock is 7 minutes slow: the server says 12:07:00 */
    assert_int_equal(wc_clock_skew_update(&skew, "Wed, 01 May 2024 12:07:00 GMT", local), WC_OK);
    assert_int_equal(wc_clock_skew_offset_ms(&skew), 7 * 60 * 1000);
    assert_int_equal(wc_clock_now_ms(&signer), local + 7 * 60 * 1000);
    /* the monotonic clock is not shifted */
    assert_int_equal(wc_clock_mono_ms(&signer), local);
    /* a fast clock gives a negative offset */
    assert_int_equal(wc_clock_skew_update(&skew, "Wed, 01 May 2024 11:50:00 GMT", local + 500), WC_OK);
    assert_int_equal(wc_clock_skew_offset_ms(&skew), -10 * 60 * 1000 - 500);
    /* garbage and absurd dates leave the offset alone */
    assert_int_equal(wc_clock_skew_update(&skew, "yesterday", local), WC_ERR_PARSE);
    assert_int_equal(wc_clock_skew_update(&skew, "Thu, 01 Jan 1970 00:00:00 GMT", local),
                     WC_ERR_INVALID);
    assert_int_equal(wc_clock_skew_offset_ms(&skew), -10 * 60 * 1000 - 500);
    assert_int_equal(wc_clock_skew_update(NULL, "Wed, 01 May 2024 12:07:00 GMT", local),
                     WC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_classify_parsed_error),
        cmocka_unit_test(test_throttling_code_list),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_default_random_within_bounds),
        cmocka_unit_test(test_max_attempts),
        cmocka_unit_test(test_settings_parse),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_quota_exhaustion_and_refund),
        cmocka_unit_test(test_quota_disabled),
        cmocka_unit_test(test_quota_shared_between_threads),
        cmocka_unit_test(test_http_date_parse),
        cmocka_unit_test(test_clock_skew_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
