#include "aws/aws_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/sigv4.h"
#include "core/err.h"

struct wc_aws {
    struct wc_http *http;
    struct wc_retry_policy *retry;
    struct wc_clock_skew skew;
    struct wc_logger *logger;
    wc_sleep_fn *sleep_ms;
    void *sleep_ctx;
    bool (*cancelled)(void *ctx);
    void *cancelled_ctx;
    long connect_timeout_ms;
    long timeout_ms;
    wc_aws_observe_fn *observe;
    void *observe_ctx;
};

static void s_nanosleep(void *ctx, int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    (void)ctx;
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

struct wc_aws *wc_aws_new(const struct wc_aws_options *o)
{
    struct wc_aws *aws;
    struct wc_clock sys = wc_clock_system();

    if (!o || !o->http)
        return NULL;
    aws = calloc(1, sizeof(*aws));
    if (!aws)
        return NULL;
    aws->http = o->http;
    aws->retry = o->retry;
    wc_clock_skew_init(&aws->skew, o->clock ? o->clock : &sys);
    aws->logger = o->logger;
    aws->sleep_ms = o->sleep_ms ? o->sleep_ms : s_nanosleep;
    aws->sleep_ctx = o->sleep_ctx;
    aws->cancelled = o->cancelled;
    aws->cancelled_ctx = o->cancelled_ctx;
    aws->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    aws->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    aws->observe = o->observe;
    aws->observe_ctx = o->observe_ctx;
    return aws;
}

void wc_aws_set_observer(struct wc_aws *aws, wc_aws_observe_fn *fn, void *ctx)
{
    if (aws) {
        aws->observe = fn;
        aws->observe_ctx = ctx;
    }
}

void wc_aws_destroy(struct wc_aws *aws)
{
    free(aws);
}

struct wc_logger *wc_aws_logger(const struct wc_aws *aws)
{
    return aws ? aws->logger : NULL;
}

struct wc_http *wc_aws_http(const struct wc_aws *aws)
{
    return aws ? aws->http : NULL;
}

int64_t wc_aws_now_ms(struct wc_aws *aws)
{
    struct wc_clock c = wc_clock_skew_clock(&aws->skew);

    return wc_clock_now_ms(&c);
}

void wc_aws_sleep(struct wc_aws *aws, int64_t ms)
{
    if (ms > 0)
        aws->sleep_ms(aws->sleep_ctx, ms);
}

/* Error codes that mean our credentials or signature were refused. */
static bool s_auth_code(const char *code)
{
    static const char *const codes[] = {
        "AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
        "InvalidClientTokenId", "InvalidAccessKeyId", "SignatureDoesNotMatch",
        "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
        "MissingAuthenticationTokenException", "ExpiredToken", "ExpiredTokenException",
        "AuthFailure", "AccessDeniedException", "KmsAccessDenied",
    };

    for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (!strcmp(code, codes[i]))
            return true;
    return false;
}

int wc_aws_error_to_rc(const struct wc_aws_error *err)
{
    if (!err)
        return WC_ERR_SERVICE;
    if (wc_retry_is_throttling_code(err->code) || err->status == 429)
        return WC_ERR_THROTTLED;
    if (err->status == 401 || err->status == 403 || s_auth_code(err->code))
        return WC_ERR_AUTH;
    if (err->status == 404)
        return WC_ERR_NOT_FOUND;
    return WC_ERR_SERVICE;
}

const char *wc_aws_outcome(int transport_rc, const struct wc_aws_error *err)
{
    if (transport_rc == WC_ERR_TIMEOUT)
        return "timeout";
    if (transport_rc != WC_OK)
        return "transport";
    if (!err || !err->code)
        return "ok";
    if (wc_retry_is_throttling_code(err->code) || err->status == 429)
        return "throttled";
    if (wc_aws_error_is_access_denied(err->code))
        return "access_denied";
    if (err->status == 401 || err->status == 403 || s_auth_code(err->code))
        return "credentials";
    if (err->status == 404)
        return "not_found";
    if (err->status >= 500)
        return "server_error";
    return "client_error";
}

static const char *s_header_value(const struct wc_aws_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (req->headers[i].name && !strcasecmp(req->headers[i].name, name))
            return req->headers[i].value;
    return NULL;
}

/* "Action=Name&..." at the start of text (or after '?' in a URL): Name. */
static bool s_action(const char *text, size_t len, char *out, size_t outlen)
{
    static const char key[] = "Action=";
    size_t n = 0;

    if (!text || len < sizeof(key) - 1 || strncmp(text, key, sizeof(key) - 1))
        return false;
    text += sizeof(key) - 1;
    len -= sizeof(key) - 1;
    while (n < len && text[n] != '&' && n + 1 < outlen)
        n++;
    if (n == 0)
        return false;
    memcpy(out, text, n);
    out[n] = '\0';
    return true;
}

void wc_aws_request_operation(const struct wc_aws_request *req, char *out, size_t outlen)
{
    const char *target, *q;

    if (!out || !outlen)
        return;
    snprintf(out, outlen, "%s", req && req->method ? req->method : "unknown");
    if (!req)
        return;
    if (req->operation) {
        snprintf(out, outlen, "%s", req->operation);
    } else if ((target = s_header_value(req, "X-Amz-Target")) != NULL) {
        const char *dot = strrchr(target, '.');
        snprintf(out, outlen, "%s", dot ? dot + 1 : target);
    } else if (s_action(req->body, req->body_len, out, outlen)) {
        /* awsQuery form body */
    } else if (req->url && (q = strchr(req->url, '?')) != NULL &&
               s_action(q + 1, strlen(q + 1), out, outlen)) {
        /* awsQuery in the URL */
    } else if (req->s3 && req->method) {
        snprintf(out, outlen, "%s", !strcmp(req->method, "GET")    ? "GetObject"
                                    : !strcmp(req->method, "HEAD") ? "HeadObject"
                                    : !strcmp(req->method, "PUT")  ? "PutObject"
                                                                   : req->method);
    }
}

static int s_attempt(struct wc_aws *aws, const struct wc_aws_credentials *creds,
                     const struct wc_aws_request *req, struct wc_http_response *resp)
{
    struct wc_sigv4_http_headers signed_headers = WC_SIGV4_HTTP_HEADERS_INIT;
    struct wc_sigv4_params p = {
        .region = req->region,
        .service = req->service,
        .time_s = wc_aws_now_ms(aws) / 1000,
        .access_key_id = creds->access_key_id,
        .secret_access_key = creds->secret_access_key,
        .session_token = creds->session_token,
        .normalize_path = !req->s3,
        .double_encode_path = !req->s3,
        .sign_body_header = req->s3,
    };
    struct wc_http_request http = {
        .method = req->method,
        .url = req->url,
        .headers = req->headers,
        .n_headers = req->n_headers,
        .body = req->body,
        .body_len = req->body_len,
        .connect_timeout_ms = aws->connect_timeout_ms,
        .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : aws->timeout_ms,
        .max_response_bytes = req->max_response_bytes,
    };
    int rc;

    if (req->abortable && aws->cancelled) { /* a shutdown cuts it short mid-way */
        http.cancelled = aws->cancelled;
        http.cancelled_ctx = aws->cancelled_ctx;
    }
    if ((rc = wc_sigv4_sign_http(&http, &p, NULL, &signed_headers)) != WC_OK)
        return rc;
    http.headers = signed_headers.items;
    http.n_headers = signed_headers.len;
    rc = wc_http_send(aws->http, &http, resp);
    wc_sigv4_http_headers_clean_up(&signed_headers);
    return rc;
}

int wc_aws_send(struct wc_aws *aws, const struct wc_aws_credentials *creds,
                const struct wc_aws_request *req, struct wc_http_response *resp,
                struct wc_aws_error *err, int *attempts)
{
    enum wc_retry_class last = WC_RETRY_NO;
    char op[64] = "";
    int attempt = 0, rc;

    if (attempts)
        *attempts = 0;
    if (!aws || !creds || !req || !resp || !err || !wc_aws_credentials_valid(creds))
        return WC_ERR_INVALID;
    wc_aws_request_operation(req, op, sizeof(op));
    for (;;) {
        enum wc_retry_class cls;
        int64_t delay_ms = 0;

        if ((req->cancellable || req->abortable) && aws->cancelled &&
            aws->cancelled(aws->cancelled_ctx))
            return WC_ERR_CANCELLED;
        attempt++;
        if (attempts)
            *attempts = attempt;
        wc_http_response_clean_up(resp);
        wc_aws_error_clean_up(err);
        rc = s_attempt(aws, creds, req, resp);
        if (rc == WC_OK && resp->status >= 200 && resp->status < 300) {
            if (aws->observe)
                aws->observe(aws->observe_ctx, req->service, op, "ok");
            if (aws->retry) {
                if (attempt > 1)
                    wc_retry_on_success_after_retry(aws->retry, last);
                else
                    wc_retry_on_success(aws->retry);
            }
            return WC_OK;
        }
        if (rc == WC_ERR_INVALID || rc == WC_ERR_NOMEM)
            return rc; /* our request is wrong: no retry */
        if (rc == WC_OK) {
            if ((rc = wc_aws_error_parse(resp, err)) != WC_OK)
                return rc;
            cls = wc_retry_classify_error(err, WC_OK);
            rc = wc_aws_error_to_rc(err);
            if (aws->observe)
                aws->observe(aws->observe_ctx, req->service, op, wc_aws_outcome(WC_OK, err));
        } else {
            cls = wc_retry_classify(0, NULL, NULL, rc);
            if (aws->observe && rc != WC_ERR_CANCELLED)
                aws->observe(aws->observe_ctx, req->service, op, wc_aws_outcome(rc, NULL));
        }
        if (cls == WC_RETRY_CLOCK_SKEW) {
            const char *date = wc_http_response_header(resp, "Date");

            if (!date || wc_clock_skew_update(&aws->skew, date,
                                              wc_clock_now_ms(&aws->skew.base)) != WC_OK)
                cls = WC_RETRY_NO; /* nothing to correct from */
        }
        if (cls == WC_RETRY_THROTTLE && req->caller_retries_throttles)
            return rc;
        if (cls == WC_RETRY_NO || !aws->retry ||
            !wc_retry_should(aws->retry, attempt, cls, &delay_ms)) {
            if (err->code && wc_aws_error_is_access_denied(err->code)) {
                char why[512];

                /* the policy, not the credentials: say which action */
                wc_aws_error_describe_on(err, req->service, op, req->resource, why,
                                         sizeof(why));
                WC_LOGW(aws->logger, req->log_id, "%s", why);
            } else {
                WC_LOGD(aws->logger, req->log_id, "%s %s: %s after %d attempt(s)%s%s",
                        req->service, op, err->code ? err->code : wc_strerror(rc), attempt,
                        err->message ? ": " : "", err->message ? err->message : "");
            }
            return rc;
        }
        if (cls == WC_RETRY_CLOCK_SKEW)
            delay_ms = 0;
        WC_LOGD(aws->logger, req->log_id, "%s: %s (%s), retrying in %lld ms", req->service,
                err->code ? err->code : wc_strerror(rc), wc_retry_class_name(cls),
                (long long)delay_ms);
        last = cls;
        wc_aws_sleep(aws, delay_ms);
    }
}
