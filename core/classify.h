/* classify.h - who made a CloudTrail event: an AWS service, trusted
 * automation, or a human. No I/O. The rules are documented in README.md
 * ("How verdicts are decided"). */
#ifndef WC_CLASSIFY_H
#define WC_CLASSIFY_H

#include <stdbool.h>

#include "core/event.h"
#include "core/policy.h"

enum wc_actor_class {
    WC_CLASS_HUMAN = 1,
    WC_CLASS_AUTOMATION,
    WC_CLASS_AWS_SERVICE,
};

/* Borrowed views into a wc_event (valid while the event lives). */
struct wc_actor {
    const char *type;         /* userIdentity.type, or "AWSService" when inferred */
    const char *arn;          /* principal ARN (NULL for services) */
    const char *name;         /* IAM user name, role name, "root", or the service */
    const char *session_name; /* assumed-role / federated session (SSO: the user) */
    const char *account_id;
};

struct wc_classification {
    enum wc_actor_class cls;
    const char *rule;  /* static: why, e.g. "invokedBy autoscaling.amazonaws.com" is not
                        * kept; rule is a fixed label such as "invoked_by" */
    bool console;      /* console session (sessionCredentialFromConsole or console UA) */
    struct wc_actor actor;
};

void wc_classify(const struct wc_policy *p, const struct wc_event *e,
                 struct wc_classification *out);
const char *wc_actor_class_name(enum wc_actor_class cls);

#endif
