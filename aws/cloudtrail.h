/* cloudtrail.h - CloudTrail LookupEvents (awsJson1_1), implementing the
 * trail port of core/trail.h.
 *
 * One lookup = one LookupAttributes entry and a time window, every page
 * (MaxResults 50, NextToken) appended. Before each call a slot is reserved
 * in a token bucket per account and region (default 2 calls/s, CloudTrail's
 * limit), shared by every thread, so the worker never causes throttling; a
 * ThrottlingException still backs off (wc_aws_send) and pushes the bucket's
 * next slot back. Calls for another account use that account's role when
 * an accounts provider is given.
 *
 * lookup_page (the lookup scheduler's way in) is one call, one page, with
 * neither the token bucket nor a retry of throttling: WC_ERR_THROTTLED goes
 * back to the caller, which owns the budget. Other transient errors still
 * get wc_aws_send's standard retry.
 */
#ifndef WC_AWS_CLOUDTRAIL_H
#define WC_AWS_CLOUDTRAIL_H

#include <stdint.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "core/trail.h"

#define WC_CLOUDTRAIL_TARGET "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
#define WC_CLOUDTRAIL_DEFAULT_RATE 2.0
#define WC_CLOUDTRAIL_DEFAULT_MAX_PAGES 20
/* Calls are spaced 10% wider than the rate: at 2/s, 550 ms apart. */
#define WC_CLOUDTRAIL_RATE_MARGIN 1.1
/* Throttled calls tried again (through the bucket, backing off 1, 2, 4 s). */
#define WC_CLOUDTRAIL_THROTTLE_TRIES 4

struct wc_cloudtrail_options {
    struct wc_aws *aws;                       /* borrowed */
    struct wc_creds_provider *creds;          /* our own credentials (borrowed) */
    struct wc_creds_accounts *accounts;       /* per-account roles, may be NULL (borrowed) */
    const struct wc_endpoint_override *endpoint_overrides; /* borrowed */
    size_t n_endpoint_overrides;
    const struct wc_env *env;                 /* NULL: process environment */
    /* borrowed; when set, the endpoint comes from it (profile, FIPS,
     * {region} templates) and the two fields above are not used */
    const struct wc_endpoints *endpoints;
    const struct wc_clock *clock;             /* for the token buckets; NULL: system */
    double rate_per_s;                        /* 0: 2 */
    int max_pages;                            /* 0: 20 (1000 events) */
};

struct wc_cloudtrail_stats {
    uint64_t calls;     /* LookupEvents requests that got an answer, pages included */
    uint64_t throttled; /* ThrottlingException answers */
    uint64_t failures;  /* lookups that failed; for lookup_page, pages that failed
                         * other than by throttling (the caller retries those) */
};

struct wc_trail *wc_cloudtrail_new(const struct wc_cloudtrail_options *o);
/* t must come from wc_cloudtrail_new. */
void wc_cloudtrail_stats(const struct wc_trail *t, struct wc_cloudtrail_stats *out);

/* The request body for one page (exposed for tests). token may be NULL. */
int wc_cloudtrail_lookup_body(const struct wc_trail_query *q, const char *token,
                              struct wc_buf *out);

#endif
