/* fuzz_s3.c - what aws/s3.c takes from outside for an oversized item: the
 * s3BucketLocation "bucket/key" of a notification, the object (gzip or
 * plain JSON), and S3's answers - the bucket's region in an error body
 * (expat) or header, which may move the request once to another region.
 *
 * Input: location FUZZ_SEP first answer FUZZ_SEP second answer, each answer
 * an HTTP answer in text (see fuzz_push_response). The whole input is also
 * gunzipped on its own.
 *
 * Invariants: a location that parses validates and gives an https URL on
 * an amazonaws.com host; every request the client makes goes to such a URL
 * (an answer cannot send it elsewhere), and at most two are made; gunzip
 * never returns more than its cap; a fetched item is a change. */
#include <stdlib.h>
#include <string.h>

#include "aws/s3.h"
#include "core/change.h"
#include "core/err.h"
#include "tests/fuzz/harness.h"
#include "tests/support/fake_http.h"

#define S_GUNZIP_MAX ((size_t)256 * 1024)

static struct wc_logger *s_lg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_lg = fuzz_logger(false);
    return 0;
}

static void s_location(const char *loc)
{
    char *bucket = NULL, *key = NULL, *url = NULL;

    if (wc_s3_location_parse(loc, &bucket, &key) != WC_OK) {
        FUZZ_CHECK(!bucket && !key, "failure with output");
        return;
    }
    FUZZ_CHECK(wc_s3_location_validate(bucket, key) == WC_OK, "parsed but invalid: %s", loc);
    FUZZ_CHECK(wc_s3_bucket_name_is_valid(bucket), "bucket %s", bucket);
    FUZZ_CHECK(strlen(key) >= 1 && strlen(key) <= WC_S3_KEY_MAX, "key of %zu bytes",
               strlen(key));
    FUZZ_CHECK(wc_s3_object_url(NULL, bucket, key, "eu-west-1", &url) == WC_OK, "no URL for %s",
               loc);
    FUZZ_CHECK(fuzz_aws_url_ok(url), "URL %s for %s", url, loc);
    free(url);
    free(bucket);
    free(key);
}

static void s_fetch(struct wc_str loc, struct wc_str a1, struct wc_str a2)
{
    struct fuzz_aws a;
    struct wc_s3_options o = {0};
    struct wc_oversized where = {0};
    struct wc_notification *n = NULL;
    char err[256];
    int rc;

    fuzz_aws_init(&a, s_lg);
    fuzz_push_response(a.fake, a1);
    fuzz_push_response(a.fake, a2);
    o.aws = a.aws;
    o.creds = a.creds;
    o.max_object_bytes = S_GUNZIP_MAX;
    o.log_id = "fuzz-msg";
    where.s3_location = fuzz_cstr(loc);
    rc = wc_s3_fetch_oversized(&o, &where, "eu-west-1", &n, err, sizeof(err));
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    if (rc == WC_OK)
        FUZZ_CHECK(n && n->kind == WC_NOTE_CHANGE, "fetched item is not a change");
    else
        FUZZ_CHECK(!n, "failure with a notification");
    FUZZ_CHECK(fake_http_n_requests(a.fake) <= 2, "%zu requests", fake_http_n_requests(a.fake));
    for (size_t i = 0; i < fake_http_n_requests(a.fake); i++) {
        const struct fake_http_req *r = fake_http_request(a.fake, i);

        FUZZ_CHECK(fuzz_aws_url_ok(r->url), "request %zu went to %s", i, r->url);
        FUZZ_CHECK(strcmp(r->method, "GET") == 0, "request %zu is a %s", i, r->method);
    }
    wc_notification_destroy(n);
    free(where.s3_location);
    fuzz_aws_clean_up(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wc_str parts[3];
    struct wc_buf out = WC_BUF_INIT;
    char *loc;
    int rc;

    fuzz_log_reset();
    rc = wc_s3_gunzip(data, size, S_GUNZIP_MAX, &out);
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    FUZZ_CHECK(out.len <= S_GUNZIP_MAX, "gunzip gave %zu bytes", out.len);
    wc_buf_clean_up(&out);

    fuzz_split(data, size, FUZZ_SEP, parts, 3);
    loc = fuzz_cstr(parts[0]);
    s_location(loc);
    free(loc);
    s_fetch(parts[0], parts[1], parts[2]);
    return 0;
}
