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
#include "cmd/util.h"
#include "config/config.h"
#include "core/change.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"

#define MAX_EVENT_FILES 16

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: whochanged explain --notification FILE [--events FILE]... [--config FILE]\n"
            "                          [--pretty]\n\n"
            "Attribute one AWS Config notification: find the CloudTrail events that caused\n"
            "the change, classify who made them, and print the verdict as one JSON object.\n\n"
            "  --notification FILE  an SQS message body: SNS envelope, raw Config JSON or\n"
            "                       EventBridge event ('-' reads stdin)\n"
            "  --events FILE        CloudTrail events: a LookupEvents response, a log file\n"
            "                       ({\"Records\":[...]}) or an array of records; repeatable\n"
            "  --config FILE        config file (default $WHOCHANGED_CONFIG, then\n"
            "                       /etc/whochanged/config.yaml if it exists)\n"
            "  --pretty             indent the JSON\n\n"
            "Exit status: 0 verdict printed, 1 runtime failure, 2 bad usage or bad input.\n");
}

int wc_cmd_explain(int argc, char **argv)
{
    const char *note_path = NULL, *config_path = NULL, *event_paths[MAX_EVENT_FILES];
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

    if ((rc = wc_config_load(config_path, &cfg, &cerrs)) != WC_OK) {
        wc_config_errors_print(&cerrs, stderr);
        goto out;
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
    }
    if (n_event_paths == 0 && note->kind != WC_NOTE_OTHER) {
        fprintf(stderr, "whochanged explain: live CloudTrail lookups are not available in "
                        "this build yet; pass the events with --events FILE\n");
        status = 1;
        goto out;
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
    wc_finding_destroy(finding);
    wc_event_list_clean_up(&events);
    wc_notification_destroy(note);
    wc_config_destroy(cfg);
    wc_config_errors_clean_up(&cerrs);
    wc_buf_clean_up(&json);
    wc_buf_clean_up(&body);
    return status;
}
