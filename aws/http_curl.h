/* http_curl.h - the HTTP transport (core/http.h) on libcurl.
 *
 * One wc_http may be used from several threads at once: easy handles come
 * from a small mutex-protected pool (last in, first out), each keeping its
 * live connections between requests, so connections to a host are reused;
 * a CURLSH with lock callbacks shares the DNS cache and TLS sessions between
 * the handles. The connection cache itself is deliberately not put in the
 * share: libcurl documents CURL_LOCK_DATA_CONNECT as unsupported with
 * concurrent threads (CURLSHOPT_SHARE(3)).
 *
 * Fixed behaviour: TLS peer and host verification always on; only http and
 * https; redirects never followed; no signals (CURLOPT_NOSIGNAL); gzip and
 * deflate accepted and decoded (CURLOPT_ACCEPT_ENCODING ""); proxies only
 * as the options say (`proxy`, see wc_http_proxy_config_init; libcurl's own
 * reading of the environment only with use_env_proxy), and never for the
 * metadata credential fetches (link-local, reachable from this host only);
 * proxy credentials are never logged; plain http:// only
 * to a loopback host (127.0.0.0/8, ::1, localhost) and only when
 * allow_plain_http_loopback, or to the AWS metadata addresses and only for a
 * request marked metadata_credentials (core/http.h) — anything else is
 * refused with WC_ERR_INVALID before a connection is attempted. A body over the cap aborts the transfer
 * with WC_ERR_TOO_LARGE. Header values are never logged.
 *
 * Process start-up: cmd/ calls wc_http_curl_global_init() once, before any
 * thread is started and before wc_http_curl_new(), and
 * wc_http_curl_global_clean_up() at exit. The library keeps no global state
 * of its own beyond libcurl's.
 */
#ifndef WC_HTTP_CURL_H
#define WC_HTTP_CURL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/http.h"
#include "core/log.h"
#include "core/version.h"

#define WC_HTTP_CURL_USER_AGENT wc_version_user_agent()

/* Where requests go: through a proxy per URL scheme, or direct.
 *
 * wc_http_proxy_config_init resolves it once at start-up:
 *   - config_proxy (the config file's `proxy:`), when set, is the proxy for
 *     http:// and https:// URLs alike, whatever the environment says;
 *     "none" means direct;
 *   - else the environment, as curl reads it (lower case first, then upper
 *     case): https:// URLs use https_proxy / HTTPS_PROXY, http:// URLs
 *     http_proxy / HTTP_PROXY (upper case too, as the AWS SDKs do: this is
 *     no CGI program), both falling back to all_proxy / ALL_PROXY;
 *   - no_proxy / NO_PROXY applies in both cases, with curl's semantics
 *     (CURLOPT_NOPROXY: comma-separated host names, which also match their
 *     subdomains, IP addresses, CIDR ranges; "*" for all).
 * A proxy is an http://, https://, socks4[a]:// or socks5[h]:// URL, or
 * host[:port] (http). user:password@ in it is passed to the proxy and
 * never logged (wc_http_proxy_redact). */
struct wc_http_proxy_config {
    char *http_proxy;         /* for http:// URLs; NULL: direct */
    char *https_proxy;        /* for https:// URLs; NULL: direct */
    char *no_proxy;           /* NULL: none */
    const char *http_source;  /* "proxy", "http_proxy", "HTTP_PROXY", "ALL_PROXY", ... */
    const char *https_source;
    const char *no_proxy_source;
};

struct wc_env;

/* env NULL: the process environment. WC_ERR_CONFIG (reason in err, proxy
 * credentials left out) for a proxy URL that is not one. */
int wc_http_proxy_config_init(struct wc_http_proxy_config *p, const char *config_proxy,
                              const struct wc_env *env, char *err, size_t errlen);
void wc_http_proxy_config_clean_up(struct wc_http_proxy_config *p);
/* wc_http_proxy_url_ok, wc_http_proxy_redact: core/http.h. */

struct wc_http_curl_options {
    long connect_timeout_ms;        /* 0: 5000 */
    long timeout_ms;                /* total per request; 0: 30000 */
    const char *ca_bundle;          /* PEM file; NULL: the system store */
    const char *user_agent;         /* NULL: WC_HTTP_CURL_USER_AGENT */
    bool allow_plain_http_loopback; /* http:// to 127.0.0.0/8, ::1, localhost */
    bool use_env_proxy;             /* let libcurl read http_proxy/https_proxy/no_proxy
                                     * itself (when proxy is NULL) */
    const struct wc_http_proxy_config *proxy; /* copied; NULL: direct (or use_env_proxy) */
    size_t max_response_bytes;      /* 0: WC_HTTP_DEFAULT_MAX_RESPONSE */
    unsigned pool_size;             /* idle easy handles kept; 0: 8 */
    struct wc_logger *logger;       /* borrowed; NULL: silent */
};

/* curl_global_init(CURL_GLOBAL_DEFAULT). Not thread-safe: call it from
 * main() before starting threads. WC_OK or WC_ERR_HTTP. */
int wc_http_curl_global_init(void);
void wc_http_curl_global_clean_up(void);

/* NULL on allocation failure or bad options. Destroy with wc_http_destroy(). */
struct wc_http *wc_http_curl_new(const struct wc_http_curl_options *opts);

/* The URL policy, exposed for tests: WC_OK for https://, for http:// to a
 * loopback host when allow_plain_loopback, and for http:// to the link-local
 * AWS metadata endpoints (169.254.169.254, fd00:ec2::254, 169.254.170.2,
 * 169.254.170.23, fd00:ec2::23: IMDS and container credentials, which
 * speak only plain HTTP) when allow_plain_metadata, which the transport
 * takes from the request's metadata_credentials flag (set only by the
 * credential fetches); WC_ERR_INVALID otherwise (other schemes,
 * user:password@ in the URL, unparsable URL). */
int wc_http_curl_check_url(const char *url, bool allow_plain_loopback, bool allow_plain_metadata);

#endif
