/* main.c - whochanged entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "aws/http_curl.h"
#include "cmd/cmd.h"
#include "cmd/util.h"
#include "core/version.h"

static const struct wc_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} s_cmds[] = {
    {"explain", wc_cmd_explain, "attribute one Config notification and print the verdict as JSON"},
    {"run", wc_cmd_run, "the worker: from the SQS queue to Slack, for every change"},
    {"history", wc_cmd_history, "who changed one resource over time (AWS Config's history)"},
    {"check-config", wc_cmd_check_config, "validate a config file and print the effective config"},
};

static void s_usage(FILE *f)
{
    fprintf(f, "usage: whochanged <command> [options]\n\n"
               "Tells who changed your AWS resources by hand: joins AWS Config changes with\n"
               "the CloudTrail events that caused them and reports the human ones.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(s_cmds) / sizeof(s_cmds[0]); i++)
        fprintf(f, "  %-14s %s\n", s_cmds[i].name, s_cmds[i].summary);
    fprintf(f, "\nRun 'whochanged <command> --help' for a command's options; every command\n"
               "takes -c FILE (--config FILE).\n"
               "  version        print the version (also --version)\n");
}

int main(int argc, char **argv)
{
    char err[128] = "";

    /* the worker only, before anything is read: glibc reads the setting at
     * start-up (cmd/util.h says why) */
    if (argc >= 2 && !strcmp(argv[1], "run") &&
        wc_cmd_reexec_without_tcache(argv, err, sizeof(err)) != 0)
        fprintf(stderr, "whochanged: warning: malloc keeps per-thread caches (more memory): %s\n", err);
    /* before anything reads a credential or a secret */
    if (wc_cmd_disable_core_dumps(err, sizeof(err)) != 0)
        fprintf(stderr, "whochanged: warning: cannot disable core dumps: %s\n", err);
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        s_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        if (argc > 2) {
            fprintf(stderr, "whochanged: %s takes no arguments\n", argv[1]);
            return 2;
        }
        printf("whochanged %s\n", wc_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof(s_cmds) / sizeof(s_cmds[0]); i++) {
        if (!strcmp(argv[1], s_cmds[i].name)) {
            int status;

            if (wc_http_curl_global_init() != 0) {
                fprintf(stderr, "whochanged: cannot initialise libcurl\n");
                return 1;
            }
            status = s_cmds[i].run(argc - 1, argv + 1);
            wc_http_curl_global_clean_up();
            return status;
        }
    }
    fprintf(stderr, "whochanged: unknown command '%s'\n\n", argv[1]);
    s_usage(stderr);
    return 2;
}
