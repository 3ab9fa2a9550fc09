/* metrics_http.c - see metrics_http.h.
 *
 * Misbehaving clients (issue 8). MHD enforces the total and per-IP
 * connection limits, the idle timeout and the per-connection memory (which
 * bounds the request line and headers). It has no absolute deadline - a
 * client sending a byte a second is never idle - so a guard thread does
 * that: MHD's connection notifications keep a table of open sockets and
 * when they were accepted; past the deadline the guard shuts the socket
 * down, MHD reads the end of it and closes the connection, freeing the
 * slot. The guard never touches a closed descriptor: MHD reports CLOSED
 * (which takes the table's lock and removes the entry) before it closes the
 * socket, and the guard calls shutdown() only under that lock.
 *
 * MHD's own messages (one per refused connection, for instance) go to the
 * logger at debug level, at most one line per S_LOG_EVERY_MS, with a count
 * of those held back.
 */
#include "cmd/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

#define S_MAX_RENDER ((size_t)1024 * 1024)
/* connections open at once, in all; beyond it new ones wait in the backlog */
#define S_MAX_CONNECTIONS 64
/* connections open at once from one client address; beyond it refused */
#define S_MAX_PER_IP 8
/* a connection with nothing sent or received for this long is closed */
#define S_IDLE_TIMEOUT_S 3
/* and every connection is closed this long after it was accepted */
#define S_DEADLINE_MS 5000
/* memory per connection: the request line and headers must fit in it */
#define S_MEMORY_LIMIT ((size_t)8 * 1024)
/* MHD's polling threads (epoll where there is one) */
#define S_POOL_THREADS 2
/* at most one line of MHD's messages per this long */
#define S_LOG_EVERY_MS 10000
#define S_HOST_MAX 64

/* One open connection, as the guard sees it. */
struct s_conn {
    bool used;
    bool cut; /* shut down by the guard, waiting for MHD to close it */
    int fd;
    int64_t start_ms;
};

struct wc_metrics_http {
    struct MHD_Daemon *d;
    struct wc_metrics *m;
    struct wc_logger *lg;
    unsigned short port;
    /* MHD's messages while starting are kept for the caller's err. */
    atomic_bool starting;
    char start_msg[256];

    /* mu guards everything below */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t guard;
    bool guard_running;
    bool stop;
    struct s_conn conns[S_MAX_CONNECTIONS];
    /* rate limit of the log: when the last line was written, how many
     * messages were held back since */
    bool logged;
    int64_t log_last_ms;
    unsigned log_held;
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

static int64_t s_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under h->mu: may a line be written now? When it may, *held gets the
 * count of lines held back before it and the window restarts; when not,
 * this one is held back too. */
static bool s_log_take(struct wc_metrics_http *h, int64_t now, unsigned *held)
{
    if (h->logged && now - h->log_last_ms < S_LOG_EVERY_MS) {
        h->log_held++;
        return false;
    }
    h->logged = true;
    h->log_last_ms = now;
    *held = h->log_held;
    h->log_held = 0;
    return true;
}

static void s_log_line(struct wc_metrics_http *h, const char *what, unsigned held)
{
    if (held)
        WC_LOGD(h->lg, NULL, "metrics listener: %s (%u more lines held back in the last %d s)",
                what, held, S_LOG_EVERY_MS / 1000);
    else
        WC_LOGD(h->lg, NULL, "metrics listener: %s", what);
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct wc_metrics_http *h = cls;
    char line[256];
    unsigned held = 0;
    bool take;
    size_t n;

    if (!atomic_load(&h->starting) && !(h->lg && wc_logger_enabled(h->lg, WC_LOG_DEBUG)))
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (atomic_load(&h->starting)) {
        if (!h->start_msg[0])
            snprintf(h->start_msg, sizeof(h->start_msg), "%s", line);
        return;
    }
    pthread_mutex_lock(&h->mu);
    take = s_log_take(h, s_mono_ms(), &held);
    if (!take && h->log_held == 1)
        pthread_cond_signal(&h->wake); /* the guard writes the count later */
    pthread_mutex_unlock(&h->mu);
    if (take)
        s_log_line(h, line, held);
}

/* MHD: a connection was accepted or is about to be closed (before its
 * socket is). */
static void s_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code)
{
    struct wc_metrics_http *h = cls;
    struct s_conn *c = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (c) {
            pthread_mutex_lock(&h->mu);
            c->used = false;
            pthread_mutex_unlock(&h->mu);
            *socket_context = NULL;
        }
        return;
    }
    if (code != MHD_CONNECTION_NOTIFY_STARTED ||
        !(ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)))
        return;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < S_MAX_CONNECTIONS && !c; i++)
        if (!h->conns[i].used)
            c = &h->conns[i];
    if (c) {
        c->used = true;
        c->cut = false;
        c->fd = ci->connect_fd;
        c->start_ms = s_mono_ms();
        *socket_context = c;
        pthread_cond_signal(&h->wake);
    } else {
        /* more than MHD's own limit: cannot happen, but never untimed */
        shutdown(ci->connect_fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&h->mu);
}

/* The guard thread: cuts connections off at the deadline and writes the
 * count of held-back log lines when their window ends. */
static void *s_guard_main(void *arg)
{
    struct wc_metrics_http *h = arg;

    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        int64_t now = s_mono_ms(), next = INT64_MAX;
        unsigned cut = 0, held = 0;
        bool take = false, flush = false;
        char what[96];

        for (size_t i = 0; i < S_MAX_CONNECTIONS; i++) {
            struct s_conn *c = &h->conns[i];

            if (!c->used || c->cut)
                continue;
            if (now - c->start_ms >= S_DEADLINE_MS) {
                /* the fd is open: MHD closes it only after CLOSED, under mu */
                shutdown(c->fd, SHUT_RDWR);
                c->cut = true;
                cut++;
            } else if (c->start_ms + S_DEADLINE_MS < next) {
                next = c->start_ms + S_DEADLINE_MS;
            }
        }
        if (cut) {
            take = s_log_take(h, now, &held);
        } else if (h->log_held && now - h->log_last_ms >= S_LOG_EVERY_MS) {
            flush = true;
            held = h->log_held;
            h->log_held = 0;
            h->log_last_ms = now;
        }
        if (h->log_held && h->log_last_ms + S_LOG_EVERY_MS < next)
            next = h->log_last_ms + S_LOG_EVERY_MS;
        if (take || flush) {
            pthread_mutex_unlock(&h->mu);
            if (take) {
                snprintf(what, sizeof(what), "closed %u connection%s open for %d s", cut,
                         cut == 1 ? "" : "s", S_DEADLINE_MS / 1000);
                s_log_line(h, what, held);
            } else {
                WC_LOGD(h->lg, NULL, "metrics listener: %u more lines held back in the last %d s",
                        held, S_LOG_EVERY_MS / 1000);
            }
            pthread_mutex_lock(&h->mu);
            continue;
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&h->wake, &h->mu);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(next / 1000),
                                  .tv_nsec = (long)(next % 1000) * 1000000L};

            pthread_cond_timedwait(&h->wake, &h->mu, &ts);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
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

/* Free h once its daemon and guard are stopped (or were never started). */
static void s_free(struct wc_metrics_http *h)
{
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

struct wc_metrics_http *wc_metrics_http_start(const char *listen, struct wc_metrics *m,
                                              struct wc_logger *lg, char *err, size_t errlen)
{
    struct wc_metrics_http *h = NULL;
    struct s_addr a;
    pthread_condattr_t ca;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    int rc;

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
    /* the guard's timed waits are on the monotonic clock */
    if (pthread_condattr_init(&ca) != 0) {
        free(h);
        wc_errf(err, errlen, "metrics listener: out of memory");
        return NULL;
    }
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&h->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        free(h);
        wc_errf(err, errlen, "metrics listener: %s", strerror(rc));
        return NULL;
    }
    if ((rc = pthread_mutex_init(&h->mu, NULL)) != 0) {
        pthread_cond_destroy(&h->wake);
        free(h);
        wc_errf(err, errlen, "metrics listener: %s", strerror(rc));
        return NULL;
    }
    if (a.ipv6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, s_handle, h,
                            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a.ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)S_POOL_THREADS,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)S_MAX_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)S_MAX_PER_IP,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S_IDLE_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, S_MEMORY_LIMIT,
                            MHD_OPTION_NOTIFY_CONNECTION, s_notify, h,
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
        s_free(h);
        return NULL;
    }
    atomic_store(&h->starting, false);
    if ((rc = pthread_create(&h->guard, NULL, s_guard_main, h)) != 0) {
        wc_errf(err, errlen, "metrics listener on %s: cannot start its guard thread: %s", listen,
                strerror(rc));
        wc_metrics_http_stop(h);
        return NULL;
    }
    h->guard_running = true;
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
    /* first the daemon: its CLOSED notifications empty the table */
    if (h->d)
        MHD_stop_daemon(h->d);
    if (h->guard_running) {
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->guard, NULL);
    }
    if (h->log_held)
        WC_LOGD(h->lg, NULL, "metrics listener: %u more lines held back before it stopped",
                h->log_held);
    s_free(h);
}
