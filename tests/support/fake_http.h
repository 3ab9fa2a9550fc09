/* fake_http.h - the one fake core/http.h transport of the unit tests.
 *
 * It serves canned answers (status, response headers, a binary body of a
 * given length, or a transport failure) and records every request (method,
 * URL, headers, body, timeouts, response cap). Safe to call from several
 * threads at once.
 *
 * Two ways to queue answers, which can be mixed:
 *   - routes, per (method, URL): answers queued for the same pair are served
 *     in order and the last one keeps being served (fake_http_add*);
 *   - a script, for any request: each answer is served once, in order
 *     (fake_http_push*).
 * A request is answered by the first unserved answer that matches it, else
 * by the last served route that matches it; a request nothing answers fails
 * with WC_ERR_HTTP (like "connection refused"). A body longer than the
 * request's max_response_bytes (0: WC_HTTP_DEFAULT_MAX_RESPONSE) fails with
 * WC_ERR_TOO_LARGE. */
#ifndef WC_TESTS_FAKE_HTTP_H
#define WC_TESTS_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/http.h"

struct fake_http_req {
    char *method;
    char *url;
    struct wc_http_header *headers;
    size_t n_headers;
    char *body;                /* NUL-terminated copy; "" when the request had none */
    size_t body_len;
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response_bytes;
    bool metadata_credentials; /* the request's flag (credential fetch from IMDS/ECS) */
};

struct fake_http;

struct fake_http *fake_http_new(void);
void fake_http_destroy(struct fake_http *f);
/* The transport to hand to the code under test (owned by f). */
struct wc_http *fake_http_transport(struct fake_http *f);

/* Route answers for (method, url). */
void fake_http_add(struct fake_http *f, const char *method, const char *url, long status,
                   const char *body);
/* A transport failure (rc, e.g. WC_ERR_TIMEOUT) for (method, url). */
void fake_http_add_error(struct fake_http *f, const char *method, const char *url, int rc);

/* Script answers for the next request, whatever it is. headers: "Name: value"
 * lines separated by '\n' (may be NULL). */
void fake_http_push(struct fake_http *f, long status, const char *headers, const char *body);
void fake_http_push_bytes(struct fake_http *f, long status, const char *headers,
                          const void *body, size_t len);

/* Drop every queued answer, routes and script (recorded requests are kept). */
void fake_http_clear(struct fake_http *f);

size_t fake_http_n_requests(struct fake_http *f);
/* The i-th recorded request, NULL past the end; valid until the next request
 * is recorded (read it once the code under test has stopped sending). */
const struct fake_http_req *fake_http_request(struct fake_http *f, size_t i);
/* How many requests were made for (method, url). */
size_t fake_http_count(struct fake_http *f, const char *method, const char *url);
/* Case-insensitive header lookup in a recorded request; NULL if absent. */
const char *fake_http_req_header(const struct fake_http_req *r, const char *name);

#endif
