/* Unit tests for config/: defaults, every key, list styles, ${VAR}
 * expansion, strictness and error positions, aliases, secrets, the dump. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/str.h"

/* Loads yaml, expecting success. */
static struct wc_config *s_ok(const char *yaml)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c = NULL;
    int rc = wc_config_load_string("t.yaml", yaml, strlen(yaml), &c, &errs);

    if (rc != WC_OK) {
        wc_config_errors_print(&errs, stderr);
        fail_msg("load failed: %s", wc_strerror(rc));
    }
    assert_int_equal(errs.len, 0);
    assert_non_null(c);
    wc_config_errors_clean_up(&errs);
    return c;
}

/* Loads yaml, expecting failure; errs receives the errors. */
static void s_bad(const char *yaml, struct wc_config_errors *errs)
{
    struct wc_config *c = NULL;
    int rc = wc_config_load_string("t.yaml", yaml, strlen(yaml), &c, errs);

    assert_int_equal(rc, WC_ERR_CONFIG);
    assert_null(c);
    assert_true(errs->len > 0);
}

/* Index of the error at line:col whose reason contains needle, or fails. */
static size_t s_find(const struct wc_config_errors *e, int line, int col, const char *needle)
{
    for (size_t i = 0; i < e->len; i++)
        if (e->items[i].line == line && e->items[i].col == col &&
            strstr(e->items[i].reason, needle))
            return i;
    wc_config_errors_print(e, stderr);
    fail_msg("no error at %d:%d containing \"%s\"", line, col, needle);
    return 0;
}

static void s_unset_region_env(void)
{
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
}

static void test_defaults(void **state)
{
    struct wc_config *c;
    const struct wc_policy *p;
    size_t n = 99;

    (void)state;
    s_unset_region_env();
    c = s_ok("");
    p = wc_config_policy(c);
    assert_int_equal(p->skew_s, 180);
    assert_int_equal(p->trusted.len, 0);
    assert_int_equal(p->automation_user_agents.len, 0);
    assert_int_equal(p->ignore_resource_types.len, 2);
    assert_true(wc_strlist_contains(&p->ignore_resource_types, "AWS::SSM::ManagedInstanceInventory"));
    assert_true(wc_strlist_contains(&p->ignore_resource_types, "AWS::Config::ResourceCompliance"));
    assert_int_equal(p->ignore_event_names.len, 0);
    assert_int_equal(wc_config_retry_for_s(c), 900);
    assert_int_equal(wc_config_retry_initial_s(c), 30);
    assert_null(wc_config_region(c));
    assert_null(wc_config_endpoint(c, "sqs"));
    assert_null(wc_config_endpoint(c, "cloudtrail"));
    assert_null(wc_config_accounts_role_arn(c));
    assert_null(wc_config_accounts_external_id(c));
    assert_string_equal(wc_config_accounts_session_name(c), "whochanged");
    assert_int_equal(wc_config_log_level(c), WC_LOG_INFO);
    assert_int_equal(wc_config_log_format(c), WC_LOG_TEXT);
    assert_null(wc_config_queue_url(c));
    assert_null(wc_config_queue_name(c));
    assert_false(wc_config_notify_unattributed(c));
    assert_int_equal(wc_config_max_in_flight(c), 512);
    assert_string_equal(wc_config_state_dir(c), "/var/lib/whochanged");
    assert_null(wc_config_metrics_listen(c));
    assert_int_equal(wc_config_notifier_count(c), 0);
    assert_null(wc_config_secrets(c, &n)[0]);
    assert_int_equal(n, 0);
    assert_string_equal(wc_config_path(c), "t.yaml");
    wc_config_destroy(c);

    /* comments only, an explicit empty document, and null values: defaults */
    c = s_ok("# nothing here\n---\n");
    assert_int_equal(wc_config_policy(c)->skew_s, 180);
    wc_config_destroy(c);
    c = s_ok("correlation:\nregion: ~\ntrusted: null\nignore:\n  resource_types:\n");
    assert_int_equal(wc_config_policy(c)->skew_s, 180);
    assert_int_equal(wc_config_policy(c)->ignore_resource_types.len, 2);
    wc_config_destroy(c);

    assert_int_equal(wc_config_load_defaults(&c), WC_OK);
    assert_null(wc_config_path(c));
    assert_int_equal(wc_config_max_in_flight(c), 512);
    wc_config_destroy(c);
}

static void test_region_from_env(void **state)
{
    struct wc_config *c;

    (void)state;
    s_unset_region_env();
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    c = s_ok("");
    assert_string_equal(wc_config_region(c), "us-west-2");
    wc_config_destroy(c);
    setenv("AWS_REGION", "eu-north-1", 1);
    c = s_ok("");
    assert_string_equal(wc_config_region(c), "eu-north-1");
    wc_config_destroy(c);
    c = s_ok("region: sa-east-1\n"); /* the key wins */
    assert_string_equal(wc_config_region(c), "sa-east-1");
    wc_config_destroy(c);
    s_unset_region_env();
}

static void test_every_key(void **state)
{
    char path[4096];
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c = NULL;
    const struct wc_policy *p;
    const struct wc_config_notifier *n;
    const char *const *secrets;
    size_t nsec = 0;

    (void)state;
    wc_test_data_path("configs/full.yaml", path, sizeof(path));
    if (wc_config_load(path, &c, &errs) != WC_OK) {
        wc_config_errors_print(&errs, stderr);
        fail_msg("full.yaml did not load");
    }
    assert_string_equal(wc_config_path(c), path);
    p = wc_config_policy(c);
    assert_int_equal(p->skew_s, 240);
    assert_int_equal(wc_config_retry_for_s(c), 600);
    assert_int_equal(wc_config_retry_initial_s(c), 15);
    assert_int_equal(p->trusted.len, 2);
    assert_string_equal(p->trusted.items[0], "arn:aws:iam::*:role/terraform-*");
    assert_string_equal(p->trusted.items[1], "*:assumed-role/ci-*");
    assert_true(wc_strlist_glob_any(&p->trusted, "arn:aws:iam::123456789012:role/terraform-x"));
    assert_int_equal(p->automation_user_agents.len, 2);
    assert_string_equal(p->automation_user_agents.items[1], "aws-cdk/*");
    /* given, the list replaces the defaults */
    assert_int_equal(p->ignore_resource_types.len, 1);
    assert_string_equal(p->ignore_resource_types.items[0], "AWS::EC2::NetworkInterface");
    assert_int_equal(p->ignore_event_names.len, 1);
    assert_string_equal(p->ignore_event_names.items[0], "Describe*");
    assert_string_equal(wc_config_region(c), "ap-southeast-2");
    assert_string_equal(wc_config_endpoint(c, "sqs"), "http://127.0.0.1:4566");
    assert_string_equal(wc_config_endpoint(c, "cloudtrail"), "http://127.0.0.1:4567/ct");
    assert_string_equal(wc_config_endpoint(c, "sts"), "https://sts.ap-southeast-2.amazonaws.com");
    assert_string_equal(wc_config_endpoint(c, "s3"), "http://localhost:9000");
    assert_null(wc_config_endpoint(c, "lambda"));
    assert_string_equal(wc_config_accounts_role_arn(c),
                        "arn:aws:iam::{account_id}:role/whochanged-reader");
    assert_string_equal(wc_config_accounts_external_id(c), "ext-id-full-0001");
    assert_string_equal(wc_config_accounts_session_name(c), "wc-full");
    assert_int_equal(p->allowed_accounts.len, 2);
    assert_string_equal(p->allowed_accounts.items[1], "210987654321");
    assert_int_equal(p->allowed_topics.len, 1);
    assert_string_equal(p->allowed_topics.items[0],
                        "arn:aws:sns:ap-southeast-2:123456789012:config-*");
    assert_int_equal(p->allowed_buckets.len, 1);
    assert_string_equal(p->allowed_buckets.items[0], "config-bucket/AWSLogs/*/Config/*");
    assert_int_equal(wc_config_log_level(c), WC_LOG_DEBUG);
    assert_int_equal(wc_config_log_format(c), WC_LOG_JSON);
    assert_string_equal(wc_config_queue_url(c),
                        "https://sqs.ap-southeast-2.amazonaws.com/123456789012/changes");
    assert_null(wc_config_queue_name(c)); /* one of the two: see test_queue_url_and_name */
    assert_true(wc_config_notify_unattributed(c));
    assert_int_equal(wc_config_max_in_flight(c), 8);
    assert_string_equal(wc_config_state_dir(c), "/tmp/wc-state");
    assert_string_equal(wc_config_metrics_listen(c), "[::1]:9200");
    assert_int_equal(wc_config_max_receive_failures(c), 7);

    assert_int_equal(wc_config_notifier_count(c), 4);
    n = wc_config_notifier(c, 0);
    assert_int_equal(n->type, WC_CONFIG_NOTIFIER_SLACK);
    assert_string_equal(n->webhook_url,
                        "https://hooks.slack.com/services/TFULL/BFULL/fullwebhooksecret");
    assert_int_equal(n->verdicts, WC_VERDICT_BIT(WC_VERDICT_HUMAN) |
                                      WC_VERDICT_BIT(WC_VERDICT_UNATTRIBUTED));
    assert_string_equal(wc_config_map_get(&n->account_aliases, "123456789012"), "prod");
    assert_null(wc_config_map_get(&n->account_aliases, "999999999999"));
    n = wc_config_notifier(c, 1);
    assert_string_equal(n->bot_token, "xoxb-full-bot-token-secret");
    assert_string_equal(n->channel, "#changes");
    assert_string_equal(wc_config_map_get(&n->channel_by_account, "210987654321"), "#staging");
    assert_int_equal(n->verdicts, WC_VERDICT_BIT(WC_VERDICT_HUMAN)); /* default */
    n = wc_config_notifier(c, 2);
    assert_int_equal(n->type, WC_CONFIG_NOTIFIER_JSONL);
    assert_string_equal(n->path, "/tmp/findings.jsonl");
    assert_string_equal(n->name, "audit-log");
    {
        char id[80];

        wc_config_notifier_id(c, 2, id, sizeof(id));
        assert_string_equal(id, "audit-log");
        wc_config_notifier_id(c, 1, id, sizeof(id)); /* no name: type#index */
        assert_string_equal(id, "slack#1");
    }
    assert_true(n->verdicts & WC_VERDICT_BIT(WC_VERDICT_IGNORED)); /* default: all */
    assert_true(n->verdicts & WC_VERDICT_BIT(WC_VERDICT_AUTOMATION));
    n = wc_config_notifier(c, 3);
    assert_int_equal(n->type, WC_CONFIG_NOTIFIER_WEBHOOK);
    assert_string_equal(n->url, "http://127.0.0.1:8080/hook");
    assert_string_equal(n->hmac_secret, "full-hmac-secret-value");
    assert_int_equal(n->verdicts, WC_VERDICT_BIT(WC_VERDICT_HUMAN) |
                                      WC_VERDICT_BIT(WC_VERDICT_AUTOMATION));
    assert_null(wc_config_notifier(c, 4));
    assert_string_equal(wc_config_notifier_type_name(n->type), "webhook");

    secrets = wc_config_secrets(c, &nsec);
    assert_int_equal(nsec, 5);
    assert_null(secrets[5]);
    assert_string_equal(secrets[0], "ext-id-full-0001");
    assert_string_equal(secrets[1], n[-3].webhook_url);
    assert_string_equal(secrets[2], "xoxb-full-bot-token-secret");
    assert_string_equal(secrets[3], "http://127.0.0.1:8080/hook"); /* the webhook's url */
    assert_string_equal(secrets[4], "full-hmac-secret-value");
    wc_config_destroy(c);
    wc_config_errors_clean_up(&errs);
}

static void test_cloudtrail_rate_and_ca_bundle(void **state)
{
    struct wc_config *c = s_ok("");
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;

    (void)state;
    assert_int_equal(wc_config_cloudtrail_rate(c), 2);
    assert_null(wc_config_ca_bundle(c));
    wc_config_destroy(c);
    c = s_ok("cloudtrail: {lookups_per_second: 1}\nca_bundle: /etc/ssl/ca.pem\n");
    assert_int_equal(wc_config_cloudtrail_rate(c), 1);
    assert_string_equal(wc_config_ca_bundle(c), "/etc/ssl/ca.pem");
    wc_config_destroy(c);
    s_bad("cloudtrail:\n  lookups_per_second: 0\n", &errs);
    s_find(&errs, 2, 23, "lookups_per_second");
    wc_config_errors_clean_up(&errs);
    s_bad("ca_bundle: \"\"\n", &errs);
    wc_config_errors_clean_up(&errs);
}

/* Issue 10: events (the CloudTrail event stream): off by default; its
 * queue is not the Config queue; events outlive a change's wait. */
static void test_events_section(void **state)
{
    struct wc_config *c = s_ok("");
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_buf dump = WC_BUF_INIT;

    (void)state;
    assert_null(wc_config_events_queue_url(c));
    assert_int_equal(wc_config_events_retention_min(c), 30);
    assert_int_equal(wc_config_events_max_bytes(c), (size_t)64 * 1024 * 1024);
    assert_int_equal(wc_config_events_grace_s(c), 120);
    wc_config_destroy(c);

    c = s_ok("queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/config\n"
             "events:\n"
             "  queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/events\n"
             "  retention_minutes: 15\n"
             "  max_memory_mib: 256\n"
             "  grace_seconds: 0\n");
    assert_string_equal(wc_config_events_queue_url(c),
                        "https://sqs.eu-west-1.amazonaws.com/123456789012/events");
    assert_int_equal(wc_config_events_retention_min(c), 15);
    assert_int_equal(wc_config_events_max_bytes(c), (size_t)256 * 1024 * 1024);
    assert_int_equal(wc_config_events_grace_s(c), 0);
    /* the dump loads back */
    assert_int_equal(wc_config_dump(c, &dump), WC_OK);
    assert_non_null(strstr(dump.ptr, "max_memory_mib: 256"));
    wc_config_destroy(c);
    c = s_ok(dump.ptr);
    assert_int_equal(wc_config_events_retention_min(c), 15);
    wc_config_destroy(c);
    wc_buf_reset(&dump);
    /* and so does the defaults' dump (events: with a null queue_url) */
    c = s_ok("");
    assert_int_equal(wc_config_dump(c, &dump), WC_OK);
    wc_config_destroy(c);
    c = s_ok(dump.ptr);
    assert_null(wc_config_events_queue_url(c));
    wc_config_destroy(c);
    wc_buf_clean_up(&dump);

    s_bad("queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q\n"
          "events:\n"
          "  queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q\n",
          &errs);
    s_find(&errs, 3, 3, "events need a queue of their own");
    wc_config_errors_clean_up(&errs);
    s_bad("correlation: {skew_seconds: 300}\n"
          "events:\n"
          "  queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/e\n"
          "  retention_minutes: 7\n"
          "  grace_seconds: 120\n",
          &errs);
    s_find(&errs, 4, 3, "7 min is not longer than a change may wait for its event");
    s_find(&errs, 4, 3, "= 420 s");
    wc_config_errors_clean_up(&errs);
    s_bad("events:\n  max_memory_mib: 0\n  grace_seconds: 3601\n  retention: 5\n", &errs);
    assert_int_equal(errs.len, 3);
    wc_config_errors_clean_up(&errs);
}

/* proxy: a proxy URL or none; its credentials never shown (dump, errors). */
static void test_proxy_key(void **state)
{
    struct wc_config *c = s_ok("");
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_buf dump = WC_BUF_INIT;

    (void)state;
    assert_null(wc_config_proxy(c));
    wc_config_destroy(c);
    c = s_ok("proxy: none\n");
    assert_string_equal(wc_config_proxy(c), "none");
    wc_config_destroy(c);
    c = s_ok("proxy: http://alice:hunter2secret@proxy.corp:3128\n");
    assert_string_equal(wc_config_proxy(c), "http://alice:hunter2secret@proxy.corp:3128");
    assert_int_equal(wc_config_dump(c, &dump), WC_OK);
    assert_non_null(strstr(dump.ptr, "proxy: \"http://***@proxy.corp:3128\""));
    assert_null(strstr(dump.ptr, "hunter2secret"));
    wc_buf_clean_up(&dump);
    wc_config_destroy(c);
    s_bad("\nproxy: ftp://alice:hunter2secret@proxy:21\n", &errs);
    s_find(&errs, 2, 8, "must be a proxy URL");
    assert_null(strstr(errs.items[0].reason, "hunter2secret"));
    assert_non_null(strstr(errs.items[0].reason, "ftp://***@proxy:21"));
    wc_config_errors_clean_up(&errs);
    s_bad("proxy: \"\"\n", &errs);
    wc_config_errors_clean_up(&errs);
}

/* endpoints: {region} templates; a fixed AWS host for a multi-region
 * service warns. */
static void test_endpoint_templates(void **state)
{
    struct wc_config *c;
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    const struct wc_strlist *w;

    (void)state;
    c = s_ok("endpoints:\n  cloudtrail: https://cloudtrail.{region}.amazonaws.com\n"
             "  sqs: http://127.0.0.1:4566/{region}\n  s3: http://127.0.0.1:4566\n");
    assert_string_equal(wc_config_endpoint(c, "cloudtrail"), "https://cloudtrail.{region}.amazonaws.com");
    assert_int_equal(wc_config_warnings(c)->len, 0); /* loopback: one stand-in for all */
    wc_config_destroy(c);
    c = s_ok("endpoints:\n  cloudtrail: https://cloudtrail.eu-west-1.amazonaws.com\n"
             "  sqs: https://sqs.eu-west-1.amazonaws.com\n"
             "  s3: https://bucket.vpce-0a1b.s3.eu-west-1.vpce.amazonaws.com\n");
    w = wc_config_warnings(c);
    assert_int_equal(w->len, 2); /* cloudtrail and s3; sqs is one queue in one region */
    assert_non_null(strstr(w->items[0], "endpoints.cloudtrail: https://cloudtrail.eu-west-1"
                                        ".amazonaws.com serves one region"));
    assert_non_null(strstr(w->items[0], "{region}"));
    assert_non_null(strstr(w->items[1], "endpoints.s3"));
    wc_config_destroy(c);
    s_bad("endpoints:\n  sts: https://sts.{regoin}.amazonaws.com\n", &errs);
    s_find(&errs, 2, 8, "{region} is the only placeholder");
    wc_config_errors_clean_up(&errs);
}

static void test_block_and_flow_lists(void **state)
{
    struct wc_config *a, *b;
    const struct wc_strlist *la, *lb;

    (void)state;
    a = s_ok("trusted:\n  - one\n  - \"two*\"\n  - 'th:ree'\nignore:\n  event_names:\n  - X\n");
    b = s_ok("trusted: [one, \"two*\", 'th:ree']\nignore: {event_names: [X]}\n");
    la = &wc_config_policy(a)->trusted;
    lb = &wc_config_policy(b)->trusted;
    assert_int_equal(la->len, 3);
    assert_int_equal(lb->len, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(la->items[i], lb->items[i]);
    assert_string_equal(la->items[2], "th:ree");
    assert_string_equal(wc_config_policy(b)->ignore_event_names.items[0], "X");
    wc_config_destroy(a);
    wc_config_destroy(b);

    /* an empty list replaces the default ignore list */
    a = s_ok("ignore:\n  resource_types: []\n");
    assert_int_equal(wc_config_policy(a)->ignore_resource_types.len, 0);
    wc_config_destroy(a);
}

static void test_env_expansion(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c;

    (void)state;
    setenv("WC_T_QUEUE", "orders", 1);
    setenv("WC_T_SKEW", "77", 1);
    setenv("WC_T_EMPTY", "", 1);
    setenv("WC_T_NESTED", "${WC_T_QUEUE}", 1);
    unsetenv("WC_T_UNSET");
    c = s_ok("queue_name: \"q-${WC_T_QUEUE}-x\"\n"
             "correlation: {skew_seconds: \"${WC_T_SKEW}\"}\n"
             "state_dir: ${WC_T_UNSET:-/srv/wc}\n"
             "trusted: [\"${WC_T_EMPTY:-fallback}\", \"${WC_T_NESTED}\", \"$${WC_T_QUEUE}\", "
             "\"cost $5\", \"${WC_T_EMPTY}end\"]\n");
    assert_string_equal(wc_config_queue_name(c), "q-orders-x");
    assert_int_equal(wc_config_policy(c)->skew_s, 77);
    assert_string_equal(wc_config_state_dir(c), "/srv/wc");
    assert_string_equal(wc_config_policy(c)->trusted.items[0], "fallback");
    /* the expanded text is not expanded again */
    assert_string_equal(wc_config_policy(c)->trusted.items[1], "${WC_T_QUEUE}");
    assert_string_equal(wc_config_policy(c)->trusted.items[2], "${WC_T_QUEUE}");
    assert_string_equal(wc_config_policy(c)->trusted.items[3], "cost $5");
    assert_string_equal(wc_config_policy(c)->trusted.items[4], "end");
    wc_config_destroy(c);

    /* unset without default, unterminated, bad name: errors at the value */
    s_bad("region: eu-west-1\n"
          "queue_name: ${WC_T_UNSET}\n"
          "state_dir: \"/x/${WC_T_QUEUE\"\n"
          "metrics_listen: \"${1BAD}\"\n",
          &errs);
    assert_int_equal(errs.len, 3);
    assert_true(strstr(errs.items[s_find(&errs, 2, 13, "WC_T_UNSET is not set")].reason,
                       "queue_name"));
    s_find(&errs, 3, 12, "unterminated");
    s_find(&errs, 4, 17, "invalid variable reference");
    wc_config_errors_clean_up(&errs);
    unsetenv("WC_T_QUEUE");
    unsetenv("WC_T_SKEW");
    unsetenv("WC_T_EMPTY");
    unsetenv("WC_T_NESTED");
}

static void test_unknown_key_position(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;

    (void)state;
    s_bad("region: eu-west-1\ncorrelation:\n  skew_seconds: 60\n    \n  skew: 5\nfoo: bar\n", &errs);
    assert_int_equal(errs.len, 2);
    assert_string_equal(errs.items[0].file, "t.yaml");
    assert_int_equal(errs.items[0].line, 5);
    assert_int_equal(errs.items[0].col, 3);
    assert_non_null(strstr(errs.items[0].reason, "unknown key 'skew' in correlation"));
    assert_non_null(strstr(errs.items[0].reason, "skew_seconds")); /* lists the known keys */
    s_find(&errs, 6, 1, "unknown key 'foo'");
    wc_config_errors_clean_up(&errs);
}

static void test_errors_collected_and_printed(void **state)
{
    char path[4096];
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c = NULL;
    char *text = NULL;
    size_t text_len = 0;
    FILE *f;

    (void)state;
    wc_test_data_path("configs/many_errors.yaml", path, sizeof(path));
    assert_int_equal(wc_config_load(path, &c, &errs), WC_ERR_CONFIG);
    assert_null(c);
    assert_int_equal(errs.len, 8);
    s_find(&errs, 2, 17, "between 1 and 3600");
    s_find(&errs, 3, 22, "expected an integer, got 'abc'");
    s_find(&errs, 4, 3, "unknown key 'bogus'");
    s_find(&errs, 5, 10, "expected a list of strings, got a string");
    s_find(&errs, 6, 12, "must be one of trace, debug, info, warn, error");
    s_find(&errs, 7, 22, "expected true or false, got 'yes'");
    s_find(&errs, 9, 8, "http:// or https://");
    s_find(&errs, 11, 1, "duplicate key 'region' (first at line 10)");
    for (size_t i = 1; i < errs.len; i++) /* in file order */
        assert_true(errs.items[i - 1].line <= errs.items[i].line);

    f = open_memstream(&text, &text_len);
    assert_non_null(f);
    assert_int_equal(wc_config_errors_print(&errs, f), WC_OK);
    fclose(f);
    {
        struct wc_buf want = WC_BUF_INIT;
        assert_int_equal(wc_buf_appendf(&want, "%s:2:17: correlation.skew_seconds: must be between "
                                               "1 and 3600, got 99999\n", path), WC_OK);
        assert_true(!strncmp(text, want.ptr, want.len));
        wc_buf_clean_up(&want);
    }
    free(text);
    wc_config_errors_clean_up(&errs);
}

static void test_wrong_types(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;

    (void)state;
    s_bad("correlation: 5\n"                           /* scalar for a mapping */
          "region: {a: b}\n"                           /* mapping for a scalar */
          "automation_user_agents: [ok, [nested]]\n"   /* list inside the list */
          "max_in_flight: 0\n"                         /* out of range */
          "notify_unattributed: \"maybe\"\n"           /* bad boolean */
          "log_format: [json]\n"                       /* list for a scalar */
          "endpoints: [http://x]\n"                    /* list for a mapping */
          "ignore:\n  resource_types: AWS::S3::Bucket\n" /* string for a list */
          "trusted: [\"\"]\n"                          /* empty pattern */
          "metrics_listen: \"localhost:99999\"\n"      /* bad port */
          "state_dir: \"\"\n"                          /* empty */
          "accounts: {role_arn: \"arn:aws:iam::12345:role/x\", session_name: \"a b\"}\n"
          "[a]: 1\n",                                  /* non-string key */
          &errs);
    s_find(&errs, 1, 14, "correlation: expected a mapping, got a string");
    s_find(&errs, 2, 9, "region: expected a string, got a mapping");
    s_find(&errs, 3, 30, "expected a string, got a list");
    s_find(&errs, 4, 16, "between 1 and 1024, got 0");
    s_find(&errs, 5, 22, "expected true or false, got 'maybe'");
    s_find(&errs, 6, 13, "log_format: expected a string, got a list");
    s_find(&errs, 7, 12, "endpoints: expected a mapping, got a list");
    s_find(&errs, 9, 19, "ignore.resource_types: expected a list of strings, got a string");
    s_find(&errs, 10, 11, "empty pattern");
    s_find(&errs, 11, 17, "must be IP:port or localhost:port");
    s_find(&errs, 12, 12, "state_dir: must not be empty");
    s_find(&errs, 13, 22, "accounts.role_arn: must be a role ARN");
    s_find(&errs, 13, 65, "accounts.session_name");
    s_find(&errs, 14, 1, "keys must be strings");
    assert_int_equal(errs.len, 14);
    wc_config_errors_clean_up(&errs);

    /* the top level must be a mapping */
    s_bad("- a\n- b\n", &errs);
    s_find(&errs, 1, 1, "top level must be a mapping");
    wc_config_errors_clean_up(&errs);
}

static void test_valid_shapes(void **state)
{
    struct wc_config *c;

    (void)state;
    c = s_ok("accounts:\n  role_arn: arn:aws-us-gov:iam::123456789012:role/path/reader\n"
             "metrics_listen: \"localhost:9100\"\nnotify_unattributed: FALSE\nmax_in_flight: +1024\n"
             "correlation: {skew_seconds: 3600, retry_for_seconds: 0}\n");
    assert_string_equal(wc_config_accounts_role_arn(c),
                        "arn:aws-us-gov:iam::123456789012:role/path/reader");
    assert_string_equal(wc_config_metrics_listen(c), "localhost:9100");
    assert_int_equal(wc_config_max_in_flight(c), 1024);
    assert_int_equal(wc_config_policy(c)->skew_s, 3600);
    assert_int_equal(wc_config_retry_for_s(c), 0);
    wc_config_destroy(c);
}

static void test_duplicate_keys(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;

    (void)state;
    s_bad("correlation:\n  skew_seconds: 1\n  skew_seconds: 2\n"
          "log_level: info\nlog_level: warn\n"
          "notifiers:\n  - type: slack\n    webhook_url: http://a\n"
          "    account_aliases: {\"111111111111\": a, \"111111111111\": b}\n",
          &errs);
    s_find(&errs, 3, 3, "duplicate key 'correlation.skew_seconds' (first at line 2)");
    s_find(&errs, 5, 1, "duplicate key 'log_level' (first at line 4)");
    s_find(&errs, 9, 42, "duplicate key '111111111111'");
    assert_int_equal(errs.len, 3);
    wc_config_errors_clean_up(&errs);
}

static void test_syntax_error_position(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;

    (void)state;
    s_bad("region: eu-west-1\ntrusted: [a, b\nlog_level: info\n", &errs);
    assert_int_equal(errs.len, 1);
    assert_int_equal(errs.items[0].line, 3);
    assert_int_equal(errs.items[0].col, 10);
    assert_true(!strncmp(errs.items[0].reason, "YAML syntax error: ", 19));
    assert_non_null(strstr(errs.items[0].reason, "did not find expected ',' or ']'"));
    assert_non_null(strstr(errs.items[0].reason, "line 2 column 10"));
    wc_config_errors_clean_up(&errs);

    s_bad("region: eu-west-1\n  bad: indent\n", &errs);
    assert_int_equal(errs.items[0].line, 2);
    assert_true(!strncmp(errs.items[0].reason, "YAML syntax error: ", 19));
    wc_config_errors_clean_up(&errs);

    s_bad("region: eu-west-1\n---\nregion: eu-west-2\n", &errs);
    s_find(&errs, 2, 1, "only one YAML document");
    wc_config_errors_clean_up(&errs);

    /* bad encoding: the reader's byte offset becomes line:col */
    s_bad("region: eu-west-1\nqueue_name: \xff\xfe\n", &errs);
    s_find(&errs, 2, 13, "YAML syntax error: invalid leading UTF-8 octet");
    wc_config_errors_clean_up(&errs);

    /* nesting is bounded */
    {
        struct wc_buf deep = WC_BUF_INIT;
        assert_int_equal(wc_buf_append_cstr(&deep, "trusted: "), WC_OK);
        for (int i = 0; i < 100; i++)
            assert_int_equal(wc_buf_append_char(&deep, '['), WC_OK);
        for (int i = 0; i < 100; i++)
            assert_int_equal(wc_buf_append_char(&deep, ']'), WC_OK);
        s_bad(deep.ptr, &errs);
        s_find(&errs, 1, 73, "nesting deeper than 64 levels");
        wc_buf_clean_up(&deep);
        wc_config_errors_clean_up(&errs);
    }

    /* an escaped NUL would silently cut the value short */
    s_bad("region: \"eu\\0west-1\"\n", &errs);
    s_find(&errs, 1, 9, "region: contains a NUL character");
    wc_config_errors_clean_up(&errs);
}

static void test_aliases_and_tags_rejected(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_buf laughs = WC_BUF_INIT;

    (void)state;
    s_bad("trusted: &t [a]\nautomation_user_agents: *t\n", &errs);
    assert_int_equal(errs.len, 1);
    s_find(&errs, 2, 25, "YAML aliases are not allowed (*t)");
    wc_config_errors_clean_up(&errs);

    /* billion laughs: rejected quickly, one error per alias is capped */
    assert_int_equal(wc_buf_append_cstr(&laughs, "trusted: [&a0 lol]\n"), WC_OK);
    for (int i = 0; i < 9; i++)
        assert_int_equal(wc_buf_appendf(&laughs, "l%d: &b%d [*%c%d, *%c%d, *%c%d, *%c%d]\n", i, i,
                                        i ? 'b' : 'a', i ? i - 1 : 0, i ? 'b' : 'a', i ? i - 1 : 0,
                                        i ? 'b' : 'a', i ? i - 1 : 0, i ? 'b' : 'a', i ? i - 1 : 0),
                         WC_OK);
    s_bad(laughs.ptr, &errs);
    s_find(&errs, 2, 10, "YAML aliases are not allowed");
    wc_buf_clean_up(&laughs);
    wc_config_errors_clean_up(&errs);

    s_bad("region: !!str eu-west-1\n", &errs);
    s_find(&errs, 1, 9, "YAML tags are not supported");
    wc_config_errors_clean_up(&errs);
}

static void test_too_many_errors_capped(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_buf y = WC_BUF_INIT;

    (void)state;
    for (int i = 0; i < 300; i++)
        assert_int_equal(wc_buf_appendf(&y, "unknown_%d: 1\n", i), WC_OK);
    s_bad(y.ptr, &errs);
    assert_int_equal(errs.len, WC_CONFIG_MAX_ERRORS + 1);
    assert_int_equal(errs.items[errs.len - 1].line, 0);
    assert_non_null(strstr(errs.items[errs.len - 1].reason, "too many errors"));
    wc_buf_clean_up(&y);
    wc_config_errors_clean_up(&errs);
}

static void test_notifier_validation(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;

    (void)state;
    s_bad("notifiers:\n"
          "  - channel: x\n"                                           /* 2: no type */
          "  - type: email\n"                                          /* 3 */
          "  - {type: slack, webhook_url: \"http://a\", bot_token: t-123456789, channel: c}\n" /* 4 */
          "  - {type: slack, channel: c}\n"                            /* 5 */
          "  - {type: jsonl, url: \"http://a\", path: /x}\n"            /* 6 */
          "  - {type: webhook, url: \"http://a\", verdicts: [human, bored]}\n" /* 7 */
          "  - {type: slack, webhook_url: \"http://a\", channel_by_account: {\"12\": c}}\n" /* 8 */
          "  - {type: webhook, url: \"http://a\", verdicts: []}\n"      /* 9 */
          "  - just a string\n",                                       /* 10 */
          &errs);
    s_find(&errs, 2, 5, "notifiers[0]: missing key 'type'");
    s_find(&errs, 3, 11, "unknown notifier type 'email'");
    s_find(&errs, 4, 5, "set webhook_url or bot_token, not both");
    s_find(&errs, 5, 5, "slack needs webhook_url, or bot_token and channel");
    s_find(&errs, 6, 19, "unknown key 'url' in notifiers[4]");
    s_find(&errs, 7, 56, "unknown verdict 'bored'");
    s_find(&errs, 8, 65, "not a 12-digit account id");
    s_find(&errs, 9, 48, "name at least one verdict");
    s_find(&errs, 10, 5, "expected a mapping with a type, got a string");
    assert_int_equal(errs.len, 9);
    wc_config_errors_clean_up(&errs);

    s_bad("notifiers: {type: slack}\n", &errs);
    s_find(&errs, 1, 12, "expected a list of notifiers, got a mapping");
    wc_config_errors_clean_up(&errs);
}

static void test_secrets_redacted(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c;
    struct wc_buf dump = WC_BUF_INIT;
    const char *const *secrets;
    size_t n = 0;
    char *printed = NULL;
    size_t printed_len = 0;
    FILE *f;

    (void)state;
    setenv("WC_T_HMAC", "hmac-from-env-SECRET-77", 1);
    c = s_ok("accounts:\n  role_arn: arn:aws:iam::{account_id}:role/r\n"
             "  external_id: ext-SECRET-4242\n"
             "notifiers:\n"
             "  - type: slack\n    webhook_url: https://hooks.slack.com/services/T9/B9/hookSECRET99\n"
             "  - type: slack\n    bot_token: xoxb-SECRET-token-11\n    channel: ops\n"
             "  - type: webhook\n    url: https://example.com/h\n    hmac_secret: ${WC_T_HMAC}\n");
    assert_int_equal(wc_config_dump(c, &dump), WC_OK);
    assert_null(strstr(dump.ptr, "SECRET"));
    assert_null(strstr(dump.ptr, "hookSECRET99"));
    assert_non_null(strstr(dump.ptr, "external_id: \"(redacted)\""));
    assert_non_null(strstr(dump.ptr, "webhook_url: \"(redacted)\""));
    assert_non_null(strstr(dump.ptr, "bot_token: \"(redacted)\""));
    assert_non_null(strstr(dump.ptr, "hmac_secret: \"(redacted)\""));
    /* the webhook's url may carry a token: a secret too */
    assert_null(strstr(dump.ptr, "example.com/h"));
    assert_non_null(strstr(dump.ptr, "  url: \"(redacted)\""));
    /* non-secrets are shown */
    assert_non_null(strstr(dump.ptr, "channel: \"ops\""));

    secrets = wc_config_secrets(c, &n);
    assert_int_equal(n, 5);
    assert_string_equal(secrets[0], "ext-SECRET-4242");
    assert_string_equal(secrets[1], "https://hooks.slack.com/services/T9/B9/hookSECRET99");
    assert_string_equal(secrets[2], "xoxb-SECRET-token-11");
    assert_string_equal(secrets[3], "https://example.com/h");
    assert_string_equal(secrets[4], "hmac-from-env-SECRET-77");
    assert_null(secrets[5]);
    wc_buf_clean_up(&dump);
    wc_config_destroy(c);

    /* a secret's value is never echoed in an error */
    s_bad("notifiers:\n  - type: slack\n    webhook_url: not-a-url-SECRET-xyz\n"
          "  - type: webhook\n    url: http://a\n    hmac_secret: \"\"\n",
          &errs);
    s_find(&errs, 3, 18, "webhook_url: must be an http:// or https:// URL");
    s_find(&errs, 6, 18, "hmac_secret: must not be empty");
    f = open_memstream(&printed, &printed_len);
    assert_non_null(f);
    wc_config_errors_print(&errs, f);
    fclose(f);
    assert_null(strstr(printed, "SECRET"));
    free(printed);
    wc_config_errors_clean_up(&errs);
    unsetenv("WC_T_HMAC");
}

/* A secret the logger could not mask safely is refused with file:line:col:
 * shorter than 8 bytes, or part of "(redacted)" (the logger would find it
 * again inside its own mask). The value is not echoed. */
static void test_secret_length_and_marker(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c;

    (void)state;
    s_bad("accounts:\n  external_id: xid-42\n"
          "notifiers:\n"
          "  - {type: webhook, url: \"http://127.0.0.1:1/h\", hmac_secret: redacted}\n"
          "  - {type: slack, bot_token: \"(redacted)\", channel: c}\n"
          "  - {type: webhook, url: \"http://127.0.0.1:1/h\", hmac_secret: \"(redacte\"}\n",
          &errs);
    s_find(&errs, 2, 16, "accounts.external_id: a secret must be at least 8 bytes long");
    s_find(&errs, 4, 63, "hmac_secret: a secret must not be part of \"(redacted)\"");
    s_find(&errs, 5, 30, "bot_token: a secret must not be part of");
    s_find(&errs, 6, 63, "hmac_secret: a secret must not be part of");
    assert_int_equal(errs.len, 4);
    for (size_t i = 0; i < errs.len; i++)
        assert_null(strstr(errs.items[i].reason, "xid-42"));
    wc_config_errors_clean_up(&errs);
    /* 8 bytes is enough; containing the marker is not being part of it */
    c = s_ok("accounts:\n  external_id: xid-4242\n"
             "notifiers:\n"
             "  - {type: webhook, url: \"http://127.0.0.1:1/h\", hmac_secret: \"x(redacted)\"}\n");
    wc_config_destroy(c);
}

/* A mistyped reference in a secret (the secret pasted inside ${...}) used to
 * be echoed in the error (review finding 6). A non-secret still is. */
static void test_invalid_reference_in_secret_not_echoed(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    size_t i;

    (void)state;
    s_bad("accounts:\n  external_id: \"${ext-SECRET-4242}\"\n"
          "notifiers:\n"
          "  - {type: webhook, url: \"https://h.example/x?t=${tok-SECRET-1}\", "
          "hmac_secret: \"${hmac SECRET}\"}\n"
          "queue_name: \"${1-not-secret}\"\n",
          &errs);
    assert_int_equal(errs.len, 4);
    s_find(&errs, 2, 16, "accounts.external_id: invalid variable reference (use ${NAME}");
    s_find(&errs, 4, 26, "notifiers[0].url: invalid variable reference (use");
    s_find(&errs, 4, 80, "notifiers[0].hmac_secret: invalid variable reference (use");
    i = s_find(&errs, 5, 13, "queue_name: invalid variable reference");
    assert_non_null(strstr(errs.items[i].reason, "'${1-not-secret}'"));
    for (i = 0; i < errs.len; i++)
        assert_null(strstr(errs.items[i].reason, "SECRET"));
    wc_config_errors_clean_up(&errs);
}

/* Writes yaml to a new temporary file with the given mode; path receives it. */
static void s_write_mode(char *path, size_t len, const char *yaml, mode_t mode)
{
    int fd;
    FILE *f;

    snprintf(path, len, "/tmp/wc-config-mode-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
}

/* number of warnings of loading yaml from a file of that mode; the first
 * (if any) is copied to first. */
static size_t s_mode_warnings(const char *yaml, mode_t mode, char *first, size_t first_len)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c = NULL;
    char path[64];
    size_t n;

    s_write_mode(path, sizeof(path), yaml, mode);
    if (wc_config_load(path, &c, &errs) != WC_OK) {
        wc_config_errors_print(&errs, stderr);
        fail_msg("%s did not load", path);
    }
    n = wc_config_warnings(c)->len;
    if (first && first_len)
        snprintf(first, first_len, "%s", n ? wc_config_warnings(c)->items[0] : "");
    wc_config_destroy(c);
    wc_config_errors_clean_up(&errs);
    unlink(path);
    return n;
}

/* A config file others can read that holds a secret written in it: a
 * warning (review finding 6), never the secret itself. */
static void test_readable_file_with_literal_secret_warns(void **state)
{
    static const char literal[] = "region: eu-west-1\n"
                                  "notifiers:\n"
                                  "  - type: webhook\n"
                                  "    url: ${WC_T_URL}\n"
                                  "    hmac_secret: literal-SECRET-in-file\n";
    static const char from_env[] = "notifiers:\n"
                                   "  - {type: webhook, url: \"${WC_T_URL}\", "
                                   "hmac_secret: \"${WC_T_HMAC}\"}\n";
    static const char env_default[] = "accounts:\n"
                                      "  external_id: \"${WC_T_UNSET_XID:-default-SECRET-xid}\"\n";
    char w[512];

    (void)state;
    setenv("WC_T_URL", "https://hooks.example/x", 1);
    setenv("WC_T_HMAC", "hmac-from-env-SECRET-77", 1);
    unsetenv("WC_T_UNSET_XID");
    assert_int_equal(s_mode_warnings(literal, 0644, w, sizeof(w)), 1);
    assert_non_null(strstr(w, "readable by group and others (mode 0644)"));
    assert_non_null(strstr(w, "notifiers[0].hmac_secret, line 5"));
    assert_non_null(strstr(w, "chmod 600"));
    assert_null(strstr(w, "SECRET"));
    assert_int_equal(s_mode_warnings(literal, 0640, w, sizeof(w)), 1);
    assert_non_null(strstr(w, "readable by its group (mode 0640)"));
    assert_int_equal(s_mode_warnings(literal, 0604, w, sizeof(w)), 1);
    assert_non_null(strstr(w, "readable by others (mode 0604)"));
    /* owner-only: fine */
    assert_int_equal(s_mode_warnings(literal, 0600, NULL, 0), 0);
    assert_int_equal(s_mode_warnings(literal, 0400, NULL, 0), 0);
    /* secrets from the environment: fine even world-readable */
    assert_int_equal(s_mode_warnings(from_env, 0644, NULL, 0), 0);
    /* a default written in the file is in the file */
    assert_int_equal(s_mode_warnings(env_default, 0644, w, sizeof(w)), 1);
    assert_non_null(strstr(w, "accounts.external_id, line 2"));
    /* ... unless the environment gives the value */
    setenv("WC_T_UNSET_XID", "xid-from-env-0001", 1);
    assert_int_equal(s_mode_warnings(env_default, 0644, NULL, 0), 0);
    unsetenv("WC_T_UNSET_XID");
    unsetenv("WC_T_URL");
    unsetenv("WC_T_HMAC");
}

/* Where messages may come from (review finding 2): accounts.allowed,
 * sns.allowed_topics, oversized.allowed_buckets, into the policy. */
static void test_trust_allowlists(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    const struct wc_policy *p;
    struct wc_config *c;
    struct wc_buf d = WC_BUF_INIT;

    (void)state;
    c = s_ok("accounts:\n"
             "  role_arn: \"arn:aws:iam::{account_id}:role/r\"\n"
             "  allowed: [\"111111111111\", 012345678901, o-a1b2c3d4e5]\n"
             "sns: {allowed_topics: [\"arn:aws:sns:*:111111111111:config-*\"]}\n"
             "oversized: {allowed_buckets: [config-bucket, \"org-*/AWSLogs/*\"]}\n");
    p = wc_config_policy(c);
    assert_int_equal(p->allowed_accounts.len, 3);
    assert_string_equal(p->allowed_accounts.items[1], "012345678901"); /* as written */
    assert_int_equal(p->allowed_topics.len, 1);
    assert_int_equal(p->allowed_buckets.len, 2);
    assert_string_equal(p->allowed_buckets.items[1], "org-*/AWSLogs/*");
    /* the org id is not checked: said once; accounts are listed: no other warning */
    assert_int_equal(wc_config_warnings(c)->len, 1);
    assert_non_null(strstr(wc_config_warnings(c)->items[0],
                           "accounts.allowed: o-a1b2c3d4e5: not checked"));
    /* dumped, and the dump loads back */
    assert_int_equal(wc_config_dump(c, &d), WC_OK);
    assert_non_null(strstr(d.ptr, "  allowed_buckets:\n  - \"config-bucket\"\n"
                                  "  - \"org-*/AWSLogs/*\"\n"));
    wc_config_destroy(c);
    c = s_ok(d.ptr);
    assert_int_equal(wc_config_policy(c)->allowed_accounts.len, 3);
    assert_int_equal(wc_config_policy(c)->allowed_topics.len, 1);
    wc_config_destroy(c);
    wc_buf_clean_up(&d);

    /* defaults: empty, everything allowed (as before) */
    c = s_ok("");
    assert_int_equal(wc_config_policy(c)->allowed_accounts.len, 0);
    assert_int_equal(wc_config_policy(c)->allowed_topics.len, 0);
    assert_int_equal(wc_config_policy(c)->allowed_buckets.len, 0);
    assert_int_equal(wc_config_warnings(c)->len, 0);
    wc_config_destroy(c);

    /* a role template with no allowlist: a warning that any account is trusted */
    c = s_ok("accounts: {role_arn: \"arn:aws:iam::{account_id}:role/r\"}\n");
    assert_int_equal(wc_config_warnings(c)->len, 1);
    assert_non_null(strstr(wc_config_warnings(c)->items[0],
                           "accounts.allowed is empty: any account id in a queue message is "
                           "trusted"));
    wc_config_destroy(c);
    /* a fixed role serves its own account only: nothing to warn about */
    c = s_ok("accounts: {role_arn: \"arn:aws:iam::111111111111:role/r\"}\n");
    assert_int_equal(wc_config_warnings(c)->len, 0);
    wc_config_destroy(c);

    /* bad entries, each at its position */
    s_bad("accounts:\n"
          "  allowed: [\"12345\", \"o-SHORT\", \"\", {a: b}]\n"
          "sns:\n"
          "  allowed_topics: [config-topic]\n"
          "oversized:\n"
          "  allowed_buckets: [\"s3://bucket/x\", \"/x\"]\n", &errs);
    s_find(&errs, 2, 13, "accounts.allowed: '12345' is neither a 12-digit account id nor an "
                         "AWS Organizations id");
    s_find(&errs, 2, 22, "'o-SHORT' is neither");
    s_find(&errs, 2, 33, "accounts.allowed: empty id");
    s_find(&errs, 2, 37, "expected a string, got a mapping");
    s_find(&errs, 4, 20, "sns.allowed_topics: 'config-topic' is not an SNS topic ARN");
    s_find(&errs, 6, 21, "oversized.allowed_buckets: 's3://bucket/x' is not a bucket");
    s_find(&errs, 6, 38, "'/x' is not a bucket");
    wc_config_errors_clean_up(&errs);
    /* org ids alone: refused, with why */
    s_bad("accounts:\n  allowed: [o-a1b2c3d4e5]\n", &errs);
    assert_int_equal(errs.len, 1);
    s_find(&errs, 2, 12, "accounts.allowed: only AWS Organizations ids: whochanged cannot tell "
                         "which accounts belong to an organization");
    wc_config_errors_clean_up(&errs);
    s_bad("accounts: {allowed: \"111111111111\"}\n", &errs);
    s_find(&errs, 1, 21, "accounts.allowed: expected a list of strings, got a string");
    wc_config_errors_clean_up(&errs);
}

/* digest_seconds, and coalesce_seconds its older name: read, never dumped. */
static void test_digest_seconds_and_its_old_name(void **state)
{
    struct wc_config *c;
    struct wc_buf d = WC_BUF_INIT;

    (void)state;
    c = s_ok("correlation: {coalesce_seconds: 7}\n");
    assert_int_equal(wc_config_digest_s(c), 7);
    assert_int_equal(wc_config_dump(c, &d), WC_OK);
    assert_non_null(strstr(d.ptr, "digest_seconds: 7"));
    assert_null(strstr(d.ptr, "coalesce_seconds"));
    wc_buf_clean_up(&d);
    wc_config_destroy(c);
    c = s_ok("correlation: {digest_seconds: 0}\ncloudtrail: {scan: false}\n");
    assert_int_equal(wc_config_digest_s(c), 0);
    assert_false(wc_config_cloudtrail_scan(c));
    wc_config_destroy(c);
    assert_int_equal(wc_config_load_defaults(&c), WC_OK);
    assert_int_equal(wc_config_digest_s(c), 5);
    assert_true(wc_config_cloudtrail_scan(c));
    wc_config_destroy(c);
}

/* correlation.periodic_window_hours and ownership_tags (issue 9, items 3
 * and 8): defaults, values, bounds, and the dump. */
static void test_periodic_window_and_ownership_tags(void **state)
{
    struct wc_config *c;
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_buf d = WC_BUF_INIT;
    const struct wc_policy *p;

    (void)state;
    assert_int_equal(wc_config_load_defaults(&c), WC_OK);
    assert_int_equal(wc_config_policy(c)->periodic_window_h, 24);
    assert_int_equal(wc_config_policy(c)->ownership_tags.len, 0);
    wc_config_destroy(c);
    c = s_ok("correlation: {periodic_window_hours: 30}\n"
             "ownership_tags: [ManagedBy, \"terraform:*\"]\n");
    p = wc_config_policy(c);
    assert_int_equal(p->periodic_window_h, 30);
    assert_int_equal(p->ownership_tags.len, 2);
    assert_true(wc_strlist_glob_any(&p->ownership_tags, "terraform:workspace"));
    assert_int_equal(wc_config_dump(c, &d), WC_OK);
    assert_non_null(strstr(d.ptr, "periodic_window_hours: 30"));
    assert_non_null(strstr(d.ptr, "ManagedBy"));
    wc_buf_clean_up(&d);
    wc_config_destroy(c);
    s_bad("correlation:\n  periodic_window_hours: 0\n", &errs);
    s_find(&errs, 2, 26, "periodic_window_hours");
    wc_config_errors_clean_up(&errs);
    s_bad("ownership_tags: [\"\"]\n", &errs);
    s_find(&errs, 1, 18, "ownership_tags");
    wc_config_errors_clean_up(&errs);
}

/* Found by tests/fuzz/fuzz_config: a value holding "${" (written "$${" in
 * the file) was dumped as "${", which the loader then expanded. */
static void test_dump_escapes_dollar_brace(void **state)
{
    struct wc_config *a, *b;
    struct wc_buf d1 = WC_BUF_INIT, d2 = WC_BUF_INIT;

    (void)state;
    s_unset_region_env();
    a = s_ok("trusted: [\"arn:aws:iam::*:role/$${literal}\", \"$$$${x}\", \"a$b$${\"]\n");
    assert_string_equal(wc_config_policy(a)->trusted.items[0], "arn:aws:iam::*:role/${literal}");
    assert_string_equal(wc_config_policy(a)->trusted.items[1], "$$${x}");
    assert_int_equal(wc_config_dump(a, &d1), WC_OK);
    assert_non_null(strstr(d1.ptr, "\"arn:aws:iam::*:role/$${literal}\""));
    b = s_ok(d1.ptr);
    assert_string_equal(wc_config_policy(b)->trusted.items[0], "arn:aws:iam::*:role/${literal}");
    assert_string_equal(wc_config_policy(b)->trusted.items[1], "$$${x}");
    assert_string_equal(wc_config_policy(b)->trusted.items[2], "a$b${");
    assert_int_equal(wc_config_dump(b, &d2), WC_OK);
    assert_string_equal(d1.ptr, d2.ptr);
    wc_buf_clean_up(&d1);
    wc_buf_clean_up(&d2);
    wc_config_destroy(a);
    wc_config_destroy(b);
}

static void test_dump_round_trip(void **state)
{
    struct wc_config *a, *b;
    struct wc_buf d1 = WC_BUF_INIT, d2 = WC_BUF_INIT;

    (void)state;
    s_unset_region_env();
    a = s_ok("correlation: {skew_seconds: 42}\n"
             "trusted: [\"x: y\", \"null\", \"#hash\", \"it's\", \"quote\\\"d\", \"123\"]\n"
             "ignore: {resource_types: []}\n"
             "endpoints: {sts: \"http://127.0.0.1:1/\"}\n"
             "log_level: error\nnotify_unattributed: true\nmetrics_listen: \"0.0.0.0:1\"\n"
             "notifiers:\n  - {type: jsonl, path: \"/tmp/a b\", verdicts: [ignored, human]}\n"
             "  - {type: webhook, url: \"http://h\"}\n");
    assert_int_equal(wc_config_dump(a, &d1), WC_OK);
    /* every key appears, defaults included */
    assert_non_null(strstr(d1.ptr, "retry_initial_seconds: 30\n"));
    assert_non_null(strstr(d1.ptr, "state_dir: \"/var/lib/whochanged\"\n"));
    assert_non_null(strstr(d1.ptr, "region: null\n"));
    assert_non_null(strstr(d1.ptr, "hmac_secret: null\n"));
    /* the webhook url is a secret, printed "(redacted)": put a value back */
    {
        char *at = strstr(d1.ptr, "url: \"(redacted)\"");
        struct wc_buf fixed = WC_BUF_INIT;

        assert_non_null(at);
        assert_int_equal(wc_buf_append(&fixed, d1.ptr, (size_t)(at - d1.ptr)), WC_OK);
        assert_int_equal(wc_buf_append_cstr(&fixed, "url: \"http://h\""), WC_OK);
        assert_int_equal(wc_buf_append_cstr(&fixed, at + strlen("url: \"(redacted)\"")), WC_OK);
        b = s_ok(fixed.ptr);
        wc_buf_clean_up(&fixed);
    }
    assert_int_equal(wc_config_dump(b, &d2), WC_OK);
    assert_string_equal(d1.ptr, d2.ptr);
    assert_int_equal(wc_config_policy(b)->trusted.len, 6);
    assert_string_equal(wc_config_policy(b)->trusted.items[1], "null");
    assert_string_equal(wc_config_policy(b)->trusted.items[4], "quote\"d");
    assert_int_equal(wc_config_policy(b)->ignore_resource_types.len, 0);
    assert_int_equal(wc_config_notifier(b, 0)->verdicts,
                     WC_VERDICT_BIT(WC_VERDICT_IGNORED) |
                         WC_VERDICT_BIT(WC_VERDICT_HUMAN));
    wc_buf_clean_up(&d1);
    wc_buf_clean_up(&d2);
    wc_config_destroy(a);
    wc_config_destroy(b);
}

static void test_file_errors(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c = NULL;
    char path[4096];
    char tmpl[] = "/tmp/wc-config-test-XXXXXX";
    int fd;
    FILE *f;

    (void)state;
    assert_int_equal(wc_config_load("/nonexistent/wc/config.yaml", &c, &errs), WC_ERR_NOT_FOUND);
    assert_null(c);
    assert_int_equal(errs.len, 1);
    assert_int_equal(errs.items[0].line, 0);
    assert_string_equal(errs.items[0].file, "/nonexistent/wc/config.yaml");
    assert_non_null(strstr(errs.items[0].reason, "No such file"));
    wc_config_errors_clean_up(&errs);

    /* $WHOCHANGED_CONFIG names the file when no path is given */
    wc_test_data_path("configs/valid.yaml", path, sizeof(path));
    setenv(WC_CONFIG_ENV, path, 1);
    assert_int_equal(wc_config_load(NULL, &c, &errs), WC_OK);
    assert_string_equal(wc_config_path(c), path);
    assert_int_equal(wc_config_policy(c)->skew_s, 300);
    wc_config_destroy(c);
    /* ... and a missing file it names is an error, not the defaults */
    setenv(WC_CONFIG_ENV, "/nonexistent/wc/env.yaml", 1);
    assert_int_equal(wc_config_load(NULL, &c, &errs), WC_ERR_NOT_FOUND);
    assert_null(c);
    wc_config_errors_clean_up(&errs);
    unsetenv(WC_CONFIG_ENV);

    /* a directory cannot be read */
    assert_int_equal(wc_config_load("/tmp", &c, &errs), WC_ERR_IO);
    wc_config_errors_clean_up(&errs);

    /* over 1 MiB: rejected before parsing */
    fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    for (size_t i = 0; i < WC_CONFIG_MAX_BYTES / 16 + 1; i++)
        fputs("# 16 byte line\n\n", f);
    fclose(f);
    assert_int_equal(wc_config_load(tmpl, &c, &errs), WC_ERR_TOO_LARGE);
    assert_null(c);
    s_find(&errs, 0, 0, "larger than 1 MiB");
    wc_config_errors_clean_up(&errs);
    unlink(tmpl);
    {
        struct wc_buf big = WC_BUF_INIT;
        while (big.len <= WC_CONFIG_MAX_BYTES)
            assert_int_equal(wc_buf_append_cstr(&big, "# padding padding padding\n"), WC_OK);
        assert_int_equal(wc_config_load_string("big", big.ptr, big.len, &c, &errs),
                         WC_ERR_TOO_LARGE);
        wc_buf_clean_up(&big);
        wc_config_errors_clean_up(&errs);
    }

    /* the default path, when missing, gives the defaults (skipped when the
     * machine really has a config there) */
    if (access(WC_CONFIG_DEFAULT_PATH, F_OK) != 0) {
        assert_int_equal(wc_config_load(NULL, &c, &errs), WC_OK);
        assert_null(wc_config_path(c));
        assert_int_equal(errs.len, 0);
        wc_config_destroy(c);
    }
}

static int s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    int rc = 0;

    if (!f)
        return -1;
    if (fputs(text, f) == EOF)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* The example's commented block that starts with the line "# KEY:", up to
 * the next line that is not a comment, uncommented ("# x" -> "x"). */
static void s_uncomment_block(const char *text, const char *key, size_t max_lines,
                              struct wc_buf *out)
{
    char head[64];
    const char *p;
    size_t lines = 0;

    snprintf(head, sizeof(head), "\n# %s:", key);
    p = strstr(text, head);
    if (!p)
        fail_msg("no commented block '# %s:' in examples/config.yaml", key);
    p++;
    while (*p == '#' && (!max_lines || lines++ < max_lines)) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);

        if (n >= 2 && p[1] == ' ')
            assert_int_equal(wc_buf_append(out, p + 2, n - 2), WC_OK);
        assert_int_equal(wc_buf_append_char(out, '\n'), WC_OK);
        p += n + (eol ? 1 : 0);
    }
}

/* Issue 9: examples/config.yaml as copied names nothing of someone else's
 * (no placeholder token, webhook, account or endpoint that would be used),
 * loads without any variable set, and has no queue (run and check-config
 * refuse it for that reason). Every commented block is valid once
 * uncommented. */
static void test_example_loads(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c = NULL;
    struct wc_buf text = WC_BUF_INIT, yaml = WC_BUF_INIT;
    const char *root = getenv("WC_ROOT");
    char path[4096], dir[] = "/tmp/wc-test-creds-XXXXXX", f[4200];
    static const struct {
        const char *key;
        size_t lines;
    } blocks[] = {{"endpoints", 0}, {"accounts", 0}, {"sns", 0}, {"oversized", 0},
                  {"queue_url", 1}, {"events", 0}, {"notifiers", 0}, {"ledger", 0}};
    FILE *fp;

    (void)state;
    snprintf(path, sizeof(path), "%s/examples/config.yaml", root ? root : ".");
    s_unset_region_env();
    unsetenv("WHOCHANGED_EXTERNAL_ID");
    unsetenv("SLACK_WEBHOOK_URL");
    if (wc_config_load(path, &c, &errs) != WC_OK) {
        wc_config_errors_print(&errs, stderr);
        fail_msg("examples/config.yaml did not load as copied");
    }
    assert_int_equal(errs.len, 0);
    assert_int_equal(wc_config_notifier_count(c), 0);
    assert_null(wc_config_queue_url(c));
    assert_null(wc_config_queue_name(c));
    assert_null(wc_config_region(c));
    assert_null(wc_config_endpoint(c, "sqs"));
    assert_null(wc_config_accounts_role_arn(c));
    assert_int_equal(wc_config_policy(c)->allowed_accounts.len, 0);
    assert_int_equal(wc_config_max_receive_failures(c), 3);
    assert_null(wc_config_events_queue_url(c));
    wc_config_destroy(c);

    /* every commented block, uncommented, with what it needs */
    fp = fopen(path, "rb");
    assert_non_null(fp);
    {
        char chunk[4096];
        size_t n;

        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            assert_int_equal(wc_buf_append(&text, chunk, n), WC_OK);
        assert_int_equal(wc_buf_append(&text, "", 0), WC_OK);
        fclose(fp);
    }
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        s_uncomment_block(text.ptr, blocks[i].key, blocks[i].lines, &yaml);
    assert_non_null(mkdtemp(dir));
    snprintf(f, sizeof(f), "%s/slack-bot-token", dir);
    assert_int_equal(s_write_file(f, "xoxb-example-bot-token\n"), 0);
    snprintf(f, sizeof(f), "%s/webhook-hmac", dir);
    assert_int_equal(s_write_file(f, "example-hmac-secret\n"), 0);
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    setenv("WHOCHANGED_EXTERNAL_ID", "example-external-id", 1);
    setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/TEX/BEX/example", 1);
    setenv("WHOCHANGED_WEBHOOK_URL", "https://hooks.example.com/whochanged", 1);
    if (wc_config_load_string("uncommented.yaml", yaml.ptr, yaml.len, &c, &errs) != WC_OK) {
        wc_config_errors_print(&errs, stderr);
        fail_msg("the commented blocks of examples/config.yaml are not valid:\n%s", yaml.ptr);
    }
    assert_int_equal(wc_config_notifier_count(c), 4);
    assert_string_equal(wc_config_notifier(c, 1)->bot_token, "xoxb-example-bot-token");
    assert_string_equal(wc_config_notifier(c, 3)->hmac_secret, "example-hmac-secret");
    assert_string_equal(wc_config_accounts_external_id(c), "example-external-id");
    assert_non_null(wc_config_queue_url(c));
    assert_null(wc_config_queue_name(c)); /* the other is commented */
    assert_non_null(wc_config_events_queue_url(c));
    assert_int_equal(wc_config_events_retention_min(c), 30);
    assert_int_equal(wc_config_ledger_type(c), WC_CONFIG_LEDGER_DYNAMODB);
    assert_string_equal(wc_config_endpoint(c, "dynamodb"),
                        "https://dynamodb.{region}.amazonaws.com");
    wc_config_destroy(c);
    wc_config_errors_clean_up(&errs);
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("WHOCHANGED_WEBHOOK_URL");
    snprintf(f, sizeof(f), "%s/slack-bot-token", dir);
    unlink(f);
    snprintf(f, sizeof(f), "%s/webhook-hmac", dir);
    unlink(f);
    rmdir(dir);
    wc_buf_clean_up(&text);
    wc_buf_clean_up(&yaml);
}


/* Issue 9: ${file:PATH} for systemd LoadCredential and Kubernetes secrets. */
static void test_file_values(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c;
    struct wc_buf dump = WC_BUF_INIT;
    char dir[] = "/tmp/wc-test-file-XXXXXX", f[4200], yaml[8192];
    const char *const *secrets;
    size_t nsec = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(f, sizeof(f), "%s/token", dir);
    assert_int_equal(s_write_file(f, "xoxb-from-a-file-0042\r\n\n"), 0);
    snprintf(f, sizeof(f), "%s/queue", dir);
    assert_int_equal(s_write_file(f, "orders"), 0); /* no newline: kept as is */
    setenv("WC_T_CREDS", dir, 1);
    snprintf(yaml, sizeof(yaml),
             "queue_name: \"q-${file:%s/queue}\"\n"
             "notifiers:\n"
             "  - type: slack\n"
             "    bot_token: \"${file:${WC_T_CREDS}/token}\"\n"
             "    channel: \"#c\"\n",
             dir);
    c = s_ok(yaml);
    assert_string_equal(wc_config_queue_name(c), "q-orders");
    assert_string_equal(wc_config_notifier(c, 0)->bot_token, "xoxb-from-a-file-0042");
    /* a secret like any other: listed for the logger, redacted in the dump */
    secrets = wc_config_secrets(c, &nsec);
    assert_int_equal(nsec, 1);
    assert_string_equal(secrets[0], "xoxb-from-a-file-0042");
    assert_int_equal(wc_config_dump(c, &dump), WC_OK);
    assert_null(strstr(dump.ptr, "from-a-file"));
    assert_non_null(strstr(dump.ptr, "bot_token: \"(redacted)\""));
    /* not written in the config: no "chmod 600" warning for it */
    assert_int_equal(wc_config_warnings(c)->len, 0);
    wc_buf_clean_up(&dump);
    wc_config_destroy(c);

    /* errors at the value's line:col, naming the file and why */
    s_bad("region: eu-west-1\n"
          "queue_name: \"${file:/nonexistent/wc-test/queue}\"\n"
          "state_dir: \"${file:relative/path}\"\n"
          "notifiers:\n"
          "  - type: webhook\n"
          "    url: \"${file:${WC_T_SURELY_UNSET}/url}\"\n"
          "  - type: jsonl\n"
          "    path: \"${file:/tmp/x\"\n",
          &errs);
    s_find(&errs, 2, 13, "queue_name: ${file:/nonexistent/wc-test/queue}: cannot read it: "
                         "No such file or directory");
    s_find(&errs, 3, 12, "state_dir: ${file:relative/path}: the path must be absolute");
    s_find(&errs, 6, 10, "notifiers[0].url: ${file:...}: environment variable "
                         "WC_T_SURELY_UNSET is not set");
    s_find(&errs, 8, 11, "notifiers[1].path: unterminated ${file:");
    assert_int_equal(errs.len, 4);
    wc_config_errors_clean_up(&errs);

    /* a file too large, or holding a NUL */
    snprintf(f, sizeof(f), "%s/big", dir);
    {
        FILE *fp = fopen(f, "wb");

        assert_non_null(fp);
        for (size_t i = 0; i <= WC_CONFIG_MAX_FILE_VALUE; i++)
            fputc('a', fp);
        fclose(fp);
    }
    snprintf(yaml, sizeof(yaml), "queue_name: \"${file:%s/big}\"\n", dir);
    s_bad(yaml, &errs);
    s_find(&errs, 1, 13, "larger than 65536 bytes");
    wc_config_errors_clean_up(&errs);
    unlink(f);
    snprintf(f, sizeof(f), "%s/nul", dir);
    {
        FILE *fp = fopen(f, "wb");

        assert_non_null(fp);
        fwrite("ab\0cd", 1, 5, fp);
        fclose(fp);
    }
    snprintf(yaml, sizeof(yaml), "queue_name: \"${file:%s/nul}\"\n", dir);
    s_bad(yaml, &errs);
    s_find(&errs, 1, 13, "contains a NUL character");
    wc_config_errors_clean_up(&errs);
    unlink(f);
    /* $${file:...} is literal text */
    c = s_ok("queue_name: \"$${file:/x}\"\n");
    assert_string_equal(wc_config_queue_name(c), "${file:/x}");
    wc_config_destroy(c);

    snprintf(f, sizeof(f), "%s/token", dir);
    unlink(f);
    snprintf(f, sizeof(f), "%s/queue", dir);
    unlink(f);
    rmdir(dir);
    unsetenv("WC_T_CREDS");
}

/* Issue 9: what `run` used to refuse after check-config said OK. */
static void test_run_refusals_are_config_errors(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c;

    (void)state;
    /* both queue keys: one would be silently ignored */
    s_bad("region: eu-west-1\n"
          "queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q\n"
          "queue_name: q\n",
          &errs);
    s_find(&errs, 3, 1, "queue_name: set queue_url or queue_name, not both (queue_url is set "
                        "at line 2)");
    assert_int_equal(errs.len, 1);
    wc_config_errors_clean_up(&errs);

    /* a host name for the listener: never looked up, refused */
    s_bad("metrics_listen: \"myhost:9464\"\n", &errs);
    s_find(&errs, 1, 17, "metrics_listen: must be IP:port or localhost:port");
    wc_config_errors_clean_up(&errs);
    s_bad("metrics_listen: \":9464\"\n", &errs);
    wc_config_errors_clean_up(&errs);
    s_bad("metrics_listen: \"[fe80::zz]:9464\"\n", &errs);
    wc_config_errors_clean_up(&errs);
    c = s_ok("metrics_listen: \"0.0.0.0:9464\"\n");
    wc_config_destroy(c);

    /* an invalid region from the environment */
    s_unset_region_env();
    setenv("AWS_REGION", "bogus", 1);
    s_bad("queue_name: q\n", &errs);
    assert_int_equal(errs.items[0].line, 0);
    assert_non_null(strstr(errs.items[0].reason, "$AWS_REGION is 'bogus', not an AWS region"));
    wc_config_errors_clean_up(&errs);
    c = s_ok("region: eu-west-1\n"); /* the key wins: the variable is not used */
    assert_string_equal(wc_config_region(c), "eu-west-1");
    wc_config_destroy(c);
    s_unset_region_env();
    setenv("AWS_DEFAULT_REGION", "Not A Region", 1);
    s_bad("", &errs);
    assert_non_null(strstr(errs.items[0].reason, "$AWS_DEFAULT_REGION is 'Not A Region'"));
    wc_config_errors_clean_up(&errs);
    s_unset_region_env();
}

/* Issue 9: a notifier's name is its metrics label and state-file key. */
static void test_notifier_names(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c;
    char id[80];

    (void)state;
    c = s_ok("notifiers:\n"
             "  - {type: jsonl, path: /tmp/a, name: audit.log-1}\n"
             "  - {type: jsonl, path: /tmp/b}\n");
    wc_config_notifier_id(c, 0, id, sizeof(id));
    assert_string_equal(id, "audit.log-1");
    wc_config_notifier_id(c, 1, id, sizeof(id));
    assert_string_equal(id, "jsonl#1");
    wc_config_destroy(c);

    s_bad("notifiers:\n"
          "  - {type: jsonl, path: /tmp/a, name: \"bad name\"}\n"
          "  - {type: jsonl, path: /tmp/b, name: \"\"}\n",
          &errs);
    s_find(&errs, 2, 39, "notifiers[0].name: must be 1-64 characters");
    s_find(&errs, 3, 39, "notifiers[1].name: must not be empty");
    wc_config_errors_clean_up(&errs);
    /* unique, default ids included */
    s_bad("notifiers:\n"
          "  - {type: jsonl, path: /tmp/a, name: x}\n"
          "  - {type: jsonl, path: /tmp/b, name: x}\n"
          "  - {type: jsonl, path: /tmp/c, name: \"jsonl#3\"}\n"
          "  - {type: jsonl, path: /tmp/d}\n",
          &errs);
    s_find(&errs, 3, 5, "notifiers[1]: the name 'x' is taken by notifiers[0]");
    s_find(&errs, 5, 5, "notifiers[3]: the name 'jsonl#3' is taken by notifiers[2]");
    assert_int_equal(errs.len, 2);
    wc_config_errors_clean_up(&errs);

    s_bad("health: {max_receive_failures: 0}\n", &errs);
    s_find(&errs, 1, 32, "health.max_receive_failures: must be between 1 and 1000");
    wc_config_errors_clean_up(&errs);
}

static void s_capture(void *ctx, const char *line, size_t len)
{
    wc_buf_append(ctx, line, len);
    wc_buf_append_char(ctx, '\n');
}

/* The secret list is what the caller hands the logger: a secret logged by
 * mistake comes out masked. */
static void test_secrets_reach_logger_redaction(void **state)
{
    struct wc_config *c;
    struct wc_logger *lg;
    struct wc_buf out = WC_BUF_INIT;
    struct wc_logger_options o = {.level = WC_LOG_INFO, .write = s_capture};
    const char *const *s;

    (void)state;
    c = s_ok("accounts: {external_id: \"ext-zz-logger-check\"}\n");
    o.write_ctx = &out;
    lg = wc_logger_new(&o);
    assert_non_null(lg);
    for (s = wc_config_secrets(c, NULL); *s; s++)
        assert_int_equal(wc_logger_add_secret(lg, *s), WC_OK);
    WC_LOGI(lg, NULL, "assume with external id %s", wc_config_accounts_external_id(c));
    assert_non_null(out.ptr);
    assert_null(strstr(out.ptr, "ext-zz-logger-check"));
    assert_non_null(strstr(out.ptr, "assume with external id"));
    wc_logger_destroy(lg);
    wc_buf_clean_up(&out);
    wc_config_destroy(c);
}

/* ledger: file (the default) or dynamodb with a table; errors at the key. */
static void test_ledger(void **state)
{
    struct wc_config_errors errs = WC_CONFIG_ERRORS_INIT;
    struct wc_config *c;

    (void)state;
    c = s_ok("");
    assert_int_equal(wc_config_ledger_type(c), WC_CONFIG_LEDGER_FILE);
    assert_null(wc_config_ledger_table(c));
    assert_null(wc_config_ledger_region(c));
    assert_null(wc_config_endpoint(c, "dynamodb"));
    wc_config_destroy(c);
    c = s_ok("ledger:\n  type: file\n");
    assert_int_equal(wc_config_ledger_type(c), WC_CONFIG_LEDGER_FILE);
    wc_config_destroy(c);
    c = s_ok("ledger: {type: dynamodb, table: whochanged-ledger, region: eu-central-1}\n"
             "endpoints:\n  dynamodb: http://127.0.0.1:8000\n");
    assert_int_equal(wc_config_ledger_type(c), WC_CONFIG_LEDGER_DYNAMODB);
    assert_string_equal(wc_config_ledger_table(c), "whochanged-ledger");
    assert_string_equal(wc_config_ledger_region(c), "eu-central-1");
    assert_string_equal(wc_config_endpoint(c, "dynamodb"), "http://127.0.0.1:8000");
    wc_config_destroy(c);

    s_bad("ledger:\n  type: dynamo\n", &errs);
    s_find(&errs, 2, 9, "ledger.type: must be one of file, dynamodb; got 'dynamo'");
    wc_config_errors_clean_up(&errs);
    s_bad("ledger:\n  type: dynamodb\n", &errs);
    s_find(&errs, 1, 1, "ledger: type dynamodb needs `table`");
    wc_config_errors_clean_up(&errs);
    s_bad("ledger:\n  type: dynamodb\n  table: a/b\n  region: moon\n", &errs);
    s_find(&errs, 3, 10, "ledger.table: must be a DynamoDB table name");
    s_find(&errs, 4, 11, "ledger.region: must be an AWS region name");
    wc_config_errors_clean_up(&errs);
    s_bad("state_dir: /tmp/x\nledger:\n  table: whochanged-ledger\n", &errs);
    s_find(&errs, 3, 3, "ledger: table and region are for type: dynamodb");
    wc_config_errors_clean_up(&errs);
    s_bad("ledger:\n  type: dynamodb\n  table: t1\n", &errs); /* too short */
    s_find(&errs, 3, 10, "3-255 characters");
    wc_config_errors_clean_up(&errs);
    s_bad("endpoints:\n  dynamodb: ftp://x\n", &errs);
    s_find(&errs, 2, 13, "endpoints.dynamodb: must be an http:// or https:// URL");
    wc_config_errors_clean_up(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_region_from_env),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_cloudtrail_rate_and_ca_bundle),
        cmocka_unit_test(test_events_section),
        cmocka_unit_test(test_proxy_key),
        cmocka_unit_test(test_endpoint_templates),
        cmocka_unit_test(test_block_and_flow_lists),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_unknown_key_position),
        cmocka_unit_test(test_errors_collected_and_printed),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_valid_shapes),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_syntax_error_position),
        cmocka_unit_test(test_aliases_and_tags_rejected),
        cmocka_unit_test(test_too_many_errors_capped),
        cmocka_unit_test(test_notifier_validation),
        cmocka_unit_test(test_secrets_redacted),
        cmocka_unit_test(test_secret_length_and_marker),
        cmocka_unit_test(test_invalid_reference_in_secret_not_echoed),
        cmocka_unit_test(test_readable_file_with_literal_secret_warns),
        cmocka_unit_test(test_trust_allowlists),
        cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_dump_escapes_dollar_brace),
        cmocka_unit_test(test_digest_seconds_and_its_old_name),
        cmocka_unit_test(test_periodic_window_and_ownership_tags),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_example_loads),
        cmocka_unit_test(test_file_values),
        cmocka_unit_test(test_run_refusals_are_config_errors),
        cmocka_unit_test(test_notifier_names),
        cmocka_unit_test(test_secrets_reach_logger_redaction),
        cmocka_unit_test(test_ledger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
