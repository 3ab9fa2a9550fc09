/* metrics.h - the worker's counters and gauges, rendered as Prometheus text.
 *
 * Updated from any thread (C11 atomics, no lock on the update path except
 * the first time a notifier id is seen); rendered in the text exposition
 * format 0.0.4 with # HELP and # TYPE lines. No I/O: cmd/metrics_http.c
 * serves the rendering on GET /metrics and the ready flag on GET /healthz.
 *
 * Label sets are bounded: verdicts are the fixed set below (any other
 * string is not counted), and at most WC_METRICS_MAX_NOTIFIERS notifier ids
 * get their own label; further ids are counted under notifier="_other".
 * AWS requests: at most WC_METRICS_MAX_AWS_OPS service/operation pairs
 * (further ones count under operation="_other"), each with the fixed set
 * of codes WC_METRICS_AWS_CODES (the outcomes of aws/aws_client.h; any
 * other string counts as "client_error").
 *
 * Every labelled series is present from start-up: the verdicts, queues and
 * codes are fixed, and the caller registers its notifiers and AWS operations
 * (wc_metrics_register_notifier, wc_metrics_register_aws) before serving,
 * so an alert on a rate sees the first increment.
 *
 *   whochanged_messages_total{verdict="human|automation|aws_service|unattributed|ignored|invalid"}
 *   whochanged_cloudtrail_lookups_total
 *   whochanged_cloudtrail_throttles_total
 *   whochanged_retries_total
 *   whochanged_ledger_failures_total
 *   whochanged_subscription_confirmations_total{queue="changes|events"}
 *   whochanged_notifications_total{notifier="slack#0"}
 *   whochanged_notifier_failures_total{notifier="slack#0"}
 *   whochanged_aws_requests_total{service="sqs",operation="ReceiveMessage",code="ok"}
 *   whochanged_notification_delay_seconds            (histogram: Config capture
 *                                                      to accepted notification)
 *   whochanged_receive_failures              (gauge: consecutive failed receives)
 *   whochanged_in_flight                     (gauge)
 *   whochanged_oldest_retry_age_seconds      (gauge)
 *   whochanged_ready                         (gauge, 0 or 1)
 *   whochanged_start_time_seconds            (gauge, Unix time)
 *   whochanged_build_info{version="0.1.0"}   (gauge, always 1)
 */
#ifndef WC_METRICS_H
#define WC_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

#define WC_METRICS_MAX_NOTIFIERS 32
#define WC_METRICS_MAX_AWS_OPS 32
/* The code label of whochanged_aws_requests_total: the same list, in the
 * same order, as WC_AWS_OUTCOMES in aws/aws_client.h (a test checks it). */
#define WC_METRICS_AWS_CODES                                                              \
    {"ok", "throttled", "access_denied", "credentials", "not_found", "client_error",     \
     "server_error", "timeout", "transport", NULL}
#define WC_METRICS_N_AWS_CODES 9
/* Upper bounds of whochanged_notification_delay_seconds' buckets (+Inf too). */
#define WC_METRICS_DELAY_BUCKETS {10, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200}
#define WC_METRICS_N_DELAY_BUCKETS 11
/* The queue label of whochanged_subscription_confirmations_total: the
 * Config changes queue (queue_url) and the CloudTrail events queue. */
#define WC_METRICS_QUEUE_CHANGES "changes"
#define WC_METRICS_QUEUE_EVENTS "events"
/* Longer notifier ids are cut to this many bytes in the label. */
#define WC_METRICS_MAX_LABEL 128
/* The content type of wc_metrics_render()'s output. */
#define WC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct wc_metrics;

/* NULL on allocation failure. The start time is the wall clock now. */
struct wc_metrics *wc_metrics_new(void);
void wc_metrics_destroy(struct wc_metrics *m);

/* whochanged_build_info{version}; "unknown" until set. Call before the
 * metrics are shared with other threads (not synchronised). */
int wc_metrics_set_build_info(struct wc_metrics *m, const char *version);
/* Override whochanged_start_time_seconds (tests; not synchronised). */
void wc_metrics_set_start_time(struct wc_metrics *m, int64_t unix_s);

/* One processed message, by verdict name (wc_verdict_name() or "invalid").
 * NULL or an unknown name is not counted. */
void wc_metrics_message(struct wc_metrics *m, const char *verdict);
/* n_calls LookupEvents calls made (n_calls <= 0 is ignored). */
void wc_metrics_lookup(struct wc_metrics *m, int n_calls);
/* CloudTrail answered a call with a throttling error. */
void wc_metrics_throttle(struct wc_metrics *m);
/* The ledger (state file) could not record an accepted delivery. */
void wc_metrics_ledger_failure(struct wc_metrics *m);
/* An SNS SubscriptionConfirmation or UnsubscribeConfirmation received on
 * queue (WC_METRICS_QUEUE_CHANGES or WC_METRICS_QUEUE_EVENTS) and left for
 * the operator to confirm; each receive counts. Another name is not counted. */
void wc_metrics_subscription_confirmation(struct wc_metrics *m, const char *queue);
/* A message deferred to wait for a late CloudTrail event. */
void wc_metrics_retry(struct wc_metrics *m);
/* A notification delivered / failed, by notifier id ("slack#0"). */
void wc_metrics_notification(struct wc_metrics *m, const char *notifier_id);
void wc_metrics_notifier_failure(struct wc_metrics *m, const char *notifier_id);
/* Give a notifier id its series now (zeros), before anything is sent. */
void wc_metrics_register_notifier(struct wc_metrics *m, const char *notifier_id);
/* Give service/operation its whochanged_aws_requests_total series now
 * (one per code, zeros). */
void wc_metrics_register_aws(struct wc_metrics *m, const char *service, const char *operation);
/* One AWS request (an attempt) and its outcome code. */
void wc_metrics_aws_request(struct wc_metrics *m, const char *service, const char *operation,
                            const char *code);
/* A notification accepted delay_ms after the change's Config capture time
 * (negative, from a skewed clock, counts as 0). */
void wc_metrics_notification_delay(struct wc_metrics *m, int64_t delay_ms);
/* Receives that failed in a row (0 after a success). */
void wc_metrics_set_receive_failures(struct wc_metrics *m, int64_t n);
/* Messages being processed now: +1 when one starts, -1 when it ends. */
void wc_metrics_in_flight(struct wc_metrics *m, int delta);
/* Age of the oldest message waiting for a retry (0 when none). */
void wc_metrics_set_oldest_retry_age(struct wc_metrics *m, int64_t seconds);
/* Ready to serve (queue reachable, notifiers built); /healthz says so. */
void wc_metrics_set_ready(struct wc_metrics *m, bool ready);
bool wc_metrics_ready(const struct wc_metrics *m);

/* Append the exposition text to out. WC_OK, or WC_ERR_NOMEM /
 * WC_ERR_TOO_LARGE from the buffer (out may then hold a partial text). */
int wc_metrics_render(struct wc_metrics *m, struct wc_buf *out);

/* Append s to out escaped as a label value: \ as \\, " as \", newline as
 * \n (exposed for tests and other exporters). */
int wc_metrics_escape_label(struct wc_buf *out, const char *s);

#endif
