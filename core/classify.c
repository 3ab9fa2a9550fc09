/* classify.c - who made a CloudTrail event.
 *
 * Rules, first match wins; the label in parentheses is the static `rule`.
 *
 * aws_service
 *   (aws_service_identity) userIdentity.type is "AWSService";
 *   (invoked_by)           userIdentity.invokedBy is set ("autoscaling.amazonaws.com",
 *                          "AWS Internal", ...), unless it names a console front end
 *                          (signin.amazonaws.com, see s_console_agent): the console
 *                          acts for the person signed in, who stays a human;
 *   (aws_service_event)    eventType is "AwsServiceEvent";
 *   (service_linked_role)  the issuer or principal ARN contains "/aws-service-role/",
 *                          or the role name starts with "AWSServiceRoleFor";
 *   (no_principal)         no principal ARN at all, and the type is not Root.
 * automation
 *   (trusted_principal)    a policy.trusted glob matches userIdentity.arn;
 *   (trusted_role)         ... matches sessionContext.sessionIssuer.arn, so
 *                          "arn:aws:iam::*:role/terraform-*" trusts every session
 *                          of those roles.
 * human
 *   The user agent and the session name are chosen by the caller (any SDK sets
 *   its userAgent freely; AssumeRole takes RoleSessionName as an argument), so
 *   neither makes an event automation on its own: with a trusted principal the
 *   rules above already apply, without one the event stays human and its label
 *   says what looked like automation:
 *   (automation_user_agent_untrusted_principal)
 *                          a policy.automation_user_agents glob matches userAgent;
 *   (trusted_session_untrusted_principal)
 *                          a policy.trusted glob matches the session name;
 *   (human)                everything else: IAM users, assumed roles (IAM Identity
 *                          Center AWSReservedSSO_* included), federated users, root.
 *
 * The console flag is set when sessionCredentialFromConsole is true, when
 * the event is a console sign-in (eventType "AwsConsoleSignIn"), when
 * invokedBy names a console front end, or when the user agent is a console
 * one (s_console_agent). "AWS Internal" is what the console sends for the
 * signed-in user's calls, and also what AWS sends for its own: it counts as
 * console only when the actor is not an AWS service. invokedBy is a
 * different field from userAgent: a human's "AWS Internal" user agent never
 * makes the event a service's.
 *
 * Actor (borrowed from the event, or static): type is userIdentity.type, or
 * "AWSService" when absent but invokedBy or an AwsServiceEvent says so; name
 * is the invoking service for aws_service events with invokedBy, else "root"
 * for Root, userName for IAMUser, the role name for AssumedRole, the session
 * for FederatedUser, invokedBy for AWSService, the account for AWSAccount,
 * and for a service event without either, its eventSource.
 */
#include "core/classify.h"

#include <string.h>

#include "core/str.h"

/* User agents (and invokedBy values) of the AWS Management Console:
 *   exactly "signin.amazonaws.com" (sign-in, and invokedBy of older console
 *     records) or "AWSConsole" (the legacy console agent in the CloudTrail docs);
 *   anything containing "console." - this covers "console.amazonaws.com",
 *     the regional "*.console.aws.amazon.com" hosts and per-service consoles
 *     such as "console.ec2.amazonaws.com";
 *   anything containing "S3Console/" ("[S3Console/0.4, aws-internal/3 ...]");
 *   exactly "AWS Internal", only when aws_internal_ok (a human principal:
 *     AWS uses the same string for its own calls). */
static bool s_console_agent(const char *ua, bool aws_internal_ok)
{
    struct wc_str s = wc_str_from_cstr(ua);

    if (!ua)
        return false;
    if (aws_internal_ok && strcmp(ua, "AWS Internal") == 0)
        return true;
    return strcmp(ua, "signin.amazonaws.com") == 0 || strcmp(ua, "AWSConsole") == 0 ||
           wc_str_contains(s, WC_STR_LIT("console.")) ||
           wc_str_contains(s, WC_STR_LIT("S3Console/"));
}

static bool s_is(const char *a, const char *b)
{
    return wc_streq(a, b);
}

static bool s_has(const char *s, const char *needle)
{
    return s && strstr(s, needle) != NULL;
}

static bool s_service_linked(const struct wc_user_identity *id)
{
    return s_has(id->issuer_arn, "/aws-service-role/") || s_has(id->arn, "/aws-service-role/") ||
           (id->issuer_user_name &&
            strncmp(id->issuer_user_name, "AWSServiceRoleFor", 17) == 0);
}

/* invokedBy, when it names a service (not a console front end). */
static const char *s_invoking_service(const struct wc_user_identity *id)
{
    if (wc_str_empty(id->invoked_by) || s_console_agent(id->invoked_by, false))
        return NULL;
    return id->invoked_by;
}

static const char *s_service_rule(const struct wc_event *e)
{
    const struct wc_user_identity *id = &e->identity;

    if (s_is(id->type, "AWSService"))
        return "aws_service_identity";
    if (s_invoking_service(id))
        return "invoked_by";
    if (s_is(e->event_type, "AwsServiceEvent"))
        return "aws_service_event";
    if (s_service_linked(id))
        return "service_linked_role";
    if (wc_str_empty(id->arn) && !s_is(id->type, "Root"))
        return "no_principal";
    return NULL;
}

static const char *s_automation_rule(const struct wc_policy *p, const struct wc_event *e)
{
    const struct wc_user_identity *id = &e->identity;

    if (!p)
        return NULL;
    if (wc_strlist_glob_any(&p->trusted, id->arn))
        return "trusted_principal";
    if (wc_strlist_glob_any(&p->trusted, id->issuer_arn))
        return "trusted_role";
    return NULL;
}

/* A human whose caller-controlled fields look like automation: the label says
 * so, the class stays human (see the rules at the top). */
static const char *s_human_rule(const struct wc_policy *p, const struct wc_event *e)
{
    if (p && wc_strlist_glob_any(&p->automation_user_agents, e->user_agent))
        return "automation_user_agent_untrusted_principal";
    if (p && wc_strlist_glob_any(&p->trusted, e->identity.session_name))
        return "trusted_session_untrusted_principal";
    return "human";
}

static const char *s_actor_name(const struct wc_event *e, enum wc_actor_class cls)
{
    const struct wc_user_identity *id = &e->identity;
    const char *svc = s_invoking_service(id);

    if (cls == WC_CLASS_AWS_SERVICE && svc)
        return svc;
    if (s_is(id->type, "Root"))
        return "root";
    if (s_is(id->type, "IAMUser"))
        return id->user_name;
    if (s_is(id->type, "AssumedRole"))
        return id->issuer_user_name;
    if (s_is(id->type, "FederatedUser"))
        return id->session_name;
    if (s_is(id->type, "AWSService"))
        return id->invoked_by;
    if (s_is(id->type, "AWSAccount"))
        return id->account_id;
    if (id->user_name)
        return id->user_name;
    if (id->issuer_user_name)
        return id->issuer_user_name;
    if (cls == WC_CLASS_AWS_SERVICE)
        return id->invoked_by ? id->invoked_by : e->event_source;
    return NULL;
}

void wc_classify(const struct wc_policy *p, const struct wc_event *e,
                 struct wc_classification *out)
{
    const struct wc_user_identity *id;
    const char *rule;

    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!e) {
        /* Nothing to go on: report it rather than hide it. */
        out->cls = WC_CLASS_HUMAN;
        out->rule = "no_event";
        return;
    }
    id = &e->identity;
    if ((rule = s_service_rule(e)) != NULL) {
        out->cls = WC_CLASS_AWS_SERVICE;
    } else if ((rule = s_automation_rule(p, e)) != NULL) {
        out->cls = WC_CLASS_AUTOMATION;
    } else {
        out->cls = WC_CLASS_HUMAN;
        rule = s_human_rule(p, e);
    }
    out->rule = rule;
    out->console = e->session_credential_from_console ||
                   s_is(e->event_type, "AwsConsoleSignIn") ||
                   s_console_agent(id->invoked_by, false) ||
                   s_console_agent(e->user_agent, out->cls != WC_CLASS_AWS_SERVICE);

    out->actor.type = id->type;
    if (!out->actor.type && (id->invoked_by || s_is(e->event_type, "AwsServiceEvent")))
        out->actor.type = "AWSService";
    out->actor.arn = id->arn;
    out->actor.name = s_actor_name(e, out->cls);
    out->actor.session_name = id->session_name;
    out->actor.account_id = id->account_id;
}

const char *wc_actor_class_name(enum wc_actor_class cls)
{
    switch (cls) {
    case WC_CLASS_HUMAN:
        return "human";
    case WC_CLASS_AUTOMATION:
        return "automation";
    case WC_CLASS_AWS_SERVICE:
        return "aws_service";
    }
    return "unknown";
}
