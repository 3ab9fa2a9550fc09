/* endpoints.h - where to send a request for an AWS service.
 *
 * Precedence (the AWS SDKs' "service-specific endpoints" rules, with the
 * config file's `endpoints:` map first, as "explicitly set in code"):
 *   1. the config file's `endpoints:` map, passed in as overrides; "{region}"
 *      in such a URL stands for the request's region
 *      (http://127.0.0.1:4566/{region}, https://cloudtrail.{region}.example);
 *   2. AWS_ENDPOINT_URL_<SERVICE> (SQS, CLOUDTRAIL, STS, S3, SSO, SSO_OIDC,
 *      CONFIG_SERVICE, DYNAMODB);
 *   3. AWS_ENDPOINT_URL;
 *   4. the active profile's `services = NAME`, then in [services NAME] the
 *      sub-setting "<service> =\n  endpoint_url = URL" (keys sqs,
 *      cloudtrail, sts, s3, sso, sso_oidc, config_service, dynamodb);
 *   5. the active profile's `endpoint_url`;
 *   6. the standard endpoint of the region's partition (core/awsid.h):
 *      https://<service>.<region>.<dnsSuffix>, with
 *      AWS_USE_FIPS_ENDPOINT / use_fips_endpoint: <service>-fips (in
 *      GovCloud the standard endpoints are already FIPS), and
 *      AWS_USE_DUALSTACK_ENDPOINT / use_dualstack_endpoint: the partition's
 *      dual-stack suffix (api.aws; S3: s3.dualstack.<region>.<dnsSuffix>).
 *      Host names as botocore 1.43's endpoint rule sets give them.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / ignore_configured_endpoint_urls
 * (true) skip 2-5; the `endpoints:` map still applies. A configured URL
 * (1-5) is used as it is, but for {region} (expanded wherever it comes
 * from): FIPS and dual-stack only shape standard endpoints.
 * The variable wins over the profile key for every setting; booleans are
 * true or false (any case), anything else is refused.
 * The environment is read through an injectable lookup so tests never depend
 * on the process environment; the profile through a view (cmd/ hands the
 * shared config file's, aws/credentials.h).
 */
#ifndef WC_ENDPOINTS_H
#define WC_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/awsid.h" /* wc_region_is_valid, partitions */

/* Returns the value of variable name, or NULL. The returned string is
 * borrowed and must stay valid until the resolver returns. */
typedef const char *wc_getenv_fn(void *ctx, const char *name);

struct wc_env {
    wc_getenv_fn *get; /* NULL: the process environment (getenv) */
    void *ctx;
};

/* The value of name in env (NULL env: the process environment); NULL when
 * unset or empty. */
const char *wc_env_get(const struct wc_env *env, const char *name);

/* The active profile of the shared config file, as the resolvers read it:
 * get(ctx, NULL, key) a key of the profile; get(ctx, "services NAME",
 * "sqs.endpoint_url") a sub-setting of another section. NULL: unset. */
typedef const char *wc_profile_get_fn(void *ctx, const char *section, const char *key);

struct wc_aws_profile {
    wc_profile_get_fn *get; /* NULL: no profile */
    void *ctx;
    const char *name;       /* for messages, may be NULL */
};

/* One of the SDK settings: the variable's value, else the profile key's;
 * *source (may be NULL) names where it came from ("AWS_MAX_ATTEMPTS",
 * "profile dev: max_attempts"; static or valid while profile lives), NULL
 * when unset. */
const char *wc_aws_setting(const struct wc_env *env, const struct wc_aws_profile *profile,
                           const char *var, const char *key, const char **source);
/* A boolean setting: WC_OK with *out (false when unset), WC_ERR_CONFIG
 * with a one-line reason in err for anything but true/false. */
int wc_aws_setting_bool(const struct wc_env *env, const struct wc_aws_profile *profile,
                        const char *var, const char *key, bool *out, char *err, size_t errlen);

/* One entry of the config `endpoints:` map, e.g. {"sqs", "http://127.0.0.1:4566"}. */
struct wc_endpoint_override {
    const char *service;
    const char *url;
};

/* true for cn-* regions (the aws-cn partition). */
bool wc_region_is_china(const char *region);

/* true when url is an http(s):// URL whose only placeholder is {region}. */
bool wc_endpoint_url_template_ok(const char *url);

struct wc_endpoints_options {
    const struct wc_endpoint_override *overrides; /* copied */
    size_t n_overrides;
    const struct wc_env *env;              /* NULL: the process environment; read once */
    const struct wc_aws_profile *profile;  /* NULL: none; read once */
};

/* The resolver, with every setting read and checked once. NULL with a
 * one-line reason in err (a bad boolean, a configured URL that is not
 * http(s)://, an unknown service in an override) or on allocation failure.
 * Immutable: safe to share between threads. */
struct wc_endpoints;
struct wc_endpoints *wc_endpoints_new(const struct wc_endpoints_options *o, char *err,
                                      size_t errlen);
void wc_endpoints_destroy(struct wc_endpoints *e);

/* The base URL (no trailing '/') for service ("sqs", "cloudtrail", "sts",
 * "s3", "sso", "sso-oidc", "config", "dynamodb") in region; heap-allocated,
 * the caller frees it.
 * WC_ERR_INVALID: bad region or unknown service; WC_ERR_UNSUPPORTED: FIPS
 * asked where the service has none (S3 in China); WC_ERR_NOMEM. */
int wc_endpoints_resolve(const struct wc_endpoints *e, const char *service, const char *region,
                         char **out_url);
/* Where service's endpoint comes from: "endpoints.sqs",
 * "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL", "profile dev: services s",
 * "profile dev: endpoint_url", or NULL for the standard endpoint. */
const char *wc_endpoints_source(const struct wc_endpoints *e, const char *service);
bool wc_endpoints_fips(const struct wc_endpoints *e);
bool wc_endpoints_dualstack(const struct wc_endpoints *e);

/* An S3 object's base URL: a configured endpoint (path style:
 * <endpoint>/<bucket>/<key>, *virtual_host false), else the standard
 * virtual host https://<bucket>.s3[-fips][.dualstack].<region>.<suffix>
 * when the bucket allows it (*virtual_host true), else the standard
 * endpoint in path style. */
int wc_endpoints_s3_base(const struct wc_endpoints *e, const char *bucket, const char *region,
                         char **out_url, bool *virtual_host);

/* One-shot form of wc_endpoints_resolve with overrides and env only (no
 * profile). env may be NULL (process environment). WC_ERR_INVALID also for
 * an override that is not an http(s):// URL or a bad FIPS/dual-stack
 * variable. */
int wc_endpoint_resolve(const char *service, const char *region,
                        const struct wc_endpoint_override *overrides, size_t n_overrides,
                        const struct wc_env *env, char **out_url);

/* true when bucket can be addressed virtual-host style over TLS: 3-63 chars
 * of [a-z0-9-], starting and ending with a letter or digit, no dots (dots
 * break the *.s3 wildcard certificate), not an IP address. */
bool wc_s3_bucket_is_virtual_hostable(const char *bucket);

/* https://<bucket>.s3.<region>.<dnsSuffix> for a standard endpoint.
 * WC_ERR_INVALID when the bucket is not virtual-hostable (use path style:
 * <endpoint>/<bucket>/<key>) or the region is invalid. */
int wc_endpoint_s3_virtual_host(const char *bucket, const char *region, char **out_url);

/* The region of an SQS queue URL:
 *   https://sqs[-fips].<region>.amazonaws.com[.cn]/<account>/<name> -> <region>
 *   https://sqs[-fips].<region>.api.aws/...                           -> <region>
 *   https://<region>.queue.amazonaws.com/...                          -> <region>
 *   https://queue.amazonaws.com/...                                   -> "us-east-1"
 * NULL for anything else (localhost, custom endpoints) or on allocation
 * failure; the caller frees the result. */
char *wc_sqs_region_from_queue_url(const char *url);

#endif
