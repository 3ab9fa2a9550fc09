/* Unit tests for core/dedup: the in-memory accepted set and its line format. */
#include "tests/support/testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/dedup.h"
#include "core/err.h"
#include "core/str.h"

struct fake_clock {
    int64_t now_ms;
};

static int64_t s_fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now_ms;
}

static struct wc_clock s_clock(struct fake_clock *fc)
{
    return (struct wc_clock){s_fake_now, s_fake_now, fc};
}

static void test_insert_contains(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, &c);

    (void)state;
    assert_non_null(d);
    assert_int_equal(wc_dedup_ttl_ms(d), WC_DEDUP_DEFAULT_TTL_MS);
    assert_false(wc_dedup_contains(d, "slack#0", "ev-1/res-1"));
    assert_int_equal(wc_dedup_insert(d, "slack#0", "ev-1/res-1", 5000), WC_OK);
    assert_true(wc_dedup_contains(d, "slack#0", "ev-1/res-1"));
    /* another notifier, another subject: not accepted */
    assert_false(wc_dedup_contains(d, "slack#1", "ev-1/res-1"));
    assert_false(wc_dedup_contains(d, "slack#0", "ev-1/res-2"));
    /* the pair is kept apart: no confusion through the separator */
    assert_int_equal(wc_dedup_insert(d, "a\x1f" "b", "c", 5000), WC_OK);
    assert_false(wc_dedup_contains(d, "a", "b\x1f" "c"));
    assert_true(wc_dedup_contains(d, "a\x1f" "b", "c"));
    /* invalid ids */
    assert_int_equal(wc_dedup_insert(d, "", "x", 5000), WC_ERR_INVALID);
    assert_int_equal(wc_dedup_insert(d, "n", NULL, 5000), WC_ERR_INVALID);
    assert_false(wc_dedup_contains(d, NULL, "x"));
    assert_int_equal(wc_dedup_size(d), 2);
    wc_dedup_destroy(d);
    wc_dedup_destroy(NULL);
}

static void test_expiry_and_prune(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(500, &c);

    (void)state;
    assert_int_equal(wc_dedup_insert(d, "n", "short", 2000), WC_OK);
    assert_int_equal(wc_dedup_insert(d, "n", "long", 9000), WC_OK);
    assert_int_equal(wc_dedup_insert(d, "n", "ttl", 0), WC_OK); /* now + 500 = 1500 */
    fc.now_ms = 1499;
    assert_true(wc_dedup_contains(d, "n", "ttl"));
    fc.now_ms = 1500;
    assert_false(wc_dedup_contains(d, "n", "ttl"));
    assert_true(wc_dedup_contains(d, "n", "short"));
    fc.now_ms = 2000; /* expires_ms is the first instant it is gone */
    assert_false(wc_dedup_contains(d, "n", "short"));
    assert_true(wc_dedup_contains(d, "n", "long"));
    assert_int_equal(wc_dedup_size(d), 3);
    assert_int_equal(wc_dedup_prune(d), 2);
    assert_int_equal(wc_dedup_size(d), 1);
    assert_int_equal(wc_dedup_prune(d), 0);
    assert_true(wc_dedup_contains(d, "n", "long"));
    /* an expired pair can be inserted again */
    assert_int_equal(wc_dedup_insert(d, "n", "short", 3000), WC_OK);
    assert_true(wc_dedup_contains(d, "n", "short"));
    wc_dedup_destroy(d);
}

static void test_insert_idempotent(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, &c);

    (void)state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(wc_dedup_insert(d, "webhook#2", "e/r", 5000), WC_OK);
    assert_int_equal(wc_dedup_size(d), 1);
    /* an earlier expiry does not shorten it, a later one extends it */
    assert_int_equal(wc_dedup_insert(d, "webhook#2", "e/r", 3000), WC_OK);
    fc.now_ms = 4000;
    assert_true(wc_dedup_contains(d, "webhook#2", "e/r"));
    assert_int_equal(wc_dedup_insert(d, "webhook#2", "e/r", 8000), WC_OK);
    fc.now_ms = 7000;
    assert_true(wc_dedup_contains(d, "webhook#2", "e/r"));
    assert_int_equal(wc_dedup_size(d), 1);
    wc_dedup_destroy(d);
}

struct collected {
    int n;
    int64_t sum_expires;
    bool saw_b;
};

static int s_collect(void *ctx, const char *nid, const char *subj, int64_t expires_ms)
{
    struct collected *c = ctx;

    c->n++;
    c->sum_expires += expires_ms;
    if (strcmp(nid, "n") == 0 && strcmp(subj, "b") == 0)
        c->saw_b = true;
    return WC_OK;
}

static int s_stop(void *ctx, const char *nid, const char *subj, int64_t expires_ms)
{
    (void)nid;
    (void)subj;
    (void)expires_ms;
    (*(int *)ctx)++;
    return WC_ERR_IO;
}

static void test_foreach_live_only(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, &c);
    struct collected col = {0};
    int calls = 0;

    (void)state;
    assert_int_equal(wc_dedup_insert(d, "n", "a", 1500), WC_OK);
    assert_int_equal(wc_dedup_insert(d, "n", "b", 3000), WC_OK);
    assert_int_equal(wc_dedup_insert(d, "n", "c", 4000), WC_OK);
    fc.now_ms = 2000;
    assert_int_equal(wc_dedup_foreach(d, s_collect, &col), WC_OK);
    assert_int_equal(col.n, 2);
    assert_int_equal(col.sum_expires, 7000);
    assert_true(col.saw_b);
    assert_int_equal(wc_dedup_foreach(d, s_stop, &calls), WC_ERR_IO);
    assert_int_equal(calls, 1);
    wc_dedup_destroy(d);
}

static void s_round_trip(const char *nid, const char *subj, int64_t exp)
{
    struct wc_buf b = WC_BUF_INIT;
    char *n2 = NULL, *s2 = NULL;
    int64_t e2 = 0;
    const char *nl;

    assert_int_equal(wc_dedup_format_line(nid, subj, exp, &b), WC_OK);
    /* exactly one newline, at the end, and exactly two spaces */
    nl = strchr(b.ptr, '\n');
    assert_non_null(nl);
    assert_int_equal(nl - b.ptr, (long)b.len - 1);
    assert_non_null(strchr(b.ptr, ' '));
    assert_null(strchr(strchr(strchr(b.ptr, ' ') + 1, ' ') + 1, ' '));
    assert_int_equal(wc_dedup_parse_line(wc_buf_str(&b), &n2, &s2, &e2), WC_OK);
    assert_string_equal(n2, nid);
    assert_string_equal(s2, subj);
    assert_int_equal(e2, exp);
    free(n2);
    free(s2);
    wc_buf_clean_up(&b);
}

static void test_line_round_trip(void **state)
{
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    s_round_trip("slack#0", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111/sg-0123456789abcdef0", 1700000000000LL);
    s_round_trip("web hook", "subject with spaces", 1);
    s_round_trip("n\nl", "line\nbreak\r\n", 0);
    s_round_trip("100%", "%41 is not A", 42);
    s_round_trip("tab\there", "arn:aws:iam::123456789012:role/x+y=z,@-_.~", 999999999999999999LL);
    s_round_trip("\x1f\x7f", "caf\xc3\xa9", 5);
    /* the encoding itself: readable where it can be */
    assert_int_equal(wc_dedup_format_line("slack#0", "a b%", 12, &b), WC_OK);
    assert_string_equal(b.ptr, "12 slack#0 a%20b%25\n");
    /* appends, does not overwrite */
    assert_int_equal(wc_dedup_format_line("x", "y", 3, &b), WC_OK);
    assert_string_equal(b.ptr, "12 slack#0 a%20b%25\n3 x y\n");
    assert_int_equal(wc_dedup_format_line("", "y", 3, &b), WC_ERR_INVALID);
    assert_int_equal(wc_dedup_format_line("x", "y", -1, &b), WC_ERR_INVALID);
    assert_string_equal(b.ptr, "12 slack#0 a%20b%25\n3 x y\n");
    wc_buf_clean_up(&b);
}

static void test_malformed_lines_rejected(void **state)
{
    static const char *bad[] = {
        "",
        "\n",
        "12",
        "12 n",
        "12 n ",
        "12  s",
        " 12 n s",
        "x12 n s",
        "-5 n s",
        "12 n s extra",
        "12 n s\n\n",
        "12 n s\r",
        "12\tn s",
        "12 n%2 s",
        "12 n%zz s",
        "12 n s%",
        "12 n%00 s",
        "1234567890123456789 n s", /* 19 digits: over the cap */
        "12 n\x01 s",
        "12 caf\xc3\xa9 s",
        "12 n s\x7f",
    };
    char *n = (char *)"sentinel", *s = (char *)"sentinel";
    int64_t e = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = wc_dedup_parse_line(wc_str_from_cstr(bad[i]), &n, &s, &e);

        if (rc != WC_ERR_PARSE)
            fail_msg("line %zu (\"%s\") accepted", i, bad[i]);
        assert_null(n);
        assert_null(s);
    }
    /* a valid line, without or with its newline */
    assert_int_equal(wc_dedup_parse_line(WC_STR_LIT("7 n s"), &n, &s, &e), WC_OK);
    assert_string_equal(n, "n");
    assert_string_equal(s, "s");
    assert_int_equal(e, 7);
    free(n);
    free(s);
    assert_int_equal(wc_dedup_parse_line(WC_STR_LIT("8 n%61 s\n"), &n, &s, &e), WC_OK);
    assert_string_equal(n, "na");
    assert_int_equal(e, 8);
    free(n);
    free(s);
    /* a line cut short (no subject) is not mistaken for a record */
    assert_int_equal(wc_dedup_parse_line(WC_STR_LIT("1700000000000 slack#0"), &n, &s, &e),
                     WC_ERR_PARSE);
    assert_int_equal(wc_dedup_parse_line(WC_STR_NULL, &n, &s, &e), WC_ERR_INVALID);
}

static void test_many_entries(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, &c);
    char subj[64];
    size_t size;

    (void)state;
    for (int i = 0; i < 100000; i++) {
        snprintf(subj, sizeof(subj), "ev-%d/res-%d", i, i * 7);
        /* half expire at 5000, half at 9000 */
        assert_int_equal(wc_dedup_insert(d, "slack#0", subj, i % 2 ? 5000 : 9000), WC_OK);
    }
    assert_int_equal(wc_dedup_size(d), 100000);
    for (int i = 0; i < 100000; i += 997) {
        snprintf(subj, sizeof(subj), "ev-%d/res-%d", i, i * 7);
        assert_true(wc_dedup_contains(d, "slack#0", subj));
        snprintf(subj, sizeof(subj), "ev-%d/res-%d", i, i * 7 + 1);
        assert_false(wc_dedup_contains(d, "slack#0", subj));
    }
    fc.now_ms = 6000;
    assert_int_equal(wc_dedup_prune(d), 50000);
    assert_int_equal(wc_dedup_size(d), 50000);
    assert_true(wc_dedup_contains(d, "slack#0", "ev-0/res-0"));
    assert_false(wc_dedup_contains(d, "slack#0", "ev-1/res-7"));
    /* inserts after everything expired reuse the room: size stays bounded */
    fc.now_ms = 10000;
    for (int i = 0; i < 100000; i++) {
        snprintf(subj, sizeof(subj), "new-%d", i);
        assert_int_equal(wc_dedup_insert(d, "slack#0", subj, 20000), WC_OK);
    }
    size = wc_dedup_size(d); /* read before the prune: argument order is unspecified */
    assert_true(size <= 100000 + 50000);
    assert_int_equal(wc_dedup_prune(d), size - 100000);
    assert_int_equal(wc_dedup_size(d), 100000);
    wc_dedup_destroy(d);
}

struct thread_arg {
    struct wc_dedup *d;
    int id;
    int missing;
};

#define S_THREADS 4
#define S_PER_THREAD 20000

static void *s_worker(void *p)
{
    struct thread_arg *a = p;
    char subj[64], other[64];

    for (int i = 0; i < S_PER_THREAD; i++) {
        snprintf(subj, sizeof(subj), "t%d/%d", a->id, i);
        if (wc_dedup_contains(a->d, "slack#0", subj))
            a->missing += 1000000; /* never inserted yet: must not be seen */
        if (wc_dedup_insert(a->d, "slack#0", subj, 0) != WC_OK ||
            !wc_dedup_contains(a->d, "slack#0", subj))
            a->missing++;
        /* look at a neighbour's keys too while it inserts */
        snprintf(other, sizeof(other), "t%d/%d", (a->id + 1) % S_THREADS, i);
        (void)wc_dedup_contains(a->d, "slack#0", other);
        if (i % 1000 == 0)
            (void)wc_dedup_prune(a->d);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct wc_dedup *d = wc_dedup_new(0, NULL); /* system clock */
    pthread_t th[S_THREADS];
    struct thread_arg args[S_THREADS];
    char subj[64];

    (void)state;
    for (int i = 0; i < S_THREADS; i++) {
        args[i] = (struct thread_arg){d, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_worker, &args[i]), 0);
    }
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].missing, 0);
    }
    assert_int_equal(wc_dedup_size(d), S_THREADS * S_PER_THREAD);
    for (int t = 0; t < S_THREADS; t++) {
        for (int i = 0; i < S_PER_THREAD; i += 101) {
            snprintf(subj, sizeof(subj), "t%d/%d", t, i);
            assert_true(wc_dedup_contains(d, "slack#0", subj));
        }
    }
    wc_dedup_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_contains),
        cmocka_unit_test(test_expiry_and_prune),
        cmocka_unit_test(test_insert_idempotent),
        cmocka_unit_test(test_foreach_live_only),
        cmocka_unit_test(test_line_round_trip),
        cmocka_unit_test(test_malformed_lines_rejected),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
