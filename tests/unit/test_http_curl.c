/* Unit tests for aws/http_curl against a loopback server
 * (tests/support/http_testserver.c). No traffic leaves 127.0.0.1: URLs to
 * other hosts are only used where they must be refused before any connect. */
#include "tests/support/testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aws/endpoints.h"
#include "aws/http_curl.h"
#include "core/err.h"
#include "core/http.h"
#include "core/log.h"
#include "tests/support/http_testserver.h"

struct s_fixture {
    struct wc_http_testserver *srv;
    struct wc_http *http;
    char base[64];
};

static int s_setup(void **state)
{
    struct s_fixture *f = calloc(1, sizeof(*f));
    struct wc_http_curl_options o = {.allow_plain_http_loopback = true,
                                     .connect_timeout_ms = 2000,
                                     .timeout_ms = 5000};

    if (!f || !(f->srv = wc_http_testserver_start()) || !(f->http = wc_http_curl_new(&o))) {
        if (f)
            wc_http_testserver_stop(f->srv);
        free(f);
        return -1;
    }
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", wc_http_testserver_port(f->srv));
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    struct s_fixture *f = *state;

    /* close our connections before the server goes */
    wc_http_destroy(f->http);
    wc_http_testserver_stop(f->srv);
    free(f);
    return 0;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_get(struct s_fixture *f, const char *path, struct wc_http_response *resp)
{
    char url[256];
    struct wc_http_request req = {.method = "GET", .url = url};

    snprintf(url, sizeof(url), "%s%s", f->base, path);
    return wc_http_send(f->http, &req, resp);
}

static void test_status_codes(void **state)
{
    struct s_fixture *f = *state;
    static const long codes[] = {200, 204, 400, 403, 404, 429, 500, 503};

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
        char path[32], want[32];

        snprintf(path, sizeof(path), "/status/%ld", codes[i]);
        assert_int_equal(s_get(f, path, &resp), WC_OK);
        assert_int_equal(resp.status, codes[i]);
        if (codes[i] == 204) {
            assert_int_equal(resp.body.len, 0);
        } else {
            snprintf(want, sizeof(want), "status %ld", codes[i]);
            assert_non_null(resp.body.ptr);
            assert_string_equal(resp.body.ptr, want);
        }
        wc_http_response_clean_up(&resp);
    }
}

static void test_response_headers(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    int dups = 0;
    bool lower_as_received = false;

    assert_int_equal(s_get(f, "/headers", &resp), WC_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.ptr, "ok");
    assert_non_null(wc_http_response_header(&resp, "x-one"));
    assert_string_equal(wc_http_response_header(&resp, "X-ONE"), "first value");
    for (size_t i = 0; i < resp.n_headers; i++) {
        if (strcmp(resp.headers[i].name, "X-Dup") == 0) {
            assert_string_equal(resp.headers[i].value, dups == 0 ? "a" : "b");
            dups++;
        }
        if (strcmp(resp.headers[i].name, "x-lower-case") == 0)
            lower_as_received = true;
        /* values are trimmed, no CR/LF left */
        assert_null(strpbrk(resp.headers[i].value, "\r\n"));
    }
    assert_int_equal(dups, 2);
    assert_true(lower_as_received);
    /* the status line is not a header */
    for (size_t i = 0; i < resp.n_headers; i++)
        assert_int_not_equal(strncmp(resp.headers[i].name, "HTTP/", 5), 0);
    wc_http_response_clean_up(&resp);
}

static void test_post_body_and_request_headers(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[128];
    char big[4096];
    struct wc_http_header hs[] = {
        {"Content-Type", "application/x-amz-json-1.0"},
        {"X-Echo", "hello there"},
        {"X-Empty", ""},
    };
    struct wc_http_request req = {.method = "POST", .url = url, .headers = hs, .n_headers = 3,
                                  .body = big, .body_len = sizeof(big)};
    struct wc_buf want = WC_BUF_INIT;

    memset(big, 'z', sizeof(big));
    snprintf(url, sizeof(url), "%s/echo", f->base);
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_int_equal(resp.status, 200);
    wc_buf_init(&want, 0);
    wc_buf_append_cstr(&want, "POST\n");
    wc_buf_append(&want, big, sizeof(big));
    assert_int_equal(resp.body.len, want.len);
    assert_memory_equal(resp.body.ptr, want.ptr, want.len);
    assert_string_equal(wc_http_response_header(&resp, "X-Req-Content-Type"),
                        "application/x-amz-json-1.0");
    assert_string_equal(wc_http_response_header(&resp, "X-Req-X-Echo"), "hello there");
    assert_string_equal(wc_http_response_header(&resp, "X-Req-X-Empty"), "(empty)");
    /* no 100-continue dance and no chunked upload (the body length is signed) */
    assert_string_equal(wc_http_response_header(&resp, "X-Req-Expect"), "(none)");
    assert_string_equal(wc_http_response_header(&resp, "X-Req-Transfer-Encoding"), "(none)");
    assert_string_equal(wc_http_response_header(&resp, "X-Req-User-Agent"), WC_HTTP_CURL_USER_AGENT);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&want);

    /* POST without Content-Type: curl must not invent a form type */
    req.n_headers = 0;
    req.body = "{}";
    req.body_len = 2;
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_string_equal(resp.body.ptr, "POST\n{}");
    assert_string_equal(wc_http_response_header(&resp, "X-Req-Content-Type"), "(none)");
    wc_http_response_clean_up(&resp);

    /* PUT with a body, and a POST with none */
    req.method = "PUT";
    req.body = "put-body";
    req.body_len = 8;
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_string_equal(resp.body.ptr, "PUT\nput-body");
    wc_http_response_clean_up(&resp);
    req.method = "POST";
    req.body = NULL;
    req.body_len = 0;
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_string_equal(resp.body.ptr, "POST\n");
    wc_http_response_clean_up(&resp);
}

static void test_bad_request_headers_refused(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[128];
    struct wc_http_header inject[] = {{"X-A", "v\r\nX-Injected: 1"}};
    struct wc_http_header badname[] = {{"X A", "v"}};
    struct wc_http_request req = {.method = "GET", .url = url, .headers = inject, .n_headers = 1};
    int before = wc_http_testserver_requests(f->srv);

    snprintf(url, sizeof(url), "%s/echo", f->base);
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_INVALID);
    req.headers = badname;
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_INVALID);
    req.headers = NULL;
    req.n_headers = 0;
    req.method = "GE T";
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_INVALID);
    assert_int_equal(wc_http_testserver_requests(f->srv), before);
    assert_int_equal(resp.status, 0);
}

static void test_body_cap(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[128];
    struct wc_http_request req = {.method = "GET", .url = url, .max_response_bytes = 1000};

    /* exactly at the cap is fine */
    snprintf(url, sizeof(url), "%s/big/1000", f->base);
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_int_equal(resp.body.len, 1000);
    wc_http_response_clean_up(&resp);
    /* over it, with a Content-Length */
    snprintf(url, sizeof(url), "%s/big/1001", f->base);
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_TOO_LARGE);
    assert_int_equal(resp.body.len, 0);
    assert_int_equal(resp.status, 0);
    /* over it, streamed without a length: the transfer is aborted */
    snprintf(url, sizeof(url), "%s/stream/200000", f->base);
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_TOO_LARGE);
    assert_null(resp.body.ptr);
    /* the transport-wide cap applies when the request sets none */
    req.max_response_bytes = 0;
    snprintf(url, sizeof(url), "%s/stream/5000", f->base);
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_int_equal(resp.body.len, 5000);
    wc_http_response_clean_up(&resp);
}

static void test_transport_default_cap(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_curl_options o = {.allow_plain_http_loopback = true, .max_response_bytes = 100};
    struct wc_http *h = wc_http_curl_new(&o);
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[128];
    struct wc_http_request req = {.method = "GET", .url = url};

    assert_non_null(h);
    snprintf(url, sizeof(url), "%s/stream/101", f->base);
    assert_int_equal(wc_http_send(h, &req, &resp), WC_ERR_TOO_LARGE);
    snprintf(url, sizeof(url), "%s/stream/100", f->base);
    assert_int_equal(wc_http_send(h, &req, &resp), WC_OK);
    assert_int_equal(resp.body.len, 100);
    wc_http_response_clean_up(&resp);
    wc_http_destroy(h);
}

static void test_timeout(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[128];
    struct wc_http_request req = {.method = "GET", .url = url, .timeout_ms = 300};
    struct wc_http_curl_options o = {.allow_plain_http_loopback = true, .timeout_ms = 300};
    struct wc_http *h;
    int64_t t0, dt;

    snprintf(url, sizeof(url), "%s/sleep/1500", f->base);
    t0 = s_now_ms();
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_TIMEOUT);
    dt = s_now_ms() - t0;
    assert_true(dt >= 250 && dt < 1400);
    assert_int_equal(resp.status, 0);

    /* the transport default applies when the request sets none */
    assert_non_null(h = wc_http_curl_new(&o));
    req.timeout_ms = 0;
    t0 = s_now_ms();
    assert_int_equal(wc_http_send(h, &req, &resp), WC_ERR_TIMEOUT);
    dt = s_now_ms() - t0;
    assert_true(dt >= 250 && dt < 1400);
    wc_http_destroy(h);

    /* and a request that finishes in time is not cut */
    snprintf(url, sizeof(url), "%s/sleep/50", f->base);
    req.timeout_ms = 3000;
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_string_equal(resp.body.ptr, "slept");
    wc_http_response_clean_up(&resp);
}

static void test_connection_refused(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    char url[128];
    struct wc_http_request req = {.method = "GET", .url = url};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* a bound port nobody listens on refuses connections */
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(a.sin_port));
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_HTTP);
    assert_int_equal(resp.status, 0);
    close(fd);
}

static void test_tls_failure_is_http_error(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[128];
    struct wc_http_request req = {.method = "GET", .url = url, .timeout_ms = 3000};

    /* https to the plain-HTTP test server: the handshake fails */
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/status/200", wc_http_testserver_port(f->srv));
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_HTTP);
    assert_int_equal(resp.status, 0);
}

static void test_gzip_decoded(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;

    assert_int_equal(s_get(f, "/gzip", &resp), WC_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(wc_http_response_header(&resp, "Content-Encoding"), "gzip");
    assert_int_equal(resp.body.len, strlen(wc_http_testserver_gzip_text()));
    assert_string_equal(resp.body.ptr, wc_http_testserver_gzip_text());
    wc_http_response_clean_up(&resp);
}

static void test_url_policy(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_http_curl_options strict = {0};
    struct wc_http *h;
    char url[128];
    struct wc_http_request req = {.method = "GET", .url = url, .timeout_ms = 200};
    static const char *refused[] = {
        "http://10.255.255.1/",          /* never connected to: refused before */
        "http://example.com/",
        "http://127.0.0.1.example.com/",
        "http://128.0.0.1/",
        "http://[::2]/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "127.0.0.1/status/200",
        "",
    };
    int before = wc_http_testserver_requests(f->srv);
    int64_t t0;

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(url, sizeof(url), "%s", refused[i]);
        t0 = s_now_ms();
        if (wc_http_send(f->http, &req, &resp) != WC_ERR_INVALID)
            fail_msg("%s not refused", refused[i]);
        /* refused at once, not after a connect attempt or the 200 ms timeout */
        assert_true(s_now_ms() - t0 < 150);
        assert_int_equal(wc_http_curl_check_url(refused[i], true, true), WC_ERR_INVALID);
    }
    /* credentials in the URL */
    snprintf(url, sizeof(url), "http://user:pw@127.0.0.1:%u/status/200", wc_http_testserver_port(f->srv));
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_INVALID);

    assert_int_equal(wc_http_curl_check_url("https://sqs.eu-west-1.amazonaws.com/", false, true), WC_OK);
    assert_int_equal(wc_http_curl_check_url("HTTPS://hooks.slack.com/services/x", false, true), WC_OK);
    assert_int_equal(wc_http_curl_check_url("http://127.0.0.1:1/", true, true), WC_OK);
    assert_int_equal(wc_http_curl_check_url("http://127.9.8.7/", true, true), WC_OK);
    assert_int_equal(wc_http_curl_check_url("http://localhost:4566/", true, true), WC_OK);
    assert_int_equal(wc_http_curl_check_url("http://LOCALHOST/", true, true), WC_OK);
    assert_int_equal(wc_http_curl_check_url("http://[::1]:8080/", true, true), WC_OK);
    assert_int_equal(wc_http_curl_check_url("http://127.0.0.1:1/", false, true), WC_ERR_INVALID);
    assert_int_equal(wc_http_curl_check_url(NULL, true, true), WC_ERR_INVALID);
    /* the link-local AWS metadata endpoints speak only plain HTTP: allowed for
     * credential fetches (the request's metadata_credentials flag) only */
    {
        static const char *const meta[] = {"http://169.254.169.254/latest/api/token",
                                           "http://[fd00:ec2::254]/latest/",
                                           "http://169.254.170.2/v2/credentials/x",
                                           "http://169.254.170.23/v1/credentials",
                                           "http://[fd00:ec2::23]/v1/credentials"};

        for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
            assert_int_equal(wc_http_curl_check_url(meta[i], false, true), WC_OK);
            if (wc_http_curl_check_url(meta[i], true, false) != WC_ERR_INVALID)
                fail_msg("%s allowed without the credential-fetch flag", meta[i]);
        }
    }
    assert_int_equal(wc_http_curl_check_url("http://169.254.169.253/", false, true), WC_ERR_INVALID);
    assert_int_equal(wc_http_curl_check_url("http://169.254.170.3/", false, true), WC_ERR_INVALID);
    /* through the transport: an ordinary request to IMDS is refused at once,
     * before any connection (a marked one is not sent here: no network) */
    snprintf(url, sizeof(url), "http://169.254.169.254/latest/meta-data/");
    t0 = s_now_ms();
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_ERR_INVALID);
    assert_true(s_now_ms() - t0 < 150);

    /* a transport without the loopback opt-in refuses plain http even to 127.0.0.1 */
    assert_non_null(h = wc_http_curl_new(&strict));
    snprintf(url, sizeof(url), "%s/status/200", f->base);
    assert_int_equal(wc_http_send(h, &req, &resp), WC_ERR_INVALID);
    wc_http_destroy(h);
    /* nothing reached the server */
    assert_int_equal(wc_http_testserver_requests(f->srv), before);
}

static void test_connection_reuse(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    int c0 = wc_http_testserver_connections(f->srv);

    for (int i = 0; i < 10; i++) {
        assert_int_equal(s_get(f, "/status/200", &resp), WC_OK);
        assert_int_equal(resp.status, 200);
        wc_http_response_clean_up(&resp);
    }
    /* sequential requests ride one kept-alive connection */
    assert_true(wc_http_testserver_connections(f->srv) - c0 <= 1);
}

struct s_thread {
    struct s_fixture *f;
    int id;
    int ok;
};

#define S_PER_THREAD 25

static void *s_thread_main(void *arg)
{
    struct s_thread *t = arg;
    char url[128], body[64], want[80];
    struct wc_http_header hs[] = {{"Content-Type", "text/plain"}};
    struct wc_http_request req = {.method = "POST", .url = url, .headers = hs, .n_headers = 1};

    snprintf(url, sizeof(url), "%s/echo", t->f->base);
    for (int i = 0; i < S_PER_THREAD; i++) {
        struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;

        snprintf(body, sizeof(body), "thread %d request %d", t->id, i);
        snprintf(want, sizeof(want), "POST\n%s", body);
        req.body = body;
        req.body_len = strlen(body);
        if (wc_http_send(t->f->http, &req, &resp) == WC_OK && resp.status == 200 &&
            resp.body.ptr && strcmp(resp.body.ptr, want) == 0)
            t->ok++;
        wc_http_response_clean_up(&resp);
    }
    return NULL;
}

static void test_concurrent_sends(void **state)
{
    struct s_fixture *f = *state;
    struct s_thread t[4];
    pthread_t th[4];
    int c0 = wc_http_testserver_connections(f->srv);
    int r0 = wc_http_testserver_requests(f->srv);

    for (int i = 0; i < 4; i++) {
        t[i] = (struct s_thread){f, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_thread_main, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].ok, S_PER_THREAD);
    }
    assert_int_equal(wc_http_testserver_requests(f->srv) - r0, 4 * S_PER_THREAD);
    /* connections are shared and reused, not one per request */
    assert_true(wc_http_testserver_connections(f->srv) - c0 < 4 * S_PER_THREAD / 2);
}

static void test_env_proxy_ignored_by_default(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_http_curl_options with_env = {.allow_plain_http_loopback = true, .use_env_proxy = true};
    struct wc_http *h;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    char url[128], proxy[64];
    struct wc_http_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* a "proxy" that refuses connections */
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", ntohs(a.sin_port));
    setenv("http_proxy", proxy, 1);
    setenv("ALL_PROXY", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    snprintf(url, sizeof(url), "%s/status/200", f->base);

    /* default: the environment's proxy is not used */
    assert_int_equal(wc_http_send(f->http, &req, &resp), WC_OK);
    assert_int_equal(resp.status, 200);
    wc_http_response_clean_up(&resp);
    /* opted in: it is (and here it refuses) */
    assert_non_null(h = wc_http_curl_new(&with_env));
    assert_int_equal(wc_http_send(h, &req, &resp), WC_ERR_HTTP);
    wc_http_destroy(h);

    unsetenv("http_proxy");
    unsetenv("ALL_PROXY");
    close(fd);
}

/* A fake environment: NULL-terminated name/value pairs. */
static const char *s_pairs_getenv(void *ctx, const char *name)
{
    const char *const *p = ctx;

    for (; p && *p; p += 2)
        if (!strcmp(p[0], name))
            return p[1];
    return NULL;
}

static void test_proxy_config_from_env(void **state)
{
    static const char *const lower[] = {"http_proxy", "http://h:1", "HTTP_PROXY", "http://H:1",
                                        "https_proxy", "http://s:2", "no_proxy", "localhost,.corp",
                                        NULL};
    static const char *const upper[] = {"HTTP_PROXY", "http://H:1", "HTTPS_PROXY", "socks5h://S:2",
                                        "NO_PROXY", "127.0.0.1", NULL};
    static const char *const all[] = {"ALL_PROXY", "proxy.corp:3128", "https_proxy", "", NULL};
    static const char *const bad[] = {"HTTPS_PROXY", "ftp://user:hunter22@proxy:21", NULL};
    static const char *const none[] = {NULL};
    static const struct {
        const char *const *env;
        const char *config;
        const char *http, *https, *no, *http_src, *https_src;
    } rows[] = {
        {lower, NULL, "http://h:1", "http://s:2", "localhost,.corp", "http_proxy", "https_proxy"},
        {upper, NULL, "http://H:1", "socks5h://S:2", "127.0.0.1", "HTTP_PROXY", "HTTPS_PROXY"},
        {all, NULL, "proxy.corp:3128", "proxy.corp:3128", NULL, "ALL_PROXY", "ALL_PROXY"},
        {none, NULL, NULL, NULL, NULL, NULL, NULL},
        /* the config key wins over the environment; NO_PROXY still applies */
        {upper, "http://cfg:8080", "http://cfg:8080", "http://cfg:8080", "127.0.0.1", "proxy",
         "proxy"},
        {upper, "none", NULL, NULL, "127.0.0.1", NULL, NULL},
        /* a bad variable does not matter when the config says */
        {bad, "http://cfg:8080", "http://cfg:8080", "http://cfg:8080", NULL, "proxy", "proxy"},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct wc_env env = {s_pairs_getenv, (void *)rows[i].env};
        struct wc_http_proxy_config p;

        assert_int_equal(wc_http_proxy_config_init(&p, rows[i].config, &env, err, sizeof(err)), WC_OK);
        if (wc_strcmp0(p.http_proxy, rows[i].http) || wc_strcmp0(p.https_proxy, rows[i].https) ||
            wc_strcmp0(p.no_proxy, rows[i].no) || wc_strcmp0(p.http_source, rows[i].http_src) ||
            wc_strcmp0(p.https_source, rows[i].https_src))
            fail_msg("row %zu: %s %s %s", i, p.http_proxy ? p.http_proxy : "-",
                     p.https_proxy ? p.https_proxy : "-", p.no_proxy ? p.no_proxy : "-");
        wc_http_proxy_config_clean_up(&p);
    }
    /* refused, and the error shows no credentials */
    {
        struct wc_env env = {s_pairs_getenv, (void *)bad};
        struct wc_http_proxy_config p;

        assert_int_equal(wc_http_proxy_config_init(&p, NULL, &env, err, sizeof(err)), WC_ERR_CONFIG);
        assert_non_null(strstr(err, "HTTPS_PROXY"));
        assert_non_null(strstr(err, "ftp://***@proxy:21"));
        assert_null(strstr(err, "hunter22"));
        assert_null(p.https_proxy);
    }
}

static void test_proxy_url_checks(void **state)
{
    static const char *const good[] = {"http://proxy:3128", "https://proxy.corp", "proxy:3128",
                                       "socks5h://127.0.0.1:1080", "http://u:p@proxy:3128/",
                                       "http://[::1]:3128", "none", "SOCKS5://p:1"};
    static const char *const bad[] = {"", "ftp://proxy", "http://", "http://:3128",
                                      "http://proxy:3128/path", "http://pro xy", "http://p\n",
                                      "file:///etc/passwd", NULL};
    char out[128];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!wc_http_proxy_url_ok(good[i]))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wc_http_proxy_url_ok(bad[i]))
            fail_msg("accepted %s", bad[i] ? bad[i] : "(null)");
    wc_http_proxy_redact("http://alice:s3cret@proxy:3128", out, sizeof(out));
    assert_string_equal(out, "http://***@proxy:3128");
    wc_http_proxy_redact("alice:s3cret@proxy:3128", out, sizeof(out));
    assert_string_equal(out, "***@proxy:3128");
    wc_http_proxy_redact("http://proxy:3128", out, sizeof(out));
    assert_string_equal(out, "http://proxy:3128");
    wc_http_proxy_redact(NULL, out, sizeof(out));
    assert_string_equal(out, "(none)");
}

/* A port on 127.0.0.1 that refuses connections (bound, never listening). */
static int s_dead_port(unsigned short *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* With a proxy configured, requests go to it (here: a dead one, so they
 * fail), NO_PROXY hosts and the metadata credential fetches go direct, and
 * libcurl's own reading of the environment is off. The test server is the
 * "proxy" too: a request through it arrives in absolute form, which it
 * does not route (404), while a direct one is answered 200. */
static void test_proxy_applied(void **state)
{
    struct s_fixture *f = *state;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_http_proxy_config pc = {0};
    struct wc_http_curl_options o = {.allow_plain_http_loopback = true, .proxy = &pc,
                                     .connect_timeout_ms = 2000};
    struct wc_http *h;
    char url[128], dead[64], live[64];
    struct wc_http_request req = {.method = "GET", .url = url, .timeout_ms = 3000};
    unsigned short port;
    int fd = s_dead_port(&port), r0;

    snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", port);
    snprintf(live, sizeof(live), "http://127.0.0.1:%u", wc_http_testserver_port(f->srv));
    snprintf(url, sizeof(url), "%s/status/200", f->base);
    /* the environment says direct, for libcurl: not read */
    setenv("no_proxy", "*", 1);

    /* dead proxy for http://: fails */
    pc.http_proxy = dead;
    assert_non_null(h = wc_http_curl_new(&o));
    assert_int_equal(wc_http_send(h, &req, &resp), WC_ERR_HTTP);
    /* a metadata credential fetch never goes through it */
    req.metadata_credentials = true;
    assert_int_equal(wc_http_send(h, &req, &resp), WC_OK);
    assert_int_equal(resp.status, 200);
    wc_http_response_clean_up(&resp);
    req.metadata_credentials = false;
    wc_http_destroy(h);

    /* NO_PROXY names the host: direct */
    pc.no_proxy = (char *)"example.com,127.0.0.1";
    assert_non_null(h = wc_http_curl_new(&o));
    assert_int_equal(wc_http_send(h, &req, &resp), WC_OK);
    assert_int_equal(resp.status, 200);
    wc_http_response_clean_up(&resp);
    wc_http_destroy(h);

    /* a proxy for https:// only: http:// goes direct */
    pc.no_proxy = NULL;
    pc.http_proxy = NULL;
    pc.https_proxy = dead;
    assert_non_null(h = wc_http_curl_new(&o));
    assert_int_equal(wc_http_send(h, &req, &resp), WC_OK);
    wc_http_response_clean_up(&resp);
    wc_http_destroy(h);

    /* a live "proxy": the request reaches it in absolute form */
    pc.http_proxy = live;
    assert_non_null(h = wc_http_curl_new(&o));
    r0 = wc_http_testserver_requests(f->srv);
    snprintf(url, sizeof(url), "http://127.0.0.2:%u/status/200", wc_http_testserver_port(f->srv));
    assert_int_equal(wc_http_send(h, &req, &resp), WC_OK);
    assert_int_equal(resp.status, 404);
    assert_int_equal(wc_http_testserver_requests(f->srv) - r0, 1);
    wc_http_response_clean_up(&resp);
    wc_http_destroy(h);

    unsetenv("no_proxy");
    close(fd);
}

static void s_capture(void *ctx, const char *line, size_t len)
{
    wc_buf_append(ctx, line, len);
    wc_buf_append_char(ctx, '\n');
}

static void test_header_values_never_logged(void **state)
{
    struct s_fixture *f = *state;
    struct wc_buf out = WC_BUF_INIT;
    struct wc_logger_options lo = {.level = WC_LOG_TRACE, .write = s_capture, .write_ctx = &out};
    struct wc_logger *lg = wc_logger_new(&lo);
    struct wc_http_curl_options o = {.allow_plain_http_loopback = true, .logger = lg};
    struct wc_http *h;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[128];
    struct wc_http_header hs[] = {
        {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/eu-west-1/sqs/"
                          "aws4_request, SignedHeaders=host, Signature=0123456789abcdef"},
        {"X-Amz-Security-Token", "tokenvalue-should-not-appear"},
        {"X-Plain", "plain-header-value-xyz"},
    };
    struct wc_http_request req = {.method = "POST", .url = url, .headers = hs, .n_headers = 3,
                                  .body = "b", .body_len = 1};

    assert_non_null(lg);
    wc_buf_init(&out, 0);
    assert_non_null(h = wc_http_curl_new(&o));
    snprintf(url, sizeof(url), "%s/echo?secret-query-xyz", f->base);
    assert_int_equal(wc_http_send(h, &req, &resp), WC_OK);
    wc_http_response_clean_up(&resp);
    /* a failing request logs too */
    snprintf(url, sizeof(url), "%s/stream/100000", f->base);
    req.max_response_bytes = 10;
    assert_int_equal(wc_http_send(h, &req, &resp), WC_ERR_TOO_LARGE);
    wc_http_destroy(h);
    wc_logger_destroy(lg);

    assert_non_null(out.ptr); /* something was logged */
    assert_non_null(strstr(out.ptr, "127.0.0.1"));
    assert_null(strstr(out.ptr, "AKIDEXAMPLE"));
    assert_null(strstr(out.ptr, "0123456789abcdef"));
    assert_null(strstr(out.ptr, "tokenvalue-should-not-appear"));
    assert_null(strstr(out.ptr, "plain-header-value-xyz"));
    assert_null(strstr(out.ptr, "secret-query-xyz"));
    assert_null(strstr(out.ptr, "/echo"));
    wc_buf_clean_up(&out);
}

static void test_new_rejects_bad_options(void **state)
{
    struct wc_http_curl_options o = {.timeout_ms = -1};

    (void)state;
    assert_null(wc_http_curl_new(&o));
    wc_http_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_post_body_and_request_headers),
        cmocka_unit_test(test_bad_request_headers_refused),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_transport_default_cap),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_tls_failure_is_http_error),
        cmocka_unit_test(test_gzip_decoded),
        cmocka_unit_test(test_url_policy),
        cmocka_unit_test(test_connection_reuse),
        cmocka_unit_test(test_concurrent_sends),
        cmocka_unit_test(test_env_proxy_ignored_by_default),
        cmocka_unit_test(test_proxy_config_from_env),
        cmocka_unit_test(test_proxy_url_checks),
        cmocka_unit_test(test_proxy_applied),
        cmocka_unit_test(test_header_values_never_logged),
        cmocka_unit_test(test_new_rejects_bad_options),
    };
    int rc;

    if (wc_http_curl_global_init() != WC_OK)
        return 1;
    rc = cmocka_run_group_tests(tests, s_setup, s_teardown);
    wc_http_curl_global_clean_up();
    return rc;
}
