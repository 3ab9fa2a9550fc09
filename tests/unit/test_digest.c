/* Unit tests for core/digest: grouping human findings by actor session. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "core/digest.h"
#include "core/err.h"
#include "core/finding.h"
#include "tests/support/notif_fakes.h"

#define WINDOW_MS 30000

/* A human finding by an SSO session (session name sess) with access key id
 * akid (NULL: none), about resource id. */
static struct wc_finding *s_human(const char *sess, const char *akid, const char *id)
{
    struct notif_spec sp = {0};

    sp.session_name = sess;
    sp.access_key_id = akid;
    sp.resource_id = id;
    return notif_finding_new(&sp);
}

static struct wc_digest *s_new(size_t max)
{
    struct wc_digest_options o = {0};
    struct wc_digest *d;

    o.window_ms = WINDOW_MS;
    o.max_findings = max;
    d = wc_digest_new(&o);
    assert_non_null(d);
    return d;
}

static void s_key_eq(const struct wc_finding *a, const struct wc_finding *b, bool want_equal)
{
    struct wc_buf ka = WC_BUF_INIT, kb = WC_BUF_INIT;

    assert_int_equal(wc_digest_key(a, &ka), WC_OK);
    assert_int_equal(wc_digest_key(b, &kb), WC_OK);
    assert_true(ka.len > 0);
    assert_int_equal(strcmp(ka.ptr, kb.ptr) == 0, want_equal);
    wc_buf_clean_up(&ka);
    wc_buf_clean_up(&kb);
}

/* Take the next due group; check its size and resource ids in order. */
static void s_take(struct wc_digest *d, int64_t now, bool flush, const char *const *ids,
                   const uint64_t *tokens, size_t n)
{
    struct wc_digest_group g = WC_DIGEST_GROUP_INIT;

    assert_true(wc_digest_take_due(d, now, flush, &g));
    assert_int_equal(g.n, n);
    assert_non_null(g.key);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(g.findings[i]->change.resource_id, ids[i]);
        assert_int_equal(g.tokens[i], tokens[i]);
    }
    wc_digest_group_clean_up(&g);
    assert_null(g.findings);
    assert_null(g.key);
}

static void test_new_rejects(void **state)
{
    struct wc_digest_options o = {0};

    (void)state;
    assert_null(wc_digest_new(NULL));
    assert_null(wc_digest_new(&o));
    o.window_ms = -5;
    assert_null(wc_digest_new(&o));
    wc_digest_destroy(NULL);
    assert_int_equal(wc_digest_next_due_ms(NULL), INT64_MAX);
    assert_int_equal(wc_digest_open_findings(NULL), 0);
}

static void test_key(void **state)
{
    struct wc_finding *a1 = s_human("alice", "ASIAALICE1", "sg-1");
    struct wc_finding *a1b = s_human("alice", "ASIAALICE1", "sg-2");
    struct wc_finding *a2 = s_human("alice", "ASIAALICE2", "sg-3");
    struct wc_finding *b1 = s_human("bob", "ASIAALICE1", "sg-4");
    struct wc_finding *nokey1 = s_human("alice", NULL, "sg-5");
    struct wc_finding *nokey2 = s_human("alice", NULL, "sg-6");
    struct notif_spec sp = {0};
    struct wc_finding *bot, *unattr, *user1, *user2;
    struct wc_buf k = WC_BUF_INIT;

    (void)state;
    s_key_eq(a1, a1b, true);    /* same person, same sign-in */
    s_key_eq(a1, a2, false);    /* same person, another sign-in */
    s_key_eq(a1, b1, false);    /* another person (even with the same key id) */
    s_key_eq(nokey1, nokey2, true); /* no key id: the session name */
    s_key_eq(nokey1, a1, false);
    assert_int_equal(wc_digest_key(a1, &k), WC_OK);
    assert_non_null(strstr(k.ptr, "ASIAALICE1"));
    assert_non_null(strstr(k.ptr, "assumed-role/AWSReservedSSO_Admin_0123/alice"));
    wc_buf_clean_up(&k);

    /* no ARN: account and user name */
    sp.iam_user = true;
    user1 = notif_finding_new(&sp);
    user2 = notif_finding_new(&sp);
    free(user1->matches[0].event.identity.arn);
    user1->matches[0].event.identity.arn = NULL;
    free(user2->matches[0].event.identity.arn);
    user2->matches[0].event.identity.arn = NULL;
    s_key_eq(user1, user2, true);
    free(user2->matches[0].event.identity.user_name);
    user2->matches[0].event.identity.user_name = wc_strdup("Mallory");
    s_key_eq(user1, user2, false);
    free(user2->matches[0].event.identity.account_id);
    user2->matches[0].event.identity.account_id = wc_strdup("210987654321");
    free(user1->matches[0].event.identity.account_id);
    user1->matches[0].event.identity.account_id = wc_strdup("210987654321");
    s_key_eq(user1, user2, false);
    free(user1->matches[0].event.identity.user_name);
    user1->matches[0].event.identity.user_name = wc_strdup("Mallory");
    s_key_eq(user1, user2, true);

    /* not a human finding, or one without a match: no key */
    memset(&sp, 0, sizeof(sp));
    sp.verdict = WC_VERDICT_AUTOMATION;
    bot = notif_finding_new(&sp);
    memset(&sp, 0, sizeof(sp));
    sp.no_event = true;
    unattr = notif_finding_new(&sp);
    unattr->verdict = WC_VERDICT_HUMAN;
    assert_int_equal(wc_digest_key(bot, &k), WC_ERR_INVALID);
    assert_int_equal(wc_digest_key(unattr, &k), WC_ERR_INVALID);
    assert_int_equal(wc_digest_key(NULL, &k), WC_ERR_INVALID);
    assert_int_equal(k.len, 0);

    wc_finding_destroy(a1);
    wc_finding_destroy(a1b);
    wc_finding_destroy(a2);
    wc_finding_destroy(b1);
    wc_finding_destroy(nokey1);
    wc_finding_destroy(nokey2);
    wc_finding_destroy(user1);
    wc_finding_destroy(user2);
    wc_finding_destroy(bot);
    wc_finding_destroy(unattr);
}

/* Same actor, two sign-ins -> two groups; two actors -> two groups; order
 * kept inside each and groups come out oldest first with their tokens. */
static void test_groups_by_session_and_actor(void **state)
{
    struct wc_finding *f[6];
    struct wc_digest *d = s_new(0);
    struct wc_digest_group g = WC_DIGEST_GROUP_INIT;

    (void)state;
    f[0] = s_human("alice", "ASIAALICE1", "sg-a1");
    f[1] = s_human("alice", "ASIAALICE2", "sg-a2"); /* alice signed in again */
    f[2] = s_human("bob", "ASIABOB1", "sg-b1");
    f[3] = s_human("alice", "ASIAALICE1", "sg-a3");
    f[4] = s_human("bob", "ASIABOB1", "sg-b2");
    f[5] = s_human("alice", "ASIAALICE1", "sg-a4");
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(wc_digest_add(d, f[i], 100 + i, 1000 + (int64_t)i), WC_OK);
    assert_int_equal(wc_digest_open_findings(d), 6);
    assert_int_equal(wc_digest_next_due_ms(d), 1000 + WINDOW_MS);
    /* nothing due before the first window ends */
    assert_false(wc_digest_take_due(d, 1000 + WINDOW_MS - 1, false, &g));
    {
        static const char *const ids[] = {"sg-a1", "sg-a3", "sg-a4"};
        static const uint64_t tok[] = {100, 103, 105};

        s_take(d, 1000 + WINDOW_MS, false, ids, tok, 3);
    }
    /* alice's second session opened 1 ms later */
    assert_int_equal(wc_digest_next_due_ms(d), 1001 + WINDOW_MS);
    assert_false(wc_digest_take_due(d, 1000 + WINDOW_MS, false, &g));
    {
        static const char *const ids[] = {"sg-a2"};
        static const uint64_t tok[] = {101};

        s_take(d, 1001 + WINDOW_MS, false, ids, tok, 1);
    }
    {
        static const char *const ids[] = {"sg-b1", "sg-b2"};
        static const uint64_t tok[] = {102, 104};

        s_take(d, 5000 + WINDOW_MS, false, ids, tok, 2);
    }
    assert_false(wc_digest_take_due(d, INT64_MAX, true, &g));
    assert_int_equal(wc_digest_open_findings(d), 0);
    assert_int_equal(wc_digest_next_due_ms(d), INT64_MAX);
    wc_digest_destroy(d);
    for (size_t i = 0; i < 6; i++)
        wc_finding_destroy(f[i]);
}

/* A group closes at the end of its window: the same session after it opens
 * a new group, even before the old one was taken. */
static void test_window_expiry(void **state)
{
    struct wc_finding *f[3];
    struct wc_digest *d = s_new(0);

    (void)state;
    f[0] = s_human("alice", "ASIAALICE1", "sg-1");
    f[1] = s_human("alice", "ASIAALICE1", "sg-2");
    f[2] = s_human("alice", "ASIAALICE1", "sg-3");
    assert_int_equal(wc_digest_add(d, f[0], 1, 0), WC_OK);
    assert_int_equal(wc_digest_add(d, f[1], 2, WINDOW_MS - 1), WC_OK); /* still open */
    assert_int_equal(wc_digest_add(d, f[2], 3, WINDOW_MS), WC_OK);     /* closed: new */
    assert_int_equal(wc_digest_open_findings(d), 3);
    assert_int_equal(wc_digest_next_due_ms(d), WINDOW_MS);
    {
        static const char *const ids[] = {"sg-1", "sg-2"};
        static const uint64_t tok[] = {1, 2};

        s_take(d, WINDOW_MS, false, ids, tok, 2);
    }
    assert_int_equal(wc_digest_next_due_ms(d), 2 * WINDOW_MS);
    {
        static const char *const ids[] = {"sg-3"};
        static const uint64_t tok[] = {3};

        s_take(d, 2 * WINDOW_MS, false, ids, tok, 1);
    }
    wc_digest_destroy(d);
    for (size_t i = 0; i < 3; i++)
        wc_finding_destroy(f[i]);
}

/* A full group is due at once, ahead of older groups still in their window,
 * and the actor's next finding opens another group. */
static void test_full_group_closes(void **state)
{
    struct wc_finding *bob = s_human("bob", "ASIABOB1", "sg-bob");
    struct wc_finding *f[5];
    struct wc_digest *d = s_new(3);
    struct wc_digest_group g = WC_DIGEST_GROUP_INIT;
    char id[32];

    (void)state;
    assert_int_equal(wc_digest_add(d, bob, 99, 0), WC_OK);
    for (size_t i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "sg-%zu", i);
        f[i] = s_human("alice", "ASIAALICE1", id);
    }
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(wc_digest_add(d, f[i], i, 10), WC_OK);
    assert_int_equal(wc_digest_next_due_ms(d), 10);
    {
        static const char *const ids[] = {"sg-0", "sg-1", "sg-2"};
        static const uint64_t tok[] = {0, 1, 2};

        s_take(d, 10, false, ids, tok, 3);
    }
    assert_false(wc_digest_take_due(d, 10, false, &g));
    assert_int_equal(wc_digest_add(d, f[3], 3, 20), WC_OK);
    assert_int_equal(wc_digest_add(d, f[4], 4, 21), WC_OK);
    assert_int_equal(wc_digest_open_findings(d), 3);
    assert_int_equal(wc_digest_next_due_ms(d), WINDOW_MS); /* bob's */
    {
        static const char *const ids[] = {"sg-bob"};
        static const uint64_t tok[] = {99};

        s_take(d, WINDOW_MS, false, ids, tok, 1);
    }
    {
        static const char *const ids[] = {"sg-3", "sg-4"};
        static const uint64_t tok[] = {3, 4};

        s_take(d, 20 + WINDOW_MS, false, ids, tok, 2);
    }
    wc_digest_destroy(d);
    wc_finding_destroy(bob);
    for (size_t i = 0; i < 5; i++)
        wc_finding_destroy(f[i]);
}

/* Full groups close before the window ends even with many in flight: 250
 * findings by one session with the default cap make two groups. */
static void test_default_cap(void **state)
{
    struct wc_finding *f = s_human("alice", "ASIAALICE1", "sg-1");
    struct wc_digest *d = s_new(0);
    struct wc_digest_group g = WC_DIGEST_GROUP_INIT;

    (void)state;
    for (uint64_t i = 0; i < 250; i++)
        assert_int_equal(wc_digest_add(d, f, i, 5), WC_OK);
    assert_true(wc_digest_take_due(d, 5, false, &g));
    assert_int_equal(g.n, WC_DIGEST_DEFAULT_MAX_FINDINGS);
    for (size_t i = 0; i < g.n; i++)
        assert_int_equal(g.tokens[i], i);
    wc_digest_group_clean_up(&g);
    assert_false(wc_digest_take_due(d, 5, false, &g));
    assert_int_equal(wc_digest_open_findings(d), 50);
    assert_true(wc_digest_take_due(d, 5, true, &g));
    assert_int_equal(g.n, 50);
    assert_int_equal(g.tokens[0], WC_DIGEST_DEFAULT_MAX_FINDINGS);
    wc_digest_group_clean_up(&g);
    wc_digest_destroy(d);
    wc_finding_destroy(f);
}

/* flush hands out every group, oldest first, whatever the time. */
static void test_flush(void **state)
{
    struct wc_finding *f[40];
    struct wc_digest *d = s_new(0);
    struct wc_digest_group g = WC_DIGEST_GROUP_INIT;
    char sess[32], akid[32];

    (void)state;
    /* 40 actors: enough to make the index grow */
    for (size_t i = 0; i < 40; i++) {
        snprintf(sess, sizeof(sess), "user%zu", i);
        snprintf(akid, sizeof(akid), "ASIAUSER%zu", i);
        f[i] = s_human(sess, akid, sess);
        assert_int_equal(wc_digest_add(d, f[i], i, 100 + (int64_t)i), WC_OK);
    }
    /* and a second finding for each, the other way round */
    for (size_t i = 40; i-- > 0;)
        assert_int_equal(wc_digest_add(d, f[i], 1000 + i, 200), WC_OK);
    assert_int_equal(wc_digest_open_findings(d), 80);
    assert_false(wc_digest_take_due(d, 200, false, &g));
    for (size_t i = 0; i < 40; i++) {
        assert_true(wc_digest_take_due(d, 200, true, &g));
        assert_int_equal(g.n, 2);
        assert_ptr_equal(g.findings[0], f[i]);
        assert_ptr_equal(g.findings[1], f[i]);
        assert_int_equal(g.tokens[0], i);
        assert_int_equal(g.tokens[1], 1000 + i);
        wc_digest_group_clean_up(&g);
    }
    assert_false(wc_digest_take_due(d, 200, true, &g));
    assert_int_equal(wc_digest_open_findings(d), 0);
    wc_digest_destroy(d);
    for (size_t i = 0; i < 40; i++)
        wc_finding_destroy(f[i]);
}

/* A finding without a key is refused and leaves the digest as it was;
 * destroy frees groups never taken. */
static void test_add_rejects_and_destroy(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *bot, *a = s_human("alice", "ASIAALICE1", "sg-1");
    struct wc_digest *d = s_new(0);
    struct wc_digest_group g = WC_DIGEST_GROUP_INIT;

    (void)state;
    sp.verdict = WC_VERDICT_AWS_SERVICE;
    bot = notif_finding_new(&sp);
    assert_int_equal(wc_digest_add(d, bot, 1, 0), WC_ERR_INVALID);
    assert_int_equal(wc_digest_add(d, NULL, 1, 0), WC_ERR_INVALID);
    assert_int_equal(wc_digest_add(NULL, a, 1, 0), WC_ERR_INVALID);
    assert_int_equal(wc_digest_open_findings(d), 0);
    assert_int_equal(wc_digest_next_due_ms(d), INT64_MAX);
    assert_false(wc_digest_take_due(d, 0, true, &g));
    assert_false(wc_digest_take_due(NULL, 0, true, &g));
    assert_int_equal(wc_digest_add(d, a, 2, INT64_MAX - 5), WC_OK); /* no overflow */
    assert_int_equal(wc_digest_next_due_ms(d), INT64_MAX);
    assert_int_equal(wc_digest_add(d, a, 3, 0), WC_OK);
    wc_digest_group_clean_up(NULL);
    wc_digest_destroy(d); /* a group never taken: freed */
    wc_finding_destroy(a);
    wc_finding_destroy(bot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_groups_by_session_and_actor),
        cmocka_unit_test(test_window_expiry),
        cmocka_unit_test(test_full_group_closes),
        cmocka_unit_test(test_default_cap),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_add_rejects_and_destroy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
