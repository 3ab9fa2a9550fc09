/* Unit tests for core/scheduler: the lookup scheduler against an in-memory
 * LookupEvents, and the adaptive rate against a simulated sliding-window
 * limiter. */
#include "tests/support/testutil.h"
#include "tests/support/trail_scenario.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/cloudtrail.h"
#include "core/buf.h"
#include "core/change.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/policy.h"
#include "core/scheduler.h"
#include "core/trail.h"

#define ACCOUNT WC_TEST_ACCOUNT
#define REGION WC_TEST_REGION
#define T0 WC_TEST_T0
#define SKEW WC_TEST_SKEW
#define TRUSTED_ROLE WC_TEST_TRUSTED_ROLE

/* ---- helpers ----------------------------------------------------------- */

static struct wc_test_rng s_rng = {0x9E3779B97F4A7C15ULL};

static uint32_t s_rand(void)
{
    return wc_test_rand(&s_rng);
}

static struct wc_event *s_push_event(struct wc_event_list *l)
{
    struct wc_event *items = realloc(l->items, (l->len + 1) * sizeof(*items));

    assert_non_null(items);
    l->items = items;
    memset(&items[l->len], 0, sizeof(items[0]));
    return &items[l->len++];
}

static void s_add_resource(struct wc_event *e, const char *name)
{
    struct wc_event_resource *r;

    r = realloc(e->resources, (e->n_resources + 1) * sizeof(*r));
    assert_non_null(r);
    e->resources = r;
    memset(&r[e->n_resources], 0, sizeof(*r));
    r[e->n_resources].type = wc_test_strdup("AWS::EC2::SecurityGroup");
    r[e->n_resources].name = wc_test_strdup(name);
    e->n_resources++;
}

static struct wc_event *s_event(struct wc_event_list *l, const char *id, const char *name,
                                int64_t time_ms, enum wc_test_who who, bool read_only,
                                const char *resource)
{
    struct wc_event *e = s_push_event(l);

    e->event_id = wc_test_strdup(id);
    e->event_name = wc_test_strdup(name);
    e->event_source = wc_test_strdup("ec2.amazonaws.com");
    e->event_type = wc_test_strdup("AwsApiCall");
    e->event_time_ms = time_ms;
    e->aws_region = wc_test_strdup(REGION);
    e->recipient_account_id = wc_test_strdup(ACCOUNT);
    e->read_only = read_only;
    e->identity.account_id = wc_test_strdup(ACCOUNT);
    switch (who) {
    case WC_TEST_HUMAN:
        e->identity.type = wc_test_strdup("IAMUser");
        e->identity.arn = wc_test_strdup("arn:aws:iam::" ACCOUNT ":user/alice");
        e->identity.user_name = wc_test_strdup("alice");
        e->user_agent = wc_test_strdup("aws-cli/2.15.0");
        e->source_ip = wc_test_strdup("198.51.100.23");
        break;
    case WC_TEST_AUTOMATION:
        e->identity.type = wc_test_strdup("AssumedRole");
        e->identity.arn =
            wc_test_strdup("arn:aws:sts::" ACCOUNT ":assumed-role/terraform-deployer/tf");
        e->identity.issuer_type = wc_test_strdup("Role");
        e->identity.issuer_arn = wc_test_strdup(TRUSTED_ROLE);
        e->identity.issuer_user_name = wc_test_strdup("terraform-deployer");
        e->identity.session_name = wc_test_strdup("tf");
        e->user_agent = wc_test_strdup("APN/1.0 HashiCorp/1.0 Terraform/1.7.0");
        e->source_ip = wc_test_strdup("203.0.113.7");
        break;
    case WC_TEST_SERVICE:
        e->identity.type = wc_test_strdup("AWSService");
        e->identity.invoked_by = wc_test_strdup("autoscaling.amazonaws.com");
        e->source_ip = wc_test_strdup("autoscaling.amazonaws.com");
        e->user_agent = wc_test_strdup("autoscaling.amazonaws.com");
        break;
    }
    if (resource)
        s_add_resource(e, resource);
    return e;
}

/* ---- an in-memory LookupEvents ----------------------------------------------
 * Independent of wc_trail_query_matches: the window comes from the request
 * body aws/cloudtrail.c would send (whole seconds, inclusive), the
 * attribute is matched as the service does (ResourceName: a name in
 * Resources, exactly), events come newest first in pages, NextToken is
 * bound to the query. */

struct fake {
    struct wc_trail base;
    struct wc_event_list events;
    int page_size;
    int max_pages;   /* of one lookup (the vtable's lookup) */
    size_t calls;    /* pages served */
    size_t scans;    /* of which ReadOnly queries */
    int fail_rc;     /* every call fails with this when set */
};

static bool s_fake_match(const struct wc_trail_query *q, int64_t start_s, int64_t end_s,
                         const struct wc_event *e)
{
    if (!wc_streq(e->recipient_account_id, q->account_id) || !wc_streq(e->aws_region, q->region))
        return false;
    if (e->event_time_ms < start_s * 1000 || e->event_time_ms > end_s * 1000)
        return false;
    if (!strcmp(q->attribute_key, "EventId"))
        return wc_streq(e->event_id, q->attribute_value);
    if (!strcmp(q->attribute_key, "ResourceName")) {
        for (size_t i = 0; i < e->n_resources; i++)
            if (wc_streq(e->resources[i].name, q->attribute_value))
                return true;
        return false;
    }
    if (!strcmp(q->attribute_key, "ReadOnly"))
        return e->read_only == !strcmp(q->attribute_value, "true");
    fail_msg("unexpected attribute %s", q->attribute_key);
    return false;
}

static const struct wc_event *s_sort_base;

static int s_newest_first(const void *a, const void *b)
{
    const struct wc_event *x = &s_sort_base[*(const size_t *)a];
    const struct wc_event *y = &s_sort_base[*(const size_t *)b];

    if (x->event_time_ms != y->event_time_ms)
        return x->event_time_ms > y->event_time_ms ? -1 : 1;
    return -strcmp(x->event_id, y->event_id);
}

static void s_window(const struct wc_trail_query *q, int64_t *start_s, int64_t *end_s)
{
    struct wc_buf body = WC_BUF_INIT;
    cJSON *root;

    assert_int_equal(wc_cloudtrail_lookup_body(q, NULL, &body), WC_OK);
    root = cJSON_ParseWithLength(body.ptr, body.len);
    assert_non_null(root);
    *start_s = (int64_t)cJSON_GetObjectItem(root, "StartTime")->valuedouble;
    *end_s = (int64_t)cJSON_GetObjectItem(root, "EndTime")->valuedouble;
    cJSON_Delete(root);
    wc_buf_clean_up(&body);
}

static int s_fake_page(struct wc_trail *t, const struct wc_trail_query *q, const char *token,
                       struct wc_event_list *out)
{
    struct fake *f = (struct fake *)t;
    size_t *idx, n = 0, offset = 0;
    int64_t start_s, end_s;
    char fp[512];
    int page = f->page_size ? f->page_size : 50;

    f->calls++;
    if (!strcmp(q->attribute_key, "ReadOnly"))
        f->scans++;
    if (f->fail_rc)
        return f->fail_rc;
    s_window(q, &start_s, &end_s);
    snprintf(fp, sizeof(fp), "%s|%s|%s|%s|%lld|%lld", q->account_id ? q->account_id : "",
             q->region, q->attribute_key, q->attribute_value, (long long)start_s,
             (long long)end_s);
    if (token) {
        const char *hash = strrchr(token, '#');

        if (!hash || (size_t)(hash - token) != strlen(fp) || strncmp(token, fp, strlen(fp)))
            return WC_ERR_INVALID; /* InvalidNextTokenException */
        offset = strtoul(hash + 1, NULL, 10);
    }
    idx = calloc(f->events.len + 1, sizeof(*idx));
    assert_non_null(idx);
    for (size_t i = 0; i < f->events.len; i++)
        if (s_fake_match(q, start_s, end_s, &f->events.items[i]))
            idx[n++] = i;
    s_sort_base = f->events.items;
    qsort(idx, n, sizeof(*idx), s_newest_first);
    for (size_t i = offset; i < n && i < offset + (size_t)page; i++)
        assert_int_equal(wc_event_copy(s_push_event(out), &f->events.items[idx[i]]), WC_OK);
    free(out->next_token);
    out->next_token = NULL;
    if (offset + (size_t)page < n) {
        char next[600];

        snprintf(next, sizeof(next), "%s#%zu", fp, offset + (size_t)page);
        out->next_token = wc_test_strdup(next);
    }
    free(idx);
    return WC_OK;
}

/* Every page, up to max_pages, as aws/cloudtrail.c. */
static int s_fake_lookup(struct wc_trail *t, const struct wc_trail_query *q,
                         struct wc_event_list *out)
{
    struct fake *f = (struct fake *)t;
    char *token = NULL;
    int rc = WC_OK;

    for (int p = 0; p < (f->max_pages ? f->max_pages : 20); p++) {
        if ((rc = s_fake_page(t, q, token, out)) != WC_OK)
            break;
        free(token);
        token = out->next_token;
        out->next_token = NULL;
        if (!token)
            break;
    }
    free(token);
    return rc;
}

static const struct wc_trail_vtable s_fake_vtable = {
    .name = "fake",
    .lookup = s_fake_lookup,
    .lookup_page = s_fake_page,
    .destroy = NULL,
};

static void s_fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    f->base.vtable = &s_fake_vtable;
    f->base.impl = f;
}

/* Drive s against f until nothing is left to call (answers at once; time
 * jumps to each wake-up). Returns the calls made. */
static size_t s_drive(struct wc_sched *s, struct fake *f, int64_t *now_ms)
{
    size_t calls = 0;

    for (int guard = 0; guard < 200000; guard++) {
        struct wc_sched_call call;
        int64_t wake = 0;

        if (wc_sched_next(s, *now_ms, &call, &wake)) {
            struct wc_event_list page = WC_EVENT_LIST_INIT;
            int rc = s_fake_page(&f->base, &call.query, call.token, &page);

            calls++;
            assert_int_equal(wc_sched_done(s, call.call_id, rc, &page, *now_ms), WC_OK);
            wc_event_list_clean_up(&page);
            continue;
        }
        if (wake == INT64_MAX)
            return calls;
        assert_true(wake > *now_ms);
        *now_ms = wake;
    }
    fail_msg("scheduler did not finish");
    return calls;
}

static struct wc_sched *s_new(int skew_s, bool no_scan)
{
    struct wc_sched_options o = {.skew_s = skew_s, .no_scan = no_scan};
    struct wc_sched *s = wc_sched_new(&o);

    assert_non_null(s);
    return s;
}

/* The next call, at once or at the wake-up the scheduler asks for (after a
 * throttle a worker calls in its slot). */
static bool s_next_when_due(struct wc_sched *s, int64_t *now, struct wc_sched_call *call)
{
    int64_t wake;

    if (wc_sched_next(s, *now, call, &wake))
        return true;
    if (wake == INT64_MAX)
        return false;
    assert_true(wake - *now <= 5000);
    *now = wake;
    return wc_sched_next(s, *now, call, &wake);
}

/* ---- the key invariant: scheduler == one-by-one lookups -------------------- */

/* The scenario of tests/support/trail_scenario.h, its events of ACCOUNT and
 * REGION in the fake trail (those of another account or region are not
 * this trail's). */
struct scenario {
    struct fake fake;
    struct wc_test_scenario sc;
};

static void s_emit(void *ctx, const struct wc_test_event_spec *r)
{
    struct scenario *sc = ctx;
    struct wc_event *e;

    if (strcmp(r->account, ACCOUNT) || strcmp(r->region, REGION))
        return;
    e = s_event(&sc->fake.events, r->event_id, r->name, r->time_ms, r->who, r->read_only,
                r->naming == WC_TEST_BY_NONE ? NULL : r->named);
    if (r->error)
        e->error_code = wc_test_strdup(r->error);
}

static void s_scenario(struct scenario *sc)
{
    s_fake_init(&sc->fake);
    wc_test_scenario_init(&sc->sc, s_emit, sc);
}

static void s_scenario_free(struct scenario *sc)
{
    wc_test_scenario_clean_up(&sc->sc);
    wc_event_list_clean_up(&sc->fake.events);
}

static void test_invariant_scheduler_equals_one_by_one(void **state)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct wc_test_outcome *one = calloc(WC_TEST_N_CHANGES, sizeof(*one));
    bool *seen = calloc(WC_TEST_N_CHANGES, sizeof(*seen));
    size_t counts[WC_VERDICT_UNATTRIBUTED + 1] = {0}, one_calls = 0, sched_calls;
    struct wc_sched *s = s_new(SKEW, false);
    struct wc_sched_result r;
    struct wc_sched_stats st;
    int64_t now = 1000;

    (void)state;
    assert_non_null(sc);
    assert_non_null(one);
    assert_non_null(seen);
    s_scenario(sc);

    /* one by one, as the worker does today */
    for (size_t i = 0; i < WC_TEST_N_CHANGES; i++) {
        struct wc_event_list events = WC_EVENT_LIST_INIT;
        size_t n = 0;

        assert_int_equal(
            wc_trail_lookup_change(&sc->fake.base, &sc->sc.changes[i], SKEW, &events, &n), WC_OK);
        one_calls += n;
        wc_test_outcome(&sc->sc.policy, &sc->sc.changes[i], &events, &one[i]);
        counts[one[i].verdict]++;
        wc_event_list_clean_up(&events);
    }
    /* the scenario is what it says */
    assert_true(counts[WC_VERDICT_HUMAN] >= 40);
    assert_true(counts[WC_VERDICT_AUTOMATION] >= 120);
    assert_true(counts[WC_VERDICT_AWS_SERVICE] >= 40);
    assert_true(counts[WC_VERDICT_UNATTRIBUTED] >= 15);
    assert_true(one_calls >= WC_TEST_N_CHANGES);

    /* the scheduler, driving the same trail */
    sc->fake.calls = sc->fake.scans = 0;
    for (size_t i = 0; i < WC_TEST_N_CHANGES; i++)
        assert_int_equal(wc_sched_add(s, i + 100, &sc->sc.changes[i], now), WC_OK);
    sched_calls = s_drive(s, &sc->fake, &now);
    while (wc_sched_take(s, &r)) {
        struct wc_test_outcome got;
        size_t i = (size_t)r.id - 100;

        assert_true(i < WC_TEST_N_CHANGES);
        assert_false(seen[i]);
        seen[i] = true;
        assert_int_equal(r.rc, WC_OK);
        wc_test_outcome(&sc->sc.policy, &sc->sc.changes[i], &r.events, &got);
        wc_test_assert_same_outcome(&sc->sc, i, "scheduler", &got, "one by one", &one[i]);
        wc_event_list_clean_up(&r.events);
    }
    for (size_t i = 0; i < WC_TEST_N_CHANGES; i++)
        assert_true(seen[i]);
    wc_sched_get_stats(s, &st);
    assert_int_equal(st.calls, sched_calls);
    assert_int_equal(sched_calls, sc->fake.calls);
    assert_true(st.scans >= 1);
    printf("# invariant: %zu changes, one by one %zu calls, scheduler %zu calls "
           "(%zu scan pages, %llu scans, %llu per-resource)\n",
           (size_t)WC_TEST_N_CHANGES, one_calls, sched_calls, sc->fake.scans,
           (unsigned long long)st.scans, (unsigned long long)st.per_resource);
    assert_true(sched_calls * 10 <= WC_TEST_N_CHANGES); /* <= 0.1 call per change */
    assert_int_equal(st.waiting, 0);

    wc_sched_destroy(s);
    s_scenario_free(sc);
    free(sc);
    free(one);
    free(seen);
}

/* The same scenario with the scheduler restricted to per-resource lookups
 * (no_scan): the same verdicts and exactly the calls of one by one. */
static void test_no_scan_matches_one_by_one(void **state)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct wc_sched *s = s_new(SKEW, true);
    struct wc_sched_result r;
    size_t one_calls = 0, sched_calls, taken = 0;
    int64_t now = 0;

    (void)state;
    assert_non_null(sc);
    s_scenario(sc);
    for (size_t i = 0; i < WC_TEST_N_CHANGES; i++) {
        struct wc_event_list events = WC_EVENT_LIST_INIT;
        size_t n = 0;

        assert_int_equal(
            wc_trail_lookup_change(&sc->fake.base, &sc->sc.changes[i], SKEW, &events, &n), WC_OK);
        one_calls += sc->fake.calls;
        sc->fake.calls = 0;
        wc_event_list_clean_up(&events);
    }
    for (size_t i = 0; i < WC_TEST_N_CHANGES; i++)
        assert_int_equal(wc_sched_add(s, i, &sc->sc.changes[i], now), WC_OK);
    sched_calls = s_drive(s, &sc->fake, &now);
    assert_int_equal(sched_calls, one_calls);
    assert_int_equal(sc->fake.scans, 0);
    while (wc_sched_take(s, &r)) {
        struct wc_event_list events = WC_EVENT_LIST_INIT;
        size_t n = 0;

        assert_false(r.from_scan);
        assert_int_equal(wc_trail_lookup_change(&sc->fake.base, &sc->sc.changes[r.id], SKEW,
                                                &events, &n),
                         WC_OK);
        /* the very same events in the same order */
        assert_int_equal(r.events.len, events.len);
        for (size_t k = 0; k < events.len; k++)
            assert_string_equal(r.events.items[k].event_id, events.items[k].event_id);
        wc_event_list_clean_up(&events);
        wc_event_list_clean_up(&r.events);
        taken++;
    }
    assert_int_equal(taken, WC_TEST_N_CHANGES);
    /* at 2 calls/s less 10%: the calls took their time */
    assert_true(now >= (int64_t)(sched_calls - 1) * 550 - 1000);
    wc_sched_destroy(s);
    s_scenario_free(sc);
    free(sc);
}

/* ---- cost choice ------------------------------------------------------------ */

/* One scan page answered by hand: n events spread over [from_s, to_s]. */
static void s_answer_scan(struct wc_sched *s, const struct wc_sched_call *call, int n,
                          int64_t from_ms, int64_t to_ms, bool more, int64_t now)
{
    struct wc_event_list page = WC_EVENT_LIST_INIT;

    for (int i = 0; i < n; i++) {
        char *id = wc_test_fmt("w-%lu", (unsigned long)s_rand());
        int64_t t = to_ms - (to_ms - from_ms) * i / (n > 1 ? n - 1 : 1);

        s_event(&page, id, "ModifyInstanceAttribute", t / 1000 * 1000, WC_TEST_HUMAN, false,
                "i-unrelated");
        free(id);
    }
    if (more)
        page.next_token = wc_test_strdup("more");
    assert_int_equal(wc_sched_done(s, call->call_id, WC_OK, &page, now), WC_OK);
    wc_event_list_clean_up(&page);
}

struct cost_case {
    const char *name;
    int n_changes;
    int spacing_s;      /* between captures */
    int learn_events;   /* a first scan teaching this many events over its window; -1: none */
    bool expect_scan;
};

static void test_cost_choice(void **state)
{
    static const struct cost_case cases[] = {
        {"lone change, nothing learned", 1, 0, -1, false},
        {"two changes, nothing learned", 2, 1, -1, false},
        {"three changes, nothing learned", 3, 1, -1, true},
        {"many changes, nothing learned", 50, 1, -1, true},
        {"lone change, quiet account", 1, 0, 0, false},
        {"two changes, quiet account (1 page < 2)", 2, 1, 3, true},
        {"five changes, busy account (20 pages > 5)", 5, 1, 1000, false},
        {"forty changes at once, busy account (20 pages < 40)", 40, 0, 1000, true},
    };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct cost_case *cc = &cases[k];
        struct wc_sched *s = s_new(SKEW, false);
        struct wc_sched_call call;
        struct wc_sched_result r;
        int64_t now = 0, wake;
        uint64_t id = 1;

        if (cc->learn_events >= 0) {
            struct wc_change c;

            /* three changes at T0: a scan of [T0 - 180 s, T0 + 180 s] */
            for (int i = 0; i < 3; i++) {
                char *rid = wc_test_fmt("sg-learn-%lu", (unsigned long)i);

                wc_test_make_change(&c, ACCOUNT, REGION, rid, T0);
                assert_int_equal(wc_sched_add(s, id++, &c, now), WC_OK);
                wc_change_clean_up(&c);
                free(rid);
            }
            assert_true(wc_sched_next(s, now, &call, &wake));
            assert_true(call.scan);
            for (int left = cc->learn_events, first = 1; first || left > 0; first = 0) {
                int n = left > 50 ? 50 : left;

                s_answer_scan(s, &call, n, T0 - SKEW * 1000, T0 + SKEW * 1000, left > 50, now);
                left -= n;
                if (left > 0) {
                    now += 1000;
                    assert_true(wc_sched_next(s, now, &call, &wake));
                }
            }
            while (wc_sched_take(s, &r))
                wc_event_list_clean_up(&r.events);
            now += 1000;
        }
        for (int i = 0; i < cc->n_changes; i++) {
            struct wc_change c;
            char *rid = wc_test_fmt("sg-%05lu", (unsigned long)i);

            wc_test_make_change(&c, ACCOUNT, REGION, rid, T0 + 600000 + i * cc->spacing_s * 1000LL);
            assert_int_equal(wc_sched_add(s, id++, &c, now), WC_OK);
            wc_change_clean_up(&c);
            free(rid);
        }
        now += 1000;
        if (!wc_sched_next(s, now, &call, &wake))
            fail_msg("%s: no call", cc->name);
        if (call.scan != cc->expect_scan)
            fail_msg("%s: scan %d, expected %d", cc->name, call.scan, cc->expect_scan);
        assert_string_equal(call.query.attribute_key,
                            cc->expect_scan ? WC_TRAIL_SCAN_KEY : "ResourceName");
        if (cc->expect_scan) {
            assert_string_equal(call.query.attribute_value, "false");
            assert_string_equal(call.query.account_id, ACCOUNT);
            assert_string_equal(call.query.region, REGION);
            assert_int_equal(call.query.start_ms, T0 + 600000 - SKEW * 1000);
        }
        wc_sched_destroy(s);
    }
}

/* Too many changes for one scan: it is narrowed to the oldest. */
static void test_scan_narrowed_to_oldest(void **state)
{
    struct wc_sched *s = s_new(60, false);
    struct wc_sched_call call;
    struct wc_sched_result r;
    struct wc_change c;
    int64_t now = 0, wake, k;
    int answered = 0;

    (void)state;
    /* learn: 121 events over the 121 s of a first scan: 1/s */
    for (int i = 0; i < 3; i++) {
        char *rid = wc_test_fmt("sg-learn-%lu", (unsigned long)i);

        wc_test_make_change(&c, ACCOUNT, REGION, rid, T0);
        assert_int_equal(wc_sched_add(s, 1000 + (uint64_t)i, &c, now), WC_OK);
        wc_change_clean_up(&c);
        free(rid);
    }
    for (int p = 0; p < 3; p++) {
        assert_true(wc_sched_next(s, now, &call, &wake));
        assert_true(call.scan);
        s_answer_scan(s, &call, p < 2 ? 50 : 21, T0 - 60000, T0 + 60000, p < 2, now);
        now += 1000;
    }
    while (wc_sched_take(s, &r)) {
        assert_true(r.from_scan);
        wc_event_list_clean_up(&r.events);
    }
    /* 100 changes, one every 10 s: all of them, 1111 s, ~23 pages; 20
     * pages (1000 s) hold the oldest 88 */
    for (int i = 0; i < 100; i++) {
        char *rid = wc_test_fmt("sg-%05lu", (unsigned long)i);

        wc_test_make_change(&c, ACCOUNT, REGION, rid, T0 + 3600000 + i * 10000LL);
        assert_int_equal(wc_sched_add(s, (uint64_t)i, &c, now), WC_OK);
        wc_change_clean_up(&c);
        free(rid);
    }
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_true(call.scan);
    assert_int_equal(call.query.start_ms, T0 + 3600000 - 60000);
    k = (call.query.end_ms - 60000 - (T0 + 3600000)) / 10000 + 1; /* members */
    assert_int_equal(call.query.end_ms, T0 + 3600000 + (k - 1) * 10000 + 60000);
    assert_true(k >= 80 && k < 100);
    s_answer_scan(s, &call, 10, call.query.start_ms, call.query.end_ms, false, now);
    while (wc_sched_take(s, &r)) {
        assert_true((int64_t)r.id < k);
        assert_true(r.from_scan);
        assert_int_equal(r.rc, WC_OK);
        assert_int_equal(r.calls, answered == 0 ? 1 : 0);
        answered++;
        wc_event_list_clean_up(&r.events);
    }
    assert_int_equal(answered, k);
    wc_sched_destroy(s);
}

/* ---- partial scans ---------------------------------------------------------- */

/* Periodic recording: a change's window reaches 24 h before its capture.
 * Such a change never joins a scan (a scan reads every write of the
 * account-region in the window: a day of them, where the resource's own
 * lookups read a page), whatever the learned write rate; it is looked up by
 * resource over its whole window, and found there; changes of the usual
 * width around it still share a scan. */
static void test_periodic_window_goes_per_resource(void **state)
{
    const int64_t day_ms = 24 * 3600 * 1000LL, cap = T0 + day_ms;
    struct fake f;
    struct wc_sched *s;
    struct wc_sched_call call;
    struct wc_sched_result r;
    int64_t now = 0, wake;
    uint64_t id = 1;
    size_t scans = 0, per_resource = 0, found = 0;

    (void)state;
    for (int learned = 0; learned < 2; learned++) {
        s_fake_init(&f);
        s = s_new(SKEW, false);
        now = 0;
        scans = per_resource = found = 0;
        if (learned) {
            /* a quiet account-region: a scan would look cheap (1 page) */
            for (int i = 0; i < 3; i++) {
                struct wc_change c;
                char *rid = wc_test_fmt("sg-learn-%lu", (unsigned long)i);

                wc_test_make_change(&c, ACCOUNT, REGION, rid, T0);
                assert_int_equal(wc_sched_add(s, id++, &c, now), WC_OK);
                wc_change_clean_up(&c);
                free(rid);
            }
            assert_true(wc_sched_next(s, now, &call, &wake));
            assert_true(call.scan);
            s_answer_scan(s, &call, 0, T0 - SKEW * 1000, T0 + SKEW * 1000, false, now);
            while (wc_sched_take(s, &r))
                wc_event_list_clean_up(&r.events);
            now += 1000;
        }
        /* five periodic changes captured at T0 + 24 h, each changed by a
         * human some hours earlier; and three ordinary ones */
        for (unsigned long i = 0; i < 5; i++) {
            struct wc_change c;
            char *rid = wc_test_fmt("sg-daily-%lu", i), *eid = wc_test_fmt("ev-daily-%lu", i);

            wc_test_make_change(&c, ACCOUNT, REGION, rid, cap + (int64_t)i * 1000);
            c.recording_frequency = wc_test_strdup("DAILY");
            c.lookback_s = 24 * 3600;
            s_event(&f.events, eid, "AuthorizeSecurityGroupIngress",
                    cap - (int64_t)(i + 1) * 3 * 3600 * 1000, WC_TEST_HUMAN, false, rid);
            assert_int_equal(wc_sched_add(s, id++, &c, now), WC_OK);
            wc_change_clean_up(&c);
            free(rid);
            free(eid);
        }
        for (unsigned long i = 0; i < 3; i++) {
            struct wc_change c;
            char *rid = wc_test_fmt("sg-now-%lu", i);

            wc_test_make_change(&c, ACCOUNT, REGION, rid, cap + (int64_t)i * 1000);
            assert_int_equal(wc_sched_add(s, id++, &c, now), WC_OK);
            wc_change_clean_up(&c);
            free(rid);
        }
        for (int guard = 0; guard < 1000; guard++) {
            struct wc_event_list page = WC_EVENT_LIST_INIT;
            int rc;

            if (!wc_sched_next(s, now, &call, &wake)) {
                if (wake == INT64_MAX)
                    break;
                now = wake;
                continue;
            }
            if (call.scan) {
                scans++;
                /* never over the day: only the ordinary changes' windows */
                assert_true(call.query.start_ms >= cap - SKEW * 1000);
                assert_true(call.query.end_ms - call.query.start_ms < 3600 * 1000);
            } else if (!strncmp(call.query.attribute_value, "sg-daily-", 9)) {
                per_resource++;
                assert_string_equal(call.query.attribute_key, "ResourceName");
                assert_int_equal(call.query.end_ms - call.query.start_ms,
                                 (24 * 3600 + 2 * SKEW) * 1000LL);
            }
            rc = s_fake_page(&f.base, &call.query, call.token, &page);
            assert_int_equal(wc_sched_done(s, call.call_id, rc, &page, now), WC_OK);
            wc_event_list_clean_up(&page);
        }
        while (wc_sched_take(s, &r)) {
            assert_int_equal(r.rc, WC_OK);
            for (size_t k = 0; k < r.events.len; k++)
                found += !strncmp(r.events.items[k].event_id, "ev-daily-", 9);
            if (r.events.len && !strncmp(r.events.items[0].event_id, "ev-daily-", 9))
                assert_false(r.from_scan);
            wc_event_list_clean_up(&r.events);
        }
        assert_int_equal(per_resource, 5); /* one lookup each: its id finds its event */
        assert_int_equal(found, 5);
        assert_int_equal(scans, 1);        /* the three ordinary ones, together */
        wc_sched_destroy(s);
        wc_event_list_clean_up(&f.events);
    }
}

static void test_partial_scan_falls_back(void **state)
{
    struct wc_sched_options o = {.skew_s = 60, .max_scan_pages = 2};
    struct wc_sched *s = wc_sched_new(&o);
    struct wc_sched_call call;
    struct wc_sched_result r;
    struct wc_change c;
    int64_t now = 0, wake;
    bool out[5] = {false};
    int from_scan = 0, per_resource_calls = 0;

    (void)state;
    assert_non_null(s);
    /* captures at T0, +100 s, ..., +400 s; windows +-60 s */
    for (int i = 0; i < 5; i++) {
        char *rid = wc_test_fmt("sg-%05lu", (unsigned long)i);

        wc_test_make_change(&c, ACCOUNT, REGION, rid, T0 + i * 100000LL + 250);
        assert_int_equal(wc_sched_add(s, (uint64_t)i, &c, now), WC_OK);
        wc_change_clean_up(&c);
        free(rid);
    }
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_true(call.scan);
    assert_int_equal(call.query.start_ms, T0 - 60000 + 250);
    assert_int_equal(call.query.end_ms, T0 + 460000 + 250);
    /* two pages newest first reaching back to T0 + 230 s, more left */
    s_answer_scan(s, &call, 50, T0 + 360000, T0 + 460000, true, now);
    now += 1000;
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_true(call.scan);
    assert_string_equal(call.token, "more");
    s_answer_scan(s, &call, 50, T0 + 230000, T0 + 359000, true, now);
    /* covered: windows starting after T0 + 230 s (changes 4, 3; 2's
     * starts at T0 + 140 s) */
    while (wc_sched_take(s, &r)) {
        assert_true(r.id == 3 || r.id == 4);
        assert_true(r.from_scan);
        out[r.id] = true;
        from_scan++;
        wc_event_list_clean_up(&r.events);
    }
    assert_int_equal(from_scan, 2);
    /* the others: per-resource, oldest first, never another scan */
    for (int guard = 0; guard < 50; guard++) {
        struct wc_event_list page = WC_EVENT_LIST_INIT;

        if (!wc_sched_next(s, now, &call, &wake)) {
            if (wake == INT64_MAX)
                break;
            now = wake;
            continue;
        }
        assert_false(call.scan);
        assert_string_equal(call.query.attribute_key, "ResourceName");
        per_resource_calls++;
        assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
        while (wc_sched_take(s, &r)) {
            assert_true(r.id <= 2);
            assert_false(out[r.id]);
            assert_false(r.from_scan);
            assert_int_equal(r.calls, 1);
            out[r.id] = true;
            wc_event_list_clean_up(&r.events);
        }
    }
    assert_int_equal(per_resource_calls, 3);
    for (int i = 0; i < 5; i++)
        assert_true(out[i]);
    wc_sched_destroy(s);
}

/* ---- errors, throttling, pages ------------------------------------------------ */

static void test_error_ends_lookup(void **state)
{
    struct wc_sched *s = s_new(SKEW, false);
    struct wc_sched_call call;
    struct wc_sched_result r;
    struct wc_change c;
    int64_t now = 0, wake;
    int n = 0;

    (void)state;
    /* per-resource: one change, the call fails */
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-lone", T0);
    assert_int_equal(wc_sched_add(s, 1, &c, now), WC_OK);
    wc_change_clean_up(&c);
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_false(call.scan);
    assert_int_equal(wc_sched_done(s, call.call_id, WC_ERR_AUTH, NULL, now), WC_OK);
    assert_true(wc_sched_take(s, &r));
    assert_int_equal(r.id, 1);
    assert_int_equal(r.rc, WC_ERR_AUTH);
    assert_int_equal(r.events.len, 0);
    assert_int_equal(r.calls, 1);
    assert_false(wc_sched_take(s, &r));
    /* unknown call ids are refused */
    assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, NULL, now), WC_ERR_NOT_FOUND);

    /* a scan: every member comes out with the error, the calls counted once */
    for (int i = 0; i < 4; i++) {
        char *rid = wc_test_fmt("sg-%05lu", (unsigned long)i);

        wc_test_make_change(&c, ACCOUNT, "eu-north-1", rid, T0 + i * 1000LL);
        assert_int_equal(wc_sched_add(s, 10 + (uint64_t)i, &c, now), WC_OK);
        wc_change_clean_up(&c);
        free(rid);
    }
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_true(call.scan);
    s_answer_scan(s, &call, 50, T0 - 1000, T0, true, now);
    now += 1000;
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_int_equal(wc_sched_done(s, call.call_id, WC_ERR_SERVICE, NULL, now), WC_OK);
    while (wc_sched_take(s, &r)) {
        assert_int_equal(r.rc, WC_ERR_SERVICE);
        assert_true(r.from_scan);
        assert_int_equal(r.calls, n == 0 ? 2 : 0);
        assert_int_equal(r.events.len, 0);
        n++;
    }
    assert_int_equal(n, 4);
    wc_sched_destroy(s);
}

static void test_throttle_asks_same_page_again(void **state)
{
    struct wc_sched *s = s_new(SKEW, false);
    struct wc_sched_call call, again;
    struct wc_sched_result r;
    struct wc_sched_stats st;
    struct wc_event_list page = WC_EVENT_LIST_INIT;
    struct wc_change c;
    int64_t now = 0, wake;

    (void)state;
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-1", T0);
    c.resource_name = wc_test_strdup("web");
    assert_int_equal(wc_sched_add(s, 7, &c, now), WC_OK);
    wc_change_clean_up(&c);
    /* page 1 of ResourceName=sg-1, with more */
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_string_equal(call.query.attribute_value, "sg-1");
    assert_null(call.token);
    s_event(&page, "e-1", "DescribeSecurityGroups", T0, WC_TEST_HUMAN, true, "sg-1");
    page.next_token = wc_test_strdup("tok-2");
    assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
    wc_event_list_clean_up(&page);
    assert_null(page.next_token);
    /* the next page is not due before the token */
    assert_false(wc_sched_next(s, now, &call, &wake));
    assert_true(wake > now && wake <= now + 600);
    now = wake;
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_string_equal(call.token, "tok-2");
    /* throttled: the same page again, later */
    assert_int_equal(wc_sched_done(s, call.call_id, WC_ERR_THROTTLED, NULL, now), WC_OK);
    assert_false(wc_sched_take(s, &r));
    assert_false(wc_sched_next(s, now, &again, &wake));
    assert_true(wake > now);
    now = wake;
    assert_true(wc_sched_next(s, now, &again, &wake));
    assert_string_equal(again.query.attribute_value, "sg-1");
    assert_string_equal(again.token, "tok-2");
    assert_true(again.call_id != call.call_id);
    /* last page: a read-only event only: on to the name */
    assert_int_equal(wc_sched_done(s, again.call_id, WC_OK, &page, now), WC_OK);
    now += 1000;
    assert_true(s_next_when_due(s, &now, &call));
    assert_string_equal(call.query.attribute_value, "web");
    assert_null(call.token);
    s_event(&page, "e-2", "AuthorizeSecurityGroupIngress", T0, WC_TEST_HUMAN, false, "web");
    s_event(&page, "e-1", "DescribeSecurityGroups", T0, WC_TEST_HUMAN, true, "sg-1");
    assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
    wc_event_list_clean_up(&page);
    /* a write found: stop (no ARN lookup); e-1 once */
    assert_true(wc_sched_take(s, &r));
    assert_int_equal(r.id, 7);
    assert_int_equal(r.rc, WC_OK);
    assert_int_equal(r.calls, 4);
    assert_int_equal(r.events.len, 2);
    assert_string_equal(r.events.items[0].event_id, "e-1");
    assert_string_equal(r.events.items[1].event_id, "e-2");
    wc_event_list_clean_up(&r.events);
    wc_sched_get_stats(s, &st);
    assert_int_equal(st.calls, 4);
    assert_int_equal(st.throttled, 1);
    assert_int_equal(st.per_resource, 1);
    assert_int_equal(st.scans, 0);
    assert_false(wc_sched_next(s, now + 10000, &call, &wake));
    assert_int_equal(wake, INT64_MAX);
    wc_sched_destroy(s);
}

/* A query stops after 20 pages, as aws/cloudtrail.c. */
static void test_query_page_cap(void **state)
{
    struct wc_sched *s = s_new(SKEW, true);
    struct wc_sched_call call;
    struct wc_sched_result r;
    struct wc_change c;
    int64_t now = 0, wake;
    int calls = 0;

    (void)state;
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-busy", T0);
    assert_int_equal(wc_sched_add(s, 1, &c, now), WC_OK);
    wc_change_clean_up(&c);
    for (;;) {
        struct wc_event_list page = WC_EVENT_LIST_INIT;

        if (!wc_sched_next(s, now, &call, &wake)) {
            if (wake == INT64_MAX)
                break;
            now = wake;
            continue;
        }
        calls++;
        page.next_token = wc_test_strdup("endless");
        assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
        wc_event_list_clean_up(&page);
    }
    assert_int_equal(calls, 20);
    assert_true(wc_sched_take(s, &r));
    assert_int_equal(r.rc, WC_OK);
    assert_int_equal(r.calls, 20);
    wc_event_list_clean_up(&r.events);
    wc_sched_destroy(s);
}

/* ---- remove, exactly once ------------------------------------------------------ */

static void test_remove(void **state)
{
    struct wc_sched *s = s_new(SKEW, false);
    struct wc_sched_call call;
    struct wc_sched_result r;
    struct wc_sched_stats st;
    struct wc_event_list page = WC_EVENT_LIST_INIT;
    struct wc_change c;
    int64_t now = 0, wake;
    int n = 0;

    (void)state;
    /* waiting: gone */
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-a", T0);
    assert_int_equal(wc_sched_add(s, 1, &c, now), WC_OK);
    assert_int_equal(wc_sched_add(s, 1, &c, now), WC_ERR_INVALID); /* id in use */
    wc_sched_remove(s, 1);
    wc_sched_get_stats(s, &st);
    assert_int_equal(st.waiting, 0);
    assert_false(wc_sched_next(s, now, &call, &wake));
    assert_int_equal(wake, INT64_MAX);
    /* under way: the call completes, nothing comes out, the lookup ends */
    assert_int_equal(wc_sched_add(s, 1, &c, now), WC_OK); /* the id is free again */
    assert_true(wc_sched_next(s, now, &call, &wake));
    wc_sched_remove(s, 1);
    assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
    assert_false(wc_sched_take(s, &r));
    assert_false(wc_sched_next(s, now + 5000, &call, &wake));
    /* under way and throttled: ends without another call */
    assert_int_equal(wc_sched_add(s, 2, &c, now), WC_OK);
    now += 1000;
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_int_equal(wc_sched_done(s, call.call_id, WC_ERR_THROTTLED, NULL, now), WC_OK);
    wc_sched_remove(s, 2);
    assert_false(wc_sched_next(s, now + 5000, &call, &wake));
    assert_int_equal(wake, INT64_MAX);
    wc_change_clean_up(&c);
    /* one member of a scan: the others come out */
    for (int i = 0; i < 3; i++) {
        char *rid = wc_test_fmt("sg-%05lu", (unsigned long)i);

        wc_test_make_change(&c, ACCOUNT, REGION, rid, T0);
        assert_int_equal(wc_sched_add(s, 10 + (uint64_t)i, &c, now), WC_OK);
        wc_change_clean_up(&c);
        free(rid);
    }
    now += 10000;
    assert_true(s_next_when_due(s, &now, &call));
    assert_true(call.scan);
    wc_sched_remove(s, 11);
    wc_sched_remove(s, 999); /* unknown: nothing */
    s_answer_scan(s, &call, 3, T0 - 1000, T0, false, now);
    while (wc_sched_take(s, &r)) {
        assert_true(r.id == 10 || r.id == 12);
        wc_event_list_clean_up(&r.events);
        n++;
    }
    assert_int_equal(n, 2);
    wc_sched_destroy(s);
}

/* Random traffic over several account-regions: every change added comes out
 * exactly once (unless removed), whatever the answers. */
static void test_exactly_once(void **state)
{
    enum { N = 400 };
    static const char *regions[] = {"eu-west-1", "us-east-1", "ap-south-1"};
    static const char *accounts[] = {"111111111111", "222222222222", NULL};
    struct wc_sched_options o = {.skew_s = 120, .max_scan_pages = 3};
    struct wc_sched *s = wc_sched_new(&o);
    int *seen = calloc(N, sizeof(*seen));
    bool *removed = calloc(N, sizeof(*removed));
    struct wc_sched_result r;
    struct wc_sched_stats st;
    int64_t now = 0;
    int added = 0, removed_n = 0, taken = 0;

    (void)state;
    assert_non_null(s);
    wc_test_rng_seed(&s_rng, 7);
    for (int step = 0; step < 100000 && (added < N || taken + removed_n < N); step++) {
        struct wc_sched_call call;
        int64_t wake;
        uint32_t dice = s_rand() % 100;

        if (added < N && dice < 30) {
            struct wc_change c;
            char *rid = wc_test_fmt("sg-%05lu", (unsigned long)added);

            wc_test_make_change(&c, accounts[s_rand() % 3], regions[s_rand() % 3], rid,
                                T0 + (int64_t)(s_rand() % 600000));
            if (s_rand() % 4 == 0)
                assert_int_equal(wc_strlist_push(&c.related_event_ids, "rel"), WC_OK);
            assert_int_equal(wc_sched_add(s, (uint64_t)added, &c, now), WC_OK);
            wc_change_clean_up(&c);
            free(rid);
            added++;
            continue;
        }
        if (added > 0 && dice < 33) {
            int victim = (int)(s_rand() % (uint32_t)added);

            if (!removed[victim] && !seen[victim]) {
                wc_sched_remove(s, (uint64_t)victim);
                removed[victim] = true;
                removed_n++;
            }
            continue;
        }
        if (wc_sched_next(s, now, &call, &wake)) {
            struct wc_event_list page = WC_EVENT_LIST_INIT;
            uint32_t a = s_rand() % 100;
            int rc = a < 10 ? WC_ERR_THROTTLED : a < 13 ? WC_ERR_HTTP : WC_OK;

            if (rc == WC_OK) {
                int k = (int)(s_rand() % 5);

                for (int i = 0; i < k; i++) {
                    char *eid = wc_test_fmt("e-%lu", (unsigned long)s_rand());

                    s_event(&page, eid, "X", T0 + (int64_t)(s_rand() % 600000),
                            s_rand() % 2 ? WC_TEST_HUMAN : WC_TEST_SERVICE, s_rand() % 3 == 0,
                            call.query.attribute_value);
                    free(eid);
                }
                if (s_rand() % 3 == 0)
                    page.next_token = wc_test_strdup("n");
            }
            now += s_rand() % 300;
            assert_int_equal(wc_sched_done(s, call.call_id, rc, &page, now), WC_OK);
            wc_event_list_clean_up(&page);
        } else if (wake != INT64_MAX) {
            now = wake;
        } else {
            now += 100;
        }
        while (wc_sched_take(s, &r)) {
            assert_true(r.id < (uint64_t)N);
            assert_false(removed[r.id]);
            seen[r.id]++;
            assert_int_equal(seen[r.id], 1);
            assert_true(r.rc == WC_OK || r.rc == WC_ERR_HTTP);
            taken++;
            wc_event_list_clean_up(&r.events);
        }
    }
    assert_int_equal(added, N);
    assert_int_equal(taken + removed_n, N);
    wc_sched_get_stats(s, &st);
    assert_int_equal(st.waiting, 0);
    assert_true(st.throttled > 0);
    assert_true(st.scans > 0 && st.per_resource > 0);
    if (st.regions > 9)
        fail_msg("%zu regions", st.regions);
    wc_sched_destroy(s);
    free(seen);
    free(removed);
}

/* ---- fairness, bounded regions ------------------------------------------------ */

/* A burst of 300 changes in one account-region never delays a lone change in
 * another: it is called as soon as its own budget allows (its first token:
 * at once). */
static void test_fairness_round_robin(void **state)
{
    struct wc_sched *s = s_new(SKEW, true); /* per-resource: the burst is 300+ calls */
    struct wc_sched_call call;
    struct wc_change c;
    int64_t now = 0, wake;
    int calls = 0, burst_calls = 0, lone_at = -1;

    (void)state;
    for (int i = 0; i < 300; i++) {
        char *rid = wc_test_fmt("sg-%05lu", (unsigned long)i);

        wc_test_make_change(&c, ACCOUNT, REGION, rid, T0);
        assert_int_equal(wc_sched_add(s, (uint64_t)i, &c, now), WC_OK);
        wc_change_clean_up(&c);
        free(rid);
    }
    /* the burst's region has been calling for a while */
    for (int i = 0; i < 5; i++) {
        struct wc_event_list page = WC_EVENT_LIST_INIT;

        while (!wc_sched_next(s, now, &call, &wake))
            now = wake;
        assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
        burst_calls++;
    }
    wc_test_make_change(&c, "999999999999", "us-west-2", "sg-lone", T0);
    assert_int_equal(wc_sched_add(s, 5000, &c, now), WC_OK);
    wc_change_clean_up(&c);
    /* whatever the burst's bucket holds, the next call (at this instant)
     * is the lone change's */
    for (int i = 0; i < 3 && lone_at < 0; i++) {
        struct wc_event_list page = WC_EVENT_LIST_INIT;

        if (!wc_sched_next(s, now, &call, &wake))
            break;
        calls++;
        if (!strcmp(call.query.region, "us-west-2"))
            lone_at = calls;
        assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
    }
    assert_true(lone_at == 1 || lone_at == 2);
    wc_sched_destroy(s);
}

/* Many account-regions with a token each: one call each, in turn, before
 * any gets a second. */
static void test_round_robin_order(void **state)
{
    struct wc_sched *s = s_new(SKEW, true);
    struct wc_sched_call call;
    struct wc_change c;
    int64_t now = 0, wake;
    char seen[8] = {0};

    (void)state;
    for (int reg = 0; reg < 8; reg++) {
        for (int i = 0; i < 20; i++) {
            char *rid = wc_test_fmt("sg-%05lu", (unsigned long)(reg * 100 + i));
            char region[32];

            snprintf(region, sizeof(region), "xx-test-%d", reg);
            wc_test_make_change(&c, ACCOUNT, region, rid, T0);
            assert_int_equal(wc_sched_add(s, (uint64_t)(reg * 100 + i), &c, now), WC_OK);
            wc_change_clean_up(&c);
            free(rid);
        }
    }
    for (int i = 0; i < 8; i++) {
        struct wc_event_list page = WC_EVENT_LIST_INIT;
        int reg;

        assert_true(wc_sched_next(s, now, &call, &wake));
        reg = call.query.region[8] - '0';
        assert_true(reg >= 0 && reg < 8);
        assert_int_equal(seen[reg], 0);
        seen[reg] = 1;
        assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &page, now), WC_OK);
    }
    /* all spent their token */
    assert_false(wc_sched_next(s, now, &call, &wake));
    assert_true(wake > now && wake <= now + 550);
    wc_sched_destroy(s);
}

static void test_bounded_regions(void **state)
{
    struct wc_sched_options o = {.skew_s = 60, .max_regions = 4};
    struct wc_sched *s = wc_sched_new(&o);
    struct wc_sched_stats st;
    struct wc_change c;
    struct fake f;
    int64_t now = 0;
    char region[32];

    (void)state;
    assert_non_null(s);
    s_fake_init(&f);
    for (int reg = 0; reg < 4; reg++) {
        snprintf(region, sizeof(region), "xx-test-%d", reg);
        wc_test_make_change(&c, ACCOUNT, region, "sg-1", T0);
        assert_int_equal(wc_sched_add(s, (uint64_t)reg, &c, now), WC_OK);
        wc_change_clean_up(&c);
    }
    /* four busy regions: a fifth does not fit */
    wc_test_make_change(&c, ACCOUNT, "xx-test-4", "sg-1", T0);
    assert_int_equal(wc_sched_add(s, 4, &c, now), WC_ERR_TOO_LARGE);
    wc_change_clean_up(&c);
    /* all done (idle, xx-test-0 used first): now it does, evicting one */
    s_drive(s, &f, &now);
    for (struct wc_sched_result r; wc_sched_take(s, &r);)
        wc_event_list_clean_up(&r.events);
    for (int reg = 4; reg < 40; reg++) {
        snprintf(region, sizeof(region), "xx-test-%d", reg);
        wc_test_make_change(&c, ACCOUNT, region, "sg-1", T0);
        assert_int_equal(wc_sched_add(s, (uint64_t)reg, &c, now), WC_OK);
        wc_change_clean_up(&c);
        wc_sched_get_stats(s, &st);
        assert_true(st.regions <= 4);
        s_drive(s, &f, &now);
        for (struct wc_sched_result r; wc_sched_take(s, &r);) {
            assert_int_equal(r.id, (uint64_t)reg);
            wc_event_list_clean_up(&r.events);
        }
    }
    wc_sched_get_stats(s, &st);
    assert_int_equal(st.regions, 4);
    wc_sched_destroy(s);
}

static void test_bad_input(void **state)
{
    struct wc_sched_options o = {.skew_s = 0};
    struct wc_sched *s;
    struct wc_change c;

    (void)state;
    assert_null(wc_sched_new(NULL));
    assert_null(wc_sched_new(&o));
    s = s_new(SKEW, false);
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-1", T0);
    free(c.resource_id);
    c.resource_id = NULL;
    assert_int_equal(wc_sched_add(s, 1, &c, 0), WC_ERR_INVALID);
    c.resource_id = wc_test_strdup("sg-1");
    free(c.region);
    free(c.lookup_region);
    c.region = c.lookup_region = NULL;
    assert_int_equal(wc_sched_add(s, 1, &c, 0), WC_ERR_INVALID);
    assert_int_equal(wc_sched_add(s, 1, NULL, 0), WC_ERR_INVALID);
    wc_change_clean_up(&c);
    wc_sched_destroy(s);
    wc_sched_destroy(NULL);
}

/* SIGHUP: the new skew for changes added from then on. */
static void test_set_skew(void **state)
{
    struct wc_sched *s = s_new(60, true);
    struct wc_sched_call call;
    struct wc_change c;
    int64_t wake;

    (void)state;
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-1", T0);
    assert_int_equal(wc_sched_add(s, 1, &c, 0), WC_OK);
    wc_sched_set_skew(s, 300);
    wc_sched_set_skew(s, -1); /* ignored */
    assert_int_equal(wc_sched_add(s, 2, &c, 0), WC_OK);
    assert_true(wc_sched_next(s, 0, &call, &wake));
    assert_int_equal(call.query.start_ms, T0 - 60000);
    assert_int_equal(wc_sched_done(s, call.call_id, WC_OK, &(struct wc_event_list)WC_EVENT_LIST_INIT, 0),
                     WC_OK);
    assert_true(wc_sched_next(s, 5000, &call, &wake));
    assert_int_equal(call.query.start_ms, T0 - 300000);
    assert_int_equal(call.query.end_ms, T0 + 300000);
    wc_change_clean_up(&c);
    wc_sched_destroy(s);
}

/* ---- the adaptive rate ------------------------------------------------------- */

static void test_adaptive_basics(void **state)
{
    struct wc_adaptive_rate a;

    (void)state;
    wc_adaptive_init(&a, 2.0, 1000);
    assert_true(a.rate > 1.81 && a.rate < 1.82); /* 2 / 1.1 */
    assert_int_equal(wc_adaptive_acquire(&a, 1000), 0);
    assert_int_equal(wc_adaptive_wait_ms(&a, 1000), 550);
    assert_int_equal(wc_adaptive_acquire(&a, 1000), 550); /* not taken */
    assert_int_equal(wc_adaptive_acquire(&a, 1549), 1);
    assert_int_equal(wc_adaptive_acquire(&a, 1550), 0);
    /* idle: at most one token saved up */
    assert_int_equal(wc_adaptive_acquire(&a, 60000), 0);
    assert_true(wc_adaptive_wait_ms(&a, 60000) > 0);
    /* default ceiling */
    wc_adaptive_init(&a, 0, 0);
    assert_true(a.ceiling == WC_SCHED_DEFAULT_RATE);
}

/* A throttle tells a lone worker that the budget is shared: down to rung
 * 3 at once, where calls go in slots 1210 ms apart (at 2/s) counted from
 * the wall clock's epoch, one slot in two (its phase), kept across idle
 * spells. After a quiet spell it climbs back. */
static void test_adaptive_shared_slots(void **state)
{
    struct wc_adaptive_rate a, b;
    int64_t t, wait;

    (void)state;
    /* the clock read as now_ms is 7,000,123 ms behind the wall clock */
    wc_adaptive_init_at(&a, 2.0, 5000, 7000123);
    wc_adaptive_on_throttle(&a, 5000);
    assert_int_equal(a.level, 3);
    assert_true(fabs(a.rate - 1000.0 / 2420.0) < 1e-9);
    /* the next call goes at a slot: a multiple of 1210 ms of wall time */
    wait = wc_adaptive_acquire(&a, 5000);
    assert_true(wait > 0 && wait <= 1210);
    t = 5000 + wait;
    assert_int_equal((t + 7000123) % 1210, 0);
    assert_int_equal(wc_adaptive_acquire(&a, t), 0);
    /* its next slot is two slots on */
    assert_int_equal(wc_adaptive_wait_ms(&a, t), 2420);
    /* idle for a while: the call waits for its own phase, not any slot */
    wait = wc_adaptive_wait_ms(&a, t + 2420 * 10 + 700);
    assert_int_equal(wait, 2420 - 700);
    /* a little late for its slot (the loop's wake-up): still that slot */
    assert_int_equal(wc_adaptive_acquire(&a, t + 2420 * 10 + 20), 0);
    assert_int_equal(wc_adaptive_wait_ms(&a, t + 2420 * 10 + 20), 2420 - 20);
    /* another worker, on another host (another clock), sees the same
     * slots: its clock is 3,000,000 ms behind the wall clock */
    wc_adaptive_init_at(&b, 2.0, 4000, 3000000);
    wc_adaptive_on_throttle(&b, 4000);
    wait = wc_adaptive_acquire(&b, 4000);
    assert_int_equal((4000 + wait + 3000000) % 1210, 0);
    /* default ceiling */
    wc_adaptive_init(&b, 0, 0);
    assert_true(b.ceiling == WC_SCHED_DEFAULT_RATE);
}

/* A throttle on rung L >= 2: the slot was taken; the same call goes at the
 * next slot (a new phase). Every phase tried without a success: one rung
 * down. A success ends the run. */
static void test_adaptive_walks_phases(void **state)
{
    struct wc_adaptive_rate a;
    int64_t t = 0, wait;

    (void)state;
    wc_adaptive_init(&a, 2.0, 0);
    wc_adaptive_on_throttle(&a, 100);
    assert_int_equal(a.level, 3);
    t = 1210 * 6; /* its phase: the even slots */
    assert_int_equal(wc_adaptive_acquire(&a, t - 1210), 1210);
    assert_int_equal(wc_adaptive_acquire(&a, t), 0);
    wc_adaptive_on_throttle(&a, t + 80);
    assert_int_equal(a.level, 3);
    /* the next slot, not two on */
    assert_int_equal(wc_adaptive_wait_ms(&a, t + 80), 1210 - 80);
    t += 1210;
    assert_int_equal(wc_adaptive_acquire(&a, t), 0);
    wc_adaptive_on_success(&a, t + 80);
    /* the new phase holds: two slots on */
    assert_int_equal(wc_adaptive_wait_ms(&a, t + 80), 2420 - 80);
    /* both phases taken: rung 4 (three phases) */
    t += 2420;
    assert_int_equal(wc_adaptive_acquire(&a, t), 0);
    wc_adaptive_on_throttle(&a, t + 80);
    t += 1210;
    assert_int_equal(wc_adaptive_acquire(&a, t), 0);
    wc_adaptive_on_throttle(&a, t + 80);
    assert_int_equal(a.level, 4);
    assert_true(fabs(a.rate - 1000.0 / 3630.0) < 1e-9);
    wait = wc_adaptive_wait_ms(&a, t + 80);
    assert_int_equal(wait, 1210 - 80);
}

/* Calls back to back on the slots of a's phase from t on, n of them: the
 * demand its rung cannot serve (a backlog). Returns the last call's
 * instant. */
static int64_t s_busy(struct wc_adaptive_rate *a, int64_t t, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t wait = wc_adaptive_acquire(a, t);

        if (wait > 0) {
            t += wait;
            assert_int_equal(wc_adaptive_acquire(a, t), 0);
        }
        if (i + 1 < n)
            t += 1;
    }
    return t;
}

/* After a quiet spell a worker that needs more climbs back, one rung a
 * time; a step up that draws a throttle before the next one is due is
 * taken back, to the phase the worker held, and the next waits twice as
 * long. A worker whose rung serves its demand does not step up. */
static void test_adaptive_failed_probe(void **state)
{
    struct wc_adaptive_rate a;
    int64_t t, thr, phase, wait;

    (void)state;
    wc_adaptive_init(&a, 2.0, 0);
    wc_adaptive_on_throttle(&a, 1000);
    assert_int_equal(a.level, 3);
    /* one call now and then: its slot serves it, no step up even after
     * the quiet spell (5 minutes) */
    s_busy(&a, 5000, 1);
    s_busy(&a, 65000, 1);
    wc_adaptive_wait_ms(&a, 1000 + 300000 + 5000);
    assert_int_equal(a.level, 3);
    /* a backlog: its calls take slot after slot of its phase (2420 ms
     * apart): the step, due since 301 s, is taken at once */
    t = s_busy(&a, 311000, 3);
    assert_int_equal(a.level, 2);
    assert_int_equal(a.probe_wait_ms, 300000);
    phase = (int64_t)a.probe_phase_ms;
    /* throttled on rung 2 before the next step is due: back to rung 3, on
     * the phase it had, and the next step waits 10 minutes */
    thr = t + 100000;
    wc_adaptive_on_throttle(&a, thr);
    assert_int_equal(a.level, 3);
    assert_int_equal(a.probe_wait_ms, 600000);
    wait = wc_adaptive_wait_ms(&a, thr);
    assert_int_equal((thr + wait - phase) % 2420, 0);
    /* busy again, but the next step is due 10 minutes after the throttle */
    s_busy(&a, thr + 590000, 3);
    assert_int_equal(a.level, 3);
    s_busy(&a, thr + 602000, 3);
    assert_int_equal(a.level, 2);
    /* that step holds until the next is due (20 minutes after the
     * throttle): the wait halves (not below 5 minutes), and the next step
     * (busy) takes it to rung 1, on trial */
    wc_adaptive_wait_ms(&a, thr + 1200000 - 1);
    assert_int_equal(a.probe_wait_ms, 600000);
    s_busy(&a, thr + 1200000 + 100, 3);
    assert_int_equal(a.probe_wait_ms, 300000);
    assert_int_equal(a.level, 1);
    assert_true(a.probed_ms != 0);
    assert_true(a.rate > 1.8);
}

/* Overload: one rung down when every phase has been tried without a
 * success, after throttles that keep coming for 8 s, or at the fifth run
 * of throttles (each ended by a success) within a minute. */
static void test_adaptive_overload_steps_down(void **state)
{
    struct wc_adaptive_rate a;
    int64_t t = 0;
    int n = 0;

    (void)state;
    wc_adaptive_init(&a, 2.0, 0);
    wc_adaptive_on_throttle(&a, 100);
    /* rung 3 has two phases, 4 three, ...: 2 + 3 + 4 + 5 + 6 throttles */
    for (t = 1000; a.level < 8 && n < 100; n++, t += 10)
        wc_adaptive_on_throttle(&a, t);
    assert_int_equal(a.level, 8);
    assert_int_equal(n, 20);
    wc_adaptive_on_success(&a, t);
    /* throttles every 2 s without a success: the fifth is 8 s on */
    t += 100000;
    for (n = 0; a.level == 8 && n < 100; n++)
        wc_adaptive_on_throttle(&a, t + n * 2000);
    assert_int_equal(a.level, 9);
    assert_int_equal(n, 5);
    /* runs of throttles, each ended by a success, 6 s apart: the fifth */
    wc_adaptive_on_success(&a, t + 20000);
    t += 100000;
    for (n = 0; a.level == 9 && n < 100; n++) {
        wc_adaptive_on_throttle(&a, t + n * 6000);
        wc_adaptive_on_success(&a, t + n * 6000 + 1000);
    }
    assert_int_equal(a.level, 10);
    assert_int_equal(n, 5);
    /* the same runs 20 s apart: no */
    t += 200000;
    for (n = 0; n < 10; n++) {
        wc_adaptive_on_throttle(&a, t + n * 20000);
        wc_adaptive_on_success(&a, t + n * 20000 + 1000);
    }
    assert_int_equal(a.level, 10);
}

/* Three independent workers (each a scheduler in the same account-region,
 * ceiling 2/s) against a service that admits 2 calls in any sliding second
 * and throttles the rest, deciding in the order calls arrive; requests
 * reach it 10-110 ms after they leave, answers come back as late. They
 * must settle within 10 s: then <= 1% throttled (mean over seeds; no seed
 * over 2% with a backlog) and more than 1 call/s admitted in all. */

struct sim_client {
    struct wc_sched *s;
    bool in_flight;
    uint64_t call_id;
    int64_t answer_at, arrive_at, next_at;
    bool throttled, decided;
};

/* arrive_per_s 0: every client has a backlog of 400 changes (per-resource
 * lookups); > 0: changes arrive at random (Poisson) at that rate per
 * client, as in the worker (scans, settling), so a client's demand comes
 * and goes and its calls start at any moment. */
static void s_sim_live(int n_clients, int seconds, uint64_t seed, double arrive_per_s,
                       double *throttled_pct, double *admitted_per_s)
{
    struct sim_client cl[8];
    int64_t window[64];
    int n_window = 0;
    long calls = 0, thr = 0, ok = 0;

    assert_true(n_clients <= 8);
    wc_test_rng_seed(&s_rng, seed);
    memset(cl, 0, sizeof(cl));
    for (int i = 0; i < n_clients; i++) {
        if (arrive_per_s > 0) {
            struct wc_sched_options o = {.skew_s = 60, .settle_ms = 500};

            cl[i].s = wc_sched_new(&o);
            assert_non_null(cl[i].s);
            cl[i].next_at = 0;
            continue;
        }
        cl[i].s = s_new(60, true);
        for (int k = 0; k < 400; k++) {
            struct wc_change c;
            char *rid = wc_test_fmt("sg-%05lu", (unsigned long)k);

            wc_test_make_change(&c, ACCOUNT, REGION, rid, T0);
            assert_int_equal(wc_sched_add(cl[i].s, (uint64_t)k, &c, 0), WC_OK);
            wc_change_clean_up(&c);
            free(rid);
        }
        cl[i].next_at = s_rand() % 500;
    }
    for (int64_t t = 0; t < seconds * 1000LL; t++) {
        /* the service's sliding second, in the order calls arrive (those
         * arriving in the same millisecond in a random order) */
        for (int j = 0, first = (int)(s_rand() % (uint64_t)n_clients); j < n_clients; j++) {
            struct sim_client *c = &cl[(first + j) % n_clients];
            int in_window = 0;

            if (!c->in_flight || c->decided || c->arrive_at != t)
                continue;
            for (int k = 0; k < n_window; k++)
                if (t - window[k] < 1000)
                    in_window++;
            c->throttled = in_window >= 2;
            if (!c->throttled) {
                if (n_window == 64) {
                    memmove(window, window + 1, 63 * sizeof(*window));
                    n_window--;
                }
                window[n_window++] = t;
            }
            c->decided = true;
            c->answer_at = t + 10 + s_rand() % 101;
            if (t >= 10000) {
                calls++;
                if (c->throttled)
                    thr++;
                else
                    ok++;
            }
        }
        for (int i = 0; i < n_clients; i++) {
            struct sim_client *c = &cl[i];
            struct wc_sched_call call;
            int64_t wake;

            if (arrive_per_s > 0 &&
                (double)(s_rand() % 1000000) < arrive_per_s * 1000.0) {
                struct wc_change ch;
                char *rid = wc_test_fmt("sg-%08lu", (unsigned long)(t * 8 + i));

                wc_test_make_change(&ch, ACCOUNT, REGION, rid, T0 + t);
                assert_int_equal(wc_sched_add(c->s, (uint64_t)(t * 8 + i), &ch, t), WC_OK);
                wc_change_clean_up(&ch);
                free(rid);
                c->next_at = t; /* look again */
            }

            if (c->in_flight && t == c->answer_at) {
                struct wc_event_list page = WC_EVENT_LIST_INIT;

                assert_int_equal(wc_sched_done(c->s, c->call_id,
                                               c->throttled ? WC_ERR_THROTTLED : WC_OK, &page,
                                               t),
                                 WC_OK);
                c->in_flight = false;
                c->next_at = t;
                for (struct wc_sched_result r; wc_sched_take(c->s, &r);)
                    wc_event_list_clean_up(&r.events);
            }
            if (c->in_flight || t < c->next_at)
                continue;
            if (!wc_sched_next(c->s, t, &call, &wake)) {
                assert_true(arrive_per_s > 0 || wake != INT64_MAX); /* the backlog lasts */
                c->next_at = wake;
                continue;
            }
            /* on its way: the service decides at arrival */
            c->in_flight = true;
            c->decided = false;
            c->call_id = call.call_id;
            c->arrive_at = t + 10 + s_rand() % 101;
            c->answer_at = INT64_MAX;
        }
    }
    for (int i = 0; i < n_clients; i++)
        wc_sched_destroy(cl[i].s);
    *throttled_pct = calls ? 100.0 * (double)thr / (double)calls : 0;
    *admitted_per_s = (double)ok / (seconds - 10);
}

static void s_sim(int n_clients, int seconds, uint64_t seed, double *throttled_pct,
                  double *admitted_per_s)
{
    s_sim_live(n_clients, seconds, seed, 0, throttled_pct, admitted_per_s);
}

static void test_sim_three_workers_converge(void **state)
{
    double sum = 0, worst = 0, min_rate = 1e9;
    int seeds = 10;

    (void)state;
    for (int seed = 1; seed <= seeds; seed++) {
        double pct, rate;

        s_sim(3, 120, (uint64_t)seed, &pct, &rate);
        printf("# 3 workers, seed %d: %.2f%% throttled after 10 s, %.3f calls/s admitted\n",
               seed, pct, rate);
        sum += pct;
        if (pct > worst)
            worst = pct;
        if (rate < min_rate)
            min_rate = rate;
    }
    printf("# 3 workers: mean %.2f%%, worst %.2f%%, min %.3f calls/s\n", sum / seeds, worst,
           min_rate);
    assert_true(sum / seeds <= 1.0);
    assert_true(worst <= 2.0);
    /* on rung 3, four places for three workers: 3 x 1 / 2.42 s */
    assert_true(min_rate >= 1.0);
}

/* Three workers whose changes arrive live (bench scenario D: 2 changes/s
 * over three workers, and busier): the demand of each comes and goes, and
 * a call after an idle spell must not land on another worker's phase.
 * After 10 s: <= 1% throttled (mean over seeds). */
static void test_sim_three_workers_live(void **state)
{
    static const double rates[] = {0.67, 2.0};

    (void)state;
    for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
        double sum = 0, worst = 0;
        int seeds = 10;

        for (int seed = 1; seed <= seeds; seed++) {
            double pct, rate;

            s_sim_live(3, 120, (uint64_t)seed, rates[k], &pct, &rate);
            printf("# 3 live workers, %.2f changes/s each, seed %d: %.2f%% throttled after 10 s, "
                   "%.3f calls/s admitted\n",
                   rates[k], seed, pct, rate);
            sum += pct;
            if (pct > worst)
                worst = pct;
        }
        printf("# 3 live workers, %.2f changes/s each: mean %.2f%%, worst %.2f%%\n", rates[k],
               sum / seeds, worst);
        assert_true(sum / seeds <= 1.0);
    }
}

/* The same over 15 minutes: past the first steps up (after 5 quiet
 * minutes), whose throttles are what remains once workers have settled. */
static void test_sim_three_workers_live_long(void **state)
{
    static const double rates[] = {0.67, 2.0};

    (void)state;
    for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
        double sum = 0, worst = 0, rsum = 0;
        int seeds = 10;

        for (int seed = 1; seed <= seeds; seed++) {
            double pct, rate;

            s_sim_live(3, 900, (uint64_t)seed, rates[k], &pct, &rate);
            sum += pct;
            rsum += rate;
            if (pct > worst)
                worst = pct;
        }
        printf("# 3 live workers over 900 s, %.2f changes/s each: mean %.2f%%, worst %.2f%%, "
               "%.3f calls/s admitted\n",
               rates[k], sum / seeds, worst, rsum / seeds);
        assert_true(sum / seeds <= 1.0);
    }
}

/* Alone, a worker uses its whole budget and is never throttled. */
static void test_sim_lone_worker(void **state)
{
    double pct, rate;

    (void)state;
    s_sim(1, 60, 3, &pct, &rate);
    assert_true(pct == 0);
    assert_true(rate >= 1.75);
    /* two: no throttling once settled; on rung 3 (0.83 calls/s in all)
     * until one steps up after 5 quiet minutes, then on rung 2 (1.65) */
    s_sim(2, 600, 3, &pct, &rate);
    printf("# 2 workers over 600 s: %.2f%% throttled after 10 s, %.3f calls/s admitted\n", pct,
           rate);
    assert_true(pct <= 1.0);
    assert_true(rate >= 1.0);
}

/* A burst still arriving settles: several waiting changes wait for
 * settle_ms after the last one joined (at most 4 x after the first), then one
 * scan covers them all; a lone change goes at once. */
static void test_burst_settles_into_one_scan(void **state)
{
    struct wc_sched_options o = {.skew_s = 180, .settle_ms = 500};
    struct wc_sched *s = wc_sched_new(&o);
    struct wc_sched_call call;
    struct wc_change c[4];
    int64_t now = 1000000, wake;

    (void)state;
    assert_non_null(s);
    for (int i = 0; i < 4; i++) {
        char id[16];

        memset(&c[i], 0, sizeof(c[i]));
        snprintf(id, sizeof(id), "sg-%d", i);
        c[i].account_id = strdup("123456789012");
        c[i].region = strdup(i == 3 ? "us-east-2" : "eu-west-1");
        c[i].resource_type = strdup("AWS::EC2::SecurityGroup");
        c[i].resource_id = strdup(id);
        c[i].capture_time_ms = 1714564800000LL + i * 1000;
    }
    /* a lone change elsewhere: at once */
    assert_int_equal(wc_sched_add(s, 4, &c[3], now), WC_OK);
    assert_true(wc_sched_next(s, now, &call, &wake));
    assert_string_equal(call.query.region, "us-east-2");
    assert_false(call.scan);
    /* three in eu-west-1 arriving over 300 ms: nothing before 500 ms after
     * the last, then one scan for the three */
    assert_int_equal(wc_sched_add(s, 1, &c[0], now), WC_OK);
    assert_int_equal(wc_sched_add(s, 2, &c[1], now + 100), WC_OK);
    assert_int_equal(wc_sched_add(s, 3, &c[2], now + 300), WC_OK);
    assert_false(wc_sched_next(s, now + 700, &call, &wake));
    assert_int_equal(wake, now + 800);
    assert_true(wc_sched_next(s, now + 800, &call, &wake));
    assert_true(call.scan);
    assert_string_equal(call.query.region, "eu-west-1");
    /* a trickle never holds it more than 4 x settle after the first */
    wc_sched_destroy(s);
    s = wc_sched_new(&o);
    for (int i = 0; i < 5; i++) /* one every 400 ms, never settled */
        assert_int_equal(wc_sched_add(s, (uint64_t)i + 1, &c[i % 3], now + i * 400), WC_OK);
    assert_false(wc_sched_next(s, now + 1999, &call, &wake));
    assert_int_equal(wake, now + 2000);
    assert_true(wc_sched_next(s, now + 2000, &call, &wake));
    assert_true(call.scan);
    wc_sched_destroy(s);
    /* calls are not scarce (a raised rate): no waiting */
    o.rate_per_s = 100;
    s = wc_sched_new(&o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(wc_sched_add(s, (uint64_t)i + 1, &c[i], now), WC_OK);
    assert_true(wc_sched_next(s, now, &call, &wake));
    wc_sched_destroy(s);
    for (int i = 0; i < 4; i++)
        wc_change_clean_up(&c[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_settles_into_one_scan),
        cmocka_unit_test(test_invariant_scheduler_equals_one_by_one),
        cmocka_unit_test(test_no_scan_matches_one_by_one),
        cmocka_unit_test(test_cost_choice),
        cmocka_unit_test(test_periodic_window_goes_per_resource),
        cmocka_unit_test(test_scan_narrowed_to_oldest),
        cmocka_unit_test(test_partial_scan_falls_back),
        cmocka_unit_test(test_error_ends_lookup),
        cmocka_unit_test(test_throttle_asks_same_page_again),
        cmocka_unit_test(test_query_page_cap),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_exactly_once),
        cmocka_unit_test(test_fairness_round_robin),
        cmocka_unit_test(test_round_robin_order),
        cmocka_unit_test(test_bounded_regions),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_set_skew),
        cmocka_unit_test(test_adaptive_basics),
        cmocka_unit_test(test_adaptive_shared_slots),
        cmocka_unit_test(test_adaptive_walks_phases),
        cmocka_unit_test(test_adaptive_failed_probe),
        cmocka_unit_test(test_adaptive_overload_steps_down),
        cmocka_unit_test(test_sim_three_workers_converge),
        cmocka_unit_test(test_sim_lone_worker),
        cmocka_unit_test(test_sim_three_workers_live),
        cmocka_unit_test(test_sim_three_workers_live_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
