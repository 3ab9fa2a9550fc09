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
#define S_MAX_WRITERS 5      /* distinct writers named (periodic recording) */
#define S_SUMMARY_LINES 6    /* summary lines (rules, statements) per property */
#define S_SUMMARY_LINE_MAX 200
#define S_FULL_VALUE_MAX 1200 /* one value in the full-values block */
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
#define S_DIGEST_SUMMARY_MAX 80 /* one summary line (a rule, a statement) */
#define S_DIGEST_PATH_MAX 60
#define S_DIGEST_WHO_MAX 400
#define S_DIGEST_WHERE_MAX 200
#define S_DIGEST_HOW_MAX 300
#define S_DIGEST_WHEN_MAX 200   /* two <!date^...> tokens */
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

/* The actor as people know them: an SSO or federated user by session name,
 * a role by its name when the session name is an SDK default, an SSO role
 * by its permission set (core/finding.h). */
static const char *s_actor_label(const struct wc_actor *a, char buf[WC_ACTOR_NAME_MAX])
{
    return wc_actor_display(a, buf, WC_ACTOR_NAME_MAX);
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
    char name[WC_ACTOR_NAME_MAX], kind[WC_ACTOR_NAME_MAX];
    int rc;

    if ((rc = wc_buf_append_cstr(b, "*Who*\n")) != WC_OK)
        return rc;
    if (!m)
        return wc_buf_append_cstr(b, "unknown (no matching CloudTrail event)");
    a = &m->cls.actor;
    rc = wc_mrkdwn_value(b, s_actor_label(a, name), S_NAME_MAX, "unknown principal");
    /* what kind: "IAM user", "SSO AdministratorAccess", "role ops-admin" */
    wc_actor_kind(a, kind, sizeof(kind));
    if (rc == WC_OK && (kind[0] || !wc_str_empty(a->type))) {
        if ((rc = wc_buf_append_char(b, '\n')) == WC_OK)
            rc = wc_mrkdwn_value(b, kind[0] ? kind : a->type, S_NAME_MAX, "");
    }
    if (rc == WC_OK && !wc_str_empty(a->arn)) {
        if ((rc = wc_buf_append_char(b, '\n')) == WC_OK)
            rc = wc_mrkdwn_code(b, a->arn, S_NAME_MAX, "");
    }
    if (rc == WC_OK && m->event.identity.mfa != WC_MFA_UNKNOWN)
        rc = wc_buf_append_cstr(b, m->event.identity.mfa == WC_MFA_YES ? "\nMFA: yes"
                                                                       : "\nMFA: *no*");
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

/* Times in the reader's zone (<!date^...>), the ISO time as fallback. A
 * periodically recorded change says the period it happened in. */
static int s_when(struct wc_buf *b, const struct wc_finding *f, const struct wc_match *m)
{
    const struct wc_change *c = &f->change;
    int rc = wc_buf_append_cstr(b, "*When*\n");

    if (rc == WC_OK && m && (rc = wc_mrkdwn_date(b, m->event.event_time_ms)) == WC_OK)
        rc = wc_buf_append_cstr(b, " (CloudTrail)\n");
    if (rc == WC_OK && c->lookback_s > 0) {
        if ((rc = wc_buf_append_cstr(b, "changed between ")) == WC_OK &&
            (rc = wc_mrkdwn_date(b, c->capture_time_ms - (int64_t)c->lookback_s * 1000)) ==
                WC_OK &&
            (rc = wc_buf_append_cstr(b, " and ")) == WC_OK &&
            (rc = wc_mrkdwn_date(b, c->capture_time_ms)) == WC_OK &&
            (rc = wc_buf_append_cstr(b, " (Config records it ")) == WC_OK &&
            (rc = wc_mrkdwn_value(b, c->recording_frequency, 16, "periodically")) == WC_OK)
            rc = wc_buf_append_char(b, ')');
        return rc;
    }
    if (rc == WC_OK && (rc = wc_mrkdwn_date(b, c->capture_time_ms)) == WC_OK)
        rc = wc_buf_append_cstr(b, " (recorded by Config)");
    return rc;
}

/* Whether text (lines separated by '\n') holds the line [l, l+n). */
static bool s_has_line(const char *text, const char *l, size_t n)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (len == n && memcmp(p, l, n) == 0)
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

/* The lines of mine that other does not hold, each as "+ `line`" (or the
 * mark given), at most max_lines of them; *n counts them all. */
static int s_summary_marks(struct wc_buf *out, const char *mine, const char *other,
                           const char *mark, const char *sep, size_t max_lines,
                           size_t line_max, size_t *n)
{
    int rc = WC_OK;

    for (const char *p = mine; rc == WC_OK && p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (!s_has_line(other, p, len)) {
            if (*n < max_lines) {
                char *l = wc_strndup(p, len);

                if (!l)
                    return WC_ERR_NOMEM;
                if ((rc = wc_buf_append_cstr(out, sep)) == WC_OK &&
                    (rc = wc_buf_append_cstr(out, mark)) == WC_OK)
                    rc = wc_mrkdwn_code(out, l, line_max, "");
                free(l);
            }
            (*n)++;
        }
        p = nl ? nl + 1 : NULL;
    }
    return rc;
}

/* One diff entry. With summaries (core/summary.h): what was added and
 * removed, "• `path` CREATE: + `tcp/22 from 0.0.0.0/0`" (several lines on
 * lines of their own, at most max_lines); otherwise, or when the summaries
 * read the same: "• `path` UPDATE: `before` → `after`", values shortened. */
static int s_diff_line(struct wc_buf *line, const struct wc_changed_property *p, size_t path_max,
                       size_t value_max, size_t summary_max, size_t max_lines)
{
    static const char sep[] = "\n      ";
    struct wc_buf marks = WC_BUF_INIT;
    size_t n = 0;
    int rc = wc_buf_append_cstr(line, "\xe2\x80\xa2 ");

    if (rc == WC_OK)
        rc = wc_mrkdwn_code(line, p->path, path_max, "(property)");
    if (rc == WC_OK && (rc = wc_buf_append_char(line, ' ')) == WC_OK)
        rc = wc_mrkdwn_value(line, p->change, 16, "CHANGE");
    if (rc == WC_OK && (rc = wc_buf_append_char(line, ':')) == WC_OK &&
        (p->before_summary || p->after_summary)) {
        if ((rc = s_summary_marks(&marks, p->after_summary, p->before_summary, "+ ", sep,
                                  max_lines, summary_max, &n)) == WC_OK)
            rc = s_summary_marks(&marks, p->before_summary, p->after_summary,
                                 "\xe2\x88\x92 ", sep, max_lines, summary_max, &n);
        if (rc == WC_OK && n > 0) {
            if (n == 1 || max_lines == 1) /* on the same line, "(+N more)" */
                rc = wc_buf_appendf(line, " %s", marks.ptr + sizeof(sep) - 1);
            else
                rc = wc_buf_append(line, marks.ptr, marks.len);
            if (rc == WC_OK && n > 1 && max_lines == 1)
                rc = wc_buf_appendf(line, " (+%zu more)", n - 1);
            else if (rc == WC_OK && n > max_lines)
                rc = wc_buf_appendf(line, "%s\xe2\x80\xa6 and %zu more", sep, n - max_lines);
            wc_buf_clean_up(&marks);
            return rc;
        }
    }
    wc_buf_clean_up(&marks);
    if (rc == WC_OK)
        rc = wc_buf_append_char(line, ' ');
    if (rc == WC_OK)
        rc = wc_mrkdwn_code(line, p->before, value_max, "(none)");
    if (rc == WC_OK && (rc = wc_buf_append_cstr(line, " \xe2\x86\x92 ")) == WC_OK)
        rc = wc_mrkdwn_code(line, p->after, value_max, "(none)");
    return rc;
}

/* The What section of one finding, within S_SECTION_MAX. */
static int s_what(struct wc_buf *b, const struct wc_finding *f)
{
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_first_match(f), *writers[S_MAX_WRITERS];
    struct wc_buf line = WC_BUF_INIT;
    char name[WC_ACTOR_NAME_MAX];
    size_t shown = 0, total, n_writers, counts[S_MAX_WRITERS];
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
    /* several people wrote to it (a periodic item's day): name each */
    if (rc == WC_OK && (n_writers = wc_finding_writers(f, writers, counts, S_MAX_WRITERS)) > 1) {
        wc_buf_reset(&line);
        rc = wc_buf_appendf(&line, "*Writers* (%zu): ", n_writers);
        for (size_t i = 0; rc == WC_OK && i < n_writers && i < S_MAX_WRITERS; i++) {
            if (i > 0)
                rc = wc_buf_append_cstr(&line, ", ");
            if (rc == WC_OK)
                rc = wc_mrkdwn_value(&line, s_actor_label(&writers[i]->cls.actor, name), 100,
                                     "unknown principal");
            if (rc == WC_OK)
                rc = wc_buf_appendf(&line, " (%zu call%s)", counts[i], counts[i] == 1 ? "" : "s");
        }
        if (rc == WC_OK && n_writers > S_MAX_WRITERS)
            rc = wc_buf_appendf(&line, " and %zu more", n_writers - S_MAX_WRITERS);
        if (rc == WC_OK)
            rc = s_append_line(b, &line, S_SECTION_MAX);
    }
    /* other matching events (for a human verdict: other human calls) */
    for (size_t i = 1; rc == WC_OK && i < f->n_matches && i <= S_MAX_OTHER_EVENTS; i++) {
        const struct wc_match *o = &f->matches[i];

        wc_buf_reset(&line);
        if ((rc = wc_buf_append_cstr(&line, "also: *")) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, o->event.event_name, 100, "unknown call")) == WC_OK &&
            (rc = wc_buf_append_cstr(&line, "* by ")) == WC_OK &&
            (rc = wc_mrkdwn_value(&line, s_actor_label(&o->cls.actor, name), S_NAME_MAX,
                                  "unknown principal")) == WC_OK &&
            (rc = wc_buf_append_cstr(&line, " at ")) == WC_OK &&
            (rc = wc_mrkdwn_date(&line, o->event.event_time_ms)) == WC_OK)
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
        if ((rc = s_diff_line(&line, &c->props[i], 120, S_VALUE_MAX, S_SUMMARY_LINE_MAX,
                              S_SUMMARY_LINES)) != WC_OK)
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
    char name[WC_ACTOR_NAME_MAX];
    int rc = wc_buf_append(b, header->ptr ? header->ptr : "", header->len);

    if (rc == WC_OK)
        rc = wc_buf_append_cstr(b, ": ");
    if (rc == WC_OK && m) {
        if ((rc = wc_mrkdwn_value(b, s_actor_label(&m->cls.actor, name), S_NAME_MAX,
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
    char name[WC_ACTOR_NAME_MAX];
    int rc;

    if (m0) {
        rc = wc_mrkdwn_value(&who, s_actor_label(&m0->cls.actor, name), S_DIGEST_WHO_HEADER_MAX,
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
    int rc = wc_buf_append_cstr(b, "*When*\n");

    for (size_t i = 0; i < notice->n_findings; i++) {
        int64_t t = s_event_time_ms(notice->findings[i]);

        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    if (rc == WC_OK)
        rc = wc_mrkdwn_date(b, lo);
    if (rc == WC_OK && lo != hi && (rc = wc_buf_append_cstr(b, " \xe2\x80\x93 ")) == WC_OK)
        rc = wc_mrkdwn_date(b, hi);
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
    if (rc == WC_OK && (rc = wc_buf_append_cstr(&line, " \xc2\xb7 ")) == WC_OK)
        rc = wc_mrkdwn_time(&line, s_event_time_ms(f)); /* the day is in When */
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
        if ((rc = s_diff_line(&line, &c->props[i], S_DIGEST_PATH_MAX, S_DIGEST_VALUE_MAX,
                              S_DIGEST_SUMMARY_MAX, 1)) != WC_OK)
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

/* The header of one finding: who did what to which resource,
 * "alice@example.com (SSO AdministratorAccess) AuthorizeSecurityGroupIngress
 * on sg-0123 (web-prod)", at most S_HEADER_MAX bytes once escaped. When it
 * does not fit, the longest of the name, the actor, its kind and the call
 * is shortened first (cut cleanly, never mid-entity), the resource id last.
 * Without a match: "Unattributed change to <type> <id> (<name>)". */
static int s_single_header(struct wc_buf *b, const struct wc_finding *f)
{
    enum { WHO, KIND, EVENT, ID, NAME, N_PARTS };
    static const size_t least[N_PARTS] = {24, 12, 24, 24, 12};
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_first_match(f);
    struct wc_buf part[N_PARTS] = {WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT,
                                   WC_BUF_INIT};
    char name[WC_ACTOR_NAME_MAX], kind[WC_ACTOR_NAME_MAX];
    size_t total, excess, floor;
    int rc = WC_OK;

    if (m) {
        wc_actor_kind(&m->cls.actor, kind, sizeof(kind));
        rc = wc_mrkdwn_value(&part[WHO], s_actor_label(&m->cls.actor, name), S_NAME_MAX,
                             "unknown principal");
        if (rc == WC_OK && kind[0])
            rc = wc_mrkdwn_value(&part[KIND], kind, S_NAME_MAX, "");
        if (rc == WC_OK)
            rc = wc_mrkdwn_value(&part[EVENT], m->event.event_name, S_NAME_MAX, "unknown call");
    } else {
        rc = wc_buf_appendf(&part[WHO], "%s to", s_verdict_title(f->verdict));
        if (rc == WC_OK)
            rc = wc_mrkdwn_value(&part[EVENT], c->resource_type, S_NAME_MAX, "resource");
    }
    if (rc == WC_OK)
        rc = wc_mrkdwn_value(&part[ID], c->resource_id, S_NAME_MAX, "(no id)");
    if (rc == WC_OK && !wc_str_empty(c->resource_name) &&
        !wc_streq(c->resource_name, c->resource_id))
        rc = wc_mrkdwn_value(&part[NAME], c->resource_name, S_NAME_MAX, "");
    if (rc != WC_OK)
        goto out;
    /* "who (kind) event on id (name)" or "Unattributed change to type id (name)";
     * each turn shortens a part (bounded all the same) */
    for (int turn = 0; turn < 4 * N_PARTS; turn++) {
        size_t longest = N_PARTS;

        total = part[WHO].len + 1 + part[EVENT].len + (m ? 4 : 1) + part[ID].len +
                (part[KIND].len ? part[KIND].len + 3 : 0) +
                (part[NAME].len ? part[NAME].len + 3 : 0);
        if (total <= S_HEADER_MAX)
            break;
        for (size_t i = 0; i < N_PARTS; i++)
            if (i != ID && part[i].len > least[i] &&
                (longest == N_PARTS || part[i].len > part[longest].len))
                longest = i;
        if (longest == N_PARTS)
            longest = ID;
        excess = total - S_HEADER_MAX;
        floor = longest == ID ? 8 : least[longest];
        if (part[longest].len <= floor)
            break; /* nothing left to shorten: cut the whole below */
        wc_mrkdwn_truncate(&part[longest], part[longest].len > excess + floor
                                               ? part[longest].len - excess
                                               : floor);
    }
    if ((rc = wc_buf_append(b, part[WHO].ptr, part[WHO].len)) == WC_OK && part[KIND].len &&
        (rc = wc_buf_append_cstr(b, " (")) == WC_OK &&
        (rc = wc_buf_append(b, part[KIND].ptr, part[KIND].len)) == WC_OK)
        rc = wc_buf_append_char(b, ')');
    if (rc == WC_OK && (rc = wc_buf_append_char(b, ' ')) == WC_OK &&
        (rc = wc_buf_append(b, part[EVENT].ptr, part[EVENT].len)) == WC_OK)
        rc = wc_buf_append_cstr(b, m ? " on " : " ");
    if (rc == WC_OK)
        rc = wc_buf_append(b, part[ID].ptr, part[ID].len);
    if (rc == WC_OK && part[NAME].len && (rc = wc_buf_append_cstr(b, " (")) == WC_OK &&
        (rc = wc_buf_append(b, part[NAME].ptr, part[NAME].len)) == WC_OK)
        rc = wc_buf_append_char(b, ')');
    wc_mrkdwn_truncate(b, S_HEADER_MAX);
out:
    for (size_t i = 0; i < N_PARTS; i++)
        wc_buf_clean_up(&part[i]);
    return rc;
}

/* The context under the header, what makes the risk plain at a glance:
 * the verdict and account; drift on a resource an IaC tool manages; the
 * session's MFA; for periodic recording, that the change happened within
 * the period. */
static int s_risk(struct wc_buf elems[4], const struct wc_finding *f, const char *alias)
{
    const struct wc_change *c = &f->change;
    const struct wc_match *m = s_first_match(f);
    int rc = wc_buf_append_char(&elems[0], '*');

    if (rc == WC_OK && (rc = s_header_text(&elems[0], f, alias)) == WC_OK)
        rc = wc_buf_append_char(&elems[0], '*');
    if (rc == WC_OK && !wc_str_empty(c->region) &&
        (rc = wc_buf_append_cstr(&elems[0], " \xc2\xb7 ")) == WC_OK)
        rc = wc_mrkdwn_value(&elems[0], c->region, 40, "");
    if (rc == WC_OK && f->owner_tag &&
        (f->verdict == WC_VERDICT_HUMAN || f->verdict == WC_VERDICT_UNATTRIBUTED)) {
        rc = wc_buf_append_cstr(&elems[1], ":warning: *Drift* on a resource managed by ");
        if (rc == WC_OK && strcmp(f->owner_tag, "aws:cloudformation:stack-name") == 0) {
            if ((rc = wc_buf_append_cstr(&elems[1], "CloudFormation stack ")) == WC_OK)
                rc = wc_mrkdwn_code(&elems[1], f->owner_value, S_NAME_MAX, "");
        } else if (rc == WC_OK) {
            if ((rc = wc_mrkdwn_code(&elems[1], f->owner_value, S_NAME_MAX, "")) == WC_OK &&
                (rc = wc_buf_append_cstr(&elems[1], " (tag ")) == WC_OK &&
                (rc = wc_mrkdwn_code(&elems[1], f->owner_tag, S_NAME_MAX, "")) == WC_OK)
                rc = wc_buf_append_char(&elems[1], ')');
        }
    }
    if (rc == WC_OK && m && m->event.identity.mfa != WC_MFA_UNKNOWN)
        rc = wc_buf_append_cstr(&elems[2], m->event.identity.mfa == WC_MFA_YES
                                               ? "MFA: yes"
                                               : ":warning: signed in *without MFA*");
    if (rc == WC_OK && c->lookback_s > 0) {
        if ((rc = wc_buf_append_cstr(&elems[3], "Config records this resource ")) == WC_OK &&
            (rc = wc_mrkdwn_value(&elems[3], c->recording_frequency, 16, "periodically")) ==
                WC_OK &&
            (rc = wc_buf_appendf(&elems[3], ": the change happened in the %d h before ",
                                 c->lookback_s / 3600)) == WC_OK)
            rc = wc_mrkdwn_date(&elems[3], c->capture_time_ms);
        if (rc == WC_OK)
            rc = wc_buf_append_cstr(&elems[3], ", not at that time");
    }
    for (size_t i = 0; i < 4; i++)
        wc_mrkdwn_truncate(&elems[i], S_FIELD_MAX);
    return rc;
}

/* Whether the What lines left anything out that the full values show: a
 * value cut there, or shown only as its summary. */
static bool s_wants_full_values(const struct wc_change *c)
{
    for (size_t i = 0; i < c->n_props && i < S_MAX_DIFF_LINES; i++) {
        const struct wc_changed_property *p = &c->props[i];

        if (p->before_summary || p->after_summary ||
            (p->before && strlen(p->before) > S_VALUE_MAX) ||
            (p->after && strlen(p->after) > S_VALUE_MAX))
            return true;
    }
    return false;
}

/* The full before/after values of the properties shown, in a ``` block
 * within max bytes (a value is cut at S_FULL_VALUE_MAX, and the block
 * stops, saying so, when the next one does not fit). */
static int s_full_values(struct wc_buf *b, const struct wc_change *c, size_t max)
{
    static const char open_[] = "*Full values*\n```\n", close_[] = "```";
    static const char more[] = "\xe2\x80\xa6 (the rest: Config timeline)\n";
    struct wc_buf item = WC_BUF_INIT;
    int rc = wc_buf_append_cstr(b, open_);

    for (size_t i = 0; rc == WC_OK && i < c->n_props && i < S_MAX_DIFF_LINES; i++) {
        const struct wc_changed_property *p = &c->props[i];

        wc_buf_reset(&item);
        if ((rc = wc_mrkdwn_pre(&item, p->path, 120, "(property)")) != WC_OK ||
            (rc = wc_buf_append_char(&item, ' ')) != WC_OK ||
            (rc = wc_mrkdwn_pre(&item, p->change, 16, "CHANGE")) != WC_OK)
            break;
        if (p->before && ((rc = wc_buf_append_cstr(&item, "\n  before: ")) != WC_OK ||
                          (rc = wc_mrkdwn_pre(&item, p->before, S_FULL_VALUE_MAX, "")) != WC_OK))
            break;
        if (p->after && ((rc = wc_buf_append_cstr(&item, "\n  after:  ")) != WC_OK ||
                         (rc = wc_mrkdwn_pre(&item, p->after, S_FULL_VALUE_MAX, "")) != WC_OK))
            break;
        if ((rc = wc_buf_append_char(&item, '\n')) != WC_OK)
            break;
        if (b->len + item.len + sizeof(more) + sizeof(close_) > max) {
            /* what fits of it, cut cleanly, then say the rest is elsewhere */
            size_t room = max > b->len + sizeof(more) + sizeof(close_)
                              ? max - b->len - sizeof(more) - sizeof(close_)
                              : 0;

            if (room > 64) {
                wc_mrkdwn_truncate(&item, room);
                if ((rc = wc_buf_append(b, item.ptr, item.len)) != WC_OK ||
                    (rc = wc_buf_append_char(b, '\n')) != WC_OK)
                    break;
            }
            rc = wc_buf_append_cstr(b, more);
            break;
        }
        rc = wc_buf_append(b, item.ptr, item.len);
    }
    if (rc == WC_OK)
        rc = wc_buf_append_cstr(b, close_);
    wc_buf_clean_up(&item);
    return rc;
}

static size_t s_lens(const struct wc_buf *b, size_t n)
{
    size_t len = 0;

    for (size_t i = 0; i < n; i++)
        len += b[i].len;
    return len;
}

/* header, context (verdict, drift, MFA, period), What, fields (Who, Where,
 * How, When), the full values when the What lines left something out, and
 * the links and reason: at most 6 blocks, and within the total Slack
 * accepts (S_DIGEST_BUDGET, counted as for digests). */
static int s_render_single(cJSON *blocks, const struct wc_notice *notice, const char *alias,
                           const char *header)
{
    const struct wc_finding *f0 = notice->findings[0];
    const struct wc_match *m0 = s_first_match(f0);
    struct wc_buf fields[4] = {WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT};
    struct wc_buf risk[4] = {WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT, WC_BUF_INIT};
    struct wc_buf ctx[2] = {WC_BUF_INIT, WC_BUF_INIT}, sect = WC_BUF_INIT, full = WC_BUF_INIT;
    size_t used;
    int rc;

    if ((rc = s_risk(risk, f0, alias)) != WC_OK || (rc = s_what(&sect, f0)) != WC_OK ||
        (rc = s_who(&fields[0], m0)) != WC_OK ||
        (rc = s_where(&fields[1], &f0->change, alias)) != WC_OK ||
        (rc = s_how(&fields[2], m0)) != WC_OK || (rc = s_when(&fields[3], f0, m0)) != WC_OK ||
        (rc = s_links(&ctx[0], f0)) != WC_OK)
        goto out;
    for (size_t i = 0; i < 4; i++)
        wc_mrkdwn_truncate(&fields[i], S_FIELD_MAX);
    if (f0->verdict != WC_VERDICT_HUMAN && !wc_str_empty(f0->reason) &&
        (rc = wc_mrkdwn_value(&ctx[1], f0->reason, S_REASON_MAX, "")) != WC_OK)
        goto out;
    used = strlen(header) + s_lens(risk, 4) + sect.len + s_lens(fields, 4) + s_lens(ctx, 2) +
           6 * S_DIGEST_BLOCK_COST;
    if (s_wants_full_values(&f0->change) && used + 400 < S_DIGEST_BUDGET) {
        size_t room = S_DIGEST_BUDGET - used;

        if ((rc = s_full_values(&full, &f0->change,
                                room < S_SECTION_MAX ? room : S_SECTION_MAX)) != WC_OK)
            goto out;
    }
    if ((rc = s_add_header(blocks, header)) != WC_OK ||
        (rc = s_add_context(blocks, risk, 4)) != WC_OK ||
        (rc = s_add_section(blocks, sect.ptr)) != WC_OK ||
        (rc = s_add_fields(blocks, fields, 4)) != WC_OK ||
        (full.len > 0 && (rc = s_add_section(blocks, full.ptr)) != WC_OK))
        goto out;
    rc = s_add_context(blocks, ctx, 2);
out:
    for (size_t i = 0; i < 4; i++) {
        wc_buf_clean_up(&fields[i]);
        wc_buf_clean_up(&risk[i]);
    }
    wc_buf_clean_up(&ctx[0]);
    wc_buf_clean_up(&ctx[1]);
    wc_buf_clean_up(&sect);
    wc_buf_clean_up(&full);
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
    /* the fallback (notifications, screen readers) starts with the verdict
     * and the account; a single finding's header says who did what */
    rc = digest ? s_digest_header(&header, notice, s_first_match(f0), alias)
                : s_header_text(&header, f0, alias);
    if (rc != WC_OK)
        goto out;
    /* the header is short by construction; cut anyway */
    wc_mrkdwn_truncate(&header, S_HEADER_MAX);
    if ((rc = s_fallback(&text, &header, f0, n)) != WC_OK)
        goto out;
    if (!digest) {
        wc_buf_reset(&header);
        if ((rc = s_single_header(&header, f0)) != WC_OK)
            goto out;
    }
    wc_mrkdwn_truncate(&header, S_HEADER_MAX);
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
