/* Unit tests for core/awsid: the one validator per AWS identifier that
 * config/, aws/ and the notification parser share. */
#include "tests/support/testutil.h"

#include <string.h>

#include "core/awsid.h"

static void test_account_ids(void **state)
{
    static const char *const good[] = {"123456789012", "000000000000", "999999999999"};
    static const char *const bad[] = {"",  "12345678901", "1234567890123", "12345678901a",
                                      " 23456789012", "123456789012 ", "-12345678901",
                                      "12345678901\n", "１23456789012", "{account_id}"};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!wc_account_id_is_valid(good[i]))
            fail_msg("account id \"%s\" refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wc_account_id_is_valid(bad[i]))
            fail_msg("account id \"%s\" accepted", bad[i]);
    assert_false(wc_account_id_is_valid(NULL));
}

static void test_org_ids(void **state)
{
    static const char *const good[] = {"o-a1b2c3d4e5", "o-0123456789",
                                       "o-abcdefghij0123456789abcdefghij01"};
    static const char *const bad[] = {"", "o-", "o-a1b2c3d4e", "o-A1B2C3D4E5", "O-a1b2c3d4e5",
                                      "o_a1b2c3d4e5", "o-a1b2c3d4e5 ", "o-a1b2c3d4-e5",
                                      "o-abcdefghij0123456789abcdefghij012", "123456789012",
                                      "r-a1b2c3d4e5", "o-a1b2c3d4e5\n"};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!wc_org_id_is_valid(good[i]))
            fail_msg("org id \"%s\" refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wc_org_id_is_valid(bad[i]))
            fail_msg("org id \"%s\" accepted", bad[i]);
    assert_false(wc_org_id_is_valid(NULL));
}

static void test_regions(void **state)
{
    char long_region[80];

    (void)state;
    assert_true(wc_region_is_valid("eu-west-1"));
    assert_true(wc_region_is_valid("us-gov-west-1"));
    assert_false(wc_region_is_valid("global")); /* Config's word for IAM & co., not a region */
    assert_false(wc_region_is_valid("eu-west-1\nx"));
    assert_false(wc_region_is_valid("../eu-west-1"));
    assert_false(wc_region_is_valid(NULL));
    /* the European Sovereign Cloud's four-letter prefix; not five */
    assert_true(wc_region_is_valid("eusc-de-east-1"));
    assert_false(wc_region_is_valid("euscx-de-east-1"));
    assert_false(wc_region_is_valid("e-west-1"));
    /* at most 64 bytes */
    memset(long_region, 0, sizeof(long_region));
    memcpy(long_region, "eu-", 3);
    memset(long_region + 3, 'a', 58);
    memcpy(long_region + 61, "-1", 2);
    assert_int_equal(strlen(long_region), 63);
    assert_true(wc_region_is_valid(long_region));
    memcpy(long_region + 61, "a-1", 3); /* 64 bytes */
    assert_true(wc_region_is_valid(long_region));
    memcpy(long_region + 61, "aa-1", 4); /* 65 bytes */
    assert_false(wc_region_is_valid(long_region));
}

/* botocore 1.43 partitions.json (regionRegex, dnsSuffix, dualStackDnsSuffix) */
static void test_partition_of_region(void **state)
{
    static const struct {
        const char *region, *id, *dns, *dualstack;
    } rows[] = {
        {"us-east-1", "aws", "amazonaws.com", "api.aws"},
        {"eu-west-1", "aws", "amazonaws.com", "api.aws"},
        {"il-central-1", "aws", "amazonaws.com", "api.aws"},
        {"us-gov-west-1", "aws-us-gov", "amazonaws.com", "api.aws"},
        {"us-gov-east-1", "aws-us-gov", "amazonaws.com", "api.aws"},
        {"cn-north-1", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
        {"cn-northwest-1", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
        {"us-iso-east-1", "aws-iso", "c2s.ic.gov", "api.aws.ic.gov"},
        {"us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud"},
        {"eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"},
        {"us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov", "api.aws.hci.ic.gov"},
        {"eusc-de-east-1", "aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu"},
        /* unknown shapes fall back to aws, as in the SDKs */
        {"xx-moon-1", "aws", "amazonaws.com", "api.aws"},
        {"global", "aws", "amazonaws.com", "api.aws"},
        {NULL, "aws", "amazonaws.com", "api.aws"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct wc_partition *p = wc_partition_of_region(rows[i].region);

        assert_non_null(p);
        if (strcmp(p->id, rows[i].id) || strcmp(p->dns_suffix, rows[i].dns) ||
            strcmp(p->dualstack_dns_suffix, rows[i].dualstack))
            fail_msg("%s: got %s %s %s", rows[i].region ? rows[i].region : "(null)", p->id,
                     p->dns_suffix, p->dualstack_dns_suffix);
        assert_ptr_equal(wc_partition_by_id(rows[i].id), p);
    }
    assert_null(wc_partition_by_id("aws-mars"));
    assert_null(wc_partition_by_id(NULL));
}

static void test_partition_of_arn(void **state)
{
    static const struct {
        const char *arn, *id; /* id NULL: no partition */
    } rows[] = {
        {"arn:aws:iam::123456789012:role/x", "aws"},
        {"arn:aws-us-gov:iam::123456789012:role/x", "aws-us-gov"},
        {"arn:aws-cn:iam::123456789012:role/x", "aws-cn"},
        {"arn:aws-iso-b:s3:::bucket", "aws-iso-b"},
        {"arn:aws-cnx:iam::1:role/x", NULL},
        {"arn:aw:iam::1:role/x", NULL},
        {"arn:aws", NULL},
        {"aws:iam::1:role/x", NULL},
        {"", NULL},
        {NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct wc_partition *p = wc_partition_of_arn(rows[i].arn);

        if (rows[i].id ? !p || strcmp(p->id, rows[i].id) : p != NULL)
            fail_msg("%s: got %s", rows[i].arn ? rows[i].arn : "(null)", p ? p->id : "(none)");
    }
}

/* Where CloudTrail records a change: per partition and per service. */
static void test_partition_lookup_region(void **state)
{
    static const struct {
        const char *type, *region, *arn, *want;
    } rows[] = {
        {"AWS::IAM::Role", "global", "arn:aws:iam::123456789012:role/r", "us-east-1"},
        {"AWS::IAM::Role", "global", "arn:aws-us-gov:iam::123456789012:role/r", "us-gov-west-1"},
        {"AWS::IAM::Role", "global", "arn:aws-cn:iam::123456789012:role/r", "cn-north-1"},
        {"AWS::IAM::Role", "global", NULL, "us-east-1"},
        {"AWS::IAM::Policy", "us-gov-east-1", NULL, "us-gov-west-1"},
        {"AWS::IAM::Policy", "cn-northwest-1", NULL, "cn-north-1"},
        {"AWS::IAM::Policy", "eu-west-1", "arn:aws-us-gov:iam::1:policy/p", "us-east-1"},
        {"AWS::CloudFront::Distribution", "eu-west-1", NULL, "us-east-1"},
        {"AWS::Route53::HostedZone", "us-gov-west-1", NULL, "us-gov-west-1"},
        {"AWS::Route53Resolver::ResolverRule", "eu-west-1", NULL, "eu-west-1"},
        {"AWS::GlobalAccelerator::Accelerator", "global", NULL, "us-west-2"},
        {"AWS::GlobalAccelerator::Listener", "us-east-1", NULL, "us-west-2"},
        {"AWS::NetworkManager::GlobalNetwork", "eu-central-1", NULL, "us-west-2"},
        {"AWS::Route53RecoveryControl::Cluster", "us-east-1", NULL, "us-west-2"},
        {"AWS::Route53RecoveryReadiness::Cell", "global", NULL, "us-west-2"},
        {"AWS::EC2::SecurityGroup", "eu-west-1", NULL, "eu-west-1"},
        {"AWS::EC2::SecurityGroup", "us-gov-east-1", NULL, "us-gov-east-1"},
        {"AWS::EC2::SecurityGroup", "global", "arn:aws-cn:ec2:::x", "cn-north-1"},
        {"AWS::Shield::Protection", "us-iso-east-1", NULL, "us-iso-east-1"},
        {NULL, "eu-west-1", NULL, "eu-west-1"},
        {NULL, "global", NULL, "us-east-1"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = wc_partition_lookup_region(rows[i].type, rows[i].region, rows[i].arn);

        if (!got || strcmp(got, rows[i].want))
            fail_msg("%s %s %s: got %s, want %s", rows[i].type ? rows[i].type : "(null)",
                     rows[i].region, rows[i].arn ? rows[i].arn : "-", got ? got : "(null)",
                     rows[i].want);
    }
    assert_null(wc_partition_lookup_region("AWS::EC2::Instance", NULL, NULL));
}

static void test_console_base(void **state)
{
    static const struct {
        const char *region, *want; /* want NULL: no console */
    } rows[] = {
        {"eu-west-1", "https://eu-west-1.console.aws.amazon.com"},
        {"us-east-1", "https://us-east-1.console.aws.amazon.com"},
        {"us-gov-west-1", "https://console.amazonaws-us-gov.com"},
        {"cn-north-1", "https://console.amazonaws.cn"},
        {"us-iso-east-1", NULL},
        {"global", NULL},
        {"eu-west-1/../x", NULL},
        {NULL, NULL},
    };
    char out[128], tiny[16];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool ok = wc_partition_console_base(rows[i].region, out, sizeof(out));

        if (rows[i].want ? !ok || strcmp(out, rows[i].want) : ok || out[0])
            fail_msg("%s: got %s", rows[i].region ? rows[i].region : "(null)", ok ? out : "false");
    }
    assert_false(wc_partition_console_base("eu-west-1", tiny, sizeof(tiny)));
    assert_string_equal(tiny, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_ids),
        cmocka_unit_test(test_org_ids),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_partition_of_region),
        cmocka_unit_test(test_partition_of_arn),
        cmocka_unit_test(test_partition_lookup_region),
        cmocka_unit_test(test_console_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
