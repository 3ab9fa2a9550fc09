/* Unit tests for core/ratelimit: token bucket timing with an injected clock. */
#include "tests/support/testutil.h"

#include <pthread.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/ratelimit.h"

static int64_t s_now;

static int64_t s_fake_now(void *ctx)
{
    (void)ctx;
    return s_now;
}

static struct wc_clock s_clock(void)
{
    return (struct wc_clock){s_fake_now, s_fake_now, NULL};
}

static void test_two_per_second(void **state)
{
    struct wc_clock c = s_clock();
    struct wc_ratelimit *rl = wc_ratelimit_new(2.0, 1.0, &c);

    (void)state;
    s_now = 1000000;
    assert_int_equal(wc_ratelimit_reserve(rl, "123456789012/eu-west-1"), 0);
    assert_int_equal(wc_ratelimit_reserve(rl, "123456789012/eu-west-1"), 500);
    assert_int_equal(wc_ratelimit_reserve(rl, "123456789012/eu-west-1"), 1000);
    /* another account-region has its own bucket */
    assert_int_equal(wc_ratelimit_reserve(rl, "123456789012/us-east-1"), 0);
    /* after the reserved slots pass, calls go at once again */
    s_now += 5000;
    assert_int_equal(wc_ratelimit_reserve(rl, "123456789012/eu-west-1"), 0);
    assert_int_equal(wc_ratelimit_reserve(rl, "123456789012/eu-west-1"), 500);
    /* 250 ms later the second slot is 250 ms away */
    s_now += 250;
    assert_int_equal(wc_ratelimit_reserve(rl, "123456789012/eu-west-1"), 750);
    wc_ratelimit_destroy(rl);
}

static void test_burst(void **state)
{
    struct wc_clock c = s_clock();
    struct wc_ratelimit *rl = wc_ratelimit_new(2.0, 3.0, &c);

    (void)state;
    s_now = 0;
    assert_int_equal(wc_ratelimit_reserve(rl, "k"), 0);
    assert_int_equal(wc_ratelimit_reserve(rl, "k"), 0);
    assert_int_equal(wc_ratelimit_reserve(rl, "k"), 0);
    assert_int_equal(wc_ratelimit_reserve(rl, "k"), 500);
    wc_ratelimit_destroy(rl);
}

static void test_sustained_rate_never_exceeded(void **state)
{
    struct wc_clock c = s_clock();
    struct wc_ratelimit *rl = wc_ratelimit_new(2.0, 1.0, &c);
    int64_t go[200];

    (void)state;
    s_now = 0;
    /* 200 callers arrive over 10 s; in any 1 s window at most 2 may go */
    for (int i = 0; i < 200; i++) {
        s_now = i * 50;
        go[i] = s_now + wc_ratelimit_reserve(rl, "k");
    }
    for (int i = 0; i + 2 < 200; i++)
        assert_true(go[i + 2] - go[i] >= 1000);
    wc_ratelimit_destroy(rl);
}

static void test_penalize_after_throttle(void **state)
{
    struct wc_clock c = s_clock();
    struct wc_ratelimit *rl = wc_ratelimit_new(2.0, 1.0, &c);

    (void)state;
    s_now = 0;
    assert_int_equal(wc_ratelimit_reserve(rl, "k"), 0);
    assert_int_equal(wc_ratelimit_penalize(rl, "k", 3000), WC_OK);
    assert_int_equal(wc_ratelimit_reserve(rl, "k"), 3000);
    assert_int_equal(wc_ratelimit_reserve(rl, "k"), 3500);
    wc_ratelimit_destroy(rl);
}

static void test_invalid(void **state)
{
    (void)state;
    assert_null(wc_ratelimit_new(0, 1, NULL));
    assert_null(wc_ratelimit_new(2, 0.5, NULL));
    assert_true(wc_ratelimit_reserve(NULL, "k") < 0);
    wc_ratelimit_destroy(NULL);
}

/* Review finding 14: keys come from messages; the table stays bounded and
 * a key in use keeps its schedule through a flood of others. */
static void test_keys_bounded(void **state)
{
    struct wc_clock c = s_clock();
    struct wc_ratelimit *rl = wc_ratelimit_new(2.0, 1.0, &c);
    char key[32];

    (void)state;
    s_now = 0;
    /* a busy key: 10 slots reserved, the last 4.5 s away */
    for (int i = 0; i < 10; i++)
        assert_int_equal(wc_ratelimit_reserve(rl, "111111111111/eu-west-1"), i * 500);
    /* 10,000 other keys at once (none idle): the table stays bounded */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "9%011d/eu-west-1", i);
        assert_int_equal(wc_ratelimit_reserve(rl, key), 0);
        assert_true(wc_ratelimit_keys(rl) <= WC_RATELIMIT_MAX_KEYS);
    }
    assert_int_equal(wc_ratelimit_keys(rl), WC_RATELIMIT_MAX_KEYS);
    /* the busy key was not the one forgotten: its next slot is still 5 s away */
    assert_int_equal(wc_ratelimit_reserve(rl, "111111111111/eu-west-1"), 5000);
    /* a recent key still has its reservation */
    snprintf(key, sizeof(key), "9%011d/eu-west-1", 9999);
    assert_int_equal(wc_ratelimit_reserve(rl, key), 500);
    /* later, every bucket is idle: the next new key, finding the table full,
     * drops them all (nothing lost: an idle bucket is a new one) */
    s_now += 60000;
    assert_int_equal(wc_ratelimit_reserve(rl, "new/eu-west-1"), 0);
    assert_int_equal(wc_ratelimit_keys(rl), 1);
    assert_int_equal(wc_ratelimit_reserve(rl, "111111111111/eu-west-1"), 0);
    assert_int_equal(wc_ratelimit_reserve(rl, "111111111111/eu-west-1"), 500);
    wc_ratelimit_destroy(rl);
}

struct thread_arg {
    struct wc_ratelimit *rl;
    int64_t waits[50];
};

static void *s_thread(void *p)
{
    struct thread_arg *a = p;

    for (int i = 0; i < 50; i++)
        a->waits[i] = wc_ratelimit_reserve(a->rl, "shared");
    return NULL;
}

static void test_threads_get_distinct_slots(void **state)
{
    struct wc_clock c = s_clock();
    struct wc_ratelimit *rl = wc_ratelimit_new(2.0, 1.0, &c);
    struct thread_arg args[4];
    pthread_t th[4];
    char seen[200] = {0};

    (void)state;
    s_now = 0;
    for (int i = 0; i < 4; i++) {
        args[i].rl = rl;
        assert_int_equal(pthread_create(&th[i], NULL, s_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* 200 reservations at a frozen clock: slots 0, 500, ..., 99500 each once */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 50; j++) {
            int64_t w = args[i].waits[j];
            assert_int_equal(w % 500, 0);
            assert_true(w / 500 < 200);
            assert_int_equal(seen[w / 500], 0);
            seen[w / 500] = 1;
        }
    wc_ratelimit_destroy(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_per_second),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_sustained_rate_never_exceeded),
        cmocka_unit_test(test_penalize_after_throttle),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_keys_bounded),
        cmocka_unit_test(test_threads_get_distinct_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
