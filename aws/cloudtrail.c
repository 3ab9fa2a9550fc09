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

static int s_lookup(struct wc_trail *t, const struct wc_trail_query *q, struct wc_event_list *out)
{
    struct s_cloudtrail *ct = t->impl;
    struct wc_logger *lg = wc_aws_logger(ct->aws);
    struct wc_aws_credentials creds = {0};
    struct wc_buf body = WC_BUF_INIT, url = WC_BUF_INIT;
    char *endpoint = NULL, *token = NULL, key[128], err_text[256];
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/x-amz-json-1.1"},
        {(char *)"X-Amz-Target", (char *)WC_CLOUDTRAIL_TARGET},
    };
    int rc, page;

    if (!q->attribute_key || !q->attribute_value || !q->region || q->start_ms > q->end_ms)
        return WC_ERR_INVALID;
    if ((rc = s_credentials(ct, q->account_id, &creds)) != WC_OK) {
        WC_LOGW(lg, NULL, "cloudtrail: no credentials for account %s: %s",
                q->account_id ? q->account_id : "(own)", wc_strerror(rc));
        goto out;
    }
    if ((rc = wc_endpoint_resolve("cloudtrail", q->region, ct->overrides, ct->n_overrides,
                                  ct->env, &endpoint)) != WC_OK ||
        (rc = wc_buf_appendf(&url, "%s/", endpoint)) != WC_OK)
        goto out;
    snprintf(key, sizeof(key), "%s/%s", q->account_id ? q->account_id : "-", q->region);

    for (page = 0; page < ct->max_pages; page++) {
        struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
        struct wc_aws_error aerr = WC_AWS_ERROR_INIT;
        struct wc_aws_request req = {
            .service = "cloudtrail",
            .region = q->region,
            .method = "POST",
            .url = url.ptr,
            .headers = headers,
            .n_headers = sizeof(headers) / sizeof(headers[0]),
        };
        int64_t wait;
        int tries = 0;

        wc_buf_reset(&body);
        if ((rc = wc_cloudtrail_lookup_body(q, token, &body)) != WC_OK)
            goto out;
        req.body = body.ptr;
        req.body_len = body.len;
        /* a throttled call waits for a new slot, like every other call:
         * retrying outside the bucket would take the slots of others */
        req.caller_retries_throttles = true;
        req.cancellable = true;
        for (;;) {
            wait = wc_ratelimit_reserve(ct->rate, key);
            if (wait < 0) {
                rc = (int)wait;
                goto out;
            }
            wc_aws_sleep(ct->aws, wait);
            rc = wc_aws_send(ct->aws, &creds, &req, &resp, &aerr, NULL);
            if (resp.status)
                atomic_fetch_add(&ct->calls, 1);
            if (rc != WC_ERR_THROTTLED)
                break;
            atomic_fetch_add(&ct->throttled, 1);
            if (++tries >= WC_CLOUDTRAIL_THROTTLE_TRIES)
                break;
            /* back off: push this account-region's next slot out */
            wc_ratelimit_penalize(ct->rate, key, (int64_t)1000 << (tries - 1));
            wc_http_response_clean_up(&resp);
            wc_aws_error_clean_up(&aerr);
        }
        if (rc == WC_OK) {
            rc = wc_events_parse(wc_buf_str(&resp.body), out, err_text, sizeof(err_text));
            if (rc != WC_OK)
                WC_LOGW(lg, NULL, "cloudtrail: bad LookupEvents response: %s", err_text);
        } else {
            WC_LOGW(lg, NULL, "cloudtrail: LookupEvents %s=%s in %s failed: %s%s%s",
                    q->attribute_key, q->attribute_value, key,
                    aerr.code ? aerr.code : wc_strerror(rc), aerr.message ? ": " : "",
                    aerr.message ? aerr.message : "");
        }
        wc_http_response_clean_up(&resp);
        wc_aws_error_clean_up(&aerr);
        if (rc != WC_OK)
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
        WC_LOGW(lg, NULL, "cloudtrail: stopped after %d pages for %s=%s", ct->max_pages,
                q->attribute_key, q->attribute_value);
out:
    if (rc != WC_OK)
        atomic_fetch_add(&ct->failures, 1);
    free(out->next_token);
    out->next_token = NULL;
    free(token);
    free(endpoint);
    wc_buf_clean_up(&body);
    wc_buf_clean_up(&url);
    wc_aws_credentials_clean_up(&creds);
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
