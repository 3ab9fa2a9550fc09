/* slack.c - the Slack notifier: a Block Kit message through an incoming
 * webhook or chat.postMessage. See notifiers.h for the contract.
 *
 * Message layout (one message per notice; a coalesced notice lists every
 * changed resource):
 *   header   "Manual change in <alias> (<account>)" (verdict-specific)
 *   section  fields Who / Where / How / When, from the first finding's first
 *            matching event (the CloudTrail event all findings share)
 *   per finding (at most S_MAX_FINDINGS):
 *     section  What: event name, resource type + id (+ name), other
 *              matching events (at most S_MAX_OTHER_EVENTS), the Config
 *              diff (at most S_MAX_DIFF_LINES lines, values shortened)
 *     context  links to the CloudTrail event and the Config timeline, and
 *              the verdict's reason
 *   context  "... and N more resources" when some were left out
 * Limits kept: <= 50 blocks, header <= 150 chars, section text <= 3000,
 * field <= 2000 (we count bytes, which is stricter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "notifiers/mrkdwn.h"
#include "notifiers/notifiers.h"
#include "notifiers/notifiers_internal.h"

#define S_MAX_FINDINGS 20
#define S_MAX_DIFF_LINES 10
#define S_MAX_OTHER_EVENTS 3 /* further matching events listed per finding */
#define S_SECTION_MAX 2900 /* Slack: 3000 characters */
#define S_FIELD_MAX 1900   /* Slack: 2000 characters */
#define S_HEADER_MAX 150
#define S_VALUE_MAX 80     /* one before/after value */
#define S_NAME_MAX 200     /* names, ids, ARNs */
#define S_UA_MAX 160
#define S_REASON_MAX 400
#define S_TEXT_MAX 2000    /* the plain-text fallback */
#define S_RESPONSE_MAX ((size_t)64 * 1024)

struct s_kv {
    char *key;
    char *value;
};

struct s_slack {
    struct wc_notif_delivery d;
    char *webhook_url;   /* secret */
    char *auth_header;   /* secret: "Bearer xoxb-..." */
    char *api_url;       /* {api_base}/chat.postMessage */
    char *channel;
    struct s_kv *channels;
    size_t n_channels;
    struct s_kv *aliases;
    size_t n_aliases;
};

/* --- helpers ------------------------------------------------------------- */

static const char *s_or(const char *a, const char *b)
{
    return wc_str_empty(a) ? b : a;
}

static const char *s_lookup(const struct s_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; key && i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

static void s_kv_free(struct s_kv *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static int s_kv_copy(const struct wc_notifier_kv *src, size_t n, struct s_kv **out)
{
    struct s_kv *kv;

    *out = NULL;
    if (n == 0)
        return WC_OK;
    if (!src)
        return WC_ERR_INVALID;
    kv = calloc(n, sizeof(*kv));
    if (!kv)
        return WC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        kv[i].key = wc_strdup(src[i].key);
        kv[i].value = wc_strdup(src[i].value);
        if (!kv[i].key || !kv[i].value) {
            s_kv_free(kv, n);
            return WC_ERR_NOMEM;
        }
    }
    *out = kv;
    return WC_OK;
}

/* A region safe to put into a host name and a URL. */
static bool s_region_ok(const char *r)
{
    if (wc_str_empty(r) || strlen(r) > 32)
        return false;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return false;
    return true;
}

static const struct wc_match *s_first_match(const struct wc_finding *f)
{
    return f->n_matches > 0 ? &f->matches[0] : NULL;
}

static const char *s_alias(const struct s_slack *s, const struct wc_notice *notice,
                           const char *account)
{
    if (!wc_str_empty(notice->account_alias))
        return notice->account_alias;
    return s_lookup(s->aliases, s->n_aliases, account);
}

static const char *s_verdict_title(enum wc_verdict v)
{
    switch (v) {
    case WC_VERDICT_HUMAN:
        return "Manual change";
    case WC_VERDICT_AUTOMATION:
        return "Automated change";
    case WC_VERDICT_AWS_SERVICE:
        return "AWS service change";
    case WC_VERDICT_UNATTRIBUTED:
        return "Unattributed change";
    case WC_VERDICT_IGNORED:
        return "Ignored change";
    }
    return "Change";
}

/* "Manual change in production (123456789012)" */
static int s_header_text(struct wc_buf *b, const struct wc_finding *f0, const char *alias,
                         size_t n_findings)
{
    const char *account = f0->change.account_id;
    int rc = wc_buf_append_cstr(b, s_verdict_title(f0->verdict));

    if (rc == WC_OK && !wc_str_empty(alias)) {
        if ((rc = wc_buf_append_cstr(b, " in ")) == WC_OK)
            rc = wc_mrkdwn_value(b, alias, 60, "");
        if (rc == WC_OK && !wc_str_empty(account)) {
            if ((rc = wc_buf_append_cstr(b, " (")) == WC_OK &&
                (rc = wc_mrkdwn_value(b, account, 20, "")) == WC_OK)
                rc = wc_buf_append_char(b, ')');
        }
    } else if (rc == WC_OK && !wc_str_empty(account)) {
        if ((rc = wc_buf_append_cstr(b, " in account ")) == WC_OK)
            rc = wc_mrkdwn_value(b, account, 20, "");
    }
    if (rc == WC_OK && n_findings > 1)
        rc = wc_buf_appendf(b, ": %zu resources", n_findings);
    return rc;
}

/* The actor as people know them: an SSO or federated user by session name. */
static const char *s_actor_label(const struct wc_actor *a)
{
    return s_or(a->session_name, s_or(a->name, s_or(a->arn, NULL)));
}

/* Append line (a finished mrkdwn line) to b unless that would pass max;
 * returns WC_ERR_TOO_LARGE (and appends nothing) then. */
static int s_append_line(struct wc_buf *b, const struct wc_buf *line, size_t max)
{
    size_t need = line->len + (b->len > 0 ? 1 : 0);

    if (b->len + need > max)
        return WC_ERR_TOO_LARGE;
    if (b->len > 0 && wc_buf_append_char(b, '\n') != WC_OK)
        return WC_ERR_NOMEM;
    return wc_buf_append(b, line->ptr ? line->ptr : "", line->len);
}

/* --- JSON building --------------------------------------------------------- */

/* A text object. mrkdwn ones are verbatim: Slack then formats only what we
 * mark up and does not link-ify bare URLs, channel names or mentions that
 * come from AWS data (it still honours our <url|label> links). */
static cJSON *s_text_obj(const char *type, const char *text)
{
    cJSON *o = cJSON_CreateObject();

    if (!o || !cJSON_AddStringToObject(o, "type", type) ||
        !cJSON_AddStringToObject(o, "text", text ? text : "") ||
        (strcmp(type, "mrkdwn") == 0 && !cJSON_AddTrueToObject(o, "verbatim"))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int s_add_block(cJSON *blocks, cJSON *block)
{
    if (!block)
        return WC_ERR_NOMEM;
    if (!cJSON_AddItemToArray(blocks, block)) {
        cJSON_Delete(block);
        return WC_ERR_NOMEM;
    }
    return WC_OK;
}

static int s_add_header(cJSON *blocks, const char *text)
{
    cJSON *b = cJSON_CreateObject(), *t = s_text_obj("plain_text", text);

    if (!b || !t || !cJSON_AddStringToObject(b, "type", "header") ||
        !cJSON_AddItemToObject(b, "text", t)) {
        cJSON_Delete(t);
        cJSON_Delete(b);
        return WC_ERR_NOMEM;
    }
    return s_add_block(blocks, b);
}

static int s_add_section(cJSON *blocks, const char *mrkdwn)
{
    cJSON *b = cJSON_CreateObject(), *t = s_text_obj("mrkdwn", mrkdwn);

    if (!b || !t || !cJSON_AddStringToObject(b, "type", "section") ||
        !cJSON_AddItemToObject(b, "text", t)) {
        cJSON_Delete(t);
        cJSON_Delete(b);
        return WC_ERR_NOMEM;
    }
    return s_add_block(blocks, b);
}

/* A section of fields (at most 10). */
static int s_add_fields(cJSON *blocks, const struct wc_buf *fields, size_t n)
{
    cJSON *b = cJSON_CreateObject(), *arr = NULL;
    bool ok = b && cJSON_AddStringToObject(b, "type", "section") &&
              (arr = cJSON_AddArrayToObject(b, "fields")) != NULL;

    for (size_t i = 0; ok && i < n && i < 10; i++) {
        cJSON *t;

        if (fields[i].len == 0)
            continue;
        t = s_text_obj("mrkdwn", fields[i].ptr);
        ok = t && cJSON_AddItemToArray(arr, t);
        if (t && !ok)
            cJSON_Delete(t);
    }
    if (!ok) {
        cJSON_Delete(b);
        return WC_ERR_NOMEM;
    }
    return s_add_block(blocks, b);
}

/* A context block of mrkdwn elements (empty ones skipped, at most 10). */
static int s_add_context(cJSON *blocks, const struct wc_buf *elems, size_t n)
{
    cJSON *b = cJSON_CreateObject(), *arr = NULL;
    bool ok = b && cJSON_AddStringToObject(b, "type", "context") &&
              (arr = cJSON_AddArrayToObject(b, "elements")) != NULL;
    size_t used = 0;

    for (size_t i = 0; ok && i < n && used < 10; i++) {
        cJSON *t;

        if (elems[i].len == 0)
            continue;
        t = s_text_obj("mrkdwn", elems[i].ptr);
        ok = t && cJSON_AddItemToArray(arr, t);
        if (t && !ok)
            cJSON_Delete(t);
        used++;
    }
    if (!ok) {
        cJSON_Delete(b);
        return WC_ERR_NOMEM;
    }
    if (used == 0) {
        cJSON_Delete(b);
        return WC_OK;
    }
    return s_add_block(blocks, b);
}

/* --- the parts of the message -------------------------------------------- */

static int s_who(struct wc_buf *b, const struct wc_match *m)
{
    const struct wc_actor *a;
    int rc;

    if ((rc = wc_buf_append_cstr(b, "*Who*\n")) != WC_OK)
        return rc;
    if (!m)
        return wc_buf_append_cstr(b, "unknown (no matching CloudTrail event)");
    a = &m->cls.actor;
    rc = wc_mrkdwn_value(b, s_actor_label(a), S_NAME_MAX, "unknown principal");
    if (rc == WC_OK && !wc_str_empty(a->type)) {
        if ((rc = wc_buf_append_char(b, '\n')) == WC_OK)
            rc = wc_mrkdwn_value(b, a->type, 40, "");
        /* an assumed role's session: say which role */
        if (rc == WC_OK && !wc_str_empty(a->session_name) && !wc_str_empty(a->name) &&
            strcmp(a->session_name, a->name) != 0) {
            if ((rc = wc_buf_append_cstr(b, " via ")) == WC_OK)
                rc = wc_mrkdwn_value(b, a->name, S_NAME_MAX, "");
        }
    }
    if (rc == WC_OK && !wc_str_empty(a->arn)) {
        if ((rc = wc_buf_append_char(b, '\n')) == WC_OK)
            rc = wc_mrkdwn_code(b, a->arn, S_NAME_MAX, "");
    }
    return rc;
}

static int s_where(struct wc_buf *b, const struct wc_change *c, const char *alias)
{
    int rc = wc_buf_append_cstr(b, "*Where*\n");

    if (rc == WC_OK)
        rc = wc_mrkdwn_value(b, c->account_id, 20, "unknown account");
    if (rc == WC_OK && !wc_str_empty(alias)) {
        if ((rc = wc_buf_append_cstr(b, " (")) == WC_OK &&
            (rc = wc_mrkdwn_value(b, alias, 60, "")) == WC_OK)
            rc = wc_buf_append_char(b, ')');
    }
    if (rc == WC_OK && (rc = wc_buf_append_char(b, '\n')) == WC_OK)
        rc = wc_mrkdwn_value(b, c->region, 40, "unknown region");
    if (rc == WC_OK && !wc_str_empty(c->lookup_region) && !wc_streq(c->lookup_region, c->region)) {
        if ((rc = wc_buf_append_cstr(b, " (CloudTrail in ")) == WC_OK &&
            (rc = wc_mrkdwn_value(b, c->lookup_region, 40, "")) == WC_OK)
            rc = wc_buf_append_char(b, ')');
    }
    return rc;
}

static int s_how(struct wc_buf *b, const struct wc_match *m)
{
    int rc;

    if (!m)
        return WC_OK;
    rc = wc_buf_append_cstr(b, "*How*\n");
    if (rc == WC_OK)
        rc = wc_buf_append_cstr(b, m->cls.console ? "AWS console" : "CLI/SDK");
    if (rc == WC_OK && !wc_str_empty(m->event.source_ip)) {
        if ((rc = wc_buf_append_cstr(b, " from ")) == WC_OK)
            rc = wc_mrkdwn_value(b, m->event.source_ip, 64, "");
    }
    if (rc == WC_OK && !wc_str_empty(m->event.user_agent)) {
        if ((rc = wc_buf_append_char(b, '\n')) == WC_OK)
            rc = wc_mrkdwn_code(b, m->event.user_agent, S_UA_MAX, "");
    }
    return rc;
}

static int s_when(struct wc_buf *b, const struct wc_finding *f, const struct wc_match *m)
{
    char t[WC_TIME_ISO_MAX];
    int rc = wc_buf_append_cstr(b, "*When*\n");

    if (rc == WC_OK && m) {
        wc_time_format_iso8601(m->event.event_time_ms, t);
        rc = wc_buf_appendf(b, "%s (CloudTrail)\n", t);
    }
    if (rc == WC_OK) {
        wc_time_format_iso8601(f->change.capture_time_ms, t);
        rc = wc_buf_appendf(b, "%s (recorded by Config)", t);
    }
    return rc;
}

/* One diff line: • `path` UPDATE: `before` → `after` */
static int s_diff_line(struct wc_buf *line, const struct wc_changed_property *p)
{
    int rc = wc_buf_append_cstr(line, "\xe2\x80\xa2 ");

    if (rc == WC_OK)
        rc = wc_mrkdwn_code(line, p->path, 120, "(property)");
    if (rc == WC_OK && (rc = wc_buf_append_char(line, ' ')) == WC_OK)
        rc = wc_mrkdwn_value(line, p->change, 16, "CHANGE");
    if (rc == WC_OK && (rc = wc_buf_append_cstr(line, ": ")) == WC_OK)
        rc = wc_mrkdwn_code(line, p->before, S_VALUE_MAX, "(none)");
    if (rc == WC_OK && (rc = wc_buf_append_cstr(line, " \xe2\x86\x92 ")) == WC_OK)
        rc = wc_mrkdwn_code(line, p->after, S_VALUE_MAX, "(none)");
    return rc;
}

/* The What section of one finding, within S_SECTION_MAX. */
static int s_what(struct wc_buf *b, const struct wc_finding *f)
{
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_first_match(f);
    struct wc_buf line = WC_BUF_INIT;
    size_t shown = 0, total;
    int rc;

    rc = wc_buf_append_cstr(&line, "*What*: ");
    if (rc == WC_OK && m) {
        if ((rc = wc_buf_append_char(&line, '*')) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, m->event.event_name, 100, "unknown call")) == WC_OK)
            rc = wc_buf_append_cstr(&line, "* on ");
    }
    if (rc == WC_OK && (rc = wc_mrkdwn_value(&line, c->resource_type, 100, "resource")) == WC_OK &&
        (rc = wc_buf_append_char(&line, ' ')) == WC_OK)
        rc = wc_mrkdwn_code(&line, c->resource_id, S_NAME_MAX, "(no id)");
    if (rc == WC_OK && !wc_str_empty(c->resource_name) &&
        !wc_streq(c->resource_name, c->resource_id)) {
        if ((rc = wc_buf_append_cstr(&line, " (")) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, c->resource_name, S_NAME_MAX, "")) == WC_OK)
            rc = wc_buf_append_char(&line, ')');
    }
    if (rc == WC_OK && !wc_str_empty(c->change_type)) {
        if ((rc = wc_buf_append_cstr(&line, ", Config ")) == WC_OK)
            rc = wc_mrkdwn_value(&line, c->change_type, 16, "");
    }
    if (rc == WC_OK)
        rc = s_append_line(b, &line, S_SECTION_MAX);
    /* other matching events (for a human verdict: other human calls) */
    for (size_t i = 1; rc == WC_OK && i < f->n_matches && i <= S_MAX_OTHER_EVENTS; i++) {
        const struct wc_match *o = &f->matches[i];
        char t[WC_TIME_ISO_MAX];

        wc_buf_reset(&line);
        wc_time_format_iso8601(o->event.event_time_ms, t);
        if ((rc = wc_buf_append_cstr(&line, "also: *")) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, o->event.event_name, 100, "unknown call")) == WC_OK &&
            (rc = wc_buf_append_cstr(&line, "* by ")) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, s_actor_label(&o->cls.actor), S_NAME_MAX,
                                  "unknown principal")) == WC_OK &&
            (rc = wc_buf_appendf(&line, " at %s", t)) == WC_OK)
            rc = s_append_line(b, &line, S_SECTION_MAX);
    }
    if (rc == WC_OK && f->n_matches > S_MAX_OTHER_EVENTS + 1) {
        wc_buf_reset(&line);
        if ((rc = wc_buf_appendf(&line, "also: %zu more matching events",
                                 f->n_matches - S_MAX_OTHER_EVENTS - 1)) == WC_OK)
            rc = s_append_line(b, &line, S_SECTION_MAX);
    }
    total = c->n_props_total > c->n_props ? c->n_props_total : c->n_props;
    for (size_t i = 0; rc == WC_OK && i < c->n_props && shown < S_MAX_DIFF_LINES; i++) {
        wc_buf_reset(&line);
        if ((rc = s_diff_line(&line, &c->props[i])) != WC_OK)
            break;
        /* keep room for the "more" line */
        if (b->len + line.len + 64 > S_SECTION_MAX)
            break;
        if ((rc = s_append_line(b, &line, S_SECTION_MAX)) == WC_OK)
            shown++;
    }
    if (rc == WC_OK && shown < total) {
        wc_buf_reset(&line);
        rc = wc_buf_appendf(&line, "\xe2\x80\xa6 and %zu more changed propert%s", total - shown,
                            total - shown == 1 ? "y" : "ies");
        if (rc == WC_OK)
            rc = s_append_line(b, &line, S_SECTION_MAX);
    }
    if (rc == WC_OK && total == 0 && f->is_change) {
        wc_buf_reset(&line);
        if ((rc = wc_buf_append_cstr(&line, "_no property diff in the notification_")) == WC_OK)
            rc = s_append_line(b, &line, S_SECTION_MAX);
    }
    if (rc == WC_ERR_TOO_LARGE)
        rc = WC_OK; /* the section is full: what fits is shown */
    wc_buf_clean_up(&line);
    return rc;
}

#define S_LINK_SEP " \xc2\xb7 "

/* <https://{r}.console.aws.amazon.com/...|label> with the URL escaped for
 * mrkdwn (& -> &amp;), appended after S_LINK_SEP when b is not empty -
 * unless b would pass S_SECTION_MAX: a link cannot be cut, so one made too
 * long by a huge resource or event id is left out. */
static int s_link(struct wc_buf *b, const struct wc_buf *url, const char *label)
{
    struct wc_buf one = WC_BUF_INIT;
    int rc = wc_buf_append_char(&one, '<');

    if (rc == WC_OK)
        rc = wc_mrkdwn_escape(&one, url->ptr ? url->ptr : "", url->len);
    if (rc == WC_OK)
        rc = wc_buf_appendf(&one, "|%s>", label);
    if (rc == WC_OK && b->len + sizeof(S_LINK_SEP) - 1 + one.len <= S_SECTION_MAX) {
        if (b->len > 0)
            rc = wc_buf_append_cstr(b, S_LINK_SEP);
        if (rc == WC_OK)
            rc = wc_buf_append(b, one.ptr, one.len);
    }
    wc_buf_clean_up(&one);
    return rc;
}

static int s_links(struct wc_buf *b, const struct wc_finding *f)
{
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_first_match(f);
    const char *region = s_or(c->lookup_region, c->region);
    struct wc_buf url = WC_BUF_INIT;
    int rc = WC_OK;

    if (m && !wc_str_empty(m->event.event_id) && s_region_ok(region)) {
        rc = wc_buf_appendf(&url,
                            "https://%s.console.aws.amazon.com/cloudtrailv2/home?region=%s"
                            "#/events/",
                            region, region);
        if (rc == WC_OK)
            rc = wc_url_encode(&url, m->event.event_id);
        if (rc == WC_OK)
            rc = s_link(b, &url, "CloudTrail event");
    }
    /* the Config timeline lives in the resource's own region */
    region = s_region_ok(c->region) ? c->region : region;
    if (rc == WC_OK && !wc_str_empty(c->resource_id) && !wc_str_empty(c->resource_type) &&
        s_region_ok(region)) {
        wc_buf_reset(&url);
        rc = wc_buf_appendf(&url,
                            "https://%s.console.aws.amazon.com/config/home?region=%s"
                            "#/resources/timeline?resourceId=",
                            region, region);
        if (rc == WC_OK)
            rc = wc_url_encode(&url, c->resource_id);
        if (rc == WC_OK)
            rc = wc_buf_append_cstr(&url, "&resourceType=");
        if (rc == WC_OK)
            rc = wc_url_encode(&url, c->resource_type);
        if (rc == WC_OK)
            rc = s_link(b, &url, "Config timeline");
    }
    wc_buf_clean_up(&url);
    return rc;
}

/* The plain-text fallback (notifications, screen readers): mrkdwn too. */
static int s_fallback(struct wc_buf *b, const struct wc_buf *header, const struct wc_finding *f0,
                      size_t n_findings)
{
    const struct wc_match *m = s_first_match(f0);
    const struct wc_change *c = &f0->change;
    int rc = wc_buf_append(b, header->ptr ? header->ptr : "", header->len);

    if (rc == WC_OK)
        rc = wc_buf_append_cstr(b, ": ");
    if (rc == WC_OK && m) {
        if ((rc = wc_mrkdwn_value(b, s_actor_label(&m->cls.actor), S_NAME_MAX,
                                  "unknown principal")) == WC_OK &&
            (rc = wc_buf_append_cstr(b, " called ")) == WC_OK &&
            (rc = wc_mrkdwn_value(b, m->event.event_name, 100, "?")) == WC_OK)
            rc = wc_buf_append_cstr(b, " on ");
    }
    if (rc == WC_OK && (rc = wc_mrkdwn_value(b, c->resource_type, 100, "resource")) == WC_OK &&
        (rc = wc_buf_append_char(b, ' ')) == WC_OK)
        rc = wc_mrkdwn_value(b, s_or(c->resource_name, c->resource_id), S_NAME_MAX, "?");
    if (rc == WC_OK && !wc_str_empty(c->region)) {
        if ((rc = wc_buf_append_cstr(b, " in ")) == WC_OK)
            rc = wc_mrkdwn_value(b, c->region, 40, "");
    }
    if (rc == WC_OK && n_findings > 1)
        rc = wc_buf_appendf(b, " and %zu more resource%s", n_findings - 1,
                            n_findings - 1 == 1 ? "" : "s");
    return rc;
}

static const char *s_channel_for(const struct s_slack *s, const char *account)
{
    const char *ch = s_lookup(s->channels, s->n_channels, account);

    return ch ? ch : s->channel;
}

/* Build the message; with a bot token it names the channel
 * (channel_by_account[account], else the default). */
static int s_render(const struct s_slack *s, const struct wc_notice *notice, struct wc_buf *out)
{
    const struct wc_finding *f0 = notice->findings[0];
    const struct wc_match *m0 = s_first_match(f0);
    const char *alias = s_alias(s, notice, f0->change.account_id);
    struct wc_buf header = WC_BUF_INIT, text = WC_BUF_INIT, sect = WC_BUF_INIT;
    struct wc_buf fields[4] = {WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT};
    struct wc_buf ctx[2] = {WC_BUF_INIT, WC_BUF_INIT};
    cJSON *root = NULL, *blocks = NULL;
    char *json = NULL;
    size_t n = notice->n_findings;
    int rc;

    for (size_t i = 0; i < n; i++)
        if (!notice->findings[i])
            return WC_ERR_INVALID;
    if ((rc = s_header_text(&header, f0, alias, n)) != WC_OK)
        goto out;
    /* the header is short by construction; cut anyway */
    wc_mrkdwn_truncate(&header, S_HEADER_MAX);
    if ((rc = s_fallback(&text, &header, f0, n)) != WC_OK)
        goto out;
    wc_mrkdwn_truncate(&text, S_TEXT_MAX);

    rc = WC_ERR_NOMEM;
    root = cJSON_CreateObject();
    if (!root)
        goto out;
    if (s->auth_header) {
        const char *ch = s_channel_for(s, f0->change.account_id);

        if (wc_str_empty(ch)) {
            rc = WC_ERR_CONFIG;
            goto out;
        }
        if (!cJSON_AddStringToObject(root, "channel", ch))
            goto out;
    }
    if (!cJSON_AddStringToObject(root, "text", text.ptr) ||
        !cJSON_AddFalseToObject(root, "link_names") ||
        !cJSON_AddFalseToObject(root, "unfurl_links") ||
        !cJSON_AddFalseToObject(root, "unfurl_media") ||
        !(blocks = cJSON_AddArrayToObject(root, "blocks")))
        goto out;
    if ((rc = s_add_header(blocks, header.ptr)) != WC_OK)
        goto out;

    if ((rc = s_who(&fields[0], m0)) != WC_OK ||
        (rc = s_where(&fields[1], &f0->change, alias)) != WC_OK ||
        (rc = s_how(&fields[2], m0)) != WC_OK || (rc = s_when(&fields[3], f0, m0)) != WC_OK)
        goto out;
    for (size_t i = 0; i < 4; i++)
        wc_mrkdwn_truncate(&fields[i], S_FIELD_MAX);
    if ((rc = s_add_fields(blocks, fields, 4)) != WC_OK)
        goto out;

    for (size_t i = 0; i < n && i < S_MAX_FINDINGS; i++) {
        const struct wc_finding *f = notice->findings[i];

        wc_buf_reset(&sect);
        wc_buf_reset(&ctx[0]);
        wc_buf_reset(&ctx[1]);
        if ((rc = s_what(&sect, f)) != WC_OK || (rc = s_add_section(blocks, sect.ptr)) != WC_OK)
            goto out;
        if ((rc = s_links(&ctx[0], f)) != WC_OK)
            goto out;
        if (f->verdict != WC_VERDICT_HUMAN && !wc_str_empty(f->reason))
            rc = wc_mrkdwn_value(&ctx[1], f->reason, S_REASON_MAX, "");
        if (rc != WC_OK || (rc = s_add_context(blocks, ctx, 2)) != WC_OK)
            goto out;
    }
    if (n > S_MAX_FINDINGS) {
        wc_buf_reset(&ctx[0]);
        wc_buf_reset(&ctx[1]);
        if ((rc = wc_buf_appendf(&ctx[0],
                                 "\xe2\x80\xa6 and %zu more resources changed by the same call",
                                 n - S_MAX_FINDINGS)) != WC_OK ||
            (rc = s_add_context(blocks, ctx, 1)) != WC_OK)
            goto out;
    }
    rc = WC_ERR_NOMEM;
    json = cJSON_PrintUnformatted(root);
    if (json)
        rc = wc_buf_append_cstr(out, json);
out:
    cJSON_free(json);
    cJSON_Delete(root);
    wc_buf_clean_up(&header);
    wc_buf_clean_up(&text);
    wc_buf_clean_up(&sect);
    for (size_t i = 0; i < 4; i++)
        wc_buf_clean_up(&fields[i]);
    wc_buf_clean_up(&ctx[0]);
    wc_buf_clean_up(&ctx[1]);
    return rc;
}

/* --- delivery ------------------------------------------------------------ */

/* Incoming webhook: 200 "ok"; errors are plain-text strings. */
static int s_judge_webhook(void *ctx, const struct wc_http_response *resp,
                           int64_t *retry_after_ms, char *detail, size_t detail_len)
{
    int rc = wc_notif_judge_status(resp->status);

    (void)ctx;
    if (rc == WC_ERR_THROTTLED)
        *retry_after_ms = wc_notif_retry_after_ms(resp);
    if (rc != WC_OK)
        wc_notif_snippet(&resp->body, detail, detail_len);
    return rc;
}

static const char *const s_auth_errors[] = {
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "no_permission", "missing_scope", "not_allowed_token_type", "ekm_access_denied",
    "access_denied", NULL,
};

static const char *const s_service_errors[] = {
    "internal_error", "fatal_error", "service_unavailable", "request_timeout", NULL,
};

static bool s_in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* chat.postMessage: 200 {"ok":true}; {"ok":false,"error":"..."} fails. */
static int s_judge_api(void *ctx, const struct wc_http_response *resp, int64_t *retry_after_ms,
                       char *detail, size_t detail_len)
{
    int rc = wc_notif_judge_status(resp->status);
    cJSON *root = NULL;
    const cJSON *ok, *err;

    (void)ctx;
    if (rc == WC_ERR_THROTTLED)
        *retry_after_ms = wc_notif_retry_after_ms(resp);
    if (resp->body.ptr && resp->body.len > 0)
        root = cJSON_ParseWithLength(resp->body.ptr, resp->body.len);
    err = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    if (cJSON_IsString(err) && err->valuestring) {
        struct wc_buf tmp = {err->valuestring, strlen(err->valuestring), 0, 0};
        wc_notif_snippet(&tmp, detail, detail_len);
    } else if (rc != WC_OK) {
        wc_notif_snippet(&resp->body, detail, detail_len);
    }
    if (rc != WC_OK)
        goto out;
    ok = root ? cJSON_GetObjectItemCaseSensitive(root, "ok") : NULL;
    if (cJSON_IsTrue(ok))
        goto out; /* WC_OK */
    if (!root || !cJSON_IsBool(ok)) {
        /* a 2xx that is not the API's answer (a proxy page?) */
        snprintf(detail, detail_len, "unexpected response body");
        rc = WC_ERR_SERVICE;
    } else if (detail[0] && strcmp(detail, "ratelimited") == 0) {
        *retry_after_ms = wc_notif_retry_after_ms(resp);
        rc = WC_ERR_THROTTLED;
    } else if (detail[0] && s_in(s_auth_errors, detail)) {
        rc = WC_ERR_AUTH;
    } else if (detail[0] && s_in(s_service_errors, detail)) {
        rc = WC_ERR_SERVICE;
    } else {
        /* channel_not_found, not_in_channel, is_archived, invalid_blocks, ... */
        rc = WC_ERR_INVALID;
    }
out:
    cJSON_Delete(root);
    return rc;
}

static int s_slack_render(struct wc_notifier *n, const struct wc_notice *notice,
                          struct wc_buf *out)
{
    return s_render(n->impl, notice, out);
}

static int s_slack_send(struct wc_notifier *n, const struct wc_notice *notice,
                        struct wc_send_result *res)
{
    struct s_slack *s = n->impl;
    struct wc_buf body = WC_BUF_INIT;
    struct wc_http_header hdrs[2] = {
        {"Content-Type", "application/json; charset=utf-8"},
        {"Authorization", s->auth_header},
    };
    struct wc_http_request req = {0};
    int rc;

    res->retry_after_ms = 0;
    res->http_status = 0;
    if ((rc = s_render(s, notice, &body)) != WC_OK) {
        WC_LOGE(s->d.logger, NULL, "notifier %s: cannot build the message: %s%s", n->id,
                wc_strerror(rc),
                rc == WC_ERR_CONFIG ? " (no channel for this account and no default)" : "");
        if (rc == WC_ERR_CONFIG)
            rc = WC_ERR_INVALID;
        goto out;
    }
    req.method = "POST";
    req.url = s->auth_header ? s->api_url : s->webhook_url;
    req.headers = hdrs;
    req.n_headers = s->auth_header ? 2 : 1;
    req.body = body.ptr;
    req.body_len = body.len;
    req.connect_timeout_ms = s->d.connect_timeout_ms;
    req.timeout_ms = s->d.timeout_ms;
    req.max_response_bytes = S_RESPONSE_MAX;
    rc = wc_notif_deliver(&s->d, n->id, &req, s->auth_header ? s_judge_api : s_judge_webhook, s,
                          res);
out:
    wc_buf_clean_up(&body);
    return rc;
}

static void s_slack_free(struct s_slack *s)
{
    if (!s)
        return;
    wc_notif_secret_free(s->webhook_url);
    wc_notif_secret_free(s->auth_header);
    free(s->api_url);
    free(s->channel);
    s_kv_free(s->channels, s->n_channels);
    s_kv_free(s->aliases, s->n_aliases);
    free(s);
}

static void s_slack_destroy(struct wc_notifier *n)
{
    if (!n)
        return;
    s_slack_free(n->impl);
    wc_notif_unwrap(n);
}

const struct wc_notifier_vtable wc_slack_notifier_vtable = {
    .name = "slack",
    .render = s_slack_render,
    .send = s_slack_send,
    .reopen = NULL,
    .destroy = s_slack_destroy,
};

struct wc_notifier *wc_slack_notifier_new(const struct wc_notifier_options *o)
{
    struct s_slack *s = NULL;
    struct wc_notifier *n = NULL;
    struct wc_buf tmp = WC_BUF_INIT;
    bool hook, bot;
    const char *base;

    if (!o || !o->http)
        return NULL;
    hook = !wc_str_empty(o->webhook_url);
    bot = !wc_str_empty(o->bot_token);
    if (hook == bot) {
        WC_LOGE(o->logger, NULL,
                "notifier %s: slack needs exactly one of webhook_url and bot_token",
                s_or(o->id, "slack"));
        return NULL;
    }
    if (bot && wc_str_empty(o->channel) && o->n_channel_by_account == 0) {
        WC_LOGE(o->logger, NULL, "notifier %s: slack bot_token needs channel or channel_by_account",
                s_or(o->id, "slack"));
        return NULL;
    }
    if (!wc_notif_token_ok(hook ? o->webhook_url : o->bot_token) ||
        (bot && !wc_str_empty(o->api_base_url) && !wc_notif_token_ok(o->api_base_url))) {
        WC_LOGE(o->logger, NULL, "notifier %s: slack %s contains spaces or control characters",
                s_or(o->id, "slack"), hook ? "webhook_url" : "bot_token or api_base_url");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    wc_notif_delivery_init(&s->d, o);
    if (hook) {
        if (!(s->webhook_url = wc_strdup(o->webhook_url)))
            goto fail;
    } else {
        base = s_or(o->api_base_url, WC_SLACK_DEFAULT_API_BASE);
        if (wc_buf_appendf(&tmp, "Bearer %s", o->bot_token) != WC_OK ||
            !(s->auth_header = wc_buf_steal(&tmp)))
            goto fail;
        if (wc_buf_appendf(&tmp, "%.*s/chat.postMessage",
                           (int)(strlen(base) - (base[strlen(base) - 1] == '/')), base) != WC_OK ||
            !(s->api_url = wc_buf_steal(&tmp)))
            goto fail;
    }
    if (!wc_str_empty(o->channel) && !(s->channel = wc_strdup(o->channel)))
        goto fail;
    if (s_kv_copy(o->channel_by_account, o->n_channel_by_account, &s->channels) != WC_OK)
        goto fail;
    s->n_channels = o->n_channel_by_account;
    if (s_kv_copy(o->account_aliases, o->n_account_aliases, &s->aliases) != WC_OK)
        goto fail;
    s->n_aliases = o->n_account_aliases;
    n = wc_notif_wrap(&wc_slack_notifier_vtable, s, o->id, "slack", o->verdict_mask,
                      WC_VERDICT_BIT(WC_VERDICT_HUMAN));
    if (!n)
        goto fail;
    return n;
fail:
    wc_buf_clean_up_secure(&tmp);
    s_slack_free(s);
    return NULL;
}
