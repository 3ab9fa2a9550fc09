/* Unit tests for core/notification.c: AWS Config notifications (SNS, raw,
 * EventBridge) into struct wc_change, global-service regions, property
 * rendering and truncation, and hostile input. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/change.h"
#include "core/err.h"
#include "core/str.h"

#define CFG "samples/config/"

/* --- helpers ------------------------------------------------------------ */

static struct wc_notification *s_parse_buf(const struct wc_buf *b, const char *what)
{
    struct wc_notification *n = NULL;
    char err[256] = "";
    int rc = wc_notification_parse(wc_buf_str(b), &n, err, sizeof(err));

    if (rc != WC_OK)
        fail_msg("%s: rc %d (%s): %s", what, rc, wc_strerror(rc), err);
    assert_non_null(n);
    return n;
}

static struct wc_notification *s_parse_ref(const char *rel)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notification *n;

    wc_test_read_ref(rel, &b);
    n = s_parse_buf(&b, rel);
    wc_buf_clean_up(&b);
    return n;
}

static struct wc_notification *s_parse_data(const char *rel)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notification *n;

    wc_test_read_data(rel, &b);
    n = s_parse_buf(&b, rel);
    wc_buf_clean_up(&b);
    return n;
}

/* Expect failure rc with an error message containing `needle`. */
static void s_expect_fail(struct wc_str body, int want_rc, const char *needle)
{
    static struct wc_notification dummy;
    struct wc_notification *n = &dummy; /* must be reset to NULL */
    char err[256] = "";
    int rc = wc_notification_parse(body, &n, err, sizeof(err));

    if (rc != want_rc)
        fail_msg("expected rc %d, got %d (%s)", want_rc, rc, err);
    assert_null(n);
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    if (needle && !strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void s_expect_fail_cstr(const char *body, int want_rc, const char *needle)
{
    s_expect_fail(wc_str_from_cstr(body), want_rc, needle);
}

static void s_expect_fail_data(const char *rel, int want_rc, const char *needle)
{
    struct wc_buf b = WC_BUF_INIT;

    wc_test_read_data(rel, &b);
    s_expect_fail(wc_buf_str(&b), want_rc, needle);
    wc_buf_clean_up(&b);
}

static const struct wc_changed_property *s_prop(const struct wc_change *c, const char *path)
{
    for (size_t i = 0; i < c->n_props; i++)
        if (strcmp(c->props[i].path, path) == 0)
            return &c->props[i];
    fail_msg("no property %s", path);
    return NULL;
}

static void s_assert_str_eq0(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void s_assert_change_equal(const struct wc_change *a, const struct wc_change *b)
{
    s_assert_str_eq0(a->account_id, b->account_id);
    s_assert_str_eq0(a->region, b->region);
    s_assert_str_eq0(a->lookup_region, b->lookup_region);
    s_assert_str_eq0(a->resource_type, b->resource_type);
    s_assert_str_eq0(a->resource_id, b->resource_id);
    s_assert_str_eq0(a->resource_name, b->resource_name);
    s_assert_str_eq0(a->arn, b->arn);
    assert_int_equal(a->capture_time_ms, b->capture_time_ms);
    s_assert_str_eq0(a->status, b->status);
    s_assert_str_eq0(a->change_type, b->change_type);
    assert_int_equal(a->related_event_ids.len, b->related_event_ids.len);
    for (size_t i = 0; i < a->related_event_ids.len; i++)
        assert_string_equal(a->related_event_ids.items[i], b->related_event_ids.items[i]);
    assert_int_equal(a->n_props, b->n_props);
    assert_int_equal(a->n_props_total, b->n_props_total);
    for (size_t i = 0; i < a->n_props; i++) {
        s_assert_str_eq0(a->props[i].path, b->props[i].path);
        s_assert_str_eq0(a->props[i].change, b->props[i].change);
        s_assert_str_eq0(a->props[i].before, b->props[i].before);
        s_assert_str_eq0(a->props[i].after, b->props[i].after);
    }
}

/* true if s is well-formed UTF-8 (no truncated sequence at the end). */
static bool s_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 ? 3 : -1;

        if (n < 0)
            return false;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static bool s_starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool s_ends_with_ellipsis(const char *s)
{
    size_t n = strlen(s);

    return n >= 3 && strcmp(s + n - 3, "\xe2\x80\xa6") == 0;
}

/* A raw ConfigurationItemChangeNotification with the given diff JSON and
 * extra configurationItem members (both may be ""). */
static void s_raw_note(struct wc_buf *b, const char *diff, const char *extra_item)
{
    wc_buf_init(b, 0);
    assert_int_equal(
        wc_buf_appendf(b,
                       "{\"messageType\":\"ConfigurationItemChangeNotification\","
                       "\"configurationItemDiff\":%s,"
                       "\"configurationItem\":{\"resourceType\":\"AWS::S3::Bucket\","
                       "\"resourceId\":\"my-bucket\",\"awsRegion\":\"eu-west-1\","
                       "\"awsAccountId\":\"123456789012\","
                       "\"configurationItemCaptureTime\":\"2024-05-01T12:00:00Z\"%s%s}}",
                       diff && *diff ? diff : "null", extra_item && *extra_item ? "," : "",
                       extra_item ? extra_item : ""),
        WC_OK);
}

/* --- the documented samples --------------------------------------------- */

static void s_check_ec2_update(const struct wc_notification *n)
{
    const struct wc_change *c = &n->change;
    const struct wc_changed_property *p;
    static const char *const order[] = {
        "Configuration.NetworkInterfaces.0", "Configuration.NetworkInterfaces.1",
        "Configuration.SecurityGroups.0",    "Configuration.SecurityGroups.1",
        "Relationships.0",                   "Relationships.1",
    };

    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_int_equal(n->envelope, WC_ENV_SNS);
    assert_string_equal(n->message_type, "ConfigurationItemChangeNotification");
    assert_string_equal(n->sns_message_id, "faeba85e-ef46-570a-b01c-f8b0faae8d5d");
    assert_int_equal(n->n_items, 1);
    assert_string_equal(c->account_id, "123456789012");
    assert_string_equal(c->region, "us-east-2");
    assert_string_equal(c->lookup_region, "us-east-2");
    assert_string_equal(c->resource_type, "AWS::EC2::Instance");
    assert_string_equal(c->resource_id, "i-007d374c8912e3e90");
    assert_null(c->resource_name); /* JSON null */
    assert_string_equal(c->arn, "arn:aws:ec2:us-east-2:123456789012:instance/i-007d374c8912e3e90");
    /* 2017-01-09T22:50:14.328Z (also the sample's configurationStateId) */
    assert_int_equal(c->capture_time_ms, 1484002214328LL);
    assert_string_equal(c->status, "OK");
    assert_string_equal(c->change_type, "UPDATE");
    assert_int_equal(c->related_event_ids.len, 0);
    assert_int_equal(c->n_props, 6);
    assert_int_equal(c->n_props_total, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(c->props[i].path, order[i]);

    p = s_prop(c, "Configuration.SecurityGroups.0");
    assert_string_equal(p->change, "DELETE");
    assert_string_equal(p->before, "{\"groupName\":\"example-security-group-1\","
                                   "\"groupId\":\"sg-c8b141b4\"}");
    assert_null(p->after);
    p = s_prop(c, "Configuration.SecurityGroups.1");
    assert_string_equal(p->change, "CREATE");
    assert_null(p->before);
    assert_string_equal(p->after, "{\"groupName\":\"example-security-group-2\","
                                  "\"groupId\":\"sg-3f1fef43\"}");
    p = s_prop(c, "Relationships.1");
    assert_string_equal(p->change, "CREATE");
    assert_null(p->before);
    assert_string_equal(p->after, "{\"resourceId\":\"sg-3f1fef43\",\"resourceName\":null,"
                                  "\"resourceType\":\"AWS::EC2::SecurityGroup\","
                                  "\"name\":\"Is associated with SecurityGroup\"}");
    /* the network interface is long (884 bytes of compact JSON), within
     * WC_CHANGE_VALUE_MAX: kept whole (test_truncation cuts longer ones) */
    p = s_prop(c, "Configuration.NetworkInterfaces.0");
    assert_string_equal(p->change, "DELETE");
    assert_null(p->after);
    assert_true(s_starts(p->before, "{\"networkInterfaceId\":\"eni-fde9493f\",\"subnetId\":"
                                    "\"subnet-2372be7b\","));
    assert_int_equal(strlen(p->before), 884);
    assert_false(s_ends_with_ellipsis(p->before));
    assert_null(p->before_summary); /* neither rules nor a policy */
    p = s_prop(c, "Configuration.NetworkInterfaces.1");
    assert_string_equal(p->change, "CREATE");
    assert_null(p->before);
    assert_int_equal(strlen(p->after), 884);
}

static void test_ec2_instance_update(void **state)
{
    struct wc_notification *doc, *wire;

    (void)state;
    doc = s_parse_ref(CFG "sns-doc-configuration-item-change-ec2-instance-update.json");
    wire = s_parse_ref(CFG "sns-wire-configuration-item-change-ec2-instance-update.json");
    s_check_ec2_update(doc);
    s_check_ec2_update(wire);
    s_assert_change_equal(&doc->change, &wire->change);
    wc_notification_destroy(doc);
    wc_notification_destroy(wire);
}

static void s_check_sg_create(const struct wc_notification *n)
{
    const struct wc_change *c = &n->change;

    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_int_equal(n->envelope, WC_ENV_SNS);
    assert_string_equal(n->sns_message_id, "564d873e-711e-51a3-b48c-d7d064f65bf4");
    assert_string_equal(c->account_id, "123456789012");
    assert_string_equal(c->region, "us-east-2");
    assert_string_equal(c->lookup_region, "us-east-2");
    assert_string_equal(c->resource_type, "AWS::EC2::SecurityGroup");
    assert_string_equal(c->resource_id, "sg-3f1fef43");
    assert_null(c->resource_name);
    assert_string_equal(c->arn, "arn:aws:ec2:us-east-2:123456789012:security-group/sg-3f1fef43");
    assert_int_equal(c->capture_time_ms, 1484002215156LL); /* 2017-01-09T22:50:15.156Z */
    assert_string_equal(c->status, "ResourceDiscovered");
    assert_string_equal(c->change_type, "CREATE");
    assert_int_equal(c->n_props, 0); /* changedProperties is {} */
    assert_int_equal(c->n_props_total, 0);
    assert_null(c->props);
}

static void test_security_group_create(void **state)
{
    struct wc_notification *doc, *wire;

    (void)state;
    doc = s_parse_ref(CFG "sns-doc-configuration-item-change-security-group-create.json");
    wire = s_parse_ref(CFG "sns-wire-configuration-item-change-security-group-create.json");
    s_check_sg_create(doc);
    s_check_sg_create(wire);
    s_assert_change_equal(&doc->change, &wire->change);
    wc_notification_destroy(doc);
    wc_notification_destroy(wire);
}

static void test_legacy_array_shape(void **state)
{
    struct wc_notification *n;
    const struct wc_change *c;
    const struct wc_changed_property *p;

    (void)state;
    n = s_parse_ref(CFG "sns-doc-configuration-item-change-legacy-ebs-volume.json");
    c = &n->change;
    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_int_equal(n->n_items, 1);
    assert_string_equal(n->sns_message_id, "8b945cb0-db34-5b72-b032-1724878af488");
    assert_string_equal(c->account_id, "123456789012");  /* legacy "accountId" */
    assert_string_equal(c->region, "us-west-2");         /* no awsRegion: from us-west-2b */
    assert_string_equal(c->lookup_region, "us-west-2");
    assert_string_equal(c->resource_type, "AWS::EC2::VOLUME");
    assert_string_equal(c->resource_id, "vol-ce676ccc");
    assert_string_equal(c->arn, "arn:aws:us-west-2b:123456789012:volume/vol-ce676ccc");
    assert_int_equal(c->capture_time_ms, 1394236028918LL); /* 2014-03-07T23:47:08.918Z */
    assert_string_equal(c->status, "OK");
    assert_string_equal(c->change_type, "UPDATE");
    assert_int_equal(c->n_props, 2);
    assert_string_equal(c->props[0].path, "Configuration.Attachments.0");
    assert_string_equal(c->props[1].path, "Configuration.State");
    p = s_prop(c, "Configuration.State");
    assert_string_equal(p->change, "UPDATE");
    assert_string_equal(p->before, "available"); /* plain strings: no quotes */
    assert_string_equal(p->after, "in-use");
    p = s_prop(c, "Configuration.Attachments.0");
    assert_string_equal(p->change, "CREATE");
    assert_null(p->before); /* absent previousValue */
    assert_true(s_starts(p->after, "{\"VolumeId\":\"vol-ce676ccc\","));
    wc_notification_destroy(n);

    /* two items: the first is parsed, the count tells the rest exist */
    n = s_parse_data("config/sns-legacy-two-items.json");
    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_int_equal(n->n_items, 2);
    assert_string_equal(n->change.resource_id, "vol-11111111");
    assert_null(n->change.change_type); /* configurationItemDiff: null */
    assert_int_equal(n->change.n_props, 0);
    wc_notification_destroy(n);
}

static void test_envelope_hints(void **state)
{
    static const char item[] = "{\"messageType\":\"ConfigurationItemChangeNotification\","
                               "\"configurationItem\":{\"resourceType\":\"AWS::EC2::VPC\","
                               "\"resourceId\":\"vpc-1\",\"availabilityZone\":\"Multiple "
                               "Availability Zones\",\"configurationItemCaptureTime\":"
                               "\"2024-05-01T12:00:00Z\"}}";
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notification *n;

    (void)state;
    /* no awsRegion / account in the item: taken from the SNS TopicArn */
    wc_buf_init(&b, 0);
    assert_int_equal(wc_buf_appendf(&b, "{\"Type\":\"Notification\",\"TopicArn\":"
                                        "\"arn:aws:sns:ap-southeast-2:210987654321:cfg\","
                                        "\"Message\":%s}", item),
                     WC_OK);
    n = s_parse_buf(&b, "SNS hints");
    assert_string_equal(n->change.region, "ap-southeast-2");
    assert_string_equal(n->change.account_id, "210987654321");
    assert_int_equal(n->change.capture_time_ms, 1714564800000LL);
    wc_notification_destroy(n);
    wc_buf_reset(&b);
    /* ... or from the EventBridge event */
    assert_int_equal(wc_buf_appendf(&b, "{\"source\":\"aws.config\",\"detail-type\":\"Config "
                                        "Configuration Item Change\",\"id\":\"e-9\",\"region\":"
                                        "\"eu-north-1\",\"account\":\"111122223333\","
                                        "\"detail\":%s}", item),
                     WC_OK);
    n = s_parse_buf(&b, "EventBridge hints");
    assert_string_equal(n->change.region, "eu-north-1");
    assert_string_equal(n->change.account_id, "111122223333");
    assert_string_equal(n->sns_message_id, "e-9");
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
    /* raw delivery has no envelope: the region is missing */
    s_expect_fail_cstr(item, WC_ERR_INVALID, "has no awsRegion");
}

static void test_eventbridge_change(void **state)
{
    struct wc_notification *n;
    const struct wc_change *c;
    const struct wc_changed_property *p;

    (void)state;
    n = s_parse_ref(CFG "eventbridge-doc-config-configuration-item-change-efs.json");
    c = &n->change;
    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_int_equal(n->envelope, WC_ENV_EVENTBRIDGE);
    assert_string_equal(n->sns_message_id, "00bdf13e-1111-b2f5-cef0-e9cbbe7cd533");
    assert_string_equal(c->resource_type, "AWS::EFS::FileSystem");
    assert_string_equal(c->resource_id, "fs-01f0d526165b57f95");
    assert_string_equal(c->resource_name, "fs-01f0d526165b57f95");
    assert_string_equal(c->region, "us-east-1");
    assert_string_equal(c->account_id, "123456789012");
    assert_int_equal(c->capture_time_ms, 1647393050837LL);
    assert_string_equal(c->change_type, "UPDATE");
    assert_int_equal(c->n_props, 2);
    p = s_prop(c, "Configuration.FileSystemTags.0");
    assert_string_equal(p->change, "CREATE");
    assert_null(p->before);
    assert_string_equal(p->after, "{\"Key\":\"test\",\"Value\":\"me\"}");
    p = s_prop(c, "Tags.2");
    assert_string_equal(p->after, "me");
    wc_notification_destroy(n);
}

static void s_check_oversized_summary(const struct wc_notification *n)
{
    const struct wc_change *c = &n->change;

    assert_int_equal(n->kind, WC_NOTE_OVERSIZED);
    assert_string_equal(n->message_type, "OversizedConfigurationItemChangeNotification");
    assert_string_equal(c->account_id, "123456789012");
    assert_string_equal(c->region, "us-west-2");
    assert_string_equal(c->resource_type, "AWS::EC2::Instance");
    assert_string_equal(c->resource_id, "resourceId_14b76876-7969-4097-ab8e-a31942b02e80");
    assert_null(c->resource_name);
    assert_string_equal(c->arn, "arn:aws:ec2:us-west-2:123456789012:instance/"
                                "resourceId_14b76876-7969-4097-ab8e-a31942b02e80");
    assert_int_equal(c->capture_time_ms, 1475772376261LL); /* 2016-10-06T16:46:16.261Z */
    assert_string_equal(c->status, "OK");
    assert_string_equal(c->change_type, "UPDATE"); /* the summary's own changeType */
    assert_int_equal(c->n_props, 0);
    assert_string_equal(n->oversized.s3_bucket, "my-bucket");
    assert_string_equal(n->oversized.s3_key,
                        "AWSLogs/123456789012/Config/us-west-2/2016/10/6/"
                        "OversizedChangeNotification/AWS::EC2::Instance/"
                        "resourceId_14b76876-7969-4097-ab8e-a31942b02e80/123456789012_Config_"
                        "us-west-2_ChangeNotification_AWS::EC2::Instance_resourceId_14b76876-"
                        "7969-4097-ab8e-a31942b02e80_20161006T164616Z_0.json.gz");
    assert_true(s_starts(n->oversized.s3_location, "my-bucket/AWSLogs/"));
}

static void test_oversized(void **state)
{
    struct wc_notification *n;

    (void)state;
    n = s_parse_ref(CFG "sns-wire-oversized-configuration-item-change.json");
    assert_int_equal(n->envelope, WC_ENV_SNS);
    s_check_oversized_summary(n);
    wc_notification_destroy(n);

    /* the documented inner message, delivered raw */
    n = s_parse_ref(CFG "message-doc-oversized-configuration-item-change.json");
    assert_int_equal(n->envelope, WC_ENV_RAW);
    assert_null(n->sns_message_id);
    s_check_oversized_summary(n);
    wc_notification_destroy(n);

    /* EventBridge wrapping an oversized notification */
    n = s_parse_ref(CFG "eventbridge-oversized-config-configuration-item-change.json");
    assert_int_equal(n->kind, WC_NOTE_OVERSIZED);
    assert_int_equal(n->envelope, WC_ENV_EVENTBRIDGE);
    assert_string_equal(n->sns_message_id, "11111111-2222-3333-4444-555555555555");
    assert_string_equal(n->oversized.s3_bucket, "bucket");
    assert_string_equal(n->oversized.s3_key, "file.json.gz");
    assert_string_equal(n->oversized.s3_location, "bucket/file.json.gz");
    assert_string_equal(n->change.resource_type, "AWS::SSM::ManagedInstanceInventory");
    assert_string_equal(n->change.resource_id, "mi-1234567890123456");
    assert_string_equal(n->change.change_type, "UPDATE");
    assert_int_equal(n->change.capture_time_ms, 1526538700400LL);
    wc_notification_destroy(n);

    /* oversized without a location cannot be followed */
    s_expect_fail_data("config/sns-oversized-no-location.json", WC_ERR_INVALID,
                       "s3BucketLocation");
    s_expect_fail_cstr("{\"messageType\":\"OversizedConfigurationItemChangeNotification\","
                       "\"configurationItemSummary\":{\"resourceType\":\"AWS::EC2::Instance\","
                       "\"resourceId\":\"i-1\",\"awsRegion\":\"eu-west-1\","
                       "\"configurationItemCaptureTime\":\"2024-05-01T12:00:00Z\"},"
                       "\"s3DeliverySummary\":{\"s3BucketLocation\":\"no-slash\"}}",
                       WC_ERR_INVALID, "bucket/key");
}

static void test_oversized_object(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notification *n = NULL;
    char err[256] = "";

    (void)state;
    wc_test_read_ref(CFG "s3-object-oversized-change-notification.constructed.json", &b);
    assert_int_equal(wc_notification_parse_oversized_object(wc_buf_str(&b), &n, err,
                                                            sizeof(err)), WC_OK);
    assert_int_equal(n->kind, WC_NOTE_CHANGE);
    assert_string_equal(n->message_type, "ConfigurationItemChangeNotification");
    assert_string_equal(n->change.resource_id, "resourceId_14b76876-7969-4097-ab8e-a31942b02e80");
    assert_string_equal(n->change.region, "us-west-2");
    assert_int_equal(n->change.capture_time_ms, 1475772376261LL);
    assert_int_equal(n->change.related_event_ids.len, 1);
    assert_string_equal(n->change.related_event_ids.items[0],
                        "7f3c9a1e-EXAMPLE-4b6e-9d6a-0c7b1e2f3a4b");
    assert_int_equal(n->change.n_props, 1);
    assert_string_equal(n->change.props[0].path, "Configuration.State.Name");
    assert_string_equal(n->change.props[0].before, "stopped");
    assert_string_equal(n->change.props[0].after, "running");
    wc_notification_destroy(n);
    n = NULL;

    /* parsed whole, so capped at 4 MiB (review finding 4): the same item
     * padded to 4 MiB parses, one byte more does not */
    {
        const size_t cap = (size_t)4 * 1024 * 1024;
        struct wc_buf pad = WC_BUF_INIT;

        assert_int_equal(wc_buf_append_char(&pad, '{'), WC_OK);
        while (pad.len < cap - (b.len - 1))
            assert_int_equal(wc_buf_append_char(&pad, ' '), WC_OK);
        assert_int_equal(wc_buf_append(&pad, b.ptr + 1, b.len - 1), WC_OK);
        assert_int_equal(pad.len, cap);
        assert_int_equal(wc_notification_parse_oversized_object(wc_buf_str(&pad), &n, err,
                                                                sizeof(err)), WC_OK);
        wc_notification_destroy(n);
        n = NULL;
        assert_int_equal(wc_buf_append_char(&pad, ' '), WC_OK);
        assert_int_equal(wc_notification_parse_oversized_object(wc_buf_str(&pad), &n, err,
                                                                sizeof(err)), WC_ERR_TOO_LARGE);
        assert_null(n);
        assert_non_null(strstr(err, "limit"));
        wc_buf_clean_up(&pad);
    }
    wc_buf_clean_up(&b);

    /* the object must be a change notification */
    wc_test_read_ref(CFG "message-doc-oversized-configuration-item-change.json", &b);
    assert_int_equal(wc_notification_parse_oversized_object(wc_buf_str(&b), &n, err,
                                                            sizeof(err)), WC_ERR_INVALID);
    assert_null(n);
    assert_non_null(strstr(err, "messageType"));
    wc_buf_clean_up(&b);
    assert_int_equal(wc_notification_parse_oversized_object(WC_STR_LIT("{\"configurationItem\":"),
                                                            &n, err, sizeof(err)),
                     WC_ERR_PARSE);
    assert_null(n);
    assert_non_null(strstr(err, "not valid JSON"));
    assert_int_equal(wc_notification_parse_oversized_object(WC_STR_NULL, &n, err, sizeof(err)),
                     WC_ERR_PARSE);
}

static void test_ignorable_types(void **state)
{
    static const struct {
        const char *rel;
        bool data;
        const char *type;
        enum wc_envelope env;
    } cases[] = {
        {CFG "sns-doc-compliance-change.json", false, "ComplianceChangeNotification",
         WC_ENV_SNS},
        {CFG "sns-wire-compliance-change.json", false, "ComplianceChangeNotification",
         WC_ENV_SNS},
        {CFG "sns-doc-configuration-snapshot-delivery-completed.json", false,
         "ConfigurationSnapshotDeliveryCompleted", WC_ENV_SNS},
        {CFG "sns-wire-configuration-snapshot-delivery-completed.json", false,
         "ConfigurationSnapshotDeliveryCompleted", WC_ENV_SNS},
        {CFG "sns-doc-configuration-snapshot-delivery-started.json", false,
         "ConfigurationSnapshotDeliveryStarted", WC_ENV_SNS},
        {CFG "sns-doc-configuration-history-delivery-completed.json", false,
         "ConfigurationHistoryDeliveryCompleted", WC_ENV_SNS},
        {CFG "message-doc-oversized-configuration-item-change-delivery-failed.json", false,
         "OversizedConfigurationItemChangeDeliveryFailed", WC_ENV_RAW},
        {"config/sns-subscription-confirmation.json", true, "SubscriptionConfirmation",
         WC_ENV_SNS},
        {"config/eventbridge-compliance-change.json", true, "ComplianceChangeNotification",
         WC_ENV_EVENTBRIDGE},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wc_notification *n =
            cases[i].data ? s_parse_data(cases[i].rel) : s_parse_ref(cases[i].rel);

        assert_int_equal(n->kind, WC_NOTE_OTHER);
        assert_int_equal(n->envelope, cases[i].env);
        assert_string_equal(n->message_type, cases[i].type);
        assert_null(n->change.resource_type);
        /* an SNS envelope's topic is kept whatever it carries; others have none */
        if (cases[i].env == WC_ENV_SNS)
            assert_non_null(n->sns_topic_arn);
        else
            assert_null(n->sns_topic_arn);
        wc_notification_destroy(n);
    }

    /* an unknown messageType is not a change either */
    {
        struct wc_buf b = WC_BUF_INIT;
        struct wc_notification *n;

        wc_buf_init(&b, 0);
        assert_int_equal(wc_buf_append_cstr(&b, "{\"messageType\":\"SomethingNew\"}"), WC_OK);
        n = s_parse_buf(&b, "unknown type");
        assert_int_equal(n->kind, WC_NOTE_OTHER);
        assert_int_equal(n->envelope, WC_ENV_RAW);
        assert_string_equal(n->message_type, "SomethingNew");
        wc_notification_destroy(n);
        wc_buf_reset(&b);
        /* another aws.config EventBridge kind without a messageType */
        assert_int_equal(wc_buf_append_cstr(&b, "{\"source\":\"aws.config\",\"detail-type\":"
                                                "\"Config Rules Re-evaluation Status\","
                                                "\"detail\":{\"status\":\"done\"}}"),
                         WC_OK);
        n = s_parse_buf(&b, "EventBridge other");
        assert_int_equal(n->kind, WC_NOTE_OTHER);
        assert_int_equal(n->envelope, WC_ENV_EVENTBRIDGE);
        assert_string_equal(n->message_type, "Config Rules Re-evaluation Status");
        wc_notification_destroy(n);
        wc_buf_clean_up(&b);
    }
}

static void test_sqs_receive_bodies(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notification *n[2] = {NULL, NULL}, *ref;
    cJSON *root, *msgs, *m;
    size_t i = 0;

    (void)state;
    wc_test_read_ref("samples/sqs/receive-message-response.constructed.json", &b);
    root = cJSON_ParseWithLength(b.ptr, b.len);
    assert_non_null(root);
    msgs = cJSON_GetObjectItemCaseSensitive(root, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    cJSON_ArrayForEach(m, msgs) {
        const char *body = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "Body"));
        char err[256] = "";

        assert_non_null(body);
        assert_int_equal(wc_notification_parse(wc_str_from_cstr(body), &n[i], err, sizeof(err)),
                         WC_OK);
        i++;
    }
    cJSON_Delete(root);
    wc_buf_clean_up(&b);

    /* 1: SNS envelope (string) around the EC2 update (string) */
    s_check_ec2_update(n[0]);
    ref = s_parse_ref(CFG "sns-doc-configuration-item-change-ec2-instance-update.json");
    s_assert_change_equal(&n[0]->change, &ref->change);
    wc_notification_destroy(ref);
    /* 2: raw EventBridge event */
    assert_int_equal(n[1]->envelope, WC_ENV_EVENTBRIDGE);
    ref = s_parse_ref(CFG "eventbridge-doc-config-configuration-item-change-efs.json");
    s_assert_change_equal(&n[1]->change, &ref->change);
    wc_notification_destroy(ref);
    wc_notification_destroy(n[0]);
    wc_notification_destroy(n[1]);
}

/* --- regions ------------------------------------------------------------ */

static void test_lookup_region(void **state)
{
    struct wc_notification *n;

    (void)state;
    assert_string_equal(wc_lookup_region("AWS::IAM::Role", "global"), "us-east-1");
    assert_string_equal(wc_lookup_region("AWS::IAM::Policy", "eu-west-1"), "us-east-1");
    assert_string_equal(wc_lookup_region("AWS::CloudFront::Distribution", "eu-west-1"),
                        "us-east-1");
    assert_string_equal(wc_lookup_region("AWS::Route53::HostedZone", "eu-west-1"), "us-east-1");
    assert_string_equal(wc_lookup_region("AWS::Route53Resolver::ResolverRule", "eu-west-1"),
                        "eu-west-1");
    assert_string_equal(wc_lookup_region("AWS::WAF::WebACL", "eu-west-1"), "us-east-1");
    assert_string_equal(wc_lookup_region("AWS::WAFRegional::WebACL", "eu-west-1"), "eu-west-1");
    assert_string_equal(wc_lookup_region("AWS::WAFv2::WebACL", "eu-west-1"), "eu-west-1");
    assert_string_equal(wc_lookup_region("AWS::Organizations::Account", "eu-west-1"),
                        "us-east-1");
    assert_string_equal(wc_lookup_region("AWS::Shield::Protection", "eu-west-1"), "us-east-1");
    /* single control plane in us-west-2 (core/awsid.c) */
    assert_string_equal(wc_lookup_region("AWS::GlobalAccelerator::Accelerator", "eu-west-1"),
                        "us-west-2");
    assert_string_equal(wc_lookup_region("AWS::NetworkManager::GlobalNetwork", "global"),
                        "us-west-2");
    assert_string_equal(wc_lookup_region("AWS::EC2::SecurityGroup", "eu-west-1"), "eu-west-1");
    assert_string_equal(wc_lookup_region("AWS::EC2::SecurityGroup", "global"), "us-east-1");
    assert_string_equal(wc_lookup_region("AWS::IAMx::Thing", "eu-west-1"), "eu-west-1");
    assert_string_equal(wc_lookup_region("aws::iam::ROLE", "eu-west-1"), "us-east-1");
    assert_string_equal(wc_lookup_region(NULL, "eu-west-1"), "eu-west-1");
    assert_null(wc_lookup_region("AWS::EC2::Instance", NULL));
    /* other partitions keep their own home region */
    assert_string_equal(wc_lookup_region("AWS::IAM::Role", "cn-northwest-1"), "cn-north-1");
    assert_string_equal(wc_lookup_region("AWS::IAM::Role", "us-gov-east-1"), "us-gov-west-1");

    n = s_parse_data("config/raw-iam-role-global.json");
    assert_int_equal(n->envelope, WC_ENV_RAW);
    assert_string_equal(n->change.region, "global");
    assert_string_equal(n->change.lookup_region, "us-east-1");
    assert_string_equal(n->change.resource_name, "app-runtime");
    assert_int_equal(n->change.capture_time_ms, 1714557620500LL);
    assert_int_equal(n->change.related_event_ids.len, 2);
    assert_string_equal(n->change.related_event_ids.items[1],
                        "e1a2b3c4-0000-4000-8000-000000000002");
    /* a URL-encoded policy document is a plain string */
    assert_string_equal(n->change.props[0].before, "%7B%22Version%22%3A%222012-10-17%22%7D");
    wc_notification_destroy(n);

    /* the same role in GovCloud: region "global", the partition from the ARN */
    n = s_parse_data("config/raw-iam-role-global-govcloud.json");
    assert_string_equal(n->change.region, "global");
    assert_string_equal(n->change.lookup_region, "us-gov-west-1");
    wc_notification_destroy(n);

    n = s_parse_data("config/sns-cloudfront-distribution.json");
    assert_string_equal(n->change.lookup_region, "us-east-1");
    assert_null(n->change.change_type); /* no diff */
    wc_notification_destroy(n);

    n = s_parse_data("config/sns-route53-hosted-zone.json");
    /* the envelope's topic is kept (sns.allowed_topics checks it) */
    assert_string_equal(n->sns_topic_arn, "arn:aws:sns:eu-west-1:123456789012:config-topic");
    assert_string_equal(n->change.region, "eu-west-1");
    assert_string_equal(n->change.lookup_region, "us-east-1");
    assert_string_equal(n->change.resource_name, "example.com.");
    wc_notification_destroy(n);

    n = s_parse_data("config/sns-route53resolver-rule.json");
    assert_string_equal(n->change.region, "eu-west-1");
    assert_string_equal(n->change.lookup_region, "eu-west-1");
    wc_notification_destroy(n);
}

/* --- properties --------------------------------------------------------- */

static void test_property_order_and_rendering(void **state)
{
    static const char *const order[] = {
        "Configuration.Count",           "Configuration.Description",
        "Configuration.Enabled",         "Configuration.Gone",
        "Configuration.IpPermissions.0", "Configuration.IpPermissions.9",
        "Configuration.IpPermissions.10", "Relationships.1",
        "Tags.1",                        "Tags.2",
        "Tags.10",
    };
    struct wc_notification *n = s_parse_data("config/raw-property-order.json");
    const struct wc_change *c = &n->change;
    const struct wc_changed_property *p;

    (void)state;
    assert_int_equal(c->n_props, sizeof(order) / sizeof(order[0]));
    for (size_t i = 0; i < c->n_props; i++)
        assert_string_equal(c->props[i].path, order[i]);
    p = s_prop(c, "Configuration.Count");
    assert_string_equal(p->before, "1");
    assert_string_equal(p->after, "2.5");
    p = s_prop(c, "Configuration.Enabled");
    assert_string_equal(p->before, "true");
    assert_string_equal(p->after, "false");
    p = s_prop(c, "Configuration.Gone");
    assert_string_equal(p->before, "[1,\"two\",null]");
    assert_null(p->after);
    p = s_prop(c, "Configuration.Description"); /* changeType missing: inferred */
    assert_string_equal(p->change, "UPDATE");
    assert_string_equal(p->before, "old");
    p = s_prop(c, "Tags.10");
    assert_string_equal(p->after, "{\"k\":\"Tags.10\"}");
    wc_notification_destroy(n);
}

static struct wc_notification *s_note_with_value(const char *value_json)
{
    struct wc_buf diff = WC_BUF_INIT, b = WC_BUF_INIT;
    struct wc_notification *n;

    wc_buf_init(&diff, 0);
    assert_int_equal(wc_buf_appendf(&diff, "{\"changeType\":\"UPDATE\",\"changedProperties\":"
                                           "{\"Configuration.Policy\":{\"previousValue\":%s,"
                                           "\"updatedValue\":\"short\",\"changeType\":\"UPDATE\"}}}",
                                    value_json),
                     WC_OK);
    s_raw_note(&b, diff.ptr, "");
    n = s_parse_buf(&b, "generated");
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&diff);
    return n;
}

static void test_truncation(void **state)
{
    struct wc_buf v = WC_BUF_INIT;
    struct wc_notification *n;
    const char *s;

    (void)state;
    /* exactly WC_CHANGE_VALUE_MAX bytes: kept whole */
    wc_buf_init(&v, 0);
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    for (int i = 0; i < WC_CHANGE_VALUE_MAX; i++)
        assert_int_equal(wc_buf_append_char(&v, 'a'), WC_OK);
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    n = s_note_with_value(v.ptr);
    s = n->change.props[0].before;
    assert_int_equal(strlen(s), WC_CHANGE_VALUE_MAX);
    assert_false(s_ends_with_ellipsis(s));
    assert_string_equal(n->change.props[0].after, "short");
    wc_notification_destroy(n);
    wc_buf_reset(&v);

    /* a long ASCII string: WC_CHANGE_VALUE_MAX - 3 bytes + "…" */
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    for (int i = 0; i < WC_CHANGE_VALUE_MAX + 800; i++)
        assert_int_equal(wc_buf_append_char(&v, (char)('a' + i % 26)), WC_OK);
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    n = s_note_with_value(v.ptr);
    s = n->change.props[0].before;
    assert_int_equal(strlen(s), WC_CHANGE_VALUE_MAX);
    assert_true(s_ends_with_ellipsis(s));
    assert_memory_equal(s, v.ptr + 1, WC_CHANGE_VALUE_MAX - 3);
    wc_notification_destroy(n);
    wc_buf_reset(&v);

    /* MAX - 4 ASCII then 2-byte "é": the cut would fall inside an "é" */
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    for (int i = 0; i < WC_CHANGE_VALUE_MAX - 4; i++)
        assert_int_equal(wc_buf_append_char(&v, 'x'), WC_OK);
    for (int i = 0; i < 20; i++)
        assert_int_equal(wc_buf_append_cstr(&v, "\xc3\xa9"), WC_OK);
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    n = s_note_with_value(v.ptr);
    s = n->change.props[0].before;
    assert_true(s_utf8_valid(s));
    assert_true(s_ends_with_ellipsis(s));
    assert_int_equal(strlen(s), WC_CHANGE_VALUE_MAX - 4 + 3); /* the split "é" is dropped whole */
    wc_notification_destroy(n);
    wc_buf_reset(&v);

    /* 4-byte sequences (emoji) straddling the cut */
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    for (int i = 0; i < WC_CHANGE_VALUE_MAX - 5; i++)
        assert_int_equal(wc_buf_append_char(&v, 'x'), WC_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(wc_buf_append_cstr(&v, "\xf0\x9f\x98\x80"), WC_OK);
    assert_int_equal(wc_buf_append_char(&v, '"'), WC_OK);
    n = s_note_with_value(v.ptr);
    s = n->change.props[0].before;
    assert_true(s_utf8_valid(s));
    assert_true(s_ends_with_ellipsis(s));
    assert_int_equal(strlen(s), WC_CHANGE_VALUE_MAX - 5 + 3);
    wc_notification_destroy(n);
    wc_buf_reset(&v);

    /* a large object value: compact JSON, cut, UTF-8 kept whole */
    assert_int_equal(wc_buf_append_cstr(&v, "{\"Statement\":["), WC_OK);
    for (int i = 0; i < 200; i++)
        assert_int_equal(wc_buf_appendf(&v, "%s{\"Sid\": \"r\xc3\xa9gle-%d\"}", i ? ", " : "", i),
                         WC_OK);
    assert_int_equal(wc_buf_append_cstr(&v, "]}"), WC_OK);
    n = s_note_with_value(v.ptr);
    s = n->change.props[0].before;
    assert_true(s_starts(s, "{\"Statement\":[{\"Sid\":\"r\xc3\xa9gle-0\"},{\"Sid\":"));
    assert_true(strlen(s) <= WC_CHANGE_VALUE_MAX);
    assert_true(s_utf8_valid(s));
    assert_true(s_ends_with_ellipsis(s));
    wc_notification_destroy(n);
    wc_buf_clean_up(&v);
}


/* --- SNS subscription messages, periodic recording, tags, summaries ------ */

static void test_subscription_messages(void **state)
{
    static const struct {
        const char *rel;
        const char *type;
    } cases[] = {
        {"config/sns-subscription-confirmation.json", "SubscriptionConfirmation"},
        {"config/sns-unsubscribe-confirmation.json", "UnsubscribeConfirmation"},
    };
    struct wc_notification *n;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = s_parse_data(cases[i].rel);
        assert_int_equal(n->kind, WC_NOTE_OTHER);
        assert_int_equal(n->envelope, WC_ENV_SNS);
        assert_string_equal(n->message_type, cases[i].type);
        assert_true(wc_notification_is_subscription(n));
        assert_string_equal(n->sns_topic_arn, "arn:aws:sns:eu-west-1:123456789012:config-topic");
        assert_string_equal(n->sns_subscribe_url,
                            "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&"
                            "TopicArn=arn:aws:sns:eu-west-1:123456789012:config-topic&"
                            "Token=2336412f37EXAMPLE");
        wc_notification_destroy(n);
    }
    /* a Config notification, or another non-change, is not one */
    n = s_parse_ref(CFG "sns-doc-compliance-change.json");
    assert_false(wc_notification_is_subscription(n));
    assert_null(n->sns_subscribe_url);
    wc_notification_destroy(n);
    n = s_parse_ref(CFG "sns-doc-configuration-item-change-security-group-create.json");
    assert_false(wc_notification_is_subscription(n));
    wc_notification_destroy(n);
    /* without its URL it is still a subscription message (nothing to visit) */
    {
        struct wc_buf b = WC_BUF_INIT;

        wc_buf_init(&b, 0);
        assert_int_equal(wc_buf_append_cstr(&b, "{\"Type\":\"SubscriptionConfirmation\","
                                                "\"TopicArn\":\"arn:aws:sns:eu-west-1:"
                                                "123456789012:t\",\"Message\":\"x\"}"),
                         WC_OK);
        n = s_parse_buf(&b, "no SubscribeURL");
        assert_true(wc_notification_is_subscription(n));
        assert_null(n->sns_subscribe_url);
        wc_notification_destroy(n);
        wc_buf_clean_up(&b);
    }
    /* a SubscribeURL of the wrong type is refused like any other field */
    s_expect_fail_cstr("{\"Type\":\"SubscriptionConfirmation\",\"TopicArn\":\"arn:aws:sns:"
                       "eu-west-1:123456789012:t\",\"SubscribeURL\":42}",
                       WC_ERR_INVALID, "SubscribeURL");
}

/* recordingFrequency in every form a configuration item arrives in: SNS,
 * raw, EventBridge and the S3 object of an oversized item. */
static void test_periodic_recording(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_notification *n = NULL;
    char err[256] = "";
    int64_t lo, hi;

    (void)state;
    n = s_parse_data("config/eventbridge-periodic-daily.json");
    assert_int_equal(n->envelope, WC_ENV_EVENTBRIDGE);
    assert_string_equal(n->change.recording_frequency, "DAILY");
    assert_true(wc_change_is_periodic(&n->change));
    assert_int_equal(n->change.lookback_s, WC_PERIODIC_WINDOW_DEFAULT_H * 3600);
    wc_change_window(&n->change, 180, &lo, &hi);
    assert_int_equal(lo, n->change.capture_time_ms - (24 * 3600 + 180) * 1000LL);
    assert_int_equal(hi, n->change.capture_time_ms + 180 * 1000LL);
    wc_notification_destroy(n);

    /* raw (and, the same parser, SNS): DAILY, CONTINUOUS, absent */
    s_raw_note(&b, NULL, "\"recordingFrequency\":\"DAILY\"");
    n = s_parse_buf(&b, "raw daily");
    assert_true(wc_change_is_periodic(&n->change));
    assert_int_equal(n->change.lookback_s, 86400);
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
    s_raw_note(&b, NULL, "\"recordingFrequency\":\"CONTINUOUS\"");
    n = s_parse_buf(&b, "raw continuous");
    assert_string_equal(n->change.recording_frequency, "CONTINUOUS");
    assert_false(wc_change_is_periodic(&n->change));
    assert_int_equal(n->change.lookback_s, 0);
    wc_change_window(&n->change, 180, &lo, &hi);
    assert_int_equal(hi - lo, 360 * 1000LL);
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
    n = s_parse_ref(CFG "sns-doc-configuration-item-change-security-group-create.json");
    assert_null(n->change.recording_frequency);
    assert_int_equal(n->change.lookback_s, 0);
    wc_notification_destroy(n);
    /* a wrong type is an error like any other field's */
    s_raw_note(&b, NULL, "\"recordingFrequency\":7");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "recordingFrequency");
    wc_buf_clean_up(&b);

    /* the S3 object of an oversized item */
    s_raw_note(&b, NULL, "\"recordingFrequency\":\"DAILY\"");
    assert_int_equal(wc_notification_parse_oversized_object(wc_buf_str(&b), &n, err,
                                                            sizeof(err)), WC_OK);
    assert_true(wc_change_is_periodic(&n->change));
    assert_int_equal(n->change.lookback_s, 86400);
    {
        struct wc_change copy;

        assert_int_equal(wc_change_copy(&copy, &n->change), WC_OK);
        assert_string_equal(copy.recording_frequency, "DAILY");
        assert_int_equal(copy.lookback_s, 86400);
        wc_change_clean_up(&copy);
    }
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
}

static void test_tags(void **state)
{
    struct wc_buf b = WC_BUF_INIT, extra = WC_BUF_INIT;
    struct wc_notification *n;
    struct wc_change copy;
    char big[WC_CHANGE_TAG_VALUE_MAX + 2];

    (void)state;
    n = s_parse_data("config/eventbridge-periodic-daily.json");
    assert_int_equal(n->change.tag_keys.len, 3);
    assert_int_equal(n->change.tag_values.len, 3);
    assert_string_equal(wc_change_tag(&n->change, "aws:cloudformation:stack-name"),
                        "web-prod-stack");
    assert_string_equal(wc_change_tag(&n->change, "ManagedBy"), "terraform");
    assert_null(wc_change_tag(&n->change, "managedby"));
    assert_int_equal(wc_change_copy(&copy, &n->change), WC_OK);
    assert_string_equal(wc_change_tag(&copy, "Name"), "web-prod");
    wc_change_clean_up(&copy);
    wc_notification_destroy(n);

    /* too many, too long, not strings: kept up to the caps, others left out */
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    wc_buf_init(&extra, 0);
    assert_int_equal(wc_buf_appendf(&extra, "\"tags\":{\"long\":\"%s\",\"num\":3,", big), WC_OK);
    for (int i = 0; i < WC_CHANGE_MAX_TAGS + 10; i++)
        assert_int_equal(wc_buf_appendf(&extra, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i), WC_OK);
    assert_int_equal(wc_buf_append_char(&extra, '}'), WC_OK);
    s_raw_note(&b, NULL, extra.ptr);
    n = s_parse_buf(&b, "many tags");
    assert_int_equal(n->change.tag_keys.len, WC_CHANGE_MAX_TAGS);
    assert_null(wc_change_tag(&n->change, "long"));
    assert_null(wc_change_tag(&n->change, "num"));
    assert_string_equal(wc_change_tag(&n->change, "k0"), "v0");
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&extra);
}

/* Each property's summary comes from the whole value: a security-group
 * rule keeps its 0.0.0.0/0 and a long policy its Action, however long the
 * rendered value. */
static void test_property_summaries(void **state)
{
    struct wc_buf v = WC_BUF_INIT, diff = WC_BUF_INIT, b = WC_BUF_INIT;
    struct wc_notification *n;

    (void)state;
    n = s_parse_data("config/eventbridge-periodic-daily.json");
    assert_null(n->change.props[0].before_summary);
    assert_string_equal(n->change.props[0].after_summary, "tcp/22 from 0.0.0.0/0");
    wc_notification_destroy(n);

    /* a policy whose rendered value is cut long before its last statement */
    wc_buf_init(&v, 0);
    assert_int_equal(wc_buf_append_cstr(&v, "{\"Version\":\"2012-10-17\",\"Statement\":["), WC_OK);
    for (int i = 0; i < 30; i++)
        assert_int_equal(wc_buf_appendf(&v, "{\"Sid\":\"padding-padding-padding-%d\",\"Effect\":"
                                            "\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:Get%d\","
                                            "\"Resource\":\"arn:aws:s3:::b/%d\"},", i, i, i),
                         WC_OK);
    assert_int_equal(wc_buf_append_cstr(&v, "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                                            "\"Action\":\"s3:PutObject\",\"Resource\":"
                                            "\"arn:aws:s3:::b/*\"}]}"),
                     WC_OK);
    wc_buf_init(&diff, 0);
    {
        /* policyText is the policy as JSON text (a string) */
        cJSON *str = cJSON_CreateString(v.ptr);
        char *quoted = cJSON_PrintUnformatted(str);

        assert_int_equal(wc_buf_appendf(&diff, "{\"changeType\":\"UPDATE\",\"changedProperties\":"
                                               "{\"SupplementaryConfiguration.BucketPolicy\":"
                                               "{\"updatedValue\":{\"policyText\":%s},"
                                               "\"changeType\":\"UPDATE\"}}}",
                                        quoted),
                         WC_OK);
        cJSON_free(quoted);
        cJSON_Delete(str);
    }
    s_raw_note(&b, diff.ptr, "");
    n = s_parse_buf(&b, "bucket policy");
    assert_true(strlen(n->change.props[0].after) <= WC_CHANGE_VALUE_MAX);
    assert_null(strstr(n->change.props[0].after, "s3:PutObject")); /* cut off the raw value */
    assert_non_null(n->change.props[0].after_summary);
    /* 31 statements: the first ones, then a count of those left out */
    assert_true(strncmp(n->change.props[0].after_summary,
                        "Deny * to s3:Get0 on arn:aws:s3:::b/0\n", 38) == 0);
    assert_non_null(strstr(n->change.props[0].after_summary, " and "));
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&diff);
    wc_buf_clean_up(&v);
}

static void test_many_properties(void **state)
{
    struct wc_buf diff = WC_BUF_INIT, b = WC_BUF_INIT;
    struct wc_notification *n, *copy_src;
    struct wc_change copy;

    (void)state;
    wc_buf_init(&diff, 0);
    assert_int_equal(wc_buf_append_cstr(&diff, "{\"changeType\":\"UPDATE\",\"changedProperties\":{"),
                     WC_OK);
    /* written in reverse so the parser has to sort */
    for (int i = 119; i >= 0; i--)
        assert_int_equal(wc_buf_appendf(&diff,
                                        "%s\"Tags.%d\":{\"updatedValue\":\"v%d\",\"changeType\":"
                                        "\"CREATE\"}",
                                        i == 119 ? "" : ",", i, i),
                         WC_OK);
    assert_int_equal(wc_buf_append_cstr(&diff, "}}"), WC_OK);
    s_raw_note(&b, diff.ptr, "");
    n = s_parse_buf(&b, "120 properties");
    assert_int_equal(n->change.n_props_total, 120);
    assert_int_equal(n->change.n_props, WC_CHANGE_MAX_PROPERTIES);
    for (int i = 0; i < WC_CHANGE_MAX_PROPERTIES; i++) {
        char path[32], val[32];

        snprintf(path, sizeof(path), "Tags.%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        assert_string_equal(n->change.props[i].path, path);
        assert_string_equal(n->change.props[i].after, val);
        assert_null(n->change.props[i].before);
    }

    /* wc_change_copy: deep and independent */
    copy_src = n;
    assert_int_equal(wc_change_copy(&copy, &copy_src->change), WC_OK);
    s_assert_change_equal(&copy, &copy_src->change);
    assert_ptr_not_equal(copy.props, copy_src->change.props);
    assert_ptr_not_equal(copy.resource_id, copy_src->change.resource_id);
    wc_notification_destroy(n);
    assert_string_equal(copy.props[49].path, "Tags.49");
    assert_string_equal(copy.resource_id, "my-bucket");
    wc_change_clean_up(&copy);
    assert_null(copy.props);
    wc_change_clean_up(&copy); /* twice is fine */
    wc_change_clean_up(NULL);
    wc_notification_destroy(NULL);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&diff);
}

static void test_related_events(void **state)
{
    struct wc_buf extra = WC_BUF_INIT, b = WC_BUF_INIT;
    struct wc_notification *n;

    (void)state;
    wc_buf_init(&extra, 0);
    assert_int_equal(wc_buf_append_cstr(&extra, "\"relatedEvents\":["), WC_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(wc_buf_appendf(&extra, "%s\"evt-%03d\"", i ? "," : "", i), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&extra, "]"), WC_OK);
    s_raw_note(&b, "", extra.ptr);
    n = s_parse_buf(&b, "100 related events");
    assert_int_equal(n->change.related_event_ids.len, WC_CHANGE_MAX_RELATED);
    assert_string_equal(n->change.related_event_ids.items[0], "evt-000");
    assert_string_equal(n->change.related_event_ids.items[WC_CHANGE_MAX_RELATED - 1], "evt-063");
    assert_null(n->change.change_type);
    assert_int_equal(n->change.n_props, 0);
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);

    s_raw_note(&b, "", "\"relatedEvents\":[\"ok\",17]");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "relatedEvents[1]");
    wc_buf_clean_up(&b);
    s_raw_note(&b, "", "\"relatedEvents\":\"evt-1\"");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "relatedEvents");
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&extra);
}

/* Found by tests/fuzz/fuzz_slack: bytes that are not UTF-8 went through
 * cJSON into the change and from there into the Slack and webhook JSON,
 * which Slack refuses. The body must be UTF-8 (RFC 8259). */
static void test_invalid_utf8(void **state)
{
    static const char good[] =
        "{\"messageType\":\"ConfigurationItemChangeNotification\",\"configurationItem\":{"
        "\"resourceType\":\"AWS::S3::Bucket\",\"resourceId\":\"caf\xc3\xa9-\xf0\x9f\x98\x80\","
        "\"awsAccountId\":\"123456789012\",\"awsRegion\":\"eu-west-1\","
        "\"configurationItemCaptureTime\":\"2024-05-01T12:00:00.000Z\"}}";
    struct wc_notification *n = NULL;
    char bad[sizeof(good)], err[256] = "";
    char *at;

    (void)state;
    assert_int_equal(wc_notification_parse(WC_STR_LIT(good), &n, err, sizeof(err)), WC_OK);
    assert_string_equal(n->change.resource_id, "caf\xc3\xa9-\xf0\x9f\x98\x80");
    wc_notification_destroy(n);
    memcpy(bad, good, sizeof(good));
    at = strstr(bad, "\xc3\xa9");
    at[1] = 'X'; /* lead byte without its continuation */
    s_expect_fail((struct wc_str){bad, sizeof(bad) - 1}, WC_ERR_PARSE,
                  "message body is not valid UTF-8 at byte");
    n = NULL;
    assert_int_equal(wc_notification_parse_oversized_object((struct wc_str){bad, sizeof(bad) - 1},
                                                           &n, err, sizeof(err)),
                     WC_ERR_PARSE);
    assert_null(n);
    assert_non_null(strstr(err, "not valid UTF-8"));
}

/* --- hostile input ------------------------------------------------------ */

static void test_invalid_shapes(void **state)
{
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    s_expect_fail_data("config/truncated.json", WC_ERR_PARSE, "not valid JSON at byte");
    s_expect_fail_data("config/sns-message-number.json", WC_ERR_INVALID,
                       "Message is a number");
    s_expect_fail_data("config/sns-message-invalid-json.json", WC_ERR_PARSE,
                       "SNS envelope: Message is not valid JSON at byte 56");
    s_expect_fail_data("config/sns-message-not-object.json", WC_ERR_INVALID, "array");
    s_expect_fail_data("config/raw-resource-id-number.json", WC_ERR_INVALID,
                       "configurationItem.resourceId is a number");
    s_expect_fail_data("config/raw-configuration-item-string.json", WC_ERR_INVALID,
                       "configurationItem is a string");
    s_expect_fail_data("config/raw-missing-capture-time.json", WC_ERR_INVALID,
                       "configurationItemCaptureTime");
    s_expect_fail_data("config/raw-bad-capture-time.json", WC_ERR_INVALID,
                       "not an ISO 8601 time");
    s_expect_fail_data("config/raw-missing-resource-type.json", WC_ERR_INVALID, "resourceType");
    s_expect_fail_data("config/raw-no-message-type.json", WC_ERR_INVALID,
                       "not an AWS Config notification (no messageType)");
    s_expect_fail_data("config/eventbridge-not-config.json", WC_ERR_INVALID, "aws.ec2");

    s_expect_fail(WC_STR_NULL, WC_ERR_PARSE, "empty");
    s_expect_fail_cstr("", WC_ERR_PARSE, "empty");
    s_expect_fail_cstr("   \n", WC_ERR_PARSE, "not valid JSON");
    s_expect_fail_cstr("{\"Type\":\"Notification\",\"Message\":\"{\\\"a\\\":", WC_ERR_PARSE,
                       "message body is not valid JSON");
    s_expect_fail_cstr("[1,2]", WC_ERR_INVALID, "expected an object");
    s_expect_fail_cstr("42", WC_ERR_INVALID, "expected an object");
    s_expect_fail_cstr("null", WC_ERR_INVALID, "expected an object");
    s_expect_fail_cstr("{}", WC_ERR_INVALID, "no messageType");
    s_expect_fail_cstr("{} trailing", WC_ERR_PARSE, "data after the value");
    s_expect_fail(WC_STR_LIT("{}\0{}"), WC_ERR_PARSE, "byte 2");
    s_expect_fail_cstr("{\"messageType\":7}", WC_ERR_INVALID, "messageType is a number");
    s_expect_fail_cstr("{\"Type\":\"Notification\",\"Message\":null}", WC_ERR_INVALID,
                       "Message is null");
    s_expect_fail_cstr("{\"Type\":\"Notification\",\"Message\":\"\"}", WC_ERR_PARSE,
                       "Message is empty");
    s_expect_fail_cstr("{\"Type\":\"Notification\",\"Message\":\"{}\"}", WC_ERR_INVALID,
                       "no messageType");
    s_expect_fail_cstr("{\"source\":\"aws.config\",\"detail-type\":\"Config Configuration Item "
                       "Change\",\"detail\":\"x\"}", WC_ERR_INVALID, "detail is a string");
    s_expect_fail_cstr("{\"source\":\"aws.config\",\"detail-type\":\"Config Configuration Item "
                       "Change\",\"detail\":{}}", WC_ERR_INVALID, "no messageType");
    s_expect_fail_cstr("{\"source\":7,\"detail-type\":\"x\",\"detail\":{}}", WC_ERR_INVALID,
                       "source is a number");
    s_expect_fail_cstr("{\"messageType\":\"ConfigurationItemChangeNotification\","
                       "\"configurationItem\":[]}", WC_ERR_INVALID, "empty array");
    s_expect_fail_cstr("{\"messageType\":\"ConfigurationItemChangeNotification\","
                       "\"configurationItem\":[\"x\"]}", WC_ERR_INVALID, "configurationItem[0]");
    s_expect_fail_cstr("{\"messageType\":\"ConfigurationItemChangeNotification\"}",
                       WC_ERR_INVALID, "configurationItem is missing");

    /* a change needs a region from somewhere */
    s_expect_fail_cstr("{\"messageType\":\"ConfigurationItemChangeNotification\","
                       "\"configurationItem\":{\"resourceType\":\"AWS::EC2::VPC\","
                       "\"resourceId\":\"vpc-1\",\"configurationItemCaptureTime\":"
                       "\"2024-05-01T12:00:00Z\",\"availabilityZone\":\"Regional\"}}",
                       WC_ERR_INVALID, "awsRegion");
    /* wrong types inside the diff */
    s_raw_note(&b, "\"UPDATE\"", "");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "configurationItemDiff is a string");
    wc_buf_clean_up(&b);
    s_raw_note(&b, "{\"changedProperties\":[]}", "");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "changedProperties is an array");
    wc_buf_clean_up(&b);
    s_raw_note(&b, "{\"changedProperties\":{\"Tags.0\":5}}", "");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "Tags.0");
    wc_buf_clean_up(&b);
    s_raw_note(&b, "{\"changedProperties\":{\"Tags.0\":{\"changeType\":true}}}", "");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "changeType is a boolean");
    wc_buf_clean_up(&b);
    s_raw_note(&b, "", "\"resourceName\":[\"a\"]");
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "resourceName is an array");
    wc_buf_clean_up(&b);
    /* ... while null diff members are fine */
    s_raw_note(&b, "{\"changeType\":null,\"changedProperties\":null}", "\"ARN\":null");
    {
        struct wc_notification *n = s_parse_buf(&b, "nulls");

        assert_null(n->change.change_type);
        assert_null(n->change.arn);
        assert_int_equal(n->change.n_props, 0);
        wc_notification_destroy(n);
    }
    wc_buf_clean_up(&b);
}

/* A raw change with account, region and capture time given (JSON text of
 * each value, quotes included). */
static void s_ident_note(struct wc_buf *b, const char *account, const char *region,
                         const char *when, const char *id)
{
    wc_buf_init(b, 0);
    assert_int_equal(
        wc_buf_appendf(b,
                       "{\"messageType\":\"ConfigurationItemChangeNotification\","
                       "\"configurationItem\":{\"resourceType\":\"AWS::EC2::SecurityGroup\","
                       "\"resourceId\":%s,\"awsRegion\":%s,\"awsAccountId\":%s,"
                       "\"configurationItemCaptureTime\":%s}}",
                       id, region, account, when),
        WC_OK);
}

/* rc and reason of parsing s_ident_note(...) at a pinned now. */
static int s_ident_parse(const char *account, const char *region, const char *when,
                         const char *id, char *err, size_t errlen)
{
    const int64_t now_ms = 1714564800000LL; /* 2024-05-01T12:00:00Z */
    struct wc_notification *n = NULL;
    struct wc_buf b = WC_BUF_INIT;
    int rc;

    s_ident_note(&b, account, region, when, id);
    err[0] = '\0';
    rc = wc_notification_parse_at(wc_buf_str(&b), now_ms, &n, err, errlen);
    if (rc == WC_OK)
        assert_non_null(n);
    else
        assert_null(n);
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
    return rc;
}

/* Identifiers that cannot be AWS's make the message permanently invalid
 * (review finding 13): before, such a message was looked up, failed, and
 * was retried every 30 s instead of going to the dead-letter queue. */
static void test_identifier_validation(void **state)
{
    static const struct {
        const char *account, *region, *when, *id, *needle;
    } bad[] = {
        {"\"12345678901\"", "\"eu-west-1\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\"",
         "account id \"12345678901\" is not 12 digits"},
        {"\"12345678901x\"", "\"eu-west-1\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\"",
         "is not 12 digits"},
        {"\"\"", "\"eu-west-1\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\"", "is not 12 digits"},
        {"\"123456789012\"", "\"eu-west-1/../x\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\"",
         "region \"eu-west-1/../x\" is not an AWS region"},
        {"\"123456789012\"", "\"EU-WEST-1\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\"",
         "is not an AWS region"},
        {"\"123456789012\"", "\"localhost\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\"",
         "is not an AWS region"},
        /* capture time: before 2005, or more than a day ahead of now */
        {"\"123456789012\"", "\"eu-west-1\"", "\"2004-12-31T23:59:59Z\"", "\"sg-1\"",
         "configurationItemCaptureTime 2004-12-31T23:59:59Z is before 2005"},
        {"\"123456789012\"", "\"eu-west-1\"", "\"1970-01-01T00:00:00Z\"", "\"sg-1\"",
         "before 2005"},
        {"\"123456789012\"", "\"eu-west-1\"", "\"2024-05-02T12:00:01Z\"", "\"sg-1\"",
         "more than a day ahead"},
        {"\"123456789012\"", "\"eu-west-1\"", "\"9999-12-31T00:00:00Z\"", "\"sg-1\"",
         "more than a day ahead"},
        /* an escaped NUL would cut the id short ("sg-1" for "sg-1<NUL>x") */
        {"\"123456789012\"", "\"eu-west-1\"", "\"2024-05-01T11:59:00Z\"",
         "\"sg-1\\u0000x\"", "NUL character"},
        {"\"1234567890\\u000012\"", "\"eu-west-1\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\"",
         "NUL character"},
    };
    static const struct {
        const char *account, *region, *when, *id;
    } good[] = {
        {"\"123456789012\"", "\"eu-west-1\"", "\"2024-05-01T11:59:00Z\"", "\"sg-1\""},
        {"\"123456789012\"", "\"global\"", "\"2005-01-01T00:00:00Z\"", "\"sg-1\""},
        {"\"123456789012\"", "\"us-gov-west-1\"", "\"2024-05-02T12:00:00Z\"", "\"sg-1\""},
        /* an escaped backslash before u0000 is text, not a NUL */
        {"\"123456789012\"", "\"eu-west-1\"", "\"2024-05-01T11:59:00Z\"",
         "\"sg-1\\\\u0000\""},
    };
    struct wc_buf b = WC_BUF_INIT;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = s_ident_parse(bad[i].account, bad[i].region, bad[i].when, bad[i].id, err,
                               sizeof(err));

        if (rc != WC_ERR_INVALID || !strstr(err, bad[i].needle))
            fail_msg("case %zu: rc %d, \"%s\" (want \"%s\")", i, rc, err, bad[i].needle);
        assert_null(strchr(err, '\n'));
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (s_ident_parse(good[i].account, good[i].region, good[i].when, good[i].id, err,
                          sizeof(err)) != WC_OK)
            fail_msg("good case %zu refused: %s", i, err);
    /* the NUL inside an SNS Message (escaped twice) is found too */
    wc_buf_init(&b, 0);
    assert_int_equal(wc_buf_append_cstr(&b, "{\"Type\":\"Notification\",\"TopicArn\":"
                                            "\"arn:aws:sns:eu-west-1:123456789012:t\",\"Message\":"
                                            "\"{\\\"messageType\\\":\\\"ConfigurationItemChange"
                                            "Notification\\\",\\\"configurationItem\\\":{"
                                            "\\\"resourceType\\\":\\\"AWS::S3::Bucket\\\","
                                            "\\\"resourceId\\\":\\\"b\\\\u0000x\\\","
                                            "\\\"configurationItemCaptureTime\\\":"
                                            "\\\"2024-05-01T11:59:00Z\\\"}}\"}"),
                     WC_OK);
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "SNS envelope: Message holds a NUL character");
    wc_buf_clean_up(&b);
    /* a region from the SNS topic is checked the same way */
    wc_buf_init(&b, 0);
    assert_int_equal(wc_buf_append_cstr(&b, "{\"Type\":\"Notification\",\"TopicArn\":"
                                            "\"arn:aws:sns:not_a_region:123456789012:t\",\"Message\":"
                                            "\"{\\\"messageType\\\":\\\"ConfigurationItemChange"
                                            "Notification\\\",\\\"configurationItem\\\":{"
                                            "\\\"resourceType\\\":\\\"AWS::S3::Bucket\\\","
                                            "\\\"resourceId\\\":\\\"b\\\","
                                            "\\\"configurationItemCaptureTime\\\":"
                                            "\\\"2024-05-01T11:59:00Z\\\"}}\"}"),
                     WC_OK);
    s_expect_fail(wc_buf_str(&b), WC_ERR_INVALID, "region \"not_a_region\"");
    wc_buf_clean_up(&b);
}

static void test_error_buffer_handling(void **state)
{
    struct wc_notification *n = NULL;
    char tiny[8];

    (void)state;
    /* no errbuf at all */
    assert_int_equal(wc_notification_parse(WC_STR_LIT("{"), &n, NULL, 0), WC_ERR_PARSE);
    assert_null(n);
    /* a short errbuf is filled and terminated, never overrun */
    memset(tiny, 'X', sizeof(tiny));
    assert_int_equal(wc_notification_parse(WC_STR_LIT("{"), &n, tiny, sizeof(tiny)),
                     WC_ERR_PARSE);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_int_equal(wc_notification_parse(WC_STR_LIT("{}"), NULL, tiny, sizeof(tiny)),
                     WC_ERR_INVALID);
}

static void test_huge_input(void **state)
{
    struct wc_buf b = WC_BUF_INIT, big = WC_BUF_INIT;
    struct wc_notification *n;
    size_t len = WC_NOTIFICATION_MAX_BYTES + 1;
    char *p;

    (void)state;
    /* over the cap: refused before parsing */
    p = malloc(len);
    assert_non_null(p);
    memset(p, ' ', len);
    p[0] = '{';
    p[len - 1] = '}';
    s_expect_fail((struct wc_str){p, len}, WC_ERR_TOO_LARGE, "limit");
    free(p);

    /* a 3 MB resourceId under the body cap: refused as a field */
    wc_buf_init(&big, 0);
    assert_int_equal(wc_buf_append_cstr(&big, "\"resourceName\":\""), WC_OK);
    for (int i = 0; i < 3 * 1024 * 1024 / 64; i++)
        assert_int_equal(wc_buf_append_cstr(&big, "0123456789abcdef0123456789abcdef"
                                                  "0123456789abcdef0123456789abcdef"),
                         WC_OK);
    assert_int_equal(wc_buf_append_cstr(&big, "\""), WC_OK);
    s_raw_note(&b, "", big.ptr);
    s_expect_fail(wc_buf_str(&b), WC_ERR_TOO_LARGE, "resourceName is longer than");
    wc_buf_clean_up(&b);

    /* the same 3 MB string as a property value: kept, cut to WC_CHANGE_VALUE_MAX bytes */
    wc_buf_reset(&big);
    assert_int_equal(wc_buf_append_cstr(&big, "{\"changedProperties\":{\"Configuration.Blob\":"
                                              "{\"changeType\":\"UPDATE\",\"updatedValue\":\""),
                     WC_OK);
    for (int i = 0; i < 3 * 1024 * 1024 / 64; i++)
        assert_int_equal(wc_buf_append_cstr(&big, "0123456789abcdef0123456789abcdef"
                                                  "0123456789abcdef0123456789abcdef"),
                         WC_OK);
    assert_int_equal(wc_buf_append_cstr(&big, "\"}}}"), WC_OK);
    s_raw_note(&b, big.ptr, "");
    assert_true(b.len < WC_NOTIFICATION_MAX_BYTES);
    n = s_parse_buf(&b, "3 MB value");
    assert_int_equal(strlen(n->change.props[0].after), WC_CHANGE_VALUE_MAX);
    assert_true(s_ends_with_ellipsis(n->change.props[0].after));
    wc_notification_destroy(n);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&big);
}

static void test_deep_nesting(void **state)
{
    struct wc_buf b = WC_BUF_INIT, v = WC_BUF_INIT;
    struct wc_notification *n;
    const int deep = 100000;

    (void)state;
    /* 100000 nested arrays as the body */
    wc_buf_init(&b, 0);
    for (int i = 0; i < deep; i++)
        assert_int_equal(wc_buf_append_char(&b, '['), WC_OK);
    for (int i = 0; i < deep; i++)
        assert_int_equal(wc_buf_append_char(&b, ']'), WC_OK);
    s_expect_fail(wc_buf_str(&b), WC_ERR_PARSE, "nested deeper than");
    wc_buf_reset(&b);

    /* 100000 nested objects inside a valid-looking change */
    assert_int_equal(wc_buf_append_cstr(&b, "{\"messageType\":\"ConfigurationItemChangeNotification\","
                                            "\"configurationItemDiff\":"),
                     WC_OK);
    for (int i = 0; i < deep; i++)
        assert_int_equal(wc_buf_append_cstr(&b, "{\"a\":"), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, "1"), WC_OK);
    for (int i = 0; i < deep; i++)
        assert_int_equal(wc_buf_append_char(&b, '}'), WC_OK);
    assert_int_equal(wc_buf_append_char(&b, '}'), WC_OK);
    s_expect_fail(wc_buf_str(&b), WC_ERR_PARSE, "nested deeper than");
    wc_buf_reset(&b);

    /* deep nesting inside the SNS Message string */
    assert_int_equal(wc_buf_append_cstr(&b, "{\"Type\":\"Notification\",\"Message\":\""), WC_OK);
    for (int i = 0; i < deep; i++)
        assert_int_equal(wc_buf_append_char(&b, '['), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, "\"}"), WC_OK);
    s_expect_fail(wc_buf_str(&b), WC_ERR_PARSE, "SNS envelope: Message is not valid JSON: nested");
    wc_buf_clean_up(&b);

    /* nesting within the limit is parsed and rendered (then cut) */
    wc_buf_init(&v, 0);
    for (int i = 0; i < 900; i++)
        assert_int_equal(wc_buf_append_char(&v, '['), WC_OK);
    for (int i = 0; i < 900; i++)
        assert_int_equal(wc_buf_append_char(&v, ']'), WC_OK);
    n = s_note_with_value(v.ptr);
    assert_true(s_ends_with_ellipsis(n->change.props[0].before));
    assert_int_equal(n->change.props[0].before[0], '[');
    wc_notification_destroy(n);
    wc_buf_clean_up(&v);
}

static void test_every_prefix_fails_cleanly(void **state)
{
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    /* every strict prefix of a wire sample is an error, never a crash */
    wc_test_read_ref(CFG "sns-wire-configuration-item-change-security-group-create.json", &b);
    for (size_t cut = 0; cut + 2 < b.len; cut += 7) {
        struct wc_notification *n = NULL;
        char err[256] = "";
        int rc = wc_notification_parse((struct wc_str){b.ptr, cut}, &n, err, sizeof(err));

        assert_int_equal(rc, WC_ERR_PARSE);
        assert_null(n);
        assert_true(err[0] != '\0');
    }
    wc_buf_clean_up(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ec2_instance_update),
        cmocka_unit_test(test_security_group_create),
        cmocka_unit_test(test_legacy_array_shape),
        cmocka_unit_test(test_envelope_hints),
        cmocka_unit_test(test_eventbridge_change),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_oversized_object),
        cmocka_unit_test(test_ignorable_types),
        cmocka_unit_test(test_sqs_receive_bodies),
        cmocka_unit_test(test_lookup_region),
        cmocka_unit_test(test_property_order_and_rendering),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_many_properties),
        cmocka_unit_test(test_related_events),
        cmocka_unit_test(test_identifier_validation),
        cmocka_unit_test(test_invalid_shapes),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_error_buffer_handling),
        cmocka_unit_test(test_huge_input),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_every_prefix_fails_cleanly),
        cmocka_unit_test(test_subscription_messages),
        cmocka_unit_test(test_periodic_recording),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_property_summaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
