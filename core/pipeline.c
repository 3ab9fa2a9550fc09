#include "core/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/digest.h"
#include "core/err.h"
#include "core/str.h"
#include "core/trust.h"

#define S_MAX_NOTIFIERS 64
/* A throttled send is tried again this many times before the messages it
 * names are released for a later try. */
#define S_SEND_THROTTLE_TRIES 5
#define S_ID_SLOT_BITS 20

/* --- messages in hand ------------------------------------------------------ */

enum s_state {
    S_FETCH = 1, /* oversized item being fetched */
    S_STREAM,    /* waiting for its event on the stream (until stream_until_ms) */
    S_LOOKUP,    /* waiting in the scheduler */
    S_NOTIFY,    /* decided: per notifier (bit k of pending), the ledger
                  * asked (checking), then a send queued or under way, then
                  * the ledger recording it (recording); or following a copy */
    S_FINAL,     /* its delete or release is pending or under way */
};

struct s_msg {
    uint64_t id;
    struct wc_queue_message qm;
    char *stale_handle;        /* the previous receipt handle, while an action may hold it */
    enum s_state state;
    struct wc_notification *note;
    struct wc_finding *f;
    char *subject;
    size_t calls;              /* LookupEvents calls made for it */
    int64_t lease_end_ms;      /* monotonic */
    int64_t received_ms;       /* monotonic: the outcome line's duration */
    int64_t stream_until_ms;   /* S_STREAM: monotonic; then LookupEvents */
    int64_t stream_decide_ms;  /* S_STREAM: its event is in; decided then (0: not yet) */
    bool extending;            /* in a VISIBILITY heartbeat under way */
    /* S_NOTIFY */
    uint64_t pending;          /* notifiers still to accept (bit i: notifiers[i]) */
    uint64_t following;        /* notifiers for which another message in hand with the
                                * same subject (a copy) is being sent: its answer is ours */
    uint64_t checking;         /* notifiers whose LEDGER_CHECK is queued or under way */
    uint64_t recording;        /* notifiers whose LEDGER_RECORD is queued or under way */
    uint64_t known;            /* notifiers the ledger says accepted it before (no post) */
    bool sent, failed, refused;
    int retry_s;
    /* S_FINAL */
    int release_s;             /* -1: delete; >= 0: visible again after this */
    bool final_queued;         /* in an action (queued or under way) */
};

/* One message of a notifier: a finding alone, or a part of a digest. */
struct s_thread {
    int refs;
    char ts[WC_THREAD_TS_MAX];
};

struct s_send {
    size_t notifier;
    const struct wc_finding **findings;
    uint64_t *msgs;
    size_t n;
    int part, parts;
    struct s_thread *thread;   /* shared by the parts of one digest */
    int throttles;
    int64_t not_before_ms;
    struct s_send *next;
};

struct s_notifier {
    struct wc_notifier *n;
    struct wc_digest *digest;  /* NULL: no digests for this notifier */
    struct s_send *head, *tail;
    int in_flight;
    int64_t next_ms;           /* pacing: no send before this */
    char last_key[96];         /* account-region of the last send handed out */
};

struct s_act {
    struct wc_action a;
    uint64_t msg;                          /* FETCH, LEDGER_* */
    uint64_t call_id;                      /* LOOKUP */
    struct s_send *send;                   /* SEND */
    size_t notifier;                       /* LEDGER_* */
    char *subject;                         /* LEDGER_*: a copy */
    uint64_t msgs[WC_QUEUE_MAX_BATCH];     /* DELETE, VISIBILITY */
    bool heartbeat;                        /* VISIBILITY: a lease extension */
    struct s_act *next;
};

struct s_deferred {
    char *id;
    int64_t due_ms;     /* wall clock */
    int64_t capture_ms;
};

struct wc_pipeline {
    struct wc_pipeline_options o;
    struct wc_pipeline_ports ports;
    struct wc_clock clock;
    struct wc_policy policy;
    struct wc_sched *sched;
    struct wc_evindex *evx;       /* the event stream's index (options.stream) */
    size_t n_streaming;           /* messages in S_STREAM */
    int64_t stream_due_ms;        /* the earliest S_STREAM grace end (monotonic) */

    struct s_msg **slots;       /* max_in_hand */
    uint32_t *free_slots;
    size_t n_free;
    uint64_t generation;
    size_t in_hand;

    struct s_notifier *nts;
    size_t n_nts;

    struct s_act *ready_head, *ready_tail; /* actions to hand out */
    struct s_act *fetch_head, *fetch_tail; /* FETCH actions waiting for a fetch slot */
    size_t fetches_out;                     /* FETCH actions handed out */
    struct s_act *ledger_head, *ledger_tail;/* LEDGER_* actions waiting for a slot */
    size_t ledger_out;                      /* LEDGER_* actions handed out */
    struct s_act *out;                      /* handed out, not yet back */
    size_t n_out;
    uint64_t next_action_id;

    int64_t sched_wake_ms;
    int64_t next_heartbeat_ms;
    int64_t ledger_down_until_ms; /* receiving paused: the ledger failed to record */
    bool stopping;

    struct s_deferred *deferred;
    size_t n_deferred;

    struct wc_pipeline_stats stats;
};

static int64_t s_mono(const struct wc_pipeline *p)
{
    return wc_clock_mono_ms(&p->clock);
}

static int64_t s_now(const struct wc_pipeline *p)
{
    return wc_clock_now_ms(&p->clock);
}

static struct s_msg *s_msg_get(const struct wc_pipeline *p, uint64_t id)
{
    size_t slot = (size_t)(id & ((1u << S_ID_SLOT_BITS) - 1));
    struct s_msg *m;

    if (slot >= p->o.max_in_hand)
        return NULL;
    m = p->slots[slot];
    return m && m->id == id ? m : NULL;
}

static void s_msg_free(struct wc_pipeline *p, struct s_msg *m)
{
    size_t slot = (size_t)(m->id & ((1u << S_ID_SLOT_BITS) - 1));

    if (m->state == S_STREAM) {
        wc_evindex_unwatch(p->evx, m->id);
        p->n_streaming--;
    }
    p->slots[slot] = NULL;
    p->free_slots[p->n_free++] = (uint32_t)slot;
    p->in_hand--;
    wc_metrics_in_flight(p->ports.metrics, -1);
    wc_queue_message_clean_up(&m->qm);
    free(m->stale_handle);
    wc_notification_destroy(m->note);
    wc_finding_destroy(m->f);
    free(m->subject);
    free(m);
}

/* --- deferred messages (for --once and the oldest-retry gauge) ------------- */

static void s_deferred_remove(struct wc_pipeline *p, const char *id)
{
    for (size_t i = 0; i < p->n_deferred; i++) {
        if (!strcmp(p->deferred[i].id, id)) {
            free(p->deferred[i].id);
            p->deferred[i] = p->deferred[--p->n_deferred];
            return;
        }
    }
}

static void s_deferred_add(struct wc_pipeline *p, const char *id, int64_t due_ms,
                           int64_t capture_ms)
{
    struct s_deferred *d;

    s_deferred_remove(p, id);
    if (p->n_deferred >= WC_PIPELINE_DEFERRED_MAX) { /* forget the one due first */
        size_t first = 0;

        for (size_t i = 1; i < p->n_deferred; i++)
            if (p->deferred[i].due_ms < p->deferred[first].due_ms)
                first = i;
        free(p->deferred[first].id);
        p->deferred[first] = p->deferred[--p->n_deferred];
    }
    d = realloc(p->deferred, (p->n_deferred + 1) * sizeof(*d));
    if (!d)
        return;
    p->deferred = d;
    d[p->n_deferred] = (struct s_deferred){wc_strdup(id), due_ms, capture_ms};
    if (d[p->n_deferred].id)
        p->n_deferred++;
}

/* Forget deferred messages that did not come back in time (another worker
 * has them, or they went to the dead-letter queue); warn when asked. */
static void s_deferred_prune(struct wc_pipeline *p, bool warn)
{
    int64_t now = s_now(p), oldest = 0;

    for (size_t i = 0; i < p->n_deferred;) {
        if (now > p->deferred[i].due_ms + WC_PIPELINE_DEFERRED_GRACE_MS) {
            if (warn)
                WC_LOGW(p->ports.logger, p->deferred[i].id,
                        "deferred message did not come back (another worker has it, or it "
                        "went to the dead-letter queue): no longer waiting for it");
            free(p->deferred[i].id);
            p->deferred[i] = p->deferred[--p->n_deferred];
            continue;
        }
        if (now - p->deferred[i].capture_ms > oldest)
            oldest = now - p->deferred[i].capture_ms;
        i++;
    }
    p->stats.oldest_retry_age_s = oldest / 1000;
    wc_metrics_set_oldest_retry_age(p->ports.metrics, oldest / 1000);
}

/* --- actions ------------------------------------------------------------------ */

static struct s_act *s_act_new(struct wc_pipeline *p, enum wc_action_kind kind)
{
    struct s_act *a = calloc(1, sizeof(*a));

    if (!a)
        return NULL;
    a->a.kind = kind;
    a->a.id = ++p->next_action_id;
    return a;
}

static void s_act_free(struct s_act *a)
{
    if (!a)
        return;
    free(a->subject);
    free(a);
}

static void s_act_ready(struct wc_pipeline *p, struct s_act *a)
{
    a->next = NULL;
    if (p->ready_tail)
        p->ready_tail->next = a;
    else
        p->ready_head = a;
    p->ready_tail = a;
}

static struct s_act *s_act_take(struct wc_pipeline *p, uint64_t id, enum wc_action_kind kind)
{
    for (struct s_act **pp = &p->out; *pp; pp = &(*pp)->next) {
        struct s_act *a = *pp;

        if (a->a.id == id && a->a.kind == kind) {
            *pp = a->next;
            p->n_out--;
            return a;
        }
    }
    return NULL;
}

/* --- outcomes -------------------------------------------------------------- */

static const char *s_actor(const struct wc_finding *f)
{
    const struct wc_actor *a;

    if (!f || !f->n_matches)
        return "-";
    a = &f->matches[0].cls.actor;
    if (a->session_name)
        return a->session_name;
    if (a->name)
        return a->name;
    return a->arn ? a->arn : "-";
}

static void s_outcome(struct wc_pipeline *p, const struct s_msg *m, const char *action)
{
    const struct wc_finding *f = m->f;
    bool change = f && f->is_change;
    char resource[512];
    struct wc_log_field fields[7];

    snprintf(resource, sizeof(resource), "%s/%s", change ? f->change.resource_type : "-",
             change ? f->change.resource_id : "-");
    /* fields of their own in JSON lines; key=value text either way */
    fields[0] = WC_LOG_STR("verdict", f ? wc_verdict_name(f->verdict) : "-");
    fields[1] = WC_LOG_STR("resource", resource);
    fields[2] = WC_LOG_STR("actor", s_actor(f));
    fields[3] = WC_LOG_STR("action", action);
    fields[4] = WC_LOG_STR("account", change ? f->change.account_id : NULL);
    fields[5] = WC_LOG_STR("region", change ? f->change.region : NULL);
    fields[6] = WC_LOG_NUM("duration_ms", s_mono(p) - m->received_ms);
    WC_LOG_FIELDS(p->ports.logger, WC_LOG_INFO, m->qm.message_id, fields, 7, "%s", "");
}

static void s_finish(struct wc_pipeline *p, struct s_msg *m, int release_s);

/* The message leaves our hands without a queue call: the lease runs out and
 * the queue hands it out again (its redrive policy counts the receives). */
static void s_leave(struct wc_pipeline *p, struct s_msg *m)
{
    p->stats.left++;
    if (p->o.dry_run) { /* a dry run hides nothing: visible again at once */
        s_finish(p, m, 0);
        return;
    }
    s_msg_free(p, m);
}

/* Delete (release_s < 0) or release m. A dry run deletes nothing and
 * releases at once what it has looked at (visible again for the real
 * worker). */
static void s_stream_leave(struct wc_pipeline *p, struct s_msg *m)
{
    if (m->state != S_STREAM)
        return;
    wc_evindex_unwatch(p->evx, m->id);
    p->n_streaming--;
    m->state = S_LOOKUP; /* (the caller sets the next state) */
}

static void s_finish(struct wc_pipeline *p, struct s_msg *m, int release_s)
{
    s_stream_leave(p, m);
    m->state = S_FINAL;
    m->release_s = p->o.dry_run ? 0 : release_s;
    m->final_queued = false;
}

static void s_release(struct wc_pipeline *p, struct s_msg *m, int delay_s)
{
    s_finish(p, m, delay_s < 0 ? 0 : delay_s);
}

/* --- notifying ------------------------------------------------------------- */

static void s_send_free(struct s_send *s)
{
    if (!s)
        return;
    if (s->thread && --s->thread->refs == 0)
        free(s->thread);
    free(s->findings);
    free(s->msgs);
    free(s);
}

static struct s_send *s_send_new(size_t notifier, size_t n)
{
    struct s_send *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->notifier = notifier;
    s->findings = calloc(n, sizeof(*s->findings));
    s->msgs = calloc(n, sizeof(*s->msgs));
    if (!s->findings || !s->msgs) {
        s_send_free(s);
        return NULL;
    }
    return s;
}

/* "account/region" of a send's (first) change. */
static void s_send_key(const struct s_send *s, char *out, size_t len)
{
    const struct wc_change *c = &s->findings[0]->change;

    snprintf(out, len, "%s/%s", c->account_id ? c->account_id : "-",
             c->region ? c->region : "-");
}

static bool s_send_same_key(const struct s_send *s, const char *key)
{
    char k[96];

    s_send_key(s, k, sizeof(k));
    return !strcmp(k, key);
}

static void s_send_queue(struct s_notifier *nt, struct s_send *s, bool front)
{
    if (front) {
        s->next = nt->head;
        nt->head = s;
        if (!nt->tail)
            nt->tail = s;
        return;
    }
    s->next = NULL;
    if (nt->tail)
        nt->tail->next = s;
    else
        nt->head = s;
    nt->tail = s;
}

static void s_notify_check(struct wc_pipeline *p, struct s_msg *m);

/* Another message in hand, waiting for notifier k with the same subject and
 * sending it itself: m is a copy (SQS delivers at least once). */
static struct s_msg *s_leader(struct wc_pipeline *p, const struct s_msg *m, size_t k)
{
    uint64_t bit = (uint64_t)1 << k;

    for (size_t i = 0; i < p->o.max_in_hand; i++) {
        struct s_msg *o = p->slots[i];

        if (o && o != m && o->state == S_NOTIFY && (o->pending & bit) && !(o->following & bit) &&
            o->subject && !strcmp(o->subject, m->subject))
            return o;
    }
    return NULL;
}

/* Notifier k is done with m: accepted (rc WC_OK) or not. So are the copies
 * of m that waited for m's send. */
static void s_notifier_done(struct wc_pipeline *p, struct s_msg *m, size_t k, int rc,
                            int retry_s)
{
    uint64_t bit = (uint64_t)1 << k, copies[16];
    size_t n_copies = 0;

    if (!m || m->state != S_NOTIFY || !(m->pending & bit))
        return;
    if (!(m->following & bit)) {
        for (size_t i = 0; i < p->o.max_in_hand && n_copies < 16; i++) {
            struct s_msg *o = p->slots[i];

            if (o && o != m && o->state == S_NOTIFY && (o->following & bit) &&
                !strcmp(o->subject, m->subject)) {
                o->following &= ~bit;
                copies[n_copies++] = o->id;
            }
        }
    }
    m->pending &= ~bit;
    m->following &= ~bit;
    m->checking &= ~bit;  /* (an answer still under way is then ignored) */
    m->recording &= ~bit;
    if (rc == WC_OK) {
        if (!(m->known & bit)) /* (the outcome line: posted, or posted before) */
            m->sent = true;
    } else if (rc == WC_ERR_INVALID || rc == WC_ERR_AUTH) {
        m->refused = true;
    } else {
        m->failed = true;
        if (retry_s > m->retry_s)
            m->retry_s = retry_s;
    }
    s_notify_check(p, m);
    for (size_t i = 0; i < n_copies; i++)
        s_notifier_done(p, s_msg_get(p, copies[i]), k, rc, retry_s);
}

/* Every notifier has answered for m: delete, release or leave it. */
static void s_notify_check(struct wc_pipeline *p, struct s_msg *m)
{
    if (m->pending)
        return;
    if (m->refused) {
        s_outcome(p, m, "notify-refused, left for redrive");
        p->stats.errors++;
        s_leave(p, m);
    } else if (m->failed) {
        s_outcome(p, m, "notify-failed, retry");
        p->stats.errors++;
        s_release(p, m, m->retry_s > 0 ? m->retry_s : WC_PIPELINE_FAILURE_RETRY_S);
    } else {
        s_outcome(p, m, p->o.dry_run ? "dry-run" : m->sent ? "notified, deleted" : "deleted");
        s_finish(p, m, -1);
    }
}

/* The ledger could not record that notifier_id accepted m: keep m (a
 * restart must know; the ledger writes it at its next record), stop taking
 * new messages for a while, and say not ready. */
static void s_ledger_failed(struct wc_pipeline *p, struct s_msg *m, const char *notifier_id)
{
    WC_LOGE(p->ports.logger, m->qm.message_id, "cannot record delivery to %s: not receiving "
            "for %d s", notifier_id, WC_PIPELINE_FAILURE_RETRY_S);
    wc_metrics_ledger_failure(p->ports.metrics);
    p->stats.ledger_failures++;
    p->ledger_down_until_ms = s_mono(p) + WC_PIPELINE_FAILURE_RETRY_S * 1000;
}

/* Queue one send of one finding (m's) to notifier k. */
static int s_send_one(struct wc_pipeline *p, size_t k, struct s_msg *m)
{
    struct s_send *s = s_send_new(k, 1);

    if (!s)
        return WC_ERR_NOMEM;
    s->findings[0] = m->f;
    s->msgs[0] = m->id;
    s->n = 1;
    s_send_queue(&p->nts[k], s, false);
    return WC_OK;
}

/* A digest group of notifier k is due: split it into messages that fit. */
static void s_digest_out(struct wc_pipeline *p, size_t k, struct wc_digest_group *g)
{
    struct s_notifier *nt = &p->nts[k];
    struct s_thread *thread = NULL;
    size_t i = 0, parts = 0, *cut = calloc(g->n + 1, sizeof(*cut));
    const struct wc_finding **fs = NULL;
    uint64_t *ids = NULL;
    size_t n = 0;

    /* findings of messages still waiting for this notifier, in order */
    fs = calloc(g->n ? g->n : 1, sizeof(*fs));
    ids = calloc(g->n ? g->n : 1, sizeof(*ids));
    if (!cut || !fs || !ids)
        goto fail;
    for (size_t j = 0; j < g->n; j++) {
        struct s_msg *m = s_msg_get(p, g->tokens[j]);

        if (m && m->state == S_NOTIFY && m->f == g->findings[j]) {
            fs[n] = g->findings[j];
            ids[n++] = g->tokens[j];
        }
    }
    while (i < n) {
        struct wc_notice notice = {.findings = fs + i, .n_findings = n - i};

        cut[parts++] = i;
        i += wc_notifier_fit(nt->n, &notice);
    }
    cut[parts] = n;
    if (parts > 1 && !(thread = calloc(1, sizeof(*thread))))
        goto fail;
    if (n > 1)
        WC_LOGI(p->ports.logger, NULL, "%s: %zu changes by one actor session in %zu message(s)",
                nt->n->id, n, parts);
    for (size_t q = 0; q < parts; q++) {
        size_t len = cut[q + 1] - cut[q];
        struct s_send *s = s_send_new(k, len);

        if (!s) {
            for (size_t j = cut[q]; j < n; j++)
                s_notifier_done(p, s_msg_get(p, ids[j]), k, WC_ERR_NOMEM, 0);
            break;
        }
        memcpy(s->findings, fs + cut[q], len * sizeof(*fs));
        memcpy(s->msgs, ids + cut[q], len * sizeof(*ids));
        s->n = len;
        if (parts > 1) {
            s->part = (int)q + 1;
            s->parts = (int)parts;
            s->thread = thread;
            thread->refs++;
        }
        s_send_queue(nt, s, false);
    }
    if (thread && thread->refs == 0)
        free(thread);
    free(cut);
    free(fs);
    free(ids);
    return;
fail:
    for (size_t j = 0; j < g->n; j++)
        s_notifier_done(p, s_msg_get(p, g->tokens[j]), k, WC_ERR_NOMEM, 0);
    free(cut);
    free(fs);
    free(ids);
}

static void s_digests_due(struct wc_pipeline *p, bool flush)
{
    int64_t now = s_mono(p);

    for (size_t k = 0; k < p->n_nts; k++) {
        struct wc_digest_group g = WC_DIGEST_GROUP_INIT;

        if (!p->nts[k].digest)
            continue;
        while (wc_digest_take_due(p->nts[k].digest, now, flush, &g)) {
            s_digest_out(p, k, &g);
            wc_digest_group_clean_up(&g);
        }
    }
}

/* Queue a LEDGER_CHECK (record false) or LEDGER_RECORD of (notifier k,
 * m's subject): handed out by wc_pipeline_next, WC_PIPELINE_MAX_LEDGER at
 * once. Out of memory: notifier k is done with m, failed (m may be
 * finished by that). */
static void s_ledger_ask(struct wc_pipeline *p, struct s_msg *m, size_t k, bool record)
{
    uint64_t bit = (uint64_t)1 << k;
    struct s_act *a = s_act_new(p, record ? WC_ACTION_LEDGER_RECORD : WC_ACTION_LEDGER_CHECK);

    if (!a || !(a->subject = wc_strdup(m->subject))) {
        s_act_free(a);
        WC_LOGE(p->ports.logger, m->qm.message_id, "out of memory");
        s_notifier_done(p, m, k, WC_ERR_NOMEM, WC_PIPELINE_FAILURE_RETRY_S);
        return;
    }
    a->msg = m->id;
    a->notifier = k;
    a->a.log_id = m->qm.message_id;
    a->a.notifier = p->nts[k].n;
    a->a.ledger = p->ports.ledger;
    a->a.subject = a->subject;
    /* delivered before: maybe accepted long ago, so ask thoroughly */
    a->a.thorough = !record && m->qm.receive_count > 1;
    if (record)
        m->recording |= bit;
    else
        m->checking |= bit;
    if (p->ledger_tail)
        p->ledger_tail->next = a;
    else
        p->ledger_head = a;
    p->ledger_tail = a;
}

/* Notifier k is to be handed m's finding (the ledger has not seen it): in
 * a digest or alone. m may be finished by a failure here. */
static void s_to_notifier(struct wc_pipeline *p, struct s_msg *m, size_t k)
{
    int rc;

    if (p->nts[k].digest && m->f->verdict == WC_VERDICT_HUMAN && m->f->n_matches > 0 &&
        !p->stopping)
        rc = wc_digest_add(p->nts[k].digest, m->f, m->id, s_mono(p));
    else
        rc = s_send_one(p, k, m);
    if (rc != WC_OK)
        s_notifier_done(p, m, k, rc, WC_PIPELINE_FAILURE_RETRY_S);
}

/* m is decided and to be delivered: every notifier that wants its verdict
 * and has not accepted it yet gets it. Unless a copy of m in hand is on
 * its way to that notifier already (its answer is then m's), the ledger is
 * asked first (a dry run asks nothing). */
static void s_deliver(struct wc_pipeline *p, struct s_msg *m)
{
    struct wc_buf subject = WC_BUF_INIT;
    uint64_t id = m->id;

    m->state = S_NOTIFY;
    m->pending = 0;
    if (wc_worker_subject(m->f, m->qm.message_id, &subject) != WC_OK ||
        !(m->subject = wc_buf_steal(&subject))) {
        wc_buf_clean_up(&subject);
        WC_LOGE(p->ports.logger, m->qm.message_id, "out of memory");
        p->stats.errors++;
        s_release(p, m, WC_PIPELINE_FAILURE_RETRY_S);
        return;
    }
    for (size_t k = 0; k < p->n_nts; k++)
        if (wc_notifier_wants(p->nts[k].n, m->f->verdict))
            m->pending |= (uint64_t)1 << k;
    for (size_t k = 0; k < p->n_nts; k++) {
        if (!(m->pending & ((uint64_t)1 << k)))
            continue;
        if (s_leader(p, m, k)) { /* a copy of a message being handled: wait for its answer */
            m->following |= (uint64_t)1 << k;
            continue;
        }
        if (p->o.dry_run)
            s_to_notifier(p, m, k);
        else
            s_ledger_ask(p, m, k, false);
        if (!(m = s_msg_get(p, id)) || m->state != S_NOTIFY)
            return; /* finished by a failure */
    }
    s_notify_check(p, m);
}

/* --- deciding -------------------------------------------------------------- */

static void s_decide(struct wc_pipeline *p, struct s_msg *m, const struct wc_event_list *events)
{
    struct wc_plan plan;
    int rc;

    rc = wc_finding_decide(&p->policy, m->note, events, &m->f);
    if (rc != WC_OK) {
        WC_LOGE(p->ports.logger, m->qm.message_id, "cannot decide: %s", wc_strerror(rc));
        p->stats.errors++;
        s_leave(p, m);
        return;
    }
    wc_worker_plan(&p->o.schedule, m->f, m->qm.receive_count, s_now(p), &plan);
    if (plan.kind == WC_PLAN_RETRY) {
        char line[160];

        snprintf(line, sizeof(line),
                 "retry in %ds (receive %d, no matching event yet, %zu lookups)", plan.delay_s,
                 m->qm.receive_count, m->calls);
        s_outcome(p, m, line);
        if (!p->o.dry_run) {
            s_deferred_add(p, m->qm.message_id, s_now(p) + (int64_t)plan.delay_s * 1000,
                           m->f->change.capture_time_ms);
            wc_metrics_retry(p->ports.metrics);
        }
        s_release(p, m, plan.delay_s);
        return;
    }
    p->stats.decided++;
    wc_metrics_message(p->ports.metrics, wc_verdict_name(m->f->verdict));
    if (p->ports.on_decided)
        p->ports.on_decided(p->ports.ctx, m->qm.message_id, m->f);
    s_deliver(p, m);
}

static void s_to_scheduler(struct wc_pipeline *p, struct s_msg *m);

/* m's change from the events the stream has brought: true when m is
 * decided or waits for its event there (S_STREAM), false when the index
 * cannot answer for its window (LookupEvents then). */
static bool s_stream_first(struct wc_pipeline *p, struct s_msg *m)
{
    const struct wc_change *c = &m->note->change;
    struct wc_event_list ev = WC_EVENT_LIST_INIT;
    int skew = p->policy.skew_s;

    bool found;
    int64_t due;

    if (!wc_evindex_covers(p->evx, c, skew, s_now(p)))
        return false;
    found = wc_evindex_lookup_change(p->evx, c, skew, &ev) == WC_OK && wc_trail_found_write(&ev);
    wc_event_list_clean_up(&ev);
    if ((!found && p->o.stream_grace_ms <= 0) || wc_evindex_watch(p->evx, m->id, c, skew) != WC_OK)
        return false;
    /* found: decided WC_PIPELINE_STREAM_SETTLE_MS on (the events arriving
     * with it counted too); not yet: waits for it up to the grace */
    m->state = S_STREAM;
    m->stream_decide_ms = found ? s_mono(p) + WC_PIPELINE_STREAM_SETTLE_MS : 0;
    m->stream_until_ms = s_mono(p) + p->o.stream_grace_ms;
    if (m->stream_until_ms < m->stream_decide_ms)
        m->stream_until_ms = m->stream_decide_ms;
    due = found ? m->stream_decide_ms : m->stream_until_ms;
    if (p->n_streaming++ == 0 || due < p->stream_due_ms)
        p->stream_due_ms = due;
    return true;
}

/* Changes whose grace on the stream has run out: LookupEvents. */
static void s_stream_due(struct wc_pipeline *p)
{
    int64_t now = s_mono(p), next = INT64_MAX;

    if (p->n_streaming == 0 || now < p->stream_due_ms)
        return;
    for (size_t i = 0; i < p->o.max_in_hand && p->n_streaming > 0; i++) {
        struct s_msg *m = p->slots[i];

        if (!m || m->state != S_STREAM)
            continue;
        if (m->stream_decide_ms && m->stream_decide_ms <= now) {
            struct wc_event_list ev = WC_EVENT_LIST_INIT;

            if (wc_evindex_lookup_change(p->evx, &m->note->change, p->policy.skew_s, &ev) ==
                    WC_OK &&
                wc_trail_found_write(&ev)) {
                s_stream_leave(p, m);
                p->stats.stream_decided++;
                s_decide(p, m, &ev);
                wc_event_list_clean_up(&ev);
                continue;
            }
            wc_event_list_clean_up(&ev);
            m->stream_decide_ms = 0; /* (evicted meanwhile) */
        }
        if (m->stream_until_ms > now) {
            int64_t due = m->stream_decide_ms && m->stream_decide_ms < m->stream_until_ms
                              ? m->stream_decide_ms
                              : m->stream_until_ms;

            if (due < next)
                next = due;
            continue;
        }
        s_stream_leave(p, m);
        p->stats.stream_fallbacks++;
        s_to_scheduler(p, m);
    }
    p->stream_due_ms = next;
}

int wc_pipeline_stream(struct wc_pipeline *p, struct wc_str body, enum wc_evstream_kind *kind)
{
    struct wc_evstream_msg msg = WC_EVSTREAM_MSG_INIT;
    struct wc_evindex_wake wake = WC_EVINDEX_WAKE_INIT;
    enum wc_evindex_added how = 0;
    char err[160] = {0};
    int rc;

    if (kind)
        *kind = 0;
    if (!p || !p->evx)
        return WC_ERR_INVALID;
    if ((rc = wc_evstream_parse(body, &msg, err, sizeof(err))) != WC_OK) {
        WC_LOGW(p->ports.logger, NULL, "events queue: malformed message left for redrive: %s",
                err[0] ? err : wc_strerror(rc));
        return rc;
    }
    if (kind)
        *kind = msg.kind;
    if (msg.kind == WC_EVSTREAM_SNS_CONTROL) {
        /* as on the Config queue: the operator confirms; nothing is fetched */
        WC_LOGW(p->ports.logger, NULL, "events queue: an SNS subscription message (confirm "
                "this queue's subscription to the fan-out topic): left on the queue");
        wc_metrics_subscription_confirmation(p->ports.metrics, WC_METRICS_QUEUE_EVENTS);
        wc_evstream_msg_clean_up(&msg);
        return WC_ERR_UNSUPPORTED;
    }
    if (msg.kind != WC_EVSTREAM_EVENT) {
        wc_evstream_msg_clean_up(&msg);
        return WC_OK;
    }
    rc = wc_evindex_add(p->evx, &msg.event, s_now(p), &how, &wake);
    wc_evstream_msg_clean_up(&msg);
    if (rc != WC_OK) {
        WC_LOGW(p->ports.logger, NULL, "events queue: event not indexed: %s", wc_strerror(rc));
        wc_evindex_wake_clean_up(&wake);
        return rc == WC_ERR_NOMEM ? rc : WC_OK;
    }
    for (size_t i = 0; i < wake.len; i++) {
        struct s_msg *m = s_msg_get(p, wake.ids[i]);

        if (!m || m->state != S_STREAM)
            continue;
        /* decided once the events coming with this one are in too */
        m->stream_decide_ms = s_mono(p) + WC_PIPELINE_STREAM_SETTLE_MS;
        if (m->stream_decide_ms < p->stream_due_ms)
            p->stream_due_ms = m->stream_decide_ms;
    }
    wc_evindex_wake_clean_up(&wake);
    return WC_OK;
}

/* m's notification is parsed (and complete): look up or decide. */
static void s_parsed(struct wc_pipeline *p, struct s_msg *m)
{
    bool lookup = m->note->kind != WC_NOTE_OTHER &&
                  !wc_strlist_glob_any(&p->policy.ignore_resource_types,
                                       m->note->change.resource_type);

    if (!lookup) {
        s_decide(p, m, NULL);
        return;
    }
    if (p->stopping) {
        s_release(p, m, 0);
        return;
    }
    /* periodic recording: the change happened within the configured period
     * before the capture (the window the lookups and the verdict use) */
    if (wc_change_is_periodic(&m->note->change))
        m->note->change.lookback_s = p->policy.periodic_window_h * 3600;
    if (p->evx && s_stream_first(p, m))
        return;
    s_to_scheduler(p, m);
}

/* m waits for LookupEvents (the scheduler). */
static void s_to_scheduler(struct wc_pipeline *p, struct s_msg *m)
{
    int rc;

    if ((rc = wc_sched_add(p->sched, m->id, &m->note->change, s_mono(p))) != WC_OK) {
        WC_LOGW(p->ports.logger, m->qm.message_id, "cannot wait for CloudTrail (%s): "
                "looking again in %d s", wc_strerror(rc), WC_PIPELINE_FAILURE_RETRY_S);
        p->stats.errors++;
        s_release(p, m, WC_PIPELINE_FAILURE_RETRY_S);
        return;
    }
    m->state = S_LOOKUP;
}

/* Changes whose lookups the scheduler has finished. */
static void s_take_lookups(struct wc_pipeline *p)
{
    struct wc_sched_result r;

    while (wc_sched_take(p->sched, &r)) {
        struct s_msg *m = s_msg_get(p, r.id);

        if (!m || m->state != S_LOOKUP) {
            wc_event_list_clean_up(&r.events);
            continue;
        }
        m->calls += r.calls;
        wc_metrics_lookup(p->ports.metrics, (int)r.calls);
        if (r.rc == WC_ERR_CANCELLED || (r.rc != WC_OK && p->stopping)) {
            WC_LOGI(p->ports.logger, m->qm.message_id, "shutting down: released unfinished");
            s_release(p, m, 0);
        } else if (r.rc != WC_OK) {
            WC_LOGW(p->ports.logger, m->qm.message_id,
                    "CloudTrail lookup for %s failed (%s): looking again in %d s",
                    m->note->change.resource_id, wc_strerror(r.rc),
                    WC_PIPELINE_FAILURE_RETRY_S);
            p->stats.errors++;
            s_release(p, m, WC_PIPELINE_FAILURE_RETRY_S);
        } else {
            s_decide(p, m, &r.events);
        }
        wc_event_list_clean_up(&r.events);
    }
}

/* --- receiving ------------------------------------------------------------- */

size_t wc_pipeline_room(const struct wc_pipeline *p)
{
    if (!p || p->stopping || !wc_pipeline_healthy(p))
        return 0;
    return p->o.max_in_hand - p->in_hand;
}

bool wc_pipeline_healthy(const struct wc_pipeline *p)
{
    return p && s_mono(p) >= p->ledger_down_until_ms;
}

/* m names an account, topic or bucket the policy does not allow
 * (core/trust.h): never looked up nor fetched; like a malformed message,
 * left for the dead-letter queue. */
static void s_refused(struct wc_pipeline *p, struct s_msg *m, const char *why)
{
    WC_LOGW(p->ports.logger, m->qm.message_id,
            "refused message (receive %d), left for the dead-letter queue: %s",
            m->qm.receive_count, why);
    wc_metrics_message(p->ports.metrics, "invalid");
    p->stats.errors++;
    s_leave(p, m);
}

/* An SNS SubscriptionConfirmation (or UnsubscribeConfirmation): nothing
 * comes from the topic until someone visits its SubscribeURL, and the
 * worker never does (a message must not make it call out). Logged at warn
 * with the URL and the topic, and left on the queue: it comes back after
 * each lease, warned about again, then goes to the dead-letter queue, where
 * the operator finds it too. */
static void s_subscription(struct wc_pipeline *p, struct s_msg *m)
{
    const struct wc_notification *n = m->note;

    WC_LOGW(p->ports.logger, m->qm.message_id,
            "SNS %s for topic %.512s: nothing arrives from this subscription until its "
            "SubscribeURL is visited (whochanged never does it itself); left on the queue "
            "(receive %d), then the dead-letter queue. SubscribeURL: %.2048s",
            n->message_type, n->sns_topic_arn ? n->sns_topic_arn : "(none)",
            m->qm.receive_count, n->sns_subscribe_url ? n->sns_subscribe_url : "(none)");
    p->stats.subscriptions++;
    wc_metrics_subscription_confirmation(p->ports.metrics, WC_METRICS_QUEUE_CHANGES);
    s_leave(p, m);
}

void wc_pipeline_receive(struct wc_pipeline *p, struct wc_queue_message *qm)
{
    char err[256] = "";
    struct s_msg *m;
    int rc;

    p->stats.received++;
    /* a copy of a message we hold (its lease ran out, or SQS delivered it
     * twice): keep ours, with the newest receipt handle (deletes need it) */
    for (size_t i = 0; i < p->o.max_in_hand; i++) {
        struct s_msg *h = p->slots[i];

        if (h && !strcmp(h->qm.message_id, qm->message_id)) {
            WC_LOGD(p->ports.logger, qm->message_id, "received again while in hand");
            free(h->stale_handle);
            h->stale_handle = h->qm.receipt_handle;
            h->qm.receipt_handle = qm->receipt_handle;
            qm->receipt_handle = NULL;
            h->lease_end_ms = s_mono(p) + (int64_t)p->o.lease_s * 1000;
            wc_queue_message_clean_up(qm);
            return;
        }
    }
    if (p->n_free == 0 || !(m = calloc(1, sizeof(*m)))) {
        /* over room (the runner asked for too many) or out of memory: the
         * message comes back when its lease ends */
        WC_LOGW(p->ports.logger, qm->message_id, "no room: left for a later receive");
        wc_queue_message_clean_up(qm);
        return;
    }
    {
        uint32_t slot = p->free_slots[--p->n_free];

        m->id = (++p->generation << S_ID_SLOT_BITS) | slot;
        p->slots[slot] = m;
    }
    p->in_hand++;
    wc_metrics_in_flight(p->ports.metrics, 1);
    m->qm = *qm;
    memset(qm, 0, sizeof(*qm));
    m->received_ms = s_mono(p);
    m->lease_end_ms = m->received_ms + (int64_t)p->o.lease_s * 1000;
    if (m->lease_end_ms - (int64_t)p->o.lease_s * 1000 / 3 < p->next_heartbeat_ms)
        p->next_heartbeat_ms = m->lease_end_ms - (int64_t)p->o.lease_s * 1000 / 3;
    s_deferred_remove(p, m->qm.message_id);

    rc = wc_notification_parse((struct wc_str){m->qm.body, m->qm.body_len}, &m->note, err,
                               sizeof(err));
    if (rc != WC_OK) {
        WC_LOGW(p->ports.logger, m->qm.message_id,
                "invalid message (receive %d), left for the dead-letter queue: %s",
                m->qm.receive_count, err);
        wc_metrics_message(p->ports.metrics, "invalid");
        p->stats.errors++;
        s_leave(p, m);
        return;
    }
    if (wc_trust_check(&p->policy, m->note, err, sizeof(err)) != WC_OK) {
        s_refused(p, m, err);
        return;
    }
    if (wc_notification_is_subscription(m->note)) {
        s_subscription(p, m);
        return;
    }
    /* parsed: the raw body is not needed any more (memory per message in hand) */
    free(m->qm.body);
    m->qm.body = NULL;
    m->qm.body_len = 0;
    if (m->note->kind == WC_NOTE_OVERSIZED) {
        struct s_act *a = s_act_new(p, WC_ACTION_FETCH);

        if (!a) {
            s_release(p, m, WC_PIPELINE_FAILURE_RETRY_S);
            return;
        }
        a->msg = m->id;
        a->a.log_id = m->qm.message_id;
        a->a.object = &m->note->oversized;
        a->a.region = m->note->change.region;
        m->state = S_FETCH;
        /* handed out by wc_pipeline_next, WC_PIPELINE_MAX_FETCHES at once */
        if (p->fetch_tail)
            p->fetch_tail->next = a;
        else
            p->fetch_head = a;
        p->fetch_tail = a;
        return;
    }
    s_parsed(p, m);
}

void wc_pipeline_fetch_done(struct wc_pipeline *p, uint64_t id, int rc,
                            struct wc_notification *full, const char *reason)
{
    struct s_act *a = s_act_take(p, id, WC_ACTION_FETCH);
    struct s_msg *m = a ? s_msg_get(p, a->msg) : NULL;
    char why[256] = "";

    if (a)
        p->fetches_out--;
    free(a);
    if (!m || m->state != S_FETCH) {
        wc_notification_destroy(full);
        return;
    }
    if (rc == WC_OK && !full) { /* decide from the summary (explain --events) */
        s_parsed(p, m);
        return;
    }
    if (rc != WC_OK) {
        WC_LOGW(p->ports.logger, m->qm.message_id, "oversized item %s: %s",
                m->note->oversized.s3_location ? m->note->oversized.s3_location : "?",
                reason ? reason : wc_strerror(rc));
        wc_metrics_message(p->ports.metrics, "invalid");
        p->stats.errors++;
        wc_notification_destroy(full);
        if (rc == WC_ERR_INVALID) /* a broken item: the dead-letter queue */
            s_leave(p, m);
        else                      /* a failed fetch: later */
            s_release(p, m, p->stopping ? 0 : WC_PIPELINE_FAILURE_RETRY_S);
        return;
    }
    wc_notification_destroy(m->note);
    m->note = full;
    /* the item names its own account, which need not be the summary's */
    if (wc_trust_check_item(&p->policy, m->note, why, sizeof(why)) != WC_OK) {
        s_refused(p, m, why);
        return;
    }
    s_parsed(p, m);
}

/* --- lookups --------------------------------------------------------------- */

void wc_pipeline_lookup_done(struct wc_pipeline *p, uint64_t id, int rc,
                             struct wc_event_list *page)
{
    struct s_act *a = s_act_take(p, id, WC_ACTION_LOOKUP);
    struct wc_event_list empty = WC_EVENT_LIST_INIT;

    if (!a)
        return;
    p->stats.lookups_calls++;
    if (rc == WC_OK && page && page->n_skipped > 0)
        WC_LOGW(p->ports.logger, NULL, "LookupEvents %s=%s in %s/%s: %zu unusable record(s) "
                "skipped, the rest of the page used", a->a.query.attribute_key,
                a->a.query.attribute_value, a->a.query.account_id ? a->a.query.account_id : "-",
                a->a.query.region, page->n_skipped);
    if (rc == WC_ERR_THROTTLED) {
        p->stats.lookups_throttled++;
        wc_metrics_throttle(p->ports.metrics);
    }
    wc_sched_done(p->sched, a->call_id, rc, page ? page : &empty, s_mono(p));
    wc_event_list_clean_up(&empty);
    free(a);
    s_take_lookups(p);
}

/* --- sends ---------------------------------------------------------------- */

void wc_pipeline_send_done(struct wc_pipeline *p, uint64_t id, int rc,
                           const struct wc_send_result *res)
{
    struct s_act *a = s_act_take(p, id, WC_ACTION_SEND);
    struct s_send *s;
    struct s_notifier *nt;
    int retry_s = WC_PIPELINE_FAILURE_RETRY_S;

    if (!a)
        return;
    s = a->send;
    free(a);
    nt = &p->nts[s->notifier];
    nt->in_flight--;
    p->stats.sends++;
    if (rc == WC_OK) {
        wc_metrics_notification(p->ports.metrics, nt->n->id);
        if (s->thread && s->part == 1 && res && res->thread_ts[0])
            snprintf(s->thread->ts, sizeof(s->thread->ts), "%s", res->thread_ts);
        for (size_t i = 0; i < s->n; i++) {
            struct s_msg *m = s_msg_get(p, s->msgs[i]);
            uint64_t bit = (uint64_t)1 << s->notifier;

            if (!m || m->state != S_NOTIFY || !(m->pending & bit) || (m->recording & bit))
                continue;
            if (p->o.dry_run) /* nothing recorded */
                s_notifier_done(p, m, s->notifier, WC_OK, 0);
            else              /* done once recorded (LEDGER_RECORD) */
                s_ledger_ask(p, m, s->notifier, true);
        }
        s_send_free(s);
        return;
    }
    wc_metrics_notifier_failure(p->ports.metrics, nt->n->id);
    if (res && res->retry_after_ms > 0)
        retry_s = (int)((res->retry_after_ms + 999) / 1000);
    if (rc == WC_ERR_THROTTLED && ++s->throttles < S_SEND_THROTTLE_TRIES && !p->stopping) {
        /* the service asked us to slow down: this send goes first, later */
        int64_t after = res && res->retry_after_ms > 0 ? res->retry_after_ms : 1000;

        WC_LOGW(p->ports.logger, NULL, "%s throttled: sending again in %lld ms", nt->n->id,
                (long long)after);
        s->not_before_ms = s_mono(p) + after;
        if (nt->next_ms < s->not_before_ms)
            nt->next_ms = s->not_before_ms;
        s_send_queue(nt, s, true);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct s_msg *m = s_msg_get(p, s->msgs[i]);

        if (!m)
            continue;
        if (rc == WC_ERR_INVALID || rc == WC_ERR_AUTH)
            WC_LOGE(p->ports.logger, m->qm.message_id,
                    "%s refused the finding (%s, HTTP %ld): the message is left for the "
                    "dead-letter queue", nt->n->id, wc_strerror(rc), res ? res->http_status : 0);
        else
            WC_LOGW(p->ports.logger, m->qm.message_id, "%s failed (%s, HTTP %ld): retrying in %d s",
                    nt->n->id, wc_strerror(rc), res ? res->http_status : 0, retry_s);
        s_notifier_done(p, m, s->notifier, rc, retry_s);
    }
    s_send_free(s);
}

/* --- the ledger ------------------------------------------------------------- */

/* The LEDGER_* action id of kind, taken back and freed: the message that
 * still waits for this answer (no longer marked as waiting), and in *k its
 * notifier; NULL when the action is unknown or its message went on. */
static struct s_msg *s_ledger_take(struct wc_pipeline *p, uint64_t id, enum wc_action_kind kind,
                                   size_t *k)
{
    struct s_act *a = s_act_take(p, id, kind);
    struct s_msg *m;
    uint64_t bit, *waiting;

    if (!a)
        return NULL;
    p->ledger_out--;
    *k = a->notifier;
    m = s_msg_get(p, a->msg);
    s_act_free(a);
    if (!m || m->state != S_NOTIFY)
        return NULL;
    bit = (uint64_t)1 << *k;
    waiting = kind == WC_ACTION_LEDGER_CHECK ? &m->checking : &m->recording;
    if (!(*waiting & bit))
        return NULL;
    *waiting &= ~bit;
    return m;
}

void wc_pipeline_check_done(struct wc_pipeline *p, uint64_t id, bool accepted)
{
    size_t k = 0;
    struct s_msg *m = s_ledger_take(p, id, WC_ACTION_LEDGER_CHECK, &k);

    if (!m)
        return;
    if (accepted) {
        WC_LOGD(p->ports.logger, m->qm.message_id, "%s already accepted %s", p->nts[k].n->id,
                m->subject);
        /* accepted while the ledger could not write it down (disk full)?
         * then now, before the message may go */
        m->known |= (uint64_t)1 << k;
        s_ledger_ask(p, m, k, true);
        return;
    }
    s_to_notifier(p, m, k);
}

void wc_pipeline_record_done(struct wc_pipeline *p, uint64_t id, int rc)
{
    size_t k = 0;
    struct s_msg *m = s_ledger_take(p, id, WC_ACTION_LEDGER_RECORD, &k);

    if (!m)
        return;
    if (rc != WC_OK)
        s_ledger_failed(p, m, p->nts[k].n->id);
    s_notifier_done(p, m, k, rc == WC_OK ? WC_OK : WC_ERR_IO, WC_PIPELINE_FAILURE_RETRY_S);
}

/* --- queue calls -------------------------------------------------------------- */

void wc_pipeline_queue_done(struct wc_pipeline *p, uint64_t id, int rc, const int *results)
{
    struct s_act *a = s_act_take(p, id, WC_ACTION_DELETE);

    if (!a)
        a = s_act_take(p, id, WC_ACTION_VISIBILITY);
    if (!a)
        return;
    for (size_t i = 0; i < a->a.n_handles; i++) {
        struct s_msg *m = s_msg_get(p, a->msgs[i]);
        int r = rc == WC_OK && results ? results[i] : rc;

        if (!m)
            continue;
        if (a->heartbeat) {
            m->extending = false;
            if (r == WC_OK)
                m->lease_end_ms = s_mono(p) + (int64_t)p->o.lease_s * 1000;
            else
                WC_LOGW(p->ports.logger, m->qm.message_id,
                        "cannot extend the message's lease (%s): it may be received again",
                        wc_strerror(r));
            continue;
        }
        if (a->a.kind == WC_ACTION_DELETE) {
            if (r != WC_OK)
                WC_LOGW(p->ports.logger, m->qm.message_id,
                        "delete failed (%s): the message will come back and be recognised "
                        "as done", wc_strerror(r));
            else
                p->stats.deleted++;
        } else {
            if (r != WC_OK && r != WC_ERR_NOT_FOUND)
                WC_LOGW(p->ports.logger, m->qm.message_id,
                        "cannot change the message's visibility: %s", wc_strerror(r));
            p->stats.released++;
        }
        s_msg_free(p, m);
    }
    free(a);
}

/* Batch the deletes and releases that are due into actions. */
static void s_flush_final(struct wc_pipeline *p)
{
    for (;;) {
        struct s_act *a = NULL;
        int release_s = -2;

        for (size_t i = 0; i < p->o.max_in_hand; i++) {
            struct s_msg *m = p->slots[i];

            if (!m || m->state != S_FINAL || m->final_queued || m->extending)
                continue;
            if (!a) {
                release_s = m->release_s;
                if (!(a = s_act_new(p, release_s < 0 ? WC_ACTION_DELETE
                                                     : WC_ACTION_VISIBILITY)))
                    return;
                a->a.visibility_s = release_s < 0 ? 0 : release_s;
            } else if (m->release_s != release_s) {
                continue;
            }
            m->final_queued = true;
            a->msgs[a->a.n_handles] = m->id;
            a->a.handles[a->a.n_handles] = m->qm.receipt_handle;
            if (!a->a.log_id)
                a->a.log_id = m->qm.message_id;
            if (++a->a.n_handles == WC_QUEUE_MAX_BATCH)
                break;
        }
        if (!a)
            return;
        s_act_ready(p, a);
    }
}

/* Extend the lease of every message whose lease has a third or less left. */
static void s_heartbeat(struct wc_pipeline *p)
{
    int64_t now = s_mono(p), margin = (int64_t)p->o.lease_s * 1000 / 3, next = INT64_MAX;
    struct s_act *a = NULL;

    if (p->o.dry_run || now < p->next_heartbeat_ms)
        return;
    for (size_t i = 0; i < p->o.max_in_hand; i++) {
        struct s_msg *m = p->slots[i];

        if (!m || m->extending || (m->state == S_FINAL && m->final_queued))
            continue;
        if (m->lease_end_ms - margin > now) {
            if (m->lease_end_ms - margin < next)
                next = m->lease_end_ms - margin;
            continue;
        }
        if (!a) {
            if (!(a = s_act_new(p, WC_ACTION_VISIBILITY)))
                break;
            a->heartbeat = true;
            a->a.visibility_s = p->o.lease_s;
            a->a.log_id = m->qm.message_id;
        }
        m->extending = true;
        a->msgs[a->a.n_handles] = m->id;
        a->a.handles[a->a.n_handles++] = m->qm.receipt_handle;
        if (a->a.n_handles == WC_QUEUE_MAX_BATCH) {
            s_act_ready(p, a);
            a = NULL;
        }
    }
    if (a)
        s_act_ready(p, a);
    /* the messages just extended come back into view when their answer does */
    p->next_heartbeat_ms = next == INT64_MAX ? now + margin : next;
}

/* The next send of each notifier that pacing and concurrency allow. */

/* a, out of its queue, handed to the runner: out until its result is back. */
static bool s_hand_out(struct wc_pipeline *p, struct s_act *a, struct wc_action *out)
{
    a->next = p->out;
    p->out = a;
    p->n_out++;
    *out = a->a;
    return true;
}

/* The first action of a queue, taken off it (NULL when empty). */
static struct s_act *s_pop(struct s_act **head, struct s_act **tail)
{
    struct s_act *a = *head;

    if (a) {
        *head = a->next;
        if (!*head)
            *tail = NULL;
    }
    return a;
}

static bool s_next_send(struct wc_pipeline *p, int64_t now, struct wc_action *out)
{
    for (size_t k = 0; k < p->n_nts; k++) {
        struct s_notifier *nt = &p->nts[k];
        int max = nt->n->min_interval_ms > 0 ? 1 : WC_PIPELINE_MAX_SENDS;
        struct s_send *s = nt->head, **link = &nt->head, *prev = NULL;
        struct s_act *a;

        if (!s || nt->in_flight >= max || now < nt->next_ms || now < s->not_before_ms)
            continue;
        /* account-regions take turns: a burst in one does not hold up
         * another's post behind it (first queued of another key, else the
         * first queued; the parts of one digest keep their order) */
        for (struct s_send *c = nt->head, *cp = NULL; c; cp = c, c = c->next) {
            if (!s_send_same_key(c, nt->last_key)) {
                s = c;
                prev = cp;
                link = cp ? &cp->next : &nt->head;
                break;
            }
        }
        if (!(a = s_act_new(p, WC_ACTION_SEND)))
            return false;
        *link = s->next;
        if (nt->tail == s)
            nt->tail = prev;
        s->next = NULL;
        s_send_key(s, nt->last_key, sizeof(nt->last_key));
        nt->in_flight++;
        if (nt->n->min_interval_ms > 0)
            nt->next_ms = now + nt->n->min_interval_ms;
        a->send = s;
        a->a.notifier = nt->n;
        a->a.notice.findings = s->findings;
        a->a.notice.n_findings = s->n;
        a->a.notice.part = s->part;
        a->a.notice.parts = s->parts;
        a->a.notice.thread_ts = s->thread && s->thread->ts[0] ? s->thread->ts : NULL;
        {
            struct s_msg *m = s_msg_get(p, s->msgs[0]);

            a->a.log_id = m ? m->qm.message_id : NULL;
        }
        return s_hand_out(p, a, out);
    }
    return false;
}

bool wc_pipeline_next(struct wc_pipeline *p, struct wc_action *out)
{
    int64_t now;
    struct s_act *a;
    struct wc_sched_call call;

    if (!p || !out)
        return false;
    now = s_mono(p);
    if (p->evx) /* the index's age limit (cheap when nothing is due) */
        wc_evindex_expire(p->evx, s_now(p));
    s_stream_due(p);
    s_take_lookups(p);
    s_digests_due(p, p->stopping);
    s_heartbeat(p);
    s_flush_final(p);
    if ((a = s_pop(&p->ready_head, &p->ready_tail)) != NULL)
        return s_hand_out(p, a, out);
    /* the ledger first: its answers let messages in hand go on */
    if (p->ledger_out < WC_PIPELINE_MAX_LEDGER &&
        (a = s_pop(&p->ledger_head, &p->ledger_tail)) != NULL) {
        p->ledger_out++;
        return s_hand_out(p, a, out);
    }
    if (p->fetches_out < WC_PIPELINE_MAX_FETCHES &&
        (a = s_pop(&p->fetch_head, &p->fetch_tail)) != NULL) {
        p->fetches_out++;
        return s_hand_out(p, a, out);
    }
    if (s_next_send(p, now, out))
        return true;
    if (!p->stopping && wc_sched_next(p->sched, now, &call, &p->sched_wake_ms)) {
        if (!(a = s_act_new(p, WC_ACTION_LOOKUP))) {
            /* cannot hand it out: answer it as failed so its changes move on */
            wc_sched_done(p->sched, call.call_id, WC_ERR_NOMEM, NULL, now);
            return false;
        }
        a->call_id = call.call_id;
        a->a.query = call.query;
        a->a.token = call.token;
        a->a.log_id = NULL;
        return s_hand_out(p, a, out);
    }
    return false;
}

int64_t wc_pipeline_wake_ms(struct wc_pipeline *p)
{
    int64_t wake = p->stopping ? INT64_MAX : p->sched_wake_ms;

    for (size_t k = 0; k < p->n_nts; k++) {
        struct s_notifier *nt = &p->nts[k];
        int64_t due;

        if (nt->digest && (due = wc_digest_next_due_ms(nt->digest)) < wake)
            wake = due;
        if (nt->head) {
            due = nt->head->not_before_ms > nt->next_ms ? nt->head->not_before_ms : nt->next_ms;
            if (due < wake)
                wake = due;
        }
    }
    if (!p->o.dry_run && p->in_hand > 0 && p->next_heartbeat_ms < wake)
        wake = p->next_heartbeat_ms;
    if (p->n_streaming > 0 && p->stream_due_ms < wake)
        wake = p->stream_due_ms;
    return wake;
}

void wc_pipeline_shutdown(struct wc_pipeline *p)
{
    if (!p || p->stopping)
        return;
    p->stopping = true;
    for (size_t i = 0; i < p->o.max_in_hand; i++) {
        struct s_msg *m = p->slots[i];

        if (m && m->state == S_STREAM) {
            WC_LOGI(p->ports.logger, m->qm.message_id, "shutting down: released unfinished");
            s_release(p, m, 0);
        } else if (m && m->state == S_LOOKUP) {
            wc_sched_remove(p->sched, m->id);
            WC_LOGI(p->ports.logger, m->qm.message_id, "shutting down: released unfinished");
            s_release(p, m, 0);
        }
    }
    /* oversized items not yet being fetched: released too */
    while (p->fetch_head) {
        struct s_act *a = p->fetch_head;
        struct s_msg *m = s_msg_get(p, a->msg);

        p->fetch_head = a->next;
        if (m && m->state == S_FETCH) {
            WC_LOGI(p->ports.logger, m->qm.message_id, "shutting down: released unfetched");
            s_release(p, m, 0);
        }
        free(a);
    }
    p->fetch_tail = NULL;
    s_digests_due(p, true);
}

size_t wc_pipeline_in_hand(const struct wc_pipeline *p)
{
    return p ? p->in_hand : 0;
}

size_t wc_pipeline_outstanding(const struct wc_pipeline *p)
{
    return p ? p->n_out : 0;
}

bool wc_pipeline_once_done(struct wc_pipeline *p)
{
    s_deferred_prune(p, true);
    return p->in_hand == 0 && p->n_out == 0 && p->n_deferred == 0;
}

void wc_pipeline_get_stats(struct wc_pipeline *p, struct wc_pipeline_stats *out)
{
    s_deferred_prune(p, false);
    *out = p->stats;
    out->in_hand = p->in_hand;
}

int wc_pipeline_set_policy(struct wc_pipeline *p, const struct wc_policy *policy)
{
    struct wc_policy copy;
    int rc;

    if (!p || !policy)
        return WC_ERR_INVALID;
    if ((rc = wc_policy_copy(&copy, policy)) != WC_OK)
        return rc;
    wc_policy_clean_up(&p->policy);
    p->policy = copy;
    wc_sched_set_skew(p->sched, copy.skew_s);
    return WC_OK;
}

/* --- life ------------------------------------------------------------------- */

struct wc_pipeline *wc_pipeline_new(const struct wc_pipeline_options *o,
                                    const struct wc_pipeline_ports *ports,
                                    const struct wc_policy *policy)
{
    struct wc_pipeline *p;
    struct wc_sched_options so;

    if (!o || !ports || !policy || !ports->ledger || o->lease_s < 1 || o->max_in_hand < 1 ||
        o->max_in_hand >= ((size_t)1 << S_ID_SLOT_BITS) || ports->n_notifiers > S_MAX_NOTIFIERS ||
        (ports->n_notifiers && !ports->notifiers))
        return NULL;
    if (!(p = calloc(1, sizeof(*p))))
        return NULL;
    p->o = *o;
    p->ports = *ports;
    p->clock = ports->clock ? *ports->clock : wc_clock_system();
    p->sched_wake_ms = INT64_MAX;
    p->next_heartbeat_ms = INT64_MAX;
    if (wc_policy_copy(&p->policy, policy) != WC_OK) {
        free(p);
        return NULL;
    }
    so = o->sched;
    so.skew_s = policy->skew_s;
    p->slots = calloc(o->max_in_hand, sizeof(*p->slots));
    p->free_slots = calloc(o->max_in_hand, sizeof(*p->free_slots));
    p->nts = calloc(ports->n_notifiers ? ports->n_notifiers : 1, sizeof(*p->nts));
    if (!p->slots || !p->free_slots || !p->nts || !(p->sched = wc_sched_new(&so)))
        goto fail;
    if (o->stream && !(p->evx = wc_evindex_new(&o->stream_index)))
        goto fail;
    for (size_t i = 0; i < o->max_in_hand; i++)
        p->free_slots[p->n_free++] = (uint32_t)(o->max_in_hand - 1 - i);
    p->n_nts = ports->n_notifiers;
    for (size_t k = 0; k < p->n_nts; k++) {
        p->nts[k].n = ports->notifiers[k];
        if (o->digest_ms > 0 && wc_notifier_digests(p->nts[k].n)) {
            struct wc_digest_options d = {.window_ms = o->digest_ms};

            if (!(p->nts[k].digest = wc_digest_new(&d)))
                goto fail;
        }
    }
    return p;
fail:
    wc_pipeline_destroy(p);
    return NULL;
}

static void s_act_list_free(struct s_act *a)
{
    while (a) {
        struct s_act *next = a->next;

        s_send_free(a->send);
        s_act_free(a);
        a = next;
    }
}

void wc_pipeline_destroy(struct wc_pipeline *p)
{
    if (!p)
        return;
    for (size_t k = 0; k < p->n_nts; k++) {
        struct s_send *s = p->nts[k].head;

        while (s) {
            struct s_send *next = s->next;

            s_send_free(s);
            s = next;
        }
        wc_digest_destroy(p->nts[k].digest);
    }
    s_act_list_free(p->ready_head);
    s_act_list_free(p->fetch_head);
    s_act_list_free(p->ledger_head);
    s_act_list_free(p->out);
    for (size_t i = 0; p->slots && i < p->o.max_in_hand; i++)
        if (p->slots[i])
            s_msg_free(p, p->slots[i]);
    for (size_t i = 0; i < p->n_deferred; i++)
        free(p->deferred[i].id);
    free(p->deferred);
    wc_sched_destroy(p->sched);
    wc_evindex_destroy(p->evx);
    wc_policy_clean_up(&p->policy);
    free(p->nts);
    free(p->slots);
    free(p->free_slots);
    free(p);
}
