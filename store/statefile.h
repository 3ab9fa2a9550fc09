/* statefile.h - the worker's durable record of what each notifier has
 * already accepted, so that a redelivered SQS message, or a restart after a
 * crash between "posted" and "deleted", never posts twice.
 *
 * DIR/accepted.log (mode 0600; DIR is created 0700 if missing) holds one
 * line per accepted (notifier id, subject) in the core/dedup.h line format.
 * Entries live for ttl_ms after they are recorded.
 *
 * The file keeps every entry for ttl_ms; memory keeps only the recent ones,
 * as hashes, in a core/dedup.h set of max_entries (fixed memory, whatever
 * the traffic). accepted() looks in memory, then at the lines appended
 * since the last look; accepted_thorough() also streams the whole file on
 * a miss (and puts what it finds back in memory): for a message delivered
 * before, whose pair may have left memory. Reading is by bounded chunks,
 * and a compaction streams the old file into the new one, so no operation
 * holds more than a chunk of the file in memory.
 *
 * Whoever can write DIR can make us skip or repeat a post, so an existing
 * DIR must be owned by the running user and writable by neither its group
 * nor others, else open refuses it (naming it). DIR is opened once and
 * checked as opened; every file is then opened relative to it with
 * O_NOFOLLOW | O_CLOEXEC (the log, and the compaction's temp file, also
 * O_EXCL) and must be a regular file owned by the running user: a symlink
 * or a file planted by someone else is refused, never followed or written.
 *
 * Several workers may share one state directory on one machine: appends
 * are made under an exclusive flock (so lines from two processes never
 * interleave), reads under a shared one, and a miss in memory first reads
 * the lines other processes appended since the last look. A compaction by
 * one process (temp file, fsync, rename, fsync DIR) is noticed by the
 * others, which reopen the new file. A line cut short by a crash mid-write
 * is ignored (counted as malformed) and never glued to the next record.
 *
 * Every function is thread-safe.
 */
#ifndef WC_STORE_STATEFILE_H
#define WC_STORE_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/log.h"

#define WC_STATEFILE_NAME "accepted.log"
/* Compaction rewrites the file once it has more lines than this and more
 * than half of them have expired (counted by expiry time, to within
 * ttl/32: late, never early) or are malformed. */
#define WC_STATEFILE_COMPACT_MIN_LINES 1000

struct wc_statefile;

struct wc_statefile_stats {
    size_t entries;       /* in memory (expired ones not yet dropped included) */
    size_t max_entries;   /* the memory's cap */
    uint64_t evictions;   /* live entries the cap pushed out of memory (still on disk) */
    size_t lines;         /* complete lines in the file as last read */
    size_t expired_lines; /* of those, known expired or malformed (see compaction) */
    size_t malformed;     /* malformed lines skipped since open */
    uint64_t fsyncs;      /* successful fsync() calls (records, compactions) */
    uint64_t compactions; /* rewrites done by this object */
};

/* Open (creating) DIR/accepted.log and load it: expired and malformed lines
 * are skipped (malformed ones counted, with one warning), the last
 * max_entries live ones stay in memory. ttl_ms <= 0:
 * WC_DEDUP_DEFAULT_TTL_MS; max_entries 0: WC_DEDUP_DEFAULT_MAX_ENTRIES (at
 * most WC_DEDUP_MAX_ENTRIES_LIMIT). clock is copied (NULL: system); logger
 * is borrowed (NULL: silent). On failure returns NULL with a one-line
 * reason in err (e.g. the directory cannot be created or is not writable). */
struct wc_statefile *wc_statefile_open(const char *dir, int64_t ttl_ms, size_t max_entries,
                                       const struct wc_clock *clock,
                                       struct wc_logger *logger, char *err, size_t errlen);
void wc_statefile_close(struct wc_statefile *sf);

/* true if notifier_id already accepted subject (in this process or, as the
 * file says, in another one) and the record has not expired - as far as
 * memory and the lines appended since the last look tell: a pair recorded
 * long ago (pushed out of memory by max_entries newer ones) is missed. */
bool wc_statefile_accepted(struct wc_statefile *sf, const char *notifier_id,
                           const char *subject);
/* The same, and on a miss also stream the whole file for the pair (under a
 * shared lock; a found pair goes back into memory): exact, at the cost of
 * reading the file. */
bool wc_statefile_accepted_thorough(struct wc_statefile *sf, const char *notifier_id,
                                    const char *subject);

/* Record that notifier_id accepted subject and make it durable (write +
 * fsync) before returning. WC_ERR_IO when the write or fsync fails: the
 * worker then keeps the message for redelivery. The pair is remembered in
 * memory even then (the notifier did accept it, so this process will not
 * post it again), and written by the next record() of the same pair; a
 * record() of a pair already durable and still in memory does nothing (one
 * that has left memory is appended again: harmless). May compact the file. */
int wc_statefile_record(struct wc_statefile *sf, const char *notifier_id, const char *subject);

/* Rewrite the file with only its live lines (and the pending pairs), if it
 * is past WC_STATEFILE_COMPACT_MIN_LINES lines and more than half of them
 * are dead; otherwise WC_OK without touching it. The old file is streamed
 * into a temp file (fsync, rename, fsync DIR). Called by record() and by
 * the worker at start-up. */
int wc_statefile_compact(struct wc_statefile *sf);

void wc_statefile_get_stats(struct wc_statefile *sf, struct wc_statefile_stats *out);

/* The ledger port (core/ledger.h) over the state file in dir: accepted,
 * accepted_thorough and record are wc_statefile_accepted,
 * wc_statefile_accepted_thorough and wc_statefile_record; destroying the
 * ledger closes the file. Arguments and failure as wc_statefile_open. */
struct wc_ledger *wc_statefile_ledger_open(const char *dir, int64_t ttl_ms, size_t max_entries,
                                           const struct wc_clock *clock,
                                           struct wc_logger *logger, char *err, size_t errlen);
/* The state file behind l (for stats and compaction; owned by l), NULL if
 * l does not come from wc_statefile_ledger_open. */
struct wc_statefile *wc_statefile_ledger_file(struct wc_ledger *l);

#endif
