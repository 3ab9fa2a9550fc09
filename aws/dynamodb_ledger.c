#include "aws/dynamodb_ledger.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/awsid.h"
#include "core/dedup.h"
#include "core/err.h"
#include "core/str.h"

/* Pairs kept in doubt or pending at most (then the oldest is dropped: a
 * pending pair dropped may be posted again, a doubt dropped is only asked
 * again). */
#define S_MAX_MARKS 100000

/* A set of "<notifier>\n<subject>" strings, small in practice. */
struct s_marks {
    char **items;
    size_t n;
};

struct s_ledger {
    struct wc_ledger base;
    struct wc_dynamodb *db;
    struct wc_aws *aws;      /* the clock: skew-corrected, as DynamoDB sees it */
    struct wc_logger *logger;
    char *table;
    int64_t ttl_ms;
    int64_t cache_ttl_ms;
    struct wc_ledger *cache; /* pairs known accepted lately; NULL: no cache */
    pthread_mutex_t lock;    /* guards the marks */
    struct s_marks pending;  /* accepted, not yet written */
    struct s_marks doubt;    /* their check failed */
    _Atomic uint64_t gets, cache_hits, puts, already, failures, in_doubt;
};

/* --- marks ----------------------------------------------------------------- */

static char *s_mark_key(const char *notifier_id, const char *subject)
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

static size_t s_marks_find(const struct s_marks *m, const char *key)
{
    for (size_t i = 0; key && i < m->n; i++)
        if (!strcmp(m->items[i], key))
            return i;
    return SIZE_MAX;
}

/* Remove key; true when it was there. */
static bool s_marks_take(struct s_marks *m, const char *key)
{
    size_t i = s_marks_find(m, key);

    if (i == SIZE_MAX)
        return false;
    free(m->items[i]);
    memmove(&m->items[i], &m->items[i + 1], (m->n - i - 1) * sizeof(*m->items));
    m->n--;
    return true;
}

/* Add key (taking it) unless there; the oldest goes past S_MAX_MARKS. */
static void s_marks_put(struct s_marks *m, char *key)
{
    char **grown;

    if (!key || s_marks_find(m, key) != SIZE_MAX) {
        free(key);
        return;
    }
    if (m->n >= S_MAX_MARKS) {
        free(m->items[0]);
        memmove(&m->items[0], &m->items[1], (m->n - 1) * sizeof(*m->items));
        m->n--;
    }
    if (!(grown = realloc(m->items, (m->n + 1) * sizeof(*grown)))) {
        free(key);
        return;
    }
    m->items = grown;
    m->items[m->n++] = key;
}

static void s_marks_clean_up(struct s_marks *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->items[i]);
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

/* --- keys ------------------------------------------------------------------ */

int wc_dynamodb_ledger_key(const char *notifier_id, const char *subject, struct wc_buf *out)
{
    struct wc_buf plain = WC_BUF_INIT;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int rc;

    if (wc_str_empty(notifier_id) || wc_str_empty(subject) || !out)
        return WC_ERR_INVALID;
    if ((rc = wc_buf_appendf(&plain, "%s|%s", notifier_id, subject)) != WC_OK)
        goto out;
    if (plain.len <= WC_DYNAMODB_LEDGER_KEY_MAX && !strchr(notifier_id, '|')) {
        rc = wc_buf_append(out, plain.ptr, plain.len);
        goto out;
    }
    /* too long for a readable key (or a notifier id that would make the
     * split ambiguous): its digest, which has no '|' to be confused with one */
    if (EVP_Digest(plain.ptr, plain.len, md, &md_len, EVP_sha256(), NULL) != 1) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    rc = wc_buf_append_cstr(out, "sha256:");
    for (unsigned int i = 0; rc == WC_OK && i < md_len; i++)
        rc = wc_buf_appendf(out, "%02x", md[i]);
out:
    wc_buf_clean_up(&plain);
    return rc;
}

/* --- the port -------------------------------------------------------------- */

static int64_t s_now_s(struct s_ledger *l)
{
    return wc_aws_now_ms(l->aws) / 1000;
}

/* GetItem: WC_OK with *live when the pair has a record that has not
 * expired; *expires_s its expiry (0: none given). */
static int s_get(struct s_ledger *l, const char *notifier_id, const char *subject, bool *live,
                 int64_t *expires_s)
{
    static const char *const proj[] = {WC_DYNAMODB_LEDGER_TTL_ATTR};
    struct wc_dynamodb_item item = WC_DYNAMODB_ITEM_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct wc_buf key = WC_BUF_INIT;
    const struct wc_dynamodb_attr *ttl;
    bool found = false;
    int rc;

    *live = false;
    *expires_s = 0;
    if ((rc = wc_dynamodb_ledger_key(notifier_id, subject, &key)) != WC_OK)
        goto out;
    {
        struct wc_dynamodb_attr k = {WC_DYNAMODB_LEDGER_KEY, WC_DYNAMODB_S, key.ptr};
        struct wc_dynamodb_get get = {.table = l->table, .key = &k, .n_key = 1,
                                      .consistent = true, .projection = proj, .n_projection = 1};

        rc = wc_dynamodb_get_item(l->db, &get, &found, &item, &err);
    }
    if (rc != WC_OK) {
        atomic_fetch_add(&l->failures, 1);
        wc_aws_error_log(l->logger, WC_LOG_WARN, NULL, &err, rc,
                         "ledger: DynamoDB GetItem on %s failed", l->table);
        goto out;
    }
    atomic_fetch_add(&l->gets, 1);
    if (found) {
        ttl = wc_dynamodb_item_get(&item, WC_DYNAMODB_LEDGER_TTL_ATTR);
        if (ttl && ttl->type == WC_DYNAMODB_N) {
            char *end = NULL;
            long long e = strtoll(ttl->value, &end, 10);

            if (end != ttl->value)
                *expires_s = (int64_t)e;
        }
        /* no (readable) expiry: a record all the same, never expiring */
        *live = *expires_s == 0 || *expires_s > s_now_s(l);
    }
out:
    wc_dynamodb_item_clean_up(&item);
    wc_aws_error_clean_up(&err);
    wc_buf_clean_up(&key);
    return rc;
}

static bool s_accepted(struct wc_ledger *base, const char *notifier_id, const char *subject)
{
    struct s_ledger *l = base->impl;
    char *mark = s_mark_key(notifier_id, subject);
    bool live = false, pending;
    int64_t expires_s = 0;
    int rc;

    if (!mark)
        return true; /* out of memory: say nothing new, record() then fails */
    pthread_mutex_lock(&l->lock);
    s_marks_take(&l->doubt, mark); /* asked again now */
    pending = s_marks_find(&l->pending, mark) != SIZE_MAX;
    pthread_mutex_unlock(&l->lock);
    if (pending || (l->cache && wc_ledger_accepted(l->cache, notifier_id, subject))) {
        atomic_fetch_add(&l->cache_hits, 1);
        free(mark);
        return true;
    }
    rc = s_get(l, notifier_id, subject, &live, &expires_s);
    if (rc != WC_OK) {
        /* not known either way: post nothing, and let record() fail */
        atomic_fetch_add(&l->in_doubt, 1);
        pthread_mutex_lock(&l->lock);
        s_marks_put(&l->doubt, mark);
        pthread_mutex_unlock(&l->lock);
        return true;
    }
    free(mark);
    /* cache only what stays live longer than the cache keeps it */
    if (live && l->cache &&
        (expires_s == 0 || expires_s * 1000 > wc_aws_now_ms(l->aws) + l->cache_ttl_ms))
        wc_ledger_record(l->cache, notifier_id, subject);
    return live;
}

/* PutItem: WC_OK when the pair now has a live record (ours or another's). */
static int s_put(struct s_ledger *l, const char *notifier_id, const char *subject)
{
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct wc_buf key = WC_BUF_INIT;
    char now_s[24], recorded_s[24], expires_s[24];
    bool condition_failed = false;
    int64_t now = s_now_s(l);
    int rc;

    snprintf(now_s, sizeof(now_s), "%" PRId64, now);
    snprintf(recorded_s, sizeof(recorded_s), "%" PRId64, now);
    snprintf(expires_s, sizeof(expires_s), "%" PRId64, now + (l->ttl_ms + 999) / 1000);
    if ((rc = wc_dynamodb_ledger_key(notifier_id, subject, &key)) != WC_OK)
        goto out;
    {
        const struct wc_dynamodb_attr item[] = {
            {WC_DYNAMODB_LEDGER_KEY, WC_DYNAMODB_S, key.ptr},
            {"notifier", WC_DYNAMODB_S, notifier_id},
            {"subject", WC_DYNAMODB_S, subject},
            {"recorded_at", WC_DYNAMODB_N, recorded_s},
            {WC_DYNAMODB_LEDGER_TTL_ATTR, WC_DYNAMODB_N, expires_s},
        };
        const struct wc_dynamodb_name names[] = {
            {"#k", WC_DYNAMODB_LEDGER_KEY},
            {"#t", WC_DYNAMODB_LEDGER_TTL_ATTR},
        };
        const struct wc_dynamodb_attr values[] = {{":now", WC_DYNAMODB_N, now_s}};
        const struct wc_dynamodb_put put = {
            .table = l->table,
            .item = item,
            .n_item = sizeof(item) / sizeof(item[0]),
            /* a live record stays as it is; an expired one not yet deleted
             * by DynamoDB is replaced */
            .condition = "attribute_not_exists(#k) OR #t < :now",
            .names = names,
            .n_names = sizeof(names) / sizeof(names[0]),
            .values = values,
            .n_values = 1,
        };

        rc = wc_dynamodb_put_item(l->db, &put, &condition_failed, &err);
    }
    if (rc != WC_OK) {
        atomic_fetch_add(&l->failures, 1);
        /* (access denied: the pipeline says, as an error, what a failed
         * record costs) */
        wc_aws_error_log(l->logger, WC_LOG_ERROR, NULL, &err, rc,
                         "ledger: DynamoDB PutItem on %s failed", l->table);
    } else if (condition_failed) {
        atomic_fetch_add(&l->already, 1);
        WC_LOGD(l->logger, NULL, "ledger: %s|%s was recorded already", notifier_id, subject);
    } else {
        atomic_fetch_add(&l->puts, 1);
    }
out:
    wc_aws_error_clean_up(&err);
    wc_buf_clean_up(&key);
    return rc;
}

static int s_record(struct wc_ledger *base, const char *notifier_id, const char *subject)
{
    struct s_ledger *l = base->impl;
    char *mark = s_mark_key(notifier_id, subject);
    bool doubt, pending;
    int rc;

    if (!mark)
        return WC_ERR_NOMEM;
    pthread_mutex_lock(&l->lock);
    doubt = s_marks_take(&l->doubt, mark);
    pending = s_marks_find(&l->pending, mark) != SIZE_MAX;
    pthread_mutex_unlock(&l->lock);
    if (doubt) {
        /* its check failed: we do not know that it was posted, so we must
         * not write that it was; keep the message and ask again later */
        WC_LOGW(l->logger, NULL, "ledger: %s|%s not recorded: the ledger could not be read",
                notifier_id, subject);
        free(mark);
        return WC_ERR_IO;
    }
    if (!pending && l->cache && wc_ledger_accepted(l->cache, notifier_id, subject)) {
        free(mark); /* in the table already (written, or read, lately) */
        return WC_OK;
    }
    rc = s_put(l, notifier_id, subject);
    pthread_mutex_lock(&l->lock);
    if (rc == WC_OK) {
        s_marks_take(&l->pending, mark);
        free(mark);
    } else {
        s_marks_put(&l->pending, mark); /* takes it */
    }
    pthread_mutex_unlock(&l->lock);
    if (rc == WC_OK && l->cache)
        wc_ledger_record(l->cache, notifier_id, subject);
    return rc == WC_OK ? WC_OK : WC_ERR_IO;
}

static void s_destroy(struct wc_ledger *base)
{
    struct s_ledger *l;

    if (!base)
        return;
    l = base->impl;
    wc_ledger_destroy(l->cache);
    wc_dynamodb_destroy(l->db);
    s_marks_clean_up(&l->pending);
    s_marks_clean_up(&l->doubt);
    pthread_mutex_destroy(&l->lock);
    free(l->table);
    free(l);
}

/* Every check asks the table (what memory does not know): the fast and the
 * thorough check are one. */
static const struct wc_ledger_vtable s_vtable = {
    .name = "dynamodb",
    .accepted = s_accepted,
    .accepted_thorough = s_accepted,
    .record = s_record,
    .destroy = s_destroy,
};

/* --- open ------------------------------------------------------------------ */

/* What went wrong with op on the table, in one line. */
static void s_say(struct s_ledger *l, const char *op, int rc, const struct wc_aws_error *e,
                  char *err, size_t errlen)
{
    char why[512];
    const char *region = wc_dynamodb_region(l->db);

    if (rc == WC_ERR_NOT_FOUND) {
        wc_errf(err, errlen, "ledger: DynamoDB table %s does not exist in %s (%s): create it "
                "(examples/org-central.yaml, LedgerTable) or fix ledger.table / ledger.region",
                l->table, region, e->code ? e->code : "ResourceNotFoundException");
    } else if (e->code && (rc == WC_ERR_AUTH || rc == WC_ERR_SERVICE)) {
        wc_aws_error_describe(e, "dynamodb", op, why, sizeof(why));
        wc_errf(err, errlen, "ledger: DynamoDB table %s in %s: %s%s", l->table, region, why,
                e->code && !strcmp(e->code, "ValidationException")
                    ? " (the table's partition key must be \"" WC_DYNAMODB_LEDGER_KEY
                      "\", a string)"
                    : "");
    } else {
        wc_errf(err, errlen, "ledger: DynamoDB %s at %s (table %s in %s) failed: %s", op,
                wc_dynamodb_endpoint(l->db), l->table, region,
                e->code ? e->code : wc_strerror(rc));
    }
}

/* A GetItem, then a PutItem that cannot succeed: the table exists, has our
 * key, and both actions are allowed; nothing is written. */
static int s_probe(struct s_ledger *l, char *err, size_t errlen)
{
    struct wc_dynamodb_item item = WC_DYNAMODB_ITEM_INIT;
    struct wc_aws_error e = WC_AWS_ERROR_INIT;
    const struct wc_dynamodb_attr key = {WC_DYNAMODB_LEDGER_KEY, WC_DYNAMODB_S,
                                         WC_DYNAMODB_LEDGER_PROBE_KEY};
    const struct wc_dynamodb_get get = {.table = l->table, .key = &key, .n_key = 1,
                                        .consistent = true};
    const struct wc_dynamodb_name names[] = {{"#k", WC_DYNAMODB_LEDGER_KEY}};
    const struct wc_dynamodb_put put = {
        .table = l->table, .item = &key, .n_item = 1,
        .condition = "attribute_exists(#k) AND attribute_not_exists(#k)",
        .names = names, .n_names = 1,
    };
    bool found = false, failed = false;
    int rc;

    if ((rc = wc_dynamodb_get_item(l->db, &get, &found, &item, &e)) != WC_OK) {
        s_say(l, "GetItem", rc, &e, err, errlen);
        goto out;
    }
    wc_aws_error_clean_up(&e);
    if ((rc = wc_dynamodb_put_item(l->db, &put, &failed, &e)) != WC_OK) {
        s_say(l, "PutItem", rc, &e, err, errlen);
        goto out;
    }
    if (!failed) { /* a condition that cannot hold held: not DynamoDB */
        wc_errf(err, errlen, "ledger: DynamoDB at %s wrote an item it should have refused",
                wc_dynamodb_endpoint(l->db));
        rc = WC_ERR_SERVICE;
    }
out:
    wc_dynamodb_item_clean_up(&item);
    wc_aws_error_clean_up(&e);
    return rc;
}

struct wc_ledger *wc_dynamodb_ledger_open(const struct wc_dynamodb_ledger_options *o, char *err,
                                          size_t errlen)
{
    struct s_ledger *l = NULL;

    wc_errf(err, errlen, "%s", "");
    if (!o || !wc_dynamodb_table_is_valid(o->table)) {
        wc_errf(err, errlen, "ledger: DynamoDB table name '%.64s' is not valid (3-255 of "
                "letters, digits and _.-)", o && o->table ? o->table : "");
        return NULL;
    }
    if (!(l = calloc(1, sizeof(*l))) || pthread_mutex_init(&l->lock, NULL) != 0) {
        free(l);
        wc_errf(err, errlen, "ledger: out of memory");
        return NULL;
    }
    l->base.vtable = &s_vtable;
    l->base.impl = l;
    l->ttl_ms = o->ttl_ms > 0 ? o->ttl_ms : WC_DEDUP_DEFAULT_TTL_MS;
    if (!(l->table = wc_strdup(o->table)))
        goto nomem;
    l->cache_ttl_ms = o->cache_ttl_ms ? o->cache_ttl_ms : WC_DYNAMODB_LEDGER_CACHE_TTL_MS;
    if (l->cache_ttl_ms > 0 && !(l->cache = wc_ledger_memory_new(l->cache_ttl_ms)))
        goto nomem;
    if (!(l->db = wc_dynamodb_new(&o->client))) {
        wc_errf(err, errlen, "ledger: cannot set up the DynamoDB client (region %s)",
                o->client.region ? o->client.region : "(none)");
        goto fail;
    }
    l->aws = o->client.aws;
    l->logger = o->client.logger ? o->client.logger : wc_aws_logger(o->client.aws);
    if (!o->no_probe && s_probe(l, err, errlen) != WC_OK)
        goto fail;
    WC_LOGI(l->logger, NULL, "ledger: DynamoDB table %s in %s", l->table,
            wc_dynamodb_region(l->db));
    return &l->base;
nomem:
    wc_errf(err, errlen, "ledger: out of memory");
fail:
    s_destroy(&l->base);
    return NULL;
}

void wc_dynamodb_ledger_stats(struct wc_ledger *base, struct wc_dynamodb_ledger_stats *out)
{
    struct s_ledger *l;

    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!base || base->vtable != &s_vtable)
        return;
    l = base->impl;
    out->gets = atomic_load(&l->gets);
    out->cache_hits = atomic_load(&l->cache_hits);
    out->puts = atomic_load(&l->puts);
    out->already = atomic_load(&l->already);
    out->failures = atomic_load(&l->failures);
    out->in_doubt = atomic_load(&l->in_doubt);
}
