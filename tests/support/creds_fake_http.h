/* creds_fake_http.h - a fake core/http.h transport for the credentials
 * tests: serves canned responses per (method, URL) and records requests. */
#ifndef WC_TESTS_CREDS_FAKE_HTTP_H
#define WC_TESTS_CREDS_FAKE_HTTP_H

#include <stddef.h>

#include "core/http.h"

struct creds_fake_request {
    char *method;
    char *url;
    struct wc_http_header *headers;
    size_t n_headers;
    char *body;
    long connect_timeout_ms;
    long timeout_ms;
};

struct creds_fake_http;

struct creds_fake_http *creds_fake_http_new(void);
void creds_fake_http_destroy(struct creds_fake_http *f);
/* The transport to hand to the code under test (owned by f). */
struct wc_http *creds_fake_http_transport(struct creds_fake_http *f);

/* Queue a response for (method, url). Responses queued for the same pair are
 * served in order; the last one keeps being served. A request nobody queued
 * for fails with WC_ERR_HTTP (like "connection refused"). */
void creds_fake_http_add(struct creds_fake_http *f, const char *method, const char *url,
                         long status, const char *body);
/* Queue a transport failure (rc, e.g. WC_ERR_TIMEOUT) for (method, url). */
void creds_fake_http_add_error(struct creds_fake_http *f, const char *method, const char *url,
                               int rc);
/* Drop every queued response (recorded requests are kept). */
void creds_fake_http_clear(struct creds_fake_http *f);

size_t creds_fake_http_n_requests(const struct creds_fake_http *f);
const struct creds_fake_request *creds_fake_http_request(const struct creds_fake_http *f,
                                                         size_t i);
/* How many requests were made for (method, url). */
size_t creds_fake_http_count(const struct creds_fake_http *f, const char *method,
                             const char *url);
/* Case-insensitive header lookup in a recorded request; NULL if absent. */
const char *creds_fake_request_header(const struct creds_fake_request *r, const char *name);

#endif
