/* Unit tests for cmd/util: process hardening (the binary holds live
 * credentials, review finding 16). This binary ends up non-dumpable. */
#include "tests/support/testutil.h"

#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cmd/util.h"

static void test_disable_core_dumps(void **state)
{
    struct rlimit lim = {1, 1};
    char err[128] = "";

    (void)state;
    /* start from core dumps allowed (as far as the hard limit lets us) */
    assert_int_equal(getrlimit(RLIMIT_CORE, &lim), 0);
    if (lim.rlim_max > 0) {
        lim.rlim_cur = lim.rlim_max;
        assert_int_equal(setrlimit(RLIMIT_CORE, &lim), 0);
    }
    assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);

    assert_int_equal(wc_cmd_disable_core_dumps(err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(getrlimit(RLIMIT_CORE, &lim), 0);
    assert_int_equal(lim.rlim_cur, 0);
    assert_int_equal(lim.rlim_max, 0); /* the hard limit too: it cannot be raised again */
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    /* idempotent */
    assert_int_equal(wc_cmd_disable_core_dumps(err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disable_core_dumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
