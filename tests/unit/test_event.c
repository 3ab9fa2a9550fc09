/* Unit tests for core/event: LookupEvents pages, log files, records, hostile input. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "core/str.h"

#define CT "samples/cloudtrail/"

static const char s_next_token[] =
    "kbOt5LlZe++mErCebpy2TgaMgmDvF1kYGFcH64JSjIbZFjsuvrSqg66b5YGssKutDYIyII4lrP4IDbeQdiObkp9Y"
    "Alju3oXd12juy3CIZW8=";

/* ---- helpers ---------------------------------------------------------- */

static int s_parse_cstr(const char *json, struct wc_event_list *l, char *err, size_t errlen)
{
    return wc_events_parse(wc_str_from_cstr(json), l, err, errlen);
}

static void s_parse_ref_ok(const char *rel, struct wc_event_list *l)
{
    struct wc_buf b = WC_BUF_INIT;
    char err[256] = "";
    int rc;

    wc_test_read_ref(rel, &b);
    rc = wc_events_parse(wc_buf_str(&b), l, err, sizeof(err));
    if (rc != WC_OK)
        fail_msg("%s: %d %s", rel, rc, err);
    wc_buf_clean_up(&b);
}

static void s_parse_data_ok(const char *rel, struct wc_event_list *l)
{
    struct wc_buf b = WC_BUF_INIT;
    char err[256] = "";
    int rc;

    wc_test_read_data(rel, &b);
    rc = wc_events_parse(wc_buf_str(&b), l, err, sizeof(err));
    if (rc != WC_OK)
        fail_msg("%s: %d %s", rel, rc, err);
    wc_buf_clean_up(&b);
}

static bool s_has_param(const struct wc_event *e, const char *s)
{
    return wc_strlist_contains(&e->param_strings, s);
}

/* A list holding one known event and a token, to prove failures leave it alone. */
static void s_seed(struct wc_event_list *l)
{
    assert_int_equal(s_parse_cstr("{\"Events\":[{\"EventId\":\"seed-1\",\"EventTime\":1,"
                                  "\"CloudTrailEvent\":\"{\\\"eventName\\\":\\\"Seed\\\"}\"}],"
                                  "\"NextToken\":\"seed-token\"}",
                                  l, NULL, 0),
                     WC_OK);
    assert_int_equal(l->len, 1);
}

static void s_assert_seed_intact(const struct wc_event_list *l)
{
    assert_int_equal(l->len, 1);
    assert_string_equal(l->items[0].event_id, "seed-1");
    assert_string_equal(l->items[0].event_name, "Seed");
    assert_int_equal(l->items[0].event_time_ms, 1000);
    assert_string_equal(l->next_token, "seed-token");
}

/* Parse must fail with rc, a one-line reason, and the seeded list untouched. */
static void s_expect_fail_n(const char *json, size_t len, int want_rc, const char *want_in_err)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    char err[256] = "";
    int rc;

    s_seed(&l);
    rc = wc_events_parse((struct wc_str){json, len}, &l, err, sizeof(err));
    if (rc != want_rc)
        fail_msg("expected %d, got %d (%s) for input starting %.60s", want_rc, rc, err, json);
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    if (want_in_err && !strstr(err, want_in_err))
        fail_msg("error '%s' does not mention '%s'", err, want_in_err);
    s_assert_seed_intact(&l);
    wc_event_list_clean_up(&l);
}

static void s_expect_fail(const char *json, int want_rc, const char *want_in_err)
{
    s_expect_fail_n(json, strlen(json), want_rc, want_in_err);
}

/* Parse must succeed, keeping n_kept events after the seed and skipping one
 * record, whose problem errbuf names. */
static void s_expect_skip(const char *json, size_t n_kept, const char *want_in_err)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    char err[256] = "";
    int rc;

    s_seed(&l);
    rc = s_parse_cstr(json, &l, err, sizeof(err));
    if (rc != WC_OK)
        fail_msg("expected a skip, got %d (%s) for input starting %.60s", rc, err, json);
    assert_int_equal(l.len, 1 + n_kept);
    assert_string_equal(l.items[0].event_id, "seed-1");
    assert_int_equal(l.n_skipped, 1);
    assert_non_null(strstr(err, "skipped 1 unusable record, the first: "));
    assert_null(strchr(err, '\n'));
    if (want_in_err && !strstr(err, want_in_err))
        fail_msg("reason '%s' does not mention '%s'", err, want_in_err);
    wc_event_list_clean_up(&l);
}

/* ---- LookupEvents ----------------------------------------------------- */

static void s_check_lookup_page(const struct wc_event_list *l)
{
    static const struct {
        const char *id, *type, *arn, *session, *ua_prefix;
        long long ms;
        bool console;
    } want[] = {
        {"708192a3-b4c5-4e6f-9071-EXAMPLE00008", "Root", "arn:aws:iam::123456789012:root", NULL,
         "AWS Internal", 1714564799000LL, true},
        {"1a2b3c4d-5e6f-4a7b-8c9d-EXAMPLE00002", "AssumedRole",
         "arn:aws:sts::123456789012:assumed-role/"
         "AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com",
         "alice@example.com", "AWS Internal", 1714564750000LL, true},
        {"2b3c4d5e-6f70-4819-9a0b-EXAMPLE00003", "AssumedRole",
         "arn:aws:sts::123456789012:assumed-role/terraform-deployer/"
         "aws-go-sdk-1714564700123456789",
         "aws-go-sdk-1714564700123456789", "APN/1.0 HashiCorp/1.0 Terraform/1.7.5",
         1714564711000LL, false},
        {"0f5a2c1e-1b2c-4d5e-8f90-EXAMPLE00001", "IAMUser", "arn:aws:iam::123456789012:user/Alice",
         NULL, "AWS Internal", 1714564683000LL, true},
        {"3c4d5e6f-7081-4a2b-9c3d-EXAMPLE00004", "AssumedRole",
         "arn:aws:sts::123456789012:assumed-role/cfn-exec-role/AWSCloudFormation",
         "AWSCloudFormation", "cloudformation.amazonaws.com", 1714564625000LL, false},
    };

    assert_int_equal(l->len, 5);
    assert_non_null(l->next_token);
    assert_string_equal(l->next_token, s_next_token);
    for (size_t i = 0; i < 5; i++) {
        const struct wc_event *e = &l->items[i];

        assert_string_equal(e->event_id, want[i].id);
        assert_int_equal(e->event_time_ms, want[i].ms);
        assert_string_equal(e->event_source, "ec2.amazonaws.com");
        assert_string_equal(e->aws_region, "eu-west-1");
        assert_string_equal(e->recipient_account_id, "123456789012");
        assert_string_equal(e->event_type, "AwsApiCall");
        assert_false(e->read_only);
        assert_null(e->error_code);
        assert_true(e->session_credential_from_console == want[i].console);
        assert_string_equal(e->identity.type, want[i].type);
        assert_string_equal(e->identity.arn, want[i].arn);
        assert_string_equal(e->identity.account_id, "123456789012");
        if (want[i].session)
            assert_string_equal(e->identity.session_name, want[i].session);
        else
            assert_null(e->identity.session_name);
        assert_true(wc_str_starts_with(wc_str_from_cstr(e->user_agent),
                                       wc_str_from_cstr(want[i].ua_prefix)));
        /* top-level Resources: type + name, no ARN */
        assert_int_equal(e->n_resources, 1);
        assert_string_equal(e->resources[0].type, "AWS::EC2::SecurityGroup");
        assert_string_equal(e->resources[0].name, "sg-0123456789abcdef0");
        assert_null(e->resources[0].arn);
        /* requestParameters strings, in document order */
        assert_true(e->param_strings.len >= 3);
        assert_string_equal(e->param_strings.items[0], "sg-0123456789abcdef0");
        assert_true(s_has_param(e, "tcp"));
        assert_true(s_has_param(e, "0.0.0.0/0"));
    }
    assert_string_equal(l->items[0].event_name, "RevokeSecurityGroupIngress");
    assert_string_equal(l->items[1].event_name, "AuthorizeSecurityGroupIngress");
    /* identity details */
    assert_string_equal(l->items[0].identity.principal_id, "123456789012");
    assert_string_equal(l->items[1].identity.issuer_type, "Role");
    assert_string_equal(l->items[1].identity.issuer_arn,
                        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                        "AWSReservedSSO_AdministratorAccess_0123456789abcdef");
    assert_string_equal(l->items[1].identity.issuer_user_name,
                        "AWSReservedSSO_AdministratorAccess_0123456789abcdef");
    assert_null(l->items[1].identity.invoked_by);
    assert_string_equal(l->items[2].identity.issuer_arn,
                        "arn:aws:iam::123456789012:role/terraform-deployer");
    assert_string_equal(l->items[3].identity.user_name, "Alice");
    assert_string_equal(l->items[3].identity.principal_id, "AIDAJ45Q7YFFAREXAMPLE");
    /* userIdentity.accessKeyId: one per sign-in, the digest's session key */
    assert_string_equal(l->items[0].identity.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(l->items[1].identity.access_key_id, "ASIA3EXAMPLEKEYID0002");
    assert_string_equal(l->items[2].identity.access_key_id, "ASIA3EXAMPLEKEYID0003");
    assert_string_equal(l->items[4].identity.invoked_by, "cloudformation.amazonaws.com");
    assert_string_equal(l->items[4].identity.issuer_user_name, "cfn-exec-role");
}

static void test_lookup_wire(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;

    (void)state;
    s_parse_ref_ok(CT "lookup-events-response.wire.constructed.json", &l);
    s_check_lookup_page(&l);
    wc_event_list_clean_up(&l);
    assert_null(l.items);
    assert_int_equal(l.len, 0);
}

static void test_lookup_pretty(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;

    (void)state;
    s_parse_ref_ok(CT "lookup-events-response.pretty.constructed.json", &l);
    s_check_lookup_page(&l);
    wc_event_list_clean_up(&l);
}

static void test_lookup_empty_and_pages(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;

    (void)state;
    s_parse_ref_ok(CT "lookup-events-response-empty.json", &l);
    assert_int_equal(l.len, 0);
    assert_null(l.next_token);
    /* a second page appends; its token replaces the first... */
    s_parse_ref_ok(CT "lookup-events-response.wire.constructed.json", &l);
    s_parse_ref_ok(CT "lookup-events-response.pretty.constructed.json", &l);
    assert_int_equal(l.len, 10);
    assert_string_equal(l.items[5].event_id, l.items[0].event_id);
    assert_string_equal(l.next_token, s_next_token);
    /* ...and the last page, without one, clears it */
    s_parse_ref_ok(CT "lookup-events-response-empty.json", &l);
    assert_int_equal(l.len, 10);
    assert_null(l.next_token);
    wc_event_list_clean_up(&l);
}

/* ---- single records --------------------------------------------------- */

static void test_sample_records(void **state)
{
    static const struct {
        const char *file, *id, *name, *type, *arn, *invoked_by, *session;
        long long ms;
        bool read_only, console;
        size_t n_resources;
    } cases[] = {
        {"record-assumedrole-cloudformation-invokedby.constructed.json",
         "3c4d5e6f-7081-4a2b-9c3d-EXAMPLE00004", "AuthorizeSecurityGroupIngress", "AssumedRole",
         "arn:aws:sts::123456789012:assumed-role/cfn-exec-role/AWSCloudFormation",
         "cloudformation.amazonaws.com", "AWSCloudFormation", 1714564625000LL, false, false, 0},
        {"record-assumedrole-service-linked-autoscaling.constructed.json",
         "5e6f7081-92a3-4c4d-9e5f-EXAMPLE00006", "RunInstances", "AssumedRole",
         "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling",
         "autoscaling.amazonaws.com", "AutoScaling", 1714564202000LL, false, false, 0},
        {"record-assumedrole-sso-console.constructed.json", "1a2b3c4d-5e6f-4a7b-8c9d-EXAMPLE00002",
         "AuthorizeSecurityGroupIngress", "AssumedRole",
         "arn:aws:sts::123456789012:assumed-role/"
         "AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com",
         NULL, "alice@example.com", 1714564750000LL, false, true, 0},
        {"record-assumedrole-terraform.constructed.json", "2b3c4d5e-6f70-4819-9a0b-EXAMPLE00003",
         "AuthorizeSecurityGroupIngress", "AssumedRole",
         "arn:aws:sts::123456789012:assumed-role/terraform-deployer/"
         "aws-go-sdk-1714564700123456789",
         NULL, "aws-go-sdk-1714564700123456789", 1714564711000LL, false, false, 0},
        {"record-awsservice-autoscaling-assumerole.constructed.json",
         "4d5e6f70-8192-4b3c-8d4e-EXAMPLE00005", "AssumeRole", "AWSService", NULL,
         "autoscaling.amazonaws.com", NULL, 1714564200000LL, true, false, 1},
        {"record-awsservice-elasticloadbalancing.constructed.json",
         "6f708192-a3b4-4d5e-8f60-EXAMPLE00007", "CreateNetworkInterface", "AWSService", NULL,
         "elasticloadbalancing.amazonaws.com", NULL, 1714564333000LL, false, false, 0},
        {"record-doc-aws-service-event-kms-rotate.json", "234f004b-EXAMPLE", "RotateKey", NULL,
         NULL, "AWS Internal", NULL, 1559433968000LL, false, false, 1},
        {"record-doc-iamuser-console-startlogging.json", "7116c6a1-EXAMPLE", "StartLogging",
         "IAMUser", "arn:aws:iam::123456789012:user/Mary_Major", "signin.amazonaws.com", NULL,
         1560903511000LL, false, false, 0},
        {"record-doc-root-console-login.json", "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0",
         "ConsoleLogin", "Root", "arn:aws:iam::111122223333:root", NULL, NULL, 1668097474000LL,
         false, false, 0},
        {"record-iamuser-console-session-credential.constructed.json",
         "0f5a2c1e-1b2c-4d5e-8f90-EXAMPLE00001", "AuthorizeSecurityGroupIngress", "IAMUser",
         "arn:aws:iam::123456789012:user/Alice", NULL, NULL, 1714564683000LL, false, true, 0},
        {"record-root-console-api-call.constructed.json", "708192a3-b4c5-4e6f-9071-EXAMPLE00008",
         "RevokeSecurityGroupIngress", "Root", "arn:aws:iam::123456789012:root", NULL, NULL,
         1714564799000LL, false, true, 0},
    };
    char rel[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wc_event_list l = WC_EVENT_LIST_INIT;
        const struct wc_event *e;

        snprintf(rel, sizeof(rel), CT "%s", cases[i].file);
        s_parse_ref_ok(rel, &l);
        assert_int_equal(l.len, 1);
        assert_null(l.next_token);
        e = &l.items[0];
        assert_string_equal(e->event_id, cases[i].id);
        assert_string_equal(e->event_name, cases[i].name);
        assert_int_equal(e->event_time_ms, cases[i].ms);
        assert_true(e->read_only == cases[i].read_only);
        assert_true(e->session_credential_from_console == cases[i].console);
        assert_int_equal(e->n_resources, cases[i].n_resources);
        assert_null(e->error_code);
#define S_OPT(field, want)                                                                       \
    do {                                                                                         \
        if (want)                                                                                \
            assert_string_equal(field, want);                                                    \
        else                                                                                     \
            assert_null(field);                                                                  \
    } while (0)
        S_OPT(e->identity.type, cases[i].type);
        S_OPT(e->identity.arn, cases[i].arn);
        S_OPT(e->identity.invoked_by, cases[i].invoked_by);
        S_OPT(e->identity.session_name, cases[i].session);
#undef S_OPT
        wc_event_list_clean_up(&l);
    }
}

static void test_record_details(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    const struct wc_event *e;

    (void)state;
    /* record resources[]: ARN + type (accountId is not kept) */
    s_parse_ref_ok(CT "record-awsservice-autoscaling-assumerole.constructed.json", &l);
    s_parse_ref_ok(CT "record-doc-aws-service-event-kms-rotate.json", &l);
    s_parse_ref_ok(CT "record-assumedrole-service-linked-autoscaling.constructed.json", &l);
    assert_int_equal(l.len, 3);
    e = &l.items[0];
    assert_string_equal(e->resources[0].type, "AWS::IAM::Role");
    assert_string_equal(e->resources[0].arn, "arn:aws:iam::123456789012:role/aws-service-role/"
                                             "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling");
    assert_null(e->resources[0].name);
    assert_string_equal(e->source_ip, "autoscaling.amazonaws.com");
    assert_true(s_has_param(e, "AutoScaling"));
    assert_null(e->identity.account_id);
    /* KMS service event: no type, requestParameters null */
    e = &l.items[1];
    assert_string_equal(e->event_type, "AwsServiceEvent");
    assert_string_equal(e->resources[0].type, "AWS::KMS::Key");
    assert_string_equal(e->resources[0].arn, "arn:aws:kms:us-east-2:123456789012:key/7944f0ec-EXAMPLE");
    assert_int_equal(e->param_strings.len, 0);
    assert_string_equal(e->identity.account_id, "123456789012");
    /* service-linked role: issuer path kept whole, numbers in params skipped */
    e = &l.items[2];
    assert_string_equal(e->identity.issuer_arn,
                        "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/"
                        "AWSServiceRoleForAutoScaling");
    assert_string_equal(e->identity.issuer_user_name, "AWSServiceRoleForAutoScaling");
    assert_int_equal(e->param_strings.len, 3);
    assert_string_equal(e->param_strings.items[0], "lt-0123456789abcdef0");
    assert_string_equal(e->param_strings.items[1], "3");
    assert_string_equal(e->param_strings.items[2], "subnet-0123456789abcdef0");
    wc_event_list_clean_up(&l);

    /* own records: CLI user with a path, federated user, fractional time */
    s_parse_data_ok("cloudtrail/record-iamuser-cli.json", &l);
    s_parse_data_ok("cloudtrail/record-federated-user.json", &l);
    e = &l.items[0];
    assert_int_equal(e->event_time_ms, 1714564862250LL);
    assert_string_equal(e->identity.user_name, "bob");
    assert_null(e->identity.session_name);
    assert_string_equal(e->identity.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_true(s_has_param(e, "office"));
    e = &l.items[1];
    assert_string_equal(e->identity.type, "FederatedUser");
    assert_string_equal(e->identity.session_name, "carol");
    assert_string_equal(e->identity.access_key_id, "ASIAFEDERATEDEXAMPLE");
    assert_string_equal(e->identity.issuer_type, "IAMUser");
    assert_string_equal(e->identity.issuer_user_name, "federation-broker");
    assert_string_equal(e->resources[0].arn, "arn:aws:s3:::example-bucket");
    assert_true(s_has_param(e, "")); /* empty strings are values too */
    wc_event_list_clean_up(&l);
}

static void test_error_code(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf b = WC_BUF_INIT;
    char err[256] = "";

    (void)state;
    s_parse_data_ok("cloudtrail/record-iamuser-api-error.json", &l);
    assert_int_equal(l.len, 1);
    assert_string_equal(l.items[0].error_code, "TrailNotFoundException");
    assert_string_equal(l.items[0].event_name, "UpdateTrail");
    assert_int_equal(l.items[0].event_time_ms, 1468523745000LL);
    wc_event_list_clean_up(&l);

    /* The shared doc sample has no eventID (nor errorCode): alone, it is the
     * whole document, refused with why (in a file it is skipped, see
     * test_odd_records_skipped). */
    wc_test_read_ref(CT "record-doc-iamuser-api-error.json", &b);
    assert_int_equal(wc_events_parse(wc_buf_str(&b), &l, err, sizeof(err)), WC_ERR_INVALID);
    assert_non_null(strstr(err, "eventID"));
    assert_int_equal(l.len, 0);
    wc_buf_clean_up(&b);
}

/* ---- log files and arrays --------------------------------------------- */

static void s_build_records(struct wc_buf *out, const char *prefix, const char *suffix)
{
    static const char *const files[] = {
        CT "record-assumedrole-sso-console.constructed.json",
        CT "record-awsservice-elasticloadbalancing.constructed.json",
        CT "record-doc-root-console-login.json",
    };
    struct wc_buf b = WC_BUF_INIT;

    wc_buf_init(out, 0);
    assert_int_equal(wc_buf_append_cstr(out, prefix), WC_OK);
    for (size_t i = 0; i < 3; i++) {
        wc_test_read_ref(files[i], &b);
        if (i)
            assert_int_equal(wc_buf_append_char(out, ','), WC_OK);
        assert_int_equal(wc_buf_append_str(out, wc_buf_str(&b)), WC_OK);
        wc_buf_clean_up(&b);
    }
    assert_int_equal(wc_buf_append_cstr(out, suffix), WC_OK);
}

static void test_records_file_and_array(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf doc = WC_BUF_INIT;

    (void)state;
    s_build_records(&doc, "{\"Records\":[", "]}\n");
    assert_int_equal(wc_events_parse(wc_buf_str(&doc), &l, NULL, 0), WC_OK);
    wc_buf_clean_up(&doc);
    assert_int_equal(l.len, 3);
    assert_string_equal(l.items[0].event_id, "1a2b3c4d-5e6f-4a7b-8c9d-EXAMPLE00002");
    assert_string_equal(l.items[1].event_id, "6f708192-a3b4-4d5e-8f60-EXAMPLE00007");
    assert_string_equal(l.items[2].event_id, "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0");
    assert_string_equal(l.items[2].event_type, "AwsConsoleSignIn");

    s_build_records(&doc, " [", "] ");
    assert_int_equal(wc_events_parse(wc_buf_str(&doc), &l, NULL, 0), WC_OK);
    wc_buf_clean_up(&doc);
    assert_int_equal(l.len, 6);
    assert_string_equal(l.items[3].event_id, "1a2b3c4d-5e6f-4a7b-8c9d-EXAMPLE00002");
    assert_string_equal(l.items[5].identity.type, "Root");

    assert_int_equal(s_parse_cstr("[]", &l, NULL, 0), WC_OK);
    assert_int_equal(s_parse_cstr("{\"Records\":[]}", &l, NULL, 0), WC_OK);
    assert_int_equal(l.len, 6);
    wc_event_list_clean_up(&l);
    wc_event_list_clean_up(&l); /* idempotent */
    wc_event_list_clean_up(NULL);
}

/* ---- EventTime, readOnly ---------------------------------------------- */

/* A LookupEvents page with one entry: EventTime text, ReadOnly text, and the
 * record's eventTime/readOnly members ("" to leave them out). */
static int s_parse_entry(const char *event_time, const char *ro, const char *rec_time,
                         const char *rec_ro, struct wc_event_list *l)
{
    char doc[1024];

    snprintf(doc, sizeof(doc),
             "{\"Events\":[{\"EventId\":\"e-1\",\"EventName\":\"PutX\"%s%s%s%s,"
             "\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"e-1\\\"%s%s%s%s}\"}]}",
             *event_time ? ",\"EventTime\":" : "", event_time, *ro ? ",\"ReadOnly\":" : "", ro,
             *rec_time ? ",\\\"eventTime\\\":" : "", rec_time,
             *rec_ro ? ",\\\"readOnly\\\":" : "", rec_ro);
    return s_parse_cstr(doc, l, NULL, 0);
}

static void test_event_time_forms(void **state)
{
    static const struct {
        const char *event_time, *rec_time;
        long long ms;
    } ok[] = {
        {"1714564799", "", 1714564799000LL},
        {"1714564799.0", "", 1714564799000LL},
        {"1.714564799E9", "", 1714564799000LL},
        {"1.714564799e+9", "", 1714564799000LL},
        {"1714564799.25", "", 1714564799250LL},
        {"1.001", "", 1001LL}, /* x1000 is 1000.99999...: rounded, not cut */
        /* both parse: the record's eventTime wins */
        {"1714564000", "\\\"2024-05-01T11:59:59Z\\\"", 1714564799000LL},
        /* only the record's */
        {"", "\\\"2024-05-01T11:59:10.5Z\\\"", 1714564750500LL},
        /* record's unparseable: EventTime */
        {"1714564750", "\\\"yesterday\\\"", 1714564750000LL},
        /* EventTime out of range: the record's */
        {"-5", "\\\"2024-05-01T11:59:10Z\\\"", 1714564750000LL},
        {"1e300", "\\\"2024-05-01T11:59:10Z\\\"", 1714564750000LL},
    };
    struct wc_event_list l = WC_EVENT_LIST_INIT;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (s_parse_entry(ok[i].event_time, "", ok[i].rec_time, "", &l) != WC_OK)
            fail_msg("case %zu (%s, %s) did not parse", i, ok[i].event_time, ok[i].rec_time);
        assert_int_equal(l.len, i + 1);
        assert_string_equal(l.items[i].event_name, "PutX"); /* from the wrapper */
        if (l.items[i].event_time_ms != ok[i].ms)
            fail_msg("case %zu: %lld != %lld", i, (long long)l.items[i].event_time_ms,
                     ok[i].ms);
    }
    /* neither parses: the entry is skipped, the page is fine */
    assert_int_equal(s_parse_entry("", "", "\\\"nope\\\"", "", &l), WC_OK);
    assert_int_equal(s_parse_entry("-1", "", "", "", &l), WC_OK);
    assert_int_equal(s_parse_entry("true", "", "", "", &l), WC_OK);
    assert_int_equal(l.len, sizeof(ok) / sizeof(ok[0]));
    assert_int_equal(l.n_skipped, 3);
    wc_event_list_clean_up(&l);
}

static void test_read_only_forms(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;

    (void)state;
    assert_int_equal(s_parse_entry("1", "\"true\"", "", "", &l), WC_OK);  /* wrapper string */
    assert_int_equal(s_parse_entry("1", "\"false\"", "", "", &l), WC_OK);
    assert_int_equal(s_parse_entry("1", "", "", "true", &l), WC_OK);      /* record bool */
    assert_int_equal(s_parse_entry("1", "", "", "\\\"true\\\"", &l), WC_OK); /* record string */
    assert_int_equal(s_parse_entry("1", "\"true\"", "", "false", &l), WC_OK); /* record wins */
    assert_int_equal(s_parse_entry("1", "", "", "", &l), WC_OK);          /* absent */
    assert_int_equal(l.len, 6);
    assert_true(l.items[0].read_only);
    assert_false(l.items[1].read_only);
    assert_true(l.items[2].read_only);
    assert_true(l.items[3].read_only);
    assert_false(l.items[4].read_only);
    assert_false(l.items[5].read_only);
    assert_int_equal(s_parse_entry("1", "7", "", "", &l), WC_OK); /* skipped */
    assert_int_equal(l.len, 6);
    assert_int_equal(l.n_skipped, 1);
    wc_event_list_clean_up(&l);

    /* sessionCredentialFromConsole: bool true or "true" */
    assert_int_equal(s_parse_cstr("[{\"eventID\":\"a\",\"eventName\":\"X\",\"eventTime\":"
                                  "\"2024-05-01T00:00:00Z\",\"sessionCredentialFromConsole\":true},"
                                  "{\"eventID\":\"b\",\"eventName\":\"X\",\"eventTime\":"
                                  "\"2024-05-01T00:00:00Z\",\"sessionCredentialFromConsole\":\"false\"}]",
                                  &l, NULL, 0),
                     WC_OK);
    assert_true(l.items[0].session_credential_from_console);
    assert_false(l.items[1].session_credential_from_console);
    wc_event_list_clean_up(&l);
}

/* ---- identity extras -------------------------------------------------- */

static void test_identity_extras(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;

    (void)state;
    assert_int_equal(
        s_parse_cstr(
            "["
            /* Identity Center user: onBehalfOf wins over sourceIdentity */
            "{\"eventID\":\"1\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
            "\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::1:assumed-role/R/s\","
            "\"onBehalfOf\":{\"userId\":\"94482488-3041-7026-18f3-be45837cd0e4\","
            "\"identityStoreArn\":\"arn:aws:identitystore::1:identitystore/d-1\"},"
            "\"sessionContext\":{\"sourceIdentity\":\"dave\"}}},"
            /* sourceIdentity alone; no sessionIssuer: role name from the ARN */
            "{\"eventID\":\"2\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
            "\"userIdentity\":{\"type\":\"AssumedRole\","
            "\"arn\":\"arn:aws-cn:sts::1:assumed-role/deployer/ci-run-42\","
            "\"sessionContext\":{\"sourceIdentity\":\"dave\"}}},"
            /* not a session ARN: nothing derived */
            "{\"eventID\":\"3\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
            "\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::1:assumed-role/R\"}},"
            "{\"eventID\":\"4\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
            "\"userIdentity\":{\"type\":\"Unknown\",\"arn\":\"not-an-arn/assumed-role/a/b\"}}"
            "]",
            &l, NULL, 0),
        WC_OK);
    assert_int_equal(l.len, 4);
    assert_string_equal(l.items[0].identity.identity_store_user,
                        "94482488-3041-7026-18f3-be45837cd0e4");
    assert_string_equal(l.items[0].identity.session_name, "s");
    assert_string_equal(l.items[0].identity.issuer_user_name, "R");
    assert_string_equal(l.items[1].identity.identity_store_user, "dave");
    assert_string_equal(l.items[1].identity.session_name, "ci-run-42");
    assert_string_equal(l.items[1].identity.issuer_user_name, "deployer");
    assert_null(l.items[1].identity.issuer_arn);
    assert_null(l.items[2].identity.session_name);
    assert_null(l.items[2].identity.issuer_user_name);
    assert_null(l.items[3].identity.session_name);
    assert_null(l.items[3].identity.identity_store_user);
    assert_null(l.items[0].identity.access_key_id); /* absent: NULL */
    wc_event_list_clean_up(&l);
}

/* ---- requestParameters walk ------------------------------------------- */

static void test_param_strings_limits(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf doc = WC_BUF_INIT;
    char *long_ok = NULL, *too_long = NULL;

    (void)state;
    wc_buf_init(&doc, 0);
    /* 2048 bytes are kept, 2049 skipped; nesting deeper than the walk's limit
     * is not visited; then 100 strings, of which the total kept stops at 64. */
    long_ok = malloc(2049);
    too_long = malloc(2050);
    assert_non_null(long_ok);
    assert_non_null(too_long);
    memset(long_ok, 'k', 2048);
    long_ok[2048] = '\0';
    memset(too_long, 't', 2049);
    too_long[2049] = '\0';
    assert_int_equal(wc_buf_appendf(&doc, "{\"eventID\":\"p\",\"eventName\":\"X\",\"eventTime\":"
                                          "\"2024-05-01T00:00:00Z\",\"requestParameters\":{"
                                          "\"a\":\"%s\",\"b\":\"%s\",\"shallow\":[[[[\"s5\"]]]],"
                                          "\"deep\":",
                                    long_ok, too_long),
                     WC_OK);
    for (int i = 0; i < 40; i++)
        wc_buf_append_char(&doc, '[');
    wc_buf_append_cstr(&doc, "\"too-deep\"");
    for (int i = 0; i < 40; i++)
        wc_buf_append_char(&doc, ']');
    wc_buf_append_cstr(&doc, ",\"many\":[");
    for (int i = 0; i < 100; i++)
        wc_buf_appendf(&doc, "%s\"v%d\"", i ? "," : "", i);
    wc_buf_append_cstr(&doc, "]}}");
    assert_int_equal(wc_events_parse(wc_buf_str(&doc), &l, NULL, 0), WC_OK);
    assert_int_equal(l.len, 1);
    const struct wc_strlist *p = &l.items[0].param_strings;
    assert_int_equal(p->len, WC_EVENT_MAX_PARAM_STRINGS);
    assert_string_equal(p->items[0], long_ok);
    assert_false(wc_strlist_contains(p, too_long));
    assert_string_equal(p->items[1], "s5");
    assert_false(wc_strlist_contains(p, "too-deep"));
    assert_string_equal(p->items[2], "v0");
    assert_string_equal(p->items[63], "v61");
    assert_false(wc_strlist_contains(p, "v62"));
    free(long_ok);
    free(too_long);
    wc_buf_clean_up(&doc);
    wc_event_list_clean_up(&l);
}

/* ---- hostile input ---------------------------------------------------- */

static void test_hostile_small(void **state)
{
    (void)state;
    s_expect_fail("", WC_ERR_PARSE, NULL);
    s_expect_fail("{\"Events\":[", WC_ERR_PARSE, "JSON");
    s_expect_fail("{\"Events\":[]} trailing", WC_ERR_PARSE, NULL);
    s_expect_fail("\"just a string\"", WC_ERR_INVALID, NULL);
    s_expect_fail("42", WC_ERR_INVALID, NULL);
    s_expect_fail("{}", WC_ERR_INVALID, NULL);
    s_expect_fail("{\"Events\":5}", WC_ERR_INVALID, "Events");
    s_expect_fail("{\"Events\":null}", WC_ERR_INVALID, "Events");
    s_expect_skip("{\"Events\":[7]}", 0, "Events[0]");
    s_expect_fail("{\"Events\":[],\"NextToken\":9}", WC_ERR_INVALID, "NextToken");
    s_expect_fail("{\"Records\":\"x\"}", WC_ERR_INVALID, "Records");
    s_expect_skip("{\"Records\":[1]}", 0, "Records[0]");
    /* CloudTrailEvent missing, not a string, not JSON, JSON with junk after:
     * that entry is skipped, the page is fine */
    s_expect_skip("{\"Events\":[{\"EventId\":\"x\"}]}", 0, "CloudTrailEvent");
    s_expect_skip("{\"Events\":[{\"EventId\":\"x\",\"CloudTrailEvent\":{}}]}", 0,
                  "CloudTrailEvent");
    s_expect_skip("{\"Events\":[{\"EventId\":\"x\",\"CloudTrailEvent\":\"{not json\"}]}", 0,
                  "CloudTrailEvent");
    s_expect_skip("{\"Events\":[{\"EventId\":\"x\",\"EventTime\":1,"
                  "\"CloudTrailEvent\":\"{\\\"eventName\\\":\\\"A\\\"} x\"}]}",
                  0, "CloudTrailEvent");
    s_expect_skip("{\"Events\":[{\"EventId\":\"x\",\"EventTime\":1,\"CloudTrailEvent\":\"[]\"}]}",
                  0, "record is not an object");
    /* records missing what we need */
    s_expect_fail("{\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\"}", WC_ERR_INVALID,
                  "eventID");
    s_expect_fail("{\"eventID\":\"\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\"}",
                  WC_ERR_INVALID, "eventID");
    s_expect_fail("{\"eventID\":\"i\",\"eventTime\":\"2024-05-01T00:00:00Z\"}", WC_ERR_INVALID,
                  "eventName");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-02-30T00:00:00Z\"}",
                  WC_ERR_INVALID, "eventTime");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\"}", WC_ERR_INVALID, "eventTime");
    /* wrong types */
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"userIdentity\":\"root\"}",
                  WC_ERR_INVALID, "userIdentity");
    s_expect_fail("{\"eventID\":5,\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\"}",
                  WC_ERR_INVALID, "eventID");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":1714564799}",
                  WC_ERR_INVALID, "eventTime");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"userIdentity\":{\"arn\":[]}}",
                  WC_ERR_INVALID, "arn");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"userIdentity\":{\"accessKeyId\":7}}",
                  WC_ERR_INVALID, "accessKeyId");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"userIdentity\":{\"sessionContext\":{\"sessionIssuer\":\"r\"}}}",
                  WC_ERR_INVALID, "sessionIssuer");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"resources\":{}}",
                  WC_ERR_INVALID, "resources");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"resources\":[\"arn\"]}",
                  WC_ERR_INVALID, "resources");
    s_expect_skip("{\"Events\":[{\"EventId\":\"x\",\"EventTime\":1,\"Resources\":[{\"ResourceName\":1}],"
                  "\"CloudTrailEvent\":\"{}\"}]}",
                  0, "ResourceName");
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"readOnly\":{}}",
                  WC_ERR_INVALID, "readOnly");
    /* one bad record no longer spoils the document: the good one is kept */
    s_expect_skip("[{\"eventID\":\"ok\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\"},"
                  "{\"eventID\":\"bad\",\"eventName\":\"X\"}]",
                  1, "records[1]: record has no parseable eventTime");
}

/* One odd record used to fail the whole page or file (review finding 15):
 * a record without eventID (AWS's own 2014 documentation examples) or with
 * a field of an unexpected type is skipped and counted; the rest is kept. */
static void test_odd_records_skipped(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf doc = WC_BUF_INIT, rec = WC_BUF_INIT;
    char err[256] = "";
    static const char good[] =
        "{\"eventID\":\"good-1\",\"eventName\":\"PutX\",\"eventTime\":\"2024-05-01T00:00:00Z\"}";

    (void)state;
    /* a log file: the doc sample without eventID between two good records */
    wc_test_read_ref(CT "record-doc-iamuser-api-error.json", &rec);
    wc_buf_init(&doc, 0);
    assert_int_equal(wc_buf_appendf(&doc, "{\"Records\":[%s,%s,%s]}", good, rec.ptr,
                                    "{\"eventID\":\"good-2\",\"eventName\":\"PutY\","
                                    "\"eventTime\":\"2024-05-01T00:00:01Z\"}"),
                     WC_OK);
    assert_int_equal(wc_events_parse(wc_buf_str(&doc), &l, err, sizeof(err)), WC_OK);
    assert_int_equal(l.len, 2);
    assert_string_equal(l.items[0].event_id, "good-1");
    assert_string_equal(l.items[1].event_id, "good-2");
    assert_int_equal(l.n_skipped, 1);
    assert_non_null(strstr(err, "Records[1]: record has no eventID"));
    /* a LookupEvents page: one entry with a number where a string belongs,
     * one with a non-object userIdentity; the token still counts */
    wc_buf_reset(&doc);
    assert_int_equal(
        wc_buf_appendf(&doc,
                       "{\"Events\":["
                       "{\"EventId\":\"a\",\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"a\\\","
                       "\\\"eventName\\\":\\\"X\\\",\\\"eventTime\\\":\\\"2024-05-01T00:00:00Z\\\","
                       "\\\"userAgent\\\":42}\"},"
                       "{\"EventId\":\"b\",\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"b\\\","
                       "\\\"eventName\\\":\\\"X\\\",\\\"eventTime\\\":\\\"2024-05-01T00:00:00Z\\\"}\"},"
                       "{\"EventId\":\"c\",\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"c\\\","
                       "\\\"eventName\\\":\\\"X\\\",\\\"eventTime\\\":\\\"2024-05-01T00:00:00Z\\\","
                       "\\\"userIdentity\\\":[]}\"}],"
                       "\"NextToken\":\"tok-2\"}"),
        WC_OK);
    assert_int_equal(wc_events_parse(wc_buf_str(&doc), &l, err, sizeof(err)), WC_OK);
    assert_int_equal(l.len, 3);
    assert_string_equal(l.items[2].event_id, "b");
    assert_string_equal(l.next_token, "tok-2");
    assert_int_equal(l.n_skipped, 3); /* summed over calls */
    assert_non_null(strstr(err, "skipped 2 unusable records, the first: Events[0]: userAgent"));
    /* no skip: errbuf is empty */
    assert_int_equal(s_parse_cstr("[]", &l, err, sizeof(err)), WC_OK);
    assert_string_equal(err, "");
    assert_int_equal(l.n_skipped, 3);
    /* every record skipped: still a page (empty), not a failure */
    assert_int_equal(s_parse_cstr("{\"Records\":[{},{\"eventID\":7}]}", &l, NULL, 0), WC_OK);
    assert_int_equal(l.len, 3);
    assert_int_equal(l.n_skipped, 5);
    wc_event_list_clean_up(&l);
    assert_int_equal(l.n_skipped, 0);
    wc_buf_clean_up(&doc);
    wc_buf_clean_up(&rec);
}

/* Found by tests/fuzz/fuzz_slack: bytes that are not UTF-8 reached the
 * Slack and webhook JSON. A document must be UTF-8 (RFC 8259); \u escapes
 * of any character stay fine. */
static void test_hostile_invalid_utf8(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    char err[256] = "";

    (void)state;
    s_expect_fail("{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                  "\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/caro\x94\"}}",
                  WC_ERR_PARSE, "not valid UTF-8 at byte 113");
    s_expect_fail("[\xed\xa0\x80]", WC_ERR_PARSE, "UTF-8");
    assert_int_equal(s_parse_cstr("{\"eventID\":\"i\",\"eventName\":\"X\","
                                  "\"eventTime\":\"2024-05-01T00:00:00Z\","
                                  "\"userAgent\":\"\\u00e9 \xc3\xa9\"}",
                                  &l, err, sizeof(err)),
                     WC_OK);
    assert_string_equal(l.items[0].user_agent, "\xc3\xa9 \xc3\xa9");
    wc_event_list_clean_up(&l);
}

static void test_hostile_truncated_and_nul(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    char *exact;

    (void)state;
    wc_test_read_ref(CT "lookup-events-response.wire.constructed.json", &b);
    /* every truncation point near the end fails cleanly */
    while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == ' '))
        b.len--;
    for (size_t cut = 1; cut < 40; cut++)
        s_expect_fail_n(b.ptr, b.len - cut, WC_ERR_PARSE, NULL);
    s_expect_fail_n(b.ptr, b.len / 2, WC_ERR_PARSE, NULL);
    /* input not NUL-terminated: parse from an exact-size copy (ASan watches) */
    exact = malloc(b.len);
    assert_non_null(exact);
    memcpy(exact, b.ptr, b.len);
    assert_int_equal(wc_events_parse((struct wc_str){exact, b.len}, &l, NULL, 0), WC_OK);
    assert_int_equal(l.len, 5);
    free(exact);
    wc_event_list_clean_up(&l);
    wc_buf_clean_up(&b);
    /* every prefix of a record, each in an exact-size heap copy */
    wc_test_read_ref(CT "record-assumedrole-sso-console.constructed.json", &b);
    while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == ' '))
        b.len--;
    for (size_t n = 0; n < b.len; n++) {
        char err[128] = "";

        exact = malloc(n ? n : 1);
        assert_non_null(exact);
        memcpy(exact, b.ptr, n);
        if (wc_events_parse((struct wc_str){exact, n}, &l, err, sizeof(err)) != WC_ERR_PARSE)
            fail_msg("prefix of %zu bytes: '%s'", n, err);
        free(exact);
    }
    assert_int_equal(l.len, 0);
    wc_buf_clean_up(&b);
    /* embedded NUL after the document */
    s_expect_fail_n("[]\0[", 4, WC_ERR_PARSE, NULL);
}

static void test_hostile_deep_nesting(void **state)
{
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    wc_buf_init(&b, 0);
    for (int i = 0; i < 200000; i++)
        assert_int_equal(wc_buf_append_char(&b, '['), WC_OK);
    s_expect_fail_n(b.ptr, b.len, WC_ERR_PARSE, NULL);
    wc_buf_reset(&b);
    wc_buf_append_cstr(&b, "{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                           "\"requestParameters\":");
    for (int i = 0; i < 5000; i++)
        wc_buf_append_cstr(&b, "{\"a\":");
    wc_buf_append_cstr(&b, "1");
    for (int i = 0; i < 5000; i++)
        wc_buf_append_char(&b, '}');
    wc_buf_append_char(&b, '}');
    s_expect_fail_n(b.ptr, b.len, WC_ERR_PARSE, NULL);
    wc_buf_clean_up(&b);
}

static void test_hostile_huge(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf b = WC_BUF_INIT;
    const size_t ten_mb = (size_t)10 * 1024 * 1024;
    char *big;

    (void)state;
    big = malloc(ten_mb + 1);
    assert_non_null(big);
    memset(big, 'A', ten_mb);
    big[ten_mb] = '\0';

    /* a 10 MB field we would keep: refused */
    wc_buf_init(&b, 0);
    wc_buf_appendf(&b, "{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                       "\"userAgent\":\"%s\"}",
                   big);
    s_expect_fail_n(b.ptr, b.len, WC_ERR_TOO_LARGE, "userAgent");
    /* a 10 MB document that is only a string */
    wc_buf_reset(&b);
    wc_buf_appendf(&b, "\"%s\"", big);
    s_expect_fail_n(b.ptr, b.len, WC_ERR_INVALID, NULL);
    /* a 10 MB unterminated string */
    wc_buf_reset(&b);
    wc_buf_appendf(&b, "{\"Events\":[{\"CloudTrailEvent\":\"%s", big);
    s_expect_fail_n(b.ptr, b.len, WC_ERR_PARSE, NULL);
    /* a 10 MB CloudTrailEvent that is not JSON: that entry is skipped */
    wc_buf_reset(&b);
    wc_buf_appendf(&b, "{\"Events\":[{\"CloudTrailEvent\":\"%s\"}]}", big);
    s_expect_skip(b.ptr, 0, "CloudTrailEvent");
    /* a 10 MB requestParameters value: skipped, the event is fine */
    wc_buf_reset(&b);
    wc_buf_appendf(&b, "{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
                       "\"requestParameters\":{\"policy\":\"%s\",\"name\":\"n\"}}",
                   big);
    assert_int_equal(wc_events_parse(wc_buf_str(&b), &l, NULL, 0), WC_OK);
    assert_int_equal(l.items[0].param_strings.len, 1);
    assert_string_equal(l.items[0].param_strings.items[0], "n");
    wc_event_list_clean_up(&l);
    free(big);

    /* over WC_EVENTS_MAX_BYTES: refused before parsing */
    wc_buf_reset(&b);
    wc_buf_append_cstr(&b, "[");
    while (b.len <= WC_EVENTS_MAX_BYTES)
        assert_int_equal(wc_buf_append_cstr(&b, "                                "), WC_OK);
    wc_buf_append_cstr(&b, "]");
    s_expect_fail_n(b.ptr, b.len, WC_ERR_TOO_LARGE, NULL);
    wc_buf_clean_up(&b);
}

static void test_hostile_too_many(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf b = WC_BUF_INIT;
    static const char rec[] =
        "{\"eventID\":\"i\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\"}";

    (void)state;
    wc_buf_init(&b, 0);
    wc_buf_append_cstr(&b, "{\"Records\":[");
    for (int i = 0; i < WC_EVENTS_MAX; i++)
        wc_buf_appendf(&b, "%s%s", i ? "," : "", rec);
    wc_buf_append_cstr(&b, "]}");
    /* exactly the cap is fine */
    assert_int_equal(wc_events_parse(wc_buf_str(&b), &l, NULL, 0), WC_OK);
    assert_int_equal(l.len, WC_EVENTS_MAX);
    wc_event_list_clean_up(&l);
    /* one more is not */
    b.len -= 2;
    b.ptr[b.len] = '\0';
    wc_buf_appendf(&b, ",%s]}", rec);
    s_expect_fail_n(b.ptr, b.len, WC_ERR_TOO_LARGE, NULL);
    wc_buf_reset(&b);
    wc_buf_append_cstr(&b, "{\"Events\":[");
    for (int i = 0; i <= WC_EVENTS_MAX; i++)
        wc_buf_appendf(&b, "%s{}", i ? "," : "");
    wc_buf_append_cstr(&b, "]}");
    s_expect_fail_n(b.ptr, b.len, WC_ERR_TOO_LARGE, NULL);
    wc_buf_clean_up(&b);
}

/* ---- copy / clean up -------------------------------------------------- */

static void test_copy(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_event c, c2;

    (void)state;
    s_parse_ref_ok(CT "lookup-events-response.wire.constructed.json", &l);
    s_parse_data_ok("cloudtrail/record-federated-user.json", &l);
    assert_int_equal(wc_event_copy(&c, &l.items[1]), WC_OK);
    assert_int_equal(wc_event_copy(&c2, &l.items[5]), WC_OK);
    assert_ptr_not_equal(c.event_id, l.items[1].event_id);
    wc_event_list_clean_up(&l); /* the copies own everything */
    assert_string_equal(c.event_id, "1a2b3c4d-5e6f-4a7b-8c9d-EXAMPLE00002");
    assert_int_equal(c.event_time_ms, 1714564750000LL);
    assert_true(c.session_credential_from_console);
    assert_string_equal(c.identity.session_name, "alice@example.com");
    assert_string_equal(c.identity.issuer_user_name,
                        "AWSReservedSSO_AdministratorAccess_0123456789abcdef");
    assert_string_equal(c.user_agent, "AWS Internal");
    assert_string_equal(c.identity.access_key_id, "ASIA3EXAMPLEKEYID0002");
    assert_int_equal(c.n_resources, 1);
    assert_string_equal(c.resources[0].name, "sg-0123456789abcdef0");
    assert_string_equal(c.resources[0].type, "AWS::EC2::SecurityGroup");
    assert_true(wc_strlist_contains(&c.param_strings, "0.0.0.0/0"));
    assert_null(c.error_code);
    assert_string_equal(c2.identity.type, "FederatedUser");
    assert_string_equal(c2.identity.access_key_id, "ASIAFEDERATEDEXAMPLE");
    assert_string_equal(c2.resources[0].arn, "arn:aws:s3:::example-bucket");
    assert_null(c2.resources[0].name);
    wc_event_clean_up(&c);
    assert_null(c.event_id);
    wc_event_clean_up(&c);
    wc_event_clean_up(&c2);
    wc_event_clean_up(NULL);
    assert_int_equal(wc_event_copy(NULL, &c), WC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_wire),
        cmocka_unit_test(test_lookup_pretty),
        cmocka_unit_test(test_lookup_empty_and_pages),
        cmocka_unit_test(test_sample_records),
        cmocka_unit_test(test_record_details),
        cmocka_unit_test(test_error_code),
        cmocka_unit_test(test_records_file_and_array),
        cmocka_unit_test(test_event_time_forms),
        cmocka_unit_test(test_read_only_forms),
        cmocka_unit_test(test_identity_extras),
        cmocka_unit_test(test_param_strings_limits),
        cmocka_unit_test(test_hostile_small),
        cmocka_unit_test(test_odd_records_skipped),
        cmocka_unit_test(test_hostile_invalid_utf8),
        cmocka_unit_test(test_hostile_truncated_and_nul),
        cmocka_unit_test(test_hostile_deep_nesting),
        cmocka_unit_test(test_hostile_huge),
        cmocka_unit_test(test_hostile_too_many),
        cmocka_unit_test(test_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
