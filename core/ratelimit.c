#include "core/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

/* Generic cell rate algorithm: a bucket is its "theoretical arrival time"
 * (tat). A request at time now may go at max(now, tat - burst_window); the
 * tat then advances by one interval. Exact, O(1), no float drift. */
struct s_bucket {
    char *key;
    double tat_ms;
};

struct wc_ratelimit {
    pthread_mutex_t lock;
    struct wc_clock clock;
    double interval_ms;   /* 1000 / rate */
    double tolerance_ms;  /* (burst - 1) * interval */
    struct s_bucket *buckets;
    size_t n, cap;
};

struct wc_ratelimit *wc_ratelimit_new(double rate_per_s, double burst,
                                      const struct wc_clock *clock)
{
    struct wc_ratelimit *rl;

    if (!(rate_per_s > 0) || burst < 1)
        return NULL;
    rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    if (pthread_mutex_init(&rl->lock, NULL) != 0) {
        free(rl);
        return NULL;
    }
    rl->clock = clock ? *clock : wc_clock_system();
    rl->interval_ms = 1000.0 / rate_per_s;
    rl->tolerance_ms = (burst - 1) * rl->interval_ms;
    return rl;
}

void wc_ratelimit_destroy(struct wc_ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n; i++)
        free(rl->buckets[i].key);
    free(rl->buckets);
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

/* Make room in a full table: drop the idle buckets (tat in the past: a new
 * bucket behaves the same, nothing is lost); if none is idle, the one whose
 * reservations end first (the least pacing lost). */
static void s_make_room(struct wc_ratelimit *rl, double now)
{
    size_t first = 0;

    for (size_t i = 0; i < rl->n;) {
        if (rl->buckets[i].tat_ms <= now) {
            free(rl->buckets[i].key);
            rl->buckets[i] = rl->buckets[--rl->n];
        } else {
            i++;
        }
    }
    if (rl->n < WC_RATELIMIT_MAX_KEYS)
        return;
    for (size_t i = 1; i < rl->n; i++)
        if (rl->buckets[i].tat_ms < rl->buckets[first].tat_ms)
            first = i;
    free(rl->buckets[first].key);
    rl->buckets[first] = rl->buckets[--rl->n];
}

static struct s_bucket *s_find(struct wc_ratelimit *rl, const char *key, double now)
{
    for (size_t i = 0; i < rl->n; i++)
        if (!strcmp(rl->buckets[i].key, key))
            return &rl->buckets[i];
    if (rl->n >= WC_RATELIMIT_MAX_KEYS)
        s_make_room(rl, now);
    if (rl->n == rl->cap) {
        size_t cap = rl->cap ? rl->cap * 2 : 8;
        struct s_bucket *b;

        if (cap > WC_RATELIMIT_MAX_KEYS)
            cap = WC_RATELIMIT_MAX_KEYS;
        if (!(b = realloc(rl->buckets, cap * sizeof(*b))))
            return NULL;
        rl->buckets = b;
        rl->cap = cap;
    }
    rl->buckets[rl->n].key = wc_strdup(key);
    if (!rl->buckets[rl->n].key)
        return NULL;
    rl->buckets[rl->n].tat_ms = now;
    return &rl->buckets[rl->n++];
}

int64_t wc_ratelimit_reserve(struct wc_ratelimit *rl, const char *key)
{
    struct s_bucket *b;
    double now, go;
    int64_t wait;

    if (!rl || !key)
        return WC_ERR_INVALID;
    pthread_mutex_lock(&rl->lock);
    now = (double)wc_clock_mono_ms(&rl->clock);
    b = s_find(rl, key, now);
    if (!b) {
        pthread_mutex_unlock(&rl->lock);
        return WC_ERR_NOMEM;
    }
    if (b->tat_ms < now)
        b->tat_ms = now;
    go = b->tat_ms - rl->tolerance_ms;
    if (go < now)
        go = now;
    b->tat_ms += rl->interval_ms;
    wait = (int64_t)(go - now + 0.999);
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

size_t wc_ratelimit_keys(struct wc_ratelimit *rl)
{
    size_t n;

    if (!rl)
        return 0;
    pthread_mutex_lock(&rl->lock);
    n = rl->n;
    pthread_mutex_unlock(&rl->lock);
    return n;
}

int wc_ratelimit_penalize(struct wc_ratelimit *rl, const char *key, int64_t delay_ms)
{
    struct s_bucket *b;
    double now;

    if (!rl || !key || delay_ms < 0)
        return WC_ERR_INVALID;
    pthread_mutex_lock(&rl->lock);
    now = (double)wc_clock_mono_ms(&rl->clock);
    b = s_find(rl, key, now);
    if (b && b->tat_ms < now + (double)delay_ms + rl->tolerance_ms)
        b->tat_ms = now + (double)delay_ms + rl->tolerance_ms;
    pthread_mutex_unlock(&rl->lock);
    return b ? WC_OK : WC_ERR_NOMEM;
}
