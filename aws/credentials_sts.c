/* credentials_sts.c - STS AssumeRole as an assume_role_fn, signing injected. */
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "aws/sts_xml.h"
#include "core/err.h"
#include "core/str.h"

#define S_STS_CONNECT_MS 3000L
#define S_STS_TOTAL_MS 10000L
#define S_MAX_HEADERS 16

static void s_headers_free(struct wc_http_header *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].name);
        wc_creds_free_secret(h[i].value); /* Authorization, security token */
    }
    free(h);
}

int wc_creds_sts_assume_role(void *ctx, const struct wc_aws_credentials *source,
                             const char *role_arn, const char *session_name,
                             const char *external_id, struct wc_aws_credentials *out)
{
    const struct wc_creds_sts *sts = ctx;
    struct wc_sts_assume_role_params params = {0};
    struct wc_http_header headers[S_MAX_HEADERS + 1];
    struct wc_http_header *add = NULL;
    struct wc_http_request req = {0};
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_sts_result res = {0};
    struct wc_buf body = WC_BUF_INIT;
    size_t n_add = 0;
    int rc;

    memset(headers, 0, sizeof(headers));
    if (!sts || !sts->http || !sts->endpoint || !sts->region || !sts->sign_fn || !out ||
        !wc_aws_credentials_valid(source))
        return WC_ERR_INVALID;
    params.role_arn = role_arn;
    params.session_name = session_name ? session_name : WC_CREDS_DEFAULT_SESSION_NAME;
    params.external_id = external_id;
    params.duration_s = sts->duration_s;
    if ((rc = wc_sts_assume_role_body(&params, &body)) != WC_OK) {
        WC_LOGE(sts->logger, NULL, "credentials: invalid AssumeRole parameters for %s",
                role_arn ? role_arn : "(null)");
        goto out;
    }
    headers[0].name = (char *)"Content-Type";
    headers[0].value = (char *)"application/x-www-form-urlencoded; charset=utf-8";
    req.method = "POST";
    req.url = sts->endpoint;
    req.headers = headers;
    req.n_headers = 1;
    req.body = body.ptr;
    req.body_len = body.len;
    req.connect_timeout_ms = S_STS_CONNECT_MS;
    req.timeout_ms = S_STS_TOTAL_MS;
    req.max_response_bytes = WC_STS_XML_MAX_BYTES;
    if ((rc = sts->sign_fn(sts->sign_ctx, source, sts->region, &req, &add, &n_add)) != WC_OK)
        goto out;
    if (n_add > S_MAX_HEADERS) {
        rc = WC_ERR_INVALID;
        goto out;
    }
    for (size_t i = 0; i < n_add; i++)
        headers[1 + i] = add[i];
    req.n_headers = 1 + n_add;
    if ((rc = wc_http_send(sts->http, &req, &resp)) != WC_OK) {
        WC_LOGW(sts->logger, NULL, "credentials: STS AssumeRole %s: %s", role_arn,
                wc_strerror(rc));
        goto out;
    }
    if (resp.status != 200) {
        rc = wc_creds_sts_failure(sts->logger, "AssumeRole", &resp);
        goto out;
    }
    if ((rc = wc_sts_xml_parse_credentials(resp.body.ptr ? resp.body.ptr : "", resp.body.len,
                                           "AssumeRole", &res)) != WC_OK) {
        WC_LOGW(sts->logger, NULL, "credentials: malformed AssumeRole response");
        goto out;
    }
    if ((rc = wc_creds_set_source(&res.creds, "assume-role")) != WC_OK)
        goto out;
    *out = res.creds;
    memset(&res.creds, 0, sizeof(res.creds));
out:
    wc_sts_result_clean_up(&res);
    wc_buf_clean_up_secure(&resp.body);
    wc_http_response_clean_up(&resp);
    s_headers_free(add, n_add);
    wc_buf_clean_up(&body);
    return rc;
}
