/* Unit tests for core/dedup: the in-memory accepted set (capped ring of
 * hashes), its line format, and the 128-bit hash under it (core/hash128). */
#include "tests/support/testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/dedup.h"
#include "core/err.h"
#include "core/hash128.h"
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
    struct wc_dedup *d = wc_dedup_new(0, 0, &c);

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
    struct wc_dedup *d = wc_dedup_new(500, 0, &c);

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
    struct wc_dedup *d = wc_dedup_new(0, 0, &c);

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
    /* the key parse gives the key of the same pair, without the strings */
    {
        struct wc_dedup_key k = {0, 0}, want = wc_dedup_key_of(nid, subj);

        e2 = 0;
        assert_int_equal(wc_dedup_parse_line_key(wc_buf_str(&b), &k, &e2), WC_OK);
        assert_true(k.lo == want.lo && k.hi == want.hi);
        assert_int_equal(e2, exp);
    }
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
    {
        /* fields longer than the key parse's decoding window, escapes across it */
        char longer[1200];

        for (size_t i = 0; i < sizeof(longer) - 1; i++)
            longer[i] = i % 7 == 0 ? ' ' : (char)('a' + i % 26);
        longer[sizeof(longer) - 1] = '\0';
        s_round_trip(longer, longer + 3, 77);
    }
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
    struct wc_dedup_key key;
    int64_t e = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = wc_dedup_parse_line(wc_str_from_cstr(bad[i]), &n, &s, &e);

        if (rc != WC_ERR_PARSE)
            fail_msg("line %zu (\"%s\") accepted", i, bad[i]);
        assert_null(n);
        assert_null(s);
        /* the key parse refuses exactly the same lines */
        if (wc_dedup_parse_line_key(wc_str_from_cstr(bad[i]), &key, &e) != WC_ERR_PARSE)
            fail_msg("line %zu (\"%s\") accepted as a key", i, bad[i]);
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
    struct wc_dedup *d = wc_dedup_new(0, 100000, &c);
    char subj[64];

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
    /* inserts after everything expired take the room of the dead: no live
     * entry is evicted for them */
    fc.now_ms = 10000;
    for (int i = 0; i < 100000; i++) {
        snprintf(subj, sizeof(subj), "new-%d", i);
        assert_int_equal(wc_dedup_insert(d, "slack#0", subj, 20000), WC_OK);
    }
    assert_int_equal(wc_dedup_size(d), 100000);
    assert_int_equal(wc_dedup_prune(d), 0);
    assert_true(wc_dedup_contains(d, "slack#0", "new-0"));
    assert_true(wc_dedup_contains(d, "slack#0", "new-99999"));
    {
        struct wc_dedup_stats st;

        wc_dedup_get_stats(d, &st);
        assert_int_equal(st.evictions, 0);
    }
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
    struct wc_dedup *d = wc_dedup_new(0, 2 * S_THREADS * S_PER_THREAD, NULL); /* system clock */
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

/* --- the cap --------------------------------------------------------------------- */

static void s_put(struct wc_dedup *d, const char *subj, int64_t exp)
{
    assert_int_equal(wc_dedup_insert(d, "slack#0", subj, exp), WC_OK);
}

static bool s_has(struct wc_dedup *d, const char *subj)
{
    return wc_dedup_contains(d, "slack#0", subj);
}

static uint64_t s_evictions(struct wc_dedup *d)
{
    struct wc_dedup_stats st;

    wc_dedup_get_stats(d, &st);
    return st.evictions;
}

static void test_cap_evicts_oldest_first(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, 4, &c);

    (void)state;
    s_put(d, "a", 0);
    s_put(d, "b", 0);
    s_put(d, "c", 0);
    s_put(d, "d", 0);
    assert_int_equal(wc_dedup_size(d), 4);
    assert_int_equal(s_evictions(d), 0);
    s_put(d, "e", 0); /* full: a, the oldest, goes */
    assert_false(s_has(d, "a"));
    assert_true(s_has(d, "b") && s_has(d, "c") && s_has(d, "d") && s_has(d, "e"));
    assert_int_equal(s_evictions(d), 1);
    assert_int_equal(wc_dedup_size(d), 4);
    /* inserting a present pair keeps its place: b is still the oldest */
    s_put(d, "b", 0);
    assert_int_equal(s_evictions(d), 1);
    s_put(d, "f", 0);
    assert_false(s_has(d, "b"));
    assert_true(s_has(d, "c"));
    s_put(d, "g", 0);
    assert_false(s_has(d, "c"));
    assert_true(s_has(d, "d") && s_has(d, "e") && s_has(d, "f") && s_has(d, "g"));
    assert_int_equal(s_evictions(d), 3);
    /* an evicted pair comes back as the newest */
    s_put(d, "a", 0);
    assert_true(s_has(d, "a"));
    assert_false(s_has(d, "d"));
    wc_dedup_destroy(d);
}

/* The dead at the old end make room before anything live is evicted, and
 * are not counted as evictions. */
static void test_expired_go_before_live(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, 3, &c);
    struct wc_dedup_stats st;

    (void)state;
    s_put(d, "x", 1500);
    s_put(d, "y", 1600);
    s_put(d, "z", 9000);
    fc.now_ms = 2000;
    s_put(d, "w", 9000);
    /* x and y expired: both gone (not only the one needed), nothing evicted */
    assert_int_equal(wc_dedup_size(d), 2);
    assert_int_equal(s_evictions(d), 0);
    assert_true(s_has(d, "z") && s_has(d, "w"));
    s_put(d, "v", 9000);
    s_put(d, "u", 9000); /* full of live ones: z goes, counted */
    assert_false(s_has(d, "z"));
    assert_int_equal(s_evictions(d), 1);
    wc_dedup_get_stats(d, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.max_entries, 3);
    wc_dedup_destroy(d);
}

/* The index against a model (the last cap distinct keys), with keys made to
 * share a few home slots, runs wrapping round the end of the index: every
 * eviction's backward shift must keep every other key reachable. */
static void test_index_against_model(void **state)
{
    enum { CAP = 64, STEPS = 6000 };
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, CAP, &c);
    uint64_t next = 0;

    (void)state;
    for (int step = 0; step < STEPS; step++) {
        uint64_t newest;

        /* the index has 128 slots: homes 125, 126, 127, 0, 1 */
        assert_int_equal(wc_dedup_insert_key(d, (struct wc_dedup_key){125 + next % 5, next},
                                             9000),
                         WC_OK);
        newest = next++;
        if (step % 3 == 0 && newest >= 10) { /* present again: changes nothing */
            uint64_t k = newest - 10;

            assert_int_equal(wc_dedup_insert_key(d, (struct wc_dedup_key){125 + k % 5, k}, 0),
                             WC_OK);
        }
        assert_int_equal(wc_dedup_size(d), next < CAP ? next : CAP);
        for (uint64_t k = newest >= 2 * CAP ? newest - 2 * CAP : 0; k <= newest; k++) {
            bool want = newest - k < CAP;
            bool got = wc_dedup_contains_key(d, (struct wc_dedup_key){125 + k % 5, k});

            if (got != want)
                fail_msg("step %d: key %llu %s", step, (unsigned long long)k,
                         want ? "lost" : "still there");
        }
    }
    assert_int_equal(s_evictions(d), STEPS - CAP);
    /* same low half, other high half: another key */
    assert_false(wc_dedup_contains_key(d, (struct wc_dedup_key){125 + (next - 1) % 5, next + 7}));
    wc_dedup_destroy(d);
}

static void test_prune_keeps_order_and_index(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, 8, &c);
    char subj[16];

    (void)state;
    /* expiries out of insertion order: the dead are in the middle too */
    for (int i = 0; i < 8; i++) {
        snprintf(subj, sizeof(subj), "s%d", i);
        s_put(d, subj, i % 2 ? 1500 : 9000);
    }
    fc.now_ms = 2000;
    assert_int_equal(wc_dedup_size(d), 8);
    assert_int_equal(wc_dedup_prune(d), 4);
    assert_int_equal(wc_dedup_size(d), 4);
    for (int i = 0; i < 8; i++) {
        snprintf(subj, sizeof(subj), "s%d", i);
        assert_int_equal(s_has(d, subj), i % 2 == 0);
    }
    /* the order is kept: s0 is still the oldest, and goes first */
    for (int i = 8; i < 13; i++) {
        snprintf(subj, sizeof(subj), "s%d", i);
        s_put(d, subj, 9000);
    }
    assert_false(s_has(d, "s0"));
    assert_true(s_has(d, "s2") && s_has(d, "s4") && s_has(d, "s6") && s_has(d, "s12"));
    assert_int_equal(s_evictions(d), 1);
    assert_int_equal(wc_dedup_prune(d), 0);
    wc_dedup_destroy(d);
}

/* Memory is fixed at creation: small at the default cap, the same after
 * three times as many entries went through. */
static void test_memory_fixed_at_cap(void **state)
{
    struct fake_clock fc = {1000};
    struct wc_clock c = s_clock(&fc);
    struct wc_dedup *d = wc_dedup_new(0, 0, &c);
    struct wc_dedup_stats before, after;
    char subj[64];
    size_t cap;

    (void)state;
    wc_dedup_get_stats(d, &before);
    cap = before.max_entries;
    assert_int_equal(cap, WC_DEDUP_DEFAULT_MAX_ENTRIES);
    assert_true(before.memory_bytes <= 1536 * 1024);
    assert_true(before.memory_bytes >= cap * 24); /* it does hold them */
    for (size_t i = 0; i < 3 * cap; i++) {
        snprintf(subj, sizeof(subj), "a1b2c3d4-5678-90ab-cdef-%012zx/sg-%017zx", i, i);
        s_put(d, subj, 0);
    }
    wc_dedup_get_stats(d, &after);
    assert_int_equal(after.memory_bytes, before.memory_bytes);
    assert_int_equal(after.entries, cap);
    assert_int_equal(after.evictions, 2 * cap);
    snprintf(subj, sizeof(subj), "a1b2c3d4-5678-90ab-cdef-%012zx/sg-%017zx", 3 * cap - 1,
             3 * cap - 1);
    assert_true(s_has(d, subj));
    snprintf(subj, sizeof(subj), "a1b2c3d4-5678-90ab-cdef-%012zx/sg-%017zx", 2 * cap, 2 * cap);
    assert_true(s_has(d, subj));
    snprintf(subj, sizeof(subj), "a1b2c3d4-5678-90ab-cdef-%012zx/sg-%017zx", 2 * cap - 1,
             2 * cap - 1);
    assert_false(s_has(d, subj));
    wc_dedup_destroy(d);
    /* the limit, and the smallest cap */
    assert_null(wc_dedup_new(0, WC_DEDUP_MAX_ENTRIES_LIMIT + 1, &c));
    d = wc_dedup_new(0, 1, &c);
    assert_non_null(d);
    s_put(d, "one", 0);
    s_put(d, "two", 0);
    assert_false(s_has(d, "one"));
    assert_true(s_has(d, "two"));
    wc_dedup_destroy(d);
}

/* --- the hash -------------------------------------------------------------------- */

static void s_le(unsigned char *out, struct wc_hash128 h)
{
    for (int b = 0; b < 8; b++) {
        out[b] = (unsigned char)(h.lo >> (8 * b));
        out[8 + b] = (unsigned char)(h.hi >> (8 * b));
    }
}

/* SMHasher's verification for MurmurHash3_x64_128: hash the keys {},
 * {0}, {0,1}, ... {0..254} with seeds 256, 255, ... 1, hash the 4 KiB of
 * results with seed 0; the first 4 bytes, little-endian, are 0x6384BA69. */
static void test_hash_reference(void **state)
{
    unsigned char key[256], hashes[256 * 16], data[1000];
    struct wc_hash128 final, whole;
    uint32_t verification;

    (void)state;
    for (int i = 0; i < 256; i++) {
        key[i] = (unsigned char)i;
        s_le(hashes + i * 16, wc_hash128(key, (size_t)i, 256u - (unsigned)i));
    }
    final = wc_hash128(hashes, sizeof(hashes), 0);
    verification = (uint32_t)(final.lo & 0xffffffffu);
    assert_int_equal(verification, 0x6384BA69u);
    /* fed in pieces of any size, the same hash */
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 131 + 7);
    whole = wc_hash128(data, sizeof(data), 42);
    for (size_t a = 0; a < 40; a++) {
        for (size_t b = a; b < a + 40; b += 3) {
            struct wc_hash128_state st;
            struct wc_hash128 h;

            wc_hash128_init(&st, 42);
            wc_hash128_update(&st, data, a);
            wc_hash128_update(&st, data + a, 0);
            wc_hash128_update(&st, data + a, b - a);
            wc_hash128_update(&st, data + b, sizeof(data) - b);
            h = wc_hash128_final(&st);
            assert_true(h.lo == whole.lo && h.hi == whole.hi);
        }
    }
    /* the pair's boundary counts: ("ab", "c") is not ("a", "bc") */
    {
        struct wc_dedup_key x = wc_dedup_key_of("ab", "c"), y = wc_dedup_key_of("a", "bc");

        assert_false(x.lo == y.lo && x.hi == y.hi);
    }
}

static int s_cmp_key(const void *a, const void *b)
{
    const struct wc_dedup_key *x = a, *y = b;

    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return 0;
}

/* A million realistic pairs (event id / resource id, two notifiers, keys
 * one character apart): a million distinct keys. */
static void test_keys_distinct_million(void **state)
{
    enum { N = 1000000 };
    struct wc_dedup_key *keys = malloc(N * sizeof(*keys));
    char subj[96];
    size_t dup_lo = 0;

    (void)state;
    assert_non_null(keys);
    for (int i = 0; i < N; i++) {
        /* event ids counting up, resources repeating: neighbours differ by a bit */
        snprintf(subj, sizeof(subj), "1b2c3d4e-0000-4000-8000-%012x/sg-%017x", i / 2, i % 1000);
        keys[i] = wc_dedup_key_of(i % 2 ? "slack#0" : "slack#1", subj);
    }
    qsort(keys, N, sizeof(*keys), s_cmp_key);
    for (int i = 1; i < N; i++) {
        if (keys[i].lo == keys[i - 1].lo && keys[i].hi == keys[i - 1].hi)
            fail_msg("two pairs with one key: %016llx%016llx", (unsigned long long)keys[i].hi,
                     (unsigned long long)keys[i].lo);
    }
    /* the index uses the low half: well spread too (a collision of 64-bit
     * halves among a million is a 3e-8 event) */
    for (int i = 0; i < N; i++)
        keys[i].hi = 0;
    qsort(keys, N, sizeof(*keys), s_cmp_key);
    for (int i = 1; i < N; i++)
        dup_lo += keys[i].lo == keys[i - 1].lo;
    assert_int_equal(dup_lo, 0);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_contains),
        cmocka_unit_test(test_expiry_and_prune),
        cmocka_unit_test(test_insert_idempotent),
        cmocka_unit_test(test_line_round_trip),
        cmocka_unit_test(test_malformed_lines_rejected),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cap_evicts_oldest_first),
        cmocka_unit_test(test_expired_go_before_live),
        cmocka_unit_test(test_index_against_model),
        cmocka_unit_test(test_prune_keeps_order_and_index),
        cmocka_unit_test(test_memory_fixed_at_cap),
        cmocka_unit_test(test_hash_reference),
        cmocka_unit_test(test_keys_distinct_million),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
