/* awsid.h - the shapes of AWS identifiers: one pure validator each, used by
 * config/, the AWS layer and the notification parser alike (a value one of
 * them accepts, the others accept too); and the AWS partitions, one table
 * (endpoint suffixes, the region of global services, console hosts). No I/O. */
#ifndef WC_AWSID_H
#define WC_AWSID_H

#include <stdbool.h>
#include <stddef.h>

/* true for exactly 12 ASCII digits ("123456789012"). */
bool wc_account_id_is_valid(const char *account_id);

/* true for AWS Organizations ids: ^o-[a-z0-9]{10,32}$ ("o-a1b2c3d4e5"). */
bool wc_org_id_is_valid(const char *org_id);

/* true for names shaped like AWS regions, at most 64 bytes:
 * ^[a-z]{2,4}(-[a-z]+)+-[0-9]+$ ("eu-west-1", "us-gov-west-1", "cn-north-1",
 * "eusc-de-east-1"). */
bool wc_region_is_valid(const char *region);

/* true for DynamoDB table names: 3-255 of [A-Za-z0-9_.-] ("whochanged-ledger"). */
bool wc_dynamodb_table_is_valid(const char *table);

/* ---- partitions ----
 * From the AWS SDKs' partitions.json (botocore 1.43: regionRegex, dnsSuffix,
 * dualStackDnsSuffix), plus where CloudTrail records the calls of global
 * services (IAM, CloudFront, Route 53, Organizations, ...) in each
 * partition, and the console's host. */
struct wc_partition {
    const char *id;                   /* "aws", "aws-cn", "aws-us-gov", ... */
    const char *region_prefix;        /* "cn-", "us-gov-", ...; "" for aws */
    const char *dns_suffix;           /* "amazonaws.com", "amazonaws.com.cn" */
    const char *dualstack_dns_suffix; /* "api.aws", "api.amazonwebservices.com.cn" */
    const char *global_region;        /* global services' CloudTrail region */
    const char *console_host;         /* NULL: no public console (isolated regions) */
    bool regional_console;            /* <region>.<console_host> */
};

/* The partition of a region name: by its prefix (cn-, us-gov-, us-iso-,
 * us-isob-, eu-isoe-, us-isof-, eusc-), else aws (also for NULL and for
 * names that are not regions, like the SDKs). Never NULL. */
const struct wc_partition *wc_partition_of_region(const char *region);
/* By id ("aws-us-gov"); NULL when unknown. */
const struct wc_partition *wc_partition_by_id(const char *id);
/* The partition named by an ARN ("arn:aws-cn:iam::..."); NULL when arn is
 * not an ARN or names an unknown partition. */
const struct wc_partition *wc_partition_of_arn(const char *arn);

/* The region whose CloudTrail records the calls for a resource:
 *   - a global service's resource type (IAM, CloudFront, Route 53,
 *     Organizations, WAF classic, Shield) -> its partition's global_region
 *     (aws us-east-1, aws-us-gov us-gov-west-1, aws-cn cn-north-1);
 *   - services whose single control plane is elsewhere, per partition:
 *     Global Accelerator, Network Manager, Route 53 ARC -> us-west-2 (aws);
 *   - region "global" with any other type -> the partition's global_region;
 *   - otherwise region itself.
 * The partition is region's, or the ARN's when region is "global" or
 * missing (a GovCloud IAM role arrives as region "global",
 * arn:aws-us-gov:iam::...). Returns a static string or region. */
const char *wc_partition_lookup_region(const char *resource_type, const char *region,
                                       const char *arn);

/* The console's base URL for a region, no trailing '/':
 * "https://eu-west-1.console.aws.amazon.com", "https://console.amazonaws.cn",
 * "https://console.amazonaws-us-gov.com". false (out[0] = '\0') when the
 * region is not a valid region name, the partition has no public console,
 * or out is too small. */
bool wc_partition_console_base(const char *region, char *out, size_t outlen);

#endif
