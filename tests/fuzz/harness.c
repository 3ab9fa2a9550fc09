/* harness.c - helpers shared by the fuzz targets (see harness.h). */
#include "tests/fuzz/harness.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aws/aws_client.h"
#include "core/awsid.h"
#include "aws/credentials.h"
#include "core/buf.h"
#include "core/log.h"
#include "tests/support/fake_http.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\n%s:%d: invariant failed: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

size_t fuzz_split(const uint8_t *data, size_t size, const char *sep, struct wc_str *parts,
                  size_t max)
{
    const char *p = (const char *)data, *end = p + size;
    size_t seplen = strlen(sep), n = 0;

    for (size_t i = 0; i < max; i++)
        parts[i] = (struct wc_str){"", 0};
    if (max == 0)
        return 0;
    while (n + 1 < max) {
        const char *hit = NULL;

        for (const char *q = p; seplen && (size_t)(end - q) >= seplen; q++) {
            if (memcmp(q, sep, seplen) == 0) {
                hit = q;
                break;
            }
        }
        if (!hit)
            break;
        parts[n++] = (struct wc_str){p, (size_t)(hit - p)};
        p = hit + seplen;
    }
    parts[n++] = (struct wc_str){p, (size_t)(end - p)};
    return n;
}

char *fuzz_cstr(struct wc_str s)
{
    char *out = malloc(s.len + 1);

    if (!out)
        abort();
    if (s.len)
        memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return out;
}

/* --- the private directory ----------------------------------------------- */

static char s_dir[512];

static void s_rm_dir(void)
{
    DIR *d = opendir(s_dir);
    struct dirent *e;
    char path[1024];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", s_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(s_dir);
}

const char *fuzz_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    struct stat st;

    if (s_dir[0])
        return s_dir;
    if (!base || !base[0])
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                   ? "/dev/shm"
                   : "/tmp";
    snprintf(s_dir, sizeof(s_dir), "%s/wc-fuzz.XXXXXX", base);
    if (!mkdtemp(s_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(s_rm_dir);
    return s_dir;
}

void fuzz_write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || (len && fwrite(p, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* --- UTF-8 ----------------------------------------------------------------- */

bool fuzz_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* --- the checking logger ------------------------------------------------- */

#define S_LINES_MAX ((size_t)4 * 1024 * 1024)

static struct wc_buf s_lines = WC_BUF_INIT;

static void s_sink(void *ctx, const char *line, size_t len)
{
    bool json = ctx != NULL;

    FUZZ_CHECK(memchr(line, '\n', len) == NULL && memchr(line, '\r', len) == NULL,
               "a log line holds a line break: %.*s", (int)len, line);
    if (json) {
        cJSON *v = cJSON_ParseWithLength(line, len);

        FUZZ_CHECK(cJSON_IsObject(v), "a JSON log line is not a JSON object: %.*s", (int)len,
                   line);
        cJSON_Delete(v);
    }
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "log: %.*s\n", (int)len, line);
    /* a target that never resets keeps only the last few MiB */
    if (s_lines.len + len + 1 > S_LINES_MAX)
        wc_buf_reset(&s_lines);
    if (wc_buf_append(&s_lines, line, len) != 0 || wc_buf_append_char(&s_lines, '\n') != 0)
        abort();
}

struct wc_logger *fuzz_logger(bool json)
{
    static int s_json_tag;
    struct wc_logger_options o = {0};
    struct wc_logger *lg;

    o.level = WC_LOG_TRACE;
    o.format = json ? WC_LOG_JSON : WC_LOG_TEXT;
    o.write = s_sink;
    o.write_ctx = json ? &s_json_tag : NULL;
    if (!(lg = wc_logger_new(&o)))
        abort();
    return lg;
}

void fuzz_log_reset(void)
{
    wc_buf_reset(&s_lines);
}

bool fuzz_log_contains(const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0 || s_lines.len < n)
        return false;
    for (size_t i = 0; i + n <= s_lines.len; i++)
        if (memcmp(s_lines.ptr + i, needle, n) == 0)
            return true;
    return false;
}

/* --- HTTP answers ---------------------------------------------------------- */

void fuzz_push_response(struct fake_http *f, struct wc_str text)
{
    struct wc_buf head = WC_BUF_INIT;
    const char *p = text.ptr, *end = text.ptr + text.len, *eol, *line_end, *sp;
    long status = 0;

    if (text.len == 0)
        return;
    if (text.len < 5 || memcmp(text.ptr, "HTTP/", 5) != 0) {
        fake_http_push_bytes(f, 200, NULL, text.ptr, text.len);
        return;
    }
    /* status line: HTTP/x.y NNN reason (0 when there is no number) */
    eol = memchr(p, '\n', (size_t)(end - p));
    line_end = eol ? eol : end;
    sp = memchr(p, ' ', (size_t)(line_end - p));
    for (int i = 0; sp && sp + 1 + i < line_end && i < 3; i++) {
        char ch = sp[1 + i];

        if (ch < '0' || ch > '9')
            break;
        status = status * 10 + (ch - '0');
    }
    p = eol ? eol + 1 : end;
    /* headers up to an empty line */
    while (p < end) {
        size_t n;

        eol = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((eol ? eol : end) - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0) {
            p = eol ? eol + 1 : end;
            break;
        }
        if (memchr(p, '\0', n) == NULL &&
            (wc_buf_append(&head, p, n) != 0 || wc_buf_append_char(&head, '\n') != 0))
            abort();
        p = eol ? eol + 1 : end;
    }
    fake_http_push_bytes(f, status, head.ptr, p, (size_t)(end - p));
    wc_buf_clean_up(&head);
}

static int64_t s_now(void *ctx)
{
    (void)ctx;
    return FUZZ_NOW_MS;
}

const struct wc_clock *fuzz_clock(void)
{
    static const struct wc_clock c = {s_now, s_now, NULL};

    return &c;
}

static void s_no_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    (void)ms;
}

void fuzz_aws_init(struct fuzz_aws *a, struct wc_logger *lg)
{
    static const struct wc_aws_credentials creds = {
        (char *)"AKIDFUZZEXAMPLE", (char *)"fuzz/secret+access/key/EXAMPLEKEY", NULL, 0,
        (char *)"static"};
    struct wc_aws_options o = {0};

    memset(a, 0, sizeof(*a));
    if (!(a->fake = fake_http_new()))
        abort();
    o.http = fake_http_transport(a->fake);
    o.clock = fuzz_clock();
    o.logger = lg;
    o.sleep_ms = s_no_sleep;
    if (!(a->aws = wc_aws_new(&o)) || !(a->creds = wc_creds_static_new(&creds, NULL)))
        abort();
}

void fuzz_aws_clean_up(struct fuzz_aws *a)
{
    wc_creds_provider_destroy(a->creds);
    wc_aws_destroy(a->aws);
    fake_http_destroy(a->fake);
    memset(a, 0, sizeof(*a));
}

static bool s_ends_with(const char *host, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n > k && memcmp(host + n - k, suffix, k) == 0;
}

static const char *const s_partition_ids[] = {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b",
                                               "aws-iso-e", "aws-iso-f", "aws-eusc"};

bool fuzz_aws_url_ok(const char *url)
{
    const char *host, *end;
    size_t n;

    if (!url || strncmp(url, "https://", 8) != 0)
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    host = url + 8;
    end = host + strcspn(host, "/?#");
    n = (size_t)(end - host);
    if (*end != '/' || memchr(host, '@', n) || memchr(host, ':', n))
        return false;
    /* a public AWS host of some partition (core/awsid.c's table) */
    for (size_t i = 0; i < sizeof(s_partition_ids) / sizeof(s_partition_ids[0]); i++) {
        const struct wc_partition *pt = wc_partition_by_id(s_partition_ids[i]);
        char suffix[96];

        if (!pt)
            continue;
        snprintf(suffix, sizeof(suffix), ".%s", pt->dns_suffix);
        if (s_ends_with(host, n, suffix))
            return true;
        snprintf(suffix, sizeof(suffix), ".%s", pt->dualstack_dns_suffix);
        if (s_ends_with(host, n, suffix))
            return true;
    }
    return false;
}
