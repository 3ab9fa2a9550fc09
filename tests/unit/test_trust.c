/* Unit tests for core/trust: the allowlists that keep a forged queue
 * message from choosing the account, topic or bucket (review finding 2). */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/change.h"
#include "core/err.h"
#include "core/policy.h"
#include "core/trust.h"

#define NOW_MS 1714564800000LL /* 2024-05-01T12:00:00Z */
#define TOPIC "arn:aws:sns:eu-west-1:111111111111:config-topic"

#define S_ITEM \
    "{\"configurationItemCaptureTime\":\"2024-05-01T11:59:00Z\"," \
    "\"awsAccountId\":\"%s\",\"configurationItemStatus\":\"OK\"," \
    "\"resourceType\":\"AWS::EC2::SecurityGroup\",\"resourceId\":\"sg-1\"," \
    "\"awsRegion\":\"eu-west-1\"}"

/* A change of account, raw (topic NULL) or in an SNS envelope from topic. */
static struct wc_notification *s_change(const char *account, const char *topic)
{
    char item[512], config[1024], body[4096];
    struct wc_notification *n = NULL;
    char err[256];

    snprintf(item, sizeof(item), S_ITEM, account);
    snprintf(config, sizeof(config),
             "{\"configurationItemDiff\":null,\"configurationItem\":%s,"
             "\"messageType\":\"ConfigurationItemChangeNotification\",\"recordVersion\":\"1.3\"}",
             item);
    if (topic) {
        /* the SNS Message is the Config JSON as a string: quote it */
        char quoted[2048];
        size_t o = 0;

        for (const char *c = config; *c && o + 2 < sizeof(quoted); c++) {
            if (*c == '"' || *c == '\\')
                quoted[o++] = '\\';
            quoted[o++] = *c;
        }
        quoted[o] = '\0';
        snprintf(body, sizeof(body),
                 "{\"Type\":\"Notification\",\"MessageId\":\"m-1\",\"TopicArn\":\"%s\","
                 "\"Message\":\"%s\"}", topic, quoted);
    } else {
        snprintf(body, sizeof(body), "%s", config);
    }
    if (wc_notification_parse_at(wc_str_from_cstr(body), NOW_MS, &n, err, sizeof(err)) != WC_OK)
        fail_msg("parse: %s\n%s", err, body);
    return n;
}

static struct wc_notification *s_oversized(const char *account, const char *location)
{
    char body[2048];
    struct wc_notification *n = NULL;
    char err[256];

    snprintf(body, sizeof(body),
             "{\"messageType\":\"OversizedConfigurationItemChangeNotification\","
             "\"configurationItemSummary\":{\"changeType\":\"UPDATE\","
             "\"configurationItemCaptureTime\":\"2024-05-01T11:59:00Z\","
             "\"awsAccountId\":\"%s\",\"configurationItemStatus\":\"OK\","
             "\"resourceType\":\"AWS::EC2::SecurityGroup\",\"resourceId\":\"sg-1\","
             "\"awsRegion\":\"eu-west-1\"},"
             "\"s3DeliverySummary\":{\"s3BucketLocation\":\"%s\"},\"recordVersion\":\"1.0\"}",
             account, location);
    if (wc_notification_parse_at(wc_str_from_cstr(body), NOW_MS, &n, err, sizeof(err)) != WC_OK)
        fail_msg("parse: %s", err);
    return n;
}

static void s_policy(struct wc_policy *p)
{
    assert_int_equal(wc_policy_init_defaults(p), WC_OK);
}

static void test_empty_lists_allow_anything(void **state)
{
    struct wc_policy p;
    struct wc_notification *n;
    char why[256] = "";

    (void)state;
    s_policy(&p);
    n = s_change("999999999999", NULL);
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_OK);
    wc_notification_destroy(n);
    n = s_oversized("999999999999", "any-bucket/any/key.json.gz");
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_OK);
    wc_notification_destroy(n);
    assert_true(wc_trust_topic_allowed(&p, NULL));
    wc_policy_clean_up(&p);
}

static void test_accounts(void **state)
{
    struct wc_policy p;
    struct wc_notification *n;
    char why[256] = "";

    (void)state;
    s_policy(&p);
    assert_int_equal(wc_strlist_push(&p.allowed_accounts, "111111111111"), WC_OK);
    assert_int_equal(wc_strlist_push(&p.allowed_accounts, "o-a1b2c3d4e5"), WC_OK);
    assert_true(wc_trust_account_allowed(&p, "111111111111"));
    assert_false(wc_trust_account_allowed(&p, "222222222222"));
    /* exact: no prefix, no org id, nothing missing */
    assert_false(wc_trust_account_allowed(&p, "11111111111"));
    assert_false(wc_trust_account_allowed(&p, "o-a1b2c3d4e5"));
    assert_false(wc_trust_account_allowed(&p, NULL));

    n = s_change("111111111111", NULL);
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_OK);
    wc_notification_destroy(n);
    n = s_change("222222222222", TOPIC);
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_ERR_INVALID);
    assert_string_equal(why, "account 222222222222 is not in accounts.allowed");
    wc_notification_destroy(n);
    /* an oversized summary is checked before anything is fetched */
    n = s_oversized("222222222222", "bucket/key");
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_ERR_INVALID);
    wc_notification_destroy(n);
    /* and so is the item fetched */
    n = s_change("222222222222", NULL);
    assert_int_equal(wc_trust_check_item(&p, n, why, sizeof(why)), WC_ERR_INVALID);
    wc_notification_destroy(n);

    /* only org ids (config/ refuses this): nothing is allowed, not everything */
    wc_strlist_clean_up(&p.allowed_accounts);
    assert_int_equal(wc_strlist_push(&p.allowed_accounts, "o-a1b2c3d4e5"), WC_OK);
    assert_false(wc_trust_account_allowed(&p, "111111111111"));
    wc_policy_clean_up(&p);
}

static void test_topics(void **state)
{
    struct wc_policy p;
    struct wc_notification *n;
    char why[512] = "";

    (void)state;
    s_policy(&p);
    assert_int_equal(wc_strlist_push(&p.allowed_topics, "arn:aws:sns:*:111111111111:config-*"),
                     WC_OK);
    n = s_change("333333333333", TOPIC);
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_OK);
    wc_notification_destroy(n);
    n = s_change("333333333333", "arn:aws:sns:eu-west-1:666666666666:config-topic");
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_ERR_INVALID);
    assert_string_equal(why, "SNS topic arn:aws:sns:eu-west-1:666666666666:config-topic is not "
                             "in sns.allowed_topics");
    wc_notification_destroy(n);
    /* no envelope, no topic: refused once topics are listed */
    n = s_change("333333333333", NULL);
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_ERR_INVALID);
    assert_non_null(strstr(why, "no SNS envelope"));
    wc_notification_destroy(n);
    /* a hostile topic is shown printable and cut short */
    {
        char topic[400];

        memset(topic, 'x', sizeof(topic) - 1);
        topic[sizeof(topic) - 1] = '\0';
        memcpy(topic, "arn:aws:sns:eu-west-1:666666666666:\x7f\x01", 37);
        n = s_change("333333333333", topic);
        assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_ERR_INVALID);
        assert_true(strlen(why) < 200);
        assert_non_null(strstr(why, "666666666666:??xx"));
        assert_non_null(strstr(why, "xxx... is not in sns.allowed_topics"));
        for (const char *c = why; *c; c++)
            assert_true(*c >= 0x20 && *c < 0x7f);
        wc_notification_destroy(n);
    }
    wc_policy_clean_up(&p);
}

static void test_buckets(void **state)
{
    struct wc_policy p;
    struct wc_notification *n;
    char why[256] = "";

    (void)state;
    s_policy(&p);
    assert_int_equal(wc_strlist_push(&p.allowed_buckets, "config-bucket"), WC_OK);
    assert_int_equal(wc_strlist_push(&p.allowed_buckets, "org-*/AWSLogs/*/Config/*"), WC_OK);
    assert_true(wc_trust_bucket_allowed(&p, "config-bucket", "anything/at/all.json.gz"));
    assert_false(wc_trust_bucket_allowed(&p, "config-bucket-evil", "x"));
    assert_true(wc_trust_bucket_allowed(&p, "org-logs", "AWSLogs/1/Config/eu-west-1/x.json.gz"));
    assert_false(wc_trust_bucket_allowed(&p, "org-logs", "secrets/AWSLogs/1/Config/x"));
    /* the bucket part cannot run on into the key */
    assert_false(wc_trust_bucket_allowed(&p, "org-x", "y/AWSLogs/1/Config/z"));
    assert_true(wc_trust_bucket_allowed(&p, "org-x", "AWSLogs/1/Config/z"));
    assert_false(wc_trust_bucket_allowed(&p, "evil", "AWSLogs/1/Config/z"));
    assert_false(wc_trust_bucket_allowed(&p, NULL, "k"));

    n = s_oversized("111111111111", "s3://config-bucket/AWSLogs/111111111111/Config/x.json.gz");
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_OK);
    wc_notification_destroy(n);
    n = s_oversized("111111111111", "attacker-bucket/item.json.gz");
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_ERR_INVALID);
    assert_string_equal(why, "oversized item location attacker-bucket/item.json.gz is not in "
                             "oversized.allowed_buckets");
    wc_notification_destroy(n);
    /* a change that is not oversized reads no bucket */
    n = s_change("111111111111", NULL);
    assert_int_equal(wc_trust_check(&p, n, why, sizeof(why)), WC_OK);
    wc_notification_destroy(n);
    wc_policy_clean_up(&p);
}

static void test_copied_with_the_policy(void **state)
{
    struct wc_policy p, q;

    (void)state;
    s_policy(&p);
    assert_int_equal(wc_strlist_push(&p.allowed_accounts, "111111111111"), WC_OK);
    assert_int_equal(wc_strlist_push(&p.allowed_topics, TOPIC), WC_OK);
    assert_int_equal(wc_strlist_push(&p.allowed_buckets, "b"), WC_OK);
    assert_int_equal(wc_policy_copy(&q, &p), WC_OK);
    wc_policy_clean_up(&p);
    assert_false(wc_trust_account_allowed(&q, "222222222222"));
    assert_true(wc_trust_account_allowed(&q, "111111111111"));
    assert_false(wc_trust_topic_allowed(&q, NULL));
    assert_false(wc_trust_bucket_allowed(&q, "c", "k"));
    wc_policy_clean_up(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_lists_allow_anything),
        cmocka_unit_test(test_accounts),
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_copied_with_the_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
