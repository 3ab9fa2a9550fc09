/* credentials.c - credentials type, the caching provider, environment and
 * static sources, the default chain and per-account AssumeRole. */
#include "aws/credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "aws/credentials_internal.h"
#include "aws/sts_xml.h"
#include "core/awsid.h"
#include "core/err.h"
#include "core/str.h"

/* --- credentials -------------------------------------------------------- */

void wc_creds_free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void wc_aws_credentials_clean_up(struct wc_aws_credentials *c)
{
    if (!c)
        return;
    wc_creds_free_secret(c->access_key_id);
    wc_creds_free_secret(c->secret_access_key);
    wc_creds_free_secret(c->session_token);
    free(c->source);
    memset(c, 0, sizeof(*c));
}

int wc_aws_credentials_copy(struct wc_aws_credentials *dst, const struct wc_aws_credentials *src)
{
    struct wc_aws_credentials tmp = {0};

    if (!dst || !src)
        return WC_ERR_INVALID;
    tmp.expiration_ms = src->expiration_ms;
    if ((src->access_key_id && !(tmp.access_key_id = wc_strdup(src->access_key_id))) ||
        (src->secret_access_key && !(tmp.secret_access_key = wc_strdup(src->secret_access_key))) ||
        (src->session_token && !(tmp.session_token = wc_strdup(src->session_token))) ||
        (src->source && !(tmp.source = wc_strdup(src->source)))) {
        wc_aws_credentials_clean_up(&tmp);
        return WC_ERR_NOMEM;
    }
    *dst = tmp;
    return WC_OK;
}

bool wc_aws_credentials_valid(const struct wc_aws_credentials *c)
{
    return c && !wc_str_empty(c->access_key_id) && !wc_str_empty(c->secret_access_key);
}

int wc_creds_set_source(struct wc_aws_credentials *c, const char *source)
{
    char *s = wc_strdup(source);

    if (!s)
        return WC_ERR_NOMEM;
    free(c->source);
    c->source = s;
    return WC_OK;
}

void wc_creds_key_tail(const char *access_key_id, char out[8])
{
    size_t n = access_key_id ? strlen(access_key_id) : 0;

    /* Short ids would be revealed almost whole: show nothing then. */
    if (n < 12)
        snprintf(out, 8, "?");
    else
        snprintf(out, 8, "...%s", access_key_id + n - 4);
}

/* --- options ------------------------------------------------------------ */

static const char *s_real_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

int wc_creds_ctx_init(struct wc_creds_ctx *c, const struct wc_creds_options *o)
{
    static const struct wc_creds_options none = {0};

    memset(c, 0, sizeof(*c));
    if (!o)
        o = &none;
    c->http = o->http;
    c->clock = o->clock ? *o->clock : wc_clock_system();
    c->getenv_fn = o->getenv_fn ? o->getenv_fn : s_real_getenv;
    c->getenv_ctx = o->getenv_fn ? o->getenv_ctx : NULL;
    c->imds_v1_fallback = o->imds_v1_fallback;
    c->refresh_margin_ms = o->refresh_margin_ms > 0 ? o->refresh_margin_ms
                                                    : WC_CREDS_DEFAULT_REFRESH_MARGIN_MS;
    c->process_timeout_ms = o->process_timeout_ms > 0 ? o->process_timeout_ms
                                                      : WC_CREDS_DEFAULT_PROCESS_TIMEOUT_MS;
    c->no_credential_process = o->no_credential_process;
    c->assume_role_fn = o->assume_role_fn;
    c->assume_role_ctx = o->assume_role_ctx;
    c->logger = o->logger;
    if ((o->home_dir && !(c->home_dir = wc_strdup(o->home_dir))) ||
        (o->profile && !(c->profile = wc_strdup(o->profile))) ||
        (o->sts_endpoint && !(c->sts_endpoint = wc_strdup(o->sts_endpoint))) ||
        (o->region && !(c->region = wc_strdup(o->region))) ||
        (o->imds_endpoint && !(c->imds_endpoint = wc_strdup(o->imds_endpoint)))) {
        wc_creds_ctx_clean_up(c);
        return WC_ERR_NOMEM;
    }
    return WC_OK;
}

void wc_creds_ctx_clean_up(struct wc_creds_ctx *c)
{
    if (!c)
        return;
    free(c->home_dir);
    free(c->profile);
    free(c->sts_endpoint);
    free(c->region);
    free(c->imds_endpoint);
    memset(c, 0, sizeof(*c));
}

const char *wc_creds_ctx_getenv(const struct wc_creds_ctx *c, const char *name)
{
    const char *v = c->getenv_fn(c->getenv_ctx, name);

    return wc_str_empty(v) ? NULL : v;
}

int64_t wc_creds_ctx_now_ms(const struct wc_creds_ctx *c)
{
    return wc_clock_now_ms(&c->clock);
}

int wc_creds_read_file(const char *path, size_t max, struct wc_buf *out)
{
    struct stat st;
    size_t n = 0;
    char *data = NULL;
    int rc = WC_OK;
    FILE *f;

    memset(&st, 0, sizeof(st));
    wc_buf_init(out, max);
    if (!path)
        return WC_ERR_INVALID;
    f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? WC_ERR_NOT_FOUND : WC_ERR_IO;
    /* Read in one go into storage of the final size, so no reallocation
     * leaves copies of a secret behind. */
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = WC_ERR_IO;
        goto out;
    }
    if ((uint64_t)st.st_size > (uint64_t)max) {
        rc = WC_ERR_TOO_LARGE;
        goto out;
    }
    if (!(data = malloc((size_t)st.st_size + 2))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    /* Ask for one byte more than the size, to notice a file that grew. */
    n = fread(data, 1, (size_t)st.st_size + 1, f);
    if (ferror(f)) {
        rc = WC_ERR_IO;
        goto out;
    }
    if (n > (size_t)st.st_size) {
        rc = WC_ERR_IO; /* changed while we read it */
        goto out;
    }
    data[n] = '\0';
    out->ptr = data;
    out->len = n;
    out->cap = (size_t)st.st_size + 2;
    data = NULL;
out:
    if (data) {
        OPENSSL_cleanse(data, (size_t)st.st_size + 2);
        free(data);
    }
    fclose(f);
    return rc;
}

/* --- the cache ---------------------------------------------------------- */

void wc_creds_cache_clean_up(struct wc_creds_cache *cache)
{
    wc_aws_credentials_clean_up(&cache->creds);
    cache->valid = false;
}

int wc_creds_cache_get(struct wc_creds_cache *cache, const struct wc_creds_ctx *ctx,
                       wc_creds_fetch_fn *fetch, void *arg, const char *what,
                       struct wc_aws_credentials *out)
{
    struct wc_aws_credentials fresh = {0};
    char tail[8] = {0}, when[WC_TIME_ISO_MAX] = {0};
    int64_t now = wc_creds_ctx_now_ms(ctx), exp = cache->creds.expiration_ms;
    int rc;

    if (cache->valid && (exp == 0 || now < exp - ctx->refresh_margin_ms))
        return wc_aws_credentials_copy(out, &cache->creds);

    rc = fetch(arg, &fresh);
    if (rc == WC_OK && !wc_aws_credentials_valid(&fresh))
        rc = WC_ERR_AUTH;
    if (rc == WC_OK) {
        wc_creds_key_tail(fresh.access_key_id, tail);
        if (fresh.expiration_ms) {
            wc_time_format_iso8601(fresh.expiration_ms, when);
            WC_LOGI(ctx->logger, NULL, "credentials: %s gave credentials from %s (key %s), "
                    "expiring %s", what, fresh.source ? fresh.source : "?", tail, when);
            if (fresh.expiration_ms <= now)
                WC_LOGW(ctx->logger, NULL, "credentials: %s returned credentials that have "
                        "already expired", what);
        } else {
            WC_LOGI(ctx->logger, NULL, "credentials: %s gave credentials from %s (key %s), "
                    "not expiring", what, fresh.source ? fresh.source : "?", tail);
        }
        if ((rc = wc_aws_credentials_copy(out, &fresh)) != WC_OK)
            goto out;
        wc_creds_cache_clean_up(cache);
        cache->creds = fresh;
        memset(&fresh, 0, sizeof(fresh));
        cache->valid = true;
        goto out;
    }
    if (cache->valid && now < exp) {
        wc_time_format_iso8601(exp, when);
        WC_LOGW(ctx->logger, NULL, "credentials: refreshing %s failed (%s); using the cached "
                "credentials until they expire at %s", what, wc_strerror(rc), when);
        rc = wc_aws_credentials_copy(out, &cache->creds);
        goto out;
    }
    if (rc != WC_ERR_NOT_FOUND)
        WC_LOGW(ctx->logger, NULL, "credentials: %s failed: %s", what, wc_strerror(rc));
out:
    wc_aws_credentials_clean_up(&fresh);
    return rc;
}

/* --- providers ---------------------------------------------------------- */

struct wc_creds_provider *wc_creds_provider_new_impl(const struct wc_creds_provider_vtable *vt,
                                                     void *impl,
                                                     const struct wc_creds_options *o)
{
    struct wc_creds_provider *p = calloc(1, sizeof(*p));

    if (!p || wc_creds_ctx_init(&p->ctx, o) != WC_OK) {
        free(p);
        if (vt->destroy_impl)
            vt->destroy_impl(impl);
        return NULL;
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        wc_creds_ctx_clean_up(&p->ctx);
        free(p);
        if (vt->destroy_impl)
            vt->destroy_impl(impl);
        return NULL;
    }
    p->vtable = vt;
    p->impl = impl;
    return p;
}

static int s_provider_fetch(void *arg, struct wc_aws_credentials *out)
{
    struct wc_creds_provider *p = arg;

    return p->vtable->fetch(p, out);
}

int wc_creds_provider_get(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    int rc;

    if (!p || !out)
        return WC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (p->vtable->uncached)
        return p->vtable->fetch(p, out);
    pthread_mutex_lock(&p->lock);
    rc = wc_creds_cache_get(&p->cache, &p->ctx, s_provider_fetch, p, p->vtable->name, out);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

const char *wc_creds_provider_name(const struct wc_creds_provider *p)
{
    return p ? p->vtable->name : NULL;
}

void wc_creds_provider_destroy(struct wc_creds_provider *p)
{
    if (!p)
        return;
    if (p->vtable->destroy_impl)
        p->vtable->destroy_impl(p->impl);
    wc_creds_cache_clean_up(&p->cache);
    wc_creds_ctx_clean_up(&p->ctx);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* --- environment -------------------------------------------------------- */

int wc_creds_fetch_env(const struct wc_creds_ctx *c, struct wc_aws_credentials *out)
{
    const char *akid = wc_creds_ctx_getenv(c, "AWS_ACCESS_KEY_ID");
    const char *secret = wc_creds_ctx_getenv(c, "AWS_SECRET_ACCESS_KEY");
    const char *token = wc_creds_ctx_getenv(c, "AWS_SESSION_TOKEN");
    struct wc_aws_credentials tmp = {0};

    if (!token)
        token = wc_creds_ctx_getenv(c, "AWS_SECURITY_TOKEN"); /* legacy alias */
    if (!akid && !secret)
        return WC_ERR_NOT_FOUND;
    if (!akid || !secret) {
        WC_LOGW(c->logger, NULL, "credentials: environment has %s but not %s",
                akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return WC_ERR_AUTH;
    }
    tmp.access_key_id = (char *)akid;
    tmp.secret_access_key = (char *)secret;
    tmp.session_token = (char *)token;
    tmp.source = (char *)"environment";
    return wc_aws_credentials_copy(out, &tmp);
}

static int s_env_fetch(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    return wc_creds_fetch_env(&p->ctx, out);
}

static const struct wc_creds_provider_vtable s_env_vtable = {
    .name = "environment",
    .fetch = s_env_fetch,
};

struct wc_creds_provider *wc_creds_env_new(const struct wc_creds_options *o)
{
    return wc_creds_provider_new_impl(&s_env_vtable, NULL, o);
}

/* --- static ------------------------------------------------------------- */

static int s_static_fetch(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    return wc_aws_credentials_copy(out, p->impl);
}

static void s_static_destroy(void *impl)
{
    wc_aws_credentials_clean_up(impl);
    free(impl);
}

static const struct wc_creds_provider_vtable s_static_vtable = {
    .name = "static",
    .fetch = s_static_fetch,
    .destroy_impl = s_static_destroy,
};

struct wc_creds_provider *wc_creds_static_new(const struct wc_aws_credentials *c,
                                              const struct wc_creds_options *o)
{
    struct wc_aws_credentials *copy;

    if (!wc_aws_credentials_valid(c))
        return NULL;
    copy = calloc(1, sizeof(*copy));
    if (!copy || wc_aws_credentials_copy(copy, c) != WC_OK ||
        (!copy->source && wc_creds_set_source(copy, "static") != WC_OK)) {
        s_static_destroy(copy);
        return NULL;
    }
    return wc_creds_provider_new_impl(&s_static_vtable, copy, o);
}

/* --- the per-source providers over the one-shot fetchers ---------------- */

static int s_web_identity_fetch(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    return wc_creds_fetch_web_identity_env(&p->ctx, out);
}

static int s_profile_fetch(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    return wc_creds_fetch_profile(&p->ctx, out);
}

static int s_ecs_fetch(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    return wc_creds_fetch_ecs(&p->ctx, out);
}

static int s_imds_fetch(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    return wc_creds_fetch_imds(&p->ctx, out);
}

static const struct wc_creds_provider_vtable s_web_identity_vtable = {
    .name = "web-identity",
    .fetch = s_web_identity_fetch,
};
static const struct wc_creds_provider_vtable s_profile_vtable = {
    .name = "shared-file",
    .fetch = s_profile_fetch,
};
static const struct wc_creds_provider_vtable s_ecs_vtable = {
    .name = "ecs",
    .fetch = s_ecs_fetch,
};
static const struct wc_creds_provider_vtable s_imds_vtable = {
    .name = "imds",
    .fetch = s_imds_fetch,
};

struct wc_creds_provider *wc_creds_web_identity_new(const struct wc_creds_options *o)
{
    return wc_creds_provider_new_impl(&s_web_identity_vtable, NULL, o);
}

struct wc_creds_provider *wc_creds_profile_new(const struct wc_creds_options *o)
{
    return wc_creds_provider_new_impl(&s_profile_vtable, NULL, o);
}

struct wc_creds_provider *wc_creds_ecs_new(const struct wc_creds_options *o)
{
    return wc_creds_provider_new_impl(&s_ecs_vtable, NULL, o);
}

struct wc_creds_provider *wc_creds_imds_new(const struct wc_creds_options *o)
{
    return wc_creds_provider_new_impl(&s_imds_vtable, NULL, o);
}

/* --- the default chain -------------------------------------------------- */

#define S_CHAIN_LEN 5

struct s_chain {
    struct wc_creds_provider *subs[S_CHAIN_LEN];
    pthread_mutex_t lock;
    int last; /* index of the source that worked last, -1 = none yet */
};

static void s_chain_destroy(void *impl)
{
    struct s_chain *ch = impl;

    if (!ch)
        return;
    for (size_t i = 0; i < S_CHAIN_LEN; i++)
        wc_creds_provider_destroy(ch->subs[i]);
    pthread_mutex_destroy(&ch->lock);
    free(ch);
}

static int s_chain_fetch(struct wc_creds_provider *p, struct wc_aws_credentials *out)
{
    struct s_chain *ch = p->impl;
    int last, rc = WC_ERR_NOT_FOUND;

    pthread_mutex_lock(&ch->lock);
    last = ch->last;
    pthread_mutex_unlock(&ch->lock);
    if (last >= 0) {
        if ((rc = wc_creds_provider_get(ch->subs[last], out)) == WC_OK)
            return WC_OK;
        WC_LOGW(p->ctx.logger, NULL, "credentials: %s stopped working (%s); searching the chain",
                ch->subs[last]->vtable->name, wc_strerror(rc));
    }
    for (int i = 0; i < S_CHAIN_LEN; i++) {
        if (i == last)
            continue;
        rc = wc_creds_provider_get(ch->subs[i], out);
        if (rc == WC_OK) {
            pthread_mutex_lock(&ch->lock);
            ch->last = i;
            pthread_mutex_unlock(&ch->lock);
            return WC_OK;
        }
        WC_LOGD(p->ctx.logger, NULL, "credentials: %s: %s", ch->subs[i]->vtable->name,
                wc_strerror(rc));
    }
    WC_LOGE(p->ctx.logger, NULL, "credentials: no source in the chain (environment, "
            "web identity, shared files incl. SSO and credential_process, container, EC2 "
            "instance metadata) gave credentials");
    return WC_ERR_AUTH;
}

static const struct wc_creds_provider_vtable s_chain_vtable = {
    .name = "chain",
    .fetch = s_chain_fetch,
    .destroy_impl = s_chain_destroy,
    .uncached = true,
};

struct wc_creds_provider *wc_creds_chain_new(const struct wc_creds_options *o)
{
    struct s_chain *ch = calloc(1, sizeof(*ch));

    if (!ch)
        return NULL;
    if (pthread_mutex_init(&ch->lock, NULL) != 0) {
        free(ch);
        return NULL;
    }
    ch->last = -1;
    ch->subs[0] = wc_creds_env_new(o);
    ch->subs[1] = wc_creds_web_identity_new(o);
    ch->subs[2] = wc_creds_profile_new(o);
    ch->subs[3] = wc_creds_ecs_new(o);
    ch->subs[4] = wc_creds_imds_new(o);
    for (size_t i = 0; i < S_CHAIN_LEN; i++) {
        if (!ch->subs[i]) {
            s_chain_destroy(ch);
            return NULL;
        }
    }
    return wc_creds_provider_new_impl(&s_chain_vtable, ch, o);
}

/* --- per-account AssumeRole --------------------------------------------- */

struct s_account {
    char account_id[16];
    char *role_arn;
    pthread_mutex_t lock;        /* the cache */
    struct wc_creds_cache cache;
    /* under the table's lock */
    uint64_t used;               /* the table's tick when last handed out */
    int refs;                    /* callers using it now */
    bool evicted;                /* out of the table: the last caller frees it */
};

/* A table of at most WC_CREDS_ACCOUNTS_MAX entries: when full, the least
 * recently used entry makes room (its secrets wiped), so accounts named by
 * forged messages cannot lock out the real ones (review finding 14). A
 * linear search: at 4,096 entries, microseconds next to an STS call. */
struct wc_creds_accounts {
    struct wc_creds_provider *base;
    char *role_arn_template;
    char *external_id;
    char *session_name;
    struct wc_creds_ctx ctx;
    pthread_mutex_t lock;
    struct s_account **items;
    size_t len, cap;
    uint64_t tick;
};

/* The account field of an ARN (arn:partition:service:region:account:...). */
static bool s_arn_account(const char *arn, char out[16])
{
    const char *p = arn;
    const char *end;

    for (int i = 0; i < 4; i++) {
        p = strchr(p, ':');
        if (!p)
            return false;
        p++;
    }
    end = strchr(p, ':');
    if (!end || (size_t)(end - p) >= 16)
        return false;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return true;
}

static char *s_role_arn_for(const struct wc_creds_accounts *a, const char *account_id)
{
    static const char ph[] = "{account_id}";
    const size_t ph_len = sizeof(ph) - 1;
    struct wc_buf b = WC_BUF_INIT;
    const char *p = a->role_arn_template, *hit;

    while ((hit = strstr(p, ph)) != NULL) {
        if (wc_buf_append(&b, p, (size_t)(hit - p)) != WC_OK ||
            wc_buf_append_cstr(&b, account_id) != WC_OK)
            goto fail;
        p = hit + ph_len;
    }
    if (wc_buf_append_cstr(&b, p) != WC_OK)
        goto fail;
    return wc_buf_steal(&b);
fail:
    wc_buf_clean_up(&b);
    return NULL;
}

struct wc_creds_accounts *wc_creds_accounts_new(struct wc_creds_provider *base,
                                                const char *role_arn_template,
                                                const char *external_id,
                                                const char *session_name,
                                                const struct wc_creds_options *o)
{
    struct wc_creds_accounts *a;
    char acct[16] = {0};

    if (!base || !o || !o->assume_role_fn || !role_arn_template ||
        strncmp(role_arn_template, "arn:", 4) != 0)
        return NULL;
    if (!strstr(role_arn_template, "{account_id}") &&
        (!s_arn_account(role_arn_template, acct) || !wc_account_id_is_valid(acct)))
        return NULL;
    if (!session_name)
        session_name = WC_CREDS_DEFAULT_SESSION_NAME;
    if (!wc_sts_valid_session_name(session_name) ||
        (external_id && !wc_sts_valid_external_id(external_id)))
        return NULL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->base = base;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return NULL;
    }
    if (wc_creds_ctx_init(&a->ctx, o) != WC_OK ||
        !(a->role_arn_template = wc_strdup(role_arn_template)) ||
        !(a->session_name = wc_strdup(session_name)) ||
        (external_id && !(a->external_id = wc_strdup(external_id)))) {
        wc_creds_accounts_destroy(a);
        return NULL;
    }
    return a;
}

struct s_account_fetch {
    struct wc_creds_accounts *a;
    struct s_account *acct;
};

static int s_account_fetch(void *arg, struct wc_aws_credentials *out)
{
    struct s_account_fetch *f = arg;
    struct wc_aws_credentials base = {0};
    int rc;

    if ((rc = wc_creds_provider_get(f->a->base, &base)) != WC_OK)
        goto out;
    rc = f->a->ctx.assume_role_fn(f->a->ctx.assume_role_ctx, &base, f->acct->role_arn,
                                  f->a->session_name, f->a->external_id, out);
    if (rc == WC_OK && !out->source)
        rc = wc_creds_set_source(out, "assume-role");
out:
    wc_aws_credentials_clean_up(&base);
    return rc;
}

static void s_account_destroy(struct s_account *acct)
{
    if (!acct)
        return;
    wc_creds_cache_clean_up(&acct->cache);
    pthread_mutex_destroy(&acct->lock);
    free(acct->role_arn);
    free(acct);
}

/* A new entry for account_id (not yet in the list). */
static int s_account_new(struct wc_creds_accounts *a, const char *account_id,
                         struct s_account **out)
{
    struct s_account *acct = NULL;
    char arn_acct[16] = {0};
    char *role_arn = NULL;
    int rc = WC_OK;

    *out = NULL;
    if (!(role_arn = s_role_arn_for(a, account_id))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    /* A fixed ARN (no placeholder) only serves its own account. */
    if (!s_arn_account(role_arn, arn_acct) || strcmp(arn_acct, account_id) != 0) {
        WC_LOGE(a->ctx.logger, NULL, "credentials: role ARN %s does not belong to account %s",
                role_arn, account_id);
        rc = WC_ERR_CONFIG;
        goto out;
    }
    if (!(acct = calloc(1, sizeof(*acct))) || pthread_mutex_init(&acct->lock, NULL) != 0) {
        free(acct);
        acct = NULL;
        rc = WC_ERR_NOMEM;
        goto out;
    }
    snprintf(acct->account_id, sizeof(acct->account_id), "%s", account_id);
    acct->role_arn = role_arn;
    role_arn = NULL;
    *out = acct;
out:
    free(role_arn);
    return rc;
}

/* Make room in a full table (a->lock held): take out the least recently
 * used entry; free it now, or let its last caller free it. */
static void s_account_evict(struct wc_creds_accounts *a)
{
    size_t lru = 0;
    struct s_account *acct;

    for (size_t i = 1; i < a->len; i++)
        if (a->items[i]->used < a->items[lru]->used)
            lru = i;
    acct = a->items[lru];
    a->items[lru] = a->items[--a->len];
    WC_LOGD(a->ctx.logger, NULL, "credentials: %zu accounts cached, forgetting %s (least "
            "recently used)", (size_t)WC_CREDS_ACCOUNTS_MAX, acct->account_id);
    if (acct->refs > 0)
        acct->evicted = true;
    else
        s_account_destroy(acct);
}

/* The entry for account_id, created on first use, held (refs) until
 * s_account_release: an entry evicted meanwhile stays valid for its holder. */
static int s_account_find(struct wc_creds_accounts *a, const char *account_id,
                          struct s_account **out)
{
    struct s_account *acct = NULL, **items;
    int rc = WC_OK;

    *out = NULL;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->len; i++) {
        if (strcmp(a->items[i]->account_id, account_id) == 0) {
            acct = a->items[i];
            goto found;
        }
    }
    if (a->len == a->cap && a->len < WC_CREDS_ACCOUNTS_MAX) {
        size_t cap = a->cap ? a->cap * 2 : 8;

        if (cap > WC_CREDS_ACCOUNTS_MAX)
            cap = WC_CREDS_ACCOUNTS_MAX;
        if (!(items = realloc(a->items, cap * sizeof(*items)))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
        a->items = items;
        a->cap = cap;
    }
    if ((rc = s_account_new(a, account_id, &acct)) != WC_OK)
        goto out;
    if (a->len >= WC_CREDS_ACCOUNTS_MAX)
        s_account_evict(a);
    a->items[a->len++] = acct;
found:
    acct->used = ++a->tick;
    acct->refs++;
    *out = acct;
out:
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static void s_account_release(struct wc_creds_accounts *a, struct s_account *acct)
{
    bool gone;

    pthread_mutex_lock(&a->lock);
    gone = --acct->refs == 0 && acct->evicted;
    pthread_mutex_unlock(&a->lock);
    if (gone)
        s_account_destroy(acct);
}

size_t wc_creds_accounts_count(struct wc_creds_accounts *a)
{
    size_t n;

    if (!a)
        return 0;
    pthread_mutex_lock(&a->lock);
    n = a->len;
    pthread_mutex_unlock(&a->lock);
    return n;
}

int wc_creds_accounts_get(struct wc_creds_accounts *a, const char *account_id,
                          struct wc_aws_credentials *out)
{
    struct s_account_fetch f = {0};
    char what[64] = {0};
    int rc;

    if (!a || !out)
        return WC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (!wc_account_id_is_valid(account_id))
        return WC_ERR_INVALID;
    f.a = a;
    if ((rc = s_account_find(a, account_id, &f.acct)) != WC_OK)
        return rc;
    snprintf(what, sizeof(what), "assume-role into %s", account_id);
    pthread_mutex_lock(&f.acct->lock);
    rc = wc_creds_cache_get(&f.acct->cache, &a->ctx, s_account_fetch, &f, what, out);
    pthread_mutex_unlock(&f.acct->lock);
    s_account_release(a, f.acct);
    return rc;
}

void wc_creds_accounts_destroy(struct wc_creds_accounts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->len; i++)
        s_account_destroy(a->items[i]);
    free(a->items);
    free(a->role_arn_template);
    free(a->external_id);
    free(a->session_name);
    wc_creds_ctx_clean_up(&a->ctx);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
