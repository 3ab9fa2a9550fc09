/* Unit tests for core/pipeline: every outcome of a message, driven through
 * in-memory fakes (queue answers, a LookupEvents fake over a list of
 * events, notifiers with scripted answers, the memory ledger, a fake
 * clock) - no threads, no sockets.
 *
 * Each scenario is a table: the messages received, the events CloudTrail
 * holds, the notifiers' answers; and the expected fate of every message
 * (deleted, released after N s, left for redrive) and of every notice. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/event.h"
#include "core/ledger.h"
#include "core/pipeline.h"
#include "core/trail.h"
#include "tests/support/notif_fakes.h"

#define T0 1714564800000LL /* 2024-05-01T12:00:00Z */
#define ACCOUNT "123456789012"
#define MAX_MSGS 400
#define MAX_SENDS 400

/* --- clock ------------------------------------------------------------------ */

struct fake_clock {
    int64_t now; /* wall; mono = now - T0 */
};

static int64_t s_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static int64_t s_mono(void *ctx)
{
    return ((struct fake_clock *)ctx)->now - T0 + 1000000;
}

/* --- events ------------------------------------------------------------------ */

struct ev_spec {
    const char *id;
    const char *name;
    int64_t time_ms;
    const char *resource; /* ResourceName */
    const char *who;      /* "alice" (IAM user), "tf" (trusted role), "asg" (service) */
    const char *key;      /* access key id, may be NULL */
    const char *region;   /* NULL: eu-west-1 */
    bool read_only;
};

static char *s_iso(int64_t ms)
{
    char buf[WC_TIME_ISO_MAX];

    wc_time_format_iso8601(ms, buf);
    return strdup(buf);
}

/* The CloudTrail record of event e. */
static cJSON *s_record(const struct ev_spec *e)
{
    cJSON *rec = cJSON_CreateObject(), *ui;
    char *iso = s_iso(e->time_ms);

    cJSON_AddStringToObject(rec, "eventVersion", "1.08");
    ui = cJSON_AddObjectToObject(rec, "userIdentity");
    if (!strcmp(e->who, "asg")) {
        cJSON_AddStringToObject(ui, "type", "AWSService");
        cJSON_AddStringToObject(ui, "invokedBy", "autoscaling.amazonaws.com");
    } else if (!strcmp(e->who, "tf")) {
        cJSON_AddStringToObject(ui, "type", "AssumedRole");
        cJSON_AddStringToObject(ui, "arn", "arn:aws:sts::" ACCOUNT ":assumed-role/terraform/ci");
        cJSON_AddStringToObject(ui, "accountId", ACCOUNT);
        cJSON *sc = cJSON_AddObjectToObject(ui, "sessionContext");
        cJSON *si = cJSON_AddObjectToObject(sc, "sessionIssuer");
        cJSON_AddStringToObject(si, "type", "Role");
        cJSON_AddStringToObject(si, "arn", "arn:aws:iam::" ACCOUNT ":role/terraform");
        cJSON_AddStringToObject(si, "userName", "terraform");
    } else {
        char arn[128];

        snprintf(arn, sizeof(arn), "arn:aws:iam::" ACCOUNT ":user/%s", e->who);
        cJSON_AddStringToObject(ui, "type", "IAMUser");
        cJSON_AddStringToObject(ui, "arn", arn);
        cJSON_AddStringToObject(ui, "accountId", ACCOUNT);
        cJSON_AddStringToObject(ui, "userName", e->who);
        if (e->key)
            cJSON_AddStringToObject(ui, "accessKeyId", e->key);
    }
    cJSON_AddStringToObject(rec, "eventTime", iso);
    cJSON_AddStringToObject(rec, "eventSource", "ec2.amazonaws.com");
    cJSON_AddStringToObject(rec, "eventName", e->name);
    cJSON_AddStringToObject(rec, "awsRegion", e->region ? e->region : "eu-west-1");
    cJSON_AddStringToObject(rec, "sourceIPAddress", "198.51.100.7");
    cJSON_AddStringToObject(rec, "userAgent", "console.amazonaws.com");
    cJSON_AddStringToObject(rec, "eventID", e->id);
    cJSON_AddBoolToObject(rec, "readOnly", e->read_only);
    cJSON_AddStringToObject(rec, "eventType", "AwsApiCall");
    cJSON_AddStringToObject(rec, "recipientAccountId", ACCOUNT);
    free(iso);
    return rec;
}

static void s_add_event(struct wc_event_list *l, const struct ev_spec *e)
{
    cJSON *root = cJSON_CreateObject(), *events = cJSON_AddArrayToObject(root, "Events");
    cJSON *ev = cJSON_CreateObject(), *rec = s_record(e), *res, *r;
    char *rec_text, *text;
    char err[256];

    rec_text = cJSON_PrintUnformatted(rec);
    cJSON_AddItemToArray(events, ev);
    cJSON_AddStringToObject(ev, "EventId", e->id);
    cJSON_AddStringToObject(ev, "EventName", e->name);
    cJSON_AddStringToObject(ev, "ReadOnly", e->read_only ? "true" : "false");
    cJSON_AddNumberToObject(ev, "EventTime", (double)e->time_ms / 1000.0);
    res = cJSON_AddArrayToObject(ev, "Resources");
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "ResourceType", "AWS::EC2::SecurityGroup");
    cJSON_AddStringToObject(r, "ResourceName", e->resource);
    cJSON_AddItemToArray(res, r);
    cJSON_AddStringToObject(ev, "CloudTrailEvent", rec_text);
    text = cJSON_PrintUnformatted(root);
    assert_int_equal(wc_events_parse(wc_str_from_cstr(text), l, err, sizeof(err)), WC_OK);
    cJSON_free(text);
    cJSON_free(rec_text);
    cJSON_Delete(rec);
    cJSON_Delete(root);
}

/* Event e as the events queue delivers it: EventBridge's "AWS API Call via
 * CloudTrail", the security group named in requestParameters. */
static struct wc_str s_stream_body(const struct ev_spec *e, char **keep)
{
    cJSON *root = cJSON_CreateObject(), *rec = s_record(e), *rp;
    char *iso = s_iso(e->time_ms);

    rp = cJSON_AddObjectToObject(rec, "requestParameters");
    cJSON_AddStringToObject(rp, "groupId", e->resource);
    cJSON_AddStringToObject(root, "version", "0");
    cJSON_AddStringToObject(root, "id", e->id);
    cJSON_AddStringToObject(root, "detail-type", "AWS API Call via CloudTrail");
    cJSON_AddStringToObject(root, "source", "aws.ec2");
    cJSON_AddStringToObject(root, "account", ACCOUNT);
    cJSON_AddStringToObject(root, "time", iso);
    cJSON_AddStringToObject(root, "region", e->region ? e->region : "eu-west-1");
    cJSON_AddItemToObject(root, "detail", rec);
    *keep = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(iso);
    return wc_str_from_cstr(*keep);
}

/* A raw-delivery Config change notification in account. */
static char *s_change_in(const char *account, const char *sg, int64_t capture_ms,
                         const char *region)
{
    cJSON *root = cJSON_CreateObject(), *ci, *diff;
    char *iso = s_iso(capture_ms), arn[160], *text;

    snprintf(arn, sizeof(arn), "arn:aws:ec2:%s:%s:security-group/%s", region, account, sg);
    diff = cJSON_AddObjectToObject(root, "configurationItemDiff");
    cJSON_AddStringToObject(diff, "changeType", "UPDATE");
    cJSON_AddObjectToObject(diff, "changedProperties");
    ci = cJSON_AddObjectToObject(root, "configurationItem");
    cJSON_AddArrayToObject(ci, "relatedEvents");
    cJSON_AddStringToObject(ci, "configurationItemCaptureTime", iso);
    cJSON_AddStringToObject(ci, "awsAccountId", account);
    cJSON_AddStringToObject(ci, "configurationItemStatus", "OK");
    cJSON_AddStringToObject(ci, "resourceType", "AWS::EC2::SecurityGroup");
    cJSON_AddStringToObject(ci, "resourceId", sg);
    cJSON_AddStringToObject(ci, "ARN", arn);
    cJSON_AddStringToObject(ci, "awsRegion", region);
    cJSON_AddStringToObject(root, "notificationCreationTime", iso);
    cJSON_AddStringToObject(root, "messageType", "ConfigurationItemChangeNotification");
    cJSON_AddStringToObject(root, "recordVersion", "1.3");
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(iso);
    return text;
}

static char *s_change(const char *sg, int64_t capture_ms, const char *region)
{
    return s_change_in(ACCOUNT, sg, capture_ms, region);
}

/* body in an SNS envelope from topic (body freed). */
static char *s_sns(const char *topic, char *body)
{
    cJSON *root = cJSON_CreateObject();
    char *text;

    cJSON_AddStringToObject(root, "Type", "Notification");
    cJSON_AddStringToObject(root, "MessageId", "sns-1");
    cJSON_AddStringToObject(root, "TopicArn", topic);
    cJSON_AddStringToObject(root, "Message", body);
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(body);
    return text;
}

/* An oversized item's notification in account, its item at location. */
static char *s_oversized(const char *account, const char *location)
{
    char body[1024];

    snprintf(body, sizeof(body),
             "{\"messageType\":\"OversizedConfigurationItemChangeNotification\","
             "\"configurationItemSummary\":{\"changeType\":\"UPDATE\","
             "\"configurationItemCaptureTime\":\"2024-05-01T11:59:00Z\","
             "\"awsAccountId\":\"%s\",\"configurationItemStatus\":\"OK\","
             "\"resourceType\":\"AWS::EC2::SecurityGroup\",\"resourceId\":\"sg-1\","
             "\"awsRegion\":\"eu-west-1\"},"
             "\"s3DeliverySummary\":{\"s3BucketLocation\":\"%s\"},"
             "\"notificationCreationTime\":\"2024-05-01T11:59:00Z\",\"recordVersion\":\"1.0\"}",
             account, location);
    return strdup(body);
}

/* --- notifier fake ------------------------------------------------------------ */

struct sent {
    size_t notifier;
    size_t n;
    char resources[64][40];
    int part, parts;
    char thread_ts[32];
    int64_t at_mono;
};

struct world;

struct fake_notifier {
    struct wc_notifier n;
    struct world *w;
    size_t index;
    size_t fit;              /* 0: no fit (one per message) */
    const int *script;       /* answers in order; the last repeats; NULL: OK */
    size_t n_script, calls;
    int64_t retry_after_ms;
    bool hold;               /* leave sends unanswered (the test answers) */
};

/* --- the world ---------------------------------------------------------------- */

enum fate { F_NONE = 0, F_DELETED, F_RELEASED, F_LEFT };

struct msg_rec {
    char id[32];
    char handle[48];
    enum fate fate;
    int release_s;
    int extends;
    int receives;
};

struct world {
    struct fake_clock clock;
    struct wc_clock wclock;
    struct wc_ledger *ledger;
    struct fake_notifier nts[3];
    struct wc_notifier *ntp[3];
    size_t n_nts;
    struct wc_pipeline *p;
    struct wc_event_list trail;  /* what CloudTrail holds */
    int throttle_next;           /* answer the next N lookups with ThrottlingException */
    int lookup_rc;               /* != WC_OK: every lookup fails so */
    size_t lookups, scans;
    char lookup_regions[64][24]; /* the region of the first lookups, in order */
    size_t n_lookup_regions;
    int fetch_rc;
    const char *fetch_account;   /* set: fetches return an item of this account */
    size_t fetches;              /* FETCH actions carried out */
    bool hold_fetches;           /* leave FETCH actions in held[] (the test answers) */
    bool hold_ledger;            /* leave LEDGER_* actions in held[] (the test answers) */
    size_t checks, thorough_checks, records; /* LEDGER_* actions carried out or held */
    struct msg_rec msgs[MAX_MSGS];
    size_t n_msgs;
    struct sent sent[MAX_SENDS];
    size_t n_sent;
    struct wc_action held[16];   /* sends held for the test to answer */
    size_t n_held;
    size_t decided;
    enum wc_verdict verdicts[MAX_MSGS];
    size_t n_matches[MAX_MSGS];  /* of each decided finding */
    char last_reason[1024];
    struct notif_log log;        /* with world_opts.capture_log */
    struct wc_logger *logger;
    struct wc_metrics *metrics;
};

static struct msg_rec *s_rec_by_handle(struct world *w, const char *h)
{
    for (size_t i = 0; i < w->n_msgs; i++)
        if (!strcmp(w->msgs[i].handle, h))
            return &w->msgs[i];
    return NULL;
}

static int s_fn_render(struct wc_notifier *n, const struct wc_notice *notice, struct wc_buf *out)
{
    (void)n;
    return wc_buf_appendf(out, "%zu findings", notice->n_findings);
}

static int s_fn_send(struct wc_notifier *n, const struct wc_notice *notice,
                     struct wc_send_result *res)
{
    struct fake_notifier *f = n->impl;
    struct world *w = f->w;
    int rc = WC_OK;

    if (f->script) {
        rc = f->script[f->calls < f->n_script ? f->calls : f->n_script - 1];
        f->calls++;
    }
    if (rc == WC_ERR_THROTTLED)
        res->retry_after_ms = f->retry_after_ms;
    if (rc == WC_OK && w->n_sent < MAX_SENDS) {
        struct sent *s = &w->sent[w->n_sent++];

        s->notifier = f->index;
        s->n = notice->n_findings;
        for (size_t i = 0; i < notice->n_findings && i < 64; i++)
            snprintf(s->resources[i], sizeof(s->resources[i]), "%s",
                     notice->findings[i]->change.resource_id);
        s->part = notice->part;
        s->parts = notice->parts;
        snprintf(s->thread_ts, sizeof(s->thread_ts), "%s",
                 notice->thread_ts ? notice->thread_ts : "");
        s->at_mono = s_mono(&w->clock);
        snprintf(res->thread_ts, sizeof(res->thread_ts), "ts-%zu", w->n_sent);
    }
    return rc;
}

static size_t s_fn_fit(struct wc_notifier *n, const struct wc_notice *notice)
{
    struct fake_notifier *f = n->impl;

    return f->fit < notice->n_findings ? f->fit : notice->n_findings;
}

static const struct wc_notifier_vtable s_fake_vt = {
    .name = "fake", .render = s_fn_render, .send = s_fn_send};
static const struct wc_notifier_vtable s_fake_digest_vt = {
    .name = "fake-digest", .render = s_fn_render, .send = s_fn_send, .fit = s_fn_fit};

struct notifier_spec {
    unsigned verdicts;
    size_t fit;         /* 0: no digests */
    int64_t interval_ms;
    const int *script;
    size_t n_script;
    int64_t retry_after_ms;
    bool hold;
};

struct world_opts {
    int64_t digest_ms;
    int lease_s;
    size_t max_in_hand;
    bool no_scan;
    bool dry_run;
    int retry_for_s;
    struct notifier_spec nts[3];
    size_t n_nts;
    /* the policy's allowlists (one entry each; NULL: empty, anything goes) */
    const char *allowed_account;
    const char *allowed_topic;
    const char *allowed_bucket;
    int periodic_window_h;   /* 0: the default (24) */
    bool capture_log;        /* the pipeline's log lines into w->log */
    int64_t stream_grace_ms; /* > 0: the event stream on, with this grace */
};

static void s_push_if(struct wc_strlist *l, const char *v)
{
    if (v)
        assert_int_equal(wc_strlist_push(l, v), WC_OK);
}

static void s_decided(void *ctx, const char *message_id, const struct wc_finding *f)
{
    struct world *w = ctx;

    (void)message_id;
    if (w->decided < MAX_MSGS) {
        w->n_matches[w->decided] = f->n_matches;
        w->verdicts[w->decided++] = f->verdict;
    }
    snprintf(w->last_reason, sizeof(w->last_reason), "%s", f->reason ? f->reason : "");
}

static struct world *s_world(const struct world_opts *wo)
{
    struct world *w = calloc(1, sizeof(*w));
    struct wc_pipeline_options o = {0};
    struct wc_pipeline_ports ports = {0};
    struct wc_policy policy;

    assert_non_null(w);
    w->clock.now = T0;
    w->wclock = (struct wc_clock){s_now, s_mono, &w->clock};
    w->ledger = wc_ledger_memory_new(0);
    w->n_nts = wo->n_nts;
    for (size_t i = 0; i < wo->n_nts; i++) {
        struct fake_notifier *f = &w->nts[i];
        char id[32];

        snprintf(id, sizeof(id), "fake#%zu", i);
        f->n.vtable = wo->nts[i].fit ? &s_fake_digest_vt : &s_fake_vt;
        f->n.impl = f;
        f->n.id = strdup(id);
        f->n.verdict_mask = wo->nts[i].verdicts;
        f->n.min_interval_ms = wo->nts[i].interval_ms;
        f->w = w;
        f->index = i;
        f->fit = wo->nts[i].fit;
        f->script = wo->nts[i].script;
        f->n_script = wo->nts[i].n_script;
        f->retry_after_ms = wo->nts[i].retry_after_ms;
        f->hold = wo->nts[i].hold;
        w->ntp[i] = &f->n;
    }
    o.schedule = (struct wc_schedule){30, wo->retry_for_s ? wo->retry_for_s : 900, 300};
    o.lease_s = wo->lease_s ? wo->lease_s : 30;
    o.max_in_hand = wo->max_in_hand ? wo->max_in_hand : 64;
    o.digest_ms = wo->digest_ms;
    o.sched.no_scan = wo->no_scan;
    o.dry_run = wo->dry_run;
    o.stream = wo->stream_grace_ms > 0;
    o.stream_grace_ms = wo->stream_grace_ms;
    ports.clock = &w->wclock;
    ports.ledger = w->ledger;
    ports.notifiers = w->ntp;
    ports.n_notifiers = w->n_nts;
    ports.on_decided = s_decided;
    ports.ctx = w;
    assert_non_null(w->metrics = wc_metrics_new());
    ports.metrics = w->metrics;
    if (wo->capture_log) {
        w->logger = notif_log_new(&w->log, WC_LOG_INFO);
        ports.logger = w->logger;
    }
    assert_int_equal(wc_policy_init_defaults(&policy), WC_OK);
    if (wo->periodic_window_h)
        policy.periodic_window_h = wo->periodic_window_h;
    assert_int_equal(wc_strlist_push(&policy.trusted, "arn:aws:iam::*:role/terraform"), WC_OK);
    s_push_if(&policy.allowed_accounts, wo->allowed_account);
    s_push_if(&policy.allowed_topics, wo->allowed_topic);
    s_push_if(&policy.allowed_buckets, wo->allowed_bucket);
    w->p = wc_pipeline_new(&o, &ports, &policy);
    wc_policy_clean_up(&policy);
    assert_non_null(w->p);
    return w;
}

static void s_world_free(struct world *w)
{
    wc_pipeline_destroy(w->p);
    wc_logger_destroy(w->logger);
    wc_metrics_destroy(w->metrics);
    wc_ledger_destroy(w->ledger);
    for (size_t i = 0; i < w->n_nts; i++)
        free(w->nts[i].n.id);
    wc_event_list_clean_up(&w->trail);
    free(w);
}

/* The whole line `line` is in the rendering of w's metrics. */
static bool s_metrics_line(struct world *w, const char *line)
{
    struct wc_buf b = WC_BUF_INIT;
    size_t n = strlen(line);
    bool found = false;

    assert_int_equal(wc_metrics_render(w->metrics, &b), WC_OK);
    for (const char *p = b.ptr; !found && (p = strstr(p, line)); p++)
        found = (p == b.ptr || p[-1] == '\n') && p[n] == '\n';
    wc_buf_clean_up(&b);
    return found;
}

/* Receive one message (body taken over). */
static struct msg_rec *s_receive(struct world *w, char *body, int receive_count)
{
    struct wc_queue_message m = {0};
    struct msg_rec *r = &w->msgs[w->n_msgs++];

    snprintf(r->id, sizeof(r->id), "msg-%zu", w->n_msgs);
    snprintf(r->handle, sizeof(r->handle), "rh-%zu-%d", w->n_msgs, receive_count);
    r->receives = 1;
    m.message_id = strdup(r->id);
    m.receipt_handle = strdup(r->handle);
    m.body = body;
    m.body_len = strlen(body);
    m.receive_count = receive_count;
    wc_pipeline_receive(w->p, &m);
    return r;
}

/* The common case: alice's human change to sg-1, its event in CloudTrail,
 * received once. */
static struct msg_rec *s_alice_sg1(struct world *w)
{
    s_add_event(&w->trail, &(struct ev_spec){.id = "ev-1", .name = "AuthorizeSecurityGroupIngress",
                                             .time_ms = T0 - 62000, .resource = "sg-1",
                                             .who = "alice"});
    return s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
}

/* LookupEvents over w->trail: attribute and window, newest first, pages of 50. */
static int s_lookup(struct world *w, const struct wc_action *a, struct wc_event_list *page)
{
    size_t skip = a->token ? (size_t)atoi(a->token) : 0, seen = 0;

    if (w->n_lookup_regions < 64)
        snprintf(w->lookup_regions[w->n_lookup_regions++], 24, "%s", a->query.region);
    w->lookups++;
    if (!strcmp(a->query.attribute_key, WC_TRAIL_SCAN_KEY))
        w->scans++;
    if (w->throttle_next > 0) {
        w->throttle_next--;
        return WC_ERR_THROTTLED;
    }
    if (w->lookup_rc != WC_OK)
        return w->lookup_rc;
    for (size_t i = w->trail.len; i-- > 0;) {
        struct wc_event copy;

        if (!wc_trail_query_matches(&a->query, &w->trail.items[i]))
            continue;
        if (seen++ < skip)
            continue;
        if (page->len == 50) {
            char tok[16];

            snprintf(tok, sizeof(tok), "%zu", skip + 50);
            page->next_token = strdup(tok);
            break;
        }
        assert_int_equal(wc_event_copy(&copy, &w->trail.items[i]), WC_OK);
        struct wc_event *items = realloc(page->items, (page->len + 1) * sizeof(*items));
        assert_non_null(items);
        page->items = items;
        page->items[page->len++] = copy;
    }
    return WC_OK;
}

/* Carry out a LEDGER_* action (one held, or at once). */
static void s_ledger_answer(struct world *w, const struct wc_action *a)
{
    if (a->kind == WC_ACTION_LEDGER_CHECK)
        wc_pipeline_check_done(w->p, a->id,
                               (a->thorough ? wc_ledger_accepted_thorough
                                            : wc_ledger_accepted)(a->ledger, a->notifier->id,
                                                                  a->subject));
    else
        wc_pipeline_record_done(w->p, a->id, wc_ledger_record(a->ledger, a->notifier->id,
                                                              a->subject));
}

/* Carry out one action at once; false when none is due. */
static bool s_step(struct world *w)
{
    struct wc_action a;

    if (!wc_pipeline_next(w->p, &a))
        return false;
    switch (a.kind) {
    case WC_ACTION_FETCH:
        w->fetches++;
        if (w->hold_fetches) {
            assert_true(w->n_held < 16);
            w->held[w->n_held++] = a;
            break;
        }
        if (w->fetch_account) { /* the item as S3 holds it */
            struct wc_notification *full = NULL;
            char *item = s_change_in(w->fetch_account, a.object->s3_key, T0 - 60000,
                                     "eu-west-1"), err[256];

            assert_int_equal(wc_notification_parse_oversized_object(wc_str_from_cstr(item),
                                                                    &full, err, sizeof(err)),
                             WC_OK);
            free(item);
            wc_pipeline_fetch_done(w->p, a.id, WC_OK, full, NULL);
            break;
        }
        wc_pipeline_fetch_done(w->p, a.id, w->fetch_rc ? w->fetch_rc : WC_ERR_NOT_FOUND, NULL,
                               "no such key");
        break;
    case WC_ACTION_LOOKUP: {
        struct wc_event_list page = WC_EVENT_LIST_INIT;
        int rc = s_lookup(w, &a, &page);

        wc_pipeline_lookup_done(w->p, a.id, rc, &page);
        wc_event_list_clean_up(&page);
        break;
    }
    case WC_ACTION_SEND: {
        struct fake_notifier *f = a.notifier->impl;
        struct wc_send_result res = {0};
        int rc;

        if (f->hold) {
            assert_true(w->n_held < 16);
            w->held[w->n_held++] = a;
            break;
        }
        rc = wc_notifier_send(a.notifier, &a.notice, &res);
        wc_pipeline_send_done(w->p, a.id, rc, &res);
        break;
    }
    case WC_ACTION_DELETE:
    case WC_ACTION_VISIBILITY: {
        int results[WC_QUEUE_MAX_BATCH];
        struct msg_rec *recs[WC_QUEUE_MAX_BATCH];
        size_t before = wc_pipeline_in_hand(w->p);

        /* the handles are the pipeline's until the answer is handed back */
        for (size_t i = 0; i < a.n_handles; i++) {
            recs[i] = s_rec_by_handle(w, a.handles[i]);
            assert_non_null(recs[i]);
            results[i] = WC_OK;
        }
        wc_pipeline_queue_done(w->p, a.id, WC_OK, results);
        for (size_t i = 0; i < a.n_handles; i++) {
            struct msg_rec *r = recs[i];

            if (a.kind == WC_ACTION_DELETE) {
                assert_int_equal(r->fate, F_NONE);
                r->fate = F_DELETED;
            } else if (wc_pipeline_in_hand(w->p) < before) {
                /* a release ends the message's life in our hands */
                assert_int_equal(r->fate, F_NONE);
                r->fate = F_RELEASED;
                r->release_s = a.visibility_s;
            } else {
                r->extends++; /* a heartbeat keeps it */
            }
        }
        break;
    }
    case WC_ACTION_LEDGER_CHECK:
    case WC_ACTION_LEDGER_RECORD:
        /* the pair and the ledger are the pipeline's */
        assert_ptr_equal(a.ledger, w->ledger);
        assert_non_null(a.subject);
        if (a.kind == WC_ACTION_LEDGER_CHECK) {
            w->checks++;
            w->thorough_checks += a.thorough;
        } else {
            w->records++;
        }
        if (w->hold_ledger) {
            assert_true(w->n_held < 16);
            w->held[w->n_held++] = a;
            break;
        }
        s_ledger_answer(w, &a);
        break;
    }
    return true;
}

/* Run until nothing is in hand, moving the clock to each wake-up; bounded. */
static void s_run(struct world *w, int64_t max_ms)
{
    int64_t end = w->clock.now + max_ms;

    for (int guard = 0; guard < 100000; guard++) {
        int64_t wake;

        while (s_step(w))
            ;
        if (wc_pipeline_in_hand(w->p) == 0 && wc_pipeline_outstanding(w->p) == 0)
            return;
        wake = wc_pipeline_wake_ms(w->p);
        if (wake == INT64_MAX || w->n_held > 0)
            return;
        wake = wake - s_mono(&w->clock);
        if (wake < 1)
            wake = 1;
        if (w->clock.now + wake > end)
            return;
        w->clock.now += wake;
    }
    fail_msg("s_run did not settle");
}

static size_t s_posts_naming(const struct world *w, size_t notifier, const char *sg)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n_sent; i++)
        for (size_t k = 0; k < w->sent[i].n && k < 64; k++)
            if (w->sent[i].notifier == notifier && !strcmp(w->sent[i].resources[k], sg))
                n++;
    return n;
}

#define HUMAN_ONLY WC_VERDICT_BIT(WC_VERDICT_HUMAN)

/* --- the outcome table ------------------------------------------------------- */

struct outcome_case {
    const char *name;
    const char *who;         /* the event's actor; NULL: no event */
    int64_t capture_age_ms;  /* now - capture */
    int receive_count;
    int notifier_rc;         /* the notifier's answer (WC_OK default) */
    bool already_accepted;   /* the ledger says it was posted before */
    unsigned verdicts;       /* the notifier wants these (0: human) */
    enum fate fate;
    int release_s;
    size_t posts;
    enum wc_verdict verdict; /* 0: not decided */
    const char *account;     /* the change's account (NULL: ACCOUNT) */
    const char *allowed;     /* accounts.allowed (NULL: empty, any account) */
};

static const struct outcome_case s_cases[] = {
    {"human: posted, deleted", "alice", 60000, 1, WC_OK, false, 0, F_DELETED, 0, 1,
     WC_VERDICT_HUMAN, NULL, NULL},
    {"automation: deleted, not posted", "tf", 60000, 1, WC_OK, false, 0, F_DELETED, 0, 0,
     WC_VERDICT_AUTOMATION, NULL, NULL},
    {"aws service: deleted, not posted", "asg", 60000, 1, WC_OK, false, 0, F_DELETED, 0, 0,
     WC_VERDICT_AWS_SERVICE, NULL, NULL},
    {"no event yet: released 30 s", NULL, 60000, 1, WC_OK, false, 0, F_RELEASED, 30, 0, 0,
     NULL, NULL},
    {"no event, third receive: released 120 s", NULL, 200000, 3, WC_OK, false, 0, F_RELEASED,
     120, 0, 0, NULL, NULL},
    {"no event past the deadline: unattributed, delivered", NULL, 1000000, 7, WC_OK, false,
     WC_VERDICT_BIT(WC_VERDICT_UNATTRIBUTED), F_DELETED, 0, 1, WC_VERDICT_UNATTRIBUTED, NULL,
     NULL},
    {"already accepted: not posted again, deleted", "alice", 60000, 2, WC_OK, true, 0,
     F_DELETED, 0, 0, WC_VERDICT_HUMAN, NULL, NULL},
    {"notifier 5xx: released 30 s", "alice", 60000, 1, WC_ERR_SERVICE, false, 0, F_RELEASED, 30,
     0, WC_VERDICT_HUMAN, NULL, NULL},
    {"notifier refuses: left for redrive", "alice", 60000, 1, WC_ERR_INVALID, false, 0, F_LEFT,
     0, 0, WC_VERDICT_HUMAN, NULL, NULL},
    {"account in accounts.allowed: posted, deleted", "alice", 60000, 1, WC_OK, false, 0,
     F_DELETED, 0, 1, WC_VERDICT_HUMAN, ACCOUNT, ACCOUNT},
    /* review finding 2: a forged message cannot choose the account looked up */
    {"account not in accounts.allowed: left for redrive, never looked up", "alice", 60000, 1,
     WC_OK, false, 0, F_LEFT, 0, 0, 0, "999999999999", ACCOUNT},
};

static void test_outcomes(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(s_cases) / sizeof(s_cases[0]); c++) {
        const struct outcome_case *k = &s_cases[c];
        int script[1] = {k->notifier_rc};
        struct world_opts wo = {.n_nts = 1};
        struct world *w;
        struct msg_rec *r;
        int64_t capture = T0 - k->capture_age_ms;

        wo.nts[0] = (struct notifier_spec){.verdicts = k->verdicts ? k->verdicts : HUMAN_ONLY,
                                           .script = script, .n_script = 1};
        wo.allowed_account = k->allowed;
        w = s_world(&wo);
        if (k->who)
            s_add_event(&w->trail, &(struct ev_spec){.id = "ev-1", .name = "AuthorizeSecurityGroupIngress", .time_ms = capture - 2000, .resource = "sg-1", .who = k->who});
        if (k->already_accepted)
            assert_int_equal(wc_ledger_record(w->ledger, "fake#0", "ev-1/sg-1"), WC_OK);
        r = s_receive(w, s_change_in(k->account ? k->account : ACCOUNT, "sg-1", capture,
                                     "eu-west-1"), k->receive_count);
        s_run(w, 10000);
        if (r->fate == F_NONE && wc_pipeline_in_hand(w->p) == 0)
            r->fate = F_LEFT;
        printf("# %s\n", k->name);
        assert_int_equal(r->fate, k->fate);
        /* decided (or retried) messages were looked up; refused ones never */
        if (k->verdict || k->fate == F_RELEASED)
            assert_true(w->lookups > 0);
        else
            assert_int_equal(w->lookups, 0);
        if (k->fate == F_RELEASED)
            assert_int_equal(r->release_s, k->release_s);
        assert_int_equal(w->n_sent, k->posts);
        assert_int_equal(w->decided, k->verdict ? 1 : 0);
        if (k->verdict)
            assert_int_equal(w->verdicts[0], k->verdict);
        if (k->posts) {
            assert_true(wc_ledger_accepted(w->ledger, "fake#0", k->who ? "ev-1/sg-1" :
                                           "ci/" ACCOUNT "/sg-1@1714564800000") ||
                        !k->who);
        }
        assert_int_equal(wc_pipeline_in_hand(w->p), 0);
        s_world_free(w);
    }
}

static void test_malformed_left_for_redrive(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;
    struct wc_pipeline_stats st;

    (void)state;
    r = s_receive(w, strdup("{\"Type\":\"Notification\",\"Message\":\"{not json"), 1);
    s_run(w, 1000);
    assert_int_equal(r->fate, F_NONE); /* no delete, no release: the lease runs out */
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    assert_int_equal(w->n_sent, 0);
    wc_pipeline_get_stats(w->p, &st);
    assert_int_equal(st.left, 1);
    assert_int_equal(st.errors, 1);
    s_world_free(w);
}

/* An SNS SubscriptionConfirmation (what a cross-account subscription first
 * delivers): warned about with its SubscribeURL and topic, left on the
 * queue (never deleted, nothing fetched or looked up), counted; from a
 * topic the allowlist refuses, refused like any other message. */
static void test_subscription_confirmation_left(void **state)
{
    static const char *const files[] = {"config/sns-subscription-confirmation.json",
                                        "config/sns-unsubscribe-confirmation.json"};
    struct wc_pipeline_stats st;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}},
                                .capture_log = true};
        struct world *w = s_world(&wo);
        struct wc_buf body = WC_BUF_INIT;
        struct msg_rec *r;

        wc_test_read_data(files[i], &body);
        r = s_receive(w, wc_buf_steal(&body), 2);
        s_run(w, 60000);
        assert_int_equal(r->fate, F_NONE); /* no delete, no release: the lease runs out */
        assert_int_equal(wc_pipeline_in_hand(w->p), 0);
        assert_int_equal(w->lookups + w->fetches + w->n_sent + w->decided, 0);
        wc_pipeline_get_stats(w->p, &st);
        assert_int_equal(st.subscriptions, 1);
        assert_int_equal(st.left, 1);
        assert_int_equal(st.deleted, 0);
        assert_true(s_metrics_line(w, "whochanged_subscription_confirmations_total"
                                      "{queue=\"changes\"} 1"));
        assert_true(s_metrics_line(w, "whochanged_subscription_confirmations_total"
                                      "{queue=\"events\"} 0"));
        assert_true(s_metrics_line(w, "whochanged_messages_total{verdict=\"invalid\"} 0"));
        assert_true(notif_log_contains(&w->log, " warn "));
        assert_true(notif_log_contains(&w->log, i == 0 ? "SNS SubscriptionConfirmation"
                                                       : "SNS UnsubscribeConfirmation"));
        assert_true(notif_log_contains(&w->log, "topic arn:aws:sns:eu-west-1:" ACCOUNT
                                                ":config-topic"));
        assert_true(notif_log_contains(&w->log, "SubscribeURL: https://sns.eu-west-1."
                                                "amazonaws.com/?Action=ConfirmSubscription&"
                                                "TopicArn=arn:aws:sns:eu-west-1:" ACCOUNT
                                                ":config-topic&Token=2336412f37EXAMPLE"));
        assert_true(notif_log_contains(&w->log, "(receive 2)"));
        s_world_free(w);
    }
    {
        struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}},
                                .capture_log = true,
                                .allowed_topic = "arn:aws:sns:*:" ACCOUNT ":other"};
        struct world *w = s_world(&wo);
        struct wc_buf body = WC_BUF_INIT;
        struct msg_rec *r;

        wc_test_read_data(files[0], &body);
        r = s_receive(w, wc_buf_steal(&body), 1);
        s_run(w, 1000);
        assert_int_equal(r->fate, F_NONE);
        wc_pipeline_get_stats(w->p, &st);
        assert_int_equal(st.subscriptions, 0);
        assert_true(s_metrics_line(w, "whochanged_subscription_confirmations_total"
                                      "{queue=\"changes\"} 0"));
        assert_false(notif_log_contains(&w->log, "SubscribeURL"));
        assert_true(notif_log_contains(&w->log, "refused"));
        s_world_free(w);
    }
}

/* A change recorded daily (recordingFrequency DAILY) happened at some time
 * in the configured period before its capture: every human who wrote to
 * the resource in [capture - periodic_window_hours - skew, capture + skew]
 * is reported, not only the nearest; one outside is not; no scan reads the
 * account-region's whole day. */
static void test_periodic_window_from_policy(void **state)
{
    static const int hours[] = {0, 30};
    const int64_t h = 3600 * 1000LL;

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}},
                                .periodic_window_h = hours[k]};
        struct world *w = s_world(&wo);
        char *plain = s_change("sg-1", T0, "eu-west-1"), *body;
        cJSON *root = cJSON_Parse(plain);
        struct msg_rec *r;

        cJSON_AddStringToObject(cJSON_GetObjectItem(root, "configurationItem"),
                                "recordingFrequency", "DAILY");
        body = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        free(plain);
        s_add_event(&w->trail, &(struct ev_spec){.id = "ev-tf", .name = "ModifySecurityGroupRules",
                                                 .time_ms = T0 - 10 * h, .resource = "sg-1",
                                                 .who = "tf"});
        s_add_event(&w->trail, &(struct ev_spec){.id = "ev-alice",
                                                 .name = "AuthorizeSecurityGroupIngress",
                                                 .time_ms = T0 - 20 * h, .resource = "sg-1",
                                                 .who = "alice"});
        s_add_event(&w->trail, &(struct ev_spec){.id = "ev-bob",
                                                 .name = "AuthorizeSecurityGroupIngress",
                                                 .time_ms = T0 - 28 * h, .resource = "sg-1",
                                                 .who = "bob"});
        s_add_event(&w->trail, &(struct ev_spec){.id = "ev-carol",
                                                 .name = "RevokeSecurityGroupIngress",
                                                 .time_ms = T0 - 31 * h, .resource = "sg-1",
                                                 .who = "carol"});
        r = s_receive(w, body, 1);
        s_run(w, 60000);
        assert_int_equal(r->fate, F_DELETED);
        assert_int_equal(w->decided, 1);
        assert_int_equal(w->verdicts[0], WC_VERDICT_HUMAN);
        assert_int_equal(w->scans, 0);
        /* 24 h: alice only; 30 h: alice and bob; carol never */
        assert_int_equal(w->n_matches[0], k == 0 ? 1 : 2);
        assert_non_null(strstr(w->last_reason, "alice"));
        assert_true((strstr(w->last_reason, "bob") != NULL) == (k == 1));
        assert_null(strstr(w->last_reason, "carol"));
        assert_non_null(strstr(w->last_reason, "periodic recording (DAILY)"));
        assert_non_null(strstr(w->last_reason, k == 0 ? "between 2024-04-30T12:00:00Z"
                                                      : "between 2024-04-30T06:00:00Z"));
        s_world_free(w);
    }
}

static void test_not_a_change_deleted(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;

    (void)state;
    r = s_receive(w, strdup("{\"messageType\":\"ConfigurationSnapshotDeliveryCompleted\","
                            "\"s3Bucket\":\"b\",\"recordVersion\":\"1.1\"}"), 1);
    s_run(w, 1000);
    assert_int_equal(r->fate, F_DELETED);
    assert_int_equal(w->lookups, 0);
    s_world_free(w);
}

static void test_ledger_records_before_delete(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY, .hold = true}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;
    struct wc_send_result res = {0};

    (void)state;
    r = s_alice_sg1(w);
    s_run(w, 1000);
    /* the send is under way: nothing recorded, nothing deleted */
    assert_int_equal(w->n_held, 1);
    assert_int_equal(w->checks, 1);
    assert_false(wc_ledger_accepted(w->ledger, "fake#0", "ev-1/sg-1"));
    assert_int_equal(r->fate, F_NONE);
    wc_pipeline_send_done(w->p, w->held[0].id, WC_OK, &res);
    w->n_held = 0;
    /* accepted: the ledger records it (an action of its own), and only then
     * may the message go */
    w->hold_ledger = true;
    while (s_step(w))
        ;
    assert_int_equal(w->n_held, 1);
    assert_int_equal(w->held[0].kind, WC_ACTION_LEDGER_RECORD);
    assert_string_equal(w->held[0].subject, "ev-1/sg-1");
    assert_string_equal(w->held[0].notifier->id, "fake#0");
    assert_int_equal(r->fate, F_NONE);
    assert_int_equal(wc_pipeline_in_hand(w->p), 1);
    s_ledger_answer(w, &w->held[0]);
    w->n_held = 0;
    assert_true(wc_ledger_accepted(w->ledger, "fake#0", "ev-1/sg-1"));
    s_run(w, 1000);
    assert_int_equal(r->fate, F_DELETED);
    s_world_free(w);
}

static void test_lease_heartbeat_while_send_hangs(void **state)
{
    struct world_opts wo = {.n_nts = 1, .lease_s = 30, .nts = {{.verdicts = HUMAN_ONLY, .hold = true}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;
    struct wc_send_result res = {0};

    (void)state;
    r = s_alice_sg1(w);
    s_run(w, 1000);
    assert_int_equal(w->n_held, 1);
    /* 19 s on: two thirds of the lease left, no heartbeat yet */
    w->clock.now += 19000;
    while (s_step(w))
        ;
    assert_int_equal(r->extends, 0);
    /* 21 s on: within the last third: extended, to the lease again */
    w->clock.now += 2000;
    while (s_step(w))
        ;
    assert_int_equal(r->extends, 1);
    assert_int_equal(r->fate, F_NONE);
    /* and again before that one ends */
    w->clock.now += 21000;
    while (s_step(w))
        ;
    assert_int_equal(r->extends, 2);
    wc_pipeline_send_done(w->p, w->held[0].id, WC_OK, &res);
    w->n_held = 0;
    s_run(w, 1000);
    assert_int_equal(r->fate, F_DELETED);
    s_world_free(w);
}

static void test_throttled_send_waits_retry_after(void **state)
{
    static const int script[] = {WC_ERR_THROTTLED, WC_OK};
    struct world_opts wo = {.n_nts = 1,
                            .nts = {{.verdicts = HUMAN_ONLY, .script = script, .n_script = 2,
                                     .retry_after_ms = 4000}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;
    int64_t start = s_mono(&w->clock);

    (void)state;
    r = s_alice_sg1(w);
    s_run(w, 20000);
    assert_int_equal(r->fate, F_DELETED);
    assert_int_equal(w->n_sent, 1);
    assert_true(w->sent[0].at_mono - start >= 4000);
    s_world_free(w);
}

static void test_lookup_error_released_30(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;

    (void)state;
    w->lookup_rc = WC_ERR_SERVICE;
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 5000);
    assert_int_equal(r->fate, F_RELEASED);
    assert_int_equal(r->release_s, WC_PIPELINE_FAILURE_RETRY_S);
    s_world_free(w);
}

static void test_throttled_lookup_retried_not_failed(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;

    (void)state;
    w->throttle_next = 2;
    r = s_alice_sg1(w);
    s_run(w, 60000);
    assert_int_equal(r->fate, F_DELETED);
    assert_int_equal(w->n_sent, 1);
    assert_int_equal(w->lookups, 3);
    s_world_free(w);
}

static void test_oversized_fetch(void **state)
{
    static const char *body =
        "{\"messageType\":\"OversizedConfigurationItemChangeNotification\","
        "\"configurationItemSummary\":{\"changeType\":\"UPDATE\",\"configurationItemVersion\":"
        "\"1.3\",\"configurationItemCaptureTime\":\"2024-05-01T11:59:00Z\",\"configurationStateId\":1,"
        "\"awsAccountId\":\"123456789012\",\"configurationItemStatus\":\"OK\",\"resourceType\":"
        "\"AWS::EC2::SecurityGroup\",\"resourceId\":\"sg-1\",\"awsRegion\":\"eu-west-1\"},"
        "\"s3DeliverySummary\":{\"s3BucketLocation\":\"bucket/key.json.gz\"},"
        "\"notificationCreationTime\":\"2024-05-01T11:59:00Z\",\"recordVersion\":\"1.0\"}";
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w;
    struct msg_rec *r;

    (void)state;
    /* a fetch that failed for now: later */
    w = s_world(&wo);
    r = s_receive(w, strdup(body), 1);
    s_run(w, 1000);
    assert_int_equal(r->fate, F_RELEASED);
    assert_int_equal(r->release_s, WC_PIPELINE_FAILURE_RETRY_S);
    s_world_free(w);
    /* a broken object: the dead-letter queue */
    w = s_world(&wo);
    w->fetch_rc = WC_ERR_INVALID;
    r = s_receive(w, strdup(body), 1);
    s_run(w, 1000);
    assert_int_equal(r->fate, F_NONE);
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    s_world_free(w);
}

/* --- where messages may come from (review finding 2) ------------------------ */

#define TOPIC "arn:aws:sns:eu-west-1:" ACCOUNT ":config-topic"

static void test_refused_topic_left_never_looked_up(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}},
                            .allowed_topic = TOPIC};
    struct world *w = s_world(&wo);
    struct msg_rec *good, *forged, *raw;
    struct wc_pipeline_stats st;

    (void)state;
    s_add_event(&w->trail, &(struct ev_spec){.id = "ev-1", .name = "AuthorizeSecurityGroupIngress",
                                             .time_ms = T0 - 62000, .resource = "sg-1",
                                             .who = "alice"});
    good = s_receive(w, s_sns(TOPIC, s_change("sg-1", T0 - 60000, "eu-west-1")), 1);
    s_run(w, 10000);
    assert_int_equal(good->fate, F_DELETED);
    assert_int_equal(w->n_sent, 1);
    w->lookups = 0;
    /* the same change through another topic, or with no envelope at all */
    forged = s_receive(w, s_sns("arn:aws:sns:eu-west-1:666666666666:config-topic",
                                s_change("sg-1", T0 - 60000, "eu-west-1")), 1);
    raw = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 10000);
    assert_int_equal(forged->fate, F_NONE); /* no delete, no release: the DLQ */
    assert_int_equal(raw->fate, F_NONE);
    assert_int_equal(w->lookups, 0);
    assert_int_equal(w->n_sent, 1);
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    wc_pipeline_get_stats(w->p, &st);
    assert_int_equal(st.left, 2);
    assert_int_equal(st.errors, 2);
    s_world_free(w);
}

static void test_refused_bucket_never_fetched(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}},
                            .allowed_bucket = "config-bucket/AWSLogs/*"};
    struct world *w = s_world(&wo);
    struct msg_rec *r;

    (void)state;
    w->fetch_account = ACCOUNT;
    r = s_receive(w, s_oversized(ACCOUNT, "attacker-bucket/AWSLogs/x.json.gz"), 1);
    s_run(w, 10000);
    assert_int_equal(r->fate, F_NONE);
    assert_int_equal(w->fetches, 0);
    assert_int_equal(w->lookups, 0);
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    /* the allowed bucket is fetched and the change looked up */
    r = s_receive(w, s_oversized(ACCOUNT, "config-bucket/AWSLogs/sg-1"), 1);
    s_run(w, 10000);
    assert_int_equal(w->fetches, 1);
    assert_true(w->lookups > 0);
    assert_int_equal(r->fate, F_RELEASED); /* no event: later */
    s_world_free(w);
}

/* The summary names an allowed account; the item fetched names another. */
static void test_fetched_item_account_checked(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}},
                            .allowed_account = ACCOUNT};
    struct world *w = s_world(&wo);
    struct msg_rec *r;

    (void)state;
    w->fetch_account = "999999999999";
    r = s_receive(w, s_oversized(ACCOUNT, "config-bucket/sg-1"), 1);
    s_run(w, 10000);
    assert_int_equal(w->fetches, 1);
    assert_int_equal(r->fate, F_NONE);
    assert_int_equal(w->lookups, 0);
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    /* a summary from a refused account is not even fetched */
    r = s_receive(w, s_oversized("999999999999", "config-bucket/sg-2"), 1);
    s_run(w, 10000);
    assert_int_equal(w->fetches, 1);
    assert_int_equal(r->fate, F_NONE);
    s_world_free(w);
}

/* SIGHUP: the allowlists come with the policy. */
static void test_allowlist_reloaded(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}}};
    struct world *w = s_world(&wo);
    struct wc_policy policy;
    struct msg_rec *r;

    (void)state;
    r = s_receive(w, s_change_in("999999999999", "sg-1", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 10000);
    assert_int_equal(r->fate, F_RELEASED); /* anything goes: looked up, no event yet */
    assert_true(w->lookups > 0);
    assert_int_equal(wc_policy_init_defaults(&policy), WC_OK);
    assert_int_equal(wc_strlist_push(&policy.allowed_accounts, ACCOUNT), WC_OK);
    assert_int_equal(wc_pipeline_set_policy(w->p, &policy), WC_OK);
    wc_policy_clean_up(&policy);
    w->lookups = 0;
    r = s_receive(w, s_change_in("999999999999", "sg-2", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 10000);
    assert_int_equal(r->fate, F_NONE);
    assert_int_equal(w->lookups, 0);
    s_world_free(w);
}

/* Review finding 4: oversized items are parsed whole, so only
 * WC_PIPELINE_MAX_FETCHES are handed out at once; the rest wait. */
static void test_fetches_bounded(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = WC_VERDICT_MASK_ALL}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r[6];

    (void)state;
    w->hold_fetches = true;
    for (int i = 0; i < 6; i++) {
        char loc[32];

        snprintf(loc, sizeof(loc), "config-bucket/sg-%d", i);
        r[i] = s_receive(w, s_oversized(ACCOUNT, loc), 1);
    }
    while (s_step(w))
        ;
    assert_int_equal(w->n_held, WC_PIPELINE_MAX_FETCHES);
    assert_int_equal(wc_pipeline_outstanding(w->p), WC_PIPELINE_MAX_FETCHES);
    /* one comes back (and its message is released): one more goes, in order */
    wc_pipeline_fetch_done(w->p, w->held[0].id, WC_ERR_NOT_FOUND, NULL, "no such key");
    while (s_step(w))
        ;
    assert_int_equal(r[0]->fate, F_RELEASED);
    assert_int_equal(w->n_held, WC_PIPELINE_MAX_FETCHES + 1);
    assert_string_equal(w->held[w->n_held - 1].object->s3_key, "sg-2");
    assert_int_equal(wc_pipeline_outstanding(w->p), WC_PIPELINE_MAX_FETCHES);
    /* SIGTERM: the three never handed out are released at once */
    wc_pipeline_shutdown(w->p);
    while (s_step(w))
        ;
    for (int i = 3; i < 6; i++) {
        assert_int_equal(r[i]->fate, F_RELEASED);
        assert_int_equal(r[i]->release_s, 0);
    }
    assert_int_equal(w->n_held, WC_PIPELINE_MAX_FETCHES + 1);
    /* those under way still report back */
    assert_int_equal(r[1]->fate, F_NONE);
    for (size_t i = 1; i < w->n_held; i++)
        wc_pipeline_fetch_done(w->p, w->held[i].id, WC_ERR_NOT_FOUND, NULL, "no such key");
    while (s_step(w))
        ;
    assert_int_equal(r[1]->fate, F_RELEASED);
    assert_int_equal(r[2]->fate, F_RELEASED);
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    assert_int_equal(wc_pipeline_outstanding(w->p), 0);
    s_world_free(w);
}

static void test_shutdown_releases_waiting(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r[5];
    struct wc_action a;

    (void)state;
    for (int i = 0; i < 5; i++) {
        char sg[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        r[i] = s_receive(w, s_change(sg, T0 - 60000, "eu-west-1"), 1);
    }
    /* one lookup is handed out and not answered; then SIGTERM */
    assert_true(wc_pipeline_next(w->p, &a));
    assert_int_equal(a.kind, WC_ACTION_LOOKUP);
    wc_pipeline_shutdown(w->p);
    assert_int_equal(wc_pipeline_room(w->p), 0);
    while (s_step(w))
        ;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i]->fate, F_RELEASED);
        assert_int_equal(r[i]->release_s, 0);
    }
    /* the lookup under way still reports back, harmlessly */
    wc_pipeline_lookup_done(w->p, a.id, WC_ERR_CANCELLED, NULL);
    assert_int_equal(wc_pipeline_outstanding(w->p), 0);
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    s_world_free(w);
}

static void test_duplicate_receive_keeps_newest_handle(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY, .hold = true}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;
    struct wc_queue_message m = {0};
    struct wc_send_result res = {0};

    (void)state;
    r = s_alice_sg1(w);
    s_run(w, 1000);
    assert_int_equal(w->n_held, 1);
    /* SQS hands the same message out again meanwhile */
    m.message_id = strdup(r->id);
    m.receipt_handle = strdup("rh-again");
    m.body = s_change("sg-1", T0 - 60000, "eu-west-1");
    m.body_len = strlen(m.body);
    m.receive_count = 2;
    wc_pipeline_receive(w->p, &m);
    assert_int_equal(wc_pipeline_in_hand(w->p), 1);
    snprintf(r->handle, sizeof(r->handle), "rh-again");
    wc_pipeline_send_done(w->p, w->held[0].id, WC_OK, &res);
    w->n_held = 0;
    s_run(w, 1000);
    assert_int_equal(r->fate, F_DELETED); /* with the newest handle */
    assert_int_equal(w->n_held, 0);       /* the copy was not sent again */
    s_world_free(w);
}

static void test_copies_in_hand_sent_once(void **state)
{
    struct world_opts wo = {.n_nts = 2, .digest_ms = 2000,
                            .nts = {{.verdicts = HUMAN_ONLY, .fit = 10},
                                    {.verdicts = WC_VERDICT_MASK_ALL}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r1, *r2;

    (void)state;
    s_add_event(&w->trail, &(struct ev_spec){.id = "ev-1", .name = "AuthorizeSecurityGroupIngress",
                                             .time_ms = T0 - 62000, .resource = "sg-1", .who = "alice"});
    /* two SQS messages carrying the same change (SNS/SQS deliver at least once) */
    r1 = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    r2 = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 30000);
    assert_int_equal(s_posts_naming(w, 0, "sg-1"), 1);
    assert_int_equal(s_posts_naming(w, 1, "sg-1"), 1);
    assert_int_equal(r1->fate, F_DELETED);
    assert_int_equal(r2->fate, F_DELETED);
    s_world_free(w);
}

static void test_dry_run_touches_nothing(void **state)
{
    struct world_opts wo = {.n_nts = 1, .dry_run = true, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r1, *r2, *r3;

    (void)state;
    s_add_event(&w->trail, &(struct ev_spec){.id = "ev-1", .name = "AuthorizeSecurityGroupIngress",
                                             .time_ms = T0 - 62000, .resource = "sg-1", .who = "alice"});
    r1 = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    r2 = s_receive(w, s_change("sg-2", T0 - 60000, "eu-west-1"), 1); /* no event: retry */
    r3 = s_receive(w, strdup("{not json"), 1);
    s_run(w, 5000);
    /* nothing deleted or hidden: each visible again at once for the real worker */
    assert_int_equal(r1->fate, F_RELEASED);
    assert_int_equal(r1->release_s, 0);
    assert_int_equal(r2->fate, F_RELEASED);
    assert_int_equal(r2->release_s, 0);
    assert_int_equal(r3->fate, F_RELEASED);
    assert_int_equal(r3->release_s, 0);
    assert_int_equal(w->n_sent, 1); /* rendered by the runner instead of sent */
    assert_false(wc_ledger_accepted(w->ledger, "fake#0", "ev-1/sg-1"));
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    s_world_free(w);
}

/* w's pipeline again (one notifier, defaults), over another ledger. */
/* --- the event stream ----------------------------------------------------------- */

static int s_stream(struct world *w, const struct ev_spec *e, enum wc_evstream_kind *kind)
{
    char *keep = NULL;
    int rc = wc_pipeline_stream(w->p, s_stream_body(e, &keep), kind);

    cJSON_free(keep);
    return rc;
}

static const struct ev_spec s_alice_ev = {.id = "ev-1", .name = "AuthorizeSecurityGroupIngress",
                                          .time_ms = T0 - 62000, .resource = "sg-1",
                                          .who = "alice"};

/* Its event came first: the change is decided from the stream, no
 * LookupEvents call, the same verdict and post as the lookup path. */
static void test_stream_event_first(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}},
                            .stream_grace_ms = 60000};
    struct world *w = s_world(&wo);
    struct wc_pipeline_stats st;
    enum wc_evstream_kind kind = 0;
    struct msg_rec *r;

    (void)state;
    assert_int_equal(s_stream(w, &s_alice_ev, &kind), WC_OK);
    assert_int_equal(kind, WC_EVSTREAM_EVENT);
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 10000);
    assert_int_equal(r->fate, F_DELETED);
    assert_int_equal(w->lookups, 0);
    assert_int_equal(w->decided, 1);
    assert_int_equal(w->verdicts[0], WC_VERDICT_HUMAN);
    assert_int_equal(s_posts_naming(w, 0, "sg-1"), 1);
    wc_pipeline_get_stats(w->p, &st);
    assert_int_equal(st.stream_decided, 1);
    assert_int_equal(st.stream_fallbacks, 0);
    s_world_free(w);
}

/* The change came first: it waits (no lookup) and is decided the moment its
 * event arrives. */
static void test_stream_event_later(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}},
                            .stream_grace_ms = 60000};
    struct world *w = s_world(&wo);
    struct msg_rec *r;

    (void)state;
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    w->clock.now += 5000;
    while (s_step(w))
        ;
    assert_int_equal(w->decided, 0);
    assert_int_equal(w->lookups, 0);
    assert_int_equal(wc_pipeline_in_hand(w->p), 1);
    /* an event on another group, and a read-only one on this: not it */
    assert_int_equal(s_stream(w, &(struct ev_spec){.id = "ev-0", .name = "AuthorizeSecurityGroupIngress", .time_ms = T0 - 61000, .resource = "sg-2", .who = "bob"}, NULL), WC_OK);
    assert_int_equal(s_stream(w, &(struct ev_spec){.id = "ev-r", .name = "DescribeSecurityGroups", .time_ms = T0 - 61000, .resource = "sg-1", .who = "bob", .read_only = true}, NULL), WC_OK);
    while (s_step(w))
        ;
    assert_int_equal(w->decided, 0);
    assert_int_equal(s_stream(w, &s_alice_ev, NULL), WC_OK);
    /* decided a settle later, with the events that came in the meantime */
    w->clock.now += WC_PIPELINE_STREAM_SETTLE_MS / 2;
    while (s_step(w))
        ;
    assert_int_equal(w->decided, 0);
    assert_int_equal(s_stream(w, &(struct ev_spec){.id = "ev-2", .name = "RevokeSecurityGroupIngress", .time_ms = T0 - 65000, .resource = "sg-1", .who = "carol"}, NULL), WC_OK);
    w->clock.now += WC_PIPELINE_STREAM_SETTLE_MS;
    while (s_step(w))
        ;
    assert_int_equal(w->decided, 1);
    assert_int_equal(w->verdicts[0], WC_VERDICT_HUMAN);
    assert_int_equal(w->n_matches[0], 2);
    s_run(w, 10000);
    assert_int_equal(r->fate, F_DELETED);
    assert_int_equal(w->lookups, 0);
    s_world_free(w);
}

/* The stream missed it (EventBridge is best effort): after the grace,
 * LookupEvents, and the verdict it gives. */
static void test_stream_missed_falls_back(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}},
                            .stream_grace_ms = 30000};
    struct world *w = s_world(&wo);
    struct wc_pipeline_stats st;
    struct msg_rec *r;

    (void)state;
    r = s_alice_sg1(w); /* in CloudTrail, never on the stream */
    w->clock.now += 29000;
    while (s_step(w))
        ;
    assert_int_equal(w->lookups, 0);
    s_run(w, 20000);
    assert_true(w->lookups > 0);
    assert_int_equal(r->fate, F_DELETED);
    assert_int_equal(w->verdicts[0], WC_VERDICT_HUMAN);
    wc_pipeline_get_stats(w->p, &st);
    assert_int_equal(st.stream_decided, 0);
    assert_int_equal(st.stream_fallbacks, 1);
    s_world_free(w);
}

/* Malformed stream messages are left for redrive, other kinds ignored; the
 * stream off refuses; a change waiting on the stream is released at
 * shutdown. */
static void test_stream_bad_input_and_shutdown(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}},
                            .stream_grace_ms = 60000};
    struct world *w = s_world(&wo);
    struct world *off;
    enum wc_evstream_kind kind = 0;
    struct msg_rec *r;

    (void)state;
    assert_true(wc_pipeline_stream(w->p, wc_str_from_cstr("{not json"), &kind) < 0);
    assert_true(s_stream(w, &(struct ev_spec){.id = "ev-r", .name = "DescribeSecurityGroups", .time_ms = T0 - 61000, .resource = "sg-1", .who = "bob", .read_only = true}, &kind) == WC_OK);
    assert_int_equal(kind, WC_EVSTREAM_READ_ONLY);
    /* an SNS subscription confirmation: left for the operator */
    kind = 0;
    assert_true(wc_pipeline_stream(w->p, wc_str_from_cstr("{\"Type\":\"SubscriptionConfirmation\","
                                                          "\"MessageId\":\"m-1\",\"TopicArn\":"
                                                          "\"arn:aws:sns:eu-west-1:123456789012:fan\","
                                                          "\"SubscribeURL\":\"https://sns.eu-west-1."
                                                          "amazonaws.com/?Action=ConfirmSubscription\","
                                                          "\"Token\":\"t\",\"Message\":\"x\"}"),
                                   &kind) < 0);
    assert_int_equal(kind, WC_EVSTREAM_SNS_CONTROL);
    assert_true(s_metrics_line(w, "whochanged_subscription_confirmations_total{queue=\"events\"} 1"));
    assert_true(s_metrics_line(w, "whochanged_subscription_confirmations_total{queue=\"changes\"} 0"));
    off = s_world(&(struct world_opts){.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}});
    assert_true(s_stream(off, &s_alice_ev, NULL) < 0);
    s_world_free(off);
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    while (s_step(w))
        ;
    wc_pipeline_shutdown(w->p);
    s_run(w, 5000);
    assert_int_equal(r->fate, F_RELEASED);
    assert_int_equal(r->release_s, 0);
    assert_int_equal(w->lookups, 0);
    s_world_free(w);
}

static void s_use_ledger(struct world *w, struct wc_ledger *ledger)
{
    struct wc_pipeline_options o = {.schedule = {30, 900, 300}, .lease_s = 30, .max_in_hand = 8};
    struct wc_pipeline_ports ports = {.clock = &w->wclock, .ledger = ledger,
                                      .notifiers = w->ntp, .n_notifiers = 1};
    struct wc_policy policy;

    wc_pipeline_destroy(w->p);
    w->ledger = ledger; /* (the caller puts the world's back before freeing it) */
    assert_int_equal(wc_policy_init_defaults(&policy), WC_OK);
    w->p = wc_pipeline_new(&o, &ports, &policy);
    wc_policy_clean_up(&policy);
    assert_non_null(w->p);
}

/* A ledger that cannot record (disk full). */
static bool s_full_accepted(struct wc_ledger *l, const char *n, const char *subject)
{
    (void)l;
    (void)n;
    (void)subject;
    return false;
}

static int s_full_record(struct wc_ledger *l, const char *n, const char *subject)
{
    (void)l;
    (void)n;
    (void)subject;
    return WC_ERR_IO;
}

static void s_full_destroy(struct wc_ledger *l)
{
    (void)l;
}

static const struct wc_ledger_vtable s_full_vt = {
    .name = "full", .accepted = s_full_accepted, .record = s_full_record,
    .destroy = s_full_destroy};

/* A ledger whose first record fails (disk full) and later succeed; like the
 * state file, a failed pair is accepted (in memory) but not durable. */
struct flaky_ledger {
    struct wc_ledger base;
    int fail_next;
    char accepted[8][64], durable[8][64];
    size_t n_accepted, n_durable;
    int records;
};

static bool s_in(char (*set)[64], size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(set[i], k))
            return true;
    return false;
}

static bool s_flaky_accepted(struct wc_ledger *l, const char *n, const char *subject)
{
    struct flaky_ledger *fl = (struct flaky_ledger *)l;
    char k[64];

    snprintf(k, sizeof(k), "%s %s", n, subject);
    return s_in(fl->accepted, fl->n_accepted, k);
}

static int s_flaky_record(struct wc_ledger *l, const char *n, const char *subject)
{
    struct flaky_ledger *fl = (struct flaky_ledger *)l;
    char k[64];

    fl->records++;
    snprintf(k, sizeof(k), "%s %s", n, subject);
    if (!s_in(fl->accepted, fl->n_accepted, k))
        snprintf(fl->accepted[fl->n_accepted++], 64, "%s", k);
    if (fl->fail_next > 0) {
        fl->fail_next--;
        return WC_ERR_IO;
    }
    if (!s_in(fl->durable, fl->n_durable, k))
        snprintf(fl->durable[fl->n_durable++], 64, "%s", k);
    return WC_OK;
}

static const struct wc_ledger_vtable s_flaky_vt = {
    .name = "flaky", .accepted = s_flaky_accepted, .record = s_flaky_record,
    .destroy = s_full_destroy};

static void test_unrecorded_delivery_recorded_before_delete(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct flaky_ledger fl = {.base = {&s_flaky_vt, NULL}, .fail_next = 1};
    struct wc_ledger *mem = w->ledger;
    struct msg_rec *r;

    (void)state;
    s_use_ledger(w, &fl.base);
    r = s_alice_sg1(w);
    while (s_step(w))
        ;
    assert_int_equal(w->n_sent, 1);
    assert_int_equal(r->fate, F_RELEASED); /* posted, not durable: kept */
    assert_int_equal(fl.n_durable, 0);
    /* 30 s on, space is back and the message comes back */
    w->clock.now += WC_PIPELINE_FAILURE_RETRY_S * 1000;
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 2);
    s_run(w, 10000);
    assert_int_equal(w->n_sent, 1);         /* not posted again */
    assert_int_equal(fl.n_durable, 1);      /* but written down before ... */
    assert_int_equal(r->fate, F_DELETED);   /* ... the delete */
    wc_pipeline_destroy(w->p);
    w->p = NULL;
    w->ledger = mem;
    s_world_free(w);
}

static void test_ledger_full_pauses_receiving(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct wc_ledger full = {&s_full_vt, NULL}, *mem = w->ledger;
    struct msg_rec *r;
    struct wc_pipeline_stats st;

    (void)state;
    /* the world's pipeline borrows the ledger: swap in one that fails */
    s_use_ledger(w, &full);
    w->ledger = &full;
    r = s_alice_sg1(w);
    while (s_step(w))
        ;
    /* posted but not recorded: kept for a later try, not deleted */
    assert_int_equal(w->n_sent, 1);
    assert_int_equal(r->fate, F_RELEASED);
    assert_int_equal(r->release_s, WC_PIPELINE_FAILURE_RETRY_S);
    /* and no new messages until the ledger had time to recover */
    assert_false(wc_pipeline_healthy(w->p));
    assert_int_equal(wc_pipeline_room(w->p), 0);
    wc_pipeline_get_stats(w->p, &st);
    assert_int_equal(st.ledger_failures, 1);
    w->clock.now += WC_PIPELINE_FAILURE_RETRY_S * 1000;
    assert_true(wc_pipeline_healthy(w->p));
    assert_int_equal(wc_pipeline_room(w->p), 8);
    wc_pipeline_destroy(w->p);
    w->p = NULL;
    w->ledger = mem;
    s_world_free(w);
}

/* A ledger whose memory has let go of what it recorded (the state file
 * past its max_entries): only a thorough check still finds it. */
struct forgetful_ledger {
    struct wc_ledger base;
    char recorded[4][64];
    size_t n_recorded;
    int fast, thorough;
};

static bool s_forgetful_accepted(struct wc_ledger *l, const char *n, const char *subject)
{
    (void)n;
    (void)subject;
    ((struct forgetful_ledger *)l)->fast++;
    return false;
}

static bool s_forgetful_thorough(struct wc_ledger *l, const char *n, const char *subject)
{
    struct forgetful_ledger *fl = (struct forgetful_ledger *)l;
    char k[64];

    fl->thorough++;
    snprintf(k, sizeof(k), "%s %s", n, subject);
    return s_in(fl->recorded, fl->n_recorded, k);
}

static int s_forgetful_record(struct wc_ledger *l, const char *n, const char *subject)
{
    struct forgetful_ledger *fl = (struct forgetful_ledger *)l;
    char k[64];

    snprintf(k, sizeof(k), "%s %s", n, subject);
    if (!s_in(fl->recorded, fl->n_recorded, k) && fl->n_recorded < 4)
        snprintf(fl->recorded[fl->n_recorded++], 64, "%s", k);
    return WC_OK;
}

static const struct wc_ledger_vtable s_forgetful_vt = {
    .name = "forgetful", .accepted = s_forgetful_accepted,
    .accepted_thorough = s_forgetful_thorough, .record = s_forgetful_record,
    .destroy = s_full_destroy};

/* A message SQS delivered before is asked thoroughly (it may have been
 * accepted long ago); a first delivery, quickly. */
static void test_redelivery_asks_the_ledger_thoroughly(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct forgetful_ledger fl = {.base = {&s_forgetful_vt, NULL}};
    struct wc_ledger *mem = w->ledger;
    struct msg_rec *r;

    (void)state;
    s_use_ledger(w, &fl.base);
    w->ledger = &fl.base;
    assert_int_equal(wc_ledger_record(&fl.base, "fake#0", "ev-1/sg-1"), WC_OK);
    s_add_event(&w->trail, &(struct ev_spec){.id = "ev-1", .name = "AuthorizeSecurityGroupIngress",
                                             .time_ms = T0 - 62000, .resource = "sg-1",
                                             .who = "alice"});
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 3);
    s_run(w, 10000);
    assert_int_equal(fl.thorough, 1);
    assert_int_equal(fl.fast, 0);
    assert_int_equal(w->n_sent, 0);       /* found on disk: not posted again */
    assert_int_equal(r->fate, F_DELETED);
    /* a first delivery: the fast check (which here misses, so it is posted) */
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 10000);
    assert_int_equal(fl.thorough, 1);
    assert_int_equal(fl.fast, 1);
    assert_int_equal(w->n_sent, 1);
    assert_int_equal(r->fate, F_DELETED);
    wc_pipeline_destroy(w->p);
    w->p = NULL;
    w->ledger = mem;
    s_world_free(w);
}

/* --- the ledger's actions -------------------------------------------------------- */

/* The held action of kind (the first), taken out of w->held. */
static struct wc_action s_take_held(struct world *w, enum wc_action_kind kind)
{
    for (size_t i = 0; i < w->n_held; i++) {
        if (w->held[i].kind == kind) {
            struct wc_action a = w->held[i];

            memmove(&w->held[i], &w->held[i + 1], (w->n_held - i - 1) * sizeof(a));
            w->n_held--;
            return a;
        }
    }
    fail_msg("no held action of kind %d", (int)kind);
    return (struct wc_action){0};
}

struct ledger_case {
    const char *name;
    int receive_count;
    const char *who;         /* the event's actor */
    size_t already;          /* notifiers (the first ones) that accepted it before */
    size_t n_nts;
    int notifier_rc;
    bool dry_run;
    size_t checks, thorough, records, posts;
    enum fate fate;
};

static const struct ledger_case s_ledger_cases[] = {
    {"first delivery: fast check, post, record", 1, "alice", 0, 1, WC_OK, false,
     1, 0, 1, 1, F_DELETED},
    {"redelivery: thorough check, post, record", 3, "alice", 0, 1, WC_OK, false,
     1, 1, 1, 1, F_DELETED},
    {"redelivery, accepted before: recorded again, not posted", 2, "alice", 1, 1, WC_OK, false,
     1, 1, 1, 0, F_DELETED},
    {"first delivery, accepted before: recorded again, not posted", 1, "alice", 1, 1, WC_OK,
     false, 1, 0, 1, 0, F_DELETED},
    {"two notifiers, one accepted before: one post, two records", 2, "alice", 1, 2, WC_OK, false,
     2, 2, 2, 1, F_DELETED},
    {"not wanted (automation): the ledger is not asked", 1, "tf", 0, 1, WC_OK, false,
     0, 0, 0, 0, F_DELETED},
    {"notifier 5xx: checked, nothing recorded, released", 1, "alice", 0, 1, WC_ERR_SERVICE, false,
     1, 0, 0, 0, F_RELEASED},
    {"dry run: the ledger is not asked", 1, "alice", 0, 1, WC_OK, true, 0, 0, 0, 1,
     F_RELEASED},
};

/* Which LEDGER_* actions a message makes, by delivery and ledger state. */
static void test_ledger_actions(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(s_ledger_cases) / sizeof(s_ledger_cases[0]); c++) {
        const struct ledger_case *k = &s_ledger_cases[c];
        int script[1] = {k->notifier_rc};
        struct world_opts wo = {.n_nts = k->n_nts, .dry_run = k->dry_run, .capture_log = true};
        struct world *w;
        struct msg_rec *r;

        printf("# %s\n", k->name);
        for (size_t i = 0; i < k->n_nts; i++)
            wo.nts[i] = (struct notifier_spec){.verdicts = HUMAN_ONLY, .script = script,
                                               .n_script = 1};
        w = s_world(&wo);
        for (size_t i = 0; i < k->already; i++) {
            char id[32];

            snprintf(id, sizeof(id), "fake#%zu", i);
            assert_int_equal(wc_ledger_record(w->ledger, id, "ev-1/sg-1"), WC_OK);
        }
        s_add_event(&w->trail, &(struct ev_spec){.id = "ev-1",
                                                 .name = "AuthorizeSecurityGroupIngress",
                                                 .time_ms = T0 - 62000, .resource = "sg-1",
                                                 .who = k->who});
        r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), k->receive_count);
        s_run(w, 10000);
        assert_int_equal(w->checks, k->checks);
        assert_int_equal(w->thorough_checks, k->thorough);
        assert_int_equal(w->records, k->records);
        assert_int_equal(w->n_sent, k->posts);
        assert_int_equal(r->fate, k->fate);
        if (k->fate == F_DELETED) /* the outcome line says whether it was posted now */
            assert_true(notif_log_contains(&w->log, k->posts ? "action=notified, deleted"
                                                             : "action=deleted"));
        for (size_t i = 0; i < k->n_nts && k->records; i++) {
            char id[32];

            snprintf(id, sizeof(id), "fake#%zu", i);
            assert_true(wc_ledger_accepted(w->ledger, id, "ev-1/sg-1"));
        }
        assert_int_equal(wc_pipeline_in_hand(w->p), 0);
        assert_int_equal(wc_pipeline_outstanding(w->p), 0);
        s_world_free(w);
    }
}

/* Two notifiers: their checks and records come back in either order; the
 * message waits (extended, not deleted) until the last record is in. */
static void test_ledger_answers_in_either_order(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        struct world_opts wo = {.n_nts = 2, .nts = {{.verdicts = HUMAN_ONLY},
                                                    {.verdicts = HUMAN_ONLY}}};
        struct world *w = s_world(&wo);
        struct wc_action a[2];
        struct msg_rec *r;

        w->hold_ledger = true;
        r = s_alice_sg1(w);
        while (s_step(w))
            ;
        /* both checks under way at once, nothing sent yet */
        assert_int_equal(w->n_held, 2);
        assert_int_equal(w->n_sent, 0);
        a[0] = s_take_held(w, WC_ACTION_LEDGER_CHECK);
        a[1] = s_take_held(w, WC_ACTION_LEDGER_CHECK);
        assert_true(a[0].notifier != a[1].notifier);
        /* the message's lease is kept while the ledger takes its time */
        w->clock.now += 21000;
        while (s_step(w))
            ;
        assert_int_equal(r->extends, 1);
        s_ledger_answer(w, &a[order]);
        while (s_step(w))
            ;
        /* the one answered is sent and recorded (held); the other waits */
        assert_int_equal(w->n_sent, 1);
        assert_int_equal(w->n_held, 1);
        s_ledger_answer(w, &a[!order]);
        while (s_step(w))
            ;
        assert_int_equal(w->n_sent, 2);
        assert_int_equal(w->n_held, 2);
        a[0] = s_take_held(w, WC_ACTION_LEDGER_RECORD);
        a[1] = s_take_held(w, WC_ACTION_LEDGER_RECORD);
        s_ledger_answer(w, &a[!order]);
        while (s_step(w))
            ;
        assert_int_equal(r->fate, F_NONE); /* one notifier not recorded yet */
        s_ledger_answer(w, &a[order]);
        s_run(w, 1000);
        assert_int_equal(r->fate, F_DELETED);
        assert_true(wc_ledger_accepted(w->ledger, "fake#0", "ev-1/sg-1"));
        assert_true(wc_ledger_accepted(w->ledger, "fake#1", "ev-1/sg-1"));
        assert_int_equal(wc_pipeline_outstanding(w->p), 0);
        s_world_free(w);
    }
}

/* A copy of a message (same change, another SQS message) arriving while
 * the first one's check or record is under way asks the ledger nothing
 * itself: it takes the first one's answer. One post, both deleted. */
static void test_ledger_copy_waits_for_first(void **state)
{
    (void)state;
    for (int phase = 0; phase < 2; phase++) { /* 0: during the check; 1: the record */
        struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
        struct world *w = s_world(&wo);
        struct msg_rec *r1, *r2;
        struct wc_action a;

        w->hold_ledger = true;
        r1 = s_alice_sg1(w);
        while (s_step(w))
            ;
        a = s_take_held(w, WC_ACTION_LEDGER_CHECK);
        if (phase == 1) {
            s_ledger_answer(w, &a);
            while (s_step(w))
                ;
            assert_int_equal(w->n_sent, 1);
            a = s_take_held(w, WC_ACTION_LEDGER_RECORD);
        }
        r2 = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
        for (int guard = 0; w->decided < 2 && guard < 100; guard++) { /* its lookup's turn */
            while (s_step(w))
                ;
            if (w->decided < 2)
                w->clock.now = wc_pipeline_wake_ms(w->p) - s_mono(&w->clock) + w->clock.now;
        }
        assert_int_equal(w->decided, 2);
        assert_int_equal(w->n_held, 0);  /* the copy asked nothing */
        assert_int_equal(w->checks, 1);
        s_ledger_answer(w, &a);
        w->hold_ledger = false;
        s_run(w, 10000);
        assert_int_equal(w->n_sent, 1);
        assert_int_equal(w->checks, 1);
        assert_int_equal(w->records, 1);
        assert_int_equal(r1->fate, F_DELETED);
        assert_int_equal(r2->fate, F_DELETED);
        s_world_free(w);
    }
}

/* A record that fails: the message is kept (released for a later try, never
 * deleted), receiving pauses; receiving goes on while the record is merely
 * under way. When it comes back, it is recorded, not posted again. */
static void test_ledger_record_failure_retried(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct flaky_ledger fl = {.base = {&s_flaky_vt, NULL}, .fail_next = 1};
    struct wc_ledger *mem = w->ledger;
    struct wc_pipeline_stats st;
    struct msg_rec *r;
    struct wc_action a;

    (void)state;
    s_use_ledger(w, &fl.base);
    w->hold_ledger = true;
    r = s_alice_sg1(w);
    while (s_step(w))
        ;
    s_ledger_answer(w, &w->held[0]); /* the check: not accepted */
    w->n_held = 0;
    while (s_step(w))
        ;
    assert_int_equal(w->n_sent, 1);
    a = s_take_held(w, WC_ACTION_LEDGER_RECORD);
    assert_true(wc_pipeline_healthy(w->p)); /* under way: nothing paused */
    assert_int_equal(wc_pipeline_room(w->p), 7);
    s_ledger_answer(w, &a);                  /* fails (disk full) */
    s_run(w, 1000);
    assert_int_equal(r->fate, F_RELEASED);
    assert_int_equal(r->release_s, WC_PIPELINE_FAILURE_RETRY_S);
    assert_false(wc_pipeline_healthy(w->p));
    assert_int_equal(wc_pipeline_room(w->p), 0);
    wc_pipeline_get_stats(w->p, &st);
    assert_int_equal(st.ledger_failures, 1);
    assert_int_equal(fl.n_durable, 0);
    /* 30 s on it comes back: accepted (in memory), so recorded, not posted */
    w->clock.now += WC_PIPELINE_FAILURE_RETRY_S * 1000;
    assert_true(wc_pipeline_healthy(w->p));
    w->hold_ledger = false;
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 2);
    s_run(w, 10000);
    assert_int_equal(w->n_sent, 1);
    assert_int_equal(fl.records, 2);
    assert_int_equal(fl.n_durable, 1);
    assert_int_equal(r->fate, F_DELETED);
    wc_pipeline_destroy(w->p);
    w->p = NULL;
    w->ledger = mem;
    s_world_free(w);
}

/* A ledger that cannot read for a while (DynamoDB failing): like
 * aws/dynamodb_ledger.c, a check it cannot make answers "accepted" (post
 * nothing on a guess) and the record of that pair then fails (it must not
 * write down a post it does not know happened). */
struct doubtful_ledger {
    struct wc_ledger base;
    bool down;
    char doubt[4][64], recorded[4][64];
    size_t n_doubt, n_recorded;
};

static bool s_doubtful_accepted(struct wc_ledger *l, const char *n, const char *subject)
{
    struct doubtful_ledger *dl = (struct doubtful_ledger *)l;
    char k[64];

    snprintf(k, sizeof(k), "%s %s", n, subject);
    if (dl->down) {
        if (!s_in(dl->doubt, dl->n_doubt, k) && dl->n_doubt < 4)
            snprintf(dl->doubt[dl->n_doubt++], 64, "%s", k);
        return true;
    }
    return s_in(dl->recorded, dl->n_recorded, k);
}

static int s_doubtful_record(struct wc_ledger *l, const char *n, const char *subject)
{
    struct doubtful_ledger *dl = (struct doubtful_ledger *)l;
    char k[64];

    snprintf(k, sizeof(k), "%s %s", n, subject);
    for (size_t i = 0; i < dl->n_doubt; i++) {
        if (!strcmp(dl->doubt[i], k)) {
            dl->doubt[i][0] = '\0'; /* asked again at the next check */
            return WC_ERR_IO;
        }
    }
    if (dl->down)
        return WC_ERR_IO;
    if (!s_in(dl->recorded, dl->n_recorded, k) && dl->n_recorded < 4)
        snprintf(dl->recorded[dl->n_recorded++], 64, "%s", k);
    return WC_OK;
}

static const struct wc_ledger_vtable s_doubtful_vt = {
    .name = "doubtful", .accepted = s_doubtful_accepted,
    .accepted_thorough = s_doubtful_accepted, .record = s_doubtful_record,
    .destroy = s_full_destroy};

static void test_ledger_thorough_failure_posts_nothing(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct doubtful_ledger dl = {.base = {&s_doubtful_vt, NULL}, .down = true};
    struct wc_ledger *mem = w->ledger;
    struct wc_pipeline_stats st;
    struct msg_rec *r;

    (void)state;
    s_use_ledger(w, &dl.base);
    s_add_event(&w->trail, &s_alice_ev);
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 2);
    s_run(w, 10000);
    assert_int_equal(w->thorough_checks, 1);
    assert_int_equal(w->records, 1);
    assert_int_equal(w->n_sent, 0);       /* not posted on a guess */
    assert_int_equal(r->fate, F_RELEASED); /* kept, asked again later */
    assert_int_equal(r->release_s, WC_PIPELINE_FAILURE_RETRY_S);
    assert_false(wc_pipeline_healthy(w->p));
    wc_pipeline_get_stats(w->p, &st);
    assert_int_equal(st.ledger_failures, 1);
    /* the table is back when the message is */
    dl.down = false;
    w->clock.now += WC_PIPELINE_FAILURE_RETRY_S * 1000;
    r = s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 3);
    s_run(w, 10000);
    assert_int_equal(w->thorough_checks, 2);
    assert_int_equal(w->n_sent, 1);
    assert_int_equal(dl.n_recorded, 1);
    assert_int_equal(r->fate, F_DELETED);
    wc_pipeline_destroy(w->p);
    w->p = NULL;
    w->ledger = mem;
    s_world_free(w);
}

/* SIGTERM while the ledger is being asked or written: the message is not
 * dropped; the drain (in hand, outstanding) waits for the answers. */
static void test_ledger_shutdown_waits(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r;
    struct wc_action a;

    (void)state;
    w->hold_ledger = true;
    r = s_alice_sg1(w);
    while (s_step(w))
        ;
    a = s_take_held(w, WC_ACTION_LEDGER_CHECK);
    wc_pipeline_shutdown(w->p);
    while (s_step(w))
        ;
    assert_int_equal(wc_pipeline_outstanding(w->p), 1);
    assert_int_equal(wc_pipeline_in_hand(w->p), 1);
    assert_false(wc_pipeline_once_done(w->p));
    assert_int_equal(r->fate, F_NONE);
    s_ledger_answer(w, &a);
    while (s_step(w))
        ;
    assert_int_equal(w->n_sent, 1); /* decided before the signal: still posted */
    a = s_take_held(w, WC_ACTION_LEDGER_RECORD);
    assert_int_equal(wc_pipeline_outstanding(w->p), 1);
    assert_int_equal(r->fate, F_NONE);
    s_ledger_answer(w, &a);
    while (s_step(w))
        ;
    assert_int_equal(r->fate, F_DELETED);
    assert_int_equal(wc_pipeline_outstanding(w->p), 0);
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    assert_true(wc_ledger_accepted(w->ledger, "fake#0", "ev-1/sg-1"));
    s_world_free(w);
}

/* At most WC_PIPELINE_MAX_LEDGER ledger calls at once; the others wait
 * their turn, lookups go on meanwhile. */
static void test_ledger_calls_bounded(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    const size_t n = WC_PIPELINE_MAX_LEDGER + 3;
    struct msg_rec *r[WC_PIPELINE_MAX_LEDGER + 3];

    (void)state;
    w->hold_ledger = true;
    for (size_t i = 0; i < n; i++) {
        char sg[16], id[16];

        snprintf(sg, sizeof(sg), "sg-%zu", i);
        snprintf(id, sizeof(id), "ev-%zu", i);
        s_add_event(&w->trail, &(struct ev_spec){.id = id,
                                                 .name = "AuthorizeSecurityGroupIngress",
                                                 .time_ms = T0 - 62000, .resource = sg,
                                                 .who = "alice"});
        r[i] = s_receive(w, s_change(sg, T0 - 60000, "eu-west-1"), 1);
    }
    while (s_step(w))
        ;
    assert_int_equal(w->n_held, WC_PIPELINE_MAX_LEDGER);
    assert_int_equal(w->decided, n);   /* every lookup made meanwhile */
    while (w->n_held > 0) {
        struct wc_action a = w->held[0];

        memmove(&w->held[0], &w->held[1], (w->n_held - 1) * sizeof(a));
        w->n_held--;
        s_ledger_answer(w, &a);
        while (s_step(w))
            ;
        assert_true(w->n_held <= WC_PIPELINE_MAX_LEDGER);
    }
    assert_int_equal(w->checks, n);
    assert_int_equal(w->records, n);
    assert_int_equal(w->n_sent, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i]->fate, F_DELETED);
    s_world_free(w);
}

/* --- digests --------------------------------------------------------------- */

static void test_digest_one_message_per_actor_session(void **state)
{
    struct world_opts wo = {.n_nts = 2, .digest_ms = 5000,
                            .nts = {{.verdicts = HUMAN_ONLY, .fit = 50, .interval_ms = 1000},
                                    {.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r[12];

    (void)state;
    /* alice (two sessions: two access keys) and bob, 12 changes */
    for (int i = 0; i < 12; i++) {
        char sg[16], id[16];
        const char *who = i < 8 ? "alice" : "bob";
        const char *key = i < 4 ? "AKIA1" : i < 8 ? "AKIA2" : "AKIA3";

        snprintf(sg, sizeof(sg), "sg-%d", i);
        snprintf(id, sizeof(id), "ev-%d", i);
        s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "AuthorizeSecurityGroupIngress", .time_ms = T0 - 62000 + i, .resource = sg, .who = who, .key = key});
    }
    for (int i = 0; i < 12; i++) {
        char sg[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        r[i] = s_receive(w, s_change(sg, T0 - 60000 + i, "eu-west-1"), 1);
    }
    s_run(w, 60000);
    /* the digest notifier: one message per actor session; the other: one per change */
    {
        size_t digests = 0, singles = 0;

        for (size_t i = 0; i < w->n_sent; i++) {
            if (w->sent[i].notifier == 0)
                digests++;
            else
                singles++;
        }
        assert_int_equal(digests, 3);
        assert_int_equal(singles, 12);
    }
    for (int i = 0; i < 12; i++) {
        char sg[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        assert_int_equal(s_posts_naming(w, 0, sg), 1);
        assert_int_equal(s_posts_naming(w, 1, sg), 1);
        assert_int_equal(r[i]->fate, F_DELETED);
    }
    /* paced: the three digests at least a second apart */
    for (size_t i = 1, last = SIZE_MAX; i <= w->n_sent; i++) {
        if (w->sent[i - 1].notifier != 0)
            continue;
        if (last != SIZE_MAX)
            assert_true(w->sent[i - 1].at_mono - w->sent[last].at_mono >= 1000);
        last = i - 1;
    }
    s_world_free(w);
}

static void test_digest_split_in_threaded_parts(void **state)
{
    struct world_opts wo = {.n_nts = 1, .digest_ms = 3000,
                            .nts = {{.verdicts = HUMAN_ONLY, .fit = 4, .interval_ms = 1000}}};
    struct world *w = s_world(&wo);

    (void)state;
    for (int i = 0; i < 10; i++) {
        char sg[16], id[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        snprintf(id, sizeof(id), "ev-%d", i);
        s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "AuthorizeSecurityGroupIngress", .time_ms = T0 - 62000 + i, .resource = sg, .who = "alice", .key = "AKIA1"});
    }
    for (int i = 0; i < 10; i++) {
        char sg[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        s_receive(w, s_change(sg, T0 - 60000 + i, "eu-west-1"), 1);
    }
    s_run(w, 60000);
    assert_int_equal(w->n_sent, 3); /* 4 + 4 + 2 */
    assert_int_equal(w->sent[0].n, 4);
    assert_int_equal(w->sent[1].n, 4);
    assert_int_equal(w->sent[2].n, 2);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(w->sent[i].part, i + 1);
        assert_int_equal(w->sent[i].parts, 3);
    }
    assert_string_equal(w->sent[0].thread_ts, "");
    assert_string_equal(w->sent[1].thread_ts, "ts-1"); /* replies to part 1 */
    assert_string_equal(w->sent[2].thread_ts, "ts-1");
    assert_int_equal(wc_pipeline_in_hand(w->p), 0);
    s_world_free(w);
}

static void test_digest_failed_part_releases_only_its_changes(void **state)
{
    static const int script[] = {WC_OK, WC_ERR_SERVICE};
    struct world_opts wo = {.n_nts = 1, .digest_ms = 3000,
                            .nts = {{.verdicts = HUMAN_ONLY, .fit = 2, .script = script,
                                     .n_script = 2}}};
    struct world *w = s_world(&wo);
    struct msg_rec *r[4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        char sg[16], id[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        snprintf(id, sizeof(id), "ev-%d", i);
        s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "AuthorizeSecurityGroupIngress", .time_ms = T0 - 62000 + i, .resource = sg, .who = "alice", .key = "AKIA1"});
    }
    for (int i = 0; i < 4; i++) {
        char sg[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        r[i] = s_receive(w, s_change(sg, T0 - 60000 + i, "eu-west-1"), 1);
    }
    s_run(w, 60000);
    assert_int_equal(r[0]->fate, F_DELETED);
    assert_int_equal(r[1]->fate, F_DELETED);
    assert_int_equal(r[2]->fate, F_RELEASED);
    assert_int_equal(r[3]->fate, F_RELEASED);
    assert_true(wc_ledger_accepted(w->ledger, "fake#0", "ev-0/sg-0"));
    assert_false(wc_ledger_accepted(w->ledger, "fake#0", "ev-2/sg-2"));
    s_world_free(w);
}

/* --- lookups through the scheduler ------------------------------------------ */

static void test_burst_scanned_and_fair(void **state)
{
    struct world_opts wo = {.n_nts = 1, .max_in_hand = 256,
                            .nts = {{.verdicts = WC_VERDICT_MASK_ALL}}};
    struct world *w = s_world(&wo);
    size_t n = 120, deleted = 0, us_lookup_at = SIZE_MAX;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        char sg[16], id[16];

        snprintf(sg, sizeof(sg), "sg-%zu", i);
        snprintf(id, sizeof(id), "ev-%zu", i);
        s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "AuthorizeSecurityGroupIngress", .time_ms = T0 - 120000 + (int64_t)i * 500, .resource = sg, .who = i % 5 == 0 ? "alice" : i % 5 == 1 ? "asg" : "tf"});
    }
    s_add_event(&w->trail, &(struct ev_spec){.id = "ev-us", .name = "AuthorizeSecurityGroupIngress", .time_ms = T0 - 30000, .resource = "sg-us", .who = "bob", .key = NULL, .region = "us-east-2"});
    for (size_t i = 0; i < n; i++) {
        char sg[16];

        snprintf(sg, sizeof(sg), "sg-%zu", i);
        s_receive(w, s_change(sg, T0 - 118000 + (int64_t)i * 500, "eu-west-1"), 1);
    }
    s_receive(w, s_change("sg-us", T0 - 28000, "us-east-2"), 1);
    s_run(w, 120000);
    for (size_t i = 0; i < w->n_msgs; i++)
        deleted += w->msgs[i].fate == F_DELETED;
    assert_int_equal(deleted, n + 1);
    /* one scan, a few pages, for the burst */
    assert_true(w->lookups * 10 <= n + 1);
    assert_true(w->scans >= 1);
    /* the other region's change was not made to wait behind the burst */
    for (size_t i = 0; i < w->n_lookup_regions; i++)
        if (!strcmp(w->lookup_regions[i], "us-east-2")) {
            us_lookup_at = i;
            break;
        }
    assert_true(us_lookup_at <= 1);
    assert_int_equal(s_posts_naming(w, 0, "sg-us"), 1);
    s_world_free(w);
}

/* Posts to a paced notifier (Slack, 1/s) take turns by account-region: a
 * burst's 20 queued posts do not hold up another region's change. */
static void test_posts_fair_across_regions(void **state)
{
    struct world_opts wo = {.n_nts = 1, .max_in_hand = 64,
                            .nts = {{.verdicts = HUMAN_ONLY, .interval_ms = 1000}}};
    struct world *w = s_world(&wo);
    size_t at = SIZE_MAX;

    (void)state;
    for (int i = 0; i < 20; i++) {
        char sg[16], id[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        snprintf(id, sizeof(id), "ev-%d", i);
        s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "AuthorizeSecurityGroupIngress",
                                                 .time_ms = T0 - 62000 + i, .resource = sg,
                                                 .who = "alice"});
    }
    s_add_event(&w->trail, &(struct ev_spec){.id = "ev-us", .name = "AuthorizeSecurityGroupIngress",
                                             .time_ms = T0 - 30000, .resource = "sg-us",
                                             .who = "bob", .region = "us-east-2"});
    for (int i = 0; i < 20; i++) {
        char sg[16];

        snprintf(sg, sizeof(sg), "sg-%d", i);
        s_receive(w, s_change(sg, T0 - 60000 + i, "eu-west-1"), 1);
    }
    s_run(w, 2500); /* the burst's posts are queued, a couple sent */
    s_receive(w, s_change("sg-us", T0 - 28000, "us-east-2"), 1);
    s_run(w, 120000);
    assert_int_equal(w->n_sent, 21);
    for (size_t i = 0; i < w->n_sent; i++)
        if (!strcmp(w->sent[i].resources[0], "sg-us"))
            at = i;
    /* sent within about a second of being decided, not after the burst */
    assert_true(at <= 5);
    s_world_free(w);
}

static void test_scan_and_one_by_one_agree(void **state)
{
    struct world *ws[2];
    size_t n = 60;

    (void)state;
    for (int v = 0; v < 2; v++) {
        struct world_opts wo = {.n_nts = 1, .no_scan = v == 1, .max_in_hand = 128,
                                .nts = {{.verdicts = WC_VERDICT_MASK_ALL}}};
        struct world *w = s_world(&wo);

        for (size_t i = 0; i < n; i++) {
            char sg[16], id[16];

            snprintf(sg, sizeof(sg), "sg-%zu", i);
            snprintf(id, sizeof(id), "ev-%zu", i);
            if (i % 7 != 3) /* some changes have no event */
                s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "AuthorizeSecurityGroupIngress", .time_ms = T0 - 120000 + (int64_t)i * 1000, .resource = sg, .who = i % 3 == 0 ? "alice" : i % 3 == 1 ? "tf" : "asg"});
            snprintf(id, sizeof(id), "ro-%zu", i);
            s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "DescribeSecurityGroups", .time_ms = T0 - 119000 + (int64_t)i * 1000, .resource = sg, .who = "alice", .key = NULL, .region = NULL, .read_only = true});
            snprintf(id, sizeof(id), "other-%zu", i);
            s_add_event(&w->trail, &(struct ev_spec){.id = id, .name = "RunInstances", .time_ms = T0 - 119500 + (int64_t)i * 1000, .resource = "i-0", .who = "bob"});
        }
        for (size_t i = 0; i < n; i++) {
            char sg[16];

            snprintf(sg, sizeof(sg), "sg-%zu", i);
            s_receive(w, s_change(sg, T0 - 118000 + (int64_t)i * 1000, "eu-west-1"), 1);
        }
        s_run(w, 300000);
        ws[v] = w;
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ws[0]->msgs[i].fate, ws[1]->msgs[i].fate);
        assert_int_equal(ws[0]->msgs[i].release_s, ws[1]->msgs[i].release_s);
    }
    assert_int_equal(ws[0]->decided, ws[1]->decided);
    assert_int_equal(ws[0]->n_sent, ws[1]->n_sent);
    for (size_t i = 0; i < ws[0]->n_sent; i++)
        assert_string_equal(ws[0]->sent[i].resources[0], ws[1]->sent[i].resources[0]);
    assert_true(ws[0]->lookups * 4 < ws[1]->lookups);
    s_world_free(ws[0]);
    s_world_free(ws[1]);
}

static void test_room_bounded(void **state)
{
    struct world_opts wo = {.n_nts = 1, .max_in_hand = 3, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);

    (void)state;
    assert_int_equal(wc_pipeline_room(w->p), 3);
    s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    s_receive(w, s_change("sg-2", T0 - 60000, "eu-west-1"), 1);
    assert_int_equal(wc_pipeline_room(w->p), 1);
    s_receive(w, s_change("sg-3", T0 - 60000, "eu-west-1"), 1);
    assert_int_equal(wc_pipeline_room(w->p), 0);
    s_run(w, 10000);
    assert_int_equal(wc_pipeline_room(w->p), 3);
    s_world_free(w);
}

static void test_once_waits_for_deferred(void **state)
{
    struct world_opts wo = {.n_nts = 1, .nts = {{.verdicts = HUMAN_ONLY}}};
    struct world *w = s_world(&wo);

    (void)state;
    s_receive(w, s_change("sg-1", T0 - 60000, "eu-west-1"), 1);
    s_run(w, 5000);
    assert_false(wc_pipeline_once_done(w->p)); /* released for 30 s: it comes back */
    w->clock.now += 30000 + WC_PIPELINE_DEFERRED_GRACE_MS + 1000;
    assert_true(wc_pipeline_once_done(w->p)); /* did not: another worker has it */
    s_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_stream_event_first),
        cmocka_unit_test(test_stream_event_later),
        cmocka_unit_test(test_stream_missed_falls_back),
        cmocka_unit_test(test_stream_bad_input_and_shutdown),
        cmocka_unit_test(test_malformed_left_for_redrive),
        cmocka_unit_test(test_not_a_change_deleted),
        cmocka_unit_test(test_subscription_confirmation_left),
        cmocka_unit_test(test_periodic_window_from_policy),
        cmocka_unit_test(test_ledger_records_before_delete),
        cmocka_unit_test(test_lease_heartbeat_while_send_hangs),
        cmocka_unit_test(test_throttled_send_waits_retry_after),
        cmocka_unit_test(test_lookup_error_released_30),
        cmocka_unit_test(test_throttled_lookup_retried_not_failed),
        cmocka_unit_test(test_oversized_fetch),
        cmocka_unit_test(test_refused_topic_left_never_looked_up),
        cmocka_unit_test(test_refused_bucket_never_fetched),
        cmocka_unit_test(test_fetched_item_account_checked),
        cmocka_unit_test(test_allowlist_reloaded),
        cmocka_unit_test(test_fetches_bounded),
        cmocka_unit_test(test_shutdown_releases_waiting),
        cmocka_unit_test(test_duplicate_receive_keeps_newest_handle),
        cmocka_unit_test(test_copies_in_hand_sent_once),
        cmocka_unit_test(test_dry_run_touches_nothing),
        cmocka_unit_test(test_ledger_full_pauses_receiving),
        cmocka_unit_test(test_unrecorded_delivery_recorded_before_delete),
        cmocka_unit_test(test_redelivery_asks_the_ledger_thoroughly),
        cmocka_unit_test(test_ledger_actions),
        cmocka_unit_test(test_ledger_answers_in_either_order),
        cmocka_unit_test(test_ledger_copy_waits_for_first),
        cmocka_unit_test(test_ledger_record_failure_retried),
        cmocka_unit_test(test_ledger_thorough_failure_posts_nothing),
        cmocka_unit_test(test_ledger_shutdown_waits),
        cmocka_unit_test(test_ledger_calls_bounded),
        cmocka_unit_test(test_digest_one_message_per_actor_session),
        cmocka_unit_test(test_digest_split_in_threaded_parts),
        cmocka_unit_test(test_digest_failed_part_releases_only_its_changes),
        cmocka_unit_test(test_burst_scanned_and_fair),
        cmocka_unit_test(test_posts_fair_across_regions),
        cmocka_unit_test(test_scan_and_one_by_one_agree),
        cmocka_unit_test(test_room_bounded),
        cmocka_unit_test(test_once_waits_for_deferred),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
