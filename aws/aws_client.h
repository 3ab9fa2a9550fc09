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

/* Told of every HTTP request wc_aws_send makes (each attempt): the signing
 * service, the operation (wc_aws_request.operation, else derived: the
 * X-Amz-Target's last part, the query's Action=, GetObject for an S3 GET)
 * and one of the WC_AWS_OUTCOMES. Called from the sending thread; it must
 * not block (cmd/ counts them in core/metrics, which does no I/O). */
typedef void wc_aws_observe_fn(void *ctx, const char *service, const char *operation,
                               const char *outcome);

/* Every outcome wc_aws_observe_fn is told, NULL-terminated:
 *   ok             2xx
 *   throttled      a throttling code or 429
 *   access_denied  AccessDenied and the like (wc_aws_error_is_access_denied)
 *   credentials    other 401/403 and credential/signature codes
 *   not_found      404
 *   client_error   another 4xx
 *   server_error   5xx
 *   timeout        the transport's deadline passed
 *   transport      connect, TLS, reset, answer too large */
#define WC_AWS_OUTCOMES                                                                   \
    {"ok", "throttled", "access_denied", "credentials", "not_found", "client_error",     \
     "server_error", "timeout", "transport", NULL}

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
    wc_aws_observe_fn *observe;   /* NULL: none (see wc_aws_set_observer) */
    void *observe_ctx;
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
/* Set the observer after construction (before the client is shared with
 * other threads: not synchronised). */
void wc_aws_set_observer(struct wc_aws *aws, wc_aws_observe_fn *fn, void *ctx);

struct wc_aws_request {
    const char *service;                  /* signing name: sqs, cloudtrail, sts, s3 */
    const char *operation;                /* for logs and the observer; NULL: derived */
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
    const char *resource;                 /* what the call is about (a queue URL), named
                                           * in the not-authorized line; may be NULL */
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

/* The operation of req as the observer is told it (into out). */
void wc_aws_request_operation(const struct wc_aws_request *req, char *out, size_t outlen);

/* The outcome (one of WC_AWS_OUTCOMES) of one attempt: transport_rc is the
 * transport's result; err, when the service answered with an error, its
 * parsed error (NULL: none, or a 2xx). */
const char *wc_aws_outcome(int transport_rc, const struct wc_aws_error *err);

#endif
