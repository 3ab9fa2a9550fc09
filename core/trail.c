#include "core/trail.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int wc_trail_lookup(struct wc_trail *t, const struct wc_trail_query *q, struct wc_event_list *out)
{
    if (!t || !t->vtable || !t->vtable->lookup || !q || !out)
        return WC_ERR_INVALID;
    return t->vtable->lookup(t, q, out);
}

int wc_trail_lookup_page(struct wc_trail *t, const struct wc_trail_query *q, const char *token,
                         struct wc_event_list *out)
{
    if (!t || !t->vtable || !q || !out)
        return WC_ERR_INVALID;
    if (!t->vtable->lookup_page)
        return WC_ERR_UNSUPPORTED;
    return t->vtable->lookup_page(t, q, token, out);
}

void wc_trail_destroy(struct wc_trail *t)
{
    if (t && t->vtable && t->vtable->destroy)
        t->vtable->destroy(t);
}

static bool s_planned(const struct wc_trail_query *q, size_t n, const char *key, const char *val)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(q[i].attribute_key, key) && !strcmp(q[i].attribute_value, val))
            return true;
    return false;
}

static void s_add(struct wc_trail_query *out, size_t max, size_t *n, const struct wc_change *c,
                  int skew_s, const char *key, const char *val)
{
    if (wc_str_empty(val) || *n >= max || s_planned(out, *n, key, val))
        return;
    out[*n] = (struct wc_trail_query){
        .account_id = c->account_id,
        .region = c->lookup_region ? c->lookup_region : c->region,
        .attribute_key = key,
        .attribute_value = val,
    };
    /* the change's window: capture +- skew, and for periodic recording the
     * period before the capture too */
    wc_change_window(c, skew_s, &out[*n].start_ms, &out[*n].end_ms);
    (*n)++;
}

int wc_trail_plan(const struct wc_change *c, int skew_s, struct wc_trail_query *out,
                  size_t max, size_t *n_out)
{
    size_t n = 0;

    *n_out = 0;
    if (!c || skew_s < 0 || wc_str_empty(c->resource_id))
        return WC_ERR_INVALID;
    for (size_t i = 0; i < c->related_event_ids.len && i < WC_TRAIL_MAX_RELATED_LOOKUPS; i++)
        s_add(out, max, &n, c, skew_s, "EventId", c->related_event_ids.items[i]);
    s_add(out, max, &n, c, skew_s, "ResourceName", c->resource_id);
    s_add(out, max, &n, c, skew_s, "ResourceName", c->resource_name);
    s_add(out, max, &n, c, skew_s, "ResourceName", c->arn);
    *n_out = n;
    return WC_OK;
}

/* The whole seconds the request covers (wc_cloudtrail_lookup_body rounds
 * the window outwards: StartTime floor, EndTime ceil, both inclusive). */
static int64_t s_floor_s(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static int64_t s_ceil_s(int64_t ms)
{
    return ms >= 0 ? (ms + 999) / 1000 : -(-ms / 1000);
}

bool wc_trail_query_matches(const struct wc_trail_query *q, const struct wc_event *e)
{
    const char *key, *val;

    if (!q || !e || !q->attribute_key || !q->attribute_value)
        return false;
    if (e->event_time_ms < s_floor_s(q->start_ms) * 1000 ||
        e->event_time_ms > s_ceil_s(q->end_ms) * 1000)
        return false;
    key = q->attribute_key;
    val = q->attribute_value;
    if (!strcmp(key, "EventId"))
        return wc_streq(e->event_id, val);
    if (!strcmp(key, "ResourceName")) {
        /* the names LookupEvents lists in Resources (ResourceName), exactly:
         * the service does not derive an id from an ARN, and a record's
         * resources[].ARN is not what it indexes */
        for (size_t i = 0; i < e->n_resources; i++)
            if (wc_streq(e->resources[i].name, val))
                return true;
        return false;
    }
    if (!strcmp(key, WC_TRAIL_SCAN_KEY)) {
        if (!strcmp(val, "true"))
            return e->read_only;
        if (!strcmp(val, "false"))
            return !e->read_only;
    }
    return false;
}

bool wc_trail_found_write(const struct wc_event_list *l)
{
    for (size_t i = 0; l && i < l->len; i++)
        if (!l->items[i].read_only && !l->items[i].error_code)
            return true;
    return false;
}

int wc_trail_merge(struct wc_event_list *out, struct wc_event_list *src)
{
    struct wc_event *items;

    if (!out || !src)
        return WC_ERR_INVALID;
    items = realloc(out->items, (out->len + src->len + 1) * sizeof(*items));
    if (!items)
        return WC_ERR_NOMEM;
    out->items = items;
    for (size_t i = 0; i < src->len; i++) {
        bool dup = false;

        for (size_t j = 0; j < out->len && !dup; j++)
            dup = wc_streq(out->items[j].event_id, src->items[i].event_id);
        if (dup) {
            wc_event_clean_up(&src->items[i]);
            continue;
        }
        out->items[out->len++] = src->items[i];
    }
    src->len = 0; /* moved or freed */
    out->n_skipped += src->n_skipped;
    src->n_skipped = 0;
    return WC_OK;
}

/* Copy the events of have that q matches into out. */
static int s_select(const struct wc_event_list *have, const struct wc_trail_query *q,
                    struct wc_event_list *out)
{
    for (size_t i = 0; i < have->len; i++) {
        struct wc_event *items;
        int rc;

        if (!wc_trail_query_matches(q, &have->items[i]))
            continue;
        items = realloc(out->items, (out->len + 1) * sizeof(*items));
        if (!items)
            return WC_ERR_NOMEM;
        out->items = items;
        if ((rc = wc_event_copy(&out->items[out->len], &have->items[i])) != WC_OK)
            return rc;
        out->len++;
    }
    return WC_OK;
}

int wc_trail_lookup_change_in(const struct wc_event_list *have, const struct wc_change *c,
                              int skew_s, struct wc_event_list *out)
{
    struct wc_trail_query plan[WC_TRAIL_MAX_QUERIES];
    size_t n = 0;
    int rc;

    if (!have || !out)
        return WC_ERR_INVALID;
    if ((rc = wc_trail_plan(c, skew_s, plan, WC_TRAIL_MAX_QUERIES, &n)) != WC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct wc_event_list found = WC_EVENT_LIST_INIT;
        bool done;

        rc = s_select(have, &plan[i], &found);
        done = rc == WC_OK && wc_trail_found_write(&found);
        if (rc == WC_OK)
            rc = wc_trail_merge(out, &found);
        wc_event_list_clean_up(&found);
        if (rc != WC_OK)
            return rc;
        if (done)
            break;
    }
    return WC_OK;
}

int wc_trail_lookup_change(struct wc_trail *t, const struct wc_change *c, int skew_s,
                           struct wc_event_list *out, size_t *n_calls)
{
    struct wc_trail_query plan[WC_TRAIL_MAX_QUERIES];
    size_t n = 0;
    int rc;

    if (n_calls)
        *n_calls = 0;
    if ((rc = wc_trail_plan(c, skew_s, plan, WC_TRAIL_MAX_QUERIES, &n)) != WC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct wc_event_list found = WC_EVENT_LIST_INIT;
        bool done;

        rc = wc_trail_lookup(t, &plan[i], &found);
        if (n_calls)
            (*n_calls)++;
        done = rc == WC_OK && wc_trail_found_write(&found);
        if (rc == WC_OK)
            rc = wc_trail_merge(out, &found);
        wc_event_list_clean_up(&found);
        if (rc != WC_OK)
            return rc;
        if (done)
            break;
    }
    return WC_OK;
}
