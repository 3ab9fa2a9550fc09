/* jsonl.c - the JSON lines notifier: one finding object per line, appended
 * to a file (fsync'ed) or written to stdout. See notifiers.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/str.h"
#include "notifiers/notifiers.h"
#include "notifiers/notifiers_internal.h"

#define S_MODE 0640
/* Bound on write() calls for one payload (short writes, EINTR). */
#define S_MAX_WRITES 10000

struct s_jsonl {
    pthread_mutex_t lock; /* guards fd across send and reopen */
    char *path;           /* NULL: stdout */
    int fd;
    bool is_regular;      /* fsync only regular files */
    bool no_fsync;
    bool torn;            /* a failed write left part of a line that could not be
                           * taken back: start the next one on a line of its own */
    struct wc_logger *logger;
};

static int s_render(const struct wc_notice *notice, struct wc_buf *out)
{
    int rc = WC_OK;

    for (size_t i = 0; rc == WC_OK && i < notice->n_findings; i++) {
        if (!notice->findings[i])
            return WC_ERR_INVALID;
        if ((rc = wc_finding_to_json(notice->findings[i], false, out)) == WC_OK)
            rc = wc_buf_append_char(out, '\n');
    }
    return rc;
}

static int s_open(const char *path, int *fd_out, bool *is_regular)
{
    struct stat st;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, S_MODE);

    if (fd < 0)
        return errno == ENOENT ? WC_ERR_NOT_FOUND : WC_ERR_IO;
    *is_regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    *fd_out = fd;
    return WC_OK;
}

/* The whole payload with as few write() calls as the kernel allows
 * (normally one), continuing after short writes and EINTR. *done: the
 * bytes written, also on failure (a disk that fills up part-way). */
static int s_write_all(int fd, const char *p, size_t len, size_t *done)
{
    int calls = 0;

    *done = 0;
    while (len > 0) {
        ssize_t w;

        if (++calls > S_MAX_WRITES)
            return WC_ERR_IO;
        w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return WC_ERR_IO;
        }
        if (w == 0)
            return WC_ERR_IO;
        p += w;
        len -= (size_t)w;
        *done += (size_t)w;
    }
    return WC_OK;
}

/* A send failed after `written` bytes went out (a full disk cuts a line
 * short; a failed fsync leaves one the caller will write again): take
 * them back, so that the retry neither glues its line to a fragment nor
 * repeats it. Where they cannot be taken back (not a regular file, or
 * ftruncate fails), the next send starts with a newline: the fragment
 * stays a bad line of its own and every later line is whole. With several
 * processes appending, a line another one appended after ours in the same
 * instant would go too; they can only have done so into space freed in
 * between. (j->lock held) */
static void s_take_back(struct s_jsonl *j, off_t start, size_t written)
{
    if (written == 0)
        return;
    if (start >= 0 && ftruncate(j->fd, start) == 0)
        return;
    j->torn = true;
}

static int s_jsonl_render(struct wc_notifier *n, const struct wc_notice *notice,
                          struct wc_buf *out)
{
    (void)n;
    return s_render(notice, out);
}

static int s_jsonl_send(struct wc_notifier *n, const struct wc_notice *notice,
                        struct wc_send_result *res)
{
    struct s_jsonl *j = n->impl;
    struct wc_buf body = WC_BUF_INIT;
    int rc, err = 0;

    res->retry_after_ms = 0;
    res->http_status = 0;
    if ((rc = s_render(notice, &body)) != WC_OK) {
        WC_LOGE(j->logger, NULL, "notifier %s: cannot serialise the finding: %s", n->id,
                wc_strerror(rc));
        goto out;
    }
    pthread_mutex_lock(&j->lock);
    if (j->fd < 0) {
        rc = WC_ERR_IO;
        err = EBADF;
    } else {
        struct stat st;
        size_t written = 0;
        off_t start;

        if (j->torn && (rc = s_write_all(j->fd, "\n", 1, &written)) == WC_OK)
            j->torn = false;
        start = j->is_regular && fstat(j->fd, &st) == 0 ? st.st_size : -1;
        if (rc == WC_OK)
            rc = s_write_all(j->fd, body.ptr, body.len, &written);
        if (rc != WC_OK)
            err = errno;
        else if (j->is_regular && !j->no_fsync && fsync(j->fd) != 0) {
            rc = WC_ERR_IO;
            err = errno;
        }
        if (rc != WC_OK)
            s_take_back(j, start, written);
    }
    pthread_mutex_unlock(&j->lock);
    if (rc != WC_OK)
        WC_LOGE(j->logger, NULL, "notifier %s: cannot write to %s: %s", n->id,
                j->path ? j->path : "stdout", err ? strerror(err) : wc_strerror(rc));
out:
    wc_buf_clean_up(&body);
    return rc;
}

/* Open the path anew (it may have been renamed away), then swap. */
static int s_jsonl_reopen(struct wc_notifier *n)
{
    struct s_jsonl *j = n->impl;
    bool is_regular = false;
    int fd = -1, old, rc;

    if (!j->path)
        return WC_OK;
    if ((rc = s_open(j->path, &fd, &is_regular)) != WC_OK) {
        WC_LOGE(j->logger, NULL, "notifier %s: cannot reopen %s: %s", n->id, j->path,
                strerror(errno));
        return rc; /* keep writing to the old file */
    }
    pthread_mutex_lock(&j->lock);
    old = j->fd;
    j->fd = fd;
    j->is_regular = is_regular;
    if (j->torn) { /* a fragment ends the old file: the same file again? */
        struct stat a, b;

        j->torn = old >= 0 && fstat(old, &a) == 0 && fstat(fd, &b) == 0 &&
                  a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    }
    pthread_mutex_unlock(&j->lock);
    if (old >= 0)
        close(old);
    return WC_OK;
}

static void s_jsonl_free(struct s_jsonl *j)
{
    if (!j)
        return;
    if (j->path && j->fd >= 0)
        close(j->fd);
    free(j->path);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void s_jsonl_destroy(struct wc_notifier *n)
{
    if (!n)
        return;
    s_jsonl_free(n->impl);
    wc_notif_unwrap(n);
}

const struct wc_notifier_vtable wc_jsonl_notifier_vtable = {
    .name = "jsonl",
    .render = s_jsonl_render,
    .send = s_jsonl_send,
    .reopen = s_jsonl_reopen,
    .destroy = s_jsonl_destroy,
};

struct wc_notifier *wc_jsonl_notifier_new(const struct wc_notifier_options *o)
{
    struct s_jsonl *j;
    struct wc_notifier *n;
    bool to_stdout;

    if (!o)
        return NULL;
    to_stdout = wc_str_empty(o->path) || strcmp(o->path, "-") == 0;
    j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    if (pthread_mutex_init(&j->lock, NULL) != 0) {
        free(j);
        return NULL;
    }
    j->fd = -1;
    j->no_fsync = o->no_fsync;
    j->logger = o->logger;
    if (to_stdout) {
        j->fd = STDOUT_FILENO;
    } else {
        if (!(j->path = wc_strdup(o->path)))
            goto fail;
        if (s_open(j->path, &j->fd, &j->is_regular) != WC_OK) {
            WC_LOGE(o->logger, NULL, "notifier %s: cannot open %s: %s",
                    wc_str_empty(o->id) ? "jsonl" : o->id, j->path, strerror(errno));
            goto fail;
        }
    }
    n = wc_notif_wrap(&wc_jsonl_notifier_vtable, j, o->id, "jsonl", o->verdict_mask,
                      WC_VERDICT_MASK_ALL);
    if (!n)
        goto fail;
    return n;
fail:
    s_jsonl_free(j);
    return NULL;
}
