/* Unit tests for core/log: structured fields (issue 9: JSON lines carry
 * verdict, resource, actor, ... as members), millisecond timestamps, and
 * redaction of field values. (Redaction of messages: test_base.c.) */
#include "tests/support/testutil.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

struct capture {
    struct wc_buf out;
};

static void s_capture(void *ctx, const char *line, size_t len)
{
    struct capture *c = ctx;

    wc_buf_append(&c->out, line, len);
    wc_buf_append_char(&c->out, '\n');
}

static long long s_now(void *ctx)
{
    (void)ctx;
    return 1714564750042LL; /* 2024-05-01T11:59:10.042Z */
}

static const struct wc_log_field s_fields[] = {
    WC_LOG_STR("verdict", "human"),
    WC_LOG_STR("resource", "AWS::EC2::SecurityGroup/sg-0123"),
    WC_LOG_STR("actor", "alice"),
    WC_LOG_STR("action", "notified"),
    WC_LOG_STR("account", "123456789012"),
    WC_LOG_STR("region", NULL), /* left out */
    WC_LOG_NUM("duration_ms", 1523),
};
#define S_N (sizeof(s_fields) / sizeof(s_fields[0]))

static void test_json_fields_are_members(void **state)
{
    struct capture cap = {WC_BUF_INIT};
    struct wc_logger_options o = {.level = WC_LOG_INFO, .format = WC_LOG_JSON,
                                  .write = s_capture, .write_ctx = &cap, .now_ms = s_now};
    struct wc_logger *lg = wc_logger_new(&o);
    cJSON *j;

    (void)state;
    WC_LOG_FIELDS(lg, WC_LOG_INFO, "m-1", s_fields, S_N, "%s", "");
    j = cJSON_Parse(cap.out.ptr);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "ts")),
                        "2024-05-01T11:59:10.042Z");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg_id")), "m-1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "verdict")), "human");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "resource")),
                        "AWS::EC2::SecurityGroup/sg-0123");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "actor")), "alice");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "action")), "notified");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "account")), "123456789012");
    assert_null(cJSON_GetObjectItem(j, "region"));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "duration_ms")));
    assert_int_equal(cJSON_GetObjectItem(j, "duration_ms")->valuedouble, 1523);
    /* and the text, as before, in msg */
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")),
                        "verdict=human resource=AWS::EC2::SecurityGroup/sg-0123 actor=alice "
                        "action=notified account=123456789012 duration_ms=1523");
    cJSON_Delete(j);
    wc_logger_destroy(lg);
    wc_buf_clean_up(&cap.out);
}

static void test_text_fields_follow_the_message(void **state)
{
    struct capture cap = {WC_BUF_INIT};
    struct wc_logger_options o = {.level = WC_LOG_INFO, .write = s_capture, .write_ctx = &cap,
                                  .now_ms = s_now};
    struct wc_logger *lg = wc_logger_new(&o);

    (void)state;
    WC_LOG_FIELDS(lg, WC_LOG_WARN, NULL, s_fields, 2, "outcome of %d", 1);
    WC_LOG_FIELDS(lg, WC_LOG_DEBUG, NULL, s_fields, 2, "below the level"); /* not written */
    assert_string_equal(cap.out.ptr, "2024-05-01T11:59:10.042Z warn  outcome of 1 verdict=human "
                                     "resource=AWS::EC2::SecurityGroup/sg-0123\n");
    wc_logger_destroy(lg);
    wc_buf_clean_up(&cap.out);
}

/* A field's value is redacted like the message; a field cannot pose as
 * the logger's own members; a value cannot break out of its string. */
static void test_field_values_redacted_and_escaped(void **state)
{
    struct capture cap = {WC_BUF_INIT};
    struct wc_logger_options o = {.level = WC_LOG_INFO, .format = WC_LOG_JSON,
                                  .write = s_capture, .write_ctx = &cap, .now_ms = s_now};
    struct wc_logger *lg = wc_logger_new(&o);
    const struct wc_log_field f[] = {
        WC_LOG_STR("actor", "x\",\"level\":\"error"),
        WC_LOG_STR("hook", "https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
        WC_LOG_STR("token", "my-registered-secret-1"),
        WC_LOG_STR("level", "forged"),
        WC_LOG_STR("bad key", "v"),
    };
    cJSON *j;

    (void)state;
    wc_logger_add_secret(lg, "my-registered-secret-1");
    WC_LOG_FIELDS(lg, WC_LOG_INFO, NULL, f, 5, "m");
    assert_null(strstr(cap.out.ptr, "XXXXSECRET"));
    assert_null(strstr(cap.out.ptr, "my-registered-secret-1"));
    j = cJSON_Parse(cap.out.ptr);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "info");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "actor")),
                        "x\",\"level\":\"error");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "token")), "(redacted)");
    assert_null(cJSON_GetObjectItem(j, "bad key"));
    cJSON_Delete(j);
    wc_logger_destroy(lg);
    wc_buf_clean_up(&cap.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fields_are_members),
        cmocka_unit_test(test_text_fields_follow_the_message),
        cmocka_unit_test(test_field_values_redacted_and_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
