/* aws_client.h - one signed AWS call with the SDK's standard retry loop.
 *
 *   sign (SigV4, clock corrected for skew) -> send (core/http.h) ->
 *   2xx: done | error: parse (aws_error) -> classify (retry) ->
 *   clock skew: correct from the server's Date and retry at once |
 *   throttle / transient: wait (full-jitter backoff, retry quota) and retry |
 *   otherwise: return the error.
 *
 * The SQS, CloudTrail, STS and S3 clients are thin layers over this.
 */
#ifndef WC_AWS_CLIENT_H
#define WC_AWS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/aws_error.h"
#include "aws/credentials.h"
#include "aws/retry.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/log.h"

typedef void wc_sleep_fn(void *ctx, int64_t ms);

struct wc_aws_options {
    struct wc_http *http;         /* borrowed */
    struct wc_retry_policy *retry;/* borrowed; NULL: one attempt */
    const struct wc_clock *clock; /* NULL: system clock (copied) */
    struct wc_logger *logger;     /* may be NULL */
    wc_sleep_fn *sleep_ms;        /* NULL: nanosleep */
    void *sleep_ctx;
    /* true once the process is shutting down: no new attempt of a
     * cancellable request is made and wc_aws_send returns WC_ERR_CANCELLED
     * (NULL: never) */
    bool (*cancelled)(void *ctx);
    void *cancelled_ctx;
    long connect_timeout_ms;      /* 0: 5000 */
    long timeout_ms;              /* 0: 30000 */
};

/* Shared by every client: transport, retry quota, clock-skew correction. */
struct wc_aws;

struct wc_aws *wc_aws_new(const struct wc_aws_options *o);
void wc_aws_destroy(struct wc_aws *aws);
struct wc_logger *wc_aws_logger(const struct wc_aws *aws);
struct wc_http *wc_aws_http(const struct wc_aws *aws);
/* The (skew-corrected) current time, ms. */
int64_t wc_aws_now_ms(struct wc_aws *aws);
void wc_aws_sleep(struct wc_aws *aws, int64_t ms);

struct wc_aws_request {
    const char *service;                  /* signing name: sqs, cloudtrail, sts, s3 */
    const char *region;                   /* signing region */
    const char *method;                   /* GET / POST */
    const char *url;                      /* absolute */
    const struct wc_http_header *headers; /* signed; no Host, Authorization, X-Amz-Date */
    size_t n_headers;
    const void *body;
    size_t body_len;
    bool s3;                              /* S3 rules: no normalisation, single encoding,
                                           * x-amz-content-sha256 */
    size_t max_response_bytes;            /* 0: transport default */
    long timeout_ms;                      /* 0: the wc_aws default */
    const char *log_id;                   /* message id for log lines, may be NULL */
    bool caller_retries_throttles;        /* return throttling at once: the caller
                                           * waits for its own rate limiter's slot */
    bool cancellable;                     /* give up (WC_ERR_CANCELLED) once the
                                           * process is shutting down; leave false
                                           * for calls that release or delete */
    bool abortable;                       /* cancellable, and aborted mid-way too
                                           * (a long poll SIGTERM must not wait out) */
};

/* Perform req with creds. WC_OK: resp holds the 2xx response. Otherwise the
 * service's error is in err (when it answered) and the result is
 * WC_ERR_CANCELLED (shutting down, see wc_aws_options.cancelled),
 * WC_ERR_THROTTLED, WC_ERR_AUTH (401/403 and the credential/signature
 * codes), WC_ERR_NOT_FOUND (404), WC_ERR_SERVICE (other errors), or the
 * transport's WC_ERR_TIMEOUT / WC_ERR_HTTP / WC_ERR_TOO_LARGE. resp and err
 * must be initialised (WC_HTTP_RESPONSE_INIT, WC_AWS_ERROR_INIT); the caller
 * cleans both up. *attempts (may be NULL) receives the number of sends. */
int wc_aws_send(struct wc_aws *aws, const struct wc_aws_credentials *creds,
                const struct wc_aws_request *req, struct wc_http_response *resp,
                struct wc_aws_error *err, int *attempts);

/* Map an AWS error (code, status) to a wc_err as wc_aws_send does. */
int wc_aws_error_to_rc(const struct wc_aws_error *err);

#endif
