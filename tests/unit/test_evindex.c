/* Unit tests for core/evstream (the events queue's bodies) and core/evindex
 * (the bounded index of streamed events): the verdict from the index equals
 * the verdict of a LookupEvents scan over the same events, eviction by age
 * and by bytes, duplicates, order, other accounts and regions, watches. */
#include "tests/support/testutil.h"
#include "tests/support/trail_scenario.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/change.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/event.h"
#include "core/evindex.h"
#include "core/evstream.h"
#include "core/finding.h"
#include "core/policy.h"
#include "core/trail.h"

#define ACCOUNT WC_TEST_ACCOUNT
#define OTHER_ACCOUNT WC_TEST_OTHER_ACCOUNT
#define REGION WC_TEST_REGION
#define OTHER_REGION WC_TEST_OTHER_REGION
#define T0 WC_TEST_T0
#define SKEW WC_TEST_SKEW
#define MIN_MS (60 * 1000LL)

/* ---- helpers ------------------------------------------------------------- */

static struct wc_test_rng s_rng = {1};

static uint32_t s_rand(void)
{
    return wc_test_rand(&s_rng);
}

static cJSON *s_identity(enum wc_test_who who, const char *account)
{
    char arn[160];
    cJSON *id = cJSON_CreateObject(), *sc, *iss;

    assert_non_null(id);
    switch (who) {
    case WC_TEST_HUMAN:
        snprintf(arn, sizeof(arn), "arn:aws:iam::%s:user/alice", account);
        cJSON_AddStringToObject(id, "type", "IAMUser");
        cJSON_AddStringToObject(id, "principalId", "AIDAEXAMPLEALICE0001");
        cJSON_AddStringToObject(id, "arn", arn);
        cJSON_AddStringToObject(id, "accountId", account);
        cJSON_AddStringToObject(id, "accessKeyId", "AKIAEXAMPLEALICE0001");
        cJSON_AddStringToObject(id, "userName", "alice");
        break;
    case WC_TEST_AUTOMATION:
        snprintf(arn, sizeof(arn), "arn:aws:sts::%s:assumed-role/terraform-deployer/tf",
                 account);
        cJSON_AddStringToObject(id, "type", "AssumedRole");
        cJSON_AddStringToObject(id, "principalId", "AROAEXAMPLETERRAFORM:tf");
        cJSON_AddStringToObject(id, "arn", arn);
        cJSON_AddStringToObject(id, "accountId", account);
        cJSON_AddStringToObject(id, "accessKeyId", "ASIAEXAMPLETERRAFORM");
        sc = cJSON_AddObjectToObject(id, "sessionContext");
        iss = cJSON_AddObjectToObject(sc, "sessionIssuer");
        cJSON_AddStringToObject(iss, "type", "Role");
        snprintf(arn, sizeof(arn), "arn:aws:iam::%s:role/terraform-deployer", account);
        cJSON_AddStringToObject(iss, "arn", arn);
        cJSON_AddStringToObject(iss, "accountId", account);
        cJSON_AddStringToObject(iss, "userName", "terraform-deployer");
        break;
    case WC_TEST_SERVICE:
        cJSON_AddStringToObject(id, "type", "AWSService");
        cJSON_AddStringToObject(id, "invokedBy", "autoscaling.amazonaws.com");
        break;
    }
    return id;
}

static const char *s_ua(enum wc_test_who who)
{
    return who == WC_TEST_HUMAN        ? "aws-cli/2.15.0 Python/3.11.6"
           : who == WC_TEST_AUTOMATION ? "APN/1.0 HashiCorp/1.0 Terraform/1.7.0"
                               : "autoscaling.amazonaws.com";
}

static const char *s_ip(enum wc_test_who who)
{
    return who == WC_TEST_HUMAN ? "198.51.100.23" : who == WC_TEST_AUTOMATION ? "203.0.113.7"
                                                              : "autoscaling.amazonaws.com";
}

/* The ingress rule every security-group call carries (strings that name
 * nothing: "tcp", a CIDR, a description). */
static void s_add_rule(cJSON *rp)
{
    cJSON *perms = cJSON_AddObjectToObject(rp, "ipPermissions");
    cJSON *items = cJSON_AddArrayToObject(perms, "items");
    cJSON *rule = cJSON_CreateObject(), *ranges, *ritems, *range = cJSON_CreateObject();

    cJSON_AddStringToObject(rule, "ipProtocol", "tcp");
    cJSON_AddNumberToObject(rule, "fromPort", 22);
    cJSON_AddNumberToObject(rule, "toPort", 22);
    ranges = cJSON_AddObjectToObject(rule, "ipRanges");
    ritems = cJSON_AddArrayToObject(ranges, "items");
    cJSON_AddStringToObject(range, "cidrIp", "0.0.0.0/0");
    cJSON_AddStringToObject(range, "description", "ssh from anywhere");
    cJSON_AddItemToArray(ritems, range);
    cJSON_AddItemToArray(items, rule);
}

static cJSON *s_record(const struct wc_test_event_spec *r)
{
    cJSON *rec = cJSON_CreateObject(), *rp, *res, *one, *gs, *gi, *g;
    char when[WC_TIME_ISO_MAX], inst[64];

    assert_non_null(rec);
    wc_time_format_iso8601(r->time_ms, when);
    cJSON_AddStringToObject(rec, "eventVersion", "1.10");
    cJSON_AddItemToObject(rec, "userIdentity", s_identity(r->who, r->account));
    cJSON_AddStringToObject(rec, "eventTime", when);
    cJSON_AddStringToObject(rec, "eventSource", "ec2.amazonaws.com");
    cJSON_AddStringToObject(rec, "eventName", r->name);
    cJSON_AddStringToObject(rec, "awsRegion", r->region);
    cJSON_AddStringToObject(rec, "sourceIPAddress", s_ip(r->who));
    cJSON_AddStringToObject(rec, "userAgent", s_ua(r->who));
    if (r->error) {
        cJSON_AddStringToObject(rec, "errorCode", r->error);
        cJSON_AddStringToObject(rec, "errorMessage", "You are not authorized.");
    }
    rp = cJSON_AddObjectToObject(rec, "requestParameters");
    switch (r->naming) {
    case WC_TEST_BY_ID:
        cJSON_AddStringToObject(rp, "groupId", r->named);
        s_add_rule(rp);
        break;
    case WC_TEST_BY_NAME:
        cJSON_AddStringToObject(rp, "groupName", r->named);
        s_add_rule(rp);
        break;
    case WC_TEST_BY_ARN:
        s_add_rule(rp);
        res = cJSON_AddArrayToObject(rec, "resources");
        one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "accountId", r->account);
        cJSON_AddStringToObject(one, "type", "AWS::EC2::SecurityGroup");
        cJSON_AddStringToObject(one, "ARN", r->named);
        cJSON_AddItemToArray(res, one);
        break;
    case WC_TEST_BY_NONE:
        s_add_rule(rp);
        break;
    case WC_TEST_BY_OTHER:
        snprintf(inst, sizeof(inst), "i-0%s", r->named + 4);
        cJSON_AddStringToObject(rp, "instanceId", inst);
        gs = cJSON_AddObjectToObject(rp, "groupSet");
        gi = cJSON_AddArrayToObject(gs, "items");
        g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "groupId", r->named);
        cJSON_AddItemToArray(gi, g);
        break;
    }
    if (r->read_only) {
        cJSON_AddNullToObject(rec, "responseElements");
    } else if (!r->error) {
        one = cJSON_AddObjectToObject(rec, "responseElements");
        cJSON_AddStringToObject(one, "requestId", "5e1d2a7c-0000-4000-8000-000000000000");
        cJSON_AddTrueToObject(one, "_return");
    }
    cJSON_AddStringToObject(rec, "requestID", "5e1d2a7c-0000-4000-8000-000000000000");
    cJSON_AddStringToObject(rec, "eventID", r->event_id);
    cJSON_AddBoolToObject(rec, "readOnly", r->read_only);
    cJSON_AddStringToObject(rec, "eventType", "AwsApiCall");
    cJSON_AddTrueToObject(rec, "managementEvent");
    cJSON_AddStringToObject(rec, "recipientAccountId", r->account);
    cJSON_AddStringToObject(rec, "eventCategory", "Management");
    return rec;
}

/* The EventBridge event around a record; in an SNS envelope when sns. */
static char *s_body(const cJSON *rec, const char *account, const char *region, bool sns)
{
    cJSON *ev = cJSON_CreateObject(), *env;
    char *text, *out;

    assert_non_null(ev);
    cJSON_AddStringToObject(ev, "version", "0");
    cJSON_AddStringToObject(ev, "id", "6f5d7b3e-1c2a-4d7e-9e8f-0a1b2c3d4e5f");
    cJSON_AddStringToObject(ev, "detail-type", "AWS API Call via CloudTrail");
    cJSON_AddStringToObject(ev, "source", "aws.ec2");
    cJSON_AddStringToObject(ev, "account", account);
    cJSON_AddStringToObject(ev, "time", "2024-05-01T12:00:00Z");
    cJSON_AddStringToObject(ev, "region", region);
    cJSON_AddArrayToObject(ev, "resources");
    cJSON_AddItemToObject(ev, "detail", cJSON_Duplicate(rec, true));
    text = cJSON_PrintUnformatted(ev);
    assert_non_null(text);
    cJSON_Delete(ev);
    if (!sns)
        return text;
    env = cJSON_CreateObject();
    cJSON_AddStringToObject(env, "Type", "Notification");
    cJSON_AddStringToObject(env, "MessageId", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    cJSON_AddStringToObject(env, "TopicArn",
                            "arn:aws:sns:eu-west-1:999988887777:cloudtrail-events");
    cJSON_AddStringToObject(env, "Message", text);
    cJSON_AddStringToObject(env, "Timestamp", "2024-05-01T12:00:01.000Z");
    cJSON_AddStringToObject(env, "SignatureVersion", "1");
    cJSON_AddStringToObject(env, "Signature", "EXAMPLE");
    out = cJSON_PrintUnformatted(env);
    assert_non_null(out);
    cJSON_Delete(env);
    free(text);
    return out;
}

/* Parse a body; it must be an event. */
static void s_parse_event(const char *body, struct wc_evstream_msg *m)
{
    char err[256];
    int rc = wc_evstream_parse(wc_str_from_cstr(body), m, err, sizeof(err));

    if (rc != WC_OK)
        fail_msg("wc_evstream_parse: %s (%s)", wc_strerror(rc), err);
    assert_int_equal(m->kind, WC_EVSTREAM_EVENT);
}

/* Does e carry a resource name equal to name? */
static bool s_has_name(const struct wc_event *e, const char *name)
{
    for (size_t i = 0; i < e->n_resources; i++)
        if (wc_streq(e->resources[i].name, name))
            return true;
    return false;
}

/* ---- the stream's messages ---------------------------------------------------- */

static void s_assert_same_str(const char *a, const char *b, const char *what)
{
    if ((a || b) && !wc_streq(a, b))
        fail_msg("%s: stream '%s', LookupEvents '%s'", what, a ? a : "(null)",
                 b ? b : "(null)");
}

/* The record parsed from the stream has the fields LookupEvents'
 * CloudTrailEvent gives (the same parser), and the names LookupEvents
 * lists for it. */
static void test_stream_fields_equal_lookup(void **state)
{
    struct wc_buf rec = WC_BUF_INIT;
    struct wc_evstream_msg raw = WC_EVSTREAM_MSG_INIT, sns = WC_EVSTREAM_MSG_INIT;
    struct wc_event_list page = WC_EVENT_LIST_INIT;
    cJSON *r, *p, *events, *entry, *res, *one;
    char *body, *pagejson, err[256];
    const struct wc_event *a, *b;

    (void)state;
    wc_test_read_data("cloudtrail/record-iamuser-cli.json", &rec);
    r = cJSON_Parse(rec.ptr);
    assert_non_null(r);

    body = s_body(r, "123456789012", "eu-west-1", false);
    s_parse_event(body, &raw);
    assert_false(raw.sns);
    free(body);
    body = s_body(r, "123456789012", "eu-west-1", true);
    s_parse_event(body, &sns);
    assert_true(sns.sns);
    free(body);

    /* the same record as a LookupEvents page, with what AWS lists */
    p = cJSON_CreateObject();
    events = cJSON_AddArrayToObject(p, "Events");
    entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "EventId", "a1b2c3d4-0101-4a2b-9c3d-EXAMPLE00101");
    cJSON_AddStringToObject(entry, "EventName", "AuthorizeSecurityGroupIngress");
    cJSON_AddStringToObject(entry, "ReadOnly", "false");
    cJSON_AddNumberToObject(entry, "EventTime", 1714564862.25);
    res = cJSON_AddArrayToObject(entry, "Resources");
    one = cJSON_CreateObject();
    cJSON_AddStringToObject(one, "ResourceType", "AWS::EC2::SecurityGroup");
    cJSON_AddStringToObject(one, "ResourceName", "sg-0fedcba9876543210");
    cJSON_AddItemToArray(res, one);
    cJSON_AddStringToObject(entry, "CloudTrailEvent", rec.ptr);
    cJSON_AddItemToArray(events, entry);
    pagejson = cJSON_PrintUnformatted(p);
    assert_int_equal(wc_events_parse(wc_str_from_cstr(pagejson), &page, err, sizeof(err)),
                     WC_OK);
    assert_int_equal(page.len, 1);

    for (int k = 0; k < 2; k++) {
        a = k ? &sns.event : &raw.event;
        b = &page.items[0];
        s_assert_same_str(a->event_id, b->event_id, "eventID");
        s_assert_same_str(a->event_name, b->event_name, "eventName");
        s_assert_same_str(a->event_source, b->event_source, "eventSource");
        s_assert_same_str(a->event_type, b->event_type, "eventType");
        s_assert_same_str(a->aws_region, b->aws_region, "awsRegion");
        s_assert_same_str(a->recipient_account_id, b->recipient_account_id, "recipient");
        s_assert_same_str(a->source_ip, b->source_ip, "sourceIPAddress");
        s_assert_same_str(a->user_agent, b->user_agent, "userAgent");
        s_assert_same_str(a->error_code, b->error_code, "errorCode");
        s_assert_same_str(a->identity.type, b->identity.type, "identity.type");
        s_assert_same_str(a->identity.arn, b->identity.arn, "identity.arn");
        s_assert_same_str(a->identity.user_name, b->identity.user_name, "identity.userName");
        s_assert_same_str(a->identity.access_key_id, b->identity.access_key_id, "accessKeyId");
        s_assert_same_str(a->identity.principal_id, b->identity.principal_id, "principalId");
        assert_int_equal(a->event_time_ms, b->event_time_ms);
        assert_int_equal(a->event_time_ms, T0 + 62250);
        assert_int_equal(a->read_only, b->read_only);
        assert_int_equal(a->session_credential_from_console, b->session_credential_from_console);
        assert_int_equal(a->param_strings.len, b->param_strings.len);
        for (size_t i = 0; i < a->param_strings.len; i++)
            assert_string_equal(a->param_strings.items[i], b->param_strings.items[i]);
        /* the name LookupEvents lists, and not the request's other strings */
        assert_true(s_has_name(a, "sg-0fedcba9876543210"));
        assert_true(s_has_name(b, "sg-0fedcba9876543210"));
        assert_false(s_has_name(a, "tcp"));
        assert_false(s_has_name(a, "10.0.0.0/8"));
        assert_false(s_has_name(a, "office"));
        assert_int_equal(a->n_resources, 1);
    }

    free(pagejson);
    cJSON_Delete(p);
    cJSON_Delete(r);
    wc_event_list_clean_up(&page);
    wc_evstream_msg_clean_up(&raw);
    wc_evstream_msg_clean_up(&sns);
    wc_buf_clean_up(&rec);
}

/* Names from resources[] ARNs, request and response; requestId is not one. */
static void test_stream_derived_names(void **state)
{
    static const char body[] =
        "{\"version\":\"0\",\"id\":\"e1\",\"detail-type\":\"AWS API Call via CloudTrail\","
        "\"source\":\"aws.ec2\",\"account\":\"111122223333\",\"time\":\"2024-05-01T12:00:00Z\","
        "\"region\":\"eu-west-1\",\"resources\":[],\"detail\":{"
        "\"eventVersion\":\"1.10\",\"eventTime\":\"2024-05-01T12:00:00Z\","
        "\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"RunInstances\","
        "\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"alice\"},"
        "\"requestParameters\":{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-0abc\","
        "\"minCount\":1}]},\"groupSet\":{\"items\":[{\"groupId\":\"sg-01\"}]},"
        "\"instanceIds\":[\"i-0aaa\",\"i-0bbb\"],\"description\":\"arn:aws:s3:::bucket-x\","
        "\"ownerId\":\"111122223333\",\"clientToken\":\"tok-123\"},"
        "\"responseElements\":{\"requestId\":\"req-1\",\"reservationId\":\"r-0123\","
        "\"instancesSet\":{\"items\":[{\"instanceId\":\"i-0new\",\"imageId\":\"ami-0abc\"}]}},"
        "\"resources\":[{\"type\":\"AWS::EC2::Instance\","
        "\"ARN\":\"arn:aws:ec2:eu-west-1:111122223333:instance/i-0new\"}],"
        "\"eventID\":\"run-1\",\"readOnly\":false,\"eventType\":\"AwsApiCall\"}}";
    static const char *const want[] = {
        "arn:aws:ec2:eu-west-1:111122223333:instance/i-0new", "ami-0abc", "sg-01", "i-0aaa",
        "i-0bbb", "arn:aws:s3:::bucket-x", "r-0123", "i-0new"};
    static const char *const not_names[] = {"req-1", "111122223333", "tok-123", "alice"};
    struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;
    size_t n_names = 0;

    (void)state;
    s_parse_event(body, &m);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!s_has_name(&m.event, want[i]))
            fail_msg("no derived name %s", want[i]);
    for (size_t i = 0; i < sizeof(not_names) / sizeof(not_names[0]); i++)
        assert_false(s_has_name(&m.event, not_names[i]));
    for (size_t i = 0; i < m.event.n_resources; i++)
        n_names += m.event.resources[i].name != NULL;
    /* each once (ami-0abc is in the request and the response) */
    assert_int_equal(n_names, sizeof(want) / sizeof(want[0]));
    /* the record's own entry first, as LookupEvents' parse keeps it, then
     * its ARN as a name with its type */
    assert_string_equal(m.event.resources[0].arn,
                        "arn:aws:ec2:eu-west-1:111122223333:instance/i-0new");
    assert_null(m.event.resources[0].name);
    assert_string_equal(m.event.resources[1].type, "AWS::EC2::Instance");
    assert_string_equal(m.event.resources[1].name,
                        "arn:aws:ec2:eu-west-1:111122223333:instance/i-0new");
    wc_evstream_msg_clean_up(&m);
}

struct kind_case {
    const char *body;
    int rc;                     /* WC_OK or the error */
    enum wc_evstream_kind kind; /* when WC_OK */
};

#define EB_HEAD(dtype)                                                                    \
    "{\"version\":\"0\",\"id\":\"e1\",\"detail-type\":\"" dtype "\",\"source\":\"aws.ec2\"," \
    "\"account\":\"111122223333\",\"time\":\"2024-05-01T12:00:00Z\","                       \
    "\"region\":\"eu-west-1\",\"resources\":[],\"detail\":"
#define REC(extra)                                                                        \
    "{\"eventTime\":\"2024-05-01T12:00:00Z\",\"eventName\":\"X\",\"eventID\":\"id-1\","    \
    "\"eventSource\":\"ec2.amazonaws.com\"" extra "}"

static void test_stream_kinds(void **state)
{
    static const struct kind_case cases[] = {
        {EB_HEAD("AWS API Call via CloudTrail") REC(",\"readOnly\":false,\"requestParameters\":"
                                                    "{\"groupId\":\"sg-1\"}") "}",
         WC_OK, WC_EVSTREAM_EVENT},
        /* service events come with their own detail-type */
        {EB_HEAD("AWS Service Event via CloudTrail") REC(",\"eventType\":\"AwsServiceEvent\","
                                                         "\"resources\":[{\"ARN\":\"arn:aws:"
                                                         "kms:eu-west-1:111122223333:key/k\"}]")
             "}",
         WC_OK, WC_EVSTREAM_EVENT},
        /* a failed write is kept: LookupEvents returns it too */
        {EB_HEAD("AWS API Call via CloudTrail") REC(",\"errorCode\":\"AccessDenied\","
                                                    "\"requestParameters\":{\"groupId\":\"sg-1\"}")
             "}",
         WC_OK, WC_EVSTREAM_EVENT},
        {EB_HEAD("AWS API Call via CloudTrail") REC(",\"readOnly\":true,\"requestParameters\":"
                                                    "{\"groupId\":\"sg-1\"}") "}",
         WC_OK, WC_EVSTREAM_READ_ONLY},
        {EB_HEAD("AWS Console Sign In via CloudTrail") REC(",\"eventType\":\"AwsConsoleSignIn\"")
             "}",
         WC_OK, WC_EVSTREAM_OTHER_TYPE},
        {EB_HEAD("Config Configuration Item Change") "{\"x\":1}}", WC_OK,
         WC_EVSTREAM_OTHER_TYPE},
        {"{\"Records\":[]}", WC_OK, WC_EVSTREAM_OTHER_TYPE},
        {EB_HEAD("AWS API Call via CloudTrail") REC(",\"eventType\":\"AwsConsoleAction\","
                                                    "\"requestParameters\":{\"a\":\"b\"}") "}",
         WC_OK, WC_EVSTREAM_NOT_A_CALL},
        {EB_HEAD("AWS API Call via CloudTrail") REC(",\"requestParameters\":null") "}", WC_OK,
         WC_EVSTREAM_NO_RESOURCE},
        {"{\"Type\":\"SubscriptionConfirmation\",\"Message\":\"You have chosen...\"}", WC_OK,
         WC_EVSTREAM_SNS_CONTROL},
        /* malformed: left for redrive */
        {"", WC_ERR_PARSE, 0},
        {"{\"version\":", WC_ERR_PARSE, 0},
        {"[1,2]", WC_ERR_PARSE, 0},
        {"{\"a\":1} x", WC_ERR_PARSE, 0},
        {"{\"a\":\"\xff\"}", WC_ERR_PARSE, 0},
        {"{\"Type\":\"Notification\"}", WC_ERR_INVALID, 0},
        {"{\"Type\":\"Notification\",\"Message\":\"not json\"}", WC_ERR_PARSE, 0},
        {"{\"Type\":\"Bogus\",\"Message\":\"{}\"}", WC_ERR_INVALID, 0},
        {EB_HEAD("AWS API Call via CloudTrail") "\"x\"}", WC_ERR_INVALID, 0},
        {EB_HEAD("AWS API Call via CloudTrail") "{\"eventName\":\"X\"}}", WC_ERR_INVALID, 0},
        {EB_HEAD("AWS API Call via CloudTrail") REC(",\"recipientAccountId\":\"12\","
                                                    "\"requestParameters\":{\"groupId\":\"g\"}")
             "}",
         WC_ERR_INVALID, 0},
        {EB_HEAD("AWS API Call via CloudTrail") REC(",\"awsRegion\":\"Mars\","
                                                    "\"requestParameters\":{\"groupId\":\"g\"}")
             "}",
         WC_ERR_INVALID, 0},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;
        int rc = wc_evstream_parse(wc_str_from_cstr(cases[i].body), &m, err, sizeof(err));

        if (rc != cases[i].rc || (rc == WC_OK && m.kind != cases[i].kind))
            fail_msg("case %zu: rc %d kind %s (%s), want rc %d kind %s", i, rc,
                     wc_evstream_kind_name(m.kind), err, cases[i].rc,
                     wc_evstream_kind_name(cases[i].kind));
        if (rc != WC_OK) {
            assert_true(err[0] != '\0');
            assert_null(m.event.event_id);
        } else if (m.kind == WC_EVSTREAM_EVENT) {
            /* the envelope's account and region fill the record's */
            assert_string_equal(m.event.recipient_account_id, ACCOUNT);
            assert_string_equal(m.event.aws_region, REGION);
        } else {
            assert_null(m.event.event_id);
        }
        wc_evstream_msg_clean_up(&m);
    }
    /* over the cap */
    {
        size_t n = WC_EVSTREAM_MAX_BYTES + 1;
        char *big = malloc(n);
        struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;

        assert_non_null(big);
        memset(big, ' ', n);
        assert_int_equal(wc_evstream_parse((struct wc_str){big, n}, &m, err, sizeof(err)),
                         WC_ERR_TOO_LARGE);
        free(big);
    }
}

/* ---- the key invariant: index == scan --------------------------------------------- */

#define MAX_BODIES 4096

/* The scenario of tests/support/trail_scenario.h with its events as
 * CloudTrail records: their stream bodies, and the LookupEvents scan of
 * ACCOUNT/REGION. */
struct scenario {
    struct wc_test_scenario sc;
    cJSON *page;            /* the LookupEvents scan of ACCOUNT/REGION: write events */
    char *bodies[MAX_BODIES];
    size_t n_bodies;
    size_t n_read_only;     /* bodies that are read-only calls */
    size_t n_elsewhere;     /* write events of another account or region */
};

/* One event: its stream body (alternately raw and in SNS), and, when a
 * ReadOnly=false scan of ACCOUNT/REGION returns it, its LookupEvents entry
 * with the Resources AWS lists for it. */
static void s_emit(void *ctx, const struct wc_test_event_spec *r)
{
    struct scenario *sc = ctx;
    cJSON *rec = s_record(r), *entry, *res, *one, *inst;
    char *text, iid[64];

    assert_true(sc->n_bodies < MAX_BODIES);
    sc->bodies[sc->n_bodies] = s_body(rec, r->account, r->region, sc->n_bodies % 2 == 1);
    sc->n_bodies++;
    if (r->read_only)
        sc->n_read_only++;
    if (strcmp(r->account, ACCOUNT) || strcmp(r->region, REGION)) {
        sc->n_elsewhere += !r->read_only;
    } else if (!r->read_only) {
        entry = cJSON_CreateObject();
        cJSON_AddStringToObject(entry, "EventId", r->event_id);
        cJSON_AddStringToObject(entry, "EventName", r->name);
        cJSON_AddStringToObject(entry, "ReadOnly", "false");
        cJSON_AddNumberToObject(entry, "EventTime", (double)r->time_ms / 1000.0);
        cJSON_AddStringToObject(entry, "EventSource", "ec2.amazonaws.com");
        res = cJSON_AddArrayToObject(entry, "Resources");
        if (r->naming != WC_TEST_BY_NONE) {
            one = cJSON_CreateObject();
            cJSON_AddStringToObject(one, "ResourceType", "AWS::EC2::SecurityGroup");
            cJSON_AddStringToObject(one, "ResourceName", r->named);
            cJSON_AddItemToArray(res, one);
        }
        if (r->naming == WC_TEST_BY_OTHER) {
            inst = cJSON_CreateObject();
            snprintf(iid, sizeof(iid), "i-0%s", r->named + 4);
            cJSON_AddStringToObject(inst, "ResourceType", "AWS::EC2::Instance");
            cJSON_AddStringToObject(inst, "ResourceName", iid);
            cJSON_AddItemToArray(res, inst);
        }
        text = cJSON_PrintUnformatted(rec);
        cJSON_AddStringToObject(entry, "CloudTrailEvent", text);
        free(text);
        cJSON_AddItemToArray(cJSON_GetObjectItem(sc->page, "Events"), entry);
    }
    cJSON_Delete(rec);
}

static void s_scenario(struct scenario *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->page = cJSON_CreateObject();
    cJSON_AddArrayToObject(sc->page, "Events");
    wc_test_scenario_init(&sc->sc, s_emit, sc);
}

static void s_scenario_free(struct scenario *sc)
{
    wc_test_scenario_clean_up(&sc->sc);
    for (size_t i = 0; i < sc->n_bodies; i++)
        free(sc->bodies[i]);
    cJSON_Delete(sc->page);
}

/* Deliver every body to the index in a shuffled order (events out of
 * order), every seventh twice. */
static void s_ingest(struct scenario *sc, struct wc_evindex *x, int64_t now_ms,
                     size_t *n_events, size_t *n_dups, size_t *n_read_only)
{
    size_t order[MAX_BODIES + MAX_BODIES / 7 + 1], n = 0;

    for (size_t i = 0; i < sc->n_bodies; i++)
        order[n++] = i;
    for (size_t i = 0; i < sc->n_bodies; i += 7)
        order[n++] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = wc_test_rand(&sc->sc.rng) % (i + 1), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    *n_events = *n_dups = *n_read_only = 0;
    for (size_t i = 0; i < n; i++) {
        struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;
        enum wc_evindex_added how = 0;
        char err[256];

        assert_int_equal(
            wc_evstream_parse(wc_str_from_cstr(sc->bodies[order[i]]), &m, err, sizeof(err)),
            WC_OK);
        if (m.kind == WC_EVSTREAM_READ_ONLY) {
            (*n_read_only)++;
            continue;
        }
        assert_int_equal(m.kind, WC_EVSTREAM_EVENT);
        assert_int_equal(wc_evindex_add(x, &m.event, now_ms, &how, NULL), WC_OK);
        assert_null(m.event.event_id); /* taken */
        if (how == WC_EVINDEX_DUPLICATE)
            (*n_dups)++;
        else
            assert_int_equal(how, WC_EVINDEX_ADDED);
        *n_events += how == WC_EVINDEX_ADDED;
    }
}

static void test_invariant_index_equals_scan(void **state)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct wc_event_list scan = WC_EVENT_LIST_INIT;
    struct wc_evindex *x = wc_evindex_new(NULL);
    struct wc_evindex_stats st;
    size_t counts[WC_VERDICT_UNATTRIBUTED + 1] = {0}, n_events, n_dups, n_ro, found = 0;
    int64_t now = T0 + 5 * MIN_MS;
    char *pagejson, err[256];

    (void)state;
    assert_non_null(sc);
    assert_non_null(x);
    s_scenario(sc);
    pagejson = cJSON_PrintUnformatted(sc->page);
    assert_int_equal(wc_events_parse(wc_str_from_cstr(pagejson), &scan, err, sizeof(err)), WC_OK);
    assert_int_equal(scan.n_skipped, 0);
    free(pagejson);

    s_ingest(sc, x, now, &n_events, &n_dups, &n_ro);
    wc_evindex_get_stats(x, &st);
    /* every write event once, the read-only ones filtered out */
    assert_true(n_ro >= sc->n_read_only); /* some were delivered twice */
    assert_int_equal(n_events, sc->n_bodies - sc->n_read_only);
    assert_int_equal(st.events, n_events);
    assert_int_equal(st.events, scan.len + sc->n_elsewhere);
    assert_int_equal(st.duplicates, n_dups);
    assert_true(n_dups > 100);
    assert_true(st.bytes <= st.max_bytes);
    assert_int_equal(st.evicted, 0);

    for (size_t i = 0; i < WC_TEST_N_CHANGES; i++) {
        struct wc_event_list by_scan = WC_EVENT_LIST_INIT, by_index = WC_EVENT_LIST_INIT;
        struct wc_test_outcome a, b;

        assert_int_equal(wc_trail_lookup_change_in(&scan, &sc->sc.changes[i], SKEW, &by_scan),
                         WC_OK);
        assert_int_equal(wc_evindex_lookup_change(x, &sc->sc.changes[i], SKEW, &by_index), WC_OK);
        wc_test_outcome(&sc->sc.policy, &sc->sc.changes[i], &by_scan, &a);
        wc_test_outcome(&sc->sc.policy, &sc->sc.changes[i], &by_index, &b);
        counts[a.verdict]++;
        wc_test_assert_same_outcome(&sc->sc, i, "index", &b, "scan", &a);
        assert_int_equal(by_scan.len, by_index.len);
        found += wc_trail_found_write(&by_index);
        /* the window is one the index answers for */
        assert_true(wc_evindex_covers(x, &sc->sc.changes[i], SKEW, now));
        wc_event_list_clean_up(&by_scan);
        wc_event_list_clean_up(&by_index);
    }
    /* the scenario is what it says */
    assert_true(counts[WC_VERDICT_HUMAN] >= 40);
    assert_true(counts[WC_VERDICT_AUTOMATION] >= 120);
    assert_true(counts[WC_VERDICT_AWS_SERVICE] >= 40);
    assert_true(counts[WC_VERDICT_UNATTRIBUTED] >= 15);
    assert_true(found >= 250);
    printf("# invariant: %zu changes, %zu events held (%zu elsewhere), %zu duplicates, "
           "%zu read-only filtered, %zu bytes; human %zu automation %zu service %zu "
           "unattributed %zu\n",
           (size_t)WC_TEST_N_CHANGES, st.events, sc->n_elsewhere, n_dups, n_ro, st.bytes,
           counts[WC_VERDICT_HUMAN], counts[WC_VERDICT_AUTOMATION],
           counts[WC_VERDICT_AWS_SERVICE], counts[WC_VERDICT_UNATTRIBUTED]);

    wc_evindex_destroy(x);
    wc_event_list_clean_up(&scan);
    s_scenario_free(sc);
    free(sc);
}

/* ---- the bounds ------------------------------------------------------------------- */

/* A write by alice on security group sg-<n> at t_ms in account/region. */
static void s_add(struct wc_evindex *x, unsigned long n, int64_t t_ms, const char *account,
                  const char *region, int64_t now_ms, enum wc_evindex_added *how,
                  struct wc_evindex_wake *wake)
{
    char eid[64], sg[64];
    struct wc_test_event_spec r = {eid, "AuthorizeSecurityGroupIngress", t_ms, WC_TEST_HUMAN, false,
                                   NULL, WC_TEST_BY_ID, sg, account, region};
    cJSON *rec;
    char *body;
    struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;

    snprintf(eid, sizeof(eid), "ev-%06lu-%s-%s-%lld", n, account, region, (long long)t_ms);
    snprintf(sg, sizeof(sg), "sg-%017lx", n);
    rec = s_record(&r);
    body = s_body(rec, account, region, false);
    s_parse_event(body, &m);
    assert_int_equal(wc_evindex_add(x, &m.event, now_ms, how, wake), WC_OK);
    free(body);
    cJSON_Delete(rec);
}

static size_t s_found(const struct wc_evindex *x, unsigned long n, int64_t capture_ms,
                      const char *account, const char *region)
{
    struct wc_change c;
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    char sg[64];
    size_t len;

    snprintf(sg, sizeof(sg), "sg-%017lx", n);
    wc_test_make_change(&c, account, region, sg, capture_ms);
    assert_int_equal(wc_evindex_lookup_change(x, &c, SKEW, &l), WC_OK);
    len = l.len;
    wc_event_list_clean_up(&l);
    wc_change_clean_up(&c);
    return len;
}

static void test_evict_by_age(void **state)
{
    struct wc_evindex_options o = {.retention_ms = 30 * MIN_MS};
    struct wc_evindex *x = wc_evindex_new(&o);
    struct wc_evindex_stats st;
    enum wc_evindex_added how;
    struct wc_change c;

    (void)state;
    assert_non_null(x);
    /* one event a minute for an hour, arriving as they happen */
    for (unsigned long i = 0; i < 60; i++)
        s_add(x, i, T0 + (int64_t)i * MIN_MS, ACCOUNT, REGION, T0 + (int64_t)i * MIN_MS + 5000,
              &how, NULL);
    wc_evindex_get_stats(x, &st);
    /* held: those within 30 minutes of the last arrival */
    assert_int_equal(st.events, 30);
    assert_int_equal(st.expired, 30);
    assert_int_equal(st.oldest_ms, T0 + 30 * MIN_MS);
    assert_int_equal(st.newest_ms, T0 + 59 * MIN_MS);
    assert_int_equal(s_found(x, 10, T0 + 10 * MIN_MS, ACCOUNT, REGION), 0);
    assert_int_equal(s_found(x, 40, T0 + 40 * MIN_MS, ACCOUNT, REGION), 1);
    /* the index does not answer for a window older than its retention */
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-x", T0 + 10 * MIN_MS);
    assert_false(wc_evindex_covers(x, &c, SKEW, T0 + 59 * MIN_MS + 5000));
    c.capture_time_ms = T0 + 40 * MIN_MS;
    assert_true(wc_evindex_covers(x, &c, SKEW, T0 + 59 * MIN_MS + 5000));
    wc_change_clean_up(&c);

    /* an event older than the retention is refused on arrival; one from
     * the far future too */
    s_add(x, 100, T0, ACCOUNT, REGION, T0 + 59 * MIN_MS + 5000, &how, NULL);
    assert_int_equal(how, WC_EVINDEX_TOO_OLD);
    s_add(x, 101, T0 + 200 * MIN_MS, ACCOUNT, REGION, T0 + 59 * MIN_MS + 5000, &how, NULL);
    assert_int_equal(how, WC_EVINDEX_FUTURE);

    /* time passes without events */
    wc_evindex_expire(x, T0 + 80 * MIN_MS);
    wc_evindex_get_stats(x, &st);
    assert_int_equal(st.events, 10); /* minutes 50..59 */
    assert_int_equal(st.too_old, 1);
    assert_int_equal(st.future, 1);
    assert_int_equal(st.evicted, 0);
    wc_evindex_expire(x, T0 + 120 * MIN_MS);
    wc_evindex_get_stats(x, &st);
    assert_int_equal(st.events, 0);
    assert_int_equal(st.oldest_ms, 0);
    assert_int_equal(st.expired, 60);
    wc_evindex_destroy(x);
}

static void test_evict_by_bytes(void **state)
{
    struct wc_evindex_options o = {.retention_ms = 60 * MIN_MS,
                                   .max_bytes = WC_EVINDEX_MIN_MAX_BYTES * 2};
    struct wc_evindex *x = wc_evindex_new(&o);
    struct wc_evindex_stats st, before;
    enum wc_evindex_added how;
    unsigned long order[800];
    int64_t now = T0 + 30 * MIN_MS;
    struct wc_change c;

    (void)state;
    assert_non_null(x);
    wc_evindex_get_stats(x, &before);
    assert_true(before.bytes > 0 && before.bytes < o.max_bytes);
    /* 800 events over 20 minutes, arriving out of order */
    for (unsigned long i = 0; i < 800; i++)
        order[i] = i;
    wc_test_rng_seed(&s_rng, 7);
    for (size_t i = 799; i > 0; i--) {
        size_t j = s_rand() % (i + 1);
        unsigned long t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < 800; i++) {
        s_add(x, order[i], T0 + (int64_t)order[i] * 1500, ACCOUNT, REGION, now, &how, NULL);
        assert_int_equal(how, WC_EVINDEX_ADDED);
        wc_evindex_get_stats(x, &st);
        assert_true(st.bytes <= st.max_bytes);
    }
    wc_evindex_get_stats(x, &st);
    assert_true(st.events > 20);
    assert_true(st.events < 800);
    assert_int_equal(st.evicted + st.events, 800);
    assert_true(st.evicted_bytes > st.evicted * 300); /* strings counted, not just structs */
    assert_int_equal(st.expired, 0);
    /* the oldest went first, whatever the order they came in */
    assert_int_equal(st.newest_ms, T0 + 799 * 1500);
    assert_int_equal(st.oldest_ms, T0 + (int64_t)(800 - st.events) * 1500);
    assert_int_equal(s_found(x, 799, T0 + 799 * 1500, ACCOUNT, REGION), 1);
    assert_int_equal(s_found(x, 10, T0 + 10 * 1500, ACCOUNT, REGION), 0);
    /* and the index says it cannot answer for that window any more */
    assert_int_equal(wc_evindex_horizon_ms(x, now), st.oldest_ms - 1500 + 1);
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-x", T0 + 10 * 1500);
    assert_false(wc_evindex_covers(x, &c, SKEW, now));
    c.capture_time_ms = st.oldest_ms + SKEW * 1000LL;
    assert_true(wc_evindex_covers(x, &c, SKEW, now));
    wc_change_clean_up(&c);
    /* emptied by age, the tables alone remain */
    wc_evindex_expire(x, now + 200 * MIN_MS);
    wc_evindex_get_stats(x, &st);
    assert_int_equal(st.events, 0);
    assert_true(st.bytes >= before.bytes);
    assert_true(st.bytes < before.bytes + 64 * 1024);
    wc_evindex_destroy(x);
    /* a cap that holds nothing is refused */
    o.max_bytes = 1000;
    assert_null(wc_evindex_new(&o));
}

static void test_duplicates(void **state)
{
    struct wc_evindex *x = wc_evindex_new(NULL);
    struct wc_evindex_stats st;
    enum wc_evindex_added how;
    struct wc_event e;
    int64_t now = T0 + MIN_MS;

    (void)state;
    assert_non_null(x);
    s_add(x, 1, T0, ACCOUNT, REGION, now, &how, NULL);
    assert_int_equal(how, WC_EVINDEX_ADDED);
    s_add(x, 1, T0, ACCOUNT, REGION, now, &how, NULL);
    assert_int_equal(how, WC_EVINDEX_DUPLICATE);
    /* the same event id elsewhere is another event */
    {
        struct wc_test_event_spec r = {"ev-000001-" ACCOUNT "-" REGION,
                                       "AuthorizeSecurityGroupIngress", T0, WC_TEST_HUMAN, false,
                                       NULL, WC_TEST_BY_ID, "sg-00000000000000001", OTHER_ACCOUNT,
                                       REGION};
        cJSON *rec = s_record(&r);
        char *body = s_body(rec, OTHER_ACCOUNT, REGION, true);
        struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;

        s_parse_event(body, &m);
        assert_int_equal(wc_evindex_add(x, &m.event, now, &how, NULL), WC_OK);
        assert_int_equal(how, WC_EVINDEX_ADDED);
        free(body);
        cJSON_Delete(rec);
    }
    wc_evindex_get_stats(x, &st);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(s_found(x, 1, T0, ACCOUNT, REGION), 1);
    assert_int_equal(s_found(x, 1, T0, OTHER_ACCOUNT, REGION), 1);

    /* an event without an account, region or id is refused, and freed */
    memset(&e, 0, sizeof(e));
    e.event_id = wc_test_strdup("ev-bad");
    e.event_name = wc_test_strdup("X");
    e.aws_region = wc_test_strdup(REGION);
    assert_int_equal(wc_evindex_add(x, &e, now, &how, NULL), WC_ERR_INVALID);
    assert_null(e.event_id);
    wc_evindex_destroy(x);
}

/* Events of another account or region never match, whatever they name. */
static void test_other_account_region(void **state)
{
    struct wc_evindex *x = wc_evindex_new(NULL);
    enum wc_evindex_added how;
    int64_t now = T0 + MIN_MS;

    (void)state;
    assert_non_null(x);
    s_add(x, 5, T0, OTHER_ACCOUNT, REGION, now, &how, NULL);
    s_add(x, 5, T0, ACCOUNT, OTHER_REGION, now, &how, NULL);
    assert_int_equal(s_found(x, 5, T0, ACCOUNT, REGION), 0);
    assert_int_equal(s_found(x, 5, T0, OTHER_ACCOUNT, REGION), 1);
    assert_int_equal(s_found(x, 5, T0, ACCOUNT, OTHER_REGION), 1);
    assert_int_equal(s_found(x, 5, T0, OTHER_ACCOUNT, OTHER_REGION), 0);
    /* outside the window: not a candidate either */
    assert_int_equal(s_found(x, 5, T0 + (SKEW + 2) * 1000LL, ACCOUNT, OTHER_REGION), 0);
    wc_evindex_destroy(x);
}

/* Candidates come newest first, each once, even when two names match. */
static void test_candidates_order(void **state)
{
    struct wc_evindex *x = wc_evindex_new(NULL);
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    enum wc_evindex_added how;
    struct wc_change c;
    int64_t now = T0 + 10 * MIN_MS;

    (void)state;
    assert_non_null(x);
    s_add(x, 9, T0 - 30000, ACCOUNT, REGION, now, &how, NULL);
    s_add(x, 9, T0 - 30000, ACCOUNT, REGION, now, &how, NULL); /* again: dropped */
    assert_int_equal(how, WC_EVINDEX_DUPLICATE);
    {
        char sg[] = "sg-00000000000000009";
        struct wc_test_event_spec r = {"ev-late", "RevokeSecurityGroupIngress", T0 + 20000,
                                       WC_TEST_AUTOMATION, false, NULL, WC_TEST_BY_ID, sg, ACCOUNT,
                                       REGION};
        cJSON *rec = s_record(&r);
        char *body = s_body(rec, ACCOUNT, REGION, false);
        struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;

        s_parse_event(body, &m);
        assert_int_equal(wc_evindex_add(x, &m.event, now, &how, NULL), WC_OK);
        free(body);
        cJSON_Delete(rec);
    }
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-00000000000000009", T0);
    c.arn =
        wc_test_strdup("arn:aws:ec2:" REGION ":" ACCOUNT ":security-group/sg-00000000000000009");
    assert_int_equal(wc_strlist_push(&c.related_event_ids, "ev-late"), WC_OK);
    assert_int_equal(wc_evindex_candidates(x, &c, SKEW, &l), WC_OK);
    assert_int_equal(l.len, 2);
    assert_string_equal(l.items[0].event_id, "ev-late");
    assert_int_equal(l.items[1].event_time_ms, T0 - 30000);
    wc_event_list_clean_up(&l);
    /* the plan stops at the related event: a write */
    assert_int_equal(wc_evindex_lookup_change(x, &c, SKEW, &l), WC_OK);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].event_id, "ev-late");
    wc_event_list_clean_up(&l);
    wc_change_clean_up(&c);
    wc_evindex_destroy(x);
}

/* A waiting change is woken by the event that can decide it, and only by it. */
static void test_watch_wakes(void **state)
{
    struct wc_evindex *x = wc_evindex_new(NULL);
    struct wc_evindex_wake w = WC_EVINDEX_WAKE_INIT;
    struct wc_evindex_stats st;
    enum wc_evindex_added how;
    struct wc_change c, d;
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    int64_t now = T0 + MIN_MS;

    (void)state;
    assert_non_null(x);
    wc_test_make_change(&c, ACCOUNT, REGION, "sg-00000000000000021", T0);
    c.arn =
        wc_test_strdup("arn:aws:ec2:" REGION ":" ACCOUNT ":security-group/sg-00000000000000021");
    assert_int_equal(wc_evindex_watch(x, 77, &c, SKEW), WC_OK);
    wc_test_make_change(&d, ACCOUNT, REGION, "sg-00000000000000022", T0);
    assert_int_equal(wc_strlist_push(&d.related_event_ids, "ev-rel"), WC_OK);
    assert_int_equal(wc_evindex_watch(x, 78, &d, SKEW), WC_OK);
    assert_int_equal(wc_evindex_watch(x, 78, &d, SKEW), WC_OK); /* replaced, not doubled */
    wc_evindex_get_stats(x, &st);
    assert_int_equal(st.watches, 2);

    /* another region, outside the window, another group: nothing */
    s_add(x, 0x21, T0, ACCOUNT, OTHER_REGION, now, &how, &w);
    s_add(x, 0x21, T0, OTHER_ACCOUNT, REGION, now, &how, &w);
    s_add(x, 0x21, T0 - (SKEW + 5) * 1000LL, ACCOUNT, REGION, now, &how, &w);
    s_add(x, 0x23, T0, ACCOUNT, REGION, now, &how, &w);
    assert_int_equal(how, WC_EVINDEX_ADDED);
    assert_int_equal(w.len, 0);
    /* a failed call names it but cannot decide it */
    {
        char sg[] = "sg-00000000000000021";
        struct wc_test_event_spec r = {"ev-denied", "AuthorizeSecurityGroupIngress", T0,
                                       WC_TEST_HUMAN, false, "AccessDenied", WC_TEST_BY_ID, sg,
                                       ACCOUNT, REGION};
        cJSON *rec = s_record(&r);
        char *body = s_body(rec, ACCOUNT, REGION, true);
        struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;

        s_parse_event(body, &m);
        assert_int_equal(wc_evindex_add(x, &m.event, now, &how, &w), WC_OK);
        assert_int_equal(w.len, 0);
        free(body);
        cJSON_Delete(rec);
    }
    /* the write: woken once, and the lookup now decides it */
    s_add(x, 0x21, T0 - 4000, ACCOUNT, REGION, now, &how, &w);
    assert_int_equal(w.len, 1);
    assert_int_equal(w.ids[0], 77);
    assert_int_equal(wc_evindex_lookup_change(x, &c, SKEW, &l), WC_OK);
    assert_true(wc_trail_found_write(&l));
    assert_int_equal(l.len, 2); /* the denied attempt too, as a lookup returns it */
    wc_event_list_clean_up(&l);

    /* by its related event id */
    w.len = 0;
    {
        char sg[] = "sg-0000000000000ffff";
        struct wc_test_event_spec r = {"ev-rel", "ModifySecurityGroupRules", T0 + 1000,
                                       WC_TEST_AUTOMATION, false, NULL, WC_TEST_BY_NONE, sg,
                                       ACCOUNT, REGION};
        cJSON *rec = s_record(&r);
        char *body = s_body(rec, ACCOUNT, REGION, false);
        struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;

        s_parse_event(body, &m);
        assert_int_equal(wc_evindex_add(x, &m.event, now, &how, &w), WC_OK);
        free(body);
        cJSON_Delete(rec);
    }
    assert_int_equal(w.len, 1);
    assert_int_equal(w.ids[0], 78);

    /* unwatched: no more */
    wc_evindex_unwatch(x, 77);
    wc_evindex_unwatch(x, 12345);
    w.len = 0;
    s_add(x, 0x21, T0 + 3000, ACCOUNT, REGION, now, &how, &w);
    assert_int_equal(how, WC_EVINDEX_ADDED);
    assert_int_equal(w.len, 0);
    wc_evindex_get_stats(x, &st);
    assert_int_equal(st.watches, 1);
    assert_int_equal(st.woken, 2);

    wc_evindex_wake_clean_up(&w);
    wc_change_clean_up(&c);
    wc_change_clean_up(&d);
    wc_evindex_destroy(x); /* with a watch left */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_fields_equal_lookup),
        cmocka_unit_test(test_stream_derived_names),
        cmocka_unit_test(test_stream_kinds),
        cmocka_unit_test(test_invariant_index_equals_scan),
        cmocka_unit_test(test_evict_by_age),
        cmocka_unit_test(test_evict_by_bytes),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_other_account_region),
        cmocka_unit_test(test_candidates_order),
        cmocka_unit_test(test_watch_wakes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
