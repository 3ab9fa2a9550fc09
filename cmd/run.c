/* run.c - `whochanged run`: the worker's threads, signals and wiring.
 *
 * What happens to a message is decided by core/pipeline.c; this file
 * carries out its actions. Threads:
 *   - the loop (the main thread) asks the pipeline for actions and hands
 *     them to the pool; it acts on signals and SIGHUP reloads;
 *   - the receiver long-polls the queue whenever the pipeline has room;
 *   - a pool of I/O threads runs the actions: LookupEvents pages, S3
 *     fetches, notifier sends, deletes and visibility changes, and hands
 *     each result back to the pipeline.
 * Every pipeline call is made under one lock. No thread waits for a
 * CloudTrail slot: the scheduler in the pipeline says when a call may go.
 *
 * Signals: SIGTERM/SIGINT stop receiving; changes waiting for CloudTrail are
 * released at once (visible again), open digests are sent, sends and
 * deletes under way finish; exit 0. SIGHUP reloads the policy part of the
 * config (trusted, ignore, skew) and reopens the JSON lines files.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/dynamodb_ledger.h"
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
#include "core/ledger.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/notifier.h"
#include "core/pipeline.h"
#include "core/queue.h"
#include "core/trail.h"
#include "core/version.h"
#include "core/worker.h"
#include "notifiers/notifiers.h"
#include "store/statefile.h"

#define ONCE_WAIT_S 2
#define POLL_WAIT_S 20
/* I/O threads at most (HTTP calls under way at once). */
#define POOL_MAX 64
#define POOL_MIN 4
/* After SIGTERM, how long sends and deletes under way may take. */
#define DRAIN_MS 15000
/* The lease when the queue's VisibilityTimeout cannot be read. */
#define DEFAULT_LEASE_S 30

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

struct s_job {
    struct wc_action a;
    struct s_job *next;
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
    struct wc_ledger *ledger;
    struct wc_metrics *metrics;
    struct wc_metrics_http *metrics_http;
    struct wc_clock clock;
    bool once, dry_run;
    int lease_s;

    pthread_mutex_t reload_lock;

    /* under lock */
    pthread_mutex_t lock;
    pthread_cond_t loop_cond, pool_cond, recv_cond;
    struct wc_pipeline *pipe;
    struct s_job *jobs_head, *jobs_tail;
    bool pool_stop, recv_stop, recv_idle, once_done;
    bool recv_failing; /* max_receive_failures receives failed in a row: not ready */
    bool once_failed;  /* --once gave up on them: exit 1 */
    struct wc_strlist seen; /* --dry-run: messages already shown */

    pthread_t *pool;
    int n_pool;
    pthread_t receiver;
    bool have_receiver;
    /* the CloudTrail event stream (events.queue_url) */
    struct wc_queue *events;
    pthread_t events_receiver;
    bool have_events_receiver;
};

/* --- carrying out actions --------------------------------------------------- */

static void s_abs_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void s_do_fetch(struct s_runner *r, const struct wc_action *a)
{
    struct wc_notification *full = NULL;
    struct wc_s3_options o = r->s3;
    char err[256] = "";
    int rc;

    o.log_id = a->log_id;
    rc = wc_s3_fetch_oversized(&o, a->object, a->region, &full, err, sizeof(err));
    pthread_mutex_lock(&r->lock);
    wc_pipeline_fetch_done(r->pipe, a->id, rc, full, err);
    pthread_mutex_unlock(&r->lock);
}

static void s_do_lookup(struct s_runner *r, const struct wc_action *a)
{
    struct wc_event_list page = WC_EVENT_LIST_INIT;
    int rc = g_stop ? WC_ERR_CANCELLED : wc_trail_lookup_page(r->stack.trail, &a->query,
                                                                a->token, &page);

    pthread_mutex_lock(&r->lock);
    wc_pipeline_lookup_done(r->pipe, a->id, rc, &page);
    pthread_mutex_unlock(&r->lock);
    wc_event_list_clean_up(&page);
}

static void s_do_send(struct s_runner *r, const struct wc_action *a)
{
    struct wc_send_result res = {0};
    int rc;

    if (r->dry_run) {
        struct wc_buf payload = WC_BUF_INIT;

        rc = wc_notifier_render(a->notifier, &a->notice, &payload);
        if (rc == WC_OK) {
            wc_log_redact(&payload);
            flockfile(stdout);
            printf("--- %s would send (message %s):\n%s\n", a->notifier->id,
                   a->log_id ? a->log_id : "-", payload.ptr ? payload.ptr : "");
            fflush(stdout);
            funlockfile(stdout);
        }
        wc_buf_clean_up(&payload);
    } else {
        rc = wc_notifier_send(a->notifier, &a->notice, &res);
        if (rc == WC_OK) { /* Config's capture to an accepted notification */
            int64_t now = wc_clock_now_ms(&r->clock);

            for (size_t i = 0; i < a->notice.n_findings; i++)
                if (a->notice.findings[i]->is_change)
                    wc_metrics_notification_delay(
                        r->metrics, now - a->notice.findings[i]->change.capture_time_ms);
        }
    }
    pthread_mutex_lock(&r->lock);
    wc_pipeline_send_done(r->pipe, a->id, rc, &res);
    pthread_mutex_unlock(&r->lock);
}

static void s_do_queue(struct s_runner *r, const struct wc_action *a)
{
    int results[WC_QUEUE_MAX_BATCH] = {0}, rc;

    if (a->kind == WC_ACTION_DELETE)
        rc = wc_queue_delete_batch(r->queue, a->handles, a->n_handles, results);
    else
        rc = wc_queue_change_visibility_batch(r->queue, a->handles, a->n_handles,
                                              a->visibility_s, results);
    if (rc != WC_OK)
        WC_LOGW(r->logger, a->log_id, "%s of %zu message(s) failed: %s",
                a->kind == WC_ACTION_DELETE ? "delete" : "visibility change", a->n_handles,
                wc_strerror(rc));
    pthread_mutex_lock(&r->lock);
    wc_pipeline_queue_done(r->pipe, a->id, rc, results);
    pthread_mutex_unlock(&r->lock);
}

/* The ledger's I/O (a state file's fsync, a DynamoDB call) on a pool
 * thread: the pipeline and every other message go on meanwhile. */
static void s_do_ledger(struct s_runner *r, const struct wc_action *a)
{
    if (a->kind == WC_ACTION_LEDGER_CHECK) {
        bool accepted = a->thorough
                            ? wc_ledger_accepted_thorough(a->ledger, a->notifier->id, a->subject)
                            : wc_ledger_accepted(a->ledger, a->notifier->id, a->subject);

        pthread_mutex_lock(&r->lock);
        wc_pipeline_check_done(r->pipe, a->id, accepted);
        pthread_mutex_unlock(&r->lock);
    } else {
        int rc = wc_ledger_record(a->ledger, a->notifier->id, a->subject);

        pthread_mutex_lock(&r->lock);
        wc_pipeline_record_done(r->pipe, a->id, rc);
        pthread_mutex_unlock(&r->lock);
    }
}

static void *s_pool_main(void *arg)
{
    struct s_runner *r = arg;

    for (;;) {
        struct s_job *j;

        pthread_mutex_lock(&r->lock);
        while (!r->jobs_head && !r->pool_stop)
            pthread_cond_wait(&r->pool_cond, &r->lock);
        if (!(j = r->jobs_head)) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        r->jobs_head = j->next;
        if (!r->jobs_head)
            r->jobs_tail = NULL;
        pthread_mutex_unlock(&r->lock);

        switch (j->a.kind) {
        case WC_ACTION_FETCH:
            s_do_fetch(r, &j->a);
            break;
        case WC_ACTION_LOOKUP:
            s_do_lookup(r, &j->a);
            break;
        case WC_ACTION_SEND:
            s_do_send(r, &j->a);
            break;
        case WC_ACTION_DELETE:
        case WC_ACTION_VISIBILITY:
            s_do_queue(r, &j->a);
            break;
        case WC_ACTION_LEDGER_CHECK:
        case WC_ACTION_LEDGER_RECORD:
            s_do_ledger(r, &j->a);
            break;
        }
        free(j);
        pthread_mutex_lock(&r->lock);
        pthread_cond_signal(&r->loop_cond);
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

/* Hand every action the pipeline has now to the pool (r->lock held). */
static void s_dispatch(struct s_runner *r)
{
    struct wc_action a;

    while (wc_pipeline_next(r->pipe, &a)) {
        struct s_job *j = calloc(1, sizeof(*j));

        if (!j) {
            WC_LOGE(r->logger, NULL, "out of memory: dropping an action");
            break;
        }
        j->a = a;
        if (r->jobs_tail)
            r->jobs_tail->next = j;
        else
            r->jobs_head = j;
        r->jobs_tail = j;
        pthread_cond_signal(&r->pool_cond);
    }
}

/* --- receiving ----------------------------------------------------------------- */

/* A receive failed (AccessDenied, the queue unreachable, ...): after
 * health.max_receive_failures in a row the worker is not ready, and --once
 * gives up. Returns true when the receiver should stop. */
static bool s_receive_failed(struct s_runner *r, int rc, int failures, int backoff_s)
{
    int max = wc_config_max_receive_failures(r->cfg);
    bool stop = false;

    wc_metrics_set_receive_failures(r->metrics, failures);
    if (failures < max) {
        WC_LOGE(r->logger, NULL, "receive failed: %s; trying again in %d s", wc_strerror(rc),
                backoff_s);
        return false;
    }
    pthread_mutex_lock(&r->lock);
    if (!r->recv_failing)
        WC_LOGE(r->logger, NULL, "receive failed %d times in a row (%s): not ready until a "
                "receive succeeds%s", failures, wc_strerror(rc),
                r->once ? "; --once gives up" : "");
    else
        WC_LOGE(r->logger, NULL, "receive failed: %s; trying again in %d s", wc_strerror(rc),
                backoff_s);
    r->recv_failing = true;
    if (r->once) {
        r->once_failed = true;
        r->once_done = true;
        stop = true;
    }
    pthread_cond_signal(&r->loop_cond);
    pthread_mutex_unlock(&r->lock);
    return stop;
}

static void s_receive_ok(struct s_runner *r, int failures)
{
    if (failures == 0)
        return;
    wc_metrics_set_receive_failures(r->metrics, 0);
    pthread_mutex_lock(&r->lock);
    if (r->recv_failing)
        WC_LOGI(r->logger, NULL, "receive works again after %d failure(s): ready", failures);
    r->recv_failing = false;
    pthread_cond_signal(&r->loop_cond);
    pthread_mutex_unlock(&r->lock);
}

/* The events queue: each message's write event goes into the pipeline's
 * index (deciding the changes that wait for it); what is indexed or ignored
 * is deleted at once, a malformed message is left for the redrive policy.
 * The events are in memory only: after a restart, LookupEvents covers what
 * the stream brought before. */
static void *s_events_main(void *arg)
{
    struct s_runner *r = arg;
    int backoff_s = 1;

    while (!g_stop) {
        struct wc_queue_batch batch = WC_QUEUE_BATCH_INIT;
        const char *done[WC_QUEUE_MAX_BATCH];
        int results[WC_QUEUE_MAX_BATCH];
        size_t n_done = 0;
        int rc;

        pthread_mutex_lock(&r->lock);
        if (r->recv_stop) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        pthread_mutex_unlock(&r->lock);
        rc = wc_queue_receive(r->events, WC_QUEUE_MAX_BATCH, r->once ? ONCE_WAIT_S : POLL_WAIT_S,
                              &batch);
        if (rc == WC_ERR_CANCELLED || (rc != WC_OK && g_stop))
            break;
        if (rc != WC_OK) {
            WC_LOGE(r->logger, NULL, "events queue: receive failed: %s; trying again in %d s",
                    wc_strerror(rc), backoff_s);
            s_sleep(NULL, (int64_t)backoff_s * 1000);
            backoff_s = backoff_s < 30 ? backoff_s * 2 : 30;
            continue;
        }
        backoff_s = 1;
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < batch.len; i++) {
            struct wc_queue_message *m = &batch.items[i];

            if (wc_pipeline_stream(r->pipe, (struct wc_str){m->body, m->body_len}, NULL) ==
                WC_OK)
                done[n_done++] = m->receipt_handle;
        }
        pthread_cond_signal(&r->loop_cond);
        pthread_mutex_unlock(&r->lock);
        if (n_done > 0 && !r->dry_run &&
            (rc = wc_queue_delete_batch(r->events, done, n_done, results)) != WC_OK)
            WC_LOGW(r->logger, NULL, "events queue: delete failed: %s (they come back and "
                    "are indexed once)", wc_strerror(rc));
        wc_queue_batch_clean_up(&batch);
    }
    return NULL;
}

static void *s_receiver_main(void *arg)
{
    struct s_runner *r = arg;
    int backoff_s = 1, failures = 0;

    for (;;) {
        struct wc_queue_batch batch = WC_QUEUE_BATCH_INIT;
        const char *seen[WC_QUEUE_MAX_BATCH];
        size_t room = 0, fresh, n_seen;
        int rc;

        pthread_mutex_lock(&r->lock);
        while (!r->recv_stop && (room = wc_pipeline_room(r->pipe)) == 0) {
            struct timespec ts;

            s_abs_deadline(&ts, 1000);
            pthread_cond_timedwait(&r->recv_cond, &r->lock, &ts);
        }
        r->recv_idle = false;
        pthread_mutex_unlock(&r->lock);
        if (r->recv_stop || g_stop)
            break;
        if (room > WC_QUEUE_MAX_BATCH)
            room = WC_QUEUE_MAX_BATCH;
        /* after failures, a short poll: a success says at once that it works again */
        rc = wc_queue_receive(r->queue, (int)room,
                              r->once ? ONCE_WAIT_S : failures ? 1 : POLL_WAIT_S, &batch);
        if (rc == WC_ERR_CANCELLED || (rc != WC_OK && g_stop))
            break; /* SIGTERM cut the long poll short */
        if (rc != WC_OK) {
            if (s_receive_failed(r, rc, ++failures, backoff_s))
                break;
            s_sleep(NULL, (int64_t)backoff_s * 1000);
            backoff_s = backoff_s < 30 ? backoff_s * 2 : 30;
            continue;
        }
        s_receive_ok(r, failures);
        failures = 0;
        backoff_s = 1;
        pthread_mutex_lock(&r->lock);
        if (r->recv_stop && batch.len > 0) {
            /* stopped while polling: let another worker have them now */
            const char *handles[WC_QUEUE_MAX_BATCH];
            int results[WC_QUEUE_MAX_BATCH];

            pthread_mutex_unlock(&r->lock);
            for (size_t i = 0; i < batch.len; i++)
                handles[i] = batch.items[i].receipt_handle;
            if (!r->dry_run)
                wc_queue_change_visibility_batch(r->queue, handles, batch.len, 0, results);
            wc_queue_batch_clean_up(&batch);
            break;
        }
        fresh = 0;
        n_seen = 0;
        for (size_t i = 0; i < batch.len; i++) {
            struct wc_queue_message *m = &batch.items[i];

            if (r->dry_run) { /* each message is shown once, and never hidden */
                if (wc_strlist_contains(&r->seen, m->message_id)) {
                    seen[n_seen++] = m->receipt_handle;
                    continue;
                }
                wc_strlist_push(&r->seen, m->message_id);
            }
            wc_pipeline_receive(r->pipe, m);
            fresh++;
        }
        if (fresh == 0 && r->once && wc_pipeline_once_done(r->pipe))
            r->once_done = true;
        r->recv_idle = fresh == 0;
        pthread_cond_signal(&r->loop_cond);
        pthread_mutex_unlock(&r->lock);
        if (n_seen > 0) { /* --dry-run: shown already; visible again at once */
            int results[WC_QUEUE_MAX_BATCH];

            wc_queue_change_visibility_batch(r->queue, seen, n_seen, 0, results);
            if (fresh == 0 && !r->once)
                s_sleep(NULL, 1000); /* only those again: do not spin on them */
        }
        wc_queue_batch_clean_up(&batch);
        if (r->once_done)
            break;
    }
    return NULL;
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
        char id[80];

        wc_config_notifier_id(r->cfg, i, id, sizeof(id));
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
        o.http = r->stack.notify_http;
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
        /* its series from the start, under its name */
        wc_metrics_register_notifier(r->metrics, r->notifiers[i]->id);
    }
    return WC_OK;
}

/* Every AWS request, counted by service, operation and outcome. */
static void s_observe_aws(void *ctx, const char *service, const char *operation,
                          const char *outcome)
{
    wc_metrics_aws_request(ctx, service, operation, outcome);
}

/* The calls the worker makes, given their series (zeros) from the start. */
static void s_register_aws(struct s_runner *r)
{
    static const char *const ops[][2] = {
        {"sqs", "ReceiveMessage"},         {"sqs", "DeleteMessageBatch"},
        {"sqs", "ChangeMessageVisibilityBatch"}, {"sqs", "GetQueueAttributes"},
        {"cloudtrail", "LookupEvents"},    {"s3", "GetObject"},
    };

    if (!wc_config_queue_url(r->cfg))
        wc_metrics_register_aws(r->metrics, "sqs", "GetQueueUrl");
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        wc_metrics_register_aws(r->metrics, ops[i][0], ops[i][1]);
    if (wc_config_accounts_role_arn(r->cfg))
        wc_metrics_register_aws(r->metrics, "sts", "AssumeRole");
}

static void s_reload(struct s_runner *r)
{
    struct wc_config *cfg = NULL;
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    int rc;

    if (wc_config_load(r->config_path, &cfg, &errs) != WC_OK) {
        WC_LOGE(r->logger, NULL, "SIGHUP: the new configuration is invalid; keeping the old one");
        for (size_t i = 0; i < errs.len; i++)
            WC_LOGE(r->logger, NULL, "%s:%d:%d: %s", errs.items[i].file, errs.items[i].line,
                    errs.items[i].col, errs.items[i].reason);
        wc_config_errors_clean_up(&errs);
        return;
    }
    wc_config_errors_clean_up(&errs);
    pthread_mutex_lock(&r->lock);
    rc = wc_pipeline_set_policy(r->pipe, wc_config_policy(cfg));
    pthread_mutex_unlock(&r->lock);
    if (rc != WC_OK)
        WC_LOGE(r->logger, NULL, "SIGHUP: cannot apply the new rules: %s", wc_strerror(rc));
    wc_config_destroy(cfg);
    for (size_t i = 0; i < r->n_notifiers; i++)
        wc_notifier_reopen(r->notifiers[i]);
    WC_LOGI(r->logger, NULL, "SIGHUP: reloaded the trusted/ignore/skew rules and the "
            "account, topic and bucket allowlists, reopened files "
            "(queue, notifiers and AWS settings change on restart)");
}

/* SIGHUP: acted on once, by the loop (which wakes every second). */
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
            "usage: whochanged run [-c FILE] [--once] [--dry-run] [--log-level LEVEL]\n"
            "                      [--log-format text|json]\n\n"
            "The worker: long-polls the SQS queue of AWS Config change notifications, finds\n"
            "the CloudTrail events behind each change, and sends human changes to the\n"
            "configured notifiers (Slack, webhook, JSON lines).\n\n"
            "  -c, --config FILE    config file (default $WHOCHANGED_CONFIG, then\n"
            "                       /etc/whochanged/config.yaml)\n"
            "  --once               stop when the queue holds nothing more for this worker\n"
            "                       (nothing received, nothing in flight, no change waiting\n"
            "                       for a late CloudTrail event), then exit 0; exit 1 when\n"
            "                       health.max_receive_failures receives fail in a row\n"
            "  --dry-run            print what each notifier would send; send, record,\n"
            "                       delete, release and extend nothing\n"
            "  --log-level LEVEL    trace|debug|info|warn|error (default: the config's, info)\n"
            "  --log-format FORMAT  text (default) or json\n\n"
            "Changes waiting for CloudTrail are grouped by account and region: a lone one is\n"
            "looked up by resource, several at once by one scan of the window's write events\n"
            "(cloudtrail.scan); each account-region has its own adaptive budget\n"
            "(cloudtrail.lookups_per_second). Messages held keep their lease (the queue's\n"
            "VisibilityTimeout, extended while they wait). Human changes by one actor\n"
            "session within correlation.digest_seconds go to Slack as one digest.\n\n"
            "Signals: SIGTERM/SIGINT release the changes waiting for CloudTrail, finish the\n"
            "posts and deletes under way and exit 0; SIGHUP reloads the trusted/ignore\n"
            "rules and the allowlists (accounts.allowed, sns.allowed_topics,\n"
            "oversized.allowed_buckets) and reopens JSON lines files.\n");
}

static int s_setup(struct s_runner *r, const char *level_name, const char *format_name)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_logger_options lo = {0};
    struct wc_sqs_options so = {0};
    struct wc_strlist run_errs = WC_STRLIST_INIT, run_warns = WC_STRLIST_INIT;
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
    /* what check-config checks too, with the same code */
    if (wc_cmd_run_checks(r->cfg, &run_errs, &run_warns) != WC_OK) {
        rc = 1;
        goto checked;
    }
    for (size_t i = 0; i < run_errs.len; i++)
        fprintf(stderr, "whochanged run: %s\n", run_errs.items[i]);
    rc = run_errs.len ? 2 : 0;
checked:
    wc_strlist_clean_up(&run_errs);
    if (rc != 0) {
        wc_strlist_clean_up(&run_warns);
        return rc;
    }
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
    if (!(r->logger = wc_logger_new(&lo))) {
        wc_strlist_clean_up(&run_warns);
        return 1;
    }
    for (const char *const *s = wc_config_secrets(r->cfg, NULL); s && *s; s++)
        wc_logger_add_secret(r->logger, *s);
    for (size_t i = 0; i < run_warns.len; i++)
        WC_LOGW(r->logger, NULL, "config: %s", run_warns.items[i]);
    wc_strlist_clean_up(&run_warns);
    if (!(r->metrics = wc_metrics_new()))
        return 1;
    wc_metrics_set_build_info(r->metrics, wc_version());
    s_register_aws(r);

    queue_url = wc_config_queue_url(r->cfg);
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
    wc_aws_set_observer(r->stack.aws, s_observe_aws, r->metrics);
    if (wc_endpoints_resolve(r->stack.endpoints, "sqs", r->stack.region, &r->sqs_endpoint) !=
        WC_OK) {
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
    if (wc_config_events_queue_url(r->cfg)) {
        struct wc_sqs_options eo = so;
        char *events_region = wc_sqs_region_from_queue_url(wc_config_events_queue_url(r->cfg));

        eo.queue_url = wc_config_events_queue_url(r->cfg);
        eo.queue_name = NULL;
        if (events_region && strcmp(events_region, r->stack.region) != 0) {
            fprintf(stderr, "whochanged run: events.queue_url is in %s, the worker in %s: "
                    "give each region's worker its own events queue\n", events_region,
                    r->stack.region);
            free(events_region);
            return 2;
        }
        free(events_region);
        if (!(r->events = wc_sqs_new(&eo))) {
            fprintf(stderr, "whochanged run: cannot set up the events queue's client\n");
            return 2;
        }
    }
    r->s3.aws = r->stack.aws;
    r->s3.creds = r->stack.creds;
    r->s3.endpoints = r->stack.endpoints; /* endpoints.s3 among them */
    if ((rc = s_build_notifiers(r)) != WC_OK)
        return rc == WC_ERR_CONFIG ? 2 : 1;
    if (r->dry_run) {
        r->ledger = wc_ledger_memory_new(0);
    } else if (wc_config_ledger_type(r->cfg) == WC_CONFIG_LEDGER_DYNAMODB) {
        /* shared by the workers of every host: ledger.table in DynamoDB */
        struct wc_dynamodb_ledger_options dlo = {.table = wc_config_ledger_table(r->cfg)};
        char *endpoint = NULL;

        dlo.client = (struct wc_dynamodb_options){
            .aws = r->stack.aws, .creds = r->stack.creds, .logger = r->logger,
            .region = wc_config_ledger_region(r->cfg) ? wc_config_ledger_region(r->cfg)
                                                       : r->stack.region};
        if ((rc = wc_endpoints_resolve(r->stack.endpoints, "dynamodb", dlo.client.region,
                                       &endpoint)) != WC_OK) {
            fprintf(stderr, "whochanged run: ledger: no DynamoDB endpoint for %s: %s\n",
                    dlo.client.region, wc_strerror(rc));
            return 2;
        }
        dlo.client.endpoint = endpoint;
        r->ledger = wc_dynamodb_ledger_open(&dlo, err, sizeof(err));
        free(endpoint);
        if (!r->ledger) {
            fprintf(stderr, "whochanged run: %s\n", err[0] ? err : "ledger: out of memory");
            return 1;
        }
    } else {
        r->ledger = wc_statefile_ledger_open(wc_config_state_dir(r->cfg), 0, 0, NULL, r->logger,
                                             err, sizeof(err));
    }
    if (!r->ledger) {
        fprintf(stderr, "whochanged run: state_dir: %s\n", err[0] ? err : "out of memory");
        return 1;
    }
    if (wc_config_metrics_listen(r->cfg) &&
        !(r->metrics_http = wc_metrics_http_start(wc_config_metrics_listen(r->cfg), r->metrics,
                                                  r->logger, err, sizeof(err)))) {
        fprintf(stderr, "whochanged run: %s\n", err);
        return 1;
    }
    /* the lease: messages in hand get it extended before it ends */
    if ((rc = wc_queue_visibility_timeout(r->queue, &r->lease_s)) != WC_OK || r->lease_s < 1) {
        WC_LOGW(r->logger, NULL, "cannot read the queue's VisibilityTimeout (%s): assuming %d s",
                rc != WC_OK ? wc_strerror(rc) : "0 s", DEFAULT_LEASE_S);
        r->lease_s = DEFAULT_LEASE_S;
    }
    {
        struct wc_pipeline_options po = {0};
        struct wc_pipeline_ports pp = {0};

        po.schedule = (struct wc_schedule){wc_config_retry_initial_s(r->cfg),
                                           wc_config_retry_for_s(r->cfg), WC_RETRY_CAP_S};
        po.lease_s = r->lease_s;
        po.max_in_hand = (size_t)wc_config_max_in_flight(r->cfg);
        po.digest_ms = (int64_t)wc_config_digest_s(r->cfg) * 1000;
        po.sched.rate_per_s = wc_config_cloudtrail_rate(r->cfg);
        po.sched.no_scan = !wc_config_cloudtrail_scan(r->cfg);
        po.sched.settle_ms = WC_SCHED_SETTLE_MS;
        {
            /* the loop's clock is monotonic; slots are wall time */
            struct wc_clock c = wc_clock_system();

            po.sched.wall_offset_ms = wc_clock_now_ms(&c) - wc_clock_mono_ms(&c);
        }
        po.dry_run = r->dry_run;
        if (r->events) {
            po.stream = true;
            po.stream_index.retention_ms =
                (int64_t)wc_config_events_retention_min(r->cfg) * 60000;
            po.stream_index.max_bytes = wc_config_events_max_bytes(r->cfg);
            po.stream_grace_ms = (int64_t)wc_config_events_grace_s(r->cfg) * 1000;
        }
        pp.ledger = r->ledger;
        pp.notifiers = r->notifiers;
        pp.n_notifiers = r->n_notifiers;
        pp.logger = r->logger;
        pp.metrics = r->metrics;
        if (!(r->pipe = wc_pipeline_new(&po, &pp, wc_config_policy(r->cfg)))) {
            fprintf(stderr, "whochanged run: cannot set up the pipeline\n");
            return 1;
        }
    }
    r->clock = wc_clock_system();
    return 0;
}

static void s_teardown(struct s_runner *r)
{
    wc_pipeline_destroy(r->pipe);
    wc_metrics_http_stop(r->metrics_http);
    wc_metrics_destroy(r->metrics);
    for (size_t i = 0; i < r->n_notifiers; i++)
        wc_notifier_destroy(r->notifiers[i]);
    free(r->notifiers);
    wc_ledger_destroy(r->ledger);
    wc_queue_destroy(r->queue);
    wc_queue_destroy(r->events);
    free(r->sqs_endpoint);
    wc_stack_clean_up(&r->stack);
    wc_strlist_clean_up(&r->seen);
    while (r->jobs_head) {
        struct s_job *j = r->jobs_head;

        r->jobs_head = j->next;
        free(j);
    }
    free(r->pool);
    wc_logger_destroy(r->logger);
    wc_config_destroy(r->cfg);
}

/* --- the loop ------------------------------------------------------------- */

static void s_loop(struct s_runner *r)
{
    struct wc_clock mono = wc_clock_system();
    int64_t drain_until = 0, trimmed_ms = 0;
    bool stopping = false;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        struct wc_pipeline_stats st;
        struct timespec ts;
        int64_t wake, now;

        if (g_reload) {
            pthread_mutex_unlock(&r->lock);
            s_maybe_reload(r);
            pthread_mutex_lock(&r->lock);
        }
        if ((g_stop || r->once_done) && !stopping) {
            stopping = true;
            r->recv_stop = true;
            pthread_cond_signal(&r->recv_cond);
            wc_pipeline_shutdown(r->pipe);
            drain_until = wc_clock_mono_ms(&mono) + DRAIN_MS;
        }
        s_dispatch(r);
        if (!stopping) /* not ready while the state file cannot record or the
                        * queue cannot be read */
            wc_metrics_set_ready(r->metrics, wc_pipeline_healthy(r->pipe) && !r->recv_failing);
        if (stopping && ((wc_pipeline_in_hand(r->pipe) == 0 &&
                          wc_pipeline_outstanding(r->pipe) == 0) ||
                         wc_clock_mono_ms(&mono) > drain_until))
            break;
        if (wc_pipeline_room(r->pipe) > 0)
            pthread_cond_signal(&r->recv_cond);
        now = wc_clock_mono_ms(&mono);
        if (now - trimmed_ms >= 2000) { /* every two seconds: */
            trimmed_ms = now;
            wc_pipeline_get_stats(r->pipe, &st); /* the oldest-retry gauge */
            malloc_trim(0); /* freed heap back to the system: RSS follows the load */
        }
        wake = wc_pipeline_wake_ms(r->pipe) - now;
        if (wake > 1000) /* signals and the gauges are looked at every second */
            wake = 1000;
        if (wake < 1)
            wake = 1;
        s_abs_deadline(&ts, wake);
        pthread_cond_timedwait(&r->loop_cond, &r->lock, &ts);
    }
    if (wc_pipeline_in_hand(r->pipe) > 0)
        WC_LOGW(r->logger, NULL, "%zu message(s) still in hand at exit: they come back when "
                "their lease ends", wc_pipeline_in_hand(r->pipe));
    r->pool_stop = true;
    pthread_cond_broadcast(&r->pool_cond);
    pthread_mutex_unlock(&r->lock);
}

int wc_cmd_run(int argc, char **argv)
{
    struct s_runner r;
    const char *level = NULL, *format = NULL;
    struct sigaction sa;
    int status, n_pool;

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
    pthread_cond_init(&r.loop_cond, NULL);
    pthread_cond_init(&r.pool_cond, NULL);
    pthread_cond_init(&r.recv_cond, NULL);
    pthread_mutex_init(&r.reload_lock, NULL);
    /* a few malloc arenas, not one per I/O thread: memory freed by one
     * thread is reused by the others instead of staying in its arena */
    mallopt(M_ARENA_MAX, 1);
    /* large buffers (CloudTrail pages of up to 50 events, 50-200 KiB) in
     * mappings of their own, given back when freed: left to the heap (glibc
     * raises its mmap threshold after the first such free), 64 threads'
     * pages fragment it and the peak RSS stays */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    /* handlers first: a SIGHUP (or SIGTERM) during start-up must not kill the
     * worker with the default action; start-up reads g_stop as it goes */
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = s_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = s_on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((status = s_setup(&r, level, format)) != 0)
        goto out;


    n_pool = wc_config_max_in_flight(r.cfg);
    n_pool = n_pool < POOL_MIN ? POOL_MIN : n_pool > POOL_MAX ? POOL_MAX : n_pool;
    if (!(r.pool = calloc((size_t)n_pool, sizeof(*r.pool)))) {
        status = 1;
        goto out;
    }
    for (int i = 0; i < n_pool; i++) {
        if (pthread_create(&r.pool[i], NULL, s_pool_main, &r) != 0)
            break;
        r.n_pool++;
    }
    if (r.n_pool == 0 || pthread_create(&r.receiver, NULL, s_receiver_main, &r) != 0) {
        fprintf(stderr, "whochanged run: cannot start threads\n");
        pthread_mutex_lock(&r.lock);
        r.pool_stop = true;
        pthread_cond_broadcast(&r.pool_cond);
        pthread_mutex_unlock(&r.lock);
        for (int i = 0; i < r.n_pool; i++)
            pthread_join(r.pool[i], NULL);
        status = 1;
        goto out;
    }
    r.have_receiver = true;
    if (r.events) {
        if (pthread_create(&r.events_receiver, NULL, s_events_main, &r) != 0)
            WC_LOGE(r.logger, NULL, "events queue: cannot start its thread: LookupEvents only");
        else
            r.have_events_receiver = true;
    }
    {
        struct wc_schedule sch = {wc_config_retry_initial_s(r.cfg), wc_config_retry_for_s(r.cfg),
                                  WC_RETRY_CAP_S};

        WC_LOGI(r.logger, NULL, "whochanged run: queue %s, lease %d s, up to %d messages in "
                "hand, %d I/O threads, %zu notifier(s), CloudTrail %s%s%s; a change waiting for "
                "its CloudTrail event is received up to %d times (keep the queue's "
                "maxReceiveCount above that)",
                wc_config_queue_url(r.cfg) ? wc_config_queue_url(r.cfg)
                                           : wc_config_queue_name(r.cfg),
                r.lease_s, wc_config_max_in_flight(r.cfg), r.n_pool, r.n_notifiers,
                wc_config_cloudtrail_scan(r.cfg) ? "scans and lookups" : "lookups per change",
                r.once ? ", --once" : "", r.dry_run ? ", --dry-run" : "",
                wc_worker_max_receives(&sch));
    }

    wc_metrics_set_ready(r.metrics, true);
    s_loop(&r);
    wc_metrics_set_ready(r.metrics, false);

    for (int i = 0; i < r.n_pool; i++)
        pthread_join(r.pool[i], NULL);
    pthread_mutex_lock(&r.lock);
    r.recv_stop = true;
    pthread_cond_signal(&r.recv_cond);
    pthread_mutex_unlock(&r.lock);
    pthread_join(r.receiver, NULL);
    if (r.have_events_receiver)
        pthread_join(r.events_receiver, NULL);
    {
        struct wc_pipeline_stats st;

        wc_pipeline_get_stats(r.pipe, &st);
        WC_LOGI(r.logger, NULL, "stopped after %llu message(s), %llu error(s)",
                (unsigned long long)st.received, (unsigned long long)st.errors);
        if (r.events)
            WC_LOGI(r.logger, NULL, "event stream: %llu change(s) decided from it, %llu "
                    "looked up after its grace", (unsigned long long)st.stream_decided,
                    (unsigned long long)st.stream_fallbacks);
    }
    status = r.once_failed ? 1 : 0;
out:
    s_teardown(&r);
    pthread_mutex_destroy(&r.reload_lock);
    pthread_cond_destroy(&r.recv_cond);
    pthread_cond_destroy(&r.pool_cond);
    pthread_cond_destroy(&r.loop_cond);
    pthread_mutex_destroy(&r.lock);
    return status;
}
