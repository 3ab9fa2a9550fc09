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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_ids),
        cmocka_unit_test(test_org_ids),
        cmocka_unit_test(test_regions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
