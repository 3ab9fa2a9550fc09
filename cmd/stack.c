#include "cmd/stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudtrail.h"
#include "aws/http_curl.h"
#include "core/err.h"

static const char *const s_services[] = {"sqs", "cloudtrail", "sts", "s3", "config",
                                         "dynamodb"};
_Static_assert(sizeof(s_services) / sizeof(s_services[0]) <=
                   sizeof(((struct wc_stack *)0)->overrides) /
                       sizeof(((struct wc_stack *)0)->overrides[0]),
               "one override slot per service");

static const char *s_profile_get(void *ctx, const char *section, const char *key)
{
    return wc_aws_shared_config_get(ctx, section, key);
}

/* How a setting is named in messages: the variable, or "profile P: key". */
static const char *s_label(const char *src, const char *var, const struct wc_aws_profile *prof,
                           const char *key, char *buf, size_t len)
{
    if (src && strcmp(src, var) == 0)
        return var;
    snprintf(buf, len, "profile %s: %s", prof->name ? prof->name : "default", key);
    return buf;
}

/* The CA bundle of AWS calls: the config's ca_bundle, else AWS_CA_BUNDLE,
 * else the profile's ca_bundle; checked readable now. */
static int s_aws_ca_bundle(const struct wc_config *cfg, const struct wc_aws_profile *prof,
                           const char **out, char *err, size_t errlen)
{
    const char *src = NULL, *v = wc_config_ca_bundle(cfg);
    const char *label = "ca_bundle";
    char buf[160];
    FILE *f;

    if (!v && (v = wc_aws_setting(NULL, prof, "AWS_CA_BUNDLE", "ca_bundle", &src)))
        label = s_label(src, "AWS_CA_BUNDLE", prof, "ca_bundle", buf, sizeof(buf));
    *out = v;
    if (!v)
        return WC_OK;
    if (!(f = fopen(v, "r"))) {
        snprintf(err, errlen, "%s: cannot read the CA bundle %s", label, v);
        return WC_ERR_CONFIG;
    }
    fclose(f);
    return WC_OK;
}

/* Retries: AWS_MAX_ATTEMPTS / max_attempts, AWS_RETRY_MODE / retry_mode. */
static int s_retry_options(const struct wc_aws_profile *prof, struct wc_retry_options *ro,
                           char *err, size_t errlen)
{
    const char *asrc, *msrc;
    const char *attempts = wc_aws_setting(NULL, prof, "AWS_MAX_ATTEMPTS", "max_attempts", &asrc);
    const char *mode = wc_aws_setting(NULL, prof, "AWS_RETRY_MODE", "retry_mode", &msrc);
    char a[160], m[160];

    return wc_retry_options_parse(
        attempts, s_label(asrc, "AWS_MAX_ATTEMPTS", prof, "max_attempts", a, sizeof(a)), mode,
        s_label(msrc, "AWS_RETRY_MODE", prof, "retry_mode", m, sizeof(m)), ro, err, errlen);
}

/* One line at start: where requests go (proxy credentials left out). */
static void s_say_transport(struct wc_logger *lg, const struct wc_http_proxy_config *pc,
                            const struct wc_endpoints *eps, const struct wc_retry_policy *retry,
                            const char *ca)
{
    char h[256], s[256];

    wc_http_proxy_redact(pc->http_proxy, h, sizeof(h));
    wc_http_proxy_redact(pc->https_proxy, s, sizeof(s));
    if (pc->http_proxy || pc->https_proxy)
        WC_LOGI(lg, NULL, "http: proxy for https %s%s%s%s, for http %s%s%s%s; no_proxy %s", s,
                pc->https_source ? " (" : "", pc->https_source ? pc->https_source : "",
                pc->https_source ? ")" : "", h, pc->http_source ? " (" : "",
                pc->http_source ? pc->http_source : "", pc->http_source ? ")" : "",
                pc->no_proxy ? pc->no_proxy : "(none)");
    if (wc_endpoints_fips(eps) || wc_endpoints_dualstack(eps) || ca ||
        wc_retry_policy_mode(retry) != WC_RETRY_MODE_STANDARD)
        WC_LOGI(lg, NULL, "aws: fips %s, dual-stack %s, retry mode %s (%d attempts), CA bundle %s",
                wc_endpoints_fips(eps) ? "on" : "off", wc_endpoints_dualstack(eps) ? "on" : "off",
                wc_retry_mode_name(wc_retry_policy_mode(retry)),
                wc_retry_policy_max_attempts(retry), ca ? ca : "(system)");
}

static int s_init(struct wc_stack *s, const struct wc_config *cfg, const char *fallback_region,
                  struct wc_logger *logger, wc_sleep_fn *sleep_ms, bool (*cancelled)(void *ctx),
                  bool say_warnings, char *err, size_t errlen);

int wc_stack_init(struct wc_stack *s, const struct wc_config *cfg, const char *fallback_region,
                  struct wc_logger *logger, char *err, size_t errlen)
{
    return s_init(s, cfg, fallback_region, logger, NULL, NULL, false, err, errlen);
}

int wc_stack_init_cancellable(struct wc_stack *s, const struct wc_config *cfg,
                              const char *fallback_region, struct wc_logger *logger,
                              wc_sleep_fn *sleep_ms, bool (*cancelled)(void *ctx), char *err,
                              size_t errlen)
{
    return s_init(s, cfg, fallback_region, logger, sleep_ms, cancelled, true, err, errlen);
}

static int s_init(struct wc_stack *s, const struct wc_config *cfg, const char *fallback_region,
                  struct wc_logger *logger, wc_sleep_fn *sleep_ms, bool (*cancelled)(void *ctx),
                  bool say_warnings, char *err, size_t errlen)
{
    struct wc_http_curl_options ho = {.allow_plain_http_loopback = true, .logger = logger};
    struct wc_http_curl_options no = {.allow_plain_http_loopback = true,
                                      .ca_bundle = wc_config_ca_bundle(cfg),
                                      .logger = logger};
    struct wc_http_proxy_config pc = {0};
    struct wc_aws_profile prof = {0};
    struct wc_retry_options ro = {0};
    struct wc_endpoints_options eo = {0};
    struct wc_aws_options ao = {.logger = logger, .sleep_ms = sleep_ms, .cancelled = cancelled};
    struct wc_creds_options co = {.logger = logger};
    struct wc_sts_options so = {0};
    struct wc_cloudtrail_options cto = {0};
    const char *region = wc_config_region(cfg);
    const char *role = wc_config_accounts_role_arn(cfg);
    char *profile_region = NULL;
    int rc;

    memset(s, 0, sizeof(*s));
    s->logger = logger;
    /* the worker's start: the config's warnings (e.g. a world-readable file
     * holding a secret) go to its log once; explain says them itself */
    for (size_t i = 0; say_warnings && i < wc_config_warnings(cfg)->len; i++)
        WC_LOGW(logger, NULL, "config: %s", wc_config_warnings(cfg)->items[i]);
    if (!region)
        region = fallback_region;
    /* last, the AWS profile's `region =` (as the SDKs, after AWS_REGION) */
    if (!region && wc_creds_profile_region(&co, &profile_region) == WC_OK)
        region = profile_region;
    if (!region || !wc_region_is_valid(region)) {
        snprintf(err, errlen, "no valid AWS region: set `region` in the config, AWS_REGION, "
                 "or region in the AWS profile");
        free(profile_region);
        return WC_ERR_CONFIG;
    }
    s->region = wc_strdup(region);
    free(profile_region);
    if (!s->region)
        return WC_ERR_NOMEM;
    for (size_t i = 0; i < sizeof(s_services) / sizeof(s_services[0]); i++) {
        const char *url = wc_config_endpoint(cfg, s_services[i]);
        if (url)
            s->overrides[s->n_overrides++] = (struct wc_endpoint_override){s_services[i], url};
    }
    /* the SDK settings: environment, then the shared config file's profile */
    co.logger = logger;
    if ((rc = wc_aws_shared_config_load(&co, &s->aws_config)) != WC_OK) {
        snprintf(err, errlen, "cannot read the AWS config file: %s", wc_strerror(rc));
        rc = WC_ERR_CONFIG;
        goto fail;
    }
    prof = (struct wc_aws_profile){s_profile_get, s->aws_config,
                                   wc_aws_shared_config_profile(s->aws_config)};
    eo = (struct wc_endpoints_options){s->overrides, s->n_overrides, NULL, &prof};
    if (!(s->endpoints = wc_endpoints_new(&eo, err, errlen)) ||
        (rc = s_retry_options(&prof, &ro, err, errlen)) != WC_OK ||
        (rc = s_aws_ca_bundle(cfg, &prof, &ho.ca_bundle, err, errlen)) != WC_OK ||
        (rc = wc_http_proxy_config_init(&pc, wc_config_proxy(cfg), NULL, err, errlen)) != WC_OK) {
        rc = WC_ERR_CONFIG;
        goto fail;
    }
    ho.proxy = no.proxy = &pc;
    if (!(s->http = wc_http_curl_new(&ho)) || !(s->retry = wc_retry_policy_new(&ro)) ||
        !(s->notify_http = wc_strcmp0(ho.ca_bundle, no.ca_bundle) ? wc_http_curl_new(&no)
                                                                  : s->http)) {
        snprintf(err, errlen, "cannot set up the HTTP transport");
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    s_say_transport(logger, &pc, s->endpoints, s->retry, ho.ca_bundle);
    wc_http_proxy_config_clean_up(&pc);
    ao.http = s->http;
    ao.retry = s->retry;
    if (!(s->aws = wc_aws_new(&ao))) {
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    if ((rc = wc_endpoints_resolve(s->endpoints, "sts", s->region, &s->sts_endpoint)) != WC_OK) {
        snprintf(err, errlen, "cannot resolve the STS endpoint for %s: %s", s->region,
                 wc_strerror(rc));
        goto fail;
    }
    so.aws = s->aws;
    so.endpoint = s->sts_endpoint;
    so.region = s->region;
    if (!(s->sts = wc_sts_new(&so))) {
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    co.http = s->http;
    co.sts_endpoint = s->sts_endpoint;
    co.region = s->region;
    co.assume_role_fn = wc_sts_assume_role;
    co.assume_role_ctx = s->sts;
    if (!(s->creds = wc_creds_chain_new(&co))) {
        snprintf(err, errlen, "cannot set up the AWS credentials chain");
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    if (role && !(s->accounts = wc_creds_accounts_new(s->creds, role,
                                                      wc_config_accounts_external_id(cfg),
                                                      wc_config_accounts_session_name(cfg), &co))) {
        snprintf(err, errlen, "accounts.role_arn: cannot use %s", role);
        rc = WC_ERR_CONFIG;
        goto fail;
    }
    cto.aws = s->aws;
    cto.creds = s->creds;
    cto.accounts = s->accounts;
    cto.endpoint_overrides = s->overrides;
    cto.n_endpoint_overrides = s->n_overrides;
    cto.endpoints = s->endpoints;
    cto.rate_per_s = wc_config_cloudtrail_rate(cfg);
    if (!(s->trail = wc_cloudtrail_new(&cto))) {
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    return WC_OK;
fail:
    if (err[0] == '\0')
        snprintf(err, errlen, "%s", wc_strerror(rc));
    wc_http_proxy_config_clean_up(&pc);
    wc_stack_clean_up(s);
    return rc;
}

void wc_stack_clean_up(struct wc_stack *s)
{
    if (!s)
        return;
    wc_trail_destroy(s->trail);
    wc_creds_accounts_destroy(s->accounts);
    wc_creds_provider_destroy(s->creds);
    wc_sts_destroy(s->sts);
    free(s->sts_endpoint);
    wc_aws_destroy(s->aws);
    wc_retry_policy_destroy(s->retry);
    if (s->notify_http != s->http)
        wc_http_destroy(s->notify_http);
    wc_http_destroy(s->http);
    wc_endpoints_destroy(s->endpoints);
    wc_aws_shared_config_destroy(s->aws_config);
    free(s->region);
    memset(s, 0, sizeof(*s));
}
