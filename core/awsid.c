/* awsid.c - the shapes of AWS identifiers. */
#include "core/awsid.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define S_REGION_MAX 64

static bool s_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool s_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool wc_account_id_is_valid(const char *s)
{
    size_t i = 0;

    if (!s)
        return false;
    for (; s[i]; i++)
        if (i >= 12 || !s_digit(s[i]))
            return false;
    return i == 12;
}

bool wc_org_id_is_valid(const char *s)
{
    size_t i = 2;

    if (!s || s[0] != 'o' || s[1] != '-')
        return false;
    for (; s[i]; i++)
        if (i >= 2 + 32 || !(s_lower(s[i]) || s_digit(s[i])))
            return false;
    return i >= 2 + 10;
}

bool wc_dynamodb_table_is_valid(const char *s)
{
    size_t i = 0;

    if (!s)
        return false;
    for (; s[i]; i++)
        if (i >= 255 || !(s_lower(s[i]) || s_digit(s[i]) || (s[i] >= 'A' && s[i] <= 'Z') ||
                          s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return i >= 3;
}

bool wc_region_is_valid(const char *r)
{
    size_t len, i = 0, groups = 0;

    if (!r || (len = strlen(r)) > S_REGION_MAX)
        return false;
    /* [a-z]{2,4} */
    while (i < len && i < 5 && s_lower(r[i]))
        i++;
    if (i < 2 || i > 4)
        return false;
    /* (-[a-z]+)+ */
    while (i < len && r[i] == '-' && i + 1 < len && s_lower(r[i + 1])) {
        i++;
        while (i < len && s_lower(r[i]))
            i++;
        groups++;
    }
    /* -[0-9]+$ */
    if (groups == 0 || i >= len || r[i] != '-' || i + 1 >= len)
        return false;
    for (i++; i < len; i++)
        if (!s_digit(r[i]))
            return false;
    return true;
}

/* ---- partitions ---- */

/* botocore 1.43 partitions.json; the longest prefixes first (us-isob- before
 * us-iso- is not needed: "us-iso-" does not match "us-isob-"), aws last. */
static const struct wc_partition s_partitions[] = {
    {"aws-cn", "cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn", "cn-north-1",
     "console.amazonaws.cn", false},
    {"aws-us-gov", "us-gov-", "amazonaws.com", "api.aws", "us-gov-west-1",
     "console.amazonaws-us-gov.com", false},
    {"aws-iso", "us-iso-", "c2s.ic.gov", "api.aws.ic.gov", "us-iso-east-1", NULL, false},
    {"aws-iso-b", "us-isob-", "sc2s.sgov.gov", "api.aws.scloud", "us-isob-east-1", NULL, false},
    {"aws-iso-e", "eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk", "eu-isoe-west-1", NULL,
     false},
    {"aws-iso-f", "us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov", "us-isof-south-1", NULL,
     false},
    {"aws-eusc", "eusc-", "amazonaws.eu", "api.amazonwebservices.eu", "eusc-de-east-1", NULL,
     false},
    {"aws", "", "amazonaws.com", "api.aws", "us-east-1", "console.aws.amazon.com", true},
};

#define S_N_PARTITIONS (sizeof(s_partitions) / sizeof(s_partitions[0]))
#define S_AWS (&s_partitions[S_N_PARTITIONS - 1])

const struct wc_partition *wc_partition_of_region(const char *region)
{
    for (size_t i = 0; region && i + 1 < S_N_PARTITIONS; i++)
        if (strncmp(region, s_partitions[i].region_prefix, strlen(s_partitions[i].region_prefix)) == 0)
            return &s_partitions[i];
    return S_AWS;
}

const struct wc_partition *wc_partition_by_id(const char *id)
{
    for (size_t i = 0; id && i < S_N_PARTITIONS; i++)
        if (strcmp(id, s_partitions[i].id) == 0)
            return &s_partitions[i];
    return NULL;
}

const struct wc_partition *wc_partition_of_arn(const char *arn)
{
    const char *p, *end;

    if (!arn || strncmp(arn, "arn:", 4) != 0)
        return NULL;
    p = arn + 4;
    if (!(end = strchr(p, ':')))
        return NULL;
    for (size_t i = 0; i < S_N_PARTITIONS; i++)
        if (strlen(s_partitions[i].id) == (size_t)(end - p) &&
            strncmp(p, s_partitions[i].id, (size_t)(end - p)) == 0)
            return &s_partitions[i];
    return NULL;
}

/* Resource types whose calls CloudTrail records in one region of the
 * partition whatever region Config reports (often "global"). The prefix
 * includes the trailing "::", so AWS::Route53Resolver::, AWS::WAFRegional::
 * and AWS::WAFv2:: (regional services) do not match. Case-insensitive: the
 * legacy 2014 shape spells types in capitals. home: the region in the aws
 * partition when it is not the partition's global_region (a service whose
 * only control plane is there; it exists in no other partition). */
static const struct {
    const char *prefix;
    const char *home; /* NULL: the partition's global_region */
} s_global_types[] = {
    {"AWS::IAM::", NULL},           /* roles, users, groups, policies */
    {"AWS::CloudFront::", NULL},    /* distributions, functions, OAC */
    {"AWS::Route53::", NULL},       /* hosted zones, health checks (not Route53Resolver) */
    {"AWS::Organizations::", NULL}, /* accounts, OUs, policies */
    {"AWS::WAF::", NULL},           /* WAF classic (global); not WAFRegional, not WAFv2 */
    {"AWS::Shield::", NULL},        /* Shield Advanced protections */
    /* "you must specify the US West (Oregon) Region" (Global Accelerator
     * developer guide); Network Manager: "supported in the US West (Oregon)
     * Region only"; Route 53 ARC's control plane likewise */
    {"AWS::GlobalAccelerator::", "us-west-2"},
    {"AWS::NetworkManager::", "us-west-2"},
    {"AWS::Route53RecoveryControl::", "us-west-2"},
    {"AWS::Route53RecoveryReadiness::", "us-west-2"},
};

const char *wc_partition_lookup_region(const char *resource_type, const char *region,
                                       const char *arn)
{
    const struct wc_partition *p = NULL;
    bool global = region && strcmp(region, "global") == 0;

    if (region && !global)
        p = wc_partition_of_region(region);
    else if (!(p = wc_partition_of_arn(arn)))
        p = S_AWS;
    for (size_t i = 0; resource_type && i < sizeof(s_global_types) / sizeof(s_global_types[0]); i++) {
        if (strncasecmp(resource_type, s_global_types[i].prefix, strlen(s_global_types[i].prefix)) != 0)
            continue;
        if (s_global_types[i].home && p == S_AWS)
            return s_global_types[i].home;
        return p->global_region;
    }
    return global ? p->global_region : region;
}

bool wc_partition_console_base(const char *region, char *out, size_t outlen)
{
    const struct wc_partition *p;
    int n;

    if (!out || outlen == 0)
        return false;
    out[0] = '\0';
    if (!wc_region_is_valid(region) || !(p = wc_partition_of_region(region))->console_host)
        return false;
    if (p->regional_console)
        n = snprintf(out, outlen, "https://%s.%s", region, p->console_host);
    else
        n = snprintf(out, outlen, "https://%s", p->console_host);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return false;
    }
    return true;
}
