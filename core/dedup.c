#include "core/dedup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash128.h"

#define S_SEED 0u
#define S_EMPTY 0u /* an index slot holds a ring position + 1, or this */

struct s_entry {
    uint64_t lo, hi;
    int64_t expires_ms;
};

struct wc_dedup {
    pthread_mutex_t lock;
    struct wc_clock clock;
    int64_t ttl_ms;
    struct s_entry *ring; /* cap entries; the live ones from head, in insertion order */
    size_t cap;
    size_t head;
    size_t count;
    uint32_t *index; /* open addressing, linear probing, mask + 1 slots */
    size_t mask;
    uint64_t evictions;
};

struct wc_dedup *wc_dedup_new(int64_t ttl_ms, size_t max_entries,
                              const struct wc_clock *clock)
{
    struct wc_dedup *d;
    size_t slots = 2;

    if (max_entries == 0)
        max_entries = WC_DEDUP_DEFAULT_MAX_ENTRIES;
    if (max_entries > WC_DEDUP_MAX_ENTRIES_LIMIT)
        return NULL;
    while (slots < 2 * max_entries) /* at most half full: short probes */
        slots *= 2;
    if (!(d = calloc(1, sizeof(*d))))
        return NULL;
    d->ring = calloc(max_entries, sizeof(*d->ring));
    d->index = calloc(slots, sizeof(*d->index));
    if (!d->ring || !d->index || pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d->ring);
        free(d->index);
        free(d);
        return NULL;
    }
    d->cap = max_entries;
    d->mask = slots - 1;
    d->ttl_ms = ttl_ms > 0 ? ttl_ms : WC_DEDUP_DEFAULT_TTL_MS;
    d->clock = clock ? *clock : wc_clock_system();
    return d;
}

void wc_dedup_destroy(struct wc_dedup *d)
{
    if (!d)
        return;
    free(d->ring);
    free(d->index);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int64_t wc_dedup_ttl_ms(const struct wc_dedup *d)
{
    return d ? d->ttl_ms : WC_DEDUP_DEFAULT_TTL_MS;
}

static struct wc_dedup_key s_key_final(struct wc_hash128_state *h)
{
    struct wc_hash128 v = wc_hash128_final(h);

    return (struct wc_dedup_key){v.lo, v.hi};
}

struct wc_dedup_key wc_dedup_key_of(const char *notifier_id, const char *subject)
{
    struct wc_hash128_state h;

    wc_hash128_init(&h, S_SEED);
    wc_hash128_update(&h, notifier_id, strlen(notifier_id) + 1); /* with its NUL */
    wc_hash128_update(&h, subject, strlen(subject));
    return s_key_final(&h);
}

/* ---- the ring and its index (caller holds the lock) ---- */

static size_t s_home(const struct wc_dedup *d, uint64_t lo)
{
    return (size_t)lo & d->mask;
}

/* The index slot holding key, or the empty slot where it would go. */
static size_t s_slot_of(const struct wc_dedup *d, struct wc_dedup_key k, bool *found)
{
    size_t i = s_home(d, k.lo);

    for (;; i = (i + 1) & d->mask) {
        const struct s_entry *e;

        if (d->index[i] == S_EMPTY) {
            *found = false;
            return i;
        }
        e = &d->ring[d->index[i] - 1];
        if (e->lo == k.lo && e->hi == k.hi) {
            *found = true;
            return i;
        }
    }
}

/* Empty index slot i, shifting back the entries of its probe run so that
 * every entry stays reachable from its home slot (no tombstones). */
static void s_unindex(struct wc_dedup *d, size_t i)
{
    size_t j = i;

    for (;;) {
        d->index[i] = S_EMPTY;
        for (;;) {
            size_t home;

            j = (j + 1) & d->mask;
            if (d->index[j] == S_EMPTY)
                return;
            home = s_home(d, d->ring[d->index[j] - 1].lo);
            /* j's entry may fill the hole at i if its home is not in (i, j] */
            if (((j - home) & d->mask) >= ((j - i) & d->mask))
                break;
        }
        d->index[i] = d->index[j];
        i = j;
    }
}

/* Drop the oldest entry. */
static void s_pop_head(struct wc_dedup *d)
{
    const struct s_entry *e = &d->ring[d->head];
    size_t i = s_home(d, e->lo);

    while (d->index[i] != d->head + 1)
        i = (i + 1) & d->mask;
    s_unindex(d, i);
    d->head = (d->head + 1) % d->cap;
    d->count--;
}

static bool s_find_locked(struct wc_dedup *d, struct wc_dedup_key k, struct s_entry **out)
{
    bool found = false;
    size_t i = s_slot_of(d, k, &found);

    *out = found ? &d->ring[d->index[i] - 1] : NULL;
    return found;
}

static void s_insert_locked(struct wc_dedup *d, struct wc_dedup_key k, int64_t expires_ms,
                            int64_t now)
{
    struct s_entry *e;
    size_t pos, slot;
    bool found = false;

    if (s_find_locked(d, k, &e)) {
        if (expires_ms > e->expires_ms)
            e->expires_ms = expires_ms;
        return;
    }
    /* the dead at the old end go first, whether or not room is needed */
    while (d->count > 0 && d->ring[d->head].expires_ms <= now)
        s_pop_head(d);
    if (d->count == d->cap) {
        s_pop_head(d); /* alive: the cap pushes it out */
        d->evictions++;
    }
    pos = (d->head + d->count) % d->cap;
    d->ring[pos] = (struct s_entry){k.lo, k.hi, expires_ms};
    slot = s_slot_of(d, k, &found);
    d->index[slot] = (uint32_t)(pos + 1);
    d->count++;
}

/* ---- the set ---- */

static bool s_valid_id(const char *s)
{
    return s && *s;
}

bool wc_dedup_contains_key(struct wc_dedup *d, struct wc_dedup_key key)
{
    struct s_entry *e;
    int64_t now;
    bool found;

    if (!d)
        return false;
    now = wc_clock_now_ms(&d->clock);
    pthread_mutex_lock(&d->lock);
    found = s_find_locked(d, key, &e) && e->expires_ms > now;
    pthread_mutex_unlock(&d->lock);
    return found;
}

bool wc_dedup_contains(struct wc_dedup *d, const char *notifier_id, const char *subject)
{
    if (!d || !s_valid_id(notifier_id) || !s_valid_id(subject))
        return false;
    return wc_dedup_contains_key(d, wc_dedup_key_of(notifier_id, subject));
}

int wc_dedup_insert_key(struct wc_dedup *d, struct wc_dedup_key key, int64_t expires_ms)
{
    int64_t now;

    if (!d)
        return WC_ERR_INVALID;
    now = wc_clock_now_ms(&d->clock);
    if (expires_ms == 0)
        expires_ms = now + d->ttl_ms;
    pthread_mutex_lock(&d->lock);
    s_insert_locked(d, key, expires_ms, now);
    pthread_mutex_unlock(&d->lock);
    return WC_OK;
}

int wc_dedup_insert(struct wc_dedup *d, const char *notifier_id, const char *subject,
                    int64_t expires_ms)
{
    if (!d || !s_valid_id(notifier_id) || !s_valid_id(subject))
        return WC_ERR_INVALID;
    return wc_dedup_insert_key(d, wc_dedup_key_of(notifier_id, subject), expires_ms);
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
    size_t kept = 0, dropped;
    int64_t now;

    if (!d)
        return 0;
    now = wc_clock_now_ms(&d->clock);
    pthread_mutex_lock(&d->lock);
    /* slide the live entries together, in order, then index them anew */
    for (size_t i = 0; i < d->count; i++) {
        const struct s_entry *e = &d->ring[(d->head + i) % d->cap];

        if (e->expires_ms > now)
            d->ring[(d->head + kept++) % d->cap] = *e;
    }
    dropped = d->count - kept;
    if (dropped > 0) {
        d->count = kept;
        memset(d->index, 0, (d->mask + 1) * sizeof(*d->index));
        for (size_t i = 0; i < kept; i++) {
            size_t pos = (d->head + i) % d->cap;
            bool found = false;
            size_t slot = s_slot_of(d, (struct wc_dedup_key){d->ring[pos].lo, d->ring[pos].hi},
                                    &found);

            d->index[slot] = (uint32_t)(pos + 1);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return dropped;
}

void wc_dedup_get_stats(struct wc_dedup *d, struct wc_dedup_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    out->entries = d->count;
    out->max_entries = d->cap;
    out->evictions = d->evictions;
    out->memory_bytes = sizeof(*d) + d->cap * sizeof(*d->ring) +
                        (d->mask + 1) * sizeof(*d->index);
    pthread_mutex_unlock(&d->lock);
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

/* Where a decoded field goes: into buf (room for the whole field), or,
 * with h set, through buf (a small window) into the hash. */
struct s_sink {
    char *buf;
    size_t len;
    size_t cap;
    struct wc_hash128_state *h;
};

static void s_put(struct s_sink *s, char c)
{
    if (s->h && s->len == s->cap) {
        wc_hash128_update(s->h, s->buf, s->len);
        s->len = 0;
    }
    s->buf[s->len++] = c;
}

/* Decode one field; false if malformed (empty, bad escape, %00, a raw byte
 * that should have been escaped). */
static bool s_decode(const char *p, size_t len, struct s_sink *out)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len)
                return false;
            hi = s_hexval(p[i + 1]);
            lo = s_hexval(p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            s_put(out, (char)(hi << 4 | lo));
            i += 2;
        } else if (s_raw_ok(c)) {
            s_put(out, (char)c);
        } else {
            return false;
        }
    }
    if (out->h) {
        wc_hash128_update(out->h, out->buf, out->len);
        out->len = 0;
    }
    return true;
}

/* Split a line into its expiry and its two (still encoded) fields. */
static int s_split(struct wc_str line, int64_t *expires_ms, struct wc_str *nid,
                   struct wc_str *subj)
{
    const char *p = line.ptr, *end, *sp1, *sp2;
    int64_t v = 0;
    size_t ndig = 0;

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
    *nid = (struct wc_str){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
    *subj = (struct wc_str){sp2 + 1, (size_t)(end - sp2 - 1)};
    *expires_ms = v;
    return WC_OK;
}

static char *s_decode_dup(struct wc_str field)
{
    struct s_sink s = {.cap = field.len + 1};

    if (!(s.buf = malloc(s.cap)))
        return NULL;
    if (!s_decode(field.ptr, field.len, &s)) {
        free(s.buf);
        return NULL;
    }
    s.buf[s.len] = '\0';
    return s.buf;
}

int wc_dedup_parse_line(struct wc_str line, char **notifier_id, char **subject,
                        int64_t *expires_ms)
{
    struct wc_str nid, subj;
    int64_t v = 0;

    if (notifier_id)
        *notifier_id = NULL;
    if (subject)
        *subject = NULL;
    if (!line.ptr || !notifier_id || !subject || !expires_ms)
        return WC_ERR_INVALID;
    if (s_split(line, &v, &nid, &subj) != WC_OK)
        return WC_ERR_PARSE;
    *notifier_id = s_decode_dup(nid);
    *subject = s_decode_dup(subj);
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

int wc_dedup_parse_line_key(struct wc_str line, struct wc_dedup_key *key, int64_t *expires_ms)
{
    struct wc_hash128_state h;
    char window[256];
    struct s_sink s = {.buf = window, .cap = sizeof(window), .h = &h};
    struct wc_str nid, subj;
    int64_t v = 0;

    if (!line.ptr || !key || !expires_ms)
        return WC_ERR_INVALID;
    if (s_split(line, &v, &nid, &subj) != WC_OK)
        return WC_ERR_PARSE;
    wc_hash128_init(&h, S_SEED);
    if (!s_decode(nid.ptr, nid.len, &s))
        return WC_ERR_PARSE;
    s_put(&s, '\0'); /* as wc_dedup_key_of: the id with its NUL, then the subject */
    if (!s_decode(subj.ptr, subj.len, &s))
        return WC_ERR_PARSE;
    *key = s_key_final(&h);
    *expires_ms = v;
    return WC_OK;
}
