/* Unit tests for core/summary: security-group rules and policy statements
 * as readable lines. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/summary.h"

/* The summary of json at path; "(none)" when there is none. Caller frees. */
static char *s_sum(const char *path, const char *json)
{
    char *out = NULL;

    assert_int_equal(wc_summary_json(path, wc_str_from_cstr(json), &out), WC_OK);
    return out ? out : wc_strdup("(none)");
}

static void s_expect(const char *path, const char *json, const char *want)
{
    char *got = s_sum(path, json);

    if (strcmp(got, want) != 0)
        fail_msg("%s = %s:\n got  \"%s\"\n want \"%s\"", path, json, got, want);
    free(got);
}

static void test_security_group_rules(void **state)
{
    (void)state;
    /* the shape Config records: ipRanges (strings) and ipv4Ranges (objects)
     * name the same CIDRs, each shown once */
    s_expect("Configuration.IpPermissions.0",
             "{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,\"userIdGroupPairs\":[],"
             "\"ipRanges\":[\"0.0.0.0/0\"],\"ipv4Ranges\":[{\"cidrIp\":\"0.0.0.0/0\"}],"
             "\"ipv6Ranges\":[{\"cidrIpv6\":\"::/0\"}],\"prefixListIds\":[]}",
             "tcp/22 from 0.0.0.0/0\ntcp/22 from ::/0");
    /* -1 is every protocol; egress goes "to" */
    s_expect("Configuration.IpPermissionsEgress.0",
             "{\"ipProtocol\":\"-1\",\"fromPort\":null,\"toPort\":null,"
             "\"ipRanges\":[\"0.0.0.0/0\"]}",
             "all to 0.0.0.0/0");
    /* port ranges, other groups, prefix lists, numeric protocols */
    s_expect("Configuration.IpPermissions.3",
             "{\"ipProtocol\":\"6\",\"fromPort\":1024,\"toPort\":2048,"
             "\"userIdGroupPairs\":[{\"groupId\":\"sg-0aaa\",\"userId\":\"123456789012\"}],"
             "\"prefixListIds\":[{\"prefixListId\":\"pl-0bbb\"}]}",
             "tcp/1024-2048 from pl-0bbb\ntcp/1024-2048 from sg-0aaa");
    s_expect("Configuration.IpPermissions.1",
             "{\"ipProtocol\":\"icmp\",\"fromPort\":8,\"toPort\":-1,"
             "\"ipv4Ranges\":[{\"cidrIp\":\"10.0.0.0/8\",\"description\":\"ping\"}]}",
             "icmp/8 from 10.0.0.0/8");
    s_expect("Configuration.IpPermissions.1",
             "{\"ipProtocol\":\"icmpv6\",\"fromPort\":-1,\"toPort\":-1,"
             "\"ipv6Ranges\":[{\"cidrIpv6\":\"2001:db8::/32\"}]}",
             "icmpv6 from 2001:db8::/32");
    s_expect("Configuration.IpPermissions.2",
             "{\"ipProtocol\":\"udp\",\"fromPort\":53,\"toPort\":53}", "udp/53 from nowhere");
    /* PascalCase spellings (other Config item versions) read the same */
    s_expect("Configuration.IpPermissions.0",
             "{\"IpProtocol\":\"tcp\",\"FromPort\":443,\"ToPort\":443,"
             "\"IpRanges\":[{\"CidrIp\":\"0.0.0.0/0\"}]}",
             "tcp/443 from 0.0.0.0/0");
    /* the whole list at once */
    s_expect("Configuration.IpPermissions",
             "[{\"ipProtocol\":\"tcp\",\"fromPort\":80,\"toPort\":80,\"ipRanges\":[\"0.0.0.0/0\"]},"
             "{\"ipProtocol\":\"tcp\",\"fromPort\":3389,\"toPort\":3389,"
             "\"ipRanges\":[\"203.0.113.0/24\"]}]",
             "tcp/80 from 0.0.0.0/0\ntcp/3389 from 203.0.113.0/24");
    /* not a rule, or deeper than a rule: nothing */
    s_expect("Configuration.IpPermissions.0.IpRanges.1", "\"0.0.0.0/0\"", "(none)");
    s_expect("Configuration.IpPermissions.0", "{\"fromPort\":22}", "(none)");
    s_expect("Configuration.Description", "\"tcp/22\"", "(none)");
    s_expect("Configuration.IpPermissions.0", "null", "(none)");
}

static void test_policies(void **state)
{
    /* an IAM managed policy version: the document URL-encoded, as Config
     * records it */
    static const char iam_version[] =
        "{\"document\":\"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22"
        "Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22s3%3AGetObject%22%2C%22s3%3APutObject"
        "%22%5D%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%5D%7D\","
        "\"versionId\":\"v2\",\"isDefaultVersion\":true}";

    (void)state;
    s_expect("Configuration.PolicyVersionList.0", iam_version,
             "Allow s3:GetObject, s3:PutObject on arn:aws:s3:::b/*");
    /* a role's trust policy, URL-encoded with + for spaces */
    s_expect("Configuration.AssumeRolePolicyDocument",
             "\"%7B%22Version%22%3A+%222012-10-17%22%2C+%22Statement%22%3A+%5B%7B%22Effect%22"
             "%3A+%22Allow%22%2C+%22Principal%22%3A+%7B%22Service%22%3A+%22ec2.amazonaws.com%22"
             "%7D%2C+%22Action%22%3A+%22sts%3AAssumeRole%22%7D%5D%7D\"",
             "Allow ec2.amazonaws.com to sts:AssumeRole");
    /* an S3 bucket policy: JSON text inside policyText */
    s_expect("SupplementaryConfiguration.BucketPolicy",
             "{\"policyText\":\"{\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\","
             "\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"s3:GetObject\\\","
             "\\\"Resource\\\":\\\"arn:aws:s3:::b/*\\\"}]}\"}",
             "Allow * to s3:GetObject on arn:aws:s3:::b/*");
    /* an SQS queue policy (a JSON string), a condition, a single statement object */
    s_expect("Configuration.Policy",
             "\"{\\\"Statement\\\":{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"AWS\\\":"
             "[\\\"arn:aws:iam::111122223333:root\\\",\\\"arn:aws:iam::444455556666:role/x\\\"]},"
             "\\\"Action\\\":\\\"sqs:SendMessage\\\",\\\"Resource\\\":\\\"*\\\",\\\"Condition\\\":"
             "{\\\"ArnEquals\\\":{\\\"aws:SourceArn\\\":\\\"arn:aws:sns:*\\\"}}}}\"",
             "Allow arn:aws:iam::111122223333:root, arn:aws:iam::444455556666:role/x to "
             "sqs:SendMessage on * if aws:SourceArn");
    /* a KMS key policy as an object; Not* elements; long lists counted */
    s_expect("Configuration.KeyPolicy",
             "{\"Version\":\"2012-10-17\",\"Statement\":["
             "{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::123456789012:root\"},"
             "\"NotAction\":\"kms:Decrypt\",\"NotResource\":\"arn:aws:kms:*\"},"
             "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":[\"kms:A\",\"kms:B\","
             "\"kms:C\",\"kms:D\",\"kms:E\",\"kms:F\"],\"Resource\":\"*\"}]}",
             "Deny everyone except arn:aws:iam::123456789012:root to everything except "
             "kms:Decrypt on everything except arn:aws:kms:*\n"
             "Allow * to kms:A, kms:B, kms:C, kms:D +2 more on *");
    /* not a policy: nothing */
    s_expect("Configuration.PolicyName", "\"my-policy\"", "(none)");
    s_expect("Configuration.Tags", "{\"Statements\":3}", "(none)");
    s_expect("Configuration.Policy", "\"{not json Statement\"", "(none)");
    /* URL-decoding yields bytes that are not UTF-8: shown as '?' */
    s_expect("Configuration.PolicyDocument",
             "\"%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%FF"
             "%C3%22%7D%7D\"",
             "Allow s3:??");
    s_expect("Configuration.Policy", "\"%7Bnot%20json%20Statement\"", "(none)");
}

/* Hostile or huge input stays bounded: lines cut, at most
 * WC_SUMMARY_MAX_LINES of them, the whole within WC_SUMMARY_MAX, no control
 * characters. */
static void test_bounds(void **state)
{
    struct wc_buf v = WC_BUF_INIT;
    char *got;
    size_t lines = 1;

    (void)state;
    wc_buf_init(&v, 0);
    assert_int_equal(wc_buf_append_cstr(&v, "{\"Statement\":["), WC_OK);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(wc_buf_appendf(&v, "%s{\"Effect\":\"Allow\",\"Action\":\"", i ? "," : ""),
                         WC_OK);
        for (int k = 0; k < 500; k++)
            assert_int_equal(wc_buf_append_char(&v, 'a'), WC_OK);
        assert_int_equal(wc_buf_append_cstr(&v, "\\n\\u0007\"}"), WC_OK);
    }
    assert_int_equal(wc_buf_append_cstr(&v, "]}"), WC_OK);
    got = s_sum("Configuration.Policy", v.ptr);
    assert_true(strlen(got) <= WC_SUMMARY_MAX);
    for (const char *p = got; *p; p++) {
        if (*p == '\n')
            lines++;
        else
            assert_true((unsigned char)*p >= 0x20);
    }
    assert_true(lines <= WC_SUMMARY_MAX_LINES + 1);
    assert_non_null(strstr(got, "\xe2\x80\xa6 and "));
    free(got);
    wc_buf_reset(&v);

    /* rules with hundreds of sources */
    assert_int_equal(wc_buf_append_cstr(&v, "{\"ipProtocol\":\"tcp\",\"fromPort\":1,"
                                            "\"toPort\":1,\"ipRanges\":["),
                     WC_OK);
    for (int i = 0; i < 300; i++)
        assert_int_equal(wc_buf_appendf(&v, "%s\"10.0.%d.%d/32\"", i ? "," : "", i / 256, i % 256),
                         WC_OK);
    assert_int_equal(wc_buf_append_cstr(&v, "]}"), WC_OK);
    got = s_sum("Configuration.IpPermissions.0", v.ptr);
    assert_true(strlen(got) <= WC_SUMMARY_MAX);
    assert_true(strncmp(got, "tcp/1 from 10.0.0.0/32\ntcp/1 from 10.0.0.1/32\n", 46) == 0);
    assert_non_null(strstr(got, " more"));
    free(got);
    wc_buf_clean_up(&v);

    /* a policy nested deeper than the search goes: not found, no work */
    s_expect("X", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"Statement\":[{\"Effect\":\"Allow\"}]}}}}}}",
             "(none)");
    s_expect("X", "{\"a\":{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"x:Y\"}]}}",
             "Allow x:Y");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_security_group_rules),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
