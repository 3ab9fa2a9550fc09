#include "aws/s3.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "aws/endpoints.h"
#include "aws/sigv4.h"
#include "aws/xml.h"
#include "core/err.h"

#define S_REGION_MAX 32

/* --- validation ------------------------------------------------------------ */

static bool s_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool s_ipv4_shaped(const char *s)
{
    int parts = 0, digits = 0;

    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (++digits > 3)
                return false;
        } else if (*s == '.' && digits > 0) {
            parts++;
            digits = 0;
        } else {
            return false;
        }
    }
    return digits > 0 && parts == 3;
}

bool wc_s3_bucket_name_is_valid(const char *bucket)
{
    size_t len;

    if (!bucket)
        return false;
    len = strlen(bucket);
    if (len < 3 || len > 63 || !s_alnum(bucket[0]) || !s_alnum(bucket[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = bucket[i];

        if (!s_alnum(c) && c != '.' && c != '-')
            return false;
        if (c == '.' && (bucket[i + 1] == '.' || bucket[i + 1] == '-' ||
                         (i > 0 && bucket[i - 1] == '-')))
            return false;
    }
    return !s_ipv4_shaped(bucket);
}

int wc_s3_location_validate(const char *bucket, const char *key)
{
    size_t len;
    const char *seg;

    if (!wc_s3_bucket_name_is_valid(bucket) || !key)
        return WC_ERR_INVALID;
    len = strlen(key);
    if (len == 0 || len > WC_S3_KEY_MAX)
        return WC_ERR_INVALID;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
            return WC_ERR_INVALID;
    /* "." and ".." segments: an HTTP stack may collapse them (RFC 3986
     * dot-segment removal), fetching another object than the one named. */
    for (seg = key;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);

        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return WC_ERR_INVALID;
        if (!end)
            break;
        seg = end + 1;
    }
    return WC_OK;
}

int wc_s3_location_parse(const char *location, char **bucket, char **key)
{
    const char *slash;
    int rc;

    if (!bucket || !key)
        return WC_ERR_INVALID;
    *bucket = *key = NULL;
    if (!location || !(slash = strchr(location, '/')))
        return WC_ERR_INVALID;
    *bucket = wc_strndup(location, (size_t)(slash - location));
    *key = wc_strdup(slash + 1);
    if (!*bucket || !*key)
        rc = WC_ERR_NOMEM;
    else
        rc = wc_s3_location_validate(*bucket, *key);
    if (rc != WC_OK) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
    }
    return rc;
}

/* --- URL ------------------------------------------------------------------- */

static const char *s_no_env(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

/* base (owned, freed here) + [/bucket] + /key */
static int s_join(char *base, bool vhost, const char *bucket, const char *key, char **out_url)
{
    struct wc_buf b = WC_BUF_INIT;
    int rc;

    if ((rc = wc_buf_append_cstr(&b, base)) != WC_OK ||
        (!vhost && (rc = wc_buf_appendf(&b, "/%s", bucket)) != WC_OK) ||
        (rc = wc_buf_append_char(&b, '/')) != WC_OK ||
        (rc = wc_sigv4_uri_encode(wc_str_from_cstr(key), false, &b)) != WC_OK)
        goto out;
    *out_url = wc_buf_steal(&b);
    rc = *out_url ? WC_OK : WC_ERR_NOMEM;
out:
    free(base);
    wc_buf_clean_up(&b);
    return rc;
}

int wc_s3_object_url(const char *endpoint, const char *bucket, const char *key,
                     const char *region, char **out_url)
{
    const struct wc_env no_env = {s_no_env, NULL};
    const struct wc_endpoint_override ov = {"s3", endpoint};
    char *base = NULL;
    bool vhost = false;
    int rc;

    if (!out_url)
        return WC_ERR_INVALID;
    *out_url = NULL;
    if ((rc = wc_s3_location_validate(bucket, key)) != WC_OK || !wc_region_is_valid(region))
        return WC_ERR_INVALID;
    if (wc_str_empty(endpoint) && wc_s3_bucket_is_virtual_hostable(bucket)) {
        rc = wc_endpoint_s3_virtual_host(bucket, region, &base);
        vhost = true;
    } else {
        /* the override, its {region} expanded, or the standard endpoint */
        rc = wc_endpoint_resolve("s3", region, wc_str_empty(endpoint) ? NULL : &ov, 1, &no_env,
                                 &base);
    }
    if (rc != WC_OK)
        return rc;
    return s_join(base, vhost, bucket, key, out_url);
}

/* The URL from the options: their endpoint, else their resolver. */
static int s_options_url(const struct wc_s3_options *o, const char *bucket, const char *key,
                         const char *region, char **out_url)
{
    char *base = NULL;
    bool vhost = false;
    int rc;

    *out_url = NULL;
    if (!wc_str_empty(o->endpoint) || !o->endpoints)
        return wc_s3_object_url(o->endpoint, bucket, key, region, out_url);
    if ((rc = wc_s3_location_validate(bucket, key)) != WC_OK)
        return rc;
    if ((rc = wc_endpoints_s3_base(o->endpoints, bucket, region, &base, &vhost)) != WC_OK)
        return rc;
    return s_join(base, vhost, bucket, key, out_url);
}

/* --- gunzip ---------------------------------------------------------------- */

int wc_s3_gunzip(const void *data, size_t len, size_t max_bytes, struct wc_buf *out)
{
    const unsigned char *p = data;
    unsigned char chunk[64 * 1024];
    z_stream zs;
    size_t produced = 0;
    int zrc = Z_OK, rc = WC_OK;

    if ((!data && len) || !out)
        return WC_ERR_INVALID;
    if (len < 2 || p[0] != 0x1f || p[1] != 0x8b) {
        if (len > max_bytes)
            return WC_ERR_TOO_LARGE;
        return wc_buf_append(out, data, len);
    }
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return WC_ERR_NOMEM;
    zs.next_in = (unsigned char *)p;
    for (;;) {
        uInt take = len > (size_t)UINT_MAX ? UINT_MAX : (uInt)len;
        size_t have;

        if (zs.avail_in == 0) {
            zs.avail_in = take;
            len -= take;
        }
        zs.next_out = chunk;
        zs.avail_out = sizeof(chunk);
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            rc = zrc == Z_MEM_ERROR ? WC_ERR_NOMEM : WC_ERR_PARSE;
            break;
        }
        have = sizeof(chunk) - zs.avail_out;
        if (have > max_bytes - produced) {
            rc = WC_ERR_TOO_LARGE;
            break;
        }
        produced += have;
        if (have && (rc = wc_buf_append(out, chunk, have)) != WC_OK)
            break;
        if (zrc == Z_STREAM_END)
            break;
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0 && len == 0) {
            rc = WC_ERR_PARSE; /* truncated */
            break;
        }
    }
    if (rc == WC_OK && zrc != Z_STREAM_END)
        rc = WC_ERR_PARSE;
    inflateEnd(&zs);
    return rc;
}

/* --- <Region> of an S3 error body ------------------------------------------ */

struct s_region_ctx {
    char region[S_REGION_MAX + 1];
    bool overflow;
};

/* <Error><Region>eu-west-1</Region></Error>: the last one wins, and one too
 * long for a region spoils the answer. */
static int s_region_element(void *ctx, const struct wc_xml_element *el)
{
    struct s_region_ctx *c = ctx;

    if (el->depth != 2 || el->has_children || strcmp(el->name, "Region") != 0)
        return WC_OK;
    if (el->text_cut || el->text.len > S_REGION_MAX) {
        c->overflow = true;
        return WC_OK;
    }
    memcpy(c->region, el->text.ptr, el->text.len);
    c->region[el->text.len] = '\0';
    return WC_OK;
}

/* The bucket's region named by an error answer, into out (empty if none). */
static void s_bucket_region(const struct wc_http_response *resp, char out[S_REGION_MAX + 1])
{
    const char *h = wc_http_response_header(resp, "x-amz-bucket-region");
    struct s_region_ctx c;
    struct wc_xml_options xo = {
        .on_element = s_region_element,
        .ctx = &c,
        .cut_text = true, /* a long <Message> is no reason to drop the answer */
    };

    out[0] = '\0';
    if (h && strlen(h) <= S_REGION_MAX) {
        strcpy(out, h);
        return;
    }
    memset(&c, 0, sizeof(c));
    if (resp->body.ptr && resp->body.len &&
        wc_xml_parse(resp->body.ptr, resp->body.len, &xo) == WC_OK && !c.overflow)
        memcpy(out, c.region, sizeof(c.region));
}

/* --- GetObject ------------------------------------------------------------- */

static size_t s_max(const struct wc_s3_options *o)
{
    return o->max_object_bytes ? o->max_object_bytes : WC_OVERSIZED_OBJECT_MAX_BYTES;
}

int wc_s3_get_object(const struct wc_s3_options *o, const char *bucket, const char *key,
                     const char *region, struct wc_buf *out, char *errbuf, size_t errlen)
{
    struct wc_aws_credentials creds = {0};
    struct wc_logger *lg;
    char cur[S_REGION_MAX + 1], *url = NULL;
    char where[sizeof("s3:///") + 64 + WC_S3_KEY_MAX]; /* the not-authorized line's */
    int rc, attempt;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!o || !o->aws || !o->creds || !out)
        return WC_ERR_INVALID;
    lg = wc_aws_logger(o->aws);
    if (wc_s3_location_validate(bucket, key) != WC_OK) {
        if (errbuf)
            snprintf(errbuf, errlen, "not a valid S3 location");
        return WC_ERR_INVALID;
    }
    snprintf(where, sizeof(where), "s3://%s/%s", bucket, key);
    snprintf(cur, sizeof(cur), "%s",
             wc_region_is_valid(region) && strlen(region) <= S_REGION_MAX ? region : "us-east-1");
    if ((rc = wc_creds_provider_get(o->creds, &creds)) != WC_OK) {
        if (rc == WC_ERR_NOT_FOUND) /* not "no such key" */
            rc = WC_ERR_AUTH;
        if (errbuf)
            snprintf(errbuf, errlen, "s3: no credentials: %s", wc_strerror(rc));
        goto out;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
        struct wc_aws_error err = WC_AWS_ERROR_INIT;
        struct wc_aws_request req = {
            .service = "s3",
            .region = cur,
            .method = "GET",
            .s3 = true,
            .max_response_bytes = s_max(o),
            .log_id = o->log_id,
            .resource = where,
        };
        char other[S_REGION_MAX + 1] = "";

        free(url);
        url = NULL;
        if ((rc = s_options_url(o, bucket, key, cur, &url)) != WC_OK)
            goto out;
        req.url = url;
        rc = wc_aws_send(o->aws, &creds, &req, &resp, &err, NULL);
        if (rc == WC_OK) {
            rc = wc_buf_append(out, resp.body.ptr ? resp.body.ptr : "", resp.body.len);
        } else {
            if (resp.status == 301 || resp.status == 307 || resp.status == 400)
                s_bucket_region(&resp, other);
            if (attempt == 0 && other[0] && strcmp(other, cur) != 0 &&
                wc_region_is_valid(other)) {
                WC_LOGI(lg, o->log_id, "s3: bucket %s is in %s, not %s: retrying there", bucket,
                        other, cur);
                memcpy(cur, other, sizeof(cur));
                wc_http_response_clean_up(&resp);
                wc_aws_error_clean_up(&err);
                continue;
            }
            if (err.code && (!strcmp(err.code, "NoSuchKey") || !strcmp(err.code, "NoSuchBucket")))
                rc = WC_ERR_NOT_FOUND;
            if (errbuf)
                snprintf(errbuf, errlen, "s3://%s/%s (%s): %s%s%s", bucket, key, cur,
                         err.code ? err.code : wc_strerror(rc), err.message ? ": " : "",
                         err.message ? err.message : "");
            wc_aws_error_log(lg, WC_LOG_WARN, o->log_id, &err, rc,
                             "s3: GetObject s3://%s/%s in %s failed", bucket, key, cur);
        }
        wc_http_response_clean_up(&resp);
        wc_aws_error_clean_up(&err);
        break;
    }
out:
    free(url);
    wc_aws_credentials_clean_up(&creds);
    return rc;
}

int wc_s3_fetch_oversized(const struct wc_s3_options *o, const struct wc_oversized *loc,
                          const char *change_region, struct wc_notification **out,
                          char *errbuf, size_t errlen)
{
    struct wc_buf raw = WC_BUF_INIT, json = WC_BUF_INIT;
    char *bucket = NULL, *key = NULL, reason[256] = "";
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!o || !loc || !out)
        return WC_ERR_INVALID;
    *out = NULL;
    if (loc->s3_bucket || loc->s3_key) {
        rc = wc_s3_location_validate(loc->s3_bucket, loc->s3_key);
        if (rc == WC_OK && (!(bucket = wc_strdup(loc->s3_bucket)) ||
                            !(key = wc_strdup(loc->s3_key))))
            rc = WC_ERR_NOMEM;
    } else {
        rc = wc_s3_location_parse(loc->s3_location, &bucket, &key);
    }
    if (rc != WC_OK) {
        if (errbuf)
            snprintf(errbuf, errlen, "oversized notification: s3BucketLocation is not a valid "
                     "bucket/key");
        goto out;
    }
    if ((rc = wc_s3_get_object(o, bucket, key, change_region, &raw, errbuf, errlen)) != WC_OK)
        goto out;
    rc = wc_s3_gunzip(raw.ptr, raw.len, s_max(o), &json);
    if (rc != WC_OK) {
        if (errbuf)
            snprintf(errbuf, errlen, "s3://%s/%s: %s", bucket, key,
                     rc == WC_ERR_TOO_LARGE ? "over the size cap once gunzipped"
                                            : "not a valid gzip stream");
        goto out;
    }
    rc = wc_notification_parse_oversized_object(wc_buf_str(&json), out, reason, sizeof(reason));
    if (rc != WC_OK && errbuf)
        snprintf(errbuf, errlen, "s3://%s/%s: %s", bucket, key, reason);
out:
    free(bucket);
    free(key);
    wc_buf_clean_up(&raw);
    wc_buf_clean_up(&json);
    return rc;
}
