/* Unit tests for core/classify: every userIdentity variant in the samples. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "core/classify.h"
#include "core/err.h"
#include "core/event.h"
#include "core/policy.h"

#define CT "samples/cloudtrail/"
#define TERRAFORM_ROLES "arn:aws:iam::*:role/terraform-*"

/* One parsed event and its classification; the actor views point into l. */
struct s_case {
    struct wc_event_list l;
    struct wc_classification c;
};

static void s_load(const char *rel, bool shared, struct s_case *k)
{
    struct wc_buf b = WC_BUF_INIT;
    char err[256] = "";
    int rc;

    memset(k, 0, sizeof(*k));
    if (shared)
        wc_test_read_ref(rel, &b);
    else
        wc_test_read_data(rel, &b);
    rc = wc_events_parse(wc_buf_str(&b), &k->l, err, sizeof(err));
    if (rc != WC_OK)
        fail_msg("%s: %d %s", rel, rc, err);
    assert_int_equal(k->l.len, 1);
    wc_buf_clean_up(&b);
}

static struct wc_event *s_ev(struct s_case *k)
{
    return &k->l.items[0];
}

static void s_run(const struct wc_policy *p, struct s_case *k)
{
    wc_classify(p, s_ev(k), &k->c);
}

static void s_done(struct s_case *k)
{
    wc_event_list_clean_up(&k->l);
}

/* Policy with optional trusted / user-agent globs (NULL-terminated lists). */
static void s_policy(struct wc_policy *p, const char *const *trusted, const char *const *uas)
{
    assert_int_equal(wc_policy_init_defaults(p), WC_OK);
    for (size_t i = 0; trusted && trusted[i]; i++)
        assert_int_equal(wc_strlist_push(&p->trusted, trusted[i]), WC_OK);
    for (size_t i = 0; uas && uas[i]; i++)
        assert_int_equal(wc_strlist_push(&p->automation_user_agents, uas[i]), WC_OK);
}

static void s_assert_cls(const struct wc_classification *c, enum wc_actor_class cls,
                         const char *rule, bool console)
{
    if (c->cls != cls || !c->rule || strcmp(c->rule, rule) != 0 || c->console != console)
        fail_msg("got %s/%s/console=%d, want %s/%s/console=%d", wc_actor_class_name(c->cls),
                 c->rule ? c->rule : "(null)", c->console, wc_actor_class_name(cls), rule,
                 console);
}

static void s_opt_eq(const char *got, const char *want)
{
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
}

static void s_assert_actor(const struct wc_actor *a, const char *type, const char *arn,
                           const char *name, const char *session, const char *account)
{
    s_opt_eq(a->type, type);
    s_opt_eq(a->arn, arn);
    s_opt_eq(a->name, name);
    s_opt_eq(a->session_name, session);
    s_opt_eq(a->account_id, account);
}

/* ---- humans ----------------------------------------------------------- */

static void test_sso_console_is_human(void **state)
{
    struct wc_policy p;
    struct s_case k;
    static const char *const tf[] = {TERRAFORM_ROLES, NULL};

    (void)state;
    s_policy(&p, NULL, NULL);
    s_load(CT "record-assumedrole-sso-console.constructed.json", true, &k);
    /* userAgent "AWS Internal" is the console's, not invokedBy: still human */
    assert_string_equal(s_ev(&k)->user_agent, "AWS Internal");
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    s_assert_actor(&k.c.actor, "AssumedRole",
                   "arn:aws:sts::123456789012:assumed-role/"
                   "AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com",
                   "AWSReservedSSO_AdministratorAccess_0123456789abcdef", "alice@example.com",
                   "123456789012");
    /* the views borrow from the event */
    assert_ptr_equal(k.c.actor.session_name, s_ev(&k)->identity.session_name);
    /* a trusted glob for other roles does not make it automation */
    wc_policy_clean_up(&p);
    s_policy(&p, tf, NULL);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    /* without the console flag, "AWS Internal" alone still says console */
    s_ev(&k)->session_credential_from_console = false;
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    s_done(&k);
    wc_policy_clean_up(&p);
}

static void test_iam_users(void **state)
{
    struct wc_policy p;
    struct s_case k;

    (void)state;
    s_policy(&p, NULL, NULL);
    /* console via sessionCredentialFromConsole "true" */
    s_load(CT "record-iamuser-console-session-credential.constructed.json", true, &k);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    s_assert_actor(&k.c.actor, "IAMUser", "arn:aws:iam::123456789012:user/Alice", "Alice", NULL,
                   "123456789012");
    s_done(&k);
    /* older console style: invokedBy signin.amazonaws.com is the console, not a service */
    s_load(CT "record-doc-iamuser-console-startlogging.json", true, &k);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    s_assert_actor(&k.c.actor, "IAMUser", "arn:aws:iam::123456789012:user/Mary_Major",
                   "Mary_Major", NULL, "123456789012");
    s_done(&k);
    /* CLI: human, not console */
    s_load("cloudtrail/record-iamuser-cli.json", false, &k);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", false);
    s_assert_actor(&k.c.actor, "IAMUser", "arn:aws:iam::123456789012:user/ops/bob", "bob", NULL,
                   "123456789012");
    /* a NULL policy behaves like an empty one */
    wc_classify(NULL, s_ev(&k), &k.c);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", false);
    s_done(&k);
    wc_policy_clean_up(&p);
}

static void test_root(void **state)
{
    struct wc_policy p;
    struct s_case k;

    (void)state;
    s_policy(&p, NULL, NULL);
    s_load(CT "record-root-console-api-call.constructed.json", true, &k);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    s_assert_actor(&k.c.actor, "Root", "arn:aws:iam::123456789012:root", "root", NULL,
                   "123456789012");
    /* Root without an ARN is still a human, not "no principal" */
    free(s_ev(&k)->identity.arn);
    s_ev(&k)->identity.arn = NULL;
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    assert_string_equal(k.c.actor.name, "root");
    s_done(&k);
    /* console sign-in: console by eventType, though the agent is a browser */
    s_load(CT "record-doc-root-console-login.json", true, &k);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", true);
    s_assert_actor(&k.c.actor, "Root", "arn:aws:iam::111122223333:root", "root", NULL,
                   "111122223333");
    s_done(&k);
    wc_policy_clean_up(&p);
}

static void test_federated_user(void **state)
{
    struct wc_policy p;
    struct s_case k;
    static const char *const by_session[] = {"carol", NULL};
    static const char *const by_other[] = {"carl", "arn:aws:iam::*:user/federation-brokers", NULL};

    (void)state;
    s_policy(&p, NULL, NULL);
    s_load("cloudtrail/record-federated-user.json", false, &k);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", false);
    s_assert_actor(&k.c.actor, "FederatedUser", "arn:aws:sts::123456789012:federated-user/carol",
                   "carol", "carol", "123456789012");
    wc_policy_clean_up(&p);
    s_policy(&p, by_other, NULL);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", false);
    wc_policy_clean_up(&p);
    /* the session name is the caller's choice: a match alone keeps it human */
    s_policy(&p, by_session, NULL);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "trusted_session_untrusted_principal", false);
    s_done(&k);
    wc_policy_clean_up(&p);
}

/* ---- automation ------------------------------------------------------- */

static void test_terraform(void **state)
{
    static const struct {
        const char *trusted, *ua;
        enum wc_actor_class cls;
        const char *rule;
    } cases[] = {
        {NULL, NULL, WC_CLASS_HUMAN, "human"},
        {TERRAFORM_ROLES, NULL, WC_CLASS_AUTOMATION, "trusted_role"},
        /* user agent and session name are the caller's: alone, they only label a human */
        {NULL, "*Terraform/*", WC_CLASS_HUMAN, "automation_user_agent_untrusted_principal"},
        {"aws-go-sdk-*", NULL, WC_CLASS_HUMAN, "trusted_session_untrusted_principal"},
        /* with a trusted principal it is automation, by the principal's rule */
        {TERRAFORM_ROLES, "*Terraform/*", WC_CLASS_AUTOMATION, "trusted_role"},
        {"arn:aws:sts::123456789012:assumed-role/terraform-deployer/*", NULL,
         WC_CLASS_AUTOMATION, "trusted_principal"},
        /* globs for other things must not match */
        {"arn:aws:iam::*:role/terraform-deployer-prod", NULL, WC_CLASS_HUMAN, "human"},
        {"arn:aws:iam::*:role/admin-*", NULL, WC_CLASS_HUMAN, "human"},
        {"arn:aws:iam::999999999999:role/terraform-*", NULL, WC_CLASS_HUMAN, "human"},
        {"terraform-deployer", NULL, WC_CLASS_HUMAN, "human"}, /* a role name is not an ARN */
        {NULL, "*Pulumi/*", WC_CLASS_HUMAN, "human"},
        {NULL, "Terraform/*", WC_CLASS_HUMAN, "human"}, /* anchored glob */
    };
    struct s_case k;

    (void)state;
    s_load(CT "record-assumedrole-terraform.constructed.json", true, &k);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wc_policy p;
        const char *const t[] = {cases[i].trusted, NULL};
        const char *const u[] = {cases[i].ua, NULL};

        s_policy(&p, t, u);
        s_run(&p, &k);
        if (k.c.cls != cases[i].cls || strcmp(k.c.rule, cases[i].rule) != 0)
            fail_msg("case %zu (%s / %s): got %s/%s", i, cases[i].trusted ? cases[i].trusted : "-",
                     cases[i].ua ? cases[i].ua : "-", wc_actor_class_name(k.c.cls), k.c.rule);
        assert_false(k.c.console);
        s_assert_actor(&k.c.actor, "AssumedRole",
                       "arn:aws:sts::123456789012:assumed-role/terraform-deployer/"
                       "aws-go-sdk-1714564700123456789",
                       "terraform-deployer", "aws-go-sdk-1714564700123456789", "123456789012");
        wc_policy_clean_up(&p);
    }
    s_done(&k);
}

/* A person can set any user agent and, in AssumeRole, any session name: an
 * SSO user who sends Terraform's user agent from a session named like the CI
 * stays a human (review finding: a human could pass as automation). */
static void test_forged_user_agent_and_session_stay_human(void **state)
{
    static const char *const ua[] = {"*Terraform/*", NULL};
    static const char *const session[] = {"ci-*", NULL};
    static const char *const both[] = {"ci-*", TERRAFORM_ROLES, NULL};
    static const char *const sso[] = {"arn:aws:iam::*:role/aws-reserved/*", "ci-*", NULL};
    struct wc_policy p;
    struct s_case k;
    struct wc_user_identity *id;

    (void)state;
    s_load(CT "record-assumedrole-sso-console.constructed.json", true, &k);
    id = &s_ev(&k)->identity;
    free(s_ev(&k)->user_agent);
    s_ev(&k)->user_agent = strdup("Terraform/1.7.5 (+https://www.terraform.io) "
                                  "terraform-provider-aws/5.40.0");
    free(id->session_name);
    id->session_name = strdup("ci-deploy");
    assert_non_null(s_ev(&k)->user_agent);
    assert_non_null(id->session_name);
    s_ev(&k)->session_credential_from_console = false;

    s_policy(&p, NULL, ua);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "automation_user_agent_untrusted_principal", false);
    wc_policy_clean_up(&p);
    s_policy(&p, session, NULL);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "trusted_session_untrusted_principal", false);
    wc_policy_clean_up(&p);
    /* both, and a trusted list naming other roles: still human */
    s_policy(&p, both, ua);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "automation_user_agent_untrusted_principal", false);
    wc_policy_clean_up(&p);
    /* the SSO role itself trusted (the issuer ARN's path): automation */
    s_policy(&p, sso, ua);
    s_run(&p, &k);
    assert_non_null(id->issuer_arn);
    s_assert_cls(&k.c, WC_CLASS_AUTOMATION, "trusted_role", false);
    wc_policy_clean_up(&p);
    s_done(&k);
}

/* ---- AWS services ----------------------------------------------------- */

static void test_cloudformation_invoked_by(void **state)
{
    struct wc_policy p;
    struct s_case k;
    static const char *const all[] = {"*", NULL};

    (void)state;
    s_policy(&p, NULL, NULL);
    s_load(CT "record-assumedrole-cloudformation-invokedby.constructed.json", true, &k);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "invoked_by", false);
    s_assert_actor(&k.c.actor, "AssumedRole",
                   "arn:aws:sts::123456789012:assumed-role/cfn-exec-role/AWSCloudFormation",
                   "cloudformation.amazonaws.com", "AWSCloudFormation", "123456789012");
    /* service rules come before trust */
    wc_policy_clean_up(&p);
    s_policy(&p, all, all);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "invoked_by", false);
    /* without invokedBy it is the role's session: a human by default */
    wc_policy_clean_up(&p);
    s_policy(&p, NULL, NULL);
    free(s_ev(&k)->identity.invoked_by);
    s_ev(&k)->identity.invoked_by = NULL;
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", false);
    assert_string_equal(k.c.actor.name, "cfn-exec-role");
    s_done(&k);
    wc_policy_clean_up(&p);
}

static void test_service_linked_role(void **state)
{
    struct wc_policy p;
    struct s_case k;
    struct wc_user_identity *id;

    (void)state;
    s_policy(&p, NULL, NULL);
    s_load(CT "record-assumedrole-service-linked-autoscaling.constructed.json", true, &k);
    id = &s_ev(&k)->identity;
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "invoked_by", false);
    assert_string_equal(k.c.actor.name, "autoscaling.amazonaws.com");
    assert_string_equal(k.c.actor.type, "AssumedRole");
    /* the service-linked role alone is enough: its issuer path... */
    free(id->invoked_by);
    id->invoked_by = NULL;
    free(id->issuer_user_name);
    id->issuer_user_name = strdup("AutoScalingHelper");
    assert_non_null(id->issuer_user_name);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "service_linked_role", false);
    assert_string_equal(k.c.actor.name, "AutoScalingHelper");
    /* ...gone, with an ordinary role name: an ordinary session */
    free(id->issuer_arn);
    id->issuer_arn = NULL;
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_HUMAN, "human", false);
    /* ...or only the AWSServiceRoleFor name */
    free(id->issuer_user_name);
    id->issuer_user_name = strdup("AWSServiceRoleForAutoScaling");
    assert_non_null(id->issuer_user_name);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "service_linked_role", false);
    assert_string_equal(k.c.actor.name, "AWSServiceRoleForAutoScaling");
    /* ...or a principal ARN on the service-role path */
    free(id->issuer_user_name);
    id->issuer_user_name = NULL;
    free(id->arn);
    id->arn = strdup("arn:aws:iam::123456789012:role/aws-service-role/ssm.amazonaws.com/Helper");
    assert_non_null(id->arn);
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "service_linked_role", false);
    s_done(&k);
    wc_policy_clean_up(&p);
}

static void test_aws_service_identity(void **state)
{
    static const struct {
        const char *file, *service;
    } cases[] = {
        {CT "record-awsservice-autoscaling-assumerole.constructed.json",
         "autoscaling.amazonaws.com"},
        {CT "record-awsservice-elasticloadbalancing.constructed.json",
         "elasticloadbalancing.amazonaws.com"},
    };
    struct wc_policy p;
    struct s_case k;

    (void)state;
    s_policy(&p, NULL, NULL);
    for (size_t i = 0; i < 2; i++) {
        s_load(cases[i].file, true, &k);
        s_run(&p, &k);
        s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "aws_service_identity", false);
        s_assert_actor(&k.c.actor, "AWSService", NULL, cases[i].service, NULL, NULL);
        /* type alone decides: even without invokedBy */
        free(s_ev(&k)->identity.invoked_by);
        s_ev(&k)->identity.invoked_by = NULL;
        s_run(&p, &k);
        s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "aws_service_identity", false);
        s_done(&k);
    }
    wc_policy_clean_up(&p);
}

static void test_kms_service_event(void **state)
{
    struct wc_policy p;
    struct s_case k;

    (void)state;
    s_policy(&p, NULL, NULL);
    s_load(CT "record-doc-aws-service-event-kms-rotate.json", true, &k);
    s_run(&p, &k);
    /* no type: inferred; "AWS Internal" user agent of a service is not console */
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "invoked_by", false);
    s_assert_actor(&k.c.actor, "AWSService", NULL, "AWS Internal", NULL, "123456789012");
    /* without invokedBy, the event type still says service */
    free(s_ev(&k)->identity.invoked_by);
    s_ev(&k)->identity.invoked_by = NULL;
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "aws_service_event", false);
    s_assert_actor(&k.c.actor, "AWSService", NULL, "kms.amazonaws.com", NULL, "123456789012");
    /* and without that, no principal at all */
    free(s_ev(&k)->event_type);
    s_ev(&k)->event_type = NULL;
    s_run(&p, &k);
    s_assert_cls(&k.c, WC_CLASS_AWS_SERVICE, "no_principal", false);
    assert_null(k.c.actor.type);
    s_done(&k);
    wc_policy_clean_up(&p);
}

/* ---- a whole page ----------------------------------------------------- */

static void test_lookup_page(void **state)
{
    static const enum wc_actor_class plain[] = {WC_CLASS_HUMAN, WC_CLASS_HUMAN, WC_CLASS_HUMAN,
                                                WC_CLASS_HUMAN, WC_CLASS_AWS_SERVICE};
    static const enum wc_actor_class trusted[] = {WC_CLASS_HUMAN, WC_CLASS_HUMAN,
                                                  WC_CLASS_AUTOMATION, WC_CLASS_HUMAN,
                                                  WC_CLASS_AWS_SERVICE};
    static const char *const tf[] = {TERRAFORM_ROLES, NULL};
    static const char *const names[] = {"root", "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                                        "terraform-deployer", "Alice",
                                        "cloudformation.amazonaws.com"};
    static const bool console[] = {true, true, false, true, false};
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    struct wc_buf b = WC_BUF_INIT;
    struct wc_policy p0, p1;
    struct wc_classification c;

    (void)state;
    wc_test_read_ref(CT "lookup-events-response.wire.constructed.json", &b);
    assert_int_equal(wc_events_parse(wc_buf_str(&b), &l, NULL, 0), WC_OK);
    assert_int_equal(l.len, 5);
    s_policy(&p0, NULL, NULL);
    s_policy(&p1, tf, NULL);
    for (size_t i = 0; i < 5; i++) {
        wc_classify(&p0, &l.items[i], &c);
        assert_int_equal(c.cls, plain[i]);
        assert_string_equal(c.actor.name, names[i]);
        assert_true(c.console == console[i]);
        wc_classify(&p1, &l.items[i], &c);
        assert_int_equal(c.cls, trusted[i]);
    }
    wc_policy_clean_up(&p0);
    wc_policy_clean_up(&p1);
    wc_event_list_clean_up(&l);
    wc_buf_clean_up(&b);
}

/* ---- console user agents, no principal, names ------------------------- */

static void test_console_user_agents(void **state)
{
    static const struct {
        const char *ua;
        bool console;
    } cases[] = {
        {"signin.amazonaws.com", true},
        {"console.amazonaws.com", true},
        {"eu-west-1.console.aws.amazon.com", true},
        {"console.ec2.amazonaws.com", true},
        {"AWSConsole", true},
        {"[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]", true},
        {"AWS Internal", true},
        {"aws-cli/2.15.40 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0", false},
        {"Mozilla/5.0 (X11; Linux x86_64)", false},
        {"AWS Internal ", false},
        {"signin.amazonaws.com.evil", false},
        {"", false},
        {NULL, false},
    };
    struct wc_event e;
    struct wc_classification c;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.event_id = "e";
    e.event_name = "PutX";
    e.identity.type = "IAMUser";
    e.identity.arn = "arn:aws:iam::123456789012:user/dan";
    e.identity.user_name = "dan";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e.user_agent = (char *)cases[i].ua;
        wc_classify(NULL, &e, &c);
        if (c.cls != WC_CLASS_HUMAN || c.console != cases[i].console)
            fail_msg("ua '%s': %s console=%d", cases[i].ua ? cases[i].ua : "(null)",
                     wc_actor_class_name(c.cls), c.console);
    }
    /* the flag alone */
    e.user_agent = "aws-cli/2";
    e.session_credential_from_console = true;
    wc_classify(NULL, &e, &c);
    assert_true(c.console);
    /* "AWS Internal" for a service principal is not the console */
    e.session_credential_from_console = false;
    e.user_agent = "AWS Internal";
    e.identity.type = "AWSService";
    wc_classify(NULL, &e, &c);
    assert_int_equal(c.cls, WC_CLASS_AWS_SERVICE);
    assert_false(c.console);
    /* a console front end in invokedBy keeps a human human, and console */
    e.identity.type = "IAMUser";
    e.user_agent = NULL;
    e.identity.invoked_by = "console.amazonaws.com";
    wc_classify(NULL, &e, &c);
    s_assert_cls(&c, WC_CLASS_HUMAN, "human", true);
    /* a real service in invokedBy does not */
    e.identity.invoked_by = "ssm.amazonaws.com";
    wc_classify(NULL, &e, &c);
    s_assert_cls(&c, WC_CLASS_AWS_SERVICE, "invoked_by", false);
    assert_string_equal(c.actor.name, "ssm.amazonaws.com");
}

static void test_no_principal_and_odd_types(void **state)
{
    struct wc_event e;
    struct wc_classification c;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.event_id = "e";
    e.event_name = "PutX";
    /* nothing at all */
    wc_classify(NULL, &e, &c);
    s_assert_cls(&c, WC_CLASS_AWS_SERVICE, "no_principal", false);
    s_assert_actor(&c.actor, NULL, NULL, NULL, NULL, NULL);
    /* an IAM user without an ARN */
    e.identity.type = "IAMUser";
    e.identity.user_name = "eve";
    wc_classify(NULL, &e, &c);
    s_assert_cls(&c, WC_CLASS_AWS_SERVICE, "no_principal", false);
    /* cross-account principal */
    e.identity.type = "AWSAccount";
    e.identity.user_name = NULL;
    e.identity.arn = "arn:aws:iam::111122223333:root";
    e.identity.account_id = "111122223333";
    wc_classify(NULL, &e, &c);
    s_assert_cls(&c, WC_CLASS_HUMAN, "human", false);
    assert_string_equal(c.actor.name, "111122223333");
    assert_string_equal(c.actor.type, "AWSAccount");
    /* NULL event: reported, never dropped silently */
    wc_classify(NULL, NULL, &c);
    s_assert_cls(&c, WC_CLASS_HUMAN, "no_event", false);
    wc_classify(NULL, &e, NULL); /* no crash */
}

static void test_class_names(void **state)
{
    (void)state;
    assert_string_equal(wc_actor_class_name(WC_CLASS_HUMAN), "human");
    assert_string_equal(wc_actor_class_name(WC_CLASS_AUTOMATION), "automation");
    assert_string_equal(wc_actor_class_name(WC_CLASS_AWS_SERVICE), "aws_service");
    assert_string_equal(wc_actor_class_name((enum wc_actor_class)0), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sso_console_is_human),
        cmocka_unit_test(test_iam_users),
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_federated_user),
        cmocka_unit_test(test_terraform),
        cmocka_unit_test(test_forged_user_agent_and_session_stay_human),
        cmocka_unit_test(test_cloudformation_invoked_by),
        cmocka_unit_test(test_service_linked_role),
        cmocka_unit_test(test_aws_service_identity),
        cmocka_unit_test(test_kms_service_event),
        cmocka_unit_test(test_lookup_page),
        cmocka_unit_test(test_console_user_agents),
        cmocka_unit_test(test_no_principal_and_odd_types),
        cmocka_unit_test(test_class_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
