/* check_config.c - `whochanged check-config`: validate a config file and
 * print the effective configuration (secrets redacted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: whochanged check-config [--config FILE]\n\n"
            "Validate a configuration file and print the effective configuration\n"
            "(every key, defaults included, secrets shown as \"(redacted)\") on stdout.\n"
            "Every problem is reported on stderr as FILE:LINE:COL: reason.\n\n"
            "  -c, --config FILE  the file to check (default: $%s, else %s)\n"
            "  -h, --help         show this help\n\n"
            "exit status: 0 valid, 2 invalid or unreadable\n",
            WC_CONFIG_ENV, WC_CONFIG_DEFAULT_PATH);
}

int wc_cmd_check_config(int argc, char **argv)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *cfg = NULL;
    struct wc_buf dump = WC_BUF_INIT;
    const char *path = NULL;
    int rc, code = 2;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "whochanged check-config: %s needs a FILE\n", argv[i]);
                s_usage(stderr);
                return 2;
            }
            path = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            path = argv[i] + 9;
        } else {
            fprintf(stderr, "whochanged check-config: unknown option '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    if (path && !*path) {
        fprintf(stderr, "whochanged check-config: --config needs a FILE\n");
        return 2;
    }
    rc = wc_config_load(path, &cfg, &errs);
    if (rc == WC_ERR_NOT_FOUND || rc == WC_ERR_IO) {
        fprintf(stderr, "whochanged: cannot read %s: %s\n",
                errs.len ? errs.items[0].file : (path ? path : "config"),
                errs.len ? errs.items[0].reason : wc_strerror(rc));
        goto out;
    }
    if (rc != WC_OK) {
        if (errs.len)
            wc_config_errors_print(&errs, stderr);
        else
            fprintf(stderr, "whochanged: cannot load the config: %s\n", wc_strerror(rc));
        code = rc == WC_ERR_NOMEM ? 1 : 2;
        goto out;
    }
    if ((rc = wc_config_dump(cfg, &dump)) != WC_OK) {
        fprintf(stderr, "whochanged: cannot print the config: %s\n", wc_strerror(rc));
        code = 1;
        goto out;
    }
    fprintf(stderr, "config OK: %s\n",
            wc_config_path(cfg) ? wc_config_path(cfg) : "(no file: defaults)");
    for (size_t i = 0; i < wc_config_warnings(cfg)->len; i++)
        fprintf(stderr, "warning: %s\n", wc_config_warnings(cfg)->items[i]);
    if (fwrite(dump.ptr, 1, dump.len, stdout) != dump.len || fflush(stdout) != 0) {
        fprintf(stderr, "whochanged: cannot write the config\n");
        code = 1;
        goto out;
    }
    code = 0;
out:
    wc_buf_clean_up(&dump);
    wc_config_destroy(cfg);
    wc_config_errors_clean_up(&errs);
    return code;
}
