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

static bool s_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool s_digit(char c) { return c >= '0' && c <= '9'; }

bool wc_region_is_china(const char *region)
{
    return region && strncmp(region, "cn-", 3) == 0;
}

static const char *s_dns_suffix(const char *region)
{
    return wc_region_is_china(region) ? "amazonaws.com.cn" : "amazonaws.com";
}

static const char *s_getenv(const struct wc_env *env, const char *name)
{
    const char *v;

    v = env && env->get ? env->get(env->ctx, name) : getenv(name);
    return v && *v ? v : NULL;
}

/* The env-var suffix of a service id: "cloudtrail" -> "CLOUDTRAIL". */
static const char *s_env_name(const char *service)
{
    static const struct {
        const char *service, *var;
    } names[] = {
        {"sqs", "AWS_ENDPOINT_URL_SQS"},
        {"cloudtrail", "AWS_ENDPOINT_URL_CLOUDTRAIL"},
        {"sts", "AWS_ENDPOINT_URL_STS"},
        {"s3", "AWS_ENDPOINT_URL_S3"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].service, service) == 0)
            return names[i].var;
    return NULL;
}

/* Copy an override URL: must be http(s)://host..., no whitespace; the
 * trailing '/' characters are dropped. */
static int s_copy_url(const char *url, char **out)
{
    size_t len = strlen(url), skip;

    if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return WC_ERR_INVALID;
    if (len > S_URL_MAX || len == skip || url[skip] == '/')
        return WC_ERR_INVALID;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return WC_ERR_INVALID;
    while (len > skip && url[len - 1] == '/')
        len--;
    *out = wc_strndup(url, len);
    return *out ? WC_OK : WC_ERR_NOMEM;
}

int wc_endpoint_resolve(const char *service, const char *region,
                        const struct wc_endpoint_override *overrides, size_t n_overrides,
                        const struct wc_env *env, char **out_url)
{
    struct wc_buf b = WC_BUF_INIT;
    const char *var, *v;
    int rc;

    if (!out_url)
        return WC_ERR_INVALID;
    *out_url = NULL;
    if (!service || !(var = s_env_name(service)) || !wc_region_is_valid(region))
        return WC_ERR_INVALID;

    for (size_t i = 0; overrides && i < n_overrides; i++)
        if (overrides[i].service && overrides[i].url && strcmp(overrides[i].service, service) == 0)
            return s_copy_url(overrides[i].url, out_url);
    if ((v = s_getenv(env, var)) || (v = s_getenv(env, "AWS_ENDPOINT_URL")))
        return s_copy_url(v, out_url);

    wc_buf_init(&b, S_URL_MAX);
    if ((rc = wc_buf_appendf(&b, "https://%s.%s.%s", service, region, s_dns_suffix(region))) != WC_OK) {
        wc_buf_clean_up(&b);
        return rc;
    }
    *out_url = wc_buf_steal(&b);
    return *out_url ? WC_OK : WC_ERR_NOMEM;
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
    if ((rc = wc_buf_appendf(&b, "https://%s.s3.%s.%s", bucket, region, s_dns_suffix(region))) != WC_OK) {
        wc_buf_clean_up(&b);
        return rc;
    }
    *out_url = wc_buf_steal(&b);
    return *out_url ? WC_OK : WC_ERR_NOMEM;
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
    /* sqs.<region>.amazonaws.com[.cn] */
    if (wc_str_starts_with(host, WC_STR_LIT("sqs.")) &&
        (wc_str_ends_with(host, WC_STR_LIT(".amazonaws.com")) ||
         wc_str_ends_with(host, WC_STR_LIT(".amazonaws.com.cn")))) {
        p = h + 4;
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
