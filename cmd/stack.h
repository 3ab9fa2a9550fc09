/* stack.h - the AWS stack built from the configuration: transport, retry
 * policy, credentials chain (with STS for role profiles), per-account roles,
 * and the CloudTrail trail. Shared by the subcommands that talk to AWS. */
#ifndef WC_CMD_STACK_H
#define WC_CMD_STACK_H

#include <stddef.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "aws/retry.h"
#include "aws/sts.h"
#include "config/config.h"
#include "core/http.h"
#include "core/log.h"
#include "core/trail.h"

struct wc_stack {
    struct wc_logger *logger; /* borrowed */
    char *region;
    struct wc_aws_shared_config *aws_config; /* ~/.aws/config's active profile */
    struct wc_endpoints *endpoints;          /* every AWS endpoint */
    struct wc_http *http;        /* AWS calls: AWS_CA_BUNDLE, the proxy */
    struct wc_http *notify_http; /* Slack, webhooks: the proxy; == http when the
                                  * CA bundles agree */
    struct wc_retry_policy *retry;
    struct wc_aws *aws;
    struct wc_endpoint_override overrides[6];
    size_t n_overrides;
    char *sts_endpoint;
    struct wc_sts *sts;
    struct wc_creds_provider *creds;
    struct wc_creds_accounts *accounts;
    struct wc_trail *trail;
};

/* region: the config's (its key, else AWS_REGION, AWS_DEFAULT_REGION), else
 * fallback_region (what the data says: the queue URL's, the change's), else
 * the AWS profile's `region =`. On failure writes a one-line reason to err. */
int wc_stack_init(struct wc_stack *s, const struct wc_config *cfg, const char *fallback_region,
                  struct wc_logger *logger, char *err, size_t errlen);
/* The same, with a sleep that shutdown cuts short and a shutdown test (the
 * worker's): waits for rate-limit slots and retries end at once, and no new
 * request starts once cancelled() is true. Being the worker's start, it also
 * logs the config's warnings (wc_config_warnings). */
int wc_stack_init_cancellable(struct wc_stack *s, const struct wc_config *cfg,
                              const char *fallback_region, struct wc_logger *logger,
                              wc_sleep_fn *sleep_ms, bool (*cancelled)(void *ctx), char *err,
                              size_t errlen);
void wc_stack_clean_up(struct wc_stack *s);

#endif
