/* Unit tests for aws/s3 (GetObject of an oversized Config item): location
 * validation, URL building and key encoding, S3 signing compared with the
 * generated vectors, gunzip (objects gzipped here with zlib from the sample
 * JSON), the size cap, errors and the bucket-region retry - over a fake
 * transport with a pinned clock. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/s3.h"
#include "core/change.h"
#include "core/err.h"
#include "core/log.h"
#include "tests/support/aws_fixture.h"
#include "tests/support/gzip_util.h"

#define VEC "sigv4-testsuite/generated-service-vectors/"
#define BUCKET "config-bucket-123456789012"
#define KEY_COLONS                                                                       \
    "AWSLogs/123456789012/Config/eu-west-1/2024/5/1/OversizedChangeNotification/"        \
    "AWS::EC2::Instance/i-0abc123/123456789012_Config_eu-west-1_ChangeNotification_"     \
    "AWS::EC2::Instance_i-0abc123_20240501T120000Z_0.json.gz"
#define SAMPLE "samples/config/s3-object-oversized-change-notification.constructed.json"

static struct wc_s3_options s_opts(struct aws_fixture *f, const char *endpoint)
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
    struct aws_fixture *f = *state;
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT, authz = WC_BUF_INIT;
    char err[256];

    fake_http_push(f->http, 200, "Content-Type: binary/octet-stream\n", "{}");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, KEY_COLONS, "eu-west-1", &out, err, sizeof(err)),
                     WC_OK);
    assert_string_equal(out.ptr, "{}");
    assert_string_equal(aws_fixture_req(f, 0)->method, "GET");
    assert_string_equal(aws_fixture_req_header(f, 0, "x-amz-content-sha256"),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s_read_vector("s3-get-object-key-with-colons", "authorization.txt", &authz);
    assert_string_equal(aws_fixture_req_header(f, 0, "Authorization"),
                        wc_str_trim(wc_buf_str(&authz)).ptr);
    assert_int_equal(aws_fixture_req(f, 0)->max_response_bytes, WC_OVERSIZED_OBJECT_MAX_BYTES);
    wc_buf_clean_up(&out);
    wc_buf_clean_up(&authz);
}

static void test_get_object_session_token_vector(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT, authz = WC_BUF_INIT;

    fake_http_push(f->http, 200, NULL, "x");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "path/with space/and+plus/file~1.json",
                                      "us-east-1", &out, NULL, 0),
                     WC_OK);
    assert_string_equal(aws_fixture_req(f, 0)->url, "https://" BUCKET ".s3.us-east-1.amazonaws.com/"
                                                    "path/with%20space/and%2Bplus/file~1.json");
    s_read_vector("s3-get-object-with-session-token-space-in-key", "authorization.txt", &authz);
    assert_string_equal(aws_fixture_req_header(f, 0, "Authorization"),
                        wc_str_trim(wc_buf_str(&authz)).ptr);
    assert_non_null(aws_fixture_req_header(f, 0, "X-Amz-Security-Token"));
    wc_buf_clean_up(&out);
    wc_buf_clean_up(&authz);
}

/* --- gunzip ---------------------------------------------------------------- */

static void test_fetch_oversized_gzip(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_s3_options o = s_opts(f, "http://127.0.0.1:9000");
    struct wc_buf json = WC_BUF_INIT, gz = WC_BUF_INIT;
    struct wc_oversized loc = {.s3_bucket = (char *)BUCKET, .s3_key = (char *)KEY_COLONS};
    struct wc_notification *n = NULL;
    char err[256];

    wc_test_read_ref(SAMPLE, &json);
    wc_test_gzip(json.ptr, json.len, &gz);
    assert_true(gz.len < json.len);
    fake_http_push_bytes(f->http, 200, "Content-Type: application/octet-stream\n", gz.ptr, gz.len);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "us-west-2", &n, err, sizeof(err)), WC_OK);
    assert_non_null(n);
    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_string_equal(n->change.resource_type, "AWS::EC2::Instance");
    assert_string_equal(n->change.resource_id, "resourceId_14b76876-7969-4097-ab8e-a31942b02e80");
    assert_string_equal(n->change.account_id, "123456789012");
    assert_string_equal(aws_fixture_req(f, 0)->url,
                        "http://127.0.0.1:9000/" BUCKET "/AWSLogs/123456789012/Config/eu-west-1/"
                        "2024/5/1/OversizedChangeNotification/AWS%3A%3AEC2%3A%3AInstance/"
                        "i-0abc123/123456789012_Config_eu-west-1_ChangeNotification_AWS%3A%3AEC2"
                        "%3A%3AInstance_i-0abc123_20240501T120000Z_0.json.gz");
    /* signed for the change's region */
    assert_non_null(
        strstr(aws_fixture_req_header(f, 0, "Authorization"), "/us-west-2/s3/aws4_request"));
    wc_notification_destroy(n);
    n = NULL;

    /* plain JSON (no gzip magic) is taken as is; s3_location alone is split */
    loc.s3_bucket = loc.s3_key = NULL;
    loc.s3_location = (char *)BUCKET "/plain.json";
    fake_http_push(f->http, 200, NULL, json.ptr);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "global", &n, err, sizeof(err)), WC_OK);
    assert_non_null(n);
    assert_string_equal(n->change.resource_type, "AWS::EC2::Instance");
    /* "global" is not a region: us-east-1 */
    assert_non_null(
        strstr(aws_fixture_req_header(f, 1, "Authorization"), "/us-east-1/s3/aws4_request"));
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
    assert_int_equal(fake_http_n_requests(f->http), 2);
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
    wc_test_gzip(zeros, big, &gz);
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
    struct aws_fixture *f = *state;
    struct wc_s3_options o = s_opts(f, "http://127.0.0.1:9000");
    struct wc_oversized loc = {.s3_location = (char *)BUCKET "/bomb.json.gz"};
    struct wc_notification *n = NULL;
    struct wc_buf gz = WC_BUF_INIT;
    char *data = malloc(4u << 20), err[256];

    o.max_object_bytes = 1u << 20; /* 1 MiB cap: the 4 MiB inside is refused */
    memset(data, ' ', 4u << 20);
    wc_test_gzip(data, 4u << 20, &gz);
    fake_http_push_bytes(f->http, 200, NULL, gz.ptr, gz.len);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_TOO_LARGE);
    assert_null(n);
    assert_non_null(strstr(err, "size cap"));
    assert_int_equal(aws_fixture_req(f, 0)->max_response_bytes, 1u << 20);
    wc_buf_clean_up(&gz);
    free(data);
}

/* --- errors and the region retry ------------------------------------------- */

static const char s_no_such_key[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
    "specified key does not exist.</Message><Key>k</Key><RequestId>R1</RequestId></Error>";

static void test_errors(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_s3_options o = s_opts(f, "http://127.0.0.1:9000");
    struct wc_oversized loc = {.s3_location = (char *)BUCKET "/k"};
    struct wc_notification *n = NULL;
    char err[256];

    fake_http_push(f->http, 404, "Content-Type: application/xml\n", s_no_such_key);
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "NoSuchKey"));
    assert_non_null(strstr(err, BUCKET "/k"));
    /* any error but access denied: s3's own warn line, naming the object */
    assert_int_equal(aws_fixture_log_lines(f, 0, "warn",
                                           "s3: GetObject s3://" BUCKET
                                           "/k in eu-west-1 failed: NoSuchKey"),
                     1);
    assert_int_equal(aws_fixture_log_lines(f, 0, NULL, "not authorized"), 0);
    fake_http_push(f->http, 404, NULL,
                   "<Error><Code>NoSuchBucket</Code><Message>no</Message></Error>");
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "NoSuchBucket"));
    fake_http_push(f->http, 403, NULL,
                   "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
                   "</Error>");
    {
        size_t from = f->log.len;

        assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                         WC_ERR_AUTH);
        /* the caller's text unchanged; one warn line, wc_aws_send's, naming
         * the action and the object */
        assert_non_null(strstr(err, "s3://" BUCKET "/k"));
        assert_non_null(strstr(err, "AccessDenied"));
        aws_fixture_assert_one_denied(f, from, "not authorized to s3:GetObject on s3://" BUCKET
                                               "/k (AccessDenied: Access Denied)");
        assert_int_equal(aws_fixture_log_lines(f, from, NULL, "s3: GetObject"), 0);
    }
    /* not JSON inside */
    fake_http_push(f->http, 200, NULL, "<html>");
    assert_int_equal(wc_s3_fetch_oversized(&o, &loc, "eu-west-1", &n, err, sizeof(err)),
                     WC_ERR_PARSE);
    assert_null(n);
    assert_int_equal(fake_http_n_requests(f->http), 4); /* no region retry for any of these */
}

/* No credentials is an auth problem, never "no such key". */
static void test_no_credentials(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_creds_provider *none = aws_fixture_no_creds_new();
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT;
    char err[256];

    assert_non_null(none);
    o.creds = none;
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_AUTH);
    assert_non_null(strstr(err, "no credentials"));
    assert_int_equal(fake_http_n_requests(f->http), 0);
    wc_creds_provider_destroy(none);
}

static void test_region_redirect_retried_once(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT;
    char err[256];

    fake_http_push(f->http, 301, "x-amz-bucket-region: eu-central-1\n",
                   "<Error><Code>PermanentRedirect</Code><Message>use the right endpoint</Message>"
                   "</Error>");
    fake_http_push(f->http, 200, NULL, "data");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)), WC_OK);
    assert_string_equal(out.ptr, "data");
    assert_int_equal(fake_http_n_requests(f->http), 2);
    assert_string_equal(aws_fixture_req(f, 0)->url,
                        "https://" BUCKET ".s3.us-east-1.amazonaws.com/k");
    assert_string_equal(aws_fixture_req(f, 1)->url,
                        "https://" BUCKET ".s3.eu-central-1.amazonaws.com/k");
    assert_non_null(
        strstr(aws_fixture_req_header(f, 1, "Authorization"), "/eu-central-1/s3/aws4_request"));
    wc_buf_clean_up(&out);

    /* 400 naming the region in the body only (AuthorizationHeaderMalformed) */
    fake_http_push(f->http, 400, NULL,
                   "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
                   "'us-east-1' is wrong; expecting 'ap-south-1'</Message><Region>"
                   "ap-south-1</Region></Error>");
    fake_http_push(f->http, 200, NULL, "ok");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)), WC_OK);
    assert_non_null(strstr(aws_fixture_req_header(f, 3, "Authorization"), "/ap-south-1/s3/"));
    wc_buf_clean_up(&out);

    /* a second redirect is not followed */
    fake_http_push(f->http, 301, "x-amz-bucket-region: eu-west-3\n",
                   "<Error><Code>PermanentRedirect</Code>"
                   "</Error>");
    fake_http_push(f->http, 301, "x-amz-bucket-region: eu-north-1\n",
                   "<Error><Code>PermanentRedirect</Code>"
                   "</Error>");
    fake_http_push(f->http, 200, NULL, "never");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_SERVICE);
    assert_int_equal(fake_http_n_requests(f->http), 6);
    assert_non_null(strstr(err, "PermanentRedirect"));
    /* a bogus region name is not followed */
    fake_http_clear(f->http); /* drop the answer nobody asked for */
    fake_http_push(f->http, 301, "x-amz-bucket-region: evil.example\n",
                   "<Error><Code>PermanentRedirect"
                   "</Code></Error>");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_SERVICE);
    assert_int_equal(fake_http_n_requests(f->http), 7);
    wc_buf_clean_up(&out);
}

/* The region in an error answer goes through the XML front end: a DOCTYPE
 * (here defining the region as an entity) is refused, so nothing is retried. */
static void test_region_answer_with_doctype_ignored(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_s3_options o = s_opts(f, NULL);
    struct wc_buf out = WC_BUF_INIT;
    char err[256];

    fake_http_push(f->http, 400, NULL,
                   "<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY r \"eu-west-3\">]>"
                   "<Error><Code>AuthorizationHeaderMalformed</Code><Message>wrong region"
                   "</Message><Region>&r;</Region></Error>");
    fake_http_push(f->http, 200, NULL, "never");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_SERVICE);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_null(strstr(err, "eu-west-3"));
    fake_http_clear(f->http);
    /* nor an external entity */
    fake_http_push(f->http, 301, NULL,
                   "<!DOCTYPE Error [<!ENTITY r SYSTEM \"file:///etc/passwd\">]>"
                   "<Error><Code>PermanentRedirect</Code><Region>eu-west-3&r;</Region></Error>");
    fake_http_push(f->http, 200, NULL, "never");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)),
                     WC_ERR_SERVICE);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    fake_http_clear(f->http);
    /* the same answer without the DOCTYPE is followed (the test can fail) */
    fake_http_push(f->http, 400, NULL,
                   "<Error><Code>AuthorizationHeaderMalformed</Code><Region>eu-west-3</Region>"
                   "</Error>");
    fake_http_push(f->http, 200, NULL, "ok");
    assert_int_equal(wc_s3_get_object(&o, BUCKET, "k", "us-east-1", &out, err, sizeof(err)), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 4);
    assert_non_null(strstr(aws_fixture_req_header(f, 3, "Authorization"), "/eu-west-3/s3/"));
    wc_buf_clean_up(&out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, aws_fixture_setup, aws_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_location_validation),
        cmocka_unit_test(test_object_urls),
        T(test_get_object_signed_like_vector),
        cmocka_unit_test_setup_teardown(test_get_object_session_token_vector,
                                        aws_fixture_setup_token, aws_fixture_teardown),
        T(test_fetch_oversized_gzip),
        cmocka_unit_test(test_gunzip_caps_and_corruption),
        T(test_fetch_gzip_bomb),
        T(test_errors),
        T(test_no_credentials),
        T(test_region_redirect_retried_once),
        T(test_region_answer_with_doctype_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
