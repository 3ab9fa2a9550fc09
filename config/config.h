/* config.h - the configuration file: YAML in, a validated immutable struct out.
 *
 * Every key is optional; examples/config.yaml documents them all. Scalar
 * values (not keys) may use ${VAR} or ${VAR:-default} (the default when VAR
 * is unset or empty); the result is never expanded again, and "$${" is a
 * literal "${". ${file:/path} is the content of that file (systemd
 * LoadCredential, Kubernetes secrets), its trailing newlines removed; the
 * path must be absolute and may itself use ${VAR}
 * (${file:${CREDENTIALS_DIRECTORY}/slack-token}); a file that cannot be read
 * is an error at the value's file:line. A value read from a file counts as
 * not written in the config (no mode warning) and, for a secret, is
 * redacted like any other. A null value (`key:` or `key: ~`) means "use the default".
 * The loader is strict: unknown keys, wrong types, out-of-range numbers,
 * duplicate keys, YAML aliases and tags are errors, and every error is
 * collected (with its 1-based line and column) before the load fails.
 *
 * Secrets (accounts.external_id, and a notifier's webhook_url, bot_token,
 * hmac_secret) are wiped on destroy, shown as "(redacted)" by the dump, never
 * echoed in an error message, and listed by wc_config_secrets() so the caller
 * can register them with wc_logger_add_secret().
 */
#ifndef WC_CONFIG_H
#define WC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/finding.h"
#include "core/log.h"
#include "core/policy.h"

#define WC_CONFIG_DEFAULT_PATH "/etc/whochanged/config.yaml"
#define WC_CONFIG_ENV "WHOCHANGED_CONFIG"
#define WC_CONFIG_MAX_BYTES ((size_t)1024 * 1024)
/* The loader stops collecting after this many errors (and says so). */
#define WC_CONFIG_MAX_ERRORS 100

#define WC_CONFIG_DEFAULT_RETRY_FOR_S 900
#define WC_CONFIG_DEFAULT_RETRY_INITIAL_S 30
#define WC_CONFIG_DEFAULT_MAX_IN_FLIGHT 512
#define WC_CONFIG_DEFAULT_CT_RATE 2
#define WC_CONFIG_DEFAULT_DIGEST_S 5
#define WC_CONFIG_DEFAULT_STATE_DIR "/var/lib/whochanged"
#define WC_CONFIG_DEFAULT_SESSION_NAME "whochanged"
#define WC_CONFIG_DEFAULT_MAX_RECEIVE_FAILURES 3
#define WC_CONFIG_DEFAULT_EVENTS_RETENTION_MIN 30
#define WC_CONFIG_DEFAULT_EVENTS_MAX_MIB 64
#define WC_CONFIG_DEFAULT_EVENTS_GRACE_S 120
/* ${file:PATH}: at most this many bytes are read. */
#define WC_CONFIG_MAX_FILE_VALUE ((size_t)64 * 1024)
/* One problem. line/col are 1-based; 0 when the error concerns the whole
 * file (unreadable, too large). */
struct wc_config_error {
    char *file;
    int line;
    int col;
    char *reason;
};

struct wc_config_errors {
    struct wc_config_error *items;
    size_t len;
};

#define WC_CONFIG_ERRORS_INIT {NULL, 0}

/* Owned string -> string map (insertion order, keys unique). */
struct wc_config_kv {
    char *key;
    char *value;
};

struct wc_config_map {
    struct wc_config_kv *items;
    size_t len;
};

/* NULL when key is absent. */
const char *wc_config_map_get(const struct wc_config_map *m, const char *key);

enum wc_config_notifier_type {
    WC_CONFIG_NOTIFIER_SLACK = 1,
    WC_CONFIG_NOTIFIER_JSONL,
    WC_CONFIG_NOTIFIER_WEBHOOK,
};

/* Bit for a verdict in wc_config_notifier.verdicts. */

/* One entry of `notifiers:`. Fields not used by the type are NULL/empty. */
struct wc_config_notifier {
    enum wc_config_notifier_type type;
    unsigned verdicts;            /* WC_VERDICT_BIT(enum wc_verdict) set */
    char *name;                   /* `name:`, unique; NULL: "<type>#<index>" is used */
    size_t node_index;            /* its index in the file's list (for errors) */
    /* slack */
    char *webhook_url;            /* secret */
    char *bot_token;              /* secret */
    char *channel;
    char *api_url;                /* Slack Web API base (default https://slack.com/api) */
    struct wc_config_map channel_by_account; /* 12-digit account id -> channel */
    struct wc_config_map account_aliases;    /* 12-digit account id -> display name */
    /* jsonl */
    char *path;
    /* webhook */
    char *url;
    char *hmac_secret;            /* secret */
};

const char *wc_config_notifier_type_name(enum wc_config_notifier_type t);

struct wc_config; /* opaque, immutable after load */

/* Load from a file. path NULL => $WHOCHANGED_CONFIG if set and non-empty,
 * else WC_CONFIG_DEFAULT_PATH; when the path came from that default and the
 * file does not exist, *out holds the defaults (wc_config_path() NULL).
 * Returns WC_OK; WC_ERR_CONFIG (errors in errs); WC_ERR_NOT_FOUND or
 * WC_ERR_IO when the file cannot be read and WC_ERR_TOO_LARGE when it is
 * over WC_CONFIG_MAX_BYTES (one error with line 0 in errs, its reason the
 * system's); WC_ERR_NOMEM. errs may be NULL; otherwise the caller cleans it
 * up (with wc_config_errors_clean_up) whatever the result. */
int wc_config_load(const char *path, struct wc_config **out, struct wc_config_errors *errs);
/* Same from memory; name is the file name used in errors (and the path). */
int wc_config_load_string(const char *name, const char *yaml, size_t len,
                          struct wc_config **out, struct wc_config_errors *errs);
/* Only the defaults (region from the environment). */
int wc_config_load_defaults(struct wc_config **out);
void wc_config_destroy(struct wc_config *c);

void wc_config_errors_clean_up(struct wc_config_errors *e);
/* One "file:line:col: reason" line per error (or "file: reason" when line
 * is 0). Returns WC_OK or WC_ERR_IO. */
int wc_config_errors_print(const struct wc_config_errors *e, FILE *f);

/* The effective config (every key, defaults included, ${VAR} expanded) as
 * YAML, secrets shown as "(redacted)". Appends to out. Without secrets, the
 * text loads back to the same config. */
int wc_config_dump(const struct wc_config *c, struct wc_buf *out);

/* Things worth saying about a valid config, one line each (no file:line
 * prefix needed: each names its file), valid while c lives: a file
 * readable by group or others that holds a secret written in it rather than
 * taken from the environment; an accounts.role_arn with {account_id} and
 * no accounts.allowed (any account a queue message names is trusted); AWS
 * Organizations ids in accounts.allowed (not checked). `run` logs them at
 * start (cmd/stack.c), explain logs them, check-config prints them on
 * stderr. */
const struct wc_strlist *wc_config_warnings(const struct wc_config *c);

/* Secret values to register with wc_logger_add_secret(): a NULL-terminated
 * array valid while c lives; *n (may be NULL) receives the count. */
const char *const *wc_config_secrets(const struct wc_config *c, size_t *n);

/* Getters. Strings are NULL when unset and valid while c lives. */
const char *wc_config_path(const struct wc_config *c); /* NULL when defaults only */
const struct wc_policy *wc_config_policy(const struct wc_config *c);
int wc_config_retry_for_s(const struct wc_config *c);
int wc_config_retry_initial_s(const struct wc_config *c);
/* region: the key, else $AWS_REGION, else $AWS_DEFAULT_REGION, else NULL. */
const char *wc_config_region(const struct wc_config *c);
/* service: "sqs", "cloudtrail", "sts", "s3" or "dynamodb"; NULL when not
 * overridden. */
const char *wc_config_endpoint(const struct wc_config *c, const char *service);
/* NULL when no role is to be assumed; may contain "{account_id}". */
const char *wc_config_accounts_role_arn(const struct wc_config *c);
const char *wc_config_accounts_external_id(const struct wc_config *c);
const char *wc_config_accounts_session_name(const struct wc_config *c);
enum wc_log_level wc_config_log_level(const struct wc_config *c);
enum wc_log_format wc_config_log_format(const struct wc_config *c);
const char *wc_config_queue_url(const struct wc_config *c);
const char *wc_config_queue_name(const struct wc_config *c);
bool wc_config_notify_unattributed(const struct wc_config *c);
int wc_config_max_in_flight(const struct wc_config *c);
const char *wc_config_state_dir(const struct wc_config *c);
/* ledger: where the record of accepted deliveries lives. type file (the
 * default): state_dir/accepted.log, one host; dynamodb: the DynamoDB table
 * `table` (required then) in `region` (default: the worker's region),
 * shared by workers on several hosts. */
enum wc_config_ledger_type {
    WC_CONFIG_LEDGER_FILE = 0,
    WC_CONFIG_LEDGER_DYNAMODB,
};
enum wc_config_ledger_type wc_config_ledger_type(const struct wc_config *c);
const char *wc_config_ledger_table(const struct wc_config *c);
const char *wc_config_ledger_region(const struct wc_config *c); /* NULL: the worker's */
const char *wc_config_metrics_listen(const struct wc_config *c); /* host:port or NULL */
/* cloudtrail.lookups_per_second: LookupEvents calls per second per account
 * and region (default 2, CloudTrail's limit). */
int wc_config_cloudtrail_rate(const struct wc_config *c);
/* cloudtrail.scan: when several changes of one account-region wait, read
 * all of its write events in their window at once (default true; false:
 * one lookup per change, the behaviour before the scheduler). */
bool wc_config_cloudtrail_scan(const struct wc_config *c);
/* events: the CloudTrail event stream (README "CloudTrail events as a
 * second source"). queue_url: the SQS queue of EventBridge "AWS API Call via
 * CloudTrail" events; NULL (the default) leaves the stream off. The Config
 * queue's URL, or a retention not longer than correlation.skew_seconds +
 * grace_seconds, is an error. */
const char *wc_config_events_queue_url(const struct wc_config *c);
/* events.retention_minutes: how long events are kept (1..1440, default 30). */
int wc_config_events_retention_min(const struct wc_config *c);
/* events.max_memory_mib, in bytes: the index's cap (1..65536 MiB, default 64). */
size_t wc_config_events_max_bytes(const struct wc_config *c);
/* events.grace_seconds: how long a change waits for its event from the
 * stream before LookupEvents is asked (0..3600, default 120). */
int wc_config_events_grace_s(const struct wc_config *c);
/* correlation.digest_seconds (older name: coalesce_seconds): human changes
 * by the same actor session within this window go to Slack as one digest
 * (0..300, default 5; 0 posts each at once). */
int wc_config_digest_s(const struct wc_config *c);
/* health.max_receive_failures: after this many failed receives in a row
 * the worker reports not ready (default 3); `run --once` gives up (exit 1). */
int wc_config_max_receive_failures(const struct wc_config *c);
/* The id a notifier goes by in metrics, logs and the state file: its
 * `name:`, else "<type>#<index>". Writes into out (NUL-terminated). */
void wc_config_notifier_id(const struct wc_config *c, size_t i, char *out, size_t outlen);
/* ca_bundle: PEM file of CAs for TLS (NULL: the system store). */
const char *wc_config_ca_bundle(const struct wc_config *c);
/* proxy: the proxy for every HTTP request (AWS and notifiers), over
 * HTTP(S)_PROXY; "none": direct whatever the environment says; NULL: the
 * environment decides (aws/http_curl.h). May hold user:password@. */
const char *wc_config_proxy(const struct wc_config *c);
size_t wc_config_notifier_count(const struct wc_config *c);
const struct wc_config_notifier *wc_config_notifier(const struct wc_config *c, size_t i);

#endif
