/* Unit tests for the ledger port (core/ledger.h): the in-memory ledger
 * (wc_ledger_memory_new) and the state-file adapter
 * (store/statefile.h wc_statefile_ledger_open). */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/dedup.h"
#include "core/err.h"
#include "core/ledger.h"
#include "store/statefile.h"

struct fake_clock {
    int64_t now_ms;
};

static int64_t s_fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now_ms;
}

/* --- in memory --------------------------------------------------------------- */

static void test_memory_accepts_what_was_recorded(void **state)
{
    struct wc_ledger *l = wc_ledger_memory_new(0);

    (void)state;
    assert_non_null(l);
    assert_string_equal(l->vtable->name, "memory");
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    /* the pair, not either half */
    assert_false(wc_ledger_accepted(l, "slack#1", "ev-1/sg-1"));
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-1/sg-2"));
    /* recording twice is harmless */
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    /* bad arguments */
    assert_int_equal(wc_ledger_record(l, NULL, "x"), WC_ERR_INVALID);
    assert_int_equal(wc_ledger_record(l, "slack#0", NULL), WC_ERR_INVALID);
    assert_int_equal(wc_ledger_record(l, "", "x"), WC_ERR_INVALID);
    assert_false(wc_ledger_accepted(l, NULL, "ev-1/sg-1"));
    assert_false(wc_ledger_accepted(NULL, "slack#0", "ev-1/sg-1"));
    assert_int_equal(wc_ledger_record(NULL, "slack#0", "x"), WC_ERR_INVALID);
    wc_ledger_destroy(l);
    wc_ledger_destroy(NULL);
}

static void test_memory_entries_expire(void **state)
{
    struct wc_ledger *l = wc_ledger_memory_new(1); /* 1 ms, on the system clock */
    struct wc_ledger *d = wc_ledger_memory_new(-5); /* <= 0: the default (48 h) */
    struct timespec ts = {0, 20 * 1000 * 1000};

    (void)state;
    assert_non_null(l);
    assert_non_null(d);
    assert_int_equal(wc_ledger_record(l, "slack#0", "short"), WC_OK);
    assert_int_equal(wc_ledger_record(d, "slack#0", "long"), WC_OK);
    nanosleep(&ts, NULL);
    assert_false(wc_ledger_accepted(l, "slack#0", "short"));
    assert_true(wc_ledger_accepted(d, "slack#0", "long"));
    wc_ledger_destroy(l);
    wc_ledger_destroy(d);
}

/* The memory ledger has nothing beyond its memory: thorough is the same
 * check, through the port's fallback (no accepted_thorough of its own). */
static void test_memory_thorough_is_the_same(void **state)
{
    struct wc_ledger *l = wc_ledger_memory_new(0);

    (void)state;
    assert_null(l->vtable->accepted_thorough);
    assert_false(wc_ledger_accepted_thorough(l, "slack#0", "ev-1/sg-1"));
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_true(wc_ledger_accepted_thorough(l, "slack#0", "ev-1/sg-1"));
    assert_false(wc_ledger_accepted_thorough(l, "slack#1", "ev-1/sg-1"));
    assert_false(wc_ledger_accepted_thorough(l, NULL, "ev-1/sg-1"));
    assert_false(wc_ledger_accepted_thorough(NULL, "slack#0", "ev-1/sg-1"));
    wc_ledger_destroy(l);
}

/* Its memory is the default cap: the oldest pairs go, memory stays put. */
static void test_memory_ledger_is_capped(void **state)
{
    struct wc_ledger *l = wc_ledger_memory_new(0);
    char subj[48];

    (void)state;
    for (size_t i = 0; i <= WC_DEDUP_DEFAULT_MAX_ENTRIES; i++) {
        snprintf(subj, sizeof(subj), "ev-%zu/sg-%zu", i, i);
        assert_int_equal(wc_ledger_record(l, "slack#0", subj), WC_OK);
    }
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-0/sg-0"));
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    snprintf(subj, sizeof(subj), "ev-%zu/sg-%zu", WC_DEDUP_DEFAULT_MAX_ENTRIES,
             WC_DEDUP_DEFAULT_MAX_ENTRIES);
    assert_true(wc_ledger_accepted(l, "slack#0", subj));
    wc_ledger_destroy(l);
}

/* --- over the state file ------------------------------------------------------ */

struct fixture {
    char dir[64];
    char path[128];
    struct fake_clock fc;
    struct wc_clock clock;
};

static int s_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/wc-ledger-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, WC_STATEFILE_NAME);
    f->fc.now_ms = 1700000000000LL;
    f->clock = (struct wc_clock){s_fake_now, s_fake_now, &f->fc};
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    struct fixture *f = *state;
    char plain[128];

    snprintf(plain, sizeof(plain), "%s/plain", f->dir);
    unlink(plain);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct wc_ledger *s_open_cap(struct fixture *f, int64_t ttl_ms, size_t max_entries)
{
    char err[256] = "";
    struct wc_ledger *l = wc_statefile_ledger_open(f->dir, ttl_ms, max_entries, &f->clock, NULL,
                                                   err, sizeof(err));

    if (!l)
        fail_msg("open %s: %s", f->dir, err);
    return l;
}

static struct wc_ledger *s_open(struct fixture *f, int64_t ttl_ms)
{
    return s_open_cap(f, ttl_ms, 0);
}

static void test_statefile_ledger_is_durable(void **state)
{
    struct fixture *f = *state;
    struct wc_ledger *l = s_open(f, 0), *mem = wc_ledger_memory_new(0);
    struct wc_statefile *sf;
    struct wc_statefile_stats st;
    char err[256] = "";

    assert_string_equal(l->vtable->name, "statefile");
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_int_equal(wc_ledger_record(l, "web hook#1", "ev 2/odd\nid%"), WC_OK);
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    assert_false(wc_ledger_accepted(l, "slack#1", "ev-1/sg-1"));
    assert_int_equal(wc_ledger_record(l, "", "x"), WC_ERR_INVALID);
    /* the file behind it: two lines, each made durable */
    sf = wc_statefile_ledger_file(l);
    assert_non_null(sf);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.lines, 2);
    assert_int_equal(st.entries, 2);
    assert_true(st.fsyncs >= 2);
    assert_null(wc_statefile_ledger_file(mem));
    assert_null(wc_statefile_ledger_file(NULL));
    wc_ledger_destroy(mem);
    wc_ledger_destroy(l); /* closes the file */

    /* what the ledger recorded is in the file: the plain API reads it */
    sf = wc_statefile_open(f->dir, 0, 0, &f->clock, NULL, err, sizeof(err));
    assert_non_null(sf);
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-1/sg-1"));
    assert_true(wc_statefile_accepted(sf, "web hook#1", "ev 2/odd\nid%"));
    wc_statefile_close(sf);
    /* and so does a new ledger (a restart) */
    l = s_open(f, 0);
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    wc_ledger_destroy(l);
}

static void test_statefile_ledger_ttl(void **state)
{
    struct fixture *f = *state;
    struct wc_ledger *l = s_open(f, 1000), *other;

    assert_int_equal(wc_ledger_record(l, "slack#0", "old"), WC_OK); /* until t0+1000 */
    f->fc.now_ms += 600;
    assert_int_equal(wc_ledger_record(l, "slack#0", "young"), WC_OK); /* until t0+1600 */
    f->fc.now_ms += 500;
    assert_false(wc_ledger_accepted(l, "slack#0", "old"));
    assert_true(wc_ledger_accepted(l, "slack#0", "young"));
    /* a second ledger on the same directory (another worker) sees it */
    other = s_open(f, 1000);
    assert_true(wc_ledger_accepted(other, "slack#0", "young"));
    assert_false(wc_ledger_accepted(other, "slack#0", "old"));
    assert_int_equal(wc_ledger_record(other, "slack#1", "from-other"), WC_OK);
    assert_true(wc_ledger_accepted(l, "slack#1", "from-other"));
    wc_ledger_destroy(other);
    wc_ledger_destroy(l);
}

/* Through the port: the fast check forgets what left memory, the thorough
 * one asks the file. */
static void test_statefile_ledger_thorough(void **state)
{
    struct fixture *f = *state;
    struct wc_ledger *l = s_open_cap(f, 0, 2);
    struct wc_statefile_stats st;

    assert_non_null(l->vtable->accepted_thorough);
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-2/sg-2"), WC_OK);
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-3/sg-3"), WC_OK);
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    assert_true(wc_ledger_accepted_thorough(l, "slack#0", "ev-1/sg-1"));
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1")); /* back in memory */
    assert_false(wc_ledger_accepted_thorough(l, "slack#0", "ev-4/sg-4"));
    wc_statefile_get_stats(wc_statefile_ledger_file(l), &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.lines, 3);
    wc_ledger_destroy(l);
}

/* --- memory over 100,000 records ----------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define S_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_UNDER_ASAN 1
#endif
#endif

static long s_rss_kib(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(fp);
    return kib;
}

static double s_mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 accepted pairs through the state-file ledger (every one written
 * and fsynced; on tmpfs, since this is about memory, not disks): the RSS
 * after 20,000 and after 100,000 stays flat. Before, memory kept every pair
 * as strings (~210 bytes each: +17 MiB between the two). Prints the figures
 * for BENCHMARKS.md; under ASan (its own allocator) a shorter run, past the
 * cap, without the RSS figures asserted. */
struct shm_dir {
    char dir[64];
    char path[128];
};

static int s_shm_setup(void **state)
{
    struct shm_dir *d = calloc(1, sizeof(*d));

    if (!d)
        return -1;
    *state = d;
    snprintf(d->dir, sizeof(d->dir), "/dev/shm/wc-ledger-rss-XXXXXX");
    if (access("/dev/shm", W_OK) != 0 || !mkdtemp(d->dir))
        d->dir[0] = '\0'; /* the test skips */
    snprintf(d->path, sizeof(d->path), "%s/%s", d->dir, WC_STATEFILE_NAME);
    return 0;
}

static int s_shm_teardown(void **state)
{
    struct shm_dir *d = *state;

    if (d->dir[0]) {
        unlink(d->path);
        rmdir(d->dir);
    }
    free(d);
    return 0;
}

static void test_statefile_ledger_memory_flat(void **state)
{
    struct shm_dir *d = *state;
    char subj[96];
    struct wc_ledger *l;
    struct wc_statefile_stats st;
    char err[256] = "";
    long rss_20k = 0, rss_40k = 0, rss_100k = 0;
    double t0, t_rec, t_miss;
#ifdef S_UNDER_ASAN
    const int n = (int)WC_DEDUP_DEFAULT_MAX_ENTRIES + 2000; /* past the cap, to be quick */
#else
    const int n = 100000;
#endif

    if (!d->dir[0])
        skip();
    l = wc_statefile_ledger_open(d->dir, 0, 0, NULL, NULL, err, sizeof(err));
    if (!l)
        fail_msg("open %s: %s", d->dir, err);
    t0 = s_mono_s();
    for (int i = 0; i < n; i++) {
        snprintf(subj, sizeof(subj), "1b2c3d4e-0000-4000-8000-%012x/sg-%017x", i, i);
        if (wc_ledger_accepted(l, "slack#0", subj) ||
            wc_ledger_record(l, "slack#0", subj) != WC_OK)
            fail_msg("record %d", i);
        if (i + 1 == 20000)
            rss_20k = s_rss_kib();
        if (i + 1 == 40000) /* past the cap: from here on, nothing grows */
            rss_40k = s_rss_kib();
    }
    t_rec = s_mono_s() - t0;
    rss_100k = s_rss_kib();
    /* the first pair has long left memory: a thorough miss reads the file */
    snprintf(subj, sizeof(subj), "1b2c3d4e-0000-4000-8000-%012x/sg-%017x", 0, 0);
    assert_false(wc_ledger_accepted(l, "slack#0", subj));
    t0 = s_mono_s();
    assert_true(wc_ledger_accepted_thorough(l, "slack#0", subj));
    assert_false(wc_ledger_accepted_thorough(l, "slack#0", "never/recorded"));
    t_miss = (s_mono_s() - t0) / 2;
    wc_statefile_get_stats(wc_statefile_ledger_file(l), &st);
    assert_int_equal(st.lines, (size_t)n);
    assert_int_equal(st.entries, WC_DEDUP_DEFAULT_MAX_ENTRIES);
    print_message("ledger: %d records in %.1f s; VmRSS %ld KiB after 20,000, %ld after 40,000, "
                  "%ld after %d; %zu in memory, %llu evicted; a thorough look-up reading "
                  "the %zu-line file: %.0f ms\n",
                  n, t_rec, rss_20k, rss_40k, rss_100k, n, st.entries,
                  (unsigned long long)st.evictions, st.lines, t_miss * 1000);
#ifndef S_UNDER_ASAN
    /* the ring fills up to 32,768 entries (768 KiB) after the 20,000th: the
     * rest must be nothing */
    assert_true(rss_20k > 0 && rss_40k > 0 && rss_100k > 0);
    if (rss_100k - rss_20k > 1024)
        fail_msg("RSS grew by %ld KiB between 20,000 and %d records", rss_100k - rss_20k, n);
    if (rss_100k - rss_40k > 256)
        fail_msg("RSS grew by %ld KiB between 40,000 and %d records", rss_100k - rss_40k, n);
#endif
    wc_ledger_destroy(l);
}

static void test_statefile_ledger_open_fails(void **state)
{
    struct fixture *f = *state;
    char err[256] = "stale", file[128], below[192];
    FILE *fp;

    assert_null(wc_statefile_ledger_open("", 0, 0, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not set"));
    /* a state directory that cannot be made (below a plain file) */
    snprintf(file, sizeof(file), "%s/plain", f->dir);
    snprintf(below, sizeof(below), "%s/state", file);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    strcpy(err, "stale");
    assert_null(wc_statefile_ledger_open(below, 0, 0, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create"));
    assert_non_null(strstr(err, below));
    unlink(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_accepts_what_was_recorded),
        cmocka_unit_test(test_memory_entries_expire),
        cmocka_unit_test_setup_teardown(test_statefile_ledger_is_durable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_statefile_ledger_ttl, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_statefile_ledger_open_fails, s_setup, s_teardown),
        cmocka_unit_test(test_memory_thorough_is_the_same),
        cmocka_unit_test(test_memory_ledger_is_capped),
        cmocka_unit_test_setup_teardown(test_statefile_ledger_thorough, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_statefile_ledger_memory_flat, s_shm_setup,
                                        s_shm_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
