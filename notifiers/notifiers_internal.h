/* notifiers_internal.h - what the backends share: options defaults, the
 * bounded retry loop over core/http.h, small string helpers. */
#ifndef WC_NOTIFIERS_INTERNAL_H
#define WC_NOTIFIERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/log.h"
#include "core/notifier.h"
#include "notifiers/notifiers.h"

/* Delivery settings with the defaults applied. */
struct wc_notif_delivery {
    struct wc_http *http;
    struct wc_logger *logger;
    struct wc_clock clock;
    long connect_timeout_ms;
    long timeout_ms;
    int max_attempts;
    int64_t max_wait_ms;
    int64_t backoff_ms;
    wc_notifier_sleep_fn *sleep_ms;
    void *sleep_ctx;
};

void wc_notif_delivery_init(struct wc_notif_delivery *d, const struct wc_notifier_options *o);

/* Judge one received response. Returns WC_OK (accepted), WC_ERR_THROTTLED
 * (*retry_after_ms set when the service said, else left at -1),
 * WC_ERR_SERVICE or WC_ERR_TIMEOUT (retry with backoff), WC_ERR_AUTH or
 * WC_ERR_INVALID (give up). detail gets a short printable reason for the
 * log (the service's error string), never a URL or credential. */
typedef int wc_notif_judge_fn(void *ctx, const struct wc_http_response *resp,
                              int64_t *retry_after_ms, char *detail, size_t detail_len);

/* Send req until judge accepts it, retrying as notifiers.h describes.
 * id names the notifier in log lines. */
int wc_notif_deliver(const struct wc_notif_delivery *d, const char *id,
                     const struct wc_http_request *req, wc_notif_judge_fn *judge, void *ctx,
                     struct wc_send_result *res);

/* The plain status mapping: 2xx OK, 429 throttled, 408 time-out, 5xx
 * service, 401/403 auth, anything else invalid. */
int wc_notif_judge_status(long status);
/* Retry-After in ms (delta-seconds form, capped at one hour); -1 if absent
 * or not a number. */
int64_t wc_notif_retry_after_ms(const struct wc_http_response *resp);
/* The first line of body, printable ASCII only, at most outlen - 1 bytes. */
void wc_notif_snippet(const struct wc_buf *body, char *out, size_t outlen);

/* Wrap impl into a heap wc_notifier (id copied; default_id when id is NULL
 * or empty; default_mask when mask is 0). NULL on allocation failure. */
struct wc_notifier *wc_notif_wrap(const struct wc_notifier_vtable *vt, void *impl,
                                  const char *id, const char *default_id, unsigned mask,
                                  unsigned default_mask);
/* Free the wrapper made by wc_notif_wrap (not impl). */
void wc_notif_unwrap(struct wc_notifier *n);

/* true when s is non-empty and has no spaces or control characters (a URL
 * or token that cannot smuggle a header line). */
bool wc_notif_token_ok(const char *s);

/* Free a secret string after wiping it. NULL-safe. */
void wc_notif_secret_free(char *s);

#endif
