/* deliver.c - the bounded retry loop the HTTP backends share. */
#include "notifiers/notifiers_internal.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/str.h"

#define S_RETRY_AFTER_MAX_S 3600
#define S_BACKOFF_CAP_MS ((int64_t)30000)

static void s_nanosleep_ms(void *ctx, int64_t ms)
{
    struct timespec ts, rem;
    int guard = 0;

    (void)ctx;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    /* resume after signals, a bounded number of times */
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR && guard++ < 1000)
        ts = rem;
}

void wc_notif_delivery_init(struct wc_notif_delivery *d, const struct wc_notifier_options *o)
{
    memset(d, 0, sizeof(*d));
    d->http = o->http;
    d->logger = o->logger;
    d->clock = o->clock ? *o->clock : wc_clock_system();
    d->connect_timeout_ms =
        o->connect_timeout_ms > 0 ? o->connect_timeout_ms : WC_NOTIFIER_DEFAULT_CONNECT_TIMEOUT_MS;
    d->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : WC_NOTIFIER_DEFAULT_TIMEOUT_MS;
    d->max_attempts = o->max_attempts > 0 ? o->max_attempts : WC_NOTIFIER_DEFAULT_MAX_ATTEMPTS;
    d->max_wait_ms = o->max_wait_ms > 0 ? o->max_wait_ms : WC_NOTIFIER_DEFAULT_MAX_WAIT_MS;
    d->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : WC_NOTIFIER_DEFAULT_BACKOFF_MS;
    d->sleep_ms = o->sleep_ms ? o->sleep_ms : s_nanosleep_ms;
    d->sleep_ctx = o->sleep_ms ? o->sleep_ctx : NULL;
}

int wc_notif_judge_status(long status)
{
    if (status >= 200 && status < 300)
        return WC_OK;
    if (status == 429)
        return WC_ERR_THROTTLED;
    if (status == 408)
        return WC_ERR_TIMEOUT;
    if (status >= 500 && status < 600)
        return WC_ERR_SERVICE;
    if (status == 401 || status == 403)
        return WC_ERR_AUTH;
    return WC_ERR_INVALID;
}

int64_t wc_notif_retry_after_ms(const struct wc_http_response *resp)
{
    const char *v = wc_http_response_header(resp, "Retry-After");
    int64_t s = 0;
    size_t digits = 0;

    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v >= '0' && *v <= '9'; v++, digits++) {
        if (s < S_RETRY_AFTER_MAX_S)
            s = s * 10 + (*v - '0');
    }
    while (*v == ' ' || *v == '\t')
        v++;
    if (digits == 0 || *v != '\0')
        return -1; /* an HTTP-date or junk: fall back to backoff */
    if (s > S_RETRY_AFTER_MAX_S)
        s = S_RETRY_AFTER_MAX_S;
    return s * 1000;
}

void wc_notif_snippet(const struct wc_buf *body, char *out, size_t outlen)
{
    size_t k = 0;

    if (!out || outlen == 0)
        return;
    for (size_t i = 0; body && body->ptr && i < body->len && k + 1 < outlen; i++) {
        unsigned char c = (unsigned char)body->ptr[i];

        if (c == '\n' || c == '\r')
            break;
        out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[k] = '\0';
}

/* splitmix64: a jitter source with no shared state. */
static uint64_t s_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Equal jitter: half the step plus a random part of the other half. */
static int64_t s_backoff(const struct wc_notif_delivery *d, int attempt)
{
    int64_t step = d->backoff_ms;
    uint64_t seed;
    int local = attempt;

    for (int i = 1; i < attempt && step < S_BACKOFF_CAP_MS; i++)
        step *= 2;
    if (step > S_BACKOFF_CAP_MS)
        step = S_BACKOFF_CAP_MS;
    seed = (uint64_t)wc_clock_mono_ms(&d->clock) ^ ((uint64_t)(uintptr_t)&local << 16) ^
           (uint64_t)attempt;
    return step / 2 + (int64_t)(s_mix(seed) % (uint64_t)(step / 2 + 1));
}

static bool s_retryable(int rc)
{
    return rc == WC_ERR_THROTTLED || rc == WC_ERR_SERVICE || rc == WC_ERR_TIMEOUT ||
           rc == WC_ERR_HTTP || rc == WC_ERR_TOO_LARGE;
}

int wc_notif_deliver(const struct wc_notif_delivery *d, const char *id,
                     const struct wc_http_request *req, wc_notif_judge_fn *judge, void *ctx,
                     struct wc_send_result *res)
{
    int64_t waited_ms = 0;
    int rc = WC_ERR_INVALID;
    char detail[160];

    res->retry_after_ms = 0;
    res->http_status = 0;
    for (int attempt = 1; attempt <= d->max_attempts; attempt++) {
        struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
        int64_t retry_after_ms = -1, delay_ms;

        detail[0] = '\0';
        rc = wc_http_send(d->http, req, &resp);
        if (rc == WC_OK) {
            res->http_status = resp.status;
            rc = judge(ctx, &resp, &retry_after_ms, detail, sizeof(detail));
        } else if (rc == WC_ERR_TOO_LARGE) {
            rc = WC_ERR_HTTP; /* an oversized answer is a broken answer */
            snprintf(detail, sizeof(detail), "response too large");
        } else {
            snprintf(detail, sizeof(detail), "%s", wc_strerror(rc));
        }
        wc_http_response_clean_up(&resp);
        if (rc == WC_OK) {
            if (attempt > 1)
                WC_LOGI(d->logger, NULL, "notifier %s: delivered on attempt %d", id, attempt);
            return WC_OK;
        }
        if (!s_retryable(rc)) {
            WC_LOGE(d->logger, NULL, "notifier %s: rejected (HTTP %ld): %s: %s", id,
                    res->http_status, wc_strerror(rc), detail[0] ? detail : "no detail");
            return rc;
        }
        if (rc == WC_ERR_THROTTLED && retry_after_ms >= 0)
            delay_ms = retry_after_ms;
        else
            delay_ms = s_backoff(d, attempt);
        if (attempt == d->max_attempts || waited_ms + delay_ms > d->max_wait_ms) {
            if (rc == WC_ERR_THROTTLED)
                res->retry_after_ms = delay_ms;
            WC_LOGE(d->logger, NULL,
                    "notifier %s: giving up after %d attempt%s (HTTP %ld): %s: %s", id,
                    attempt, attempt == 1 ? "" : "s", res->http_status, wc_strerror(rc),
                    detail[0] ? detail : "no detail");
            return rc;
        }
        WC_LOGW(d->logger, NULL,
                "notifier %s: attempt %d failed (HTTP %ld): %s: %s; retrying in %lld ms", id,
                attempt, res->http_status, wc_strerror(rc), detail[0] ? detail : "no detail",
                (long long)delay_ms);
        d->sleep_ms(d->sleep_ctx, delay_ms);
        waited_ms += delay_ms;
    }
    return rc;
}

struct wc_notifier *wc_notif_wrap(const struct wc_notifier_vtable *vt, void *impl,
                                  const char *id, const char *default_id, unsigned mask,
                                  unsigned default_mask)
{
    struct wc_notifier *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->id = wc_strdup(wc_str_empty(id) ? default_id : id);
    if (!n->id) {
        free(n);
        return NULL;
    }
    n->vtable = vt;
    n->impl = impl;
    n->verdict_mask = mask ? mask : default_mask;
    return n;
}

void wc_notif_unwrap(struct wc_notifier *n)
{
    if (!n)
        return;
    free(n->id);
    free(n);
}

bool wc_notif_token_ok(const char *s)
{
    if (wc_str_empty(s))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

void wc_notif_secret_free(char *s)
{
    if (!s)
        return;
    wc_secure_zero(s, strlen(s));
    free(s);
}
