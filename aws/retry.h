/* retry.h - the AWS SDK "standard" retry mode, and clock-skew correction.
 *
 * Numbers follow botocore's pre-2026 standard mode (botocore/retries/
 * standard.py and quota.py, 1.43.x; AWS SDKs and Tools Reference Guide,
 * "Retry behavior"):
 *   - at most 3 attempts (DEFAULT_MAX_ATTEMPTS = 3);
 *   - delay before retry i (i = the 1-based number of the attempt that just
 *     failed) = rand[0,1) * min(base * 2^(i-1), 20 s), base 1 s — "full
 *     jitter", truncated binary exponential backoff (ExponentialBackoff);
 *   - a retry quota shared by every request of a client: 500 tokens
 *     (RetryQuota.INITIAL_CAPACITY), a retry costs 5 (_RETRY_COST), a retry
 *     after a timeout costs 10 (_TIMEOUT_RETRY_REQUEST); a success without
 *     retry refunds 1 (_NO_RETRY_INCREMENT), a success after a retry refunds
 *     what that retry cost; no retry when the bucket cannot pay.
 * The policy is safe to share between threads (the quota is behind a mutex).
 */
#ifndef WC_RETRY_H
#define WC_RETRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "aws/aws_error.h"
#include "core/clock.h"

enum wc_retry_class {
    WC_RETRY_NO = 0,        /* do not retry (client error, success, ...) */
    WC_RETRY_TRANSIENT,     /* 500/502/503/504, RequestTimeout, connection error */
    WC_RETRY_TIMEOUT,       /* transport timeout: transient, but costs 10 tokens */
    WC_RETRY_THROTTLE,      /* a throttling code, or HTTP 429 */
    WC_RETRY_CLOCK_SKEW,    /* our clock is off: fix it (wc_clock_skew_update), retry */
};

/* Classify one failed attempt. status: HTTP status (0 if none); error_code
 * and error_message: from wc_aws_error_parse() (may be NULL); transport_rc:
 * what wc_http_send() returned (WC_OK when a response arrived). The message
 * is needed because a skewed clock shows up as InvalidSignatureException /
 * SignatureDoesNotMatch "Signature expired", or AuthFailure mentioning skew. */
enum wc_retry_class wc_retry_classify(long status, const char *error_code,
                                      const char *error_message, int transport_rc);

/* The same from a parsed error (NULL when the transport failed before any
 * response: then only transport_rc counts). */
enum wc_retry_class wc_retry_classify_error(const struct wc_aws_error *e, int transport_rc);

/* true for exactly the botocore standard-mode throttling codes. */
bool wc_retry_is_throttling_code(const char *code);

const char *wc_retry_class_name(enum wc_retry_class cls);

/* Uniform random number in [0, 1). */
typedef double wc_retry_rand_fn(void *ctx);

/* AWS_RETRY_MODE / retry_mode (AWS SDKs and Tools Reference Guide, "Retry
 * behavior"):
 *   standard  the above: 3 attempts, full-jitter backoff capped at 20 s,
 *             the shared retry quota;
 *   legacy    botocore's legacy mode: 5 attempts, rand * 2^(i-1) s (capped
 *             at 20 s here), no retry quota;
 *   adaptive  standard's retries; the client-side rate limiting it adds is
 *             where it matters here already: CloudTrail lookups go through
 *             a per account-region token bucket that backs off on
 *             ThrottlingException (aws/cloudtrail.h), whatever the mode. */
enum wc_retry_mode {
    WC_RETRY_MODE_STANDARD = 0,
    WC_RETRY_MODE_LEGACY,
    WC_RETRY_MODE_ADAPTIVE,
};

#define WC_RETRY_MAX_ATTEMPTS_LIMIT 20

const char *wc_retry_mode_name(enum wc_retry_mode mode);

struct wc_retry_options {
    enum wc_retry_mode mode;   /* 0: standard */
    int max_attempts;          /* 0: 3 (legacy: 5) */
    int64_t base_delay_ms;     /* 0: 1000 */
    int64_t max_delay_ms;      /* 0: 20000 */
    int quota_capacity;        /* 0: 500; < 0: no quota (unlimited) */
    wc_retry_rand_fn *rand01;  /* NULL: an internal generator */
    void *rand_ctx;
};

/* Fill o's mode and max_attempts from the SDK settings: max_attempts
 * (AWS_MAX_ATTEMPTS / max_attempts, an integer 1..WC_RETRY_MAX_ATTEMPTS_LIMIT,
 * counting the first attempt) and mode (standard, legacy, adaptive); either
 * may be NULL (unset: left as is). *_source names the setting in the error
 * ("AWS_MAX_ATTEMPTS"; NULL: a generic name). WC_ERR_CONFIG with a one-line
 * reason in err for anything else. */
int wc_retry_options_parse(const char *max_attempts, const char *max_attempts_source,
                           const char *mode, const char *mode_source,
                           struct wc_retry_options *o, char *err, size_t errlen);

struct wc_retry_policy;

struct wc_retry_policy *wc_retry_policy_new(const struct wc_retry_options *opts);
void wc_retry_policy_destroy(struct wc_retry_policy *p);

/* May the call be retried after its attempt number `attempt` (1-based)
 * failed with cls? On true, *delay_ms is how long to wait first and the
 * quota has been charged. False when cls is WC_RETRY_NO, attempt >=
 * max_attempts, or the quota cannot pay. */
bool wc_retry_should(struct wc_retry_policy *p, int attempt, enum wc_retry_class cls,
                     int64_t *delay_ms);

/* A call succeeded on its first attempt: refund 1 token. */
void wc_retry_on_success(struct wc_retry_policy *p);

/* A call succeeded after retrying; last_cls is the class that triggered
 * the last retry: refund what that retry cost. */
void wc_retry_on_success_after_retry(struct wc_retry_policy *p, enum wc_retry_class last_cls);

/* The policy's mode and attempts (after defaults). */
enum wc_retry_mode wc_retry_policy_mode(const struct wc_retry_policy *p);
int wc_retry_policy_max_attempts(const struct wc_retry_policy *p);

/* Tokens left in the quota (for tests and metrics); -1 without a quota. */
int wc_retry_quota_available(struct wc_retry_policy *p);

/* Backoff ceiling for a given attempt, before jitter (exposed for tests). */
int64_t wc_retry_backoff_cap_ms(const struct wc_retry_policy *p, int attempt);

/* ---- clock skew ---- */

/* The offset between AWS's clock and ours, learnt from the Date header of
 * a response; lock-free, shared by every signer of a process. Caller-owned. */
struct wc_clock_skew {
    struct wc_clock base;
    _Atomic int64_t offset_ms;
};

/* Beyond this an offset is refused (a broken Date header, not a skew). */
#define WC_CLOCK_SKEW_MAX_MS ((int64_t)24 * 3600 * 1000)

/* base NULL: the system clock. */
void wc_clock_skew_init(struct wc_clock_skew *s, const struct wc_clock *base);
/* Parse an RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT") into ms. */
int wc_http_date_parse(const char *date, int64_t *out_ms);
/* Store offset = server_date - local_now_ms. WC_ERR_PARSE for a bad header,
 * WC_ERR_INVALID when the offset is beyond WC_CLOCK_SKEW_MAX_MS. */
int wc_clock_skew_update(struct wc_clock_skew *s, const char *server_date_header,
                         int64_t local_now_ms);
int64_t wc_clock_skew_offset_ms(const struct wc_clock_skew *s);
/* A clock for the signer: base wall clock + offset; monotonic unchanged.
 * Valid while s lives. */
struct wc_clock wc_clock_skew_clock(struct wc_clock_skew *s);

#endif
