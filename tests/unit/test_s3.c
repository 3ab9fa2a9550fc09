/* Unit tests for aws/s3 (GetObject of an oversized Config item): location
 * validation, URL building and key encoding, S3 signing compared with the
 * generated vectors, gunzip (objects gzipped here with zlib from the sample
 * JSON), the size cap, errors and the bucket-region retry - over a fake
 * transport with a pinned clock. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/s3.h"
#include "core/change.h"
#include "core/err.h"
#include "core/log.h"

#define T0_MS 1714564800000LL /* 2024-05-01T12:00:00Z, the vectors' time */
#define VEC "sigv4-testsuite/generated-service-vectors/"
#define BUCKET "config-bucket-123456789012"
#define KEY_COLONS                                                                       \
    "AWSLogs/123456789012/Config/eu-west-1/2024/5/1/OversizedChangeNotification/"        \
    "AWS::EC2::Instance/i-0abc123/123456789012_Config_eu-west-1_ChangeNotification_"     \
    "AWS::EC2::Instance_i-0abc123_20240501T120000Z_0.json.gz"
#define SAMPLE "samples/config/s3-object-oversized-change-notification.constructed.json"

/* --- fake transport -------------------------------------------------------- */

#define FAKE_MAX 16

struct fake_answer {
    long status;
    char *headers; /* "Name: value\n" lines */
    char *body;
    size_t body_len;
};

struct fake_req {
    char *method, *url, *body;
    struct wc_http_header *headers;
    size_t n_headers;
    long timeout_ms;
    size_t max_response_bytes;
};

struct fx {
    struct wc_http http;
    struct fake_answer answers[FAKE_MAX];
    size_t n_answers, next;
    struct fake_req reqs[FAKE_MAX];
    size_t n_reqs;
    struct wc_aws *aws;
    struct wc_creds_provider *creds;
    struct wc_logger *logger;
    struct wc_buf log;
    int64_t now;
};

static int s_fake_send(struct wc_http *h, const struct wc_http_request *req,
                       struct wc_http_response *resp)
{
    struct fx *f = h->impl;
    struct fake_req *r;
    struct fake_answer *a;
    const char *line;

    assert_true(f->n_reqs < FAKE_MAX);
    r = &f->reqs[f->n_reqs++];
    r->method = wc_strdup(req->method);
    r->url = wc_strdup(req->url);
    r->body = wc_strndup(req->body ? req->body : "", req->body_len);
    r->timeout_ms = req->timeout_ms;
    r->max_response_bytes = req->max_response_bytes;
    r->headers = calloc(req->n_headers + 1, sizeof(*r->headers));
    for (size_t i = 0; i < req->n_headers; i++) {
        r->headers[i].name = wc_strdup(req->headers[i].name);
        r->headers[i].value = wc_strdup(req->headers[i].value);
    }
    r->n_headers = req->n_headers;
    if (f->next >= f->n_answers)
        return WC_ERR_HTTP;
    a = &f->answers[f->next++];
    resp->status = a->status;
    for (line = a->headers; line && *line;) {
        const char *eol = strchr(line, '\n'), *colon = strchr(line, ':');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);

        if (colon && colon < line + n) {
            const char *v = colon + 1;

            while (*v == ' ')
                v++;
            wc_http_response_add_header(resp, line, (size_t)(colon - line), v,
                                        (size_t)(line + n - v));
        }
        line += n + (eol ? 1 : 0);
    }
    wc_buf_init(&resp->body, req->max_response_bytes);
    if (a->body_len > (req->max_response_bytes ? req->max_response_bytes
                                               : WC_HTTP_DEFAULT_MAX_RESPONSE))
        return WC_ERR_TOO_LARGE;
    return wc_buf_append(&resp->body, a->body ? a->body : "", a->body_len);
}

static const struct wc_http_vtable s_fake_vtable = {.name = "s3-fake", .send = s_fake_send};

static void fake_add(struct fx *f, long status, const char *headers, const char *body)
{
    struct fake_answer *a;

    assert_true(f->n_answers < FAKE_MAX);
    a = &f->answers[f->n_answers++];
    a->status = status;
    a->headers = wc_strdup(headers);
    a->body = wc_strdup(body ? body : "");
    a->body_len = strlen(a->body);
}

static void fake_add_bytes(struct fx *f, long status, const char *headers, const void *body,
                           size_t len)
{
    struct fake_answer *a;

    assert_true(f->n_answers < FAKE_MAX);
    a = &f->answers[f->n_answers++];
    a->status = status;
    a->headers = wc_strdup(headers);
    a->body = malloc(len + 1);
    assert_non_null(a->body);
    memcpy(a->body, body, len);
    a->body_len = len;
}

static const char *req_header(const struct fake_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

/* --- fixture --------------------------------------------------------------- */

static int64_t s_now(void *ctx)
{
    return ((struct fx *)ctx)->now;
}

static void s_no_sleep(void *ctx, int64_t ms)
{
    ((struct fx *)ctx)->now += ms;
}

static void s_log(void *ctx, const char *line, size_t len)
{
    struct fx *f = ctx;

    wc_buf_append(&f->log, line, len);
    wc_buf_append_char(&f->log, '\n');
}

static const struct wc_aws_credentials s_creds = {
    .access_key_id = (char *)"AKIDEXAMPLE",
    .secret_access_key = (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

static int setup_with(void **state, const struct wc_aws_credentials *c)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct wc_clock clock;
    struct wc_logger_options lo = {.level = WC_LOG_DEBUG, .write = s_log};
    struct wc_aws_options ao = {0};

    f->now = T0_MS;
    f->http.vtable = &s_fake_vtable;
    f->http.impl = f;
    clock = (struct wc_clock){s_now, s_now, f};
    lo.write_ctx = f;
    f->logger = wc_logger_new(&lo);
    ao.http = &f->http;
    ao.clock = &clock;
    ao.logger = f->logger;
    ao.sleep_ms = s_no_sleep;
    ao.sleep_ctx = f;
    f->aws = wc_aws_new(&ao);
    f->creds = wc_creds_static_new(c, NULL);
    *state = f;
    return f->aws && f->creds && f->logger ? 0 : -1;
}

static int setup(void **state)
{
    return setup_with(state, &s_creds);
}

static int setup_token(void **state)
{
    struct wc_aws_credentials c = s_creds;

    c.session_token = (char *)"IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQD"
                              "EXAMPLE+sessiontoken/with=special+chars";
    return setup_with(state, &c);
}

static int teardown(void **state)
{
    struct fx *f = *state;

    for (size_t i = 0; i < f->n_answers; i++) {
        free(f->answers[i].headers);
        free(f->answers[i].body);
    }
    for (size_t i = 0; i < f->n_reqs; i++) {
        struct fake_req *r = &f->reqs[i];

        for (size_t j = 0; j < r->n_headers; j++) {
            free(r->headers[j].name);
            free(r->headers[j].value);
        }
        free(r->headers);
        free(r->method);
        free(r->url);
        free(r->body);
    }
    wc_aws_destroy(f->aws);
    wc_creds_provider_destroy(f->creds);
    wc_logger_destroy(f->logger);
    wc_buf_clean_up(&f->log);
    free(f);
    return 0;
}

/* gzip (with header) of data, as Config writes its objects. */
static void s_gzip(const void *data, size_t len, struct wc_buf *out)
{
    z_stream zs;
    unsigned char chunk[16384];
    int zrc;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY),
                     Z_OK);
    wc_buf_init(out, 0);
    zs.next_in = (unsigned char *)data;
    zs.avail_in = (uInt)len;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof(chunk);
        zrc = deflate(&zs, Z_FINISH);
        assert_true(zrc == Z_OK || zrc == Z_STREAM_END || zrc == Z_BUF_ERROR);
        assert_int_equal(wc_buf_append(out, chunk, sizeof(chunk) - zs.avail_out), WC_OK);
    } while (zrc != Z_STREAM_END);
    deflateEnd(&zs);
}

static struct wc_s3_options s_opts(struct fx *f, const char *endpoint)
{
    return (struct wc_s3_options){.aws = f->aws, .creds = f->creds, .endpoint = endpoint,
                                  .log_id = "msg-1"};
}

static void s_read_vector(const char *name, const char *file, struct wc_buf *out)
{
    char rel[256];

    snprintf(rel, sizeof(rel), VEC "%s/%s", name, file);
    wc_test_read_ref(rel, out);
}

/* --- validation ------------------------------------------------------------ */

static void test_location_validation(void **state)
{
    static const char *const hostile[] = {
        "../x", "bucket", "/key", "a b/key", "192.168.0.1/key",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/key", /* 64 */
        "https://evil.example/bucket/key", "s3://bucket/key", "bucket/", "", "ab/key",
        "Bucket/key", "-bucket/key", "bucket-/key", "my..bucket/key", "my.-bucket/key",
        "bucket/a/../b", "bucket/./b", "bucket/..", "bucket/a\nb", "bucket/a\tb",
        "bucket/a\x7f", "evil.com:443/key", "bucket?x=1/key", "bucket#/key",
    };
    char *b = NULL, *k = NULL;
    char long_key[1100];

    (void)state;
    assert_int_equal(wc_s3_location_parse(BUCKET "/" KEY_COLONS, &b, &k), WC_OK);
    assert_string_equal(b, BUCKET);
    assert_string_equal(k, KEY_COLONS);
    free(b);
    free(k);
    assert_int_equal(wc_s3_location_parse("my.dotted.bucket/a b+c/~x..y/z", &b, &k), WC_OK);
    assert_string_equal(b, "my.dotted.bucket");
    assert_string_equal(k, "a b+c/~x..y/z");
    free(b);
    free(k);
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        b = k = (char *)"untouched";
        if (wc_s3_location_parse(hostile[i], &b, &k) != WC_ERR_INVALID)
            fail_msg("accepted hostile location \"%s\"", hostile[i]);
        assert_null(b);
        assert_null(k);
    }
    assert_int_equal(wc_s3_location_parse(NULL, &b, &k), WC_ERR_INVALID);
    memset(long_key, 'k', sizeof(long_key));
    long_key[WC_S3_KEY_MAX] = '\0';
    assert_int_equal(wc_s3_location_validate(BUCKET, long_key), WC_OK);
    long_key[WC_S3_KEY_MAX] = 'k';
    long_key[WC_S3_KEY_MAX + 1] = '\0';
    assert_int_equal(wc_s3_location_validate(BUCKET, long_key), WC_ERR_INVALID);
    assert_int_equal(wc_s3_location_validate(BUCKET, ""), WC_ERR_INVALID);
    assert_int_equal(wc_s3_location_validate(NULL, "k"), WC_ERR_INVALID);
    assert_true(wc_s3_bucket_name_is_valid("abc"));
    assert_true(wc_s3_bucket_name_is_valid("1.2.3.4a"));
    assert_false(wc_s3_bucket_name_is_valid("10.0.0.1"));
}

/* --- URLs ------------------------------------------------------------------ */

static void test_object_urls(void **state)
{
    struct wc_buf ctx = WC_BUF_INIT;
    char *url = NULL, want[1024];
    const char *p, *e;

    (void)state;
    /* virtual host on the standard endpoint, key encoded once: the vector's URL */
    s_read_vector("s3-get-object-key-with-colons", "context.json", &ctx);
    p = strstr(ctx.ptr, "\"url\": \"");
    assert_non_null(p);
    p += 8;
    e = strchr(p, '"');
    snprintf(want, sizeof(want), "%.*s", (int)(e - p), p);
    assert_int_equal(wc_s3_object_url(NULL, BUCKET, KEY_COLONS, "eu-west-1", &url), WC_OK);
    assert_string_equal(url, want);
    free(url);
    assert_int_equal(wc_s3_object_url(NULL, BUCKET, "path/with space/and+plus/file~1.json",
                                      "us-east-1", &url), WC_OK);
    assert_string_equal(url, "https://" BUCKET ".s3.us-east-1.amazonaws.com/"
                             "path/with%20space/and%2Bplus/file~1.json");
    free(url);
    /* an endpoint override: path style */
    assert_int_equal(wc_s3_object_url("http://127.0.0.1:9000/", BUCKET, "a:b/c d", "eu-west-1",
                                      &url), WC_OK);
    assert_string_equal(url, "http://127.0.0.1:9000/" BUCKET "/a%3Ab/c%20d");
    free(url);
    /* dots in the bucket: path style on the regional endpoint (TLS wildcard) */
    assert_int_equal(wc_s3_object_url(NULL, "my.bucket", "k", "eu-west-1", &url), WC_OK);
    assert_string_equal(url, "https://s3.eu-west-1.amazonaws.com/my.bucket/k");
    free(url);
    assert_int_equal(wc_s3_object_url(NULL, BUCKET, "k", "cn-north-1", &url), WC_OK);
    assert_string_equal(url, "https://" BUCKET ".s3.cn-north-1.amazonaws.com.cn/k");
    free(url);
    assert_int_equal(wc_s3_object_url(NULL, "evil.com:1", "k", "eu-west-1", &url),
                     WC_ERR_INVALID);
    assert_null(url);
    assert_int_equal(wc_s3_object_url(NULL, BUCKET, "k", "global", &url), WC_ERR_INVALID);
    wc_buf_clean_up(&ctx);
}

/* --- signing --------------------------------------------------------------- */

static void test_get_object_signed_like_vector(void **state)
{
    struct fx *f = *state;
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT, authz = WC_BUF_INIT;
    char err[256];

    fake_add(f, 200, "Content-Type: binary/octet-stream\n", "{}");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, KEY_COLONS, "eu-west-1", &out, err,
                                      sizeof(err)), WC_OK);
    assert_string_equal(out.ptr, "{}");
    assert_string_equal(f->reqs[0].method, "GET");
    assert_string_equal(req_header(&f->reqs[0], "x-amz-content-sha256"),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s_read_vector("s3-get-object-key-with-colons", "authorization.txt", &authz);
    assert_string_equal(req_header(&f->reqs[0], "Authorization"),
                        wc_str_trim(wc_buf_str(&authz)).ptr);
    assert_int_equal(f->reqs[0].max_response_bytes, WC_OVERSIZED_OBJECT_MAX_BYTES);
    wc_buf_clean_up(&out);
    wc_buf_clean_up(&authz);
}

static void test_get_object_session_token_vector(void **state)
{
    struct fx *f = *state;
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT, authz = WC_BUF_INIT;

    fake_add(f, 200, NULL, "x");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "path/with space/and+plus/file~1.json",
                                      "us-east-1", &out, NULL, 0), WC_OK);
    assert_string_equal(f->reqs[0].url, "https://" BUCKET ".s3.us-east-1.amazonaws.com/"
                                        "path/with%20space/and%2Bplus/file~1.json");
    s_read_vector("s3-get-object-with-session-token-space-in-key", "authorization.txt", &authz);
    assert_string_equal(req_header(&f->reqs[0], "Authorization"),
                        wc_str_trim(wc_buf_str(&authz)).ptr);
    assert_non_null(req_header(&f->reqs[0], "X-Amz-Security-Token"));
    wc_buf_clean_up(&out);
    wc_buf_clean_up(&authz);
}

/* --- gunzip ---------------------------------------------------------------- */

static void test_fetch_oversized_gzip(void **state)
{
    struct fx *f = *state;
    struct wc_s3_options o = s_opts(f, "http://127.0.0.1:9000");
    struct wc_buf json = WC_BUF_INIT, gz = WC_BUF_INIT;
    struct wc_oversized loc = {.s3_bucket = (char *)BUCKET, .s3_key = (char *)KEY_COLONS};
    struct wc_notification *n = NULL;
    char err[256];

    wc_test_read_ref(SAMPLE, &json);
    s_gzip(json.ptr, json.len, &gz);
    assert_true(gz.len < json.len);
    fake_add_bytes(f, 200, "Content-Type: application/octet-stream\n", gz.ptr, gz.len);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)), WC_OK);
    assert_non_null(n);
    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_string_equal(n->change.resource_type, "AWS::EC2::Instance");
    assert_string_equal(n->change.resource_id, "resourceId_14b76876-7969-4097-ab8e-a31942b02e80");
    assert_string_equal(n->change.account_id, "123456789012");
    assert_string_equal(f->reqs[0].url,
                        "http://127.0.0.1:9000/" BUCKET "/AWSLogs/123456789012/Config/eu-west-1/"
                        "2024/5/1/OversizedChangeNotification/AWS%3A%3AEC2%3A%3AInstance/"
                        "i-0abc123/123456789012_Config_eu-west-1_ChangeNotification_AWS%3A%3AEC2"
                        "%3A%3AInstance_i-0abc123_20240501T120000Z_0.json.gz");
    /* signed for the change's region */
    assert_non_null(strstr(req_header(&f->reqs[0], "Authorization"), "/us-west-2/s3/aws4_request"));
    wc_notification_destroy(n);
    n = NULL;

    /* plain JSON (no gzip magic) is taken as is; s3_location alone is split */
    loc.s3_bucket = loc.s3_key = NULL;
    loc.s3_location = (char *)BUCKET "/plain.json";
    fake_add(f, 200, NULL, json.ptr);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "global", &n, err, sizeof(err)), WC_OK);
    assert_non_null(n);
    assert_string_equal(n->change.resource_type, "AWS::EC2::Instance");
    /* "global" is not a region: us-east-1 */
    assert_non_null(strstr(req_header(&f->reqs[1], "Authorization"), "/us-east-1/s3/aws4_request"));
    wc_notification_destroy(n);

    /* a hostile location never reaches the network */
    loc.s3_location = (char *)"https://evil.example/x";
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)),
                     WC_ERR_INVALID);
    assert_null(n);
    assert_non_null(strstr(err, "not a valid"));
    loc.s3_location = NULL;
    loc.s3_bucket = (char *)"../x";
    loc.s3_key = (char *)"k";
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)),
                     WC_ERR_INVALID);
    assert_int_equal(f->n_reqs, 2);
    wc_buf_clean_up(&json);
    wc_buf_clean_up(&gz);
}

static void test_gunzip_caps_and_corruption(void **state)
{
    size_t big = WC_OVERSIZED_OBJECT_MAX_BYTES + 1;
    char *zeros = calloc(1, big);
    struct wc_buf gz = WC_BUF_INIT, out = WC_BUF_INIT;

    (void)state;
    assert_non_null(zeros);
    memset(zeros, '{', big);
    s_gzip(zeros, big, &gz);
    assert_true(gz.len < 64 * 1024); /* a small download ... */
    assert_int_equal(wc_s3_gunzip(gz.ptr, gz.len, WC_OVERSIZED_OBJECT_MAX_BYTES, &out),
                     WC_ERR_TOO_LARGE); /* ... that would inflate past the cap */
    assert_true(out.len <= WC_OVERSIZED_OBJECT_MAX_BYTES);
    wc_buf_clean_up(&out);
    /* exactly at the cap is fine */
    assert_int_equal(wc_s3_gunzip(gz.ptr, gz.len, big, &out), WC_OK);
    assert_int_equal(out.len, big);
    wc_buf_clean_up(&out);
    /* truncated stream */
    assert_int_equal(wc_s3_gunzip(gz.ptr, gz.len / 2, big, &out), WC_ERR_PARSE);
    wc_buf_clean_up(&out);
    /* corrupt stream */
    gz.ptr[12] ^= 0x55;
    gz.ptr[20] ^= 0x55;
    assert_int_equal(wc_s3_gunzip(gz.ptr, gz.len, big, &out), WC_ERR_PARSE);
    wc_buf_clean_up(&out);
    /* plain data over the cap */
    assert_int_equal(wc_s3_gunzip("{\"a\":1}", 7, 6, &out), WC_ERR_TOO_LARGE);
    assert_int_equal(wc_s3_gunzip("{\"a\":1}", 7, 7, &out), WC_OK);
    assert_string_equal(out.ptr, "{\"a\":1}");
    wc_buf_clean_up(&out);
    wc_buf_clean_up(&gz);
    free(zeros);
}

static void test_fetch_gzip_bomb(void **state)
{
    struct fx *f = *state;
    struct wc_s3_options o = s_opts(f, "http://127.0.0.1:9000");
    struct wc_oversized loc = {.s3_location = (char *)BUCKET "/bomb.json.gz"};
    struct wc_notification *n = NULL;
    struct wc_buf gz = WC_BUF_INIT;
    char *data = malloc(4u << 20), err[256];

    o.max_object_bytes = 1u << 20; /* 1 MiB cap: the 4 MiB inside is refused */
    memset(data, ' ', 4u << 20);
    s_gzip(data, 4u << 20, &gz);
    fake_add_bytes(f, 200, NULL, gz.ptr, gz.len);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_TOO_LARGE);
    assert_null(n);
    assert_non_null(strstr(err, "size cap"));
    assert_int_equal(f->reqs[0].max_response_bytes, 1u << 20);
    wc_buf_clean_up(&gz);
    free(data);
}

/* --- errors and the region retry ------------------------------------------- */

static const char s_no_such_key[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
    "specified key does not exist.</Message><Key>k</Key><RequestId>R1</RequestId></Error>";

static void test_errors(void **state)
{
    struct fx *f = *state;
    struct wc_s3_options o = s_opts(f, "http://127.0.0.1:9000");
    struct wc_oversized loc = {.s3_location = (char *)BUCKET "/k"};
    struct wc_notification *n = NULL;
    char err[256];

    fake_add(f, 404, "Content-Type: application/xml\n", s_no_such_key);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "NoSuchKey"));
    assert_non_null(strstr(err, BUCKET "/k"));
    fake_add(f, 404, NULL, "<Error><Code>NoSuchBucket</Code><Message>no</Message></Error>");
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "NoSuchBucket"));
    fake_add(f, 403, NULL, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
                           "</Error>");
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_AUTH);
    assert_non_null(strstr(err, "AccessDenied"));
    /* not JSON inside */
    fake_add(f, 200, NULL, "<html>");
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_PARSE);
    assert_null(n);
    assert_int_equal(f->n_reqs, 4); /* no region retry for any of these */
}

static const char *s_empty_env(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

/* No credentials is an auth problem, never "no such key". */
static void test_no_credentials(void **state)
{
    struct fx *f = *state;
    struct wc_creds_options co = {.getenv_fn = s_empty_env};
    struct wc_creds_provider *none = wc_creds_env_new(&co);
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT;
    char err[256];

    assert_non_null(none);
    o.creds = none;
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_AUTH);
    assert_non_null(strstr(err, "no credentials"));
    assert_int_equal(f->n_reqs, 0);
    wc_creds_provider_destroy(none);
}

static void test_region_redirect_retried_once(void **state)
{
    struct fx *f = *state;
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT;
    char err[256];

    fake_add(f, 301, "x-amz-bucket-region: eu-central-1\n",
             "<Error><Code>PermanentRedirect</Code><Message>use the right endpoint</Message>"
             "</Error>");
    fake_add(f, 200, NULL, "data");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_OK);
    assert_string_equal(out.ptr, "data");
    assert_int_equal(f->n_reqs, 2);
    assert_string_equal(f->reqs[0].url, "https://" BUCKET ".s3.us-east-1.amazonaws.com/k");
    assert_string_equal(f->reqs[1].url, "https://" BUCKET ".s3.eu-central-1.amazonaws.com/k");
    assert_non_null(strstr(req_header(&f->reqs[1], "Authorization"),
                           "/eu-central-1/s3/aws4_request"));
    wc_buf_clean_up(&out);

    /* 400 naming the region in the body only (AuthorizationHeaderMalformed) */
    fake_add(f, 400, NULL, "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
                           "'us-east-1' is wrong; expecting 'ap-south-1'</Message><Region>"
                           "ap-south-1</Region></Error>");
    fake_add(f, 200, NULL, "ok");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_OK);
    assert_non_null(strstr(req_header(&f->reqs[3], "Authorization"), "/ap-south-1/s3/"));
    wc_buf_clean_up(&out);

    /* a second redirect is not followed */
    fake_add(f, 301, "x-amz-bucket-region: eu-west-3\n", "<Error><Code>PermanentRedirect</Code>"
                                                         "</Error>");
    fake_add(f, 301, "x-amz-bucket-region: eu-north-1\n", "<Error><Code>PermanentRedirect</Code>"
                                                          "</Error>");
    fake_add(f, 200, NULL, "never");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_SERVICE);
    assert_int_equal(f->n_reqs, 6);
    assert_non_null(strstr(err, "PermanentRedirect"));
    /* a bogus region name is not followed */
    f->next = f->n_answers;
    fake_add(f, 301, "x-amz-bucket-region: evil.example\n", "<Error><Code>PermanentRedirect"
                                                            "</Code></Error>");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_SERVICE);
    assert_int_equal(f->n_reqs, 7);
    wc_buf_clean_up(&out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_location_validation),
        cmocka_unit_test(test_object_urls),
        T(test_get_object_signed_like_vector),
        cmocka_unit_test_setup_teardown(test_get_object_session_token_vector, setup_token,
                                        teardown),
        T(test_fetch_oversized_gzip),
        cmocka_unit_test(test_gunzip_caps_and_corruption),
        T(test_fetch_gzip_bomb),
        T(test_errors),
        T(test_no_credentials),
        T(test_region_redirect_retried_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
