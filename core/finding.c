/* finding.c - correlation of a change with CloudTrail events, and the verdict. */
#include "core/finding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/err.h"

static const char *const s_verdict_names[] = {
    [WC_VERDICT_IGNORED] = "ignored",           [WC_VERDICT_HUMAN] = "human",
    [WC_VERDICT_AUTOMATION] = "automation",     [WC_VERDICT_AWS_SERVICE] = "aws_service",
    [WC_VERDICT_UNATTRIBUTED] = "unattributed",
};

const char *wc_verdict_name(enum wc_verdict v)
{
    if (v < WC_VERDICT_IGNORED || v > WC_VERDICT_UNATTRIBUTED)
        return "unknown";
    return s_verdict_names[v];
}

int wc_verdict_parse(const char *name, enum wc_verdict *out)
{
    for (int v = WC_VERDICT_IGNORED; v <= WC_VERDICT_UNATTRIBUTED; v++) {
        if (wc_streq(name, s_verdict_names[v])) {
            *out = (enum wc_verdict)v;
            return WC_OK;
        }
    }
    return WC_ERR_INVALID;
}

/* --- correlation -------------------------------------------------------- */

/* The resource part of an ARN ends in "/<id>" or ":<id>". */
static bool s_arn_names_id(const char *arn, const char *id)
{
    size_t alen, ilen;

    if (wc_str_empty(arn) || wc_str_empty(id))
        return false;
    alen = strlen(arn);
    ilen = strlen(id);
    if (alen <= ilen || strcmp(arn + alen - ilen, id) != 0)
        return false;
    return arn[alen - ilen - 1] == '/' || arn[alen - ilen - 1] == ':';
}

static bool s_eq_nonempty(const char *a, const char *b)
{
    return !wc_str_empty(a) && wc_streq(a, b);
}

static bool s_resource_names_change(const struct wc_event_resource *r, const struct wc_change *c)
{
    if (s_eq_nonempty(r->name, c->resource_id) || s_eq_nonempty(r->name, c->resource_name) ||
        s_eq_nonempty(r->name, c->arn))
        return true;
    if (s_eq_nonempty(r->arn, c->arn) || s_eq_nonempty(r->arn, c->resource_id))
        return true;
    /* an ARN given where the change has only an id */
    if (s_arn_names_id(r->arn, c->resource_id) || s_arn_names_id(r->name, c->resource_id))
        return !r->type || !c->resource_type || strcmp(r->type, c->resource_type) == 0;
    return false;
}

static bool s_event_names_change(const struct wc_event *e, const struct wc_change *c)
{
    for (size_t i = 0; i < e->n_resources; i++)
        if (s_resource_names_change(&e->resources[i], c))
            return true;
    if (e->event_id && wc_strlist_contains(&c->related_event_ids, e->event_id))
        return true;
    /* log-file records often carry no resources: the request names the
     * resource (groupId, bucketName, roleName, ...). */
    for (size_t i = 0; i < e->param_strings.len; i++) {
        const char *v = e->param_strings.items[i];
        if (s_eq_nonempty(v, c->resource_id) || s_eq_nonempty(v, c->arn) ||
            (c->resource_name && strlen(c->resource_name) >= 3 && wc_streq(v, c->resource_name)))
            return true;
    }
    return false;
}

static int64_t s_abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static int s_match_cmp(const void *pa, const void *pb)
{
    const struct wc_match *a = pa, *b = pb;
    int64_t da = s_abs64(a->offset_ms), db = s_abs64(b->offset_ms);

    if (da != db)
        return da < db ? -1 : 1;
    if (a->event.event_time_ms != b->event.event_time_ms)
        return a->event.event_time_ms < b->event.event_time_ms ? -1 : 1;
    return wc_strcmp0(a->event.event_id, b->event.event_id);
}

void wc_matches_free(struct wc_match *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        wc_event_clean_up(&m[i].event);
    free(m);
}

static bool s_seen(const struct wc_match *m, size_t n, const char *event_id)
{
    for (size_t i = 0; event_id && i < n; i++)
        if (wc_streq(m[i].event.event_id, event_id))
            return true;
    return false;
}

int wc_correlate(const struct wc_policy *p, const struct wc_change *c,
                 const struct wc_event_list *events, struct wc_match **out, size_t *n_out)
{
    struct wc_match *m = NULL;
    size_t n = 0;
    int64_t skew_ms = (int64_t)p->skew_s * 1000;
    int rc = WC_OK;

    *out = NULL;
    *n_out = 0;
    if (!events || events->len == 0)
        return WC_OK;
    m = calloc(events->len, sizeof(*m));
    if (!m)
        return WC_ERR_NOMEM;
    for (size_t i = 0; i < events->len; i++) {
        const struct wc_event *e = &events->items[i];
        int64_t off = e->event_time_ms - c->capture_time_ms;

        if (e->read_only || e->error_code)
            continue;
        if (s_abs64(off) > skew_ms)
            continue;
        if (e->event_name && wc_strlist_glob_any(&p->ignore_event_names, e->event_name))
            continue;
        if (!s_event_names_change(e, c) || s_seen(m, n, e->event_id))
            continue;
        if ((rc = wc_event_copy(&m[n].event, e)) != WC_OK)
            goto out;
        m[n].offset_ms = off;
        n++;
    }
    qsort(m, n, sizeof(*m), s_match_cmp);
    /* classify after sorting: the actor views point into m[i].event */
    for (size_t i = 0; i < n; i++)
        wc_classify(p, &m[i].event, &m[i].cls);
out:
    if (rc != WC_OK || n == 0) {
        wc_matches_free(m, n);
        return rc;
    }
    *out = m;
    *n_out = n;
    return WC_OK;
}

/* --- verdict ------------------------------------------------------------ */

void wc_finding_destroy(struct wc_finding *f)
{
    if (!f)
        return;
    free(f->reason);
    wc_change_clean_up(&f->change);
    wc_matches_free(f->matches, f->n_matches);
    free(f);
}

/* The reason, at most S_REASON_MAX - 1 bytes. */
#define S_REASON_MAX 4096

static int s_set_reason(struct wc_finding *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int s_set_reason(struct wc_finding *f, const char *fmt, ...)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    char buf[S_REASON_MAX];
    size_t len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return WC_ERR_INVALID;
    len = (size_t)n;
    if (len >= sizeof(buf)) {
        /* long names (hostile or not) shorten the reason, never fail the
         * decision: cut on a UTF-8 boundary and mark the cut */
        len = sizeof(buf) - sizeof(ellipsis);
        while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
            len--;
        memcpy(buf + len, ellipsis, sizeof(ellipsis));
        len += sizeof(ellipsis) - 1;
    }
    free(f->reason);
    f->reason = wc_strndup(buf, len);
    return f->reason ? WC_OK : WC_ERR_NOMEM;
}

static const char *s_or(const char *a, const char *b)
{
    return wc_str_empty(a) ? b : a;
}

static const char *s_actor_label(const struct wc_actor *a)
{
    return s_or(a->session_name, s_or(a->name, s_or(a->arn, "unknown principal")));
}

static const char *s_resource_label(const struct wc_change *c)
{
    return s_or(c->resource_name, s_or(c->resource_id, "?"));
}

/* Keep only the matches of class cls (they stay ordered). */
static void s_keep_class(struct wc_finding *f, enum wc_actor_class cls)
{
    size_t k = 0;

    for (size_t i = 0; i < f->n_matches; i++) {
        if (f->matches[i].cls.cls == cls) {
            /* the actor views point into the event's heap strings, which
             * do not move with the struct */
            if (k != i)
                f->matches[k] = f->matches[i];
            k++;
        } else {
            wc_event_clean_up(&f->matches[i].event);
        }
    }
    f->n_matches = k;
}

static int s_decide_change(const struct wc_policy *p, struct wc_finding *f,
                           const struct wc_event_list *events)
{
    const struct wc_change *c = &f->change;
    char when[WC_TIME_ISO_MAX];
    bool any[4] = {false, false, false, false};
    const struct wc_match *first;
    int rc;

    if (c->resource_type && wc_strlist_glob_any(&p->ignore_resource_types, c->resource_type)) {
        f->verdict = WC_VERDICT_IGNORED;
        return s_set_reason(f, "resource type %s is in ignore.resource_types", c->resource_type);
    }
    if ((rc = wc_correlate(p, c, events, &f->matches, &f->n_matches)) != WC_OK)
        return rc;
    wc_time_format_iso8601(c->capture_time_ms, when);
    if (f->n_matches == 0) {
        f->verdict = WC_VERDICT_UNATTRIBUTED;
        return s_set_reason(f, "no CloudTrail write event on %s %s within %ds of %s",
                            s_or(c->resource_type, "resource"), s_resource_label(c), p->skew_s,
                            when);
    }
    for (size_t i = 0; i < f->n_matches; i++)
        any[f->matches[i].cls.cls] = true;
    if (any[WC_CLASS_HUMAN]) {
        size_t n_human;

        s_keep_class(f, WC_CLASS_HUMAN);
        n_human = f->n_matches;
        first = &f->matches[0];
        f->verdict = WC_VERDICT_HUMAN;
        return s_set_reason(f, "%s (%s) called %s on %s %s via %s%s",
                            s_actor_label(&first->cls.actor),
                            s_or(first->cls.actor.type, "unknown type"),
                            s_or(first->event.event_name, "?"), s_or(c->resource_type, "resource"),
                            s_resource_label(c), first->cls.console ? "the console" : "CLI/SDK",
                            n_human > 1 ? " (and other human events)" : "");
    }
    first = &f->matches[0];
    if (any[WC_CLASS_AUTOMATION]) {
        f->verdict = WC_VERDICT_AUTOMATION;
        for (size_t i = 0; i < f->n_matches; i++)
            if (f->matches[i].cls.cls == WC_CLASS_AUTOMATION) {
                first = &f->matches[i];
                break;
            }
        return s_set_reason(f, "%s by trusted automation %s (%s)",
                            s_or(first->event.event_name, "?"),
                            s_or(first->cls.actor.arn, s_actor_label(&first->cls.actor)),
                            first->cls.rule ? first->cls.rule : "trusted");
    }
    f->verdict = WC_VERDICT_AWS_SERVICE;
    return s_set_reason(f, "%s by AWS service %s (%s)", s_or(first->event.event_name, "?"),
                        s_actor_label(&first->cls.actor),
                        first->cls.rule ? first->cls.rule : "service");
}

int wc_finding_decide(const struct wc_policy *p, const struct wc_notification *n,
                      const struct wc_event_list *events, struct wc_finding **out)
{
    struct wc_finding *f;
    int rc;

    *out = NULL;
    if (!p || !n)
        return WC_ERR_INVALID;
    f = calloc(1, sizeof(*f));
    if (!f)
        return WC_ERR_NOMEM;
    if (n->kind == WC_NOTE_OTHER) {
        f->verdict = WC_VERDICT_IGNORED;
        rc = s_set_reason(f, "not a configuration change: %s",
                          s_or(n->message_type, "unknown message type"));
        goto out;
    }
    f->is_change = true;
    if ((rc = wc_change_copy(&f->change, &n->change)) != WC_OK)
        goto out;
    rc = s_decide_change(p, f, events);
out:
    if (rc != WC_OK) {
        wc_finding_destroy(f);
        return rc;
    }
    *out = f;
    return WC_OK;
}

/* --- JSON --------------------------------------------------------------- */

static bool s_add_str(cJSON *obj, const char *key, const char *val)
{
    cJSON *v = val ? cJSON_CreateString(val) : cJSON_CreateNull();

    return v && cJSON_AddItemToObject(obj, key, v);
}

static bool s_add_time(cJSON *obj, const char *key, int64_t ms)
{
    char t[WC_TIME_ISO_MAX];

    wc_time_format_iso8601(ms, t);
    return s_add_str(obj, key, t);
}

static cJSON *s_change_json(const struct wc_change *c)
{
    cJSON *o = cJSON_CreateObject(), *props;
    bool ok = o != NULL;

    ok = ok && s_add_str(o, "account_id", c->account_id) && s_add_str(o, "region", c->region) &&
         s_add_str(o, "lookup_region", c->lookup_region) &&
         s_add_str(o, "resource_type", c->resource_type) &&
         s_add_str(o, "resource_id", c->resource_id) &&
         s_add_str(o, "resource_name", c->resource_name) && s_add_str(o, "arn", c->arn) &&
         s_add_time(o, "capture_time", c->capture_time_ms) && s_add_str(o, "status", c->status) &&
         s_add_str(o, "change_type", c->change_type);
    props = ok ? cJSON_AddArrayToObject(o, "changed_properties") : NULL;
    ok = ok && props;
    for (size_t i = 0; ok && i < c->n_props; i++) {
        cJSON *p = cJSON_CreateObject();
        ok = p && cJSON_AddItemToArray(props, p) && s_add_str(p, "path", c->props[i].path) &&
             s_add_str(p, "change", c->props[i].change) &&
             s_add_str(p, "before", c->props[i].before) &&
             s_add_str(p, "after", c->props[i].after);
    }
    if (ok && c->n_props_total > c->n_props)
        ok = cJSON_AddNumberToObject(o, "changed_properties_total", (double)c->n_props_total);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *s_match_json(const struct wc_match *m)
{
    cJSON *o = cJSON_CreateObject(), *a;
    const struct wc_actor *ac = &m->cls.actor;
    bool ok = o != NULL;

    ok = ok && s_add_str(o, "event_id", m->event.event_id) &&
         s_add_str(o, "event_name", m->event.event_name) &&
         s_add_str(o, "event_source", m->event.event_source) &&
         s_add_time(o, "event_time", m->event.event_time_ms) &&
         s_add_str(o, "class", wc_actor_class_name(m->cls.cls));
    a = ok ? cJSON_AddObjectToObject(o, "actor") : NULL;
    ok = ok && a && s_add_str(a, "type", ac->type) && s_add_str(a, "arn", ac->arn) &&
         s_add_str(a, "name", ac->name) && s_add_str(a, "session_name", ac->session_name) &&
         s_add_str(a, "account_id", ac->account_id) &&
         cJSON_AddBoolToObject(o, "console", m->cls.console) &&
         s_add_str(o, "source_ip", m->event.source_ip) &&
         s_add_str(o, "user_agent", m->event.user_agent) &&
         cJSON_AddNumberToObject(o, "offset_s", (double)m->offset_ms / 1000.0);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int wc_finding_to_json(const struct wc_finding *f, bool pretty, struct wc_buf *out)
{
    cJSON *root = cJSON_CreateObject(), *evs, *ch;
    char *text = NULL;
    bool ok = root != NULL;
    int rc = WC_ERR_NOMEM;

    ok = ok && s_add_str(root, "verdict", wc_verdict_name(f->verdict)) &&
         s_add_str(root, "reason", f->reason);
    if (ok) {
        ch = f->is_change ? s_change_json(&f->change) : cJSON_CreateNull();
        ok = ch && cJSON_AddItemToObject(root, "change", ch);
    }
    evs = ok ? cJSON_AddArrayToObject(root, "events") : NULL;
    ok = ok && evs;
    for (size_t i = 0; ok && i < f->n_matches; i++) {
        cJSON *m = s_match_json(&f->matches[i]);
        ok = m && cJSON_AddItemToArray(evs, m);
    }
    if (ok)
        text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
    if (text)
        rc = wc_buf_append_cstr(out, text);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}
