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
#include <time.h>

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
#include "core/ledger.h"
#include "core/pipeline.h"
#include "core/trail.h"

#define MAX_EVENT_FILES 16

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: whochanged explain --notification FILE [--events FILE]... [-c FILE]\n"
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
            "  -c, --config FILE    config file (default $WHOCHANGED_CONFIG, then\n"
            "                       /etc/whochanged/config.yaml if it exists)\n"
            "  --pretty             indent the JSON\n"
            "  --log-level LEVEL    trace|debug|info|warn|error (default warn), on stderr\n\n"
            "Exit status: 0 verdict printed, 1 runtime failure, 2 bad usage or bad input.\n");
}

struct s_explain {
    struct wc_stack *stack;             /* NULL: offline (--events) */
    struct wc_s3_options *s3;           /* live only */
    const struct wc_event_list *events; /* offline: what CloudTrail returns */
    struct wc_logger *logger;
    bool pretty, decided;
    struct wc_buf *json;
    int rc;
};

static void s_decided(void *ctx, const char *message_id, const struct wc_finding *f)
{
    struct s_explain *x = ctx;

    (void)message_id;
    x->decided = true;
    x->rc = wc_finding_to_json(f, x->pretty, x->json);
}

/* Offline, CloudTrail "returns" every event of the files for each lookup. */
static int s_copy_events(const struct wc_event_list *from, struct wc_event_list *to)
{
    for (size_t i = 0; i < from->len; i++) {
        struct wc_event *items = realloc(to->items, (to->len + 1) * sizeof(*items));

        if (!items)
            return WC_ERR_NOMEM;
        to->items = items;
        if (wc_event_copy(&to->items[to->len], &from->items[i]) != WC_OK)
            return WC_ERR_NOMEM;
        to->len++;
    }
    return WC_OK;
}

static void s_carry_out(struct s_explain *x, struct wc_pipeline *p, const struct wc_action *a)
{
    switch (a->kind) {
    case WC_ACTION_FETCH:
        if (!x->s3) { /* offline: the summary it is */
            wc_pipeline_fetch_done(p, a->id, WC_OK, NULL, NULL);
        } else {
            struct wc_notification *full = NULL;
            char err[256] = "";
            int rc = wc_s3_fetch_oversized(x->s3, a->object, a->region, &full, err, sizeof(err));

            wc_pipeline_fetch_done(p, a->id, rc, full, err);
        }
        break;
    case WC_ACTION_LOOKUP: {
        struct wc_event_list page = WC_EVENT_LIST_INIT;
        int rc = x->stack ? wc_trail_lookup_page(x->stack->trail, &a->query, a->token, &page)
                          : s_copy_events(x->events, &page);

        WC_LOGI(x->logger, NULL, "LookupEvents %s=%s in %s/%s: %s, %zu event(s)",
                a->query.attribute_key, a->query.attribute_value, a->query.account_id,
                a->query.region, wc_strerror(rc), page.len);
        wc_pipeline_lookup_done(p, a->id, rc, &page);
        wc_event_list_clean_up(&page);
        break;
    }
    case WC_ACTION_SEND:
    case WC_ACTION_DELETE:
    case WC_ACTION_VISIBILITY: /* no notifiers, no queue: never asked */
        wc_pipeline_queue_done(p, a->id, WC_ERR_UNSUPPORTED, NULL);
        break;
    case WC_ACTION_LEDGER_CHECK: /* (a dry run asks none; the memory ledger would do) */
        wc_pipeline_check_done(p, a->id,
                               wc_ledger_accepted(a->ledger, a->notifier->id, a->subject));
        break;
    case WC_ACTION_LEDGER_RECORD:
        wc_pipeline_record_done(p, a->id, wc_ledger_record(a->ledger, a->notifier->id,
                                                           a->subject));
        break;
    }
}

static int s_run_pipeline(struct s_explain *x, const struct wc_config *cfg, struct wc_buf *body)
{
    struct wc_pipeline_options po = {0};
    struct wc_pipeline_ports pp = {0};
    struct wc_queue_message m = {0};
    struct wc_clock clock = wc_clock_system();
    struct wc_ledger *ledger = wc_ledger_memory_new(0);
    struct wc_pipeline *p;
    struct wc_action a;

    po.schedule = (struct wc_schedule){1, 0, 1}; /* decide now: no retry */
    po.lease_s = 30;
    po.max_in_hand = 1;
    /* offline, nothing to spare: no budget to keep */
    po.sched.rate_per_s = x->stack ? wc_config_cloudtrail_rate(cfg) : 1000;
    po.sched.no_scan = true;
    po.dry_run = true;
    pp.ledger = ledger;
    pp.logger = x->logger;
    pp.on_decided = s_decided;
    pp.ctx = x;
    if (!ledger || !(p = wc_pipeline_new(&po, &pp, wc_config_policy(cfg)))) {
        wc_ledger_destroy(ledger);
        return WC_ERR_NOMEM;
    }
    m.message_id = wc_strdup("explain");
    m.receipt_handle = wc_strdup("-");
    m.body_len = body->len;
    m.body = wc_buf_steal(body);
    m.receive_count = 1;
    wc_pipeline_receive(p, &m);
    for (;;) {
        int64_t wait;

        while (wc_pipeline_next(p, &a))
            s_carry_out(x, p, &a);
        if (wc_pipeline_in_hand(p) == 0 && wc_pipeline_outstanding(p) == 0)
            break;
        if ((wait = wc_pipeline_wake_ms(p)) == INT64_MAX)
            break;
        wait -= wc_clock_mono_ms(&clock);
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};

            nanosleep(&ts, NULL);
        }
    }
    wc_pipeline_destroy(p);
    wc_ledger_destroy(ledger);
    return x->rc;
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
    struct wc_buf body_copy = WC_BUF_INIT;
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
    body_copy = body;
    body = (struct wc_buf)WC_BUF_INIT;

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
        if ((rc = wc_stack_init(&stack, cfg, note->change.lookup_region, logger, err,
                                sizeof(err))) != WC_OK) {
            fprintf(stderr, "whochanged explain: %s\n", err);
            status = rc == WC_ERR_CONFIG ? 2 : 1;
            goto out;
        }
        have_stack = true;
    }
    /* the worker's pipeline, with the events of the files (or CloudTrail)
     * and no queue: one message, decided at once (no retry for late events) */
    {
        struct s_explain x = {.stack = have_stack ? &stack : NULL, .events = &events,
                              .logger = logger, .pretty = pretty, .json = &json};
        struct wc_s3_options so = {0};

        if (have_stack) {
            so = (struct wc_s3_options){.aws = stack.aws, .creds = stack.creds,
                                        .endpoint = wc_config_endpoint(cfg, "s3")};
            x.s3 = &so;
        }
        rc = s_run_pipeline(&x, cfg, &body_copy);
        if (rc != WC_OK || !x.decided) {
            if (rc == WC_OK)
                fprintf(stderr, "whochanged explain: %s: no verdict (see the reason above)\n",
                        note_path);
            else
                fprintf(stderr, "whochanged explain: %s\n", wc_strerror(rc));
            status = 1;
            goto out;
        }
    }
    printf("%s\n", json.ptr);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    if (have_stack)
        wc_stack_clean_up(&stack);
    wc_logger_destroy(logger);
    wc_buf_clean_up(&body_copy);
    wc_event_list_clean_up(&events);
    wc_notification_destroy(note);
    wc_config_destroy(cfg);
    wc_config_errors_clean_up(&cerrs);
    wc_buf_clean_up(&json);
    wc_buf_clean_up(&body);
    return status;
}
