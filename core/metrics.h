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
 *
 *   whochanged_messages_total{verdict="human|automation|aws_service|unattributed|ignored|invalid"}
 *   whochanged_cloudtrail_lookups_total
 *   whochanged_cloudtrail_throttles_total
 *   whochanged_retries_total
 *   whochanged_ledger_failures_total
 *   whochanged_notifications_total{notifier="slack#0"}
 *   whochanged_notifier_failures_total{notifier="slack#0"}
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
/* A message deferred to wait for a late CloudTrail event. */
void wc_metrics_retry(struct wc_metrics *m);
/* A notification delivered / failed, by notifier id ("slack#0"). */
void wc_metrics_notification(struct wc_metrics *m, const char *notifier_id);
void wc_metrics_notifier_failure(struct wc_metrics *m, const char *notifier_id);
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
