/* trail_scenario.h - the 300-change scenario that test_scheduler.c (the
 * lookup scheduler against an in-memory LookupEvents) and test_evindex.c
 * (the event stream's index against a LookupEvents scan) both run, and the
 * outcome of a change to compare two ways of finding its events.
 *
 * The scenario makes the changes and hands every CloudTrail event it
 * implies to an emit callback, in a fixed order, as a spec: each test turns
 * specs into what it needs (wc_event structs for a fake trail, CloudTrail
 * records and stream bodies for the index). */
#ifndef WC_TESTS_TRAIL_SCENARIO_H
#define WC_TESTS_TRAIL_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/policy.h"

#define WC_TEST_ACCOUNT "111122223333"
#define WC_TEST_OTHER_ACCOUNT "444455556666"
#define WC_TEST_REGION "eu-west-1"
#define WC_TEST_OTHER_REGION "us-east-1"
#define WC_TEST_T0 1714564800000LL /* 2024-05-01T12:00:00Z */
#define WC_TEST_SKEW 180
#define WC_TEST_TRUSTED_ROLE "arn:aws:iam::" WC_TEST_ACCOUNT ":role/terraform-deployer"
#define WC_TEST_N_CHANGES 300

/* xorshift64: the same sequence for a seed on every platform. */
struct wc_test_rng {
    uint64_t state;
};

void wc_test_rng_seed(struct wc_test_rng *r, uint64_t seed);
uint32_t wc_test_rand(struct wc_test_rng *r);

/* A copy of s (fails the test when out of memory). */
char *wc_test_strdup(const char *s);
/* fmt with one unsigned long, as a new string (at most 159 characters). */
char *wc_test_fmt(const char *fmt, unsigned long v);
/* A security-group UPDATE change; account NULL: none. Every field its own. */
void wc_test_make_change(struct wc_change *c, const char *account, const char *region,
                         const char *id, int64_t capture_ms);

enum wc_test_who { WC_TEST_HUMAN, WC_TEST_AUTOMATION, WC_TEST_SERVICE };

/* How a record names its security group, and what LookupEvents lists. */
enum wc_test_naming {
    WC_TEST_BY_ID,    /* requestParameters.groupId */
    WC_TEST_BY_NAME,  /* requestParameters.groupName (default VPC, EC2-Classic style) */
    WC_TEST_BY_ARN,   /* the record's resources[] */
    WC_TEST_BY_NONE,  /* nothing LookupEvents indexes: only relatedEvents finds it */
    WC_TEST_BY_OTHER, /* ModifyInstanceAttribute: the instance and a group in groupSet */
};

/* One CloudTrail event. LookupEvents lists `named` as its resource name
 * unless naming is WC_TEST_BY_NONE. */
struct wc_test_event_spec {
    const char *event_id;
    const char *name;
    int64_t time_ms;
    enum wc_test_who who;
    bool read_only;
    const char *error;
    enum wc_test_naming naming;
    const char *named;   /* the id, name or ARN (BY_OTHER: the group id) */
    const char *account; /* the trail's */
    const char *region;
};

typedef void wc_test_emit_fn(void *ctx, const struct wc_test_event_spec *ev);

struct wc_test_scenario {
    struct wc_change changes[WC_TEST_N_CHANGES];
    struct wc_policy policy; /* default, skew WC_TEST_SKEW, WC_TEST_TRUSTED_ROLE trusted */
    struct wc_test_rng rng;  /* seeded 42; goes on where the scenario left it */
};

/* 300 changes on distinct security groups over 2 minutes: 20% by a human,
 * 60% by trusted automation, 20% by an AWS service; some without any
 * event, some named by ARN or by name only, some only found through
 * relatedEvents, failed writes, read-only calls on the resources, events on
 * the whole second just outside a window; 600 unrelated writes and 300
 * read-only calls in the same 2 minutes; and copies of every fifth change's
 * event in WC_TEST_OTHER_ACCOUNT and in WC_TEST_OTHER_REGION (the same
 * resources: they must never match; a trail of WC_TEST_ACCOUNT and
 * WC_TEST_REGION only leaves them out). Every event goes to emit(ctx, ...)
 * as it is made; the spec's strings live only for that call. */
void wc_test_scenario_init(struct wc_test_scenario *sc, wc_test_emit_fn *emit, void *ctx);
void wc_test_scenario_clean_up(struct wc_test_scenario *sc);

/* What a finding makes of a change and the events found for it. */
struct wc_test_outcome {
    enum wc_verdict verdict;
    char ids[512];    /* matched event ids, in the finding's order */
    char writes[512]; /* write events found, sorted */
};

void wc_test_outcome(const struct wc_policy *p, const struct wc_change *c,
                     const struct wc_event_list *events, struct wc_test_outcome *out);
/* Fails the test, naming change i of sc and both sides, unless a (found
 * by what_a) and b (by what_b) have the same verdict, matches and writes. */
void wc_test_assert_same_outcome(const struct wc_test_scenario *sc, size_t i,
                                 const char *what_a, const struct wc_test_outcome *a,
                                 const char *what_b, const struct wc_test_outcome *b);

#endif
