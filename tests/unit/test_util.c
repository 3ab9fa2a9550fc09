/* Unit tests for cmd/util: process hardening (the binary holds live
 * credentials, review finding 16). This binary ends up non-dumpable. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

static const char *s_self; /* this binary, for the re-executed child */

/* Fork; the child sets GLIBC_TUNABLES to `before` (NULL: unset) and calls
 * wc_cmd_reexec_without_tcache with argv "<self> --print-tunables FILE": the
 * process it becomes writes its GLIBC_TUNABLES there (see main). Returns what
 * the file holds ("" if it was never written), the child's exit status in
 * *status. */
static char *s_reexec(const char *before, int *status)
{
    char path[] = "/tmp/wc-test-util.XXXXXX";
    char *argv[4], *got;
    int fd;
    pid_t pid;
    FILE *f;
    long n;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    argv[0] = (char *)s_self;
    argv[1] = "--print-tunables";
    argv[2] = path;
    argv[3] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[128] = "";

        if (before)
            setenv("GLIBC_TUNABLES", before, 1);
        else
            unsetenv("GLIBC_TUNABLES");
        wc_cmd_reexec_without_tcache(argv, err, sizeof(err));
        _exit(err[0] ? 3 : 4); /* 4: nothing to do, 3: failed */
    }
    assert_int_equal(waitpid(pid, status, 0), pid);
    f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    got = calloc(1, (size_t)n + 1);
    assert_non_null(got);
    assert_int_equal(fread(got, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return got;
}

static void test_reexec_without_tcache(void **state)
{
    int status = 0;
    char *got;

    (void)state;
    /* nothing set: the process starts again with the cache off */
    got = s_reexec(NULL, &status);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(got, "glibc.malloc.tcache_count=0");
    free(got);
    /* other tunables of the user's are kept */
    got = s_reexec("glibc.malloc.arena_max=2", &status);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(got, "glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0");
    free(got);
    /* the user's own tcache setting stands, and no second start */
    got = s_reexec("glibc.malloc.tcache_count=5", &status);
    assert_int_equal(WEXITSTATUS(status), 4);
    assert_string_equal(got, "");
    free(got);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reexec_without_tcache),
        cmocka_unit_test(test_disable_core_dumps),
    };

    if (argc == 3 && !strcmp(argv[1], "--print-tunables")) { /* see s_reexec */
        FILE *f = fopen(argv[2], "w");
        const char *v = getenv("GLIBC_TUNABLES");

        if (!f)
            return 1;
        fputs(v ? v : "(unset)", f);
        return fclose(f) == 0 ? 0 : 1;
    }
    s_self = argv[0];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
