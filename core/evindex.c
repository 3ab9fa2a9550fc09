/* evindex.c - the event index: one block per event, two hash tables of
 * keys, a heap by eventTime.
 *
 * Each event is packed into a single allocation (its struct wc_event, the
 * arrays and every string), so eviction is one free and the bytes counted
 * are the bytes held. A key is (account, region, kind, value): kind EventId
 * for the event id, Name for each resources[].name; every key of an event
 * is a post in the key table, chained in a bucket, pointing back at its
 * event. Watches are kept the same way in a table of their own, keyed by
 * what their lookups ask for, so an arriving event finds the changes it may
 * decide with the same probes. The heap (min by eventTime, then arrival)
 * gives the oldest event for expiry and eviction.
 *
 * Memory is counted as glibc's malloc rounds it (16-byte chunks with an
 * 8-byte header, 32 bytes at least): tests/bench/evindex_bench.c compares
 * the count with mallinfo2().
 */
#include "core/evindex.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/trail.h"

#define S_KIND_ID 1u
#define S_KIND_NAME 2u
#define S_MIN_BUCKETS 1024u
#define S_IDENTITY_FIELDS 12
#define S_EVENT_FIELDS 9

struct s_post {
    struct s_post *next; /* in its bucket */
    uint64_t hash;
    const char *key;     /* in the owner's block */
    void *owner;         /* struct s_entry or struct s_watch */
    unsigned kind;
};

struct s_entry {
    struct wc_event ev; /* strings and arrays in this block */
    uint64_t seq;
    size_t bytes;       /* what the block costs */
    size_t n_posts;
    struct s_post posts[];
};

struct s_watch {
    uint64_t id;
    char *account;
    char *region;
    int64_t start_ms; /* the plan's window (as wc_trail_plan makes it) */
    int64_t end_ms;
    size_t bytes;
    size_t n_posts;
    struct s_post posts[WC_TRAIL_MAX_QUERIES];
};

struct s_table {
    struct s_post **buckets;
    size_t n_buckets; /* a power of two */
    size_t n_posts;
};

struct wc_evindex {
    int64_t retention_ms;
    size_t max_bytes;
    size_t bytes;          /* entries + watches + tables + this struct */
    struct s_table keys;
    struct s_table watch_keys;
    struct s_entry **heap; /* min-heap by (eventTime, seq) */
    size_t n_heap;
    size_t cap_heap;
    struct s_watch **watches;
    size_t n_watches;
    size_t cap_watches;
    uint64_t seq;
    int64_t cap_horizon_ms; /* one ms after the youngest event evicted for bytes */
    int64_t newest_ms;      /* eventTime of the newest event held (when any) */
    struct wc_evindex_stats st;
};

/* --- memory accounting ------------------------------------------------------ */

/* What malloc(n) takes: glibc rounds n + 8 up to 16, 32 at least. */
static size_t s_cost(size_t n)
{
    size_t c;

    if (n == 0)
        return 0;
    c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

static size_t s_table_cost(const struct s_table *t)
{
    return s_cost(t->n_buckets * sizeof(*t->buckets));
}

/* --- hashing ----------------------------------------------------------------- */

static uint64_t s_mix(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    h ^= 0xff; /* separator: ("ab","c") differs from ("a","bc") */
    h *= 0x100000001b3ULL;
    return h;
}

static uint64_t s_hash(const char *account, const char *region, unsigned kind, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ kind;

    h = s_mix(h, account);
    h = s_mix(h, region);
    h = s_mix(h, key);
    /* fold the high bits in: the bucket is taken from the low ones */
    return h ^ (h >> 29) ^ (h >> 47);
}

static int s_table_init(struct s_table *t, size_t n)
{
    t->buckets = calloc(n, sizeof(*t->buckets));
    if (!t->buckets)
        return WC_ERR_NOMEM;
    t->n_buckets = n;
    t->n_posts = 0;
    return WC_OK;
}

/* Double the buckets when posts outnumber them (best effort: a failed
 * growth leaves the table as it was, only slower). */
static void s_table_grow(struct wc_evindex *x, struct s_table *t)
{
    size_t n = t->n_buckets * 2;
    struct s_post **b;

    if (t->n_posts <= t->n_buckets || n > SIZE_MAX / sizeof(*b))
        return;
    if (!(b = calloc(n, sizeof(*b))))
        return;
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct s_post *p = t->buckets[i], *next;

        for (; p; p = next) {
            next = p->next;
            p->next = b[p->hash & (n - 1)];
            b[p->hash & (n - 1)] = p;
        }
    }
    x->bytes -= s_table_cost(t);
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
    x->bytes += s_table_cost(t);
}

static void s_table_insert(struct s_table *t, struct s_post *p)
{
    struct s_post **b = &t->buckets[p->hash & (t->n_buckets - 1)];

    p->next = *b;
    *b = p;
    t->n_posts++;
}

static void s_table_remove(struct s_table *t, struct s_post *p)
{
    struct s_post **pp = &t->buckets[p->hash & (t->n_buckets - 1)];

    for (; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            t->n_posts--;
            return;
        }
    }
}

/* --- packing an event into one block ---------------------------------------- */

static void s_string_fields(struct wc_event *e, char **f[S_EVENT_FIELDS + S_IDENTITY_FIELDS])
{
    struct wc_user_identity *id = &e->identity;
    size_t i = 0;

    f[i++] = &e->event_id;
    f[i++] = &e->event_name;
    f[i++] = &e->event_source;
    f[i++] = &e->event_type;
    f[i++] = &e->aws_region;
    f[i++] = &e->recipient_account_id;
    f[i++] = &e->source_ip;
    f[i++] = &e->user_agent;
    f[i++] = &e->error_code;
    f[i++] = &id->type;
    f[i++] = &id->principal_id;
    f[i++] = &id->access_key_id;
    f[i++] = &id->arn;
    f[i++] = &id->account_id;
    f[i++] = &id->user_name;
    f[i++] = &id->invoked_by;
    f[i++] = &id->issuer_type;
    f[i++] = &id->issuer_arn;
    f[i++] = &id->issuer_user_name;
    f[i++] = &id->session_name;
    f[i++] = &id->identity_store_user;
}

static size_t s_len0(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copy s to *cursor; NULL stays NULL. */
static char *s_put(char **cursor, const char *s)
{
    char *d = *cursor;
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

/* The number of distinct non-empty resource names of e. */
static bool s_name_seen(const struct wc_event *e, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++)
        if (e->resources[i].name && !strcmp(e->resources[i].name, name))
            return true;
    return false;
}

static size_t s_n_names(const struct wc_event *e)
{
    size_t n = 0;

    for (size_t i = 0; i < e->n_resources; i++)
        if (!wc_str_empty(e->resources[i].name) && !s_name_seen(e, i, e->resources[i].name))
            n++;
    return n;
}

#define S_ALIGN(n) (((n) + 15) & ~(size_t)15)

static struct s_entry *s_pack(const struct wc_event *src)
{
    struct wc_event tmp = *src;
    char **f[S_EVENT_FIELDS + S_IDENTITY_FIELDS];
    size_t n_posts = 1 + s_n_names(src), head, res_off, par_off, str_off, total, k = 0;
    struct s_entry *en;
    char *cur;

    s_string_fields(&tmp, f);
    head = S_ALIGN(sizeof(struct s_entry) + n_posts * sizeof(struct s_post));
    res_off = head;
    par_off = res_off + S_ALIGN(src->n_resources * sizeof(struct wc_event_resource));
    str_off = par_off + S_ALIGN(src->param_strings.len * sizeof(char *));
    total = str_off;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        total += s_len0(*f[i]);
    for (size_t i = 0; i < src->n_resources; i++)
        total += s_len0(src->resources[i].type) + s_len0(src->resources[i].name) +
                 s_len0(src->resources[i].arn);
    for (size_t i = 0; i < src->param_strings.len; i++)
        total += s_len0(src->param_strings.items[i]);

    if (!(en = malloc(total)))
        return NULL;
    memset(en, 0, head);
    en->ev = *src;
    en->bytes = s_cost(total);
    en->n_posts = n_posts;
    cur = (char *)en + str_off;
    s_string_fields(&en->ev, f);
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        *f[i] = s_put(&cur, *f[i]);
    en->ev.resources = src->n_resources ? (void *)((char *)en + res_off) : NULL;
    for (size_t i = 0; i < src->n_resources; i++) {
        en->ev.resources[i].type = s_put(&cur, src->resources[i].type);
        en->ev.resources[i].name = s_put(&cur, src->resources[i].name);
        en->ev.resources[i].arn = s_put(&cur, src->resources[i].arn);
    }
    en->ev.param_strings.items = src->param_strings.len ? (void *)((char *)en + par_off) : NULL;
    en->ev.param_strings.len = en->ev.param_strings.cap = src->param_strings.len;
    for (size_t i = 0; i < src->param_strings.len; i++)
        en->ev.param_strings.items[i] = s_put(&cur, src->param_strings.items[i]);

    /* the keys: the event id, then each name once */
    en->posts[k].key = en->ev.event_id;
    en->posts[k++].kind = S_KIND_ID;
    for (size_t i = 0; i < en->ev.n_resources; i++) {
        const char *name = en->ev.resources[i].name;

        if (wc_str_empty(name) || s_name_seen(&en->ev, i, name))
            continue;
        en->posts[k].key = name;
        en->posts[k++].kind = S_KIND_NAME;
    }
    for (size_t i = 0; i < n_posts; i++) {
        en->posts[i].owner = en;
        en->posts[i].hash = s_hash(en->ev.recipient_account_id, en->ev.aws_region,
                                   en->posts[i].kind, en->posts[i].key);
    }
    return en;
}

/* --- the heap ----------------------------------------------------------------- */

static bool s_older(const struct s_entry *a, const struct s_entry *b)
{
    if (a->ev.event_time_ms != b->ev.event_time_ms)
        return a->ev.event_time_ms < b->ev.event_time_ms;
    return a->seq < b->seq;
}

static int s_heap_push(struct wc_evindex *x, struct s_entry *en)
{
    size_t i;

    if (x->n_heap == x->cap_heap) {
        size_t ncap = x->cap_heap ? x->cap_heap * 2 : 1024;
        struct s_entry **h = realloc(x->heap, ncap * sizeof(*h));

        if (!h)
            return WC_ERR_NOMEM;
        x->bytes -= s_cost(x->cap_heap * sizeof(*h));
        x->heap = h;
        x->cap_heap = ncap;
        x->bytes += s_cost(x->cap_heap * sizeof(*h));
    }
    i = x->n_heap++;
    while (i > 0 && s_older(en, x->heap[(i - 1) / 2])) {
        x->heap[i] = x->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    x->heap[i] = en;
    return WC_OK;
}

static struct s_entry *s_heap_pop(struct wc_evindex *x)
{
    struct s_entry *top, *last;
    size_t i = 0;

    if (!x->n_heap)
        return NULL;
    top = x->heap[0];
    last = x->heap[--x->n_heap];
    for (;;) {
        size_t l = 2 * i + 1, m = l;

        if (l >= x->n_heap)
            break;
        if (l + 1 < x->n_heap && s_older(x->heap[l + 1], x->heap[l]))
            m = l + 1;
        if (!s_older(x->heap[m], last))
            break;
        x->heap[i] = x->heap[m];
        i = m;
    }
    if (x->n_heap)
        x->heap[i] = last;
    return top;
}

/* --- entries ------------------------------------------------------------------- */

static bool s_same_origin(const struct s_entry *en, const char *account, const char *region)
{
    return wc_streq(en->ev.recipient_account_id, account) && wc_streq(en->ev.aws_region, region);
}

static struct s_entry *s_find_id(const struct wc_evindex *x, const char *account,
                                 const char *region, const char *event_id)
{
    uint64_t h = s_hash(account, region, S_KIND_ID, event_id);

    for (struct s_post *p = x->keys.buckets[h & (x->keys.n_buckets - 1)]; p; p = p->next)
        if (p->hash == h && p->kind == S_KIND_ID && !strcmp(p->key, event_id) &&
            s_same_origin(p->owner, account, region))
            return p->owner;
    return NULL;
}

/* Unlink the oldest event and free it; its bytes. */
static size_t s_drop_oldest(struct wc_evindex *x)
{
    struct s_entry *en = s_heap_pop(x);
    size_t bytes;

    if (!en)
        return 0;
    for (size_t i = 0; i < en->n_posts; i++)
        s_table_remove(&x->keys, &en->posts[i]);
    bytes = en->bytes;
    x->bytes -= bytes;
    x->st.events--;
    free(en);
    return bytes;
}

void wc_evindex_expire(struct wc_evindex *x, int64_t now_ms)
{
    if (!x)
        return;
    while (x->n_heap && x->heap[0]->ev.event_time_ms < now_ms - x->retention_ms) {
        s_drop_oldest(x);
        x->st.expired++;
    }
}

static void s_evict_for_bytes(struct wc_evindex *x)
{
    while (x->bytes > x->max_bytes && x->n_heap) {
        int64_t t = x->heap[0]->ev.event_time_ms;

        x->st.evicted_bytes += s_drop_oldest(x);
        x->st.evicted++;
        if (t + 1 > x->cap_horizon_ms)
            x->cap_horizon_ms = t + 1;
    }
}

/* --- watches ------------------------------------------------------------------- */

static int s_wake_push(struct wc_evindex_wake *w, size_t from, uint64_t id)
{
    for (size_t i = from; i < w->len; i++)
        if (w->ids[i] == id)
            return WC_OK;
    if (w->len == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        uint64_t *n = realloc(w->ids, ncap * sizeof(*n));

        if (!n)
            return WC_ERR_NOMEM;
        w->ids = n;
        w->cap = ncap;
    }
    w->ids[w->len++] = id;
    return WC_OK;
}

void wc_evindex_wake_clean_up(struct wc_evindex_wake *w)
{
    if (!w)
        return;
    free(w->ids);
    memset(w, 0, sizeof(*w));
}

/* The watches a lookup of which would return en. */
static int s_wake(struct wc_evindex *x, const struct s_entry *en, struct wc_evindex_wake *w)
{
    size_t from = w->len;
    int rc;

    for (size_t i = 0; i < en->n_posts; i++) {
        const struct s_post *ep = &en->posts[i];
        struct s_post *p = x->watch_keys.buckets[ep->hash & (x->watch_keys.n_buckets - 1)];

        for (; p; p = p->next) {
            const struct s_watch *wa = p->owner;
            struct wc_trail_query q = {
                .account_id = wa->account,
                .region = wa->region,
                .attribute_key = ep->kind == S_KIND_ID ? "EventId" : "ResourceName",
                .attribute_value = p->key,
                .start_ms = wa->start_ms,
                .end_ms = wa->end_ms,
            };

            if (p->hash != ep->hash || p->kind != ep->kind || strcmp(p->key, ep->key) ||
                !s_same_origin(en, wa->account, wa->region) || !wc_trail_query_matches(&q, &en->ev))
                continue;
            if ((rc = s_wake_push(w, from, wa->id)) != WC_OK)
                return rc;
            x->st.woken++;
        }
    }
    return WC_OK;
}

static void s_watch_free(struct wc_evindex *x, struct s_watch *wa)
{
    for (size_t i = 0; i < wa->n_posts; i++)
        s_table_remove(&x->watch_keys, &wa->posts[i]);
    x->bytes -= wa->bytes;
    free(wa);
}

void wc_evindex_unwatch(struct wc_evindex *x, uint64_t id)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n_watches; i++) {
        if (x->watches[i]->id != id)
            continue;
        s_watch_free(x, x->watches[i]);
        x->watches[i] = x->watches[--x->n_watches];
        x->st.watches = x->n_watches;
        return;
    }
}

int wc_evindex_watch(struct wc_evindex *x, uint64_t id, const struct wc_change *c, int skew_s)
{
    struct wc_trail_query plan[WC_TRAIL_MAX_QUERIES];
    size_t n = 0, total;
    struct s_watch *wa;
    char *cur;
    int rc;

    if (!x || !c)
        return WC_ERR_INVALID;
    if ((rc = wc_trail_plan(c, skew_s, plan, WC_TRAIL_MAX_QUERIES, &n)) != WC_OK)
        return rc;
    if (n == 0 || wc_str_empty(plan[0].account_id) || wc_str_empty(plan[0].region))
        return WC_ERR_INVALID;
    if (x->n_watches == x->cap_watches) {
        size_t ncap = x->cap_watches ? x->cap_watches * 2 : 64;
        struct s_watch **w = realloc(x->watches, ncap * sizeof(*w));

        if (!w)
            return WC_ERR_NOMEM;
        x->bytes -= s_cost(x->cap_watches * sizeof(*w));
        x->watches = w;
        x->cap_watches = ncap;
        x->bytes += s_cost(x->cap_watches * sizeof(*w));
    }
    total = sizeof(*wa) + s_len0(plan[0].account_id) + s_len0(plan[0].region);
    for (size_t i = 0; i < n; i++)
        total += s_len0(plan[i].attribute_value);
    if (!(wa = calloc(1, total)))
        return WC_ERR_NOMEM;
    wc_evindex_unwatch(x, id);
    cur = (char *)(wa + 1);
    wa->id = id;
    wa->account = s_put(&cur, plan[0].account_id);
    wa->region = s_put(&cur, plan[0].region);
    wa->start_ms = plan[0].start_ms;
    wa->end_ms = plan[0].end_ms;
    wa->bytes = s_cost(total);
    wa->n_posts = n;
    for (size_t i = 0; i < n; i++) {
        struct s_post *p = &wa->posts[i];

        p->kind = !strcmp(plan[i].attribute_key, "EventId") ? S_KIND_ID : S_KIND_NAME;
        p->key = s_put(&cur, plan[i].attribute_value);
        p->owner = wa;
        p->hash = s_hash(wa->account, wa->region, p->kind, p->key);
        s_table_insert(&x->watch_keys, p);
    }
    x->watches[x->n_watches++] = wa;
    x->bytes += wa->bytes;
    x->st.watches = x->n_watches;
    s_table_grow(x, &x->watch_keys);
    return WC_OK;
}

/* --- adding ------------------------------------------------------------------------ */

int wc_evindex_add(struct wc_evindex *x, struct wc_event *e, int64_t now_ms,
                   enum wc_evindex_added *how, struct wc_evindex_wake *wake)
{
    struct s_entry *en = NULL;
    enum wc_evindex_added what = WC_EVINDEX_ADDED;
    int rc = WC_OK;

    if (how)
        *how = 0;
    if (!x || !e) {
        rc = WC_ERR_INVALID;
        goto out;
    }
    if (wc_str_empty(e->event_id) || wc_str_empty(e->recipient_account_id) ||
        wc_str_empty(e->aws_region)) {
        rc = WC_ERR_INVALID;
        goto out;
    }
    wc_evindex_expire(x, now_ms);
    if (e->event_time_ms < now_ms - x->retention_ms) {
        what = WC_EVINDEX_TOO_OLD;
        x->st.too_old++;
        goto out;
    }
    if (e->event_time_ms > now_ms + x->retention_ms) {
        what = WC_EVINDEX_FUTURE;
        x->st.future++;
        goto out;
    }
    if (s_find_id(x, e->recipient_account_id, e->aws_region, e->event_id)) {
        what = WC_EVINDEX_DUPLICATE;
        x->st.duplicates++;
        goto out;
    }
    if (!(en = s_pack(e))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    en->seq = ++x->seq;
    if ((rc = s_heap_push(x, en)) != WC_OK) {
        free(en);
        goto out;
    }
    for (size_t i = 0; i < en->n_posts; i++)
        s_table_insert(&x->keys, &en->posts[i]);
    x->bytes += en->bytes;
    x->st.events++;
    x->st.added++;
    if (x->st.events == 1 || en->ev.event_time_ms > x->newest_ms)
        x->newest_ms = en->ev.event_time_ms;
    s_table_grow(x, &x->keys);
    /* woken before eviction: a change that event decides is decided by it
     * even when the cap is too small to keep it (the lookup then misses it,
     * which the owner sees as not covered) */
    if (wake && !en->ev.read_only && !en->ev.error_code && x->n_watches)
        rc = s_wake(x, en, wake);
    s_evict_for_bytes(x);
out:
    if (how && rc == WC_OK)
        *how = what;
    if (e) {
        wc_event_clean_up(e); /* packed (copied) or dropped */
        memset(e, 0, sizeof(*e));
    }
    return rc;
}

/* --- questions ---------------------------------------------------------------------- */

int64_t wc_evindex_horizon_ms(const struct wc_evindex *x, int64_t now_ms)
{
    int64_t h = now_ms - (x ? x->retention_ms : 0);

    if (x && x->cap_horizon_ms > h)
        h = x->cap_horizon_ms;
    return h;
}

bool wc_evindex_covers(const struct wc_evindex *x, const struct wc_change *c, int skew_s,
                       int64_t now_ms)
{
    int64_t start, start_s;

    if (!x || !c || skew_s < 0)
        return false;
    start = c->capture_time_ms - (int64_t)skew_s * 1000;
    /* the whole second a LookupEvents request starts at (trail.c) */
    start_s = start >= 0 ? start / 1000 : -((-start + 999) / 1000);
    return start_s * 1000 >= wc_evindex_horizon_ms(x, now_ms);
}

struct s_hits {
    const struct s_entry **items;
    size_t len;
    size_t cap;
};

/* Duplicates (an event found by two lookups) are removed after sorting. */
static int s_hits_push(struct s_hits *h, const struct s_entry *en)
{
    if (h->len == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 16;
        const struct s_entry **n = realloc(h->items, ncap * sizeof(*n));

        if (!n)
            return WC_ERR_NOMEM;
        h->items = n;
        h->cap = ncap;
    }
    h->items[h->len++] = en;
    return WC_OK;
}

static int s_newest_first(const void *pa, const void *pb)
{
    const struct s_entry *a = *(const struct s_entry *const *)pa;
    const struct s_entry *b = *(const struct s_entry *const *)pb;

    if (a->ev.event_time_ms != b->ev.event_time_ms)
        return a->ev.event_time_ms > b->ev.event_time_ms ? -1 : 1;
    return wc_strcmp0(a->ev.event_id, b->ev.event_id);
}

int wc_evindex_candidates(const struct wc_evindex *x, const struct wc_change *c, int skew_s,
                          struct wc_event_list *out)
{
    struct wc_trail_query plan[WC_TRAIL_MAX_QUERIES];
    struct s_hits hits = {0};
    struct wc_event *items;
    size_t n = 0;
    int rc;

    if (!x || !c || !out)
        return WC_ERR_INVALID;
    if ((rc = wc_trail_plan(c, skew_s, plan, WC_TRAIL_MAX_QUERIES, &n)) != WC_OK)
        return rc;
    for (size_t i = 0; i < n && rc == WC_OK; i++) {
        const struct wc_trail_query *q = &plan[i];
        unsigned kind = !strcmp(q->attribute_key, "EventId") ? S_KIND_ID : S_KIND_NAME;
        uint64_t h = s_hash(q->account_id, q->region, kind, q->attribute_value);

        for (struct s_post *p = x->keys.buckets[h & (x->keys.n_buckets - 1)]; p && rc == WC_OK;
             p = p->next) {
            const struct s_entry *en = p->owner;

            if (p->hash == h && p->kind == kind && !strcmp(p->key, q->attribute_value) &&
                s_same_origin(en, q->account_id, q->region) && wc_trail_query_matches(q, &en->ev))
                rc = s_hits_push(&hits, en);
        }
    }
    if (rc != WC_OK)
        goto out;
    if (hits.len == 0)
        goto out;
    qsort(hits.items, hits.len, sizeof(*hits.items), s_newest_first);
    /* one event per (time, id) in an account-region: its copies are adjacent */
    n = 1;
    for (size_t i = 1; i < hits.len; i++)
        if (hits.items[i] != hits.items[n - 1])
            hits.items[n++] = hits.items[i];
    hits.len = n;
    if (!(items = realloc(out->items, (out->len + hits.len) * sizeof(*items)))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    out->items = items;
    for (size_t i = 0; i < hits.len; i++) {
        if ((rc = wc_event_copy(&out->items[out->len], &hits.items[i]->ev)) != WC_OK)
            goto out;
        out->len++;
    }
out:
    free(hits.items);
    return rc;
}

int wc_evindex_lookup_change(const struct wc_evindex *x, const struct wc_change *c, int skew_s,
                             struct wc_event_list *out)
{
    struct wc_event_list cand = WC_EVENT_LIST_INIT;
    int rc;

    if ((rc = wc_evindex_candidates(x, c, skew_s, &cand)) == WC_OK)
        rc = wc_trail_lookup_change_in(&cand, c, skew_s, out);
    wc_event_list_clean_up(&cand);
    return rc;
}

/* --- life --------------------------------------------------------------------------- */

struct wc_evindex *wc_evindex_new(const struct wc_evindex_options *o)
{
    struct wc_evindex *x;

    if (o && (o->retention_ms < 0 ||
              (o->max_bytes != 0 && o->max_bytes < WC_EVINDEX_MIN_MAX_BYTES)))
        return NULL;
    if (!(x = calloc(1, sizeof(*x))))
        return NULL;
    x->retention_ms = o && o->retention_ms ? o->retention_ms : WC_EVINDEX_DEFAULT_RETENTION_MS;
    x->max_bytes = o && o->max_bytes ? o->max_bytes : WC_EVINDEX_DEFAULT_MAX_BYTES;
    if (s_table_init(&x->keys, S_MIN_BUCKETS) != WC_OK ||
        s_table_init(&x->watch_keys, S_MIN_BUCKETS / 16) != WC_OK) {
        wc_evindex_destroy(x);
        return NULL;
    }
    x->bytes = s_cost(sizeof(*x)) + s_table_cost(&x->keys) + s_table_cost(&x->watch_keys);
    x->cap_horizon_ms = INT64_MIN;
    return x;
}

void wc_evindex_destroy(struct wc_evindex *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n_heap; i++)
        free(x->heap[i]);
    for (size_t i = 0; i < x->n_watches; i++)
        free(x->watches[i]);
    free(x->heap);
    free(x->watches);
    free(x->keys.buckets);
    free(x->watch_keys.buckets);
    free(x);
}

void wc_evindex_get_stats(const struct wc_evindex *x, struct wc_evindex_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!x)
        return;
    *out = x->st;
    out->bytes = x->bytes;
    out->max_bytes = x->max_bytes;
    out->watches = x->n_watches;
    out->oldest_ms = x->n_heap ? x->heap[0]->ev.event_time_ms : 0;
    out->newest_ms = x->n_heap ? x->newest_ms : 0;
}
