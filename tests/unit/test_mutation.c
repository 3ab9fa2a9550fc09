/* Robustness: every sample notification and CloudTrail file, truncated at
 * every length class and mutated byte by byte with a fixed seed, must parse
 * or fail cleanly (an error code and a reason) — never crash or leak (this
 * suite also runs under ASan+UBSan). Bounded: a fixed number of cases. */
#include "tests/support/testutil.h"

#include <string.h>

#include "core/change.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/policy.h"

#define MUTATIONS_PER_FILE 300

static const char *const s_notifications[] = {
    "samples/config/sns-wire-configuration-item-change-ec2-instance-update.json",
    "samples/config/sns-wire-configuration-item-change-security-group-create.json",
    "samples/config/sns-doc-configuration-item-change-legacy-ebs-volume.json",
    "samples/config/sns-wire-oversized-configuration-item-change.json",
    "samples/config/eventbridge-doc-config-configuration-item-change-efs.json",
    "samples/config/eventbridge-oversized-config-configuration-item-change.json",
    "samples/config/sns-wire-compliance-change.json",
};

static const char *const s_events[] = {
    "samples/cloudtrail/lookup-events-response.wire.constructed.json",
    "samples/cloudtrail/record-assumedrole-sso-console.constructed.json",
    "samples/cloudtrail/record-doc-aws-service-event-kms-rotate.json",
};

static uint32_t s_rng = 0x2545F491u;

static uint32_t s_next(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 17;
    s_rng ^= s_rng << 5;
    return s_rng;
}

static void s_mutate(char *p, size_t len)
{
    static const char junk[] = "{}[]\":,\\0123456789.eE-+ \x01\xff\xc3tfnul";
    int edits = 1 + (int)(s_next() % 4);

    for (int i = 0; i < edits && len; i++)
        p[s_next() % len] = junk[s_next() % (sizeof(junk) - 1)];
}

static void s_check_notification(struct wc_str s, const struct wc_policy *policy)
{
    struct wc_notification *n = NULL;
    struct wc_finding *f = NULL;
    char err[256] = "";
    int rc = wc_notification_parse(s, &n, err, sizeof(err));

    if (rc != WC_OK) {
        assert_null(n);
        assert_true(rc < 0);
        assert_true(err[0] != '\0');
        return;
    }
    assert_non_null(n);
    /* whatever parsed must also go through the verdict without trouble */
    assert_int_equal(wc_finding_decide(policy, n, NULL, &f), WC_OK);
    wc_finding_destroy(f);
    wc_notification_destroy(n);
}

static void s_check_events(struct wc_str s)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    char err[256] = "";
    int rc = wc_events_parse(s, &l, err, sizeof(err));

    if (rc != WC_OK) {
        assert_true(rc < 0);
        assert_true(err[0] != '\0');
        assert_int_equal(l.len, 0);
    }
    wc_event_list_clean_up(&l);
}

static void s_run(const char *rel, bool notification, const struct wc_policy *policy)
{
    struct wc_buf orig = WC_BUF_INIT;
    char *copy;

    wc_test_read_ref(rel, &orig);
    copy = malloc(orig.len + 1);
    assert_non_null(copy);
    /* truncations */
    for (size_t cut = 0; cut < orig.len; cut += 1 + orig.len / 64) {
        memcpy(copy, orig.ptr, cut);
        if (notification)
            s_check_notification((struct wc_str){copy, cut}, policy);
        else
            s_check_events((struct wc_str){copy, cut});
    }
    /* byte mutations */
    for (int i = 0; i < MUTATIONS_PER_FILE; i++) {
        memcpy(copy, orig.ptr, orig.len);
        s_mutate(copy, orig.len);
        if (notification)
            s_check_notification((struct wc_str){copy, orig.len}, policy);
        else
            s_check_events((struct wc_str){copy, orig.len});
    }
    free(copy);
    wc_buf_clean_up(&orig);
}

static void test_mutated_notifications(void **state)
{
    struct wc_policy policy;

    (void)state;
    assert_int_equal(wc_policy_init_defaults(&policy), WC_OK);
    for (size_t i = 0; i < sizeof(s_notifications) / sizeof(s_notifications[0]); i++)
        s_run(s_notifications[i], true, &policy);
    wc_policy_clean_up(&policy);
}

static void test_mutated_events(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_events) / sizeof(s_events[0]); i++)
        s_run(s_events[i], false, NULL);
}

static void test_originals_parse(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notification *n = NULL;
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    char err[256];

    (void)state;
    /* the mutation tests mean something only if the originals are valid */
    for (size_t i = 0; i < sizeof(s_notifications) / sizeof(s_notifications[0]); i++) {
        wc_test_read_ref(s_notifications[i], &b);
        assert_int_equal(wc_notification_parse(wc_buf_str(&b), &n, err, sizeof(err)), WC_OK);
        wc_notification_destroy(n);
        n = NULL;
        wc_buf_clean_up(&b);
    }
    for (size_t i = 0; i < sizeof(s_events) / sizeof(s_events[0]); i++) {
        wc_test_read_ref(s_events[i], &b);
        assert_int_equal(wc_events_parse(wc_buf_str(&b), &l, err, sizeof(err)), WC_OK);
        wc_buf_clean_up(&b);
    }
    assert_true(l.len >= 7);
    wc_event_list_clean_up(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_originals_parse),
        cmocka_unit_test(test_mutated_notifications),
        cmocka_unit_test(test_mutated_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
