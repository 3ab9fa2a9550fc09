/* Unit tests for aws/sigv4: every case of the three SigV4 suites under
 * tests/data/aws-reference (one cmocka test per case directory, found at run time),
 * plus the helpers, input checks and secret hygiene. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4.h"
#include "aws/sigv4_internal.h"
#include "core/err.h"
#include "tests/support/sigv4_vectors.h"

/* Cases in each suite (tests/data/aws-reference/README.md). A missing or partly
 * copied suite fails test_suites_complete instead of passing silently. */
#define S_CLASSIC_CASES 34
#define S_AWS_C_AUTH_CASES 38
#define S_GENERATED_CASES 13

static struct wc_test_sigv4_vectors s_vectors;

/* ---- one case of a suite ----------------------------------------------- */

/* Compare one output with its golden file; print both on a mismatch. */
static bool s_same(const char *what, const char *got, const char *want)
{
    if (got && want && strcmp(got, want) == 0)
        return true;
    print_error("%s differs\n--- expected\n%s\n--- got\n%s\n---\n", what, want ? want : "(none)",
                got ? got : "(null)");
    return false;
}

static bool s_contains(const char *hay, const char *needle)
{
    return hay && needle && *needle && strstr(hay, needle) != NULL;
}

/* The result strings, for the secret checks. */
static const char *const *s_result_strings(const struct wc_sigv4_result *r, const char *out[9])
{
    out[0] = r->canonical_request;
    out[1] = r->string_to_sign;
    out[2] = r->signature;
    out[3] = r->signed_headers;
    out[4] = r->credential_scope;
    out[5] = r->amz_date;
    out[6] = r->content_sha256;
    out[7] = r->authorization;
    out[8] = r->presigned_query;
    return out;
}

static bool s_secret_found(const struct wc_sigv4_result *r, const char *secret)
{
    const char *strs[9];

    s_result_strings(r, strs);
    for (size_t i = 0; i < 9; i++)
        if (s_contains(strs[i], secret))
            return true;
    return false;
}

static bool s_secret_absent(const struct wc_sigv4_result *r, const char *secret)
{
    if (!s_secret_found(r, secret))
        return true;
    print_error("secret key found in a result string\n");
    return false;
}

/* Sorted '&'-separated X-Amz-* parameters of a query string. */
static void s_amz_params(const char *query, struct wc_strlist *out)
{
    const char *p = query;

    while (p && *p) {
        size_t n = strcspn(p, "&");

        if (n > 6 && strncmp(p, "X-Amz-", 6) == 0)
            assert_int_equal(wc_strlist_push_n(out, p, n), WC_OK);
        p += n;
        if (*p == '&')
            p++;
    }
    for (size_t i = 1; i < out->len; i++) /* insertion sort, a handful of items */
        for (size_t j = i; j > 0 && strcmp(out->items[j - 1], out->items[j]) > 0; j--) {
            char *t = out->items[j];
            out->items[j] = out->items[j - 1];
            out->items[j - 1] = t;
        }
}

/* Presigned: the X-Amz-* parameters we return are those of the signed
 * request in query-signed-request.txt (order aside). */
static bool s_presigned_query_matches(const struct wc_test_sigv4_vector *v, const char *got)
{
    struct wc_buf text = WC_BUF_INIT;
    struct wc_strlist want = WC_STRLIST_INIT, have = WC_STRLIST_INIT;
    char path[4096];
    const char *q, *end;
    char *query = NULL;
    bool ok = true;

    snprintf(path, sizeof(path), "%s/query-signed-request.txt", v->dir);
    wc_test_read_file(path, &text);
    q = strchr(text.ptr, '?');
    end = q ? strstr(q, " HTTP/1.1") : NULL;
    assert_non_null(end);
    query = wc_strndup(q + 1, (size_t)(end - q - 1));
    s_amz_params(query, &want);
    s_amz_params(got, &have);
    ok = want.len == have.len && want.len >= 6;
    for (size_t i = 0; ok && i < want.len; i++)
        ok = strcmp(want.items[i], have.items[i]) == 0;
    if (!ok)
        print_error("presigned query differs\n--- expected\n%s\n--- got\n%s\n---\n", query,
                    got ? got : "(null)");
    free(query);
    wc_strlist_clean_up(&want);
    wc_strlist_clean_up(&have);
    wc_buf_clean_up(&text);
    return ok;
}

static const char *s_http_header(const struct wc_sigv4_http_headers *h, const char *name)
{
    const char *found = NULL;

    for (size_t i = 0; i < h->len; i++) {
        if (strcasecmp(h->items[i].name, name) == 0) {
            if (found)
                fail_msg("header %s twice", name);
            found = h->items[i].value;
        }
    }
    return found;
}

/* Generated vectors again through wc_sigv4_sign_http, as the clients call
 * it: URL from context.json, Host left to the signer. */
static bool s_check_http(const struct wc_test_sigv4_case *c)
{
    struct wc_http_header *hh = calloc(c->n_headers + 1, sizeof(*hh));
    struct wc_http_request req = {0};
    struct wc_sigv4_http_headers out = WC_SIGV4_HTTP_HEADERS_INIT;
    const char *host = NULL;
    size_t n = 0;
    bool ok = true;

    assert_non_null(hh);
    for (size_t i = 0; i < c->n_headers; i++) {
        if (strcasecmp(c->headers[i].name, "host") == 0) {
            host = c->headers[i].value;
            continue;
        }
        hh[n].name = (char *)c->headers[i].name;
        hh[n].value = (char *)c->headers[i].value;
        n++;
    }
    req.method = c->method;
    req.url = c->url;
    req.headers = hh;
    req.n_headers = n;
    req.body = c->req.body;
    req.body_len = c->req.body_len;
    assert_int_equal(wc_sigv4_sign_http(&req, &c->params, NULL, &out), WC_OK);
    ok &= s_same("http: Authorization", s_http_header(&out, "Authorization"), c->expect_authz);
    ok &= s_same("http: Host", s_http_header(&out, "Host"), host);
    ok &= s_same("http: X-Amz-Date", s_http_header(&out, "X-Amz-Date"), c->expect_amz_date);
    if (c->token)
        ok &= s_same("http: X-Amz-Security-Token", s_http_header(&out, "X-Amz-Security-Token"),
                     c->token);
    else
        ok &= s_http_header(&out, "X-Amz-Security-Token") == NULL;
    if (c->params.sign_body_header)
        ok &= s_http_header(&out, "x-amz-content-sha256") != NULL;
    ok &= out.len == n + 3 + (c->token != NULL) + c->params.sign_body_header;
    wc_sigv4_http_headers_clean_up(&out);
    free(hh);
    return ok;
}

static void test_vector(void **state)
{
    const struct wc_test_sigv4_vector *v = *state;
    struct wc_test_sigv4_case c;
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;
    bool ok = true;

    wc_test_sigv4_load(v, &c);
    assert_int_equal(wc_sigv4_sign(&c.req, &c.params, &r), WC_OK);

    /* each output checked on its own, so a failure names the step */
    ok &= s_same("canonical request", r.canonical_request, c.expect_creq);
    ok &= s_same("string to sign", r.string_to_sign, c.expect_sts);
    ok &= s_same("signature", r.signature, c.expect_signature);
    ok &= s_same("X-Amz-Date", r.amz_date, c.expect_amz_date);
    if (v->presign) {
        ok &= r.authorization == NULL;
        ok &= s_presigned_query_matches(v, r.presigned_query);
    } else {
        ok &= s_same("authorization", r.authorization, c.expect_authz);
        ok &= r.presigned_query == NULL;
    }
    if (c.params.sign_body_header && !c.params.presign) {
        /* the header value the caller sends is the signed payload hash */
        const char *last = strrchr(c.expect_creq, '\n');
        ok &= s_same("x-amz-content-sha256", r.content_sha256, last ? last + 1 : NULL);
    } else {
        ok &= r.content_sha256 == NULL;
    }
    ok &= s_secret_absent(&r, c.secret);
    if (v->suite == WC_TEST_SIGV4_GENERATED)
        ok &= s_check_http(&c);

    wc_sigv4_result_clean_up(&r);
    wc_test_sigv4_case_clean_up(&c);
    assert_true(ok);
}

static void test_suites_complete(void **state)
{
    size_t n[3] = {0, 0, 0}, n_presign = 0;

    (void)state;
    for (size_t i = 0; i < s_vectors.len; i++) {
        if (s_vectors.items[i].presign)
            n_presign++;
        else
            n[s_vectors.items[i].suite]++;
    }
    assert_int_equal(n[WC_TEST_SIGV4_CLASSIC], S_CLASSIC_CASES);
    assert_int_equal(n[WC_TEST_SIGV4_AWS_C_AUTH], S_AWS_C_AUTH_CASES);
    assert_int_equal(n_presign, S_AWS_C_AUTH_CASES);
    assert_int_equal(n[WC_TEST_SIGV4_GENERATED], S_GENERATED_CASES);
}

/* ---- helpers --------------------------------------------------------------- */

static void s_hex32(const uint8_t *k, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", k[i]);
}

/* AWS documentation, "Examples of how to derive a signing key for
 * Signature Version 4": secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
 * 20120215, us-east-1, iam. */
static void test_derive_key_doc_example(void **state)
{
    uint8_t key[WC_SIGV4_KEY_LEN];
    char hex[65];

    (void)state;
    assert_int_equal(wc_sigv4_derive_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                         "us-east-1", "iam", key),
                     WC_OK);
    s_hex32(key, hex);
    assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    assert_int_equal(wc_sigv4_derive_key(NULL, "20120215", "us-east-1", "iam", key),
                     WC_ERR_INVALID);
}

static void s_expect_encode(const char *in, bool encode_slash, const char *want)
{
    struct wc_buf b = WC_BUF_INIT;

    assert_int_equal(wc_sigv4_uri_encode(wc_str_from_cstr(in), encode_slash, &b), WC_OK);
    assert_non_null(b.ptr);
    assert_string_equal(b.ptr, want);
    wc_buf_clean_up(&b);
}

static void test_uri_encode(void **state)
{
    (void)state;
    s_expect_encode("", true, "");
    s_expect_encode("AZaz09-_.~", true, "AZaz09-_.~");
    s_expect_encode("a b+c=d&e", true, "a%20b%2Bc%3Dd%26e");
    s_expect_encode("arn:aws:iam::1:role/x", true, "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx");
    s_expect_encode("AWS::EC2::Instance/i-1 x", false, "AWS%3A%3AEC2%3A%3AInstance/i-1%20x");
    s_expect_encode("\xe1\x88\xb4", true, "%E1%88%B4");
    s_expect_encode("100%", true, "100%25");
    s_expect_encode("a*b'(c)!", true, "a%2Ab%27%28c%29%21");
}

static void s_expect_path(const char *in, bool norm, bool dbl, const char *want)
{
    struct wc_buf b = WC_BUF_INIT;

    assert_int_equal(wc_sigv4_canonical_path(in, norm, dbl, &b), WC_OK);
    assert_string_equal(b.ptr, want);
    wc_buf_clean_up(&b);
}

static void test_canonical_path(void **state)
{
    (void)state;
    /* non-S3: normalise, then encode '%' again */
    s_expect_path("/a/./b/../c//d/", true, true, "/a/c/d/");
    s_expect_path("/a%20b", true, true, "/a%2520b");
    s_expect_path("/..", true, true, "/");
    s_expect_path("", true, true, "/");
    /* S3: as on the wire; escapes kept (hex upper-cased), raw bytes encoded once */
    s_expect_path("/k//x/../AWS%3a%3AEC2 y", false, false, "/k//x/../AWS%3A%3AEC2%20y");
    s_expect_path("/a%2Fb/%zz", false, false, "/a%2Fb/%25zz");
    s_expect_path("/file~1+2", false, false, "/file~1%2B2");
}

static void s_expect_query(const char *in, const char *want)
{
    struct wc_buf b = WC_BUF_INIT;

    assert_int_equal(wc_sigv4_canonical_query(in, &b), WC_OK);
    assert_string_equal(b.ptr, want);
    wc_buf_clean_up(&b);
}

static void test_canonical_query(void **state)
{
    (void)state;
    s_expect_query(NULL, "");
    s_expect_query("", "");
    s_expect_query("b=2&a=1&a=0", "a=0&a=1&b=2");
    s_expect_query("k&j=", "j=&k=");
    s_expect_query("a=x+y&c=%7e&d=%zz&&", "a=x%2By&c=~&d=%25zz");
    s_expect_query("Z=1&a=1", "Z=1&a=1");
    s_expect_query("a=b=c", "a=b%3Dc");
}

static void test_amz_date(void **state)
{
    char d[17];

    (void)state;
    assert_int_equal(wc_sigv4_format_amz_date(0, d), WC_OK);
    assert_string_equal(d, "19700101T000000Z");
    assert_int_equal(wc_sigv4_format_amz_date(1709251199, d), WC_OK);
    assert_string_equal(d, "20240229T235959Z");
    assert_int_equal(wc_sigv4_format_amz_date(-1, d), WC_ERR_INVALID);
    assert_int_equal(wc_sigv4_format_amz_date(INT64_C(253402300800), d), WC_ERR_INVALID);
}

/* ---- signing behaviour ------------------------------------------------------ */

#define S_SECRET "Zq9/Secret+Key/For=Tests0123456789abcdEF"

static const struct wc_sigv4_header s_host[] = {{"Host", "sqs.us-east-1.amazonaws.com"}};

static struct wc_sigv4_params s_params(void)
{
    struct wc_sigv4_params p = {
        .region = "us-east-1",
        .service = "sqs",
        .time_s = 1714564800, /* 2024-05-01T12:00:00Z */
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = S_SECRET,
        .normalize_path = true,
        .double_encode_path = true,
    };
    return p;
}

static struct wc_sigv4_request s_request(void)
{
    struct wc_sigv4_request r = {
        .method = "POST", .path = "/", .headers = s_host, .n_headers = 1,
        .body = "{}", .body_len = 2,
    };
    return r;
}

static void s_expect_invalid(const struct wc_sigv4_request *req, const struct wc_sigv4_params *p)
{
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;

    assert_int_equal(wc_sigv4_sign(req, p, &r), WC_ERR_INVALID);
    assert_null(r.canonical_request);
    assert_null(r.signature);
    assert_null(r.authorization);
}

static void test_rejects_bad_input(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_request req = s_request();
    struct wc_sigv4_header h[2] = {{"Host", "h"}, {"X", "y"}};

    (void)state;
    s_expect_invalid(NULL, &p);
    s_expect_invalid(&req, NULL);
    assert_int_equal(wc_sigv4_sign(&req, &p, NULL), WC_ERR_INVALID);

    req.headers = h;
    req.n_headers = 2;
    h[1] = (struct wc_sigv4_header){"Bad Name", "v"};
    s_expect_invalid(&req, &p);
    h[1] = (struct wc_sigv4_header){"X-Evil", "a\r\nAuthorization: x"};
    s_expect_invalid(&req, &p);
    h[1] = (struct wc_sigv4_header){"X-Null", NULL};
    s_expect_invalid(&req, &p);
    h[1] = (struct wc_sigv4_header){"X-Amz-Date", "20240501T120000Z"};
    s_expect_invalid(&req, &p);
    h[1] = (struct wc_sigv4_header){"authorization", "AWS4-HMAC-SHA256 x"};
    s_expect_invalid(&req, &p);
    h[1] = (struct wc_sigv4_header){"X-Amz-Security-Token", "t"};
    p.session_token = "t";
    s_expect_invalid(&req, &p);
    p = s_params();
    h[1] = (struct wc_sigv4_header){"X-Amz-Content-Sha256", WC_SIGV4_EMPTY_SHA256};
    p.sign_body_header = true;
    s_expect_invalid(&req, &p);

    /* no Host header */
    p = s_params();
    h[0] = (struct wc_sigv4_header){"Content-Type", "a"};
    h[1] = (struct wc_sigv4_header){"X-Amz-Target", "b"};
    s_expect_invalid(&req, &p);

    req = s_request();
    req.path = "relative";
    s_expect_invalid(&req, &p);
    req = s_request();
    req.method = "GE T";
    s_expect_invalid(&req, &p);
    req = s_request();
    req.body = NULL;
    s_expect_invalid(&req, &p);

    req = s_request();
    p.region = "us-east-1/x";
    s_expect_invalid(&req, &p);
    p = s_params();
    p.secret_access_key = "";
    s_expect_invalid(&req, &p);
    p = s_params();
    p.session_token = "tok\nen";
    s_expect_invalid(&req, &p);
    p = s_params();
    p.time_s = -5;
    s_expect_invalid(&req, &p);

    p = s_params();
    p.presign = true;
    p.expires_s = 0;
    s_expect_invalid(&req, &p);
    p.expires_s = WC_SIGV4_MAX_EXPIRES_S + 1;
    s_expect_invalid(&req, &p);
    p.expires_s = 60;
    req.query = "X-Amz-Signature=forged";
    s_expect_invalid(&req, &p);
}

static const char *s_last_line(const char *s)
{
    const char *nl = strrchr(s, '\n');

    return nl ? nl + 1 : s;
}

static void test_payload_hash(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_request req = s_request();
    struct wc_sigv4_result a = WC_SIGV4_RESULT_INIT, b = WC_SIGV4_RESULT_INIT;

    (void)state;
    /* SHA-256("{}") */
    assert_int_equal(wc_sigv4_sign(&req, &p, &a), WC_OK);
    assert_string_equal(s_last_line(a.canonical_request),
                        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    assert_null(a.content_sha256);
    /* one byte more changes hash and signature */
    req.body = "{} ";
    req.body_len = 3;
    assert_int_equal(wc_sigv4_sign(&req, &p, &b), WC_OK);
    assert_string_not_equal(a.signature, b.signature);
    wc_sigv4_result_clean_up(&a);
    wc_sigv4_result_clean_up(&b);

    /* override, signed as a header for S3 */
    req = s_request();
    req.method = "GET";
    req.body = NULL;
    req.body_len = 0;
    req.payload_hash = WC_SIGV4_UNSIGNED_PAYLOAD;
    p.service = "s3";
    p.sign_body_header = true;
    assert_int_equal(wc_sigv4_sign(&req, &p, &a), WC_OK);
    assert_string_equal(s_last_line(a.canonical_request), WC_SIGV4_UNSIGNED_PAYLOAD);
    assert_string_equal(a.content_sha256, WC_SIGV4_UNSIGNED_PAYLOAD);
    assert_non_null(strstr(a.canonical_request, "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
    assert_string_equal(a.signed_headers, "host;x-amz-content-sha256;x-amz-date");
    wc_sigv4_result_clean_up(&a);
}

static void test_time_and_scope(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_request req = s_request();
    struct wc_sigv4_result a = WC_SIGV4_RESULT_INIT, b = WC_SIGV4_RESULT_INIT;

    (void)state;
    assert_int_equal(wc_sigv4_sign(&req, &p, &a), WC_OK);
    assert_string_equal(a.amz_date, "20240501T120000Z");
    assert_string_equal(a.credential_scope, "20240501/us-east-1/sqs/aws4_request");
    p.time_s += 1; /* the injected clock is what gets signed */
    assert_int_equal(wc_sigv4_sign(&req, &p, &b), WC_OK);
    assert_string_equal(b.amz_date, "20240501T120001Z");
    assert_string_not_equal(a.signature, b.signature);
    wc_sigv4_result_clean_up(&a);
    wc_sigv4_result_clean_up(&b);
}

static void test_session_token_omitted(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_request req = s_request();
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;

    (void)state;
    p.session_token = "TOKEN/with+chars=";
    assert_int_equal(wc_sigv4_sign(&req, &p, &r), WC_OK);
    assert_string_equal(r.signed_headers, "host;x-amz-date;x-amz-security-token");
    assert_non_null(strstr(r.canonical_request, "\nx-amz-security-token:TOKEN/with+chars=\n"));
    wc_sigv4_result_clean_up(&r);

    p.omit_session_token = true;
    assert_int_equal(wc_sigv4_sign(&req, &p, &r), WC_OK);
    assert_string_equal(r.signed_headers, "host;x-amz-date");
    assert_null(strstr(r.canonical_request, "TOKEN"));
    wc_sigv4_result_clean_up(&r);

    /* presigned: added after the signature, encoded */
    p.presign = true;
    p.expires_s = 300;
    assert_int_equal(wc_sigv4_sign(&req, &p, &r), WC_OK);
    assert_null(strstr(r.canonical_request, "TOKEN"));
    assert_non_null(strstr(r.presigned_query, "&X-Amz-Security-Token=TOKEN%2Fwith%2Bchars%3D"));
    assert_non_null(strstr(r.presigned_query, "X-Amz-Expires=300&"));
    wc_sigv4_result_clean_up(&r);
}

/* The secret key appears in no output string, for header and query auth,
 * with and without a token and body header. */
static void test_secret_never_in_results(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_request req = s_request();
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;
    /* the secret also as the query and a header value, to prove the check
     * would see it: it must then show up (in the canonical request) */
    struct wc_sigv4_header h[2] = {{"Host", "h"}, {"X-Echo", S_SECRET}};

    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        p = s_params();
        p.presign = mode & 1;
        p.expires_s = 900;
        p.sign_body_header = mode & 2;
        p.session_token = mode & 2 ? "tok" : NULL;
        assert_int_equal(wc_sigv4_sign(&req, &p, &r), WC_OK);
        assert_true(s_secret_absent(&r, S_SECRET));
        assert_true(s_secret_absent(&r, "Zq9")); /* not even a prefix */
        wc_sigv4_result_clean_up(&r);
    }
    req.headers = h;
    req.n_headers = 2;
    p = s_params();
    assert_int_equal(wc_sigv4_sign(&req, &p, &r), WC_OK);
    assert_true(s_secret_found(&r, S_SECRET));
    wc_sigv4_result_clean_up(&r);
}

static void test_result_wipe_and_clean_up(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_request req = s_request();
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;
    const char *strs[9];
    size_t lens[9];

    (void)state;
    p.session_token = "secret-session-token";
    p.sign_body_header = true;
    assert_int_equal(wc_sigv4_sign(&req, &p, &r), WC_OK);
    s_result_strings(&r, strs);
    for (size_t i = 0; i < 9; i++)
        lens[i] = strs[i] ? strlen(strs[i]) : 0;
    assert_true(lens[0] > 0 && lens[7] > 0);

    wc_sigv4_result_wipe(&r);
    s_result_strings(&r, strs);
    for (size_t i = 0; i < 9; i++)
        for (size_t j = 0; j < lens[i]; j++)
            assert_int_equal(strs[i][j], 0);

    wc_sigv4_result_clean_up(&r);
    s_result_strings(&r, strs);
    for (size_t i = 0; i < 9; i++)
        assert_null(strs[i]);
    wc_sigv4_result_clean_up(&r); /* twice is fine */
    wc_sigv4_result_clean_up(NULL);
}

static int s_http_sign(const char *url, const struct wc_http_header *h, size_t n,
                       const struct wc_sigv4_params *p, struct wc_sigv4_http_headers *out)
{
    struct wc_http_request req = {.method = "GET", .url = url, .headers = h, .n_headers = n};

    return wc_sigv4_sign_http(&req, p, WC_SIGV4_EMPTY_SHA256, out);
}

static void test_sign_http_url(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_http_headers out = WC_SIGV4_HTTP_HEADERS_INIT;
    struct wc_http_header host = {"Host", "example.com"};

    (void)state;
    assert_int_equal(s_http_sign("https://sqs.us-east-1.amazonaws.com:443", NULL, 0, &p, &out),
                     WC_OK);
    assert_string_equal(s_http_header(&out, "Host"), "sqs.us-east-1.amazonaws.com");
    wc_sigv4_http_headers_clean_up(&out);
    assert_int_equal(s_http_sign("http://127.0.0.1:8080/a/../b?x=1#frag", NULL, 0, &p, &out),
                     WC_OK);
    assert_string_equal(s_http_header(&out, "Host"), "127.0.0.1:8080");
    wc_sigv4_http_headers_clean_up(&out);
    assert_int_equal(s_http_sign("HTTP://[::1]:80", NULL, 0, &p, &out), WC_OK);
    assert_string_equal(s_http_header(&out, "Host"), "[::1]");
    wc_sigv4_http_headers_clean_up(&out);
    /* a Host given by the caller is signed and not repeated */
    assert_int_equal(s_http_sign("https://1.2.3.4/", &host, 1, &p, &out), WC_OK);
    assert_string_equal(s_http_header(&out, "Host"), "example.com");
    assert_int_equal(out.len, 3);
    wc_sigv4_http_headers_clean_up(&out);

    assert_int_equal(s_http_sign("ftp://h/", NULL, 0, &p, &out), WC_ERR_INVALID);
    assert_int_equal(s_http_sign("https://user@h/", NULL, 0, &p, &out), WC_ERR_INVALID);
    assert_int_equal(s_http_sign("https:///x", NULL, 0, &p, &out), WC_ERR_INVALID);
    assert_int_equal(s_http_sign(NULL, NULL, 0, &p, &out), WC_ERR_INVALID);
    p.presign = true;
    p.expires_s = 60;
    assert_int_equal(s_http_sign("https://h/", NULL, 0, &p, &out), WC_ERR_INVALID);
    assert_null(out.items);
    wc_sigv4_http_headers_clean_up(NULL);
}

/* Path and query come from the URL: the same request signed from parts and
 * through the URL gives the same signature. */
static void test_sign_http_matches_parts(void **state)
{
    struct wc_sigv4_params p = s_params();
    struct wc_sigv4_http_headers out = WC_SIGV4_HTTP_HEADERS_INIT;
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;
    struct wc_sigv4_header h[] = {{"Host", "h.example"}};
    struct wc_sigv4_request req = {
        .method = "GET", .path = "/x%20y/./z", .query = "b=2&a=1", .headers = h,
        .n_headers = 1, .payload_hash = WC_SIGV4_EMPTY_SHA256,
    };
    const char *authz;

    (void)state;
    assert_int_equal(wc_sigv4_sign(&req, &p, &r), WC_OK);
    assert_int_equal(s_http_sign("https://h.example/x%20y/./z?b=2&a=1", NULL, 0, &p, &out), WC_OK);
    authz = s_http_header(&out, "Authorization");
    assert_non_null(authz);
    assert_string_equal(authz, r.authorization);
    wc_sigv4_http_headers_clean_up(&out);
    wc_sigv4_result_clean_up(&r);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_suites_complete),
        cmocka_unit_test(test_derive_key_doc_example),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_path),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_rejects_bad_input),
        cmocka_unit_test(test_payload_hash),
        cmocka_unit_test(test_time_and_scope),
        cmocka_unit_test(test_session_token_omitted),
        cmocka_unit_test(test_secret_never_in_results),
        cmocka_unit_test(test_result_wipe_and_clean_up),
        cmocka_unit_test(test_sign_http_url),
        cmocka_unit_test(test_sign_http_matches_parts),
    };
    size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]), n;
    struct CMUnitTest *tests;
    int failed;

    /* A suite that cannot be read leaves its count short, which
     * test_suites_complete reports. */
    (void)wc_test_sigv4_list(WC_TEST_SIGV4_CLASSIC, false, &s_vectors);
    (void)wc_test_sigv4_list(WC_TEST_SIGV4_AWS_C_AUTH, true, &s_vectors);
    (void)wc_test_sigv4_list(WC_TEST_SIGV4_GENERATED, false, &s_vectors);

    n = n_fixed + s_vectors.len;
    tests = calloc(n, sizeof(*tests));
    if (!tests)
        return 1;
    memcpy(tests, fixed, sizeof(fixed));
    for (size_t i = 0; i < s_vectors.len; i++) {
        tests[n_fixed + i].name = s_vectors.items[i].name;
        tests[n_fixed + i].test_func = test_vector;
        tests[n_fixed + i].initial_state = &s_vectors.items[i];
    }
    failed = _cmocka_run_group_tests("sigv4", tests, n, NULL, NULL);
    free(tests);
    wc_test_sigv4_vectors_clean_up(&s_vectors);
    return failed;
}
