/* endpoints.h - where to send a request for an AWS service.
 *
 * Precedence (the AWS SDKs' "service-specific endpoints" rules):
 *   1. the config file's `endpoints:` map, passed in as overrides;
 *   2. AWS_ENDPOINT_URL_<SERVICE> (SQS, CLOUDTRAIL, STS, S3);
 *   3. AWS_ENDPOINT_URL;
 *   4. the standard regional endpoint https://<service>.<region>.amazonaws.com,
 *      with `.amazonaws.com.cn` for the China regions (cn-*).
 * The environment is read through an injectable lookup so tests never depend
 * on the process environment.
 */
#ifndef WC_ENDPOINTS_H
#define WC_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/awsid.h" /* wc_region_is_valid */

/* Returns the value of variable name, or NULL. The returned string is
 * borrowed and must stay valid until the resolver returns. */
typedef const char *wc_getenv_fn(void *ctx, const char *name);

struct wc_env {
    wc_getenv_fn *get; /* NULL: the process environment (getenv) */
    void *ctx;
};

/* One entry of the config `endpoints:` map, e.g. {"sqs", "http://127.0.0.1:4566"}. */
struct wc_endpoint_override {
    const char *service;
    const char *url;
};

/* true for cn-* regions (the aws-cn partition). */
bool wc_region_is_china(const char *region);

/* Resolve the base URL (no trailing '/') for service ("sqs", "cloudtrail",
 * "sts", "s3") in region. env may be NULL (process environment).
 * *out_url is heap-allocated; the caller frees it.
 * WC_ERR_INVALID: bad region, unknown service, or an override that is not an
 * http(s):// URL. WC_ERR_NOMEM. */
int wc_endpoint_resolve(const char *service, const char *region,
                        const struct wc_endpoint_override *overrides, size_t n_overrides,
                        const struct wc_env *env, char **out_url);

/* true when bucket can be addressed virtual-host style over TLS: 3-63 chars
 * of [a-z0-9-], starting and ending with a letter or digit, no dots (dots
 * break the *.s3 wildcard certificate), not an IP address. */
bool wc_s3_bucket_is_virtual_hostable(const char *bucket);

/* https://<bucket>.s3.<region>.amazonaws.com[.cn] for a standard endpoint.
 * WC_ERR_INVALID when the bucket is not virtual-hostable (use path style:
 * <endpoint>/<bucket>/<key>) or the region is invalid. */
int wc_endpoint_s3_virtual_host(const char *bucket, const char *region, char **out_url);

/* The region of an SQS queue URL:
 *   https://sqs.<region>.amazonaws.com[.cn]/<account>/<name> -> <region>
 *   https://<region>.queue.amazonaws.com/...                 -> <region>
 *   https://queue.amazonaws.com/...                          -> "us-east-1"
 * NULL for anything else (localhost, custom endpoints) or on allocation
 * failure; the caller frees the result. */
char *wc_sqs_region_from_queue_url(const char *url);

#endif
