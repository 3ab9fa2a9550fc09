#include "core/worker.h"

#include "core/err.h"

static int s_initial(const struct wc_schedule *s)
{
    return s->retry_initial_s > 0 ? s->retry_initial_s : 30;
}

static int s_cap(const struct wc_schedule *s)
{
    return s->retry_cap_s > 0 ? s->retry_cap_s : WC_RETRY_CAP_S;
}

int wc_worker_backoff_s(const struct wc_schedule *s, int receive_count)
{
    int64_t d = s_initial(s);

    for (int i = 1; i < receive_count && d < s_cap(s); i++)
        d *= 2;
    return d > s_cap(s) ? s_cap(s) : (int)d;
}

void wc_worker_plan(const struct wc_schedule *s, const struct wc_finding *f, int receive_count,
                    int64_t now_ms, struct wc_plan *out)
{
    int64_t left_ms;
    int delay;

    out->kind = WC_PLAN_DELIVER;
    out->delay_s = 0;
    out->deadline_ms = 0;
    if (!f->is_change)
        return;
    out->deadline_ms = f->change.capture_time_ms + (int64_t)s->retry_for_s * 1000;
    if (f->verdict != WC_VERDICT_UNATTRIBUTED)
        return;
    left_ms = out->deadline_ms - now_ms;
    if (left_ms <= 0)
        return; /* waited long enough: unattributed */
    delay = wc_worker_backoff_s(s, receive_count < 1 ? 1 : receive_count);
    if ((int64_t)delay * 1000 > left_ms)
        delay = (int)((left_ms + 999) / 1000);
    out->kind = WC_PLAN_RETRY;
    out->delay_s = delay < 1 ? 1 : delay;
}

int wc_worker_max_receives(const struct wc_schedule *s)
{
    int64_t waited = 0;
    int receives = 1;

    while (waited < (int64_t)s->retry_for_s && receives < 1000) {
        waited += wc_worker_backoff_s(s, receives);
        receives++;
    }
    return receives;
}

int wc_worker_subject(const struct wc_finding *f, const char *message_id, struct wc_buf *out)
{
    if (!f->is_change)
        return wc_buf_appendf(out, "msg/%s", message_id ? message_id : "-");
    if (f->n_matches > 0 && f->matches[0].event.event_id)
        return wc_buf_appendf(out, "%s/%s", f->matches[0].event.event_id,
                              f->change.resource_id ? f->change.resource_id : "-");
    return wc_buf_appendf(out, "ci/%s/%s@%lld", f->change.account_id ? f->change.account_id : "-",
                          f->change.resource_id ? f->change.resource_id : "-",
                          (long long)f->change.capture_time_ms);
}
