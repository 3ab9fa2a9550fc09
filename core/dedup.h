/* dedup.h - the set of (notifier, subject) pairs a notifier has already
 * accepted, with expiry. Pure: no I/O (store/statefile.c makes it durable).
 *
 * SQS delivers at least once and the worker may crash between "posted" and
 * "deleted"; before sending a finding to a notifier the worker asks whether
 * that notifier already accepted it, and records it once the notifier has.
 *
 * A key is a notifier id ("slack#0") and a subject ("<event id>/<resource
 * id>"), both non-empty C strings. No string is kept: an entry is the
 * 128-bit hash of the pair (core/hash128.h over notifier id, a NUL, then the
 * subject, so no byte in either is special) and its expiry, 24 bytes. Two
 * distinct pairs are taken for one only if their hashes collide: about
 * n^2 / 2^129 for n pairs, 1e-26 at a million.
 *
 * Memory is fixed at creation: a ring of max_entries entries in insertion
 * order and an open-addressing index of ring positions (4 bytes a slot, at
 * most half full), no allocation per entry. Besides the TTL, when the ring
 * is full the oldest entry goes out first to make room (an eviction,
 * counted when it had not expired). At the default cap, 32,768 entries,
 * that is 1 MiB (768 KiB of ring, 256 KiB of index).
 *
 * Every function is thread-safe.
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
/* The last 32,768 accepted pairs: at 500 changes/s to 2 notifiers, the last
 * half minute; at 10 changes/s, almost an hour. Enough for the fast check,
 * which only has to catch the copies of one change that SNS and SQS hand
 * out seconds apart (a redelivery is asked thoroughly, see ledger.h). */
#define WC_DEDUP_DEFAULT_MAX_ENTRIES ((size_t)32768)
/* 4 Mi entries (128 MiB): beyond that, ask the disk. */
#define WC_DEDUP_MAX_ENTRIES_LIMIT ((size_t)1 << 22)

struct wc_dedup;

/* The hash of a pair; equal keys are taken for equal pairs. */
struct wc_dedup_key {
    uint64_t lo;
    uint64_t hi;
};

struct wc_dedup_stats {
    size_t entries;      /* held, expired ones not yet dropped included */
    size_t max_entries;  /* the cap */
    uint64_t evictions;  /* unexpired entries pushed out by the cap */
    size_t memory_bytes; /* fixed at creation: the object, ring and index */
};

/* ttl_ms <= 0: WC_DEDUP_DEFAULT_TTL_MS. max_entries 0: the default; NULL
 * above WC_DEDUP_MAX_ENTRIES_LIMIT. The clock is copied (NULL: system); its
 * wall-clock time decides expiry. All memory is allocated here. */
struct wc_dedup *wc_dedup_new(int64_t ttl_ms, size_t max_entries,
                              const struct wc_clock *clock);
void wc_dedup_destroy(struct wc_dedup *d);

/* The key of a pair (both non-NULL). */
struct wc_dedup_key wc_dedup_key_of(const char *notifier_id, const char *subject);

/* true when the pair is present and not yet expired (expires_ms > now). */
bool wc_dedup_contains(struct wc_dedup *d, const char *notifier_id, const char *subject);
bool wc_dedup_contains_key(struct wc_dedup *d, struct wc_dedup_key key);
/* Idempotent: inserting a present pair keeps the later of the two expiries
 * (and its place in the insertion order). expires_ms == 0 means now + ttl.
 * When the ring is full, expired entries at its old end go first, then the
 * oldest. WC_ERR_INVALID for NULL/empty ids. */
int wc_dedup_insert(struct wc_dedup *d, const char *notifier_id, const char *subject,
                    int64_t expires_ms);
int wc_dedup_insert_key(struct wc_dedup *d, struct wc_dedup_key key, int64_t expires_ms);
/* Entries held, including expired ones not yet dropped. */
size_t wc_dedup_size(struct wc_dedup *d);
/* Drop every expired entry (one pass over the ring); returns how many. */
size_t wc_dedup_prune(struct wc_dedup *d);
/* The TTL in use (ms). */
int64_t wc_dedup_ttl_ms(const struct wc_dedup *d);
void wc_dedup_get_stats(struct wc_dedup *d, struct wc_dedup_stats *out);

/* Append one encoded line (with its '\n') to out. */
int wc_dedup_format_line(const char *notifier_id, const char *subject, int64_t expires_ms,
                         struct wc_buf *out);
/* Parse one line (a single trailing '\n' is allowed). On success the caller
 * frees *notifier_id and *subject; on failure (WC_ERR_PARSE) both are NULL. */
int wc_dedup_parse_line(struct wc_str line, char **notifier_id, char **subject,
                        int64_t *expires_ms);
/* The same parse (same lines accepted), giving the pair's key instead of
 * its strings: no allocation. */
int wc_dedup_parse_line_key(struct wc_str line, struct wc_dedup_key *key, int64_t *expires_ms);

#endif
