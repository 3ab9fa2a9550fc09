/* explain.c - `whochanged explain`: attribute one Config notification.
 *
 *   whochanged explain --notification FILE [--events FILE]... [--config FILE] [--pretty]
 *
 * Prints one JSON object (see README "whochanged explain") and exits 0;
 * bad input: a message naming the file and the problem on stderr, exit 2.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "aws/s3.h"
#include "cmd/stack.h"
#include "cmd/util.h"
#include "config/config.h"
#include "core/change.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/log.h"
#include "core/trail.h"

#define MAX_EVENT_FILES 16

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: whochanged explain --notification FILE [--events FILE]... [--config FILE]\n"
            "                          [--pretty] [--log-level LEVEL]\n\n"
            "Attribute one AWS Config notification: find the CloudTrail events that caused\n"
            "the change, classify who made them, and print the verdict as one JSON object.\n\n"
            "  --notification FILE  an SQS message body: SNS envelope, raw Config JSON or\n"
            "                       EventBridge event ('-' reads stdin)\n"
            "  --events FILE        CloudTrail events: a LookupEvents response, a log file\n"
            "                       ({\"Records\":[...]}) or an array of records; repeatable.\n"
            "                       Without it, the events are looked up in CloudTrail\n"
            "                       (LookupEvents in the change's account and lookup region,\n"
            "                       with the AWS credentials chain and accounts.role_arn);\n"
            "                       an oversized item is first fetched from S3\n"
            "  --config FILE        config file (default $WHOCHANGED_CONFIG, then\n"
            "                       /etc/whochanged/config.yaml if it exists)\n"
            "  --pretty             indent the JSON\n"
            "  --log-level LEVEL    trace|debug|info|warn|error (default warn), on stderr\n\n"
            "Exit status: 0 verdict printed, 1 runtime failure, 2 bad usage or bad input.\n");
}

int wc_cmd_explain(int argc, char **argv)
{
    const char *note_path = NULL, *config_path = NULL, *event_paths[MAX_EVENT_FILES];
    const char *level_name = "warn";
    enum wc_log_level level = WC_LOG_WARN;
    struct wc_logger *logger = NULL;
    struct wc_stack stack = {0};
    bool have_stack = false;
    size_t n_event_paths = 0;
    struct wc_buf body = WC_BUF_INIT, json = WC_BUF_INIT;
    struct wc_config *cfg = NULL;
    struct wc_config_errors cerrs = {0};
    struct wc_notification *note = NULL;
    struct wc_event_list events = WC_EVENT_LIST_INIT;
    struct wc_finding *finding = NULL;
    bool pretty = false;
    char err[512] = "";
    int rc, status = 2;

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;

        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--pretty")) {
            pretty = true;
            continue;
        }
        if ((r = wc_cmd_opt_value(argc, argv, &i, "--notification", &v, "explain")) != 0) {
            if (r < 0)
                return 2;
            note_path = v;
        } else if ((r = wc_cmd_opt_value(argc, argv, &i, "--events", &v, "explain")) != 0) {
            if (r < 0)
                return 2;
            if (n_event_paths == MAX_EVENT_FILES) {
                fprintf(stderr, "whochanged explain: at most %d --events files\n",
                        MAX_EVENT_FILES);
                return 2;
            }
            event_paths[n_event_paths++] = v;
        } else if ((r = wc_cmd_opt_value(argc, argv, &i, "--config", &v, "explain")) != 0) {
            if (r < 0)
                return 2;
            config_path = v;
        } else if ((r = wc_cmd_opt_value(argc, argv, &i, "--log-level", &v, "explain")) != 0) {
            if (r < 0)
                return 2;
            level_name = v;
        } else {
            fprintf(stderr, "whochanged explain: unknown argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    if (!note_path) {
        fprintf(stderr, "whochanged explain: --notification FILE is required\n");
        s_usage(stderr);
        return 2;
    }

    if (wc_log_level_parse(level_name, &level) != WC_OK) {
        fprintf(stderr, "whochanged explain: unknown log level '%s'\n", level_name);
        return 2;
    }
    if ((rc = wc_config_load(config_path, &cfg, &cerrs)) != WC_OK) {
        wc_config_errors_print(&cerrs, stderr);
        goto out;
    }
    {
        struct wc_logger_options lo = {.level = level, .format = wc_config_log_format(cfg)};
        const char *const *secrets = wc_config_secrets(cfg, NULL);

        if (!(logger = wc_logger_new(&lo))) {
            status = 1;
            goto out;
        }
        for (size_t i = 0; secrets && secrets[i]; i++)
            wc_logger_add_secret(logger, secrets[i]);
        for (size_t i = 0; i < wc_config_warnings(cfg)->len; i++)
            WC_LOGW(logger, NULL, "config: %s", wc_config_warnings(cfg)->items[i]);
    }

    if ((rc = wc_cmd_read_file(note_path, WC_NOTIFICATION_MAX_BYTES, &body, err,
                               sizeof(err))) != WC_OK) {
        fprintf(stderr, "whochanged explain: %s: %s\n", note_path, err);
        goto out;
    }
    if ((rc = wc_notification_parse(wc_buf_str(&body), &note, err, sizeof(err))) != WC_OK) {
        fprintf(stderr, "whochanged explain: %s: %s\n", note_path, err);
        goto out;
    }
    wc_buf_clean_up(&body);

    for (size_t i = 0; i < n_event_paths; i++) {
        size_t skipped = events.n_skipped;

        if ((rc = wc_cmd_read_file(event_paths[i], WC_EVENTS_MAX_BYTES, &body, err,
                                   sizeof(err))) != WC_OK) {
            fprintf(stderr, "whochanged explain: %s: %s\n", event_paths[i], err);
            goto out;
        }
        rc = wc_events_parse(wc_buf_str(&body), &events, err, sizeof(err));
        wc_buf_clean_up(&body);
        if (rc != WC_OK) {
            fprintf(stderr, "whochanged explain: %s: %s\n", event_paths[i], err);
            goto out;
        }
        if (events.n_skipped > skipped)
            WC_LOGW(logger, NULL, "%s: %s", event_paths[i], err);
    }
    if (n_event_paths == 0 && note->kind != WC_NOTE_OTHER &&
        !wc_strlist_glob_any(&wc_config_policy(cfg)->ignore_resource_types,
                             note->change.resource_type)) {
        size_t n_calls = 0;

        if ((rc = wc_stack_init(&stack, cfg, note->change.lookup_region, logger, err,
                                sizeof(err))) != WC_OK) {
            fprintf(stderr, "whochanged explain: %s\n", err);
            status = rc == WC_ERR_CONFIG ? 2 : 1;
            goto out;
        }
        have_stack = true;
        if (note->kind == WC_NOTE_OVERSIZED) {
            /* the full item (and its diff) is in the Config bucket */
            struct wc_s3_options so = {.aws = stack.aws, .creds = stack.creds,
                                       .endpoint = wc_config_endpoint(cfg, "s3")};
            struct wc_notification *full = NULL;

            if ((rc = wc_s3_fetch_oversized(&so, &note->oversized, note->change.region, &full,
                                            err, sizeof(err))) != WC_OK) {
                fprintf(stderr, "whochanged explain: %s: oversized item %s: %s\n", note_path,
                        note->oversized.s3_location ? note->oversized.s3_location : "?", err);
                status = 1;
                goto out;
            }
            wc_notification_destroy(note);
            note = full;
        }
        rc = wc_trail_lookup_change(stack.trail, &note->change, wc_config_policy(cfg)->skew_s,
                                    &events, &n_calls);
        if (rc != WC_OK) {
            fprintf(stderr, "whochanged explain: CloudTrail lookup for %s failed: %s\n",
                    note->change.resource_id, wc_strerror(rc));
            status = 1;
            goto out;
        }
        WC_LOGI(logger, NULL, "%zu LookupEvents lookup(s) for %s in %s, %zu event(s)", n_calls,
                note->change.resource_id, note->change.lookup_region, events.len);
    }

    if ((rc = wc_finding_decide(wc_config_policy(cfg), note, &events, &finding)) != WC_OK ||
        (rc = wc_finding_to_json(finding, pretty, &json)) != WC_OK) {
        fprintf(stderr, "whochanged explain: %s\n", wc_strerror(rc));
        status = 1;
        goto out;
    }
    printf("%s\n", json.ptr);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    if (have_stack)
        wc_stack_clean_up(&stack);
    wc_logger_destroy(logger);
    wc_finding_destroy(finding);
    wc_event_list_clean_up(&events);
    wc_notification_destroy(note);
    wc_config_destroy(cfg);
    wc_config_errors_clean_up(&cerrs);
    wc_buf_clean_up(&json);
    wc_buf_clean_up(&body);
    return status;
}
