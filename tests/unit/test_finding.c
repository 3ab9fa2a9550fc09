/* Unit tests for core/finding: correlation edges, verdicts, JSON shape. */
#include "tests/support/testutil.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "core/change.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/policy.h"

#define CAPTURE_MS 1714564770000LL /* 2024-05-01T11:59:30Z */
#define SG "sg-0123456789abcdef0"
#define SG_ARN "arn:aws:ec2:eu-west-1:123456789012:security-group/" SG

enum who { IAM_USER, SERVICE, TERRAFORM, SSO };

struct fixture {
    struct wc_policy policy;
    struct wc_notification note;
    struct wc_event_list events;
};

static char *s_dup(const char *s)
{
    char *p = wc_strdup(s);

    assert_non_null(p);
    return p;
}

static struct wc_event *s_add_event(struct fixture *fx, const char *id, const char *name,
                                    int64_t offset_ms, enum who who, const char *resource)
{
    struct wc_event *e;
    struct wc_event_list *l = &fx->events;

    l->items = realloc(l->items, (l->len + 1) * sizeof(*l->items));
    assert_non_null(l->items);
    e = &l->items[l->len++];
    memset(e, 0, sizeof(*e));
    e->event_id = s_dup(id);
    e->event_name = s_dup(name);
    e->event_source = s_dup("ec2.amazonaws.com");
    e->event_type = s_dup("AwsApiCall");
    e->event_time_ms = CAPTURE_MS + offset_ms;
    e->source_ip = s_dup("198.51.100.23");
    e->user_agent = s_dup("aws-cli/2.15.0");
    e->identity.account_id = s_dup("123456789012");
    switch (who) {
    case IAM_USER:
        e->identity.type = s_dup("IAMUser");
        e->identity.arn = s_dup("arn:aws:iam::123456789012:user/Alice");
        e->identity.user_name = s_dup("Alice");
        break;
    case SERVICE:
        e->identity.type = s_dup("AWSService");
        e->identity.invoked_by = s_dup("autoscaling.amazonaws.com");
        free(e->source_ip);
        e->source_ip = s_dup("autoscaling.amazonaws.com");
        break;
    case TERRAFORM:
        e->identity.type = s_dup("AssumedRole");
        e->identity.arn =
            s_dup("arn:aws:sts::123456789012:assumed-role/terraform-deployer/aws-go-sdk-1");
        e->identity.issuer_type = s_dup("Role");
        e->identity.issuer_arn = s_dup("arn:aws:iam::123456789012:role/terraform-deployer");
        e->identity.issuer_user_name = s_dup("terraform-deployer");
        e->identity.session_name = s_dup("aws-go-sdk-1");
        break;
    case SSO:
        e->identity.type = s_dup("AssumedRole");
        e->identity.arn = s_dup("arn:aws:sts::123456789012:assumed-role/"
                                "AWSReservedSSO_Admin_0123/alice@example.com");
        e->identity.issuer_type = s_dup("Role");
        e->identity.issuer_arn = s_dup("arn:aws:iam::123456789012:role/aws-reserved/"
                                       "sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123");
        e->identity.issuer_user_name = s_dup("AWSReservedSSO_Admin_0123");
        e->identity.session_name = s_dup("alice@example.com");
        e->session_credential_from_console = true;
        break;
    }
    if (resource) {
        e->resources = calloc(1, sizeof(*e->resources));
        assert_non_null(e->resources);
        e->n_resources = 1;
        e->resources[0].type = s_dup("AWS::EC2::SecurityGroup");
        e->resources[0].name = s_dup(resource);
    }
    return e;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct wc_change *c;

    if (!fx || wc_policy_init_defaults(&fx->policy) != WC_OK)
        return -1;
    fx->note.kind = WC_NOTE_CHANGE;
    fx->note.envelope = WC_ENV_SNS;
    fx->note.message_type = wc_strdup("ConfigurationItemChangeNotification");
    c = &fx->note.change;
    c->account_id = wc_strdup("123456789012");
    c->region = wc_strdup("eu-west-1");
    c->lookup_region = wc_strdup("eu-west-1");
    c->resource_type = wc_strdup("AWS::EC2::SecurityGroup");
    c->resource_id = wc_strdup(SG);
    c->arn = wc_strdup(SG_ARN);
    c->capture_time_ms = CAPTURE_MS;
    c->status = wc_strdup("OK");
    c->change_type = wc_strdup("UPDATE");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    wc_policy_clean_up(&fx->policy);
    free(fx->note.message_type);
    wc_change_clean_up(&fx->note.change);
    wc_event_list_clean_up(&fx->events);
    free(fx);
    return 0;
}

static struct wc_finding *s_decide(struct fixture *fx)
{
    struct wc_finding *f = NULL;

    assert_int_equal(wc_finding_decide(&fx->policy, &fx->note, &fx->events, &f), WC_OK);
    assert_non_null(f);
    return f;
}

static void test_skew_edges(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    s_add_event(fx, "in-minus", "AuthorizeSecurityGroupIngress", -180000, IAM_USER, SG);
    s_add_event(fx, "in-plus", "AuthorizeSecurityGroupIngress", 180000, IAM_USER, SG);
    s_add_event(fx, "out-minus", "AuthorizeSecurityGroupIngress", -181000, IAM_USER, SG);
    s_add_event(fx, "out-plus", "AuthorizeSecurityGroupIngress", 181000, IAM_USER, SG);
    s_add_event(fx, "out-by-1ms", "AuthorizeSecurityGroupIngress", 180001, IAM_USER, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_HUMAN);
    assert_int_equal(f->n_matches, 2);
    /* equal distance: earlier first */
    assert_string_equal(f->matches[0].event.event_id, "in-minus");
    assert_string_equal(f->matches[1].event.event_id, "in-plus");
    assert_int_equal(f->matches[0].offset_ms, -180000);
    wc_finding_destroy(f);
}

static void test_custom_skew(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    fx->policy.skew_s = 30;
    s_add_event(fx, "e1", "AuthorizeSecurityGroupIngress", 31000, IAM_USER, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    assert_non_null(strstr(f->reason, "within 30s"));
    wc_finding_destroy(f);
}

static void test_decoy_same_type_other_resource(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    /* the old PoC matched by resource type: a change to another SG blamed */
    s_add_event(fx, "decoy", "AuthorizeSecurityGroupIngress", 1000, IAM_USER,
                "sg-0fffffffffffffff0");
    s_add_event(fx, "decoy-arn", "AuthorizeSecurityGroupIngress", 2000, IAM_USER,
                "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0fffffffffffffff0");
    s_add_event(fx, "prefix", "AuthorizeSecurityGroupIngress", 3000, IAM_USER, SG "1");
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    assert_int_equal(f->n_matches, 0);
    wc_finding_destroy(f);
}

static void test_match_by_arn_and_related_and_params(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_event *e;

    s_add_event(fx, "by-arn", "AuthorizeSecurityGroupIngress", 5000, IAM_USER, SG_ARN);
    s_add_event(fx, "by-related", "ModifySecurityGroupRules", -7000, IAM_USER, NULL);
    assert_int_equal(wc_strlist_push(&fx->note.change.related_event_ids, "by-related"), WC_OK);
    e = s_add_event(fx, "by-param", "RevokeSecurityGroupEgress", 9000, IAM_USER, NULL);
    assert_int_equal(wc_strlist_push(&e->param_strings, SG), WC_OK);
    s_add_event(fx, "no-link", "RevokeSecurityGroupEgress", 1000, IAM_USER, NULL);
    f = s_decide(fx);
    assert_int_equal(f->n_matches, 3);
    assert_string_equal(f->matches[0].event.event_id, "by-arn");
    assert_string_equal(f->matches[1].event.event_id, "by-related");
    assert_string_equal(f->matches[2].event.event_id, "by-param");
    wc_finding_destroy(f);
}

static void test_read_only_failed_and_ignored_names(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_event *e;

    e = s_add_event(fx, "ro", "DescribeSecurityGroups", 1000, IAM_USER, SG);
    e->read_only = true;
    e = s_add_event(fx, "failed", "AuthorizeSecurityGroupIngress", 2000, IAM_USER, SG);
    e->error_code = s_dup("Client.UnauthorizedOperation");
    s_add_event(fx, "tagging", "CreateTags", 3000, IAM_USER, SG);
    assert_int_equal(wc_strlist_push(&fx->policy.ignore_event_names, "*Tags"), WC_OK);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    wc_finding_destroy(f);
}

static void test_human_wins_and_lists_only_humans(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    assert_int_equal(wc_strlist_push(&fx->policy.trusted, "arn:aws:iam::*:role/terraform-*"),
                     WC_OK);
    s_add_event(fx, "svc", "AuthorizeSecurityGroupIngress", 1000, SERVICE, SG);
    s_add_event(fx, "tf", "AuthorizeSecurityGroupIngress", 2000, TERRAFORM, SG);
    s_add_event(fx, "sso", "AuthorizeSecurityGroupIngress", -20000, SSO, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_HUMAN);
    assert_int_equal(f->n_matches, 1);
    assert_string_equal(f->matches[0].event.event_id, "sso");
    assert_int_equal(f->matches[0].cls.cls, WC_CLASS_HUMAN);
    assert_true(f->matches[0].cls.console);
    assert_non_null(strstr(f->reason, "alice@example.com"));
    assert_non_null(strstr(f->reason, "the console"));
    wc_finding_destroy(f);
}

static void test_automation_beats_service(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    assert_int_equal(wc_strlist_push(&fx->policy.trusted, "arn:aws:iam::*:role/terraform-*"),
                     WC_OK);
    s_add_event(fx, "svc", "AuthorizeSecurityGroupIngress", 1000, SERVICE, SG);
    s_add_event(fx, "tf", "AuthorizeSecurityGroupIngress", 2000, TERRAFORM, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_AUTOMATION);
    assert_int_equal(f->n_matches, 2);
    assert_non_null(strstr(f->reason, "terraform-deployer"));
    wc_finding_destroy(f);
}

static void test_service_only(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    s_add_event(fx, "svc", "AuthorizeSecurityGroupIngress", 1000, SERVICE, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_AWS_SERVICE);
    assert_int_equal(f->matches[0].cls.cls, WC_CLASS_AWS_SERVICE);
    wc_finding_destroy(f);
}

static void test_untrusted_terraform_is_human(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    s_add_event(fx, "tf", "AuthorizeSecurityGroupIngress", 2000, TERRAFORM, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_HUMAN);
    assert_false(f->matches[0].cls.console);
    assert_non_null(strstr(f->reason, "CLI/SDK"));
    wc_finding_destroy(f);
}

/* A user agent that looks like Terraform, from a principal not in trusted,
 * is a human change (the caller sets its user agent), and the reason says
 * that the user agent looked like automation. */
static void test_automation_user_agent_alone_is_human(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_event *e;

    assert_int_equal(wc_strlist_push(&fx->policy.automation_user_agents, "*Terraform/*"), WC_OK);
    e = s_add_event(fx, "sso", "AuthorizeSecurityGroupIngress", 2000, SSO, SG);
    free(e->user_agent);
    e->user_agent = s_dup("APN/1.0 HashiCorp/1.0 Terraform/1.7.5");
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_HUMAN);
    assert_string_equal(f->matches[0].cls.rule, "automation_user_agent_untrusted_principal");
    assert_non_null(strstr(f->reason, "alice@example.com"));
    assert_non_null(strstr(f->reason, "automation_user_agent_untrusted_principal"));
    wc_finding_destroy(f);
}

/* true when s is well-formed UTF-8 (no sequence cut short). */
static bool s_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (!n)
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

/* A resource name over 4 KiB used to make the decision fail ("too large"):
 * the message was never reported and cycled to the DLQ (review finding
 * 11). The reason is cut at a UTF-8 boundary instead. */
static void test_huge_resource_name_truncates_reason(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_buf name = WC_BUF_INIT;
    struct wc_buf json = WC_BUF_INIT;

    /* "x" then 3-byte characters, so a cut at 4093 bytes lands mid-sequence */
    assert_int_equal(wc_buf_append_cstr(&name, "x"), WC_OK);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(wc_buf_append_cstr(&name, "\xe2\x82\xac"), WC_OK); /* U+20AC */
    free(fx->note.change.resource_name);
    fx->note.change.resource_name = wc_buf_steal(&name);
    /* unattributed: the reason names the resource */
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    assert_true(strlen(f->reason) <= 4096);
    assert_true(strlen(f->reason) > 4000);
    assert_true(s_utf8_ok(f->reason));
    assert_non_null(strstr(f->reason, "no CloudTrail write event"));
    assert_string_equal(f->reason + strlen(f->reason) - 3, "...");
    /* the whole name is kept in the change and the JSON */
    assert_int_equal(wc_finding_to_json(f, false, &json), WC_OK);
    assert_non_null(strstr(json.ptr, fx->note.change.resource_name));
    wc_buf_clean_up(&json);
    wc_finding_destroy(f);
    /* human: the reason names actor and resource */
    s_add_event(fx, "a", "AuthorizeSecurityGroupIngress", 1000, IAM_USER, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_HUMAN);
    assert_true(strlen(f->reason) <= 4096);
    assert_true(s_utf8_ok(f->reason));
    assert_true(strncmp(f->reason, "Alice (IAMUser) called", 22) == 0);
    wc_finding_destroy(f);
}

static void test_ignored_type_and_non_change(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    free(fx->note.change.resource_type);
    fx->note.change.resource_type = wc_strdup("AWS::Config::ResourceCompliance");
    s_add_event(fx, "e", "PutEvaluations", 0, IAM_USER, SG);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_IGNORED);
    assert_int_equal(f->n_matches, 0);
    wc_finding_destroy(f);

    fx->note.kind = WC_NOTE_OTHER;
    free(fx->note.message_type);
    fx->note.message_type = wc_strdup("ConfigurationSnapshotDeliveryCompleted");
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_IGNORED);
    assert_false(f->is_change);
    assert_non_null(strstr(f->reason, "ConfigurationSnapshotDeliveryCompleted"));
    wc_finding_destroy(f);
}

static void test_no_events_is_unattributed(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f = NULL;

    assert_int_equal(wc_finding_decide(&fx->policy, &fx->note, NULL, &f), WC_OK);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    wc_finding_destroy(f);
}

static void test_duplicate_event_ids_once(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;

    s_add_event(fx, "same", "AuthorizeSecurityGroupIngress", 1000, IAM_USER, SG);
    s_add_event(fx, "same", "AuthorizeSecurityGroupIngress", 1000, IAM_USER, SG);
    f = s_decide(fx);
    assert_int_equal(f->n_matches, 1);
    wc_finding_destroy(f);
}

/* Found by tests/fuzz/fuzz_slack: names long enough to push the reason
 * past its 4 KiB buffer made wc_finding_decide fail (WC_ERR_TOO_LARGE), so
 * the worker could not decide and the message went round until the
 * dead-letter queue. The reason is now cut on a UTF-8 boundary. */
static void test_long_names_shorten_the_reason(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f = NULL;
    char *id = malloc(6001);
    size_t len;

    assert_non_null(id);
    for (size_t i = 0; i < 6000; i += 2)
        memcpy(id + i, "\xc3\xa9", 2); /* é: a cut could split it */
    id[6000] = '\0';
    free(fx->note.change.resource_id);
    fx->note.change.resource_id = id;
    assert_int_equal(wc_finding_decide(&fx->policy, &fx->note, NULL, &f), WC_OK);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    len = strlen(f->reason);
    assert_true(len <= 4096 && len > 4000);
    assert_int_equal(wc_utf8_valid_prefix(f->reason, len), len);
    assert_string_equal(f->reason + len - 3, "...");
    assert_string_equal(f->change.resource_id, id);
    wc_finding_destroy(f);
}

static void test_json_shape(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_buf out = WC_BUF_INIT;
    cJSON *root, *ev, *actor, *ch;

    fx->note.change.props = calloc(1, sizeof(*fx->note.change.props));
    fx->note.change.n_props = fx->note.change.n_props_total = 1;
    fx->note.change.props[0].path = s_dup("Configuration.IpPermissions.0");
    fx->note.change.props[0].change = s_dup("CREATE");
    fx->note.change.props[0].after = s_dup("{\"fromPort\":22}");
    s_add_event(fx, "sso", "AuthorizeSecurityGroupIngress", -20500, SSO, SG);
    f = s_decide(fx);
    assert_int_equal(wc_finding_to_json(f, false, &out), WC_OK);
    root = cJSON_Parse(out.ptr);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "verdict")->valuestring, "human");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(root, "reason")));
    ch = cJSON_GetObjectItem(root, "change");
    assert_string_equal(cJSON_GetObjectItem(ch, "capture_time")->valuestring,
                        "2024-05-01T11:59:30Z");
    assert_string_equal(cJSON_GetObjectItem(ch, "lookup_region")->valuestring, "eu-west-1");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(ch, "resource_name")));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(ch, "changed_properties"), 0),
                            "after")->valuestring,
        "{\"fromPort\":22}");
    ev = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "events"), 0);
    assert_non_null(ev);
    assert_string_equal(cJSON_GetObjectItem(ev, "event_time")->valuestring,
                        "2024-05-01T11:59:09.500Z");
    assert_string_equal(cJSON_GetObjectItem(ev, "class")->valuestring, "human");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ev, "console")));
    assert_true(cJSON_GetObjectItem(ev, "offset_s")->valuedouble == -20.5);
    actor = cJSON_GetObjectItem(ev, "actor");
    assert_string_equal(cJSON_GetObjectItem(actor, "session_name")->valuestring,
                        "alice@example.com");
    assert_string_equal(cJSON_GetObjectItem(actor, "type")->valuestring, "AssumedRole");
    cJSON_Delete(root);
    wc_buf_clean_up(&out);
    wc_finding_destroy(f);
}

static void test_verdict_names(void **state)
{
    enum wc_verdict v;

    (void)state;
    assert_int_equal(wc_verdict_parse("aws_service", &v), WC_OK);
    assert_int_equal(v, WC_VERDICT_AWS_SERVICE);
    assert_string_equal(wc_verdict_name(WC_VERDICT_UNATTRIBUTED), "unattributed");
    assert_int_not_equal(wc_verdict_parse("robot", &v), WC_OK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_skew_edges),
        T(test_custom_skew),
        T(test_decoy_same_type_other_resource),
        T(test_match_by_arn_and_related_and_params),
        T(test_read_only_failed_and_ignored_names),
        T(test_human_wins_and_lists_only_humans),
        T(test_automation_beats_service),
        T(test_service_only),
        T(test_untrusted_terraform_is_human),
        T(test_automation_user_agent_alone_is_human),
        T(test_huge_resource_name_truncates_reason),
        T(test_ignored_type_and_non_change),
        T(test_no_events_is_unattributed),
        T(test_duplicate_event_ids_once),
        T(test_json_shape),
        T(test_long_names_shorten_the_reason),
        cmocka_unit_test(test_verdict_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
