/* http_testserver.h - a tiny HTTP/1.1 server on 127.0.0.1 for the
 * transport tests (libmicrohttpd, one thread per connection, OS-chosen port).
 *
 * Routes:
 *   /status/<code>     that status, body "status <code>"
 *   /headers           X-One: first value, X-Dup: a, X-Dup: b, x-lower-case: v
 *   /echo              body "<METHOD>\n<request body>"; echoes request headers
 *                      Content-Type, Expect, User-Agent, X-Echo, X-Empty as
 *                      X-Req-<name> ("(none)" when absent)
 *   /big/<n>           n bytes of 'a' with Content-Length
 *   /stream/<n>        n bytes of 'b', length unknown (chunked)
 *   /gzip              gzip-encoded body (Content-Encoding: gzip) of
 *                      wc_http_testserver_gzip_text()
 *   /sleep/<ms>        waits ms (at most 5000, cut short by stop), then "slept"
 */
#ifndef WC_HTTP_TESTSERVER_H
#define WC_HTTP_TESTSERVER_H

struct wc_http_testserver;

/* NULL on failure. */
struct wc_http_testserver *wc_http_testserver_start(void);
unsigned short wc_http_testserver_port(const struct wc_http_testserver *s);
/* Requests answered / TCP connections accepted so far. */
int wc_http_testserver_requests(const struct wc_http_testserver *s);
int wc_http_testserver_connections(const struct wc_http_testserver *s);
/* The plain text /gzip serves compressed. */
const char *wc_http_testserver_gzip_text(void);
void wc_http_testserver_stop(struct wc_http_testserver *s);

#endif
