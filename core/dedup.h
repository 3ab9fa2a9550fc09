/* dedup.h - the set of (notifier, subject) pairs a notifier has already
 * accepted, with expiry. Pure: no I/O (store/statefile.c makes it durable).
 *
 * SQS delivers at least once and the worker may crash between "posted" and
 * "deleted"; before sending a finding to a notifier the worker asks whether
 * that notifier already accepted it, and records it once the notifier has.
 *
 * A key is a notifier id ("slack#0") and a subject ("<event id>/<resource
 * id>"), both non-empty C strings; they are kept apart in memory, so no byte
 * in either is special. Every function is thread-safe. Memory is bounded by
 * the live entries: expired entries are dropped by wc_dedup_prune() and
 * whenever the table would otherwise grow.
 *
 * Line format (one entry per line, used by the state file):
 *     "<expires_ms> <notifier_id> <subject>\n"
 * expires_ms is a non-negative decimal; notifier_id and subject are
 * percent-encoded (%XX, upper-case hex) for '%', space, control bytes and
 * bytes >= 0x7f, so a line never holds a space or newline inside a field.
 */
#ifndef WC_DEDUP_H
#define WC_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/str.h"

#define WC_DEDUP_DEFAULT_TTL_MS ((int64_t)48 * 3600 * 1000)

struct wc_dedup;

/* ttl_ms <= 0: WC_DEDUP_DEFAULT_TTL_MS. The clock is copied (NULL: system);
 * its wall-clock time decides expiry. */
struct wc_dedup *wc_dedup_new(int64_t ttl_ms, const struct wc_clock *clock);
void wc_dedup_destroy(struct wc_dedup *d);

/* true when the pair is present and not yet expired (expires_ms > now). */
bool wc_dedup_contains(struct wc_dedup *d, const char *notifier_id, const char *subject);
/* Idempotent: inserting a present pair keeps the later of the two expiries.
 * expires_ms == 0 means now + ttl. WC_ERR_INVALID for NULL/empty ids. */
int wc_dedup_insert(struct wc_dedup *d, const char *notifier_id, const char *subject,
                    int64_t expires_ms);
/* Entries held, including expired ones not yet pruned. */
size_t wc_dedup_size(struct wc_dedup *d);
/* Drop expired entries; returns how many were dropped. */
size_t wc_dedup_prune(struct wc_dedup *d);
/* The TTL in use (ms). */
int64_t wc_dedup_ttl_ms(const struct wc_dedup *d);

/* Append one encoded line (with its '\n') to out. */
int wc_dedup_format_line(const char *notifier_id, const char *subject, int64_t expires_ms,
                         struct wc_buf *out);
/* Parse one line (a single trailing '\n' is allowed). On success the caller
 * frees *notifier_id and *subject; on failure (WC_ERR_PARSE) both are NULL. */
int wc_dedup_parse_line(struct wc_str line, char **notifier_id, char **subject,
                        int64_t *expires_ms);

typedef int wc_dedup_foreach_fn(void *ctx, const char *notifier_id, const char *subject,
                                int64_t expires_ms);
/* Call fn for each live entry (order unspecified) while holding the table's
 * lock: fn must not call back into d. A non-zero return from fn stops the
 * walk and is returned; otherwise WC_OK. */
int wc_dedup_foreach(struct wc_dedup *d, wc_dedup_foreach_fn *fn, void *ctx);

#endif
