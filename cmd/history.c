/* history.c - `whochanged history`: who changed one resource, over time.
 *
 *   whochanged history --resource TYPE/ID [--account ID] [--region R]
 *                      [--since WHEN] [--until WHEN] [--format text|json] [-c FILE]
 *
 * Flags, wiring and output only: what is asked and decided is core/history.c
 * (Config pages, the changes, the worker's CloudTrail correlation and
 * budget); this file carries its actions out with aws/configservice.c and
 * the CloudTrail trail, and prints each change as it is decided.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/configservice.h"
#include "cmd/cmd.h"
#include "cmd/stack.h"
#include "cmd/util.h"
#include "config/config.h"
#include "core/awsid.h"
#include "core/err.h"
#include "core/history.h"
#include "core/log.h"
#include "core/trail.h"

#define S_DEFAULT_SINCE "7d"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: whochanged history --resource TYPE/ID [--account ID] [--region R]\n"
            "                          [--since WHEN] [--until WHEN] [--format text|json]\n"
            "                          [-c FILE] [--log-level LEVEL]\n\n"
            "Who changed one resource, over time: every configuration item AWS Config\n"
            "recorded for it (GetResourceConfigHistory), each attributed to the CloudTrail\n"
            "event that caused it as the worker does, one line per change, oldest first.\n\n"
            "  --resource TYPE/ID  the Config resource type and id, e.g.\n"
            "                      AWS::EC2::SecurityGroup/sg-0123456789abcdef0\n"
            "  --account ID        the resource's account (12 digits): Config and CloudTrail\n"
            "                      are read there with accounts.role_arn (default: the\n"
            "                      account of your credentials)\n"
            "  --region R          the resource's region (default: the config's region,\n"
            "                      AWS_REGION, the AWS profile's)\n"
            "  --since WHEN        from: 7d, 36h, 90m, 2w ago, an RFC 3339 time or a date\n"
            "                      (YYYY-MM-DD, UTC) (default " S_DEFAULT_SINCE ")\n"
            "  --until WHEN        to, the same forms (default now)\n"
            "  --format F          text: time, class, who, event, what changed (default);\n"
            "                      json: one JSON object per line\n"
            "  -c, --config FILE   config file (default $WHOCHANGED_CONFIG, then\n"
            "                      /etc/whochanged/config.yaml if it exists): trusted,\n"
            "                      correlation, accounts, endpoints, cloudtrail\n"
            "  --log-level LEVEL   trace|debug|info|warn|error (default warn), on stderr\n\n"
            "Changes captured more than 90 days ago are listed but not looked up\n"
            "(CloudTrail's LookupEvents keeps 90 days). Needs config:GetResourceConfigHistory\n"
            "and cloudtrail:LookupEvents (examples/iam-history-policy.json).\n\n"
            "Exit status: 0 history printed, 1 runtime failure (not authorized, resource\n"
            "not recorded, a lookup failed), 2 bad usage or bad input.\n");
}

struct s_args {
    const char *resource, *account, *region, *since, *until, *format, *config, *level;
};

/* 0 parsed, 1 --help printed, 2 bad usage (said). */
static int s_parse_args(int argc, char **argv, struct s_args *a)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        {"--resource", offsetof(struct s_args, resource)},
        {"--account", offsetof(struct s_args, account)},
        {"--region", offsetof(struct s_args, region)},
        {"--since", offsetof(struct s_args, since)},
        {"--until", offsetof(struct s_args, until)},
        {"--format", offsetof(struct s_args, format)},
        {"--config", offsetof(struct s_args, config)},
        {"--log-level", offsetof(struct s_args, level)},
    };

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
        size_t k;

        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 1;
        }
        if (!strcmp(argv[i], "-c")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "whochanged history: -c needs a value\n");
                return 2;
            }
            a->config = argv[++i];
            continue;
        }
        for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
            if ((r = wc_cmd_opt_value(argc, argv, &i, opts[k].name, &v, "history")) != 0)
                break;
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "whochanged history: unknown argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
        *(const char **)((char *)a + opts[k].off) = v;
    }
    if (!a->resource) {
        fprintf(stderr, "whochanged history: --resource TYPE/ID is required\n");
        s_usage(stderr);
        return 2;
    }
    return 0;
}

struct s_run {
    struct wc_history *h;
    struct wc_configservice *cs;
    struct wc_trail *trail;
    struct wc_logger *logger;
    bool json;
    size_t printed;
    int out_rc;
};

/* Print every change decided so far, in order. */
static void s_print(struct s_run *r)
{
    struct wc_history_entry *e;
    struct wc_buf line = WC_BUF_INIT;

    while (wc_history_take(r->h, &e)) {
        int rc;

        wc_buf_reset(&line);
        rc = r->json ? wc_history_entry_json(e, &line) : wc_history_entry_text(e, &line);
        if (rc == WC_OK) {
            if (printf("%s\n", line.ptr) < 0 || fflush(stdout) != 0)
                r->out_rc = WC_ERR_IO;
            r->printed++;
        } else {
            r->out_rc = rc;
        }
        wc_history_entry_destroy(e);
    }
    wc_buf_clean_up(&line);
}

static void s_config_call(struct s_run *r, const struct wc_history_action *a, int64_t mono)
{
    struct wc_buf body = WC_BUF_INIT;
    struct wc_aws_error aerr = WC_AWS_ERROR_INIT;
    char desc[512] = "";
    int rc = wc_configservice_history_page(r->cs, &a->config, a->token, &body, &aerr);

    if (rc != WC_OK) {
        if (aerr.code)
            wc_aws_error_describe(&aerr, "config", "GetResourceConfigHistory", desc,
                                  sizeof(desc));
        else
            snprintf(desc, sizeof(desc), "%s", wc_strerror(rc));
    }
    wc_history_config_done(r->h, rc, wc_buf_str(&body), aerr.code, desc, mono);
    wc_aws_error_clean_up(&aerr);
    wc_buf_clean_up(&body);
}

static void s_lookup_call(struct s_run *r, const struct wc_history_action *a, int64_t mono)
{
    struct wc_event_list page = WC_EVENT_LIST_INIT;
    const struct wc_trail_query *q = &a->lookup.query;
    int rc = wc_trail_lookup_page(r->trail, q, a->lookup.token, &page);

    WC_LOGD(r->logger, NULL, "LookupEvents %s=%s in %s/%s: %s, %zu event(s)", q->attribute_key,
            q->attribute_value, q->account_id ? q->account_id : "-", q->region, wc_strerror(rc),
            page.len);
    wc_history_lookup_done(r->h, a->lookup.call_id, rc, &page, mono);
    wc_event_list_clean_up(&page);
}

/* Carry out the history's actions until it is finished. */
static void s_drive(struct s_run *r)
{
    struct wc_clock clock = wc_clock_system();
    struct wc_history_action a;

    for (;;) {
        int64_t wake, now = wc_clock_mono_ms(&clock);

        while (wc_history_next(r->h, now, &a, &wake)) {
            if (a.kind == WC_HISTORY_CONFIG)
                s_config_call(r, &a, now);
            else
                s_lookup_call(r, &a, now);
            s_print(r);
            now = wc_clock_mono_ms(&clock);
        }
        s_print(r);
        if (wc_history_finished(r->h) || r->out_rc != WC_OK || wake == INT64_MAX)
            break;
        if ((wake -= wc_clock_mono_ms(&clock)) > 0) {
            struct timespec ts = {(time_t)(wake / 1000), (long)(wake % 1000) * 1000000L};

            nanosleep(&ts, NULL);
        }
    }
}

int wc_cmd_history(int argc, char **argv)
{
    struct s_args args = {.since = S_DEFAULT_SINCE, .format = "text", .level = "warn"};
    struct wc_config *cfg = NULL;
    struct wc_config_errors cerrs = {0};
    struct wc_logger *logger = NULL;
    struct wc_stack stack = {0};
    bool have_stack = false;
    struct wc_configservice *cs = NULL;
    struct wc_history *h = NULL;
    struct wc_history_options ho = {0};
    struct wc_history_stats st;
    struct wc_clock clock = wc_clock_system();
    enum wc_log_level level = WC_LOG_WARN;
    char *type = NULL, *id = NULL, err[512] = "";
    const char *herr;
    int64_t now = wc_clock_now_ms(&clock);
    int rc, status;

    if ((status = s_parse_args(argc, argv, &args)) != 0)
        return status == 1 ? 0 : 2;
    status = 2;
    if (wc_history_parse_resource(args.resource, &type, &id, err, sizeof(err)) != WC_OK) {
        fprintf(stderr, "whochanged history: %s\n", err);
        goto out;
    }
    if (args.account && !wc_account_id_is_valid(args.account)) {
        fprintf(stderr, "whochanged history: --account '%s' is not a 12-digit account id\n",
                args.account);
        goto out;
    }
    if (args.region && !wc_region_is_valid(args.region)) {
        fprintf(stderr, "whochanged history: --region '%s' is not an AWS region\n", args.region);
        goto out;
    }
    if (strcmp(args.format, "text") != 0 && strcmp(args.format, "json") != 0) {
        fprintf(stderr, "whochanged history: --format is text or json, not '%s'\n", args.format);
        goto out;
    }
    if (wc_history_parse_time(args.since, now, &ho.since_ms, err, sizeof(err)) != WC_OK) {
        fprintf(stderr, "whochanged history: --since: %s\n", err);
        goto out;
    }
    if (args.until &&
        wc_history_parse_time(args.until, now, &ho.until_ms, err, sizeof(err)) != WC_OK) {
        fprintf(stderr, "whochanged history: --until: %s\n", err);
        goto out;
    }
    if (!args.until)
        ho.until_ms = now;
    if (ho.since_ms >= ho.until_ms) {
        fprintf(stderr, "whochanged history: --since must be before --until\n");
        goto out;
    }
    if (wc_log_level_parse(args.level, &level) != WC_OK) {
        fprintf(stderr, "whochanged history: unknown log level '%s'\n", args.level);
        goto out;
    }
    if ((rc = wc_config_load(args.config, &cfg, &cerrs)) != WC_OK) {
        wc_config_errors_print(&cerrs, stderr);
        goto out;
    }
    status = 1;
    {
        struct wc_logger_options lo = {.level = level, .format = wc_config_log_format(cfg)};
        const char *const *secrets = wc_config_secrets(cfg, NULL);

        if (!(logger = wc_logger_new(&lo)))
            goto out;
        for (size_t i = 0; secrets && secrets[i]; i++)
            wc_logger_add_secret(logger, secrets[i]);
        for (size_t i = 0; i < wc_config_warnings(cfg)->len; i++)
            WC_LOGW(logger, NULL, "config: %s", wc_config_warnings(cfg)->items[i]);
    }
    if ((rc = wc_stack_init(&stack, cfg, args.region, logger, err, sizeof(err))) != WC_OK) {
        fprintf(stderr, "whochanged history: %s\n", err);
        status = rc == WC_ERR_CONFIG ? 2 : 1;
        goto out;
    }
    have_stack = true;
    if (args.account && !stack.accounts)
        WC_LOGW(logger, NULL, "--account %s without accounts.role_arn in the config: Config and "
                "CloudTrail are read with your own credentials", args.account);
    {
        struct wc_configservice_options co = {.aws = stack.aws, .creds = stack.creds,
                                              .accounts = stack.accounts,
                                              .endpoints = stack.endpoints};

        if (!(cs = wc_configservice_new(&co)))
            goto out;
    }
    ho.resource_type = type;
    ho.resource_id = id;
    ho.account_id = args.account;
    ho.region = args.region ? args.region : stack.region;
    ho.now_ms = now;
    ho.sched.rate_per_s = wc_config_cloudtrail_rate(cfg);
    ho.sched.wall_offset_ms = now - wc_clock_mono_ms(&clock);
    if (!(h = wc_history_new(&ho, wc_config_policy(cfg), err, sizeof(err)))) {
        fprintf(stderr, "whochanged history: %s\n", err[0] ? err : wc_strerror(WC_ERR_NOMEM));
        goto out;
    }
    {
        struct s_run r = {.h = h, .cs = cs, .trail = stack.trail, .logger = logger,
                          .json = strcmp(args.format, "json") == 0};

        s_drive(&r);
        wc_history_get_stats(h, &st);
        WC_LOGI(logger, NULL, "history: %zu change(s) of %s %s; %zu GetResourceConfigHistory "
                "call(s), %zu LookupEvents call(s) (%zu throttled)", st.items, type, id,
                st.config_calls, st.lookups, st.throttled);
        if (r.out_rc != WC_OK) {
            fprintf(stderr, "whochanged history: cannot write the output: %s\n",
                    wc_strerror(r.out_rc));
            goto out;
        }
        if ((herr = wc_history_error(h, &rc)) != NULL) {
            fprintf(stderr, "whochanged history: %s\n", herr);
            goto out;
        }
        if (!wc_history_finished(h)) {
            fprintf(stderr, "whochanged history: stopped with %zu change(s) still undecided\n",
                    st.items - r.printed);
            goto out;
        }
        if (st.truncated)
            fprintf(stderr, "whochanged history: stopped after %zu changes: narrow --since "
                    "and --until for the rest\n", st.items);
        if (st.failed) {
            fprintf(stderr, "whochanged history: the CloudTrail lookup failed for %zu "
                    "change(s) (see above); they are listed as unattributed\n", st.failed);
            goto out;
        }
        if (r.printed == 0 && !r.json)
            fprintf(stderr, "whochanged history: AWS Config recorded no change of %s %s in "
                    "the range\n", type, id);
    }
    status = 0;
out:
    wc_history_destroy(h);
    wc_configservice_destroy(cs);
    if (have_stack)
        wc_stack_clean_up(&stack);
    wc_logger_destroy(logger);
    wc_config_destroy(cfg);
    wc_config_errors_clean_up(&cerrs);
    free(type);
    free(id);
    return status;
}
