#include "core/scheduler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

/* ---- the adaptive rate ---------------------------------------------------- */

/* Rung 1 (alone): the ceiling less 10% (requests reach the service with
 * jitter and its window is strict; as aws/cloudtrail.c). */
#define S_RATE_MARGIN 1.1
/* Rungs L >= 2 share the budget in slots: instants S_SLOT_SPACING seconds
 * apart, counted from the wall clock's epoch so that every worker, on any
 * host, sees the same slots. A strict one-second window never holds two
 * slots (210 ms to spare for jitter), so a slot takes as many calls as the
 * ceiling allows in a second (2 at 2/s) and never throttles them; a third
 * caller in a slot is throttled, whichever arrives last. On rung L a worker
 * calls in one slot of every L - 1 (its phase) and keeps that phase across
 * idle spells: 2 (L - 1) workers fit on rung L at 2/s. */
#define S_SLOT_SPACING 1.21
#define S_MAX_LEVEL 64
/* Floating-point slack: a slot due at t is there at t. */
#define S_EPSILON 1e-6
/* A call may still take its slot this late (the loop's wake-up latency);
 * later, it waits for its next slot: the phase is kept. */
#define S_SLOT_SLACK_MS 30.0
/* Rung 1: a throttle means another worker (or tool) shares the budget:
 * down to S_SHARED_LEVEL at once, whose slots have room for four workers.
 * Stepping down one rung at a time, or after a second throttle, left
 * workers whose demand comes and goes calling at will for tens of seconds
 * (the simulation in tests/unit/test_scheduler.c). */
#define S_SHARED_LEVEL 3
/* Rung L >= 2: a throttle means the slot was taken; the call moves to the
 * next slot (a new phase). L throttles without a success between them
 * (every phase tried), throttles that keep coming (gaps under
 * S_EPISODE_GAP_MS) for S_EPISODE_MS, or the S_BURSTS-th run of throttles
 * (runs end with a success) within S_BURST_WINDOW_MS: the rung holds more
 * workers than it has phases, one rung down. */
#define S_EPISODE_MS 8000
#define S_EPISODE_GAP_MS 5000
#define S_BURSTS 5
#define S_BURST_WINDOW_MS 60000
/* One rung up S_PROBE_MS after the last throttle, if the worker needs
 * more: its calls took back-to-back slots of its phase within the last
 * S_BUSY_MS (a backlog); a worker whose rung serves its demand stays
 * there. The step is on trial until the next is due: a throttle before
 * then takes it back, to the phase held before (which had room), and
 * doubles the wait (up to S_PROBE_MAX_MS); a step that holds halves it
 * (not below S_PROBE_MS). Probing is what costs throttles once workers
 * have settled, so it is rare: three workers that start together probe
 * together, and only one of them finds room. In the simulation (tests/
 * unit/test_scheduler.c), three workers of bench D's demand over 15
 * minutes: 0.57% throttled after the first 10 s (0.88% with steps 3
 * minutes apart; 1.95% when every quiet spell stepped up after 3 minutes
 * and a step was judged after 10 s). */
#define S_PROBE_MS 300000
#define S_PROBE_MAX_MS 1920000
#define S_BUSY_MS 10000

/* Calls a slot takes, and the time between slots. */
static double s_slot_calls(const struct wc_adaptive_rate *a)
{
    double n = floor(a->ceiling + S_EPSILON);

    return n < 1 ? 1 : n;
}

static double s_slot_ms(const struct wc_adaptive_rate *a)
{
    return 1000.0 * S_SLOT_SPACING * s_slot_calls(a) / a->ceiling;
}

static double s_period_ms(const struct wc_adaptive_rate *a)
{
    return 1000.0 / a->rate;
}

/* The first slot instant at or after t (rungs >= 2). */
static double s_slot_at_or_after(const struct wc_adaptive_rate *a, double t)
{
    double w = s_slot_ms(a);

    return a->origin_ms + ceil((t - a->origin_ms) / w - S_EPSILON) * w;
}

static void s_set_level(struct wc_adaptive_rate *a, int level)
{
    if (level < 1)
        level = 1;
    if (level > S_MAX_LEVEL)
        level = S_MAX_LEVEL;
    a->level = level;
    if (level == 1) {
        a->rate = a->ceiling / S_RATE_MARGIN;
    } else {
        a->rate = 1000.0 / ((level - 1) * s_slot_ms(a));
        a->next_ms = s_slot_at_or_after(a, a->next_ms); /* onto the slots */
    }
}

/* The steps up that a quiet spell has earned, and the verdict on a step on
 * trial. */
static void s_probe(struct wc_adaptive_rate *a, int64_t now_ms)
{
    if (a->probed_ms && now_ms - a->probed_ms >= a->probe_wait_ms) {
        a->probed_ms = 0; /* the step held */
        a->probe_wait_ms /= 2;
        if (a->probe_wait_ms < S_PROBE_MS)
            a->probe_wait_ms = S_PROBE_MS;
    }
    while (a->level > 1 && now_ms >= a->probe_at_ms && a->busy_ms &&
           now_ms - a->busy_ms <= S_BUSY_MS) {
        /* the phase held so far, to go back to if the step fails */
        a->probe_phase_ms = a->last_slot_ms;
        s_set_level(a, a->level - 1);
        a->probed_ms = a->probe_at_ms ? a->probe_at_ms : now_ms;
        a->probe_at_ms += a->probe_wait_ms;
        a->walked = 0;
    }
}

/* The instant a call at now_ms would go: next_ms, or after an idle spell
 * (rungs >= 2) the slot of its phase just passed, if within the slack, or
 * the next one: a worker whose demand comes and goes keeps its phase and
 * does not land on another's. Alone (rung 1), at once. */
static double s_when(const struct wc_adaptive_rate *a, double now_ms)
{
    double period = s_period_ms(a);
    double slot = a->next_ms;

    if (now_ms <= slot)
        return slot;
    if (a->level == 1)
        return now_ms;
    slot += floor((now_ms - slot) / period) * period;
    if (now_ms - slot <= S_SLOT_SLACK_MS + S_EPSILON)
        return slot;
    return slot + period;
}

void wc_adaptive_init(struct wc_adaptive_rate *a, double ceiling, int64_t now_ms)
{
    wc_adaptive_init_at(a, ceiling, now_ms, 0);
}

void wc_adaptive_init_at(struct wc_adaptive_rate *a, double ceiling, int64_t now_ms,
                         int64_t wall_offset_ms)
{
    memset(a, 0, sizeof(*a));
    a->ceiling = ceiling > 0 ? ceiling : WC_SCHED_DEFAULT_RATE;
    a->origin_ms = -(double)wall_offset_ms;
    a->next_ms = (double)now_ms;
    a->probe_wait_ms = S_PROBE_MS;
    s_set_level(a, 1);
}

int64_t wc_adaptive_wait_ms(struct wc_adaptive_rate *a, int64_t now_ms)
{
    double ms;

    s_probe(a, now_ms);
    ms = ceil(s_when(a, (double)now_ms) - (double)now_ms - S_EPSILON);
    return ms <= 0 ? 0 : (int64_t)ms;
}

int64_t wc_adaptive_acquire(struct wc_adaptive_rate *a, int64_t now_ms)
{
    int64_t wait = wc_adaptive_wait_ms(a, now_ms);

    if (wait == 0) {
        double slot = s_when(a, (double)now_ms), period = s_period_ms(a);

        /* its last call's slot was the one before: the calls keep coming */
        if (a->level > 1 && a->last_slot_ms > 0 && slot - a->last_slot_ms <= period * 1.5)
            a->busy_ms = now_ms;
        a->last_slot_ms = slot;
        a->next_ms = slot + period;
    }
    return wait;
}

void wc_adaptive_on_success(struct wc_adaptive_rate *a, int64_t now_ms)
{
    s_probe(a, now_ms);
    a->walked = 0;
}

void wc_adaptive_on_throttle(struct wc_adaptive_rate *a, int64_t now_ms)
{
    s_probe(a, now_ms);
    if (a->probed_ms && now_ms - a->probed_ms < a->probe_wait_ms) {
        /* the last step up was one too many: back, and wait longer */
        a->probed_ms = 0;
        a->probe_wait_ms *= 2;
        if (a->probe_wait_ms > S_PROBE_MAX_MS)
            a->probe_wait_ms = S_PROBE_MAX_MS;
        a->walked = 0;
        a->strikes = 0;
        s_set_level(a, a->level + 1);
        if (a->level >= 2 && a->probe_phase_ms > 0) {
            /* to the phase it held: that one had room */
            double period = s_period_ms(a);

            a->next_ms = a->probe_phase_ms +
                         ceil(((double)now_ms - a->probe_phase_ms) / period - S_EPSILON) * period;
        }
    } else if (a->level == 1) {
        a->walked = 0;
        a->strikes = 0;
        s_set_level(a, S_SHARED_LEVEL);
    } else {
        /* the slot was taken: this call again at the next slot, a new
         * phase. The rung is too high when every phase has been tried
         * without a success, when throttles keep coming for S_EPISODE_MS,
         * or when runs of them keep coming back */
        bool burst = a->walked == 0; /* the first of a run */

        if (a->strikes == 0 || now_ms - a->last_throttle_ms > S_EPISODE_GAP_MS) {
            a->strike_start_ms = now_ms;
            a->strikes = 0;
        }
        a->strikes++;
        if (burst) {
            if (a->bursts == 0 || now_ms - a->burst_start_ms > S_BURST_WINDOW_MS) {
                a->burst_start_ms = now_ms;
                a->bursts = 0;
            }
            a->bursts++;
        }
        if (++a->walked >= a->level - 1 || now_ms - a->strike_start_ms >= S_EPISODE_MS ||
            a->bursts >= S_BURSTS) {
            a->bursts = 0;
            a->walked = 0;
            a->strikes = 0;
            s_set_level(a, a->level + 1);
        }
        a->next_ms = s_slot_at_or_after(a, (double)now_ms + S_EPSILON * 10);
    }
    a->last_throttle_ms = now_ms;
    a->probe_at_ms = now_ms + a->probe_wait_ms;
}

/* ---- the scheduler -------------------------------------------------------- */

/* Pages of one per-resource query, as aws/cloudtrail.c (1000 events). */
#define S_QUERY_MAX_PAGES 20
/* Changes waiting before a scan is tried when no write rate is known. */
#define S_SCAN_MIN_UNLEARNED 3
/* Weight of the newest scan in the learned write rate. */
#define S_RATE_ALPHA 0.5

struct s_region;

struct s_result {
    struct wc_sched_result r;
    struct s_result *next;
};

struct s_change {
    uint64_t id;
    struct wc_change c;
    int skew_s;
    bool removed;        /* wc_sched_remove while under way */
    bool no_scan;        /* a scan could not answer it: per-resource */
    struct s_region *region;
    struct s_change *prev, *next; /* the region's waiting list */
    struct s_change *id_next;     /* hash chain by id */
    struct s_result *res;         /* its result, allocated up front: it always comes out */
};

struct s_lookup {
    bool scan;
    bool call_out;
    uint64_t call_id;
    size_t calls;
    char *token;  /* NextToken of the next page */
    int pages;    /* pages read of the current query */
    /* per-resource */
    struct s_change *ch;
    struct wc_trail_query plan[WC_TRAIL_MAX_QUERIES];
    size_t n_plan, qi;
    struct wc_event_list found;  /* the current query's events */
    struct wc_event_list events; /* merged */
    /* scan */
    struct s_change **members;
    size_t n_members;
    struct wc_trail_query q;
    struct wc_event_list have;
};

struct s_region {
    char *account; /* NULL when the changes have none */
    char *region;
    uint64_t hash;
    struct s_region *hnext;
    struct wc_adaptive_rate rate;
    struct s_change *wait_head, *wait_tail;
    size_t n_wait;
    struct s_lookup *lookup;
    double write_rate; /* write events per second, learned from scans */
    bool learned;
    int64_t last_add_ms;  /* when a change last joined the waiting list */
    int64_t first_wait_ms;/* when the oldest waiting change joined it */
    bool in_ring, in_idle;
    struct s_region *ring_prev, *ring_next;
    struct s_region *idle_prev, *idle_next;
};

struct wc_sched {
    struct wc_sched_options o;
    int skew_s;
    struct s_region **rbuckets;
    size_t n_rbuckets, n_regions;
    struct s_change **cbuckets;
    size_t n_cbuckets, n_changes;
    struct s_region *ring; /* the cursor: next to be offered a call */
    size_t n_ring;
    struct s_region *idle_head, *idle_tail;
    struct s_result *res_head, *res_tail;
    uint64_t next_call_id;
    struct wc_sched_stats stats;
};

/* -- hashing ---------------------------------------------------------------- */

static uint64_t s_fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t s_region_hash(const char *account, const char *region)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    h = s_fnv(h, account);
    h ^= '/';
    h *= 0x100000001b3ULL;
    return s_fnv(h, region);
}

static size_t s_id_slot(uint64_t id, size_t n)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t)(id & (n - 1));
}

static int s_grow_changes(struct wc_sched *s)
{
    size_t n = s->n_cbuckets ? s->n_cbuckets * 2 : 64;
    struct s_change **b = calloc(n, sizeof(*b));

    if (!b)
        return WC_ERR_NOMEM;
    for (size_t i = 0; i < s->n_cbuckets; i++) {
        struct s_change *ch = s->cbuckets[i], *next;

        for (; ch; ch = next) {
            size_t k = s_id_slot(ch->id, n);

            next = ch->id_next;
            ch->id_next = b[k];
            b[k] = ch;
        }
    }
    free(s->cbuckets);
    s->cbuckets = b;
    s->n_cbuckets = n;
    return WC_OK;
}

static struct s_change **s_change_slot(struct wc_sched *s, uint64_t id)
{
    struct s_change **p;

    if (!s->n_cbuckets)
        return NULL;
    for (p = &s->cbuckets[s_id_slot(id, s->n_cbuckets)]; *p; p = &(*p)->id_next)
        if ((*p)->id == id)
            return p;
    return NULL;
}

static int s_index_change(struct wc_sched *s, struct s_change *ch)
{
    size_t k;
    int rc;

    if (s->n_changes >= s->n_cbuckets && (rc = s_grow_changes(s)) != WC_OK)
        return rc;
    k = s_id_slot(ch->id, s->n_cbuckets);
    ch->id_next = s->cbuckets[k];
    s->cbuckets[k] = ch;
    s->n_changes++;
    return WC_OK;
}

/* Forget ch's id (it stays allocated). */
static void s_unindex_change(struct wc_sched *s, struct s_change *ch)
{
    struct s_change **p = s_change_slot(s, ch->id);

    if (p && *p == ch) {
        *p = ch->id_next;
        ch->id_next = NULL;
        s->n_changes--;
    }
}

static void s_change_free(struct s_change *ch)
{
    if (!ch)
        return;
    wc_change_clean_up(&ch->c);
    free(ch->res);
    free(ch);
}

/* -- regions: ring of those wanting a call, idle list, index ---------------- */

static bool s_wants_call(const struct s_region *r)
{
    return r->lookup ? !r->lookup->call_out : r->n_wait > 0;
}

static bool s_is_idle(const struct s_region *r)
{
    return !r->lookup && r->n_wait == 0;
}

static void s_ring_insert(struct wc_sched *s, struct s_region *r)
{
    if (!s->ring) {
        r->ring_prev = r->ring_next = r;
        s->ring = r;
    } else {
        /* just before the cursor: last of the current round */
        r->ring_next = s->ring;
        r->ring_prev = s->ring->ring_prev;
        r->ring_prev->ring_next = r;
        s->ring->ring_prev = r;
    }
    r->in_ring = true;
    s->n_ring++;
}

static void s_ring_remove(struct wc_sched *s, struct s_region *r)
{
    if (r->ring_next == r) {
        s->ring = NULL;
    } else {
        r->ring_prev->ring_next = r->ring_next;
        r->ring_next->ring_prev = r->ring_prev;
        if (s->ring == r)
            s->ring = r->ring_next;
    }
    r->ring_prev = r->ring_next = NULL;
    r->in_ring = false;
    s->n_ring--;
}

static void s_idle_remove(struct wc_sched *s, struct s_region *r)
{
    if (r->idle_prev)
        r->idle_prev->idle_next = r->idle_next;
    else
        s->idle_head = r->idle_next;
    if (r->idle_next)
        r->idle_next->idle_prev = r->idle_prev;
    else
        s->idle_tail = r->idle_prev;
    r->idle_prev = r->idle_next = NULL;
    r->in_idle = false;
}

static void s_idle_append(struct wc_sched *s, struct s_region *r)
{
    r->idle_prev = s->idle_tail;
    r->idle_next = NULL;
    if (s->idle_tail)
        s->idle_tail->idle_next = r;
    else
        s->idle_head = r;
    s->idle_tail = r;
    r->in_idle = true;
}

/* Put r where its state says: in the ring when it wants a call, at the end
 * of the idle list (most recently used) when it has nothing. */
static void s_update(struct wc_sched *s, struct s_region *r)
{
    bool want = s_wants_call(r), idle = s_is_idle(r);

    if (want && !r->in_ring)
        s_ring_insert(s, r);
    else if (!want && r->in_ring)
        s_ring_remove(s, r);
    if (idle && !r->in_idle)
        s_idle_append(s, r);
    else if (!idle && r->in_idle)
        s_idle_remove(s, r);
}

static void s_region_free(struct s_region *r)
{
    if (!r)
        return;
    free(r->account);
    free(r->region);
    free(r);
}

static void s_region_unindex(struct wc_sched *s, struct s_region *r)
{
    struct s_region **p = &s->rbuckets[r->hash & (s->n_rbuckets - 1)];

    for (; *p; p = &(*p)->hnext) {
        if (*p == r) {
            *p = r->hnext;
            s->n_regions--;
            return;
        }
    }
}

static int s_grow_regions(struct wc_sched *s)
{
    size_t n = s->n_rbuckets ? s->n_rbuckets * 2 : 64;
    struct s_region **b = calloc(n, sizeof(*b));

    if (!b)
        return WC_ERR_NOMEM;
    for (size_t i = 0; i < s->n_rbuckets; i++) {
        struct s_region *r = s->rbuckets[i], *next;

        for (; r; r = next) {
            next = r->hnext;
            r->hnext = b[r->hash & (n - 1)];
            b[r->hash & (n - 1)] = r;
        }
    }
    free(s->rbuckets);
    s->rbuckets = b;
    s->n_rbuckets = n;
    return WC_OK;
}

/* The account-region of account/region, created if new (evicting the least
 * recently used idle one when max_regions are remembered). */
static int s_region_get(struct wc_sched *s, const char *account, const char *region,
                        int64_t now_ms, struct s_region **out)
{
    uint64_t h = s_region_hash(account, region);
    struct s_region *r;
    int rc;

    *out = NULL;
    if (s->n_rbuckets) {
        for (r = s->rbuckets[h & (s->n_rbuckets - 1)]; r; r = r->hnext) {
            if (r->hash == h && (r->account ? wc_streq(r->account, account) : !account) &&
                !strcmp(r->region, region)) {
                *out = r;
                return WC_OK;
            }
        }
    }
    if (s->n_regions >= s->o.max_regions) {
        struct s_region *victim = s->idle_head;

        if (!victim)
            return WC_ERR_TOO_LARGE;
        s_idle_remove(s, victim);
        s_region_unindex(s, victim);
        s_region_free(victim);
    }
    if (s->n_regions >= s->n_rbuckets && (rc = s_grow_regions(s)) != WC_OK)
        return rc;
    r = calloc(1, sizeof(*r));
    if (!r)
        return WC_ERR_NOMEM;
    r->account = account ? wc_strdup(account) : NULL;
    r->region = wc_strdup(region);
    if ((account && !r->account) || !r->region) {
        s_region_free(r);
        return WC_ERR_NOMEM;
    }
    r->hash = h;
    wc_adaptive_init_at(&r->rate, s->o.rate_per_s, now_ms, s->o.wall_offset_ms);
    r->hnext = s->rbuckets[h & (s->n_rbuckets - 1)];
    s->rbuckets[h & (s->n_rbuckets - 1)] = r;
    s->n_regions++;
    *out = r;
    return WC_OK;
}

/* -- waiting lists ----------------------------------------------------------- */

static void s_wait_unlink(struct wc_sched *s, struct s_region *r, struct s_change *ch)
{
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        r->wait_head = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    else
        r->wait_tail = ch->prev;
    ch->prev = ch->next = NULL;
    r->n_wait--;
    s->stats.waiting--;
}

static void s_wait_append(struct wc_sched *s, struct s_region *r, struct s_change *ch)
{
    ch->prev = r->wait_tail;
    ch->next = NULL;
    if (r->wait_tail)
        r->wait_tail->next = ch;
    else
        r->wait_head = ch;
    r->wait_tail = ch;
    r->n_wait++;
    s->stats.waiting++;
}

static void s_wait_prepend(struct wc_sched *s, struct s_region *r, struct s_change *ch)
{
    ch->next = r->wait_head;
    ch->prev = NULL;
    if (r->wait_head)
        r->wait_head->prev = ch;
    else
        r->wait_tail = ch;
    r->wait_head = ch;
    r->n_wait++;
    s->stats.waiting++;
}

/* -- results ---------------------------------------------------------------- */

/* Queue ch's result (events moved from *events, may be NULL) and free ch.
 * A removed change is only freed. */
static void s_emit(struct wc_sched *s, struct s_change *ch, int rc, struct wc_event_list *events,
                   size_t calls, bool from_scan)
{
    struct s_result *res = ch->res;

    if (!ch->removed) {
        s_unindex_change(s, ch);
        ch->res = NULL;
        res->r.id = ch->id;
        res->r.rc = rc;
        res->r.calls = calls;
        res->r.from_scan = from_scan;
        if (events && rc == WC_OK) {
            res->r.events = *events;
            memset(events, 0, sizeof(*events));
            free(res->r.events.next_token);
            res->r.events.next_token = NULL;
        }
        if (s->res_tail)
            s->res_tail->next = res;
        else
            s->res_head = res;
        s->res_tail = res;
    }
    if (events)
        wc_event_list_clean_up(events);
    s_change_free(ch);
}

/* -- lookups ---------------------------------------------------------------- */

static void s_lookup_free(struct s_lookup *l)
{
    if (!l)
        return;
    free(l->token);
    wc_event_list_clean_up(&l->found);
    wc_event_list_clean_up(&l->events);
    wc_event_list_clean_up(&l->have);
    free(l->members);
    free(l);
}

static int64_t s_floor_s(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static int64_t s_ceil_s(int64_t ms)
{
    return ms >= 0 ? (ms + 999) / 1000 : -(-ms / 1000);
}

/* The change's window (wc_change_window: what its own lookups would read). */
static int64_t s_start_ms(const struct s_change *ch)
{
    int64_t lo, hi;

    wc_change_window(&ch->c, ch->skew_s, &lo, &hi);
    return lo;
}

static int64_t s_end_ms(const struct s_change *ch)
{
    int64_t lo, hi;

    wc_change_window(&ch->c, ch->skew_s, &lo, &hi);
    return hi;
}

/* Estimated pages of a scan over [start_ms, end_ms]. */
static double s_scan_pages(const struct wc_sched *s, const struct s_region *r, int64_t start_ms,
                           int64_t end_ms)
{
    double secs = (double)(s_ceil_s(end_ms) - s_floor_s(start_ms) + 1);
    double pages = ceil(r->write_rate * secs / s->o.page_size - 1e-6);

    return pages < 1 ? 1 : pages;
}

static int s_cmp_start(const void *a, const void *b)
{
    const struct s_change *x = *(const struct s_change *const *)a;
    const struct s_change *y = *(const struct s_change *const *)b;
    int64_t sx = s_start_ms(x), sy = s_start_ms(y);

    if (sx != sy)
        return sx < sy ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Which changes a scan should be made for (taken out of the waiting list
 * into l->members), or none (per-resource for the oldest). */
static int s_plan_scan(struct wc_sched *s, struct s_region *r, struct s_lookup *l)
{
    struct s_change **cand = NULL, *ch;
    size_t n = 0, best_k = 0;
    double best_saving = 0;
    int64_t lo, hi;

    if (s->o.no_scan || r->n_wait < 2 || (r->wait_head && r->wait_head->no_scan))
        return WC_OK;
    cand = calloc(r->n_wait, sizeof(*cand));
    if (!cand)
        return WC_ERR_NOMEM;
    for (ch = r->wait_head; ch; ch = ch->next)
        if (!ch->no_scan)
            cand[n++] = ch;
    if (n < 2)
        goto out;
    qsort(cand, n, sizeof(*cand), s_cmp_start);
    if (!r->learned) {
        if (n >= S_SCAN_MIN_UNLEARNED)
            best_k = n;
    } else {
        /* the oldest k changes: the k whose scan saves most calls over one
         * per-resource lookup (about one call) each, within max_scan_pages */
        lo = s_start_ms(cand[0]);
        hi = s_end_ms(cand[0]);
        for (size_t k = 1; k <= n; k++) {
            double pages, saving;

            if (s_end_ms(cand[k - 1]) > hi)
                hi = s_end_ms(cand[k - 1]);
            pages = s_scan_pages(s, r, lo, hi);
            if (pages > s->o.max_scan_pages)
                break;
            saving = (double)k - pages;
            if (k >= 2 && saving > 0 && saving >= best_saving) {
                best_saving = saving;
                best_k = k;
            }
        }
    }
    if (best_k < 2)
        goto out;
    l->members = calloc(best_k, sizeof(*l->members));
    if (!l->members) {
        free(cand);
        return WC_ERR_NOMEM;
    }
    lo = s_start_ms(cand[0]);
    hi = s_end_ms(cand[0]);
    for (size_t i = 0; i < best_k; i++) {
        if (s_start_ms(cand[i]) < lo)
            lo = s_start_ms(cand[i]);
        if (s_end_ms(cand[i]) > hi)
            hi = s_end_ms(cand[i]);
        s_wait_unlink(s, r, cand[i]);
        l->members[l->n_members++] = cand[i];
    }
    l->scan = true;
    l->q = (struct wc_trail_query){
        .account_id = r->account,
        .region = r->region,
        .attribute_key = WC_TRAIL_SCAN_KEY,
        .attribute_value = WC_TRAIL_SCAN_VALUE,
        .start_ms = lo,
        .end_ms = hi,
    };
out:
    free(cand);
    return WC_OK;
}

/* A new lookup for r's waiting changes. */
static int s_start_lookup(struct wc_sched *s, struct s_region *r)
{
    struct s_lookup *l = calloc(1, sizeof(*l));
    struct s_change *ch;
    int rc;

    if (!l)
        return WC_ERR_NOMEM;
    if ((rc = s_plan_scan(s, r, l)) != WC_OK) {
        s_lookup_free(l);
        return rc;
    }
    if (!l->scan) {
        ch = r->wait_head;
        s_wait_unlink(s, r, ch);
        l->ch = ch;
        rc = wc_trail_plan(&ch->c, ch->skew_s, l->plan, WC_TRAIL_MAX_QUERIES, &l->n_plan);
        if (rc == WC_OK && l->n_plan == 0)
            rc = WC_ERR_INVALID;
        if (rc != WC_OK) {
            /* (checked when added: cannot happen) */
            s_emit(s, ch, rc, NULL, 0, false);
            s_lookup_free(l);
            return WC_OK;
        }
    }
    r->lookup = l;
    return WC_OK;
}

static void s_end_lookup(struct wc_sched *s, struct s_region *r)
{
    s_lookup_free(r->lookup);
    r->lookup = NULL;
    s_update(s, r);
}

/* Ends r's lookup when every change it was for has been removed. */
static bool s_end_if_orphaned(struct wc_sched *s, struct s_region *r)
{
    struct s_lookup *l = r->lookup;

    if (l->ch && !l->ch->removed)
        return false;
    for (size_t i = 0; i < l->n_members; i++)
        if (!l->members[i]->removed)
            return false;
    s_change_free(l->ch);
    l->ch = NULL;
    for (size_t i = 0; i < l->n_members; i++)
        s_change_free(l->members[i]);
    l->n_members = 0;
    s_end_lookup(s, r);
    return true;
}

/* Every member of r's scan comes out with rc (an error). */
static void s_fail_scan(struct wc_sched *s, struct s_region *r, int rc)
{
    struct s_lookup *l = r->lookup;
    bool first = true;

    for (size_t i = 0; i < l->n_members; i++) {
        bool counted = first && !l->members[i]->removed;

        s_emit(s, l->members[i], rc, NULL, counted ? l->calls : 0, true);
        if (counted)
            first = false;
    }
    l->n_members = 0;
    s_end_lookup(s, r);
}

/* The scan has read its last page (complete: no NextToken left). Members
 * whose window it covered are answered from its events; the others (only
 * when it stopped at max_scan_pages) go back to wait for per-resource
 * lookups: answered from part of their window they could get another
 * verdict. */
static void s_finish_scan(struct wc_sched *s, struct s_region *r, bool complete)
{
    struct s_lookup *l = r->lookup;
    int64_t oldest = INT64_MAX;
    double secs, sample;
    bool first = true;

    for (size_t i = 0; i < l->have.len; i++)
        if (l->have.items[i].event_time_ms < oldest)
            oldest = l->have.items[i].event_time_ms;
    /* learn the write rate: events over the seconds the pages covered */
    if (complete)
        secs = (double)(s_ceil_s(l->q.end_ms) - s_floor_s(l->q.start_ms) + 1);
    else if (l->have.len)
        secs = (double)(s_ceil_s(l->q.end_ms) * 1000 - oldest) / 1000.0 + 1;
    else
        secs = 1;
    if (secs < 1)
        secs = 1;
    sample = (double)l->have.len / secs;
    r->write_rate = r->learned ? S_RATE_ALPHA * sample + (1 - S_RATE_ALPHA) * r->write_rate
                               : sample;
    r->learned = true;
    s->stats.scans++;

    for (size_t i = 0; i < l->n_members; i++) {
        struct s_change *ch = l->members[i];
        struct wc_event_list events = WC_EVENT_LIST_INIT;
        int rc;

        if (ch->removed) {
            s_change_free(ch);
            l->members[i] = NULL;
            continue;
        }
        /* covered: every event of the window newer than the oldest read
         * (pages come newest first; ties at `oldest` may span pages) */
        if (!complete && (!l->have.len || s_floor_s(s_start_ms(ch)) * 1000 <= oldest))
            continue;
        rc = wc_trail_lookup_change_in(&l->have, &ch->c, ch->skew_s, &events);
        s_emit(s, ch, rc, &events, first ? l->calls : 0, true);
        first = false;
        l->members[i] = NULL;
    }
    /* the rest wait again, first in line, oldest first */
    for (size_t i = l->n_members; i-- > 0;) {
        if (!l->members[i])
            continue;
        l->members[i]->no_scan = true;
        s_wait_prepend(s, r, l->members[i]);
    }
    l->n_members = 0;
    s_end_lookup(s, r);
}

/* -- API -------------------------------------------------------------------- */

struct wc_sched *wc_sched_new(const struct wc_sched_options *o)
{
    struct wc_sched *s;

    if (!o || o->skew_s <= 0 || o->rate_per_s < 0 || o->page_size < 0 || o->max_scan_pages < 0)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->o = *o;
    if (!(s->o.rate_per_s > 0))
        s->o.rate_per_s = WC_SCHED_DEFAULT_RATE;
    if (!s->o.page_size)
        s->o.page_size = WC_SCHED_DEFAULT_PAGE_SIZE;
    if (!s->o.max_scan_pages)
        s->o.max_scan_pages = WC_SCHED_DEFAULT_MAX_SCAN_PAGES;
    if (!s->o.max_regions)
        s->o.max_regions = WC_SCHED_DEFAULT_MAX_REGIONS;
    s->skew_s = o->skew_s;
    return s;
}

void wc_sched_destroy(struct wc_sched *s)
{
    struct s_result *res, *rnext;

    if (!s)
        return;
    for (size_t i = 0; i < s->n_rbuckets; i++) {
        struct s_region *r = s->rbuckets[i], *next;

        for (; r; r = next) {
            struct s_change *ch, *cnext;

            next = r->hnext;
            for (ch = r->wait_head; ch; ch = cnext) {
                cnext = ch->next;
                s_change_free(ch);
            }
            if (r->lookup) {
                s_change_free(r->lookup->ch);
                for (size_t k = 0; k < r->lookup->n_members; k++)
                    s_change_free(r->lookup->members[k]);
                s_lookup_free(r->lookup);
            }
            s_region_free(r);
        }
    }
    for (res = s->res_head; res; res = rnext) {
        rnext = res->next;
        wc_event_list_clean_up(&res->r.events);
        free(res);
    }
    free(s->rbuckets);
    free(s->cbuckets);
    free(s);
}

void wc_sched_set_skew(struct wc_sched *s, int skew_s)
{
    if (s && skew_s > 0)
        s->skew_s = skew_s;
}

int wc_sched_add(struct wc_sched *s, uint64_t id, const struct wc_change *c, int64_t now_ms)
{
    const char *region;
    struct s_region *r = NULL;
    struct s_change *ch;
    int rc;

    if (!s || !c || wc_str_empty(c->resource_id))
        return WC_ERR_INVALID;
    region = !wc_str_empty(c->lookup_region) ? c->lookup_region : c->region;
    if (wc_str_empty(region))
        return WC_ERR_INVALID;
    if (s_change_slot(s, id))
        return WC_ERR_INVALID;
    ch = calloc(1, sizeof(*ch));
    if (!ch || !(ch->res = calloc(1, sizeof(*ch->res)))) {
        free(ch);
        return WC_ERR_NOMEM;
    }
    ch->id = id;
    ch->skew_s = s->skew_s;
    /* a window much wider than the skew (periodic recording: the day
     * before the capture) holds every write of the account-region in that
     * time, thousands of pages where the resource's own lookups read one:
     * never scanned for */
    ch->no_scan = c->lookback_s > WC_SCHED_SCAN_MAX_LOOKBACK_S;
    if ((rc = wc_change_copy(&ch->c, c)) != WC_OK || (rc = s_index_change(s, ch)) != WC_OK) {
        s_change_free(ch);
        return rc;
    }
    if ((rc = s_region_get(s, wc_str_empty(c->account_id) ? NULL : c->account_id, region,
                           now_ms, &r)) != WC_OK) {
        s_unindex_change(s, ch);
        s_change_free(ch);
        return rc;
    }
    ch->region = r;
    if (r->n_wait == 0)
        r->first_wait_ms = now_ms;
    r->last_add_ms = now_ms;
    s_wait_append(s, r, ch);
    s_update(s, r);
    return WC_OK;
}

void wc_sched_remove(struct wc_sched *s, uint64_t id)
{
    struct s_change **p, *ch;
    struct s_region *r;
    struct s_lookup *l;

    if (!s || !(p = s_change_slot(s, id)))
        return;
    ch = *p;
    r = ch->region;
    s_unindex_change(s, ch);
    l = r->lookup;
    if (l) {
        bool member = l->ch == ch;

        for (size_t i = 0; !member && i < l->n_members; i++)
            member = l->members[i] == ch;
        if (member) {
            /* a call out ends it in wc_sched_done */
            ch->removed = true;
            if (!l->call_out)
                s_end_if_orphaned(s, r);
            return;
        }
    }
    s_wait_unlink(s, r, ch);
    s_change_free(ch);
    s_update(s, r);
}

bool wc_sched_next(struct wc_sched *s, int64_t now_ms, struct wc_sched_call *out,
                   int64_t *wake_ms)
{
    size_t n;

    if (wake_ms)
        *wake_ms = INT64_MAX;
    if (!s || !out)
        return false;
    memset(out, 0, sizeof(*out));
    n = s->n_ring;
    while (n-- > 0 && s->ring) {
        struct s_region *r = s->ring;
        struct s_lookup *l;
        int64_t wait = wc_adaptive_wait_ms(&r->rate, now_ms);

        if (!r->lookup && r->n_wait >= 2 && !s->o.no_scan && s->o.settle_ms > 0 &&
            r->rate.rate < WC_SCHED_SETTLE_BELOW_RATE) {
            /* a burst still arriving: let it settle so that one scan covers
             * it, rather than one scan now and the same window again soon
             * (a lone change goes at once) */
            int64_t settle = r->last_add_ms + s->o.settle_ms;
            int64_t cap = r->first_wait_ms + 4 * (int64_t)s->o.settle_ms;
            int64_t at = settle < cap ? settle : cap;

            if (at > now_ms && at - now_ms > wait)
                wait = at - now_ms;
        }
        if (wait > 0) {
            if (wake_ms && now_ms + wait < *wake_ms)
                *wake_ms = now_ms + wait;
            s->ring = r->ring_next;
            continue;
        }
        if (!r->lookup && s_start_lookup(s, r) != WC_OK) {
            /* no memory: try again later */
            if (wake_ms && now_ms + 1000 < *wake_ms)
                *wake_ms = now_ms + 1000;
            s->ring = r->ring_next;
            continue;
        }
        if (!r->lookup) { /* its change came out at once */
            s->ring = r->ring_next;
            s_update(s, r);
            n = s->n_ring;
            continue;
        }
        l = r->lookup;
        wc_adaptive_acquire(&r->rate, now_ms);
        l->call_out = true;
        l->call_id = ++s->next_call_id;
        out->call_id = l->call_id;
        out->query = l->scan ? l->q : l->plan[l->qi];
        out->token = l->token;
        out->scan = l->scan;
        s->ring = r->ring_next; /* the next round starts after r */
        s_update(s, r);
        return true;
    }
    return false;
}

static struct s_region *s_find_call(struct wc_sched *s, uint64_t call_id)
{
    for (size_t i = 0; i < s->n_rbuckets; i++)
        for (struct s_region *r = s->rbuckets[i]; r; r = r->hnext)
            if (r->lookup && r->lookup->call_out && r->lookup->call_id == call_id)
                return r;
    return NULL;
}

/* Move the events of page to the end of dst. */
static int s_append(struct wc_event_list *dst, struct wc_event_list *page)
{
    struct wc_event *items;

    if (!page->len)
        return WC_OK;
    items = realloc(dst->items, (dst->len + page->len) * sizeof(*items));
    if (!items)
        return WC_ERR_NOMEM;
    dst->items = items;
    memcpy(&dst->items[dst->len], page->items, page->len * sizeof(*items));
    dst->len += page->len;
    free(page->items);
    page->items = NULL;
    page->len = 0;
    return WC_OK;
}

/* The token of the next page, if there is one to read (taken from page). */
static char *s_take_token(struct wc_event_list *page)
{
    char *t = page ? page->next_token : NULL;

    if (page)
        page->next_token = NULL;
    if (t && !*t) {
        free(t);
        t = NULL;
    }
    return t;
}

static void s_done_per_resource(struct wc_sched *s, struct s_region *r, int rc,
                                struct wc_event_list *page)
{
    struct s_lookup *l = r->lookup;
    struct s_change *ch = l->ch;
    char *token = NULL;
    bool done;

    if (s_end_if_orphaned(s, r))
        return;
    if (rc == WC_OK) {
        token = s_take_token(page);
        rc = s_append(&l->found, page);
    }
    if (rc != WC_OK) {
        free(token);
        l->ch = NULL;
        s_emit(s, ch, rc, NULL, l->calls, false);
        s->stats.per_resource++;
        s_end_lookup(s, r);
        return;
    }
    free(l->token);
    l->token = NULL;
    l->pages++;
    if (token && l->pages < S_QUERY_MAX_PAGES) {
        l->token = token; /* next page of the same query */
        s_update(s, r);
        return;
    }
    free(token);
    /* the query is complete: the same early stop and merge as
     * wc_trail_lookup_change */
    done = wc_trail_found_write(&l->found);
    rc = wc_trail_merge(&l->events, &l->found);
    wc_event_list_clean_up(&l->found);
    l->pages = 0;
    if (rc == WC_OK && !done && ++l->qi < l->n_plan) {
        s_update(s, r);
        return;
    }
    l->ch = NULL;
    s_emit(s, ch, rc, &l->events, l->calls, false);
    s->stats.per_resource++;
    s_end_lookup(s, r);
}

static void s_done_scan(struct wc_sched *s, struct s_region *r, int rc, struct wc_event_list *page)
{
    struct s_lookup *l = r->lookup;
    char *token = NULL;

    if (s_end_if_orphaned(s, r))
        return;
    if (rc == WC_OK) {
        token = s_take_token(page);
        rc = s_append(&l->have, page);
    }
    if (rc != WC_OK) {
        free(token);
        s_fail_scan(s, r, rc);
        return;
    }
    free(l->token);
    l->token = NULL;
    l->pages++;
    if (token && l->pages < s->o.max_scan_pages) {
        l->token = token;
        s_update(s, r);
        return;
    }
    s_finish_scan(s, r, token == NULL);
    free(token);
}

int wc_sched_done(struct wc_sched *s, uint64_t call_id, int rc, struct wc_event_list *page,
                  int64_t now_ms)
{
    struct s_region *r;
    struct s_lookup *l;

    if (!s)
        return WC_ERR_INVALID;
    if (!(r = s_find_call(s, call_id)))
        return WC_ERR_NOT_FOUND;
    l = r->lookup;
    l->call_out = false;
    l->calls++;
    s->stats.calls++;
    if (rc == WC_ERR_THROTTLED) {
        s->stats.throttled++;
        wc_adaptive_on_throttle(&r->rate, now_ms);
        /* the same page again later, unless nobody waits for it anymore */
        if (!s_end_if_orphaned(s, r))
            s_update(s, r);
        return WC_OK;
    }
    if (rc == WC_OK)
        wc_adaptive_on_success(&r->rate, now_ms);
    if (rc == WC_OK && !page)
        rc = WC_ERR_INVALID;
    if (l->scan)
        s_done_scan(s, r, rc, page);
    else
        s_done_per_resource(s, r, rc, page);
    return WC_OK;
}

bool wc_sched_take(struct wc_sched *s, struct wc_sched_result *out)
{
    struct s_result *res;

    if (!s || !out || !(res = s->res_head))
        return false;
    s->res_head = res->next;
    if (!s->res_head)
        s->res_tail = NULL;
    *out = res->r;
    free(res);
    return true;
}

void wc_sched_get_stats(const struct wc_sched *s, struct wc_sched_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    *out = s->stats;
    out->regions = s->n_regions;
}
