#include "aws/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

#define S_REGION_MAX 64
#define S_URL_MAX 2048
#define S_SOURCE_MAX 160

static bool s_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool s_digit(char c) { return c >= '0' && c <= '9'; }

bool wc_region_is_china(const char *region)
{
    return region && strncmp(region, "cn-", 3) == 0;
}

/* ---- settings: environment, then profile ---- */

const char *wc_env_get(const struct wc_env *env, const char *name)
{
    const char *v;

    v = env && env->get ? env->get(env->ctx, name) : getenv(name);
    return v && *v ? v : NULL;
}

static const char *s_profile_get(const struct wc_aws_profile *p, const char *section,
                                 const char *key)
{
    const char *v;

    if (!p || !p->get)
        return NULL;
    v = p->get(p->ctx, section, key);
    return v && *v ? v : NULL;
}

const char *wc_aws_setting(const struct wc_env *env, const struct wc_aws_profile *profile,
                           const char *var, const char *key, const char **source)
{
    const char *v = NULL;

    if (source)
        *source = NULL;
    if (var && (v = wc_env_get(env, var))) {
        if (source)
            *source = var;
    } else if (key && (v = s_profile_get(profile, NULL, key))) {
        if (source)
            *source = key;
    }
    return v;
}

int wc_aws_setting_bool(const struct wc_env *env, const struct wc_aws_profile *profile,
                        const char *var, const char *key, bool *out, char *err, size_t errlen)
{
    const char *src, *v = wc_aws_setting(env, profile, var, key, &src);

    *out = false;
    if (!v)
        return WC_OK;
    if (strcasecmp(v, "true") == 0)
        *out = true;
    else if (strcasecmp(v, "false") != 0) {
        if (src == key)
            wc_errf(err, errlen, "profile %s: %s must be true or false, got '%.40s'",
                    profile && profile->name ? profile->name : "default", key, v);
        else
            wc_errf(err, errlen, "%s must be true or false, got '%.40s'", var, v);
        return WC_ERR_CONFIG;
    }
    return WC_OK;
}

/* ---- services ---- */

static const struct s_service {
    const char *id;      /* ours, and the signing name */
    const char *env;     /* AWS_ENDPOINT_URL_<SERVICE> */
    const char *key;     /* its key in a [services] section */
    const char *host;    /* host prefix */
    const char *fips;    /* host prefix with FIPS */
} s_services[] = {
    {"sqs", "AWS_ENDPOINT_URL_SQS", "sqs", "sqs", "sqs-fips"},
    {"cloudtrail", "AWS_ENDPOINT_URL_CLOUDTRAIL", "cloudtrail", "cloudtrail", "cloudtrail-fips"},
    {"sts", "AWS_ENDPOINT_URL_STS", "sts", "sts", "sts-fips"},
    {"s3", "AWS_ENDPOINT_URL_S3", "s3", "s3", "s3-fips"},
    {"sso", "AWS_ENDPOINT_URL_SSO", "sso", "portal.sso", "portal.sso-fips"},
    {"sso-oidc", "AWS_ENDPOINT_URL_SSO_OIDC", "sso_oidc", "oidc", "oidc-fips"},
    /* AWS Config (`whochanged history`): the SDKs' service id "Config Service" */
    {"config", "AWS_ENDPOINT_URL_CONFIG_SERVICE", "config_service", "config", "config-fips"},
    {"dynamodb", "AWS_ENDPOINT_URL_DYNAMODB", "dynamodb", "dynamodb", "dynamodb-fips"},
};

#define S_N_SERVICES (sizeof(s_services) / sizeof(s_services[0]))

static const struct s_service *s_service(const char *id)
{
    for (size_t i = 0; id && i < S_N_SERVICES; i++)
        if (strcmp(s_services[i].id, id) == 0)
            return &s_services[i];
    return NULL;
}

/* The URL checks: http(s)://host..., no whitespace or control characters.
 * n: the length of the prefix with the trailing '/' characters dropped. */
static bool s_url_ok(const char *url, size_t *n)
{
    size_t len = strlen(url), skip;

    if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (len > S_URL_MAX || len == skip || url[skip] == '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return false;
    while (len > skip && url[len - 1] == '/')
        len--;
    if (n)
        *n = len;
    return true;
}

bool wc_endpoint_url_template_ok(const char *url)
{
    const char *p;

    if (!url || !s_url_ok(url, NULL))
        return false;
    for (p = url; (p = strpbrk(p, "{}")); p += 8)
        if (strncmp(p, "{region}", 8) != 0)
            return false;
    return true;
}

/* Copy url, "{region}" replaced by region (already validated: letters,
 * digits and '-'), the trailing '/' characters dropped. */
static int s_expand(const char *url, const char *region, char **out)
{
    struct wc_buf b = WC_BUF_INIT;
    const char *p = url, *q;
    size_t n;
    int rc = WC_OK;

    *out = NULL;
    if (!wc_endpoint_url_template_ok(url))
        return WC_ERR_INVALID;
    wc_buf_init(&b, S_URL_MAX * 2);
    while (rc == WC_OK && (q = strstr(p, "{region}"))) {
        if ((rc = wc_buf_append(&b, p, (size_t)(q - p))) == WC_OK)
            rc = wc_buf_append_cstr(&b, region);
        p = q + 8;
    }
    if (rc == WC_OK)
        rc = wc_buf_append_cstr(&b, p);
    if (rc == WC_OK && !s_url_ok(b.ptr, &n))
        rc = WC_ERR_INVALID;
    if (rc == WC_OK && !(*out = wc_strndup(b.ptr, n)))
        rc = WC_ERR_NOMEM;
    wc_buf_clean_up(&b);
    return rc;
}

/* ---- the resolver ---- */

struct s_configured {
    char *url;    /* NULL: standard endpoint */
    char *source; /* where from */
};

struct wc_endpoints {
    struct s_configured svc[S_N_SERVICES];
    bool fips, dualstack;
};

void wc_endpoints_destroy(struct wc_endpoints *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < S_N_SERVICES; i++) {
        free(e->svc[i].url);
        free(e->svc[i].source);
    }
    free(e);
}

static int s_set(struct s_configured *c, const char *url, const char *source)
{
    if (!(c->url = wc_strdup(url)) || !(c->source = wc_strdup(source)))
        return WC_ERR_NOMEM;
    return WC_OK;
}

struct wc_endpoints *wc_endpoints_new(const struct wc_endpoints_options *o, char *err,
                                      size_t errlen)
{
    static const struct wc_endpoints_options none = {0};
    struct wc_endpoints *e;
    const char *pname, *services = NULL, *global = NULL;
    bool global_from_env = false;
    char section[S_SOURCE_MAX], key[64], src[S_SOURCE_MAX];
    bool ignore = false;
    int rc = WC_OK;

    if (err && errlen)
        err[0] = '\0';
    if (!o)
        o = &none;
    if (!(e = calloc(1, sizeof(*e))))
        return NULL;
    pname = o->profile && o->profile->name ? o->profile->name : "default";
    if ((rc = wc_aws_setting_bool(o->env, o->profile, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint",
                                  &e->fips, err, errlen)) != WC_OK ||
        (rc = wc_aws_setting_bool(o->env, o->profile, "AWS_USE_DUALSTACK_ENDPOINT",
                                  "use_dualstack_endpoint", &e->dualstack, err, errlen)) != WC_OK ||
        (rc = wc_aws_setting_bool(o->env, o->profile, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                                  "ignore_configured_endpoint_urls", &ignore, err, errlen)) != WC_OK)
        goto fail;
    /* 1. ours */
    for (size_t i = 0; o->overrides && i < o->n_overrides; i++) {
        const struct wc_endpoint_override *ov = &o->overrides[i];
        const struct s_service *s = s_service(ov->service);

        if (!ov->url)
            continue;
        if (!s) {
            wc_errf(err, errlen, "endpoints: unknown service '%.40s'", ov->service ? ov->service : "");
            rc = WC_ERR_CONFIG;
            goto fail;
        }
        if (!wc_endpoint_url_template_ok(ov->url)) {
            wc_errf(err, errlen, "endpoints.%s: not an http(s):// URL ({region} is the only "
                    "placeholder)", s->id);
            rc = WC_ERR_CONFIG;
            goto fail;
        }
        snprintf(src, sizeof(src), "endpoints.%s", s->id);
        if (!e->svc[s - s_services].url &&
            (rc = s_set(&e->svc[s - s_services], ov->url, src)) != WC_OK)
            goto fail;
    }
    if (ignore)
        return e;
    /* 3, 5: the global ones */
    if ((global = wc_env_get(o->env, "AWS_ENDPOINT_URL")))
        global_from_env = true;
    else
        global = s_profile_get(o->profile, NULL, "endpoint_url");
    services = s_profile_get(o->profile, NULL, "services");
    for (size_t i = 0; i < S_N_SERVICES; i++) {
        const struct s_service *s = &s_services[i];
        const char *v = NULL;

        if (e->svc[i].url)
            continue;
        if ((v = wc_env_get(o->env, s->env))) {
            snprintf(src, sizeof(src), "%s", s->env);
        } else if (global && global_from_env) {
            v = global;
            snprintf(src, sizeof(src), "AWS_ENDPOINT_URL");
        } else if (services &&
                   (snprintf(section, sizeof(section), "services %s", services),
                    snprintf(key, sizeof(key), "%s.endpoint_url", s->key),
                    v = s_profile_get(o->profile, section, key))) {
            snprintf(src, sizeof(src), "profile %s: services %s", pname, services);
        } else if (global) {
            v = global;
            snprintf(src, sizeof(src), "profile %s: endpoint_url", pname);
        }
        if (!v)
            continue;
        if (!wc_endpoint_url_template_ok(v)) {
            wc_errf(err, errlen, "%s: the %s endpoint must be an http:// or https:// URL", src,
                    s->id);
            rc = WC_ERR_CONFIG;
            goto fail;
        }
        if ((rc = s_set(&e->svc[i], v, src)) != WC_OK)
            goto fail;
    }
    return e;
fail:
    if (rc == WC_ERR_NOMEM)
        wc_errf(err, errlen, "out of memory");
    wc_endpoints_destroy(e);
    return NULL;
}

bool wc_endpoints_fips(const struct wc_endpoints *e) { return e && e->fips; }
bool wc_endpoints_dualstack(const struct wc_endpoints *e) { return e && e->dualstack; }

const char *wc_endpoints_source(const struct wc_endpoints *e, const char *service)
{
    const struct s_service *s = s_service(service);

    return e && s ? e->svc[s - s_services].source : NULL;
}

/* The standard endpoint (botocore 1.43 endpoint rule sets). */
static int s_standard(const struct wc_endpoints *e, const struct s_service *s, const char *region,
                      char **out)
{
    const struct wc_partition *p = wc_partition_of_region(region);
    struct wc_buf b = WC_BUF_INIT;
    bool fips = e && e->fips, ds = e && e->dualstack;
    int rc;

    wc_buf_init(&b, S_URL_MAX);
    if (strcmp(s->id, "s3") == 0) {
        if (fips && strcmp(p->id, "aws-cn") == 0) /* "Partition does not support FIPS" */
            return WC_ERR_UNSUPPORTED;
        rc = wc_buf_appendf(&b, "https://%s%s.%s.%s", fips ? s->fips : s->host,
                            ds ? ".dualstack" : "", region, p->dns_suffix);
    } else if (fips && !ds && strcmp(p->id, "aws-us-gov") == 0) {
        /* GovCloud's standard endpoints are the FIPS ones */
        rc = wc_buf_appendf(&b, "https://%s.%s.%s", s->host, region, p->dns_suffix);
    } else {
        rc = wc_buf_appendf(&b, "https://%s.%s.%s", fips ? s->fips : s->host, region,
                            ds ? p->dualstack_dns_suffix : p->dns_suffix);
    }
    if (rc == WC_OK && !(*out = wc_buf_steal(&b)))
        rc = WC_ERR_NOMEM;
    wc_buf_clean_up(&b);
    return rc;
}

int wc_endpoints_resolve(const struct wc_endpoints *e, const char *service, const char *region,
                         char **out_url)
{
    const struct s_service *s = s_service(service);
    const struct s_configured *c;

    if (!out_url)
        return WC_ERR_INVALID;
    *out_url = NULL;
    if (!s || !wc_region_is_valid(region))
        return WC_ERR_INVALID;
    c = e ? &e->svc[s - s_services] : NULL;
    if (c && c->url)
        return s_expand(c->url, region, out_url);
    return s_standard(e, s, region, out_url);
}

int wc_endpoints_s3_base(const struct wc_endpoints *e, const char *bucket, const char *region,
                         char **out_url, bool *virtual_host)
{
    const struct s_service *s = s_service("s3");
    const struct wc_partition *p;
    struct wc_buf b = WC_BUF_INIT;
    bool fips = e && e->fips, ds = e && e->dualstack;
    int rc;

    if (!out_url || !virtual_host)
        return WC_ERR_INVALID;
    *out_url = NULL;
    *virtual_host = false;
    if (!wc_region_is_valid(region))
        return WC_ERR_INVALID;
    if ((e && e->svc[s - s_services].url) || !wc_s3_bucket_is_virtual_hostable(bucket))
        return wc_endpoints_resolve(e, "s3", region, out_url);
    p = wc_partition_of_region(region);
    if (fips && strcmp(p->id, "aws-cn") == 0)
        return WC_ERR_UNSUPPORTED;
    wc_buf_init(&b, S_URL_MAX);
    if ((rc = wc_buf_appendf(&b, "https://%s.%s%s.%s.%s", bucket, fips ? s->fips : s->host,
                             ds ? ".dualstack" : "", region, p->dns_suffix)) == WC_OK &&
        !(*out_url = wc_buf_steal(&b)))
        rc = WC_ERR_NOMEM;
    wc_buf_clean_up(&b);
    *virtual_host = rc == WC_OK;
    return rc;
}

int wc_endpoint_resolve(const char *service, const char *region,
                        const struct wc_endpoint_override *overrides, size_t n_overrides,
                        const struct wc_env *env, char **out_url)
{
    struct wc_endpoints_options o = {overrides, n_overrides, env, NULL};
    struct wc_endpoints *e;
    int rc;

    if (!out_url)
        return WC_ERR_INVALID;
    *out_url = NULL;
    if (!s_service(service) || !wc_region_is_valid(region))
        return WC_ERR_INVALID;
    /* an override for an unknown service is ignored here, as before */
    for (size_t i = 0; overrides && i < n_overrides; i++)
        if (overrides[i].service && overrides[i].url && strcmp(overrides[i].service, service) == 0)
            return s_expand(overrides[i].url, region, out_url);
    o.overrides = NULL;
    o.n_overrides = 0;
    if (!(e = wc_endpoints_new(&o, NULL, 0)))
        return WC_ERR_INVALID; /* or out of memory */
    rc = wc_endpoints_resolve(e, service, region, out_url);
    wc_endpoints_destroy(e);
    return rc;
}

bool wc_s3_bucket_is_virtual_hostable(const char *bucket)
{
    size_t len;

    if (!bucket || (len = strlen(bucket)) < 3 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = bucket[i];

        if (!s_lower(c) && !s_digit(c) && c != '-')
            return false;
    }
    return bucket[0] != '-' && bucket[len - 1] != '-';
}

int wc_endpoint_s3_virtual_host(const char *bucket, const char *region, char **out_url)
{
    struct wc_buf b = WC_BUF_INIT;
    int rc;

    if (!out_url)
        return WC_ERR_INVALID;
    *out_url = NULL;
    if (!wc_s3_bucket_is_virtual_hostable(bucket) || !wc_region_is_valid(region))
        return WC_ERR_INVALID;
    wc_buf_init(&b, S_URL_MAX);
    if ((rc = wc_buf_appendf(&b, "https://%s.s3.%s.%s", bucket, region,
                             wc_partition_of_region(region)->dns_suffix)) != WC_OK) {
        wc_buf_clean_up(&b);
        return rc;
    }
    *out_url = wc_buf_steal(&b);
    return *out_url ? WC_OK : WC_ERR_NOMEM;
}

/* host is "<prefix><region>.<suffix>" where suffix is the DNS or dual-stack
 * suffix of region's partition. */
static bool s_partition_host(struct wc_str host, size_t prefix)
{
    const char *r = host.ptr + prefix, *dot;
    char region[S_REGION_MAX + 1];
    const struct wc_partition *p;
    struct wc_str suffix;

    if (host.len <= prefix || !(dot = memchr(r, '.', host.len - prefix)) ||
        (size_t)(dot - r) > S_REGION_MAX)
        return false;
    memcpy(region, r, (size_t)(dot - r));
    region[dot - r] = '\0';
    p = wc_partition_of_region(region);
    suffix = (struct wc_str){dot + 1, host.len - (size_t)(dot + 1 - host.ptr)};
    return wc_str_eq_cstr(suffix, p->dns_suffix) || wc_str_eq_cstr(suffix, p->dualstack_dns_suffix);
}

char *wc_sqs_region_from_queue_url(const char *url)
{
    struct wc_str host;
    const char *h, *end, *p;
    char region[S_REGION_MAX + 1];
    size_t n;

    if (!url)
        return NULL;
    if (strncasecmp(url, "https://", 8) == 0)
        h = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        h = url + 7;
    else
        return NULL;
    end = h + strcspn(h, "/:?#");
    host = (struct wc_str){h, (size_t)(end - h)};

    if (wc_str_eq_cstr(host, "queue.amazonaws.com"))
        return wc_strdup("us-east-1");
    /* sqs[-fips].<region>.<dnsSuffix or dualStackDnsSuffix> */
    if ((wc_str_starts_with(host, WC_STR_LIT("sqs.")) ||
         wc_str_starts_with(host, WC_STR_LIT("sqs-fips."))) &&
        s_partition_host(host, h[3] == '.' ? 4 : 9)) {
        p = h + (h[3] == '.' ? 4 : 9);
        n = (size_t)((const char *)memchr(p, '.', (size_t)(end - p)) - p);
    } else if (wc_str_ends_with(host, WC_STR_LIT(".queue.amazonaws.com")) ||
               wc_str_ends_with(host, WC_STR_LIT(".queue.amazonaws.com.cn"))) {
        /* <region>.queue.amazonaws.com */
        p = h;
        n = (size_t)((const char *)memchr(p, '.', (size_t)(end - p)) - p);
    } else {
        return NULL;
    }
    if (n == 0 || n > S_REGION_MAX)
        return NULL;
    memcpy(region, p, n);
    region[n] = '\0';
    if (!wc_region_is_valid(region))
        return NULL;
    return wc_strdup(region);
}
