#include "core/digest.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

/* Groups live in a list in the order they opened (oldest first); the ones
 * still taking findings are also in a hash index by key, so an add is O(1)
 * however many actors are busy at once. A group leaves the index when it
 * fills up or when an add finds its window over; it leaves the list when
 * wc_digest_take_due hands it out. */

#define S_MIN_BUCKETS 16

struct s_group {
    char *key;
    uint64_t hash;
    const struct wc_finding **findings;
    uint64_t *tokens;
    size_t n, cap;
    int64_t due_ms;         /* open time + window, or the time it filled up */
    bool indexed;           /* in the index: still taking findings until due_ms */
    struct s_group *prev, *next; /* open order */
    struct s_group *chain;  /* index bucket */
};

struct wc_digest {
    int64_t window_ms;
    size_t max_findings;
    struct s_group *head, *tail;
    size_t n_groups;
    size_t n_findings;
    struct s_group **buckets;
    size_t n_buckets;       /* a power of two */
    size_t n_indexed;
};

/* FNV-1a, 64 bit. */
static uint64_t s_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct wc_digest *wc_digest_new(const struct wc_digest_options *o)
{
    struct wc_digest *d;

    if (!o || o->window_ms <= 0)
        return NULL;
    if (!(d = calloc(1, sizeof(*d))))
        return NULL;
    d->window_ms = o->window_ms;
    d->max_findings = o->max_findings ? o->max_findings : WC_DIGEST_DEFAULT_MAX_FINDINGS;
    d->n_buckets = S_MIN_BUCKETS;
    if (!(d->buckets = calloc(d->n_buckets, sizeof(*d->buckets)))) {
        free(d);
        return NULL;
    }
    return d;
}

static void s_group_free(struct s_group *g)
{
    free(g->key);
    free(g->findings);
    free(g->tokens);
    free(g);
}

void wc_digest_destroy(struct wc_digest *d)
{
    struct s_group *g, *next;

    if (!d)
        return;
    for (g = d->head; g; g = next) {
        next = g->next;
        s_group_free(g);
    }
    free(d->buckets);
    free(d);
}

/* Append "<len>:<s>" so that no two different field sets give one key. */
static int s_key_field(struct wc_buf *out, char tag, const char *s)
{
    return wc_buf_appendf(out, "%c%zu:%s", tag, strlen(s), s);
}

int wc_digest_key(const struct wc_finding *f, struct wc_buf *out)
{
    const struct wc_user_identity *id = NULL;
    int rc;

    if (!f || !out || f->verdict != WC_VERDICT_HUMAN)
        return WC_ERR_INVALID;
    for (size_t i = 0; i < f->n_matches && !id; i++)
        if (f->matches[i].cls.cls == WC_CLASS_HUMAN)
            id = &f->matches[i].event.identity;
    if (!id)
        return WC_ERR_INVALID;

    /* The principal: its ARN; else account and user name; else the
     * principal id CloudTrail gave. */
    if (!wc_str_empty(id->arn))
        rc = s_key_field(out, 'a', id->arn);
    else if (!wc_str_empty(id->user_name)) {
        if ((rc = s_key_field(out, 'c', id->account_id ? id->account_id : "")) == WC_OK)
            rc = s_key_field(out, 'u', id->user_name);
    } else if (!wc_str_empty(id->principal_id))
        rc = s_key_field(out, 'p', id->principal_id);
    else
        return WC_ERR_INVALID;
    if (rc != WC_OK)
        return rc;
    /* The session: the access key id (one per sign-in for temporary
     * credentials), else the session name; none at all is one session. */
    if (!wc_str_empty(id->access_key_id))
        return s_key_field(out, 'k', id->access_key_id);
    if (!wc_str_empty(id->session_name))
        return s_key_field(out, 's', id->session_name);
    return WC_OK;
}

static void s_unindex(struct wc_digest *d, struct s_group *g)
{
    struct s_group **pp;

    if (!g->indexed)
        return;
    for (pp = &d->buckets[g->hash & (d->n_buckets - 1)]; *pp; pp = &(*pp)->chain) {
        if (*pp == g) {
            *pp = g->chain;
            break;
        }
    }
    g->chain = NULL;
    g->indexed = false;
    d->n_indexed--;
}

/* Double the index when it holds more groups than buckets (best effort: on
 * allocation failure the chains just get longer). */
static void s_maybe_grow(struct wc_digest *d)
{
    struct s_group **nb;
    size_t nn;

    if (d->n_indexed < d->n_buckets || d->n_buckets > SIZE_MAX / 2 / sizeof(*nb))
        return;
    nn = d->n_buckets * 2;
    if (!(nb = calloc(nn, sizeof(*nb))))
        return;
    for (size_t i = 0; i < d->n_buckets; i++) {
        struct s_group *g = d->buckets[i], *next;

        for (; g; g = next) {
            next = g->chain;
            g->chain = nb[g->hash & (nn - 1)];
            nb[g->hash & (nn - 1)] = g;
        }
    }
    free(d->buckets);
    d->buckets = nb;
    d->n_buckets = nn;
}

/* The group taking findings for key at now_ms, or NULL. Groups found closed
 * (their window is over) leave the index on the way. */
static struct s_group *s_find_open(struct wc_digest *d, const char *key, uint64_t h,
                                   int64_t now_ms)
{
    struct s_group *g;

    for (g = d->buckets[h & (d->n_buckets - 1)]; g; g = g->chain) {
        if (g->hash != h || strcmp(g->key, key) != 0)
            continue;
        if (now_ms < g->due_ms)
            return g;
        s_unindex(d, g);
        return NULL;
    }
    return NULL;
}

static struct s_group *s_open(struct wc_digest *d, struct wc_buf *key, uint64_t h,
                              int64_t now_ms)
{
    struct s_group *g = calloc(1, sizeof(*g));
    size_t b;

    if (!g)
        return NULL;
    g->key = wc_buf_steal(key);
    if (!g->key) {
        free(g);
        return NULL;
    }
    g->hash = h;
    g->due_ms = now_ms > INT64_MAX - d->window_ms ? INT64_MAX : now_ms + d->window_ms;
    g->prev = d->tail;
    if (d->tail)
        d->tail->next = g;
    else
        d->head = g;
    d->tail = g;
    d->n_groups++;
    s_maybe_grow(d);
    b = h & (d->n_buckets - 1);
    g->chain = d->buckets[b];
    d->buckets[b] = g;
    g->indexed = true;
    d->n_indexed++;
    return g;
}

static void s_unlink(struct wc_digest *d, struct s_group *g)
{
    s_unindex(d, g);
    if (g->prev)
        g->prev->next = g->next;
    else
        d->head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    else
        d->tail = g->prev;
    g->prev = g->next = NULL;
    d->n_groups--;
    d->n_findings -= g->n;
}

static int s_reserve(struct s_group *g, size_t max)
{
    const struct wc_finding **nf;
    uint64_t *nt;
    size_t nc;

    if (g->n < g->cap)
        return WC_OK;
    nc = g->cap ? g->cap * 2 : 8;
    if (nc > max)
        nc = max;
    if (nc > SIZE_MAX / sizeof(uint64_t))
        return WC_ERR_NOMEM;
    if (!(nf = realloc(g->findings, nc * sizeof(*nf))))
        return WC_ERR_NOMEM;
    g->findings = nf;
    if (!(nt = realloc(g->tokens, nc * sizeof(*nt))))
        return WC_ERR_NOMEM;
    g->tokens = nt;
    g->cap = nc;
    return WC_OK;
}

int wc_digest_add(struct wc_digest *d, const struct wc_finding *f, uint64_t token,
                  int64_t now_ms)
{
    struct wc_buf key = WC_BUF_INIT;
    struct s_group *g;
    bool opened = false;
    uint64_t h;
    int rc;

    if (!d || !f)
        return WC_ERR_INVALID;
    if ((rc = wc_digest_key(f, &key)) != WC_OK)
        goto out;
    if (!key.ptr && (rc = wc_buf_append_cstr(&key, "")) != WC_OK)
        goto out;
    h = s_hash(key.ptr);
    if (!(g = s_find_open(d, key.ptr, h, now_ms))) {
        if (!(g = s_open(d, &key, h, now_ms))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
        opened = true;
    }
    if ((rc = s_reserve(g, d->max_findings)) != WC_OK) {
        if (opened) {
            s_unlink(d, g);
            s_group_free(g);
        }
        goto out;
    }
    g->findings[g->n] = f;
    g->tokens[g->n] = token;
    g->n++;
    d->n_findings++;
    if (g->n >= d->max_findings) {
        /* Full: it closes now, and the next finding of this actor opens
         * another group. */
        s_unindex(d, g);
        if (now_ms < g->due_ms)
            g->due_ms = now_ms;
    }
out:
    wc_buf_clean_up(&key);
    return rc;
}

bool wc_digest_take_due(struct wc_digest *d, int64_t now_ms, bool flush,
                        struct wc_digest_group *out)
{
    struct s_group *g;

    if (!d || !out)
        return false;
    for (g = d->head; g; g = g->next)
        if (flush || g->due_ms <= now_ms)
            break;
    if (!g)
        return false;
    s_unlink(d, g);
    out->findings = g->findings;
    out->tokens = g->tokens;
    out->n = g->n;
    out->key = g->key;
    free(g);
    return true;
}

void wc_digest_group_clean_up(struct wc_digest_group *g)
{
    if (!g)
        return;
    free(g->findings);
    free(g->tokens);
    free(g->key);
    memset(g, 0, sizeof(*g));
}

int64_t wc_digest_next_due_ms(const struct wc_digest *d)
{
    int64_t due = INT64_MAX;

    if (!d)
        return due;
    for (const struct s_group *g = d->head; g; g = g->next)
        if (g->due_ms < due)
            due = g->due_ms;
    return due;
}

size_t wc_digest_open_findings(const struct wc_digest *d)
{
    return d ? d->n_findings : 0;
}
