/* Unit tests for core/worker: the retry schedule, its deadline, receive
 * counts, and dedup subjects. */
#include "tests/support/testutil.h"

#include <string.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/worker.h"

#define CAPTURE 1714564770000LL

static const struct wc_schedule s_def = {30, 900, 300};

static void s_finding(struct wc_finding *f, enum wc_verdict v)
{
    memset(f, 0, sizeof(*f));
    f->verdict = v;
    f->is_change = true;
    f->change.account_id = (char *)"123456789012";
    f->change.resource_id = (char *)"sg-1";
    f->change.capture_time_ms = CAPTURE;
}

static void test_backoff_doubles_and_caps(void **state)
{
    (void)state;
    assert_int_equal(wc_worker_backoff_s(&s_def, 1), 30);
    assert_int_equal(wc_worker_backoff_s(&s_def, 2), 60);
    assert_int_equal(wc_worker_backoff_s(&s_def, 3), 120);
    assert_int_equal(wc_worker_backoff_s(&s_def, 4), 240);
    assert_int_equal(wc_worker_backoff_s(&s_def, 5), 300);
    assert_int_equal(wc_worker_backoff_s(&s_def, 50), 300);
    assert_int_equal(wc_worker_backoff_s(&s_def, 100000), 300);
}

static void test_plan_retries_until_deadline(void **state)
{
    struct wc_finding f;
    struct wc_plan p;

    (void)state;
    s_finding(&f, WC_VERDICT_UNATTRIBUTED);
    wc_worker_plan(&s_def, &f, 1, CAPTURE + 5000, &p);
    assert_int_equal(p.kind, WC_PLAN_RETRY);
    assert_int_equal(p.delay_s, 30);
    assert_int_equal(p.deadline_ms, CAPTURE + 900000);
    wc_worker_plan(&s_def, &f, 3, CAPTURE + 100000, &p);
    assert_int_equal(p.kind, WC_PLAN_RETRY);
    assert_int_equal(p.delay_s, 120);
    /* near the deadline the delay is clipped to it */
    wc_worker_plan(&s_def, &f, 6, CAPTURE + 750000, &p);
    assert_int_equal(p.kind, WC_PLAN_RETRY);
    assert_int_equal(p.delay_s, 150);
    wc_worker_plan(&s_def, &f, 6, CAPTURE + 899500, &p);
    assert_int_equal(p.delay_s, 1);
    /* at or past the deadline: deliver as unattributed */
    wc_worker_plan(&s_def, &f, 7, CAPTURE + 900000, &p);
    assert_int_equal(p.kind, WC_PLAN_DELIVER);
    /* an old change (a backlog) is never retried */
    wc_worker_plan(&s_def, &f, 1, CAPTURE + 86400000LL, &p);
    assert_int_equal(p.kind, WC_PLAN_DELIVER);
}

static void test_final_verdicts_deliver(void **state)
{
    struct wc_finding f;
    struct wc_plan p;
    static const enum wc_verdict vs[] = {WC_VERDICT_HUMAN, WC_VERDICT_AUTOMATION,
                                         WC_VERDICT_AWS_SERVICE, WC_VERDICT_IGNORED};

    (void)state;
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        s_finding(&f, vs[i]);
        wc_worker_plan(&s_def, &f, 1, CAPTURE, &p);
        assert_int_equal(p.kind, WC_PLAN_DELIVER);
    }
    s_finding(&f, WC_VERDICT_IGNORED);
    f.is_change = false;
    wc_worker_plan(&s_def, &f, 1, CAPTURE, &p);
    assert_int_equal(p.kind, WC_PLAN_DELIVER);
    assert_int_equal(p.deadline_ms, 0);
}

static void test_max_receives(void **state)
{
    struct wc_schedule s = {30, 900, 300};

    (void)state;
    /* 30, 60, 120, 240, 300, (150): seven receives in all */
    assert_int_equal(wc_worker_max_receives(&s), 7);
    s.retry_for_s = 0;
    assert_int_equal(wc_worker_max_receives(&s), 1);
    s.retry_for_s = 3600;
    assert_int_equal(wc_worker_max_receives(&s), 16);
}

static void test_max_receives_matches_plan(void **state)
{
    struct wc_finding f;
    struct wc_plan p;
    int64_t now = CAPTURE;
    int receives = 1;

    (void)state;
    /* simulate: each retry comes back exactly after its delay */
    s_finding(&f, WC_VERDICT_UNATTRIBUTED);
    for (;;) {
        wc_worker_plan(&s_def, &f, receives, now, &p);
        if (p.kind == WC_PLAN_DELIVER)
            break;
        now += (int64_t)p.delay_s * 1000;
        receives++;
    }
    assert_int_equal(receives, wc_worker_max_receives(&s_def));
    assert_true(now >= CAPTURE + 900000);
}

static void test_subjects(void **state)
{
    struct wc_finding f;
    struct wc_match m;
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    s_finding(&f, WC_VERDICT_UNATTRIBUTED);
    assert_int_equal(wc_worker_subject(&f, "m-1", &b), WC_OK);
    assert_string_equal(b.ptr, "ci/123456789012/sg-1@1714564770000");
    wc_buf_reset(&b);
    memset(&m, 0, sizeof(m));
    m.event.event_id = (char *)"ev-1";
    f.matches = &m;
    f.n_matches = 1;
    f.verdict = WC_VERDICT_HUMAN;
    assert_int_equal(wc_worker_subject(&f, "m-1", &b), WC_OK);
    assert_string_equal(b.ptr, "ev-1/sg-1");
    wc_buf_reset(&b);
    f.is_change = false;
    assert_int_equal(wc_worker_subject(&f, "m-1", &b), WC_OK);
    assert_string_equal(b.ptr, "msg/m-1");
    wc_buf_clean_up(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_and_caps),
        cmocka_unit_test(test_plan_retries_until_deadline),
        cmocka_unit_test(test_final_verdicts_deliver),
        cmocka_unit_test(test_max_receives),
        cmocka_unit_test(test_max_receives_matches_plan),
        cmocka_unit_test(test_subjects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
