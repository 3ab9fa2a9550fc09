/* policy.h - the rules the core applies, as loaded by config/.
 *
 * Every list holds glob patterns ('*', '?') except where noted.
 */
#ifndef WC_POLICY_H
#define WC_POLICY_H

#include "core/str.h"

#define WC_DEFAULT_SKEW_S 180
#define WC_DEFAULT_PERIODIC_WINDOW_H 24

struct wc_policy {
    int skew_s;                          /* correlation window: capture time +- skew_s */
    int periodic_window_h;               /* periodic recording (DAILY): the change happened
                                          * within this many hours before the capture */
    struct wc_strlist trusted;           /* principal / role / session-name globs -> automation */
    struct wc_strlist automation_user_agents; /* user-agent globs -> automation */
    struct wc_strlist ignore_resource_types;  /* exact or glob: verdict "ignored" */
    struct wc_strlist ignore_event_names;     /* exact or glob: never match */
    /* Where a notification may come from (core/trust.h); empty: anywhere. */
    struct wc_strlist allowed_accounts; /* exact: 12-digit account ids; AWS Organizations
                                         * ids (o-...) are kept but never match */
    struct wc_strlist allowed_topics;   /* SNS TopicArn globs */
    struct wc_strlist allowed_buckets;  /* oversized items: "bucket" or "bucket/key" globs */
    /* Tag keys (globs) that name who manages a resource ("ManagedBy",
     * "terraform:*"), after aws:cloudformation:stack-name, which always does:
     * a human change to such a resource is drift (core/finding.h). */
    struct wc_strlist ownership_tags;
};

/* Defaults: skew 180 s, periodic window 24 h, no ownership tags (but
 * CloudFormation's), nothing trusted, ignore resource types
 * AWS::SSM::ManagedInstanceInventory and AWS::Config::ResourceCompliance,
 * every account, topic and bucket allowed. */
int wc_policy_init_defaults(struct wc_policy *p);
void wc_policy_clean_up(struct wc_policy *p);
int wc_policy_copy(struct wc_policy *dst, const struct wc_policy *src);

#endif
