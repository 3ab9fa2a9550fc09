/* log.h - leveled logger with redaction at the sink.
 *
 * A logger is an object handed to modules through their options (NULL means
 * silent); there is no process-wide logger outside cmd/. Every line passes
 * through wc_log_redact() before it is written, so credentials, signatures,
 * session tokens, Slack webhook paths and bot tokens, and any secret value
 * registered with wc_logger_add_secret(), never reach the output.
 */
#ifndef WC_LOG_H
#define WC_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* What every masked value becomes (in log lines and in check-config output).
 * A registered secret that occurs inside this text could never be masked
 * out of a line, so config refuses such values. */
#define WC_LOG_REDACTED "(redacted)"

enum wc_log_level {
    WC_LOG_TRACE = 0,
    WC_LOG_DEBUG,
    WC_LOG_INFO,
    WC_LOG_WARN,
    WC_LOG_ERROR,
    WC_LOG_OFF,
};

enum wc_log_format {
    WC_LOG_TEXT = 0,
    WC_LOG_JSON,
};

/* Receives one finished (redacted) line without the trailing newline. */
typedef void wc_log_write_fn(void *ctx, const char *line, size_t len);

struct wc_logger_options {
    enum wc_log_level level;
    enum wc_log_format format;
    wc_log_write_fn *write; /* NULL: write to stderr */
    void *write_ctx;
    /* Injected clock for timestamps (NULL: wall clock). */
    long long (*now_ms)(void *ctx);
    void *now_ctx;
};

struct wc_logger;

struct wc_logger *wc_logger_new(const struct wc_logger_options *opts);
void wc_logger_destroy(struct wc_logger *lg);
void wc_logger_set_level(struct wc_logger *lg, enum wc_log_level level);
bool wc_logger_enabled(const struct wc_logger *lg, enum wc_log_level level);
/* Register a secret value to mask wherever it appears (copied, wiped on
 * destroy). Values shorter than 4 bytes are ignored. Masking is one pass
 * over the line: a marker already written is never scanned again, so a
 * secret that is part of WC_LOG_REDACTED cannot make it loop. */
int wc_logger_add_secret(struct wc_logger *lg, const char *secret);

/* msg_id: the SQS message id (or other subject) the line concerns; may be NULL. */
void wc_logger_logf(struct wc_logger *lg, enum wc_log_level level, const char *msg_id,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void wc_logger_vlogf(struct wc_logger *lg, enum wc_log_level level, const char *msg_id,
                     const char *fmt, va_list ap);

int wc_log_level_parse(const char *name, enum wc_log_level *out);
const char *wc_log_level_name(enum wc_log_level level);

/* A field of a structured line: in JSON lines a member of its own (a JSON
 * number when is_number, else a string; a NULL value is left out), and in
 * both formats " key=value" after the message text. Values are redacted
 * like the message. Keys ts, level, msg and msg_id are the logger's own and
 * are not written as members. */
struct wc_log_field {
    const char *key;
    const char *value;
    long long number;
    bool is_number;
};

#define WC_LOG_STR(k, v) ((struct wc_log_field){(k), (v), 0, false})
#define WC_LOG_NUM(k, n) ((struct wc_log_field){(k), NULL, (long long)(n), true})

/* A line with fields; fmt may be "" (then the fields are the text). */
void wc_logger_logf_fields(struct wc_logger *lg, enum wc_log_level level, const char *msg_id,
                           const struct wc_log_field *fields, size_t n_fields, const char *fmt,
                           ...) __attribute__((format(printf, 6, 7)));

/* Redact known secret shapes in place in buf (exposed for tests and for
 * anything else that prints AWS/Slack data, such as --dry-run). */
int wc_log_redact(struct wc_buf *buf);

/* Level test happens before any formatting. Timestamps are UTC ISO 8601
 * with milliseconds (2024-05-01T11:59:10.042Z). */
#define WC_LOG(lg, lvl, msg_id, ...)                                      \
    do {                                                                  \
        if ((lg) && wc_logger_enabled((lg), (lvl)))                       \
            wc_logger_logf((lg), (lvl), (msg_id), __VA_ARGS__);           \
    } while (0)
#define WC_LOGT(lg, id, ...) WC_LOG(lg, WC_LOG_TRACE, id, __VA_ARGS__)
#define WC_LOGD(lg, id, ...) WC_LOG(lg, WC_LOG_DEBUG, id, __VA_ARGS__)
#define WC_LOGI(lg, id, ...) WC_LOG(lg, WC_LOG_INFO, id, __VA_ARGS__)
#define WC_LOGW(lg, id, ...) WC_LOG(lg, WC_LOG_WARN, id, __VA_ARGS__)
#define WC_LOGE(lg, id, ...) WC_LOG(lg, WC_LOG_ERROR, id, __VA_ARGS__)
#define WC_LOG_FIELDS(lg, lvl, msg_id, fields, n, ...)                                  \
    do {                                                                              \
        if ((lg) && wc_logger_enabled((lg), (lvl)))                                   \
            wc_logger_logf_fields((lg), (lvl), (msg_id), (fields), (n), __VA_ARGS__); \
    } while (0)

#endif
