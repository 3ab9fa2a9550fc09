#include "store/statefile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/dedup.h"
#include "core/err.h"
#include "core/ledger.h"
#include "core/str.h"

#define S_CHUNK 65536
#define S_MAX_LINE 16384 /* a longer line is malformed */
#define S_CUT_MARK "  (cut short)\n"
#define S_LOCK_TRIES 16  /* reopen attempts when the file keeps being replaced */
/* once the file is past the compaction threshold, prune the memory (so that
 * its size says how many entries are live) this often */
#define S_PRUNE_EVERY_RECORDS 256
#define S_PRUNE_EVERY_MS ((int64_t)60 * 1000)
#define S_TEMP_TRIES 100 /* compaction temp names tried (taken by a crash) */
/* every file of ours is opened so: never through a symlink, never inherited */
#define S_OPEN_FLAGS (O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC)

struct wc_statefile {
    struct wc_ledger ledger; /* the port, when opened as a ledger */
    pthread_mutex_t lock; /* guards all below; dedup has its own lock */
    char *dir;
    char *path;
    int dirfd;     /* DIR, checked once: every file is opened relative to it */
    const char *refused; /* why the last open refused the file, or NULL */
    unsigned temp_seq;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t offset;  /* bytes of complete lines consumed from the current file */
    size_t lines;  /* complete lines consumed from the current file */
    bool skipping; /* inside an over-long line: drop bytes up to its '\n' */
    char *rbuf;    /* S_MAX_LINE + S_CHUNK */
    struct wc_clock clock;
    struct wc_logger *logger;
    struct wc_dedup *dedup;
    size_t malformed;
    uint64_t fsyncs;
    uint64_t compactions;
    unsigned records_since_prune;
    int64_t last_prune_ms;
    /* pairs accepted but not yet durable (the write or fsync failed): in
     * dedup so this process never posts them again, and written by the next
     * record() of the same pair */
    char **pending;
    size_t n_pending;
};

#define S_MAX_PENDING 100000


static int s_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return WC_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return WC_OK;
}

static int s_fsync(struct wc_statefile *sf, int fd)
{
    if (fsync(fd) != 0)
        return WC_ERR_IO;
    sf->fsyncs++;
    return WC_OK;
}

/* Make entries in DIR (a created or renamed file) durable. */
static int s_fsync_dir(struct wc_statefile *sf)
{
    return s_fsync(sf, sf->dirfd);
}

/* Why the last file operation failed: the refusal, else errno's text. */
static const char *s_why(const struct wc_statefile *sf)
{
    return sf->refused ? sf->refused : strerror(errno);
}

/* fd (just opened) must be a regular file owned by the running user: a
 * file planted by someone else is not ours to trust or to write. */
static int s_check_file(struct wc_statefile *sf, int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return WC_ERR_IO;
    if (!S_ISREG(st->st_mode))
        sf->refused = "not a regular file (refused)";
    else if (st->st_uid != geteuid())
        sf->refused = "not owned by the running user (refused)";
    return sf->refused ? WC_ERR_IO : WC_OK;
}

/* openat(DIR, name, S_OPEN_FLAGS | extra) and s_check_file; -1 on failure
 * (errno, or sf->refused, says why). */
static int s_open_at(struct wc_statefile *sf, const char *name, int extra, struct stat *st)
{
    int fd, e;

    sf->refused = NULL;
    if ((fd = openat(sf->dirfd, name, S_OPEN_FLAGS | extra, 0600)) < 0) {
        if (errno == ELOOP)
            sf->refused = "a symbolic link (refused)";
        return -1;
    }
    if (s_check_file(sf, fd, st) != WC_OK) {
        e = sf->refused ? EPERM : errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* mkdir -p with mode 0700 for the parts that are missing. */
static int s_mkdirs(const char *dir)
{
    char *p = wc_strdup(dir);
    struct stat st;
    int rc = 0;

    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    for (char *s = p + 1; *s && rc == 0; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            rc = -1;
        *s = '/';
    }
    if (rc == 0 && mkdir(p, 0700) != 0 && errno != EEXIST)
        rc = -1;
    if (rc == 0 && stat(p, &st) != 0)
        rc = -1;
    if (rc == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    free(p);
    return rc;
}

/* (Re)open the log in DIR; reading starts again from its beginning. */
static int s_open_file(struct wc_statefile *sf)
{
    struct stat st;
    int fd = s_open_at(sf, WC_STATEFILE_NAME, 0, &st);

    if (fd < 0)
        return WC_ERR_IO;
    sf->fd = fd;
    sf->dev = st.st_dev;
    sf->ino = st.st_ino;
    sf->offset = 0;
    sf->lines = 0;
    sf->skipping = false;
    return WC_OK;
}

/* flock the log (LOCK_SH or LOCK_EX). If another process replaced it (a
 * compaction) while we waited, follow the path to the new file. */
static int s_lock(struct wc_statefile *sf, int op)
{
    sf->refused = NULL; /* every operation starts here */
    for (int i = 0; i < S_LOCK_TRIES; i++) {
        struct stat st;

        if (sf->fd < 0 && s_open_file(sf) != WC_OK)
            return WC_ERR_IO;
        while (flock(sf->fd, op) != 0) {
            if (errno != EINTR)
                return WC_ERR_IO;
        }
        if (fstatat(sf->dirfd, WC_STATEFILE_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_dev == sf->dev && st.st_ino == sf->ino)
            return WC_OK;
        WC_LOGD(sf->logger, NULL, "state file %s was replaced; reopening", sf->path);
        flock(sf->fd, LOCK_UN);
        close(sf->fd);
        sf->fd = -1;
    }
    errno = EAGAIN;
    return WC_ERR_IO;
}

static void s_unlock(struct wc_statefile *sf)
{
    if (sf->fd >= 0)
        flock(sf->fd, LOCK_UN);
}

static void s_apply_line(struct wc_statefile *sf, struct wc_str line, int64_t now,
                         size_t *malformed)
{
    char *nid = NULL, *subj = NULL;
    int64_t expires = 0;

    if (wc_dedup_parse_line(line, &nid, &subj, &expires) != WC_OK) {
        (*malformed)++;
        return;
    }
    if (expires > now)
        wc_dedup_insert(sf->dedup, nid, subj, expires);
    free(nid);
    free(subj);
}

/* Read the complete lines appended since the last look (caller holds the
 * mutex and a flock). A trailing line without '\n' is left for later. */
static int s_tail(struct wc_statefile *sf, size_t *malformed_out)
{
    size_t have = 0, malformed = 0;
    off_t pos = sf->offset;
    int64_t now = wc_clock_now_ms(&sf->clock);

    for (;;) {
        ssize_t n = pread(sf->fd, sf->rbuf + have, S_CHUNK, pos);
        size_t start = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return WC_ERR_IO;
        if (n == 0)
            break;
        pos += n;
        have += (size_t)n;
        for (;;) {
            char *nl = memchr(sf->rbuf + start, '\n', have - start);
            size_t len;

            if (!nl)
                break;
            len = (size_t)(nl - (sf->rbuf + start));
            if (sf->skipping) {
                sf->skipping = false;
                malformed++;
            } else {
                s_apply_line(sf, (struct wc_str){sf->rbuf + start, len}, now, &malformed);
            }
            sf->lines++;
            sf->offset += (off_t)(len + 1);
            start += len + 1;
        }
        memmove(sf->rbuf, sf->rbuf + start, have - start);
        have -= start;
        if (have > S_MAX_LINE) {
            sf->skipping = true;
            sf->offset += (off_t)have;
            have = 0;
        }
    }
    sf->malformed += malformed;
    if (malformed_out)
        *malformed_out = malformed;
    return WC_OK;
}

/* Tail under a shared lock, warning about malformed lines. */
static int s_refresh(struct wc_statefile *sf, const char *what)
{
    size_t bad = 0;
    int rc;

    if ((rc = s_lock(sf, LOCK_SH)) != WC_OK) {
        WC_LOGE(sf->logger, NULL, "state file %s: lock: %s", sf->path, s_why(sf));
        return rc;
    }
    rc = s_tail(sf, &bad);
    if (rc != WC_OK)
        WC_LOGE(sf->logger, NULL, "state file %s: read: %s", sf->path, strerror(errno));
    s_unlock(sf);
    if (bad > 0)
        WC_LOGW(sf->logger, NULL, "state file %s: skipped %zu malformed line(s) %s", sf->path,
                bad, what);
    return rc;
}

struct s_compact_ctx {
    int fd;
    struct wc_buf buf;
    off_t bytes;
    size_t lines;
};

static int s_compact_flush(struct s_compact_ctx *c)
{
    if (c->buf.len == 0)
        return WC_OK;
    if (s_write_all(c->fd, c->buf.ptr, c->buf.len) != WC_OK)
        return WC_ERR_IO;
    c->bytes += (off_t)c->buf.len;
    wc_buf_reset(&c->buf);
    return WC_OK;
}

static int s_compact_entry(void *ctx, const char *notifier_id, const char *subject,
                           int64_t expires_ms)
{
    struct s_compact_ctx *c = ctx;
    int rc;

    if ((rc = wc_dedup_format_line(notifier_id, subject, expires_ms, &c->buf)) != WC_OK)
        return rc;
    c->lines++;
    return c->buf.len >= S_CHUNK ? s_compact_flush(c) : WC_OK;
}

/* A new temp file DIR/.accepted.log.<pid>.<n> (O_EXCL: a name that exists,
 * whatever it is, is skipped); its name in name. -1 on failure. */
static int s_open_temp(struct wc_statefile *sf, struct wc_buf *name, struct stat *st)
{
    for (int i = 0; i < S_TEMP_TRIES; i++) {
        int fd;

        wc_buf_reset(name);
        if (wc_buf_appendf(name, ".%s.%ld.%u", WC_STATEFILE_NAME, (long)getpid(),
                           sf->temp_seq++) != WC_OK) {
            errno = ENOMEM;
            return -1;
        }
        if ((fd = s_open_at(sf, name->ptr, O_EXCL, st)) >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Caller holds the mutex. force: rewrite even below the threshold. */
static int s_compact_locked(struct wc_statefile *sf, bool force)
{
    struct wc_buf tmp = WC_BUF_INIT;
    struct s_compact_ctx c = {.fd = -1, .buf = WC_BUF_INIT};
    bool locked = false, renamed = false;
    size_t live, before, bad = 0;
    struct stat st;
    int rc;

    if ((rc = s_lock(sf, LOCK_EX)) != WC_OK)
        goto out;
    locked = true;
    /* take in what other processes appended, so the rewrite keeps it */
    if ((rc = s_tail(sf, &bad)) != WC_OK)
        goto out;
    wc_dedup_prune(sf->dedup);
    live = wc_dedup_size(sf->dedup);
    before = sf->lines;
    if (!force && !(sf->lines > WC_STATEFILE_COMPACT_MIN_LINES && sf->lines > 2 * live))
        goto out;
    if ((c.fd = s_open_temp(sf, &tmp, &st)) < 0) { /* mode 0600 */
        rc = WC_ERR_IO;
        goto out;
    }
    if ((rc = wc_dedup_foreach(sf->dedup, s_compact_entry, &c)) != WC_OK)
        goto out;
    if ((rc = s_compact_flush(&c)) != WC_OK)
        goto out;
    if ((rc = s_fsync(sf, c.fd)) != WC_OK)
        goto out;
    if (renameat(sf->dirfd, tmp.ptr, sf->dirfd, WC_STATEFILE_NAME) != 0) {
        rc = WC_ERR_IO;
        goto out;
    }
    renamed = true;
    if (s_fsync_dir(sf) != WC_OK)
        WC_LOGW(sf->logger, NULL, "state directory %s: fsync: %s", sf->dir, strerror(errno));
    /* the new file is ours: switch to it, already read to its end */
    s_unlock(sf);
    locked = false;
    close(sf->fd);
    sf->fd = c.fd;
    c.fd = -1;
    sf->dev = st.st_dev;
    sf->ino = st.st_ino;
    sf->offset = c.bytes;
    sf->lines = c.lines;
    sf->skipping = false;
    sf->compactions++;
    WC_LOGI(sf->logger, NULL, "state file %s compacted: %zu lines -> %zu", sf->path, before,
            c.lines);
out:
    if (rc != WC_OK)
        WC_LOGE(sf->logger, NULL, "state file %s: compaction failed: %s (%s)", sf->path,
                wc_strerror(rc), s_why(sf));
    if (c.fd >= 0) {
        close(c.fd);
        if (!renamed)
            unlinkat(sf->dirfd, tmp.ptr, 0);
    }
    if (locked)
        s_unlock(sf);
    wc_buf_clean_up(&c.buf);
    wc_buf_clean_up(&tmp);
    return rc;
}

/* A crash during a compaction leaves its temp file behind. None can be in
 * progress while we hold the exclusive lock on the current log (a compactor
 * holds it until its rename is done), so remove them then. */
static int s_remove_stale_temps(struct wc_statefile *sf)
{
    static const char prefix[] = "." WC_STATEFILE_NAME ".";
    DIR *d = NULL;
    struct dirent *e;
    int rc, fd;

    if ((rc = s_lock(sf, LOCK_EX)) != WC_OK)
        return rc;
    /* a descriptor of its own: readdir moves the offset */
    if ((fd = openat(sf->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
        !(d = fdopendir(fd)))
        close(fd);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, prefix, sizeof(prefix) - 1) != 0)
                continue;
            /* a symlink is removed itself, never what it points to */
            if (unlinkat(sf->dirfd, e->d_name, 0) == 0)
                WC_LOGI(sf->logger, NULL, "state directory %s: removed %s left by a crash",
                        sf->dir, e->d_name);
        }
        closedir(d);
    }
    s_unlock(sf);
    return WC_OK;
}

/* The object, before any I/O; NULL when out of memory. */
static struct wc_statefile *s_alloc(const char *dir, int64_t ttl_ms,
                                    const struct wc_clock *clock, struct wc_logger *logger)
{
    struct wc_statefile *sf = calloc(1, sizeof(*sf));
    struct wc_buf path = WC_BUF_INIT;

    if (!sf)
        return NULL;
    sf->fd = -1;
    sf->dirfd = -1;
    if (pthread_mutex_init(&sf->lock, NULL) != 0) {
        free(sf);
        return NULL;
    }
    sf->clock = clock ? *clock : wc_clock_system();
    sf->logger = logger;
    sf->dir = wc_strdup(dir);
    if (wc_buf_appendf(&path, "%s/%s", dir, WC_STATEFILE_NAME) == WC_OK)
        sf->path = wc_buf_steal(&path);
    sf->rbuf = malloc(S_MAX_LINE + S_CHUNK);
    sf->dedup = wc_dedup_new(ttl_ms, &sf->clock);
    wc_buf_clean_up(&path);
    if (!sf->dir || !sf->path || !sf->rbuf || !sf->dedup) {
        wc_statefile_close(sf);
        return NULL;
    }
    return sf;
}

struct wc_statefile *wc_statefile_open(const char *dir, int64_t ttl_ms,
                                       const struct wc_clock *clock,
                                       struct wc_logger *logger, char *err, size_t errlen)
{
    struct wc_statefile *sf = NULL;
    struct stat st;

    wc_errf(err, errlen, "%s", "");
    if (wc_str_empty(dir)) {
        wc_errf(err, errlen, "state directory is not set");
        goto fail;
    }
    if (s_mkdirs(dir) != 0) {
        wc_errf(err, errlen, "state directory %s: cannot create: %s", dir, strerror(errno));
        goto fail;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        wc_errf(err, errlen, "state directory %s: not writable: %s", dir, strerror(errno));
        goto fail;
    }
    if (!(sf = s_alloc(dir, ttl_ms, clock, logger))) {
        wc_errf(err, errlen, "state directory %s: out of memory", dir);
        goto fail;
    }
    if ((sf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        fstat(sf->dirfd, &st) != 0) {
        wc_errf(err, errlen, "state directory %s: cannot open: %s", dir, strerror(errno));
        goto fail;
    }
    /* what was opened is checked (not the path, which could change) */
    if (st.st_uid != geteuid()) {
        wc_errf(err, errlen,
                "state directory %s is owned by uid %lu, not by the running user (uid %lu): "
                "refused", dir, (unsigned long)st.st_uid, (unsigned long)geteuid());
        goto fail;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        wc_errf(err, errlen,
                "state directory %s is writable by %s (mode %04o): refused; make it 0700",
                dir, st.st_mode & S_IWOTH ? "everyone" : "its group",
                (unsigned)(st.st_mode & 07777));
        goto fail;
    }
    if (s_open_file(sf) != WC_OK) {
        wc_errf(err, errlen, "state file %s: cannot open: %s", sf->path, s_why(sf));
        goto fail;
    }
    /* the file's directory entry, if we just created it (some file systems
     * cannot fsync a directory: not worth refusing to start for) */
    if (s_fsync_dir(sf) != WC_OK)
        WC_LOGW(sf->logger, NULL, "state directory %s: fsync: %s", dir, strerror(errno));
    if (s_remove_stale_temps(sf) != WC_OK || s_refresh(sf, "on load") != WC_OK) {
        wc_errf(err, errlen, "state file %s: cannot read: %s", sf->path, s_why(sf));
        goto fail;
    }
    WC_LOGI(sf->logger, NULL, "state file %s: %zu live entries, %zu lines", sf->path,
            wc_dedup_size(sf->dedup), sf->lines);
    return sf;
fail:
    wc_statefile_close(sf);
    return NULL;
}

void wc_statefile_close(struct wc_statefile *sf)
{
    if (!sf)
        return;
    if (sf->fd >= 0)
        close(sf->fd);
    if (sf->dirfd >= 0)
        close(sf->dirfd);
    wc_dedup_destroy(sf->dedup);
    for (size_t i = 0; i < sf->n_pending; i++)
        free(sf->pending[i]);
    free(sf->pending);
    free(sf->rbuf);
    free(sf->path);
    free(sf->dir);
    pthread_mutex_destroy(&sf->lock);
    free(sf);
}

static bool s_valid(const char *notifier_id, const char *subject)
{
    return !wc_str_empty(notifier_id) && !wc_str_empty(subject);
}

bool wc_statefile_accepted(struct wc_statefile *sf, const char *notifier_id,
                           const char *subject)
{
    if (!sf || !s_valid(notifier_id, subject))
        return false;
    if (wc_dedup_contains(sf->dedup, notifier_id, subject))
        return true;
    /* maybe another process sharing the directory recorded it */
    pthread_mutex_lock(&sf->lock);
    s_refresh(sf, "appended by another process");
    pthread_mutex_unlock(&sf->lock);
    return wc_dedup_contains(sf->dedup, notifier_id, subject);
}

/* "<notifier>\n<subject>": neither holds a newline (s_valid) */
static char *s_pending_key(const char *notifier_id, const char *subject)
{
    size_t a = strlen(notifier_id), b = strlen(subject);
    char *k = malloc(a + b + 2);

    if (k) {
        memcpy(k, notifier_id, a);
        k[a] = '\n';
        memcpy(k + a + 1, subject, b + 1);
    }
    return k;
}

static size_t s_pending_find(const struct wc_statefile *sf, const char *key)
{
    for (size_t i = 0; i < sf->n_pending; i++)
        if (!strcmp(sf->pending[i], key))
            return i;
    return SIZE_MAX;
}

int wc_statefile_record(struct wc_statefile *sf, const char *notifier_id, const char *subject)
{
    struct wc_buf line = WC_BUF_INIT;
    struct stat st;
    int64_t expires;
    size_t bad = 0, pending;
    char *key;
    bool locked = false;
    int rc;

    if (!sf || !s_valid(notifier_id, subject))
        return WC_ERR_INVALID;
    if (!(key = s_pending_key(notifier_id, subject)))
        return WC_ERR_NOMEM;
    expires = wc_clock_now_ms(&sf->clock) + wc_dedup_ttl_ms(sf->dedup);
    pthread_mutex_lock(&sf->lock);
    pending = s_pending_find(sf, key);
    if (pending == SIZE_MAX && wc_dedup_contains(sf->dedup, notifier_id, subject)) {
        /* durable already (read from the file, or written by us) */
        pthread_mutex_unlock(&sf->lock);
        free(key);
        return WC_OK;
    }
    if ((rc = s_lock(sf, LOCK_EX)) != WC_OK)
        goto out;
    locked = true;
    if ((rc = s_tail(sf, &bad)) != WC_OK)
        goto out;
    if (fstat(sf->fd, &st) != 0) {
        rc = WC_ERR_IO;
        goto out;
    }
    /* A line cut short by a crash (no '\n'): end it so that ours starts on a
     * line of its own, and spoil it with two spaces (an empty or spaced
     * field), so that a cut that happens to look whole ("<ms> slack#0 ev-1"
     * from "<ms> slack#0 ev-12/...") is never taken for a record. */
    if (st.st_size > sf->offset || sf->skipping) {
        if ((rc = wc_buf_append_cstr(&line, S_CUT_MARK)) != WC_OK)
            goto out;
    }
    if ((rc = wc_dedup_format_line(notifier_id, subject, expires, &line)) != WC_OK)
        goto out;
    if (line.len > S_MAX_LINE) { /* it could not be read back */
        rc = WC_ERR_TOO_LARGE;
        goto out;
    }
    if ((rc = s_write_all(sf->fd, line.ptr, line.len)) != WC_OK)
        goto out;
    if ((rc = s_fsync(sf, sf->fd)) != WC_OK)
        goto out;
    /* read our own line back (keeps the line count exact) */
    rc = s_tail(sf, &bad);
out:
    if (rc != WC_OK)
        WC_LOGE(sf->logger, NULL, "state file %s: cannot record %s: %s (%s)", sf->path,
                notifier_id, wc_strerror(rc), s_why(sf));
    if (locked)
        s_unlock(sf);
    /* the notifier accepted it: remember it here even if the file failed,
     * and that it still has to be written */
    if (wc_dedup_insert(sf->dedup, notifier_id, subject, expires) != WC_OK && rc == WC_OK)
        rc = WC_ERR_NOMEM;
    if (rc == WC_OK && pending != SIZE_MAX) {
        free(sf->pending[pending]);
        sf->pending[pending] = sf->pending[--sf->n_pending];
    } else if (rc != WC_OK && pending == SIZE_MAX && sf->n_pending < S_MAX_PENDING) {
        char **grown = realloc(sf->pending, (sf->n_pending + 1) * sizeof(*grown));

        if (grown) {
            sf->pending = grown;
            sf->pending[sf->n_pending++] = key;
            key = NULL;
        }
    }
    if (bad > 0)
        WC_LOGW(sf->logger, NULL, "state file %s: skipped %zu malformed line(s)", sf->path,
                bad);
    if (rc == WC_OK && sf->lines > WC_STATEFILE_COMPACT_MIN_LINES) {
        /* the size counts expired entries too: prune now and then to see them */
        int64_t now = wc_clock_now_ms(&sf->clock);

        if (++sf->records_since_prune >= S_PRUNE_EVERY_RECORDS ||
            now - sf->last_prune_ms >= S_PRUNE_EVERY_MS) {
            sf->records_since_prune = 0;
            sf->last_prune_ms = now;
            wc_dedup_prune(sf->dedup);
        }
        if (sf->lines > 2 * wc_dedup_size(sf->dedup))
            s_compact_locked(sf, false); /* a failure leaves the old file, still valid */
    }
    pthread_mutex_unlock(&sf->lock);
    wc_buf_clean_up(&line);
    free(key);
    return rc;
}

int wc_statefile_compact(struct wc_statefile *sf)
{
    int rc;

    if (!sf)
        return WC_ERR_INVALID;
    pthread_mutex_lock(&sf->lock);
    rc = s_compact_locked(sf, false);
    pthread_mutex_unlock(&sf->lock);
    return rc;
}

void wc_statefile_get_stats(struct wc_statefile *sf, struct wc_statefile_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!sf)
        return;
    pthread_mutex_lock(&sf->lock);
    out->entries = wc_dedup_size(sf->dedup);
    out->lines = sf->lines;
    out->malformed = sf->malformed;
    out->fsyncs = sf->fsyncs;
    out->compactions = sf->compactions;
    pthread_mutex_unlock(&sf->lock);
}

/* --- the ledger port ------------------------------------------------------- */

static bool s_ledger_accepted(struct wc_ledger *l, const char *notifier_id, const char *subject)
{
    return wc_statefile_accepted(l->impl, notifier_id, subject);
}

static int s_ledger_record(struct wc_ledger *l, const char *notifier_id, const char *subject)
{
    return wc_statefile_record(l->impl, notifier_id, subject);
}

static void s_ledger_destroy(struct wc_ledger *l)
{
    wc_statefile_close(l->impl);
}

static const struct wc_ledger_vtable s_ledger_vtable = {
    .name = "statefile",
    .accepted = s_ledger_accepted,
    .record = s_ledger_record,
    .destroy = s_ledger_destroy,
};

struct wc_ledger *wc_statefile_ledger_open(const char *dir, int64_t ttl_ms,
                                           const struct wc_clock *clock,
                                           struct wc_logger *logger, char *err, size_t errlen)
{
    struct wc_statefile *sf = wc_statefile_open(dir, ttl_ms, clock, logger, err, errlen);

    if (!sf)
        return NULL;
    sf->ledger.vtable = &s_ledger_vtable;
    sf->ledger.impl = sf;
    return &sf->ledger;
}

struct wc_statefile *wc_statefile_ledger_file(struct wc_ledger *l)
{
    return l && l->vtable == &s_ledger_vtable ? l->impl : NULL;
}
