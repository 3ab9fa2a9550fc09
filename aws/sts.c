#include "aws/sts.h"

#include <stdlib.h>
#include <string.h>

#include "aws/sts_xml.h"
#include "core/err.h"

struct wc_sts {
    struct wc_aws *aws;
    char *url;
    char *region;
    int duration_s;
};

struct wc_sts *wc_sts_new(const struct wc_sts_options *o)
{
    struct wc_sts *sts;
    struct wc_buf url = WC_BUF_INIT;

    if (!o || !o->aws || wc_str_empty(o->endpoint) || wc_str_empty(o->region))
        return NULL;
    sts = calloc(1, sizeof(*sts));
    if (!sts)
        return NULL;
    sts->aws = o->aws;
    sts->duration_s = o->duration_s;
    if (wc_buf_appendf(&url, "%s/", o->endpoint) != WC_OK ||
        !(sts->region = wc_strdup(o->region))) {
        wc_buf_clean_up(&url);
        wc_sts_destroy(sts);
        return NULL;
    }
    sts->url = wc_buf_steal(&url);
    return sts;
}

void wc_sts_destroy(struct wc_sts *sts)
{
    if (!sts)
        return;
    free(sts->url);
    free(sts->region);
    free(sts);
}

int wc_sts_assume_role(void *ctx, const struct wc_aws_credentials *source, const char *role_arn,
                       const char *session_name, const char *external_id,
                       struct wc_aws_credentials *out)
{
    struct wc_sts *sts = ctx;
    struct wc_sts_assume_role_params params = {
        .role_arn = role_arn,
        .session_name = session_name,
        .external_id = external_id,
        .duration_s = sts ? sts->duration_s : 0,
    };
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/x-www-form-urlencoded; charset=utf-8"},
    };
    struct wc_buf body = WC_BUF_INIT;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    struct wc_sts_result result = {0};
    struct wc_logger *lg;
    int rc;

    if (!sts || !source || !out)
        return WC_ERR_INVALID;
    lg = wc_aws_logger(sts->aws);
    if ((rc = wc_sts_assume_role_body(&params, &body)) != WC_OK)
        goto out;
    {
        struct wc_aws_request req = {
            .service = "sts",
            .region = sts->region,
            .method = "POST",
            .url = sts->url,
            .headers = headers,
            .n_headers = 1,
            .body = body.ptr,
            .body_len = body.len,
            .max_response_bytes = WC_STS_XML_MAX_BYTES,
            .resource = role_arn,
        };
        rc = wc_aws_send(sts->aws, source, &req, &resp, &err, NULL);
    }
    if (rc != WC_OK) {
        wc_aws_error_log(lg, WC_LOG_WARN, NULL, &err, rc, "sts: AssumeRole %s failed", role_arn);
        goto out;
    }
    if ((rc = wc_sts_xml_parse_credentials(resp.body.ptr, resp.body.len, "AssumeRole",
                                           &result)) != WC_OK) {
        WC_LOGW(lg, NULL, "sts: AssumeRole %s: malformed response", role_arn);
        goto out;
    }
    if ((rc = wc_aws_credentials_copy(out, &result.creds)) != WC_OK)
        goto out;
    free(out->source);
    out->source = wc_strdup("assume-role");
    if (!out->source) {
        wc_aws_credentials_clean_up(out);
        rc = WC_ERR_NOMEM;
    }
out:
    wc_sts_result_clean_up(&result);
    wc_aws_error_clean_up(&err);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up_secure(&body);
    return rc;
}
