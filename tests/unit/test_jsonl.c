/* Unit tests for notifiers/jsonl (one finding per line, append, reopen after
 * rotation, stdout) and the notifier registry. */
#include "tests/support/testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/log.h"
#include "core/notifier.h"
#include "notifiers/notifiers.h"
#include "tests/support/notif_fakes.h"

struct dir {
    char path[64];
    char file[128];
    char rotated[128];
};

static void s_dir_init(struct dir *d)
{
    snprintf(d->path, sizeof(d->path), "/tmp/wc-jsonl-XXXXXX");
    assert_non_null(mkdtemp(d->path));
    snprintf(d->file, sizeof(d->file), "%s/findings.jsonl", d->path);
    snprintf(d->rotated, sizeof(d->rotated), "%s/findings.jsonl.1", d->path);
}

static void s_dir_clean_up(struct dir *d)
{
    unlink(d->file);
    unlink(d->rotated);
    assert_int_equal(rmdir(d->path), 0);
}

static struct wc_notifier *s_new(const char *path)
{
    struct wc_notifier_options o = {0};
    struct wc_notifier *n;

    o.id = "jsonl#0";
    o.verdict_mask = WC_VERDICT_MASK_ALL;
    o.path = path;
    n = wc_jsonl_notifier_new(&o);
    assert_non_null(n);
    return n;
}

static void s_read(const char *path, struct wc_buf *b)
{
    wc_buf_clean_up(b); /* wc_test_read_file starts a new buffer */
    wc_test_read_file(path, b);
}

static size_t s_count_lines(const struct wc_buf *b)
{
    size_t n = 0;

    for (size_t i = 0; i < b->len; i++)
        if (b->ptr[i] == '\n')
            n++;
    return n;
}

/* Each line parses as JSON and equals wc_finding_to_json of the finding. */
static void s_assert_line(const char *line, size_t len, const struct wc_finding *f)
{
    struct wc_buf want = WC_BUF_INIT;
    cJSON *j = cJSON_ParseWithLength(line, len);

    assert_non_null(j);
    /* the structured summary Slack shows too: who did what to which resource */
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "headline")));
    assert_true(cJSON_HasObjectItem(j, "managed_by"));
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "window")));
    cJSON_Delete(j);
    assert_int_equal(wc_finding_to_json(f, false, &want), WC_OK);
    assert_int_equal(len, want.len);
    assert_memory_equal(line, want.ptr, len);
    wc_buf_clean_up(&want);
}

static void test_one_line_per_send_and_append(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f1, *f2;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf b = WC_BUF_INIT, r = WC_BUF_INIT;
    struct wc_send_result res = {.retry_after_ms = 1, .http_status = 1};
    struct wc_notifier *n;
    struct stat st;
    struct dir d;
    const char *nl;

    (void)state;
    s_dir_init(&d);
    sp.resource_name = "line\nbreak \"quoted\"";
    f1 = notif_finding_new(&sp);
    sp.verdict = WC_VERDICT_AUTOMATION;
    f2 = notif_finding_new(&sp);
    n = s_new(d.file);
    assert_int_equal(stat(d.file, &st), 0);
    assert_int_equal(st.st_mode & 0777 & ~0640, 0); /* at most 0640 */
    fs[0] = f1;
    assert_int_equal(wc_notifier_send(n, &notice, &res), WC_OK);
    assert_int_equal(res.retry_after_ms, 0);
    s_read(d.file, &b);
    assert_int_equal(s_count_lines(&b), 1);
    assert_int_equal(b.ptr[b.len - 1], '\n');
    s_assert_line(b.ptr, b.len - 1, f1);
    /* render is exactly the bytes written */
    assert_int_equal(wc_notifier_render(n, &notice, &r), WC_OK);
    assert_string_equal(r.ptr, b.ptr);
    fs[0] = f2;
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    wc_notifier_destroy(n);

    /* a new notifier on the same path appends */
    n = s_new(d.file);
    fs[0] = f1;
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    s_read(d.file, &b);
    assert_int_equal(s_count_lines(&b), 3);
    nl = strchr(b.ptr, '\n');
    s_assert_line(nl + 1, (size_t)(strchr(nl + 1, '\n') - nl - 1), f2);
    wc_notifier_destroy(n);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&r);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
    s_dir_clean_up(&d);
}

static void test_coalesced_two_lines(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f1, *f2;
    const struct wc_finding *fs[2];
    struct wc_notice notice = {.findings = fs, .n_findings = 2, .account_alias = NULL};
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notifier *n;
    struct dir d;
    const char *nl;

    (void)state;
    s_dir_init(&d);
    sp.resource_id = "sg-11111111";
    fs[0] = f1 = notif_finding_new(&sp);
    sp.resource_id = "sg-22222222";
    fs[1] = f2 = notif_finding_new(&sp);
    n = s_new(d.file);
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    s_read(d.file, &b);
    assert_int_equal(s_count_lines(&b), 2);
    nl = strchr(b.ptr, '\n');
    s_assert_line(b.ptr, (size_t)(nl - b.ptr), f1);
    s_assert_line(nl + 1, b.len - (size_t)(nl + 1 - b.ptr) - 1, f2);
    wc_notifier_destroy(n);
    wc_buf_clean_up(&b);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
    s_dir_clean_up(&d);
}

static void test_reopen_after_rename(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notifier *n;
    struct dir d;

    (void)state;
    s_dir_init(&d);
    n = s_new(d.file);
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    assert_int_equal(rename(d.file, d.rotated), 0);
    /* before reopen the notifier still writes to the renamed file */
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    assert_int_equal(access(d.file, F_OK), -1);
    assert_int_equal(wc_notifier_reopen(n), WC_OK);
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    s_read(d.file, &b);
    assert_int_equal(s_count_lines(&b), 1);
    s_assert_line(b.ptr, b.len - 1, f);
    s_read(d.rotated, &b);
    assert_int_equal(s_count_lines(&b), 2);
    wc_notifier_destroy(n);
    wc_buf_clean_up(&b);
    wc_finding_destroy(f);
    s_dir_clean_up(&d);
}

static void test_stdout_mode(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notifier *n1, *n2;
    struct dir d;
    int saved, fd;

    (void)state;
    s_dir_init(&d);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    fd = open(d.file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    close(fd);
    n1 = s_new(NULL);
    n2 = s_new("-");
    assert_int_equal(wc_notifier_send(n1, &notice, NULL), WC_OK);
    assert_int_equal(wc_notifier_send(n2, &notice, NULL), WC_OK);
    assert_int_equal(wc_notifier_reopen(n1), WC_OK); /* a no-op for stdout */
    wc_notifier_destroy(n1);
    wc_notifier_destroy(n2); /* does not close stdout */
    assert_int_equal(write(STDOUT_FILENO, "", 0), 0);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    s_read(d.file, &b);
    assert_int_equal(s_count_lines(&b), 2);
    s_assert_line(b.ptr, b.len / 2 - 1, f);
    wc_buf_clean_up(&b);
    wc_finding_destroy(f);
    s_dir_clean_up(&d);
}

struct worker {
    struct wc_notifier *n;
    const struct wc_notice *notice;
    int failures;
    bool reopen;
};

static void *s_worker(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 50; i++) {
        if (wc_notifier_send(w->n, w->notice, NULL) != WC_OK)
            w->failures++;
        if (w->reopen && i % 10 == 0 && wc_notifier_reopen(w->n) != WC_OK)
            w->failures++;
    }
    return NULL;
}

/* Several threads sending (one of them also reopening): every line whole. */
static void test_concurrent_sends(void **state)
{
    enum { THREADS = 4 };
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf b = WC_BUF_INIT, want = WC_BUF_INIT;
    struct worker w[THREADS];
    pthread_t th[THREADS];
    struct wc_notifier *n;
    struct dir d;
    const char *p;
    size_t lines = 0;

    (void)state;
    s_dir_init(&d);
    sp.n_props = 20; /* a longer line */
    fs[0] = f = notif_finding_new(&sp);
    n = s_new(d.file);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){n, &notice, 0, i == 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    wc_notifier_destroy(n);
    s_read(d.file, &b);
    assert_int_equal(wc_finding_to_json(f, false, &want), WC_OK);
    for (p = b.ptr; p < b.ptr + b.len; lines++) {
        const char *nl = strchr(p, '\n');

        assert_non_null(nl);
        assert_int_equal((size_t)(nl - p), want.len);
        assert_memory_equal(p, want.ptr, want.len);
        p = nl + 1;
    }
    assert_int_equal(lines, THREADS * 50);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&want);
    wc_finding_destroy(f);
    s_dir_clean_up(&d);
}

static void test_errors(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_notifier_options o = {0};
    struct notif_log log;
    struct wc_notifier *n;

    (void)state;
    o.logger = notif_log_new(&log, WC_LOG_INFO);
    o.path = "/dev/null/x.jsonl"; /* cannot exist: /dev/null is not a directory */
    assert_null(wc_jsonl_notifier_new(&o));
    assert_int_equal(log.n, 1);
    if (access("/dev/full", W_OK) == 0) {
        o.path = "/dev/full";
        n = wc_jsonl_notifier_new(&o);
        assert_non_null(n);
        assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_ERR_IO);
        assert_true(notif_log_contains(&log, "/dev/full"));
        wc_notifier_destroy(n);
    }
    wc_logger_destroy(o.logger);
    wc_finding_destroy(f);
}

/* A disk that fills up part-way through a line (played by RLIMIT_FSIZE:
 * write() stops at the limit, then fails): the send fails, the fragment is
 * taken back, and the retry's line is whole, not glued to it. */
static void test_partial_write_taken_back(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f1, *f2;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf b = WC_BUF_INIT;
    struct rlimit old, lim;
    struct sigaction ign = {0}, was;
    struct wc_notifier *n;
    struct stat st;
    struct dir d;
    off_t one;
    int rc;

    (void)state;
    s_dir_init(&d);
    f1 = notif_finding_new(&sp);
    sp.resource_name = "the-second-resource";
    f2 = notif_finding_new(&sp);
    n = s_new(d.file);
    fs[0] = f1;
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    assert_int_equal(stat(d.file, &st), 0);
    one = st.st_size;

    /* room for half of the second line: nothing may print meanwhile */
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    assert_int_equal(sigaction(SIGXFSZ, &ign, &was), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(one + one / 2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    fs[0] = f2;
    rc = wc_notifier_send(n, &notice, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(sigaction(SIGXFSZ, &was, NULL), 0);
    assert_int_equal(rc, WC_ERR_IO);
    assert_int_equal(stat(d.file, &st), 0);
    assert_int_equal(st.st_size, one); /* the fragment is gone */

    /* space again: the retry appends one whole line */
    assert_int_equal(wc_notifier_send(n, &notice, NULL), WC_OK);
    s_read(d.file, &b);
    assert_int_equal(s_count_lines(&b), 2);
    s_assert_line(b.ptr, (size_t)one - 1, f1);
    s_assert_line(b.ptr + one, b.len - (size_t)one - 1, f2);
    wc_notifier_destroy(n);
    wc_buf_clean_up(&b);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
    s_dir_clean_up(&d);
}

static void test_registry(void **state)
{
    static const char *const names[] = {"slack", "webhook", "jsonl"};
    static const struct wc_notifier_vtable *const vts[] = {
        &wc_slack_notifier_vtable, &wc_webhook_notifier_vtable, &wc_jsonl_notifier_vtable};
    struct wc_notifier_options o = {0};
    const struct wc_notifier_backend *b;
    struct wc_notifier *n;
    struct dir d;
    size_t count = 0;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        b = wc_notifier_backend_find(names[i]);
        assert_non_null(b);
        assert_string_equal(b->name, names[i]);
        assert_ptr_equal(b->vtable, vts[i]);
        assert_string_equal(b->vtable->name, names[i]);
        assert_non_null(b->create);
    }
    assert_null(wc_notifier_backend_find("email"));
    assert_null(wc_notifier_backend_find("Slack"));
    assert_null(wc_notifier_backend_find(""));
    assert_null(wc_notifier_backend_find(NULL));
    while (wc_notifier_backends[count])
        count++;
    assert_int_equal(count, 3);
    /* creating through the registry gives that backend */
    s_dir_init(&d);
    o.path = d.file;
    n = wc_notifier_backend_find("jsonl")->create(&o);
    assert_non_null(n);
    assert_ptr_equal(n->vtable, &wc_jsonl_notifier_vtable);
    assert_string_equal(n->id, "jsonl");
    assert_int_equal(n->verdict_mask, WC_VERDICT_MASK_ALL); /* jsonl default: everything */
    wc_notifier_destroy(n);
    s_dir_clean_up(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line_per_send_and_append),
        cmocka_unit_test(test_coalesced_two_lines),
        cmocka_unit_test(test_reopen_after_rename),
        cmocka_unit_test(test_stdout_mode),
        cmocka_unit_test(test_concurrent_sends),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_partial_write_taken_back),
        cmocka_unit_test(test_registry),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
