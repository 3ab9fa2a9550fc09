/* webhook.c - the generic webhook notifier: POST the finding JSON, signed
 * with HMAC-SHA256 when a secret is configured. See notifiers.h.
 *
 * The signature covers the timestamp and the body, "<X-Whochanged-Timestamp>"
 * "." "<body>", so a captured request cannot be replayed later under a fresh
 * timestamp: the receiver recomputes the MAC and refuses a timestamp older
 * than its maximum age (README, Notifiers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/finding.h"
#include "core/str.h"
#include "notifiers/notifiers.h"
#include "notifiers/notifiers_internal.h"

#define S_RESPONSE_MAX ((size_t)64 * 1024)
#define S_SIG_PREFIX "sha256="

struct s_webhook {
    struct wc_notif_delivery d;
    char *url;          /* may carry a token in its query: treated as a secret */
    char *hmac_secret;  /* secret */
};

/* One finding: the object itself; several: {"findings":[...]} */
static int s_render(const struct wc_notice *notice, struct wc_buf *out)
{
    int rc = WC_OK;

    for (size_t i = 0; i < notice->n_findings; i++)
        if (!notice->findings[i])
            return WC_ERR_INVALID;
    if (notice->n_findings == 1)
        return wc_finding_to_json(notice->findings[0], false, out);
    rc = wc_buf_append_cstr(out, "{\"findings\":[");
    for (size_t i = 0; rc == WC_OK && i < notice->n_findings; i++) {
        if (i > 0)
            rc = wc_buf_append_char(out, ',');
        if (rc == WC_OK)
            rc = wc_finding_to_json(notice->findings[i], false, out);
    }
    if (rc == WC_OK)
        rc = wc_buf_append_cstr(out, "]}");
    return rc;
}

/* "sha256=" + lowercase hex HMAC-SHA256(secret, ts + "." + body) */
static int s_sign(const char *secret, const char *ts, const void *body, size_t len, char *out,
                  size_t outlen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0, k;
    static const char hex[] = "0123456789abcdef";
    EVP_MAC *alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = alg ? EVP_MAC_CTX_new(alg) : NULL;
    OSSL_PARAM params[2];
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = ctx && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) &&
         EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
         EVP_MAC_update(ctx, body, len) && EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac));
    EVP_MAC_CTX_free(ctx); /* cleanses the keyed state */
    EVP_MAC_free(alg);
    if (!ok) {
        wc_secure_zero(mac, sizeof(mac));
        return WC_ERR_NOMEM;
    }
    if (outlen < sizeof(S_SIG_PREFIX) + 2 * mac_len) {
        wc_secure_zero(mac, sizeof(mac));
        return WC_ERR_INVALID;
    }
    memcpy(out, S_SIG_PREFIX, sizeof(S_SIG_PREFIX) - 1);
    k = sizeof(S_SIG_PREFIX) - 1;
    for (size_t i = 0; i < mac_len; i++) {
        out[k++] = hex[mac[i] >> 4];
        out[k++] = hex[mac[i] & 15];
    }
    out[k] = '\0';
    wc_secure_zero(mac, sizeof(mac));
    return WC_OK;
}

static int s_judge(void *ctx, const struct wc_http_response *resp, int64_t *retry_after_ms,
                   char *detail, size_t detail_len)
{
    int rc = wc_notif_judge_status(resp->status);

    (void)ctx;
    if (rc == WC_ERR_THROTTLED)
        *retry_after_ms = wc_notif_retry_after_ms(resp);
    if (rc != WC_OK)
        wc_notif_snippet(&resp->body, detail, detail_len);
    return rc;
}

static int s_webhook_render(struct wc_notifier *n, const struct wc_notice *notice,
                            struct wc_buf *out)
{
    (void)n;
    return s_render(notice, out);
}

static int s_webhook_send(struct wc_notifier *n, const struct wc_notice *notice,
                          struct wc_send_result *res)
{
    struct s_webhook *w = n->impl;
    struct wc_buf body = WC_BUF_INIT;
    char sig[sizeof(S_SIG_PREFIX) + 2 * EVP_MAX_MD_SIZE + 1] = "";
    char ts[24] = "";
    struct wc_http_header hdrs[4] = {
        {"Content-Type", "application/json"},
        {"User-Agent", WC_NOTIFIER_USER_AGENT},
        {"X-Whochanged-Timestamp", ts},
        {"X-Whochanged-Signature", sig},
    };
    struct wc_http_request req = {0};
    int rc;

    res->retry_after_ms = 0;
    res->http_status = 0;
    if ((rc = s_render(notice, &body)) != WC_OK) {
        WC_LOGE(w->d.logger, NULL, "notifier %s: cannot build the payload: %s", n->id,
                wc_strerror(rc));
        goto out;
    }
    req.n_headers = 2;
    if (w->hmac_secret) {
        snprintf(ts, sizeof(ts), "%lld", (long long)(wc_clock_now_ms(&w->d.clock) / 1000));
        if ((rc = s_sign(w->hmac_secret, ts, body.ptr, body.len, sig, sizeof(sig))) != WC_OK)
            goto out;
        req.n_headers = 4;
    }
    req.method = "POST";
    req.url = w->url;
    req.headers = hdrs;
    req.body = body.ptr;
    req.body_len = body.len;
    req.connect_timeout_ms = w->d.connect_timeout_ms;
    req.timeout_ms = w->d.timeout_ms;
    req.max_response_bytes = S_RESPONSE_MAX;
    rc = wc_notif_deliver(&w->d, n->id, &req, s_judge, w, res);
out:
    wc_buf_clean_up(&body);
    return rc;
}

static void s_webhook_free(struct s_webhook *w)
{
    if (!w)
        return;
    wc_notif_secret_free(w->url);
    wc_notif_secret_free(w->hmac_secret);
    free(w);
}

static void s_webhook_destroy(struct wc_notifier *n)
{
    if (!n)
        return;
    s_webhook_free(n->impl);
    wc_notif_unwrap(n);
}

const struct wc_notifier_vtable wc_webhook_notifier_vtable = {
    .name = "webhook",
    .render = s_webhook_render,
    .send = s_webhook_send,
    .reopen = NULL,
    .destroy = s_webhook_destroy,
};

struct wc_notifier *wc_webhook_notifier_new(const struct wc_notifier_options *o)
{
    struct s_webhook *w;
    struct wc_notifier *n;

    if (!o || !o->http || !wc_notif_token_ok(o->url))
        return NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    wc_notif_delivery_init(&w->d, o);
    w->url = wc_strdup(o->url);
    if (!w->url)
        goto fail;
    if (!wc_str_empty(o->hmac_secret) && !(w->hmac_secret = wc_strdup(o->hmac_secret)))
        goto fail;
    n = wc_notif_wrap(&wc_webhook_notifier_vtable, w, o->id, "webhook", o->verdict_mask,
                      WC_VERDICT_BIT(WC_VERDICT_HUMAN));
    if (!n)
        goto fail;
    return n;
fail:
    s_webhook_free(w);
    return NULL;
}
