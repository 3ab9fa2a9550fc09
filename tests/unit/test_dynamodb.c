/* Unit tests for aws/dynamodb (GetItem, PutItem) and aws/dynamodb_ledger
 * (the ledger port over a table) with the fake transport: request shapes
 * (body and Authorization byte for byte against botocore's signature, in
 * tests/data/dynamodb), answers, errors, and the ledger's decisions -
 * cache, conditional write, expiry, in-doubt and pending pairs, and the
 * probe's messages at open. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "aws/dynamodb.h"
#include "aws/dynamodb_ledger.h"
#include "core/awsid.h"
#include "core/err.h"
#include "core/ledger.h"
#include "tests/support/aws_fixture.h"

#define DDB_URL "https://dynamodb.us-east-1.amazonaws.com/"
#define TABLE "whochanged-ledger"
#define T0_S (AWS_FIXTURE_T0_MS / 1000)
#define JSON_HDR "Content-Type: application/x-amz-json-1.0\n"

static double s_half(void *ctx)
{
    (void)ctx;
    return 0.5;
}

/* The fixture with a standard retry policy (jitter always 0.5). */
static int setup_retry(void **state)
{
    struct wc_retry_options ro = {.rand01 = s_half};
    struct aws_fixture_options o = {.retry = &ro};

    *state = aws_fixture_new(&o);
    return *state ? 0 : -1;
}

static struct wc_dynamodb *s_client(struct aws_fixture *f)
{
    struct wc_dynamodb_options o = {.aws = f->aws, .creds = f->creds, .region = "us-east-1"};
    struct wc_dynamodb *d = wc_dynamodb_new(&o);

    assert_non_null(d);
    return d;
}

static struct wc_ledger *s_ledger(struct aws_fixture *f, int64_t cache_ttl_ms)
{
    struct wc_dynamodb_ledger_options o = {
        .client = {.aws = f->aws, .creds = f->creds, .region = "us-east-1"},
        .table = TABLE,
        .cache_ttl_ms = cache_ttl_ms,
        .no_probe = true,
    };
    char err[256];
    struct wc_ledger *l = wc_dynamodb_ledger_open(&o, err, sizeof(err));

    assert_non_null(l);
    return l;
}

static void s_read_data_trim(const char *rel, struct wc_buf *out)
{
    wc_test_read_data(rel, out);
    while (out->len && (out->ptr[out->len - 1] == '\n' || out->ptr[out->len - 1] == '\r'))
        out->ptr[--out->len] = '\0';
}

/* Request i is a DynamoDB call of op with the vector's body and signature. */
static void s_check_vector(struct aws_fixture *f, size_t i, const char *op, const char *vector)
{
    const struct fake_http_req *r = aws_fixture_req(f, i);
    struct wc_buf body = WC_BUF_INIT, authz = WC_BUF_INIT;
    char rel[128], target[64];

    snprintf(rel, sizeof(rel), "dynamodb/%s.body.json", vector);
    s_read_data_trim(rel, &body);
    snprintf(rel, sizeof(rel), "dynamodb/%s.authorization.txt", vector);
    s_read_data_trim(rel, &authz);
    snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, DDB_URL);
    assert_string_equal(fake_http_req_header(r, "Content-Type"), "application/x-amz-json-1.0");
    assert_string_equal(fake_http_req_header(r, "X-Amz-Target"), target);
    assert_string_equal(fake_http_req_header(r, "X-Amz-Date"), "20240501T120000Z");
    assert_string_equal(r->body, body.ptr);
    assert_string_equal(fake_http_req_header(r, "Authorization"), authz.ptr);
    assert_int_equal(r->timeout_ms, WC_DYNAMODB_DEFAULT_TIMEOUT_MS);
    assert_int_equal(r->max_response_bytes, WC_DYNAMODB_MAX_RESPONSE_BYTES);
    wc_buf_clean_up(&body);
    wc_buf_clean_up(&authz);
}

/* --- the client ------------------------------------------------------------ */

static void test_get_item_matches_vector(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_dynamodb *d = s_client(f);
    static const char *const proj[] = {"expires_at"};
    const struct wc_dynamodb_attr key = {"pk", WC_DYNAMODB_S, "slack#0|ev-1/sg-0123"};
    const struct wc_dynamodb_get get = {.table = TABLE, .key = &key, .n_key = 1,
                                        .consistent = true, .projection = proj,
                                        .n_projection = 1};
    struct wc_dynamodb_item item = WC_DYNAMODB_ITEM_INIT;
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    const struct wc_dynamodb_attr *a;
    bool found = true;

    assert_string_equal(wc_dynamodb_endpoint(d), "https://dynamodb.us-east-1.amazonaws.com");
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, &item, &err), WC_OK);
    assert_false(found);
    assert_int_equal(item.n, 0);
    s_check_vector(f, 0, "GetItem", "get-item");

    fake_http_push(f->http, 200, JSON_HDR,
                   "{\"Item\":{\"expires_at\":{\"N\":\"1714737600\"},\"pk\":{\"S\":\"k\"},"
                   "\"tags\":{\"SS\":[\"a\"]},\"flag\":{\"BOOL\":true}}}");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, &item, &err), WC_OK);
    assert_true(found);
    assert_int_equal(item.n, 2); /* S and N only */
    assert_non_null(a = wc_dynamodb_item_get(&item, "expires_at"));
    assert_int_equal(a->type, WC_DYNAMODB_N);
    assert_string_equal(a->value, "1714737600");
    assert_non_null(a = wc_dynamodb_item_get(&item, "pk"));
    assert_int_equal(a->type, WC_DYNAMODB_S);
    assert_null(wc_dynamodb_item_get(&item, "tags"));
    wc_dynamodb_item_clean_up(&item);
    wc_aws_error_clean_up(&err);
    wc_dynamodb_destroy(d);
}

static void test_put_item_matches_vector(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_ledger *l = s_ledger(f, 0);

    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-0123"), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    s_check_vector(f, 0, "PutItem", "put-item");
    wc_ledger_destroy(l);
}

static void test_ledger_get_matches_vector(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_ledger *l = s_ledger(f, 0);

    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-1/sg-0123"));
    s_check_vector(f, 0, "GetItem", "get-item");
    wc_ledger_destroy(l);
}

static void test_bodies_refuse_bad_input(void **state)
{
    const struct wc_dynamodb_attr key = {"pk", WC_DYNAMODB_S, "k"};
    const struct wc_dynamodb_attr bad = {"pk", WC_DYNAMODB_S, NULL};
    const struct wc_dynamodb_attr noname = {"", WC_DYNAMODB_N, "1"};
    const struct wc_dynamodb_name empty = {"#k", ""};
    struct wc_dynamodb_get get = {.table = TABLE, .key = &key, .n_key = 1};
    struct wc_dynamodb_put put = {.table = TABLE, .item = &key, .n_item = 1};
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    assert_int_equal(wc_dynamodb_get_item_body(&get, &b), WC_OK);
    assert_string_equal(b.ptr, "{\"TableName\":\"" TABLE "\",\"Key\":{\"pk\":{\"S\":\"k\"}}}");
    wc_buf_reset(&b);
    assert_int_equal(wc_dynamodb_put_item_body(&put, &b), WC_OK);
    assert_string_equal(b.ptr, "{\"TableName\":\"" TABLE "\",\"Item\":{\"pk\":{\"S\":\"k\"}}}");
    wc_buf_reset(&b);
    get.table = "ab"; /* too short */
    assert_int_equal(wc_dynamodb_get_item_body(&get, &b), WC_ERR_INVALID);
    get.table = "bad/name";
    assert_int_equal(wc_dynamodb_get_item_body(&get, &b), WC_ERR_INVALID);
    get.table = TABLE;
    get.key = &bad;
    assert_int_equal(wc_dynamodb_get_item_body(&get, &b), WC_ERR_INVALID);
    get.key = &key;
    get.n_key = 0;
    assert_int_equal(wc_dynamodb_get_item_body(&get, &b), WC_ERR_INVALID);
    put.item = &noname;
    assert_int_equal(wc_dynamodb_put_item_body(&put, &b), WC_ERR_INVALID);
    put.item = &key;
    put.names = &empty;
    put.n_names = 1;
    assert_int_equal(wc_dynamodb_put_item_body(&put, &b), WC_ERR_INVALID);
    assert_int_equal(b.len, 0);
    wc_buf_clean_up(&b);
}

static void test_table_names(void **state)
{
    char longest[256], too_long[257];

    (void)state;
    memset(longest, 'a', 255);
    longest[255] = '\0';
    memset(too_long, 'a', 256);
    too_long[256] = '\0';
    assert_true(wc_dynamodb_table_is_valid("abc"));
    assert_true(wc_dynamodb_table_is_valid("Who_Changed-ledger.v2"));
    assert_true(wc_dynamodb_table_is_valid(longest));
    assert_false(wc_dynamodb_table_is_valid(too_long));
    assert_false(wc_dynamodb_table_is_valid("ab"));
    assert_false(wc_dynamodb_table_is_valid(""));
    assert_false(wc_dynamodb_table_is_valid(NULL));
    assert_false(wc_dynamodb_table_is_valid("has space"));
    assert_false(wc_dynamodb_table_is_valid("arn:aws:dynamodb:us-east-1:123456789012:table/t"));
}

static void test_parse_item(void **state)
{
    struct wc_dynamodb_item item = WC_DYNAMODB_ITEM_INIT;
    bool found = true;

    (void)state;
    assert_int_equal(wc_dynamodb_parse_item("{}", 2, &found, &item), WC_OK);
    assert_false(found);
    assert_int_equal(wc_dynamodb_parse_item("[]", 2, &found, &item), WC_ERR_PARSE);
    assert_int_equal(wc_dynamodb_parse_item("{\"Item\":[]}", 11, &found, &item), WC_ERR_PARSE);
    assert_false(found);
    assert_int_equal(wc_dynamodb_parse_item("not json", 8, &found, &item), WC_ERR_PARSE);
    assert_int_equal(wc_dynamodb_parse_item("{\"Item\":{}}", 11, &found, &item), WC_OK);
    assert_true(found);
    assert_int_equal(item.n, 0);
    wc_dynamodb_item_clean_up(&item);
}

static void test_errors(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_dynamodb *d = s_client(f);
    const struct wc_dynamodb_attr key = {"pk", WC_DYNAMODB_S, "k"};
    const struct wc_dynamodb_get get = {.table = TABLE, .key = &key, .n_key = 1};
    const struct wc_dynamodb_put put = {.table = TABLE, .item = &key, .n_item = 1,
                                        .condition = "attribute_not_exists(pk)"};
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    bool found = false, failed = true;
    size_t before;

    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
                   "\"message\":\"Requested resource not found\"}");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, NULL, &err), WC_ERR_NOT_FOUND);
    assert_string_equal(err.code, "ResourceNotFoundException");
    wc_aws_error_clean_up(&err);
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":"
                   "\"User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
                   "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:"
                   "table/whochanged-ledger\"}");
    assert_int_equal(wc_dynamodb_put_item(d, &put, &failed, &err), WC_ERR_AUTH);
    assert_false(failed);
    assert_string_equal(err.code, "AccessDeniedException");
    /* wc_aws_send's one warn line names the action and the table */
    aws_fixture_assert_one_denied(f, 0, "not authorized to dynamodb:PutItem on table " TABLE
                                        " (AccessDeniedException: User: ");
    wc_aws_error_clean_up(&err);
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                   "ConditionalCheckFailedException\",\"message\":\"The conditional request "
                   "failed\"}");
    assert_int_equal(wc_dynamodb_put_item(d, &put, &failed, &err), WC_OK);
    assert_true(failed);
    wc_aws_error_clean_up(&err);
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":"
                   "\"The provided key element does not match the schema\"}");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, NULL, &err), WC_ERR_SERVICE);
    assert_string_equal(err.code, "ValidationException");
    wc_aws_error_clean_up(&err);
    /* a 404 (not DynamoDB behind that URL) is not "no such table" */
    fake_http_push(f->http, 404, "Content-Type: text/html\n", "<html>nope</html>");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, NULL, &err), WC_ERR_SERVICE);
    wc_aws_error_clean_up(&err);
    /* a 200 that is no item */
    fake_http_push(f->http, 200, JSON_HDR, "[1]");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, NULL, &err), WC_ERR_PARSE);
    assert_non_null(strstr(f->log.ptr, "the answer is not an item"));
    wc_aws_error_clean_up(&err);
    /* the transport's failure */
    before = fake_http_n_requests(f->http);
    fake_http_clear(f->http);
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, NULL, &err), WC_ERR_HTTP);
    assert_int_equal(fake_http_n_requests(f->http), before + 1);
    wc_aws_error_clean_up(&err);
    wc_dynamodb_destroy(d);
}

static void test_throttling_and_5xx_are_retried(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_dynamodb *d = s_client(f);
    const struct wc_dynamodb_attr key = {"pk", WC_DYNAMODB_S, "k"};
    const struct wc_dynamodb_get get = {.table = TABLE, .key = &key, .n_key = 1};
    struct wc_aws_error err = WC_AWS_ERROR_INIT;
    bool found = false;

    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                   "ProvisionedThroughputExceededException\",\"message\":\"slow down\"}");
    fake_http_push(f->http, 500, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\"}");
    fake_http_push(f->http, 200, JSON_HDR, "{\"Item\":{\"pk\":{\"S\":\"k\"}}}");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, NULL, &err), WC_OK);
    assert_true(found);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    assert_int_equal(f->n_sleeps, 2);
    /* three attempts, then the throttling comes back */
    for (int i = 0; i < 3; i++)
        fake_http_push(f->http, 400, JSON_HDR,
                       "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\"}");
    assert_int_equal(wc_dynamodb_get_item(d, &get, &found, NULL, &err), WC_ERR_THROTTLED);
    assert_int_equal(fake_http_n_requests(f->http), 6);
    wc_aws_error_clean_up(&err);
    wc_dynamodb_destroy(d);
}

static void test_new_rejects_bad_options(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_dynamodb_options o = {.aws = f->aws, .creds = f->creds, .region = "nowhere"};
    struct wc_dynamodb *d;

    assert_null(wc_dynamodb_new(&o));
    o.region = NULL;
    assert_null(wc_dynamodb_new(&o));
    o.region = "eu-west-1";
    o.creds = NULL;
    assert_null(wc_dynamodb_new(&o));
    o.creds = f->creds;
    o.endpoint = "http://127.0.0.1:8000//";
    assert_non_null(d = wc_dynamodb_new(&o));
    assert_string_equal(wc_dynamodb_endpoint(d), "http://127.0.0.1:8000");
    assert_string_equal(wc_dynamodb_region(d), "eu-west-1");
    wc_dynamodb_destroy(d);
    o.endpoint = NULL;
    o.region = "cn-north-1";
    assert_non_null(d = wc_dynamodb_new(&o));
    assert_string_equal(wc_dynamodb_endpoint(d), "https://dynamodb.cn-north-1.amazonaws.com.cn");
    wc_dynamodb_destroy(d);
}

/* --- the ledger ------------------------------------------------------------ */

static void test_ledger_keys(void **state)
{
    struct wc_buf k = WC_BUF_INIT, subject = WC_BUF_INIT, other = WC_BUF_INIT;

    (void)state;
    assert_int_equal(wc_dynamodb_ledger_key("slack#0", "ev-1/sg-0123", &k), WC_OK);
    assert_string_equal(k.ptr, "slack#0|ev-1/sg-0123");
    wc_buf_reset(&k);
    /* a '|' in the subject is fine: the notifier id has none */
    assert_int_equal(wc_dynamodb_ledger_key("ops", "a|b", &k), WC_OK);
    assert_string_equal(k.ptr, "ops|a|b");
    wc_buf_reset(&k);
    /* one in the notifier id would be ambiguous: the digest then */
    assert_int_equal(wc_dynamodb_ledger_key("o|ps", "b", &k), WC_OK);
    assert_int_equal(k.len, 7 + 64);
    assert_memory_equal(k.ptr, "sha256:", 7);
    wc_buf_reset(&k);
    /* a long subject: the digest, the same each time, and not another's */
    for (int i = 0; i < 1100; i++)
        wc_buf_append_char(&subject, (char)('a' + i % 26));
    assert_int_equal(wc_dynamodb_ledger_key("slack#0", subject.ptr, &k), WC_OK);
    assert_int_equal(k.len, 7 + 64);
    assert_int_equal(wc_dynamodb_ledger_key("slack#0", subject.ptr, &other), WC_OK);
    assert_string_equal(k.ptr, other.ptr);
    wc_buf_reset(&other);
    assert_int_equal(wc_dynamodb_ledger_key("slack#1", subject.ptr, &other), WC_OK);
    assert_string_not_equal(k.ptr, other.ptr);
    assert_int_equal(wc_dynamodb_ledger_key("", "x", &k), WC_ERR_INVALID);
    assert_int_equal(wc_dynamodb_ledger_key("x", "", &k), WC_ERR_INVALID);
    wc_buf_clean_up(&k);
    wc_buf_clean_up(&other);
    wc_buf_clean_up(&subject);
}

static void test_ledger_accepted_and_record(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_ledger *l = s_ledger(f, 0);
    struct wc_dynamodb_ledger_stats st;
    char item[256];

    /* a miss asks the table, consistently */
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_non_null(strstr(aws_fixture_req(f, 0)->body, "\"ConsistentRead\":true"));
    /* record writes it, once */
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    assert_string_equal(aws_fixture_req_header(f, 1, "X-Amz-Target"), "DynamoDB_20120810.PutItem");
    /* then it is known here: no call for either */
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-1/sg-1"));
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-1/sg-1"), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    /* another worker's live record: accepted, from the table */
    snprintf(item, sizeof(item), "{\"Item\":{\"expires_at\":{\"N\":\"%lld\"}}}",
             (long long)(T0_S + 3600));
    fake_http_push(f->http, 200, JSON_HDR, item);
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-2/sg-2"));
    /* an expired record that DynamoDB has not deleted yet: absent */
    snprintf(item, sizeof(item), "{\"Item\":{\"expires_at\":{\"N\":\"%lld\"}}}",
             (long long)(T0_S - 1));
    fake_http_push(f->http, 200, JSON_HDR, item);
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-3/sg-3"));
    /* a record without an expiry counts as a record; the thorough check
     * (a redelivered message) is the same consistent read */
    fake_http_push(f->http, 200, JSON_HDR, "{\"Item\":{\"pk\":{\"S\":\"x\"}}}");
    assert_true(wc_ledger_accepted_thorough(l, "slack#0", "ev-4/sg-4"));
    assert_int_equal(fake_http_n_requests(f->http), 5);
    assert_non_null(strstr(aws_fixture_req(f, 4)->body, "\"ConsistentRead\":true"));
    /* recorded meanwhile by another worker: the condition fails, that is success */
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                   "ConditionalCheckFailedException\",\"message\":\"The conditional request "
                   "failed\"}");
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-3/sg-3"), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 6);
    assert_non_null(strstr(aws_fixture_req(f, 5)->body,
                           "\"ConditionExpression\":\"attribute_not_exists(#k) OR #t < :now\""));
    wc_dynamodb_ledger_stats(l, &st);
    assert_int_equal(st.gets, 4);
    assert_int_equal(st.puts, 1);
    assert_int_equal(st.already, 1);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.failures, 0);
    assert_int_equal(st.in_doubt, 0);
    wc_ledger_destroy(l);
}

static void test_ledger_ttl_attribute(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_dynamodb_ledger_options o = {
        .client = {.aws = f->aws, .creds = f->creds, .region = "us-east-1"},
        .table = TABLE, .ttl_ms = 3600 * 1000, .cache_ttl_ms = -1, .no_probe = true};
    char err[128], want[64];
    struct wc_ledger *l = wc_dynamodb_ledger_open(&o, err, sizeof(err));

    assert_non_null(l);
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_int_equal(wc_ledger_record(l, "jsonl#1", "msg/m-1"), WC_OK);
    snprintf(want, sizeof(want), "\"expires_at\":{\"N\":\"%lld\"}", (long long)(T0_S + 3600));
    assert_non_null(strstr(aws_fixture_req(f, 0)->body, want));
    snprintf(want, sizeof(want), "\"recorded_at\":{\"N\":\"%lld\"}", (long long)T0_S);
    assert_non_null(strstr(aws_fixture_req(f, 0)->body, want));
    assert_non_null(strstr(aws_fixture_req(f, 0)->body, "\"pk\":{\"S\":\"jsonl#1|msg/m-1\"}"));
    /* no cache: every check asks, even right after a record */
    fake_http_push(f->http, 200, JSON_HDR, "{\"Item\":{\"pk\":{\"S\":\"jsonl#1|msg/m-1\"}}}");
    assert_true(wc_ledger_accepted(l, "jsonl#1", "msg/m-1"));
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_int_equal(wc_ledger_record(l, "jsonl#1", "msg/m-1"), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    wc_ledger_destroy(l);
}

/* The check failed: nothing is posted on a guess, and nothing is written. */
static void test_ledger_in_doubt(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_ledger *l = s_ledger(f, 0);
    struct wc_dynamodb_ledger_stats st;

    fake_http_push(f->http, 500, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\"}");
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-9/sg-9"));
    assert_int_equal(fake_http_n_requests(f->http), 1);
    /* not access denied: the ledger's own warn line */
    assert_int_equal(aws_fixture_log_lines(f, 0, "warn",
                                           "ledger: DynamoDB GetItem on " TABLE
                                           " failed: InternalServerError"),
                     1);
    /* the pipeline's record right after: refused, no PutItem */
    fake_http_push(f->http, 200, JSON_HDR, "{}"); /* must stay unserved */
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-9/sg-9"), WC_ERR_IO);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    assert_non_null(strstr(f->log.ptr, "not recorded: the ledger could not be read"));
    /* redelivered: asked again, and this time the table answers */
    assert_false(wc_ledger_accepted(l, "slack#0", "ev-9/sg-9"));
    assert_int_equal(fake_http_n_requests(f->http), 2);
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-9/sg-9"), WC_OK);
    assert_string_equal(aws_fixture_req_header(f, 2, "X-Amz-Target"), "DynamoDB_20120810.PutItem");
    wc_dynamodb_ledger_stats(l, &st);
    assert_int_equal(st.in_doubt, 1);
    assert_int_equal(st.failures, 1);
    wc_ledger_destroy(l);
}

/* The check refused: one warn line, wc_aws_send's, naming the table; the
 * pair is in doubt as for any failed check. */
static void test_ledger_get_denied(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_ledger *l = s_ledger(f, 0);
    struct wc_dynamodb_ledger_stats st;

    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\","
                   "\"Message\":\"not authorized to perform: dynamodb:GetItem\"}");
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-8/sg-8"));
    assert_int_equal(fake_http_n_requests(f->http), 1);
    aws_fixture_assert_one_denied(f, 0, "not authorized to dynamodb:GetItem on table " TABLE
                                        " (AccessDeniedException: not authorized to perform");
    assert_int_equal(aws_fixture_log_lines(f, 0, NULL, "ledger: DynamoDB GetItem"), 0);
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-8/sg-8"), WC_ERR_IO);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    wc_dynamodb_ledger_stats(l, &st);
    assert_int_equal(st.in_doubt, 1);
    assert_int_equal(st.failures, 1);
    wc_ledger_destroy(l);
}

/* The write failed: kept in memory (never posted again here) and written
 * by the next record of the pair, as the port says. */
static void test_ledger_pending(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_ledger *l = s_ledger(f, -1); /* no cache: pending alone answers */

    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\","
                   "\"Message\":\"not authorized to perform: dynamodb:PutItem\"}");
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-5/sg-5"), WC_ERR_IO);
    /* one warn line, wc_aws_send's, naming the action and the table */
    aws_fixture_assert_one_denied(f, 0, "not authorized to dynamodb:PutItem on table " TABLE
                                        " (AccessDeniedException: not authorized to perform");
    assert_int_equal(aws_fixture_log_lines(f, 0, NULL, "ledger: DynamoDB PutItem"), 0);
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-5/sg-5"));
    assert_int_equal(fake_http_n_requests(f->http), 1);
    /* still failing, not refused: the ledger's own error line */
    fake_http_push(f->http, 503, JSON_HDR, "{\"__type\":\"ServiceUnavailable\"}");
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-5/sg-5"), WC_ERR_IO);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    assert_int_equal(aws_fixture_log_lines(f, 0, "error",
                                           "ledger: DynamoDB PutItem on " TABLE
                                           " failed: ServiceUnavailable"),
                     1);
    /* written at last; then an ordinary pair again */
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    assert_int_equal(wc_ledger_record(l, "slack#0", "ev-5/sg-5"), WC_OK);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    fake_http_push(f->http, 200, JSON_HDR, "{\"Item\":{\"pk\":{\"S\":\"slack#0|ev-5/sg-5\"}}}");
    assert_true(wc_ledger_accepted(l, "slack#0", "ev-5/sg-5"));
    assert_int_equal(fake_http_n_requests(f->http), 4);
    wc_ledger_destroy(l);
}

/* --- open: the probe ------------------------------------------------------- */

static struct wc_ledger *s_open_probe(struct aws_fixture *f, char *err, size_t errlen)
{
    struct wc_dynamodb_ledger_options o = {
        .client = {.aws = f->aws, .creds = f->creds, .region = "eu-west-1",
                   .endpoint = "http://127.0.0.1:8000"},
        .table = TABLE,
    };

    return wc_dynamodb_ledger_open(&o, err, errlen);
}

static void test_open_probe_ok(void **state)
{
    struct aws_fixture *f = *state;
    struct wc_ledger *l;
    char err[512];

    fake_http_push(f->http, 200, JSON_HDR, "{}");
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                   "ConditionalCheckFailedException\",\"message\":\"The conditional request "
                   "failed\"}");
    assert_non_null(l = s_open_probe(f, err, sizeof(err)));
    assert_string_equal(err, "");
    assert_int_equal(fake_http_n_requests(f->http), 2);
    assert_string_equal(aws_fixture_req(f, 0)->url, "http://127.0.0.1:8000/");
    assert_non_null(strstr(aws_fixture_req(f, 0)->body, "\"" WC_DYNAMODB_LEDGER_PROBE_KEY "\""));
    assert_non_null(strstr(aws_fixture_req_header(f, 0, "Authorization"),
                           "/eu-west-1/dynamodb/aws4_request"));
    /* a condition that can never hold: nothing is written */
    assert_non_null(strstr(aws_fixture_req(f, 1)->body,
                           "attribute_exists(#k) AND attribute_not_exists(#k)"));
    assert_non_null(strstr(f->log.ptr, "ledger: DynamoDB table " TABLE " in eu-west-1"));
    wc_ledger_destroy(l);
}

static void test_open_probe_failures(void **state)
{
    struct aws_fixture *f = *state;
    char err[512];

    /* no table */
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
                   "\"message\":\"Requested resource not found\"}");
    assert_null(s_open_probe(f, err, sizeof(err)));
    assert_non_null(strstr(err, "DynamoDB table " TABLE " does not exist in eu-west-1"));
    assert_non_null(strstr(err, "ledger.table"));
    /* GetItem not allowed */
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":"
                   "\"User: arn:aws:sts::123456789012:assumed-role/w/i is not authorized to "
                   "perform: dynamodb:GetItem on resource: " TABLE "\"}");
    assert_null(s_open_probe(f, err, sizeof(err)));
    assert_non_null(strstr(err, "not authorized to dynamodb:GetItem"));
    /* GetItem allowed, PutItem not */
    fake_http_push(f->http, 200, JSON_HDR, "{}");
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":"
                   "\"is not authorized to perform: dynamodb:PutItem\"}");
    assert_null(s_open_probe(f, err, sizeof(err)));
    assert_non_null(strstr(err, "not authorized to dynamodb:PutItem"));
    /* a table with another key */
    fake_http_push(f->http, 400, JSON_HDR,
                   "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":"
                   "\"The provided key element does not match the schema\"}");
    assert_null(s_open_probe(f, err, sizeof(err)));
    assert_non_null(strstr(err, "does not match the schema"));
    assert_non_null(strstr(err, "partition key must be \"pk\""));
    /* nobody there */
    fake_http_clear(f->http);
    assert_null(s_open_probe(f, err, sizeof(err)));
    assert_non_null(strstr(err, "DynamoDB GetItem at http://127.0.0.1:8000"));
    /* a bad name sends nothing */
    {
        struct wc_dynamodb_ledger_options o = {
            .client = {.aws = f->aws, .creds = f->creds, .region = "eu-west-1"},
            .table = "x"};
        size_t n = fake_http_n_requests(f->http);

        assert_null(wc_dynamodb_ledger_open(&o, err, sizeof(err)));
        assert_non_null(strstr(err, "table name 'x' is not valid"));
        o.table = TABLE;
        o.client.region = "mars";
        assert_null(wc_dynamodb_ledger_open(&o, err, sizeof(err)));
        assert_non_null(strstr(err, "cannot set up the DynamoDB client"));
        assert_int_equal(fake_http_n_requests(f->http), n);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, aws_fixture_setup, aws_fixture_teardown)
#define TR(fn) cmocka_unit_test_setup_teardown(fn, setup_retry, aws_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_item_matches_vector),
        T(test_put_item_matches_vector),
        T(test_ledger_get_matches_vector),
        cmocka_unit_test(test_bodies_refuse_bad_input),
        cmocka_unit_test(test_table_names),
        cmocka_unit_test(test_parse_item),
        T(test_errors),
        TR(test_throttling_and_5xx_are_retried),
        T(test_new_rejects_bad_options),
        cmocka_unit_test(test_ledger_keys),
        T(test_ledger_accepted_and_record),
        T(test_ledger_ttl_attribute),
        T(test_ledger_in_doubt),
        T(test_ledger_get_denied),
        T(test_ledger_pending),
        T(test_open_probe_ok),
        T(test_open_probe_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
