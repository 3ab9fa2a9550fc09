#include "aws/configservice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"

struct wc_configservice {
    struct wc_aws *aws;
    struct wc_creds_provider *creds;
    struct wc_creds_accounts *accounts;
    const struct wc_endpoints *endpoints;
    const struct wc_endpoint_override *overrides;
    size_t n_overrides;
    const struct wc_env *env;
};

struct wc_configservice *wc_configservice_new(const struct wc_configservice_options *o)
{
    struct wc_configservice *cs;

    if (!o || !o->aws || !o->creds)
        return NULL;
    if (!(cs = calloc(1, sizeof(*cs))))
        return NULL;
    cs->aws = o->aws;
    cs->creds = o->creds;
    cs->accounts = o->accounts;
    cs->endpoints = o->endpoints;
    cs->overrides = o->endpoint_overrides;
    cs->n_overrides = o->n_endpoint_overrides;
    cs->env = o->env;
    return cs;
}

void wc_configservice_destroy(struct wc_configservice *cs)
{
    free(cs);
}

static int64_t s_floor_s(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static int64_t s_ceil_s(int64_t ms)
{
    return ms >= 0 ? (ms + 999) / 1000 : -(-ms / 1000);
}

int wc_configservice_history_body(const struct wc_config_history_query *q, const char *token,
                                  struct wc_buf *out)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    int rc = WC_ERR_NOMEM;
    bool ok = root != NULL;

    ok = ok && cJSON_AddStringToObject(root, "resourceType", q->resource_type) &&
         cJSON_AddStringToObject(root, "resourceId", q->resource_id) &&
         (q->later_ms == WC_HISTORY_NO_TIME ||
          cJSON_AddNumberToObject(root, "laterTime", (double)s_ceil_s(q->later_ms))) &&
         (q->earlier_ms == WC_HISTORY_NO_TIME ||
          cJSON_AddNumberToObject(root, "earlierTime", (double)s_floor_s(q->earlier_ms))) &&
         cJSON_AddStringToObject(root, "chronologicalOrder", q->forward ? "Forward" : "Reverse") &&
         (q->limit <= 0 || cJSON_AddNumberToObject(root, "limit", q->limit)) &&
         (!token || cJSON_AddStringToObject(root, "nextToken", token));
    if (ok && (text = cJSON_PrintUnformatted(root)) != NULL)
        rc = wc_buf_append_cstr(out, text);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

int wc_configservice_history_page(struct wc_configservice *cs,
                                  const struct wc_config_history_query *q, const char *token,
                                  struct wc_buf *out, struct wc_aws_error *err)
{
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/x-amz-json-1.1"},
        {(char *)"X-Amz-Target", (char *)WC_CONFIGSERVICE_HISTORY_TARGET},
    };
    struct wc_logger *lg = wc_aws_logger(cs->aws);
    struct wc_aws_credentials creds = {0};
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_buf body = WC_BUF_INIT, url = WC_BUF_INIT;
    struct wc_aws_request req = {
        .service = "config",
        .method = "POST",
        .headers = headers,
        .n_headers = sizeof(headers) / sizeof(headers[0]),
        .cancellable = true,
    };
    const char *account = q->account_id;
    char *endpoint = NULL;
    char what[160], where[160];
    int rc;

    if (!q->region || !q->resource_type || !q->resource_id)
        return WC_ERR_INVALID;
    snprintf(what, sizeof(what), "%s/%s", account ? account : "-", q->region);
    if (account) /* the not-authorized line's, as CloudTrail's */
        snprintf(where, sizeof(where), "account %s in %s", account, q->region);
    else
        snprintf(where, sizeof(where), "region %s", q->region);
    req.resource = where;
    rc = account && cs->accounts ? wc_creds_accounts_get(cs->accounts, account, &creds)
                                 : wc_creds_provider_get(cs->creds, &creds);
    if (rc != WC_OK) {
        WC_LOGW(lg, NULL, "config: no credentials for account %s: %s", account ? account : "(own)",
                wc_strerror(rc));
        goto out;
    }
    rc = cs->endpoints ? wc_endpoints_resolve(cs->endpoints, "config", q->region, &endpoint)
                       : wc_endpoint_resolve("config", q->region, cs->overrides, cs->n_overrides,
                                             cs->env, &endpoint);
    if (rc != WC_OK || (rc = wc_buf_appendf(&url, "%s/", endpoint)) != WC_OK ||
        (rc = wc_configservice_history_body(q, token, &body)) != WC_OK)
        goto out;
    req.region = q->region;
    req.url = url.ptr;
    req.body = body.ptr;
    req.body_len = body.len;
    rc = wc_aws_send(cs->aws, &creds, &req, &resp, err, NULL);
    if (rc == WC_OK) {
        rc = wc_buf_append(out, resp.body.ptr ? resp.body.ptr : "", resp.body.len);
    } else {
        wc_aws_error_log(lg, WC_LOG_INFO, NULL, err, rc,
                         "config: GetResourceConfigHistory %s %s in %s failed", q->resource_type,
                         q->resource_id, what);
    }
out:
    free(endpoint);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    wc_buf_clean_up(&url);
    wc_aws_credentials_clean_up(&creds);
    return rc;
}
