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
/* The file's lines are counted by expiry in S_AGE_SLOTS buckets of ttl /
 * S_AGE_SPAN ms each: enough to tell, without keeping anything per line,
 * how many have expired (to within one bucket, counted late, never early). */
#define S_AGE_SLOTS 64
#define S_AGE_SPAN 32
#define S_FOUND 1 /* a line reader's callback stops the read: found */
#define S_TEMP_TRIES 100 /* compaction temp names tried (taken by a crash) */
/* every file of ours is opened so: never through a symlink, never inherited */
#define S_OPEN_FLAGS (O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC)

/* How many of the file's lines have expired, by expiry bucket. */
struct s_ages {
    int64_t bucket_ms;
    struct {
        int64_t bucket; /* expires_ms / bucket_ms */
        size_t n;
    } slot[S_AGE_SLOTS];
    size_t dead; /* expired (or malformed) when read, or their bucket reused since */
    size_t far;  /* expiring past the horizon (a longer TTL): counted live */
};

/* A pair accepted but not durable (its write or fsync failed). */
struct s_pending {
    struct wc_dedup_key key;
    int64_t expires_ms;
    char *line; /* formatted, with its '\n': what a compaction writes for it */
};

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
    struct wc_dedup *dedup; /* the recent entries only: the file has them all */
    struct s_ages ages;     /* of the current file's lines */
    size_t malformed;
    uint64_t fsyncs;
    uint64_t compactions;
    /* pairs accepted but not yet durable (the write or fsync failed):
     * accepted() says so, so this process never posts them again, and the
     * next record() of the same pair (or a compaction) writes them. Empty
     * unless the disk fails; bounded by S_MAX_PENDING. */
    struct s_pending *pending;
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

/* --- how many lines have expired ------------------------------------------- */

static void s_ages_reset(struct s_ages *a, int64_t ttl_ms)
{
    memset(a, 0, sizeof(*a));
    a->bucket_ms = ttl_ms / S_AGE_SPAN + 1; /* a TTL spans at most S_AGE_SPAN of them */
}

/* Count one line of the file: expired (or malformed) ones at once, live
 * ones in the bucket of their expiry. */
static void s_ages_add(struct s_ages *a, bool ok, int64_t expires_ms, int64_t now,
                       int64_t ttl_ms)
{
    int64_t b;
    size_t i;

    if (!ok || expires_ms <= now) {
        a->dead++;
        return;
    }
    /* live buckets run from now to now + ttl + one: at most S_AGE_SPAN + 2
     * of them (< S_AGE_SLOTS), so a slot still holding another bucket holds
     * a past one */
    if (expires_ms > now + ttl_ms + a->bucket_ms) {
        a->far++;
        return;
    }
    b = expires_ms / a->bucket_ms;
    i = (size_t)(b % S_AGE_SLOTS);
    if (a->slot[i].n > 0 && a->slot[i].bucket != b) {
        a->dead += a->slot[i].n;
        a->slot[i].n = 0;
    }
    a->slot[i].bucket = b;
    a->slot[i].n++;
}

/* Lines known to have expired by now: those of buckets wholly past. */
static size_t s_ages_dead(const struct s_ages *a, int64_t now)
{
    size_t dead = a->dead;

    for (size_t i = 0; i < S_AGE_SLOTS; i++) {
        if (a->slot[i].n > 0 && (a->slot[i].bucket + 1) * a->bucket_ms <= now)
            dead += a->slot[i].n;
    }
    return dead;
}

/* --- the file ----------------------------------------------------------------- */

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
    s_ages_reset(&sf->ages, wc_dedup_ttl_ms(sf->dedup));
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

/* What a line reader does with each complete line, given without its '\n'
 * (ptr NULL: an over-long line, skipped). Anything but WC_OK stops the read
 * and is returned. */
typedef int s_line_fn(struct wc_statefile *sf, struct wc_str line, void *ctx);

/* Where a line reader is: it reads from off (the end of the complete lines
 * consumed so far) up to end (-1: the end of the file). */
struct s_cursor {
    off_t off;
    off_t end;
    size_t lines;  /* complete lines consumed */
    bool skipping; /* inside an over-long line: drop bytes up to its '\n' */
};

/* Stream the complete lines from c->off through sf->rbuf, S_CHUNK bytes at
 * a time: memory bounded whatever the file holds. A trailing line without
 * '\n' is left for a later read (c->off stops before it). Caller holds the
 * mutex and a flock. */
static int s_read_lines(struct wc_statefile *sf, struct s_cursor *c, s_line_fn *fn, void *ctx)
{
    size_t have = 0;
    off_t pos = c->off;
    int rc;

    for (;;) {
        size_t want = S_CHUNK, start = 0;
        ssize_t n;

        if (c->end >= 0) {
            if (pos >= c->end)
                break;
            if ((off_t)want > c->end - pos)
                want = (size_t)(c->end - pos);
        }
        n = pread(sf->fd, sf->rbuf + have, want, pos);
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
            struct wc_str line = WC_STR_NULL;
            size_t len;

            if (!nl)
                break;
            len = (size_t)(nl - (sf->rbuf + start));
            if (!c->skipping)
                line = (struct wc_str){sf->rbuf + start, len};
            c->skipping = false;
            c->lines++;
            c->off += (off_t)(len + 1);
            start += len + 1;
            if ((rc = fn(sf, line, ctx)) != WC_OK)
                return rc;
        }
        memmove(sf->rbuf, sf->rbuf + start, have - start);
        have -= start;
        if (have > S_MAX_LINE) {
            c->skipping = true;
            c->off += (off_t)have;
            have = 0;
        }
    }
    return WC_OK;
}

struct s_apply_ctx {
    int64_t now;
    size_t malformed;
};

/* A line read in order: counted, and remembered (as recent) if live. */
static int s_apply_line(struct wc_statefile *sf, struct wc_str line, void *ctx)
{
    struct s_apply_ctx *a = ctx;
    struct wc_dedup_key key;
    int64_t expires = 0;
    bool ok = line.ptr && wc_dedup_parse_line_key(line, &key, &expires) == WC_OK;

    if (!ok)
        a->malformed++;
    s_ages_add(&sf->ages, ok, expires, a->now, wc_dedup_ttl_ms(sf->dedup));
    if (ok && expires > a->now)
        wc_dedup_insert_key(sf->dedup, key, expires);
    return WC_OK;
}

/* Read the complete lines appended since the last look (caller holds the
 * mutex and a flock). A trailing line without '\n' is left for later. */
static int s_tail(struct wc_statefile *sf, size_t *malformed_out)
{
    struct s_cursor c = {.off = sf->offset, .end = -1, .skipping = sf->skipping};
    struct s_apply_ctx a = {.now = wc_clock_now_ms(&sf->clock)};
    int rc = s_read_lines(sf, &c, s_apply_line, &a);

    sf->offset = c.off;
    sf->lines += c.lines;
    sf->skipping = c.skipping;
    sf->malformed += a.malformed;
    if (malformed_out)
        *malformed_out = a.malformed;
    return rc;
}

static void s_warn_malformed(struct wc_statefile *sf, size_t bad, const char *what)
{
    if (bad > 0)
        WC_LOGW(sf->logger, NULL, "state file %s: skipped %zu malformed line(s) %s", sf->path,
                bad, what);
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
    s_warn_malformed(sf, bad, what);
    return rc;
}

struct s_find_ctx {
    struct wc_dedup_key key;
    int64_t now;
    int64_t expires_ms;
};

static int s_find_line(struct wc_statefile *sf, struct wc_str line, void *ctx)
{
    struct s_find_ctx *f = ctx;
    struct wc_dedup_key key;
    int64_t expires = 0;

    (void)sf;
    if (!line.ptr || wc_dedup_parse_line_key(line, &key, &expires) != WC_OK ||
        expires <= f->now || key.lo != f->key.lo || key.hi != f->key.hi)
        return WC_OK;
    f->expires_ms = expires;
    return S_FOUND;
}

static size_t s_pending_find(const struct wc_statefile *sf, struct wc_dedup_key key)
{
    for (size_t i = 0; i < sf->n_pending; i++)
        if (sf->pending[i].key.lo == key.lo && sf->pending[i].key.hi == key.hi)
            return i;
    return SIZE_MAX;
}

/* A miss in memory (caller holds the mutex): read what other processes
 * appended since the last look; thorough, also stream the rest of the file
 * for the pair, and put it back in memory if found there. */
static bool s_lookup_locked(struct wc_statefile *sf, struct wc_dedup_key key, bool thorough)
{
    struct s_find_ctx f = {.key = key, .now = wc_clock_now_ms(&sf->clock)};
    struct s_cursor c = {.end = -1};
    size_t bad = 0;
    bool found = false;
    int rc;

    if (s_pending_find(sf, key) != SIZE_MAX)
        return true;
    if ((rc = s_lock(sf, LOCK_SH)) != WC_OK) {
        WC_LOGE(sf->logger, NULL, "state file %s: lock: %s", sf->path, s_why(sf));
        return false;
    }
    if ((rc = s_tail(sf, &bad)) == WC_OK) {
        found = wc_dedup_contains_key(sf->dedup, key);
        if (!found && thorough) {
            c.end = sf->offset; /* every complete line, the tail just read included */
            if ((rc = s_read_lines(sf, &c, s_find_line, &f)) == S_FOUND) {
                wc_dedup_insert_key(sf->dedup, key, f.expires_ms);
                found = true;
                rc = WC_OK;
            }
        }
    }
    if (rc != WC_OK)
        WC_LOGE(sf->logger, NULL, "state file %s: read: %s", sf->path, strerror(errno));
    s_unlock(sf);
    s_warn_malformed(sf, bad, "appended by another process");
    return found;
}

struct s_compact_ctx {
    int fd;
    struct wc_buf buf;
    off_t bytes;
    size_t lines;
    int64_t now;
    struct s_ages ages; /* of the new file */
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

/* One line (with its '\n') into the new file. */
static int s_compact_put(struct s_compact_ctx *c, struct wc_str line, int64_t expires_ms,
                         int64_t ttl_ms)
{
    int rc;

    if ((rc = wc_buf_append(&c->buf, line.ptr, line.len)) != WC_OK)
        return rc;
    c->lines++;
    s_ages_add(&c->ages, true, expires_ms, c->now, ttl_ms);
    return c->buf.len >= S_CHUNK ? s_compact_flush(c) : WC_OK;
}

/* A line of the old file: kept, as it is, if it parses and is live. */
static int s_compact_line(struct wc_statefile *sf, struct wc_str line, void *ctx)
{
    struct s_compact_ctx *c = ctx;
    struct wc_dedup_key key;
    int64_t expires = 0;

    if (!line.ptr || wc_dedup_parse_line_key(line, &key, &expires) != WC_OK ||
        expires <= c->now)
        return WC_OK;
    line.len++; /* its '\n', in rbuf after it */
    return s_compact_put(c, line, expires, wc_dedup_ttl_ms(sf->dedup));
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

/* Whether the file is worth a rewrite: past WC_STATEFILE_COMPACT_MIN_LINES
 * lines, more than half of them expired (or malformed). */
static bool s_compact_due(struct wc_statefile *sf)
{
    return sf->lines > WC_STATEFILE_COMPACT_MIN_LINES &&
           2 * s_ages_dead(&sf->ages, wc_clock_now_ms(&sf->clock)) > sf->lines;
}

/* Caller holds the mutex. force: rewrite even below the threshold. The new
 * file is streamed from the old one (its live lines, as they are, in their
 * order) followed by the pending pairs, so nothing but the read buffer and
 * the write buffer is held, whatever the file's size. */
static int s_compact_locked(struct wc_statefile *sf, bool force)
{
    struct wc_buf tmp = WC_BUF_INIT;
    struct s_compact_ctx c = {.fd = -1, .buf = WC_BUF_INIT};
    struct s_cursor rd = {.end = -1};
    int64_t ttl_ms = wc_dedup_ttl_ms(sf->dedup);
    bool locked = false, renamed = false;
    size_t before = 0, bad = 0;
    struct stat st;
    int rc;

    if ((rc = s_lock(sf, LOCK_EX)) != WC_OK)
        goto out;
    locked = true;
    /* take in what other processes appended, so the rewrite keeps it */
    if ((rc = s_tail(sf, &bad)) != WC_OK)
        goto out;
    before = sf->lines;
    if (!force && !s_compact_due(sf))
        goto out;
    if ((c.fd = s_open_temp(sf, &tmp, &st)) < 0) { /* mode 0600 */
        rc = WC_ERR_IO;
        goto out;
    }
    c.now = wc_clock_now_ms(&sf->clock);
    s_ages_reset(&c.ages, ttl_ms);
    rd.end = sf->offset; /* the complete lines: one cut short by a crash goes */
    if ((rc = s_read_lines(sf, &rd, s_compact_line, &c)) != WC_OK)
        goto out;
    for (size_t i = 0; i < sf->n_pending && rc == WC_OK; i++) {
        const struct s_pending *p = &sf->pending[i];
        struct wc_str line = wc_str_from_cstr(p->line);

        if (p->expires_ms > c.now && line.len <= S_MAX_LINE)
            rc = s_compact_put(&c, line, p->expires_ms, ttl_ms);
    }
    if (rc != WC_OK || (rc = s_compact_flush(&c)) != WC_OK)
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
    sf->ages = c.ages;
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
    s_warn_malformed(sf, bad, "appended by another process");
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

/* The object, before any I/O; NULL when out of memory (or max_entries is
 * past WC_DEDUP_MAX_ENTRIES_LIMIT). */
static struct wc_statefile *s_alloc(const char *dir, int64_t ttl_ms, size_t max_entries,
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
    sf->dedup = wc_dedup_new(ttl_ms, max_entries, &sf->clock);
    wc_buf_clean_up(&path);
    if (!sf->dir || !sf->path || !sf->rbuf || !sf->dedup) {
        wc_statefile_close(sf);
        return NULL;
    }
    return sf;
}

struct wc_statefile *wc_statefile_open(const char *dir, int64_t ttl_ms, size_t max_entries,
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
    if (max_entries > WC_DEDUP_MAX_ENTRIES_LIMIT) {
        wc_errf(err, errlen, "state directory %s: %zu entries in memory is past the limit (%zu)",
                dir, max_entries, WC_DEDUP_MAX_ENTRIES_LIMIT);
        goto fail;
    }
    if (!(sf = s_alloc(dir, ttl_ms, max_entries, clock, logger))) {
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
    WC_LOGI(sf->logger, NULL, "state file %s: %zu live entries, %zu lines, %zu in memory",
            sf->path, sf->lines - s_ages_dead(&sf->ages, wc_clock_now_ms(&sf->clock)),
            sf->lines, wc_dedup_size(sf->dedup));
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
        free(sf->pending[i].line);
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

static bool s_accepted(struct wc_statefile *sf, const char *notifier_id, const char *subject,
                       bool thorough)
{
    struct wc_dedup_key key;
    bool found;

    if (!sf || !s_valid(notifier_id, subject))
        return false;
    key = wc_dedup_key_of(notifier_id, subject);
    if (wc_dedup_contains_key(sf->dedup, key))
        return true;
    pthread_mutex_lock(&sf->lock);
    found = s_lookup_locked(sf, key, thorough);
    pthread_mutex_unlock(&sf->lock);
    return found;
}

bool wc_statefile_accepted(struct wc_statefile *sf, const char *notifier_id,
                           const char *subject)
{
    return s_accepted(sf, notifier_id, subject, false);
}

bool wc_statefile_accepted_thorough(struct wc_statefile *sf, const char *notifier_id,
                                    const char *subject)
{
    return s_accepted(sf, notifier_id, subject, true);
}

/* Remember a pair the file could not take (unless S_MAX_PENDING are, or
 * memory is short: then only the memory's entry says it is accepted). */
static void s_pending_add(struct wc_statefile *sf, struct wc_dedup_key key,
                          const char *notifier_id, const char *subject, int64_t expires_ms)
{
    struct wc_buf line = WC_BUF_INIT;
    struct s_pending *grown;

    if (sf->n_pending >= S_MAX_PENDING ||
        wc_dedup_format_line(notifier_id, subject, expires_ms, &line) != WC_OK)
        goto fail;
    if (!(grown = realloc(sf->pending, (sf->n_pending + 1) * sizeof(*grown))))
        goto fail;
    sf->pending = grown;
    sf->pending[sf->n_pending++] = (struct s_pending){key, expires_ms, wc_buf_steal(&line)};
    return;
fail:
    wc_buf_clean_up(&line);
}

int wc_statefile_record(struct wc_statefile *sf, const char *notifier_id, const char *subject)
{
    struct wc_buf line = WC_BUF_INIT;
    struct wc_dedup_key key;
    struct stat st;
    int64_t expires;
    size_t bad = 0, pending;
    bool locked = false;
    int rc;

    if (!sf || !s_valid(notifier_id, subject))
        return WC_ERR_INVALID;
    key = wc_dedup_key_of(notifier_id, subject);
    expires = wc_clock_now_ms(&sf->clock) + wc_dedup_ttl_ms(sf->dedup);
    pthread_mutex_lock(&sf->lock);
    pending = s_pending_find(sf, key);
    if (pending == SIZE_MAX && wc_dedup_contains_key(sf->dedup, key)) {
        /* durable already (read from the file, or written by us) */
        pthread_mutex_unlock(&sf->lock);
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
    if (wc_dedup_insert_key(sf->dedup, key, expires) != WC_OK && rc == WC_OK)
        rc = WC_ERR_NOMEM;
    if (rc == WC_OK && pending != SIZE_MAX) {
        free(sf->pending[pending].line);
        sf->pending[pending] = sf->pending[--sf->n_pending];
    } else if (rc != WC_OK && pending == SIZE_MAX) {
        s_pending_add(sf, key, notifier_id, subject, expires);
    }
    if (bad > 0)
        WC_LOGW(sf->logger, NULL, "state file %s: skipped %zu malformed line(s)", sf->path,
                bad);
    if (rc == WC_OK && s_compact_due(sf))
        s_compact_locked(sf, false); /* a failure leaves the old file, still valid */
    pthread_mutex_unlock(&sf->lock);
    wc_buf_clean_up(&line);
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
    struct wc_dedup_stats ds;

    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!sf)
        return;
    pthread_mutex_lock(&sf->lock);
    wc_dedup_get_stats(sf->dedup, &ds);
    out->entries = ds.entries;
    out->max_entries = ds.max_entries;
    out->evictions = ds.evictions;
    out->lines = sf->lines;
    out->expired_lines = s_ages_dead(&sf->ages, wc_clock_now_ms(&sf->clock));
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

static bool s_ledger_accepted_thorough(struct wc_ledger *l, const char *notifier_id,
                                       const char *subject)
{
    return wc_statefile_accepted_thorough(l->impl, notifier_id, subject);
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
    .accepted_thorough = s_ledger_accepted_thorough,
    .record = s_ledger_record,
    .destroy = s_ledger_destroy,
};

struct wc_ledger *wc_statefile_ledger_open(const char *dir, int64_t ttl_ms, size_t max_entries,
                                           const struct wc_clock *clock,
                                           struct wc_logger *logger, char *err, size_t errlen)
{
    struct wc_statefile *sf = wc_statefile_open(dir, ttl_ms, max_entries, clock, logger, err,
                                                errlen);

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
