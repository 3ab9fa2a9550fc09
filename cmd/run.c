/* run.c - `whochanged run`: the worker.
 *
 * Threads: the main thread long-polls the queue and hands messages to a
 * fixed pool of max_in_flight worker threads through a bounded work queue
 * (so memory is bounded by max_in_flight whatever the queue depth). A
 * worker carries one message from parse to delete: S3 fetch for oversized
 * items, CloudTrail lookups (rate-limited per account-region by the trail,
 * whose token buckets every thread shares), the verdict, the notifiers
 * (skipping those the state file says already accepted it), and the delete.
 * Receives go on while lookups wait for their slot.
 *
 * Signals: SIGTERM/SIGINT stop receiving; a message already being worked on
 * is finished, queued ones are released (visible again at once); exit 0.
 * SIGHUP reloads the policy part of the config (trusted, ignore, skew) and
 * reopens the JSON lines files (logrotate).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/endpoints.h"
#include "aws/s3.h"
#include "aws/sqs.h"
#include "cmd/cmd.h"
#include "cmd/metrics_http.h"
#include "cmd/stack.h"
#include "cmd/util.h"
#include "config/config.h"
#include "core/change.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/notifier.h"
#include "core/queue.h"
#include "core/trail.h"
#include "core/worker.h"
#include "notifiers/notifiers.h"
#include "store/statefile.h"

#define LOOKUP_FAILURE_RETRY_S 30
#define NOTIFY_FAILURE_RETRY_S 30
#define ONCE_WAIT_S 2
/* Changes in one coalesced notice at most. */
#define WC_COALESCE_MAX 20
/* --once: a deferred message not seen again this long after it was due was
 * taken by another worker or moved to the dead-letter queue: stop waiting. */
#define DEFERRED_GRACE_MS 30000
/* Deferred messages remembered (for --once and the oldest-retry gauge). */
#define DEFERRED_MAX 10000

#ifndef WC_VERSION
#define WC_VERSION "0.1.0"
#endif

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;

static void s_on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void s_on_hup(int sig)
{
    (void)sig;
    g_reload = 1;
}

static bool s_stopping(void *ctx)
{
    (void)ctx;
    return g_stop != 0;
}

/* Sleep that a stop request cuts short. */
static void s_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    while (ms > 0 && !g_stop) {
        int64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};

        nanosleep(&ts, NULL);
        ms -= step;
    }
}

struct s_group;

struct s_deferred {
    char *id;
    int64_t due_ms;
    int64_t capture_ms;
};

struct s_runner {
    const char *config_path;
    struct wc_config *cfg;
    struct wc_logger *logger;
    struct wc_stack stack;
    struct wc_queue *queue;
    struct wc_s3_options s3;
    char *sqs_endpoint;
    struct wc_notifier **notifiers;
    size_t n_notifiers;
    struct wc_statefile *state;
    struct wc_metrics *metrics;
    struct wc_metrics_http *metrics_http;
    struct wc_schedule schedule;
    struct wc_clock clock;
    bool once, dry_run;
    int max_in_flight;

    pthread_rwlock_t policy_lock;
    pthread_mutex_t reload_lock;
    struct wc_policy policy;

    pthread_mutex_t lock;
    pthread_cond_t work_cond, space_cond;
    struct wc_queue_message *work; /* ring of max_in_flight */
    size_t work_head, work_len;
    int in_flight;
    bool stopping;
    struct s_deferred *deferred;
    size_t n_deferred;
    struct wc_strlist seen; /* --dry-run: messages already shown */
    int64_t coalesce_ms;
    struct s_group *groups; /* open coalescing groups (under lock) */
    pthread_t *threads;
    int n_threads;
    atomic_uint_fast64_t n_messages, n_errors;
};

/* --- deferred messages (for --once) ------------------------------------- */

static void s_deferred_remove(struct s_runner *r, const char *id)
{
    for (size_t i = 0; i < r->n_deferred; i++) {
        if (!strcmp(r->deferred[i].id, id)) {
            free(r->deferred[i].id);
            r->deferred[i] = r->deferred[--r->n_deferred];
            return;
        }
    }
}

static void s_deferred_add(struct s_runner *r, const char *id, int64_t due_ms,
                           int64_t capture_ms)
{
    struct s_deferred *d;

    pthread_mutex_lock(&r->lock);
    s_deferred_remove(r, id);
    if (r->n_deferred >= DEFERRED_MAX) { /* forget the one due first */
        size_t first = 0;
        for (size_t i = 1; i < r->n_deferred; i++)
            if (r->deferred[i].due_ms < r->deferred[first].due_ms)
                first = i;
        free(r->deferred[first].id);
        r->deferred[first] = r->deferred[--r->n_deferred];
    }
    d = realloc(r->deferred, (r->n_deferred + 1) * sizeof(*d));
    if (d) {
        r->deferred = d;
        d[r->n_deferred].id = wc_strdup(id);
        d[r->n_deferred].due_ms = due_ms;
        d[r->n_deferred].capture_ms = capture_ms;
        if (d[r->n_deferred].id)
            r->n_deferred++;
    }
    pthread_mutex_unlock(&r->lock);
}

/* The age of the oldest change still waiting for its CloudTrail event. */
static void s_update_retry_age(struct s_runner *r)
{
    int64_t now = wc_clock_now_ms(&r->clock), oldest = 0;

    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_deferred;) {
        if (!r->once && now > r->deferred[i].due_ms + DEFERRED_GRACE_MS) {
            /* taken by another worker, or in the dead-letter queue */
            free(r->deferred[i].id);
            r->deferred[i] = r->deferred[--r->n_deferred];
            continue;
        }
        if (now - r->deferred[i].capture_ms > oldest)
            oldest = now - r->deferred[i].capture_ms;
        i++;
    }
    pthread_mutex_unlock(&r->lock);
    wc_metrics_set_oldest_retry_age(r->metrics, oldest / 1000);
}

/* --- one message ---------------------------------------------------------- */

static const char *s_actor(const struct wc_finding *f)
{
    const struct wc_actor *a;

    if (!f->n_matches)
        return "-";
    a = &f->matches[0].cls.actor;
    if (a->session_name)
        return a->session_name;
    if (a->name)
        return a->name;
    return a->arn ? a->arn : "-";
}

static void s_outcome(struct s_runner *r, const struct wc_queue_message *m,
                      const struct wc_finding *f, const char *action)
{
    WC_LOGI(r->logger, m->message_id, "verdict=%s resource=%s/%s actor=%s action=%s",
            wc_verdict_name(f->verdict), f->is_change ? f->change.resource_type : "-",
            f->is_change ? f->change.resource_id : "-", s_actor(f), action);
}

/* Make m visible again in delay_s. Only changes deferred for a late
 * CloudTrail event are waited for by --once (see s_process); a message put
 * off after a failure comes back to whichever run is going then. */
static void s_release(struct s_runner *r, const struct wc_queue_message *m, int delay_s)
{
    int rc;

    if (r->dry_run)
        return;
    rc = wc_queue_retry_later(r->queue, m->receipt_handle, delay_s);
    if (rc != WC_OK && rc != WC_ERR_NOT_FOUND)
        WC_LOGW(r->logger, m->message_id, "cannot change the message's visibility: %s",
                wc_strerror(rc));
}

static int s_delete(struct s_runner *r, const struct wc_queue_message *m)
{
    const char *h = m->receipt_handle;
    int result = WC_OK, rc;

    rc = wc_queue_delete_batch(r->queue, &h, 1, &result);
    if (rc == WC_OK)
        rc = result;
    if (rc != WC_OK)
        WC_LOGW(r->logger, m->message_id,
                "delete failed (%s): the message will come back and be recognised as done",
                wc_strerror(rc));
    return rc;
}

/* Hand the findings (one, or several caused by the same CloudTrail event,
 * all with the same verdict) to every notifier that wants that verdict, as
 * one notice, leaving out those a notifier already accepted (state file).
 * WC_OK when all accepted; else *retry_s says when to try again, 0 = leave
 * the messages for redrive (the notifier refused them). */
static int s_deliver(struct s_runner *r, const char *log_id, const struct wc_finding *const *fs,
                     char *const *subjects, size_t n, int *retry_s, int *n_sent)
{
    const struct wc_finding *todo[WC_COALESCE_MAX];
    size_t todo_subject[WC_COALESCE_MAX];
    int rc = WC_OK, retry_after_s = 0;
    bool permanent = false;

    *retry_s = 0;
    *n_sent = 0;
    for (size_t i = 0; i < r->n_notifiers; i++) {
        struct wc_notifier *nt = r->notifiers[i];
        struct wc_send_result res = {0};
        struct wc_notice notice = {.findings = todo};
        int nrc;

        if (!wc_notifier_wants(nt, fs[0]->verdict))
            continue;
        for (size_t k = 0; k < n; k++) {
            bool dup = false;

            /* a redelivered copy of a message in the same group */
            for (size_t j = 0; j < k && !dup; j++)
                dup = !strcmp(subjects[j], subjects[k]);
            if (dup)
                continue;
            if (!r->dry_run && wc_statefile_accepted(r->state, nt->id, subjects[k])) {
                WC_LOGD(r->logger, log_id, "%s already accepted %s", nt->id, subjects[k]);
                continue;
            }
            todo_subject[notice.n_findings] = k;
            todo[notice.n_findings++] = fs[k];
        }
        if (notice.n_findings == 0)
            continue;
        if (r->dry_run) {
            struct wc_buf payload = WC_BUF_INIT;

            if (wc_notifier_render(nt, &notice, &payload) == WC_OK) {
                wc_log_redact(&payload);
                flockfile(stdout);
                printf("--- %s would send (message %s):\n%s\n", nt->id, log_id,
                       payload.ptr ? payload.ptr : "");
                fflush(stdout);
                funlockfile(stdout);
            }
            wc_buf_clean_up(&payload);
            continue;
        }
        nrc = wc_notifier_send(nt, &notice, &res);
        if (nrc == WC_OK) {
            (*n_sent)++;
            wc_metrics_notification(r->metrics, nt->id);
            for (size_t k = 0; k < notice.n_findings; k++) {
                int src = wc_statefile_record(r->state, nt->id, subjects[todo_subject[k]]);
                if (src != WC_OK) {
                    WC_LOGE(r->logger, log_id, "cannot record delivery to %s: %s", nt->id,
                            wc_strerror(src));
                    rc = src;
                    retry_after_s = NOTIFY_FAILURE_RETRY_S;
                }
            }
            continue;
        }
        rc = nrc;
        wc_metrics_notifier_failure(r->metrics, nt->id);
        if (nrc == WC_ERR_INVALID || nrc == WC_ERR_AUTH) {
            permanent = true;
            WC_LOGE(r->logger, log_id, "%s refused the finding (%s, HTTP %ld): "
                    "the message is left for the dead-letter queue", nt->id, wc_strerror(nrc),
                    res.http_status);
        } else {
            int sec = res.retry_after_ms > 0 ? (int)((res.retry_after_ms + 999) / 1000)
                                             : NOTIFY_FAILURE_RETRY_S;
            if (sec > retry_after_s)
                retry_after_s = sec;
            WC_LOGW(r->logger, log_id, "%s failed (%s, HTTP %ld): retrying in %d s", nt->id,
                    wc_strerror(nrc), res.http_status, sec);
        }
    }
    *retry_s = permanent ? 0 : retry_after_s;
    return rc;
}

/* --- coalescing ------------------------------------------------------------
 * One API call can change several resources: Config sends one change each,
 * all naming the same CloudTrail event. The first human finding for an event
 * opens a group and waits coalesce_ms for others; then one notice lists
 * every changed resource, and each member acts on its own message with the
 * shared result. */

struct s_group {
    char *event_id;
    const struct wc_finding *findings[WC_COALESCE_MAX];
    char *subjects[WC_COALESCE_MAX];
    const char *log_id;
    size_t n;
    bool closed, done;
    int rc, retry_s, sent;
    int refs;
    pthread_cond_t cond;
    struct s_group *next;
};

static void s_group_unref(struct s_runner *r, struct s_group *g)
{
    /* r->lock held */
    (void)r;
    if (--g->refs > 0)
        return;
    pthread_cond_destroy(&g->cond);
    free(g->event_id);
    free(g);
}

static int s_deliver_coalesced(struct s_runner *r, const struct wc_queue_message *m,
                               const struct wc_finding *f, char *subject, int *retry_s,
                               int *n_sent, size_t *n_group)
{
    const char *event_id = f->n_matches ? f->matches[0].event.event_id : NULL;
    struct s_group *g = NULL, **pp;
    int rc;

    *n_group = 1;
    if (r->coalesce_ms <= 0 || !event_id || f->verdict != WC_VERDICT_HUMAN)
        return s_deliver(r, m->message_id, &f, &subject, 1, retry_s, n_sent);

    pthread_mutex_lock(&r->lock);
    for (g = r->groups; g; g = g->next)
        if (!g->closed && g->n < WC_COALESCE_MAX && !strcmp(g->event_id, event_id))
            break;
    if (g) { /* join: the group's leader sends for us */
        g->findings[g->n] = f;
        g->subjects[g->n] = subject;
        g->n++;
        g->refs++;
        while (!g->done)
            pthread_cond_wait(&g->cond, &r->lock);
        rc = g->rc;
        *retry_s = g->retry_s;
        *n_sent = g->sent;
        *n_group = g->n;
        s_group_unref(r, g);
        pthread_mutex_unlock(&r->lock);
        return rc;
    }
    g = calloc(1, sizeof(*g));
    if (!g || !(g->event_id = wc_strdup(event_id))) {
        free(g);
        pthread_mutex_unlock(&r->lock);
        return s_deliver(r, m->message_id, &f, &subject, 1, retry_s, n_sent);
    }
    pthread_cond_init(&g->cond, NULL);
    g->findings[0] = f;
    g->subjects[0] = subject;
    g->n = 1;
    g->refs = 1;
    g->log_id = m->message_id;
    g->next = r->groups;
    r->groups = g;
    pthread_mutex_unlock(&r->lock);

    s_sleep(NULL, r->coalesce_ms); /* others join meanwhile */

    pthread_mutex_lock(&r->lock);
    g->closed = true;
    for (pp = &r->groups; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    pthread_mutex_unlock(&r->lock);
    /* closed: nobody joins any more, so g->findings is stable */
    if (g->n > 1)
        WC_LOGI(r->logger, m->message_id, "one CloudTrail event (%s) changed %zu resources: "
                "one notice for all", g->event_id, g->n);
    rc = s_deliver(r, m->message_id, g->findings, g->subjects, g->n, retry_s, n_sent);
    pthread_mutex_lock(&r->lock);
    g->rc = rc;
    g->retry_s = *retry_s;
    g->sent = *n_sent;
    g->done = true;
    *n_group = g->n;
    pthread_cond_broadcast(&g->cond);
    s_group_unref(r, g);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int s_parse(struct s_runner *r, const struct wc_queue_message *m,
                   struct wc_notification **note)
{
    char err[256] = "";
    int rc;

    rc = wc_notification_parse((struct wc_str){m->body, m->body_len}, note, err, sizeof(err));
    if (rc != WC_OK) {
        WC_LOGW(r->logger, m->message_id,
                "invalid message (receive %d), left for the dead-letter queue: %s",
                m->receive_count, err);
        return rc;
    }
    if ((*note)->kind != WC_NOTE_OVERSIZED)
        return WC_OK;
    {
        struct wc_notification *full = NULL;
        struct wc_s3_options o = r->s3;

        o.log_id = m->message_id;
        rc = wc_s3_fetch_oversized(&o, &(*note)->oversized, (*note)->change.region, &full, err,
                                   sizeof(err));
        if (rc != WC_OK) {
            WC_LOGW(r->logger, m->message_id, "oversized item %s: %s",
                    (*note)->oversized.s3_location ? (*note)->oversized.s3_location : "?", err);
            return rc;
        }
        wc_notification_destroy(*note);
        *note = full;
    }
    return WC_OK;
}

static void s_maybe_reload(struct s_runner *r);

static void s_process(struct s_runner *r, const struct wc_queue_message *m)
{
    struct wc_notification *note = NULL;
    struct wc_event_list events = WC_EVENT_LIST_INIT;
    struct wc_finding *f = NULL;
    struct wc_plan plan;
    struct wc_buf subject = WC_BUF_INIT;
    bool lookup;
    int skew_s;
    size_t calls = 0, group = 1;
    int rc, retry_s = 0, sent = 0;

    atomic_fetch_add(&r->n_messages, 1);
    s_maybe_reload(r);
    if ((rc = s_parse(r, m, &note)) != WC_OK) {
        wc_metrics_message(r->metrics, "invalid");
        /* a malformed body stays put (redrive); a failed S3 fetch is retried */
        if (note && note->kind == WC_NOTE_OVERSIZED && rc != WC_ERR_INVALID)
            s_release(r, m, LOOKUP_FAILURE_RETRY_S);
        atomic_fetch_add(&r->n_errors, 1);
        goto out;
    }
    pthread_rwlock_rdlock(&r->policy_lock);
    lookup = note->kind != WC_NOTE_OTHER &&
             !wc_strlist_glob_any(&r->policy.ignore_resource_types, note->change.resource_type);
    skew_s = r->policy.skew_s;
    pthread_rwlock_unlock(&r->policy_lock);
    if (lookup) {
        rc = wc_trail_lookup_change(r->stack.trail, &note->change, skew_s, &events, &calls);
        wc_metrics_lookup(r->metrics, (int)calls);
        if (rc == WC_ERR_THROTTLED)
            wc_metrics_throttle(r->metrics);
        if (rc == WC_ERR_CANCELLED) {
            WC_LOGI(r->logger, m->message_id, "shutting down: released unfinished");
            s_release(r, m, 0);
            goto out;
        }
        if (rc != WC_OK) {
            WC_LOGW(r->logger, m->message_id, "CloudTrail lookup for %s failed (%s): "
                    "looking again in %d s", note->change.resource_id, wc_strerror(rc),
                    LOOKUP_FAILURE_RETRY_S);
            s_release(r, m, LOOKUP_FAILURE_RETRY_S);
            atomic_fetch_add(&r->n_errors, 1);
            goto out;
        }
    }
    pthread_rwlock_rdlock(&r->policy_lock);
    rc = wc_finding_decide(&r->policy, note, &events, &f);
    pthread_rwlock_unlock(&r->policy_lock);
    if (rc != WC_OK) {
        WC_LOGE(r->logger, m->message_id, "cannot decide: %s", wc_strerror(rc));
        goto out;
    }
    wc_worker_plan(&r->schedule, f, m->receive_count, wc_clock_now_ms(&r->clock), &plan);
    if (plan.kind == WC_PLAN_RETRY) {
        char line[160];

        snprintf(line, sizeof(line), "retry in %ds (receive %d, no matching event yet, %zu lookups)",
                 plan.delay_s, m->receive_count, calls);
        s_outcome(r, m, f, line);
        if (!r->dry_run) {
            s_release(r, m, plan.delay_s);
            /* the age of a change waiting for its event counts from its capture */
            s_deferred_add(r, m->message_id,
                           wc_clock_now_ms(&r->clock) + (int64_t)plan.delay_s * 1000,
                           f->change.capture_time_ms);
            wc_metrics_retry(r->metrics);
        }
        goto out;
    }
    wc_metrics_message(r->metrics, wc_verdict_name(f->verdict));
    if ((rc = wc_worker_subject(f, m->message_id, &subject)) != WC_OK)
        goto out;
    rc = s_deliver_coalesced(r, m, f, subject.ptr, &retry_s, &sent, &group);
    if (r->dry_run) {
        s_outcome(r, m, f, "dry-run");
    } else if (rc == WC_OK) {
        char line[64];

        snprintf(line, sizeof(line), "%s%s%s", sent ? "notified, " : "",
                 group > 1 ? "coalesced, " : "",
                 s_delete(r, m) == WC_OK ? "deleted" : "delete-failed");
        s_outcome(r, m, f, line);
    } else if (retry_s > 0) {
        s_outcome(r, m, f, "notify-failed, retry");
        s_release(r, m, retry_s);
    } else {
        s_outcome(r, m, f, "notify-refused, left for redrive");
    }
out:
    wc_buf_clean_up(&subject);
    wc_finding_destroy(f);
    wc_event_list_clean_up(&events);
    wc_notification_destroy(note);
}

/* --- threads -------------------------------------------------------------- */

static void *s_worker_main(void *arg)
{
    struct s_runner *r = arg;

    for (;;) {
        struct wc_queue_message m;
        bool release;

        pthread_mutex_lock(&r->lock);
        while (r->work_len == 0 && !r->stopping) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&r->work_cond, &r->lock, &ts);
            if (g_reload) { /* the receiver may be in a 20 s long poll */
                pthread_mutex_unlock(&r->lock);
                s_maybe_reload(r);
                pthread_mutex_lock(&r->lock);
            }
        }
        if (r->work_len == 0) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        m = r->work[r->work_head];
        r->work_head = (r->work_head + 1) % (size_t)r->max_in_flight;
        r->work_len--;
        release = r->stopping;
        pthread_mutex_unlock(&r->lock);

        if (release)
            s_release(r, &m, 0); /* not started: let another worker have it now */
        else
            s_process(r, &m);
        wc_queue_message_clean_up(&m);

        pthread_mutex_lock(&r->lock);
        r->in_flight--;
        pthread_cond_signal(&r->space_cond);
        pthread_mutex_unlock(&r->lock);
        wc_metrics_in_flight(r->metrics, -1);
    }
    return NULL;
}

static void s_enqueue(struct s_runner *r, struct wc_queue_message *m)
{
    size_t tail;

    pthread_mutex_lock(&r->lock);
    s_deferred_remove(r, m->message_id);
    tail = (r->work_head + r->work_len) % (size_t)r->max_in_flight;
    r->work[tail] = *m;
    r->work_len++;
    pthread_cond_signal(&r->work_cond);
    pthread_mutex_unlock(&r->lock);
    memset(m, 0, sizeof(*m));
}

/* --- configuration -------------------------------------------------------- */

static int s_build_notifiers(struct s_runner *r)
{
    size_t n = wc_config_notifier_count(r->cfg);

    r->notifiers = calloc(n ? n : 1, sizeof(*r->notifiers));
    if (!r->notifiers)
        return WC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct wc_config_notifier *cn = wc_config_notifier(r->cfg, i);
        const struct wc_notifier_backend *b =
            wc_notifier_backend_find(wc_config_notifier_type_name(cn->type));
        struct wc_notifier_kv *channels = NULL, *aliases = NULL;
        struct wc_notifier_options o = {0};
        char id[32];

        snprintf(id, sizeof(id), "%s#%zu", wc_config_notifier_type_name(cn->type), i);
        if (!b) {
            WC_LOGE(r->logger, NULL, "notifier %s: no such backend", id);
            return WC_ERR_CONFIG;
        }
        channels = calloc(cn->channel_by_account.len + 1, sizeof(*channels));
        aliases = calloc(cn->account_aliases.len + 1, sizeof(*aliases));
        if (!channels || !aliases) {
            free(channels);
            free(aliases);
            return WC_ERR_NOMEM;
        }
        for (size_t k = 0; k < cn->channel_by_account.len; k++)
            channels[k] = (struct wc_notifier_kv){cn->channel_by_account.items[k].key,
                                                  cn->channel_by_account.items[k].value};
        for (size_t k = 0; k < cn->account_aliases.len; k++)
            aliases[k] = (struct wc_notifier_kv){cn->account_aliases.items[k].key,
                                                 cn->account_aliases.items[k].value};
        o.id = id;
        o.verdict_mask = cn->verdicts;
        /* notify_unattributed: whoever gets human findings gets these too */
        if (wc_config_notify_unattributed(r->cfg) && (o.verdict_mask & WC_VERDICT_BIT(WC_VERDICT_HUMAN)))
            o.verdict_mask |= WC_VERDICT_BIT(WC_VERDICT_UNATTRIBUTED);
        o.http = r->stack.http;
        o.logger = r->logger;
        o.sleep_ms = s_sleep;
        o.webhook_url = cn->webhook_url;
        o.bot_token = cn->bot_token;
        o.channel = cn->channel;
        o.api_base_url = cn->api_url;
        o.channel_by_account = channels;
        o.n_channel_by_account = cn->channel_by_account.len;
        o.account_aliases = aliases;
        o.n_account_aliases = cn->account_aliases.len;
        o.url = cn->url;
        o.hmac_secret = cn->hmac_secret;
        o.path = cn->path;
        r->notifiers[i] = b->create(&o);
        free(channels);
        free(aliases);
        if (!r->notifiers[i]) {
            WC_LOGE(r->logger, NULL, "notifier %s: cannot be set up (see above)", id);
            return WC_ERR_CONFIG;
        }
        r->n_notifiers++;
    }
    return WC_OK;
}

static void s_reload(struct s_runner *r)
{
    struct wc_config *cfg = NULL;
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_policy p;

    if (wc_config_load(r->config_path, &cfg, &errs) != WC_OK) {
        WC_LOGE(r->logger, NULL, "SIGHUP: the new configuration is invalid; keeping the old one");
        for (size_t i = 0; i < errs.len; i++)
            WC_LOGE(r->logger, NULL, "%s:%d:%d: %s", errs.items[i].file, errs.items[i].line,
                    errs.items[i].col, errs.items[i].reason);
        wc_config_errors_clean_up(&errs);
        return;
    }
    wc_config_errors_clean_up(&errs);
    if (wc_policy_copy(&p, wc_config_policy(cfg)) == WC_OK) {
        pthread_rwlock_wrlock(&r->policy_lock);
        wc_policy_clean_up(&r->policy);
        r->policy = p;
        pthread_rwlock_unlock(&r->policy_lock);
    }
    wc_config_destroy(cfg);
    for (size_t i = 0; i < r->n_notifiers; i++)
        wc_notifier_reopen(r->notifiers[i]);
    WC_LOGI(r->logger, NULL, "SIGHUP: reloaded trusted/ignore/skew rules, reopened files "
            "(queue, notifiers and AWS settings change on restart)");
}

/* SIGHUP is acted on by whichever thread sees it first — the receiver may
 * be inside a 20 s long poll — and only once. */
static void s_maybe_reload(struct s_runner *r)
{
    if (!g_reload)
        return;
    pthread_mutex_lock(&r->reload_lock);
    if (g_reload) {
        g_reload = 0;
        s_reload(r);
    }
    pthread_mutex_unlock(&r->reload_lock);
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: whochanged run [--config FILE] [--once] [--dry-run] [--log-level LEVEL]\n"
            "                      [--log-format text|json]\n\n"
            "The worker: long-polls the SQS queue of AWS Config change notifications, finds\n"
            "the CloudTrail events behind each change, and sends human changes to the\n"
            "configured notifiers (Slack, webhook, JSON lines).\n\n"
            "  --config FILE        config file (default $WHOCHANGED_CONFIG, then\n"
            "                       /etc/whochanged/config.yaml)\n"
            "  --once               stop when the queue holds nothing more for this worker\n"
            "                       (nothing received, nothing in flight, no change waiting\n"
            "                       for a late CloudTrail event), then exit 0\n"
            "  --dry-run            print what each notifier would send; send, delete and\n"
            "                       defer nothing\n"
            "  --log-level LEVEL    trace|debug|info|warn|error (default: the config's, info)\n"
            "  --log-format FORMAT  text (default) or json\n\n"
            "Signals: SIGTERM/SIGINT finish the messages being worked on and exit 0;\n"
            "SIGHUP reloads the trusted/ignore rules and reopens JSON lines files.\n");
}

static int s_setup(struct s_runner *r, const char *level_name, const char *format_name)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_logger_options lo = {0};
    struct wc_sqs_options so = {0};
    const char *queue_url, *region;
    char *queue_region = NULL;
    char err[512] = "";
    int rc;

    if ((rc = wc_config_load(r->config_path, &r->cfg, &errs)) != WC_OK) {
        wc_config_errors_print(&errs, stderr);
        wc_config_errors_clean_up(&errs);
        return 2;
    }
    wc_config_errors_clean_up(&errs);
    lo.level = wc_config_log_level(r->cfg);
    lo.format = wc_config_log_format(r->cfg);
    if (level_name && wc_log_level_parse(level_name, &lo.level) != WC_OK) {
        fprintf(stderr, "whochanged run: unknown log level '%s'\n", level_name);
        return 2;
    }
    if (format_name) {
        if (!strcmp(format_name, "json"))
            lo.format = WC_LOG_JSON;
        else if (!strcmp(format_name, "text"))
            lo.format = WC_LOG_TEXT;
        else {
            fprintf(stderr, "whochanged run: --log-format is text or json\n");
            return 2;
        }
    }
    if (!(r->logger = wc_logger_new(&lo)))
        return 1;
    for (const char *const *s = wc_config_secrets(r->cfg, NULL); s && *s; s++)
        wc_logger_add_secret(r->logger, *s);

    queue_url = wc_config_queue_url(r->cfg);
    if (!queue_url && !wc_config_queue_name(r->cfg)) {
        fprintf(stderr, "whochanged run: set queue_url or queue_name in the config\n");
        return 2;
    }
    region = wc_config_region(r->cfg);
    if (!region && queue_url)
        region = queue_region = wc_sqs_region_from_queue_url(queue_url);
    if ((rc = wc_stack_init_cancellable(&r->stack, r->cfg, region, r->logger, s_sleep,
                                        s_stopping, err, sizeof(err))) != WC_OK) {
        fprintf(stderr, "whochanged run: %s\n", err);
        free(queue_region);
        return rc == WC_ERR_CONFIG ? 2 : 1;
    }
    free(queue_region);
    if (wc_endpoint_resolve("sqs", r->stack.region, r->stack.overrides, r->stack.n_overrides, NULL,
                            &r->sqs_endpoint) != WC_OK) {
        fprintf(stderr, "whochanged run: cannot resolve the SQS endpoint\n");
        return 2;
    }
    so.aws = r->stack.aws;
    so.creds = r->stack.creds;
    so.region = r->stack.region;
    so.endpoint = r->sqs_endpoint;
    so.queue_url = queue_url;
    so.queue_name = queue_url ? NULL : wc_config_queue_name(r->cfg);
    so.logger = r->logger;
    if (!(r->queue = wc_sqs_new(&so))) {
        fprintf(stderr, "whochanged run: cannot set up the SQS client\n");
        return 2;
    }
    if ((rc = wc_sqs_resolve(r->queue)) != WC_OK) {
        fprintf(stderr, "whochanged run: queue %s: %s\n",
                queue_url ? queue_url : wc_config_queue_name(r->cfg), wc_strerror(rc));
        return 1;
    }
    r->s3.aws = r->stack.aws;
    r->s3.creds = r->stack.creds;
    r->s3.endpoint = wc_config_endpoint(r->cfg, "s3");
    if ((rc = s_build_notifiers(r)) != WC_OK)
        return rc == WC_ERR_CONFIG ? 2 : 1;
    if (!r->dry_run &&
        !(r->state = wc_statefile_open(wc_config_state_dir(r->cfg), 0, NULL, r->logger, err,
                                       sizeof(err)))) {
        fprintf(stderr, "whochanged run: state_dir: %s\n", err);
        return 1;
    }
    if (wc_policy_copy(&r->policy, wc_config_policy(r->cfg)) != WC_OK)
        return 1;
    if (!(r->metrics = wc_metrics_new()))
        return 1;
    wc_metrics_set_build_info(r->metrics, WC_VERSION);
    if (wc_config_metrics_listen(r->cfg) &&
        !(r->metrics_http = wc_metrics_http_start(wc_config_metrics_listen(r->cfg), r->metrics,
                                                  r->logger, err, sizeof(err)))) {
        fprintf(stderr, "whochanged run: %s\n", err);
        return 1;
    }
    r->schedule = (struct wc_schedule){wc_config_retry_initial_s(r->cfg),
                                       wc_config_retry_for_s(r->cfg), WC_RETRY_CAP_S};
    r->max_in_flight = wc_config_max_in_flight(r->cfg);
    r->coalesce_ms = (int64_t)wc_config_digest_s(r->cfg) * 1000;
    r->clock = wc_clock_system();
    return 0;
}

static void s_teardown(struct s_runner *r)
{
    wc_metrics_http_stop(r->metrics_http);
    wc_metrics_destroy(r->metrics);
    for (size_t i = 0; i < r->n_notifiers; i++)
        wc_notifier_destroy(r->notifiers[i]);
    free(r->notifiers);
    wc_statefile_close(r->state);
    wc_queue_destroy(r->queue);
    free(r->sqs_endpoint);
    wc_stack_clean_up(&r->stack);
    wc_policy_clean_up(&r->policy);
    for (size_t i = 0; i < r->n_deferred; i++)
        free(r->deferred[i].id);
    free(r->deferred);
    wc_strlist_clean_up(&r->seen);
    free(r->work);
    free(r->threads);
    wc_logger_destroy(r->logger);
    wc_config_destroy(r->cfg);
}

/* --- the loop ------------------------------------------------------------- */

static bool s_once_done(struct s_runner *r)
{
    int64_t now = wc_clock_now_ms(&r->clock);
    bool done;

    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_deferred;) {
        if (now > r->deferred[i].due_ms + DEFERRED_GRACE_MS) {
            WC_LOGW(r->logger, r->deferred[i].id,
                    "deferred message did not come back (another worker has it, or it went to "
                    "the dead-letter queue): no longer waiting for it");
            free(r->deferred[i].id);
            r->deferred[i] = r->deferred[--r->n_deferred];
        } else {
            i++;
        }
    }
    done = r->in_flight == 0 && r->n_deferred == 0;
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void s_loop(struct s_runner *r)
{
    int backoff_s = 1;

    while (!g_stop) {
        struct wc_queue_batch batch = WC_QUEUE_BATCH_INIT;
        int room, rc;

        s_maybe_reload(r);
        s_update_retry_age(r);
        pthread_mutex_lock(&r->lock);
        while (r->in_flight >= r->max_in_flight && !g_stop) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&r->space_cond, &r->lock, &ts);
        }
        room = r->max_in_flight - r->in_flight;
        pthread_mutex_unlock(&r->lock);
        if (g_stop)
            break;
        if (room > WC_QUEUE_MAX_BATCH)
            room = WC_QUEUE_MAX_BATCH;
        rc = wc_queue_receive(r->queue, room, r->once ? ONCE_WAIT_S : 20, &batch);
        if (rc != WC_OK) {
            WC_LOGE(r->logger, NULL, "receive failed: %s; trying again in %d s", wc_strerror(rc),
                    backoff_s);
            s_sleep(NULL, (int64_t)backoff_s * 1000);
            backoff_s = backoff_s < 30 ? backoff_s * 2 : 30;
            continue;
        }
        backoff_s = 1;
        if (batch.len == 0) {
            wc_queue_batch_clean_up(&batch);
            if (r->once && s_once_done(r))
                break;
            continue;
        }
        for (size_t i = 0; i < batch.len; i++) {
            struct wc_queue_message *m = &batch.items[i];

            if (r->dry_run) {
                if (wc_strlist_contains(&r->seen, m->message_id))
                    continue;
                wc_strlist_push(&r->seen, m->message_id);
            }
            pthread_mutex_lock(&r->lock);
            r->in_flight++;
            pthread_mutex_unlock(&r->lock);
            wc_metrics_in_flight(r->metrics, 1);
            s_enqueue(r, m);
        }
        wc_queue_batch_clean_up(&batch);
    }
}

int wc_cmd_run(int argc, char **argv)
{
    struct s_runner r;
    const char *level = NULL, *format = NULL;
    struct sigaction sa;
    int status;

    memset(&r, 0, sizeof(r));
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int k;

        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--once")) {
            r.once = true;
        } else if (!strcmp(argv[i], "--dry-run")) {
            r.dry_run = true;
        } else if ((k = wc_cmd_opt_value(argc, argv, &i, "--config", &v, "run")) != 0) {
            if (k < 0)
                return 2;
            r.config_path = v;
        } else if ((k = wc_cmd_opt_value(argc, argv, &i, "--log-level", &v, "run")) != 0) {
            if (k < 0)
                return 2;
            level = v;
        } else if ((k = wc_cmd_opt_value(argc, argv, &i, "--log-format", &v, "run")) != 0) {
            if (k < 0)
                return 2;
            format = v;
        } else {
            fprintf(stderr, "whochanged run: unknown argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.work_cond, NULL);
    pthread_cond_init(&r.space_cond, NULL);
    pthread_rwlock_init(&r.policy_lock, NULL);
    pthread_mutex_init(&r.reload_lock, NULL);
    if ((status = s_setup(&r, level, format)) != 0)
        goto out;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = s_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = s_on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    r.work = calloc((size_t)r.max_in_flight, sizeof(*r.work));
    r.threads = calloc((size_t)r.max_in_flight, sizeof(*r.threads));
    if (!r.work || !r.threads) {
        status = 1;
        goto out;
    }
    for (int i = 0; i < r.max_in_flight; i++) {
        if (pthread_create(&r.threads[i], NULL, s_worker_main, &r) != 0)
            break;
        r.n_threads++;
    }
    if (r.n_threads == 0) {
        fprintf(stderr, "whochanged run: cannot start worker threads\n");
        status = 1;
        goto out;
    }
    WC_LOGI(r.logger, NULL, "whochanged run: queue %s, %d in flight, %zu notifier(s)%s%s; "
            "a change waiting for its CloudTrail event is received up to %d times "
            "(keep the queue's maxReceiveCount above that)",
            wc_config_queue_url(r.cfg) ? wc_config_queue_url(r.cfg) : wc_config_queue_name(r.cfg),
            r.n_threads, r.n_notifiers, r.once ? ", --once" : "", r.dry_run ? ", --dry-run" : "",
            wc_worker_max_receives(&r.schedule));

    wc_metrics_set_ready(r.metrics, true);
    s_loop(&r);
    wc_metrics_set_ready(r.metrics, false);

    pthread_mutex_lock(&r.lock);
    r.stopping = true;
    pthread_cond_broadcast(&r.work_cond);
    pthread_mutex_unlock(&r.lock);
    for (int i = 0; i < r.n_threads; i++)
        pthread_join(r.threads[i], NULL);
    WC_LOGI(r.logger, NULL, "stopped after %llu message(s), %llu error(s)",
            (unsigned long long)atomic_load(&r.n_messages),
            (unsigned long long)atomic_load(&r.n_errors));
    status = 0;
out:
    s_teardown(&r);
    pthread_rwlock_destroy(&r.policy_lock);
    pthread_mutex_destroy(&r.reload_lock);
    pthread_cond_destroy(&r.space_cond);
    pthread_cond_destroy(&r.work_cond);
    pthread_mutex_destroy(&r.lock);
    return status;
}
