/* fuzz_aws_error.c - the error answer of an AWS service (aws/aws_error.c):
 * awsJson bodies, awsQuery and restXml bodies (expat), and the
 * X-Amzn-ErrorType / x-amzn-query-error / request-id headers. The input is
 * an HTTP answer in text (status line, headers, empty line, body), as in
 * the samples; it is also handed to the SQS error mapping and to the
 * client's error classification.
 *
 * Invariants: a parse succeeds (a malformed body is not an error), the code
 * is never NULL nor empty, the status is kept, and unless an
 * x-amzn-query-error header names the code, the code holds no '#' or ':'
 * (the namespace and URI suffix are dropped). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/aws_client.h"
#include "aws/aws_error.h"
#include "aws/sqs.h"
#include "core/err.h"
#include "core/http.h"
#include "tests/fuzz/harness.h"

#define S_MAX_HEADERS 16

/* An x-amzn-query-error header whose first field names a code (which then
 * replaces the code as it is, as the SDKs do). */
static bool s_query_error(const struct wc_http_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(h[i].name, "x-amzn-query-error") == 0)
            return h[i].value[0] != '\0' && h[i].value[0] != ';';
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size, *eol;
    struct wc_http_header headers[S_MAX_HEADERS];
    struct wc_aws_error e = WC_AWS_ERROR_INIT;
    size_t n = 0;
    long status = 0;
    int rc;
    char *code_copy;

    memset(headers, 0, sizeof(headers));
    /* "HTTP/1.1 400 Bad Request" or just "400" */
    eol = memchr(p, '\n', size);
    {
        const char *q = p, *le = eol ? eol : end;

        if ((size_t)(le - q) >= 5 && memcmp(q, "HTTP/", 5) == 0)
            q = memchr(q, ' ', (size_t)(le - q));
        while (q && q < le && *q == ' ')
            q++;
        for (int i = 0; q && q < le && i < 3 && *q >= '0' && *q <= '9'; i++, q++)
            status = status * 10 + (*q - '0');
    }
    p = eol ? eol + 1 : end;
    while (p < end) {
        const char *colon, *v;
        size_t len;

        eol = memchr(p, '\n', (size_t)(end - p));
        len = (size_t)((eol ? eol : end) - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) {
            p = eol ? eol + 1 : end;
            break;
        }
        colon = memchr(p, ':', len);
        if (colon && n < S_MAX_HEADERS) {
            v = colon + 1;
            while (v < p + len && *v == ' ')
                v++;
            headers[n].name = fuzz_cstr((struct wc_str){p, (size_t)(colon - p)});
            headers[n].value = fuzz_cstr((struct wc_str){v, (size_t)(p + len - v)});
            n++;
        }
        p = eol ? eol + 1 : end;
    }

    rc = wc_aws_error_parse_parts(status, headers, n, p, (size_t)(end - p), &e);
    FUZZ_CHECK(rc == WC_OK, "parse failed: %s", wc_strerror(rc));
    FUZZ_CHECK(e.code && e.code[0], "no code");
    FUZZ_CHECK(e.status == (int)status, "status %d, not %ld", e.status, status);
    (void)wc_aws_error_to_rc(&e);
    rc = wc_sqs_error_rc(e.code, WC_ERR_SERVICE);
    FUZZ_CHECK(rc < 0, "SQS mapping gave %d", rc);
    if (!s_query_error(headers, n)) {
        /* the code came from X-Amzn-ErrorType, the body or the status:
         * sanitised, so sanitising again changes nothing */
        FUZZ_CHECK(!strchr(e.code, '#') && !strchr(e.code, ':'), "code not sanitised: %s",
                   e.code);
        code_copy = fuzz_cstr(wc_str_from_cstr(e.code));
        wc_aws_error_sanitize_code(code_copy);
        FUZZ_CHECK(strcmp(code_copy, e.code) == 0, "sanitise is not idempotent: %s -> %s",
                   e.code, code_copy);
        free(code_copy);
    }
    wc_aws_error_clean_up(&e);
    for (size_t i = 0; i < n; i++) {
        free(headers[i].name);
        free(headers[i].value);
    }
    return 0;
}
