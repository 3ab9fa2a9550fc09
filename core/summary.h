/* summary.h - what a Config property value holds, in a line a person reads
 * at a glance. No I/O.
 *
 * Config's diff gives each changed property as JSON (previousValue,
 * updatedValue). Shown raw and cut short, a security-group rule loses the
 * 0.0.0.0/0 that matters and a policy loses its Action. The summary is taken
 * from the whole value while it is parsed, one item a line:
 *   - security-group rules (a property under Configuration.IpPermissions or
 *     IpPermissionsEgress: one rule object or an array of them): one line
 *     per source, "tcp/22 from 0.0.0.0/0", "all to ::/0",
 *     "udp/53 from pl-0123 ", "tcp/5432 from sg-0123"; protocol -1 is "all";
 *   - policy documents anywhere in the value (IAM, S3 bucket, KMS key, SQS
 *     queue, SNS topic policies; as an object, as JSON text such as S3's
 *     policyText, or URL-encoded as IAM's documents): one line per
 *     statement, "Allow * to s3:GetObject on arn:aws:s3:::b/…",
 *     "Deny everyone except arn:...:root to everything except kms:Decrypt",
 *     "Allow ec2.amazonaws.com to sts:AssumeRole if aws:SourceAccount".
 * Lines are at most WC_SUMMARY_LINE_MAX bytes, at most WC_SUMMARY_MAX_LINES
 * of them (then "… and N more"), the whole at most WC_SUMMARY_MAX bytes.
 */
#ifndef WC_SUMMARY_H
#define WC_SUMMARY_H

#include <cjson/cJSON.h>

#include "core/str.h"

#define WC_SUMMARY_MAX 1500
#define WC_SUMMARY_MAX_LINES 20
#define WC_SUMMARY_LINE_MAX 300

/* The summary of value v of the property at path (a changedProperties key
 * such as "Configuration.IpPermissions.0"): *out is a heap string, or NULL
 * when v is not of a kind summarised. WC_OK or WC_ERR_NOMEM. */
int wc_summary_property(const char *path, const cJSON *v, char **out);

/* The same from JSON text (tests, tools). A value that is not JSON is taken
 * as a string. */
int wc_summary_json(const char *path, struct wc_str json, char **out);

#endif
