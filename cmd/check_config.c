/* check_config.c - `whochanged check-config`: validate a config file as
 * `run` would (the loader's checks and wc_cmd_run_checks, the same code
 * `run` uses) and print the effective configuration (secrets redacted);
 * with --online, reach AWS and Slack with it instead. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/dynamodb_ledger.h"
#include "aws/endpoints.h"
#include "aws/probe.h"
#include "aws/sqs.h"
#include "cmd/cmd.h"
#include "cmd/stack.h"
#include "cmd/util.h"
#include "config/config.h"
#include "core/awsid.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

#define S_SLACK_API "https://slack.com/api"
#define S_WHY 512
/* a logged reason, quoted inside an S_WHY line */
#define S_REASON 384

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: whochanged check-config [-c FILE] [--online]\n\n"
            "Validate a configuration file as `run` would and print the effective\n"
            "configuration (every key, defaults included, secrets shown as \"(redacted)\")\n"
            "on stdout. Every problem is reported on stderr as FILE:LINE:COL: reason (or\n"
            "FILE: reason), then every warning as \"warning: ...\".\n\n"
            "  -c, --config FILE  the file to check (default: $%s, else %s)\n"
            "      --online       then reach what it names, one line each on stdout\n"
            "                     instead of the configuration: the credentials (STS\n"
            "                     GetCallerIdentity), the queue (GetQueueUrl,\n"
            "                     GetQueueAttributes), CloudTrail (LookupEvents, MaxResults\n"
            "                     1) and each Slack bot token (auth.test)\n"
            "  -h, --help         show this help\n\n"
            "exit status: 0 valid (and, with --online, every check passed), 1 an online\n"
            "check failed, 2 invalid or unreadable\n",
            WC_CONFIG_ENV, WC_CONFIG_DEFAULT_PATH);
}

/* --- --online ------------------------------------------------------------ */

/* The logger's last warning or error, kept as the reason of a failed check
 * (the AWS clients log why; the line is redacted already). */
struct s_capture {
    char last[S_REASON];
};

static void s_capture_line(void *ctx, const char *line, size_t len)
{
    struct s_capture *c = ctx;
    const char *msg = line, *end = line + len;

    /* "TS LEVEL  [id] message": keep the message */
    for (int field = 0; field < 2 && msg < end; field++) {
        while (msg < end && *msg != ' ')
            msg++;
        while (msg < end && *msg == ' ')
            msg++;
    }
    snprintf(c->last, sizeof(c->last), "%.*s", (int)(end - msg), msg);
}

struct s_online {
    const struct wc_config *cfg;
    struct wc_logger *logger;
    struct s_capture cap;
    struct wc_stack stack;
    bool have_stack;
    int failed;
    char account[16]; /* the caller's, from GetCallerIdentity */
};

static void s_result(struct s_online *o, const char *what, int rc, const char *detail)
{
    if (rc == WC_OK) {
        printf("%-12s ok%s%s%s\n", what, detail && *detail ? " (" : "",
               detail && *detail ? detail : "", detail && *detail ? ")" : "");
    } else {
        printf("%-12s FAILED: %s\n", what, detail && *detail ? detail : wc_strerror(rc));
        o->failed++;
    }
    fflush(stdout);
}

/* The reason of a failure: what was logged, else the error's text. */
static const char *s_reason(struct s_online *o, int rc, char *buf, size_t len)
{
    if (o->cap.last[0])
        snprintf(buf, len, "%s", o->cap.last);
    else
        snprintf(buf, len, "%s", wc_strerror(rc));
    return buf;
}

static void s_check_credentials(struct s_online *o, struct wc_aws_credentials *creds, bool *ok)
{
    char arn[256] = "", why[S_WHY] = "";
    int rc;

    o->cap.last[0] = '\0';
    if ((rc = wc_creds_provider_get(o->stack.creds, creds)) != WC_OK) {
        char r[S_REASON];

        snprintf(why, sizeof(why), "no AWS credentials: %s", s_reason(o, rc, r, sizeof(r)));
        s_result(o, "credentials", rc, why);
        *ok = false;
        return;
    }
    rc = wc_probe_caller_identity(o->stack.aws, creds, o->stack.sts_endpoint, o->stack.region,
                                  arn, sizeof(arn), o->account, sizeof(o->account), why,
                                  sizeof(why));
    *ok = rc == WC_OK;
    s_result(o, "credentials", rc, rc == WC_OK ? arn : why);
}

static void s_check_queue(struct s_online *o)
{
    const char *url = wc_config_queue_url(o->cfg), *name = wc_config_queue_name(o->cfg);
    struct wc_sqs_options so = {0};
    struct wc_queue *q = NULL;
    char *endpoint = NULL, detail[S_WHY], r[S_REASON];
    int rc, lease = 0;

    o->cap.last[0] = '\0';
    if ((rc = wc_endpoint_resolve("sqs", o->stack.region, o->stack.overrides,
                                  o->stack.n_overrides, NULL, &endpoint)) != WC_OK) {
        s_result(o, "queue", rc, "cannot resolve the SQS endpoint");
        return;
    }
    so.aws = o->stack.aws;
    so.creds = o->stack.creds;
    so.region = o->stack.region;
    so.endpoint = endpoint;
    so.queue_url = url;
    so.queue_name = url ? NULL : name;
    so.logger = o->logger;
    if (!(q = wc_sqs_new(&so))) {
        s_result(o, "queue", WC_ERR_NOMEM, NULL);
        goto out;
    }
    if ((rc = wc_sqs_resolve(q)) != WC_OK ||
        (rc = wc_queue_visibility_timeout(q, &lease)) != WC_OK) {
        s_result(o, "queue", rc, s_reason(o, rc, r, sizeof(r)));
        goto out;
    }
    snprintf(detail, sizeof(detail), "%s, VisibilityTimeout %d s", wc_sqs_queue_url(q), lease);
    s_result(o, "queue", WC_OK, detail);
out:
    wc_queue_destroy(q);
    free(endpoint);
}

/* The account whose trail the worker reads first: with a role per account,
 * the first of accounts.allowed (else the role's own, else ours). */
static const char *s_trail_account(struct s_online *o, char *buf, size_t len)
{
    const struct wc_strlist *allowed = &wc_config_policy(o->cfg)->allowed_accounts;
    const char *role = wc_config_accounts_role_arn(o->cfg);

    for (size_t i = 0; i < allowed->len; i++)
        if (wc_account_id_is_valid(allowed->items[i]))
            return allowed->items[i];
    if (role && !strstr(role, "{account_id}")) {
        /* arn:PARTITION:iam::ACCOUNT:role/NAME */
        const char *p = role;

        for (int colons = 0; *p && colons < 4; p++)
            if (*p == ':')
                colons++;
        snprintf(buf, len, "%.12s", p);
        return buf;
    }
    return o->account[0] ? o->account : NULL;
}

static void s_check_cloudtrail(struct s_online *o, const struct wc_aws_credentials *own)
{
    struct wc_aws_credentials role_creds = {0};
    const struct wc_aws_credentials *creds = own;
    char *endpoint = NULL, why[S_WHY] = "", detail[S_WHY], acct_buf[16], r[S_REASON];
    const char *account = NULL;
    int rc;

    o->cap.last[0] = '\0';
    if ((rc = wc_endpoint_resolve("cloudtrail", o->stack.region, o->stack.overrides,
                                  o->stack.n_overrides, NULL, &endpoint)) != WC_OK) {
        s_result(o, "cloudtrail", rc, "cannot resolve the CloudTrail endpoint");
        return;
    }
    if (o->stack.accounts && (account = s_trail_account(o, acct_buf, sizeof(acct_buf)))) {
        if ((rc = wc_creds_accounts_get(o->stack.accounts, account, &role_creds)) != WC_OK) {
            snprintf(why, sizeof(why), "cannot assume accounts.role_arn in %s: %s", account,
                     s_reason(o, rc, r, sizeof(r)));
            s_result(o, "cloudtrail", rc, why);
            goto out;
        }
        creds = &role_creds;
    }
    rc = wc_probe_lookup_events(o->stack.aws, creds, endpoint, o->stack.region, why,
                                sizeof(why));
    if (rc == WC_OK) {
        snprintf(detail, sizeof(detail), "LookupEvents in %s%s%s", o->stack.region,
                 creds == &role_creds ? " as accounts.role_arn in " : "",
                 creds == &role_creds ? account : "");
        s_result(o, "cloudtrail", WC_OK, detail);
    } else {
        s_result(o, "cloudtrail", rc, why);
    }
out:
    wc_aws_credentials_clean_up(&role_creds);
    free(endpoint);
}

/* ledger type dynamodb: the probe the worker makes at start (the table
 * exists, GetItem and PutItem are allowed; nothing is written). */
static void s_check_ledger(struct s_online *o)
{
    struct wc_dynamodb_ledger_options lo = {.table = wc_config_ledger_table(o->cfg)};
    struct wc_ledger *l;
    char *endpoint = NULL, why[S_WHY] = "", detail[S_WHY];
    int rc;

    lo.client = (struct wc_dynamodb_options){
        .aws = o->stack.aws, .creds = o->stack.creds, .logger = o->logger,
        .region = wc_config_ledger_region(o->cfg) ? wc_config_ledger_region(o->cfg)
                                                   : o->stack.region};
    if ((rc = wc_endpoints_resolve(o->stack.endpoints, "dynamodb", lo.client.region,
                                   &endpoint)) != WC_OK) {
        s_result(o, "ledger", rc, "cannot resolve the DynamoDB endpoint");
        return;
    }
    lo.client.endpoint = endpoint;
    if ((l = wc_dynamodb_ledger_open(&lo, why, sizeof(why))) != NULL) {
        snprintf(detail, sizeof(detail), "DynamoDB table %s in %s: GetItem, PutItem", lo.table,
                 lo.client.region);
        s_result(o, "ledger", WC_OK, detail);
    } else {
        s_result(o, "ledger", WC_ERR_SERVICE, why);
    }
    wc_ledger_destroy(l);
    free(endpoint);
}

/* Slack auth.test with a bot token: {"ok":true,"team":...,"user":...}. */
static void s_check_slack(struct s_online *o, size_t i, const struct wc_config_notifier *n)
{
    struct wc_buf auth = WC_BUF_INIT, url = WC_BUF_INIT;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char id[80], detail[S_WHY];
    cJSON *root = NULL;
    int rc;

    wc_config_notifier_id(o->cfg, i, id, sizeof(id));
    if (!n->bot_token) {
        printf("%-12s skipped: a webhook can only be tested by posting to it\n", id);
        return;
    }
    if ((rc = wc_buf_appendf(&auth, "Bearer %s", n->bot_token)) != WC_OK ||
        (rc = wc_buf_appendf(&url, "%s/auth.test", n->api_url ? n->api_url : S_SLACK_API)) !=
            WC_OK) {
        s_result(o, id, rc, NULL);
        goto out;
    }
    {
        const struct wc_http_header headers[] = {
            {(char *)"Authorization", auth.ptr},
            {(char *)"Content-Type", (char *)"application/x-www-form-urlencoded"},
        };
        const struct wc_http_request req = {
            .method = "POST",
            .url = url.ptr,
            .headers = headers,
            .n_headers = 2,
            .body = "",
            .body_len = 0,
            .timeout_ms = 15000,
            .max_response_bytes = 64 * 1024,
        };

        rc = wc_http_send(o->stack.http, &req, &resp);
    }
    if (rc != WC_OK) {
        snprintf(detail, sizeof(detail), "slack auth.test: %s", wc_strerror(rc));
        s_result(o, id, rc, detail);
        goto out;
    }
    root = cJSON_ParseWithLength(resp.body.ptr ? resp.body.ptr : "", resp.body.len);
    if (resp.status != 200 || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "ok"))) {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "error"));

        snprintf(detail, sizeof(detail), "slack auth.test: HTTP %ld%s%s%s", resp.status,
                 e ? ", " : "", e ? e : "",
                 e && (!strcmp(e, "invalid_auth") || !strcmp(e, "not_authed"))
                     ? " (the bot token is not valid)"
                     : "");
        s_result(o, id, WC_ERR_AUTH, detail);
        goto out;
    }
    {
        const char *team = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "team"));
        const char *user = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "user"));

        snprintf(detail, sizeof(detail), "bot %s in %s", user ? user : "?", team ? team : "?");
        s_result(o, id, WC_OK, detail);
    }
out:
    cJSON_Delete(root);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up_secure(&auth);
    wc_buf_clean_up(&url);
}

static int s_online(const struct wc_config *cfg)
{
    struct s_online o;
    struct wc_logger_options lo = {.level = WC_LOG_WARN, .write = s_capture_line};
    struct wc_aws_credentials creds = {0};
    char err[S_WHY] = "";
    char *from_url = NULL;
    const char *region = wc_config_region(cfg);
    bool creds_ok = false;
    int rc;

    memset(&o, 0, sizeof(o));
    o.cfg = cfg;
    lo.write_ctx = &o.cap;
    if (!(o.logger = wc_logger_new(&lo)))
        return 1;
    for (const char *const *s = wc_config_secrets(cfg, NULL); s && *s; s++)
        wc_logger_add_secret(o.logger, *s);
    if (!region && wc_config_queue_url(cfg))
        region = from_url = wc_sqs_region_from_queue_url(wc_config_queue_url(cfg));
    if ((rc = wc_stack_init(&o.stack, cfg, region, o.logger, err, sizeof(err))) != WC_OK) {
        s_result(&o, "credentials", rc, err);
        goto out;
    }
    o.have_stack = true;
    s_check_credentials(&o, &creds, &creds_ok);
    if (creds_ok) {
        s_check_queue(&o);
        s_check_cloudtrail(&o, &creds);
        if (wc_config_ledger_type(cfg) == WC_CONFIG_LEDGER_DYNAMODB)
            s_check_ledger(&o);
    } else {
        printf("%-12s skipped: no usable credentials\n%-12s skipped: no usable credentials\n",
               "queue", "cloudtrail");
    }
    for (size_t i = 0; i < wc_config_notifier_count(cfg); i++) {
        const struct wc_config_notifier *n = wc_config_notifier(cfg, i);

        if (n->type == WC_CONFIG_NOTIFIER_SLACK)
            s_check_slack(&o, i, n);
    }
out:
    wc_aws_credentials_clean_up(&creds);
    if (o.have_stack)
        wc_stack_clean_up(&o.stack);
    wc_logger_destroy(o.logger);
    free(from_url);
    return o.failed ? 1 : 0;
}

/* --- the command ---------------------------------------------------------- */

int wc_cmd_check_config(int argc, char **argv)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_strlist run_errs = WC_STRLIST_INIT, run_warns = WC_STRLIST_INIT;
    struct wc_config *cfg = NULL;
    struct wc_buf dump = WC_BUF_INIT;
    const char *path = NULL;
    bool online = false;
    int rc, code = 2;

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int k;

        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--online")) {
            online = true;
        } else if ((k = wc_cmd_opt_value(argc, argv, &i, "--config", &v, "check-config")) != 0) {
            if (k < 0)
                return 2;
            path = v;
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
    /* what `run` checks before it starts, with the same code */
    if ((rc = wc_cmd_run_checks(cfg, &run_errs, &run_warns)) != WC_OK) {
        fprintf(stderr, "whochanged: %s\n", wc_strerror(rc));
        code = 1;
        goto out;
    }
    for (size_t i = 0; i < run_errs.len; i++)
        fprintf(stderr, "%s\n", run_errs.items[i]);
    if (run_errs.len == 0)
        fprintf(stderr, "config OK: %s\n",
                wc_config_path(cfg) ? wc_config_path(cfg) : "(no file: defaults)");
    for (size_t i = 0; i < wc_config_warnings(cfg)->len; i++)
        fprintf(stderr, "warning: %s\n", wc_config_warnings(cfg)->items[i]);
    for (size_t i = 0; i < run_warns.len; i++)
        fprintf(stderr, "warning: %s\n", run_warns.items[i]);
    if (run_errs.len) {
        code = 2;
        goto out;
    }
    if (online) {
        code = s_online(cfg);
        goto out;
    }
    if ((rc = wc_config_dump(cfg, &dump)) != WC_OK) {
        fprintf(stderr, "whochanged: cannot print the config: %s\n", wc_strerror(rc));
        code = 1;
        goto out;
    }
    if (fwrite(dump.ptr, 1, dump.len, stdout) != dump.len || fflush(stdout) != 0) {
        fprintf(stderr, "whochanged: cannot write the config\n");
        code = 1;
        goto out;
    }
    code = 0;
out:
    wc_strlist_clean_up(&run_errs);
    wc_strlist_clean_up(&run_warns);
    wc_buf_clean_up(&dump);
    wc_config_destroy(cfg);
    wc_config_errors_clean_up(&errs);
    return code;
}
