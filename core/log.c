#include "core/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"

#define LOG_LINE_MAX (16 * 1024)
#define REDACTED WC_LOG_REDACTED

struct wc_logger {
    enum wc_log_level level;
    enum wc_log_format format;
    wc_log_write_fn *write;
    void *write_ctx;
    long long (*now_ms)(void *ctx);
    void *now_ctx;
    struct wc_strlist secrets;
};

static const char *const s_level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

struct wc_logger *wc_logger_new(const struct wc_logger_options *opts)
{
    struct wc_logger *lg = calloc(1, sizeof(*lg));

    if (!lg)
        return NULL;
    lg->level = opts ? opts->level : WC_LOG_INFO;
    lg->format = opts ? opts->format : WC_LOG_TEXT;
    lg->write = opts ? opts->write : NULL;
    lg->write_ctx = opts ? opts->write_ctx : NULL;
    lg->now_ms = opts ? opts->now_ms : NULL;
    lg->now_ctx = opts ? opts->now_ctx : NULL;
    return lg;
}

void wc_logger_destroy(struct wc_logger *lg)
{
    if (!lg)
        return;
    for (size_t i = 0; i < lg->secrets.len; i++)
        wc_secure_zero(lg->secrets.items[i], strlen(lg->secrets.items[i]));
    wc_strlist_clean_up(&lg->secrets);
    free(lg);
}

void wc_logger_set_level(struct wc_logger *lg, enum wc_log_level level)
{
    if (lg)
        lg->level = level;
}

bool wc_logger_enabled(const struct wc_logger *lg, enum wc_log_level level)
{
    return lg && level >= lg->level && level < WC_LOG_OFF;
}

int wc_logger_add_secret(struct wc_logger *lg, const char *secret)
{
    if (!lg || !secret || strlen(secret) < 4)
        return WC_OK;
    if (wc_strlist_contains(&lg->secrets, secret))
        return WC_OK;
    return wc_strlist_push(&lg->secrets, secret);
}

int wc_log_level_parse(const char *name, enum wc_log_level *out)
{
    for (int i = 0; i <= WC_LOG_OFF; i++) {
        if (name && strcasecmp(name, s_level_names[i]) == 0) {
            *out = (enum wc_log_level)i;
            return WC_OK;
        }
    }
    if (name && strcasecmp(name, "warning") == 0) {
        *out = WC_LOG_WARN;
        return WC_OK;
    }
    return WC_ERR_INVALID;
}

const char *wc_log_level_name(enum wc_log_level level)
{
    return level <= WC_LOG_OFF ? s_level_names[level] : "?";
}

/* --- redaction ---------------------------------------------------------- */

/* Keys whose value is masked. Matched case-insensitively. */
static const char *const s_secret_keys[] = {
    "authorization",      "x-amz-security-token", "security-token",
    "aws_secret_access_key", "secretaccesskey",   "secret_access_key",
    "sessiontoken",       "session_token",        "signature=",
    "x-amz-signature",    "x-aws-ec2-metadata-token", "token:",
    "bearer ",            "hmac_secret",          "webhook_url",
    "bot_token",          "x-whochanged-signature",
};

static bool s_value_delim(char c)
{
    return c == '\0' || isspace((unsigned char)c) || c == '"' || c == '\'' || c == ',' ||
           c == '&' || c == ';' || c == '}' || c == '<' || c == '>';
}

/* Mask [start, end) of in, replacing with REDACTED; returns new length. */
static int s_mask(struct wc_buf *b, size_t start, size_t end)
{
    struct wc_buf out = WC_BUF_INIT;
    int rc;

    wc_buf_init(&out, 0);
    if ((rc = wc_buf_append(&out, b->ptr, start)) != WC_OK ||
        (rc = wc_buf_append_cstr(&out, REDACTED)) != WC_OK ||
        (rc = wc_buf_append(&out, b->ptr + end, b->len - end)) != WC_OK) {
        wc_buf_clean_up(&out);
        return rc;
    }
    wc_secure_zero(b->ptr, b->len);
    wc_buf_clean_up(b);
    *b = out;
    return WC_OK;
}

static char *s_strcasestr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return (char *)hay;
    return NULL;
}

static int s_redact_key(struct wc_buf *b, const char *key)
{
    size_t from = 0, klen = strlen(key);
    int rc;

    while (from < b->len) {
        char *hit = s_strcasestr(b->ptr + from, key);
        size_t vstart, vend;

        if (!hit)
            break;
        vstart = (size_t)(hit - b->ptr) + klen;
        /* skip separators between key and value: ":", "=", quotes, spaces */
        while (vstart < b->len &&
               (b->ptr[vstart] == ':' || b->ptr[vstart] == '=' || b->ptr[vstart] == ' ' ||
                b->ptr[vstart] == '"' || b->ptr[vstart] == '\'' || b->ptr[vstart] == '\t'))
            vstart++;
        /* "Authorization: AWS4-HMAC-SHA256 Credential=..., Signature=..." masks all */
        vend = vstart;
        if (strncasecmp(key, "authorization", klen) == 0) {
            while (vend < b->len && b->ptr[vend] != '\n' && b->ptr[vend] != '"')
                vend++;
        } else {
            while (vend < b->len && !s_value_delim(b->ptr[vend]))
                vend++;
        }
        if (vend > vstart && !(vend - vstart == strlen(REDACTED) &&
                               strncmp(b->ptr + vstart, REDACTED, vend - vstart) == 0)) {
            if ((rc = s_mask(b, vstart, vend)) != WC_OK)
                return rc;
            from = vstart + strlen(REDACTED);
        } else {
            from = vend > vstart ? vend : vstart + 1;
        }
    }
    return WC_OK;
}

/* Slack incoming webhook paths and tokens: hooks.slack.com/services/T/B/X,
 * any ".../services/Txxx/Bxxx/..." path, and xox?- tokens. */
static int s_redact_slack(struct wc_buf *b)
{
    static const char *const prefixes[] = {"/services/", "xoxb-", "xoxp-", "xoxa-", "xoxr-",
                                           "xapp-"};
    int rc;

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t from = 0, plen = strlen(prefixes[i]);
        char *hit;

        while (from < b->len && (hit = strstr(b->ptr + from, prefixes[i])) != NULL) {
            size_t vstart = (size_t)(hit - b->ptr) + plen, vend = vstart;

            while (vend < b->len && !s_value_delim(b->ptr[vend]))
                vend++;
            if (vend > vstart && strncmp(b->ptr + vstart, REDACTED, strlen(REDACTED)) != 0) {
                if ((rc = s_mask(b, vstart, vend)) != WC_OK)
                    return rc;
                from = vstart + strlen(REDACTED);
            } else {
                from = vend + 1;
            }
        }
    }
    return WC_OK;
}

/* Length of the longest secret that starts at p (n bytes left), or 0. */
static size_t s_secret_at(const struct wc_strlist *secrets, const char *p, size_t n)
{
    size_t best = 0;

    for (size_t i = 0; i < secrets->len; i++) {
        const char *s = secrets->items[i];
        size_t sl = strlen(s);

        if (sl > best && sl <= n && s[0] == p[0] && memcmp(p, s, sl) == 0)
            best = sl;
    }
    return best;
}

/* Mask every registered secret in one left-to-right pass: the output is
 * built in a new buffer, so a marker once written is never searched again
 * (a secret such as "redacted" used to match inside the marker it had just
 * inserted, forever). At each position the longest secret wins. */
static int s_redact_literals(struct wc_buf *b, const struct wc_strlist *secrets)
{
    struct wc_buf out = WC_BUF_INIT;
    bool any = false;
    int rc = WC_OK;

    if (!b->ptr || !secrets->len)
        return WC_OK;
    for (size_t i = 0; i < secrets->len && !any; i++)
        any = secrets->items[i][0] && strstr(b->ptr, secrets->items[i]) != NULL;
    if (!any)
        return WC_OK;
    wc_buf_init(&out, 0);
    for (size_t i = 0; i < b->len && rc == WC_OK;) {
        size_t n = s_secret_at(secrets, b->ptr + i, b->len - i);

        if (n) {
            rc = wc_buf_append_cstr(&out, REDACTED);
            i += n;
        } else {
            rc = wc_buf_append_char(&out, b->ptr[i]);
            i++;
        }
    }
    if (rc != WC_OK) {
        wc_buf_clean_up_secure(&out);
        return rc;
    }
    wc_buf_clean_up_secure(b);
    *b = out;
    return WC_OK;
}

int wc_log_redact(struct wc_buf *b)
{
    int rc;

    if (!b->ptr)
        return WC_OK;
    for (size_t i = 0; i < sizeof(s_secret_keys) / sizeof(s_secret_keys[0]); i++)
        if ((rc = s_redact_key(b, s_secret_keys[i])) != WC_OK)
            return rc;
    return s_redact_slack(b);
}

/* --- output ------------------------------------------------------------- */

static void s_json_escape(struct wc_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': wc_buf_append_cstr(out, "\\\""); break;
        case '\\': wc_buf_append_cstr(out, "\\\\"); break;
        case '\n': wc_buf_append_cstr(out, "\\n"); break;
        case '\r': wc_buf_append_cstr(out, "\\r"); break;
        case '\t': wc_buf_append_cstr(out, "\\t"); break;
        default:
            if (c < 0x20)
                wc_buf_appendf(out, "\\u%04x", c);
            else
                wc_buf_append_char(out, (char)c);
        }
    }
}

/* The message id tag of a text line: a control character (a newline would
 * start a forged line; an escape sequence would drive the terminal) is
 * written as \xNN, and so is a backslash, so the escaping is unambiguous. */
static void s_text_tag(struct wc_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f || c == '\\')
            wc_buf_appendf(out, "\\x%02x", c);
        else
            wc_buf_append_char(out, (char)c);
    }
}

/* Redact one text (a message or a field's value) as every line is. */
static void s_redact_text(struct wc_logger *lg, struct wc_buf *b, const char *what)
{
    if (s_redact_literals(b, &lg->secrets) != WC_OK) {
        wc_buf_clean_up_secure(b);
        wc_buf_init(b, LOG_LINE_MAX);
        wc_buf_appendf(b, "(%s could not be redacted)", what);
    }
    wc_log_redact(b);
}

static bool s_reserved_key(const char *k)
{
    return !strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "msg") || !strcmp(k, "msg_id");
}

/* A field's key for a JSON member: [A-Za-z0-9_] only. */
static bool s_field_key_ok(const char *k)
{
    if (!k || !*k || s_reserved_key(k))
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return false;
    return true;
}

/* 2024-05-01T11:59:10.042Z, always with milliseconds. */
static void s_timestamp(int64_t ms, char out[WC_TIME_ISO_MAX])
{
    int64_t frac = ms % 1000;

    if (frac < 0)
        frac += 1000;
    wc_time_format_iso8601(ms - frac, out); /* ...:10Z */
    {
        size_t n = strlen(out);

        if (n > 0 && out[n - 1] == 'Z')
            snprintf(out + n - 1, WC_TIME_ISO_MAX - (n - 1), ".%03dZ", (int)frac);
    }
}

static void s_vlog(struct wc_logger *lg, enum wc_log_level level, const char *msg_id,
                   const struct wc_log_field *fields, size_t n_fields, const char *fmt,
                   va_list ap)
{
    struct wc_buf msg = WC_BUF_INIT, line = WC_BUF_INIT, val = WC_BUF_INIT;
    char ts[WC_TIME_ISO_MAX];
    int64_t now;

    if (!wc_logger_enabled(lg, level))
        return;
    wc_buf_init(&msg, LOG_LINE_MAX);
    wc_buf_init(&line, LOG_LINE_MAX * 2);
    if (wc_buf_vappendf(&msg, fmt, ap) != WC_OK) {
        wc_buf_reset(&msg);
        wc_buf_append_cstr(&msg, "(log message too long)");
    }
    for (size_t i = 0; i < n_fields; i++) {
        const struct wc_log_field *f = &fields[i];

        if (!f->key || (!f->is_number && !f->value))
            continue;
        if (f->is_number)
            wc_buf_appendf(&msg, "%s%s=%lld", msg.len ? " " : "", f->key, f->number);
        else
            wc_buf_appendf(&msg, "%s%s=%s", msg.len ? " " : "", f->key, f->value);
    }
    for (size_t i = 0; i < msg.len; i++)
        if (msg.ptr[i] == '\n' || msg.ptr[i] == '\r')
            msg.ptr[i] = ' ';
    s_redact_text(lg, &msg, "log message");

    now = lg->now_ms ? lg->now_ms(lg->now_ctx) : wc_clock_now_ms(NULL);
    s_timestamp(now, ts);
    if (lg->format == WC_LOG_JSON) {
        wc_buf_appendf(&line, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, s_level_names[level]);
        if (msg_id) {
            wc_buf_append_cstr(&line, ",\"msg_id\":\"");
            s_json_escape(&line, msg_id, strlen(msg_id));
            wc_buf_append_char(&line, '"');
        }
        wc_buf_append_cstr(&line, ",\"msg\":\"");
        s_json_escape(&line, msg.ptr ? msg.ptr : "", msg.len);
        wc_buf_append_char(&line, '"');
        for (size_t i = 0; i < n_fields; i++) {
            const struct wc_log_field *f = &fields[i];

            if (!s_field_key_ok(f->key) || (!f->is_number && !f->value))
                continue;
            if (f->is_number) {
                wc_buf_appendf(&line, ",\"%s\":%lld", f->key, f->number);
                continue;
            }
            wc_buf_init(&val, LOG_LINE_MAX);
            wc_buf_append_cstr(&val, f->value);
            s_redact_text(lg, &val, "value");
            wc_buf_appendf(&line, ",\"%s\":\"", f->key);
            s_json_escape(&line, val.ptr ? val.ptr : "", val.len);
            wc_buf_append_char(&line, '"');
            wc_buf_clean_up_secure(&val);
        }
        wc_buf_append_char(&line, '}');
    } else {
        wc_buf_appendf(&line, "%s %-5s ", ts, s_level_names[level]);
        if (msg_id) {
            wc_buf_append_char(&line, '[');
            s_text_tag(&line, msg_id);
            wc_buf_append_cstr(&line, "] ");
        }
        wc_buf_append_str(&line, wc_buf_str(&msg));
    }
    if (line.ptr) {
        if (lg->write) {
            lg->write(lg->write_ctx, line.ptr, line.len);
        } else {
            wc_buf_append_char(&line, '\n');
            fwrite(line.ptr, 1, line.len, stderr);
        }
    }
    wc_buf_clean_up_secure(&msg);
    wc_buf_clean_up_secure(&line);
}

void wc_logger_vlogf(struct wc_logger *lg, enum wc_log_level level, const char *msg_id,
                     const char *fmt, va_list ap)
{
    s_vlog(lg, level, msg_id, NULL, 0, fmt, ap);
}

void wc_logger_logf(struct wc_logger *lg, enum wc_log_level level, const char *msg_id,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    wc_logger_vlogf(lg, level, msg_id, fmt, ap);
    va_end(ap);
}

void wc_logger_logf_fields(struct wc_logger *lg, enum wc_log_level level, const char *msg_id,
                           const struct wc_log_field *fields, size_t n_fields, const char *fmt,
                           ...)
{
    va_list ap;

    va_start(ap, fmt);
    s_vlog(lg, level, msg_id, fields, n_fields, fmt, ap);
    va_end(ap);
}
