/* harness.h - what the libFuzzer targets in tests/fuzz share.
 *
 * Each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput (and maybe
 * LLVMFuzzerInitialize) and is linked with -fsanitize=fuzzer,address,undefined
 * against the library; see tests/fuzz/README.md. A target checks invariants
 * with FUZZ_CHECK, which aborts (libFuzzer then saves the input as a crash).
 */
#ifndef WC_TESTS_FUZZ_HARNESS_H
#define WC_TESTS_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with file:line and a message when cond is false. */
#define FUZZ_CHECK(cond, ...)                                                 \
    do {                                                                      \
        if (!(cond))                                                          \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                \
    } while (0)

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));

/* Split data at each occurrence of sep into at most max parts (the last part
 * keeps the rest, separators included); parts not present are empty (ptr
 * "" and len 0, never NULL). Returns how many parts were present. */
size_t fuzz_split(const uint8_t *data, size_t size, const char *sep, struct wc_str *parts,
                  size_t max);

/* Heap copy with a NUL after len bytes (aborts when out of memory). */
char *fuzz_cstr(struct wc_str s);

/* A private directory for this process (created on first use, removed with
 * its files at exit); under $TMPDIR, else /dev/shm, else /tmp. */
const char *fuzz_tmpdir(void);
/* Write len bytes to path (truncating); aborts on failure. */
void fuzz_write_file(const char *path, const void *p, size_t len);

/* true when s[0..len) is valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
bool fuzz_utf8_valid(const char *s, size_t len);

/* A logger at trace level whose sink checks every line (one line, no CR or
 * LF inside; in JSON format a JSON object) and keeps the lines of the
 * current input, so a target can assert what was never logged. Lines go
 * nowhere else unless FUZZ_VERBOSE is set in the environment. */
struct wc_logger;
struct wc_logger *fuzz_logger(bool json);
/* Forget the kept lines (call at the start of each input). */
void fuzz_log_reset(void);
/* true when needle (len > 0) occurs in a line kept since the last reset. */
bool fuzz_log_contains(const char *needle);

/* --- HTTP answers ---------------------------------------------------------- */

struct fake_http;
struct wc_aws;
struct wc_creds_provider;

/* The separator of the parts of a multi-part input (its own line). */
#define FUZZ_SEP "\n--8<--\n"

/* Queue text as the next answer of f: a status line "HTTP/1.1 <status> ...",
 * header lines up to an empty line, then the body (CRs before LFs are
 * dropped from the head, as a transport does). Text that does not start
 * with "HTTP/" is a 200 answer with text as its body; empty text queues
 * nothing, so the request fails like a refused connection. */
void fuzz_push_response(struct fake_http *f, struct wc_str text);

/* A fixed wall clock (2024-05-01T12:00:00Z) for SigV4 and expiry checks. */
#define FUZZ_NOW_MS ((int64_t)1714564800000)
const struct wc_clock *fuzz_clock(void);

/* An AWS client over a fake transport, with static credentials, no retry
 * and no sleeping; build one per input so no state (clock skew, retry
 * quota) carries over from one input to the next. */
struct fuzz_aws {
    struct fake_http *fake;
    struct wc_aws *aws;
    struct wc_creds_provider *creds;
};
void fuzz_aws_init(struct fuzz_aws *a, struct wc_logger *lg);
void fuzz_aws_clean_up(struct fuzz_aws *a);
/* true when url is https://<host>/... with host under a partition's DNS
 * suffix (amazonaws.com, amazonaws.com.cn, the isolated partitions'; or
 * their dual-stack suffix), no userinfo, port, control byte or space: where
 * a request may go when no endpoint is configured. */
bool fuzz_aws_url_ok(const char *url);

#endif
