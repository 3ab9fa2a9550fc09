#include "aws/http_curl.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/endpoints.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

#define S_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define S_DEFAULT_TIMEOUT_MS 30000L
#define S_DEFAULT_POOL 8u
/* Response header limits: a server can't make us hoard headers. */
#define S_MAX_HEADERS 256
#define S_MAX_HEADER_BYTES ((size_t)64 * 1024)
#define S_MAX_HOST 256

struct s_curl {
    struct wc_http http; /* first: wc_http.impl points back here */
    long connect_timeout_ms, timeout_ms;
    char *ca_bundle, *user_agent;
    bool allow_plain_http_loopback, use_env_proxy;
    bool have_proxy; /* proxy below decides, not libcurl's environment */
    struct wc_http_proxy_config proxy;
    size_t max_response_bytes;
    struct wc_logger *logger;

    pthread_mutex_t pool_mu;
    CURL **idle;
    size_t n_idle, pool_size;

    /* DNS cache and TLS sessions, shared by every handle. Not the
     * connection cache: libcurl documents CURL_LOCK_DATA_CONNECT as
     * unsupported with concurrent threads (CURLSHOPT_SHARE(3)), so each
     * pooled handle keeps its own live connections, which survive
     * curl_easy_reset() and are reused by the next request that takes the
     * handle (LIFO pool: a sequential caller always gets the same one). */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    bool share_mu_ok;
};

/* Per-transfer state handed to the callbacks. */
struct s_xfer {
    struct wc_http_response *resp;
    size_t header_bytes;
    bool too_large;
    bool nomem;
};

int wc_http_curl_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? WC_OK : WC_ERR_HTTP;
}

void wc_http_curl_global_clean_up(void)
{
    curl_global_cleanup();
}

/* ---- URL policy ---- */

static bool s_host_is_loopback(const char *host)
{
    char buf[S_MAX_HOST];
    struct in_addr a4;
    struct in6_addr a6;
    size_t len = strlen(host);

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    /* curl hands IPv6 hosts back in brackets */
    if (len >= 2 && len < sizeof(buf) && host[0] == '[' && host[len - 1] == ']') {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) == 1)
            return IN6_IS_ADDR_LOOPBACK(&a6) != 0;
    }
    return false;
}

/* The link-local AWS metadata services, which only speak plain HTTP and are
 * reachable only from the instance or task itself: EC2 IMDS (IPv4, IPv6)
 * and the ECS / EKS Pod Identity credential endpoints. */
static bool s_host_is_aws_metadata(const char *host)
{
    static const char *const hosts[] = {"169.254.169.254", "[fd00:ec2::254]", "169.254.170.2",
                                        "169.254.170.23", "[fd00:ec2::23]"};

    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        if (strcasecmp(host, hosts[i]) == 0)
            return true;
    return false;
}

/* Check url against the policy; copy its host into host_out. */
static int s_check_url(const char *url, bool allow_plain_loopback, bool allow_plain_metadata,
                       char *host_out, size_t host_len)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
    int rc = WC_ERR_INVALID;

    if (host_out && host_len)
        host_out[0] = '\0';
    if (!url || !(u = curl_url()))
        return url ? WC_ERR_NOMEM : WC_ERR_INVALID;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        goto out;
    /* credentials never travel in a URL */
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK)
        goto out;
    if (strcasecmp(scheme, "https") == 0)
        rc = WC_OK;
    else if (strcasecmp(scheme, "http") == 0 &&
             ((allow_plain_loopback && s_host_is_loopback(host)) ||
              (allow_plain_metadata && s_host_is_aws_metadata(host))))
        rc = WC_OK;
    if (rc == WC_OK && host_out && host_len) {
        size_t n = strlen(host);

        n = n < host_len - 1 ? n : host_len - 1;
        memcpy(host_out, host, n);
        host_out[n] = '\0';
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return rc;
}

int wc_http_curl_check_url(const char *url, bool allow_plain_loopback, bool allow_plain_metadata)
{
    return s_check_url(url, allow_plain_loopback, allow_plain_metadata, NULL, 0);
}

/* ---- proxies ---- */

/* name in lower case, then in upper case. */
static const char *s_env2(const struct wc_env *env, const char *lower, const char *upper,
                          const char **source)
{
    const char *v;

    if ((v = wc_env_get(env, lower)))
        *source = lower;
    else if ((v = wc_env_get(env, upper)))
        *source = upper;
    return v;
}

void wc_http_proxy_config_clean_up(struct wc_http_proxy_config *p)
{
    if (!p)
        return;
    if (p->http_proxy)
        wc_secure_zero(p->http_proxy, strlen(p->http_proxy));
    if (p->https_proxy)
        wc_secure_zero(p->https_proxy, strlen(p->https_proxy));
    free(p->http_proxy);
    free(p->https_proxy);
    free(p->no_proxy);
    memset(p, 0, sizeof(*p));
}

int wc_http_proxy_config_init(struct wc_http_proxy_config *p, const char *config_proxy,
                              const struct wc_env *env, char *err, size_t errlen)
{
    const char *http = NULL, *https = NULL, *all, *no, *all_src = NULL;
    char shown[256];

    memset(p, 0, sizeof(*p));
    if (config_proxy && *config_proxy) {
        if (strcmp(config_proxy, "none") != 0) {
            http = https = config_proxy;
            p->http_source = p->https_source = "proxy";
        }
    } else {
        http = s_env2(env, "http_proxy", "HTTP_PROXY", &p->http_source);
        https = s_env2(env, "https_proxy", "HTTPS_PROXY", &p->https_source);
        all = s_env2(env, "all_proxy", "ALL_PROXY", &all_src);
        if (!http && all) {
            http = all;
            p->http_source = all_src;
        }
        if (!https && all) {
            https = all;
            p->https_source = all_src;
        }
    }
    no = s_env2(env, "no_proxy", "NO_PROXY", &p->no_proxy_source);
    for (int i = 0; i < 2; i++) {
        const char *v = i ? https : http;

        if (v && (!wc_http_proxy_url_ok(v) || strcmp(v, "none") == 0)) {
            wc_http_proxy_redact(v, shown, sizeof(shown));
            wc_errf(err, errlen, "%s: not a proxy URL ([http|https|socks5h|...://]host[:port]): "
                    "'%.120s'", i ? p->https_source : p->http_source, shown);
            wc_http_proxy_config_clean_up(p);
            return WC_ERR_CONFIG;
        }
    }
    if ((http && !(p->http_proxy = wc_strdup(http))) ||
        (https && !(p->https_proxy = wc_strdup(https))) ||
        (no && !(p->no_proxy = wc_strdup(no)))) {
        wc_http_proxy_config_clean_up(p);
        return WC_ERR_NOMEM;
    }
    if (!http)
        p->http_source = NULL;
    if (!https)
        p->https_source = NULL;
    if (!no)
        p->no_proxy_source = NULL;
    return WC_OK;
}

/* true when text holds the user:password part of proxy (curl's messages
 * name the proxy's host only, but a log line must never carry them). */
static bool s_leaks_userinfo(const char *text, const char *proxy)
{
    const char *h, *at;
    char user[256];
    size_t n;

    if (!proxy)
        return false;
    h = strstr(proxy, "://");
    h = h ? h + 3 : proxy;
    if (!(at = strchr(h, '@')) || at == h)
        return false;
    n = (size_t)(at - h) < sizeof(user) - 1 ? (size_t)(at - h) : sizeof(user) - 1;
    memcpy(user, h, n);
    user[n] = '\0';
    /* the user name alone, or the password after ':' */
    if (strstr(text, user))
        return true;
    return strchr(user, ':') && strstr(text, strchr(user, ':') + 1);
}

/* The proxy for url (NULL: direct). */
static const char *s_proxy_for(const struct s_curl *c, const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return c->proxy.https_proxy;
    return c->proxy.http_proxy;
}

/* ---- share locks ---- */

static void s_share_lock(CURL *e, curl_lock_data data, curl_lock_access access, void *userp)
{
    struct s_curl *c = userp;

    (void)e, (void)access;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_mu[data]);
}

static void s_share_unlock(CURL *e, curl_lock_data data, void *userp)
{
    struct s_curl *c = userp;

    (void)e;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_mu[data]);
}

/* ---- handle pool ---- */

static CURL *s_acquire(struct s_curl *c)
{
    CURL *e = NULL;

    pthread_mutex_lock(&c->pool_mu);
    if (c->n_idle > 0)
        e = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->pool_mu);
    return e ? e : curl_easy_init();
}

static void s_release(struct s_curl *c, CURL *e)
{
    if (!e)
        return;
    /* Options go back to defaults; the handle's live connections and the
     * share (DNS, TLS sessions) stay. */
    curl_easy_reset(e);
    pthread_mutex_lock(&c->pool_mu);
    if (c->n_idle < c->pool_size) {
        c->idle[c->n_idle++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&c->pool_mu);
    if (e)
        curl_easy_cleanup(e);
}

/* ---- callbacks ---- */

static size_t s_on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct s_xfer *x = userp;
    size_t n = size * nmemb;
    int rc;

    if (n == 0)
        return 0;
    if ((rc = wc_buf_append(&x->resp->body, ptr, n)) != WC_OK) {
        if (rc == WC_ERR_TOO_LARGE)
            x->too_large = true;
        else
            x->nomem = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

static void s_reset_headers(struct wc_http_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->n_headers = 0;
}

static size_t s_on_header(char *line, size_t size, size_t nitems, void *userp)
{
    struct s_xfer *x = userp;
    size_t n = size * nitems;
    struct wc_str name, value;
    const char *colon;

    x->header_bytes += n;
    if (x->header_bytes > S_MAX_HEADER_BYTES) {
        x->too_large = true;
        return 0;
    }
    /* A new status line (after a 1xx) starts a new header block. */
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        s_reset_headers(x->resp);
        return n;
    }
    /* blank line, or an obsolete folded continuation: nothing to keep */
    if (n == 0 || line[0] == ' ' || line[0] == '\t' || line[0] == '\r' || line[0] == '\n')
        return n;
    if (!(colon = memchr(line, ':', n)))
        return n;
    name = wc_str_trim((struct wc_str){line, (size_t)(colon - line)});
    value = wc_str_trim((struct wc_str){colon + 1, n - (size_t)(colon - line) - 1});
    if (name.len == 0)
        return n;
    if (x->resp->n_headers >= S_MAX_HEADERS) {
        x->too_large = true;
        return 0;
    }
    if (wc_http_response_add_header(x->resp, name.ptr, name.len, value.ptr, value.len) != WC_OK) {
        x->nomem = true;
        return 0;
    }
    return n;
}

/* ---- request ---- */

static bool s_token_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

static bool s_value_ok(const char *s)
{
    for (; s && *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return s != NULL;
}

/* Build the curl header list: caller's headers in order, plus "Expect:"
 * (no 100-continue round trip) and, if the caller set none, "Content-Type:"
 * (so curl does not invent a form content type for POST). */
static int s_build_headers(const struct wc_http_request *req, struct curl_slist **out)
{
    struct curl_slist *list = NULL, *tmp;
    struct wc_buf line = WC_BUF_INIT;
    bool have_ct = false;
    int rc = WC_OK;

    for (size_t i = 0; i < req->n_headers; i++) {
        const struct wc_http_header *h = &req->headers[i];

        if (!s_token_ok(h->name) || !s_value_ok(h->value)) {
            rc = WC_ERR_INVALID;
            goto out;
        }
        if (strcasecmp(h->name, "Content-Type") == 0)
            have_ct = true;
        wc_buf_reset(&line);
        /* "Name;" is curl's way of sending a header with an empty value */
        if ((rc = *h->value ? wc_buf_appendf(&line, "%s: %s", h->name, h->value)
                            : wc_buf_appendf(&line, "%s;", h->name)) != WC_OK)
            goto out;
        if (!(tmp = curl_slist_append(list, line.ptr))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
        list = tmp;
    }
    if (!(tmp = curl_slist_append(list, "Expect:"))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    list = tmp;
    if (!have_ct) {
        if (!(tmp = curl_slist_append(list, "Content-Type:"))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
        list = tmp;
    }
out:
    wc_buf_clean_up_secure(&line); /* it held header values (Authorization) */
    if (rc != WC_OK) {
        curl_slist_free_all(list);
        list = NULL;
    }
    *out = list;
    return rc;
}

static int s_on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    const struct wc_http_request *req = ctx;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return req->cancelled(req->cancelled_ctx) ? 1 : 0; /* non-zero aborts */
}

static int s_map_curl_error(CURLcode cc, const struct s_xfer *x)
{
    switch (cc) {
    case CURLE_OK:
        return WC_OK;
    case CURLE_ABORTED_BY_CALLBACK:
        return WC_ERR_CANCELLED;
    case CURLE_WRITE_ERROR:
        if (x->too_large)
            return WC_ERR_TOO_LARGE;
        return x->nomem ? WC_ERR_NOMEM : WC_ERR_HTTP;
    case CURLE_FILESIZE_EXCEEDED:
        return WC_ERR_TOO_LARGE;
    case CURLE_OPERATION_TIMEDOUT:
        return WC_ERR_TIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return WC_ERR_NOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return WC_ERR_INVALID;
    default:
        /* header callback aborts (too many headers) come back as
         * CURLE_WRITE_ERROR too, but be safe for other codes */
        if (x->too_large)
            return WC_ERR_TOO_LARGE;
        return WC_ERR_HTTP; /* connect, TLS, reset, protocol errors */
    }
}

static int64_t s_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define S_SETOPT(e, opt, val)                                            \
    do {                                                                 \
        if (curl_easy_setopt((e), (opt), (val)) != CURLE_OK) {           \
            rc = WC_ERR_HTTP;                                            \
            goto out;                                                    \
        }                                                                \
    } while (0)

static int s_send(struct wc_http *h, const struct wc_http_request *req,
                  struct wc_http_response *resp)
{
    struct s_curl *c = h->impl;
    struct curl_slist *headers = NULL;
    struct s_xfer x = {0};
    char host[S_MAX_HOST];
    char errbuf[CURL_ERROR_SIZE];
    CURL *e = NULL;
    CURLcode cc = CURLE_OK;
    const char *proxy = NULL;
    size_t cap;
    long status = 0;
    int64_t t0 = s_mono_ms();
    int rc;

    errbuf[0] = '\0';
    host[0] = '\0';
    wc_http_response_clean_up(resp);
    if (!s_token_ok(req->method) || (!req->body && req->body_len)) {
        rc = WC_ERR_INVALID;
        goto out;
    }
    if ((rc = s_check_url(req->url, c->allow_plain_http_loopback, req->metadata_credentials, host,
                          sizeof(host))) != WC_OK) {
        WC_LOGW(c->logger, NULL, "http: refused %s request: URL not allowed (https only; plain "
                "http only to loopback when enabled, and to the metadata services for "
                "credential fetches)", req->method);
        goto out;
    }
    cap = req->max_response_bytes ? req->max_response_bytes : c->max_response_bytes;
    wc_buf_init(&resp->body, cap);
    x.resp = resp;
    if ((rc = s_build_headers(req, &headers)) != WC_OK)
        goto out;
    if (!(e = s_acquire(c))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    S_SETOPT(e, CURLOPT_SHARE, c->share);
    S_SETOPT(e, CURLOPT_URL, req->url);
    S_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    S_SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    S_SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
    S_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    /* a handle per I/O thread keeps its receive buffer: 4 KiB instead of
     * curl's 16 (64 threads: 0.75 MiB of resident memory less; answers
     * come in a few more reads) */
    S_SETOPT(e, CURLOPT_BUFFERSIZE, 4096L);
    S_SETOPT(e, CURLOPT_PATH_AS_IS, 1L); /* send the path we signed, unnormalised */
    S_SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
    S_SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
    S_SETOPT(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->ca_bundle) {
        S_SETOPT(e, CURLOPT_CAINFO, c->ca_bundle);
        S_SETOPT(e, CURLOPT_PROXY_CAINFO, c->ca_bundle); /* an https:// proxy */
    }
    if (c->have_proxy && !req->metadata_credentials && (proxy = s_proxy_for(c, req->url))) {
        S_SETOPT(e, CURLOPT_PROXY, proxy);
        /* set, even empty: libcurl then reads no no_proxy of its own */
        S_SETOPT(e, CURLOPT_NOPROXY, c->proxy.no_proxy ? c->proxy.no_proxy : "");
        S_SETOPT(e, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
        S_SETOPT(e, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
    } else if (c->have_proxy || !c->use_env_proxy || req->metadata_credentials) {
        S_SETOPT(e, CURLOPT_PROXY, ""); /* "" = no proxy, whatever the environment says */
    }
    S_SETOPT(e, CURLOPT_USERAGENT, c->user_agent);
    S_SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
    S_SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
    S_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS,
             req->connect_timeout_ms > 0 ? req->connect_timeout_ms : c->connect_timeout_ms);
    S_SETOPT(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms);
    S_SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
    S_SETOPT(e, CURLOPT_HTTPHEADER, headers);
    S_SETOPT(e, CURLOPT_WRITEFUNCTION, s_on_body);
    S_SETOPT(e, CURLOPT_WRITEDATA, &x);
    S_SETOPT(e, CURLOPT_HEADERFUNCTION, s_on_header);
    S_SETOPT(e, CURLOPT_HEADERDATA, &x);
    S_SETOPT(e, CURLOPT_ERRORBUFFER, errbuf);
    if (req->cancelled) {
        S_SETOPT(e, CURLOPT_XFERINFOFUNCTION, s_on_progress);
        S_SETOPT(e, CURLOPT_XFERINFODATA, (void *)req);
        S_SETOPT(e, CURLOPT_NOPROGRESS, 0L);
    } else {
        S_SETOPT(e, CURLOPT_NOPROGRESS, 1L); /* handles are reused */
    }

    if (strcmp(req->method, "GET") == 0 && !req->body) {
        S_SETOPT(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        S_SETOPT(e, CURLOPT_NOBODY, 1L);
    } else if (req->body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        /* never chunked: the body length is known and signed */
        S_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        S_SETOPT(e, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        if (strcmp(req->method, "POST") != 0)
            S_SETOPT(e, CURLOPT_CUSTOMREQUEST, req->method);
    } else {
        S_SETOPT(e, CURLOPT_CUSTOMREQUEST, req->method);
    }

    cc = curl_easy_perform(e);
    if ((rc = s_map_curl_error(cc, &x)) == WC_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        resp->status = status;
    }
out:
    if (rc == WC_OK) {
        WC_LOGD(c->logger, NULL, "http: %s %s -> %ld (%lld ms, %zu bytes%s)", req->method, host,
                status, (long long)(s_mono_ms() - t0), resp->body.len, proxy ? ", via proxy" : "");
    } else {
        if (cc != CURLE_OK)
            WC_LOGD(c->logger, NULL, "http: %s %s failed: %s (%s%s, %lld ms)", req->method, host,
                    wc_strerror(rc), proxy ? "via proxy: " : "",
                    errbuf[0] && !s_leaks_userinfo(errbuf, proxy) ? errbuf
                                                                  : curl_easy_strerror(cc),
                    (long long)(s_mono_ms() - t0));
        wc_http_response_clean_up(resp);
    }
    s_release(c, e);
    curl_slist_free_all(headers);
    return rc;
}

/* ---- lifecycle ---- */

static void s_destroy(struct wc_http *h)
{
    struct s_curl *c;

    if (!h)
        return;
    c = h->impl;
    for (size_t i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    free(c->idle);
    if (c->share)
        curl_share_cleanup(c->share);
    if (c->share_mu_ok)
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&c->share_mu[i]);
    pthread_mutex_destroy(&c->pool_mu);
    free(c->ca_bundle);
    free(c->user_agent);
    wc_http_proxy_config_clean_up(&c->proxy);
    free(c);
}

static const struct wc_http_vtable s_vtable = {
    .name = "curl",
    .send = s_send,
    .destroy = s_destroy,
};

struct wc_http *wc_http_curl_new(const struct wc_http_curl_options *opts)
{
    struct wc_http_curl_options o = {0};
    struct s_curl *c;
    int n_mu = 0;

    if (opts)
        o = *opts;
    if (o.connect_timeout_ms < 0 || o.timeout_ms < 0)
        return NULL;
    if (!(c = calloc(1, sizeof(*c))))
        return NULL;
    if (pthread_mutex_init(&c->pool_mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->http.vtable = &s_vtable;
    c->http.impl = c;
    c->connect_timeout_ms = o.connect_timeout_ms ? o.connect_timeout_ms : S_DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = o.timeout_ms ? o.timeout_ms : S_DEFAULT_TIMEOUT_MS;
    c->allow_plain_http_loopback = o.allow_plain_http_loopback;
    c->use_env_proxy = o.use_env_proxy;
    c->max_response_bytes = o.max_response_bytes ? o.max_response_bytes : WC_HTTP_DEFAULT_MAX_RESPONSE;
    c->pool_size = o.pool_size ? o.pool_size : S_DEFAULT_POOL;
    c->logger = o.logger;
    c->user_agent = wc_strdup(o.user_agent ? o.user_agent : WC_HTTP_CURL_USER_AGENT);
    if (o.ca_bundle && !(c->ca_bundle = wc_strdup(o.ca_bundle)))
        goto fail;
    if (o.proxy) {
        c->have_proxy = true;
        c->proxy = (struct wc_http_proxy_config){
            .http_source = o.proxy->http_source,
            .https_source = o.proxy->https_source,
            .no_proxy_source = o.proxy->no_proxy_source,
        };
        if ((o.proxy->http_proxy && !(c->proxy.http_proxy = wc_strdup(o.proxy->http_proxy))) ||
            (o.proxy->https_proxy && !(c->proxy.https_proxy = wc_strdup(o.proxy->https_proxy))) ||
            (o.proxy->no_proxy && !(c->proxy.no_proxy = wc_strdup(o.proxy->no_proxy))))
            goto fail;
    }
    if (!c->user_agent || !(c->idle = calloc(c->pool_size, sizeof(*c->idle))))
        goto fail;
    for (; n_mu < CURL_LOCK_DATA_LAST; n_mu++)
        if (pthread_mutex_init(&c->share_mu[n_mu], NULL) != 0)
            goto fail;
    c->share_mu_ok = true;
    if (!(c->share = curl_share_init()))
        goto fail;
    if (curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, s_share_lock) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, s_share_unlock) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        goto fail;
    return &c->http;
fail:
    if (!c->share_mu_ok)
        for (int i = 0; i < n_mu; i++)
            pthread_mutex_destroy(&c->share_mu[i]);
    s_destroy(&c->http);
    return NULL;
}
