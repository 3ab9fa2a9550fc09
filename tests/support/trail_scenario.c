#include "tests/support/trail_scenario.h"
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

void wc_test_rng_seed(struct wc_test_rng *r, uint64_t seed)
{
    r->state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    if (!r->state)
        r->state = 1;
}

uint32_t wc_test_rand(struct wc_test_rng *r)
{
    r->state ^= r->state << 13;
    r->state ^= r->state >> 7;
    r->state ^= r->state << 17;
    return (uint32_t)(r->state >> 11);
}

char *wc_test_strdup(const char *s)
{
    char *p = wc_strdup(s);

    assert_non_null(p);
    return p;
}

char *wc_test_fmt(const char *fmt, unsigned long v)
{
    char buf[160];

    snprintf(buf, sizeof(buf), fmt, v);
    return wc_test_strdup(buf);
}

void wc_test_make_change(struct wc_change *c, const char *account, const char *region,
                         const char *id, int64_t capture_ms)
{
    memset(c, 0, sizeof(*c));
    c->account_id = account ? wc_test_strdup(account) : NULL;
    c->region = wc_test_strdup(region);
    c->lookup_region = wc_test_strdup(region);
    c->resource_type = wc_test_strdup("AWS::EC2::SecurityGroup");
    c->resource_id = wc_test_strdup(id);
    c->capture_time_ms = capture_ms;
    c->status = wc_test_strdup("OK");
    c->change_type = wc_test_strdup("UPDATE");
}

/* emit, with event_id made from fmt and i (freed after the call). */
static void s_emit_id(wc_test_emit_fn *emit, void *ctx, struct wc_test_event_spec *r,
                      const char *fmt, unsigned long i)
{
    char *eid = wc_test_fmt(fmt, i);

    r->event_id = eid;
    emit(ctx, r);
    r->event_id = NULL;
    free(eid);
}

/* Change i and its events. */
static void s_change(struct wc_test_scenario *sc, unsigned long i, wc_test_emit_fn *emit,
                     void *ctx)
{
    struct wc_change *c = &sc->changes[i];
    char *id = wc_test_fmt("sg-%017lx", 0xa000 + i), *eid;
    int64_t capture = WC_TEST_T0 + (int64_t)i * 400 + wc_test_rand(&sc->rng) % 400;
    int64_t when = (capture - 1000 - (int64_t)(wc_test_rand(&sc->rng) % 60000)) / 1000 * 1000;
    enum wc_test_who who = i % 10 < 2   ? WC_TEST_HUMAN
                           : i % 10 < 8 ? WC_TEST_AUTOMATION
                                        : WC_TEST_SERVICE;
    struct wc_test_event_spec r = {.account = WC_TEST_ACCOUNT, .region = WC_TEST_REGION,
                                   .naming = WC_TEST_BY_ID};

    wc_test_make_change(c, WC_TEST_ACCOUNT, WC_TEST_REGION, id, capture);
    c->arn = wc_test_fmt("arn:aws:ec2:" WC_TEST_REGION ":" WC_TEST_ACCOUNT
                         ":security-group/sg-%017lx",
                         0xa000 + i);
    r.named = id;
    if (i % 7 == 0) {
        c->resource_name = wc_test_fmt("web-%lu", i);
        r.named = c->resource_name;
        r.naming = WC_TEST_BY_NAME;
    } else if (i % 11 == 3) {
        r.named = c->arn;
        r.naming = WC_TEST_BY_ARN;
    }
    if (i % 13 == 0) /* no event at all */
        goto out;
    r.name = "AuthorizeSecurityGroupIngress";
    if (i % 17 == 5) { /* a failed attempt first */
        r.time_ms = when - 2000;
        r.who = WC_TEST_HUMAN;
        r.error = "Client.UnauthorizedOperation";
        s_emit_id(emit, ctx, &r, "ev-fail-%04lu", i);
        r.error = NULL;
    }
    eid = wc_test_fmt("ev-%04lu", i);
    r.event_id = eid;
    r.time_ms = when;
    r.who = who;
    if (i % 18 == 4) /* relatedEvents: sometimes the only way to the event */
        r.naming = WC_TEST_BY_NONE;
    if (i % 9 == 4)
        assert_int_equal(wc_strlist_push(&c->related_event_ids, eid), WC_OK);
    emit(ctx, &r);
    if (i % 5 == 0) {
        /* the same call in another account (even the same event id, as a
         * cross-account call is delivered to both) and region */
        r.account = WC_TEST_OTHER_ACCOUNT;
        emit(ctx, &r);
        r.account = WC_TEST_ACCOUNT;
        r.region = WC_TEST_OTHER_REGION;
        s_emit_id(emit, ctx, &r, "ev-us-%04lu", i);
        r.region = WC_TEST_REGION;
    }
    free(eid);
    if (i % 19 == 6) { /* a Describe naming it: read-only, never a match */
        r = (struct wc_test_event_spec){NULL, "DescribeSecurityGroups", capture / 1000 * 1000,
                                        WC_TEST_HUMAN, true, NULL, WC_TEST_BY_ID, id,
                                        WC_TEST_ACCOUNT, WC_TEST_REGION};
        s_emit_id(emit, ctx, &r, "ev-ro-%04lu", i);
    }
    if (i % 23 == 8) {
        /* on the whole second that holds capture - skew: in the request's
         * window, outside the correlation window by under a second */
        r = (struct wc_test_event_spec){NULL, "RevokeSecurityGroupIngress",
                                        (capture - WC_TEST_SKEW * 1000LL) / 1000 * 1000,
                                        WC_TEST_HUMAN, false, NULL, WC_TEST_BY_ID, id,
                                        WC_TEST_ACCOUNT, WC_TEST_REGION};
        s_emit_id(emit, ctx, &r, "ev-edge-%04lu", i);
        r.time_ms -= 1000;
        s_emit_id(emit, ctx, &r, "ev-out-%04lu", i);
    }
out:
    free(id);
}

void wc_test_scenario_init(struct wc_test_scenario *sc, wc_test_emit_fn *emit, void *ctx)
{
    unsigned long n_ro = 0;

    memset(sc, 0, sizeof(*sc));
    wc_test_rng_seed(&sc->rng, 42);
    assert_int_equal(wc_policy_init_defaults(&sc->policy), WC_OK);
    sc->policy.skew_s = WC_TEST_SKEW;
    assert_int_equal(wc_strlist_push(&sc->policy.trusted, WC_TEST_TRUSTED_ROLE), WC_OK);

    for (unsigned long i = 0; i < WC_TEST_N_CHANGES; i++) {
        s_change(sc, i, emit, ctx);
        n_ro += i % 13 != 0 && i % 19 == 6;
    }
    for (unsigned long i = 0; i < 600; i++) {
        char *res = wc_test_fmt("sg-%017lx", 0xf0000 + i);
        int64_t t = WC_TEST_T0 + (int64_t)(wc_test_rand(&sc->rng) % 120) * 1000;
        enum wc_test_who who = (enum wc_test_who)(wc_test_rand(&sc->rng) % 3);
        struct wc_test_event_spec r = {NULL, "ModifyInstanceAttribute", t, who, false, NULL,
                                       WC_TEST_BY_OTHER, res, WC_TEST_ACCOUNT, WC_TEST_REGION};

        s_emit_id(emit, ctx, &r, "ev-other-%04lu", i);
        free(res);
    }
    for (unsigned long i = n_ro; i < 300; i++) {
        int64_t t = WC_TEST_T0 + (int64_t)(wc_test_rand(&sc->rng) % 120) * 1000;
        enum wc_test_who who = (enum wc_test_who)(wc_test_rand(&sc->rng) % 3);
        const char *target = sc->changes[wc_test_rand(&sc->rng) % WC_TEST_N_CHANGES].resource_id;
        struct wc_test_event_spec r = {NULL, "DescribeInstances", t, who, true, NULL,
                                       WC_TEST_BY_ID, target, WC_TEST_ACCOUNT, WC_TEST_REGION};

        s_emit_id(emit, ctx, &r, "ev-read-%04lu", i);
    }
}

void wc_test_scenario_clean_up(struct wc_test_scenario *sc)
{
    for (size_t i = 0; i < WC_TEST_N_CHANGES; i++)
        wc_change_clean_up(&sc->changes[i]);
    wc_policy_clean_up(&sc->policy);
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void wc_test_outcome(const struct wc_policy *p, const struct wc_change *c,
                     const struct wc_event_list *events, struct wc_test_outcome *out)
{
    struct wc_notification note = {.kind = WC_NOTE_CHANGE, .envelope = WC_ENV_SNS};
    struct wc_finding *f = NULL;
    const char *w[64];
    size_t nw = 0;

    memset(out, 0, sizeof(*out));
    note.change = *c; /* borrowed: wc_finding_decide copies it */
    assert_int_equal(wc_finding_decide(p, &note, events, &f), WC_OK);
    out->verdict = f->verdict;
    for (size_t i = 0; i < f->n_matches; i++) {
        strncat(out->ids, f->matches[i].event.event_id, sizeof(out->ids) - strlen(out->ids) - 2);
        strcat(out->ids, ",");
    }
    wc_finding_destroy(f);
    for (size_t i = 0; i < events->len && nw < 64; i++)
        if (!events->items[i].read_only)
            w[nw++] = events->items[i].event_id;
    qsort(w, nw, sizeof(*w), s_cmp_str);
    for (size_t i = 0; i < nw; i++) {
        strncat(out->writes, w[i], sizeof(out->writes) - strlen(out->writes) - 2);
        strcat(out->writes, ",");
    }
}

void wc_test_assert_same_outcome(const struct wc_test_scenario *sc, size_t i,
                                 const char *what_a, const struct wc_test_outcome *a,
                                 const char *what_b, const struct wc_test_outcome *b)
{
    if (a->verdict != b->verdict || strcmp(a->ids, b->ids) || strcmp(a->writes, b->writes))
        fail_msg("change %zu (%s): %s %s [%s] writes [%s], %s %s [%s] writes [%s]", i,
                 sc->changes[i].resource_id, what_a, wc_verdict_name(a->verdict), a->ids,
                 a->writes, what_b, wc_verdict_name(b->verdict), b->ids, b->writes);
}
