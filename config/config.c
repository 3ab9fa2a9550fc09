/* config.c - the schema, validation, getters and dump.
 *
 * The schema is a set of tables (s_top_keys and its sections, and one table
 * per notifier type). Each entry names a key, its type and where the value
 * goes (an offset in the struct the table describes); loading, the dump, the
 * secret list and clean-up all walk the same tables, so a new key is one
 * table entry (plus a getter).
 */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <yaml.h>

#include "config/config_internal.h"
#include "core/awsid.h"
#include "core/err.h"
#include "core/http.h"
#include "core/str.h"

#define S_NSERVICES 6
#define S_MAP_MAX_ENTRIES 1000
#define S_REDACTED WC_LOG_REDACTED
/* Shorter secrets are refused: a short value is likely to occur in ordinary
 * log text, where the logger would mask it, and says little as a secret. */
#define S_SECRET_MIN 8

static const char *const s_services[S_NSERVICES] = {"sqs", "cloudtrail", "sts", "s3",
                                                      "config", "dynamodb"};
static const char *const s_log_levels[] = {"trace", "debug", "info", "warn", "error", NULL};
static const char *const s_log_formats[] = {"text", "json", NULL};
/* indexed by enum wc_config_ledger_type */
static const char *const s_ledger_types[] = {"file", "dynamodb", NULL};

struct wc_config {
    char *path;
    struct wc_policy policy;
    int retry_for_s;
    int retry_initial_s;
    int digest_s;
    char *region;
    char *endpoints[S_NSERVICES];
    char *role_arn;
    char *external_id;
    char *session_name;
    int log_level;  /* index in s_log_levels == enum wc_log_level */
    int log_format; /* index in s_log_formats == enum wc_log_format */
    char *queue_url;
    char *queue_name;
    bool notify_unattributed;
    int max_in_flight;
    char *state_dir;
    int ledger_type; /* index in s_ledger_types == enum wc_config_ledger_type */
    char *ledger_table;
    char *ledger_region;
    char *metrics_listen;
    int ct_rate;
    bool ct_scan;
    char *events_queue_url; /* events: the CloudTrail event stream (issue 10) */
    int events_retention_min;
    int events_max_mib;
    int events_grace_s;
    int max_receive_failures;
    char *ca_bundle;
    char *proxy;
    struct wc_config_notifier *notifiers;
    size_t n_notifiers;
    const char **secrets; /* NULL-terminated, borrowed from the fields above */
    size_t n_secrets;
    struct wc_strlist warnings; /* one line each, see wc_config_warnings */
    int literal_secret_line;    /* as in struct s_ctx */
    char literal_secret_key[256];
};

/* ---- schema ------------------------------------------------------------ */

enum s_type {
    S_INT,       /* int, min..max */
    S_BOOL,      /* bool */
    S_STR,       /* char * */
    S_URL,       /* char *, http:// or https:// */
    S_ENDPOINT,  /* char *, http(s):// URL where {region} is the only placeholder */
    S_PROXY,     /* char *, a proxy URL (core/http.h) or "none"; userinfo never shown */
    S_HOSTPORT,  /* char *, host:port */
    S_REGION,    /* char *, like eu-west-1 */
    S_TABLE,     /* char *, a DynamoDB table name */
    S_ROLE_ARN,  /* char *, role ARN, may hold {account_id} */
    S_SESSION,   /* char *, STS role session name */
    S_NAME,      /* char *, a notifier's name: 1-64 of letters, digits and _.:#- */
    S_ENUM,      /* int: index in choices */
    S_GLOBS,     /* struct wc_strlist of non-empty patterns (replaces the default) */
    S_ACCOUNT_IDS, /* struct wc_strlist: 12-digit account ids or AWS Organizations ids */
    S_TOPIC_GLOBS, /* struct wc_strlist: globs of SNS topic ARNs (arn:...) */
    S_BUCKET_GLOBS, /* struct wc_strlist: "bucket" or "bucket/key" globs */
    S_ACCOUNT_MAP, /* struct wc_config_map: 12-digit account id -> non-empty string */
    S_VERDICTS,  /* unsigned: WC_VERDICT_BIT set, at least one */
    S_SECTION,   /* a nested mapping; its keys use offsets in the same struct */
    S_NOTIFIERS, /* the notifiers list (wc_config only) */
    S_TYPE,      /* a notifier's type: read before the others */
};

#define S_SECRET 0x1u   /* wiped, redacted, never echoed */
#define S_NONEMPTY 0x2u /* "" is an error */
#define S_ALIAS 0x4u    /* another name for the row above: read, never dumped */

struct s_key {
    const char *name;
    enum s_type type;
    size_t off;
    unsigned flags;
    int min, max;                /* S_INT */
    const char *const *choices;  /* S_ENUM */
    const struct s_key *sub;     /* S_SECTION */
};

#define S_END {NULL, S_INT, 0, 0, 0, 0, NULL, NULL}
#define CFG(f) offsetof(struct wc_config, f)
#define NTF(f) offsetof(struct wc_config_notifier, f)

static const struct s_key s_correlation_keys[] = {
    {"skew_seconds", S_INT, CFG(policy.skew_s), 0, 1, 3600, NULL, NULL},
    /* periodic recording (DAILY): how far before the capture to look (h) */
    {"periodic_window_hours", S_INT, CFG(policy.periodic_window_h), 0, 1, 168, NULL, NULL},
    {"retry_for_seconds", S_INT, CFG(retry_for_s), 0, 0, 86400, NULL, NULL},
    {"retry_initial_seconds", S_INT, CFG(retry_initial_s), 0, 1, 3600, NULL, NULL},
    {"digest_seconds", S_INT, CFG(digest_s), 0, 0, 300, NULL, NULL},
    /* the older name of digest_seconds (it was coalescing by CloudTrail event) */
    {"coalesce_seconds", S_INT, CFG(digest_s), S_ALIAS, 0, 300, NULL, NULL},
    S_END,
};

static const struct s_key s_ignore_keys[] = {
    {"resource_types", S_GLOBS, CFG(policy.ignore_resource_types), 0, 0, 0, NULL, NULL},
    {"event_names", S_GLOBS, CFG(policy.ignore_event_names), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_endpoint_keys[] = {
    {"sqs", S_ENDPOINT, CFG(endpoints[0]), 0, 0, 0, NULL, NULL},
    {"cloudtrail", S_ENDPOINT, CFG(endpoints[1]), 0, 0, 0, NULL, NULL},
    {"sts", S_ENDPOINT, CFG(endpoints[2]), 0, 0, 0, NULL, NULL},
    {"s3", S_ENDPOINT, CFG(endpoints[3]), 0, 0, 0, NULL, NULL},
    {"config", S_ENDPOINT, CFG(endpoints[4]), 0, 0, 0, NULL, NULL}, /* whochanged history */
    {"dynamodb", S_ENDPOINT, CFG(endpoints[5]), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_accounts_keys[] = {
    {"role_arn", S_ROLE_ARN, CFG(role_arn), 0, 0, 0, NULL, NULL},
    {"external_id", S_STR, CFG(external_id), S_SECRET | S_NONEMPTY, 0, 0, NULL, NULL},
    {"session_name", S_SESSION, CFG(session_name), 0, 0, 0, NULL, NULL},
    {"allowed", S_ACCOUNT_IDS, CFG(policy.allowed_accounts), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_sns_keys[] = {
    {"allowed_topics", S_TOPIC_GLOBS, CFG(policy.allowed_topics), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_oversized_keys[] = {
    {"allowed_buckets", S_BUCKET_GLOBS, CFG(policy.allowed_buckets), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_cloudtrail_keys[] = {
    {"lookups_per_second", S_INT, CFG(ct_rate), 0, 1, 100, NULL, NULL},
    {"scan", S_BOOL, CFG(ct_scan), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_events_keys[] = {
    {"queue_url", S_URL, CFG(events_queue_url), 0, 0, 0, NULL, NULL},
    {"retention_minutes", S_INT, CFG(events_retention_min), 0, 1, 1440, NULL, NULL},
    {"max_memory_mib", S_INT, CFG(events_max_mib), 0, 1, 65536, NULL, NULL},
    {"grace_seconds", S_INT, CFG(events_grace_s), 0, 0, 3600, NULL, NULL},
    S_END,
};

static const struct s_key s_ledger_keys[] = {
    {"type", S_ENUM, CFG(ledger_type), 0, 0, 0, s_ledger_types, NULL},
    {"table", S_TABLE, CFG(ledger_table), 0, 0, 0, NULL, NULL},
    {"region", S_REGION, CFG(ledger_region), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_health_keys[] = {
    {"max_receive_failures", S_INT, CFG(max_receive_failures), 0, 1, 1000, NULL, NULL},
    S_END,
};

static const struct s_key s_top_keys[] = {
    {"correlation", S_SECTION, 0, 0, 0, 0, NULL, s_correlation_keys},
    {"trusted", S_GLOBS, CFG(policy.trusted), 0, 0, 0, NULL, NULL},
    {"automation_user_agents", S_GLOBS, CFG(policy.automation_user_agents), 0, 0, 0, NULL, NULL},
    /* tag keys naming who manages a resource (besides aws:cloudformation:stack-name) */
    {"ownership_tags", S_GLOBS, CFG(policy.ownership_tags), 0, 0, 0, NULL, NULL},
    {"ignore", S_SECTION, 0, 0, 0, 0, NULL, s_ignore_keys},
    {"region", S_REGION, CFG(region), 0, 0, 0, NULL, NULL},
    {"endpoints", S_SECTION, 0, 0, 0, 0, NULL, s_endpoint_keys},
    {"accounts", S_SECTION, 0, 0, 0, 0, NULL, s_accounts_keys},
    {"sns", S_SECTION, 0, 0, 0, 0, NULL, s_sns_keys},
    {"oversized", S_SECTION, 0, 0, 0, 0, NULL, s_oversized_keys},
    {"cloudtrail", S_SECTION, 0, 0, 0, 0, NULL, s_cloudtrail_keys},
    {"events", S_SECTION, 0, 0, 0, 0, NULL, s_events_keys},
    {"ca_bundle", S_STR, CFG(ca_bundle), S_NONEMPTY, 0, 0, NULL, NULL},
    {"proxy", S_PROXY, CFG(proxy), S_NONEMPTY, 0, 0, NULL, NULL},
    {"log_level", S_ENUM, CFG(log_level), 0, 0, 0, s_log_levels, NULL},
    {"log_format", S_ENUM, CFG(log_format), 0, 0, 0, s_log_formats, NULL},
    {"queue_url", S_URL, CFG(queue_url), 0, 0, 0, NULL, NULL},
    {"queue_name", S_STR, CFG(queue_name), S_NONEMPTY, 0, 0, NULL, NULL},
    {"notify_unattributed", S_BOOL, CFG(notify_unattributed), 0, 0, 0, NULL, NULL},
    {"max_in_flight", S_INT, CFG(max_in_flight), 0, 1, 1024, NULL, NULL},
    {"state_dir", S_STR, CFG(state_dir), S_NONEMPTY, 0, 0, NULL, NULL},
    {"ledger", S_SECTION, 0, 0, 0, 0, NULL, s_ledger_keys},
    {"metrics_listen", S_HOSTPORT, CFG(metrics_listen), 0, 0, 0, NULL, NULL},
    {"health", S_SECTION, 0, 0, 0, 0, NULL, s_health_keys},
    {"notifiers", S_NOTIFIERS, 0, 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_slack_keys[] = {
    {"type", S_TYPE, 0, 0, 0, 0, NULL, NULL},
    {"name", S_NAME, NTF(name), 0, 0, 0, NULL, NULL},
    {"webhook_url", S_URL, NTF(webhook_url), S_SECRET, 0, 0, NULL, NULL},
    {"bot_token", S_STR, NTF(bot_token), S_SECRET | S_NONEMPTY, 0, 0, NULL, NULL},
    {"channel", S_STR, NTF(channel), S_NONEMPTY, 0, 0, NULL, NULL},
    {"verdicts", S_VERDICTS, NTF(verdicts), 0, 0, 0, NULL, NULL},
    {"channel_by_account", S_ACCOUNT_MAP, NTF(channel_by_account), 0, 0, 0, NULL, NULL},
    {"account_aliases", S_ACCOUNT_MAP, NTF(account_aliases), 0, 0, 0, NULL, NULL},
    {"api_url", S_URL, NTF(api_url), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_jsonl_keys[] = {
    {"type", S_TYPE, 0, 0, 0, 0, NULL, NULL},
    {"name", S_NAME, NTF(name), 0, 0, 0, NULL, NULL},
    {"path", S_STR, NTF(path), S_NONEMPTY, 0, 0, NULL, NULL},
    {"verdicts", S_VERDICTS, NTF(verdicts), 0, 0, 0, NULL, NULL},
    S_END,
};

static const struct s_key s_webhook_keys[] = {
    {"type", S_TYPE, 0, 0, 0, 0, NULL, NULL},
    {"name", S_NAME, NTF(name), 0, 0, 0, NULL, NULL},
    /* may carry a token in its path or query, like a Slack webhook URL */
    {"url", S_URL, NTF(url), S_SECRET, 0, 0, NULL, NULL},
    {"hmac_secret", S_STR, NTF(hmac_secret), S_SECRET | S_NONEMPTY, 0, 0, NULL, NULL},
    {"verdicts", S_VERDICTS, NTF(verdicts), 0, 0, 0, NULL, NULL},
    S_END,
};

/* Indexed by enum wc_config_notifier_type. */
static const struct s_notifier_kind {
    const char *name;
    const struct s_key *keys;
    unsigned default_verdicts;
} s_notifier_kinds[] = {
    [WC_CONFIG_NOTIFIER_SLACK] = {"slack", s_slack_keys, WC_VERDICT_BIT(WC_VERDICT_HUMAN)},
    [WC_CONFIG_NOTIFIER_JSONL] = {"jsonl", s_jsonl_keys,
                                  WC_VERDICT_BIT(WC_VERDICT_HUMAN) |
                                      WC_VERDICT_BIT(WC_VERDICT_AUTOMATION) |
                                      WC_VERDICT_BIT(WC_VERDICT_AWS_SERVICE) |
                                      WC_VERDICT_BIT(WC_VERDICT_UNATTRIBUTED) |
                                      WC_VERDICT_BIT(WC_VERDICT_IGNORED)},
    [WC_CONFIG_NOTIFIER_WEBHOOK] = {"webhook", s_webhook_keys,
                                    WC_VERDICT_BIT(WC_VERDICT_HUMAN)},
};
#define S_NKINDS (sizeof(s_notifier_kinds) / sizeof(s_notifier_kinds[0]))

/* Verdicts in dump order (names from core/finding.h). */
static const enum wc_verdict s_verdicts[] = {
    WC_VERDICT_HUMAN, WC_VERDICT_AUTOMATION, WC_VERDICT_AWS_SERVICE,
    WC_VERDICT_UNATTRIBUTED, WC_VERDICT_IGNORED,
};
#define S_NVERDICTS (sizeof(s_verdicts) / sizeof(s_verdicts[0]))

#define FIELD(base, k, T) ((T *)(void *)((char *)(base) + (k)->off))
#define CFIELD(base, k, T) ((const T *)(const void *)((const char *)(base) + (k)->off))

/* ---- small helpers ------------------------------------------------------ */

/* The types held in a struct wc_strlist. */
static bool s_is_list_type(enum s_type t)
{
    return t == S_GLOBS || t == S_ACCOUNT_IDS || t == S_TOPIC_GLOBS || t == S_BUCKET_GLOBS;
}

static bool s_is_string_type(enum s_type t)
{
    return t == S_STR || t == S_URL || t == S_ENDPOINT || t == S_PROXY || t == S_HOSTPORT ||
           t == S_REGION || t == S_TABLE || t == S_ROLE_ARN || t == S_SESSION || t == S_NAME;
}

static void s_free_secret(char *s)
{
    if (s) {
        wc_secure_zero(s, strlen(s));
        free(s);
    }
}

static void s_map_clean_up(struct wc_config_map *m)
{
    for (size_t i = 0; i < m->len; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->len = 0;
}

const char *wc_config_map_get(const struct wc_config_map *m, const char *key)
{
    for (size_t i = 0; m && key && i < m->len; i++)
        if (!strcmp(m->items[i].key, key))
            return m->items[i].value;
    return NULL;
}

const char *wc_config_notifier_type_name(enum wc_config_notifier_type t)
{
    if ((size_t)t >= S_NKINDS || !s_notifier_kinds[t].name)
        return "unknown";
    return s_notifier_kinds[t].name;
}

/* Frees what a table's entries own in base. */
static void s_fields_clean_up(const struct s_key *keys, void *base)
{
    for (const struct s_key *k = keys; k->name; k++) {
        if (s_is_string_type(k->type)) {
            char **p = FIELD(base, k, char *);
            if (k->flags & S_SECRET)
                s_free_secret(*p);
            else
                free(*p);
            *p = NULL;
        } else if (s_is_list_type(k->type)) {
            wc_strlist_clean_up(FIELD(base, k, struct wc_strlist));
        } else if (k->type == S_ACCOUNT_MAP) {
            s_map_clean_up(FIELD(base, k, struct wc_config_map));
        } else if (k->type == S_SECTION) {
            s_fields_clean_up(k->sub, base);
        }
    }
}

static void s_notifier_clean_up(struct wc_config_notifier *n)
{
    /* every table's fields, whatever the type (the type may be unknown) */
    for (size_t t = 0; t < S_NKINDS; t++)
        if (s_notifier_kinds[t].keys)
            s_fields_clean_up(s_notifier_kinds[t].keys, n);
}

void wc_config_destroy(struct wc_config *c)
{
    if (!c)
        return;
    s_fields_clean_up(s_top_keys, c);
    for (size_t i = 0; i < c->n_notifiers; i++)
        s_notifier_clean_up(&c->notifiers[i]);
    free(c->notifiers);
    free(c->secrets);
    wc_strlist_clean_up(&c->warnings);
    free(c->path);
    free(c);
}

/* ---- defaults ----------------------------------------------------------- */

static int s_dup_field(char **field, const char *value)
{
    free(*field);
    *field = NULL;
    if (!value)
        return WC_OK;
    *field = wc_strdup(value);
    return *field ? WC_OK : WC_ERR_NOMEM;
}

static struct wc_config *s_defaults(void)
{
    struct wc_config *c = calloc(1, sizeof(*c));
    const char *region = getenv("AWS_REGION");

    if (!c)
        return NULL;
    if (wc_policy_init_defaults(&c->policy) != WC_OK) {
        free(c);
        return NULL;
    }
    c->retry_for_s = WC_CONFIG_DEFAULT_RETRY_FOR_S;
    c->retry_initial_s = WC_CONFIG_DEFAULT_RETRY_INITIAL_S;
    c->digest_s = WC_CONFIG_DEFAULT_DIGEST_S;
    c->log_level = WC_LOG_INFO;
    c->log_format = WC_LOG_TEXT;
    c->max_in_flight = WC_CONFIG_DEFAULT_MAX_IN_FLIGHT;
    c->ct_rate = WC_CONFIG_DEFAULT_CT_RATE;
    c->ct_scan = true;
    c->events_retention_min = WC_CONFIG_DEFAULT_EVENTS_RETENTION_MIN;
    c->events_max_mib = WC_CONFIG_DEFAULT_EVENTS_MAX_MIB;
    c->events_grace_s = WC_CONFIG_DEFAULT_EVENTS_GRACE_S;
    c->max_receive_failures = WC_CONFIG_DEFAULT_MAX_RECEIVE_FAILURES;
    if (wc_str_empty(region))
        region = getenv("AWS_DEFAULT_REGION");
    if ((!wc_str_empty(region) && s_dup_field(&c->region, region) != WC_OK) ||
        s_dup_field(&c->session_name, WC_CONFIG_DEFAULT_SESSION_NAME) != WC_OK ||
        s_dup_field(&c->state_dir, WC_CONFIG_DEFAULT_STATE_DIR) != WC_OK) {
        wc_config_destroy(c);
        return NULL;
    }
    return c;
}

/* ---- validation --------------------------------------------------------- */

struct s_ctx {
    struct wc_config_diag *d;
    int nomem;
    /* the first secret whose value is (partly) written in the file rather
     * than taken from the environment: its line and key path, line 0 if none */
    int literal_secret_line;
    char literal_secret_key[256];
};

/* A value quoted for an error message: printable, at most ~60 bytes. */
static const char *s_show(const char *v, char *out, size_t outlen)
{
    size_t o = 0, i = 0;

    for (; v[i] && o + 5 < outlen; i++)
        out[o++] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ? '?' : v[i];
    if (v[i] && o + 4 <= outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

#define S_SHOW_MAX 64

static void s_err(struct s_ctx *x, const struct wc_cnode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(struct s_ctx *x, const struct wc_cnode *n, const char *fmt, ...)
{
    struct wc_buf b = WC_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    if (wc_buf_vappendf(&b, fmt, ap) != WC_OK)
        x->nomem = 1;
    else
        wc_config_diag_add(x->d, n ? n->line : 0, n ? n->col : 0, "%s", b.ptr);
    va_end(ap);
    wc_buf_clean_up(&b);
}

static bool s_var_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool s_var_char(char c)
{
    return s_var_start(c) || (c >= '0' && c <= '9');
}

/* The path of a ${file:PATH} reference, from p (after "file:") to its
 * closing brace, ${VAR} in it expanded from the environment. Returns the
 * position after the closing brace, or NULL (reported). */
static const char *s_file_path(struct s_ctx *x, const struct wc_cnode *n, const char *path,
                               const char *p, const char *end, struct wc_buf *out)
{
    while (p < end && *p != '}') {
        const char *close;
        char var[256];
        const char *val;
        size_t len;

        if (!(p + 1 < end && p[0] == '$' && p[1] == '{')) {
            if (wc_buf_append_char(out, *p++) != WC_OK)
                goto nomem;
            continue;
        }
        close = memchr(p + 2, '}', (size_t)(end - p - 2));
        len = close ? (size_t)(close - p - 2) : 0;
        if (!close || len == 0 || len >= sizeof(var) || !s_var_start(p[2])) {
            s_err(x, n, "%s: invalid ${file:PATH}: PATH may use ${NAME} only", path);
            return NULL;
        }
        memcpy(var, p + 2, len);
        var[len] = '\0';
        for (size_t i = 0; i < len; i++)
            if (!s_var_char(var[i])) {
                s_err(x, n, "%s: invalid ${file:PATH}: PATH may use ${NAME} only", path);
                return NULL;
            }
        if (!(val = getenv(var))) {
            s_err(x, n, "%s: ${file:...}: environment variable %s is not set", path, var);
            return NULL;
        }
        if (wc_buf_append_cstr(out, val) != WC_OK)
            goto nomem;
        p = close + 1;
    }
    if (p >= end) {
        s_err(x, n, "%s: unterminated ${file: (write $${ for a literal ${)", path);
        return NULL;
    }
    if (wc_buf_append(out, "", 0) != WC_OK)
        goto nomem;
    return p + 1;
nomem:
    x->nomem = 1;
    return NULL;
}

/* ${file:PATH}: the file's content (at most WC_CONFIG_MAX_FILE_VALUE bytes,
 * no NUL, trailing CR/LF removed) appended to out. Returns the position
 * after the reference, or NULL (reported at the value's line). */
static const char *s_file_ref(struct s_ctx *x, const struct wc_cnode *n, const char *path,
                              const char *p, const char *end, struct wc_buf *out)
{
    struct wc_buf fpath = WC_BUF_INIT, text = WC_BUF_INIT;
    const char *after, *ret = NULL;
    char chunk[4096];
    FILE *f = NULL;
    size_t got;

    if (!(after = s_file_path(x, n, path, p, end, &fpath)))
        goto out;
    if (fpath.ptr[0] != '/') {
        s_err(x, n, "%s: ${file:%s}: the path must be absolute", path, fpath.ptr);
        goto out;
    }
    if (!(f = fopen(fpath.ptr, "rb"))) {
        s_err(x, n, "%s: ${file:%s}: cannot read it: %s", path, fpath.ptr, strerror(errno));
        goto out;
    }
    wc_buf_init(&text, WC_CONFIG_MAX_FILE_VALUE);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        int rc = wc_buf_append(&text, chunk, got);

        if (rc == WC_ERR_TOO_LARGE) {
            s_err(x, n, "%s: ${file:%s}: larger than %zu bytes", path, fpath.ptr,
                  WC_CONFIG_MAX_FILE_VALUE);
            goto out;
        }
        if (rc != WC_OK) {
            x->nomem = 1;
            goto out;
        }
    }
    if (ferror(f)) {
        s_err(x, n, "%s: ${file:%s}: cannot read it: %s", path, fpath.ptr,
              strerror(errno ? errno : EIO));
        goto out;
    }
    while (text.len > 0 && (text.ptr[text.len - 1] == '\n' || text.ptr[text.len - 1] == '\r'))
        text.len--;
    if (text.len && memchr(text.ptr, '\0', text.len)) {
        s_err(x, n, "%s: ${file:%s}: contains a NUL character", path, fpath.ptr);
        goto out;
    }
    if (text.len && wc_buf_append(out, text.ptr, text.len) != WC_OK) {
        x->nomem = 1;
        goto out;
    }
    ret = after;
out:
    if (f)
        fclose(f);
    wc_secure_zero(chunk, sizeof(chunk));
    wc_buf_clean_up_secure(&text);
    wc_buf_clean_up(&fpath);
    return ret;
}

/* ${VAR} / ${VAR:-default} / $${ -> "${". One pass: expanded text is
 * copied, never scanned again. Returns false (reported) on an error; for a
 * secret the reference's text is not echoed (it may be the secret itself,
 * mistyped). *from_file tells whether any of the result is text of the file
 * (literal text or a default used) rather than the environment's. */
static bool s_expand(struct s_ctx *x, const struct wc_cnode *n, const char *path, bool secret,
                     struct wc_buf *out, bool *from_file)
{
    const char *s = n->value, *end = n->value + n->len;

    *from_file = false;

    while (s < end) {
        const char *name, *close, *def = NULL, *val;
        size_t name_len;

        if (s + 2 < end && s[0] == '$' && s[1] == '$' && s[2] == '{') {
            if (wc_buf_append(out, "${", 2) != WC_OK)
                goto nomem;
            *from_file = true;
            s += 3;
            continue;
        }
        if (!(s + 1 < end && s[0] == '$' && s[1] == '{')) {
            if (wc_buf_append_char(out, *s++) != WC_OK)
                goto nomem;
            *from_file = true;
            continue;
        }
        if ((size_t)(end - s) > 7 && !memcmp(s + 2, "file:", 5)) {
            const char *after;

            if (!(after = s_file_ref(x, n, path, s + 7, end, out)))
                return false;
            s = after;
            continue;
        }
        name = s + 2;
        close = memchr(name, '}', (size_t)(end - name));
        if (!close) {
            s_err(x, n, "%s: unterminated ${ (write $${ for a literal ${)", path);
            return false;
        }
        for (name_len = 0; name + name_len < close && s_var_char(name[name_len]); name_len++)
            ;
        if (name_len + 1 < (size_t)(close - name) && name[name_len] == ':' &&
            name[name_len + 1] == '-')
            def = name + name_len + 2;
        if (name_len == 0 || !s_var_start(name[0]) ||
            (!def && name + name_len != close)) {
            char shown[S_SHOW_MAX];
            char *tmp;

            if (secret) {
                s_err(x, n, "%s: invalid variable reference (use ${NAME} or ${NAME:-default})",
                      path);
                return false;
            }
            if (!(tmp = wc_strndup(s, (size_t)(close - s) + 1)))
                goto nomem;
            s_err(x, n, "%s: invalid variable reference '%s' (use ${NAME} or ${NAME:-default})",
                  path, s_show(tmp, shown, sizeof(shown)));
            wc_secure_zero(tmp, strlen(tmp));
            free(tmp);
            return false;
        }
        {
            char var[256];
            if (name_len >= sizeof(var)) {
                s_err(x, n, "%s: variable name too long", path);
                return false;
            }
            memcpy(var, name, name_len);
            var[name_len] = '\0';
            val = getenv(var);
            if (def) {
                if (wc_str_empty(val)) {
                    if (wc_buf_append(out, def, (size_t)(close - def)) != WC_OK)
                        goto nomem;
                    *from_file = *from_file || close > def;
                    val = NULL;
                }
            } else if (!val) {
                s_err(x, n, "%s: environment variable %s is not set (use ${%s:-default} "
                            "for a default)", path, var, var);
                return false;
            }
            if (val && wc_buf_append_cstr(out, val) != WC_OK)
                goto nomem;
        }
        s = close + 1;
    }
    if (wc_buf_append(out, "", 0) != WC_OK) /* make sure ptr is set */
        goto nomem;
    return true;
nomem:
    x->nomem = 1;
    return false;
}

/* The expanded text of a scalar node (caller frees, secure), or NULL with
 * the problem reported. A secret's text is never echoed. *from_file as for
 * s_expand. */
static char *s_scalar_ex(struct s_ctx *x, const struct wc_cnode *n, const char *path,
                         const char *expected, bool secret, bool *from_file)
{
    struct wc_buf b = WC_BUF_INIT;

    if (n->kind != WC_CNODE_SCALAR) {
        if (n->kind != WC_CNODE_BAD)
            s_err(x, n, "%s: expected %s, got %s", path, expected, wc_cnode_kind_name(n));
        return NULL;
    }
    if (memchr(n->value, '\0', n->len)) {
        s_err(x, n, "%s: contains a NUL character", path);
        return NULL;
    }
    if (!s_expand(x, n, path, secret, &b, from_file)) {
        wc_buf_clean_up_secure(&b);
        return NULL;
    }
    return wc_buf_steal(&b);
}

static char *s_scalar(struct s_ctx *x, const struct wc_cnode *n, const char *path,
                      const char *expected)
{
    bool from_file = false;

    return s_scalar_ex(x, n, path, expected, false, &from_file);
}

static bool s_parse_int(const char *v, long long *out)
{
    const char *p = v;
    char *end = NULL;

    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    *out = strtoll(v, &end, 10);
    return errno == 0 && end && *end == '\0';
}

static bool s_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}


static bool s_valid_url(const char *v)
{
    size_t skip;

    if (!strncmp(v, "https://", 8))
        skip = 8;
    else if (!strncmp(v, "http://", 7))
        skip = 7;
    else
        return false;
    if (!v[skip] || v[skip] == '/')
        return false;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* An endpoint override: a URL whose only placeholder is {region}. */
static bool s_valid_endpoint(const char *v)
{
    if (!s_valid_url(v))
        return false;
    for (const char *p = v; (p = strpbrk(p, "{}")); p += 8)
        if (strncmp(p, "{region}", 8) != 0)
            return false;
    return true;
}

/* host:port where host is written out: an IPv4 address, "localhost" or an
 * [IPv6] address (the listener binds exactly that; a host name would need
 * DNS at start and is refused there, so here too). */
static bool s_valid_hostport(const char *v)
{
    char host[64];
    const char *colon;
    long long port = 0;
    unsigned char addr[16];

    if (v[0] == '[') {
        const char *rb = strchr(v, ']');
        if (!rb || rb == v + 1 || rb[1] != ':' || (size_t)(rb - v - 1) >= sizeof(host))
            return false;
        memcpy(host, v + 1, (size_t)(rb - v - 1));
        host[rb - v - 1] = '\0';
        if (inet_pton(AF_INET6, host, addr) != 1)
            return false;
        colon = rb + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon || memchr(v, ':', (size_t)(colon - v)) || colon == v ||
            (size_t)(colon - v) >= sizeof(host))
            return false;
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
        if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, addr) != 1)
            return false;
    }
    if (!colon[1] || colon[1] == '+' || colon[1] == '-' || !s_parse_int(colon + 1, &port))
        return false;
    return port >= 1 && port <= 65535;
}

static bool s_valid_session(const char *v)
{
    size_t n = strlen(v);

    if (n < 2 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
              (v[i] >= '0' && v[i] <= '9') || strchr("+=,.@_-", v[i])))
            return false;
    return true;
}

/* A notifier's name: it becomes a metrics label and the state file's key. */
static bool s_valid_name(const char *v)
{
    size_t n = strlen(v);

    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
              (v[i] >= '0' && v[i] <= '9') || strchr("_.:#-", v[i])))
            return false;
    return true;
}

/* arn:<partition>:iam::<12 digits or {account_id}>:role/<path/name> */
static bool s_valid_role_arn(const char *v)
{
    static const char ph[] = "{account_id}";
    const char *p = v, *acct;
    size_t acct_len;

    if (strncmp(p, "arn:", 4))
        return false;
    p += 4;
    if (strncmp(p, "aws", 3))
        return false;
    while (*p && *p != ':') {
        if (!((*p >= 'a' && *p <= 'z') || *p == '-'))
            return false;
        p++;
    }
    if (strncmp(p, ":iam::", 6))
        return false;
    acct = p + 6;
    p = strchr(acct, ':');
    if (!p)
        return false;
    acct_len = (size_t)(p - acct);
    if (!(acct_len == 12 && s_digits(acct, 12)) &&
        !(acct_len == sizeof(ph) - 1 && !memcmp(acct, ph, acct_len)))
        return false;
    if (strncmp(p, ":role/", 6) || !p[6] || p[strlen(p) - 1] == '/')
        return false;
    for (p += 6; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("+=,.@_-/", *p)))
            return false;
    return true;
}

static void s_apply_map(struct s_ctx *x, const struct wc_cnode *n, const struct s_key *keys,
                        void *base, const char *path);

static void s_apply_notifiers(struct s_ctx *x, struct wc_config *c, const struct wc_cnode *n,
                              const char *path);

static void s_path(char *out, size_t outlen, const char *parent, const char *name)
{
    if (parent && *parent)
        snprintf(out, outlen, "%s.%s", parent, name);
    else
        snprintf(out, outlen, "%s", name);
}

/* Why v is not an entry of a list of that type, or NULL when it is. */
static const char *s_list_item_problem(enum s_type type, const char *v)
{
    switch (type) {
    case S_ACCOUNT_IDS:
        if (!wc_account_id_is_valid(v) && !wc_org_id_is_valid(v))
            return "is neither a 12-digit account id nor an AWS Organizations id (o-...)";
        return NULL;
    case S_TOPIC_GLOBS:
        if (strncmp(v, "arn:", 4) != 0)
            return "is not an SNS topic ARN or ARN glob (arn:aws:sns:REGION:ACCOUNT:TOPIC)";
        return NULL;
    case S_BUCKET_GLOBS:
        if (!strncmp(v, "s3://", 5) || v[0] == '/')
            return "is not a bucket or bucket/key glob (write my-bucket or "
                   "my-bucket/AWSLogs/*, without s3://)";
        return NULL;
    default:
        return NULL;
    }
}

static void s_apply_globs(struct s_ctx *x, const struct wc_cnode *n, enum s_type type,
                          struct wc_strlist *l, const char *path)
{
    size_t accounts = 0;

    if (n->kind != WC_CNODE_SEQ) {
        if (n->kind != WC_CNODE_BAD)
            s_err(x, n, "%s: expected a list of strings, got %s", path, wc_cnode_kind_name(n));
        return;
    }
    wc_strlist_clean_up(l);
    for (size_t i = 0; i < n->n; i++) {
        char shown[S_SHOW_MAX], *v = s_scalar(x, n->items[i], path, "a string");
        const char *problem;

        if (!v)
            continue;
        if (!*v)
            s_err(x, n->items[i], "%s: empty %s", path, type == S_ACCOUNT_IDS ? "id" : "pattern");
        else if ((problem = s_list_item_problem(type, v)) != NULL)
            s_err(x, n->items[i], "%s: '%s' %s", path, s_show(v, shown, sizeof(shown)), problem);
        else if (wc_strlist_push(l, v) != WC_OK)
            x->nomem = 1;
        else if (wc_account_id_is_valid(v))
            accounts++;
        free(v);
    }
    /* An organization's members cannot be known offline: a list of org ids
     * alone would have to allow every account or none. Say so instead. */
    if (type == S_ACCOUNT_IDS && l->len > 0 && accounts == 0)
        s_err(x, n, "%s: only AWS Organizations ids: whochanged cannot tell which accounts "
                    "belong to an organization (that takes an AWS Organizations call, which it "
                    "does not make); list the 12-digit account ids", path);
}

static void s_apply_account_map(struct s_ctx *x, const struct wc_cnode *n,
                                struct wc_config_map *m, const char *path)
{
    if (n->kind != WC_CNODE_MAP) {
        if (n->kind != WC_CNODE_BAD)
            s_err(x, n, "%s: expected a mapping of account id to string, got %s", path,
                  wc_cnode_kind_name(n));
        return;
    }
    if (n->n / 2 > S_MAP_MAX_ENTRIES) {
        s_err(x, n, "%s: more than %d entries", path, S_MAP_MAX_ENTRIES);
        return;
    }
    s_map_clean_up(m);
    m->items = calloc(n->n / 2 + 1, sizeof(*m->items));
    if (!m->items) {
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const struct wc_cnode *k = n->items[i], *v = n->items[i + 1];
        char shown[S_SHOW_MAX], *val;
        bool dup = false;

        if (k->kind != WC_CNODE_SCALAR) {
            if (k->kind != WC_CNODE_BAD)
                s_err(x, k, "%s: keys must be account ids, got %s", path, wc_cnode_kind_name(k));
            continue;
        }
        for (size_t j = 0; j < i && !dup; j += 2)
            if (n->items[j]->kind == WC_CNODE_SCALAR && !strcmp(n->items[j]->value, k->value)) {
                s_err(x, k, "%s: duplicate key '%s' (first at line %d)", path,
                      s_show(k->value, shown, sizeof(shown)), n->items[j]->line);
                dup = true;
            }
        if (dup)
            continue;
        if (!wc_account_id_is_valid(k->value)) {
            s_err(x, k, "%s: key '%s' is not a 12-digit account id", path,
                  s_show(k->value, shown, sizeof(shown)));
            continue;
        }
        val = s_scalar(x, v, path, "a string");
        if (!val)
            continue;
        if (!*val) {
            s_err(x, v, "%s: empty value for %s", path, k->value);
            free(val);
            continue;
        }
        m->items[m->len].key = wc_strdup(k->value);
        m->items[m->len].value = val;
        if (!m->items[m->len].key) {
            free(val);
            x->nomem = 1;
            return;
        }
        m->len++;
    }
}

static void s_apply_verdicts(struct s_ctx *x, const struct wc_cnode *n, unsigned *out,
                             const char *path)
{
    unsigned set = 0;
    bool bad = false;

    if (n->kind != WC_CNODE_SEQ) {
        if (n->kind != WC_CNODE_BAD)
            s_err(x, n, "%s: expected a list of verdicts, got %s", path, wc_cnode_kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        char shown[S_SHOW_MAX], *v = s_scalar(x, n->items[i], path, "a verdict");
        enum wc_verdict verdict;

        if (!v) {
            bad = true;
            continue;
        }
        if (wc_verdict_parse(v, &verdict) != WC_OK) {
            s_err(x, n->items[i],
                  "%s: unknown verdict '%s' (one of human, automation, aws_service, "
                  "unattributed, ignored)", path, s_show(v, shown, sizeof(shown)));
            bad = true;
        } else {
            set |= WC_VERDICT_BIT(verdict);
        }
        free(v);
    }
    if (!bad && !set)
        s_err(x, n, "%s: name at least one verdict", path);
    *out = set;
}

/* One key's value. */
static void s_apply_value(struct s_ctx *x, const struct s_key *k, const struct wc_cnode *v,
                          void *base, const char *path)
{
    char shown[S_SHOW_MAX];
    char *s = NULL;
    bool secret = (k->flags & S_SECRET) != 0;

    if (v->kind == WC_CNODE_NULL || v->kind == WC_CNODE_BAD)
        return; /* null: keep the default */
    switch (k->type) {
    case S_SECTION:
        s_apply_map(x, v, k->sub, base, path);
        return;
    case S_GLOBS:
    case S_ACCOUNT_IDS:
    case S_TOPIC_GLOBS:
    case S_BUCKET_GLOBS:
        s_apply_globs(x, v, k->type, FIELD(base, k, struct wc_strlist), path);
        return;
    case S_ACCOUNT_MAP:
        s_apply_account_map(x, v, FIELD(base, k, struct wc_config_map), path);
        return;
    case S_VERDICTS:
        s_apply_verdicts(x, v, FIELD(base, k, unsigned), path);
        return;
    case S_NOTIFIERS:
        s_apply_notifiers(x, base, v, path);
        return;
    case S_TYPE:
        return; /* read by s_apply_notifiers */
    case S_INT: {
        long long i = 0;
        if (!(s = s_scalar(x, v, path, "an integer")))
            return;
        if (!s_parse_int(s, &i))
            s_err(x, v, "%s: expected an integer, got '%s'", path, s_show(s, shown, sizeof(shown)));
        else if (i < k->min || i > k->max)
            s_err(x, v, "%s: must be between %d and %d, got %s", path, k->min, k->max,
                  s_show(s, shown, sizeof(shown)));
        else
            *FIELD(base, k, int) = (int)i;
        break;
    }
    case S_BOOL:
        if (!(s = s_scalar(x, v, path, "true or false")))
            return;
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
            *FIELD(base, k, bool) = true;
        else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
            *FIELD(base, k, bool) = false;
        else
            s_err(x, v, "%s: expected true or false, got '%s'", path,
                  s_show(s, shown, sizeof(shown)));
        break;
    case S_ENUM: {
        size_t i;
        struct wc_buf list = WC_BUF_INIT;
        if (!(s = s_scalar(x, v, path, "a string")))
            return;
        for (i = 0; k->choices[i]; i++)
            if (!strcmp(s, k->choices[i]))
                break;
        if (k->choices[i]) {
            *FIELD(base, k, int) = (int)i;
            break;
        }
        for (i = 0; k->choices[i]; i++)
            if (wc_buf_appendf(&list, "%s%s", i ? ", " : "", k->choices[i]) != WC_OK)
                x->nomem = 1;
        s_err(x, v, "%s: must be one of %s; got '%s'", path, list.ptr ? list.ptr : "",
              s_show(s, shown, sizeof(shown)));
        wc_buf_clean_up(&list);
        break;
    }
    default: { /* the string types */
        const char *what = NULL;
        bool from_file = false;
        if (!(s = s_scalar_ex(x, v, path, "a string", secret, &from_file)))
            return;
        if (!*s && (k->flags & S_NONEMPTY || k->type != S_STR))
            what = "must not be empty";
        else if (k->type == S_URL && !s_valid_url(s))
            what = "must be an http:// or https:// URL";
        else if (k->type == S_ENDPOINT && !s_valid_endpoint(s))
            what = "must be an http:// or https:// URL, where {region} is the only placeholder";
        else if (k->type == S_PROXY && !wc_http_proxy_url_ok(s))
            what = "must be a proxy URL, [http|https|socks5h|...://][user:password@]host[:port], "
                   "or none";
        else if (k->type == S_HOSTPORT && !s_valid_hostport(s))
            what = "must be IP:port or localhost:port (port 1-65535), e.g. 127.0.0.1:9100, "
                   "[::1]:9100 or 0.0.0.0:9100 (a host name is not looked up)";
        else if (k->type == S_REGION && !wc_region_is_valid(s))
            what = "must be an AWS region name such as eu-west-1";
        else if (k->type == S_TABLE && !wc_dynamodb_table_is_valid(s))
            what = "must be a DynamoDB table name: 3-255 characters of letters, digits and _.-";
        else if (k->type == S_SESSION && !s_valid_session(s))
            what = "must be 2-64 characters of letters, digits and +=,.@_-";
        else if (k->type == S_NAME && !s_valid_name(s))
            what = "must be 1-64 characters of letters, digits and _.:#-";
        else if (k->type == S_ROLE_ARN && !s_valid_role_arn(s))
            what = "must be a role ARN, arn:aws:iam::<account id or {account_id}>:role/<name>";
        else if (secret && strlen(s) < S_SECRET_MIN)
            what = "a secret must be at least 8 bytes long";
        else if (secret && strstr(S_REDACTED, s))
            what = "a secret must not be part of \"" S_REDACTED "\", the text logs show "
                   "in its place";
        if (what) {
            if (k->type == S_PROXY && *s) {
                char red[256];
                wc_http_proxy_redact(s, red, sizeof(red));
                s_err(x, v, "%s: %s, got '%s'", path, what, s_show(red, shown, sizeof(shown)));
            } else if (secret || !*s)
                s_err(x, v, "%s: %s", path, what);
            else
                s_err(x, v, "%s: %s, got '%s'", path, what, s_show(s, shown, sizeof(shown)));
            break;
        }
        {
            char **field = FIELD(base, k, char *);
            if (secret)
                s_free_secret(*field);
            else
                free(*field);
            *field = s;
            s = NULL;
        }
        if (secret && from_file && !x->literal_secret_line) {
            x->literal_secret_line = v->line;
            snprintf(x->literal_secret_key, sizeof(x->literal_secret_key), "%s", path);
        }
        break;
    }
    }
    if (s && secret)
        s_free_secret(s);
    else
        free(s);
}

static void s_known_keys(struct s_ctx *x, const struct s_key *keys, struct wc_buf *out)
{
    for (const struct s_key *k = keys; k->name; k++)
        if (wc_buf_appendf(out, "%s%s", k == keys ? "" : ", ", k->name) != WC_OK)
            x->nomem = 1;
}

static void s_apply_map(struct s_ctx *x, const struct wc_cnode *n, const struct s_key *keys,
                        void *base, const char *path)
{
    const struct wc_cnode *seen[32] = {0};
    size_t nkeys = 0;

    for (const struct s_key *k = keys; k->name; k++)
        nkeys++;
    if (n->kind == WC_CNODE_NULL || n->kind == WC_CNODE_BAD)
        return;
    if (nkeys > sizeof(seen) / sizeof(seen[0])) { /* a schema bug, caught by any test */
        s_err(x, n, "internal error: the schema table for '%s' is too long", path);
        return;
    }
    if (n->kind != WC_CNODE_MAP) {
        if (*path)
            s_err(x, n, "%s: expected a mapping, got %s", path, wc_cnode_kind_name(n));
        else
            s_err(x, n, "the top level must be a mapping, got %s", wc_cnode_kind_name(n));
        return;
    }
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const struct wc_cnode *kn = n->items[i], *vn = n->items[i + 1];
        char child[256], shown[S_SHOW_MAX];
        size_t j;

        if (kn->kind != WC_CNODE_SCALAR) {
            if (kn->kind != WC_CNODE_BAD)
                s_err(x, kn, "%s%skeys must be strings, got %s", path, *path ? ": " : "",
                      wc_cnode_kind_name(kn));
            continue;
        }
        for (j = 0; j < nkeys; j++)
            if (!strcmp(keys[j].name, kn->value))
                break;
        if (j == nkeys) {
            struct wc_buf known = WC_BUF_INIT;
            s_known_keys(x, keys, &known);
            if (*path)
                s_err(x, kn, "unknown key '%s' in %s (known: %s)",
                      s_show(kn->value, shown, sizeof(shown)), path, known.ptr ? known.ptr : "");
            else
                s_err(x, kn, "unknown key '%s' (known: %s)",
                      s_show(kn->value, shown, sizeof(shown)), known.ptr ? known.ptr : "");
            wc_buf_clean_up(&known);
            continue;
        }
        s_path(child, sizeof(child), path, keys[j].name);
        if (seen[j]) {
            s_err(x, kn, "duplicate key '%s' (first at line %d)", child, seen[j]->line);
            continue;
        }
        seen[j] = kn;
        s_apply_value(x, &keys[j], vn, base, child);
    }
}

/* Notifier i of c (only the entries with a known type are kept) is the
 * node of the list whose index this returns. */
static size_t s_notifier_index(const struct wc_cnode *list, const struct wc_config *c, size_t i)
{
    (void)list;
    return c->notifiers[i].node_index;
}

static const struct wc_cnode *s_notifier_node(const struct wc_cnode *list,
                                              const struct wc_config *c, size_t i)
{
    return list->items[s_notifier_index(list, c, i)];
}

static void s_apply_notifiers(struct s_ctx *x, struct wc_config *c, const struct wc_cnode *n,
                              const char *path)
{
    if (n->kind != WC_CNODE_SEQ) {
        s_err(x, n, "%s: expected a list of notifiers, got %s", path, wc_cnode_kind_name(n));
        return;
    }
    if (n->n > S_MAP_MAX_ENTRIES) {
        s_err(x, n, "%s: more than %d notifiers", path, S_MAP_MAX_ENTRIES);
        return;
    }
    c->notifiers = calloc(n->n + 1, sizeof(*c->notifiers));
    if (!c->notifiers) {
        x->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const struct wc_cnode *item = n->items[i], *type_node = NULL;
        struct wc_config_notifier *out = &c->notifiers[c->n_notifiers];
        char here[300], tpath[320], shown[S_SHOW_MAX], *type = NULL;
        size_t t, before;

        snprintf(here, sizeof(here), "%s[%zu]", path, i);
        if (item->kind != WC_CNODE_MAP) {
            if (item->kind != WC_CNODE_BAD)
                s_err(x, item, "%s: expected a mapping with a type, got %s", here,
                      wc_cnode_kind_name(item));
            continue;
        }
        for (size_t j = 0; j + 1 < item->n && !type_node; j += 2)
            if (item->items[j]->kind == WC_CNODE_SCALAR && !strcmp(item->items[j]->value, "type"))
                type_node = item->items[j + 1];
        if (!type_node) {
            s_err(x, item, "%s: missing key 'type' (slack, jsonl or webhook)", here);
            continue;
        }
        snprintf(tpath, sizeof(tpath), "%s.type", here);
        if (!(type = s_scalar(x, type_node, tpath, "a notifier type")))
            continue;
        for (t = 0; t < S_NKINDS; t++)
            if (s_notifier_kinds[t].name && !strcmp(s_notifier_kinds[t].name, type))
                break;
        if (t == S_NKINDS) {
            s_err(x, type_node, "%s: unknown notifier type '%s' (slack, jsonl or webhook)", tpath,
                  s_show(type, shown, sizeof(shown)));
            free(type);
            continue;
        }
        free(type);
        c->n_notifiers++;
        out->node_index = i;
        out->type = (enum wc_config_notifier_type)t;
        out->verdicts = s_notifier_kinds[t].default_verdicts;
        before = x->d->count;
        s_apply_map(x, item, s_notifier_kinds[t].keys, out, here);
        if (x->d->count != before)
            continue; /* the missing-key checks would only repeat those errors */
        switch (out->type) {
        case WC_CONFIG_NOTIFIER_SLACK:
            if (out->webhook_url && out->bot_token)
                s_err(x, item, "%s: set webhook_url or bot_token, not both", here);
            else if (!out->webhook_url && !out->bot_token)
                s_err(x, item, "%s: slack needs webhook_url, or bot_token and channel", here);
            else if (out->bot_token && !out->channel)
                s_err(x, item, "%s: bot_token needs a default channel", here);
            break;
        case WC_CONFIG_NOTIFIER_JSONL:
            if (!out->path)
                s_err(x, item, "%s: jsonl needs path", here);
            break;
        case WC_CONFIG_NOTIFIER_WEBHOOK:
            if (!out->url)
                s_err(x, item, "%s: webhook needs url", here);
            break;
        }
    }
    /* the ids (names, else type#index) key metrics and the state file */
    for (size_t i = 0; i < c->n_notifiers; i++) {
        char a[80], b[80];

        wc_config_notifier_id(c, i, a, sizeof(a));
        for (size_t j = 0; j < i; j++) {
            wc_config_notifier_id(c, j, b, sizeof(b));
            if (!strcmp(a, b)) {
                s_err(x, s_notifier_node(n, c, i), "%s[%zu]: the name '%s' is taken by %s[%zu]",
                      path, s_notifier_index(n, c, i), a, path, s_notifier_index(n, c, j));
                break;
            }
        }
    }
}

static int s_collect_secrets(struct wc_config *c)
{
    size_t cap = 2 + 3 * c->n_notifiers;

    c->secrets = calloc(cap, sizeof(*c->secrets));
    if (!c->secrets)
        return WC_ERR_NOMEM;
    for (const struct s_key *k = s_accounts_keys; k->name; k++)
        if ((k->flags & S_SECRET) && *CFIELD(c, k, char *))
            c->secrets[c->n_secrets++] = *CFIELD(c, k, char *);
    for (size_t i = 0; i < c->n_notifiers; i++) {
        const struct wc_config_notifier *n = &c->notifiers[i];
        for (const struct s_key *k = s_notifier_kinds[n->type].keys; k->name; k++)
            if ((k->flags & S_SECRET) && *CFIELD(n, k, char *) && c->n_secrets + 1 < cap)
                c->secrets[c->n_secrets++] = *CFIELD(n, k, char *);
    }
    return WC_OK;
}

/* A valid config that trusts what a queue message says (review finding 2):
 * a warning, said once at start by `run` and by check-config. */
static int s_trust_warnings(struct wc_config *c)
{
    const struct wc_strlist *allowed = &c->policy.allowed_accounts;
    struct wc_buf orgs = WC_BUF_INIT;
    int rc = WC_OK;

    if (c->role_arn && strstr(c->role_arn, "{account_id}") && allowed->len == 0 &&
        (rc = wc_strlist_push(&c->warnings,
                              "accounts.role_arn names {account_id} and accounts.allowed is "
                              "empty: any account id in a queue message is trusted, and the "
                              "role (with accounts.external_id) is assumed in whatever account "
                              "a message names; list your accounts in accounts.allowed")) !=
            WC_OK)
        return rc;
    for (size_t i = 0; i < allowed->len && rc == WC_OK; i++)
        if (wc_org_id_is_valid(allowed->items[i]))
            rc = wc_buf_appendf(&orgs, "%s%s", orgs.len ? ", " : "accounts.allowed: ",
                                allowed->items[i]);
    if (rc == WC_OK && orgs.len &&
        (rc = wc_buf_appendf(&orgs, ": not checked (membership of an AWS Organizations "
                                    "organization cannot be verified offline); only the "
                                    "account ids listed are allowed")) == WC_OK)
        rc = wc_strlist_push(&c->warnings, orgs.ptr);
    wc_buf_clean_up(&orgs);
    return rc;
}

/* An endpoint override without {region} that names one AWS region's host:
 * every region's requests go there, signed for their own region (AWS
 * refuses them). CloudTrail is read in each change's region (global
 * services in their partition's home region) and oversized items in their
 * bucket's region. */
static int s_endpoint_warnings(struct wc_config *c)
{
    static const struct {
        const char *service, *what;
    } multi[] = {
        {"cloudtrail", "CloudTrail is read in the region of each change (global services: "
                       "us-east-1, us-gov-west-1, cn-north-1; Global Accelerator: us-west-2)"},
        {"s3", "oversized items are read in their bucket's region"},
    };
    struct wc_buf b = WC_BUF_INIT;
    int rc = WC_OK;

    for (size_t i = 0; i < sizeof(multi) / sizeof(multi[0]) && rc == WC_OK; i++) {
        const char *url = wc_config_endpoint(c, multi[i].service);

        if (!url || strstr(url, "{region}") ||
            !(strstr(url, ".amazonaws.com") || strstr(url, ".api.aws") ||
              strstr(url, ".amazonwebservices.com")))
            continue;
        wc_buf_reset(&b);
        if ((rc = wc_buf_appendf(&b, "endpoints.%s: %s serves one region, but %s: every "
                                     "request goes there, signed for its own region; write "
                                     "{region} in the URL (https://%s.{region}.amazonaws.com) "
                                     "or remove the override",
                                 multi[i].service, url, multi[i].what, multi[i].service)) == WC_OK)
            rc = wc_strlist_push(&c->warnings, b.ptr);
    }
    wc_buf_clean_up(&b);
    return rc;
}

/* Stable sort by position of the errors from index `from`; a last
 * whole-file entry ("too many errors", line 0) stays last. */
static void s_sort_errors(struct wc_config_errors *e, size_t from)
{
    size_t end = e->len;

    if (end > from && e->items[end - 1].line == 0)
        end--;
    for (size_t i = from + 1; i < end; i++) {
        struct wc_config_error cur = e->items[i];
        size_t j = i;

        while (j > from && (e->items[j - 1].line > cur.line ||
                            (e->items[j - 1].line == cur.line && e->items[j - 1].col > cur.col))) {
            e->items[j] = e->items[j - 1];
            j--;
        }
        e->items[j] = cur;
    }
}

/* The key node of a top-level key (the last, as the value applied). */
static const struct wc_cnode *s_top_key(const struct wc_cnode *root, const char *key)
{
    const struct wc_cnode *found = NULL;

    if (root->kind != WC_CNODE_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < root->n; i += 2)
        if (root->items[i]->kind == WC_CNODE_SCALAR && !strcmp(root->items[i]->value, key))
            found = root->items[i];
    return found;
}

/* The key node of section.key, else of section, else NULL. */
static const struct wc_cnode *s_section_key(const struct wc_cnode *root, const char *section,
                                            const char *key)
{
    const struct wc_cnode *sk = s_top_key(root, section), *found = NULL, *v = NULL;

    for (size_t i = 0; sk && i + 1 < root->n; i += 2)
        if (root->items[i] == sk)
            v = root->items[i + 1];
    for (size_t i = 0; v && v->kind == WC_CNODE_MAP && i + 1 < v->n; i += 2)
        if (v->items[i]->kind == WC_CNODE_SCALAR && !strcmp(v->items[i]->value, key))
            found = v->items[i];
    return found ? found : sk;
}

/* events: (the CloudTrail event stream, on when it has a queue_url) needs
 * a queue other than the Config queue, and to keep events at least as long
 * as a change may wait for its event (its window, then the grace period). */
static void s_check_events(struct s_ctx *x, const struct wc_cnode *root, const struct wc_config *c)
{
    int wait_s = c->events_grace_s + c->policy.skew_s;

    if (!c->events_queue_url)
        return;
    if (c->queue_url && !strcmp(c->queue_url, c->events_queue_url))
        s_err(x, s_section_key(root, "events", "queue_url"),
              "events.queue_url: the Config queue (queue_url); the events need a queue of "
              "their own");
    if ((long)c->events_retention_min * 60 <= wait_s)
        s_err(x, s_section_key(root, "events", "retention_minutes"),
              "events.retention_minutes: %d min is not longer than a change may wait for its "
              "event (correlation.skew_seconds + events.grace_seconds = %d s)",
              c->events_retention_min, wait_s);
}

/* ledger: a table with dynamodb, and only then (a table under type: file
 * would be silently unused). */
static void s_check_ledger(struct s_ctx *x, const struct wc_cnode *root, const struct wc_config *c)
{
    if (c->ledger_type == WC_CONFIG_LEDGER_DYNAMODB && !c->ledger_table)
        s_err(x, s_top_key(root, "ledger"),
              "ledger: type dynamodb needs `table` (the DynamoDB table's name)");
    if (c->ledger_type != WC_CONFIG_LEDGER_DYNAMODB && (c->ledger_table || c->ledger_region))
        s_err(x, s_section_key(root, "ledger", c->ledger_table ? "table" : "region"),
              "ledger: table and region are for type: dynamodb (the file ledger lives in "
              "state_dir)");
}

static int s_load(const char *name, const char *yaml, size_t len, struct wc_config **out,
                  struct wc_config_errors *errs)
{
    struct wc_config_errors local = WC_CONFIG_ERRORS_INIT;
    struct wc_config_diag d = {errs ? errs : &local, name, 0, 0};
    struct s_ctx x = {&d, 0, 0, ""};
    struct wc_cnode *root = NULL;
    struct wc_config *c = NULL;
    size_t first = 0;
    int rc;

    *out = NULL;
    if (len > WC_CONFIG_MAX_BYTES) {
        wc_config_diag_add(&d, 0, 0, "larger than %zu bytes", WC_CONFIG_MAX_BYTES);
        rc = WC_ERR_TOO_LARGE;
        goto out;
    }
    if (!(c = s_defaults())) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    if (name && !(c->path = wc_strdup(name))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    first = d.errs->len;
    rc = wc_cnode_parse(&d, yaml, len, &root);
    if (rc == WC_ERR_PARSE)
        rc = WC_ERR_CONFIG;
    if (rc != WC_OK)
        goto out;
    if (root)
        s_apply_map(&x, root, s_top_keys, c, "");
    if (c->region && !wc_region_is_valid(c->region)) {
        /* the key is checked as it is read: this came from the environment */
        const char *var = getenv("AWS_REGION");
        char shown[S_SHOW_MAX];

        s_err(&x, NULL, "no `region` key and $%s is '%s', not an AWS region name "
                        "(such as eu-west-1)",
              !wc_str_empty(var) ? "AWS_REGION" : "AWS_DEFAULT_REGION",
              s_show(c->region, shown, sizeof(shown)));
    }
    if (root && c->queue_url && c->queue_name) {
        /* one would be silently ignored: say which two */
        const struct wc_cnode *url = s_top_key(root, "queue_url"),
                              *qname = s_top_key(root, "queue_name");

        s_err(&x, qname, "queue_name: set queue_url or queue_name, not both (queue_url is set "
                        "at line %d)", url ? url->line : 0);
    }
    if (root) {
        s_check_events(&x, root, c);
        s_check_ledger(&x, root, c);
    }
    if (x.nomem || d.oom) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    if (d.count) {
        s_sort_errors(d.errs, first);
        rc = WC_ERR_CONFIG;
        goto out;
    }
    if ((rc = s_collect_secrets(c)) != WC_OK || (rc = s_trust_warnings(c)) != WC_OK ||
        (rc = s_endpoint_warnings(c)) != WC_OK)
        goto out;
    c->literal_secret_line = x.literal_secret_line;
    memcpy(c->literal_secret_key, x.literal_secret_key, sizeof(c->literal_secret_key));
    *out = c;
    c = NULL;
out:
    wc_cnode_destroy(root);
    wc_config_destroy(c);
    wc_config_errors_clean_up(&local);
    return rc;
}

int wc_config_load_string(const char *name, const char *yaml, size_t len,
                          struct wc_config **out, struct wc_config_errors *errs)
{
    if (!out || (!yaml && len))
        return WC_ERR_INVALID;
    return s_load(name ? name : "(string)", yaml ? yaml : "", len, out, errs);
}

int wc_config_load_defaults(struct wc_config **out)
{
    int rc = s_load(NULL, "", 0, out, NULL);

    if (rc == WC_OK && (*out)->path) {
        free((*out)->path);
        (*out)->path = NULL;
    }
    return rc;
}

static void s_file_error(struct wc_config_errors *errs, const char *path, const char *reason)
{
    struct wc_config_diag d = {errs, path, 0, 0};

    if (errs)
        wc_config_diag_add(&d, 0, 0, "%s", reason);
}

/* A file others can read that holds a secret written in it: a warning, not
 * an error (the operator may have reasons), said at start and by
 * check-config. A secret from the environment (${VAR}) is fine either way. */
static int s_check_mode(struct wc_config *c, mode_t mode)
{
    struct wc_buf b = WC_BUF_INIT;
    int rc;

    if (!c->literal_secret_line || !(mode & (S_IRGRP | S_IROTH)))
        return WC_OK;
    rc = wc_buf_appendf(&b, "%s: readable by %s (mode %04o) and holds a secret written in the "
                            "file (%s, line %d): chmod 600 it, or take the secret from the "
                            "environment with ${VAR}",
                        c->path ? c->path : "config",
                        (mode & S_IRGRP) && (mode & S_IROTH) ? "group and others"
                        : (mode & S_IRGRP)                   ? "its group"
                                                             : "others",
                        (unsigned)(mode & 07777), c->literal_secret_key, c->literal_secret_line);
    if (rc == WC_OK)
        rc = wc_strlist_push(&c->warnings, b.ptr);
    wc_buf_clean_up(&b);
    return rc;
}

int wc_config_load(const char *path, struct wc_config **out, struct wc_config_errors *errs)
{
    struct wc_buf text = WC_BUF_INIT;
    struct stat st;
    bool from_default = false;
    char chunk[8192];
    FILE *f = NULL;
    int rc = WC_OK;

    if (!out)
        return WC_ERR_INVALID;
    *out = NULL;
    if (!path) {
        path = getenv(WC_CONFIG_ENV);
        if (wc_str_empty(path)) {
            path = WC_CONFIG_DEFAULT_PATH;
            from_default = true;
        }
    }
    memset(&st, 0, sizeof(st));
    f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (from_default && e == ENOENT)
            return wc_config_load_defaults(out);
        s_file_error(errs, path, strerror(e));
        return e == ENOENT ? WC_ERR_NOT_FOUND : WC_ERR_IO;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        s_file_error(errs, path, strerror(EISDIR));
        rc = WC_ERR_IO;
        goto out;
    }
    wc_buf_init(&text, WC_CONFIG_MAX_BYTES + 1);
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0)
            break;
        if (text.len + n > WC_CONFIG_MAX_BYTES) {
            s_file_error(errs, path, "larger than 1 MiB (1048576 bytes)");
            rc = WC_ERR_TOO_LARGE;
            goto out;
        }
        if ((rc = wc_buf_append(&text, chunk, n)) != WC_OK)
            goto out;
    }
    if (ferror(f)) {
        s_file_error(errs, path, strerror(errno ? errno : EIO));
        rc = WC_ERR_IO;
        goto out;
    }
    rc = s_load(path, text.ptr ? text.ptr : "", text.len, out, errs);
    if (rc == WC_OK && (rc = s_check_mode(*out, st.st_mode)) != WC_OK) {
        wc_config_destroy(*out);
        *out = NULL;
    }
out:
    wc_secure_zero(chunk, sizeof(chunk));
    wc_buf_clean_up_secure(&text);
    if (f)
        fclose(f);
    return rc;
}

/* ---- dump ---------------------------------------------------------------- */

static int s_write(void *ctx, unsigned char *buffer, size_t size)
{
    return wc_buf_append(ctx, buffer, size) == WC_OK;
}

static int s_emit(yaml_emitter_t *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(e, ev) ? WC_OK : WC_ERR_NOMEM;
}

static int s_emit_scalar(yaml_emitter_t *e, const char *v, yaml_scalar_style_t style)
{
    yaml_event_t ev;

    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)v,
                                      (int)strlen(v), 1, 1, style))
        return WC_ERR_NOMEM;
    return s_emit(e, &ev);
}

/* A value as the loader reads it back: the loader expands ${VAR} in values
 * and turns "$${" into "${", so every "${" is written "$${". */
static int s_emit_str(yaml_emitter_t *e, const char *v, bool secret)
{
    struct wc_buf b = WC_BUF_INIT;
    int rc = WC_OK;

    if (!v)
        return s_emit_scalar(e, "null", YAML_PLAIN_SCALAR_STYLE);
    if (secret)
        return s_emit_scalar(e, S_REDACTED, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    for (const char *p = v; *p && rc == WC_OK; p++) {
        if (p[0] == '$' && p[1] == '{')
            rc = wc_buf_append_char(&b, '$');
        if (rc == WC_OK)
            rc = wc_buf_append_char(&b, *p);
    }
    if (rc == WC_OK)
        rc = s_emit_scalar(e, b.ptr ? b.ptr : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    wc_buf_clean_up(&b);
    return rc;
}

static int s_emit_start(yaml_emitter_t *e, bool map, bool flow)
{
    yaml_event_t ev;
    int ok;

    if (map)
        ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                 flow ? YAML_FLOW_MAPPING_STYLE
                                                      : YAML_BLOCK_MAPPING_STYLE);
    else
        ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                  flow ? YAML_FLOW_SEQUENCE_STYLE
                                                       : YAML_BLOCK_SEQUENCE_STYLE);
    return ok ? s_emit(e, &ev) : WC_ERR_NOMEM;
}

static int s_emit_end(yaml_emitter_t *e, bool map)
{
    yaml_event_t ev;
    int ok = map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);

    return ok ? s_emit(e, &ev) : WC_ERR_NOMEM;
}

static int s_emit_map(yaml_emitter_t *e, const struct s_key *keys, const void *base,
                      const struct wc_config *c);

static int s_emit_notifiers(yaml_emitter_t *e, const struct wc_config *c)
{
    int rc;

    if ((rc = s_emit_start(e, false, c->n_notifiers == 0)) != WC_OK)
        return rc;
    for (size_t i = 0; i < c->n_notifiers; i++)
        if ((rc = s_emit_map(e, s_notifier_kinds[c->notifiers[i].type].keys, &c->notifiers[i],
                             c)) != WC_OK)
            return rc;
    return s_emit_end(e, false);
}

static int s_emit_value(yaml_emitter_t *e, const struct s_key *k, const void *base,
                        const struct wc_config *c)
{
    char num[32];
    int rc;

    switch (k->type) {
    case S_SECTION:
        return s_emit_map(e, k->sub, base, c);
    case S_NOTIFIERS:
        return s_emit_notifiers(e, c);
    case S_TYPE:
        return s_emit_scalar(
            e, wc_config_notifier_type_name(((const struct wc_config_notifier *)base)->type),
            YAML_PLAIN_SCALAR_STYLE);
    case S_INT:
        snprintf(num, sizeof(num), "%d", *CFIELD(base, k, int));
        return s_emit_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
    case S_BOOL:
        return s_emit_scalar(e, *CFIELD(base, k, bool) ? "true" : "false",
                             YAML_PLAIN_SCALAR_STYLE);
    case S_ENUM:
        return s_emit_scalar(e, k->choices[*CFIELD(base, k, int)], YAML_PLAIN_SCALAR_STYLE);
    case S_GLOBS:
    case S_ACCOUNT_IDS:
    case S_TOPIC_GLOBS:
    case S_BUCKET_GLOBS: {
        const struct wc_strlist *l = CFIELD(base, k, struct wc_strlist);
        if ((rc = s_emit_start(e, false, l->len == 0)) != WC_OK)
            return rc;
        for (size_t i = 0; i < l->len; i++)
            if ((rc = s_emit_str(e, l->items[i], false)) != WC_OK)
                return rc;
        return s_emit_end(e, false);
    }
    case S_ACCOUNT_MAP: {
        const struct wc_config_map *m = CFIELD(base, k, struct wc_config_map);
        if ((rc = s_emit_start(e, true, m->len == 0)) != WC_OK)
            return rc;
        for (size_t i = 0; i < m->len; i++)
            if ((rc = s_emit_str(e, m->items[i].key, false)) != WC_OK ||
                (rc = s_emit_str(e, m->items[i].value, false)) != WC_OK)
                return rc;
        return s_emit_end(e, true);
    }
    case S_VERDICTS: {
        unsigned set = *CFIELD(base, k, unsigned);
        if ((rc = s_emit_start(e, false, true)) != WC_OK)
            return rc;
        for (size_t i = 0; i < S_NVERDICTS; i++)
            if ((set & WC_VERDICT_BIT(s_verdicts[i])) &&
                (rc = s_emit_scalar(e, wc_verdict_name(s_verdicts[i]),
                                    YAML_PLAIN_SCALAR_STYLE)) != WC_OK)
                return rc;
        return s_emit_end(e, false);
    }
    case S_PROXY: {
        char red[512];
        if (!*CFIELD(base, k, char *))
            return s_emit_str(e, NULL, false);
        wc_http_proxy_redact(*CFIELD(base, k, char *), red, sizeof(red));
        return s_emit_str(e, red, false);
    }
    default:
        return s_emit_str(e, *CFIELD(base, k, char *), (k->flags & S_SECRET) != 0);
    }
}

static int s_emit_map(yaml_emitter_t *e, const struct s_key *keys, const void *base,
                      const struct wc_config *c)
{
    int rc;

    if ((rc = s_emit_start(e, true, false)) != WC_OK)
        return rc;
    for (const struct s_key *k = keys; k->name; k++)
        if (!(k->flags & S_ALIAS) &&
            ((rc = s_emit_scalar(e, k->name, YAML_PLAIN_SCALAR_STYLE)) != WC_OK ||
             (rc = s_emit_value(e, k, base, c)) != WC_OK))
            return rc;
    return s_emit_end(e, true);
}

int wc_config_dump(const struct wc_config *c, struct wc_buf *out)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    int rc;

    if (!c || !out)
        return WC_ERR_INVALID;
    if (!yaml_emitter_initialize(&e))
        return WC_ERR_NOMEM;
    yaml_emitter_set_output(&e, s_write, out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_indent(&e, 2);
    if ((rc = wc_buf_append_cstr(out, "# whochanged effective configuration "
                                      "(defaults included, secrets redacted)\n")) != WC_OK)
        goto out;
    rc = WC_ERR_NOMEM;
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || s_emit(&e, &ev) ||
        !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || s_emit(&e, &ev))
        goto out;
    if ((rc = s_emit_map(&e, s_top_keys, c, c)) != WC_OK)
        goto out;
    rc = WC_ERR_NOMEM;
    if (!yaml_document_end_event_initialize(&ev, 1) || s_emit(&e, &ev) ||
        !yaml_stream_end_event_initialize(&ev) || s_emit(&e, &ev))
        goto out;
    rc = yaml_emitter_flush(&e) ? WC_OK : WC_ERR_NOMEM;
out:
    yaml_emitter_delete(&e);
    return rc;
}

/* ---- getters ------------------------------------------------------------- */

const struct wc_strlist *wc_config_warnings(const struct wc_config *c)
{
    static const struct wc_strlist none = WC_STRLIST_INIT;

    return c ? &c->warnings : &none;
}

const char *const *wc_config_secrets(const struct wc_config *c, size_t *n)
{
    static const char *const none[1] = {NULL};

    if (n)
        *n = c ? c->n_secrets : 0;
    return c && c->secrets ? (const char *const *)c->secrets : none;
}

const char *wc_config_path(const struct wc_config *c) { return c->path; }
const struct wc_policy *wc_config_policy(const struct wc_config *c) { return &c->policy; }
int wc_config_retry_for_s(const struct wc_config *c) { return c->retry_for_s; }
int wc_config_retry_initial_s(const struct wc_config *c) { return c->retry_initial_s; }
const char *wc_config_region(const struct wc_config *c) { return c->region; }

const char *wc_config_endpoint(const struct wc_config *c, const char *service)
{
    for (size_t i = 0; service && i < S_NSERVICES; i++)
        if (!strcmp(s_services[i], service))
            return c->endpoints[i];
    return NULL;
}

const char *wc_config_accounts_role_arn(const struct wc_config *c) { return c->role_arn; }
const char *wc_config_accounts_external_id(const struct wc_config *c) { return c->external_id; }
const char *wc_config_accounts_session_name(const struct wc_config *c) { return c->session_name; }
enum wc_log_level wc_config_log_level(const struct wc_config *c)
{
    return (enum wc_log_level)c->log_level;
}
enum wc_log_format wc_config_log_format(const struct wc_config *c)
{
    return (enum wc_log_format)c->log_format;
}
const char *wc_config_queue_url(const struct wc_config *c) { return c->queue_url; }
const char *wc_config_queue_name(const struct wc_config *c) { return c->queue_name; }
bool wc_config_notify_unattributed(const struct wc_config *c) { return c->notify_unattributed; }
int wc_config_max_in_flight(const struct wc_config *c) { return c->max_in_flight; }
const char *wc_config_state_dir(const struct wc_config *c) { return c->state_dir; }
enum wc_config_ledger_type wc_config_ledger_type(const struct wc_config *c)
{
    return (enum wc_config_ledger_type)c->ledger_type;
}
const char *wc_config_ledger_table(const struct wc_config *c) { return c->ledger_table; }
const char *wc_config_ledger_region(const struct wc_config *c) { return c->ledger_region; }
const char *wc_config_metrics_listen(const struct wc_config *c) { return c->metrics_listen; }
int wc_config_cloudtrail_rate(const struct wc_config *c) { return c->ct_rate; }
int wc_config_digest_s(const struct wc_config *c) { return c->digest_s; }
bool wc_config_cloudtrail_scan(const struct wc_config *c) { return c->ct_scan; }
const char *wc_config_events_queue_url(const struct wc_config *c) { return c->events_queue_url; }
int wc_config_events_retention_min(const struct wc_config *c) { return c->events_retention_min; }
size_t wc_config_events_max_bytes(const struct wc_config *c)
{
    return (size_t)c->events_max_mib * 1024 * 1024;
}
int wc_config_events_grace_s(const struct wc_config *c) { return c->events_grace_s; }
const char *wc_config_ca_bundle(const struct wc_config *c) { return c->ca_bundle; }
const char *wc_config_proxy(const struct wc_config *c) { return c->proxy; }
int wc_config_max_receive_failures(const struct wc_config *c) { return c->max_receive_failures; }

void wc_config_notifier_id(const struct wc_config *c, size_t i, char *out, size_t outlen)
{
    const struct wc_config_notifier *n = wc_config_notifier(c, i);

    if (!out || !outlen)
        return;
    if (n && n->name)
        snprintf(out, outlen, "%s", n->name);
    else
        snprintf(out, outlen, "%s#%zu", n ? wc_config_notifier_type_name(n->type) : "notifier", i);
}
size_t wc_config_notifier_count(const struct wc_config *c) { return c->n_notifiers; }

const struct wc_config_notifier *wc_config_notifier(const struct wc_config *c, size_t i)
{
    return i < c->n_notifiers ? &c->notifiers[i] : NULL;
}
