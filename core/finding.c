/* finding.c - correlation of a change with CloudTrail events, and the verdict. */
#include "core/finding.h"

#include <ctype.h>
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
    int64_t lo, hi;
    int rc = WC_OK;

    *out = NULL;
    *n_out = 0;
    if (!events || events->len == 0)
        return WC_OK;
    m = calloc(events->len, sizeof(*m));
    if (!m)
        return WC_ERR_NOMEM;
    wc_change_window(c, p->skew_s, &lo, &hi);
    for (size_t i = 0; i < events->len; i++) {
        const struct wc_event *e = &events->items[i];
        int64_t off = e->event_time_ms - c->capture_time_ms;

        if (e->read_only || e->error_code)
            continue;
        if (e->event_time_ms < lo || e->event_time_ms > hi)
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

/* --- the actor, as people know them ------------------------------------- */

static const char *s_or_name(const char *s)
{
    return wc_str_empty(s) ? "?" : s;
}

/* prefix then s into buf (len > 0), cut at a UTF-8 boundary to fit: the
 * names come from CloudTrail and may be long. Returns buf. */
static char *s_copy(char *buf, size_t len, const char *prefix, const char *s)
{
    size_t p = strlen(prefix), n;

    if (p >= len)
        p = 0;
    memcpy(buf, prefix, p);
    n = wc_str_utf8_prefix(s, strlen(s), len - 1 - p);
    memcpy(buf + p, s, n);
    buf[p + n] = '\0';
    return buf;
}

static bool s_all_digits(const char *s, size_t min)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!isdigit((unsigned char)s[n]))
            return false;
    return n >= min;
}

bool wc_session_name_is_sdk_default(const char *s)
{
    /* what the SDKs put before a timestamp when no session name is given */
    static const char *const prefixes[] = {
        "botocore-session-",       /* AWS CLI, boto3 */
        "aws-go-sdk-",             /* Go v2 */
        "aws-sdk-java-",           /* Java v1, v2 */
        "aws-sdk-js-session-",     /* JavaScript v3 */
        "aws-sdk-js-",             /* JavaScript v2 */
        "aws-dotnet-sdk-session-", /* .NET */
        "aws-sdk-php-",            /* PHP */
        "aws-sdk-rust-",           /* Rust */
        "aws-sdk-cpp-",            /* C++ */
        "aws-sdk-ruby-",           /* Ruby */
        "web-identity-",           /* Ruby (web identity) */
    };

    if (wc_str_empty(s))
        return false;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);

        if (strncmp(s, prefixes[i], n) == 0 && s_all_digits(s + n, 6))
            return true;
    }
    /* Go v1: the Unix time in nanoseconds, alone */
    return s_all_digits(s, 10);
}

bool wc_sso_permission_set(const char *role_name, char *buf, size_t len)
{
    static const char prefix[] = "AWSReservedSSO_";
    const char *p, *end, *us;
    size_t n;

    if (wc_str_empty(role_name) || len == 0)
        return false;
    p = strrchr(role_name, '/');
    p = p ? p + 1 : role_name;
    if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
        return false;
    p += sizeof(prefix) - 1;
    end = p + strlen(p);
    us = strrchr(p, '_');
    if (!us || us == p || end - us - 1 != 16)
        return false;
    for (const char *h = us + 1; h < end; h++)
        if (!isxdigit((unsigned char)*h))
            return false;
    n = wc_str_utf8_prefix(p, (size_t)(us - p), len - 1);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

/* The role's name as people know it: an SSO role as its permission set. */
static const char *s_role_display(const char *role, char *buf, size_t len)
{
    if (wc_sso_permission_set(role, buf, len))
        return buf;
    return s_copy(buf, len, "", role);
}

static bool s_type_is(const struct wc_actor *a, const char *t)
{
    return a->type && strcmp(a->type, t) == 0;
}

const char *wc_actor_display(const struct wc_actor *a, char *buf, size_t len)
{
    if (!a || len == 0)
        return "unknown principal";
    if (!wc_str_empty(a->session_name) && !wc_session_name_is_sdk_default(a->session_name))
        return s_copy(buf, len, "", a->session_name);
    if (!wc_str_empty(a->name)) {
        if (s_type_is(a, "AssumedRole"))
            return s_role_display(a->name, buf, len);
        return s_copy(buf, len, "", a->name);
    }
    if (!wc_str_empty(a->session_name))
        return s_copy(buf, len, "", a->session_name);
    if (!wc_str_empty(a->arn))
        return s_copy(buf, len, "", a->arn);
    return "unknown principal";
}

const char *wc_actor_kind(const struct wc_actor *a, char *buf, size_t len)
{
    char role[WC_ACTOR_NAME_MAX];
    bool shown_role;

    if (len == 0)
        return "";
    buf[0] = '\0';
    if (!a || !a->type)
        return buf;
    if (s_type_is(a, "IAMUser"))
        snprintf(buf, len, "IAM user");
    else if (s_type_is(a, "Root"))
        snprintf(buf, len, "root");
    else if (s_type_is(a, "FederatedUser"))
        snprintf(buf, len, "federated user");
    else if (s_type_is(a, "AWSService"))
        snprintf(buf, len, "AWS service");
    else if (s_type_is(a, "AWSAccount"))
        snprintf(buf, len, "AWS account");
    else if (s_type_is(a, "AssumedRole")) {
        /* the display already is the role when the session name said nothing */
        shown_role = wc_str_empty(a->session_name) ||
                     wc_session_name_is_sdk_default(a->session_name);
        if (shown_role && wc_sso_permission_set(a->name, role, sizeof(role)))
            snprintf(buf, len, "SSO");
        else if (wc_str_empty(a->name) || shown_role)
            snprintf(buf, len, "role");
        else if (wc_sso_permission_set(a->name, role, sizeof(role)))
            s_copy(buf, len, "SSO ", role);
        else
            s_copy(buf, len, "role ", a->name);
    } else {
        s_copy(buf, len, "", a->type);
    }
    return buf;
}

static bool s_same_writer(const struct wc_match *a, const struct wc_match *b)
{
    return wc_strcmp0(a->cls.actor.arn, b->cls.actor.arn) == 0 &&
           wc_strcmp0(a->cls.actor.session_name, b->cls.actor.session_name) == 0 &&
           wc_strcmp0(a->cls.actor.name, b->cls.actor.name) == 0;
}

size_t wc_finding_writers(const struct wc_finding *f, const struct wc_match **out,
                          size_t *counts, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; f && i < f->n_matches; i++) {
        const struct wc_match *m = &f->matches[i];
        bool seen = false;

        for (size_t j = 0; j < i && !seen; j++) {
            if (!s_same_writer(&f->matches[j], m))
                continue;
            seen = true;
            /* counted on the first of its matches, if that one is listed */
            for (size_t k = 0; counts && k < n && k < max; k++)
                if (out[k] == &f->matches[j])
                    counts[k]++;
        }
        if (seen)
            continue;
        if (n < max) {
            out[n] = m;
            if (counts)
                counts[n] = 1;
        }
        n++;
    }
    return n;
}

/* Append s cut to max bytes at a UTF-8 boundary, "…" when cut. */
static int s_append_cut(struct wc_buf *b, const char *s, size_t max)
{
    static const char ell[] = "\xe2\x80\xa6";
    size_t len = strlen(s), cut;
    int rc;

    if (len <= max)
        return wc_buf_append(b, s, len);
    cut = wc_str_utf8_prefix(s, len, max > sizeof(ell) - 1 ? max - (sizeof(ell) - 1) : 0);
    if ((rc = wc_buf_append(b, s, cut)) != WC_OK)
        return rc;
    return wc_buf_append_cstr(b, ell);
}

int wc_finding_headline(const struct wc_finding *f, size_t max, struct wc_buf *out)
{
    const struct wc_change *c = &f->change;
    const struct wc_match *m = f->n_matches > 0 ? &f->matches[0] : NULL;
    char buf[WC_ACTOR_NAME_MAX], kind[WC_ACTOR_NAME_MAX + 8];
    const char *who = NULL;
    const char *name = c->resource_name, *id = c->resource_id;
    struct wc_buf b = WC_BUF_INIT;
    /* each part's share when all do not fit: the resource id wins */
    size_t who_max = 48, kind_max = 40, event_max = 48, name_max = 40;
    int rc;

    if (!f->is_change)
        return wc_buf_append_cstr(out, "Not a configuration change");
    if (wc_streq(name, id))
        name = NULL;
    for (int pass = 0; pass < 2; pass++) {
        bool cut = pass == 1;

        wc_buf_reset(&b);
        if (m) {
            who = wc_actor_display(&m->cls.actor, buf, sizeof(buf));
            wc_actor_kind(&m->cls.actor, kind, sizeof(kind));
            rc = s_append_cut(&b, who, cut ? who_max : sizeof(buf));
            if (rc == WC_OK && kind[0] && (rc = wc_buf_append_cstr(&b, " (")) == WC_OK &&
                (rc = s_append_cut(&b, kind, cut ? kind_max : sizeof(kind))) == WC_OK)
                rc = wc_buf_append_char(&b, ')');
            if (rc == WC_OK && (rc = wc_buf_append_char(&b, ' ')) == WC_OK)
                rc = s_append_cut(&b, s_or_name(m->event.event_name), cut ? event_max : 256);
            if (rc == WC_OK)
                rc = wc_buf_append_cstr(&b, " on ");
        } else {
            rc = wc_buf_appendf(&b, "%s to ",
                                f->verdict == WC_VERDICT_UNATTRIBUTED ? "Unattributed change"
                                : f->verdict == WC_VERDICT_IGNORED    ? "Ignored change"
                                                                      : "Change");
            if (rc == WC_OK && !wc_str_empty(c->resource_type) &&
                (rc = s_append_cut(&b, c->resource_type, cut ? 48 : 256)) == WC_OK)
                rc = wc_buf_append_char(&b, ' ');
        }
        if (rc == WC_OK)
            rc = s_append_cut(&b, s_or_name(id), 2048);
        if (rc == WC_OK && !wc_str_empty(name) && (rc = wc_buf_append_cstr(&b, " (")) == WC_OK &&
            (rc = s_append_cut(&b, name, cut ? name_max : 2048)) == WC_OK)
            rc = wc_buf_append_char(&b, ')');
        if (rc != WC_OK || b.len <= max)
            break;
    }
    if (rc == WC_OK)
        rc = s_append_cut(out, b.ptr ? b.ptr : "", max);
    wc_buf_clean_up(&b);
    return rc;
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


/* A reason is one line of at most S_REASON_MAX bytes: a longer one (a
 * resource name of many KiB) is cut at a UTF-8 boundary and ends in "...".
 * Failing instead would leave the message undecidable forever. */
#define S_REASON_MAX 4096

int wc_finding_set_reason(struct wc_finding *f, const char *fmt, ...)
{
    static const char more[] = "...";
    struct wc_buf b = WC_BUF_INIT;
    va_list ap;
    int rc;

    wc_buf_init(&b, 0);
    va_start(ap, fmt);
    rc = wc_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (rc != WC_OK) {
        wc_buf_clean_up(&b);
        return rc;
    }
    if (b.len > S_REASON_MAX) {
        b.len = wc_str_utf8_prefix(b.ptr, b.len, S_REASON_MAX - (sizeof(more) - 1));
        memcpy(b.ptr + b.len, more, sizeof(more)); /* with the NUL: b.len + 4 <= old len */
        b.len += sizeof(more) - 1;
    }
    free(f->reason);
    f->reason = wc_buf_steal(&b);
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

/* The rule of a human match when it is not the plain "human" one (the user
 * agent or session name looked like automation), else NULL. */
static const char *s_human_rule(const struct wc_match *m)
{
    if (!m->cls.rule || strcmp(m->cls.rule, "human") == 0)
        return NULL;
    return m->cls.rule;
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

/* Who manages the resource: aws:cloudformation:stack-name, else the first
 * tag (in the item's order) whose key an ownership_tags glob matches. */
static void s_owner(const struct wc_policy *p, struct wc_finding *f)
{
    const struct wc_change *c = &f->change;
    static const char cfn[] = "aws:cloudformation:stack-name";

    for (size_t i = 0; i < c->tag_keys.len && i < c->tag_values.len; i++) {
        if (strcmp(c->tag_keys.items[i], cfn) == 0 && c->tag_values.items[i][0]) {
            f->owner_tag = c->tag_keys.items[i];
            f->owner_value = c->tag_values.items[i];
            return;
        }
    }
    for (size_t i = 0; i < c->tag_keys.len && i < c->tag_values.len; i++) {
        if (c->tag_values.items[i][0] &&
            wc_strlist_glob_any(&p->ownership_tags, c->tag_keys.items[i])) {
            f->owner_tag = c->tag_keys.items[i];
            f->owner_value = c->tag_values.items[i];
            return;
        }
    }
}

/* For periodic recording: "; Config records this resource daily: the change
 * happened between <start> and <capture>" (into b, empty otherwise). */
static int s_period_note(const struct wc_finding *f, struct wc_buf *b)
{
    const struct wc_change *c = &f->change;
    char from[WC_TIME_ISO_MAX], to[WC_TIME_ISO_MAX];

    if (c->lookback_s <= 0)
        return WC_OK;
    wc_time_format_iso8601(c->capture_time_ms - (int64_t)c->lookback_s * 1000, from);
    wc_time_format_iso8601(c->capture_time_ms, to);
    return wc_buf_appendf(b, "; periodic recording (%s): the change happened between %s and %s, "
                          "not at the capture", s_or(c->recording_frequency, "periodic"), from,
                          to);
}

/* " (and 2 other human writers: bob, carol)" or " (and other human events)". */
static int s_more_writers(const struct wc_finding *f, struct wc_buf *b)
{
    const struct wc_match *w[4];
    char name[WC_ACTOR_NAME_MAX];
    size_t n = wc_finding_writers(f, w, NULL, 4);
    int rc = WC_OK;

    if (n <= 1)
        return f->n_matches > 1 ? wc_buf_append_cstr(b, " (and other human events)") : WC_OK;
    rc = wc_buf_appendf(b, " (and %zu other human writer%s: ", n - 1, n == 2 ? "" : "s");
    for (size_t i = 1; rc == WC_OK && i < n && i < 4; i++) {
        if (i > 1)
            rc = wc_buf_append_cstr(b, ", ");
        if (rc == WC_OK)
            rc = wc_buf_append_cstr(b, wc_actor_display(&w[i]->cls.actor, name, sizeof(name)));
    }
    if (rc == WC_OK && n > 4)
        rc = wc_buf_appendf(b, " and %zu more", n - 4);
    if (rc == WC_OK)
        rc = wc_buf_append_char(b, ')');
    return rc;
}

static int s_decide_change(const struct wc_policy *p, struct wc_finding *f,
                           const struct wc_event_list *events)
{
    const struct wc_change *c = &f->change;
    char when[WC_TIME_ISO_MAX], name[WC_ACTOR_NAME_MAX];
    bool any[4] = {false, false, false, false};
    const struct wc_match *first;
    struct wc_buf note = WC_BUF_INIT, more = WC_BUF_INIT;
    int rc;

    wc_change_window(c, p->skew_s, &f->window_start_ms, &f->window_end_ms);
    s_owner(p, f);
    if (c->resource_type && wc_strlist_glob_any(&p->ignore_resource_types, c->resource_type)) {
        f->verdict = WC_VERDICT_IGNORED;
        return wc_finding_set_reason(f, "resource type %s is in ignore.resource_types", c->resource_type);
    }
    if ((rc = wc_correlate(p, c, events, &f->matches, &f->n_matches)) != WC_OK)
        return rc;
    if ((rc = s_period_note(f, &note)) != WC_OK)
        goto out;
    wc_time_format_iso8601(c->capture_time_ms, when);
    if (f->n_matches == 0) {
        f->verdict = WC_VERDICT_UNATTRIBUTED;
        if (c->lookback_s > 0)
            rc = wc_finding_set_reason(f, "no CloudTrail write event on %s %s in the %d h before %s or "
                              "within %ds after it%s",
                              s_or(c->resource_type, "resource"), s_resource_label(c),
                              c->lookback_s / 3600, when, p->skew_s, note.ptr ? note.ptr : "");
        else
            rc = wc_finding_set_reason(f, "no CloudTrail write event on %s %s within %ds of %s",
                              s_or(c->resource_type, "resource"), s_resource_label(c),
                              p->skew_s, when);
        goto out;
    }
    for (size_t i = 0; i < f->n_matches; i++)
        any[f->matches[i].cls.cls] = true;
    if (any[WC_CLASS_HUMAN]) {
        s_keep_class(f, WC_CLASS_HUMAN);
        first = &f->matches[0];
        f->verdict = WC_VERDICT_HUMAN;
        if ((rc = s_more_writers(f, &more)) != WC_OK)
            goto out;
        /* a human whose user agent or session name looked like automation
         * says so: the rule is the only trace of it */
        rc = wc_finding_set_reason(f, "%s (%s) called %s on %s %s via %s%s%s%s%s",
                          wc_actor_display(&first->cls.actor, name, sizeof(name)),
                          s_or(first->cls.actor.type, "unknown type"),
                          s_or(first->event.event_name, "?"), s_or(c->resource_type, "resource"),
                          s_resource_label(c), first->cls.console ? "the console" : "CLI/SDK",
                          more.ptr ? more.ptr : "", s_human_rule(first) ? "; " : "",
                          s_or(s_human_rule(first), ""), note.ptr ? note.ptr : "");
        goto out;
    }
    first = &f->matches[0];
    if (any[WC_CLASS_AUTOMATION]) {
        f->verdict = WC_VERDICT_AUTOMATION;
        for (size_t i = 0; i < f->n_matches; i++)
            if (f->matches[i].cls.cls == WC_CLASS_AUTOMATION) {
                first = &f->matches[i];
                break;
            }
        rc = wc_finding_set_reason(f, "%s by trusted automation %s (%s)%s",
                          s_or(first->event.event_name, "?"),
                          s_or(first->cls.actor.arn, s_actor_label(&first->cls.actor)),
                          first->cls.rule ? first->cls.rule : "trusted", note.ptr ? note.ptr : "");
        goto out;
    }
    f->verdict = WC_VERDICT_AWS_SERVICE;
    rc = wc_finding_set_reason(f, "%s by AWS service %s (%s)%s", s_or(first->event.event_name, "?"),
                      s_actor_label(&first->cls.actor),
                      first->cls.rule ? first->cls.rule : "service", note.ptr ? note.ptr : "");
out:
    wc_buf_clean_up(&note);
    wc_buf_clean_up(&more);
    return rc;
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
        rc = wc_finding_set_reason(f, "not a configuration change: %s",
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

#define S_HEADLINE_MAX 300

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

/* A summary ("line\nline") as an array of lines, or null. */
static bool s_add_lines(cJSON *obj, const char *key, const char *text)
{
    cJSON *arr;

    if (!text)
        return cJSON_AddNullToObject(obj, key) != NULL;
    if (!(arr = cJSON_AddArrayToObject(obj, key)))
        return false;
    for (const char *p = text;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = wc_strndup(p, n);
        cJSON *v = line ? cJSON_CreateString(line) : NULL;

        free(line);
        if (!v || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(v);
            return false;
        }
        if (!nl)
            return true;
        p = nl + 1;
    }
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
         s_add_str(o, "change_type", c->change_type) &&
         s_add_str(o, "recording_frequency", c->recording_frequency);
    props = ok ? cJSON_AddArrayToObject(o, "changed_properties") : NULL;
    ok = ok && props;
    for (size_t i = 0; ok && i < c->n_props; i++) {
        cJSON *p = cJSON_CreateObject();
        ok = p && cJSON_AddItemToArray(props, p) && s_add_str(p, "path", c->props[i].path) &&
             s_add_str(p, "change", c->props[i].change) &&
             s_add_str(p, "before", c->props[i].before) &&
             s_add_str(p, "after", c->props[i].after) &&
             s_add_lines(p, "before_summary", c->props[i].before_summary) &&
             s_add_lines(p, "after_summary", c->props[i].after_summary);
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
    const int mfa = m->event.identity.mfa;
    char name[WC_ACTOR_NAME_MAX];
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
         s_add_str(a, "display_name", wc_actor_display(ac, name, sizeof(name))) &&
         (mfa == WC_MFA_UNKNOWN ? cJSON_AddNullToObject(a, "mfa_authenticated") != NULL
                                : cJSON_AddBoolToObject(a, "mfa_authenticated",
                                                        mfa == WC_MFA_YES) != NULL) &&
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
        struct wc_buf h = WC_BUF_INIT;

        ok = wc_finding_headline(f, S_HEADLINE_MAX, &h) == WC_OK &&
             s_add_str(root, "headline", h.ptr ? h.ptr : "");
        wc_buf_clean_up(&h);
    }
    if (ok && f->owner_tag) {
        cJSON *own = cJSON_AddObjectToObject(root, "managed_by");

        ok = own && s_add_str(own, "tag", f->owner_tag) && s_add_str(own, "value", f->owner_value);
    } else if (ok) {
        ok = cJSON_AddNullToObject(root, "managed_by") != NULL;
    }
    if (ok) {
        ch = f->is_change ? s_change_json(&f->change) : cJSON_CreateNull();
        ok = ch && cJSON_AddItemToObject(root, "change", ch);
    }
    if (ok && f->is_change) {
        cJSON *w = cJSON_AddObjectToObject(root, "window");

        ok = w && s_add_time(w, "start", f->window_start_ms) &&
             s_add_time(w, "end", f->window_end_ms) &&
             cJSON_AddBoolToObject(w, "periodic", f->change.lookback_s > 0);
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
