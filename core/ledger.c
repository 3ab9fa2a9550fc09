#include "core/ledger.h"

#include <stdlib.h>

#include "core/dedup.h"
#include "core/err.h"

bool wc_ledger_accepted(struct wc_ledger *l, const char *notifier_id, const char *subject)
{
    if (!l || !l->vtable || !l->vtable->accepted || !notifier_id || !subject)
        return false;
    return l->vtable->accepted(l, notifier_id, subject);
}

bool wc_ledger_accepted_thorough(struct wc_ledger *l, const char *notifier_id,
                                 const char *subject)
{
    if (!l || !l->vtable || !notifier_id || !subject)
        return false;
    if (!l->vtable->accepted_thorough)
        return wc_ledger_accepted(l, notifier_id, subject);
    return l->vtable->accepted_thorough(l, notifier_id, subject);
}

int wc_ledger_record(struct wc_ledger *l, const char *notifier_id, const char *subject)
{
    if (!l || !l->vtable || !l->vtable->record || !notifier_id || !subject)
        return WC_ERR_INVALID;
    return l->vtable->record(l, notifier_id, subject);
}

void wc_ledger_destroy(struct wc_ledger *l)
{
    if (l && l->vtable && l->vtable->destroy)
        l->vtable->destroy(l);
}

/* --- in memory ------------------------------------------------------------ */

struct s_memory {
    struct wc_ledger base;
    struct wc_dedup *set;
};

static bool s_mem_accepted(struct wc_ledger *l, const char *notifier_id, const char *subject)
{
    struct s_memory *m = l->impl;

    return wc_dedup_contains(m->set, notifier_id, subject);
}

static int s_mem_record(struct wc_ledger *l, const char *notifier_id, const char *subject)
{
    struct s_memory *m = l->impl;

    return wc_dedup_insert(m->set, notifier_id, subject, 0);
}

static void s_mem_destroy(struct wc_ledger *l)
{
    struct s_memory *m = l->impl;

    wc_dedup_destroy(m->set);
    free(m);
}

static const struct wc_ledger_vtable s_memory_vtable = {
    .name = "memory",
    .accepted = s_mem_accepted,
    .record = s_mem_record,
    .destroy = s_mem_destroy,
};

struct wc_ledger *wc_ledger_memory_new(int64_t ttl_ms)
{
    struct s_memory *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    if (!(m->set = wc_dedup_new(ttl_ms, 0, NULL))) {
        free(m);
        return NULL;
    }
    m->base.vtable = &s_memory_vtable;
    m->base.impl = m;
    return &m->base;
}
