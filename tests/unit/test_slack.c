/* Unit tests for notifiers/slack (and notifiers/mrkdwn, notifiers/deliver):
 * Block Kit payload, escaping of AWS data, limits, request shape, retries. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/change.h"
#include "core/err.h"
#include "core/event.h"
#include "core/finding.h"
#include "core/log.h"
#include "core/notifier.h"
#include "core/policy.h"
#include "notifiers/mrkdwn.h"
#include "notifiers/notifiers.h"
#include "tests/support/notif_fakes.h"

#define HOOK_URL "https://hooks.slack.com/services/T0000TEST/B0000TEST/abcdefSECRETxyz"
#define BOT_TOKEN "xoxb-1111-2222-SECRETbottoken"
#define ACCOUNT "123456789012"

/* --- helpers ---------------------------------------------------------------- */

struct env {
    struct notif_fake_http http;
    struct notif_sleeps sleeps;
    struct notif_log log;
    struct wc_logger *logger;
    struct wc_notifier *n;
};

static void s_env_init(struct env *e, const struct notif_fake_reply *script, size_t n_script,
                       bool bot)
{
    static const struct wc_notifier_kv channels[] = {{ACCOUNT, "C0PROD"}};
    static const struct wc_notifier_kv aliases[] = {{ACCOUNT, "production"}};
    struct wc_notifier_options o = {0};

    memset(e, 0, sizeof(*e));
    notif_fake_http_init(&e->http, script, n_script);
    e->logger = notif_log_new(&e->log, WC_LOG_INFO);
    o.id = "slack#0";
    o.http = &e->http.http;
    o.logger = e->logger;
    o.sleep_ms = notif_sleep_record;
    o.sleep_ctx = &e->sleeps;
    o.account_aliases = aliases;
    o.n_account_aliases = 1;
    if (bot) {
        o.bot_token = BOT_TOKEN;
        o.channel = "#whochanged";
        o.channel_by_account = channels;
        o.n_channel_by_account = 1;
        o.api_base_url = "http://127.0.0.1:9/api/";
    } else {
        o.webhook_url = HOOK_URL;
    }
    e->n = wc_slack_notifier_new(&o);
    assert_non_null(e->n);
}

static void s_env_clean_up(struct env *e)
{
    wc_notifier_destroy(e->n);
    wc_logger_destroy(e->logger);
    notif_fake_http_clean_up(&e->http);
}

static cJSON *s_render(struct wc_notifier *n, const struct wc_notice *notice)
{
    struct wc_buf out = WC_BUF_INIT;
    cJSON *root;

    assert_int_equal(wc_notifier_render(n, notice, &out), WC_OK);
    root = cJSON_Parse(out.ptr);
    assert_non_null(root);
    wc_buf_clean_up(&out);
    return root;
}

/* Every string value in the tree, joined by newlines. */
static void s_collect_strings(const cJSON *node, struct wc_buf *out)
{
    const cJSON *c;

    if (cJSON_IsString(node)) {
        assert_int_equal(wc_buf_append_cstr(out, node->valuestring), WC_OK);
        assert_int_equal(wc_buf_append_char(out, '\n'), WC_OK);
    }
    cJSON_ArrayForEach(c, node)
        s_collect_strings(c, out);
}

/* Text of every mrkdwn/plain_text object and the fallback text. */
static size_t s_texts(const cJSON *node, const char **out, size_t max, size_t n)
{
    const cJSON *c, *t = cJSON_GetObjectItemCaseSensitive(node, "text");

    if (cJSON_IsString(t) && n < max)
        out[n++] = t->valuestring;
    cJSON_ArrayForEach(c, node)
        n = s_texts(c, out, max, n);
    return n;
}

static size_t s_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static const cJSON *s_blocks(const cJSON *root)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "blocks");

    assert_true(cJSON_IsArray(b));
    return b;
}

static const char *s_block_type(const cJSON *b)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");

    assert_true(cJSON_IsString(t));
    return t->valuestring;
}

/* The fields section's field whose text starts with label. */
static const char *s_field(const cJSON *root, const char *label)
{
    const cJSON *b, *f;

    cJSON_ArrayForEach(b, s_blocks(root))
    {
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(b, "fields"))
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "text");
            if (cJSON_IsString(t) && strncmp(t->valuestring, label, strlen(label)) == 0)
                return t->valuestring;
        }
    }
    return NULL;
}

/* The text of the first section whose text starts with prefix. */
static const char *s_section_starting(const cJSON *root, const char *prefix)
{
    const cJSON *b;

    cJSON_ArrayForEach(b, s_blocks(root))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(b, "text"), "text");

        if (strcmp(s_block_type(b), "section") == 0 && cJSON_IsString(t) &&
            strncmp(t->valuestring, prefix, strlen(prefix)) == 0)
            return t->valuestring;
    }
    fail_msg("no section starting with %s", prefix);
    return NULL;
}

/* The text of element i of the first context block. */
static const char *s_context_text(const cJSON *root, int i)
{
    const cJSON *b;

    cJSON_ArrayForEach(b, s_blocks(root))
    {
        const cJSON *el = cJSON_GetObjectItemCaseSensitive(b, "elements");

        if (strcmp(s_block_type(b), "context") == 0 && cJSON_IsArray(el)) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(el, i), "text");

            assert_true(cJSON_IsString(t));
            return t->valuestring;
        }
    }
    fail_msg("no context block");
    return NULL;
}

static struct wc_finding *s_scenario_finding(void)
{
    struct wc_buf note = WC_BUF_INIT, evs = WC_BUF_INIT;
    struct wc_notification *n = NULL;
    struct wc_event_list list = WC_EVENT_LIST_INIT;
    struct wc_policy pol;
    struct wc_finding *f = NULL;
    char err[256];

    wc_test_read_data("scenarios/sg-sso-console/notification.json", &note);
    wc_test_read_ref("samples/cloudtrail/lookup-events-response.wire.constructed.json", &evs);
    assert_int_equal(wc_notification_parse(wc_buf_str(&note), &n, err, sizeof(err)), WC_OK);
    assert_int_equal(wc_events_parse(wc_buf_str(&evs), &list, err, sizeof(err)), WC_OK);
    assert_int_equal(wc_policy_init_defaults(&pol), WC_OK);
    assert_int_equal(wc_finding_decide(&pol, n, &list, &f), WC_OK);
    assert_int_equal(f->verdict, WC_VERDICT_HUMAN);
    wc_policy_clean_up(&pol);
    wc_event_list_clean_up(&list);
    wc_notification_destroy(n);
    wc_buf_clean_up(&note);
    wc_buf_clean_up(&evs);
    return f;
}

static const struct notif_fake_reply s_ok[] = {{200, "ok", NULL, WC_OK}};
static const struct notif_fake_reply s_api_ok[] = {
    {200, "{\"ok\":true,\"ts\":\"1.2\"}", NULL, WC_OK}};

/* --- payload ---------------------------------------------------------------- */

static void test_payload_from_scenario(void **state)
{
    struct wc_finding *f = s_scenario_finding();
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct env e;
    cJSON *root;
    const cJSON *blocks, *hdr;
    const char *who, *where, *how, *when;
    struct wc_buf all = WC_BUF_INIT;
    char want[512];

    (void)state;
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "channel")); /* webhook: fixed channel */
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "text")));
    blocks = s_blocks(root);
    assert_true(cJSON_GetArraySize(blocks) <= 50);
    hdr = cJSON_GetArrayItem(blocks, 0);
    assert_string_equal(s_block_type(hdr), "header");
    /* who did what to which resource; the SSO role as its permission set */
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(hdr, "text"), "text")
            ->valuestring,
        "alice@example.com (SSO AdministratorAccess) AuthorizeSecurityGroupIngress on "
        "sg-0123456789abcdef0");
    /* then the verdict and the account, and what the record says of MFA */
    assert_string_equal(s_block_type(cJSON_GetArrayItem(blocks, 1)), "context");
    assert_string_equal(s_context_text(root, 0),
                        "*Manual change in production (" ACCOUNT ")* \xc2\xb7 eu-west-1");
    assert_string_equal(s_context_text(root, 1), ":warning: signed in *without MFA*");
    who = s_field(root, "*Who*");
    where = s_field(root, "*Where*");
    how = s_field(root, "*How*");
    when = s_field(root, "*When*");
    assert_non_null(who);
    assert_non_null(where);
    assert_non_null(how);
    assert_non_null(when);
    /* SSO user by session name, then the permission set, the ARN, MFA */
    assert_non_null(strstr(who, "*Who*\nalice@example.com\nSSO AdministratorAccess\n`"));
    assert_non_null(strstr(who, f->matches[0].cls.actor.arn));
    assert_non_null(strstr(who, "\nMFA: *no*"));
    assert_non_null(strstr(where, ACCOUNT " (production)"));
    assert_non_null(strstr(where, "eu-west-1"));
    assert_non_null(strstr(how, "AWS console"));
    assert_non_null(strstr(how, f->matches[0].event.source_ip));
    /* times in the reader's time zone, ISO as the fallback */
    assert_non_null(strstr(when, "^{date_short_pretty} {time}|2024-05-01T11:59:10Z> (CloudTrail)"));
    assert_non_null(strstr(when, "<!date^1714564770^{date_short_pretty} {time}|"
                                 "2024-05-01T11:59:30Z> (recorded by Config)"));

    s_collect_strings(root, &all);
    /* what: event name, resource type and id, the diff */
    snprintf(want, sizeof(want), "*What*: *%s* on AWS::EC2::SecurityGroup `sg-0123456789abcdef0`",
             f->matches[0].event.event_name);
    assert_non_null(strstr(all.ptr, want));
    /* the rule, readable, whole */
    assert_non_null(
        strstr(all.ptr, "`Configuration.IpPermissions.0` CREATE: + `tcp/22 from 0.0.0.0/0`"));
    /* and the full value behind it, in its own block */
    assert_non_null(strstr(all.ptr, "*Full values*\n```\nConfiguration.IpPermissions.0 CREATE\n"
                                    "  after:  {\"ipProtocol\":\"tcp\",\"fromPort\":22,"
                                    "\"toPort\":22,\"ipRanges\":[\"0.0.0.0/0\"]}\n```"));
    /* links, URL-encoded, & escaped inside mrkdwn */
    snprintf(want, sizeof(want),
             "<https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1"
             "#/events/%s|CloudTrail event>",
             f->matches[0].event.event_id);
    assert_non_null(strstr(all.ptr, want));
    assert_non_null(strstr(all.ptr, "<https://eu-west-1.console.aws.amazon.com/config/home?"
                                    "region=eu-west-1#/resources/timeline?resourceId="
                                    "sg-0123456789abcdef0&amp;resourceType="
                                    "AWS%3A%3AEC2%3A%3ASecurityGroup|Config timeline>"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

/* A Slack date of ours: <!date^DIGITS^{date_short_pretty} {time}| or
 * <!date^DIGITS^{time}|. */
static bool s_is_date(const char *p)
{
    static const char fmt[] = "^{date_short_pretty} {time}|", fmt2[] = "^{time}|";

    if (strncmp(p, "<!date^", 7) != 0)
        return false;
    p += 7;
    if (*p == '-')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    return strncmp(p, fmt, sizeof(fmt) - 1) == 0 || strncmp(p, fmt2, sizeof(fmt2) - 1) == 0;
}

/* Every '<' in text is one of our own console links or dates and every '&'
 * an entity: nothing from AWS data can mention, link or break out. */
static void s_assert_safe_text(const char *t)
{
    for (const char *p = t; (p = strchr(p, '<')) != NULL; p++)
        assert_true(strncmp(p, "<https://eu-west-1.console.aws.amazon.com/", 42) == 0 ||
                    strncmp(p, "<https://us-east-1.console.aws.amazon.com/", 42) == 0 ||
                    s_is_date(p));
    for (const char *p = t; (p = strchr(p, '&')) != NULL; p++)
        assert_true(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
                    strncmp(p, "&gt;", 4) == 0);
}

/* Every mrkdwn text object is verbatim (no auto-linking of bare URLs,
 * #channels or @mentions). */
static size_t s_assert_verbatim(const cJSON *node)
{
    const cJSON *c, *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    size_t n = 0;

    if (cJSON_IsString(type) && strcmp(type->valuestring, "mrkdwn") == 0) {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "verbatim")));
        n++;
    }
    cJSON_ArrayForEach(c, node)
        n += s_assert_verbatim(c);
    return n;
}

static void test_hostile_names_escaped(void **state)
{
    static const char *const raw[] = {"<!channel>", "<@U123>", "<https://evil|x>", "<!here>",
                                      "<!everyone>", "<#C999>", "a > b", "<!subteam^S1>"};
    struct notif_spec sp = {0};
    struct wc_finding *f1, *f2;
    const struct wc_finding *fs[2];
    struct wc_notice notice = {.findings = fs, .n_findings = 2, .account_alias = "<!channel> & co"};
    const char *texts[256];
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;
    size_t n;

    (void)state;
    sp.resource_name = "<!channel> & <@U123>";
    sp.resource_id = "sg-<https://evil|x>";
    sp.user_agent = "Mozilla <https://evil|x> `rm -rf` && <!here>";
    sp.session_name = "<!everyone>";
    sp.event_name = "Put<#C999>";
    sp.prop_path = "Tags.<!subteam^S1>";
    sp.prop_after = "\"a > b\" & <!channel>";
    sp.source_ip = "<!here>";
    f1 = notif_finding_new(&sp);
    sp.resource_id = "i-<@U123>\n> quoted";
    sp.verdict = WC_VERDICT_HUMAN;
    f2 = notif_finding_new(&sp);
    fs[0] = f1;
    fs[1] = f2;
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);

    s_collect_strings(root, &all);
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
        assert_null(strstr(all.ptr, raw[i]));
    /* shown escaped, not dropped */
    assert_non_null(strstr(all.ptr, "&lt;!channel&gt; &amp; &lt;@U123&gt;"));
    assert_non_null(strstr(all.ptr, "&lt;!everyone&gt;"));
    assert_non_null(strstr(all.ptr, "&lt;https://evil|x&gt;"));
    /* a backtick run cannot close the code span early; newlines flattened */
    assert_null(strstr(all.ptr, "`rm -rf`"));
    assert_null(strstr(all.ptr, "\n&gt; quoted"));
    n = s_texts(root, texts, 256, 0);
    assert_true(n > 5);
    assert_true(s_assert_verbatim(root) >= 6);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "link_names")));
    for (size_t i = 0; i < n; i++)
        s_assert_safe_text(texts[i]);
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
}

static void test_coalesced_lists_all(void **state)
{
    static const char *const ids[] = {"sg-aaaa1111", "sg-bbbb2222", "sg-cccc3333"};
    struct notif_spec sp = {0};
    struct wc_finding *f[3];
    const struct wc_finding *fs[3];
    struct wc_notice notice = {.findings = fs, .n_findings = 3, .account_alias = NULL};
    struct wc_buf all = WC_BUF_INIT;
    const cJSON *text, *hdr;
    struct env e;
    cJSON *root;
    size_t sections = 0;
    const cJSON *b;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        sp.resource_id = ids[i];
        fs[i] = f[i] = notif_finding_new(&sp);
    }
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_collect_strings(root, &all);
    for (size_t i = 0; i < 3; i++) {
        char want[128];

        snprintf(want, sizeof(want), "on AWS::EC2::SecurityGroup `%s`", ids[i]);
        assert_non_null(strstr(all.ptr, want));
        snprintf(want, sizeof(want), "resourceId=%s&amp;", ids[i]);
        assert_non_null(strstr(all.ptr, want));
    }
    cJSON_ArrayForEach(b, s_blocks(root))
        if (strcmp(s_block_type(b), "section") == 0 &&
            cJSON_GetObjectItemCaseSensitive(b, "text"))
            sections++;
    assert_int_equal(sections, 3);
    /* several findings: a digest, whose header names the actor */
    hdr = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(s_blocks(root), 0), "text");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(hdr, "text")->valuestring,
                        "alice@example.com changed 3 resources in production (" ACCOUNT ")");
    text = cJSON_GetObjectItemCaseSensitive(root, "text");
    assert_non_null(strstr(text->valuestring, "and 2 more resources"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    for (size_t i = 0; i < 3; i++)
        wc_finding_destroy(f[i]);
}

static void s_assert_limits(const cJSON *root)
{
    const cJSON *b;

    assert_true(cJSON_GetArraySize(s_blocks(root)) <= 50);
    cJSON_ArrayForEach(b, s_blocks(root))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text"), *f;

        if (t) {
            size_t len = s_utf8_chars(cJSON_GetObjectItemCaseSensitive(t, "text")->valuestring);
            assert_true(len <= (strcmp(s_block_type(b), "header") == 0 ? 150u : 3000u));
        }
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(b, "fields"))
            assert_true(s_utf8_chars(cJSON_GetObjectItemCaseSensitive(f, "text")->valuestring) <=
                        2000);
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(b, "elements"))
            assert_true(s_utf8_chars(cJSON_GetObjectItemCaseSensitive(f, "text")->valuestring) <=
                        3000);
    }
}

static void test_long_diff_truncated(void **state)
{
    char big[1500];
    const char *texts[64];
    size_t n_texts;
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;
    size_t lines = 0;
    const char *what, *full;

    (void)state;
    memset(big, '&', sizeof(big) - 1); /* escaping grows it fivefold */
    big[sizeof(big) - 1] = '\0';
    sp.n_props = 50;
    sp.n_props_total = 120;
    sp.prop_after = big;
    sp.user_agent = big;
    sp.resource_name = big;
    sp.session_name = big; /* Who and the fallback text get cut */
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_assert_limits(root);
    /* cuts never leave half an entity */
    n_texts = s_texts(root, texts, 64, 0);
    for (size_t i = 0; i < n_texts; i++)
        s_assert_safe_text(texts[i]);
    s_collect_strings(root, &all);
    for (const char *p = all.ptr;
         (p = strstr(p, "\xe2\x80\xa2 `Configuration.IpPermissions.")) != NULL; p++)
        lines++;
    assert_true(lines >= 1 && lines <= 10);
    {
        char want[64];
        snprintf(want, sizeof(want), "and %zu more changed properties", (size_t)120 - lines);
        assert_non_null(strstr(all.ptr, want));
    }
    /* values are shortened in the What lines, with an ellipsis; the full
     * values block holds more of them, within its section */
    what = s_section_starting(root, "*What*");
    full = s_section_starting(root, "*Full values*\n```\n");
    assert_true(strlen(full) <= 2900);
    assert_non_null(strstr(full, "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                 "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"));
    assert_string_equal(full + strlen(full) - 3, "```");
    assert_null(strstr(what, "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"));
    assert_non_null(strstr(what, "&amp;\xe2\x80\xa6`"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

/* Found by tests/fuzz/fuzz_slack: the links context had no cap, so a huge
 * resource id (url-encoded, up to three times longer) made a context
 * element of thousands of bytes, which Slack refuses (invalid_blocks). A
 * link too long to fit is now left out; one that fits stays. */
static void test_huge_ids_leave_links_out(void **state)
{
    static char id[2500], event_id[300];
    const char *texts[64];
    size_t n_texts;
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;

    (void)state;
    memset(id, ':', sizeof(id) - 1);             /* %3A: three times longer */
    memset(event_id, 'e', sizeof(event_id) - 1); /* fits */
    sp.resource_id = id;
    sp.event_id = event_id;
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_assert_limits(root);
    n_texts = s_texts(root, texts, 64, 0);
    for (size_t i = 0; i < n_texts; i++)
        s_assert_safe_text(texts[i]);
    s_collect_strings(root, &all);
    assert_non_null(strstr(all.ptr, "|CloudTrail event>"));
    assert_null(strstr(all.ptr, "|Config timeline>"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

/* Console links follow the region's partition (core/awsid.c); the
 * isolated partitions have no public console: no link. */
static void test_console_links_per_partition(void **state)
{
    static const struct {
        const char *region, *lookup_region, *trail, *config;
    } rows[] = {
        {"eu-west-1", NULL, "<https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/",
         "<https://eu-west-1.console.aws.amazon.com/config/home?region=eu-west-1#/resources/"},
        {"us-gov-west-1", NULL, "<https://console.amazonaws-us-gov.com/cloudtrail/home?region=us-gov-west-1#/events/",
         "<https://console.amazonaws-us-gov.com/config/home?region=us-gov-west-1#/resources/"},
        {"cn-northwest-1", NULL, "<https://console.amazonaws.cn/cloudtrail/home?region=cn-northwest-1#/events/",
         "<https://console.amazonaws.cn/config/home?region=cn-northwest-1#/resources/"},
        /* a GovCloud IAM role: "global", looked up in us-gov-west-1 */
        {"global", "us-gov-west-1", "<https://console.amazonaws-us-gov.com/cloudtrail/home?region=us-gov-west-1#/events/",
         "<https://console.amazonaws-us-gov.com/config/home?region=us-gov-west-1#/resources/"},
        {"us-iso-east-1", NULL, NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct notif_spec sp = {.region = rows[i].region, .lookup_region = rows[i].lookup_region};
        struct wc_finding *f = notif_finding_new(&sp);
        const struct wc_finding *fs[] = {f};
        struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
        struct wc_buf all = WC_BUF_INIT;
        struct env e;
        cJSON *root;

        s_env_init(&e, s_ok, 1, false);
        root = s_render(e.n, &notice);
        s_collect_strings(root, &all);
        if (rows[i].trail) {
            if (!strstr(all.ptr, rows[i].trail) || !strstr(all.ptr, rows[i].config))
                fail_msg("%s: links not found in %s", rows[i].region, all.ptr);
        } else {
            assert_null(strstr(all.ptr, "|CloudTrail event>"));
            assert_null(strstr(all.ptr, "|Config timeline>"));
        }
        assert_null(strstr(all.ptr, "global.console"));
        wc_buf_clean_up(&all);
        cJSON_Delete(root);
        s_env_clean_up(&e);
        wc_finding_destroy(f);
    }
}

static void test_many_resources_within_block_limit(void **state)
{
    enum { N = 40 };
    struct notif_spec sp = {0};
    struct wc_finding *f[N];
    const struct wc_finding *fs[N];
    struct wc_notice notice = {.findings = fs, .n_findings = N, .account_alias = NULL};
    struct wc_buf all = WC_BUF_INIT;
    char ids[N][32];
    struct env e;
    cJSON *root;

    (void)state;
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "sg-%08zu", i);
        sp.resource_id = ids[i];
        sp.n_props = 12;
        fs[i] = f[i] = notif_finding_new(&sp);
    }
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_assert_limits(root);
    s_collect_strings(root, &all);
    assert_non_null(strstr(all.ptr, "`sg-00000000`"));
    /* more than one message holds (the pipeline splits with fit; a dry run
     * may not): the rest is counted, not silently dropped */
    assert_non_null(strstr(all.ptr, "more changes not shown here"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    for (size_t i = 0; i < N; i++)
        wc_finding_destroy(f[i]);
}

static void test_other_events_listed(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;
    size_t also = 0;

    (void)state;
    sp.n_events = 6;
    sp.iam_user = true;
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_collect_strings(root, &all);
    /* the first event is the headline, three more are listed, two counted */
    assert_non_null(strstr(all.ptr, "*What*: *AuthorizeSecurityGroupIngress* on"));
    for (const char *p = all.ptr; (p = strstr(p, "also: *ModifySecurityGroupRules* by Alice at "));
         p++)
        also++;
    assert_int_equal(also, 3);
    assert_non_null(strstr(all.ptr, "also: 2 more matching events"));
    assert_non_null(
        strstr(all.ptr, "*Who*\nAlice\nIAM user\n`arn:aws:iam::123456789012:user/Alice`"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

static void test_unattributed_header(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;

    (void)state;
    sp.verdict = WC_VERDICT_UNATTRIBUTED;
    sp.no_event = true;
    sp.account_id = "210987654321"; /* no alias configured */
    sp.reason = "no CloudTrail write event <!channel>";
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_collect_strings(root, &all);
    assert_non_null(strstr(all.ptr, "Unattributed change to AWS::EC2::SecurityGroup "
                                    "sg-0123456789abcdef0\n"));
    assert_non_null(strstr(all.ptr, "*Unattributed change in account 210987654321*"));
    assert_non_null(strstr(all.ptr, "*Who*\nunknown (no matching CloudTrail event)"));
    assert_non_null(strstr(all.ptr, "no CloudTrail write event &lt;!channel&gt;"));
    assert_null(strstr(all.ptr, "CloudTrail event>")); /* no event link */
    assert_non_null(strstr(all.ptr, "|Config timeline>"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

/* --- digests ----------------------------------------------------------------- */

#define LONG_AFTER                                                                         \
    "{\"fromPort\":443,\"toPort\":443,\"ipProtocol\":\"tcp\",\"ipRanges\":[{\"cidrIp\":"     \
    "\"0.0.0.0/0\",\"description\":\"temporary access for the migration of the billing "     \
    "service & co, remove after 2024-06-01\"}],\"prefixListIds\":[]}"

/* A finding by alice's session: with long names (an ARN as id, a long
 * name, a long diff) or as a typical security group change. */
static struct wc_finding *s_digest_finding(size_t i, bool lengthy, char id[128], char name[128])
{
    struct notif_spec sp = {0};

    if (lengthy) {
        snprintf(id, 128, "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789ab%06zu",
                 i);
        snprintf(name, 128,
                 "production-customer-facing-web-tier-ingress-for-the-public-load-balancer-%06zu",
                 i);
        sp.resource_name = name;
        sp.n_props = 12;
        sp.n_props_total = 30;
        sp.prop_path = "Configuration.IpPermissions.Items.IpRanges.Description";
        sp.prop_after = LONG_AFTER;
    } else {
        snprintf(id, 128, "sg-0123456789ab%05zu", i);
        snprintf(name, 128, "web-%zu", i);
        sp.resource_name = name;
        sp.n_props = 2;
    }
    sp.resource_id = id;
    sp.access_key_id = "ASIAEXAMPLEALICE0001";
    return notif_finding_new(&sp);
}

static struct wc_finding *s_long_finding(size_t i, char id[128], char name[128])
{
    return s_digest_finding(i, true, id, name);
}

/* Every Slack limit, in bytes (stricter than Slack's characters), and the
 * total for the text of all blocks together. Returns the number of
 * finding sections (sections with a text). */
static size_t s_assert_limits_bytes(const cJSON *root)
{
    const cJSON *b, *f;
    size_t total = 0, sections = 0;

    assert_true(cJSON_GetArraySize(s_blocks(root)) <= 50);
    cJSON_ArrayForEach(b, s_blocks(root))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
        const char *type = s_block_type(b);

        if (t) {
            size_t len = strlen(cJSON_GetObjectItemCaseSensitive(t, "text")->valuestring);

            assert_true(len <= (strcmp(type, "header") == 0 ? 150u : 3000u));
            total += len;
            sections += strcmp(type, "section") == 0;
        }
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "fields")) <= 10);
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(b, "fields"))
        {
            size_t len = strlen(cJSON_GetObjectItemCaseSensitive(f, "text")->valuestring);

            assert_true(len <= 2000);
            total += len;
        }
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "elements")) <= 10);
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(b, "elements"))
        {
            size_t len = strlen(cJSON_GetObjectItemCaseSensitive(f, "text")->valuestring);

            assert_true(len <= 3000);
            total += len;
        }
    }
    /* Slack's undocumented total (msg_blocks_too_long): text plus about
     * 125 a block, at most ~13,300; we keep under 13,000 */
    assert_true(total + 125 * (size_t)cJSON_GetArraySize(s_blocks(root)) <= 13000);
    assert_true(strlen(cJSON_GetObjectItemCaseSensitive(root, "text")->valuestring) <= 4000);
    return sections;
}

static const char *s_header(const cJSON *root)
{
    const cJSON *hdr = cJSON_GetArrayItem(s_blocks(root), 0);

    assert_string_equal(s_block_type(hdr), "header");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(hdr, "text"), "text")
        ->valuestring;
}

/* Split n findings with fit as the pipeline does, render every part and
 * check it; returns the number of parts. min_per_part: the least a part
 * (but the last) must hold. */
static size_t s_split_and_check(size_t n, bool lengthy, size_t min_per_part)
{
    struct wc_finding **f = calloc(n, sizeof(*f));
    const struct wc_finding **fs = calloc(n, sizeof(*fs));
    char (*ids)[128] = calloc(n, 128), (*names)[128] = calloc(n, 128);
    size_t cuts[64], n_parts = 0, off = 0;
    struct env e;

    assert_non_null(f);
    assert_non_null(fs);
    assert_non_null(ids);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++)
        fs[i] = f[i] = s_digest_finding(i, lengthy, ids[i], names[i]);
    s_env_init(&e, s_ok, 1, false);
    while (off < n) {
        struct wc_notice rest = {.findings = fs + off, .n_findings = n - off};
        size_t k = wc_notifier_fit(e.n, &rest);

        assert_true(k >= 1 && k <= n - off);
        assert_true(n_parts < 64);
        cuts[n_parts++] = k;
        off += k;
    }
    off = 0;
    for (size_t p = 0; p < n_parts; p++) {
        struct wc_notice part = {.findings = fs + off, .n_findings = cuts[p]};
        struct wc_buf all = WC_BUF_INIT;
        char want[160];
        cJSON *root;

        if (n_parts > 1) {
            part.part = (int)p + 1;
            part.parts = (int)n_parts;
        }
        root = s_render(e.n, &part);
        if (p + 1 < n_parts && cuts[p] < min_per_part)
            fail_msg("n %zu lengthy %d: part %zu holds %zu < %zu", n, lengthy, p, cuts[p],
                     min_per_part);
        /* n = 1: the single layout, What and the full values; else one
         * section per finding */
        assert_int_equal(s_assert_limits_bytes(root), n == 1 ? 2 : cuts[p]);
        s_collect_strings(root, &all);
        for (size_t i = off; i < off + cuts[p]; i++) {
            snprintf(want, sizeof(want), "`%s`", ids[i]);
            assert_non_null(strstr(all.ptr, want));
        }
        assert_null(strstr(all.ptr, "not shown"));
        assert_null(strstr(all.ptr, "more resources changed"));
        if (n > 1) {
            snprintf(want, sizeof(want),
                     "alice@example.com changed %zu resource%s in production (" ACCOUNT ")",
                     cuts[p], cuts[p] == 1 ? "" : "s");
            assert_true(strncmp(s_header(root), want, strlen(want)) == 0);
            if (n_parts > 1) {
                snprintf(want, sizeof(want), " (part %zu of %zu)", p + 1, n_parts);
                assert_non_null(strstr(s_header(root), want));
            }
        }
        /* what fit promised, render holds: the part fits whole */
        assert_int_equal(wc_notifier_fit(e.n, &part), cuts[p]);
        wc_buf_clean_up(&all);
        cJSON_Delete(root);
        off += cuts[p];
    }
    s_env_clean_up(&e);
    for (size_t i = 0; i < n; i++)
        wc_finding_destroy(f[i]);
    free(f);
    free(fs);
    free(ids);
    free(names);
    return n_parts;
}

/* --- the risk at a glance (issue 9, item 8) -------------------------------- */

static const char *s_header_of(const cJSON *root)
{
    const cJSON *hdr = cJSON_GetArrayItem(s_blocks(root), 0);

    assert_string_equal(s_block_type(hdr), "header");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(hdr, "text"), "text")
        ->valuestring;
}

/* A security-group rule opened to the world on a CloudFormation-managed
 * group, without MFA: the header says who did what to which group, the
 * context says drift and no MFA, the What lines show each rule whole. */
static void test_risk_security_group(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1};
    const char *what;
    struct env e;
    cJSON *root;

    (void)state;
    sp.role_name = "AWSReservedSSO_AdministratorAccess_0123456789abcdef";
    sp.resource_name = "web-prod";
    sp.after_summary = "tcp/22 from 0.0.0.0/0\ntcp/22 from ::/0";
    sp.prop_after = "{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,\"ipRanges\":"
                    "[\"0.0.0.0/0\"],\"ipv4Ranges\":[{\"cidrIp\":\"0.0.0.0/0\",\"description\":"
                    "\"a description long enough to push the CIDR past 80 bytes\"}]}";
    sp.mfa = WC_MFA_NO;
    sp.owner_tag = "aws:cloudformation:stack-name";
    sp.owner_value = "web-prod-stack";
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_assert_limits(root);
    assert_string_equal(s_header_of(root), "alice@example.com (SSO AdministratorAccess) "
                                           "AuthorizeSecurityGroupIngress on "
                                           "sg-0123456789abcdef0 (web-prod)");
    assert_string_equal(s_context_text(root, 0),
                        "*Manual change in production (" ACCOUNT ")* \xc2\xb7 eu-west-1");
    assert_string_equal(s_context_text(root, 1), ":warning: *Drift* on a resource managed by "
                                                 "CloudFormation stack `web-prod-stack`");
    assert_string_equal(s_context_text(root, 2), ":warning: signed in *without MFA*");
    what = s_section_starting(root, "*What*");
    assert_non_null(strstr(what, "\xe2\x80\xa2 `Configuration.IpPermissions.0` CREATE:\n"
                                 "      + `tcp/22 from 0.0.0.0/0`\n"
                                 "      + `tcp/22 from ::/0`"));
    /* the value itself is in the full values, whole */
    assert_non_null(strstr(s_section_starting(root, "*Full values*"), "a description long "
                                                                        "enough to push the "
                                                                        "CIDR past 80 bytes"));
    assert_non_null(strstr(s_field(root, "*Who*"), "\nSSO AdministratorAccess\n"));
    cJSON_Delete(root);
    wc_finding_destroy(f);

    /* automation on a managed resource is not drift; a tag of ownership_tags
     * names its tag */
    sp.verdict = WC_VERDICT_AUTOMATION;
    sp.owner_tag = "ManagedBy";
    sp.owner_value = "terraform";
    sp.mfa = WC_MFA_YES;
    fs[0] = f = notif_finding_new(&sp);
    root = s_render(e.n, &notice);
    assert_null(strstr(s_context_text(root, 1), "Drift"));
    assert_string_equal(s_context_text(root, 1), "MFA: yes");
    cJSON_Delete(root);
    wc_finding_destroy(f);
    sp.verdict = WC_VERDICT_UNATTRIBUTED;
    sp.no_event = true;
    fs[0] = f = notif_finding_new(&sp);
    root = s_render(e.n, &notice);
    assert_string_equal(s_context_text(root, 1), ":warning: *Drift* on a resource managed by "
                                                 "`terraform` (tag `ManagedBy`)");
    cJSON_Delete(root);
    wc_finding_destroy(f);
    s_env_clean_up(&e);
}

/* A policy change shows the statements added and removed, not the ones
 * that stayed; a digest shows the first and a count. */
static void test_policy_statements_diff(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f[2];
    const struct wc_finding *fs[2];
    struct wc_notice one = {.findings = fs, .n_findings = 1};
    struct wc_notice two = {.findings = fs, .n_findings = 2};
    const char *what;
    struct env e;
    cJSON *root;

    (void)state;
    sp.resource_type = "AWS::S3::Bucket";
    sp.resource_id = "my-bucket";
    sp.event_name = "PutBucketPolicy";
    sp.prop_path = "SupplementaryConfiguration.BucketPolicy";
    sp.n_props = 2; /* the second has a before (the fake's rule) */
    sp.before_summary = "Allow arn:aws:iam::111122223333:root to s3:GetObject on arn:aws:s3:::"
                        "my-bucket/*\nDeny * to s3:* on arn:aws:s3:::my-bucket/* if "
                        "aws:SecureTransport";
    sp.after_summary = "Allow arn:aws:iam::111122223333:root to s3:GetObject on arn:aws:s3:::"
                       "my-bucket/*\nAllow * to s3:GetObject on arn:aws:s3:::my-bucket/*";
    fs[0] = f[0] = notif_finding_new(&sp);
    sp.resource_id = "other-bucket";
    fs[1] = f[1] = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &one);
    what = s_section_starting(root, "*What*");
    assert_non_null(strstr(what, "`SupplementaryConfiguration.BucketPolicy.1` UPDATE:\n"
                                 "      + `Allow * to s3:GetObject on arn:aws:s3:::my-bucket/*`\n"
                                 "      \xe2\x88\x92 `Deny * to s3:* on arn:aws:s3:::my-bucket/* "
                                 "if aws:SecureTransport`"));
    /* the statement that stayed is not listed as a change */
    assert_null(strstr(what, "111122223333:root to s3:GetObject on arn:aws:s3:::my-bucket/*`\n"
                             "      \xe2\x88\x92"));
    assert_null(strstr(strstr(what, "BucketPolicy.1"), "+ `Allow arn:aws:iam::111122223333:root"));
    cJSON_Delete(root);
    root = s_render(e.n, &two);
    s_assert_limits_bytes(root);
    assert_non_null(strstr(s_section_starting(root, "*PutBucketPolicy*"),
                           "`SupplementaryConfiguration.BucketPolicy.1` UPDATE: + `Allow * to "
                           "s3:GetObject on arn:aws:s3:::my-bucket/*` (+1 more)"));
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f[0]);
    wc_finding_destroy(f[1]);
}

/* The SDKs' made-up session names give way to the role's name, in the
 * header, the Who field and a digest's header. */
static void test_sdk_session_shows_role(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f[2];
    const struct wc_finding *fs[2];
    struct wc_notice one = {.findings = fs, .n_findings = 1};
    struct wc_notice two = {.findings = fs, .n_findings = 2};
    struct env e;
    cJSON *root;

    (void)state;
    sp.role_name = "deploy";
    sp.session_name = "aws-go-sdk-1763632800";
    fs[0] = f[0] = notif_finding_new(&sp);
    sp.resource_id = "sg-2";
    fs[1] = f[1] = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &one);
    assert_string_equal(s_header_of(root),
                        "deploy (role) AuthorizeSecurityGroupIngress on sg-0123456789abcdef0");
    assert_non_null(strstr(s_field(root, "*Who*"), "*Who*\ndeploy\nrole\n`arn:aws:sts::"
                                                    "123456789012:assumed-role/deploy/"
                                                    "aws-go-sdk-1763632800`"));
    cJSON_Delete(root);
    root = s_render(e.n, &two);
    assert_string_equal(s_header_of(root), "deploy changed 2 resources in production (" ACCOUNT
                                           ")");
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f[0]);
    wc_finding_destroy(f[1]);
}

/* A header that cannot fit is cut cleanly: within 150 bytes, valid UTF-8,
 * no half entity, the resource id kept. */
static void test_header_cut_cleanly(void **state)
{
    char sess[300], name[300];
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1};
    const char *h;
    struct env e;
    cJSON *root;

    (void)state;
    for (size_t i = 0; i < sizeof(sess) - 1; i++)
        sess[i] = "a&\xc3\xa9"[i % 4] ? "a&\xc3\xa9"[i % 4] : 'b';
    sess[sizeof(sess) - 1] = '\0';
    memset(name, '<', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    sp.session_name = sess;
    sp.resource_name = name;
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    h = s_header_of(root);
    assert_true(strlen(h) <= 150);
    assert_int_equal(wc_utf8_valid_prefix(h, strlen(h)), strlen(h));
    assert_non_null(strstr(h, " AuthorizeSecurityGroupIngress on sg-0123456789abcdef0 (&lt;"));
    for (const char *p = h; (p = strchr(p, '&')) != NULL; p++)
        assert_true(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0);
    s_assert_limits(root);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

/* Periodic recording: When gives the period, the context says the change
 * happened in it, not at the capture, and each writer is named. */
static void test_periodic_message(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1};
    struct wc_policy pol;
    struct wc_event *ev;
    struct env e;
    cJSON *root;

    (void)state;
    sp.lookback_s = 24 * 3600;
    sp.n_events = 3;
    fs[0] = f = notif_finding_new(&sp);
    /* the third call was bob's */
    ev = &f->matches[2].event;
    free(ev->identity.session_name);
    ev->identity.session_name = wc_strdup("bob@example.com");
    free(ev->identity.arn);
    ev->identity.arn = wc_strdup("arn:aws:sts::123456789012:assumed-role/"
                                 "AWSReservedSSO_Admin_0123/bob@example.com");
    assert_int_equal(wc_policy_init_defaults(&pol), WC_OK);
    wc_classify(&pol, ev, &f->matches[2].cls);
    wc_policy_clean_up(&pol);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_assert_limits(root);
    assert_non_null(strstr(s_field(root, "*When*"),
                           "\nchanged between <!date^1714478370^{date_short_pretty} {time}|"
                           "2024-04-30T11:59:30Z> and <!date^1714564770^{date_short_pretty} "
                           "{time}|2024-05-01T11:59:30Z> (Config records it DAILY)"));
    assert_null(strstr(s_field(root, "*When*"), "(recorded by Config)"));
    assert_string_equal(s_context_text(root, 1),
                        "Config records this resource DAILY: the change happened in the 24 h "
                        "before <!date^1714564770^{date_short_pretty} {time}|"
                        "2024-05-01T11:59:30Z>, not at that time");
    assert_non_null(strstr(s_section_starting(root, "*What*"),
                           "\n*Writers* (2): alice@example.com (2 calls), bob@example.com "
                           "(1 call)\n"));
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

static void test_fit_splits_within_limits(void **state)
{
    (void)state;
    assert_int_equal(s_split_and_check(1, true, 1), 1);
    assert_int_equal(s_split_and_check(2, true, 2), 1);
    /* long names and diffs: at least 10 a message */
    assert_int_equal(s_split_and_check(15, true, 10), 2);
    assert_true(s_split_and_check(60, true, 10) <= 6);
    /* typical changes: 15 in one message; 60 in four */
    assert_int_equal(s_split_and_check(15, false, 15), 1);
    assert_true(s_split_and_check(60, false, 15) <= 4);
}

/* A notice too big for one message (a dry run of a whole group) still
 * renders within every limit, and says how many it left out. */
static void test_digest_too_big_rendered_safely(void **state)
{
    enum { N = 60 };
    struct wc_finding *f[N];
    const struct wc_finding *fs[N];
    char ids[N][128], names[N][128];
    struct wc_notice notice = {.findings = fs, .n_findings = N};
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;
    size_t shown;
    char want[96];

    (void)state;
    for (size_t i = 0; i < N; i++)
        fs[i] = f[i] = s_long_finding(i, ids[i], names[i]);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    shown = s_assert_limits_bytes(root);
    assert_int_equal(shown, wc_notifier_fit(e.n, &notice));
    s_collect_strings(root, &all);
    snprintf(want, sizeof(want), "\xe2\x80\xa6 and %zu more changes not shown here", N - shown);
    assert_non_null(strstr(all.ptr, want));
    assert_non_null(strstr(s_header(root), "alice@example.com changed 60 resources"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    for (size_t i = 0; i < N; i++)
        wc_finding_destroy(f[i]);
}

/* The digest layout: the actor in the header and the fields, one compact
 * section per finding with what changed, where, when and the links. */
static void test_digest_layout(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f1, *f2;
    const struct wc_finding *fs[2];
    struct wc_notice notice = {.findings = fs, .n_findings = 2};
    const cJSON *b;
    const char *sect[4];
    size_t n_sect = 0;
    struct env e;
    cJSON *root;

    (void)state;
    sp.resource_id = "sg-aaaa1111";
    sp.resource_name = "web";
    f1 = notif_finding_new(&sp);
    sp.resource_id = "i-bbbb2222";
    sp.resource_name = NULL;
    sp.resource_type = "AWS::EC2::Instance";
    sp.region = "us-east-1";
    sp.event_name = "ModifyInstanceAttribute";
    sp.n_props = 5;
    f2 = notif_finding_new(&sp);
    fs[0] = f1;
    fs[1] = f2;
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_assert_limits_bytes(root);
    assert_string_equal(s_header(root),
                        "alice@example.com changed 2 resources in production (" ACCOUNT ")");
    assert_non_null(strstr(s_field(root, "*Who*"),
                           "*Who*\nalice@example.com\nrole AWSReservedSSO_Admin_0123\n`"));
    assert_non_null(strstr(s_field(root, "*Where*"),
                           ACCOUNT " (production)\neu-west-1 and other regions"));
    assert_non_null(strstr(s_field(root, "*How*"), "AWS console from 198.51.100.23"));
    assert_string_equal(s_field(root, "*When*"), "*When*\n<!date^1714564750^{date_short_pretty} "
                                                 "{time}|2024-05-01T11:59:10Z>");
    cJSON_ArrayForEach(b, s_blocks(root))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");

        if (t && strcmp(s_block_type(b), "section") == 0 && n_sect < 4)
            sect[n_sect++] = cJSON_GetObjectItemCaseSensitive(t, "text")->valuestring;
    }
    assert_int_equal(n_sect, 2);
    {
        static const char want[] =
            "*AuthorizeSecurityGroupIngress* on AWS::EC2::SecurityGroup `sg-aaaa1111` (web) "
            "\xc2\xb7 eu-west-1 \xc2\xb7 <!date^1714564750^{time}|11:59:10Z>\n"
            "\xe2\x80\xa2 `Configuration.IpPermissions.0` CREATE: (none) \xe2\x86\x92 `";

        assert_true(strncmp(sect[0], want, sizeof(want) - 1) == 0);
    }
    assert_non_null(strstr(sect[0], "|CloudTrail event> \xc2\xb7 <https://eu-west-1.console"));
    assert_non_null(strstr(sect[1], "*ModifyInstanceAttribute* on AWS::EC2::Instance "
                                    "`i-bbbb2222` \xc2\xb7 us-east-1 \xc2\xb7 "));
    assert_non_null(strstr(sect[1], "\xe2\x80\xa6 and 3 more changed properties"));
    assert_non_null(strstr(sect[1], "resourceId=i-bbbb2222&amp;resourceType="
                                    "AWS%3A%3AEC2%3A%3AInstance|Config timeline>"));
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
}

/* A later part names the actor again (also when it holds one finding),
 * and a very long actor is shortened so the rest of the header shows. */
static void test_digest_part_header(void **state)
{
    char longname[400];
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .part = 3, .parts = 3};
    struct env e;
    cJSON *root;
    const char *h;

    (void)state;
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    assert_string_equal(s_header(root), "alice@example.com changed 1 resource in production "
                                        "(" ACCOUNT ") (part 3 of 3)");
    assert_non_null(s_field(root, "*Who*"));
    s_assert_limits_bytes(root);
    cJSON_Delete(root);
    wc_finding_destroy(f);

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    memcpy(longname, "<!channel>&", 11);
    sp.session_name = longname;
    fs[0] = f = notif_finding_new(&sp);
    notice.part = 2;
    notice.parts = 12;
    notice.account_alias = "a-very-long-account-alias-that-goes-on-and-on-for-quite-a-while-x";
    root = s_render(e.n, &notice);
    h = s_header(root);
    assert_true(strlen(h) <= 150);
    assert_true(strncmp(h, "&lt;!channel&gt;&amp;xxx", 24) == 0);
    assert_non_null(strstr(h, "\xe2\x80\xa6 changed 1 resource in a-very-long-account-alias-"));
    assert_non_null(strstr(h, " (part 2 of 12)"));
    s_assert_limits_bytes(root);
    cJSON_Delete(root);
    wc_finding_destroy(f);
    s_env_clean_up(&e);
}

/* A digest without an actor (unattributed, coalesced): the verdict heads it. */
static void test_digest_unattributed(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f[2];
    const struct wc_finding *fs[2];
    struct wc_notice notice = {.findings = fs, .n_findings = 2};
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;

    (void)state;
    sp.verdict = WC_VERDICT_UNATTRIBUTED;
    sp.no_event = true;
    sp.account_id = "210987654321";
    sp.reason = "no CloudTrail write event";
    fs[0] = f[0] = notif_finding_new(&sp);
    sp.resource_id = "sg-99999999";
    fs[1] = f[1] = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    assert_int_equal(s_assert_limits_bytes(root), 2);
    assert_string_equal(s_header(root),
                        "Unattributed changes: 2 resources in account 210987654321");
    s_collect_strings(root, &all);
    assert_non_null(strstr(all.ptr, "*Who*\nunknown (no matching CloudTrail event)"));
    assert_non_null(strstr(all.ptr, "Change on AWS::EC2::SecurityGroup `sg-99999999`"));
    assert_non_null(strstr(all.ptr, "\nno CloudTrail write event\n"));
    assert_null(strstr(all.ptr, "CloudTrail event>"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f[0]);
    wc_finding_destroy(f[1]);
}

/* chat.postMessage: the answer's ts comes back; a later part replies in
 * that thread. Webhooks have neither. */
static void test_thread_replies(void **state)
{
    static const struct notif_fake_reply posted[] = {
        {200, "{\"ok\":true,\"channel\":\"C0PROD\",\"ts\":\"1714564770.000200\","
              "\"message\":{\"ts\":\"1714564770.000200\"}}",
         NULL, WC_OK},
        {200, "{\"ok\":true,\"channel\":\"C0PROD\",\"ts\":\"1714564771.000300\"}", NULL, WC_OK},
        {200, "{\"ok\":true,\"ts\":\"12<script>\"}", NULL, WC_OK}};
    struct notif_spec sp = {0};
    struct wc_finding *f1 = notif_finding_new(&sp), *f2;
    const struct wc_finding *fs[2];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .part = 1, .parts = 2};
    struct wc_send_result res = {0};
    struct env e;
    cJSON *body;
    const cJSON *ts;

    (void)state;
    sp.resource_id = "sg-22222222";
    f2 = notif_finding_new(&sp);
    s_env_init(&e, posted, 3, true);
    fs[0] = f1;
    assert_int_equal(wc_notifier_send(e.n, &notice, &res), WC_OK);
    assert_string_equal(res.thread_ts, "1714564770.000200");
    body = cJSON_Parse(e.http.reqs[0].body);
    assert_null(cJSON_GetObjectItemCaseSensitive(body, "thread_ts"));
    assert_non_null(strstr(s_header(body), "(part 1 of 2)"));
    cJSON_Delete(body);

    /* part 2 in the thread of part 1 */
    fs[0] = f2;
    notice.part = 2;
    notice.thread_ts = "1714564770.000200";
    memset(&res, 0, sizeof(res));
    assert_int_equal(wc_notifier_send(e.n, &notice, &res), WC_OK);
    assert_string_equal(res.thread_ts, "1714564771.000300");
    body = cJSON_Parse(e.http.reqs[1].body);
    ts = cJSON_GetObjectItemCaseSensitive(body, "thread_ts");
    assert_true(cJSON_IsString(ts));
    assert_string_equal(ts->valuestring, "1714564770.000200");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "channel")->valuestring, "C0PROD");
    assert_non_null(strstr(s_header(body), "alice@example.com changed 1 resource"));
    assert_non_null(strstr(s_header(body), "(part 2 of 2)"));
    cJSON_Delete(body);

    /* a ts that is not one is neither kept nor sent */
    memset(&res, 0, sizeof(res));
    strcpy(res.thread_ts, "stale");
    notice.thread_ts = "1\",\"channel\":\"C0EVIL";
    assert_int_equal(wc_notifier_send(e.n, &notice, &res), WC_OK);
    assert_string_equal(res.thread_ts, "");
    assert_null(strstr(e.http.reqs[2].body, "thread_ts"));
    assert_null(strstr(e.http.reqs[2].body, "C0EVIL"));
    s_env_clean_up(&e);

    /* webhook: no ts in its answer, thread_ts not sent */
    s_env_init(&e, s_ok, 1, false);
    notice.thread_ts = "1714564770.000200";
    memset(&res, 0, sizeof(res));
    assert_int_equal(wc_notifier_send(e.n, &notice, &res), WC_OK);
    assert_string_equal(res.thread_ts, "");
    assert_null(strstr(e.http.reqs[0].body, "thread_ts"));
    assert_non_null(strstr(e.http.reqs[0].body, "(part 2 of 2)"));
    s_env_clean_up(&e);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
}

/* Slack is paced and takes digests; other backends are not. */
static void test_pacing_and_digests(void **state)
{
    struct env e;

    (void)state;
    s_env_init(&e, s_ok, 1, false);
    assert_int_equal(e.n->min_interval_ms, 1000);
    assert_true(wc_notifier_digests(e.n));
    assert_non_null(e.n->vtable->fit);
    s_env_clean_up(&e);
    s_env_init(&e, s_api_ok, 1, true);
    assert_int_equal(e.n->min_interval_ms, 1000);
    s_env_clean_up(&e);
}

/* --- request shape ---------------------------------------------------------- */

static void test_webhook_request_shape(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct wc_send_result res = {0};
    struct wc_buf rendered = WC_BUF_INIT;
    struct env e;

    (void)state;
    s_env_init(&e, s_ok, 1, false);
    assert_int_equal(wc_notifier_send(e.n, &notice, &res), WC_OK);
    assert_int_equal(res.http_status, 200);
    assert_int_equal(e.http.n_reqs, 1);
    assert_string_equal(e.http.reqs[0].method, "POST");
    assert_string_equal(e.http.reqs[0].url, HOOK_URL);
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "Content-Type"),
                        "application/json; charset=utf-8");
    assert_null(notif_fake_header(&e.http.reqs[0], "Authorization"));
    assert_true(e.http.reqs[0].timeout_ms > 0);
    /* render is exactly what send posts */
    assert_int_equal(wc_notifier_render(e.n, &notice, &rendered), WC_OK);
    assert_string_equal(rendered.ptr, e.http.reqs[0].body);
    assert_int_equal(e.sleeps.n, 0);
    assert_int_equal(e.log.n, 0);
    wc_buf_clean_up(&rendered);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

static void test_bot_request_shape(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f1 = notif_finding_new(&sp), *f2;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    struct env e;
    cJSON *body;

    (void)state;
    sp.account_id = "999999999999";
    f2 = notif_finding_new(&sp);
    s_env_init(&e, s_api_ok, 1, true);
    fs[0] = f1;
    assert_int_equal(wc_notifier_send(e.n, &notice, NULL), WC_OK);
    fs[0] = f2;
    assert_int_equal(wc_notifier_send(e.n, &notice, NULL), WC_OK);
    assert_int_equal(e.http.n_reqs, 2);
    assert_string_equal(e.http.reqs[0].url, "http://127.0.0.1:9/api/chat.postMessage");
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "Authorization"),
                        "Bearer " BOT_TOKEN);
    assert_string_equal(notif_fake_header(&e.http.reqs[0], "Content-Type"),
                        "application/json; charset=utf-8");
    body = cJSON_Parse(e.http.reqs[0].body);
    assert_non_null(body);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "channel")->valuestring, "C0PROD");
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(body, "blocks")));
    cJSON_Delete(body);
    /* an account without its own channel goes to the default */
    body = cJSON_Parse(e.http.reqs[1].body);
    assert_non_null(body);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "channel")->valuestring,
                        "#whochanged");
    assert_null(strstr(e.http.reqs[1].body, BOT_TOKEN));
    cJSON_Delete(body);
    s_env_clean_up(&e);
    wc_finding_destroy(f1);
    wc_finding_destroy(f2);
}

static void test_constructor_validation(void **state)
{
    struct notif_fake_http http;
    struct wc_notifier_options o = {0};
    struct wc_notifier *n;

    (void)state;
    notif_fake_http_init(&http, s_ok, 1);
    o.http = &http.http;
    assert_null(wc_slack_notifier_new(&o)); /* neither */
    o.webhook_url = HOOK_URL;
    o.bot_token = BOT_TOKEN;
    assert_null(wc_slack_notifier_new(&o)); /* both */
    o.webhook_url = NULL;
    assert_null(wc_slack_notifier_new(&o)); /* bot without a channel */
    o.channel = "C1";
    o.bot_token = "xoxb-1\r\nX-Injected: 1";
    assert_null(wc_slack_notifier_new(&o)); /* a header line smuggled in the token */
    o.bot_token = BOT_TOKEN;
    o.http = NULL;
    assert_null(wc_slack_notifier_new(&o)); /* no transport */
    o.http = &http.http;
    n = wc_slack_notifier_new(&o);
    assert_non_null(n);
    assert_string_equal(n->id, "slack");
    assert_int_equal(n->verdict_mask, WC_VERDICT_BIT(WC_VERDICT_HUMAN));
    assert_true(wc_notifier_wants(n, WC_VERDICT_HUMAN));
    assert_false(wc_notifier_wants(n, WC_VERDICT_AUTOMATION));
    assert_ptr_equal(n->vtable, &wc_slack_notifier_vtable);
    wc_notifier_destroy(n);
    notif_fake_http_clean_up(&http);
}

/* --- delivery --------------------------------------------------------------- */

static int s_send(const struct notif_fake_reply *script, size_t n_script, bool bot,
                  struct env *e, struct wc_send_result *res)
{
    struct notif_spec sp = {0};
    struct wc_finding *f = notif_finding_new(&sp);
    const struct wc_finding *fs[] = {f};
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = NULL};
    int rc;

    s_env_init(e, script, n_script, bot);
    rc = wc_notifier_send(e->n, &notice, res);
    wc_finding_destroy(f);
    return rc;
}

static void test_500_then_ok(void **state)
{
    static const struct notif_fake_reply script[] = {{500, "boom", NULL, WC_OK},
                                                     {200, "ok", NULL, WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(script, 2, false, &e, &res), WC_OK);
    assert_int_equal(e.http.n_reqs, 2);
    assert_int_equal(e.sleeps.n, 1);
    /* first backoff step 1000 ms with equal jitter: [500, 1000] */
    assert_in_range(e.sleeps.ms[0], 500, 1000);
    assert_string_equal(e.http.reqs[0].body, e.http.reqs[1].body);
    s_env_clean_up(&e);
}

static void test_429_retry_after(void **state)
{
    static const struct notif_fake_reply script[] = {{429, "rate_limited", "2", WC_OK},
                                                     {200, "ok", NULL, WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(script, 2, false, &e, &res), WC_OK);
    assert_int_equal(e.http.n_reqs, 2);
    assert_int_equal(e.sleeps.n, 1);
    assert_int_equal(e.sleeps.ms[0], 2000);
    assert_int_equal(res.retry_after_ms, 0);
    s_env_clean_up(&e);
}

static void test_persistent_429_throttled(void **state)
{
    static const struct notif_fake_reply always[] = {{429, "rate_limited", "2", WC_OK}};
    static const struct notif_fake_reply long_wait[] = {{429, "rate_limited", "50", WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(always, 1, false, &e, &res), WC_ERR_THROTTLED);
    assert_int_equal(e.http.n_reqs, 3); /* bounded attempts */
    assert_int_equal(e.sleeps.n, 2);
    assert_int_equal(e.sleeps.total_ms, 4000);
    assert_int_equal(res.retry_after_ms, 2000);
    assert_int_equal(res.http_status, 429);
    assert_int_equal(e.log.n, 3); /* two warnings, one error */
    s_env_clean_up(&e);

    /* bounded total wait: 50 s + 50 s would pass 60 s */
    assert_int_equal(s_send(long_wait, 1, false, &e, &res), WC_ERR_THROTTLED);
    assert_int_equal(e.http.n_reqs, 2);
    assert_int_equal(e.sleeps.total_ms, 50000);
    assert_int_equal(res.retry_after_ms, 50000);
    s_env_clean_up(&e);
}

static void s_assert_no_secret(const struct notif_log *log)
{
    assert_false(notif_log_contains(log, "hooks.slack.com"));
    assert_false(notif_log_contains(log, "T0000TEST"));
    assert_false(notif_log_contains(log, "abcdefSECRETxyz"));
    assert_false(notif_log_contains(log, "SECRETbottoken"));
    assert_false(notif_log_contains(log, "xoxb"));
}

static void test_400_invalid_no_retry(void **state)
{
    static const struct notif_fake_reply script[] = {{400, "invalid_payload", NULL, WC_OK},
                                                     {200, "ok", NULL, WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(script, 2, false, &e, &res), WC_ERR_INVALID);
    assert_int_equal(e.http.n_reqs, 1);
    assert_int_equal(e.sleeps.n, 0);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(e.log.n, 1);
    assert_non_null(strstr(e.log.lines[0], "error"));
    assert_non_null(strstr(e.log.lines[0], "slack#0"));
    assert_non_null(strstr(e.log.lines[0], "400"));
    assert_non_null(strstr(e.log.lines[0], "invalid_payload"));
    s_assert_no_secret(&e.log);
    s_env_clean_up(&e);
}

static void test_403_auth(void **state)
{
    static const struct notif_fake_reply script[] = {{403, "action_prohibited", NULL, WC_OK}};
    struct env e;

    (void)state;
    assert_int_equal(s_send(script, 1, false, &e, NULL), WC_ERR_AUTH);
    assert_int_equal(e.http.n_reqs, 1);
    s_assert_no_secret(&e.log);
    s_env_clean_up(&e);
}

static void test_api_errors(void **state)
{
    static const struct notif_fake_reply not_in_channel[] = {
        {200, "{\"ok\":false,\"error\":\"not_in_channel\"}", NULL, WC_OK}};
    static const struct notif_fake_reply bad_auth[] = {
        {200, "{\"ok\":false,\"error\":\"invalid_auth\"}", NULL, WC_OK}};
    static const struct notif_fake_reply ratelimited[] = {
        {200, "{\"ok\":false,\"error\":\"ratelimited\"}", "1", WC_OK},
        {200, "{\"ok\":true}", NULL, WC_OK}};
    static const struct notif_fake_reply always_ratelimited[] = {
        {429, "{\"ok\":false,\"error\":\"ratelimited\"}", "3", WC_OK}};
    static const struct notif_fake_reply garbage[] = {{200, "<html>proxy</html>", NULL, WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(not_in_channel, 1, true, &e, &res), WC_ERR_INVALID);
    assert_int_equal(e.http.n_reqs, 1);
    assert_int_equal(e.log.n, 1);
    assert_non_null(strstr(e.log.lines[0], "not_in_channel"));
    s_assert_no_secret(&e.log);
    s_env_clean_up(&e);

    assert_int_equal(s_send(bad_auth, 1, true, &e, &res), WC_ERR_AUTH);
    assert_int_equal(e.http.n_reqs, 1);
    assert_non_null(strstr(e.log.lines[0], "invalid_auth"));
    s_assert_no_secret(&e.log);
    s_env_clean_up(&e);

    assert_int_equal(s_send(ratelimited, 2, true, &e, &res), WC_OK);
    assert_int_equal(e.http.n_reqs, 2);
    assert_int_equal(e.sleeps.n, 1);
    assert_int_equal(e.sleeps.ms[0], 1000);
    s_env_clean_up(&e);

    assert_int_equal(s_send(always_ratelimited, 1, true, &e, &res), WC_ERR_THROTTLED);
    assert_int_equal(res.retry_after_ms, 3000);
    assert_int_equal(e.http.n_reqs, 3);
    s_env_clean_up(&e);

    assert_int_equal(s_send(garbage, 1, true, &e, &res), WC_ERR_SERVICE);
    assert_int_equal(e.http.n_reqs, 3);
    s_env_clean_up(&e);
}

static void test_transport_errors_backoff(void **state)
{
    static const struct notif_fake_reply timeouts[] = {{0, NULL, NULL, WC_ERR_TIMEOUT}};
    static const struct notif_fake_reply resets[] = {{0, NULL, NULL, WC_ERR_HTTP},
                                                     {0, NULL, NULL, WC_ERR_HTTP},
                                                     {503, "down", NULL, WC_OK}};
    struct wc_send_result res = {0};
    struct env e;

    (void)state;
    assert_int_equal(s_send(timeouts, 1, false, &e, &res), WC_ERR_TIMEOUT);
    assert_int_equal(e.http.n_reqs, 3);
    assert_int_equal(e.sleeps.n, 2);
    assert_in_range(e.sleeps.ms[0], 500, 1000);
    assert_in_range(e.sleeps.ms[1], 1000, 2000); /* exponential */
    assert_int_equal(res.http_status, 0);
    s_env_clean_up(&e);

    assert_int_equal(s_send(resets, 3, false, &e, &res), WC_ERR_SERVICE);
    assert_int_equal(e.http.n_reqs, 3);
    assert_int_equal(res.http_status, 503);
    s_env_clean_up(&e);
}

/* --- mrkdwn helpers --------------------------------------------------------- */

static void test_mrkdwn_helpers(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    const char *s = "a\xc3\xa9z"; /* aéz */

    (void)state;
    assert_int_equal(wc_mrkdwn_escape(&b, "<!channel> & \"x\" > *y*", 22), WC_OK);
    assert_string_equal(b.ptr, "&lt;!channel&gt; &amp; \"x\" &gt; *y*");
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_code(&b, "a`b\nc", 100, "-"), WC_OK);
    assert_string_equal(b.ptr, "`a\xcb\x8b" "b c`");
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_code(&b, NULL, 100, "(none)"), WC_OK);
    assert_string_equal(b.ptr, "(none)");
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "<<<<", 2, ""), WC_OK);
    assert_string_equal(b.ptr, "&lt;&lt;\xe2\x80\xa6");
    assert_int_equal(wc_utf8_prefix(s, 4, 2), 1); /* not inside é */
    assert_int_equal(wc_utf8_prefix(s, 4, 3), 3);
    assert_int_equal(wc_utf8_prefix(s, 4, 9), 4);
    /* truncation never splits an entity or leaves a code span open */
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append_cstr(&b, "`ab&amp;cdefgh`"), WC_OK);
    wc_mrkdwn_truncate(&b, 10);
    assert_string_equal(b.ptr, "`ab`\xe2\x80\xa6");
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append_cstr(&b, "abcdefgh&lt;ij"), WC_OK);
    wc_mrkdwn_truncate(&b, 13);
    assert_string_equal(b.ptr, "abcdefgh\xe2\x80\xa6");
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append_cstr(&b, "short"), WC_OK);
    wc_mrkdwn_truncate(&b, 8);
    assert_string_equal(b.ptr, "short");
    wc_buf_reset(&b);
    assert_int_equal(wc_url_encode(&b, "AWS::S3::Bucket a/b?&=#|>~"), WC_OK);
    assert_string_equal(b.ptr, "AWS%3A%3AS3%3A%3ABucket%20a%2Fb%3F%26%3D%23%7C%3E~");
    wc_buf_clean_up(&b);
}

/* Formatting characters and bidi controls from AWS data (security review
 * finding 12): a name cannot bold, strike or italicise itself, an
 * unbalanced backtick cannot swallow what follows, an RLO cannot reorder. */
static void test_mrkdwn_formatting_neutralised(void **state)
{
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    assert_int_equal(wc_mrkdwn_value(&b, "*Approved by security team*", 100, ""), WC_OK);
    assert_null(strchr(b.ptr, '*'));
    assert_string_equal(b.ptr, "\xe2\x88\x97" "Approved by security team\xe2\x88\x97");
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "~gone~ _slanted_ x*y*z", 100, ""), WC_OK);
    assert_string_equal(b.ptr, "\xe2\x88\xbc" "gone\xe2\x88\xbc \xcb\x8dslanted\xcb\x8d "
                               "x\xe2\x88\x97y\xe2\x88\x97z");
    /* snake_case inside a word is left alone: it cannot open or close */
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "AWSReservedSSO_Admin_0123", 100, ""), WC_OK);
    assert_string_equal(b.ptr, "AWSReservedSSO_Admin_0123");
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "a_ _b c_", 100, ""), WC_OK);
    assert_null(strchr(b.ptr, '_'));
    /* an unbalanced backtick, in and out of code */
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "prod`", 100, ""), WC_OK);
    assert_string_equal(b.ptr, "prod\xcb\x8b");
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_code(&b, "`*a*_b_~c~", 100, ""), WC_OK);
    assert_string_equal(b.ptr, "`\xcb\x8b*a*_b_~c~`"); /* code keeps * _ ~ */
    /* bidi and invisible controls are dropped everywhere: RLO, LRE..PDF,
     * LRI..PDI, LRM/RLM, ALM, ZWSP/ZWJ, word joiner, BOM */
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "inv\xe2\x80\xaeoice\xe2\x80\xaagpj.exe", 100, ""),
                     WC_OK);
    assert_string_equal(b.ptr, "invoicegpj.exe");
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_code(&b,
                                    "a\xe2\x81\xa6" "b\xe2\x81\xa9" "c\xe2\x80\x8e" "d\xe2\x80\x8f"
                                    "e\xd8\x9c" "f\xe2\x80\x8b" "g\xe2\x80\x8d" "h\xe2\x81\xa0"
                                    "i\xef\xbb\xbfj\xe2\x80\xac",
                                    100, ""),
                     WC_OK);
    assert_string_equal(b.ptr, "`abcdefghij`");
    /* other non-ASCII text is kept; C1 controls become spaces */
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "caf\xc3\xa9\xc2\x85x \xe2\x80\x94 ok", 100, ""), WC_OK);
    assert_string_equal(b.ptr, "caf\xc3\xa9 x \xe2\x80\x94 ok");
    /* escaping still applies after the swap */
    wc_buf_reset(&b);
    assert_int_equal(wc_mrkdwn_value(&b, "*<!here>*", 100, ""), WC_OK);
    assert_string_equal(b.ptr, "\xe2\x88\x97&lt;!here&gt;\xe2\x88\x97");
    wc_buf_clean_up(&b);
}

/* The same through a whole message: nothing AWS named renders as markup. */
static void test_hostile_formatting_in_message(void **state)
{
    struct notif_spec sp = {0};
    struct wc_finding *f;
    const struct wc_finding *fs[1];
    struct wc_notice notice = {.findings = fs, .n_findings = 1, .account_alias = "~prod~"};
    struct wc_buf all = WC_BUF_INIT;
    struct env e;
    cJSON *root;

    (void)state;
    sp.resource_name = "*Approved by security team*";
    sp.session_name = "_ceo_@example.com";
    sp.source_ip = "`198.51.100.1";
    sp.event_name = "Put\xe2\x80\xaeyciloP";
    fs[0] = f = notif_finding_new(&sp);
    s_env_init(&e, s_ok, 1, false);
    root = s_render(e.n, &notice);
    s_collect_strings(root, &all);
    assert_null(strstr(all.ptr, "*Approved"));
    assert_non_null(strstr(all.ptr, "\xe2\x88\x97" "Approved by security team\xe2\x88\x97"));
    /* the session name, outside the ARN's code span */
    assert_non_null(strstr(all.ptr, "*Who*\n\xcb\x8d" "ceo\xcb\x8d@example.com\n"));
    assert_null(strstr(all.ptr, "*Who*\n_ceo_"));
    assert_null(strstr(all.ptr, "~prod~"));
    assert_null(strstr(all.ptr, "`198.51"));
    assert_null(strstr(all.ptr, "\xe2\x80\xae"));
    assert_non_null(strstr(all.ptr, "*PutyciloP*"));
    wc_buf_clean_up(&all);
    cJSON_Delete(root);
    s_env_clean_up(&e);
    wc_finding_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_from_scenario),
        cmocka_unit_test(test_hostile_names_escaped),
        cmocka_unit_test(test_coalesced_lists_all),
        cmocka_unit_test(test_long_diff_truncated),
        cmocka_unit_test(test_many_resources_within_block_limit),
        cmocka_unit_test(test_huge_ids_leave_links_out),
        cmocka_unit_test(test_console_links_per_partition),
        cmocka_unit_test(test_other_events_listed),
        cmocka_unit_test(test_unattributed_header),
        cmocka_unit_test(test_risk_security_group),
        cmocka_unit_test(test_policy_statements_diff),
        cmocka_unit_test(test_sdk_session_shows_role),
        cmocka_unit_test(test_header_cut_cleanly),
        cmocka_unit_test(test_periodic_message),
        cmocka_unit_test(test_fit_splits_within_limits),
        cmocka_unit_test(test_digest_too_big_rendered_safely),
        cmocka_unit_test(test_digest_layout),
        cmocka_unit_test(test_digest_part_header),
        cmocka_unit_test(test_digest_unattributed),
        cmocka_unit_test(test_thread_replies),
        cmocka_unit_test(test_pacing_and_digests),
        cmocka_unit_test(test_webhook_request_shape),
        cmocka_unit_test(test_bot_request_shape),
        cmocka_unit_test(test_constructor_validation),
        cmocka_unit_test(test_500_then_ok),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_persistent_429_throttled),
        cmocka_unit_test(test_400_invalid_no_retry),
        cmocka_unit_test(test_403_auth),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_transport_errors_backoff),
        cmocka_unit_test(test_mrkdwn_helpers),
        cmocka_unit_test(test_mrkdwn_formatting_neutralised),
        cmocka_unit_test(test_hostile_formatting_in_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
