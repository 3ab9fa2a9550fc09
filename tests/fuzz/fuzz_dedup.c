/* fuzz_dedup.c - the dedup line format (core/dedup.c) and the state file
 * that holds those lines (store/statefile.c).
 *
 * Line: a line that parses formats back to a line that parses to the same
 * fields, and formatting is a fixed point; the key parse accepts exactly
 * the lines the string parse does, giving the key of their strings and the
 * same expiry; any two non-empty strings
 * (the input cut at its first two NULs) format to a line that parses back
 * to them, and an inserted pair is found again.
 * File: the input as DIR/accepted.log opens; every '\n' counts one line,
 * no more entries or malformed lines than lines, and the first line, when
 * it parses, is live and short, is found as accepted (thoroughly: memory
 * holds only the newest lines). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/statefile.h"
#include "core/dedup.h"
#include "core/err.h"
#include "tests/fuzz/harness.h"

#define S_TTL_MS ((int64_t)3600 * 1000)

static char s_dir[600], s_file[700];
static struct wc_logger *s_lg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_lg = fuzz_logger(false);
    snprintf(s_dir, sizeof(s_dir), "%s", fuzz_tmpdir());
    snprintf(s_file, sizeof(s_file), "%s/%s", s_dir, WC_STATEFILE_NAME);
    return 0;
}

static void s_round_trip(const char *nid, const char *subj, int64_t expires)
{
    struct wc_buf line = WC_BUF_INIT, again = WC_BUF_INIT;
    char *n2 = NULL, *s2 = NULL;
    int64_t e2 = -1;
    int rc;

    FUZZ_CHECK(wc_dedup_format_line(nid, subj, expires, &line) == WC_OK, "cannot format");
    FUZZ_CHECK(line.len > 0 && line.ptr[line.len - 1] == '\n' &&
                   memchr(line.ptr, '\n', line.len) == line.ptr + line.len - 1,
               "not one line: %s", line.ptr);
    rc = wc_dedup_parse_line(wc_buf_str(&line), &n2, &s2, &e2);
    FUZZ_CHECK(rc == WC_OK, "own line does not parse: %s", line.ptr);
    FUZZ_CHECK(strcmp(n2, nid) == 0 && strcmp(s2, subj) == 0 && e2 == expires,
               "round trip changed the fields: %s", line.ptr);
    FUZZ_CHECK(wc_dedup_format_line(n2, s2, e2, &again) == WC_OK, "cannot format again");
    FUZZ_CHECK(again.len == line.len && memcmp(again.ptr, line.ptr, line.len) == 0,
               "format is not a fixed point: %s vs %s", line.ptr, again.ptr);
    free(n2);
    free(s2);
    wc_buf_clean_up(&line);
    wc_buf_clean_up(&again);
}

static void s_lines(const uint8_t *data, size_t size)
{
    struct wc_str in = {(const char *)data, size};
    char *nid = NULL, *subj = NULL;
    int64_t expires = 0, key_expires = -1;
    struct wc_dedup_key key = {0, 0}, want;
    int key_rc = wc_dedup_parse_line_key(in, &key, &key_expires);

    if (wc_dedup_parse_line(in, &nid, &subj, &expires) == WC_OK) {
        FUZZ_CHECK(nid && subj && nid[0] && subj[0], "empty field parsed");
        FUZZ_CHECK(expires >= 0, "expires %lld", (long long)expires);
        want = wc_dedup_key_of(nid, subj);
        FUZZ_CHECK(key_rc == WC_OK && key.lo == want.lo && key.hi == want.hi &&
                       key_expires == expires,
                   "the key parse disagrees with the string parse");
        s_round_trip(nid, subj, expires);
    } else {
        FUZZ_CHECK(!nid && !subj, "failure with fields");
        FUZZ_CHECK(key_rc != WC_OK, "the key parse took a line the string parse refused");
    }
    free(nid);
    free(subj);
}

static void s_strings(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *nul = memchr(p, '\0', size);
    char *nid, *subj;
    struct wc_dedup *d;

    if (!nul)
        return;
    nid = fuzz_cstr((struct wc_str){p, (size_t)(nul - p)});
    subj = fuzz_cstr((struct wc_str){nul + 1, (size_t)(end - nul - 1)});
    if (nid[0] && subj[0]) {
        s_round_trip(nid, subj, FUZZ_NOW_MS + 1000);
        d = wc_dedup_new(S_TTL_MS, 0, fuzz_clock());
        FUZZ_CHECK(d && wc_dedup_insert(d, nid, subj, 0) == WC_OK, "cannot insert");
        FUZZ_CHECK(wc_dedup_contains(d, nid, subj), "inserted pair not found");
        wc_dedup_destroy(d);
    }
    free(nid);
    free(subj);
}

static void s_file_load(const uint8_t *data, size_t size)
{
    struct wc_statefile_stats st;
    struct wc_statefile *sf;
    char err[256];
    size_t nl = 0;
    const char *first_nl = memchr(data, '\n', size);

    for (size_t i = 0; i < size; i++)
        nl += data[i] == '\n';
    fuzz_write_file(s_file, data, size);
    sf = wc_statefile_open(s_dir, S_TTL_MS, 0, fuzz_clock(), s_lg, err, sizeof(err));
    FUZZ_CHECK(sf, "cannot open: %s", err);
    memset(&st, 0, sizeof(st));
    wc_statefile_get_stats(sf, &st);
    FUZZ_CHECK(st.lines == nl, "%zu lines read, %zu in the file", st.lines, nl);
    FUZZ_CHECK(st.entries <= st.lines && st.malformed <= st.lines,
               "%zu entries, %zu malformed, %zu lines", st.entries, st.malformed, st.lines);
    if (first_nl && (size_t)(first_nl - (const char *)data) < 16384) {
        char *nid = NULL, *subj = NULL;
        int64_t expires = 0;
        struct wc_str line = {(const char *)data, (size_t)(first_nl - (const char *)data)};

        if (wc_dedup_parse_line(line, &nid, &subj, &expires) == WC_OK && expires > FUZZ_NOW_MS)
            FUZZ_CHECK(wc_statefile_accepted_thorough(sf, nid, subj),
                       "live first line not accepted");
        free(nid);
        free(subj);
    }
    wc_statefile_close(sf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_log_reset();
    s_lines(data, size);
    s_strings(data, size);
    s_file_load(data, size);
    return 0;
}
