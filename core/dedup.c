#include "core/dedup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define S_MIN_BUCKETS 64

/* One chained entry: data holds "notifier_id\0subject\0". */
struct s_entry {
    struct s_entry *next;
    uint64_t hash;
    int64_t expires_ms;
    size_t nid_len;
    size_t subj_len;
    char data[];
};

struct wc_dedup {
    pthread_mutex_t lock;
    struct wc_clock clock;
    int64_t ttl_ms;
    struct s_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
};

/* FNV-1a over notifier id, a 0x1f separator, then the subject. */
static uint64_t s_hash(const char *nid, size_t nid_len, const char *subj, size_t subj_len)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < nid_len; i++) {
        h ^= (unsigned char)nid[i];
        h *= 1099511628211ULL;
    }
    h ^= 0x1f;
    h *= 1099511628211ULL;
    for (size_t i = 0; i < subj_len; i++) {
        h ^= (unsigned char)subj[i];
        h *= 1099511628211ULL;
    }
    /* final avalanche so the low bits (the bucket index) mix well */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

struct wc_dedup *wc_dedup_new(int64_t ttl_ms, const struct wc_clock *clock)
{
    struct wc_dedup *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->buckets = calloc(S_MIN_BUCKETS, sizeof(*d->buckets));
    if (!d->buckets || pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d->buckets);
        free(d);
        return NULL;
    }
    d->nbuckets = S_MIN_BUCKETS;
    d->ttl_ms = ttl_ms > 0 ? ttl_ms : WC_DEDUP_DEFAULT_TTL_MS;
    d->clock = clock ? *clock : wc_clock_system();
    return d;
}

void wc_dedup_destroy(struct wc_dedup *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct s_entry *e = d->buckets[i];

        while (e) {
            struct s_entry *next = e->next;

            free(e);
            e = next;
        }
    }
    free(d->buckets);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int64_t wc_dedup_ttl_ms(const struct wc_dedup *d)
{
    return d ? d->ttl_ms : WC_DEDUP_DEFAULT_TTL_MS;
}

/* Caller holds the lock. */
static struct s_entry *s_find(struct wc_dedup *d, uint64_t h, const char *nid, size_t nid_len,
                              const char *subj, size_t subj_len)
{
    for (struct s_entry *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->next) {
        if (e->hash == h && e->nid_len == nid_len && e->subj_len == subj_len &&
            memcmp(e->data, nid, nid_len) == 0 &&
            memcmp(e->data + nid_len + 1, subj, subj_len) == 0)
            return e;
    }
    return NULL;
}

/* Caller holds the lock. */
static size_t s_prune_locked(struct wc_dedup *d, int64_t now)
{
    size_t dropped = 0;

    for (size_t i = 0; i < d->nbuckets; i++) {
        struct s_entry **pp = &d->buckets[i];

        while (*pp) {
            struct s_entry *e = *pp;

            if (e->expires_ms <= now) {
                *pp = e->next;
                free(e);
                dropped++;
            } else {
                pp = &e->next;
            }
        }
    }
    d->count -= dropped;
    return dropped;
}

/* Caller holds the lock. On allocation failure the table keeps its size
 * (longer chains, still correct). */
static void s_grow_locked(struct wc_dedup *d)
{
    size_t n = d->nbuckets * 2;
    struct s_entry **nb;

    if (n < d->nbuckets)
        return;
    nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct s_entry *e = d->buckets[i];

        while (e) {
            struct s_entry *next = e->next;
            size_t j = e->hash & (n - 1);

            e->next = nb[j];
            nb[j] = e;
            e = next;
        }
    }
    free(d->buckets);
    d->buckets = nb;
    d->nbuckets = n;
}

static bool s_valid_id(const char *s)
{
    return s && *s;
}

bool wc_dedup_contains(struct wc_dedup *d, const char *notifier_id, const char *subject)
{
    size_t nl, sl;
    uint64_t h;
    int64_t now;
    bool found = false;
    struct s_entry *e;

    if (!d || !s_valid_id(notifier_id) || !s_valid_id(subject))
        return false;
    nl = strlen(notifier_id);
    sl = strlen(subject);
    h = s_hash(notifier_id, nl, subject, sl);
    now = wc_clock_now_ms(&d->clock);
    pthread_mutex_lock(&d->lock);
    e = s_find(d, h, notifier_id, nl, subject, sl);
    found = e && e->expires_ms > now;
    pthread_mutex_unlock(&d->lock);
    return found;
}

int wc_dedup_insert(struct wc_dedup *d, const char *notifier_id, const char *subject,
                    int64_t expires_ms)
{
    size_t nl, sl;
    uint64_t h;
    int64_t now;
    struct s_entry *e = NULL;
    int rc = WC_OK;

    if (!d || !s_valid_id(notifier_id) || !s_valid_id(subject))
        return WC_ERR_INVALID;
    nl = strlen(notifier_id);
    sl = strlen(subject);
    h = s_hash(notifier_id, nl, subject, sl);
    now = wc_clock_now_ms(&d->clock);
    if (expires_ms == 0)
        expires_ms = now + d->ttl_ms;
    pthread_mutex_lock(&d->lock);
    e = s_find(d, h, notifier_id, nl, subject, sl);
    if (e) {
        if (expires_ms > e->expires_ms)
            e->expires_ms = expires_ms;
        goto out;
    }
    if (d->count + 1 > d->nbuckets / 4 * 3) {
        /* Drop the dead first; grow only if that did not free a quarter. */
        s_prune_locked(d, now);
        if (d->count + 1 > d->nbuckets / 2)
            s_grow_locked(d);
    }
    e = malloc(sizeof(*e) + nl + sl + 2);
    if (!e) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    e->hash = h;
    e->expires_ms = expires_ms;
    e->nid_len = nl;
    e->subj_len = sl;
    memcpy(e->data, notifier_id, nl + 1);
    memcpy(e->data + nl + 1, subject, sl + 1);
    e->next = d->buckets[h & (d->nbuckets - 1)];
    d->buckets[h & (d->nbuckets - 1)] = e;
    d->count++;
out:
    pthread_mutex_unlock(&d->lock);
    return rc;
}

size_t wc_dedup_size(struct wc_dedup *d)
{
    size_t n;

    if (!d)
        return 0;
    pthread_mutex_lock(&d->lock);
    n = d->count;
    pthread_mutex_unlock(&d->lock);
    return n;
}

size_t wc_dedup_prune(struct wc_dedup *d)
{
    size_t n;
    int64_t now;

    if (!d)
        return 0;
    now = wc_clock_now_ms(&d->clock);
    pthread_mutex_lock(&d->lock);
    n = s_prune_locked(d, now);
    pthread_mutex_unlock(&d->lock);
    return n;
}

int wc_dedup_foreach(struct wc_dedup *d, wc_dedup_foreach_fn *fn, void *ctx)
{
    int64_t now;
    int rc = WC_OK;

    if (!d || !fn)
        return WC_ERR_INVALID;
    now = wc_clock_now_ms(&d->clock);
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nbuckets && rc == WC_OK; i++) {
        for (struct s_entry *e = d->buckets[i]; e && rc == WC_OK; e = e->next) {
            if (e->expires_ms > now)
                rc = fn(ctx, e->data, e->data + e->nid_len + 1, e->expires_ms);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* ---- line format ---- */

static bool s_raw_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '%';
}

static int s_encode(const char *s, struct wc_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = WC_OK;

    for (const unsigned char *p = (const unsigned char *)s; *p && rc == WC_OK; p++) {
        if (s_raw_ok(*p)) {
            rc = wc_buf_append_char(out, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 0xf]};

            rc = wc_buf_append(out, esc, sizeof(esc));
        }
    }
    return rc;
}

int wc_dedup_format_line(const char *notifier_id, const char *subject, int64_t expires_ms,
                         struct wc_buf *out)
{
    size_t mark;
    int rc;

    if (!out || !s_valid_id(notifier_id) || !s_valid_id(subject) || expires_ms < 0)
        return WC_ERR_INVALID;
    mark = out->len;
    if ((rc = wc_buf_appendf(out, "%lld ", (long long)expires_ms)) != WC_OK)
        goto out;
    if ((rc = s_encode(notifier_id, out)) != WC_OK)
        goto out;
    if ((rc = wc_buf_append_char(out, ' ')) != WC_OK)
        goto out;
    if ((rc = s_encode(subject, out)) != WC_OK)
        goto out;
    rc = wc_buf_append_char(out, '\n');
out:
    if (rc != WC_OK && out->ptr) {
        out->len = mark;
        out->ptr[mark] = '\0';
    }
    return rc;
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one non-empty field; NULL if malformed (bad escape, %00, a raw
 * byte that should have been escaped). */
static char *s_decode(const char *p, size_t len)
{
    char *s, *o;

    if (len == 0)
        return NULL;
    s = malloc(len + 1);
    if (!s)
        return NULL;
    o = s;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len)
                goto bad;
            hi = s_hexval(p[i + 1]);
            lo = s_hexval(p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                goto bad;
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else if (s_raw_ok(c)) {
            *o++ = (char)c;
        } else {
            goto bad;
        }
    }
    *o = '\0';
    return s;
bad:
    free(s);
    return NULL;
}

int wc_dedup_parse_line(struct wc_str line, char **notifier_id, char **subject,
                        int64_t *expires_ms)
{
    const char *p = line.ptr, *end, *sp1, *sp2;
    int64_t v = 0;
    size_t ndig = 0;

    if (notifier_id)
        *notifier_id = NULL;
    if (subject)
        *subject = NULL;
    if (!p || !notifier_id || !subject || !expires_ms)
        return WC_ERR_INVALID;
    end = p + line.len;
    if (end > p && end[-1] == '\n')
        end--;
    /* expires_ms: 1-18 digits, so it cannot overflow */
    while (p < end && *p >= '0' && *p <= '9') {
        if (++ndig > 18)
            return WC_ERR_PARSE;
        v = v * 10 + (*p - '0');
        p++;
    }
    if (ndig == 0 || p >= end || *p != ' ')
        return WC_ERR_PARSE;
    sp1 = p;
    sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2)
        return WC_ERR_PARSE;
    *notifier_id = s_decode(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    *subject = s_decode(sp2 + 1, (size_t)(end - sp2 - 1));
    if (!*notifier_id || !*subject) {
        free(*notifier_id);
        free(*subject);
        *notifier_id = NULL;
        *subject = NULL;
        return WC_ERR_PARSE;
    }
    *expires_ms = v;
    return WC_OK;
}
