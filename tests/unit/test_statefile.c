/* Unit tests for store/statefile: the worker's durable "already accepted" log.
 *
 * The module is compiled into this test directly, to reach its internals
 * (its definitions win over the library's copy, which is then not linked). */
#include "tests/support/testutil.h"

#include "store/statefile.c" /* reaches its internals too */

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

struct fake_clock {
    int64_t now_ms;
};

static int64_t s_fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now_ms;
}

struct fixture {
    char root[64];  /* mkdtemp */
    char dir[128];  /* root/state/sub: created by open */
    char path[192]; /* dir/accepted.log */
    struct fake_clock fc;
    struct wc_clock clock;
    struct wc_buf log;
    struct wc_logger *logger;
};

static void s_capture(void *ctx, const char *line, size_t len)
{
    struct wc_buf *b = ctx;

    wc_buf_append(b, line, len);
    wc_buf_append_char(b, '\n');
}

static int s_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wc_logger_options lo = {.level = WC_LOG_DEBUG, .write = s_capture};

    if (!f)
        return -1;
    snprintf(f->root, sizeof(f->root), "/tmp/wc-statefile-XXXXXX");
    if (!mkdtemp(f->root)) {
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "%s/state/sub", f->root);
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, WC_STATEFILE_NAME);
    f->fc.now_ms = 1700000000000LL;
    f->clock = (struct wc_clock){s_fake_now, s_fake_now, &f->fc};
    lo.write_ctx = &f->log;
    f->logger = wc_logger_new(&lo);
    *state = f;
    return f->logger ? 0 : -1;
}

static void s_rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char sub[512];

    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        if ((d = opendir(path)) != NULL) {
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
                s_rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int s_teardown(void **state)
{
    struct fixture *f = *state;

    s_rm_rf(f->root);
    wc_logger_destroy(f->logger);
    wc_buf_clean_up(&f->log);
    free(f);
    return 0;
}

/* Open with at most max_entries in memory (0: the default). */
static struct wc_statefile *s_open_cap(struct fixture *f, int64_t ttl_ms, size_t max_entries)
{
    char err[256] = "";
    struct wc_statefile *sf = wc_statefile_open(f->dir, ttl_ms, max_entries, &f->clock,
                                                f->logger, err, sizeof(err));

    if (!sf)
        fail_msg("open %s: %s", f->dir, err);
    return sf;
}

static struct wc_statefile *s_open(struct fixture *f, int64_t ttl_ms)
{
    return s_open_cap(f, ttl_ms, 0);
}

static off_t s_file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static size_t s_count_lines(const char *path)
{
    struct wc_buf b = WC_BUF_INIT;
    size_t n = 0;

    wc_test_read_file(path, &b);
    for (size_t i = 0; i < b.len; i++)
        n += b.ptr[i] == '\n';
    wc_buf_clean_up(&b);
    return n;
}

static void s_append_raw(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void test_record_survives_reopen(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct wc_statefile_stats st;
    struct stat sb;

    /* created with tight modes */
    assert_int_equal(stat(f->dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    assert_false(wc_statefile_accepted(sf, "slack#0", "ev-1/sg-1"));
    assert_int_equal(wc_statefile_record(sf, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_int_equal(wc_statefile_record(sf, "web hook#1", "ev 2/odd\nid%"), WC_OK);
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-1/sg-1"));
    assert_int_equal(wc_statefile_record(sf, "", "x"), WC_ERR_INVALID);
    {
        /* a subject so long its line could not be read back is refused */
        char *huge = malloc(S_MAX_LINE);

        assert_non_null(huge);
        memset(huge, 'r', S_MAX_LINE - 1);
        huge[S_MAX_LINE - 1] = '\0';
        assert_int_equal(wc_statefile_record(sf, "slack#0", huge), WC_ERR_TOO_LARGE);
        free(huge);
    }
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.lines, 2);
    /* the crash between "posted" and "deleted": nothing but the file survives */
    wc_statefile_close(sf);
    assert_int_equal(s_count_lines(f->path), 2);

    sf = s_open(f, 0);
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-1/sg-1"));
    assert_true(wc_statefile_accepted(sf, "web hook#1", "ev 2/odd\nid%"));
    assert_false(wc_statefile_accepted(sf, "slack#1", "ev-1/sg-1"));
    assert_false(wc_statefile_accepted(sf, "slack#0", "ev-1/sg-2"));
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.malformed, 0);
    wc_statefile_close(sf);
    wc_statefile_close(NULL);
}

/* Disk full between "posted" and "recorded": the pair is remembered in
 * memory, and the next record() of it writes it (the worker calls record()
 * again before deleting a message already accepted); a record() of a pair
 * already written writes nothing. */
static void test_failed_record_written_later(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct rlimit old, tight;
    void (*prev)(int);

    assert_int_equal(wc_statefile_record(sf, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_int_equal(s_count_lines(f->path), 1);
    /* again: durable already, nothing written */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_int_equal(s_count_lines(f->path), 1);
    /* no room for one more byte: the write fails (EFBIG, as ENOSPC would) */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    prev = signal(SIGXFSZ, SIG_IGN);
    tight = old;
    tight.rlim_cur = (rlim_t)s_file_size(f->path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &tight), 0);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "ev-2/sg-2"), WC_ERR_IO);
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-2/sg-2")); /* never posted again */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "ev-2/sg-2"), WC_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    /* space is back: the next record() of it writes it */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "ev-2/sg-2"), WC_OK);
    wc_statefile_close(sf);
    sf = s_open(f, 0);
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-2/sg-2"));
    wc_statefile_close(sf);
}

static void test_expired_dropped_on_reopen(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 500);
    struct wc_statefile_stats st;
    int64_t t0 = f->fc.now_ms;

    assert_int_equal(wc_statefile_record(sf, "slack#0", "old"), WC_OK); /* until t0+500 */
    f->fc.now_ms = t0 + 200;
    assert_int_equal(wc_statefile_record(sf, "slack#0", "young"), WC_OK); /* until t0+700 */
    f->fc.now_ms = t0 + 600;
    assert_false(wc_statefile_accepted(sf, "slack#0", "old"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "young"));
    wc_statefile_close(sf);

    sf = s_open(f, 500);
    assert_false(wc_statefile_accepted(sf, "slack#0", "old"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "young"));
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.entries, 1); /* the expired line was not loaded */
    assert_int_equal(st.lines, 2);
    f->fc.now_ms = t0 + 700;
    assert_false(wc_statefile_accepted(sf, "slack#0", "young"));
    wc_statefile_close(sf);
}

static size_t s_count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay ? strstr(hay, needle) : NULL; p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_truncated_and_malformed_lines(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct wc_statefile_stats st;
    struct wc_buf b = WC_BUF_INIT;
    char *big = malloc(100000); /* an over-long line, longer than a read */
    int64_t exp = f->fc.now_ms + 10000;

    wc_statefile_close(sf);
    assert_int_equal(wc_dedup_format_line("slack#0", "good-1", exp, &b), WC_OK);
    assert_int_equal(wc_buf_appendf(&b, "garbage line\n"), WC_OK);
    assert_non_null(big);
    memset(big, 'x', 100000 - 1);
    big[100000 - 1] = '\n';
    assert_int_equal(wc_buf_append(&b, big, 100000), WC_OK);
    free(big);
    assert_int_equal(wc_dedup_format_line("slack#0", "good-2", exp, &b), WC_OK);
    /* a crash mid-write: the last record is cut short, with no newline */
    assert_int_equal(wc_buf_appendf(&b, "%lld slack#0 cut-sh", (long long)exp), WC_OK);
    s_append_raw(f->path, b.ptr, b.len);
    wc_buf_clean_up(&b);

    wc_buf_reset(&f->log);
    sf = s_open(f, 0);
    assert_true(wc_statefile_accepted(sf, "slack#0", "good-1"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "good-2"));
    assert_false(wc_statefile_accepted(sf, "slack#0", "cut-sh"));
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.malformed, 2);
    assert_int_equal(st.entries, 2);
    /* one warning for the load, naming the count */
    assert_int_equal(s_count(f->log.ptr, "malformed"), 1);
    assert_non_null(strstr(f->log.ptr, "skipped 2 malformed"));

    /* the next record is not glued onto the cut line */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "after-crash"), WC_OK);
    wc_statefile_close(sf);
    sf = s_open(f, 0);
    assert_true(wc_statefile_accepted(sf, "slack#0", "after-crash"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "good-1"));
    assert_false(wc_statefile_accepted(sf, "slack#0", "cut-sh"));
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.malformed, 3); /* the cut line, now ended, is malformed */
    assert_int_equal(st.entries, 3);
    wc_statefile_close(sf);
}

/* Whatever prefix of a record a crash leaves, the mark written after it
 * makes the line malformed: a cut never reads as a (different) record. */
static void test_cut_mark_spoils_every_prefix(void **state)
{
    struct wc_buf line = WC_BUF_INIT, cut = WC_BUF_INIT;
    char *n = NULL, *s = NULL;
    int64_t e = 0;

    (void)state;
    assert_int_equal(wc_dedup_format_line("slack#0", "ev 1/sg-1%", 1700000000000LL, &line),
                     WC_OK);
    for (size_t len = 1; len < line.len; len++) { /* every prefix without its '\n' */
        wc_buf_reset(&cut);
        assert_int_equal(wc_buf_append(&cut, line.ptr, len), WC_OK);
        assert_int_equal(wc_buf_append_cstr(&cut, S_CUT_MARK), WC_OK);
        if (wc_dedup_parse_line(wc_buf_str(&cut), &n, &s, &e) != WC_ERR_PARSE)
            fail_msg("prefix %zu read as a record: %s", len, cut.ptr);
    }
    /* without the mark, some prefixes would have passed */
    assert_int_equal(wc_dedup_parse_line((struct wc_str){line.ptr, line.len - 4}, &n, &s, &e),
                     WC_OK);
    free(n);
    free(s);
    wc_buf_clean_up(&line);
    wc_buf_clean_up(&cut);
}

/* Write n lines for "notifier" expiring at exp straight into the log. */
static void s_prefill(struct fixture *f, const char *prefix, int n, int64_t exp)
{
    struct wc_buf b = WC_BUF_INIT;
    char subj[64];

    for (int i = 0; i < n; i++) {
        snprintf(subj, sizeof(subj), "%s-%d", prefix, i);
        assert_int_equal(wc_dedup_format_line("slack#0", subj, exp, &b), WC_OK);
    }
    s_append_raw(f->path, b.ptr, b.len);
    wc_buf_clean_up(&b);
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every line of the file parses, names slack#0 and a "live-" subject,
 * once, and has not expired; want of them. */
static void s_check_file_live_only(struct fixture *f, int want)
{
    struct wc_buf b = WC_BUF_INIT;
    char **subjects = calloc((size_t)want + 1, sizeof(*subjects));
    int n = 0;
    size_t start = 0;

    assert_non_null(subjects);
    wc_test_read_file(f->path, &b);
    for (size_t i = 0; i < b.len; i++) {
        char *nid = NULL, *subj = NULL;
        int64_t e = 0;

        if (b.ptr[i] != '\n')
            continue;
        assert_int_equal(wc_dedup_parse_line((struct wc_str){b.ptr + start, i - start}, &nid,
                                             &subj, &e),
                         WC_OK);
        assert_string_equal(nid, "slack#0");
        if (strncmp(subj, "live-", 5) != 0)
            fail_msg("a line for %s is left", subj);
        assert_true(e > f->fc.now_ms);
        free(nid);
        if (n >= want)
            fail_msg("more than %d lines", want);
        subjects[n++] = subj;
        start = i + 1;
    }
    assert_int_equal(start, b.len); /* ends with a newline */
    assert_int_equal(n, want);
    qsort(subjects, (size_t)n, sizeof(*subjects), s_cmp_str);
    for (int i = 1; i < n; i++)
        assert_true(strcmp(subjects[i - 1], subjects[i]) != 0); /* no duplicate lines */
    for (int i = 0; i < n; i++)
        free(subjects[i]);
    free(subjects);
    wc_buf_clean_up(&b);
}

static void test_compaction_at_start_up(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct wc_statefile_stats st;
    int64_t now = f->fc.now_ms;
    off_t before;

    wc_statefile_close(sf);
    s_prefill(f, "dead", 1100, now - 1);
    s_prefill(f, "live", 7, now + 60000);
    before = s_file_size(f->path);
    /* a temp file left by a crash mid-compaction is removed at open */
    {
        char stale[256];

        snprintf(stale, sizeof(stale), "%s/.%s.Ab12Cd", f->dir, WC_STATEFILE_NAME);
        s_append_raw(stale, "1 x y\n", 6);
    }

    sf = s_open(f, 0);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.lines, 1107);
    assert_int_equal(st.entries, 7);
    assert_int_equal(wc_statefile_compact(sf), WC_OK);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.lines, 7);
    assert_true(s_file_size(f->path) < before / 100);
    s_check_file_live_only(f, 7);
    /* still 0600, and no temp file left behind */
    {
        struct stat sb;
        DIR *d = opendir(f->dir);
        struct dirent *e;
        int files = 0;

        assert_int_equal(stat(f->path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_non_null(d);
        while ((e = readdir(d)) != NULL)
            files += e->d_name[0] != '.' || (e->d_name[1] && e->d_name[1] != '.');
        closedir(d);
        assert_int_equal(files, 1);
    }
    /* below the threshold now: compact() leaves the file alone */
    assert_int_equal(wc_statefile_compact(sf), WC_OK);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 1);
    /* the object keeps working on the new file */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-new"), WC_OK);
    assert_true(wc_statefile_accepted(sf, "slack#0", "live-3"));
    wc_statefile_close(sf);
    s_check_file_live_only(f, 8);
    sf = s_open(f, 0);
    assert_true(wc_statefile_accepted(sf, "slack#0", "live-new"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "live-0"));
    assert_false(wc_statefile_accepted(sf, "slack#0", "dead-0"));
    wc_statefile_close(sf);
}

static void test_compaction_below_threshold_untouched(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct wc_statefile_stats st;
    int64_t now = f->fc.now_ms;

    wc_statefile_close(sf);
    /* mostly dead but only 900 lines: not worth a rewrite */
    s_prefill(f, "dead", 900, now - 1);
    s_prefill(f, "live", 3, now + 60000);
    sf = s_open(f, 0);
    assert_int_equal(wc_statefile_compact(sf), WC_OK);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 0);
    assert_int_equal(s_count_lines(f->path), 903);
    wc_statefile_close(sf);
}

static void test_record_compacts_automatically(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 1000);
    struct wc_statefile_stats st;
    char subj[32];

    wc_statefile_close(sf);
    s_prefill(f, "dead", 1200, f->fc.now_ms + 10);
    sf = s_open(f, 1000);
    /* everything loaded has now expired, and is known to have (the file's
     * lines are counted by expiry in buckets of ttl/32 ms) */
    f->fc.now_ms += 100;
    for (int i = 0; i < 3; i++) {
        snprintf(subj, sizeof(subj), "live-%d", i);
        assert_int_equal(wc_statefile_record(sf, "slack#0", subj), WC_OK);
    }
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.lines, 3);
    s_check_file_live_only(f, 3);
    wc_statefile_close(sf);
}

static void test_two_objects_share_a_dir(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *a = s_open(f, 1000);
    struct wc_statefile *b = s_open(f, 1000);
    struct wc_statefile *c;
    struct wc_statefile_stats st;

    assert_int_equal(wc_statefile_record(a, "slack#0", "from-a"), WC_OK);
    assert_true(wc_statefile_accepted(b, "slack#0", "from-a"));
    assert_int_equal(wc_statefile_record(b, "slack#0", "from-b"), WC_OK);
    assert_true(wc_statefile_accepted(a, "slack#0", "from-b"));
    assert_false(wc_statefile_accepted(a, "slack#0", "from-nobody"));

    assert_int_equal(wc_statefile_record(b, "slack#0", "live-b1"), WC_OK);

    /* a compacts while b still has the old file open */
    wc_statefile_close(a);
    s_prefill(f, "dead", 1100, f->fc.now_ms + 1);
    a = s_open(f, 1000);
    f->fc.now_ms += 100; /* the prefilled lines are dead now (and past their bucket) */
    assert_int_equal(wc_statefile_compact(a), WC_OK);
    wc_statefile_get_stats(a, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.lines, 3);
    assert_true(wc_statefile_accepted(a, "slack#0", "live-b1"));
    /* b follows the rename: its next record lands in the new file */
    assert_int_equal(wc_statefile_record(b, "slack#0", "live-b2"), WC_OK);
    assert_true(wc_statefile_accepted(a, "slack#0", "live-b2"));
    c = s_open(f, 1000);
    assert_true(wc_statefile_accepted(c, "slack#0", "live-b1"));
    assert_true(wc_statefile_accepted(c, "slack#0", "live-b2"));
    assert_true(wc_statefile_accepted(c, "slack#0", "from-a"));
    assert_true(wc_statefile_accepted(c, "slack#0", "from-b"));
    assert_false(wc_statefile_accepted(c, "slack#0", "dead-5"));
    wc_statefile_close(c);
    wc_statefile_close(a);
    wc_statefile_close(b);
}

#define S_PER_PROC 300

static void s_record_many(struct wc_statefile *sf, const char *who, int *failures)
{
    char subj[64];

    for (int i = 0; i < S_PER_PROC; i++) {
        snprintf(subj, sizeof(subj), "%s-%d/a fairly long resource id to widen the line", who, i);
        if (wc_statefile_record(sf, "slack#0", subj) != WC_OK)
            (*failures)++;
    }
}

static void test_two_processes_append_concurrently(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct wc_statefile_stats st;
    int failures = 0, status = 0;
    char subj[128];
    pid_t pid;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct wc_statefile *child = wc_statefile_open(f->dir, 0, 0, &f->clock, NULL, err,
                                                       sizeof(err));
        int fails = 0;

        if (!child)
            _exit(2);
        s_record_many(child, "child", &fails);
        /* the child sees what the parent recorded */
        if (!wc_statefile_accepted(child, "slack#0",
                                   "parent-0/a fairly long resource id to widen the line"))
            fails++;
        wc_statefile_close(child);
        _exit(fails ? 1 : 0);
    }
    s_record_many(sf, "parent", &failures);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(failures, 0);
    snprintf(subj, sizeof(subj), "child-%d/a fairly long resource id to widen the line",
             S_PER_PROC - 1);
    assert_true(wc_statefile_accepted(sf, "slack#0", subj));
    wc_statefile_close(sf);

    /* every line whole: nothing interleaved */
    sf = s_open(f, 0);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.lines, 2 * S_PER_PROC);
    assert_int_equal(st.entries, 2 * S_PER_PROC);
    for (int i = 0; i < S_PER_PROC; i++) {
        snprintf(subj, sizeof(subj), "child-%d/a fairly long resource id to widen the line", i);
        assert_true(wc_statefile_accepted(sf, "slack#0", subj));
        snprintf(subj, sizeof(subj), "parent-%d/a fairly long resource id to widen the line", i);
        assert_true(wc_statefile_accepted(sf, "slack#0", subj));
    }
    wc_statefile_close(sf);
}

struct thr {
    struct wc_statefile *sf;
    int id;
    int failures;
};

static void *s_thread(void *p)
{
    struct thr *t = p;
    char subj[64];

    for (int i = 0; i < 50; i++) {
        snprintf(subj, sizeof(subj), "t%d-%d", t->id, i);
        if (wc_statefile_accepted(t->sf, "slack#0", subj))
            t->failures++;
        if (wc_statefile_record(t->sf, "slack#0", subj) != WC_OK)
            t->failures++;
        if (!wc_statefile_accepted(t->sf, "slack#0", subj))
            t->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *a = s_open(f, 0), *b = s_open(f, 0);
    struct thr t[4];
    pthread_t th[4];
    struct wc_statefile_stats st;

    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){i % 2 ? b : a, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_thread, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].failures, 0);
    }
    assert_true(wc_statefile_accepted(a, "slack#0", "t1-49"));
    assert_true(wc_statefile_accepted(b, "slack#0", "t0-49"));
    wc_statefile_close(a);
    wc_statefile_close(b);
    a = s_open(f, 0);
    wc_statefile_get_stats(a, &st);
    assert_int_equal(st.lines, 200);
    assert_int_equal(st.entries, 200);
    assert_int_equal(st.malformed, 0);
    wc_statefile_close(a);
}

static void test_unwritable_dir(void **state)
{
    struct fixture *f = *state;
    char file[192], below[256], err[256];

    snprintf(file, sizeof(file), "%s/plain-file", f->root);
    s_append_raw(file, "x", 1);
    /* the state dir is a file */
    strcpy(err, "stale");
    assert_null(wc_statefile_open(file, 0, 0, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, file));
    assert_non_null(strstr(err, "Not a directory"));
    /* below a file: cannot be created */
    snprintf(below, sizeof(below), "%s/state", file);
    assert_null(wc_statefile_open(below, 0, 0, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create"));
    /* not set */
    assert_null(wc_statefile_open("", 0, 0, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not set"));
    /* a read-only directory (permissions do not bind root) */
    if (geteuid() != 0) {
        char ro[192];

        snprintf(ro, sizeof(ro), "%s/ro", f->root);
        assert_int_equal(mkdir(ro, 0500), 0);
        assert_null(wc_statefile_open(ro, 0, 0, NULL, NULL, err, sizeof(err)));
        assert_non_null(strstr(err, "not writable"));
    }
    /* the log itself cannot be opened read-write (it is a directory) */
    {
        char d2[192], p2[256];
        struct wc_statefile *sf;

        snprintf(d2, sizeof(d2), "%s/d2", f->root);
        snprintf(p2, sizeof(p2), "%s/%s", d2, WC_STATEFILE_NAME);
        assert_int_equal(mkdir(d2, 0700), 0);
        assert_int_equal(mkdir(p2, 0700), 0);
        sf = wc_statefile_open(d2, 0, 0, NULL, NULL, err, sizeof(err));
        assert_null(sf);
        assert_non_null(strstr(err, "cannot open"));
    }
}

/* fsync after every record; a failed write is WC_ERR_IO and leaves the file
 * whole. */
static void test_fsync_and_write_failure(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct wc_statefile_stats st0, st1;
    struct rlimit old, lim;
    void (*old_handler)(int);
    int rc;

    wc_statefile_get_stats(sf, &st0);
    assert_true(st0.fsyncs >= 1); /* the directory, after creating the file */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "one"), WC_OK);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "two"), WC_OK);
    wc_statefile_get_stats(sf, &st1);
    assert_int_equal(st1.fsyncs, st0.fsyncs + 2);

    /* the file cannot grow: the write fails with EFBIG */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)s_file_size(f->path);
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = wc_statefile_record(sf, "slack#0", "three");
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, WC_ERR_IO);
    assert_non_null(strstr(f->log.ptr, "cannot record"));
    wc_statefile_get_stats(sf, &st0);
    assert_int_equal(st0.fsyncs, st1.fsyncs); /* nothing claimed durable */
    /* remembered in this process (the notifier did accept it) ... */
    assert_true(wc_statefile_accepted(sf, "slack#0", "three"));
    assert_int_equal(wc_statefile_record(sf, "slack#0", "four"), WC_OK);
    wc_statefile_close(sf);
    /* ... but not claimed durable; the file is intact */
    sf = s_open(f, 0);
    wc_statefile_get_stats(sf, &st0);
    assert_int_equal(st0.malformed, 0);
    assert_int_equal(st0.lines, 3);
    assert_false(wc_statefile_accepted(sf, "slack#0", "three"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "four"));
    wc_statefile_close(sf);
}

/* --- memory holds the recent entries, the file all of them ----------------- */

/* A pair recorded long ago has left memory (max_entries newer ones came
 * after it): the fast check misses it, the thorough one streams the file,
 * finds it, and puts it back in memory. */
static void test_thorough_finds_entry_left_memory(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open_cap(f, 0, 4);
    struct wc_statefile_stats st;
    char subj[32];

    for (int i = 0; i < 10; i++) {
        snprintf(subj, sizeof(subj), "ev-%d/sg-%d", i, i);
        assert_int_equal(wc_statefile_record(sf, "slack#0", subj), WC_OK);
    }
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.max_entries, 4);
    assert_int_equal(st.evictions, 6);
    assert_int_equal(st.lines, 10);
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-9/sg-9")); /* recent: in memory */
    assert_false(wc_statefile_accepted(sf, "slack#0", "ev-0/sg-0")); /* fast: missed */
    assert_true(wc_statefile_accepted_thorough(sf, "slack#0", "ev-0/sg-0"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-0/sg-0")); /* back in memory */
    /* ... as the newest: ev-6 was the oldest of the four and went */
    assert_false(wc_statefile_accepted(sf, "slack#0", "ev-6/sg-6"));
    assert_true(wc_statefile_accepted_thorough(sf, "slack#0", "ev-6/sg-6"));
    /* never recorded, another notifier: not even thoroughly */
    assert_false(wc_statefile_accepted_thorough(sf, "slack#0", "ev-10/sg-10"));
    assert_false(wc_statefile_accepted_thorough(sf, "slack#1", "ev-1/sg-1"));
    assert_false(wc_statefile_accepted_thorough(sf, "", "ev-1/sg-1"));
    /* recording a pair found thoroughly writes nothing: it is in memory again */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "ev-6/sg-6"), WC_OK);
    assert_int_equal(s_count_lines(f->path), 10);
    wc_statefile_close(sf);

    /* after a restart: the last 4 in memory, the others on disk only */
    sf = s_open_cap(f, 0, 4);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.lines, 10);
    assert_true(wc_statefile_accepted(sf, "slack#0", "ev-9/sg-9"));
    assert_false(wc_statefile_accepted(sf, "slack#0", "ev-1/sg-1"));
    for (int i = 0; i < 10; i++) {
        snprintf(subj, sizeof(subj), "ev-%d/sg-%d", i, i);
        assert_true(wc_statefile_accepted_thorough(sf, "slack#0", subj));
    }
    /* expired on disk: not found, even thoroughly */
    f->fc.now_ms += WC_DEDUP_DEFAULT_TTL_MS;
    assert_false(wc_statefile_accepted_thorough(sf, "slack#0", "ev-1/sg-1"));
    assert_false(wc_statefile_accepted(sf, "slack#0", "ev-9/sg-9"));
    wc_statefile_close(sf);
}

/* Another process's line, appended after we read the file, is found by the
 * thorough check even when it has left our memory. */
static void test_thorough_sees_other_process(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *a = s_open_cap(f, 0, 2), *b = s_open_cap(f, 0, 2);

    assert_int_equal(wc_statefile_record(b, "slack#0", "from-b"), WC_OK);
    assert_int_equal(wc_statefile_record(b, "slack#0", "b-2"), WC_OK);
    assert_int_equal(wc_statefile_record(b, "slack#0", "b-3"), WC_OK);
    /* a has not looked yet: its tail brings in all three, the cap keeps two */
    assert_false(wc_statefile_accepted(a, "slack#0", "from-b"));
    assert_true(wc_statefile_accepted_thorough(a, "slack#0", "from-b"));
    wc_statefile_close(a);
    wc_statefile_close(b);
}

/* Disk full, then enough records to push the unwritten pair out of memory:
 * still accepted (never posted twice), and a compaction writes it. */
static void test_pending_outlive_memory(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open_cap(f, 0, 2);
    struct rlimit old, tight;
    void (*prev)(int);
    struct wc_buf b = WC_BUF_INIT;

    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-0"), WC_OK);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    prev = signal(SIGXFSZ, SIG_IGN);
    tight = old;
    tight.rlim_cur = (rlim_t)s_file_size(f->path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &tight), 0);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-unwritten"), WC_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-1"), WC_OK);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-2"), WC_OK);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-3"), WC_OK);
    assert_true(wc_statefile_accepted(sf, "slack#0", "live-unwritten"));
    assert_true(wc_statefile_accepted_thorough(sf, "slack#0", "live-unwritten"));
    wc_test_read_file(f->path, &b);
    assert_null(strstr(b.ptr, "live-unwritten"));
    wc_buf_clean_up(&b);
    pthread_mutex_lock(&sf->lock);
    assert_int_equal(s_compact_locked(sf, true), WC_OK);
    pthread_mutex_unlock(&sf->lock);
    s_check_file_live_only(f, 5);
    wc_statefile_close(sf);
    sf = s_open_cap(f, 0, 2);
    assert_true(wc_statefile_accepted_thorough(sf, "slack#0", "live-unwritten"));
    wc_statefile_close(sf);
}

/* The compaction streams the old file: it keeps exactly the live lines, as
 * they were and in their order (duplicates and out-of-order expiries
 * included), and drops the dead, the malformed, the over-long and a line
 * cut short at the end; none of it needs the memory (a cap of 1). */
static void test_compaction_keeps_exactly_live_lines(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open_cap(f, 0, 1);
    struct wc_statefile_stats st;
    struct wc_buf in = WC_BUF_INIT, want = WC_BUF_INIT, got = WC_BUF_INIT;
    int64_t now = f->fc.now_ms;
    char subj[32], *big = malloc(S_MAX_LINE + 10);

    wc_statefile_close(sf);
    assert_non_null(big);
    for (int i = 0; i < 1200; i++) {
        size_t mark = in.len;
        int64_t exp = i % 3 == 0 ? now + 1000 + i : now - i; /* a third live */

        snprintf(subj, sizeof(subj), "%s-%d", i % 3 == 0 ? "live" : "dead", i);
        assert_int_equal(wc_dedup_format_line("slack#0", subj, exp, &in), WC_OK);
        if (i % 3 == 0)
            assert_int_equal(wc_buf_append(&want, in.ptr + mark, in.len - mark), WC_OK);
        if (i == 300) { /* the same pair again, later, with an earlier expiry */
            mark = in.len;
            assert_int_equal(wc_dedup_format_line("slack#0", subj, now + 5, &in), WC_OK);
            assert_int_equal(wc_buf_append(&want, in.ptr + mark, in.len - mark), WC_OK);
        }
        if (i == 500)
            assert_int_equal(wc_buf_append_cstr(&in, "not a record\n"), WC_OK);
        if (i == 700) {
            memset(big, 'x', S_MAX_LINE + 9);
            big[S_MAX_LINE + 9] = '\n';
            assert_int_equal(wc_buf_append(&in, big, S_MAX_LINE + 10), WC_OK);
        }
    }
    assert_int_equal(wc_buf_appendf(&in, "%lld slack#0 live-cut", (long long)(now + 9000)),
                     WC_OK);
    s_append_raw(f->path, in.ptr, in.len);

    sf = s_open_cap(f, 0, 1);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.lines, 1203);
    assert_int_equal(st.expired_lines, 800 + 2); /* the dead, the malformed two */
    assert_int_equal(st.entries, 1);
    assert_int_equal(wc_statefile_compact(sf), WC_OK);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.lines, 401);
    assert_int_equal(st.expired_lines, 0);
    wc_test_read_file(f->path, &got);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.ptr, want.ptr, want.len);
    /* and the object works on: thoroughly, from the new file */
    assert_true(wc_statefile_accepted_thorough(sf, "slack#0", "live-0"));
    assert_false(wc_statefile_accepted_thorough(sf, "slack#0", "dead-1"));
    assert_false(wc_statefile_accepted_thorough(sf, "slack#0", "live-cut"));
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-new"), WC_OK);
    wc_statefile_close(sf);
    assert_int_equal(s_count_lines(f->path), 402);
    free(big);
    wc_buf_clean_up(&in);
    wc_buf_clean_up(&want);
    wc_buf_clean_up(&got);
}

/* The file's lines are counted by expiry: the compaction is due once more
 * than half have expired, and only then (not when memory is full). */
static void test_compaction_due_when_half_expired(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open_cap(f, 3200, 8); /* buckets of 101 ms */
    struct wc_statefile_stats st;
    struct wc_buf b = WC_BUF_INIT;
    int64_t t0 = f->fc.now_ms;
    char subj[32];

    /* 1100 lines as if recorded 1 ms apart over the last 1.1 s: line i
     * expires at t0 + 2100 + i */
    wc_statefile_close(sf);
    for (int i = 0; i < 1100; i++) {
        snprintf(subj, sizeof(subj), "live-%d", i);
        assert_int_equal(wc_dedup_format_line("slack#0", subj, t0 + 2100 + i, &b), WC_OK);
    }
    s_append_raw(f->path, b.ptr, b.len);
    wc_buf_clean_up(&b);
    sf = s_open_cap(f, 3200, 8);
    assert_int_equal(wc_statefile_compact(sf), WC_OK);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 0); /* nothing dead */
    assert_int_equal(st.expired_lines, 0);
    assert_int_equal(st.evictions, 1100 - 8); /* memory was full all along */
    f->fc.now_ms = t0 + 2100 + 400;           /* up to 400 of them are gone */
    wc_statefile_get_stats(sf, &st);
    assert_true(st.expired_lines > 0 && st.expired_lines <= 400);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-a"), WC_OK);
    assert_int_equal(wc_statefile_compact(sf), WC_OK);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 0); /* under half */
    f->fc.now_ms = t0 + 2100 + 800;      /* 800 are: counted late, not early */
    wc_statefile_get_stats(sf, &st);
    assert_true(st.expired_lines > 551 && st.expired_lines <= 800);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "live-b"), WC_OK);
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.lines, 299 + 2); /* live-801 .. live-1099, live-a, live-b */
    s_check_file_live_only(f, 301);
    wc_statefile_close(sf);
}

/* Memory does not follow the file: a file of 5,000 live lines loads into a
 * cap of 100, and every one of them is still found thoroughly. */
static void test_load_keeps_only_the_newest(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open_cap(f, 0, 100);
    struct wc_statefile_stats st;
    char subj[32], err[256];

    wc_statefile_close(sf);
    s_prefill(f, "live", 5000, f->fc.now_ms + 60000);
    wc_buf_reset(&f->log);
    sf = s_open_cap(f, 0, 100);
    assert_non_null(strstr(f->log.ptr, "5000 live entries, 5000 lines, 100 in memory"));
    wc_statefile_get_stats(sf, &st);
    assert_int_equal(st.entries, 100);
    assert_int_equal(st.evictions, 4900);
    assert_true(wc_statefile_accepted(sf, "slack#0", "live-4999"));
    assert_true(wc_statefile_accepted(sf, "slack#0", "live-4900"));
    assert_false(wc_statefile_accepted(sf, "slack#0", "live-4899"));
    for (int i = 0; i < 5000; i += 499) {
        snprintf(subj, sizeof(subj), "live-%d", i);
        assert_true(wc_statefile_accepted_thorough(sf, "slack#0", subj));
    }
    wc_statefile_close(sf);
    /* past the limit: refused, saying so */
    assert_null(wc_statefile_open(f->dir, 0, WC_DEDUP_MAX_ENTRIES_LIMIT + 1, NULL, NULL, err,
                                  sizeof(err)));
    assert_non_null(strstr(err, "past the limit"));
}

/* --- hardening: the state directory and the files in it ---------------------- */

#define S_NOBODY 65534

/* Make the fixture's directory (0700, as open would) without opening it. */
static void s_make_dir(struct fixture *f)
{
    char state[160];

    snprintf(state, sizeof(state), "%s/state", f->root);
    assert_int_equal(mkdir(state, 0700), 0);
    assert_int_equal(mkdir(f->dir, 0700), 0);
}

static void s_write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static bool s_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* open refuses dir; err names it and holds want. */
static void s_refused(const char *dir, const char *want)
{
    char err[512] = "stale";

    assert_null(wc_statefile_open(dir, 0, 0, NULL, NULL, err, sizeof(err)));
    if (!strstr(err, dir) || !strstr(err, want))
        fail_msg("want \"%s\" naming %s, got: %s", want, dir, err);
}

static void test_dir_created_0700_and_files_cloexec(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    struct stat st;
    char state_dir[160];

    snprintf(state_dir, sizeof(state_dir), "%s/state", f->root);
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(stat(state_dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(fcntl(sf->fd, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(sf->dirfd, F_GETFD) & FD_CLOEXEC);
    /* and the file a compaction puts in place */
    assert_int_equal(wc_statefile_record(sf, "slack#0", "a"), WC_OK);
    pthread_mutex_lock(&sf->lock);
    assert_int_equal(s_compact_locked(sf, true), WC_OK);
    pthread_mutex_unlock(&sf->lock);
    assert_int_equal(sf->compactions, 1);
    assert_true(fcntl(sf->fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    wc_statefile_close(sf);
}

static void test_refuses_unsafe_dir(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf;
    char err[512];

    s_make_dir(f);
    assert_int_equal(chmod(f->dir, 0777), 0);
    s_refused(f->dir, "is writable by everyone (mode 0777): refused");
    assert_int_equal(chmod(f->dir, 01777), 0); /* sticky like /tmp: still shared */
    s_refused(f->dir, "is writable by everyone (mode 1777)");
    assert_int_equal(chmod(f->dir, 0770), 0);
    s_refused(f->dir, "is writable by its group (mode 0770)");
    assert_false(s_exists(f->path)); /* refused before anything was created */
    /* readable by others is no risk to us */
    assert_int_equal(chmod(f->dir, 0755), 0);
    sf = wc_statefile_open(f->dir, 0, 0, NULL, NULL, err, sizeof(err));
    assert_non_null(sf);
    wc_statefile_close(sf);
    /* owned by someone else */
    if (geteuid() == 0) {
        assert_int_equal(unlink(f->path), 0);
        assert_int_equal(chmod(f->dir, 0700), 0);
        assert_int_equal(chown(f->dir, S_NOBODY, S_NOBODY), 0);
        s_refused(f->dir, "is owned by uid 65534, not by the running user (uid 0): refused");
        assert_false(s_exists(f->path));
    } else {
        s_refused("/", "not by the running user");
    }
}

static void test_refuses_symlinked_log(void **state)
{
    struct fixture *f = *state;
    char target[160], dangling[160];
    struct wc_buf b = WC_BUF_INIT;

    s_make_dir(f);
    snprintf(target, sizeof(target), "%s/target", f->root);
    snprintf(dangling, sizeof(dangling), "%s/dangling", f->root);
    s_write_file(target, "precious\n");
    /* a symlink to an existing file: neither read nor appended to */
    assert_int_equal(symlink(target, f->path), 0);
    s_refused(f->dir, "a symbolic link (refused)");
    wc_test_read_file(target, &b);
    assert_string_equal(b.ptr, "precious\n");
    wc_buf_clean_up(&b);
    /* a dangling one: its target is not created */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(symlink(dangling, f->path), 0);
    s_refused(f->dir, "a symbolic link (refused)");
    assert_false(s_exists(dangling));
}

static void test_refuses_log_replaced_by_symlink(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    char target[160], link[192];
    struct wc_buf b = WC_BUF_INIT;

    assert_int_equal(wc_statefile_record(sf, "slack#0", "before"), WC_OK);
    snprintf(target, sizeof(target), "%s/target", f->root);
    snprintf(link, sizeof(link), "%s/link", f->dir);
    s_write_file(target, "precious\n");
    /* swapped for a symlink while open (atomically, as an attacker would) */
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(rename(link, f->path), 0);
    assert_int_equal(wc_statefile_record(sf, "slack#0", "after"), WC_ERR_IO);
    assert_non_null(strstr(f->log.ptr, "a symbolic link (refused)"));
    wc_test_read_file(target, &b);
    assert_string_equal(b.ptr, "precious\n");
    wc_buf_clean_up(&b);
    /* remembered in memory all the same (the notifier accepted it) */
    assert_true(wc_statefile_accepted(sf, "slack#0", "after"));
    wc_statefile_close(sf);
}

static void test_refuses_odd_or_foreign_log(void **state)
{
    struct fixture *f = *state;

    s_make_dir(f);
    assert_int_equal(mkfifo(f->path, 0600), 0);
    s_refused(f->dir, "not a regular file (refused)");
    assert_int_equal(unlink(f->path), 0);
    if (geteuid() == 0) {
        s_write_file(f->path, "");
        assert_int_equal(chmod(f->path, 0600), 0);
        assert_int_equal(chown(f->path, S_NOBODY, S_NOBODY), 0);
        s_refused(f->dir, "not owned by the running user (refused)");
    }
}

/* The compaction's temp file is created O_EXCL | O_NOFOLLOW: a name taken
 * by a planted symlink (dangling or not) is skipped, never written through. */
static void test_compaction_temp_never_follows_symlink(void **state)
{
    struct fixture *f = *state;
    struct wc_statefile *sf = s_open(f, 0);
    char target[160], dangling[160], name[256];
    struct wc_buf b = WC_BUF_INIT;
    struct stat st;

    assert_int_equal(wc_statefile_record(sf, "slack#0", "kept"), WC_OK);
    snprintf(target, sizeof(target), "%s/target", f->root);
    snprintf(dangling, sizeof(dangling), "%s/dangling", f->root);
    s_write_file(target, "precious\n");
    /* the next two names the compaction will try */
    snprintf(name, sizeof(name), "%s/.%s.%ld.%u", f->dir, WC_STATEFILE_NAME, (long)getpid(),
             sf->temp_seq);
    assert_int_equal(symlink(target, name), 0);
    snprintf(name, sizeof(name), "%s/.%s.%ld.%u", f->dir, WC_STATEFILE_NAME, (long)getpid(),
             sf->temp_seq + 1);
    assert_int_equal(symlink(dangling, name), 0);
    pthread_mutex_lock(&sf->lock);
    assert_int_equal(s_compact_locked(sf, true), WC_OK);
    pthread_mutex_unlock(&sf->lock);
    assert_int_equal(sf->compactions, 1);
    wc_test_read_file(target, &b);
    assert_string_equal(b.ptr, "precious\n");
    assert_false(s_exists(dangling));
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    wc_buf_clean_up(&b);
    wc_statefile_close(sf);
    /* the file is whole; the planted links go at the next open */
    sf = s_open(f, 0);
    assert_true(wc_statefile_accepted(sf, "slack#0", "kept"));
    assert_false(s_exists(name));
    wc_statefile_close(sf);
    wc_test_read_file(target, &b);
    assert_string_equal(b.ptr, "precious\n");
    wc_buf_clean_up(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_survives_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_expired_dropped_on_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_malformed_lines, s_setup, s_teardown),
        cmocka_unit_test(test_cut_mark_spoils_every_prefix),
        cmocka_unit_test_setup_teardown(test_failed_record_written_later, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_compaction_at_start_up, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_compaction_below_threshold_untouched, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_record_compacts_automatically, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_objects_share_a_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_append_concurrently, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_threads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fsync_and_write_failure, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dir_created_0700_and_files_cloexec, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_unsafe_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_symlinked_log, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_log_replaced_by_symlink, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_odd_or_foreign_log, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_thorough_finds_entry_left_memory, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_thorough_sees_other_process, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pending_outlive_memory, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_compaction_keeps_exactly_live_lines, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_compaction_due_when_half_expired, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_load_keeps_only_the_newest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_compaction_temp_never_follows_symlink, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
