/* probe.h - one-call checks of what a configuration can reach, for
 * `check-config --online`: STS GetCallerIdentity (are the credentials
 * good, and whose are they) and CloudTrail LookupEvents with MaxResults 1
 * (may they read the trail). Each makes one signed call through
 * wc_aws_send (its standard retry) and says in one line why it failed
 * (wc_aws_error_describe: "not authorized to cloudtrail:LookupEvents ...").
 */
#ifndef WC_AWS_PROBE_H
#define WC_AWS_PROBE_H

#include <stddef.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"

/* The caller's ARN and account into arn/account (NUL-terminated; either
 * may be NULL). WC_OK, or a negative wc_err with a reason in why. */
int wc_probe_caller_identity(struct wc_aws *aws, const struct wc_aws_credentials *creds,
                             const char *sts_endpoint, const char *region, char *arn,
                             size_t arnlen, char *account, size_t accountlen, char *why,
                             size_t whylen);

/* One LookupEvents call (MaxResults 1, the last hour, write events) in
 * region. WC_OK, or a negative wc_err with a reason in why. */
int wc_probe_lookup_events(struct wc_aws *aws, const struct wc_aws_credentials *creds,
                           const char *cloudtrail_endpoint, const char *region, char *why,
                           size_t whylen);

#endif
