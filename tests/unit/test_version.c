/* Unit tests for core/version: the one version string, as the Makefile
 * defines it (scripts/version), and the User-Agent built from it. The
 * packaging test (tests/integration/packaging.sh) checks that the binary,
 * `make version` and the Debian package agree. */
#include "tests/support/testutil.h"

#include <ctype.h>
#include <string.h>

#include "aws/http_curl.h"
#include "core/version.h"
#include "notifiers/notifiers.h"

static void test_version_is_defined_by_the_build(void **state)
{
    const char *v = wc_version();

    (void)state;
    assert_non_null(v);
    /* core/version.c's fallback when built without -DWC_VERSION */
    assert_null(strstr(v, "unknown"));
    assert_true(isdigit((unsigned char)v[0]));
    /* a Debian version, a Prometheus label and a C string, unquoted */
    for (const char *p = v; *p; p++)
        assert_true(isalnum((unsigned char)*p) || strchr(".+~", *p));
    assert_true(strlen(v) < 64);
}

static void test_user_agent_names_the_version(void **state)
{
    const char *ua = wc_version_user_agent();

    (void)state;
    assert_int_equal(strncmp(ua, "whochanged/", 11), 0);
    assert_string_equal(ua + 11, wc_version());
    /* AWS requests and notifier requests say the same */
    assert_string_equal(WC_HTTP_CURL_USER_AGENT, ua);
    assert_string_equal(WC_NOTIFIER_USER_AGENT, ua);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_is_defined_by_the_build),
        cmocka_unit_test(test_user_agent_names_the_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
