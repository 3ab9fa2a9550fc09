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


static struct wc_event *s_ev(struct wc_event_list *l, const char *id, int64_t t_ms, bool ro,
                             const char *error, const char *name, const char *arn)
{
    struct wc_event *e;

    l->items = realloc(l->items, (l->len + 1) * sizeof(*l->items));
    assert_non_null(l->items);
    e = &l->items[l->len++];
    memset(e, 0, sizeof(*e));
    e->event_id = wc_strdup(id);
    e->event_name = wc_strdup("PutRolePolicy");
    e->event_time_ms = t_ms;
    e->read_only = ro;
    e->error_code = error ? wc_strdup(error) : NULL;
    if (name || arn) {
        e->resources = calloc(1, sizeof(*e->resources));
        assert_non_null(e->resources);
        e->n_resources = 1;
        e->resources[0].name = name ? wc_strdup(name) : NULL;
        e->resources[0].arn = arn ? wc_strdup(arn) : NULL;
    }
    return e;
}

struct match_case {
    const char *key, *value;
    int64_t start_ms, end_ms;
    int64_t event_ms;
    bool read_only;
    const char *name, *arn; /* the event's resource: LookupEvents name, record ARN */
    bool expect;
};

static void test_query_matches(void **state)
{
    static const struct match_case cases[] = {
        /* the window in whole seconds, as the request: StartTime floor,
         * EndTime ceil, both inclusive */
        {"ResourceName", "sg-1", 1000500, 2000200, 1000000, false, "sg-1", NULL, true},
        {"ResourceName", "sg-1", 1000500, 2000200, 999999, false, "sg-1", NULL, false},
        {"ResourceName", "sg-1", 1000500, 2000200, 2001000, false, "sg-1", NULL, true},
        {"ResourceName", "sg-1", 1000500, 2000200, 2001001, false, "sg-1", NULL, false},
        {"ResourceName", "sg-1", 1000000, 2000000, 2000000, false, "sg-1", NULL, true},
        {"ResourceName", "sg-1", 1000000, 2000000, 2000001, false, "sg-1", NULL, false},
        {"ResourceName", "sg-1", -1500, 0, -2000, false, "sg-1", NULL, true},
        {"ResourceName", "sg-1", -1500, 0, -2001, false, "sg-1", NULL, false},
        /* ResourceName: a name LookupEvents lists, exactly */
        {"ResourceName", "sg-1", 0, 5000, 1000, false, "sg-12", NULL, false},
        {"ResourceName", "sg-1", 0, 5000, 1000, false,
         "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1", NULL, false},
        {"ResourceName", "sg-1", 0, 5000, 1000, false, NULL, "sg-1", false},
        {"ResourceName", "sg-1", 0, 5000, 1000, true, "sg-1", NULL, true},
        /* EventId */
        {"EventId", "ev-1", 0, 5000, 1000, true, NULL, NULL, true},
        {"EventId", "ev-2", 0, 5000, 1000, true, NULL, NULL, false},
        {"EventId", "ev-1", 0, 5000, 6000, true, NULL, NULL, false},
        /* ReadOnly */
        {"ReadOnly", "false", 0, 5000, 1000, false, NULL, NULL, true},
        {"ReadOnly", "false", 0, 5000, 1000, true, NULL, NULL, false},
        {"ReadOnly", "true", 0, 5000, 1000, true, NULL, NULL, true},
        {"ReadOnly", "true", 0, 5000, 1000, false, NULL, NULL, false},
        {"ReadOnly", "False", 0, 5000, 1000, false, NULL, NULL, false},
        /* keys we never ask */
        {"Username", "alice", 0, 5000, 1000, false, NULL, NULL, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct match_case *mc = &cases[i];
        struct wc_event_list l = WC_EVENT_LIST_INIT;
        struct wc_trail_query q = {"123456789012", "eu-west-1", mc->key, mc->value,
                                   mc->start_ms, mc->end_ms};

        s_ev(&l, "ev-1", mc->event_ms, mc->read_only, NULL, mc->name, mc->arn);
        if (wc_trail_query_matches(&q, &l.items[0]) != mc->expect)
            fail_msg("case %zu: %s=%s [%lld, %lld] at %lld: expected %d", i, mc->key,
                     mc->value, (long long)mc->start_ms, (long long)mc->end_ms,
                     (long long)mc->event_ms, mc->expect);
        wc_event_list_clean_up(&l);
    }
    assert_false(wc_trail_query_matches(NULL, NULL));
}

static void test_found_write_and_merge(void **state)
{
    struct wc_event_list a = WC_EVENT_LIST_INIT, b = WC_EVENT_LIST_INIT;

    (void)state;
    s_ev(&a, "ro", 0, true, NULL, NULL, NULL);
    s_ev(&a, "failed", 0, false, "AccessDenied", NULL, NULL);
    assert_false(wc_trail_found_write(&a));
    s_ev(&b, "failed", 0, false, "AccessDenied", NULL, NULL);
    s_ev(&b, "w", 0, false, NULL, NULL, NULL);
    s_ev(&b, "w", 0, false, NULL, NULL, NULL);
    assert_true(wc_trail_found_write(&b));
    assert_int_equal(wc_trail_merge(&a, &b), WC_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(a.len, 3);
    assert_string_equal(a.items[2].event_id, "w");
    assert_true(wc_trail_found_write(&a));
    wc_event_list_clean_up(&a);
    wc_event_list_clean_up(&b);
}

/* From events already read: the same plan and stop as lookups would. */
static void test_lookup_change_in(void **state)
{
    struct wc_event_list have = WC_EVENT_LIST_INIT, out = WC_EVENT_LIST_INIT;
    struct wc_change c;
    int64_t t = 1714564770000LL;

    (void)state;
    s_change(&c);
    assert_int_equal(wc_strlist_push(&c.related_event_ids, "rel"), WC_OK);
    s_ev(&have, "rel", t - 5000, true, NULL, NULL, NULL);            /* EventId: read-only */
    s_ev(&have, "id-ro", t - 4000, true, NULL, "AROAEXAMPLE", NULL); /* id: read-only */
    s_ev(&have, "id-fail", t - 3000, false, "AccessDenied", "AROAEXAMPLE", NULL);
    s_ev(&have, "by-name", t - 2000, false, NULL, "app-runtime", NULL); /* name: a write */
    s_ev(&have, "by-arn", t - 1000, false, NULL, "arn:aws:iam::123456789012:role/app-runtime",
         NULL); /* not reached: the name's lookup found a write */
    s_ev(&have, "late", t + 181000, false, NULL, "app-runtime", NULL); /* out of window */
    s_ev(&have, "other", t, false, NULL, "someone-else", NULL);
    assert_int_equal(wc_trail_lookup_change_in(&have, &c, 180, &out), WC_OK);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.items[0].event_id, "rel");
    assert_string_equal(out.items[1].event_id, "id-ro");
    assert_string_equal(out.items[2].event_id, "id-fail");
    assert_string_equal(out.items[3].event_id, "by-name");
    /* copies: have is untouched */
    assert_int_equal(have.len, 7);
    wc_event_list_clean_up(&out);
    /* a window that holds nothing: every lookup, nothing found */
    c.capture_time_ms = t + 3600000;
    assert_int_equal(wc_trail_lookup_change_in(&have, &c, 180, &out), WC_OK);
    assert_int_equal(out.len, 0);
    free(c.resource_id);
    c.resource_id = NULL;
    assert_int_equal(wc_trail_lookup_change_in(&have, &c, 180, &out), WC_ERR_INVALID);
    wc_event_list_clean_up(&out);
    wc_event_list_clean_up(&have);
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
        cmocka_unit_test(test_query_matches),
        cmocka_unit_test(test_found_write_and_merge),
        cmocka_unit_test(test_lookup_change_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
