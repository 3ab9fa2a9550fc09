/* Unit tests for core/history: arguments, the Config pages and the item
 * before the range, the diff between items, the worker's correlation
 * through the scheduler (throttling, failures, 90 days), errors and the
 * output lines. The runner is played here: Config answers are canned
 * bodies, CloudTrail an in-memory trail answering each lookup with the
 * events LookupEvents would return (wc_trail_query_matches). */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/change.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/event.h"
#include "core/history.h"
#include "core/notification_internal.h"
#include "core/policy.h"
#include "core/trail.h"

#define NOW_MS 1796040000000LL /* 2026-11-30T12:00:00Z */
#define DAY_MS (86400LL * 1000)
#define SG "sg-0a1b2c3d4e5f60718"
#define SG_ARN "arn:aws:ec2:eu-west-1:123456789012:security-group/" SG
#define TYPE "AWS::EC2::SecurityGroup"

/* --- arguments ---------------------------------------------------------------- */

static void test_parse_resource(void **state)
{
    static const char *const bad[] = {
        "", "sg-1", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroup/", "AWS::EC2/sg-1",
        "AWS::EC2::Security-Group/sg-1", "AWS:EC2:SecurityGroup/sg-1", "/sg-1",
        "AWS::EC2::SecurityGroup/sg 1", "AWS::EC2::SecurityGroup/sg-1\n", "AWS::::X/1",
    };
    char *type = NULL, *id = NULL, err[256], big[1024];

    (void)state;
    assert_int_equal(wc_history_parse_resource(TYPE "/" SG, &type, &id, err, sizeof(err)),
                     WC_OK);
    assert_string_equal(type, TYPE);
    assert_string_equal(id, SG);
    free(type);
    free(id);
    /* ids may hold '/' (an ARN): only the first one after the type splits */
    assert_int_equal(wc_history_parse_resource(
                         "AWS::ElasticLoadBalancingV2::LoadBalancer/arn:aws:elasticloadbalancing:"
                         "eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
                         &type, &id, err, sizeof(err)),
                     WC_OK);
    assert_string_equal(type, "AWS::ElasticLoadBalancingV2::LoadBalancer");
    assert_string_equal(id, "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/"
                            "app/web/50dc6c495c0c9188");
    free(type);
    free(id);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(wc_history_parse_resource(bad[i], &type, &id, err, sizeof(err)),
                         WC_ERR_INVALID);
        assert_null(type);
        assert_null(id);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(wc_history_parse_resource("x", &type, &id, err, sizeof(err)),
                     WC_ERR_INVALID);
    assert_non_null(strstr(err, "AWS::EC2::SecurityGroup/sg-0123"));
    /* Config's limit on ids */
    memcpy(big, TYPE "/", sizeof(TYPE "/") - 1);
    memset(big + sizeof(TYPE "/") - 1, 'a', 769);
    big[sizeof(TYPE "/") - 1 + 769] = '\0';
    assert_int_equal(wc_history_parse_resource(big, &type, &id, err, sizeof(err)),
                     WC_ERR_INVALID);
    assert_non_null(strstr(err, "768"));
    big[sizeof(TYPE "/") - 1 + 768] = '\0';
    assert_int_equal(wc_history_parse_resource(big, &type, &id, err, sizeof(err)), WC_OK);
    assert_int_equal(strlen(id), 768);
    free(type);
    free(id);
}

static void test_parse_time(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } good[] = {
        {"7d", NOW_MS - 7 * DAY_MS},
        {"36h", NOW_MS - 36LL * 3600 * 1000},
        {"90m", NOW_MS - 90LL * 60 * 1000},
        {"45s", NOW_MS - 45LL * 1000},
        {"2w", NOW_MS - 14 * DAY_MS},
        {"0d", NOW_MS},
        {"2026-11-01T10:00:00Z", 1793527200000LL},
        {"2026-11-01T11:00:00+01:00", 1793527200000LL},
        {"2026-11-01", 1793491200000LL},
    };
    static const char *const bad[] = {"", "7", "d", "3x", "-1d", "7dd", "7 d", "2026-13-01",
                                      "yesterday", "99999999999d"};
    char err[256];
    int64_t t;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        t = 0;
        assert_int_equal(wc_history_parse_time(good[i].in, NOW_MS, &t, err, sizeof(err)), WC_OK);
        assert_int_equal(t, good[i].want);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(wc_history_parse_time(bad[i], NOW_MS, &t, err, sizeof(err)),
                         WC_ERR_INVALID);
        assert_true(err[0] != '\0');
    }
}

/* --- the runner played --------------------------------------------------------- */

#define MAX_ANSWERS 16
#define MAX_QUERIES 16

struct answer {
    int rc;
    char *body;
    const char *code, *desc;
};

struct seen_query {
    int64_t earlier_ms, later_ms;
    bool forward;
    int limit;
    char token[64];
    char account[16];
};

struct fx {
    struct wc_policy policy;
    struct wc_history_options o;
    struct wc_history *h;
    int64_t mono;
    struct answer answers[MAX_ANSWERS];
    size_t n_answers, next_answer;
    struct seen_query queries[MAX_QUERIES];
    size_t n_queries;
    struct wc_event_list trail;      /* what CloudTrail holds */
    size_t lookups;                  /* LookupEvents calls answered */
    int throttle_first;              /* throttle this many calls first */
    int fail_rc;                     /* every lookup fails with this (0: none) */
    struct wc_history_entry *entries[300];
    size_t n_entries;
    size_t max_waiting_seen_at_config; /* not used by every test */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (!f || wc_policy_init_defaults(&f->policy) != WC_OK ||
        wc_strlist_push(&f->policy.trusted, "arn:aws:iam::*:role/terraform-*") != WC_OK)
        return -1;
    f->o.resource_type = TYPE;
    f->o.resource_id = SG;
    f->o.region = "eu-west-1";
    f->o.now_ms = NOW_MS;
    f->o.since_ms = NOW_MS - 7 * DAY_MS;
    f->o.until_ms = NOW_MS;
    f->mono = 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    for (size_t i = 0; i < f->n_answers; i++)
        free(f->answers[i].body);
    for (size_t i = 0; i < f->n_entries; i++)
        wc_history_entry_destroy(f->entries[i]);
    wc_history_destroy(f->h);
    wc_event_list_clean_up(&f->trail);
    wc_policy_clean_up(&f->policy);
    free(f);
    return 0;
}

/* Forget the history, its answers, queries and entries (the trail stays). */
static void s_reset(struct fx *f)
{
    for (size_t i = 0; i < MAX_ANSWERS; i++) {
        free(f->answers[i].body);
        f->answers[i].body = NULL;
    }
    for (size_t i = 0; i < f->n_entries; i++)
        wc_history_entry_destroy(f->entries[i]);
    wc_history_destroy(f->h);
    f->h = NULL;
    f->n_entries = f->n_answers = f->next_answer = f->n_queries = f->lookups = 0;
}

static void s_answer(struct fx *f, int rc, cJSON *body, const char *code, const char *desc)
{
    struct answer *a;

    assert_true(f->n_answers < MAX_ANSWERS);
    a = &f->answers[f->n_answers++];
    a->rc = rc;
    a->body = body ? cJSON_PrintUnformatted(body) : NULL;
    a->code = code;
    a->desc = desc;
    cJSON_Delete(body);
}

/* A GetResourceConfigHistory answer: items (taken) and a nextToken. */
static cJSON *s_page(cJSON *items, const char *token)
{
    cJSON *p = cJSON_CreateObject();

    assert_non_null(p);
    cJSON_AddItemToObject(p, "configurationItems", items ? items : cJSON_CreateArray());
    if (token)
        cJSON_AddStringToObject(p, "nextToken", token);
    return p;
}

/* A configuration item in the API's shape: epoch-second times,
 * `configuration` as JSON text. */
static cJSON *s_item(int n, int64_t capture_ms, const char *status, const char *conf,
                     const char *tags, const char *rel, const char *related)
{
    cJSON *it = cJSON_CreateObject();
    char state_id[32];

    assert_non_null(it);
    snprintf(state_id, sizeof(state_id), "%d", 1000 + n);
    cJSON_AddStringToObject(it, "version", "1.3");
    cJSON_AddStringToObject(it, "accountId", "123456789012");
    cJSON_AddNumberToObject(it, "configurationItemCaptureTime", (double)capture_ms / 1000.0);
    cJSON_AddStringToObject(it, "configurationItemStatus", status);
    cJSON_AddStringToObject(it, "configurationStateId", state_id);
    cJSON_AddStringToObject(it, "arn", SG_ARN);
    cJSON_AddStringToObject(it, "resourceType", TYPE);
    cJSON_AddStringToObject(it, "resourceId", SG);
    cJSON_AddStringToObject(it, "resourceName", "web");
    cJSON_AddStringToObject(it, "awsRegion", "eu-west-1");
    cJSON_AddStringToObject(it, "availabilityZone", "Not Applicable");
    cJSON_AddItemToObject(it, "tags", cJSON_Parse(tags ? tags : "{}"));
    cJSON_AddItemToObject(it, "relationships", cJSON_Parse(rel ? rel : "[]"));
    cJSON_AddItemToObject(it, "relatedEvents",
                          related ? cJSON_CreateStringArray(&related, 1) : cJSON_CreateArray());
    if (conf)
        cJSON_AddStringToObject(it, "configuration", conf);
    else
        cJSON_AddNullToObject(it, "configuration");
    cJSON_AddItemToObject(it, "supplementaryConfiguration", cJSON_CreateObject());
    cJSON_AddStringToObject(it, "recordingFrequency", "CONTINUOUS");
    return it;
}

static cJSON *s_items(int n, ...)
{
    cJSON *a = cJSON_CreateArray();
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, va_arg(ap, cJSON *));
    va_end(ap);
    return a;
}

enum who { SSO, TERRAFORM, SERVICE, READER };

static char *s_dup(const char *s)
{
    char *p = wc_strdup(s);

    assert_non_null(p);
    return p;
}

/* An event of the trail naming the group. */
static void s_event(struct fx *f, const char *id, const char *name, int64_t t_ms, enum who who)
{
    struct wc_event_list *l = &f->trail;
    struct wc_event *e;

    l->items = realloc(l->items, (l->len + 1) * sizeof(*l->items));
    assert_non_null(l->items);
    e = &l->items[l->len++];
    memset(e, 0, sizeof(*e));
    e->event_id = s_dup(id);
    e->event_name = s_dup(name);
    e->event_source = s_dup("ec2.amazonaws.com");
    e->event_type = s_dup("AwsApiCall");
    e->event_time_ms = t_ms;
    e->aws_region = s_dup("eu-west-1");
    e->recipient_account_id = s_dup("123456789012");
    e->user_agent = s_dup("aws-cli/2.22.0");
    e->identity.account_id = s_dup("123456789012");
    e->read_only = who == READER;
    switch (who) {
    case SSO:
    case READER:
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
    case TERRAFORM:
        e->identity.type = s_dup("AssumedRole");
        e->identity.arn =
            s_dup("arn:aws:sts::123456789012:assumed-role/terraform-deployer/aws-go-sdk-1");
        e->identity.issuer_type = s_dup("Role");
        e->identity.issuer_arn = s_dup("arn:aws:iam::123456789012:role/terraform-deployer");
        e->identity.issuer_user_name = s_dup("terraform-deployer");
        e->identity.session_name = s_dup("aws-go-sdk-1");
        break;
    case SERVICE:
        e->identity.type = s_dup("AWSService");
        e->identity.invoked_by = s_dup("elasticloadbalancing.amazonaws.com");
        e->source_ip = s_dup("elasticloadbalancing.amazonaws.com");
        break;
    }
    e->resources = calloc(1, sizeof(*e->resources));
    assert_non_null(e->resources);
    e->n_resources = 1;
    e->resources[0].type = s_dup(TYPE);
    e->resources[0].name = s_dup(SG);
}

static void s_new(struct fx *f)
{
    char err[256] = "";

    f->h = wc_history_new(&f->o, &f->policy, err, sizeof(err));
    assert_non_null(f->h);
}

/* Carry out every action (the mono clock jumps to each wake time) and take
 * the entries. */
static void s_run(struct fx *f)
{
    struct wc_history_action a;
    int64_t wake;
    int guard = 0;

    for (;;) {
        struct wc_history_entry *e;

        assert_true(++guard < 100000);
        while (wc_history_next(f->h, f->mono, &a, &wake)) {
            if (a.kind == WC_HISTORY_CONFIG) {
                struct answer *ans;
                struct seen_query *q;

                assert_true(f->next_answer < f->n_answers); /* asked more than scripted */
                ans = &f->answers[f->next_answer++];
                assert_true(f->n_queries < MAX_QUERIES);
                q = &f->queries[f->n_queries++];
                q->earlier_ms = a.config.earlier_ms;
                q->later_ms = a.config.later_ms;
                q->forward = a.config.forward;
                q->limit = a.config.limit;
                snprintf(q->token, sizeof(q->token), "%s", a.token ? a.token : "");
                snprintf(q->account, sizeof(q->account), "%s",
                         a.config.account_id ? a.config.account_id : "");
                assert_string_equal(a.config.resource_type, TYPE);
                assert_string_equal(a.config.resource_id, SG);
                assert_string_equal(a.config.region, "eu-west-1");
                wc_history_config_done(f->h, ans->rc, wc_str_from_cstr(ans->body ? ans->body : ""),
                                       ans->code, ans->desc, f->mono);
            } else {
                struct wc_event_list page = WC_EVENT_LIST_INIT;
                int rc = WC_OK;

                assert_int_equal(a.kind, WC_HISTORY_LOOKUP);
                f->lookups++;
                if (f->throttle_first > 0) {
                    f->throttle_first--;
                    rc = WC_ERR_THROTTLED;
                } else if (f->fail_rc) {
                    rc = f->fail_rc;
                } else {
                    for (size_t i = 0; i < f->trail.len; i++) {
                        if (!wc_trail_query_matches(&a.lookup.query, &f->trail.items[i]))
                            continue;
                        page.items = realloc(page.items, (page.len + 1) * sizeof(*page.items));
                        assert_non_null(page.items);
                        assert_int_equal(wc_event_copy(&page.items[page.len++],
                                                       &f->trail.items[i]),
                                         WC_OK);
                    }
                }
                wc_history_lookup_done(f->h, a.lookup.call_id, rc, &page, f->mono);
                wc_event_list_clean_up(&page);
            }
        }
        while (wc_history_take(f->h, &e)) {
            assert_true(f->n_entries < sizeof(f->entries) / sizeof(f->entries[0]));
            f->entries[f->n_entries++] = e;
        }
        if (wc_history_finished(f->h))
            break;
        assert_true(wake != INT64_MAX); /* stuck: nothing due and not finished */
        if (wake > f->mono)
            f->mono = wake;
    }
}

static const char *s_text(const struct wc_history_entry *e, struct wc_buf *b)
{
    wc_buf_reset(b);
    assert_int_equal(wc_history_entry_text(e, b), WC_OK);
    return b->ptr;
}

static const struct wc_changed_property *s_prop(const struct wc_history_entry *e,
                                                const char *path)
{
    const struct wc_change *c = &e->finding->change;

    for (size_t i = 0; i < c->n_props; i++)
        if (strcmp(c->props[i].path, path) == 0)
            return &c->props[i];
    return NULL;
}

#define C1 "{\"groupId\":\"" SG "\",\"description\":\"web\",\"ipPermissions\":[]}"
#define C2 "{\"groupId\":\"" SG "\",\"description\":\"web\",\"ipPermissions\":[{\"fromPort\":22}]}"
#define C3 "{\"groupId\":\"" SG "\",\"description\":\"web\",\"ipPermissions\":[{\"fromPort\":22}]," \
           "\"ipPermissionsEgress\":[{\"fromPort\":443}]}"

/* The whole path: the item before the range, two pages, every class, the
 * diff with the item before. */
static void test_history_pages_and_classes(void **state)
{
    struct fx *f = *state;
    struct wc_history_stats st;
    struct wc_buf b = WC_BUF_INIT;
    const struct wc_changed_property *p;
    int64_t t1 = NOW_MS - 6 * DAY_MS, t2 = NOW_MS - 5 * DAY_MS, t3 = NOW_MS - 4 * DAY_MS,
            t4 = NOW_MS - 3 * DAY_MS;

    /* baseline: Reverse gives the newest first; the first is in the range
     * (since falls within its second) and is passed over */
    s_answer(f, WC_OK,
             s_page(s_items(2, s_item(90, f->o.since_ms + 500, "OK", C1, "{}", NULL, NULL),
                            s_item(0, NOW_MS - 8 * DAY_MS, "ResourceDiscovered", C1,
                                   "{\"team\":\"web\"}", NULL, NULL)),
                    NULL),
             NULL, NULL);
    s_answer(f, WC_OK,
             s_page(s_items(2, s_item(1, t1, "OK", C2, "{\"team\":\"web\"}", NULL, NULL),
                            s_item(2, t2, "OK", C2, "{\"team\":\"web\",\"owner\":\"platform\"}",
                                   NULL, NULL)),
                    "page-2"),
             NULL, NULL);
    s_answer(f, WC_OK,
             s_page(s_items(2,
                            s_item(3, t3, "OK", C3, "{\"team\":\"web\",\"owner\":\"platform\"}",
                                   NULL, "ev-3"),
                            s_item(4, t4, "OK", C3, "{\"team\":\"web\",\"owner\":\"platform\"}",
                                   "[{\"resourceId\":\"eni-1\"}]", NULL)),
                    NULL),
             NULL, NULL);
    s_event(f, "ev-1", "AuthorizeSecurityGroupIngress", t1 - 40000, SSO);
    s_event(f, "ev-1r", "DescribeSecurityGroups", t1 - 60000, READER);
    s_event(f, "ev-2", "CreateTags", t2 - 30000, TERRAFORM);
    s_event(f, "ev-3", "AuthorizeSecurityGroupEgress", t3 - 20000, SERVICE);
    /* an event far outside every window: never an explanation */
    s_event(f, "ev-x", "RevokeSecurityGroupIngress", t4 - 3600000, SSO);
    s_new(f);
    s_run(f);

    assert_null(wc_history_error(f->h, NULL));
    assert_int_equal(f->n_entries, 4);
    /* the queries: the baseline, then the range forward with the token */
    assert_int_equal(f->n_queries, 3);
    assert_int_equal(f->queries[0].earlier_ms, WC_HISTORY_NO_TIME);
    assert_int_equal(f->queries[0].later_ms, f->o.since_ms);
    assert_false(f->queries[0].forward);
    assert_int_equal(f->queries[0].limit, 2);
    assert_int_equal(f->queries[1].earlier_ms, f->o.since_ms);
    assert_int_equal(f->queries[1].later_ms, f->o.until_ms);
    assert_true(f->queries[1].forward);
    assert_int_equal(f->queries[1].limit, WC_HISTORY_PAGE_LIMIT);
    assert_string_equal(f->queries[1].token, "");
    assert_string_equal(f->queries[2].token, "page-2");
    assert_string_equal(f->queries[2].account, "");

    /* 1: alice, compared with the baseline (not with the passed-over item) */
    assert_int_equal(f->entries[0]->finding->verdict, WC_VERDICT_HUMAN);
    assert_string_equal(wc_history_class_name(f->entries[0]), "human");
    assert_int_equal(f->entries[0]->lookup, WC_HISTORY_LOOKED_UP);
    assert_true(f->entries[0]->compared);
    assert_string_equal(f->entries[0]->state_id, "1001");
    assert_int_equal(f->entries[0]->finding->change.n_props, 1);
    p = s_prop(f->entries[0], "Configuration.ipPermissions");
    assert_non_null(p);
    assert_string_equal(p->change, "UPDATE");
    assert_string_equal(p->before, "[]");
    assert_string_equal(p->after, "[{\"fromPort\":22}]");
    assert_string_equal(f->entries[0]->finding->matches[0].event.event_id, "ev-1");
    assert_string_equal(s_text(f->entries[0], &b),
                        "2026-11-24T12:00:00Z      human         alice@example.com  "
                        "AuthorizeSecurityGroupIngress  changed ipPermissions");
    /* 2: Terraform adds a tag */
    assert_string_equal(wc_history_class_name(f->entries[1]), "automation");
    p = s_prop(f->entries[1], "Tags.owner");
    assert_non_null(p);
    assert_string_equal(p->change, "CREATE");
    assert_null(p->before);
    assert_string_equal(p->after, "platform");
    assert_int_equal(f->entries[1]->finding->change.n_props, 1);
    assert_non_null(strstr(s_text(f->entries[1], &b),
                           "  automation    terraform-deployer  CreateTags  changed Tags.owner"));
    /* 3: a service, found by Config's relatedEvents */
    assert_string_equal(wc_history_class_name(f->entries[2]), "service");
    assert_non_null(s_prop(f->entries[2], "Configuration.ipPermissionsEgress"));
    assert_string_equal(s_prop(f->entries[2], "Configuration.ipPermissionsEgress")->change,
                        "CREATE");
    assert_non_null(strstr(s_text(f->entries[2], &b),
                           "service       elasticloadbalancing.amazonaws.com"));
    /* 4: only a relationship changed, no event: unattributed */
    assert_string_equal(wc_history_class_name(f->entries[3]), "unattributed");
    assert_int_equal(f->entries[3]->finding->change.n_props, 1);
    assert_non_null(s_prop(f->entries[3], "Relationships"));
    assert_string_equal(s_text(f->entries[3], &b),
                        "2026-11-27T12:00:00Z      unattributed  -  -  changed Relationships");

    wc_history_get_stats(f->h, &st);
    assert_int_equal(st.config_calls, 3);
    assert_int_equal(st.items, 4);
    assert_int_equal(st.too_old, 0);
    assert_int_equal(st.failed, 0);
    assert_false(st.truncated);
    /* per-resource lookups as the worker plans them: 1 (id) for ev-1,
     * ev-2; 1 (EventId) for ev-3; id, name, ARN for the unexplained one */
    assert_int_equal(f->lookups, 6);
    assert_int_equal(st.lookups, 6);
    wc_buf_clean_up(&b);
}

/* The change of an API item is the change of the same item in a
 * notification: one parser. */
static void test_history_item_as_notification(void **state)
{
    cJSON *it = s_item(1, 1796039990000LL, "OK", C2, "{\"team\":\"web\"}", NULL, "ev-1");
    cJSON *note = cJSON_CreateObject(), *ci;
    struct wc_notification *n = NULL;
    struct wc_change c;
    char *text, err[256];

    (void)state;
    /* the notification's spelling of the same item */
    ci = cJSON_Duplicate(it, true);
    cJSON_DeleteItemFromObject(ci, "configurationItemCaptureTime");
    cJSON_AddStringToObject(ci, "configurationItemCaptureTime", "2026-11-30T11:59:50Z");
    cJSON_AddItemToObject(note, "configurationItem", ci);
    cJSON_AddStringToObject(note, "messageType", "ConfigurationItemChangeNotification");
    text = cJSON_PrintUnformatted(note);
    assert_int_equal(wc_notification_parse_at(wc_str_from_cstr(text), NOW_MS, &n, err,
                                              sizeof(err)),
                     WC_OK);
    assert_int_equal(wc_change_from_item(ci, NULL, NOW_MS, &c, err, sizeof(err)), WC_OK);
    assert_string_equal(c.account_id, n->change.account_id);
    assert_string_equal(c.region, n->change.region);
    assert_string_equal(c.lookup_region, n->change.lookup_region);
    assert_string_equal(c.resource_type, n->change.resource_type);
    assert_string_equal(c.resource_id, n->change.resource_id);
    assert_string_equal(c.resource_name, n->change.resource_name);
    assert_string_equal(c.arn, n->change.arn);
    assert_string_equal(c.status, n->change.status);
    assert_int_equal(c.capture_time_ms, n->change.capture_time_ms);
    assert_int_equal(c.related_event_ids.len, 1);
    assert_string_equal(c.related_event_ids.items[0], "ev-1");
    wc_change_clean_up(&c);
    /* and it is checked as a notification is */
    cJSON_ReplaceItemInObject(ci, "accountId", cJSON_CreateString("1234"));
    assert_int_equal(wc_change_from_item(ci, NULL, NOW_MS, &c, err, sizeof(err)),
                     WC_ERR_INVALID);
    assert_non_null(strstr(err, "not 12 digits"));
    assert_null(c.account_id);
    cJSON_free(text);
    wc_notification_destroy(n);
    cJSON_Delete(note);
    cJSON_Delete(it);
}

/* Beyond 90 days: listed, not looked up; creation and deletion said so. */
static void test_history_too_old_and_lifecycle(void **state)
{
    struct fx *f = *state;
    struct wc_buf b = WC_BUF_INIT;
    int64_t old1 = NOW_MS - 120 * DAY_MS, old2 = NOW_MS - 100 * DAY_MS,
            recent = NOW_MS - 5 * 60 * 1000;

    f->o.since_ms = NOW_MS - 200 * DAY_MS;
    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL); /* nothing before */
    s_answer(f, WC_OK,
             s_page(s_items(4, s_item(0, old1, "ResourceDiscovered", C1, NULL, NULL, NULL),
                            s_item(1, old2, "OK", C2, NULL, NULL, NULL),
                            s_item(2, NOW_MS - DAY_MS, "ResourceDeleted", NULL, NULL, NULL, NULL),
                            s_item(3, recent, "ResourceDeletedNotRecorded", NULL, NULL, NULL,
                                   NULL)),
                    NULL),
             NULL, NULL);
    s_new(f);
    s_run(f);
    assert_int_equal(f->n_entries, 4);
    assert_int_equal(f->entries[0]->lookup, WC_HISTORY_TOO_OLD);
    assert_int_equal(f->entries[1]->lookup, WC_HISTORY_TOO_OLD);
    assert_non_null(strstr(f->entries[0]->finding->reason, "more than 90 days ago"));
    assert_string_equal(s_text(f->entries[0], &b),
                        "2026-08-02T12:00:00Z      unattributed  -  -  created [older than "
                        "CloudTrail's 90 days: not looked up]");
    assert_non_null(strstr(s_text(f->entries[1], &b), "changed ipPermissions [older than"));
    assert_string_equal(f->entries[2]->finding->change.change_type, "DELETE");
    assert_non_null(strstr(s_text(f->entries[2], &b), "  deleted"));
    /* a recent change without its event yet says it may be on the way */
    assert_non_null(strstr(s_text(f->entries[3], &b), "deleted [captured minutes ago"));
    /* only the two recent ones were looked up (id, name, ARN each) */
    assert_int_equal(f->lookups, 6);
    wc_buf_clean_up(&b);
}

/* Throttling is slowed down for and the same page asked again; a failing
 * lookup leaves the change unattributed and says why. */
static void test_history_throttle_and_failure(void **state)
{
    struct fx *f = *state;
    struct wc_history_stats st;
    struct wc_buf b = WC_BUF_INIT;
    int64_t t1 = NOW_MS - 2 * DAY_MS, start_mono;

    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL);
    s_answer(f, WC_OK, s_page(s_items(1, s_item(1, t1, "OK", C2, NULL, NULL, NULL)), NULL),
             NULL, NULL);
    s_event(f, "ev-1", "AuthorizeSecurityGroupIngress", t1 - 40000, SSO);
    f->throttle_first = 2;
    s_new(f);
    start_mono = f->mono;
    s_run(f);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(f->entries[0]->finding->verdict, WC_VERDICT_HUMAN);
    assert_int_equal(f->lookups, 3);
    wc_history_get_stats(f->h, &st);
    assert_int_equal(st.throttled, 2);
    /* the adaptive rate waited before asking again */
    assert_true(f->mono > start_mono);

    /* a lookup that fails */
    s_reset(f);
    f->fail_rc = WC_ERR_AUTH;
    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL);
    s_answer(f, WC_OK, s_page(s_items(1, s_item(1, t1, "OK", C2, NULL, NULL, NULL)), NULL),
             NULL, NULL);
    s_new(f);
    s_run(f);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(f->entries[0]->lookup, WC_HISTORY_FAILED);
    assert_int_equal(f->entries[0]->lookup_rc, WC_ERR_AUTH);
    assert_string_equal(wc_history_class_name(f->entries[0]), "unattributed");
    assert_non_null(strstr(f->entries[0]->finding->reason, "failed"));
    assert_non_null(strstr(s_text(f->entries[0], &b), "[CloudTrail lookup failed: "));
    wc_history_get_stats(f->h, &st);
    assert_int_equal(st.failed, 1);
    wc_buf_clean_up(&b);
}

/* Config's errors, said for a person. */
static void test_history_config_errors(void **state)
{
    static const struct {
        int rc;
        const char *code, *desc, *want;
        int want_rc;
    } cases[] = {
        {WC_ERR_SERVICE, "ResourceNotDiscoveredException", "Resource sg-x is unknown",
         "is not recorded by AWS Config in account 210987654321, eu-west-1", WC_ERR_NOT_FOUND},
        {WC_ERR_AUTH, "AccessDeniedException",
         "not authorized to config:GetResourceConfigHistory (AccessDeniedException: no)",
         "not authorized to config:GetResourceConfigHistory", WC_ERR_AUTH},
        {WC_ERR_SERVICE, "ValidationException", "ValidationException: bad type",
         "AWS Config refused the request", WC_ERR_INVALID},
        {WC_ERR_TIMEOUT, NULL, NULL, "GetResourceConfigHistory for", WC_ERR_TIMEOUT},
    };
    struct fx *f = *state;

    f->o.account_id = "210987654321";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *msg;
        int rc = 0;

        s_reset(f);
        s_answer(f, cases[i].rc, NULL, cases[i].code, cases[i].desc);
        s_new(f);
        s_run(f);
        assert_int_equal(f->n_entries, 0);
        assert_string_equal(f->queries[0].account, "210987654321");
        msg = wc_history_error(f->h, &rc);
        assert_non_null(msg);
        assert_non_null(strstr(msg, cases[i].want));
        assert_int_equal(rc, cases[i].want_rc);
    }
}

/* An error after a first page: what was read still comes out, then the
 * error; bad answers are errors. */
static void test_history_errors_midway_and_bad_answers(void **state)
{
    struct fx *f = *state;
    cJSON *other;
    int64_t t1 = NOW_MS - 2 * DAY_MS;

    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL);
    s_answer(f, WC_OK, s_page(s_items(1, s_item(1, t1, "OK", C2, NULL, NULL, NULL)), "p2"), NULL,
             NULL);
    s_answer(f, WC_ERR_THROTTLED, NULL, "ThrottlingException", "ThrottlingException: Rate exceeded");
    s_event(f, "ev-1", "AuthorizeSecurityGroupIngress", t1 - 40000, SSO);
    s_new(f);
    s_run(f);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(f->entries[0]->finding->verdict, WC_VERDICT_HUMAN);
    assert_non_null(strstr(wc_history_error(f->h, NULL), "Rate exceeded"));

    /* not JSON */
    s_reset(f);
    s_answer(f, WC_OK, NULL, NULL, NULL);
    f->answers[0].body = s_dup("<html>");
    s_new(f);
    s_run(f);
    assert_non_null(strstr(wc_history_error(f->h, NULL), "JSON object"));

    /* another resource's item */
    s_reset(f);
    other = s_item(1, t1, "OK", C2, NULL, NULL, NULL);
    cJSON_ReplaceItemInObject(other, "resourceId", cJSON_CreateString("sg-other"));
    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL);
    s_answer(f, WC_OK, s_page(s_items(1, other), NULL), NULL, NULL);
    s_new(f);
    s_run(f);
    assert_int_equal(f->n_entries, 0);
    assert_non_null(strstr(wc_history_error(f->h, NULL), "not the resource asked for"));

    /* the same nextToken twice would loop for ever */
    s_reset(f);
    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL);
    s_answer(f, WC_OK, s_page(NULL, "same"), NULL, NULL);
    s_answer(f, WC_OK, s_page(NULL, "same"), NULL, NULL);
    s_new(f);
    s_run(f);
    assert_int_equal(f->n_queries, 3);
    assert_non_null(strstr(wc_history_error(f->h, NULL), "same nextToken"));
}

/* While WC_HISTORY_MAX_PENDING changes wait for CloudTrail, no further page
 * is read; an ignored type is never looked up; max_items stops the read. */
static void test_history_pending_bound_and_limits(void **state)
{
    struct fx *f = *state;
    struct wc_history_action a;
    struct wc_history_stats st;
    cJSON *items[3];
    int64_t wake;
    size_t n = 0;

    for (int p = 0; p < 3; p++) {
        items[p] = cJSON_CreateArray();
        for (int i = 0; i < 100; i++, n++)
            cJSON_AddItemToArray(items[p], s_item((int)n, NOW_MS - 6 * DAY_MS + (int64_t)n * 60000,
                                                  "OK", C1, NULL, NULL, NULL));
    }
    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL);
    s_answer(f, WC_OK, s_page(items[0], "p2"), NULL, NULL);
    s_answer(f, WC_OK, s_page(items[1], "p3"), NULL, NULL);
    s_answer(f, WC_OK, s_page(items[2], NULL), NULL, NULL);
    s_new(f);
    /* the baseline and two pages: 200 changes wait; then only lookups */
    for (int i = 0; i < 3; i++) {
        assert_true(wc_history_next(f->h, f->mono, &a, &wake));
        assert_int_equal(a.kind, WC_HISTORY_CONFIG);
        wc_history_config_done(f->h, WC_OK, wc_str_from_cstr(f->answers[i].body), NULL, NULL,
                               f->mono);
    }
    f->next_answer = 3;
    /* each change costs 3 lookups (id, name, ARN: nothing found): the
     * next page is asked for only once the first change is decided */
    for (int calls = 0; calls < 4;) {
        struct wc_event_list page = WC_EVENT_LIST_INIT;

        if (!wc_history_next(f->h, f->mono, &a, &wake)) {
            assert_true(wake != INT64_MAX);
            f->mono = wake;
            continue;
        }
        if (calls++ < 3) {
            assert_int_equal(a.kind, WC_HISTORY_LOOKUP);
            f->lookups++;
            wc_history_lookup_done(f->h, a.lookup.call_id, WC_OK, &page, f->mono);
        } else {
            assert_int_equal(a.kind, WC_HISTORY_CONFIG);
            assert_string_equal(a.token, "p3");
            wc_history_config_done(f->h, WC_OK, wc_str_from_cstr(f->answers[3].body), NULL,
                                   NULL, f->mono);
            f->next_answer = 4;
        }
    }
    /* the rest through the runner: all 300 come out, in capture order */
    s_run(f);
    assert_int_equal(f->n_entries, 300);
    for (size_t i = 1; i < f->n_entries; i++)
        assert_true(f->entries[i]->finding->change.capture_time_ms >
                    f->entries[i - 1]->finding->change.capture_time_ms);
    wc_history_get_stats(f->h, &st);
    assert_int_equal(st.items, 300);
    assert_int_equal(st.config_calls, 4);
    s_reset(f);

    /* an ignored type: decided at once, no lookup; max_items */
    assert_int_equal(wc_strlist_push(&f->policy.ignore_resource_types, TYPE), WC_OK);
    f->o.max_items = 2;
    s_answer(f, WC_OK, s_page(NULL, NULL), NULL, NULL);
    s_answer(f, WC_OK,
             s_page(s_items(3, s_item(1, NOW_MS - 3 * DAY_MS, "OK", C1, NULL, NULL, NULL),
                            s_item(2, NOW_MS - 2 * DAY_MS, "OK", C2, NULL, NULL, NULL),
                            s_item(3, NOW_MS - 1 * DAY_MS, "OK", C3, NULL, NULL, NULL)),
                    "more"),
             NULL, NULL);
    s_new(f);
    s_run(f);
    assert_int_equal(f->n_entries, 2);
    assert_int_equal(f->lookups, 0);
    assert_string_equal(wc_history_class_name(f->entries[0]), "ignored");
    assert_int_equal(f->entries[0]->lookup, WC_HISTORY_NOT_NEEDED);
    assert_false(f->entries[0]->compared);
    wc_history_get_stats(f->h, &st);
    assert_true(st.truncated);
    assert_int_equal(st.config_calls, 2);
    assert_null(wc_history_error(f->h, NULL));
}

/* JSON lines: the explain object with the history's fields around it. */
static void test_history_json_and_clean_text(void **state)
{
    struct fx *f = *state;
    struct wc_buf b = WC_BUF_INIT;
    cJSON *j;
    int64_t t1 = NOW_MS - 2 * DAY_MS;

    s_answer(f, WC_OK, s_page(s_items(1, s_item(0, NOW_MS - 9 * DAY_MS, "OK", C1, NULL, NULL,
                                                 NULL)),
                              NULL),
             NULL, NULL);
    s_answer(f, WC_OK, s_page(s_items(1, s_item(1, t1, "OK", C2, NULL, NULL, NULL)), NULL),
             NULL, NULL);
    s_event(f, "ev-1", "AuthorizeSecurityGroupIngress", t1 - 40000, SSO);
    /* a session name with a control character: one line all the same */
    free(f->trail.items[0].identity.session_name);
    f->trail.items[0].identity.session_name = s_dup("alice\n@example.com");
    s_new(f);
    s_run(f);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(wc_history_entry_json(f->entries[0], &b), WC_OK);
    assert_null(strchr(b.ptr, '\n'));
    j = cJSON_Parse(b.ptr);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "time")->valuestring, "2026-11-28T12:00:00Z");
    assert_string_equal(cJSON_GetObjectItem(j, "class")->valuestring, "human");
    assert_string_equal(cJSON_GetObjectItem(j, "who")->valuestring, "alice\n@example.com");
    assert_string_equal(cJSON_GetObjectItem(j, "event_name")->valuestring,
                        "AuthorizeSecurityGroupIngress");
    assert_string_equal(cJSON_GetObjectItem(j, "what")->valuestring, "changed ipPermissions");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "changed"), 0)->valuestring,
                        "ipPermissions");
    assert_string_equal(cJSON_GetObjectItem(j, "verdict")->valuestring, "human");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "change"), "resource_id")->valuestring, SG);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0), "event_id")
            ->valuestring,
        "ev-1");
    assert_string_equal(cJSON_GetObjectItem(j, "lookup")->valuestring, "looked_up");
    assert_string_equal(cJSON_GetObjectItem(j, "configuration_state_id")->valuestring, "1001");
    assert_string_equal(cJSON_GetObjectItem(j, "recording_frequency")->valuestring,
                        "CONTINUOUS");
    cJSON_Delete(j);
    assert_non_null(strstr(s_text(f->entries[0], &b), "  alice?@example.com  "));
    assert_null(strchr(b.ptr, '\n'));
    wc_buf_clean_up(&b);
}

static void test_history_bad_options(void **state)
{
    struct fx *f = *state;
    char err[256] = "";

    f->o.since_ms = f->o.until_ms;
    assert_null(wc_history_new(&f->o, &f->policy, err, sizeof(err)));
    assert_non_null(strstr(err, "--since"));
    f->o.since_ms = f->o.until_ms - 1;
    f->o.region = NULL;
    assert_null(wc_history_new(&f->o, &f->policy, err, sizeof(err)));
    assert_non_null(strstr(err, "region"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_resource),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test_setup_teardown(test_history_pages_and_classes, setup, teardown),
        cmocka_unit_test(test_history_item_as_notification),
        cmocka_unit_test_setup_teardown(test_history_too_old_and_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_throttle_and_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_errors_midway_and_bad_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_history_pending_bound_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_json_and_clean_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_bad_options, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
