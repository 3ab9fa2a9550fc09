/* slack.c - the Slack notifier: a Block Kit message through an incoming
 * webhook or chat.postMessage. See notifiers.h for the contract.
 *
 * One finding (a notice of one, not part of a split digest):
 *   header   "Manual change in <alias> (<account>)" (verdict-specific)
 *   section  fields Who / Where / How / When, from its first matching event
 *   section  What: event name, resource type + id (+ name), other matching
 *            events (at most S_MAX_OTHER_EVENTS), the Config diff (at most
 *            S_MAX_DIFF_LINES lines, values shortened)
 *   context  links to the CloudTrail event and the Config timeline, and the
 *            verdict's reason
 * A digest (several findings by one actor session, core/digest.h, or a
 * part of one the pipeline split with fit):
 *   header   "<who> changed N resources in <alias> (<account>)", "(part 2
 *            of 3)" on split digests; the actor is shortened, never the rest
 *   section  fields Who / Where / How / When for the actor (Where: the
 *            account and region(s); When: first to last CloudTrail event)
 *   per finding one compact section: event name, resource type + id (+
 *            name), region, time, at most S_DIGEST_DIFF_LINES diff lines,
 *            the two links
 *   context  "... and N more changes not shown" only when handed more than
 *            fit allows (dry runs); a split digest never needs it
 * Limits kept: <= 50 blocks, header <= 150 chars, section text <= 3000,
 * field <= 2000 (we count bytes, which is stricter), and for a digest the
 * text of all blocks, with a cost per block, <= S_DIGEST_BUDGET.
 *
 * With a bot token a notice with thread_ts is posted as a reply in that
 * thread, and the ts of chat.postMessage's answer comes back in
 * wc_send_result.thread_ts. Incoming webhooks answer "ok" without a ts: the
 * parts of a digest are separate messages there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/awsid.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "notifiers/mrkdwn.h"
#include "notifiers/notifiers.h"
#include "notifiers/notifiers_internal.h"

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
#define S_LINK_URL_MAX 600 /* a longer console URL (a huge id) is left out */

/* Digests */
/* Slack refuses chat.postMessage with msg_blocks_too_long past an
 * undocumented total: reported at 13,297 characters of text in markdown
 * blocks, 125 less per further block (slackapi/bolt-js#2509), and at
 * 11,341 for many rich_text blocks (#2867). We count the text's bytes
 * (more than its characters: entities, • · →) plus S_DIGEST_BLOCK_COST per
 * block, against S_DIGEST_BUDGET. */
#define S_DIGEST_BUDGET 13000
#define S_DIGEST_BLOCK_COST 125
#define S_DIGEST_MAX_ITEMS 47   /* 50 blocks - header - fields - "not shown" */
#define S_DIGEST_ITEM_MAX 1500  /* one finding's section */
#define S_DIGEST_DIFF_LINES 2
#define S_DIGEST_VALUE_MAX 32   /* one before/after value */
#define S_DIGEST_PATH_MAX 60
#define S_DIGEST_WHO_MAX 400
#define S_DIGEST_WHERE_MAX 200
#define S_DIGEST_HOW_MAX 300
#define S_DIGEST_WHEN_MAX 120
#define S_DIGEST_MORE_MAX 64    /* the "not shown" context */
#define S_DIGEST_WHO_HEADER_MAX 64

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
static int s_header_text(struct wc_buf *b, const struct wc_finding *f0, const char *alias)
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
static int s_diff_line(struct wc_buf *line, const struct wc_changed_property *p, size_t path_max,
                       size_t value_max)
{
    int rc = wc_buf_append_cstr(line, "\xe2\x80\xa2 ");

    if (rc == WC_OK)
        rc = wc_mrkdwn_code(line, p->path, path_max, "(property)");
    if (rc == WC_OK && (rc = wc_buf_append_char(line, ' ')) == WC_OK)
        rc = wc_mrkdwn_value(line, p->change, 16, "CHANGE");
    if (rc == WC_OK && (rc = wc_buf_append_cstr(line, ": ")) == WC_OK)
        rc = wc_mrkdwn_code(line, p->before, value_max, "(none)");
    if (rc == WC_OK && (rc = wc_buf_append_cstr(line, " \xe2\x86\x92 ")) == WC_OK)
        rc = wc_mrkdwn_code(line, p->after, value_max, "(none)");
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
        if ((rc = s_diff_line(&line, &c->props[i], 120, S_VALUE_MAX)) != WC_OK)
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

/* Append sep (when b is not empty) and <url|label>, the URL escaped for
 * mrkdwn (& -> &amp;); nothing when the URL is longer than S_LINK_URL_MAX. */
static int s_link(struct wc_buf *b, const struct wc_buf *url, const char *label, const char *sep)
{
    int rc = WC_OK;

    if (url->len == 0 || url->len > S_LINK_URL_MAX)
        return WC_OK;
    if (b->len > 0)
        rc = wc_buf_append_cstr(b, sep);
    if (rc == WC_OK)
        rc = wc_buf_append_char(b, '<');
    if (rc == WC_OK)
        rc = wc_mrkdwn_escape(b, url->ptr, url->len);
    if (rc == WC_OK)
        rc = wc_buf_appendf(b, "|%s>", label);
    return rc;
}

/* Links to the CloudTrail event and the Config timeline, " · " between. */
static int s_links(struct wc_buf *b, const struct wc_finding *f)
{
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_first_match(f);
    const char *region = s_or(c->lookup_region, c->region);
    const char *sep = " \xc2\xb7 ";
    struct wc_buf url = WC_BUF_INIT;
    char console[128];
    int rc = WC_OK;

    /* the console of the region's partition (core/awsid.h): none for the
     * isolated partitions */
    if (m && !wc_str_empty(m->event.event_id) && s_region_ok(region) &&
        wc_partition_console_base(region, console, sizeof(console))) {
        rc = wc_buf_appendf(&url, "%s/%s/home?region=%s#/events/", console,
                            wc_partition_of_region(region)->regional_console ? "cloudtrailv2"
                                                                              : "cloudtrail",
                            region);
        if (rc == WC_OK)
            rc = wc_url_encode(&url, m->event.event_id);
        if (rc == WC_OK)
            rc = s_link(b, &url, "CloudTrail event", sep);
    }
    /* the Config timeline lives in the resource's own region */
    region = wc_region_is_valid(c->region) ? c->region : region;
    if (rc == WC_OK && !wc_str_empty(c->resource_id) && !wc_str_empty(c->resource_type) &&
        s_region_ok(region) && wc_partition_console_base(region, console, sizeof(console))) {
        wc_buf_reset(&url);
        rc = wc_buf_appendf(&url, "%s/config/home?region=%s#/resources/timeline?resourceId=",
                            console, region);
        if (rc == WC_OK)
            rc = wc_url_encode(&url, c->resource_id);
        if (rc == WC_OK)
            rc = wc_buf_append_cstr(&url, "&resourceType=");
        if (rc == WC_OK)
            rc = wc_url_encode(&url, c->resource_type);
        if (rc == WC_OK)
            rc = s_link(b, &url, "Config timeline", sep);
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

/* --- digests ------------------------------------------------------------- */

static bool s_is_digest(const struct wc_notice *notice)
{
    return notice->n_findings > 1 || notice->parts > 1;
}

/* " in production (123456789012)" or " in account 123456789012". */
static int s_digest_where_short(struct wc_buf *b, const char *account, const char *alias)
{
    int rc;

    if (!wc_str_empty(alias)) {
        if ((rc = wc_buf_append_cstr(b, " in ")) != WC_OK ||
            (rc = wc_mrkdwn_value(b, alias, 40, "")) != WC_OK)
            return rc;
        if (!wc_str_empty(account) && (rc = wc_buf_append_cstr(b, " (")) == WC_OK &&
            (rc = wc_mrkdwn_value(b, account, 20, "")) == WC_OK)
            rc = wc_buf_append_char(b, ')');
        return rc;
    }
    if (wc_str_empty(account))
        return WC_OK;
    if ((rc = wc_buf_append_cstr(b, " in account ")) == WC_OK)
        rc = wc_mrkdwn_value(b, account, 20, "");
    return rc;
}

/* "alice@example.com changed 15 resources in production (123456789012)
 * (part 2 of 3)": the actor is cut so that the rest always shows. */
static int s_digest_header(struct wc_buf *b, const struct wc_notice *notice,
                           const struct wc_match *m0, const char *alias)
{
    const struct wc_finding *f0 = notice->findings[0];
    size_t n = notice->n_findings;
    struct wc_buf who = WC_BUF_INIT, tail = WC_BUF_INIT;
    int rc;

    if (m0) {
        rc = wc_mrkdwn_value(&who, s_actor_label(&m0->cls.actor), S_DIGEST_WHO_HEADER_MAX,
                             "Unknown principal");
        if (rc == WC_OK)
            rc = wc_buf_appendf(&tail, " changed %zu resource%s", n, n == 1 ? "" : "s");
    } else {
        /* "Unattributed changes: 3 resources" */
        rc = wc_buf_appendf(&who, "%ss", s_verdict_title(f0->verdict));
        if (rc == WC_OK)
            rc = wc_buf_appendf(&tail, ": %zu resource%s", n, n == 1 ? "" : "s");
    }
    if (rc == WC_OK)
        rc = s_digest_where_short(&tail, f0->change.account_id, alias);
    if (rc == WC_OK && notice->parts > 1)
        rc = wc_buf_appendf(&tail, " (part %d of %d)", notice->part, notice->parts);
    if (rc != WC_OK)
        goto out;
    if (who.len + tail.len > S_HEADER_MAX)
        wc_mrkdwn_truncate(&who, tail.len + 16 < S_HEADER_MAX ? S_HEADER_MAX - tail.len : 16);
    if ((rc = wc_buf_append(b, who.ptr, who.len)) == WC_OK)
        rc = wc_buf_append(b, tail.ptr, tail.len);
out:
    wc_buf_clean_up(&who);
    wc_buf_clean_up(&tail);
    return rc;
}

static int64_t s_event_time_ms(const struct wc_finding *f)
{
    const struct wc_match *m = s_first_match(f);

    return m ? m->event.event_time_ms : f->change.capture_time_ms;
}

/* Where: the account and the region(s) of the changes. */
static int s_digest_where(struct wc_buf *b, const struct wc_notice *notice, const char *alias)
{
    const struct wc_change *c0 = &notice->findings[0]->change;
    size_t others = 0;
    int rc = wc_buf_append_cstr(b, "*Where*\n");

    for (size_t i = 1; i < notice->n_findings; i++)
        others += !wc_streq(notice->findings[i]->change.region, c0->region);
    if (rc == WC_OK)
        rc = wc_mrkdwn_value(b, c0->account_id, 20, "unknown account");
    if (rc == WC_OK && !wc_str_empty(alias)) {
        if ((rc = wc_buf_append_cstr(b, " (")) == WC_OK &&
            (rc = wc_mrkdwn_value(b, alias, 60, "")) == WC_OK)
            rc = wc_buf_append_char(b, ')');
    }
    if (rc == WC_OK && (rc = wc_buf_append_char(b, '\n')) == WC_OK)
        rc = wc_mrkdwn_value(b, c0->region, 40, "unknown region");
    if (rc == WC_OK && others > 0)
        rc = wc_buf_append_cstr(b, " and other regions");
    return rc;
}

/* When: the first and the last CloudTrail event of the notice. */
static int s_digest_when(struct wc_buf *b, const struct wc_notice *notice)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    char t1[WC_TIME_ISO_MAX], t2[WC_TIME_ISO_MAX];
    int rc = wc_buf_append_cstr(b, "*When*\n");

    for (size_t i = 0; i < notice->n_findings; i++) {
        int64_t t = s_event_time_ms(notice->findings[i]);

        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    wc_time_format_iso8601(lo, t1);
    wc_time_format_iso8601(hi, t2);
    if (rc == WC_OK)
        rc = lo == hi ? wc_buf_append_cstr(b, t1)
                      : wc_buf_appendf(b, "%s \xe2\x80\x93 %s", t1, t2);
    return rc;
}

/* One finding in a digest, at most S_DIGEST_ITEM_MAX bytes:
 *   *Event* on Type `id` (name) · region · time (+N more calls)
 *   • `path` UPDATE: `before` → `after`          (at most S_DIGEST_DIFF_LINES)
 *   … and N more changed properties
 *   reason                                        (not for human findings)
 *   <CloudTrail event> · <Config timeline>
 * The links always show; the lines above them are cut to what fits. */
static int s_digest_item(struct wc_buf *b, const struct wc_finding *f)
{
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_first_match(f);
    struct wc_buf line = WC_BUF_INIT, links = WC_BUF_INIT;
    char t[WC_TIME_ISO_MAX];
    size_t shown = 0, total, max;
    int rc;

    if ((rc = s_links(&links, f)) != WC_OK)
        goto out;
    max = S_DIGEST_ITEM_MAX - (links.len > 0 ? links.len + 1 : 0);
    if (m) {
        if ((rc = wc_buf_append_char(&line, '*')) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, m->event.event_name, 64, "unknown call")) == WC_OK)
            rc = wc_buf_append_cstr(&line, "* on ");
    } else {
        rc = wc_buf_append_cstr(&line, "Change on ");
    }
    if (rc == WC_OK && (rc = wc_mrkdwn_value(&line, c->resource_type, 64, "resource")) == WC_OK &&
        (rc = wc_buf_append_char(&line, ' ')) == WC_OK)
        rc = wc_mrkdwn_code(&line, c->resource_id, 100, "(no id)");
    if (rc == WC_OK && !wc_str_empty(c->resource_name) &&
        !wc_streq(c->resource_name, c->resource_id)) {
        if ((rc = wc_buf_append_cstr(&line, " (")) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, c->resource_name, 60, "")) == WC_OK)
            rc = wc_buf_append_char(&line, ')');
    }
    if (rc == WC_OK && !wc_str_empty(c->region)) {
        if ((rc = wc_buf_append_cstr(&line, " \xc2\xb7 ")) == WC_OK)
            rc = wc_mrkdwn_value(&line, c->region, 32, "");
    }
    wc_time_format_iso8601(s_event_time_ms(f), t);
    if (rc == WC_OK)
        rc = wc_buf_appendf(&line, " \xc2\xb7 %s", t);
    if (rc == WC_OK && f->n_matches > 1)
        rc = wc_buf_appendf(&line, " (+%zu more call%s)", f->n_matches - 1,
                            f->n_matches == 2 ? "" : "s");
    if (rc != WC_OK)
        goto out;
    wc_mrkdwn_truncate(&line, max);
    if ((rc = s_append_line(b, &line, max)) != WC_OK)
        goto out;

    total = c->n_props_total > c->n_props ? c->n_props_total : c->n_props;
    for (size_t i = 0; i < c->n_props && shown < S_DIGEST_DIFF_LINES; i++) {
        wc_buf_reset(&line);
        if ((rc = s_diff_line(&line, &c->props[i], S_DIGEST_PATH_MAX, S_DIGEST_VALUE_MAX)) !=
            WC_OK)
            goto out;
        if (b->len + line.len + 64 > max) /* keep room for the "more" line */
            break;
        if ((rc = s_append_line(b, &line, max)) != WC_OK)
            goto out;
        shown++;
    }
    if (shown < total) {
        wc_buf_reset(&line);
        if ((rc = wc_buf_appendf(&line, "\xe2\x80\xa6 and %zu more changed propert%s",
                                 total - shown, total - shown == 1 ? "y" : "ies")) != WC_OK)
            goto out;
        if ((rc = s_append_line(b, &line, max)) == WC_ERR_TOO_LARGE)
            rc = WC_OK; /* full: left out */
    }
    if (rc == WC_OK && f->verdict != WC_VERDICT_HUMAN && !wc_str_empty(f->reason)) {
        wc_buf_reset(&line);
        if ((rc = wc_mrkdwn_value(&line, f->reason, 200, "")) == WC_OK &&
            (rc = s_append_line(b, &line, max)) == WC_ERR_TOO_LARGE)
            rc = WC_OK;
    }
    if (rc == WC_OK && links.len > 0)
        rc = s_append_line(b, &links, S_DIGEST_ITEM_MAX);
out:
    wc_buf_clean_up(&line);
    wc_buf_clean_up(&links);
    return rc;
}

/* The Who / Where / How / When fields of a digest, each cut to its cap;
 * *len gets their total. They depend on the first finding (the actor's
 * first call), on the regions and on the span of the times, so a notice
 * holding a prefix of another's findings never has longer ones. */
static int s_digest_fields(const struct wc_notice *notice, const char *alias,
                           struct wc_buf fields[4], size_t *len)
{
    static const size_t caps[4] = {S_DIGEST_WHO_MAX, S_DIGEST_WHERE_MAX, S_DIGEST_HOW_MAX,
                                   S_DIGEST_WHEN_MAX};
    const struct wc_match *m0 = s_first_match(notice->findings[0]);
    int rc;

    if ((rc = s_who(&fields[0], m0)) != WC_OK ||
        (rc = s_digest_where(&fields[1], notice, alias)) != WC_OK ||
        (rc = s_how(&fields[2], m0)) != WC_OK || (rc = s_digest_when(&fields[3], notice)) != WC_OK)
        return rc;
    *len = 0;
    for (size_t i = 0; i < 4; i++) {
        wc_mrkdwn_truncate(&fields[i], caps[i]);
        *len += fields[i].len;
    }
    return WC_OK;
}

/* Walk the findings of a digest while they fit in one message next to
 * fields_len bytes of fields, calling add (when not NULL) with each one's
 * section; *shown gets the count. The header and a "not shown" line are
 * counted at their maximum, so fit's answer for a notice holds for every
 * part cut from it. */
typedef int s_item_fn(void *ctx, const struct wc_buf *item);

static int s_digest_items(const struct wc_notice *notice, size_t fields_len, s_item_fn *add,
                          void *ctx, size_t *shown)
{
    struct wc_buf item = WC_BUF_INIT;
    size_t used = S_HEADER_MAX + S_DIGEST_MORE_MAX + fields_len + 3 * S_DIGEST_BLOCK_COST;
    size_t k = 0;
    int rc = WC_OK;

    for (; k < notice->n_findings && k < S_DIGEST_MAX_ITEMS; k++) {
        wc_buf_reset(&item);
        if ((rc = s_digest_item(&item, notice->findings[k])) != WC_OK)
            break;
        /* the first always goes: alone it is well within the budget */
        if (k > 0 && used + item.len + S_DIGEST_BLOCK_COST > S_DIGEST_BUDGET)
            break;
        used += item.len + S_DIGEST_BLOCK_COST;
        if (add && (rc = add(ctx, &item)) != WC_OK)
            break;
    }
    *shown = k;
    wc_buf_clean_up(&item);
    return rc;
}

static int s_add_item(void *ctx, const struct wc_buf *item)
{
    return s_add_section(ctx, item->ptr ? item->ptr : "");
}

static int s_render_digest(cJSON *blocks, const struct wc_notice *notice, const char *alias,
                           const char *header)
{
    struct wc_buf fields[4] = {WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT};
    struct wc_buf more = WC_BUF_INIT;
    size_t shown = 0, fields_len = 0;
    int rc;

    if ((rc = s_add_header(blocks, header)) != WC_OK)
        goto out;
    if ((rc = s_digest_fields(notice, alias, fields, &fields_len)) != WC_OK ||
        (rc = s_add_fields(blocks, fields, 4)) != WC_OK)
        goto out;
    if ((rc = s_digest_items(notice, fields_len, s_add_item, blocks, &shown)) != WC_OK)
        goto out;
    if (shown < notice->n_findings) {
        /* more than fit allows (a dry run shows the whole group): say so */
        if ((rc = wc_buf_appendf(&more, "\xe2\x80\xa6 and %zu more change%s not shown here",
                                 notice->n_findings - shown,
                                 notice->n_findings - shown == 1 ? "" : "s")) == WC_OK)
            rc = s_add_context(blocks, &more, 1);
    }
out:
    for (size_t i = 0; i < 4; i++)
        wc_buf_clean_up(&fields[i]);
    wc_buf_clean_up(&more);
    return rc;
}

/* --- one finding ---------------------------------------------------------- */

static int s_render_single(cJSON *blocks, const struct wc_notice *notice, const char *alias,
                           const char *header)
{
    const struct wc_finding *f0 = notice->findings[0];
    const struct wc_match *m0 = s_first_match(f0);
    struct wc_buf fields[4] = {WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT};
    struct wc_buf ctx[2] = {WC_BUF_INIT, WC_BUF_INIT}, sect = WC_BUF_INIT;
    int rc;

    if ((rc = s_add_header(blocks, header)) != WC_OK)
        goto out;
    if ((rc = s_who(&fields[0], m0)) != WC_OK ||
        (rc = s_where(&fields[1], &f0->change, alias)) != WC_OK ||
        (rc = s_how(&fields[2], m0)) != WC_OK || (rc = s_when(&fields[3], f0, m0)) != WC_OK)
        goto out;
    for (size_t i = 0; i < 4; i++)
        wc_mrkdwn_truncate(&fields[i], S_FIELD_MAX);
    if ((rc = s_add_fields(blocks, fields, 4)) != WC_OK)
        goto out;
    if ((rc = s_what(&sect, f0)) != WC_OK || (rc = s_add_section(blocks, sect.ptr)) != WC_OK)
        goto out;
    if ((rc = s_links(&ctx[0], f0)) != WC_OK)
        goto out;
    if (f0->verdict != WC_VERDICT_HUMAN && !wc_str_empty(f0->reason))
        rc = wc_mrkdwn_value(&ctx[1], f0->reason, S_REASON_MAX, "");
    if (rc == WC_OK)
        rc = s_add_context(blocks, ctx, 2);
out:
    for (size_t i = 0; i < 4; i++)
        wc_buf_clean_up(&fields[i]);
    wc_buf_clean_up(&ctx[0]);
    wc_buf_clean_up(&ctx[1]);
    wc_buf_clean_up(&sect);
    return rc;
}

/* A thread ts as Slack writes them ("1714564770.000200"). */
static bool s_ts_ok(const char *ts)
{
    size_t n = 0;

    if (wc_str_empty(ts))
        return false;
    for (; ts[n]; n++)
        if (!((ts[n] >= '0' && ts[n] <= '9') || ts[n] == '.') || n + 1 >= WC_THREAD_TS_MAX)
            return false;
    return true;
}

/* Build the message; with a bot token it names the channel
 * (channel_by_account[account], else the default) and, given a thread_ts,
 * replies in that thread. */
static int s_render(const struct s_slack *s, const struct wc_notice *notice, struct wc_buf *out)
{
    const struct wc_finding *f0 = notice->findings[0];
    const char *alias;
    struct wc_buf header = WC_BUF_INIT, text = WC_BUF_INIT;
    cJSON *root = NULL, *blocks = NULL;
    char *json = NULL;
    size_t n = notice->n_findings;
    bool digest = s_is_digest(notice);
    int rc;

    for (size_t i = 0; i < n; i++)
        if (!notice->findings[i])
            return WC_ERR_INVALID;
    alias = s_alias(s, notice, f0->change.account_id);
    rc = digest ? s_digest_header(&header, notice, s_first_match(f0), alias)
                : s_header_text(&header, f0, alias);
    if (rc != WC_OK)
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
        /* a ts that is not one (never from our own send) is left out */
        if (s_ts_ok(notice->thread_ts) &&
            !cJSON_AddStringToObject(root, "thread_ts", notice->thread_ts))
            goto out;
    }
    if (!cJSON_AddStringToObject(root, "text", text.ptr) ||
        !cJSON_AddFalseToObject(root, "link_names") ||
        !cJSON_AddFalseToObject(root, "unfurl_links") ||
        !cJSON_AddFalseToObject(root, "unfurl_media") ||
        !(blocks = cJSON_AddArrayToObject(root, "blocks")))
        goto out;
    rc = digest ? s_render_digest(blocks, notice, alias, header.ptr)
                : s_render_single(blocks, notice, alias, header.ptr);
    if (rc != WC_OK)
        goto out;
    rc = WC_ERR_NOMEM;
    json = cJSON_PrintUnformatted(root);
    if (json)
        rc = wc_buf_append_cstr(out, json);
out:
    cJSON_free(json);
    cJSON_Delete(root);
    wc_buf_clean_up(&header);
    wc_buf_clean_up(&text);
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

/* chat.postMessage: 200 {"ok":true,"ts":"..."}; {"ok":false,"error":"..."}
 * fails. ctx: the send's result, which gets the ts. */
static int s_judge_api(void *ctx, const struct wc_http_response *resp, int64_t *retry_after_ms,
                       char *detail, size_t detail_len)
{
    struct wc_send_result *res = ctx;
    int rc = wc_notif_judge_status(resp->status);
    cJSON *root = NULL;
    const cJSON *ok, *err, *ts;

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
    if (cJSON_IsTrue(ok)) {
        /* the posted message's ts: where the next parts of a digest reply */
        ts = cJSON_GetObjectItemCaseSensitive(root, "ts");
        if (cJSON_IsString(ts) && s_ts_ok(ts->valuestring))
            snprintf(res->thread_ts, sizeof(res->thread_ts), "%s", ts->valuestring);
        goto out; /* WC_OK */
    }
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
    res->thread_ts[0] = '\0';
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
    rc = wc_notif_deliver(&s->d, n->id, &req, s->auth_header ? s_judge_api : s_judge_webhook, res,
                          res);
out:
    wc_buf_clean_up(&body);
    return rc;
}

/* How many findings from the notice's start one message holds. */
static size_t s_slack_fit(struct wc_notifier *n, const struct wc_notice *notice)
{
    const struct s_slack *s = n->impl;
    struct wc_buf fields[4] = {WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT};
    size_t k = 1, fields_len = 0;

    if (!notice || notice->n_findings <= 1)
        return 1;
    for (size_t i = 0; i < notice->n_findings; i++)
        if (!notice->findings[i])
            return 1;
    if (s_digest_fields(notice, s_alias(s, notice, notice->findings[0]->change.account_id),
                        fields, &fields_len) != WC_OK ||
        s_digest_items(notice, fields_len, NULL, NULL, &k) != WC_OK)
        k = 1; /* out of memory: one at a time */
    for (size_t i = 0; i < 4; i++)
        wc_buf_clean_up(&fields[i]);
    return k > 0 ? k : 1;
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
    .fit = s_slack_fit,
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
    n->min_interval_ms = WC_SLACK_MIN_INTERVAL_MS;
    return n;
fail:
    wc_buf_clean_up_secure(&tmp);
    s_slack_free(s);
    return NULL;
}
