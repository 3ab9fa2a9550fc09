/* probe.c - see probe.h. */
#include "aws/probe.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "aws/xml.h"
#include "core/err.h"
#include "core/str.h"

#define S_MAX_RESPONSE ((size_t)64 * 1024)

struct s_identity {
    char *arn, *account;
    size_t arnlen, accountlen;
};

static int s_identity_element(void *ctx, const struct wc_xml_element *el)
{
    struct s_identity *id = ctx;
    struct wc_str t = wc_str_trim(el->text);

    if (el->has_children || !wc_xml_parent_is(el, "GetCallerIdentityResult"))
        return WC_OK;
    if (!strcmp(el->name, "Arn") && id->arn)
        snprintf(id->arn, id->arnlen, "%.*s", (int)t.len, t.ptr);
    else if (!strcmp(el->name, "Account") && id->account)
        snprintf(id->account, id->accountlen, "%.*s", (int)t.len, t.ptr);
    return WC_OK;
}

/* The failure of one call as a line in why. */
static void s_why(int rc, const struct wc_aws_error *err, const char *service,
                  const char *operation, char *why, size_t whylen)
{
    if (err->code)
        wc_aws_error_describe(err, service, operation, why, whylen);
    else
        snprintf(why, whylen, "%s:%s: %s", service, operation, wc_strerror(rc));
}

int wc_probe_caller_identity(struct wc_aws *aws, const struct wc_aws_credentials *creds,
                             const char *sts_endpoint, const char *region, char *arn,
                             size_t arnlen, char *account, size_t accountlen, char *why,
                             size_t whylen)
{
    static const char body[] = "Action=GetCallerIdentity&Version=2011-06-15";
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/x-www-form-urlencoded; charset=utf-8"},
    };
    struct wc_aws_request req = {
        .service = "sts",
        .operation = "GetCallerIdentity",
        .region = region,
        .method = "POST",
        .url = sts_endpoint,
        .headers = headers,
        .n_headers = 1,
        .body = body,
        .body_len = sizeof(body) - 1,
        .max_response_bytes = S_MAX_RESPONSE,
    };
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct s_identity id = {arn, account, arnlen, accountlen};
    struct wc_xml_options xo = {.on_element = s_identity_element, .ctx = &id,
                                .root = "GetCallerIdentityResponse"};
    int rc;

    if (arn && arnlen)
        arn[0] = '\0';
    if (account && accountlen)
        account[0] = '\0';
    if ((rc = wc_aws_send(aws, creds, &req, &resp, &err, NULL)) != WC_OK) {
        s_why(rc, &err, "sts", "GetCallerIdentity", why, whylen);
        goto out;
    }
    if ((rc = wc_xml_parse(resp.body.ptr ? resp.body.ptr : "", resp.body.len, &xo)) != WC_OK)
        snprintf(why, whylen, "sts:GetCallerIdentity: malformed answer (%s)", wc_strerror(rc));
out:
    wc_aws_error_clean_up(&err);
    wc_http_response_clean_up(&resp);
    return rc;
}

int wc_probe_lookup_events(struct wc_aws *aws, const struct wc_aws_credentials *creds,
                           const char *cloudtrail_endpoint, const char *region, char *why,
                           size_t whylen)
{
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/x-amz-json-1.1"},
        {(char *)"X-Amz-Target",
         (char *)"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"},
    };
    struct wc_aws_request req = {
        .service = "cloudtrail",
        .region = region,
        .method = "POST",
        .url = cloudtrail_endpoint,
        .headers = headers,
        .n_headers = sizeof(headers) / sizeof(headers[0]),
        .max_response_bytes = S_MAX_RESPONSE,
    };
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    cJSON *root = cJSON_CreateObject(), *attrs, *attr;
    double now_s = (double)(wc_aws_now_ms(aws) / 1000);
    char *body = NULL;
    int rc = WC_ERR_NOMEM;

    /* the question the worker asks, kept as small as can be */
    if (!root || !cJSON_AddNumberToObject(root, "MaxResults", 1) ||
        !cJSON_AddNumberToObject(root, "StartTime", now_s - 3600) ||
        !cJSON_AddNumberToObject(root, "EndTime", now_s) ||
        !(attrs = cJSON_AddArrayToObject(root, "LookupAttributes")) ||
        !(attr = cJSON_CreateObject()) || !cJSON_AddItemToArray(attrs, attr) ||
        !cJSON_AddStringToObject(attr, "AttributeKey", "ReadOnly") ||
        !cJSON_AddStringToObject(attr, "AttributeValue", "false") ||
        !(body = cJSON_PrintUnformatted(root))) {
        snprintf(why, whylen, "%s", wc_strerror(rc));
        goto out;
    }
    req.body = body;
    req.body_len = strlen(body);
    if ((rc = wc_aws_send(aws, creds, &req, &resp, &err, NULL)) != WC_OK)
        s_why(rc, &err, "cloudtrail", "LookupEvents", why, whylen);
out:
    cJSON_free(body);
    cJSON_Delete(root);
    wc_aws_error_clean_up(&err);
    wc_http_response_clean_up(&resp);
    return rc;
}
