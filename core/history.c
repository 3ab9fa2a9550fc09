/* history.c - a resource's recorded changes, attributed. See history.h. */
#include "core/history.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/notification_internal.h"

/* Config's limit on a resource id. */
#define S_ID_MAX 768
/* A GetResourceConfigHistory answer is parsed whole. */
#define S_BODY_MAX ((size_t)16 * 1024 * 1024)
/* The "what" of a text line names at most this many properties. */
#define S_WHAT_MAX 6

static void s_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* --- arguments ------------------------------------------------------------ */

/* [A-Za-z0-9]+ at p; its length. */
static size_t s_name_len(const char *p)
{
    size_t n = 0;

    while (isalnum((unsigned char)p[n]))
        n++;
    return n;
}

int wc_history_parse_resource(const char *s, char **type, char **id, char *err, size_t errlen)
{
    const char *p = s;
    size_t n;

    *type = *id = NULL;
    if (!s || !*s) {
        s_errf(err, errlen, "--resource is empty: give TYPE/ID, e.g. AWS::EC2::SecurityGroup/sg-0123");
        return WC_ERR_INVALID;
    }
    for (int part = 0; part < 3; part++) {
        if ((n = s_name_len(p)) == 0)
            goto bad;
        p += n;
        if (part < 2) {
            if (strncmp(p, "::", 2) != 0)
                goto bad;
            p += 2;
        }
    }
    if (*p != '/' || p[1] == '\0')
        goto bad;
    n = strlen(p + 1);
    if (n > S_ID_MAX) {
        s_errf(err, errlen, "--resource: the resource id is %zu bytes, more than Config's %d", n,
               S_ID_MAX);
        return WC_ERR_INVALID;
    }
    for (size_t i = 1; p[i]; i++) {
        if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f) {
            s_errf(err, errlen, "--resource: the resource id holds a space or control character");
            return WC_ERR_INVALID;
        }
    }
    *type = wc_strndup(s, (size_t)(p - s));
    *id = wc_strdup(p + 1);
    if (!*type || !*id) {
        free(*type);
        free(*id);
        *type = *id = NULL;
        return WC_ERR_NOMEM;
    }
    return WC_OK;
bad:
    s_errf(err, errlen, "--resource '%.100s' is not TYPE/ID: give the Config resource type and "
           "id, e.g. AWS::EC2::SecurityGroup/sg-0123", s);
    return WC_ERR_INVALID;
}

int wc_history_parse_time(const char *s, int64_t now_ms, int64_t *out_ms, char *err,
                          size_t errlen)
{
    char *end = NULL;
    unsigned long long v;
    int64_t unit = 0;

    if (!s || !*s) {
        s_errf(err, errlen, "empty time: give 7d, 36h, 90m or an RFC 3339 time");
        return WC_ERR_INVALID;
    }
    if (isdigit((unsigned char)s[0])) {
        v = strtoull(s, &end, 10);
        if (end && end[0] && !end[1]) {
            switch (end[0]) {
            case 's': unit = 1000; break;
            case 'm': unit = 60 * 1000; break;
            case 'h': unit = 3600 * 1000; break;
            case 'd': unit = 86400 * 1000; break;
            case 'w': unit = 7 * 86400 * 1000; break;
            default: break;
            }
        }
        if (unit) {
            /* at most 20 years back: Config keeps 7 */
            if (v > (unsigned long long)(20LL * 366 * 86400 * 1000) / (unsigned long long)unit) {
                s_errf(err, errlen, "'%.40s' is too far back", s);
                return WC_ERR_INVALID;
            }
            *out_ms = now_ms - (int64_t)v * unit;
            return WC_OK;
        }
    }
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        char full[32];

        snprintf(full, sizeof(full), "%sT00:00:00Z", s);
        if (wc_time_parse_iso8601(wc_str_from_cstr(full), out_ms) == WC_OK)
            return WC_OK;
    } else if (wc_time_parse_iso8601(wc_str_from_cstr(s), out_ms) == WC_OK) {
        return WC_OK;
    }
    s_errf(err, errlen, "'%.60s' is neither a duration (7d, 36h, 90m, 45s, 2w) nor an RFC 3339 "
           "time (2026-11-30T10:00:00Z) nor a date (2026-11-30)", s);
    return WC_ERR_INVALID;
}

/* --- state ------------------------------------------------------------------ */

enum s_phase {
    S_BASELINE = 1, /* the item before the range */
    S_PAGES,        /* the range, page by page */
    S_DONE,         /* no more Config calls */
};

/* One item of the range, in capture order. */
struct s_slot {
    struct wc_history_entry *entry; /* entry->finding set once decided */
    struct wc_change change;        /* until decided */
};

struct wc_history {
    struct wc_history_options o;
    char *type, *id, *account, *region;
    struct wc_policy policy;
    struct wc_sched *sched;
    enum s_phase phase;
    bool config_out;   /* a CONFIG action is out */
    char *token;       /* the next page's */
    char *prev_item;   /* the last item read (compact JSON), to compare with */
    /* slots[head..len): ids base + i */
    struct s_slot **slots;
    size_t head, len, cap;
    uint64_t base;
    size_t waiting;    /* slots waiting for CloudTrail */
    size_t lookups_out;
    int err_rc;
    char *err;
    struct wc_history_stats stats;
};

void wc_history_entry_destroy(struct wc_history_entry *e)
{
    if (!e)
        return;
    wc_finding_destroy(e->finding);
    free(e->state_id);
    free(e->recording_frequency);
    free(e);
}

static void s_slot_free(struct s_slot *s)
{
    if (!s)
        return;
    wc_history_entry_destroy(s->entry);
    wc_change_clean_up(&s->change);
    free(s);
}

struct wc_history *wc_history_new(const struct wc_history_options *o,
                                  const struct wc_policy *policy, char *err, size_t errlen)
{
    struct wc_history *h;
    struct wc_sched_options so;

    if (!o || !policy || wc_str_empty(o->resource_type) || wc_str_empty(o->resource_id) ||
        wc_str_empty(o->region)) {
        s_errf(err, errlen, "a resource type, id and region are required");
        return NULL;
    }
    if (o->since_ms >= o->until_ms) {
        s_errf(err, errlen, "--since must be before --until");
        return NULL;
    }
    if (policy->skew_s <= 0) {
        s_errf(err, errlen, "the correlation window (skew_seconds) must be positive");
        return NULL;
    }
    if (!(h = calloc(1, sizeof(*h))))
        return NULL;
    h->o = *o;
    if (!h->o.max_items)
        h->o.max_items = WC_HISTORY_MAX_ITEMS;
    so = o->sched;
    so.skew_s = policy->skew_s;
    so.no_scan = true; /* one resource: its own lookups read least */
    so.settle_ms = 0;
    h->phase = S_BASELINE;
    if (!(h->type = wc_strdup(o->resource_type)) || !(h->id = wc_strdup(o->resource_id)) ||
        !(h->region = wc_strdup(o->region)) ||
        (o->account_id && !(h->account = wc_strdup(o->account_id))) ||
        wc_policy_copy(&h->policy, policy) != WC_OK || !(h->sched = wc_sched_new(&so))) {
        wc_history_destroy(h);
        return NULL;
    }
    h->o.resource_type = h->type;
    h->o.resource_id = h->id;
    h->o.region = h->region;
    h->o.account_id = h->account;
    return h;
}

void wc_history_destroy(struct wc_history *h)
{
    if (!h)
        return;
    for (size_t i = h->head; i < h->len; i++)
        s_slot_free(h->slots[i]);
    free(h->slots);
    wc_sched_destroy(h->sched);
    wc_policy_clean_up(&h->policy);
    free(h->type);
    free(h->id);
    free(h->account);
    free(h->region);
    free(h->token);
    free(h->prev_item);
    free(h->err);
    free(h);
}

/* Ends the history with an error (the first one is kept). */
static void s_fail(struct wc_history *h, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fail(struct wc_history *h, int rc, const char *fmt, ...)
{
    struct wc_buf b = WC_BUF_INIT;
    va_list ap;

    h->phase = S_DONE;
    if (h->err_rc)
        return;
    h->err_rc = rc ? rc : WC_ERR_SERVICE;
    wc_buf_init(&b, 4096);
    va_start(ap, fmt);
    (void)wc_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    h->err = wc_buf_steal(&b);
    wc_buf_clean_up(&b);
}

static struct s_slot *s_slot_of(struct wc_history *h, uint64_t id)
{
    if (id < h->base + h->head || id >= h->base + h->len)
        return NULL;
    return h->slots[id - h->base];
}

static int s_slot_push(struct wc_history *h, struct s_slot *s, uint64_t *id)
{
    if (h->head > 0 && h->head == h->len) {
        h->base += h->len;
        h->head = h->len = 0;
    } else if (h->head >= 64 && h->head * 2 >= h->len) {
        memmove(h->slots, h->slots + h->head, (h->len - h->head) * sizeof(*h->slots));
        h->base += h->head;
        h->len -= h->head;
        h->head = 0;
    }
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        struct s_slot **p = realloc(h->slots, cap * sizeof(*p));

        if (!p)
            return WC_ERR_NOMEM;
        h->slots = p;
        h->cap = cap;
    }
    *id = h->base + h->len;
    h->slots[h->len++] = s;
    return WC_OK;
}

/* --- actions ----------------------------------------------------------------- */

bool wc_history_next(struct wc_history *h, int64_t mono_ms, struct wc_history_action *out,
                     int64_t *wake_ms)
{
    int64_t wake = INT64_MAX;

    memset(out, 0, sizeof(*out));
    *wake_ms = INT64_MAX;
    if (h->phase != S_DONE && !h->config_out && h->waiting < WC_HISTORY_MAX_PENDING) {
        struct wc_config_history_query *q = &out->config;

        out->kind = WC_HISTORY_CONFIG;
        q->account_id = h->account;
        q->region = h->region;
        q->resource_type = h->type;
        q->resource_id = h->id;
        if (h->phase == S_BASELINE) {
            /* the newest item before the range: two, as since may fall
             * within the second of the first item in it */
            q->earlier_ms = WC_HISTORY_NO_TIME;
            q->later_ms = h->o.since_ms;
            q->forward = false;
            q->limit = 2;
        } else {
            q->earlier_ms = h->o.since_ms;
            q->later_ms = h->o.until_ms;
            q->forward = true;
            q->limit = WC_HISTORY_PAGE_LIMIT;
            out->token = h->token;
        }
        h->config_out = true;
        h->stats.config_calls++;
        return true;
    }
    if (wc_sched_next(h->sched, mono_ms, &out->lookup, &wake)) {
        out->kind = WC_HISTORY_LOOKUP;
        h->lookups_out++;
        return true;
    }
    *wake_ms = wake;
    return false;
}

/* The capture time of an item: a number of epoch seconds (the API), or an
 * ISO 8601 string (a notification's shape). */
static int s_capture_ms(const cJSON *item, int64_t *out)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "configurationItemCaptureTime");

    if (cJSON_IsNumber(t) && isfinite(t->valuedouble) && t->valuedouble > 0 &&
        t->valuedouble < 1e11) {
        *out = (int64_t)llround(t->valuedouble * 1000.0);
        return WC_OK;
    }
    if (cJSON_IsString(t) && t->valuestring)
        return wc_time_parse_iso8601(wc_str_from_cstr(t->valuestring), out);
    return WC_ERR_INVALID;
}

static const char *s_get_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* --- the difference with the item before -------------------------------------- */

/* A value as compared: JSON text (configuration, supplementary values) is
 * parsed; anything else is duplicated. NULL when absent or null. */
static cJSON *s_value(const cJSON *v)
{
    cJSON *parsed;

    if (!v || cJSON_IsNull(v))
        return NULL;
    if (cJSON_IsString(v) && v->valuestring && v->valuestring[0] &&
        (parsed = cJSON_Parse(v->valuestring)) != NULL) {
        if (cJSON_IsNull(parsed)) {
            cJSON_Delete(parsed);
            return NULL;
        }
        return parsed;
    }
    return cJSON_Duplicate(v, true);
}

/* One entry of changedProperties, as Config writes it. */
static bool s_prop(cJSON *props, const char *path, const cJSON *before, const cJSON *after)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *b = before ? cJSON_Duplicate(before, true) : cJSON_CreateNull();
    cJSON *a = after ? cJSON_Duplicate(after, true) : cJSON_CreateNull();
    const char *ct = !before ? "CREATE" : !after ? "DELETE" : "UPDATE";
    bool ok = p && b && a && cJSON_AddItemToObject(p, "previousValue", b);

    if (!ok) {
        cJSON_Delete(b);
        cJSON_Delete(a);
        cJSON_Delete(p);
        return false;
    }
    if (!cJSON_AddItemToObject(p, "updatedValue", a)) {
        cJSON_Delete(a);
        cJSON_Delete(p);
        return false;
    }
    if (!cJSON_AddStringToObject(p, "changeType", ct) ||
        !cJSON_AddItemToObject(props, path, p)) {
        cJSON_Delete(p);
        return false;
    }
    return true;
}

/* The whole value under `path` when it differs. */
static bool s_diff_whole(cJSON *props, const char *path, const cJSON *before, const cJSON *after)
{
    if (!before && !after)
        return true;
    if (before && after && cJSON_Compare(before, after, true))
        return true;
    return s_prop(props, path, before, after);
}

/* Each top-level key of two objects that differs, as "<prefix>.<key>"; a
 * value that is not an object is compared whole, as "<prefix>". */
static bool s_diff_keys(cJSON *props, const char *prefix, const cJSON *before,
                        const cJSON *after)
{
    const cJSON *v;
    char path[512];

    if ((before && !cJSON_IsObject(before)) || (after && !cJSON_IsObject(after)))
        return s_diff_whole(props, prefix, before, after);
    cJSON_ArrayForEach(v, after) {
        const cJSON *b = before ? cJSON_GetObjectItemCaseSensitive(before, v->string) : NULL;

        if (!v->string)
            continue;
        if (b && cJSON_IsNull(b))
            b = NULL;
        snprintf(path, sizeof(path), "%s.%s", prefix, v->string);
        if (!s_diff_whole(props, path, b, cJSON_IsNull(v) ? NULL : v))
            return false;
    }
    cJSON_ArrayForEach(v, before) {
        if (!v->string || cJSON_IsNull(v) ||
            (after && cJSON_GetObjectItemCaseSensitive(after, v->string)))
            continue;
        snprintf(path, sizeof(path), "%s.%s", prefix, v->string);
        if (!s_prop(props, path, v, NULL))
            return false;
    }
    return true;
}

/* supplementaryConfiguration: each value is JSON text; compare parsed. */
static bool s_diff_supplementary(cJSON *props, const cJSON *before, const cJSON *after)
{
    cJSON *b = NULL, *a = NULL, *v;
    bool ok = true;

    if (cJSON_IsObject(before) && (b = cJSON_CreateObject()) != NULL) {
        cJSON_ArrayForEach(v, before) {
            cJSON *x = s_value(v);
            if (x && v->string && !cJSON_AddItemToObject(b, v->string, x)) {
                cJSON_Delete(x);
                ok = false;
            }
        }
    }
    if (cJSON_IsObject(after) && (a = cJSON_CreateObject()) != NULL) {
        cJSON_ArrayForEach(v, after) {
            cJSON *x = s_value(v);
            if (x && v->string && !cJSON_AddItemToObject(a, v->string, x)) {
                cJSON_Delete(x);
                ok = false;
            }
        }
    }
    ok = ok && s_diff_keys(props, "SupplementaryConfiguration", b, a);
    cJSON_Delete(b);
    cJSON_Delete(a);
    return ok;
}

static bool s_deleted(const char *status)
{
    return status && strncmp(status, "ResourceDeleted", 15) == 0;
}

/* The configurationItemDiff Config would have sent with item, made by
 * comparing it with prev (NULL: none). *compared: the difference means
 * something (a creation, a deletion, or an update with an item before). */
static cJSON *s_make_diff(const cJSON *item, const cJSON *prev, bool *compared)
{
    const char *status = s_get_string(item, "configurationItemStatus");
    const char *ct = status && strcmp(status, "ResourceDiscovered") == 0 ? "CREATE"
                     : s_deleted(status)                                 ? "DELETE"
                                                                         : "UPDATE";
    cJSON *diff = cJSON_CreateObject(), *props;
    cJSON *cb = NULL, *ca = NULL;
    bool ok;

    *compared = strcmp(ct, "UPDATE") != 0 || prev != NULL;
    if (!diff)
        return NULL;
    props = cJSON_AddObjectToObject(diff, "changedProperties");
    ok = props && cJSON_AddStringToObject(diff, "changeType", ct);
    if (ok && prev && strcmp(ct, "UPDATE") == 0) {
        cb = s_value(cJSON_GetObjectItemCaseSensitive(prev, "configuration"));
        ca = s_value(cJSON_GetObjectItemCaseSensitive(item, "configuration"));
        ok = s_diff_keys(props, "Configuration", cb, ca) &&
             s_diff_supplementary(props,
                                  cJSON_GetObjectItemCaseSensitive(prev,
                                                                   "supplementaryConfiguration"),
                                  cJSON_GetObjectItemCaseSensitive(item,
                                                                   "supplementaryConfiguration")) &&
             s_diff_keys(props, "Tags", cJSON_GetObjectItemCaseSensitive(prev, "tags"),
                         cJSON_GetObjectItemCaseSensitive(item, "tags")) &&
             s_diff_whole(props, "Relationships",
                          cJSON_GetObjectItemCaseSensitive(prev, "relationships"),
                          cJSON_GetObjectItemCaseSensitive(item, "relationships"));
    }
    cJSON_Delete(cb);
    cJSON_Delete(ca);
    if (!ok) {
        cJSON_Delete(diff);
        return NULL;
    }
    return diff;
}

/* --- deciding ------------------------------------------------------------------ */

static const char *s_or(const char *a, const char *b)
{
    return wc_str_empty(a) ? b : a;
}

/* An item recorded with recordingFrequency DAILY was changed at some time
 * in the period before its capture: the configured period, as the pipeline
 * gives it before wc_sched_add (the scheduler's per-resource lookups then
 * cover it). */
static void s_periodic_hook(const struct wc_history *h, struct wc_change *c)
{
    if (wc_change_is_periodic(c))
        c->lookback_s = h->policy.periodic_window_h * 3600;
}

/* Decide slot s with events (NULL: none looked up). */
static int s_decide(struct wc_history *h, struct s_slot *s, const struct wc_event_list *events,
                    enum wc_history_lookup how, int lookup_rc)
{
    struct wc_notification n;
    struct wc_finding *f = NULL;
    char when[WC_TIME_ISO_MAX];
    int rc;

    memset(&n, 0, sizeof(n));
    n.kind = WC_NOTE_CHANGE;
    n.envelope = WC_ENV_RAW;
    n.n_items = 1;
    n.change = s->change; /* borrowed: wc_finding_decide copies it */
    if ((rc = wc_finding_decide(&h->policy, &n, events, &f)) != WC_OK)
        return rc;
    wc_time_format_iso8601(f->change.capture_time_ms, when);
    if (how == WC_HISTORY_TOO_OLD && f->verdict == WC_VERDICT_UNATTRIBUTED) {
        rc = wc_finding_set_reason(f, "captured %s, more than %d days ago: CloudTrail's LookupEvents "
                              "keeps %d days of events, so it was not looked up (the trail's "
                              "log files in S3 may still hold them)",
                              when, WC_HISTORY_CLOUDTRAIL_DAYS, WC_HISTORY_CLOUDTRAIL_DAYS);
    } else if (how == WC_HISTORY_FAILED) {
        rc = wc_finding_set_reason(f, "the CloudTrail lookup for the change captured %s failed (%s): "
                              "not attributed", when, wc_strerror(lookup_rc));
    }
    if (rc != WC_OK) {
        wc_finding_destroy(f);
        return rc;
    }
    s->entry->finding = f;
    s->entry->lookup = how;
    s->entry->lookup_rc = lookup_rc;
    wc_change_clean_up(&s->change);
    if (how == WC_HISTORY_TOO_OLD)
        h->stats.too_old++;
    else if (how == WC_HISTORY_FAILED)
        h->stats.failed++;
    return WC_OK;
}

/* One item of the range: its change, then decided now or handed to the
 * scheduler. */
static int s_add_item(struct wc_history *h, const cJSON *item, const cJSON *prev,
                      int64_t capture_ms, int64_t mono_ms)
{
    struct s_slot *s = NULL;
    cJSON *norm = NULL, *diff = NULL;
    const char *rtype = s_get_string(item, "resourceType");
    const char *rid = s_get_string(item, "resourceId");
    char when[WC_TIME_ISO_MAX], why[512] = "";
    uint64_t id = 0;
    bool compared = false;
    int rc = WC_ERR_NOMEM;

    if (!wc_streq(rtype, h->type) || !wc_streq(rid, h->id)) {
        s_fail(h, WC_ERR_SERVICE, "GetResourceConfigHistory answered with %.100s %.200s, not "
               "the resource asked for", s_or(rtype, "(no type)"), s_or(rid, "(no id)"));
        return WC_ERR_SERVICE;
    }
    /* the notification's shape: the capture time as ISO 8601 */
    wc_time_format_iso8601(capture_ms, when);
    if (!(norm = cJSON_Duplicate(item, true)) || !(diff = s_make_diff(item, prev, &compared)))
        goto out;
    cJSON_DeleteItemFromObjectCaseSensitive(norm, "configurationItemCaptureTime");
    if (!cJSON_AddStringToObject(norm, "configurationItemCaptureTime", when))
        goto out;
    if (!(s = calloc(1, sizeof(*s))) || !(s->entry = calloc(1, sizeof(*s->entry))))
        goto out;
    s->entry->compared = compared;
    if ((s_get_string(item, "configurationStateId") &&
         !(s->entry->state_id = wc_strdup(s_get_string(item, "configurationStateId")))) ||
        (s_get_string(item, "recordingFrequency") &&
         !(s->entry->recording_frequency = wc_strdup(s_get_string(item, "recordingFrequency")))))
        goto out;
    if ((rc = wc_change_from_item(norm, diff, h->o.now_ms, &s->change, why, sizeof(why))) !=
        WC_OK) {
        s_fail(h, rc, "the configuration item captured %s is not usable: %s", when, why);
        goto out;
    }
    s_periodic_hook(h, &s->change);
    s->entry->recent = h->o.now_ms - capture_ms < WC_HISTORY_RECENT_MS;
    if ((rc = s_slot_push(h, s, &id)) != WC_OK)
        goto out;
    h->stats.items++;
    if (wc_strlist_glob_any(&h->policy.ignore_resource_types, h->type)) {
        rc = s_decide(h, s, NULL, WC_HISTORY_NOT_NEEDED, WC_OK);
    } else if (capture_ms < h->o.now_ms - (int64_t)WC_HISTORY_CLOUDTRAIL_DAYS * 86400 * 1000) {
        rc = s_decide(h, s, NULL, WC_HISTORY_TOO_OLD, WC_OK);
    } else if ((rc = wc_sched_add(h->sched, id, &s->change, mono_ms)) == WC_OK) {
        h->waiting++;
    }
    s = NULL; /* the history's now */
    if (rc != WC_OK)
        s_fail(h, rc, "cannot attribute the change captured %s: %s", when, wc_strerror(rc));
out:
    if (rc == WC_ERR_NOMEM)
        s_fail(h, rc, "out of memory reading the history");
    s_slot_free(s);
    cJSON_Delete(norm);
    cJSON_Delete(diff);
    return rc;
}

/* The error of a Config call, said for a person. */
static void s_config_error(struct wc_history *h, int rc, const char *code, const char *desc)
{
    char where[96];

    if (h->account)
        snprintf(where, sizeof(where), "account %s, %s", h->account, h->region);
    else
        snprintf(where, sizeof(where), "your account, %s", h->region);
    if (code && strcmp(code, "ResourceNotDiscoveredException") == 0) {
        s_fail(h, WC_ERR_NOT_FOUND,
               "%s %s is not recorded by AWS Config in %s (ResourceNotDiscoveredException): "
               "check the id, the account and the region, and that the configuration recorder "
               "there records %s", h->type, h->id, where, h->type);
    } else if (code && (strcmp(code, "ValidationException") == 0 ||
                        strcmp(code, "InvalidTimeRangeException") == 0 ||
                        strcmp(code, "InvalidNextTokenException") == 0 ||
                        strcmp(code, "InvalidLimitException") == 0)) {
        s_fail(h, WC_ERR_INVALID, "AWS Config refused the request for %s %s in %s: %s", h->type,
               h->id, where, s_or(desc, code));
    } else if (code && strcmp(code, "NoAvailableConfigurationRecorderException") == 0) {
        s_fail(h, WC_ERR_NOT_FOUND, "AWS Config has no configuration recorder in %s: %s", where,
               s_or(desc, code));
    } else {
        s_fail(h, rc, "GetResourceConfigHistory for %s %s in %s: %s", h->type, h->id, where,
               s_or(desc, wc_strerror(rc)));
    }
}

void wc_history_config_done(struct wc_history *h, int rc, struct wc_str body,
                            const char *error_code, const char *description, int64_t mono_ms)
{
    cJSON *root = NULL, *prev = NULL;
    const cJSON *items, *item, *tok;
    char *text;

    h->config_out = false;
    if (rc != WC_OK) {
        s_config_error(h, rc, error_code, description);
        return;
    }
    if (body.len > S_BODY_MAX || !(root = cJSON_ParseWithLength(body.ptr, body.len)) ||
        !cJSON_IsObject(root)) {
        s_fail(h, WC_ERR_PARSE, "GetResourceConfigHistory answered with something else than "
               "a JSON object");
        goto out;
    }
    items = cJSON_GetObjectItemCaseSensitive(root, "configurationItems");
    tok = cJSON_GetObjectItemCaseSensitive(root, "nextToken");
    if ((items && !cJSON_IsNull(items) && !cJSON_IsArray(items)) ||
        (tok && !cJSON_IsNull(tok) && !cJSON_IsString(tok))) {
        s_fail(h, WC_ERR_PARSE, "GetResourceConfigHistory answered with configurationItems "
               "not an array or nextToken not a string");
        goto out;
    }
    if (h->phase == S_BASELINE) {
        /* newest first: the first item before the range */
        cJSON_ArrayForEach(item, items) {
            int64_t t;

            if (!cJSON_IsObject(item) || s_capture_ms(item, &t) != WC_OK || t >= h->o.since_ms)
                continue;
            if (!(text = cJSON_PrintUnformatted(item))) {
                s_fail(h, WC_ERR_NOMEM, "out of memory reading the history");
                goto out;
            }
            free(h->prev_item);
            h->prev_item = text;
            break;
        }
        h->phase = S_PAGES;
        goto out;
    }
    cJSON_ArrayForEach(item, items) {
        int64_t t;

        if (!cJSON_IsObject(item) || s_capture_ms(item, &t) != WC_OK) {
            s_fail(h, WC_ERR_PARSE, "GetResourceConfigHistory answered with a configuration "
                   "item without a valid configurationItemCaptureTime");
            goto out;
        }
        if (t < h->o.since_ms || t > h->o.until_ms)
            continue; /* the API's whole seconds, ours are ms */
        if (h->stats.items >= h->o.max_items) {
            h->stats.truncated = true;
            h->phase = S_DONE;
            goto out;
        }
        cJSON_Delete(prev);
        prev = h->prev_item ? cJSON_Parse(h->prev_item) : NULL;
        if (s_add_item(h, item, prev, t, mono_ms) != WC_OK)
            goto out;
        if (!(text = cJSON_PrintUnformatted(item))) {
            s_fail(h, WC_ERR_NOMEM, "out of memory reading the history");
            goto out;
        }
        free(h->prev_item);
        h->prev_item = text;
    }
    if (cJSON_IsString(tok) && tok->valuestring[0]) {
        if (h->token && strcmp(h->token, tok->valuestring) == 0) {
            s_fail(h, WC_ERR_SERVICE, "GetResourceConfigHistory gave the same nextToken twice");
            goto out;
        }
        free(h->token);
        if (!(h->token = wc_strdup(tok->valuestring)))
            s_fail(h, WC_ERR_NOMEM, "out of memory reading the history");
    } else {
        h->phase = S_DONE;
    }
out:
    cJSON_Delete(prev);
    cJSON_Delete(root);
}

void wc_history_lookup_done(struct wc_history *h, uint64_t call_id, int rc,
                            struct wc_event_list *page, int64_t mono_ms)
{
    struct wc_sched_result res;

    if (h->lookups_out)
        h->lookups_out--;
    h->stats.lookups++;
    if (rc == WC_ERR_THROTTLED)
        h->stats.throttled++;
    (void)wc_sched_done(h->sched, call_id, rc, page, mono_ms);
    while (wc_sched_take(h->sched, &res)) {
        struct s_slot *s = s_slot_of(h, res.id);
        int drc;

        if (h->waiting)
            h->waiting--;
        if (s && !s->entry->finding) {
            drc = res.rc == WC_OK ? s_decide(h, s, &res.events, WC_HISTORY_LOOKED_UP, WC_OK)
                                  : s_decide(h, s, NULL, WC_HISTORY_FAILED, res.rc);
            if (drc != WC_OK)
                s_fail(h, drc, "cannot decide a change: %s", wc_strerror(drc));
        }
        wc_event_list_clean_up(&res.events);
    }
}

bool wc_history_take(struct wc_history *h, struct wc_history_entry **out)
{
    struct s_slot *s;

    *out = NULL;
    if (h->head >= h->len || !(s = h->slots[h->head])->entry->finding)
        return false;
    *out = s->entry;
    s->entry = NULL;
    s_slot_free(s);
    h->slots[h->head++] = NULL;
    return true;
}

bool wc_history_finished(const struct wc_history *h)
{
    if (h->phase != S_DONE || h->config_out || h->lookups_out)
        return false;
    /* after an error, changes whose lookups cannot go on are not waited for */
    return h->head >= h->len || (h->err_rc && h->waiting == 0 &&
                                 !h->slots[h->head]->entry->finding);
}

const char *wc_history_error(const struct wc_history *h, int *rc_out)
{
    if (rc_out)
        *rc_out = h->err_rc;
    return h->err_rc ? s_or(h->err, wc_strerror(h->err_rc)) : NULL;
}

void wc_history_get_stats(const struct wc_history *h, struct wc_history_stats *out)
{
    *out = h->stats;
}

/* --- output -------------------------------------------------------------------- */

const char *wc_history_class_name(const struct wc_history_entry *e)
{
    switch (e->finding->verdict) {
    case WC_VERDICT_HUMAN:
        return "human";
    case WC_VERDICT_AUTOMATION:
        return "automation";
    case WC_VERDICT_AWS_SERVICE:
        return "service";
    case WC_VERDICT_IGNORED:
        return "ignored";
    case WC_VERDICT_UNATTRIBUTED:
        break;
    }
    return "unattributed";
}

/* The first match: the one the verdict names (for automation, the first
 * automation event). NULL when none. */
static const struct wc_match *s_match(const struct wc_finding *f)
{
    for (size_t i = 0; f->verdict == WC_VERDICT_AUTOMATION && i < f->n_matches; i++)
        if (f->matches[i].cls.cls == WC_CLASS_AUTOMATION)
            return &f->matches[i];
    return f->n_matches ? &f->matches[0] : NULL;
}

static const char *s_who(const struct wc_finding *f)
{
    const struct wc_match *m = s_match(f);

    if (!m)
        return NULL;
    /* a person is their session (SSO: the user), automation its role or
     * user, a service its name */
    if (m->cls.cls == WC_CLASS_HUMAN)
        return s_or(m->cls.actor.session_name,
                    s_or(m->cls.actor.name, s_or(m->cls.actor.arn, "unknown principal")));
    return s_or(m->cls.actor.name,
                s_or(m->cls.actor.session_name, s_or(m->cls.actor.arn, "unknown principal")));
}

/* A property's path as shown: "Configuration." left out. */
static const char *s_short_path(const char *path)
{
    static const char pre[] = "Configuration.";

    if (path && strncmp(path, pre, sizeof(pre) - 1) == 0 && path[sizeof(pre) - 1])
        return path + sizeof(pre) - 1;
    return s_or(path, "?");
}

/* Text from the data, on one line: control characters as '?'. */
static int s_append_clean(struct wc_buf *b, const char *s)
{
    int rc = WC_OK;

    for (; s && *s && rc == WC_OK; s++)
        rc = wc_buf_append_char(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
    return rc;
}

/* Recorded periodically (recordingFrequency set, not CONTINUOUS). */
static bool s_daily(const struct wc_history_entry *e)
{
    return !wc_str_empty(e->recording_frequency) &&
           strcasecmp(e->recording_frequency, "CONTINUOUS") != 0;
}

/* What changed, in words. */
static int s_what(const struct wc_history_entry *e, struct wc_buf *b)
{
    const struct wc_change *c = &e->finding->change;
    int rc;

    if (wc_streq(c->change_type, "CREATE"))
        return wc_buf_append_cstr(b, "created");
    if (wc_streq(c->change_type, "DELETE"))
        return wc_buf_append_cstr(b, "deleted");
    if (!e->compared)
        return wc_buf_append_cstr(b, "changed (no earlier item to compare with)");
    if (c->n_props == 0)
        return wc_buf_append_cstr(b, "no difference in the recorded configuration");
    rc = wc_buf_append_cstr(b, "changed ");
    for (size_t i = 0; rc == WC_OK && i < c->n_props && i < S_WHAT_MAX; i++) {
        if (i && (rc = wc_buf_append_cstr(b, ", ")) != WC_OK)
            break;
        rc = s_append_clean(b, s_short_path(c->props[i].path));
    }
    if (rc == WC_OK && c->n_props_total > S_WHAT_MAX)
        rc = wc_buf_appendf(b, " and %zu more", c->n_props_total - S_WHAT_MAX);
    return rc;
}

int wc_history_entry_text(const struct wc_history_entry *e, struct wc_buf *out)
{
    const struct wc_finding *f = e->finding;
    const struct wc_match *m = s_match(f);
    char when[WC_TIME_ISO_MAX];
    int rc;

    wc_time_format_iso8601(f->change.capture_time_ms, when);
    if ((rc = wc_buf_appendf(out, "%-24s  %-12s  ", when, wc_history_class_name(e))) != WC_OK ||
        (rc = s_append_clean(out, s_or(s_who(f), "-"))) != WC_OK ||
        (rc = wc_buf_append_cstr(out, "  ")) != WC_OK ||
        (rc = s_append_clean(out, m ? s_or(m->event.event_name, "-") : "-")) != WC_OK ||
        (rc = wc_buf_append_cstr(out, "  ")) != WC_OK || (rc = s_what(e, out)) != WC_OK)
        return rc;
    if (e->lookup == WC_HISTORY_TOO_OLD)
        rc = wc_buf_appendf(out, " [older than CloudTrail's %d days: not looked up]",
                            WC_HISTORY_CLOUDTRAIL_DAYS);
    else if (e->lookup == WC_HISTORY_FAILED)
        rc = wc_buf_appendf(out, " [CloudTrail lookup failed: %s]", wc_strerror(e->lookup_rc));
    if (rc == WC_OK && s_daily(e))
        rc = wc_buf_append_cstr(out, " [recorded daily: changed in the day before]");
    if (rc == WC_OK && e->recent && f->verdict == WC_VERDICT_UNATTRIBUTED &&
        e->lookup == WC_HISTORY_LOOKED_UP)
        rc = wc_buf_append_cstr(out, " [captured minutes ago: its event may still be on "
                                     "the way]");
    return rc;
}

static const char *s_lookup_name(enum wc_history_lookup l)
{
    switch (l) {
    case WC_HISTORY_LOOKED_UP:
        return "looked_up";
    case WC_HISTORY_TOO_OLD:
        return "too_old";
    case WC_HISTORY_NOT_NEEDED:
        return "not_needed";
    case WC_HISTORY_FAILED:
        return "failed";
    }
    return "unknown";
}

static bool s_add_str(cJSON *o, const char *key, const char *v)
{
    cJSON *x = v ? cJSON_CreateString(v) : cJSON_CreateNull();

    if (!x)
        return false;
    if (!cJSON_AddItemToObject(o, key, x)) {
        cJSON_Delete(x);
        return false;
    }
    return true;
}

int wc_history_entry_json(const struct wc_history_entry *e, struct wc_buf *out)
{
    const struct wc_finding *f = e->finding;
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_match(f);
    struct wc_buf fj = WC_BUF_INIT, what = WC_BUF_INIT;
    cJSON *root = cJSON_CreateObject(), *inner = NULL, *arr, *v;
    char when[WC_TIME_ISO_MAX];
    char *text = NULL;
    int rc;
    bool ok;

    wc_time_format_iso8601(c->capture_time_ms, when);
    if (!root || (rc = wc_finding_to_json(f, false, &fj)) != WC_OK ||
        (rc = s_what(e, &what)) != WC_OK) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    rc = WC_ERR_NOMEM;
    ok = s_add_str(root, "time", when) && s_add_str(root, "class", wc_history_class_name(e)) &&
         s_add_str(root, "who", s_who(f)) &&
         s_add_str(root, "event_name", m ? m->event.event_name : NULL) &&
         s_add_str(root, "what", what.ptr) &&
         (arr = cJSON_AddArrayToObject(root, "changed")) != NULL;
    for (size_t i = 0; ok && i < c->n_props; i++) {
        cJSON *p = cJSON_CreateString(s_short_path(c->props[i].path));
        ok = p && cJSON_AddItemToArray(arr, p);
    }
    /* then the explain object's members, moved over */
    if (!ok || !(inner = cJSON_ParseWithLength(fj.ptr, fj.len)))
        goto out;
    while (ok && (v = inner->child) != NULL) {
        cJSON_DetachItemViaPointer(inner, v);
        if (!(ok = v->string && cJSON_AddItemToObject(root, v->string, v)))
            cJSON_Delete(v);
    }
    ok = ok && s_add_str(root, "lookup", s_lookup_name(e->lookup)) &&
         s_add_str(root, "configuration_state_id", e->state_id) &&
         s_add_str(root, "recording_frequency", e->recording_frequency);
    if (ok && (text = cJSON_PrintUnformatted(root)) != NULL)
        rc = wc_buf_append_cstr(out, text);
out:
    cJSON_free(text);
    cJSON_Delete(inner);
    cJSON_Delete(root);
    wc_buf_clean_up(&fj);
    wc_buf_clean_up(&what);
    return rc;
}
