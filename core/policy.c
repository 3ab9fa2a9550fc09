#include "core/policy.h"

#include <string.h>

#include "core/err.h"

int wc_policy_init_defaults(struct wc_policy *p)
{
    int rc;

    memset(p, 0, sizeof(*p));
    p->skew_s = WC_DEFAULT_SKEW_S;
    p->periodic_window_h = WC_DEFAULT_PERIODIC_WINDOW_H;
    if ((rc = wc_strlist_push(&p->ignore_resource_types, "AWS::SSM::ManagedInstanceInventory")) ||
        (rc = wc_strlist_push(&p->ignore_resource_types, "AWS::Config::ResourceCompliance"))) {
        wc_policy_clean_up(p);
        return rc;
    }
    return WC_OK;
}

void wc_policy_clean_up(struct wc_policy *p)
{
    if (!p)
        return;
    wc_strlist_clean_up(&p->trusted);
    wc_strlist_clean_up(&p->automation_user_agents);
    wc_strlist_clean_up(&p->ignore_resource_types);
    wc_strlist_clean_up(&p->ignore_event_names);
    wc_strlist_clean_up(&p->allowed_accounts);
    wc_strlist_clean_up(&p->allowed_topics);
    wc_strlist_clean_up(&p->allowed_buckets);
    wc_strlist_clean_up(&p->ownership_tags);
}

int wc_policy_copy(struct wc_policy *dst, const struct wc_policy *src)
{
    int rc;

    memset(dst, 0, sizeof(*dst));
    dst->skew_s = src->skew_s;
    dst->periodic_window_h = src->periodic_window_h;
    if ((rc = wc_strlist_copy(&dst->trusted, &src->trusted)) ||
        (rc = wc_strlist_copy(&dst->automation_user_agents, &src->automation_user_agents)) ||
        (rc = wc_strlist_copy(&dst->ignore_resource_types, &src->ignore_resource_types)) ||
        (rc = wc_strlist_copy(&dst->ignore_event_names, &src->ignore_event_names)) ||
        (rc = wc_strlist_copy(&dst->allowed_accounts, &src->allowed_accounts)) ||
        (rc = wc_strlist_copy(&dst->allowed_topics, &src->allowed_topics)) ||
        (rc = wc_strlist_copy(&dst->allowed_buckets, &src->allowed_buckets)) ||
        (rc = wc_strlist_copy(&dst->ownership_tags, &src->ownership_tags))) {
        wc_policy_clean_up(dst);
        return rc;
    }
    return WC_OK;
}
