/* Unit tests for core/metrics (counters, exposition format) and
 * cmd/metrics_http (the listener, queried over a raw socket on 127.0.0.1).
 *
 * cmd/ is not part of the library the unit tests link, so the listener's
 * source is compiled into this test (which also reaches its address parser). */
#include "tests/support/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmd/metrics_http.c" /* tests the static address parser too */
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "aws/aws_client.h"

/* ---- helpers ------------------------------------------------------------ */

static char *s_render(struct wc_metrics *m)
{
    struct wc_buf b = WC_BUF_INIT;

    assert_int_equal(wc_metrics_render(m, &b), WC_OK);
    return wc_buf_steal(&b);
}

/* The whole line `line` appears in text. */
static bool s_has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static void s_assert_line(const char *text, const char *line)
{
    if (!s_has_line(text, line))
        fail_msg("missing line '%s' in:\n%s", line, text);
}

static bool s_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Check the text against the exposition format 0.0.4: every line is a
 * "# HELP name text", "# TYPE name counter|gauge", or a sample
 * `name{l="v",...} value` whose family was announced by HELP and TYPE just
 * before it; label values use only \\, \" and \n escapes. Returns the number
 * of samples. */
static int s_validate(const char *text)
{
    char family[1024] = "";
    bool have_help = false, have_type = false, is_histogram = false;
    int samples = 0;
    const char *p = text;

    assert_true(strlen(text) > 0);
    assert_int_equal(text[strlen(text) - 1], '\n');
    while (*p) {
        const char *eol = strchr(p, '\n');
        char line[1024];
        size_t n;

        assert_non_null(eol);
        n = (size_t)(eol - p);
        assert_true(n < sizeof(line));
        memcpy(line, p, n);
        line[n] = '\0';
        p = eol + 1;
        if (strncmp(line, "# HELP ", 7) == 0) {
            char *name = line + 7, *sp = strchr(name, ' ');

            assert_non_null(sp);
            *sp = '\0';
            snprintf(family, sizeof(family), "%s", name);
            have_help = true;
            have_type = false;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char *name = line + 7, *sp = strchr(name, ' ');

            assert_non_null(sp);
            *sp = '\0';
            assert_string_equal(name, family);
            assert_true(strcmp(sp + 1, "counter") == 0 || strcmp(sp + 1, "gauge") == 0 ||
                        strcmp(sp + 1, "histogram") == 0);
            is_histogram = strcmp(sp + 1, "histogram") == 0;
            have_type = true;
            continue;
        }
        assert_int_not_equal(line[0], '#');
        {
            char *q = line, *end;
            size_t nl;

            assert_true(s_name_char(*q, true));
            while (s_name_char(*q, false))
                q++;
            nl = (size_t)(q - line);
            /* a histogram's samples are family_bucket, family_sum, family_count */
            if (is_histogram && nl > strlen(family) && !strncmp(family, line, strlen(family))) {
                size_t fl = strlen(family);
                char suffix[16] = "";

                if (nl - fl < sizeof(suffix))
                    memcpy(suffix, line + fl, nl - fl);
                if (!strcmp(suffix, "_bucket") || !strcmp(suffix, "_sum") ||
                    !strcmp(suffix, "_count"))
                    nl = fl;
            }
            if (!have_help || !have_type || strlen(family) != nl || strncmp(family, line, nl))
                fail_msg("sample without HELP/TYPE for its family: %s", line);
            if (*q == '{') {
                q++;
                while (*q != '}') {
                    assert_true(s_name_char(*q, true));
                    while (s_name_char(*q, false))
                        q++;
                    assert_int_equal(*q++, '=');
                    assert_int_equal(*q++, '"');
                    while (*q != '"') {
                        assert_int_not_equal(*q, '\0');
                        if (*q == '\\') {
                            q++;
                            assert_true(*q == '\\' || *q == '"' || *q == 'n');
                        }
                        q++;
                    }
                    q++;
                    if (*q == ',')
                        q++;
                    else
                        assert_int_equal(*q, '}');
                }
                q++;
            }
            assert_int_equal(*q++, ' ');
            (void)strtod(q, &end);
            assert_true(end != q && *end == '\0');
            samples++;
        }
    }
    return samples;
}

/* ---- core/metrics ------------------------------------------------------- */

static void test_render_format(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    char *t;

    (void)state;
    assert_non_null(m);
    assert_int_equal(wc_metrics_set_build_info(m, "1.2.3"), WC_OK);
    wc_metrics_set_start_time(m, 1714564770);
    wc_metrics_message(m, "human");
    wc_metrics_message(m, "human");
    wc_metrics_message(m, "aws_service");
    wc_metrics_message(m, "invalid");
    wc_metrics_message(m, "bogus"); /* not a verdict: not counted */
    wc_metrics_message(m, NULL);
    wc_metrics_lookup(m, 3);
    wc_metrics_lookup(m, -1);
    wc_metrics_throttle(m);
    wc_metrics_retry(m);
    wc_metrics_retry(m);
    wc_metrics_notification(m, "slack#0");
    wc_metrics_notification(m, "slack#0");
    wc_metrics_notifier_failure(m, "webhook#1");
    wc_metrics_in_flight(m, 3);
    wc_metrics_in_flight(m, -1);
    wc_metrics_set_oldest_retry_age(m, 42);
    wc_metrics_set_ready(m, true);
    t = s_render(m);

    /* 6 verdicts, 4 plain counters, 2 queues, 2 x 2 notifier samples, 6
     * gauges, a histogram of 12 buckets + sum + count; no AWS operation
     * registered */
    assert_int_equal(s_validate(t), 6 + 4 + 2 + 4 + 6 + 14);
    s_assert_line(t, "# TYPE whochanged_messages_total counter");
    s_assert_line(t, "whochanged_messages_total{verdict=\"human\"} 2");
    s_assert_line(t, "whochanged_messages_total{verdict=\"automation\"} 0");
    s_assert_line(t, "whochanged_messages_total{verdict=\"aws_service\"} 1");
    s_assert_line(t, "whochanged_messages_total{verdict=\"unattributed\"} 0");
    s_assert_line(t, "whochanged_messages_total{verdict=\"ignored\"} 0");
    s_assert_line(t, "whochanged_messages_total{verdict=\"invalid\"} 1");
    assert_null(strstr(t, "bogus"));
    s_assert_line(t, "# TYPE whochanged_cloudtrail_lookups_total counter");
    s_assert_line(t, "whochanged_cloudtrail_lookups_total 3");
    s_assert_line(t, "whochanged_cloudtrail_throttles_total 1");
    s_assert_line(t, "whochanged_retries_total 2");
    s_assert_line(t, "# TYPE whochanged_notifications_total counter");
    s_assert_line(t, "whochanged_notifications_total{notifier=\"slack#0\"} 2");
    s_assert_line(t, "whochanged_notifications_total{notifier=\"webhook#1\"} 0");
    s_assert_line(t, "whochanged_notifier_failures_total{notifier=\"slack#0\"} 0");
    s_assert_line(t, "whochanged_notifier_failures_total{notifier=\"webhook#1\"} 1");
    s_assert_line(t, "# TYPE whochanged_in_flight gauge");
    s_assert_line(t, "whochanged_in_flight 2");
    s_assert_line(t, "# TYPE whochanged_oldest_retry_age_seconds gauge");
    s_assert_line(t, "whochanged_oldest_retry_age_seconds 42");
    s_assert_line(t, "whochanged_ready 1");
    s_assert_line(t, "whochanged_start_time_seconds 1714564770");
    s_assert_line(t, "# TYPE whochanged_build_info gauge");
    s_assert_line(t, "whochanged_build_info{version=\"1.2.3\"} 1");
    free(t);

    wc_metrics_set_ready(m, false);
    wc_metrics_set_oldest_retry_age(m, -5); /* clamped */
    t = s_render(m);
    s_assert_line(t, "whochanged_ready 0");
    s_assert_line(t, "whochanged_oldest_retry_age_seconds 0");
    free(t);
    wc_metrics_destroy(m);
    wc_metrics_destroy(NULL);
}


/* Issue 9: the series an alert needs exist before the first event. */
static void test_registered_series_from_start(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    char *t;

    (void)state;
    wc_metrics_register_notifier(m, "slack-prod");
    wc_metrics_register_notifier(m, "audit-log");
    wc_metrics_register_notifier(m, "slack-prod"); /* once */
    wc_metrics_register_aws(m, "sqs", "ReceiveMessage");
    wc_metrics_register_aws(m, "cloudtrail", "LookupEvents");
    t = s_render(m);
    /* 2 notifiers x 2 families, 2 operations x 9 codes */
    assert_int_equal(s_validate(t), 6 + 4 + 2 + 4 + 18 + 6 + 14);
    s_assert_line(t, "whochanged_notifications_total{notifier=\"slack-prod\"} 0");
    s_assert_line(t, "whochanged_notifier_failures_total{notifier=\"audit-log\"} 0");
    s_assert_line(t, "# TYPE whochanged_aws_requests_total counter");
    s_assert_line(t, "whochanged_aws_requests_total{service=\"sqs\",operation=\"ReceiveMessage\","
                     "code=\"ok\"} 0");
    s_assert_line(t, "whochanged_aws_requests_total{service=\"sqs\",operation=\"ReceiveMessage\","
                     "code=\"access_denied\"} 0");
    s_assert_line(t, "whochanged_aws_requests_total{service=\"cloudtrail\",operation="
                     "\"LookupEvents\",code=\"throttled\"} 0");
    free(t);
    wc_metrics_destroy(m);
}

static void test_aws_requests_counted(void **state)
{
    static const char *const outcomes[] = WC_AWS_OUTCOMES;
    static const char *const codes[] = WC_METRICS_AWS_CODES;
    struct wc_metrics *m = wc_metrics_new();
    char *t, op[32];
    size_t n = 0;

    (void)state;
    /* the aws layer's outcomes are exactly the metric's codes */
    while (outcomes[n]) {
        assert_non_null(codes[n]);
        assert_string_equal(outcomes[n], codes[n]);
        n++;
    }
    assert_null(codes[n]);
    assert_int_equal(n, WC_METRICS_N_AWS_CODES);

    wc_metrics_aws_request(m, "sqs", "ReceiveMessage", "ok");
    wc_metrics_aws_request(m, "sqs", "ReceiveMessage", "access_denied");
    wc_metrics_aws_request(m, "sqs", "ReceiveMessage", "access_denied");
    wc_metrics_aws_request(m, "sts", "AssumeRole", "weird"); /* unknown: client_error */
    wc_metrics_aws_request(m, NULL, "X", "ok");              /* ignored */
    t = s_render(m);
    s_validate(t);
    s_assert_line(t, "whochanged_aws_requests_total{service=\"sqs\",operation=\"ReceiveMessage\","
                     "code=\"ok\"} 1");
    s_assert_line(t, "whochanged_aws_requests_total{service=\"sqs\",operation=\"ReceiveMessage\","
                     "code=\"access_denied\"} 2");
    s_assert_line(t, "whochanged_aws_requests_total{service=\"sts\",operation=\"AssumeRole\","
                     "code=\"client_error\"} 1");
    assert_null(strstr(t, "weird"));
    free(t);
    /* bounded: past WC_METRICS_MAX_AWS_OPS pairs, operation="_other" */
    for (int i = 0; i < WC_METRICS_MAX_AWS_OPS + 5; i++) {
        snprintf(op, sizeof(op), "Op%d", i);
        wc_metrics_aws_request(m, "s3", op, "ok");
    }
    t = s_render(m);
    s_validate(t);
    s_assert_line(t, "whochanged_aws_requests_total{service=\"_other\",operation=\"_other\","
                     "code=\"ok\"} 7");
    free(t);
    wc_metrics_destroy(m);
}

static void test_notification_delay_histogram(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    char *t;

    (void)state;
    wc_metrics_notification_delay(m, 5000);     /* le 10 */
    wc_metrics_notification_delay(m, 10000);    /* le 10 (inclusive) */
    wc_metrics_notification_delay(m, 95500);    /* le 120 */
    wc_metrics_notification_delay(m, -3000);    /* skewed clock: 0 */
    wc_metrics_notification_delay(m, 9000000);  /* +Inf */
    wc_metrics_set_receive_failures(m, 4);
    t = s_render(m);
    s_validate(t);
    s_assert_line(t, "# TYPE whochanged_notification_delay_seconds histogram");
    s_assert_line(t, "whochanged_notification_delay_seconds_bucket{le=\"10\"} 3");
    s_assert_line(t, "whochanged_notification_delay_seconds_bucket{le=\"60\"} 3");
    s_assert_line(t, "whochanged_notification_delay_seconds_bucket{le=\"120\"} 4");
    s_assert_line(t, "whochanged_notification_delay_seconds_bucket{le=\"7200\"} 4");
    s_assert_line(t, "whochanged_notification_delay_seconds_bucket{le=\"+Inf\"} 5");
    s_assert_line(t, "whochanged_notification_delay_seconds_sum 9110.500");
    s_assert_line(t, "whochanged_notification_delay_seconds_count 5");
    s_assert_line(t, "whochanged_receive_failures 4");
    free(t);
    wc_metrics_destroy(m);
}

static void test_fresh_defaults(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    char *t;
    char line[64];
    time_t now = time(NULL);
    long long start = -1;
    const char *p;

    (void)state;
    t = s_render(m);
    /* no notifier seen yet: the families are announced, with no samples;
     * both queues of the subscription confirmations are there at 0 */
    assert_int_equal(s_validate(t), 6 + 4 + 2 + 6 + 14);
    s_assert_line(t, "# TYPE whochanged_subscription_confirmations_total counter");
    s_assert_line(t, "whochanged_subscription_confirmations_total{queue=\"changes\"} 0");
    s_assert_line(t, "whochanged_subscription_confirmations_total{queue=\"events\"} 0");
    s_assert_line(t, "# TYPE whochanged_notifications_total counter");
    assert_null(strstr(t, "notifier="));
    s_assert_line(t, "whochanged_build_info{version=\"unknown\"} 1");
    s_assert_line(t, "whochanged_ready 0");
    assert_false(wc_metrics_ready(m));
    assert_non_null(p = strstr(t, "\nwhochanged_start_time_seconds "));
    assert_int_equal(sscanf(p + 1, "whochanged_start_time_seconds %lld", &start), 1);
    assert_true(start >= (long long)now - 5 && start <= (long long)now + 5);
    snprintf(line, sizeof(line), "whochanged_in_flight %d", 0);
    s_assert_line(t, line);
    free(t);
    wc_metrics_destroy(m);
}

/* SNS subscription messages by queue: the fixed label set, nothing else. */
static void test_subscription_confirmations(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    char *t;

    (void)state;
    wc_metrics_subscription_confirmation(m, WC_METRICS_QUEUE_CHANGES);
    wc_metrics_subscription_confirmation(m, "changes");
    wc_metrics_subscription_confirmation(m, WC_METRICS_QUEUE_EVENTS);
    wc_metrics_subscription_confirmation(m, "dlq"); /* not a queue of the set */
    wc_metrics_subscription_confirmation(m, NULL);
    wc_metrics_subscription_confirmation(NULL, "events");
    t = s_render(m);
    assert_int_equal(s_validate(t), 6 + 4 + 2 + 6 + 14);
    s_assert_line(t, "whochanged_subscription_confirmations_total{queue=\"changes\"} 2");
    s_assert_line(t, "whochanged_subscription_confirmations_total{queue=\"events\"} 1");
    assert_null(strstr(t, "dlq"));
    free(t);
    wc_metrics_destroy(m);
}

static void test_label_escaping(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    struct wc_buf b = WC_BUF_INIT;
    char *t;

    (void)state;
    assert_int_equal(wc_metrics_escape_label(&b, "a\"b\\c\nd"), WC_OK);
    assert_string_equal(b.ptr, "a\\\"b\\\\c\\nd");
    wc_buf_reset(&b);
    assert_int_equal(wc_metrics_escape_label(&b, "plain#0"), WC_OK);
    assert_string_equal(b.ptr, "plain#0");
    wc_buf_clean_up(&b);

    wc_metrics_notification(m, "we\"ird\\id\nx");
    assert_int_equal(wc_metrics_set_build_info(m, "v\"1"), WC_OK);
    t = s_render(m);
    s_validate(t);
    s_assert_line(t, "whochanged_notifications_total{notifier=\"we\\\"ird\\\\id\\nx\"} 1");
    s_assert_line(t, "whochanged_build_info{version=\"v\\\"1\"} 1");
    free(t);
    wc_metrics_destroy(m);
}

static void test_notifier_labels_bounded(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    char id[32], line[256], longid[300];
    char *t;
    int labels = 0;

    (void)state;
    for (int i = 0; i < WC_METRICS_MAX_NOTIFIERS + 8; i++) {
        snprintf(id, sizeof(id), "webhook#%d", i);
        wc_metrics_notification(m, id);
        wc_metrics_notification(m, id);
        wc_metrics_notifier_failure(m, id);
    }
    t = s_render(m);
    s_validate(t);
    for (int i = 0; i < WC_METRICS_MAX_NOTIFIERS; i++) {
        snprintf(line, sizeof(line), "whochanged_notifications_total{notifier=\"webhook#%d\"} 2", i);
        s_assert_line(t, line);
    }
    snprintf(line, sizeof(line), "notifier=\"webhook#%d\"", WC_METRICS_MAX_NOTIFIERS);
    assert_null(strstr(t, line));
    s_assert_line(t, "whochanged_notifications_total{notifier=\"_other\"} 16");
    s_assert_line(t, "whochanged_notifier_failures_total{notifier=\"_other\"} 8");
    for (const char *p = t; (p = strstr(p, "whochanged_notifications_total{")); p++)
        labels++;
    assert_int_equal(labels, WC_METRICS_MAX_NOTIFIERS + 1);
    free(t);
    wc_metrics_destroy(m);

    /* a long id is cut to WC_METRICS_MAX_LABEL bytes, and the cut id is one label */
    m = wc_metrics_new();
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    wc_metrics_notification(m, longid);
    longid[200] = 'y';
    wc_metrics_notification(m, longid);
    t = s_render(m);
    s_validate(t);
    memset(line, 'x', WC_METRICS_MAX_LABEL);
    line[WC_METRICS_MAX_LABEL] = '\0';
    {
        char want[512];

        snprintf(want, sizeof(want), "whochanged_notifications_total{notifier=\"%s\"} 2", line);
        s_assert_line(t, want);
    }
    free(t);
    wc_metrics_destroy(m);
}

#define S_THREADS 4
#define S_ITERS 20000

struct s_worker {
    struct wc_metrics *m;
    int index;
};

static void *s_hammer(void *arg)
{
    struct s_worker *w = arg;
    char id[16];

    snprintf(id, sizeof(id), "slack#%d", w->index);
    for (int i = 0; i < S_ITERS; i++) {
        wc_metrics_in_flight(w->m, 1);
        wc_metrics_message(w->m, i % 2 ? "human" : "ignored");
        wc_metrics_lookup(w->m, 2);
        wc_metrics_throttle(w->m);
        wc_metrics_retry(w->m);
        wc_metrics_notification(w->m, id);
        wc_metrics_notification(w->m, "shared#0");
        if (i % 4 == 0)
            wc_metrics_notifier_failure(w->m, "shared#0");
        wc_metrics_in_flight(w->m, -1);
    }
    return NULL;
}

static void *s_scrape(void *arg)
{
    struct wc_metrics *m = arg;

    for (int i = 0; i < 50; i++) {
        char *t = s_render(m);
        free(t);
    }
    return NULL;
}

static void test_counts_from_threads(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    struct s_worker w[S_THREADS];
    pthread_t th[S_THREADS], scraper;
    char line[128];
    char *t;

    (void)state;
    assert_int_equal(pthread_create(&scraper, NULL, s_scrape, m), 0);
    for (int i = 0; i < S_THREADS; i++) {
        w[i].m = m;
        w[i].index = i;
        assert_int_equal(pthread_create(&th[i], NULL, s_hammer, &w[i]), 0);
    }
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(pthread_join(scraper, NULL), 0);
    t = s_render(m);
    s_validate(t);
    snprintf(line, sizeof(line), "whochanged_messages_total{verdict=\"human\"} %d",
             S_THREADS * S_ITERS / 2);
    s_assert_line(t, line);
    snprintf(line, sizeof(line), "whochanged_messages_total{verdict=\"ignored\"} %d",
             S_THREADS * S_ITERS / 2);
    s_assert_line(t, line);
    snprintf(line, sizeof(line), "whochanged_cloudtrail_lookups_total %d", S_THREADS * S_ITERS * 2);
    s_assert_line(t, line);
    snprintf(line, sizeof(line), "whochanged_cloudtrail_throttles_total %d", S_THREADS * S_ITERS);
    s_assert_line(t, line);
    snprintf(line, sizeof(line), "whochanged_retries_total %d", S_THREADS * S_ITERS);
    s_assert_line(t, line);
    for (int i = 0; i < S_THREADS; i++) {
        snprintf(line, sizeof(line), "whochanged_notifications_total{notifier=\"slack#%d\"} %d", i,
                 S_ITERS);
        s_assert_line(t, line);
    }
    snprintf(line, sizeof(line), "whochanged_notifications_total{notifier=\"shared#0\"} %d",
             S_THREADS * S_ITERS);
    s_assert_line(t, line);
    snprintf(line, sizeof(line), "whochanged_notifier_failures_total{notifier=\"shared#0\"} %d",
             S_THREADS * S_ITERS / 4);
    s_assert_line(t, line);
    s_assert_line(t, "whochanged_in_flight 0");
    /* shared#0 registered once despite the race to add it */
    {
        int n = 0;

        for (const char *p = t; (p = strstr(p, "notifications_total{notifier=\"shared#0\"")); p++)
            n++;
        assert_int_equal(n, 1);
    }
    free(t);
    wc_metrics_destroy(m);
}

/* ---- cmd/metrics_http: address parsing ---------------------------------- */

static void test_listen_parse(void **state)
{
    struct s_addr a;
    char err[256];

    (void)state;
    assert_int_equal(s_parse_listen("127.0.0.1:9464", &a, err, sizeof(err)), WC_OK);
    assert_true(a.loopback);
    assert_false(a.ipv6);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 9464);
    assert_int_equal(s_parse_listen("localhost:0", &a, err, sizeof(err)), WC_OK);
    assert_true(a.loopback);
    assert_int_equal(s_parse_listen("[::1]:9464", &a, err, sizeof(err)), WC_OK);
    assert_true(a.loopback);
    assert_true(a.ipv6);
    /* every interface: accepted because written explicitly, not loopback */
    assert_int_equal(s_parse_listen("0.0.0.0:9464", &a, err, sizeof(err)), WC_OK);
    assert_false(a.loopback);
    assert_int_equal(s_parse_listen("[::]:9464", &a, err, sizeof(err)), WC_OK);
    assert_false(a.loopback);
    assert_int_equal(s_parse_listen("10.1.2.3:9464", &a, err, sizeof(err)), WC_OK);
    assert_false(a.loopback);

    /* no host, host names, bad ports, malformed */
    const char *bad[] = {":9464", "9464", "", "example.com:9464", "127.0.0.1:", "127.0.0.1:65536",
                         "127.0.0.1:-1", "127.0.0.1:9x", "[::1:9464", "[::1]9464",
                         "[127.0.0.1]:9464", "::1:9464", "[]:9464", "256.0.0.1:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (s_parse_listen(bad[i], &a, err, sizeof(err)) != WC_ERR_INVALID)
            fail_msg("accepted '%s'", bad[i]);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(s_parse_listen(NULL, &a, err, sizeof(err)), WC_ERR_INVALID);
}

/* ---- cmd/metrics_http: over a socket ------------------------------------ */

struct s_resp {
    int status;
    char head[2048];
    char body[16384];
};

/* Send raw request text to 127.0.0.1:port and read the whole answer
 * (Connection: close; 5 s socket timeouts, bounded size). */
static void s_http(unsigned short port, const char *request, struct s_resp *r)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    char buf[sizeof(r->head) + sizeof(r->body)];
    size_t got = 0;
    ssize_t n;
    char *sep;
    int fd;

    memset(r, 0, sizeof(*r));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
    while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    assert_non_null(sep = strstr(buf, "\r\n\r\n"));
    assert_true((size_t)(sep - buf) < sizeof(r->head));
    memcpy(r->head, buf, (size_t)(sep - buf));
    snprintf(r->body, sizeof(r->body), "%s", sep + 4);
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
}

static void s_get(unsigned short port, const char *method, const char *path, struct s_resp *r)
{
    char req[256];

    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             method, path);
    s_http(port, req, r);
}

/* Value of header name (case-insensitive) in head, or "" */
static const char *s_header_value(const struct s_resp *r, const char *name, char *out,
                                  size_t outlen)
{
    size_t n = strlen(name);

    out[0] = '\0';
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *l = p + 2, *e = strstr(l, "\r\n");
        size_t len = e ? (size_t)(e - l) : strlen(l);

        if (len > n && strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;

            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - l)), v);
            break;
        }
    }
    return out;
}

static void test_http_endpoints(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    struct wc_metrics_http *h;
    struct s_resp *r = calloc(1, sizeof(*r));
    char err[256] = "", ct[128];
    unsigned short port;

    (void)state;
    assert_non_null(r);
    h = wc_metrics_http_start("127.0.0.1:0", m, NULL, err, sizeof(err));
    if (!h)
        fail_msg("start: %s", err);
    assert_true((port = wc_metrics_http_port(h)) != 0);

    wc_metrics_message(m, "human");
    wc_metrics_lookup(m, 7);
    wc_metrics_notification(m, "slack#0");
    s_get(port, "GET", "/metrics", r);
    assert_int_equal(r->status, 200);
    s_header_value(r, "Content-Type", ct, sizeof(ct));
    assert_non_null(strstr(ct, "text/plain"));
    assert_non_null(strstr(ct, "version=0.0.4"));
    s_validate(r->body);
    s_assert_line(r->body, "whochanged_messages_total{verdict=\"human\"} 1");
    s_assert_line(r->body, "whochanged_cloudtrail_lookups_total 7");
    s_assert_line(r->body, "whochanged_notifications_total{notifier=\"slack#0\"} 1");

    /* counts move between scrapes */
    wc_metrics_lookup(m, 1);
    s_get(port, "GET", "/metrics", r);
    s_assert_line(r->body, "whochanged_cloudtrail_lookups_total 8");

    /* query strings are ignored */
    s_get(port, "GET", "/metrics?x=1", r);
    assert_int_equal(r->status, 200);

    s_get(port, "GET", "/healthz", r);
    assert_int_equal(r->status, 503);
    wc_metrics_set_ready(m, true);
    s_get(port, "GET", "/healthz", r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "ok\n");
    wc_metrics_set_ready(m, false);
    s_get(port, "GET", "/healthz", r);
    assert_int_equal(r->status, 503);

    s_get(port, "HEAD", "/metrics", r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "");

    s_get(port, "GET", "/", r);
    assert_int_equal(r->status, 404);
    s_get(port, "GET", "/metricsx", r);
    assert_int_equal(r->status, 404);
    s_get(port, "GET", "/healthz/", r);
    assert_int_equal(r->status, 404);

    s_get(port, "DELETE", "/metrics", r);
    assert_int_equal(r->status, 405);
    assert_string_equal(s_header_value(r, "Allow", ct, sizeof(ct)), "GET, HEAD");
    s_http(port,
           "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           "Content-Length: 5\r\n\r\nhello",
           r);
    assert_int_equal(r->status, 405);

    /* the request line and headers must fit in the connection's memory */
    {
        size_t len = S_MEMORY_LIMIT + 256;
        char *big = malloc(len);

        assert_non_null(big);
        snprintf(big, len, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %0*d\r\n\r\n",
                 (int)S_MEMORY_LIMIT, 0);
        s_http(port, big, r);
        assert_int_equal(r->status, 431);
        snprintf(big, len, "GET /metrics?%0*d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                 (int)S_MEMORY_LIMIT, 0);
        s_http(port, big, r);
        assert_int_equal(r->status, 414);
        free(big);
    }
    /* well within it: a scraper's usual headers */
    s_http(port,
           "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Prometheus/2.53.0\r\n"
           "Accept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;"
           "q=0.4,*/*;q=0.1\r\nAccept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
           "Connection: close\r\n\r\n",
           r);
    assert_int_equal(r->status, 200);

    wc_metrics_http_stop(h);
    wc_metrics_http_stop(NULL);
    free(r);
    wc_metrics_destroy(m);
}

static void test_http_stop_closes_port(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    struct wc_metrics_http *h, *h2;
    char err[256] = "", listen[64];
    unsigned short port;
    struct sockaddr_in sa;
    int fd;

    (void)state;
    h = wc_metrics_http_start("127.0.0.1:0", m, NULL, err, sizeof(err));
    if (!h)
        fail_msg("start: %s", err);
    port = wc_metrics_http_port(h);

    /* the port is taken: a second listener on it fails with a reason */
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
    err[0] = '\0';
    h2 = wc_metrics_http_start(listen, m, NULL, err, sizeof(err));
    assert_null(h2);
    assert_non_null(strstr(err, listen));
    assert_non_null(strstr(err, "in use"));

    wc_metrics_http_stop(h);

    /* after stop nothing listens there any more */
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);

    /* and the same port can be bound again (restart after reload) */
    h = wc_metrics_http_start(listen, m, NULL, err, sizeof(err));
    if (!h)
        fail_msg("restart on %s: %s", listen, err);
    assert_int_equal(wc_metrics_http_port(h), port);
    wc_metrics_http_stop(h);

    /* bad addresses fail before anything is started */
    err[0] = '\0';
    assert_null(wc_metrics_http_start(":0", m, NULL, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_null(wc_metrics_http_start("127.0.0.1:0", NULL, NULL, err, sizeof(err)));
    wc_metrics_destroy(m);
}

/* ---- cmd/metrics_http: misbehaving clients ------------------------------ */

#define S_IDLE_CLIENTS 60
#define S_TRICKLERS 20
#define S_HEALTHZ_MAX_MS 1000

static int64_t s_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection to 127.0.0.1:port from the source address 127.0.0.<src>.
 * Linux routes all of 127/8 to the loopback interface, so each source
 * address stands for one client host to the per-IP limit. -1 on failure. */
static int s_connect_from(unsigned short port, int src)
{
    struct sockaddr_in sa, from;
    struct timeval tv = {2, 0};
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(&from, 0, sizeof(from));
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)src);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* GET /healthz from 127.0.0.1 with a 2 s limit: the status (-1 when there
 * was no answer) and the time it took. */
static int s_timed_healthz(unsigned short port, int64_t *took_ms)
{
    const char *req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    int64_t t0 = s_ms();
    char buf[1024];
    size_t got = 0;
    ssize_t n;
    int fd, status = -1;

    if ((fd = s_connect_from(port, 1)) >= 0) {
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req))
            while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
                got += (size_t)n;
        close(fd);
    }
    buf[got] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    *took_ms = s_ms() - t0;
    return status;
}

/* Every line the logger writes is counted. */
struct s_log_count {
    pthread_mutex_t mu;
    int lines;
    int not_debug;
    char last[512];
};

static void s_count_line(void *ctx, const char *line, size_t len)
{
    struct s_log_count *c = ctx;

    pthread_mutex_lock(&c->mu);
    c->lines++;
    if (!strstr(line, " debug "))
        c->not_debug++;
    snprintf(c->last, sizeof(c->last), "%.*s", (int)len, line);
    pthread_mutex_unlock(&c->mu);
}

/* The server has closed fd: EOF or a reset, after reading whatever it sent
 * (an error status for the cut request, say). false while it is still open. */
static bool s_closed_by_server(int fd)
{
    char buf[512];
    ssize_t n;

    for (;;) {
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0)
            return true;
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
}

/* Issue 8: idle and trickling connections must not starve /healthz, a
 * trickler is cut off at the absolute deadline although it is never idle,
 * and none of it floods the log. */
static void test_http_misbehaving_clients(void **state)
{
    struct wc_metrics *m = wc_metrics_new();
    struct s_log_count lc = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct wc_logger_options lo = {.level = WC_LOG_DEBUG, .write = s_count_line, .write_ctx = &lc};
    struct wc_logger *lg = wc_logger_new(&lo);
    struct wc_metrics_http *h;
    int idle[S_IDLE_CLIENTS], trick[S_TRICKLERS];
    int64_t trick_t0[S_TRICKLERS], trick_cut[S_TRICKLERS];
    int64_t t0, last_tick = 0, took = 0, worst = 0, give_up;
    int64_t cut_min = INT64_MAX, cut_max = 0;
    int lines0, not_debug0, idle_open = 0, idle_left, trick_left = S_TRICKLERS, checks = 0, status;
    const char *head = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    char err[256] = "";
    unsigned short port;

    (void)state;
    assert_non_null(lg);
    h = wc_metrics_http_start("127.0.0.1:0", m, lg, err, sizeof(err));
    if (!h)
        fail_msg("start: %s", err);
    port = wc_metrics_http_port(h);
    wc_metrics_set_ready(m, true);
    pthread_mutex_lock(&lc.mu);
    lines0 = lc.lines;
    not_debug0 = lc.not_debug;
    pthread_mutex_unlock(&lc.mu);

    /* 60 idle connections from one host (127.0.0.2): past the per-IP limit
     * the listener drops them */
    for (int i = 0; i < S_IDLE_CLIENTS; i++)
        if ((idle[i] = s_connect_from(port, 2)) < 0)
            fail_msg("idle connection %d: %s", i, strerror(errno));
    /* 20 tricklers from three more hosts (127.0.0.3-5), few enough per host
     * to be let in: each sends the start of a request, then one byte a second */
    for (int i = 0; i < S_TRICKLERS; i++) {
        if ((trick[i] = s_connect_from(port, 3 + i % 3)) < 0)
            fail_msg("trickler %d: %s", i, strerror(errno));
        trick_t0[i] = s_ms();
        trick_cut[i] = -1;
        assert_int_equal(send(trick[i], head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    }
    t0 = s_ms();
    /* the listener refuses those past the limit as it accepts them (2 s at most) */
    idle_left = S_IDLE_CLIENTS;
    while (idle_left > S_MAX_PER_IP && s_ms() - t0 < 2000) {
        usleep(50 * 1000);
        for (int i = 0; i < S_IDLE_CLIENTS; i++)
            if (idle[i] >= 0 && s_closed_by_server(idle[i])) {
                close(idle[i]);
                idle[i] = -1;
                idle_left--;
            }
    }
    if ((idle_open = idle_left) > S_MAX_PER_IP)
        fail_msg("%d idle connections from one address still open; the per-IP limit is %d",
                 idle_open, S_MAX_PER_IP);

    /* until every trickler is cut off (bounded): each second a byte per
     * trickler and a timed /healthz from 127.0.0.1 */
    give_up = t0 + S_DEADLINE_MS + 3000;
    while ((trick_left > 0 || idle_left > 0) && s_ms() < give_up) {
        struct pollfd pf[S_IDLE_CLIENTS + S_TRICKLERS];
        int np = 0;

        if (s_ms() - last_tick >= 1000) {
            last_tick = s_ms();
            for (int i = 0; i < S_TRICKLERS; i++)
                if (trick[i] >= 0)
                    (void)send(trick[i], "a", 1, MSG_NOSIGNAL);
            status = s_timed_healthz(port, &took);
            if (status != 200 || took > S_HEALTHZ_MAX_MS)
                fail_msg("/healthz under load: status %d after %lld ms (limit %d ms)", status,
                         (long long)took, S_HEALTHZ_MAX_MS);
            worst = took > worst ? took : worst;
            checks++;
        }
        for (int i = 0; i < S_IDLE_CLIENTS; i++)
            if (idle[i] >= 0)
                pf[np++] = (struct pollfd){.fd = idle[i], .events = POLLIN};
        for (int i = 0; i < S_TRICKLERS; i++)
            if (trick[i] >= 0)
                pf[np++] = (struct pollfd){.fd = trick[i], .events = POLLIN};
        (void)poll(pf, (nfds_t)np, 50);
        for (int i = 0; i < S_IDLE_CLIENTS; i++)
            if (idle[i] >= 0 && s_closed_by_server(idle[i])) {
                close(idle[i]);
                idle[i] = -1;
                idle_left--;
            }
        for (int i = 0; i < S_TRICKLERS; i++)
            if (trick[i] >= 0 && s_closed_by_server(trick[i])) {
                trick_cut[i] = s_ms() - trick_t0[i];
                close(trick[i]);
                trick[i] = -1;
                trick_left--;
            }
    }
    for (int i = 0; i < S_IDLE_CLIENTS; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    for (int i = 0; i < S_TRICKLERS; i++)
        if (trick[i] >= 0)
            close(trick[i]);
    if (trick_left > 0)
        fail_msg("%d of %d tricklers still connected after %lld ms (deadline %d ms)", trick_left,
                 S_TRICKLERS, (long long)(s_ms() - t0), S_DEADLINE_MS);
    if (idle_left > 0)
        fail_msg("%d idle connections still open after %lld ms", idle_left,
                 (long long)(s_ms() - t0));
    /* cut by the deadline (they were never idle), and not much later */
    for (int i = 0; i < S_TRICKLERS; i++) {
        if (trick_cut[i] < S_DEADLINE_MS - 200 || trick_cut[i] > S_DEADLINE_MS + 1000)
            fail_msg("trickler %d cut off after %lld ms, deadline %d ms", i,
                     (long long)trick_cut[i], S_DEADLINE_MS);
        cut_min = trick_cut[i] < cut_min ? trick_cut[i] : cut_min;
        cut_max = trick_cut[i] > cut_max ? trick_cut[i] : cut_max;
    }
    assert_true(checks >= S_DEADLINE_MS / 1000);

    /* the listener still serves */
    status = s_timed_healthz(port, &took);
    assert_int_equal(status, 200);
    wc_metrics_http_stop(h);

    /* 52 refused and 20 cut connections: a few debug lines in all */
    pthread_mutex_lock(&lc.mu);
    print_message("healthz worst %lld ms over %d checks; tricklers cut at %lld-%lld ms; "
                  "%d idle let in; %d log lines\n",
                  (long long)worst, checks, (long long)cut_min, (long long)cut_max, idle_open,
                  lc.lines - lines0);
    if (lc.lines - lines0 > 3 || lc.not_debug > not_debug0)
        fail_msg("%d log lines (%d not at debug level) for the misbehaving clients; last: %s",
                 lc.lines - lines0, lc.not_debug - not_debug0, lc.last);
    pthread_mutex_unlock(&lc.mu);
    wc_logger_destroy(lg);
    wc_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_format),
        cmocka_unit_test(test_fresh_defaults),
        cmocka_unit_test(test_registered_series_from_start),
        cmocka_unit_test(test_aws_requests_counted),
        cmocka_unit_test(test_notification_delay_histogram),
        cmocka_unit_test(test_subscription_confirmations),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_notifier_labels_bounded),
        cmocka_unit_test(test_counts_from_threads),
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_http_endpoints),
        cmocka_unit_test(test_http_stop_closes_port),
        cmocka_unit_test(test_http_misbehaving_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
