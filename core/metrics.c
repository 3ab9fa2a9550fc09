/* metrics.c - see metrics.h. */
#include "core/metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

/* The fixed verdict label set, in rendering order. */
static const char *const s_verdicts[] = {
    "human", "automation", "aws_service", "unattributed", "ignored", "invalid",
};
#define S_N_VERDICTS (sizeof(s_verdicts) / sizeof(s_verdicts[0]))

/* The fixed queue label set of the subscription confirmations, in order. */
static const char *const s_queues[] = {WC_METRICS_QUEUE_CHANGES, WC_METRICS_QUEUE_EVENTS};
#define S_N_QUEUES (sizeof(s_queues) / sizeof(s_queues[0]))

#define S_OTHER_NOTIFIER "_other"
#define S_OTHER_OP "_other"
#define S_AWS_LABEL 64

static const char *const s_aws_codes[] = WC_METRICS_AWS_CODES;
static const int64_t s_delay_bounds_s[WC_METRICS_N_DELAY_BUCKETS] = WC_METRICS_DELAY_BUCKETS;

/* One service/operation pair of whochanged_aws_requests_total. */
struct s_aws_slot {
    char service[S_AWS_LABEL + 1]; /* written once, before publication */
    char operation[S_AWS_LABEL + 1];
    atomic_uint_least64_t n[WC_METRICS_N_AWS_CODES];
};

struct s_notifier_slot {
    char name[WC_METRICS_MAX_LABEL + 1]; /* written once, before publication */
    atomic_uint_least64_t sent;
    atomic_uint_least64_t failed;
};

struct wc_metrics {
    atomic_uint_least64_t messages[S_N_VERDICTS];
    atomic_uint_least64_t lookups;
    atomic_uint_least64_t throttles;
    atomic_uint_least64_t retries;
    atomic_uint_least64_t ledger_failures;
    atomic_uint_least64_t subscriptions[S_N_QUEUES];
    atomic_int_least64_t in_flight;
    atomic_int_least64_t oldest_retry_age_s;
    atomic_bool ready;

    /* Slots [0, n_notifiers) are published (release store after the name
     * is written); adding one takes the lock, reading never does. */
    pthread_mutex_t lock;
    atomic_size_t n_notifiers;
    struct s_notifier_slot notifiers[WC_METRICS_MAX_NOTIFIERS];
    atomic_uint_least64_t other_sent;
    atomic_uint_least64_t other_failed;

    /* the same scheme for AWS operations (under the same lock) */
    atomic_size_t n_aws;
    struct s_aws_slot aws[WC_METRICS_MAX_AWS_OPS];
    /* the overflow: one slot per service would be unbounded too, so one */
    struct s_aws_slot aws_other;

    /* notification delay histogram: per-bucket counts (not cumulative),
     * the +Inf bucket last; the sum in ms */
    atomic_uint_least64_t delay_buckets[WC_METRICS_N_DELAY_BUCKETS + 1];
    atomic_uint_least64_t delay_sum_ms;
    atomic_int_least64_t receive_failures;

    char *version;
    int64_t start_time_s;
};

struct wc_metrics *wc_metrics_new(void)
{
    struct wc_metrics *m = calloc(1, sizeof(*m));
    struct wc_clock clk = wc_clock_system();

    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    for (size_t i = 0; i < S_N_VERDICTS; i++)
        atomic_init(&m->messages[i], 0);
    atomic_init(&m->lookups, 0);
    atomic_init(&m->throttles, 0);
    atomic_init(&m->retries, 0);
    atomic_init(&m->ledger_failures, 0);
    for (size_t i = 0; i < S_N_QUEUES; i++)
        atomic_init(&m->subscriptions[i], 0);
    atomic_init(&m->in_flight, 0);
    atomic_init(&m->oldest_retry_age_s, 0);
    atomic_init(&m->ready, false);
    atomic_init(&m->n_notifiers, 0);
    for (size_t i = 0; i < WC_METRICS_MAX_NOTIFIERS; i++) {
        atomic_init(&m->notifiers[i].sent, 0);
        atomic_init(&m->notifiers[i].failed, 0);
    }
    atomic_init(&m->other_sent, 0);
    atomic_init(&m->other_failed, 0);
    atomic_init(&m->n_aws, 0);
    for (size_t i = 0; i < WC_METRICS_MAX_AWS_OPS; i++)
        for (size_t c = 0; c < WC_METRICS_N_AWS_CODES; c++)
            atomic_init(&m->aws[i].n[c], 0);
    for (size_t c = 0; c < WC_METRICS_N_AWS_CODES; c++)
        atomic_init(&m->aws_other.n[c], 0);
    for (size_t i = 0; i <= WC_METRICS_N_DELAY_BUCKETS; i++)
        atomic_init(&m->delay_buckets[i], 0);
    atomic_init(&m->delay_sum_ms, 0);
    atomic_init(&m->receive_failures, 0);
    m->start_time_s = wc_clock_now_ms(&clk) / 1000;
    return m;
}

void wc_metrics_destroy(struct wc_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->version);
    free(m);
}

int wc_metrics_set_build_info(struct wc_metrics *m, const char *version)
{
    char *v;

    if (!m || !version)
        return WC_ERR_INVALID;
    if (!(v = wc_strdup(version)))
        return WC_ERR_NOMEM;
    free(m->version);
    m->version = v;
    return WC_OK;
}

void wc_metrics_set_start_time(struct wc_metrics *m, int64_t unix_s)
{
    if (m)
        m->start_time_s = unix_s;
}

static void s_inc(atomic_uint_least64_t *c, uint_least64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint_least64_t s_get(atomic_uint_least64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void wc_metrics_message(struct wc_metrics *m, const char *verdict)
{
    if (!m || !verdict)
        return;
    for (size_t i = 0; i < S_N_VERDICTS; i++) {
        if (strcmp(s_verdicts[i], verdict) == 0) {
            s_inc(&m->messages[i], 1);
            return;
        }
    }
}

void wc_metrics_lookup(struct wc_metrics *m, int n_calls)
{
    if (m && n_calls > 0)
        s_inc(&m->lookups, (uint_least64_t)n_calls);
}

void wc_metrics_throttle(struct wc_metrics *m)
{
    if (m)
        s_inc(&m->throttles, 1);
}

void wc_metrics_ledger_failure(struct wc_metrics *m)
{
    if (m)
        s_inc(&m->ledger_failures, 1);
}

void wc_metrics_subscription_confirmation(struct wc_metrics *m, const char *queue)
{
    if (!m || !queue)
        return;
    for (size_t i = 0; i < S_N_QUEUES; i++) {
        if (strcmp(s_queues[i], queue) == 0) {
            s_inc(&m->subscriptions[i], 1);
            return;
        }
    }
}

void wc_metrics_retry(struct wc_metrics *m)
{
    if (m)
        s_inc(&m->retries, 1);
}

/* id cut to WC_METRICS_MAX_LABEL bytes without splitting a UTF-8 sequence. */
static void s_label_copy(char out[WC_METRICS_MAX_LABEL + 1], const char *id)
{
    size_t n = strlen(id);

    if (n > WC_METRICS_MAX_LABEL) {
        n = WC_METRICS_MAX_LABEL;
        /* back up over a partial multi-byte sequence */
        while (n > 0 && ((unsigned char)id[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, id, n);
    out[n] = '\0';
}

static struct s_notifier_slot *s_find(struct wc_metrics *m, const char *label, size_t from,
                                      size_t to)
{
    for (size_t i = from; i < to; i++)
        if (strcmp(m->notifiers[i].name, label) == 0)
            return &m->notifiers[i];
    return NULL;
}

/* The slot for id, added on first sight; NULL once all slots are taken. */
static struct s_notifier_slot *s_slot(struct wc_metrics *m, const char *id)
{
    char label[WC_METRICS_MAX_LABEL + 1];
    struct s_notifier_slot *slot;
    size_t n, now;

    s_label_copy(label, id);
    n = atomic_load_explicit(&m->n_notifiers, memory_order_acquire);
    if ((slot = s_find(m, label, 0, n)))
        return slot;
    pthread_mutex_lock(&m->lock);
    now = atomic_load_explicit(&m->n_notifiers, memory_order_acquire);
    slot = s_find(m, label, n, now);
    if (!slot && now < WC_METRICS_MAX_NOTIFIERS) {
        slot = &m->notifiers[now];
        memcpy(slot->name, label, sizeof(label));
        atomic_store_explicit(&m->n_notifiers, now + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->lock);
    return slot;
}

void wc_metrics_notification(struct wc_metrics *m, const char *notifier_id)
{
    struct s_notifier_slot *slot;

    if (!m || !notifier_id)
        return;
    slot = s_slot(m, notifier_id);
    s_inc(slot ? &slot->sent : &m->other_sent, 1);
}

void wc_metrics_notifier_failure(struct wc_metrics *m, const char *notifier_id)
{
    struct s_notifier_slot *slot;

    if (!m || !notifier_id)
        return;
    slot = s_slot(m, notifier_id);
    s_inc(slot ? &slot->failed : &m->other_failed, 1);
}

void wc_metrics_register_notifier(struct wc_metrics *m, const char *notifier_id)
{
    if (m && notifier_id)
        (void)s_slot(m, notifier_id);
}

/* s cut to S_AWS_LABEL bytes (service and operation names are ASCII). */
static void s_aws_copy(char out[S_AWS_LABEL + 1], const char *s)
{
    snprintf(out, S_AWS_LABEL + 1, "%s", s);
}

static struct s_aws_slot *s_aws_find(struct wc_metrics *m, const char *service, const char *op,
                                     size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!strcmp(m->aws[i].service, service) && !strcmp(m->aws[i].operation, op))
            return &m->aws[i];
    return NULL;
}

/* The slot of service/operation, added on first sight; the overflow slot
 * once all are taken. */
static struct s_aws_slot *s_aws_slot(struct wc_metrics *m, const char *service,
                                     const char *operation)
{
    char svc[S_AWS_LABEL + 1], op[S_AWS_LABEL + 1];
    struct s_aws_slot *slot;
    size_t n, now;

    s_aws_copy(svc, service);
    s_aws_copy(op, operation);
    n = atomic_load_explicit(&m->n_aws, memory_order_acquire);
    if ((slot = s_aws_find(m, svc, op, 0, n)))
        return slot;
    pthread_mutex_lock(&m->lock);
    now = atomic_load_explicit(&m->n_aws, memory_order_acquire);
    slot = s_aws_find(m, svc, op, n, now);
    if (!slot && now < WC_METRICS_MAX_AWS_OPS) {
        slot = &m->aws[now];
        memcpy(slot->service, svc, sizeof(svc));
        memcpy(slot->operation, op, sizeof(op));
        atomic_store_explicit(&m->n_aws, now + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->lock);
    return slot ? slot : &m->aws_other;
}

void wc_metrics_register_aws(struct wc_metrics *m, const char *service, const char *operation)
{
    if (m && service && operation)
        (void)s_aws_slot(m, service, operation);
}

void wc_metrics_aws_request(struct wc_metrics *m, const char *service, const char *operation,
                            const char *code)
{
    struct s_aws_slot *slot;
    size_t c;

    if (!m || !service || !operation || !code)
        return;
    for (c = 0; c < WC_METRICS_N_AWS_CODES; c++)
        if (!strcmp(s_aws_codes[c], code))
            break;
    if (c == WC_METRICS_N_AWS_CODES)
        c = 5; /* client_error */
    slot = s_aws_slot(m, service, operation);
    s_inc(&slot->n[c], 1);
}

void wc_metrics_notification_delay(struct wc_metrics *m, int64_t delay_ms)
{
    size_t b = 0;

    if (!m)
        return;
    if (delay_ms < 0)
        delay_ms = 0;
    while (b < WC_METRICS_N_DELAY_BUCKETS && delay_ms > s_delay_bounds_s[b] * 1000)
        b++;
    s_inc(&m->delay_buckets[b], 1);
    s_inc(&m->delay_sum_ms, (uint_least64_t)delay_ms);
}

void wc_metrics_set_receive_failures(struct wc_metrics *m, int64_t n)
{
    if (m)
        atomic_store_explicit(&m->receive_failures, n < 0 ? 0 : n, memory_order_relaxed);
}

void wc_metrics_in_flight(struct wc_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->in_flight, delta, memory_order_relaxed);
}

void wc_metrics_set_oldest_retry_age(struct wc_metrics *m, int64_t seconds)
{
    if (m)
        atomic_store_explicit(&m->oldest_retry_age_s, seconds < 0 ? 0 : seconds,
                              memory_order_relaxed);
}

void wc_metrics_set_ready(struct wc_metrics *m, bool ready)
{
    if (m)
        atomic_store_explicit(&m->ready, ready, memory_order_release);
}

bool wc_metrics_ready(const struct wc_metrics *m)
{
    /* atomic_load on a const-qualified atomic is not allowed by every libc */
    return m && atomic_load_explicit((atomic_bool *)&m->ready, memory_order_acquire);
}

/* ---- rendering --------------------------------------------------------- */

int wc_metrics_escape_label(struct wc_buf *out, const char *s)
{
    const char *p = s, *run = s;
    int rc = WC_OK;

    if (!out || !s)
        return WC_ERR_INVALID;
    for (; *p; p++) {
        const char *esc = NULL;

        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '"')
            esc = "\\\"";
        else if (*p == '\n')
            esc = "\\n";
        if (!esc)
            continue;
        if ((rc = wc_buf_append(out, run, (size_t)(p - run))) != WC_OK ||
            (rc = wc_buf_append_cstr(out, esc)) != WC_OK)
            return rc;
        run = p + 1;
    }
    return wc_buf_append(out, run, (size_t)(p - run));
}

static int s_header(struct wc_buf *out, const char *name, const char *type, const char *help)
{
    return wc_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} n */
static int s_labelled(struct wc_buf *out, const char *name, const char *label,
                      const char *value, uint_least64_t n)
{
    int rc;

    if ((rc = wc_buf_appendf(out, "%s{%s=\"", name, label)) != WC_OK ||
        (rc = wc_metrics_escape_label(out, value)) != WC_OK)
        return rc;
    return wc_buf_appendf(out, "\"} %" PRIuLEAST64 "\n", n);
}

static int s_counter(struct wc_buf *out, const char *name, const char *help, uint_least64_t n)
{
    int rc;

    if ((rc = s_header(out, name, "counter", help)) != WC_OK)
        return rc;
    return wc_buf_appendf(out, "%s %" PRIuLEAST64 "\n", name, n);
}

static int s_gauge(struct wc_buf *out, const char *name, const char *help, int64_t v)
{
    int rc;

    if ((rc = s_header(out, name, "gauge", help)) != WC_OK)
        return rc;
    return wc_buf_appendf(out, "%s %" PRId64 "\n", name, v);
}

/* One labelled counter family per notifier; sent selects the counter. */
static int s_notifier_family(struct wc_metrics *m, struct wc_buf *out, const char *name,
                             const char *help, bool sent)
{
    size_t n = atomic_load_explicit(&m->n_notifiers, memory_order_acquire);
    uint_least64_t other;
    int rc;

    if ((rc = s_header(out, name, "counter", help)) != WC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct s_notifier_slot *s = &m->notifiers[i];

        if ((rc = s_labelled(out, name, "notifier", s->name,
                             s_get(sent ? &s->sent : &s->failed))) != WC_OK)
            return rc;
    }
    other = s_get(sent ? &m->other_sent : &m->other_failed);
    if (n == WC_METRICS_MAX_NOTIFIERS && other > 0)
        rc = s_labelled(out, name, "notifier", S_OTHER_NOTIFIER, other);
    return rc;
}

static int s_aws_family(struct wc_metrics *m, struct wc_buf *out)
{
    static const char name[] = "whochanged_aws_requests_total";
    size_t n = atomic_load_explicit(&m->n_aws, memory_order_acquire);
    bool other = false;
    int rc;

    if ((rc = s_header(out, name, "counter",
                       "AWS API requests (each attempt), by service, operation and outcome "
                       "code.")) != WC_OK)
        return rc;
    for (size_t c = 0; c < WC_METRICS_N_AWS_CODES; c++)
        other = other || s_get(&m->aws_other.n[c]) > 0;
    for (size_t i = 0; i <= n; i++) {
        struct s_aws_slot *s = i < n ? &m->aws[i] : &m->aws_other;

        if (i == n && !other)
            break;
        for (size_t c = 0; c < WC_METRICS_N_AWS_CODES; c++) {
            if ((rc = wc_buf_appendf(out, "%s{service=\"", name)) != WC_OK ||
                (rc = wc_metrics_escape_label(out, i < n ? s->service : "_other")) != WC_OK ||
                (rc = wc_buf_append_cstr(out, "\",operation=\"")) != WC_OK ||
                (rc = wc_metrics_escape_label(out, i < n ? s->operation : S_OTHER_OP)) !=
                    WC_OK ||
                (rc = wc_buf_appendf(out, "\",code=\"%s\"} %" PRIuLEAST64 "\n", s_aws_codes[c],
                                     s_get(&s->n[c]))) != WC_OK)
                return rc;
        }
    }
    return WC_OK;
}

static int s_subscription_family(struct wc_metrics *m, struct wc_buf *out)
{
    static const char name[] = "whochanged_subscription_confirmations_total";
    int rc;

    if ((rc = s_header(out, name, "counter",
                       "SNS subscription (or unsubscribe) confirmations received and left on "
                       "the queue for the operator, by queue.")) != WC_OK)
        return rc;
    for (size_t i = 0; i < S_N_QUEUES; i++)
        if ((rc = s_labelled(out, name, "queue", s_queues[i], s_get(&m->subscriptions[i]))) !=
            WC_OK)
            return rc;
    return WC_OK;
}

static int s_delay_histogram(struct wc_metrics *m, struct wc_buf *out)
{
    static const char name[] = "whochanged_notification_delay_seconds";
    uint_least64_t cum = 0, sum_ms;
    int rc;

    if ((rc = s_header(out, name, "histogram",
                       "Seconds from a change's AWS Config capture time to its accepted "
                       "notification (one per notifier).")) != WC_OK)
        return rc;
    for (size_t b = 0; b <= WC_METRICS_N_DELAY_BUCKETS; b++) {
        cum += s_get(&m->delay_buckets[b]);
        if (b < WC_METRICS_N_DELAY_BUCKETS)
            rc = wc_buf_appendf(out, "%s_bucket{le=\"%" PRId64 "\"} %" PRIuLEAST64 "\n", name,
                                s_delay_bounds_s[b], cum);
        else
            rc = wc_buf_appendf(out, "%s_bucket{le=\"+Inf\"} %" PRIuLEAST64 "\n", name, cum);
        if (rc != WC_OK)
            return rc;
    }
    sum_ms = s_get(&m->delay_sum_ms);
    return wc_buf_appendf(out, "%s_sum %" PRIuLEAST64 ".%03u\n%s_count %" PRIuLEAST64 "\n", name,
                          sum_ms / 1000, (unsigned)(sum_ms % 1000), name, cum);
}

int wc_metrics_render(struct wc_metrics *m, struct wc_buf *out)
{
    int rc;

    if (!m || !out)
        return WC_ERR_INVALID;
    if ((rc = s_header(out, "whochanged_messages_total", "counter",
                       "Queue messages processed, by verdict.")) != WC_OK)
        return rc;
    for (size_t i = 0; i < S_N_VERDICTS; i++)
        if ((rc = s_labelled(out, "whochanged_messages_total", "verdict", s_verdicts[i],
                             s_get(&m->messages[i]))) != WC_OK)
            return rc;
    if ((rc = s_counter(out, "whochanged_cloudtrail_lookups_total",
                        "CloudTrail LookupEvents calls made.", s_get(&m->lookups))) != WC_OK ||
        (rc = s_counter(out, "whochanged_cloudtrail_throttles_total",
                        "CloudTrail LookupEvents calls answered with throttling.",
                        s_get(&m->throttles))) != WC_OK ||
        (rc = s_counter(out, "whochanged_retries_total",
                        "Messages deferred to wait for a late CloudTrail event.",
                        s_get(&m->retries))) != WC_OK ||
        (rc = s_counter(out, "whochanged_ledger_failures_total",
                        "Deliveries the state file could not record (disk full, I/O error).",
                        s_get(&m->ledger_failures))) != WC_OK ||
        (rc = s_subscription_family(m, out)) != WC_OK ||
        (rc = s_notifier_family(m, out, "whochanged_notifications_total",
                                "Notifications delivered, by notifier.", true)) != WC_OK ||
        (rc = s_notifier_family(m, out, "whochanged_notifier_failures_total",
                                "Notifications that failed, by notifier.", false)) != WC_OK ||
        (rc = s_aws_family(m, out)) != WC_OK || (rc = s_delay_histogram(m, out)) != WC_OK ||
        (rc = s_gauge(out, "whochanged_receive_failures",
                      "Queue receives that failed in a row (0 after a success).",
                      atomic_load_explicit(&m->receive_failures, memory_order_relaxed))) !=
            WC_OK ||
        (rc = s_gauge(out, "whochanged_in_flight", "Messages being processed now.",
                      atomic_load_explicit(&m->in_flight, memory_order_relaxed))) != WC_OK ||
        (rc = s_gauge(out, "whochanged_oldest_retry_age_seconds",
                      "Age of the oldest message waiting for a late CloudTrail event.",
                      atomic_load_explicit(&m->oldest_retry_age_s, memory_order_relaxed))) !=
            WC_OK ||
        (rc = s_gauge(out, "whochanged_ready", "1 when the worker is ready, else 0.",
                      wc_metrics_ready(m) ? 1 : 0)) != WC_OK ||
        (rc = s_gauge(out, "whochanged_start_time_seconds",
                      "Start time of the process since the Unix epoch in seconds.",
                      m->start_time_s)) != WC_OK)
        return rc;
    if ((rc = s_header(out, "whochanged_build_info", "gauge",
                       "Build information; the value is always 1.")) != WC_OK)
        return rc;
    return s_labelled(out, "whochanged_build_info", "version",
                      m->version ? m->version : "unknown", 1);
}
