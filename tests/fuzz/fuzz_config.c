/* fuzz_config.c - the YAML configuration file, loaded from memory
 * (wc_config_load_string: libyaml, our node tree, ${VAR} expansion, the
 * settings table and its validators).
 *
 * Invariants: a failure reports at least one error, each naming the file,
 * with a reason and a line >= 0, and at most WC_CONFIG_MAX_ERRORS plus the
 * "stopped" note; the errors print. A success dumps, and - without secrets,
 * which the dump redacts - the dump loads back to a config whose dump is the
 * same text (config.h: "the text loads back to the same config"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "tests/fuzz/harness.h"

#define S_NAME "fuzz.yaml"

static FILE *s_null;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* fixed values for the variables seeds refer to */
    setenv("WC_FUZZ_QUEUE", "https://sqs.eu-west-1.amazonaws.com/123456789012/config-changes", 1);
    setenv("WC_FUZZ_EMPTY", "", 1);
    if (!(s_null = fopen("/dev/null", "w")))
        abort();
    return 0;
}

static void s_check_errors(int rc, const struct wc_config_errors *errs)
{
    FUZZ_CHECK(rc < 0, "rc %d", rc);
    FUZZ_CHECK(errs->len >= 1, "failure %s without an error", wc_strerror(rc));
    FUZZ_CHECK(errs->len <= WC_CONFIG_MAX_ERRORS + 1, "%zu errors", errs->len);
    for (size_t i = 0; i < errs->len; i++) {
        const struct wc_config_error *e = &errs->items[i];

        FUZZ_CHECK(e->file && strcmp(e->file, S_NAME) == 0, "error %zu names file %s", i,
                   e->file ? e->file : "(null)");
        FUZZ_CHECK(e->reason && e->reason[0], "error %zu without a reason", i);
        FUZZ_CHECK(e->line >= 0 && e->col >= 0, "error %zu at %d:%d", i, e->line, e->col);
        for (const char *p = e->reason; *p; p++)
            FUZZ_CHECK(*p != '\n' && *p != '\r', "error %zu spans lines: %s", i, e->reason);
    }
    FUZZ_CHECK(wc_config_errors_print(errs, s_null) == WC_OK, "cannot print the errors");
}

static void s_round_trip(const struct wc_config *c)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_buf dump = WC_BUF_INIT, dump2 = WC_BUF_INIT;
    struct wc_config *c2 = NULL;
    size_t n_secrets = 0;
    int rc;

    FUZZ_CHECK(wc_config_dump(c, &dump) == WC_OK, "cannot dump a loaded config");
    (void)wc_config_secrets(c, &n_secrets);
    if (n_secrets == 0) {
        rc = wc_config_load_string(S_NAME, dump.ptr, dump.len, &c2, &errs);
        FUZZ_CHECK(rc == WC_OK, "the dump does not load back: %s: %s\n--- dump:\n%s",
                   wc_strerror(rc), errs.len ? errs.items[0].reason : "?", dump.ptr);
        FUZZ_CHECK(wc_config_dump(c2, &dump2) == WC_OK, "cannot dump the reloaded config");
        FUZZ_CHECK(dump.len == dump2.len && memcmp(dump.ptr, dump2.ptr, dump.len) == 0,
                   "the reloaded config dumps differently\n--- first:\n%s\n--- second:\n%s",
                   dump.ptr, dump2.ptr);
    }
    wc_config_destroy(c2);
    wc_config_errors_clean_up(&errs);
    wc_buf_clean_up(&dump);
    wc_buf_clean_up(&dump2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c = NULL;
    int rc;

    rc = wc_config_load_string(S_NAME, (const char *)data, size, &c, &errs);
    if (rc == WC_OK) {
        FUZZ_CHECK(c != NULL, "success without a config");
        s_round_trip(c);
    } else {
        FUZZ_CHECK(c == NULL, "failure with a config");
        s_check_errors(rc, &errs);
    }
    wc_config_destroy(c);
    wc_config_errors_clean_up(&errs);
    return 0;
}
