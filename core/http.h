/* http.h - the HTTP transport port.
 *
 * core/ declares it; aws/http_curl.c implements it with libcurl; tests swap
 * in fakes. The AWS clients and the notifiers speak HTTP only through this.
 * An implementation must be safe to call from several threads at once.
 */
#ifndef WC_HTTP_H
#define WC_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define WC_HTTP_DEFAULT_MAX_RESPONSE ((size_t)16 * 1024 * 1024)

struct wc_http_header {
    char *name;
    char *value;
};

struct wc_http_request {
    const char *method;                  /* "GET", "POST", "PUT" */
    const char *url;                     /* absolute http(s) URL */
    const struct wc_http_header *headers;/* borrowed; sent in this order */
    size_t n_headers;
    const void *body;                    /* borrowed; may be NULL */
    size_t body_len;
    long connect_timeout_ms;             /* 0: transport default */
    long timeout_ms;                     /* total; 0: transport default */
    size_t max_response_bytes;           /* 0: WC_HTTP_DEFAULT_MAX_RESPONSE */
    /* A credential fetch from the EC2 instance metadata service or the
     * container credentials endpoint: only such a request may use plain
     * http:// to those link-local addresses (they speak nothing else). */
    bool metadata_credentials;
    /* Polled while the request is under way (about once a second and on
     * every transfer progress): true aborts it with WC_ERR_CANCELLED (a long
     * poll that SIGTERM must not wait out). NULL: never. */
    bool (*cancelled)(void *ctx);
    void *cancelled_ctx;
};

struct wc_http_response {
    long status;                         /* HTTP status; 0 if none received */
    struct wc_http_header *headers;      /* owned; names as received */
    size_t n_headers;
    struct wc_buf body;                  /* owned, capped */
};

#define WC_HTTP_RESPONSE_INIT {0, NULL, 0, WC_BUF_INIT}

struct wc_http;

struct wc_http_vtable {
    const char *name;
    /* WC_OK when a response (any status) was received; WC_ERR_TIMEOUT,
     * WC_ERR_HTTP (connect/TLS/reset), WC_ERR_TOO_LARGE (body over cap). */
    int (*send)(struct wc_http *h, const struct wc_http_request *req,
                struct wc_http_response *resp);
    void (*destroy)(struct wc_http *h);
};

struct wc_http {
    const struct wc_http_vtable *vtable;
    void *impl;
};

int wc_http_send(struct wc_http *h, const struct wc_http_request *req,
                 struct wc_http_response *resp);
void wc_http_destroy(struct wc_http *h);

/* Case-insensitive lookup; NULL when absent. */
const char *wc_http_response_header(const struct wc_http_response *resp, const char *name);
int wc_http_response_add_header(struct wc_http_response *resp, const char *name, size_t nlen,
                                const char *value, size_t vlen);
void wc_http_response_clean_up(struct wc_http_response *resp);

/* true for a proxy URL: http://, https://, socks4[a]://, socks5[h]:// or no
 * scheme (http), then [user[:password]@]host[:port][/]; or "none". Used by
 * the config loader and the transport alike. */
bool wc_http_proxy_url_ok(const char *url);
/* url with any user:password@ replaced by "***@", for logs and dumps;
 * "(none)" for NULL. */
void wc_http_proxy_redact(const char *url, char *out, size_t outlen);

#endif
