#include "tests/support/http_testserver.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/err.h"

#define S_MAX_BODY ((size_t)1024 * 1024)
#define S_MAX_SLEEP_MS 5000

struct wc_http_testserver {
    struct MHD_Daemon *d;
    unsigned short port;
    atomic_int requests;
    atomic_int connections;
    atomic_bool stopping;
};

static const char s_gzip_text[] =
    "whochanged gzip test body: the quick brown fox jumps over the lazy dog. "
    "whochanged gzip test body: the quick brown fox jumps over the lazy dog. "
    "whochanged gzip test body: the quick brown fox jumps over the lazy dog. "
    "whochanged gzip test body: the quick brown fox jumps over the lazy dog.";

const char *wc_http_testserver_gzip_text(void)
{
    return s_gzip_text;
}

static enum MHD_Result s_queue(struct MHD_Connection *conn, unsigned status,
                               struct MHD_Response *r)
{
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static struct MHD_Response *s_text(const char *s, size_t len)
{
    return MHD_create_response_from_buffer(len, (void *)s, MHD_RESPMEM_MUST_COPY);
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static ssize_t s_stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    size_t total = (size_t)(uintptr_t)cls, n;

    if (pos >= total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = total - (size_t)pos;
    n = n < max ? n : max;
    n = n < 4096 ? n : 4096;
    memset(buf, 'b', n);
    return (ssize_t)n;
}

static struct MHD_Response *s_gzip_response(void)
{
    unsigned char out[1024];
    z_stream z;
    struct MHD_Response *r = NULL;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    z.next_in = (unsigned char *)s_gzip_text;
    z.avail_in = sizeof(s_gzip_text) - 1;
    z.next_out = out;
    z.avail_out = sizeof(out);
    if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
        r = MHD_create_response_from_buffer(sizeof(out) - z.avail_out, out, MHD_RESPMEM_MUST_COPY);
        if (r)
            MHD_add_response_header(r, "Content-Encoding", "gzip");
    }
    deflateEnd(&z);
    return r;
}

static void s_echo_header(struct MHD_Connection *conn, struct MHD_Response *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    char out_name[64];

    snprintf(out_name, sizeof(out_name), "X-Req-%s", name);
    MHD_add_response_header(r, out_name, v ? (*v ? v : "(empty)") : "(none)");
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct wc_http_testserver *s = cls;
    struct wc_buf *body = *con_cls;
    struct MHD_Response *r;
    char tmp[64];
    long n;

    (void)version;
    if (!body) {
        if (!(body = calloc(1, sizeof(*body))))
            return MHD_NO;
        wc_buf_init(body, S_MAX_BODY);
        *con_cls = body;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (wc_buf_append(body, upload_data, *upload_data_size) != WC_OK)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&s->requests, 1);

    if (strncmp(url, "/status/", 8) == 0) {
        n = strtol(url + 8, NULL, 10);
        snprintf(tmp, sizeof(tmp), "status %ld", n);
        r = s_text(tmp, n == 204 || n == 304 ? 0 : strlen(tmp));
        return s_queue(conn, (unsigned)n, r);
    }
    if (strcmp(url, "/headers") == 0) {
        r = s_text("ok", 2);
        if (r) {
            MHD_add_response_header(r, "X-One", "first value");
            MHD_add_response_header(r, "X-Dup", "a");
            MHD_add_response_header(r, "X-Dup", "b");
            MHD_add_response_header(r, "x-lower-case", "v");
        }
        return s_queue(conn, 200, r);
    }
    if (strcmp(url, "/echo") == 0) {
        struct wc_buf out = WC_BUF_INIT;

        wc_buf_init(&out, 0);
        wc_buf_appendf(&out, "%s\n", method);
        wc_buf_append(&out, body->ptr ? body->ptr : "", body->len);
        r = s_text(out.ptr, out.len);
        wc_buf_clean_up(&out);
        if (r) {
            s_echo_header(conn, r, "Content-Type");
            s_echo_header(conn, r, "Expect");
            s_echo_header(conn, r, "User-Agent");
            s_echo_header(conn, r, "X-Echo");
            s_echo_header(conn, r, "X-Empty");
            s_echo_header(conn, r, "Transfer-Encoding");
        }
        return s_queue(conn, 200, r);
    }
    if (strncmp(url, "/big/", 5) == 0) {
        size_t len = (size_t)strtoul(url + 5, NULL, 10);
        char *buf = malloc(len ? len : 1);

        if (!buf)
            return MHD_NO;
        memset(buf, 'a', len);
        return s_queue(conn, 200, MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE));
    }
    if (strncmp(url, "/stream/", 8) == 0) {
        size_t len = (size_t)strtoul(url + 8, NULL, 10);

        return s_queue(conn, 200, MHD_create_response_from_callback(
                                      MHD_SIZE_UNKNOWN, 4096, s_stream_cb, (void *)(uintptr_t)len, NULL));
    }
    if (strcmp(url, "/gzip") == 0)
        return s_queue(conn, 200, s_gzip_response());
    if (strncmp(url, "/sleep/", 7) == 0) {
        n = strtol(url + 7, NULL, 10);
        if (n > S_MAX_SLEEP_MS)
            n = S_MAX_SLEEP_MS;
        for (long waited = 0; waited < n && !atomic_load(&s->stopping); waited += 20)
            s_sleep_ms(20);
        return s_queue(conn, 200, s_text("slept", 5));
    }
    return s_queue(conn, 404, s_text("not found", 9));
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    struct wc_buf *body = *con_cls;

    (void)cls, (void)conn, (void)toe;
    if (body) {
        wc_buf_clean_up(body);
        free(body);
        *con_cls = NULL;
    }
}

static void s_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
    struct wc_http_testserver *s = cls;

    (void)conn, (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

struct wc_http_testserver *wc_http_testserver_start(void)
{
    struct wc_http_testserver *s = calloc(1, sizeof(*s));
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    if (!s)
        return NULL;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = 0; /* the OS picks */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, s_handle, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_NOTIFY_COMPLETED, s_completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, s_connection, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_END);
    if (!s->d) {
        free(s);
        return NULL;
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        wc_http_testserver_stop(s);
        return NULL;
    }
    s->port = info->port;
    return s;
}

unsigned short wc_http_testserver_port(const struct wc_http_testserver *s)
{
    return s ? s->port : 0;
}

int wc_http_testserver_requests(const struct wc_http_testserver *s)
{
    return s ? atomic_load(&((struct wc_http_testserver *)s)->requests) : 0;
}

int wc_http_testserver_connections(const struct wc_http_testserver *s)
{
    return s ? atomic_load(&((struct wc_http_testserver *)s)->connections) : 0;
}

void wc_http_testserver_stop(struct wc_http_testserver *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    if (s->d)
        MHD_stop_daemon(s->d);
    free(s);
}
