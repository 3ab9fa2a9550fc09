/* worker.h - what the worker does with a message, decided without I/O.
 *
 * After a message is parsed and its events looked up, wc_worker_plan says:
 *   deliver  the verdict is final: hand the finding to every notifier that
 *            wants its verdict (skipping those that already accepted it),
 *            then delete the message once all of them have;
 *   retry    no matching event yet and the capture is younger than
 *            retry_for_s: CloudTrail lags Config by minutes, so make the
 *            message invisible for delay_s and look again when it returns.
 *            The delay starts at retry_initial_s and doubles with each
 *            receive, capped at retry_cap_s and at the deadline; at the
 *            deadline the change is unattributed and delivered.
 * Unparseable messages are left alone (never deleted): the queue's redrive
 * policy moves them to the dead-letter queue.
 *
 * Receive counts: every retry is another receive and counts against the
 * queue's maxReceiveCount. wc_worker_max_receives() says how many receives
 * a change that waits the whole window needs (7 with the defaults: after
 * 30, 60, 120, 240, 300, 150 s), so the queue's limit must be higher —
 * the example CloudFormation template uses 10.
 */
#ifndef WC_WORKER_H
#define WC_WORKER_H

#include <stdint.h>

#include "core/buf.h"
#include "core/finding.h"

#define WC_RETRY_CAP_S 300

struct wc_schedule {
    int retry_initial_s; /* first delay (default 30) */
    int retry_for_s;     /* give up this long after the capture time (default 900) */
    int retry_cap_s;     /* longest delay (default 300) */
};

enum wc_plan_kind {
    WC_PLAN_DELIVER = 1,
    WC_PLAN_RETRY,
};

struct wc_plan {
    enum wc_plan_kind kind;
    int delay_s;         /* WC_PLAN_RETRY */
    int64_t deadline_ms; /* capture + retry_for (0 when not a change) */
};

/* receive_count: the message's ApproximateReceiveCount (>= 1). */
void wc_worker_plan(const struct wc_schedule *s, const struct wc_finding *f, int receive_count,
                    int64_t now_ms, struct wc_plan *out);

/* The delay before look number receive_count + 1 (no deadline applied). */
int wc_worker_backoff_s(const struct wc_schedule *s, int receive_count);

/* Receives a change needs at most when it waits the whole window. */
int wc_worker_max_receives(const struct wc_schedule *s);

/* The dedup subject of a finding: "<event id>/<resource id>" for a finding
 * with events (one API call, one resource: posted once), else
 * "ci/<account>/<resource id>@<capture ms>" (one configuration item), or
 * "msg/<message id>" for a non-change. */
int wc_worker_subject(const struct wc_finding *f, const char *message_id, struct wc_buf *out);

#endif
