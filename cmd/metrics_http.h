/* metrics_http.h - the worker's HTTP listener for Prometheus and health checks.
 *
 * libmicrohttpd with its own polling thread, bound to exactly the address
 * given as "host:port":
 *
 *   GET /metrics   200, text/plain; version=0.0.4 - wc_metrics_render()
 *   GET /healthz   200 "ok" when wc_metrics_ready(), else 503 "not ready"
 *   other paths    404;  methods other than GET/HEAD: 405 (Allow: GET, HEAD)
 *
 * The host must be written out, as an IP literal or "localhost": "127.0.0.1",
 * "localhost", "[::1]", or - only when written explicitly - a non-loopback
 * address such as "0.0.0.0" or "[::]" (every interface) or "10.0.0.5"; no
 * host (":9464", "9464") and other host names are refused, so a typo or a DNS
 * answer never exposes the endpoint. A non-loopback bind is logged as a
 * warning. Port 0 lets the OS choose (see wc_metrics_http_port()).
 *
 * Misbehaving clients cannot starve it: at most 64 connections at once and
 * 8 from one address (more from that address are refused; beyond 64 new
 * ones wait in the kernel's backlog), a connection idle for 3 s is closed
 * and every connection is closed 5 s after it was accepted, however busy;
 * the request line and headers must fit in 8 KiB (else 414 or 431). Two
 * polling threads serve everything without blocking. MHD's own messages
 * (a refused connection, say) are logged at debug level, at most one line
 * per 10 s with a count of those held back.
 */
#ifndef WC_CMD_METRICS_HTTP_H
#define WC_CMD_METRICS_HTTP_H

#include <stddef.h>

#include "core/log.h"
#include "core/metrics.h"

struct wc_metrics_http;

/* Start listening. m and lg (may be NULL) are borrowed and must outlive the
 * listener. NULL on failure, with a one-line reason in err. */
struct wc_metrics_http *wc_metrics_http_start(const char *listen, struct wc_metrics *m,
                                              struct wc_logger *lg, char *err, size_t errlen);
/* The bound port (the OS's choice when 0 was asked). */
unsigned short wc_metrics_http_port(const struct wc_metrics_http *h);
/* Stop the listener thread, close its sockets and free it. NULL-safe. */
void wc_metrics_http_stop(struct wc_metrics_http *h);

#endif
