/* Unit tests for notifiers/webhook: payload = wc_finding_to_json, request
 * headers, HMAC-SHA256 signature, retries, no secrets in the log. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/finding.h"
#include "core/log.h"
#include "core/notifier.h"
#include "notifiers/notifiers.h"
#include "tests/support/notif_fakes.h"

#define URL "https://hooks.example.test/whochanged?token=QUERYSECRET123"
#define SECRET "hmac-SECRET-value-42"
#define NOW_MS 1714564800123LL

static int64_t s_now(void *ctx)
{
    (void)ctx;
    return NOW_MS;
}

/* A clock the test moves: ctx is an int64_t of milliseconds. */
static int64_t s_now_var(void *ctx)
{
    return *(const int64_t *)ctx;
}

struct env {
    struct notif_fake_http http;
    struct notif_sleeps sleeps;
    struct notif_log log;
    struct wc_logger *logger;
    struct wc_clock clock;
    struct wc_notifier *n;
};

static void s_env_init(struct env *e, const struct notif_fake_reply *script, size_t n_script,
                       const char *secret)
{
    struct wc_notifier_options o = {0};

    memset(e, 0, sizeof(*e));
    notif_fake_http_init(&e->http, script, n_script);
    e->logger = notif_log_new(&e->log, WC_LOG_INFO);
    e->clock.now_ms = s_now;
    e->clock.mono_ms = s_now;
    o.id = "webhook#1";
    o.verdict_mask = WC_VERDICT_MASK_ALL;
    o.http = &e->http.http;
    o.logger = e->logger;
    o.clock = &e->clock;
    o.sleep_ms = notif_sleep_record;
    o.sleep_ctx = &e->sleeps;
    o.url = URL;
    o.hmac_secret = secret;
    e->n = wc_webhook_notifier_new(&o);
    assert_non_null(e->n);
    assert_string_equal(e->n->id, "webhook#1");
    assert_int_equal(e->n->verdict_mask, WC_VERDICT_MASK_ALL);
}

static void s_env_clean_up(struct env *e)
{
    wc_notifier_destroy(e->n);
    wc_logger_destroy(e->logger);
    notif_fake_http_clean_up(&e->http);
}

static const struct notif_fake_reply s_ok[] = {{204, NULL, NULL, WC_OK}};

/* Independent HMAC through the EVP_MAC interface. */
static void s_hmac_hex(const char *key, const char *data, size_t len, char out[65])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx;
    OSSL_PARAM params[2];
    unsigned char md[32];
    size_t md_len = 0;

    assert_non_null(mac);
    ctx = EVP_MAC_CTX_new(mac);
    assert_non_null(ctx);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), params), 1);
    assert_int_equal(EVP_MAC_update(ctx, (const unsigned char *)data, len), 1);
    assert_int_equal(EVP_MAC_final(ctx, md, &md_len, sizeof(md)), 1);
    assert_int_equal(md_len, 32);
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

/* HMAC-SHA256(key, ts + "." + body) as hex: what a receiver computes. */
static void s_signed_hex(const char *key, const char *ts, const char *body, size_t len,
                         char out[65])
{
    struct wc_buf msg = WC_BUF_INIT;

    assert_int_equal(wc_buf_appendf(&msg, "%s.", ts), WC_OK);
    assert_int_equal(wc_buf_append(&msg, body, len), WC_OK);
    s_hmac_hex(key, msg.ptr, msg.len, out);
    wc_buf_clean_up(&msg);
}

/* A receiver per the README: recompute the MAC over "<ts>.<body>", compare,
 * and refuse a timestamp more than max_age_s away from its clock. */
static bool s_receiver_accepts(const char *ts, const char *body, size_t len, const char *sig,
                               int64_t receiver_now_s, int64_t max_age_s)
{
    char hex[65], want[80];
    long long t = atoll(ts);

    s_signed_hex(SECRET, ts, body, len, hex);
    snprintf(want, sizeof(want), "sha256=%s", hex);
    if (strcmp(want, sig) != 0)
        return false;
    return t >= receiver_now_s - max_age_s && t <= receiver_now_s + max_age_s;
}

/* The signature used to cover the body only, so a captured request could be
 * replayed forever (review finding 7). Now it binds the timestamp: replaying
 * the body and signature under a fresh timestamp fails, and the original
 * timestamp ages out. */
static void test_signature_binds_timestamp(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    static const struct notif_fake_reply ok2[] = {{204, NULL, NULL, WC_OK},
                                                  {204, NULL, NULL, WC_OK}};
    int64_t now_ms = NOW_MS;
    const struct notif_fake_request *r0, *r1;
    char ts0[24], sig0[80];
    struct env e;

    (void)state;
    s_env_init(&e, ok2, 2, SECRET);
    e.clock.now_ms = s_now_var;
    e.clock.mono_ms = s_now_var;
    e.clock.ctx = &now_ms;
    wc_notifier_destroy(e.n);
    {
        struct wc_notifier_options o = {0};

        o.id = "webhook#1";
        o.verdict_mask = WC_VERDICT_MASK_ALL;
        o.http = &e.http.http;
        o.logger = e.logger;
        o.clock = &e.clock;
        o.sleep_ms = notif_sleep_record;
        o.sleep_ctx = &e.sleeps;
        o.url = URL;
        o.hmac_secret = SECRET;
        e.n = wc_webhook_notifier_new(&o);
        assert_non_null(e.n);
    }
    assert_int_equal(wc_notifier_send(e.n, &notice, NULL), WC_OK);
    now_ms += 600 * 1000; /* ten minutes later, the same finding again */
    assert_int_equal(wc_notifier_send(e.n, &notice, NULL), WC_OK);
    assert_int_equal(e.http.n_reqs, 2);
    r0 = &e.http.reqs[0];
    r1 = &e.http.reqs[1];
    snprintf(ts0, sizeof(ts0), "%s", notif_fake_header(r0, "X-Whochanged-Timestamp"));
    snprintf(sig0, sizeof(sig0), "%s", notif_fake_header(r0, "X-Whochanged-Signature"));
    assert_string_equal(ts0, "1714564800");
    assert_string_equal(notif_fake_header(r1, "X-Whochanged-Timestamp"), "1714565400");
    assert_string_equal(r0->body, r1->body); /* same body ... */
    assert_string_not_equal(sig0, notif_fake_header(r1, "X-Whochanged-Signature")); /* new MAC */
    /* the genuine request is accepted when fresh */
    assert_true(s_receiver_accepts(ts0, r0->body, r0->body_len, sig0, 1714564800 + 10, 300));
    /* replayed later with its own timestamp: too old */
    assert_false(s_receiver_accepts(ts0, r0->body, r0->body_len, sig0, 1714565400, 300));
    /* replayed later under a fresh timestamp: the MAC no longer matches */
    assert_false(s_receiver_accepts("1714565400", r0->body, r0->body_len, sig0, 1714565400,
                                    300));
    /* the second request is fine at its own time */
    assert_true(s_receiver_accepts(notif_fake_header(r1, "X-Whochanged-Timestamp"), r1->body,
                                   r1->body_len, notif_fake_header(r1, "X-Whochanged-Signature"),
                                   1714565400, 300));
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

static void test_single_finding_body_and_headers(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf want = WC_BUF_INIT, rendered = WC_BUF_INIT;
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    s_env_init(&e, s_ok, 1, NULL);
    assert_int_equal(wc_notifier_send(e.n, &notice, &res), WC_OK);
    assert_int_equal(res.http_status, 204);
    assert_int_equal(e.http.n_reqs, 1);
    assert_string_equal(e.http.reqs[0].method, "POST");
    assert_string_equal(e.http.reqs[0].url, URL);
    assert_int_equal(wc_finding_to_json(f, false, &want), WC_OK);
    assert_string_equal(e.http.reqs[0].body, want.ptr);
    assert_int_equal(e.http.reqs[0].body_len, want.len);
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "Content-Type"), "application/json");
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "User-Agent"), wc_version_user_agent());
    /* no secret, no signature */
    assert_null(notif_fake_header(&e.http.reqs[0], "X-Whochanged-Signature"));
    assert_null(notif_fake_header(&e.http.reqs[0], "X-Whochanged-Timestamp"));
    assert_int_equal(wc_notifier_render(e.n, &notice, &rendered), WC_OK);
    assert_string_equal(rendered.ptr, want.ptr);
    wc_buf_clean_up(&want);
    wc_buf_clean_up(&rendered);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

static void test_hmac_signature(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    char hex[65], want[80];
    struct env e;

    (void)state;
    s_env_init(&e, s_ok, 1, SECRET);
    assert_int_equal(wc_notifier_send(e.n, &notice, NULL), WC_OK);
    /* the MAC covers "<timestamp>.<body>" */
    s_signed_hex(SECRET, "1714564800", e.http.reqs[0].body, e.http.reqs[0].body_len, hex);
    snprintf(want, sizeof(want), "sha256=%s", hex);
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "X-Whochanged-Signature"), want);
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "X-Whochanged-Timestamp"),
                        "1714564800");
    /* not the body alone (that one replays forever) */
    s_hmac_hex(SECRET, e.http.reqs[0].body, e.http.reqs[0].body_len, hex);
    assert_string_not_equal(notif_fake_header(&e.http.reqs[0], "X-Whochanged-Signature") + 7,
                            hex);
    /* a different key gives a different MAC: the header depends on it */
    s_hmac_hex("other-key", e.http.reqs[0].body, e.http.reqs[0].body_len, hex);
    assert_string_not_equal(notif_fake_header(&e.http.reqs[0], "X-Whochanged-Signature") + 7,
                            hex);
    /* the secret itself never travels */
    for (size_t i = 0; i < e.http.reqs[0].n_headers; i++)
        assert_null(strstr(e.http.reqs[0].headers[i].value, SECRET));
    assert_null(strstr(e.http.reqs[0].body, SECRET));
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

static void test_coalesced_findings_array(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f1, *f2;
    const struct wc_finding *fs[2];
    struct wc_notice notice = {.findings = fs, .n_findings = 2, .account_alias = NULL};
    struct wc_buf a = WC_BUF_INIT, b = WC_BUF_INIT;
    cJSON *root, *arr, *x;
    char *s;
    struct env e;

    (void)state;
    sp.resource_id = "sg-11111111";
    fs[0] = f1 = notif_finding_new(&sp);
    sp.resource_id = "sg-22222222";
    sp.verdict = WC_VERDICT_UNATTRIBUTED;
    sp.no_event = true;
    fs[1] = f2 = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, NULL);
    assert_int_equal(wc_notifier_send(e.n, &notice, NULL), WC_OK);
    root = cJSON_Parse(e.http.reqs[0].body);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(root), 1); /* only "findings" */
    arr = cJSON_GetObjectItemCaseSensitive(root, "findings");
    assert_true(cJSON_IsArray(arr));
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_int_equal(wc_finding_to_json(f1, false, &a), WC_OK);
    assert_int_equal(wc_finding_to_json(f2, false, &b), WC_OK);
    x = cJSON_GetArrayItem(arr, 0);
    s = cJSON_PrintUnformatted(x);
    assert_string_equal(s, a.ptr);
    cJSON_free(s);
    x = cJSON_GetArrayItem(arr, 1);
    s = cJSON_PrintUnformatted(x);
    assert_string_equal(s, b.ptr);
    cJSON_free(s);
    cJSON_Delete(root);
    wc_buf_clean_up(&a);
    wc_buf_clean_up(&b);
    s_env_clean_up(&e);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
}

static int s_send(const struct notif_fake_reply *script, size_t n, struct env *e,
                  struct wc_send_result *res)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    int rc;

    s_env_init(e, script, n, SECRET);
    rc = wc_notifier_send(e->n, &notice, res);
    wc_finding_destroy(f);
    return rc;
}

static void s_assert_no_secret(const struct notif_log *log)
{
    assert_false(notif_log_contains(log, "QUERYSECRET123"));
    assert_false(notif_log_contains(log, "hooks.example.test"));
    assert_false(notif_log_contains(log, SECRET));
}

static void test_retries(void **state)
{
    static const struct notif_fake_reply s503[] = {{503, "busy", NULL, WC_OK},
                                                   {200, "", NULL, WC_OK}};
    static const struct notif_fake_reply s429[] = {{429, "slow down", "2", WC_OK},
                                                   {200, "", NULL, WC_OK}};
    static const struct notif_fake_reply always429[] = {{429, "slow down", NULL, WC_OK}};
    static const struct notif_fake_reply always500[] = {{500, "err", NULL, WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(s503, 2, &e, &res), WC_OK);
    assert_int_equal(e.http.n_reqs, 2);
    assert_int_equal(e.sleeps.n, 1);
    assert_in_range(e.sleeps.ms[0], 500, 1000);
    /* the retry is signed like the first attempt */
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "X-Whochanged-Signature"),
                        notif_fake_header(&e.http.reqs[1], "X-Whochanged-Signature"));
    s_env_clean_up(&e);

    assert_int_equal(s_send(s429, 2, &e, &res), WC_OK);
    assert_int_equal(e.sleeps.n, 1);
    assert_int_equal(e.sleeps.ms[0], 2000);
    s_env_clean_up(&e);

    /* no Retry-After: backoff, and the last wait is reported */
    assert_int_equal(s_send(always429, 1, &e, &res), WC_ERR_THROTTLED);
    assert_int_equal(e.http.n_reqs, 3);
    assert_true(res.retry_after_ms > 0);
    s_env_clean_up(&e);

    assert_int_equal(s_send(always500, 1, &e, &res), WC_ERR_SERVICE);
    assert_int_equal(e.http.n_reqs, 3);
    assert_int_equal(res.http_status, 500);
    assert_int_equal(res.retry_after_ms, 0);
    s_assert_no_secret(&e.log);
    s_env_clean_up(&e);
}

static void test_client_errors_not_retried(void **state)
{
    static const struct notif_fake_reply s404[] = {{404, "no such hook", NULL, WC_OK},
                                                   {200, "", NULL, WC_OK}};
    static const struct notif_fake_reply s401[] = {{401, "bad signature", NULL, WC_OK}};
    static const struct notif_fake_reply s302[] = {{302, "", NULL, WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(s404, 2, &e, &res), WC_ERR_INVALID);
    assert_int_equal(e.http.n_reqs, 1);
    assert_int_equal(e.sleeps.n, 0);
    assert_int_equal(e.log.n, 1);
    assert_non_null(strstr(e.log.lines[0], "webhook#1"));
    assert_non_null(strstr(e.log.lines[0], "404"));
    assert_non_null(strstr(e.log.lines[0], "no such hook"));
    s_assert_no_secret(&e.log);
    s_env_clean_up(&e);

    assert_int_equal(s_send(s401, 1, &e, &res), WC_ERR_AUTH);
    assert_int_equal(e.http.n_reqs, 1);
    s_env_clean_up(&e);

    assert_int_equal(s_send(s302, 1, &e, &res), WC_ERR_INVALID);
    assert_int_equal(e.http.n_reqs, 1);
    s_env_clean_up(&e);
}

static void test_constructor(void **state)
{
    struct notif_fake_http http;
    struct wc_notifier_options o = {0};
    struct wc_notifier *n;

    (void)state;
    notif_fake_http_init(&http, s_ok, 1);
    o.url = URL;
    assert_null(wc_webhook_notifier_new(&o)); /* no transport */
    o.http = &http.http;
    o.url = NULL;
    assert_null(wc_webhook_notifier_new(&o)); /* no URL */
    o.url = "https://x.test/a b";
    assert_null(wc_webhook_notifier_new(&o)); /* not a URL */
    o.url = URL;
    n = wc_webhook_notifier_new(&o);
    assert_non_null(n);
    assert_string_equal(n->id, "webhook");
    assert_ptr_equal(n->vtable, &wc_webhook_notifier_vtable);
    assert_int_equal(wc_notifier_reopen(n), WC_OK); /* nothing to reopen */
    wc_notifier_destroy(n);
    wc_notifier_destroy(NULL);
    notif_fake_http_clean_up(&http);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_finding_body_and_headers),
        cmocka_unit_test(test_hmac_signature),
        cmocka_unit_test(test_signature_binds_timestamp),
        cmocka_unit_test(test_coalesced_findings_array),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_client_errors_not_retried),
        cmocka_unit_test(test_constructor),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
