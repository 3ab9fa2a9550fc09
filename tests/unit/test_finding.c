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

/* --- periodic recording ------------------------------------------------------ */

/* A periodically recorded change was made at some time in the period before
 * the capture: every human writer in [capture - lookback - skew, capture +
 * skew] is kept, whoever is nearest; one before the period is not; the
 * reason says the change happened within that period. */
static void test_periodic_window_every_writer(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_event *e;
    const struct wc_match *w[4];
    size_t counts[4], n;
    const int64_t h = 3600 * 1000LL;

    fx->note.change.recording_frequency = s_dup("DAILY");
    fx->note.change.lookback_s = 24 * 3600;
    s_add_event(fx, "alice-1", "AuthorizeSecurityGroupIngress", -2 * h, IAM_USER, SG);
    s_add_event(fx, "alice-2", "RevokeSecurityGroupIngress", -5 * h, IAM_USER, SG);
    s_add_event(fx, "sso", "AuthorizeSecurityGroupIngress", -23 * h, SSO, SG);
    e = s_add_event(fx, "bob", "ModifySecurityGroupRules", -12 * h, IAM_USER, SG);
    free(e->identity.arn);
    free(e->identity.user_name);
    e->identity.arn = s_dup("arn:aws:iam::123456789012:user/Bob");
    e->identity.user_name = s_dup("Bob");
    s_add_event(fx, "too-early", "AuthorizeSecurityGroupIngress", -24 * h - 181000, IAM_USER,
                SG);
    s_add_event(fx, "tf", "ModifySecurityGroupRules", -1 * h, TERRAFORM, SG);
    fx->policy.trusted.len = 0;
    assert_int_equal(wc_strlist_push(&fx->policy.trusted,
                                     "arn:aws:iam::123456789012:role/terraform-deployer"),
                     WC_OK);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_HUMAN);
    assert_int_equal(f->n_matches, 4); /* the humans in the day; not too-early, not tf */
    assert_int_equal(f->window_start_ms, CAPTURE_MS - 24 * h - 180000);
    assert_int_equal(f->window_end_ms, CAPTURE_MS + 180000);
    n = wc_finding_writers(f, w, counts, 4);
    assert_int_equal(n, 3);
    assert_string_equal(w[0]->cls.actor.name, "Alice");
    assert_int_equal(counts[0], 2);
    assert_string_equal(w[1]->cls.actor.name, "Bob");
    assert_int_equal(counts[1], 1);
    assert_string_equal(w[2]->cls.actor.session_name, "alice@example.com");
    assert_non_null(strstr(f->reason, "Alice (IAMUser) called AuthorizeSecurityGroupIngress"));
    assert_non_null(strstr(f->reason, "(and 2 other human writers: Bob, alice@example.com)"));
    assert_non_null(strstr(f->reason, "periodic recording (DAILY): the change happened between "
                                      "2024-04-30T11:59:30Z and 2024-05-01T11:59:30Z"));
    wc_finding_destroy(f);

    /* the same events, recorded continuously: nothing within the skew */
    fx->note.change.lookback_s = 0;
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    assert_null(strstr(f->reason, "periodic"));
    wc_finding_destroy(f);
    /* periodic and nothing found: the reason names the period */
    fx->note.change.lookback_s = 3600;
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_AUTOMATION);
    assert_non_null(strstr(f->reason, "periodic recording"));
    wc_finding_destroy(f);
    wc_event_list_clean_up(&fx->events);
    f = s_decide(fx);
    assert_int_equal(f->verdict, WC_VERDICT_UNATTRIBUTED);
    assert_non_null(strstr(f->reason, "in the 1 h before 2024-05-01T11:59:30Z"));
    wc_finding_destroy(f);
}

/* --- the actor, as people know them ----------------------------------------- */

static void test_sdk_default_session_names(void **state)
{
    static const char *const defaults[] = {
        "botocore-session-1714564770", "aws-go-sdk-1763632800", "aws-go-sdk-1763632800123456789",
        "aws-sdk-java-1714564770123",  "aws-sdk-js-session-1714564770123",
        "aws-sdk-js-1714564770123",    "aws-dotnet-sdk-session-638500000000000000",
        "aws-sdk-php-1714564770",      "aws-sdk-rust-1714564770", "1714564770123456789",
    };
    static const char *const meaningful[] = {
        "alice@example.com", "i-0123456789abcdef0", "aws-go-sdk-1", "botocore-session-",
        "botocore-session-abc123", "terraform-ci", "GitHubActions", "12345", "",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if (!wc_session_name_is_sdk_default(defaults[i]))
            fail_msg("%s should be an SDK default", defaults[i]);
    for (size_t i = 0; i < sizeof(meaningful) / sizeof(meaningful[0]); i++)
        if (wc_session_name_is_sdk_default(meaningful[i]))
            fail_msg("%s is not an SDK default", meaningful[i]);
    assert_false(wc_session_name_is_sdk_default(NULL));
}

static void test_actor_display_and_kind(void **state)
{
    char name[WC_ACTOR_NAME_MAX], kind[WC_ACTOR_NAME_MAX];
    struct wc_actor a;

    (void)state;
    /* the permission set's name, without its random suffix */
    assert_true(wc_sso_permission_set("AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                                      name, sizeof(name)));
    assert_string_equal(name, "AdministratorAccess");
    assert_true(wc_sso_permission_set("aws-reserved/sso.amazonaws.com/eu-west-1/"
                                      "AWSReservedSSO_Read_Only_fedcba9876543210",
                                      name, sizeof(name)));
    assert_string_equal(name, "Read_Only");
    assert_false(wc_sso_permission_set("AWSReservedSSO_Admin_0123", name, sizeof(name)));
    assert_false(wc_sso_permission_set("deploy", name, sizeof(name)));
    assert_false(wc_sso_permission_set("AWSReservedSSO__0123456789abcdef", name, sizeof(name)));

    /* SSO: the user by session name, the permission set as the kind */
    a = (struct wc_actor){.type = "AssumedRole",
                          .name = "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                          .session_name = "alice@example.com"};
    assert_string_equal(wc_actor_display(&a, name, sizeof(name)), "alice@example.com");
    assert_string_equal(wc_actor_kind(&a, kind, sizeof(kind)), "SSO AdministratorAccess");
    /* an SDK default session: the role (an SSO one as its permission set) */
    a = (struct wc_actor){.type = "AssumedRole", .name = "deploy",
                          .session_name = "aws-go-sdk-1763632800"};
    assert_string_equal(wc_actor_display(&a, name, sizeof(name)), "deploy");
    assert_string_equal(wc_actor_kind(&a, kind, sizeof(kind)), "role");
    a.name = "AWSReservedSSO_PowerUser_00112233aabbccdd";
    a.session_name = "botocore-session-1714564770";
    assert_string_equal(wc_actor_display(&a, name, sizeof(name)), "PowerUser");
    assert_string_equal(wc_actor_kind(&a, kind, sizeof(kind)), "SSO");
    /* a named session of an ordinary role */
    a = (struct wc_actor){.type = "AssumedRole", .name = "ops-admin", .session_name = "bob"};
    assert_string_equal(wc_actor_display(&a, name, sizeof(name)), "bob");
    assert_string_equal(wc_actor_kind(&a, kind, sizeof(kind)), "role ops-admin");
    a = (struct wc_actor){.type = "IAMUser", .name = "alice",
                          .arn = "arn:aws:iam::123456789012:user/alice"};
    assert_string_equal(wc_actor_display(&a, name, sizeof(name)), "alice");
    assert_string_equal(wc_actor_kind(&a, kind, sizeof(kind)), "IAM user");
    a = (struct wc_actor){.type = "Root", .name = "root"};
    assert_string_equal(wc_actor_kind(&a, kind, sizeof(kind)), "root");
    a = (struct wc_actor){.arn = "arn:aws:iam::123456789012:user/x"};
    assert_string_equal(wc_actor_display(&a, name, sizeof(name)), a.arn);
    assert_string_equal(wc_actor_kind(&a, kind, sizeof(kind)), "");
    a = (struct wc_actor){0};
    assert_string_equal(wc_actor_display(&a, name, sizeof(name)), "unknown principal");
}

static void test_headline(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_buf h = WC_BUF_INIT;
    char big[400];

    s_add_event(fx, "sso", "AuthorizeSecurityGroupIngress", -20000, SSO, SG);
    free(fx->events.items[0].identity.issuer_user_name);
    fx->events.items[0].identity.issuer_user_name =
        s_dup("AWSReservedSSO_AdministratorAccess_0123456789abcdef");
    fx->note.change.resource_name = s_dup("web-prod");
    f = s_decide(fx);
    assert_int_equal(wc_finding_headline(f, 150, &h), WC_OK);
    assert_string_equal(h.ptr, "alice@example.com (SSO AdministratorAccess) "
                               "AuthorizeSecurityGroupIngress on " SG " (web-prod)");
    wc_finding_destroy(f);

    /* too long: each part shortened, the resource id kept, within max */
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    free(fx->note.change.resource_name);
    fx->note.change.resource_name = s_dup(big);
    f = s_decide(fx);
    wc_buf_reset(&h);
    assert_int_equal(wc_finding_headline(f, 150, &h), WC_OK);
    assert_true(h.len <= 150);
    assert_non_null(strstr(h.ptr, " on " SG " (nnn"));
    assert_non_null(strstr(h.ptr, "\xe2\x80\xa6)"));
    wc_buf_reset(&h);
    assert_int_equal(wc_finding_headline(f, 40, &h), WC_OK);
    assert_true(h.len <= 40);
    assert_int_equal(wc_utf8_valid_prefix(h.ptr, h.len), h.len);
    wc_finding_destroy(f);

    /* nobody found */
    wc_event_list_clean_up(&fx->events);
    f = s_decide(fx);
    wc_buf_reset(&h);
    assert_int_equal(wc_finding_headline(f, 150, &h), WC_OK);
    assert_true(strncmp(h.ptr, "Unattributed change to AWS::EC2::SecurityGroup " SG " (nnn",
                        60) == 0);
    wc_finding_destroy(f);
    wc_buf_clean_up(&h);
}

/* IaC ownership: CloudFormation's stack tag first, then the first tag whose
 * key an ownership_tags glob matches; none without. */
static void test_ownership_from_tags(void **state)
{
    struct fixture *fx = *state;
    struct wc_change *c = &fx->note.change;
    struct wc_finding *f;
    struct wc_buf out = WC_BUF_INIT;
    cJSON *root;

    assert_int_equal(wc_strlist_push(&c->tag_keys, "Name"), WC_OK);
    assert_int_equal(wc_strlist_push(&c->tag_values, "web"), WC_OK);
    assert_int_equal(wc_strlist_push(&c->tag_keys, "ManagedBy"), WC_OK);
    assert_int_equal(wc_strlist_push(&c->tag_values, "terraform"), WC_OK);
    f = s_decide(fx);
    assert_null(f->owner_tag); /* no ownership_tags configured */
    assert_int_equal(wc_finding_to_json(f, false, &out), WC_OK);
    root = cJSON_Parse(out.ptr);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(root, "managed_by")));
    cJSON_Delete(root);
    wc_finding_destroy(f);

    assert_int_equal(wc_strlist_push(&fx->policy.ownership_tags, "Managed*"), WC_OK);
    f = s_decide(fx);
    assert_string_equal(f->owner_tag, "ManagedBy");
    assert_string_equal(f->owner_value, "terraform");
    wc_finding_destroy(f);

    assert_int_equal(wc_strlist_push(&c->tag_keys, "aws:cloudformation:stack-name"), WC_OK);
    assert_int_equal(wc_strlist_push(&c->tag_values, "web-prod"), WC_OK);
    f = s_decide(fx);
    assert_string_equal(f->owner_tag, "aws:cloudformation:stack-name");
    assert_string_equal(f->owner_value, "web-prod");
    wc_buf_reset(&out);
    assert_int_equal(wc_finding_to_json(f, false, &out), WC_OK);
    root = cJSON_Parse(out.ptr);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "managed_by"), "value")->valuestring,
        "web-prod");
    cJSON_Delete(root);
    wc_finding_destroy(f);
    wc_buf_clean_up(&out);
}

/* The structured fields the webhook and JSON lines sinks share with Slack:
 * headline, window, summaries, the actor's display name and MFA. */
static void test_json_summary_fields(void **state)
{
    struct fixture *fx = *state;
    struct wc_finding *f;
    struct wc_buf out = WC_BUF_INIT;
    cJSON *root, *prop, *actor, *win;

    fx->note.change.props = calloc(1, sizeof(*fx->note.change.props));
    fx->note.change.n_props = fx->note.change.n_props_total = 1;
    fx->note.change.props[0].path = s_dup("Configuration.IpPermissions.0");
    fx->note.change.props[0].change = s_dup("CREATE");
    fx->note.change.props[0].after = s_dup("{\"fromPort\":22}");
    fx->note.change.props[0].after_summary = s_dup("tcp/22 from 0.0.0.0/0\ntcp/22 from ::/0");
    s_add_event(fx, "sso", "AuthorizeSecurityGroupIngress", -20500, SSO, SG);
    fx->events.items[0].identity.mfa = WC_MFA_NO;
    f = s_decide(fx);
    assert_int_equal(wc_finding_to_json(f, false, &out), WC_OK);
    root = cJSON_Parse(out.ptr);
    assert_non_null(root);
    assert_true(strncmp(cJSON_GetObjectItem(root, "headline")->valuestring,
                        "alice@example.com (role AWSReservedSSO_Admin_0123) "
                        "AuthorizeSecurityGroupIngress on " SG, 200) == 0);
    win = cJSON_GetObjectItem(root, "window");
    assert_string_equal(cJSON_GetObjectItem(win, "start")->valuestring, "2024-05-01T11:56:30Z");
    assert_string_equal(cJSON_GetObjectItem(win, "end")->valuestring, "2024-05-01T12:02:30Z");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(win, "periodic")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "change"),
                                                 "recording_frequency")));
    prop = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "change"), "changed_properties"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(prop, "before_summary")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(prop, "after_summary")), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(prop, "after_summary"), 1)
                            ->valuestring,
                        "tcp/22 from ::/0");
    actor = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "events"), 0),
                                "actor");
    assert_string_equal(cJSON_GetObjectItem(actor, "display_name")->valuestring,
                        "alice@example.com");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(actor, "mfa_authenticated")));
    cJSON_Delete(root);
    wc_buf_clean_up(&out);
    wc_finding_destroy(f);
}

/* mfaAuthenticated comes from the record (a string, as CloudTrail writes
 * it); absent or odd is unknown, and never costs the record. */
static void test_mfa_parsed(void **state)
{
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf b = WC_BUF_INIT;
    struct wc_event copy;
    char err[256];

    (void)state;
    wc_test_read_ref("samples/cloudtrail/record-assumedrole-sso-console.constructed.json", &b);
    assert_int_equal(wc_events_parse(wc_buf_str(&b), &l, err, sizeof(err)), WC_OK);
    assert_int_equal(l.len, 1);
    assert_int_equal(l.items[0].identity.mfa, WC_MFA_NO);
    assert_int_equal(wc_event_copy(&copy, &l.items[0]), WC_OK);
    assert_int_equal(copy.identity.mfa, WC_MFA_NO);
    wc_event_clean_up(&copy);
    wc_event_list_clean_up(&l);
    wc_buf_clean_up(&b);
    static const char *const recs[] = {
        "{\"eventID\":\"e\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
        "\"userIdentity\":{\"type\":\"IAMUser\",\"sessionContext\":{\"attributes\":"
        "{\"mfaAuthenticated\":\"true\"}}}}",
        "{\"eventID\":\"e\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
        "\"userIdentity\":{\"type\":\"IAMUser\",\"sessionContext\":{\"attributes\":"
        "{\"mfaAuthenticated\":[1]}}}}",
        "{\"eventID\":\"e\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
        "\"userIdentity\":{\"type\":\"IAMUser\",\"sessionContext\":{\"attributes\":7}}}",
        "{\"eventID\":\"e\",\"eventName\":\"X\",\"eventTime\":\"2024-05-01T00:00:00Z\","
        "\"userIdentity\":{\"type\":\"IAMUser\"}}",
    };
    static const int want[] = {WC_MFA_YES, WC_MFA_UNKNOWN, WC_MFA_UNKNOWN, WC_MFA_UNKNOWN};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(wc_events_parse(wc_str_from_cstr(recs[i]), &l, err, sizeof(err)),
                         WC_OK);
        assert_int_equal(l.len, 1);
        assert_int_equal(l.items[0].identity.mfa, want[i]);
        wc_event_list_clean_up(&l);
    }
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
        T(test_periodic_window_every_writer),
        cmocka_unit_test(test_sdk_default_session_names),
        cmocka_unit_test(test_actor_display_and_kind),
        T(test_headline),
        T(test_ownership_from_tags),
        T(test_json_summary_fields),
        cmocka_unit_test(test_mfa_parsed),
        cmocka_unit_test(test_verdict_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
