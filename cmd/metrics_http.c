/* metrics_http.c - see metrics_http.h. */
#include "cmd/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

#define S_MAX_RENDER ((size_t)1024 * 1024)
#define S_MAX_CONNECTIONS 32
#define S_CONNECTION_TIMEOUT_S 10
#define S_HOST_MAX 64

struct wc_metrics_http {
    struct MHD_Daemon *d;
    struct wc_metrics *m;
    struct wc_logger *lg;
    unsigned short port;
    /* MHD's messages while starting are kept for the caller's err. */
    atomic_bool starting;
    char start_msg[256];
};

struct s_addr {
    struct sockaddr_storage ss;
    bool ipv6;
    bool loopback;
};


static int s_parse_port(const char *p, unsigned short *out)
{
    unsigned long v = 0;

    if (!*p)
        return WC_ERR_INVALID;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return WC_ERR_INVALID;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return WC_ERR_INVALID;
    }
    *out = (unsigned short)v;
    return WC_OK;
}

/* "127.0.0.1:9464", "localhost:9464", "[::1]:9464", "0.0.0.0:9464", "[::]:0". */
static int s_parse_listen(const char *listen, struct s_addr *a, char *err, size_t errlen)
{
    char host[S_HOST_MAX];
    const char *colon, *hb, *he;
    unsigned short port = 0;

    memset(a, 0, sizeof(*a));
    if (!listen || !*listen) {
        wc_errf(err, errlen, "metrics_listen: empty address");
        return WC_ERR_INVALID;
    }
    if (listen[0] == '[') {
        hb = listen + 1;
        if (!(he = strchr(hb, ']')) || he[1] != ':') {
            wc_errf(err, errlen, "metrics_listen '%s': expected [IPv6]:port", listen);
            return WC_ERR_INVALID;
        }
        colon = he + 1;
        a->ipv6 = true;
    } else {
        hb = listen;
        if (!(colon = strrchr(listen, ':')) || memchr(listen, ':', (size_t)(colon - listen))) {
            wc_errf(err, errlen, "metrics_listen '%s': expected host:port (IPv6 as [addr]:port)",
                  listen);
            return WC_ERR_INVALID;
        }
        he = colon;
    }
    if (he == hb || (size_t)(he - hb) >= sizeof(host)) {
        wc_errf(err, errlen,
              "metrics_listen '%s': give the address to listen on explicitly, e.g. "
              "127.0.0.1:9464 (0.0.0.0:9464 for every interface)", listen);
        return WC_ERR_INVALID;
    }
    memcpy(host, hb, (size_t)(he - hb));
    host[he - hb] = '\0';
    if (s_parse_port(colon + 1, &port) != WC_OK) {
        wc_errf(err, errlen, "metrics_listen '%s': port must be 0-65535", listen);
        return WC_ERR_INVALID;
    }
    if (a->ipv6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
            wc_errf(err, errlen, "metrics_listen '%s': '%s' is not an IPv6 address", listen, host);
            return WC_ERR_INVALID;
        }
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        a->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
                      (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

        if (strcmp(host, "localhost") == 0)
            strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
            wc_errf(err, errlen,
                  "metrics_listen '%s': host must be an IP address or localhost, e.g. "
                  "127.0.0.1, [::1], or 0.0.0.0 for every interface", listen);
            return WC_ERR_INVALID;
        }
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        a->loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    return WC_OK;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct wc_metrics_http *h = cls;
    char line[256];
    size_t n;

    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (atomic_load(&h->starting)) {
        if (!h->start_msg[0])
            snprintf(h->start_msg, sizeof(h->start_msg), "%s", line);
        return;
    }
    WC_LOGW(h->lg, NULL, "metrics listener: %s", line);
}

static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, const char *body, size_t len,
                               const char *allow)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_text(struct MHD_Connection *conn, unsigned status, const char *body)
{
    return s_reply(conn, status, "text/plain; charset=utf-8", body, strlen(body), NULL);
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    struct wc_metrics_http *h = cls;
    struct wc_buf body = WC_BUF_INIT;
    enum MHD_Result ret;
    int rc;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        /* answered at once; a request body is not read */
        *upload_data_size = 0;
        return s_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                       "method not allowed\n", strlen("method not allowed\n"), "GET, HEAD");
    }
    if (strcmp(url, "/healthz") == 0) {
        if (wc_metrics_ready(h->m))
            return s_text(conn, MHD_HTTP_OK, "ok\n");
        return s_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    }
    if (strcmp(url, "/metrics") != 0)
        return s_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    wc_buf_init(&body, S_MAX_RENDER);
    if ((rc = wc_metrics_render(h->m, &body)) != WC_OK) {
        WC_LOGE(h->lg, NULL, "metrics listener: rendering failed: %s", wc_strerror(rc));
        ret = s_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
        goto out;
    }
    ret = s_reply(conn, MHD_HTTP_OK, WC_METRICS_CONTENT_TYPE, body.ptr ? body.ptr : "",
                  body.len, NULL);
out:
    wc_buf_clean_up(&body);
    return ret;
}

struct wc_metrics_http *wc_metrics_http_start(const char *listen, struct wc_metrics *m,
                                              struct wc_logger *lg, char *err, size_t errlen)
{
    struct wc_metrics_http *h = NULL;
    struct s_addr a;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

    if (err && errlen)
        err[0] = '\0';
    if (!m) {
        wc_errf(err, errlen, "metrics listener: no metrics");
        return NULL;
    }
    if (s_parse_listen(listen, &a, err, errlen) != WC_OK)
        return NULL;
    if (!(h = calloc(1, sizeof(*h)))) {
        wc_errf(err, errlen, "metrics listener: out of memory");
        return NULL;
    }
    h->m = m;
    h->lg = lg;
    atomic_init(&h->starting, true);
    if (a.ipv6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, s_handle, h,
                            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a.ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)S_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S_CONNECTION_TIMEOUT_S,
                            MHD_OPTION_END);
    if (!h->d) {
        int e = errno;

        /* errno is bind()'s or listen()'s; MHD's own message names the
         * port argument (0 with MHD_OPTION_SOCK_ADDR), so it comes second */
        if (e)
            wc_errf(err, errlen, "metrics listener on %s: %s", listen, strerror(e));
        else if (h->start_msg[0])
            wc_errf(err, errlen, "metrics listener on %s: %s", listen, h->start_msg);
        else
            wc_errf(err, errlen, "metrics listener on %s: cannot listen", listen);
        free(h);
        return NULL;
    }
    atomic_store(&h->starting, false);
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    if (h->port == 0) {
        wc_errf(err, errlen, "metrics listener on %s: cannot tell the bound port", listen);
        wc_metrics_http_stop(h);
        return NULL;
    }
    if (a.loopback)
        WC_LOGI(lg, NULL, "metrics listener on %s (port %u)", listen, (unsigned)h->port);
    else
        WC_LOGW(lg, NULL,
                "metrics listener on %s (port %u) is reachable from other hosts; "
                "use 127.0.0.1 unless a scraper elsewhere needs it",
                listen, (unsigned)h->port);
    return h;
}

unsigned short wc_metrics_http_port(const struct wc_metrics_http *h)
{
    return h ? h->port : 0;
}

void wc_metrics_http_stop(struct wc_metrics_http *h)
{
    if (!h)
        return;
    if (h->d)
        MHD_stop_daemon(h->d);
    free(h);
}
