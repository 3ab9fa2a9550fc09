/* fuzz_events.c - CloudTrail LookupEvents pages, log files and records
 * (wc_events_parse), then a deep copy and classification of every event.
 *
 * Invariants: parsing is deterministic and all-or-nothing (parsing the same
 * bytes again appends as many events on success and leaves the list as it
 * was on failure); the caps on events and kept request-parameter strings
 * hold; a copy equals its source; every event gets a class and a rule. */
#include <stdlib.h>
#include <string.h>

#include "core/classify.h"
#include "core/err.h"
#include "core/event.h"
#include "core/policy.h"
#include "tests/fuzz/harness.h"

static struct wc_policy s_policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (wc_policy_init_defaults(&s_policy) != WC_OK ||
        wc_strlist_push(&s_policy.trusted, "arn:aws:iam::*:role/terraform-*") != WC_OK ||
        wc_strlist_push(&s_policy.trusted, "*ci-bot*") != WC_OK ||
        wc_strlist_push(&s_policy.automation_user_agents, "*Terraform/*") != WC_OK)
        abort();
    return 0;
}

static bool s_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void s_check_event(const struct wc_event *e)
{
    struct wc_event copy;
    struct wc_classification cls;

    FUZZ_CHECK(e->param_strings.len <= WC_EVENT_MAX_PARAM_STRINGS, "%zu parameter strings",
               e->param_strings.len);
    if (wc_event_copy(&copy, e) == WC_OK) {
        FUZZ_CHECK(s_eq(copy.event_id, e->event_id) && s_eq(copy.event_name, e->event_name) &&
                       s_eq(copy.identity.arn, e->identity.arn) &&
                       s_eq(copy.identity.session_name, e->identity.session_name) &&
                       s_eq(copy.user_agent, e->user_agent) &&
                       copy.event_time_ms == e->event_time_ms &&
                       copy.n_resources == e->n_resources &&
                       copy.param_strings.len == e->param_strings.len,
                   "the copy of event %s differs", e->event_id ? e->event_id : "(no id)");
        for (size_t i = 0; i < e->n_resources; i++)
            FUZZ_CHECK(s_eq(copy.resources[i].name, e->resources[i].name) &&
                           s_eq(copy.resources[i].arn, e->resources[i].arn) &&
                           s_eq(copy.resources[i].type, e->resources[i].type),
                       "resource %zu differs in the copy", i);
        wc_event_clean_up(&copy);
    }
    memset(&cls, 0, sizeof(cls));
    wc_classify(&s_policy, e, &cls);
    FUZZ_CHECK(cls.cls >= WC_CLASS_HUMAN && cls.cls <= WC_CLASS_AWS_SERVICE, "class %d",
               (int)cls.cls);
    FUZZ_CHECK(cls.rule && cls.rule[0], "no rule");
    FUZZ_CHECK(wc_actor_class_name(cls.cls) != NULL, "no class name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wc_event_list list = WC_EVENT_LIST_INIT;
    struct wc_str json = {size ? (const char *)data : NULL, size};
    char err[256];
    size_t first;
    int rc, rc2;

    rc = wc_events_parse(json, &list, err, sizeof(err));
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    if (rc != WC_OK) {
        FUZZ_CHECK(list.len == 0 && list.items == NULL && list.next_token == NULL,
                   "a failed parse (%s) changed the list", err);
        FUZZ_CHECK(err[0] != '\0', "failure %s without a reason", wc_strerror(rc));
    }
    FUZZ_CHECK(list.len <= WC_EVENTS_MAX, "%zu events", list.len);
    first = list.len;
    for (size_t i = 0; i < list.len; i++)
        s_check_event(&list.items[i]);

    rc2 = wc_events_parse(json, &list, err, sizeof(err));
    FUZZ_CHECK(rc2 == rc, "parsing the same bytes again gave %d, then %d", rc, rc2);
    FUZZ_CHECK(list.len == (rc == WC_OK ? 2 * first : first), "%zu events after %zu",
               list.len, first);
    for (size_t i = 0; i < first; i++)
        FUZZ_CHECK(s_eq(list.items[i].event_id, list.items[first + i].event_id) &&
                       list.items[i].event_time_ms == list.items[first + i].event_time_ms,
                   "event %zu parsed differently the second time", i);
    wc_event_list_clean_up(&list);
    return 0;
}
