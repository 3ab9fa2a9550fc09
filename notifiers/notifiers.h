/* notifiers.h - the notifier backends: Slack, generic webhook, JSON lines.
 *
 * Each backend implements the port in core/notifier.h (one file each, a
 * static const vtable) and speaks HTTP only through core/http.h. cmd/ fills
 * one struct wc_notifier_options from a config `notifiers:` entry and calls
 * the backend's constructor, directly or through the registry:
 *
 *     const struct wc_notifier_backend *b = wc_notifier_backend_find("slack");
 *     struct wc_notifier *n = b ? b->create(&opts) : NULL;
 *
 * Payloads
 *   slack    a Block Kit message with a plain-text `text` fallback, POSTed to
 *            the incoming-webhook URL, or to {api_base_url}/chat.postMessage
 *            with `Authorization: Bearer <bot_token>` and a `channel`
 *            (channel_by_account[account] else channel). Everything taken
 *            from AWS data is mrkdwn-escaped (& < >, as Slack documents;
 *            formatting characters and bidi controls neutralised, see
 *            mrkdwn.h), so it cannot mention, link, format or break out.
 *            A notice of several findings (a digest) names the actor in its
 *            header and lists one compact section per finding; fit says how
 *            many fit one message. With a bot token, notice->thread_ts makes
 *            the message a reply in that thread, and the answer's ts comes
 *            back in result->thread_ts. min_interval_ms is
 *            WC_SLACK_MIN_INTERVAL_MS.
 *   webhook  POST of the finding JSON (exactly wc_finding_to_json, compact):
 *            one finding -> that object; several (a coalesced notice) ->
 *            {"findings":[<finding>,...]}. Headers: Content-Type:
 *            application/json, User-Agent: whochanged/0.1, and with a secret
 *            X-Whochanged-Timestamp: <unix seconds> and
 *            X-Whochanged-Signature: sha256=<hex HMAC-SHA256(secret, body)>
 *            (the MAC covers the body bytes only).
 *   jsonl    one finding object per line (wc_finding_to_json, compact) per
 *            finding of the notice, appended with one write() to a file
 *            opened O_APPEND|O_CREAT 0640 and fsync'ed, or to stdout.
 *            reopen() closes and reopens the path (log rotation).
 *
 * Delivery (slack, webhook): 2xx -> WC_OK. 429 (or Slack's "ratelimited")
 * -> wait Retry-After seconds (through sleep_ms) and retry; 5xx, transport
 * errors and time-outs -> exponential backoff with jitter and retry; both
 * bounded by max_attempts and max_wait_ms of total waiting, after which the
 * last error is returned (WC_ERR_THROTTLED with retry_after_ms,
 * WC_ERR_SERVICE, WC_ERR_TIMEOUT, WC_ERR_HTTP). Other 4xx -> WC_ERR_AUTH
 * (401/403, or a Slack auth error) or WC_ERR_INVALID, no retry. A failure is
 * logged once at error level with the notifier id, the status and the
 * service's error string; never the URL, token or secret.
 *
 * Backends own copies of every string option; secrets (webhook_url,
 * bot_token, hmac_secret) are wiped on destroy. No global mutable state; a
 * notifier may be used from several threads at once.
 */
#ifndef WC_NOTIFIERS_H
#define WC_NOTIFIERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/http.h"
#include "core/log.h"
#include "core/notifier.h"
#include "core/version.h"

/* (char *): struct wc_http_header holds it, read-only, beside string literals */
#define WC_NOTIFIER_USER_AGENT ((char *)wc_version_user_agent())
#define WC_SLACK_DEFAULT_API_BASE "https://slack.com/api"
/* Slack takes about one message per second per webhook or channel. */
#define WC_SLACK_MIN_INTERVAL_MS ((int64_t)1000)
#define WC_NOTIFIER_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define WC_NOTIFIER_DEFAULT_TIMEOUT_MS 15000L
#define WC_NOTIFIER_DEFAULT_MAX_ATTEMPTS 3
#define WC_NOTIFIER_DEFAULT_MAX_WAIT_MS ((int64_t)60000)
/* First backoff step for 5xx / transport errors; doubles per attempt. */
#define WC_NOTIFIER_DEFAULT_BACKOFF_MS ((int64_t)1000)

/* Sleep for ms milliseconds (injectable so tests do not sleep). */
typedef void wc_notifier_sleep_fn(void *ctx, int64_t ms);

/* A borrowed key -> value pair (account id -> channel, account id -> alias). */
struct wc_notifier_kv {
    const char *key;
    const char *value;
};

/* Everything any backend takes; fields a backend does not use stay NULL/0.
 * All strings are copied by the constructor. */
struct wc_notifier_options {
    /* common */
    const char *id;               /* "slack#0"; NULL: the backend name */
    unsigned verdict_mask;        /* WC_VERDICT_BIT set; 0: human only (jsonl: all) */
    struct wc_http *http;         /* borrowed; required by slack and webhook */
    struct wc_logger *logger;     /* borrowed; NULL: silent */
    const struct wc_clock *clock; /* borrowed; NULL: the system clock */
    long connect_timeout_ms;      /* 0: WC_NOTIFIER_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;              /* 0: WC_NOTIFIER_DEFAULT_TIMEOUT_MS */
    int max_attempts;             /* 0: WC_NOTIFIER_DEFAULT_MAX_ATTEMPTS */
    int64_t max_wait_ms;          /* total sleeping per send; 0: default */
    int64_t backoff_ms;           /* 0: WC_NOTIFIER_DEFAULT_BACKOFF_MS */
    wc_notifier_sleep_fn *sleep_ms; /* NULL: nanosleep */
    void *sleep_ctx;

    /* slack: exactly one of webhook_url and bot_token */
    const char *webhook_url;      /* secret */
    const char *bot_token;        /* secret, "xoxb-..." */
    const char *channel;          /* default channel (bot token) */
    const struct wc_notifier_kv *channel_by_account; /* account id -> channel */
    size_t n_channel_by_account;
    const struct wc_notifier_kv *account_aliases;    /* account id -> display name,
                                                      * when the notice has none */
    size_t n_account_aliases;
    const char *api_base_url;     /* NULL: WC_SLACK_DEFAULT_API_BASE */

    /* webhook */
    const char *url;
    const char *hmac_secret;      /* secret; NULL: no signature headers */

    /* jsonl */
    const char *path;             /* NULL or "-": stdout */
    bool no_fsync;                /* skip the fsync after each write */
};

struct wc_notifier *wc_slack_notifier_new(const struct wc_notifier_options *o);
struct wc_notifier *wc_webhook_notifier_new(const struct wc_notifier_options *o);
struct wc_notifier *wc_jsonl_notifier_new(const struct wc_notifier_options *o);

/* The registry: backends by name ("slack", "webhook", "jsonl" - the names
 * wc_config_notifier_type_name() uses). */
struct wc_notifier_backend {
    const char *name;
    const struct wc_notifier_vtable *vtable;
    struct wc_notifier *(*create)(const struct wc_notifier_options *o);
};

/* NULL-terminated. */
extern const struct wc_notifier_backend *const wc_notifier_backends[];
/* NULL when name is unknown (or NULL). */
const struct wc_notifier_backend *wc_notifier_backend_find(const char *name);

extern const struct wc_notifier_vtable wc_slack_notifier_vtable;
extern const struct wc_notifier_vtable wc_webhook_notifier_vtable;
extern const struct wc_notifier_vtable wc_jsonl_notifier_vtable;

#endif
