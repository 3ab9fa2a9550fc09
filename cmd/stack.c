#include "cmd/stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudtrail.h"
#include "aws/http_curl.h"
#include "core/err.h"

static const char *const s_services[] = {"sqs", "cloudtrail", "sts", "s3"};

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
    struct wc_http_curl_options ho = {.allow_plain_http_loopback = true,
                                      .ca_bundle = wc_config_ca_bundle(cfg),
                                      .logger = logger};
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
    if (!(s->http = wc_http_curl_new(&ho)) || !(s->retry = wc_retry_policy_new(NULL))) {
        snprintf(err, errlen, "cannot set up the HTTP transport");
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    ao.http = s->http;
    ao.retry = s->retry;
    if (!(s->aws = wc_aws_new(&ao))) {
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    if ((rc = wc_endpoint_resolve("sts", s->region, s->overrides, s->n_overrides, NULL,
                                  &s->sts_endpoint)) != WC_OK) {
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
    cto.rate_per_s = wc_config_cloudtrail_rate(cfg);
    if (!(s->trail = wc_cloudtrail_new(&cto))) {
        rc = WC_ERR_NOMEM;
        goto fail;
    }
    return WC_OK;
fail:
    if (err[0] == '\0')
        snprintf(err, errlen, "%s", wc_strerror(rc));
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
    wc_http_destroy(s->http);
    free(s->region);
    memset(s, 0, sizeof(*s));
}
