#include "aws/retry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"

/* botocore/retries/standard.py: DEFAULT_MAX_ATTEMPTS, ExponentialBackoff
 * (_BASE 2, _MAX_BACKOFF 20 s, base scale 1 s), RetryQuotaChecker
 * (_RETRY_COST 5, _TIMEOUT_RETRY_REQUEST 10, _NO_RETRY_INCREMENT 1);
 * botocore/retries/quota.py: INITIAL_CAPACITY 500. */
#define S_DEFAULT_MAX_ATTEMPTS 3
#define S_LEGACY_MAX_ATTEMPTS 5 /* botocore/data/_retry.json __default__ */
#define S_DEFAULT_BASE_MS 1000
#define S_DEFAULT_MAX_DELAY_MS 20000
#define S_QUOTA_INITIAL 500
#define S_RETRY_COST 5
#define S_TIMEOUT_RETRY_COST 10
#define S_NO_RETRY_INCREMENT 1

/* ThrottledRetryableChecker._THROTTLED_ERROR_CODES (and aws-reference
 * README gotcha 6). */
static const char *const s_throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

/* TransientRetryableChecker._TRANSIENT_ERROR_CODES */
static const char *const s_transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

/* Codes that always mean our clock is off (S3 / EC2 / the SDKs' clock-skew
 * lists). */
static const char *const s_skew_codes[] = {
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
};

static bool s_in(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; code && i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return true;
    return false;
}

#define S_IN(code, list) s_in((code), (list), sizeof(list) / sizeof((list)[0]))

bool wc_retry_is_throttling_code(const char *code)
{
    return S_IN(code, s_throttling_codes);
}

static bool s_contains_icase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static bool s_is_skew(const char *code, const char *msg)
{
    if (S_IN(code, s_skew_codes))
        return true;
    if (wc_streq(code, "InvalidSignatureException") || wc_streq(code, "SignatureDoesNotMatch"))
        return s_contains_icase(msg, "Signature expired");
    if (wc_streq(code, "AuthFailure"))
        return s_contains_icase(msg, "skew") || s_contains_icase(msg, "Signature expired");
    return false;
}

enum wc_retry_class wc_retry_classify(long status, const char *error_code,
                                      const char *error_message, int transport_rc)
{
    if (transport_rc == WC_ERR_TIMEOUT)
        return WC_RETRY_TIMEOUT;
    if (transport_rc == WC_ERR_HTTP)
        return WC_RETRY_TRANSIENT;
    if (transport_rc != WC_OK)
        return WC_RETRY_NO; /* too large, invalid, out of memory: retrying won't help */
    if (status >= 200 && status < 300)
        return WC_RETRY_NO;
    if (wc_retry_is_throttling_code(error_code))
        return WC_RETRY_THROTTLE;
    if (s_is_skew(error_code, error_message))
        return WC_RETRY_CLOCK_SKEW;
    if (S_IN(error_code, s_transient_codes))
        return WC_RETRY_TRANSIENT;
    /* 429 is throttling for the legacy table (_retry.json "too_many_requests")
     * and for the other SDKs; botocore standard only looks at codes. */
    if (status == 429)
        return WC_RETRY_THROTTLE;
    if (status == 500 || status == 502 || status == 503 || status == 504)
        return WC_RETRY_TRANSIENT;
    return WC_RETRY_NO;
}

enum wc_retry_class wc_retry_classify_error(const struct wc_aws_error *e, int transport_rc)
{
    if (!e)
        return wc_retry_classify(0, NULL, NULL, transport_rc == WC_OK ? WC_ERR_INVALID : transport_rc);
    return wc_retry_classify(e->status, e->code, e->message, transport_rc);
}

const char *wc_retry_class_name(enum wc_retry_class cls)
{
    switch (cls) {
    case WC_RETRY_NO: return "no-retry";
    case WC_RETRY_TRANSIENT: return "transient";
    case WC_RETRY_TIMEOUT: return "timeout";
    case WC_RETRY_THROTTLE: return "throttle";
    case WC_RETRY_CLOCK_SKEW: return "clock-skew";
    }
    return "unknown";
}

/* ---- policy ---- */

const char *wc_retry_mode_name(enum wc_retry_mode mode)
{
    switch (mode) {
    case WC_RETRY_MODE_STANDARD: return "standard";
    case WC_RETRY_MODE_LEGACY: return "legacy";
    case WC_RETRY_MODE_ADAPTIVE: return "adaptive";
    }
    return "unknown";
}

int wc_retry_options_parse(const char *max_attempts, const char *max_attempts_source,
                           const char *mode, const char *mode_source,
                           struct wc_retry_options *o, char *err, size_t errlen)
{
    static const enum wc_retry_mode modes[] = {WC_RETRY_MODE_STANDARD, WC_RETRY_MODE_LEGACY,
                                               WC_RETRY_MODE_ADAPTIVE};
    long v = 0;
    bool found = false;

    if (!o)
        return WC_ERR_INVALID;
    if (max_attempts) {
        const char *p = max_attempts;

        for (; *p >= '0' && *p <= '9' && v <= WC_RETRY_MAX_ATTEMPTS_LIMIT; p++)
            v = v * 10 + (*p - '0');
        if (p == max_attempts || *p || v < 1 || v > WC_RETRY_MAX_ATTEMPTS_LIMIT) {
            wc_errf(err, errlen, "%s must be a whole number from 1 to %d (attempts, the first "
                    "included), got '%.40s'", max_attempts_source ? max_attempts_source
                                                                   : "max_attempts",
                    WC_RETRY_MAX_ATTEMPTS_LIMIT, max_attempts);
            return WC_ERR_CONFIG;
        }
    }
    if (mode) {
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            if (strcmp(mode, wc_retry_mode_name(modes[i])) == 0) {
                o->mode = modes[i];
                found = true;
            }
        if (!found) {
            wc_errf(err, errlen, "%s must be standard, adaptive or legacy, got '%.40s'",
                    mode_source ? mode_source : "retry_mode", mode);
            return WC_ERR_CONFIG;
        }
    }
    if (max_attempts)
        o->max_attempts = (int)v;
    return WC_OK;
}

struct wc_retry_policy {
    pthread_mutex_t mu;
    enum wc_retry_mode mode;
    int max_attempts;
    int64_t base_ms, max_delay_ms;
    bool quota_enabled;
    int quota_capacity, quota;
    wc_retry_rand_fn *rand01;
    void *rand_ctx;
    uint64_t rng; /* xorshift64* state for the default generator, under mu */
};

static double s_default_rand(struct wc_retry_policy *p)
{
    uint64_t x = p->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng = x;
    /* top 53 bits -> [0, 1) */
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static uint64_t s_seed(const void *salt)
{
    uint64_t seed = 0;
    struct timespec ts;

    if (getentropy(&seed, sizeof(seed)) != 0 || seed == 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)salt;
    }
    return seed ? seed : 0x9E3779B97F4A7C15ULL;
}

struct wc_retry_policy *wc_retry_policy_new(const struct wc_retry_options *opts)
{
    struct wc_retry_options o = {0};
    struct wc_retry_policy *p;

    if (opts)
        o = *opts;
    if (o.max_attempts < 0 || o.base_delay_ms < 0 || o.max_delay_ms < 0 ||
        (unsigned)o.mode > (unsigned)WC_RETRY_MODE_ADAPTIVE)
        return NULL;
    if (!(p = calloc(1, sizeof(*p))))
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->mode = o.mode;
    p->max_attempts = o.max_attempts         ? o.max_attempts
                      : o.mode == WC_RETRY_MODE_LEGACY ? S_LEGACY_MAX_ATTEMPTS
                                                       : S_DEFAULT_MAX_ATTEMPTS;
    p->base_ms = o.base_delay_ms ? o.base_delay_ms : S_DEFAULT_BASE_MS;
    p->max_delay_ms = o.max_delay_ms ? o.max_delay_ms : S_DEFAULT_MAX_DELAY_MS;
    /* legacy mode has no retry quota */
    p->quota_enabled = o.quota_capacity >= 0 && o.mode != WC_RETRY_MODE_LEGACY;
    p->quota_capacity = o.quota_capacity > 0 ? o.quota_capacity : S_QUOTA_INITIAL;
    p->quota = p->quota_capacity;
    p->rand01 = o.rand01;
    p->rand_ctx = o.rand_ctx;
    p->rng = s_seed(p);
    return p;
}

void wc_retry_policy_destroy(struct wc_retry_policy *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int64_t wc_retry_backoff_cap_ms(const struct wc_retry_policy *p, int attempt)
{
    int64_t cap;

    if (!p || attempt < 1)
        return 0;
    cap = p->base_ms;
    /* base * 2^(attempt-1), stopping as soon as it passes the ceiling */
    for (int i = 1; i < attempt && cap < p->max_delay_ms; i++)
        cap *= 2;
    return cap < p->max_delay_ms ? cap : p->max_delay_ms;
}

static int s_cost(enum wc_retry_class cls)
{
    return cls == WC_RETRY_TIMEOUT ? S_TIMEOUT_RETRY_COST : S_RETRY_COST;
}

bool wc_retry_should(struct wc_retry_policy *p, int attempt, enum wc_retry_class cls,
                     int64_t *delay_ms)
{
    double r;
    int64_t cap, d;
    bool ok = false;

    if (delay_ms)
        *delay_ms = 0;
    if (!p || cls == WC_RETRY_NO || attempt < 1 || attempt >= p->max_attempts)
        return false;
    cap = wc_retry_backoff_cap_ms(p, attempt);
    pthread_mutex_lock(&p->mu);
    if (p->quota_enabled) {
        if (p->quota < s_cost(cls))
            goto out;
        p->quota -= s_cost(cls);
    }
    r = p->rand01 ? p->rand01(p->rand_ctx) : s_default_rand(p);
    if (!(r >= 0.0)) /* also catches NaN */
        r = 0.0;
    if (r >= 1.0)
        r = 0.999999;
    d = (int64_t)(r * (double)cap);
    if (delay_ms)
        *delay_ms = d;
    ok = true;
out:
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static void s_refund(struct wc_retry_policy *p, int amount)
{
    if (!p || !p->quota_enabled)
        return;
    pthread_mutex_lock(&p->mu);
    p->quota += amount;
    if (p->quota > p->quota_capacity)
        p->quota = p->quota_capacity;
    pthread_mutex_unlock(&p->mu);
}

void wc_retry_on_success(struct wc_retry_policy *p)
{
    s_refund(p, S_NO_RETRY_INCREMENT);
}

void wc_retry_on_success_after_retry(struct wc_retry_policy *p, enum wc_retry_class last_cls)
{
    if (last_cls == WC_RETRY_NO)
        s_refund(p, S_NO_RETRY_INCREMENT);
    else
        s_refund(p, s_cost(last_cls));
}

enum wc_retry_mode wc_retry_policy_mode(const struct wc_retry_policy *p)
{
    return p ? p->mode : WC_RETRY_MODE_STANDARD;
}

int wc_retry_policy_max_attempts(const struct wc_retry_policy *p)
{
    return p ? p->max_attempts : 0;
}

int wc_retry_quota_available(struct wc_retry_policy *p)
{
    int q;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    q = p->quota_enabled ? p->quota : -1;
    pthread_mutex_unlock(&p->mu);
    return q;
}

/* ---- clock skew ---- */

void wc_clock_skew_init(struct wc_clock_skew *s, const struct wc_clock *base)
{
    if (!s)
        return;
    s->base = base ? *base : wc_clock_system();
    atomic_store(&s->offset_ms, 0);
}

static int s_month(const char *m)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

    for (int i = 0; i < 12; i++)
        if (strncmp(m, months[i], 3) == 0)
            return i + 1;
    return 0;
}

static bool s_num(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int wc_http_date_parse(const char *date, int64_t *out_ms)
{
    /* IMF-fixdate (RFC 7231 7.1.1.1): "Sun, 06 Nov 1994 08:49:37 GMT" */
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct wc_str t;
    const char *s;
    int d, mon, y, h, mi, sec;

    if (!date || !out_ms)
        return WC_ERR_INVALID;
    t = wc_str_trim(wc_str_from_cstr(date));
    s = t.ptr;
    if (t.len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
        strncmp(s + 26, "GMT", 3) != 0)
        return WC_ERR_PARSE;
    if (!s_num(s + 5, 2, &d) || !(mon = s_month(s + 8)) || !s_num(s + 12, 4, &y) ||
        !s_num(s + 17, 2, &h) || !s_num(s + 20, 2, &mi) || !s_num(s + 23, 2, &sec))
        return WC_ERR_PARSE;
    if (d < 1 || d > mdays[mon - 1] || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return WC_ERR_PARSE;
    if (mon == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return WC_ERR_PARSE;
    *out_ms = wc_time_from_civil(y, mon, d, h, mi, sec > 59 ? 59 : sec) * 1000;
    return WC_OK;
}

int wc_clock_skew_update(struct wc_clock_skew *s, const char *server_date_header,
                         int64_t local_now_ms)
{
    int64_t server_ms, off;
    int rc;

    if (!s)
        return WC_ERR_INVALID;
    if ((rc = wc_http_date_parse(server_date_header, &server_ms)) != WC_OK)
        return rc;
    off = server_ms - local_now_ms;
    if (off > WC_CLOCK_SKEW_MAX_MS || off < -WC_CLOCK_SKEW_MAX_MS)
        return WC_ERR_INVALID;
    atomic_store(&s->offset_ms, off);
    return WC_OK;
}

int64_t wc_clock_skew_offset_ms(const struct wc_clock_skew *s)
{
    return s ? atomic_load(&((struct wc_clock_skew *)s)->offset_ms) : 0;
}

static int64_t s_skewed_now(void *ctx)
{
    struct wc_clock_skew *s = ctx;

    return wc_clock_now_ms(&s->base) + atomic_load(&s->offset_ms);
}

static int64_t s_skewed_mono(void *ctx)
{
    struct wc_clock_skew *s = ctx;

    return wc_clock_mono_ms(&s->base);
}

struct wc_clock wc_clock_skew_clock(struct wc_clock_skew *s)
{
    return (struct wc_clock){s_skewed_now, s_skewed_mono, s};
}
