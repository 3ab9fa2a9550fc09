/* Unit tests for core/trail: the lookup plan and merging through a fake port. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "core/change.h"
#include "core/err.h"
#include "core/event.h"
#include "core/trail.h"

struct fake {
    struct wc_trail base;
    int calls;
    int fail_on; /* 1-based call that fails, 0 never */
    int writes_from; /* 1-based call from which events are writes; 0 never */
    char keys[8][32];
    char values[8][128];
};

static int s_fake_lookup(struct wc_trail *t, const struct wc_trail_query *q,
                         struct wc_event_list *out)
{
    struct fake *f = (struct fake *)t;
    struct wc_event *e;

    if (f->calls < 8) {
        snprintf(f->keys[f->calls], sizeof(f->keys[0]), "%s", q->attribute_key);
        snprintf(f->values[f->calls], sizeof(f->values[0]), "%s", q->attribute_value);
    }
    if (++f->calls == f->fail_on)
        return WC_ERR_THROTTLED;
    /* every lookup returns the same event "shared" plus one of its own */
    out->items = calloc(2, sizeof(*out->items));
    assert_non_null(out->items);
    out->len = 2;
    e = &out->items[0];
    e->event_id = wc_strdup("shared");
    e->event_name = wc_strdup("PutRolePolicy");
    e->read_only = !(f->writes_from && f->calls >= f->writes_from);
    e = &out->items[1];
    e->read_only = !(f->writes_from && f->calls >= f->writes_from);
    e->event_id = malloc(16);
    snprintf(e->event_id, 16, "own-%d", f->calls);
    e->event_name = wc_strdup("PutRolePolicy");
    return WC_OK;
}

static const struct wc_trail_vtable s_fake_vtable = {
    .name = "fake",
    .lookup = s_fake_lookup,
    .destroy = NULL,
};

static void s_change(struct wc_change *c)
{
    memset(c, 0, sizeof(*c));
    c->account_id = wc_strdup("123456789012");
    c->region = wc_strdup("global");
    c->lookup_region = wc_strdup("us-east-1");
    c->resource_type = wc_strdup("AWS::IAM::Role");
    c->resource_id = wc_strdup("AROAEXAMPLE");
    c->resource_name = wc_strdup("app-runtime");
    c->arn = wc_strdup("arn:aws:iam::123456789012:role/app-runtime");
    c->capture_time_ms = 1714564770000LL;
}

static void test_plan(void **state)
{
    struct wc_change c;
    struct wc_trail_query q[WC_TRAIL_MAX_QUERIES];
    size_t n = 0;

    (void)state;
    s_change(&c);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "rel-%d", i);
        assert_int_equal(wc_strlist_push(&c.related_event_ids, id), WC_OK);
    }
    assert_int_equal(wc_trail_plan(&c, 180, q, WC_TRAIL_MAX_QUERIES, &n), WC_OK);
    assert_int_equal(n, WC_TRAIL_MAX_RELATED_LOOKUPS + 3);
    assert_string_equal(q[0].attribute_key, "EventId");
    assert_string_equal(q[0].attribute_value, "rel-0");
    assert_string_equal(q[3].attribute_key, "ResourceName");
    assert_string_equal(q[3].attribute_value, "AROAEXAMPLE");
    assert_string_equal(q[4].attribute_value, "app-runtime");
    assert_string_equal(q[5].attribute_value, "arn:aws:iam::123456789012:role/app-runtime");
    assert_string_equal(q[3].region, "us-east-1");
    assert_string_equal(q[3].account_id, "123456789012");
    assert_int_equal(q[3].start_ms, 1714564770000LL - 180000);
    assert_int_equal(q[3].end_ms, 1714564770000LL + 180000);
    wc_change_clean_up(&c);
}

static void test_plan_dedups_same_values(void **state)
{
    struct wc_change c;
    struct wc_trail_query q[WC_TRAIL_MAX_QUERIES];
    size_t n = 0;

    (void)state;
    s_change(&c);
    /* an S3 bucket: id == name; no ARN */
    free(c.resource_name);
    c.resource_name = wc_strdup("AROAEXAMPLE");
    free(c.arn);
    c.arn = NULL;
    assert_int_equal(wc_trail_plan(&c, 60, q, WC_TRAIL_MAX_QUERIES, &n), WC_OK);
    assert_int_equal(n, 1);
    free(c.resource_id);
    c.resource_id = NULL;
    assert_int_equal(wc_trail_plan(&c, 60, q, WC_TRAIL_MAX_QUERIES, &n), WC_ERR_INVALID);
    wc_change_clean_up(&c);
}

static void test_lookup_change_merges(void **state)
{
    /* only read-only events: every planned lookup runs */
    struct fake f = {.base = {&s_fake_vtable, NULL}};
    struct wc_change c;
    struct wc_event_list out = WC_EVENT_LIST_INIT;
    size_t calls = 0;

    (void)state;
    s_change(&c);
    assert_int_equal(wc_trail_lookup_change(&f.base, &c, 180, &out, &calls), WC_OK);
    assert_int_equal(calls, 3);
    assert_int_equal(f.calls, 3);
    assert_int_equal(out.len, 4); /* "shared" once + own-1..3 */
    assert_string_equal(out.items[0].event_id, "shared");
    assert_string_equal(out.items[3].event_id, "own-3");
    wc_event_list_clean_up(&out);
    wc_change_clean_up(&c);
}

static void test_lookup_change_stops_at_first_write(void **state)
{
    struct fake f = {.base = {&s_fake_vtable, NULL}, .writes_from = 2};
    struct wc_change c;
    struct wc_event_list out = WC_EVENT_LIST_INIT;
    size_t calls = 0;

    (void)state;
    s_change(&c);
    assert_int_equal(wc_trail_lookup_change(&f.base, &c, 180, &out, &calls), WC_OK);
    assert_int_equal(calls, 2);
    assert_int_equal(out.len, 3); /* shared, own-1, own-2 */
    assert_string_equal(f.values[1], "app-runtime");
    wc_event_list_clean_up(&out);
    wc_change_clean_up(&c);
}

static void test_lookup_change_fails_fast(void **state)
{
    struct fake f = {.base = {&s_fake_vtable, NULL}, .fail_on = 2};
    struct wc_change c;
    struct wc_event_list out = WC_EVENT_LIST_INIT;
    size_t calls = 0;

    (void)state;
    s_change(&c);
    assert_int_equal(wc_trail_lookup_change(&f.base, &c, 180, &out, &calls), WC_ERR_THROTTLED);
    assert_int_equal(calls, 2);
    wc_event_list_clean_up(&out);
    wc_change_clean_up(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_plan_dedups_same_values),
        cmocka_unit_test(test_lookup_change_merges),
        cmocka_unit_test(test_lookup_change_stops_at_first_write),
        cmocka_unit_test(test_lookup_change_fails_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
