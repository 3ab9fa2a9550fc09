/* metrics.c - see metrics.h. */
#include "core/metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
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

#define S_OTHER_NOTIFIER "_other"

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
        (rc = s_notifier_family(m, out, "whochanged_notifications_total",
                                "Notifications delivered, by notifier.", true)) != WC_OK ||
        (rc = s_notifier_family(m, out, "whochanged_notifier_failures_total",
                                "Notifications that failed, by notifier.", false)) != WC_OK ||
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
