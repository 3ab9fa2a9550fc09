/* fuzz_slack.c - the Slack message (notifiers/slack.c, notifiers/mrkdwn.c)
 * for a finding built from a fuzzed notification and fuzzed CloudTrail
 * events (parse, correlate, classify, decide), plus the finding's JSON
 * (what the webhook and JSON lines send).
 *
 * Input: SQS message body FUZZ_SEP events JSON FUZZ_SEP options, where the
 * options' first byte picks the number of findings in the notice (1-25),
 * webhook or bot token, and a thread reply, and the rest is the account
 * alias shown (when it is UTF-8, as a configured alias is).
 *
 * Invariants (Block Kit limits and the escaping promise of notifiers.h):
 *   - the payload and the finding JSON are valid JSON in valid UTF-8;
 *   - at most 50 blocks; the header is plain_text of at most 150 bytes;
 *     a section's text at most 3000 bytes, at most 10 fields of at most
 *     2000 bytes; a context at most 10 elements;
 *   - link_names, unfurl_links and unfurl_media are false; every mrkdwn
 *     text object is verbatim;
 *   - in every text (header, fallback, sections, fields, contexts) each '&'
 *     starts &amp; &lt; or &gt;, and '<' '>' occur only as our own links
 *     <https://REGION.console.aws.amazon.com/...|CloudTrail event> or
 *     ...|Config timeline>, whose URL holds no raw '<', '>', '|', space or
 *     control byte, or our dates <!date^EPOCH^{date_short_pretty} {time}|ISO>
 *     and <!date^EPOCH^{time}|HH:MM:SSZ> (digits and [-T:.Z] after '|'). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/change.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/notifier.h"
#include "core/policy.h"
#include "notifiers/notifiers.h"
#include "tests/fuzz/harness.h"
#include "tests/support/fake_http.h"

#define S_MAX_NOTICE 25

static struct wc_policy s_policy;
static struct fake_http *s_fake;
static struct wc_notifier *s_hook, *s_bot, *s_webhook;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const struct wc_notifier_kv aliases[] = {
        {"123456789012", "prod <!channel> & <@U123|x>"},
    };
    static const struct wc_notifier_kv channels[] = {{"123456789012", "#prod-changes"}};
    struct wc_notifier_options o = {0};

    (void)argc;
    (void)argv;
    if (wc_policy_init_defaults(&s_policy) != WC_OK ||
        wc_strlist_push(&s_policy.trusted, "arn:aws:iam::*:role/terraform-*") != WC_OK ||
        wc_strlist_push(&s_policy.automation_user_agents, "*Terraform/*") != WC_OK ||
        !(s_fake = fake_http_new()))
        abort();
    o.http = fake_http_transport(s_fake);
    o.clock = fuzz_clock();
    o.verdict_mask = WC_VERDICT_MASK_ALL;
    o.account_aliases = aliases;
    o.n_account_aliases = 1;
    o.webhook_url = "https://hooks.slack.com/services/T000/B000/XXXXXXXX";
    s_hook = wc_slack_notifier_new(&o);
    o.webhook_url = NULL;
    o.bot_token = "xoxb-fuzz-0000";
    o.channel = "#changes";
    o.channel_by_account = channels;
    o.n_channel_by_account = 1;
    s_bot = wc_slack_notifier_new(&o);
    memset(&o, 0, sizeof(o));
    o.http = fake_http_transport(s_fake);
    o.clock = fuzz_clock();
    o.verdict_mask = WC_VERDICT_MASK_ALL;
    o.url = "https://hooks.example.com/whochanged";
    o.hmac_secret = "fuzz-hmac-secret";
    s_webhook = wc_webhook_notifier_new(&o);
    if (!s_hook || !s_bot || !s_webhook)
        abort();
    return 0;
}

/* --- checks ------------------------------------------------------------------ */

static bool s_region_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* One of our links at p ("<https://..."); returns the byte after its '>'. */
static const char *s_link(const char *p, const char *text, const char *where)
{
    static const char host[] = ".console.aws.amazon.com/";
    const char *q = p + 1, *bar, *close;

    FUZZ_CHECK(strncmp(q, "https://", 8) == 0, "%s: raw '<' in: %s", where, text);
    q += 8;
    FUZZ_CHECK(s_region_char(*q), "%s: link to a bad host in: %s", where, text);
    while (s_region_char(*q))
        q++;
    FUZZ_CHECK(strncmp(q, host, sizeof(host) - 1) == 0, "%s: link to a bad host in: %s", where,
               text);
    close = strchr(q, '>');
    bar = strchr(q, '|');
    FUZZ_CHECK(close && bar && bar < close, "%s: unterminated link in: %s", where, text);
    for (const char *u = q; u < bar; u++) {
        FUZZ_CHECK((unsigned char)*u > 0x20 && (unsigned char)*u < 0x7f && *u != '<',
                   "%s: raw byte 0x%02x in a link URL: %s", where, (unsigned char)*u, text);
        if (*u == '&')
            FUZZ_CHECK(strncmp(u, "&amp;", 5) == 0, "%s: raw '&' in a link URL: %s", where,
                       text);
    }
    FUZZ_CHECK((size_t)(close - bar - 1) == strlen("CloudTrail event") ||
                   (size_t)(close - bar - 1) == strlen("Config timeline"),
               "%s: link label in: %s", where, text);
    FUZZ_CHECK(strncmp(bar + 1, "CloudTrail event>", 17) == 0 ||
                   strncmp(bar + 1, "Config timeline>", 16) == 0,
               "%s: link label in: %s", where, text);
    return close + 1;
}

/* One of our dates at p ("<!date^"); returns the byte after its '>'. */
static const char *s_date(const char *p, const char *text, const char *where)
{
    static const char f1[] = "^{date_short_pretty} {time}|", f2[] = "^{time}|";
    const char *q = p + 7;

    if (*q == '-')
        q++;
    FUZZ_CHECK(*q >= '0' && *q <= '9', "%s: bad date in: %s", where, text);
    while (*q >= '0' && *q <= '9')
        q++;
    if (strncmp(q, f1, sizeof(f1) - 1) == 0)
        q += sizeof(f1) - 1;
    else if (strncmp(q, f2, sizeof(f2) - 1) == 0)
        q += sizeof(f2) - 1;
    else
        FUZZ_CHECK(false, "%s: bad date format in: %s", where, text);
    while ((*q >= '0' && *q <= '9') || *q == '-' || *q == 'T' || *q == ':' || *q == '.' ||
           *q == 'Z')
        q++;
    FUZZ_CHECK(*q == '>', "%s: unterminated date in: %s", where, text);
    return q + 1;
}

static void s_check_text(const char *text, bool links_ok, const char *where)
{
    for (const char *p = text; *p;) {
        if (*p == '&') {
            FUZZ_CHECK(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
                           strncmp(p, "&gt;", 4) == 0,
                       "%s: raw '&' in: %s", where, text);
            p++;
        } else if (*p == '<') {
            FUZZ_CHECK(links_ok, "%s: raw '<' in: %s", where, text);
            p = strncmp(p, "<!date^", 7) == 0 ? s_date(p, text, where) : s_link(p, text, where);
        } else {
            FUZZ_CHECK(*p != '>', "%s: raw '>' in: %s", where, text);
            p++;
        }
    }
}

/* A text object: {"type":"mrkdwn"|"plain_text","text":...}. */
static const char *s_text_obj(const cJSON *o, const char *want_type, size_t max,
                              bool links_ok, const char *where)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "text"));

    FUZZ_CHECK(type && text, "%s: not a text object", where);
    FUZZ_CHECK(!want_type || strcmp(type, want_type) == 0, "%s: type %s", where, type);
    FUZZ_CHECK(strlen(text) <= max, "%s: %zu bytes, over %zu", where, strlen(text), max);
    if (strcmp(type, "mrkdwn") == 0)
        FUZZ_CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "verbatim")),
                   "%s: mrkdwn text not verbatim", where);
    s_check_text(text, links_ok, where);
    return text;
}

static const char *s_or_empty(const char *s)
{
    return s ? s : "";
}

static void s_check_slack(const struct wc_buf *payload)
{
    cJSON *root;
    const cJSON *blocks, *b;
    int i = 0;

    FUZZ_CHECK(fuzz_utf8_valid(payload->ptr, payload->len), "payload is not UTF-8: %s",
               payload->ptr);
    root = cJSON_ParseWithLength(payload->ptr, payload->len);
    FUZZ_CHECK(cJSON_IsObject(root), "payload is not a JSON object: %s", payload->ptr);
    FUZZ_CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "link_names")) &&
                   cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "unfurl_links")) &&
                   cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "unfurl_media")),
               "link_names / unfurl not false");
    s_check_text(s_or_empty(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "text"))),
                 false, "fallback text");
    blocks = cJSON_GetObjectItemCaseSensitive(root, "blocks");
    FUZZ_CHECK(cJSON_IsArray(blocks), "no blocks");
    FUZZ_CHECK(cJSON_GetArraySize(blocks) >= 1 && cJSON_GetArraySize(blocks) <= 50,
               "%d blocks", cJSON_GetArraySize(blocks));
    cJSON_ArrayForEach(b, blocks) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "type"));
        const cJSON *arr, *e;

        FUZZ_CHECK(type, "block %d without a type", i);
        if (i == 0)
            FUZZ_CHECK(strcmp(type, "header") == 0, "first block is %s", type);
        if (strcmp(type, "header") == 0) {
            s_text_obj(cJSON_GetObjectItemCaseSensitive(b, "text"), "plain_text", 150, false,
                       "header");
        } else if (strcmp(type, "section") == 0) {
            if (cJSON_GetObjectItemCaseSensitive(b, "text"))
                s_text_obj(cJSON_GetObjectItemCaseSensitive(b, "text"), NULL, 3000, true,
                           "section");
            arr = cJSON_GetObjectItemCaseSensitive(b, "fields");
            FUZZ_CHECK(!arr || cJSON_GetArraySize(arr) <= 10, "%d fields",
                       cJSON_GetArraySize(arr));
            cJSON_ArrayForEach(e, arr)
                s_text_obj(e, NULL, 2000, true, "field");
        } else if (strcmp(type, "context") == 0) {
            arr = cJSON_GetObjectItemCaseSensitive(b, "elements");
            FUZZ_CHECK(cJSON_GetArraySize(arr) >= 1 && cJSON_GetArraySize(arr) <= 10,
                       "%d context elements", cJSON_GetArraySize(arr));
            cJSON_ArrayForEach(e, arr)
                s_text_obj(e, NULL, 3000, true, "context");
        } else {
            FUZZ_CHECK(strcmp(type, "divider") == 0, "unexpected block type %s", type);
        }
        i++;
    }
    cJSON_Delete(root);
}

static void s_check_json(const struct wc_buf *j, const char *what)
{
    cJSON *v;

    FUZZ_CHECK(fuzz_utf8_valid(j->ptr, j->len), "%s is not UTF-8: %s", what, j->ptr);
    v = cJSON_ParseWithLength(j->ptr, j->len);
    FUZZ_CHECK(cJSON_IsObject(v), "%s is not a JSON object: %s", what, j->ptr);
    cJSON_Delete(v);
}

/* --- the run ------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct wc_finding *list[S_MAX_NOTICE];
    struct wc_event_list events = WC_EVENT_LIST_INIT;
    struct wc_notification *n = NULL;
    struct wc_finding *f = NULL;
    struct wc_notice notice;
    struct wc_notifier *slack;
    struct wc_buf out = WC_BUF_INIT;
    struct wc_str parts[3];
    unsigned opts;
    char *alias = NULL;
    bool have_events;
    int rc;

    fuzz_split(data, size, FUZZ_SEP, parts, 3);
    if (wc_notification_parse(parts[0], &n, NULL, 0) != WC_OK)
        return 0;
    have_events = parts[1].len > 0 && wc_events_parse(parts[1], &events, NULL, 0) == WC_OK;
    rc = wc_finding_decide(&s_policy, n, have_events ? &events : NULL, &f);
    FUZZ_CHECK(rc == WC_OK && f, "no finding: %s", wc_strerror(rc));
    FUZZ_CHECK(f->verdict >= WC_VERDICT_IGNORED && f->verdict <= WC_VERDICT_UNATTRIBUTED,
               "verdict %d", (int)f->verdict);

    FUZZ_CHECK(wc_finding_to_json(f, false, &out) == WC_OK, "finding JSON failed");
    s_check_json(&out, "the finding JSON");
    FUZZ_CHECK(memchr(out.ptr, '\n', out.len) == NULL, "compact finding JSON spans lines");
    wc_buf_reset(&out);

    opts = parts[2].len ? (unsigned char)parts[2].ptr[0] : 0;
    /* the alias comes from the configuration, which libyaml only reads as
     * UTF-8: keep it to that */
    if (parts[2].len > 1 && fuzz_utf8_valid(parts[2].ptr + 1, parts[2].len - 1))
        alias = fuzz_cstr((struct wc_str){parts[2].ptr + 1, parts[2].len - 1});
    memset(&notice, 0, sizeof(notice));
    notice.n_findings = 1 + (opts & 31) % S_MAX_NOTICE;
    for (size_t i = 0; i < notice.n_findings; i++)
        list[i] = f;
    notice.findings = list;
    notice.account_alias = alias;
    if (opts & 0x80) {
        notice.thread_ts = "1714564800.000100";
        notice.part = 2;
        notice.parts = 3;
    }
    slack = (opts & 0x40) ? s_bot : s_hook;
    if (wc_notifier_digests(slack))
        notice.n_findings = wc_notifier_fit(slack, &notice);
    rc = wc_notifier_render(slack, &notice, &out);
    FUZZ_CHECK(rc == WC_OK, "Slack render failed: %s", wc_strerror(rc));
    s_check_slack(&out);
    wc_buf_reset(&out);

    notice.n_findings = 1;
    notice.thread_ts = NULL;
    notice.part = notice.parts = 0;
    rc = wc_notifier_render(s_webhook, &notice, &out);
    FUZZ_CHECK(rc == WC_OK, "webhook render failed: %s", wc_strerror(rc));
    s_check_json(&out, "the webhook payload");

    wc_buf_clean_up(&out);
    free(alias);
    wc_finding_destroy(f);
    wc_event_list_clean_up(&events);
    wc_notification_destroy(n);
    return 0;
}
