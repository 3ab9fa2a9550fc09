/* configservice.h - AWS Config's GetResourceConfigHistory (awsJson1_1,
 * X-Amz-Target StarlingDoveService.GetResourceConfigHistory, signing name
 * "config", endpoint config.<region>.amazonaws.com), for `whochanged
 * history`.
 *
 * One call is one page: the query of core/history.h (resource type and id,
 * earlierTime/laterTime, chronologicalOrder, limit) and a nextToken; the
 * answer's body is handed back as it is, parsed by core/history.c (which
 * asks for the next page). SigV4 and the standard retry come from
 * wc_aws_send: throttling (ThrottlingException) and transient errors are
 * tried again with backoff. A query naming another account is signed with
 * that account's role (accounts.role_arn, as CloudTrail lookups are).
 */
#ifndef WC_AWS_CONFIGSERVICE_H
#define WC_AWS_CONFIGSERVICE_H

#include "aws/aws_client.h"
#include "aws/aws_error.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "core/buf.h"
#include "core/history.h"

#define WC_CONFIGSERVICE_HISTORY_TARGET "StarlingDoveService.GetResourceConfigHistory"

struct wc_configservice_options {
    struct wc_aws *aws;                       /* borrowed */
    struct wc_creds_provider *creds;          /* our own credentials (borrowed) */
    struct wc_creds_accounts *accounts;       /* per-account roles, may be NULL (borrowed) */
    /* borrowed; when set, the endpoint comes from it (profile, FIPS,
     * {region} templates), else from the two fields below */
    const struct wc_endpoints *endpoints;
    const struct wc_endpoint_override *endpoint_overrides; /* borrowed */
    size_t n_endpoint_overrides;
    const struct wc_env *env;                 /* NULL: process environment */
};

struct wc_configservice;

struct wc_configservice *wc_configservice_new(const struct wc_configservice_options *o);
void wc_configservice_destroy(struct wc_configservice *cs);

/* The request body of one page (exposed for tests). token may be NULL.
 * Times are whole epoch seconds covering the query's window (earlierTime
 * rounded down, laterTime up). */
int wc_configservice_history_body(const struct wc_config_history_query *q, const char *token,
                                  struct wc_buf *out);

/* One GetResourceConfigHistory page. WC_OK: out holds the response body
 * (JSON). Otherwise an error as wc_aws_send returns it (WC_ERR_AUTH for
 * AccessDenied and refused credentials, WC_ERR_SERVICE for
 * ResourceNotDiscoveredException and ValidationException, ...), err holding
 * the service's error when it answered (err must be WC_AWS_ERROR_INIT; the
 * caller cleans it up), and one log line. WC_ERR_INVALID for a query
 * without region, type or id (nothing is sent). */
int wc_configservice_history_page(struct wc_configservice *cs,
                                  const struct wc_config_history_query *q, const char *token,
                                  struct wc_buf *out, struct wc_aws_error *err);

#endif
