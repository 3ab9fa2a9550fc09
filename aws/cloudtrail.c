#include "aws/cloudtrail.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/ratelimit.h"

struct s_cloudtrail {
    struct wc_trail base;
    struct wc_aws *aws;
    struct wc_creds_provider *creds;
    struct wc_creds_accounts *accounts;
    const struct wc_endpoint_override *overrides;
    size_t n_overrides;
    const struct wc_env *env;
    const struct wc_endpoints *endpoints;
    struct wc_ratelimit *rate;
    int max_pages;
    _Atomic uint64_t calls, throttled, failures;
};

int wc_cloudtrail_lookup_body(const struct wc_trail_query *q, const char *token,
                              struct wc_buf *out)
{
    cJSON *root = cJSON_CreateObject(), *attrs, *attr;
    char *text = NULL;
    bool ok = root != NULL;
    int rc = WC_ERR_NOMEM;
    /* whole seconds covering the window: StartTime/EndTime are inclusive */
    int64_t start_s = q->start_ms >= 0 ? q->start_ms / 1000 : -((-q->start_ms + 999) / 1000);
    int64_t end_s = q->end_ms >= 0 ? (q->end_ms + 999) / 1000 : -(-q->end_ms / 1000);

    attrs = ok ? cJSON_AddArrayToObject(root, "LookupAttributes") : NULL;
    attr = attrs ? cJSON_CreateObject() : NULL;
    ok = attr && cJSON_AddItemToArray(attrs, attr) &&
         cJSON_AddStringToObject(attr, "AttributeKey", q->attribute_key) &&
         cJSON_AddStringToObject(attr, "AttributeValue", q->attribute_value) &&
         cJSON_AddNumberToObject(root, "StartTime", (double)start_s) &&
         cJSON_AddNumberToObject(root, "EndTime", (double)end_s) &&
         cJSON_AddNumberToObject(root, "MaxResults", 50) &&
         (!token || cJSON_AddStringToObject(root, "NextToken", token));
    if (ok && (text = cJSON_PrintUnformatted(root)) != NULL)
        rc = wc_buf_append_cstr(out, text);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

static int s_credentials(struct s_cloudtrail *ct, const char *account_id,
                         struct wc_aws_credentials *out)
{
    if (ct->accounts && account_id)
        return wc_creds_accounts_get(ct->accounts, account_id, out);
    return wc_creds_provider_get(ct->creds, out);
}

/* What every page of one query shares: credentials, URL, bucket key. */
struct s_call {
    struct wc_aws_credentials creds;
    struct wc_buf url;
    char key[128]; /* account/region: the token bucket's and the log's */
    char resource[128]; /* "account <id> in <region>": the not-authorized line's */
};

static void s_call_clean_up(struct s_call *c)
{
    wc_buf_clean_up(&c->url);
    wc_aws_credentials_clean_up(&c->creds);
}

static bool s_query_valid(const struct wc_trail_query *q)
{
    return q->attribute_key && q->attribute_value && q->region && q->start_ms <= q->end_ms;
}

/* Fetch the credentials of q's account (its role when there is an accounts
 * provider) and resolve the endpoint. */
static int s_call_init(struct s_cloudtrail *ct, const struct wc_trail_query *q,
                       struct s_call *c)
{
    struct wc_logger *lg = wc_aws_logger(ct->aws);
    char *endpoint = NULL;
    int rc;

    *c = (struct s_call){.url = WC_BUF_INIT};
    snprintf(c->key, sizeof(c->key), "%s/%s", q->account_id ? q->account_id : "-", q->region);
    if (q->account_id)
        snprintf(c->resource, sizeof(c->resource), "account %s in %s", q->account_id, q->region);
    else
        snprintf(c->resource, sizeof(c->resource), "region %s", q->region);
    if ((rc = s_credentials(ct, q->account_id, &c->creds)) != WC_OK) {
        WC_LOGW(lg, NULL, "cloudtrail: no credentials for account %s: %s",
                q->account_id ? q->account_id : "(own)", wc_strerror(rc));
        return rc;
    }
    /* the endpoint of the query's region, which it is signed for too */
    rc = ct->endpoints ? wc_endpoints_resolve(ct->endpoints, "cloudtrail", q->region, &endpoint)
                       : wc_endpoint_resolve("cloudtrail", q->region, ct->overrides,
                                             ct->n_overrides, ct->env, &endpoint);
    if (rc == WC_OK)
        rc = wc_buf_appendf(&c->url, "%s/", endpoint);
    free(endpoint);
    return rc;
}

/* One page of q (token NULL for the first) appended to out, out->next_token
 * replaced by the answer's. With `limited`, each try first waits for a slot
 * of the account-region's token bucket and a throttled answer is tried
 * again (WC_CLOUDTRAIL_THROTTLE_TRIES, pushing the bucket back); without, a
 * single call whose throttling comes straight back. Either way wc_aws_send
 * never retries throttling itself (it would bypass the budget); other
 * transient errors get its standard retry. */
static int s_page(struct s_cloudtrail *ct, const struct s_call *c, const struct wc_trail_query *q,
                  const char *token, bool limited, struct wc_event_list *out)
{
    struct wc_logger *lg = wc_aws_logger(ct->aws);
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error aerr = WC_AWS_ERROR_INIT;
    struct wc_buf body = WC_BUF_INIT;
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/x-amz-json-1.1"},
        {(char *)"X-Amz-Target", (char *)WC_CLOUDTRAIL_TARGET},
    };
    struct wc_aws_request req = {
        .service = "cloudtrail",
        .region = q->region,
        .method = "POST",
        .url = c->url.ptr,
        .headers = headers,
        .n_headers = sizeof(headers) / sizeof(headers[0]),
        .caller_retries_throttles = true,
        .cancellable = true,
        .resource = c->resource,
    };
    char err_text[256];
    int rc, tries = 0;

    if ((rc = wc_cloudtrail_lookup_body(q, token, &body)) != WC_OK)
        goto out;
    req.body = body.ptr;
    req.body_len = body.len;
    for (;;) {
        if (limited) {
            int64_t wait = wc_ratelimit_reserve(ct->rate, c->key);

            if (wait < 0) {
                rc = (int)wait;
                goto out;
            }
            wc_aws_sleep(ct->aws, wait);
        }
        rc = wc_aws_send(ct->aws, &c->creds, &req, &resp, &aerr, NULL);
        if (resp.status)
            atomic_fetch_add(&ct->calls, 1);
        if (rc != WC_ERR_THROTTLED)
            break;
        atomic_fetch_add(&ct->throttled, 1);
        if (!limited || ++tries >= WC_CLOUDTRAIL_THROTTLE_TRIES)
            break;
        /* back off: push this account-region's next slot out */
        wc_ratelimit_penalize(ct->rate, c->key, (int64_t)1000 << (tries - 1));
        wc_http_response_clean_up(&resp);
        wc_aws_error_clean_up(&aerr);
    }
    if (rc == WC_OK) {
        rc = wc_events_parse(wc_buf_str(&resp.body), out, err_text, sizeof(err_text));
        if (rc != WC_OK)
            WC_LOGW(lg, NULL, "cloudtrail: bad LookupEvents response: %s", err_text);
    } else if (rc == WC_ERR_THROTTLED && !limited) {
        WC_LOGD(lg, NULL, "cloudtrail: LookupEvents %s=%s in %s throttled", q->attribute_key,
                q->attribute_value, c->key);
    } else {
        wc_aws_error_log(lg, WC_LOG_WARN, NULL, &aerr, rc,
                         "cloudtrail: LookupEvents %s=%s in %s failed", q->attribute_key,
                         q->attribute_value, c->key);
    }
out:
    wc_http_response_clean_up(&resp);
    wc_aws_error_clean_up(&aerr);
    wc_buf_clean_up(&body);
    return rc;
}

static int s_lookup(struct wc_trail *t, const struct wc_trail_query *q, struct wc_event_list *out)
{
    struct s_cloudtrail *ct = t->impl;
    struct s_call call = {.url = WC_BUF_INIT};
    char *token = NULL;
    int rc, page;

    if (!s_query_valid(q))
        return WC_ERR_INVALID; /* a bug of the caller's, not a failed lookup */
    if ((rc = s_call_init(ct, q, &call)) != WC_OK)
        goto out;
    for (page = 0; page < ct->max_pages; page++) {
        if ((rc = s_page(ct, &call, q, token, true, out)) != WC_OK)
            goto out;
        free(token);
        token = NULL;
        if (!out->next_token)
            break;
        if (!(token = wc_strdup(out->next_token))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
    }
    if (token)
        WC_LOGW(wc_aws_logger(ct->aws), NULL, "cloudtrail: stopped after %d pages for %s=%s",
                ct->max_pages, q->attribute_key, q->attribute_value);
out:
    if (rc != WC_OK)
        atomic_fetch_add(&ct->failures, 1);
    free(out->next_token);
    out->next_token = NULL;
    free(token);
    s_call_clean_up(&call);
    return rc;
}

static int s_lookup_page(struct wc_trail *t, const struct wc_trail_query *q, const char *token,
                         struct wc_event_list *out)
{
    struct s_cloudtrail *ct = t->impl;
    struct s_call call = {.url = WC_BUF_INIT};
    int rc;

    if (!s_query_valid(q))
        return WC_ERR_INVALID;
    if ((rc = s_call_init(ct, q, &call)) == WC_OK)
        rc = s_page(ct, &call, q, token, false, out);
    if (rc != WC_OK) {
        /* throttling is the caller's to retry (counted in throttled) */
        if (rc != WC_ERR_THROTTLED)
            atomic_fetch_add(&ct->failures, 1);
        free(out->next_token);
        out->next_token = NULL;
    }
    s_call_clean_up(&call);
    return rc;
}

static void s_destroy(struct wc_trail *t)
{
    struct s_cloudtrail *ct;

    if (!t)
        return;
    ct = t->impl;
    wc_ratelimit_destroy(ct->rate);
    free(ct);
}

static const struct wc_trail_vtable s_vtable = {
    .name = "cloudtrail",
    .lookup = s_lookup,
    .lookup_page = s_lookup_page,
    .destroy = s_destroy,
};

struct wc_trail *wc_cloudtrail_new(const struct wc_cloudtrail_options *o)
{
    struct s_cloudtrail *ct;

    if (!o || !o->aws || !o->creds)
        return NULL;
    ct = calloc(1, sizeof(*ct));
    if (!ct)
        return NULL;
    ct->base.vtable = &s_vtable;
    ct->base.impl = ct;
    ct->aws = o->aws;
    ct->creds = o->creds;
    ct->accounts = o->accounts;
    ct->overrides = o->endpoint_overrides;
    ct->n_overrides = o->n_endpoint_overrides;
    ct->env = o->env;
    ct->endpoints = o->endpoints;
    ct->max_pages = o->max_pages > 0 ? o->max_pages : WC_CLOUDTRAIL_DEFAULT_MAX_PAGES;
    /* 10% under the limit: requests leave here evenly spaced but reach
     * CloudTrail with network jitter, and its window is strict */
    ct->rate = wc_ratelimit_new((o->rate_per_s > 0 ? o->rate_per_s : WC_CLOUDTRAIL_DEFAULT_RATE) /
                                    WC_CLOUDTRAIL_RATE_MARGIN,
                                1.0, o->clock);
    if (!ct->rate) {
        free(ct);
        return NULL;
    }
    return &ct->base;
}

void wc_cloudtrail_stats(const struct wc_trail *t, struct wc_cloudtrail_stats *out)
{
    const struct s_cloudtrail *ct = t->impl;

    out->calls = atomic_load(&((struct s_cloudtrail *)ct)->calls);
    out->throttled = atomic_load(&((struct s_cloudtrail *)ct)->throttled);
    out->failures = atomic_load(&((struct s_cloudtrail *)ct)->failures);
}
