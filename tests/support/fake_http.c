#include "tests/support/fake_http.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/str.h"

struct s_answer {
    char *method;   /* NULL: any (a scripted answer) */
    char *url;      /* NULL: any */
    bool once;      /* scripted: never served again */
    long status;
    char *headers;  /* "Name: value\n" lines, may be NULL */
    char *body;
    size_t body_len;
    int rc;
    int served;
};

struct fake_http {
    struct wc_http http;
    pthread_mutex_t lock;
    struct s_answer *answers;
    size_t n_answers;
    struct fake_http_req *reqs;
    size_t n_reqs;
};

static void s_oom(const void *p)
{
    if (!p)
        abort();
}

static void s_record(struct fake_http *f, const struct wc_http_request *req)
{
    struct fake_http_req *r;

    f->reqs = realloc(f->reqs, (f->n_reqs + 1) * sizeof(*f->reqs));
    s_oom(f->reqs);
    r = &f->reqs[f->n_reqs++];
    memset(r, 0, sizeof(*r));
    r->method = wc_strdup(req->method);
    r->url = wc_strdup(req->url);
    r->connect_timeout_ms = req->connect_timeout_ms;
    r->timeout_ms = req->timeout_ms;
    r->max_response_bytes = req->max_response_bytes;
    r->metadata_credentials = req->metadata_credentials;
    r->body = wc_strndup(req->body ? req->body : "", req->body ? req->body_len : 0);
    r->body_len = req->body ? req->body_len : 0;
    r->headers = calloc(req->n_headers + 1, sizeof(*r->headers));
    s_oom(r->headers);
    for (size_t i = 0; i < req->n_headers; i++) {
        r->headers[i].name = wc_strdup(req->headers[i].name);
        r->headers[i].value = wc_strdup(req->headers[i].value);
    }
    r->n_headers = req->n_headers;
}

static bool s_matches(const struct s_answer *a, const struct wc_http_request *req)
{
    return (!a->method || strcmp(a->method, req->method) == 0) &&
           (!a->url || strcmp(a->url, req->url) == 0);
}

/* The first unserved answer for req, else the last served route for it. */
static struct s_answer *s_pick(struct fake_http *f, const struct wc_http_request *req)
{
    struct s_answer *pick = NULL;

    for (size_t i = 0; i < f->n_answers; i++) {
        struct s_answer *a = &f->answers[i];

        if (!s_matches(a, req))
            continue;
        if (!a->served)
            return a;
        if (!a->once)
            pick = a;
    }
    return pick;
}

static int s_add_headers(struct wc_http_response *resp, const char *text)
{
    int rc = WC_OK;

    for (const char *line = text; rc == WC_OK && line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        const char *colon = memchr(line, ':', n);

        if (colon) {
            const char *v = colon + 1;

            while (*v == ' ')
                v++;
            rc = wc_http_response_add_header(resp, line, (size_t)(colon - line), v,
                                             (size_t)(line + n - v));
        }
        line += n + (eol ? 1 : 0);
    }
    return rc;
}

static int s_answer(const struct s_answer *a, const struct wc_http_request *req,
                    struct wc_http_response *resp)
{
    size_t cap = req->max_response_bytes ? req->max_response_bytes
                                         : WC_HTTP_DEFAULT_MAX_RESPONSE;
    int rc;

    if (a->rc != WC_OK)
        return a->rc;
    resp->status = a->status;
    rc = s_add_headers(resp, a->headers);
    if (rc != WC_OK)
        return rc;
    wc_buf_init(&resp->body, req->max_response_bytes);
    if (a->body_len > cap)
        return WC_ERR_TOO_LARGE;
    return wc_buf_append(&resp->body, a->body, a->body_len);
}

static int s_send(struct wc_http *h, const struct wc_http_request *req,
                  struct wc_http_response *resp)
{
    struct fake_http *f = h->impl;
    struct s_answer *a;
    int rc = WC_ERR_HTTP;

    pthread_mutex_lock(&f->lock);
    s_record(f, req);
    a = s_pick(f, req);
    if (a) {
        a->served++;
        rc = s_answer(a, req, resp);
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static const struct wc_http_vtable s_vtable = {
    .name = "fake",
    .send = s_send,
    .destroy = NULL,
};

struct fake_http *fake_http_new(void)
{
    struct fake_http *f = calloc(1, sizeof(*f));

    s_oom(f);
    pthread_mutex_init(&f->lock, NULL);
    f->http.vtable = &s_vtable;
    f->http.impl = f;
    return f;
}

struct wc_http *fake_http_transport(struct fake_http *f)
{
    return &f->http;
}

static void s_queue(struct fake_http *f, const char *method, const char *url, long status,
                    const char *headers, const void *body, size_t len, int rc)
{
    struct s_answer *a;

    pthread_mutex_lock(&f->lock);
    f->answers = realloc(f->answers, (f->n_answers + 1) * sizeof(*f->answers));
    s_oom(f->answers);
    a = &f->answers[f->n_answers++];
    memset(a, 0, sizeof(*a));
    a->method = method ? wc_strdup(method) : NULL;
    a->url = url ? wc_strdup(url) : NULL;
    a->once = !method && !url;
    a->status = status;
    a->headers = headers ? wc_strdup(headers) : NULL;
    a->body = malloc(len + 1);
    s_oom(a->body);
    if (len)
        memcpy(a->body, body, len);
    a->body[len] = '\0';
    a->body_len = len;
    a->rc = rc;
    pthread_mutex_unlock(&f->lock);
}

void fake_http_add(struct fake_http *f, const char *method, const char *url, long status,
                   const char *body)
{
    s_queue(f, method, url, status, NULL, body, body ? strlen(body) : 0, WC_OK);
}

void fake_http_add_error(struct fake_http *f, const char *method, const char *url, int rc)
{
    s_queue(f, method, url, 0, NULL, NULL, 0, rc);
}

void fake_http_push(struct fake_http *f, long status, const char *headers, const char *body)
{
    s_queue(f, NULL, NULL, status, headers, body, body ? strlen(body) : 0, WC_OK);
}

void fake_http_push_bytes(struct fake_http *f, long status, const char *headers,
                          const void *body, size_t len)
{
    s_queue(f, NULL, NULL, status, headers, body, len, WC_OK);
}

void fake_http_clear(struct fake_http *f)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_answers; i++) {
        free(f->answers[i].method);
        free(f->answers[i].url);
        free(f->answers[i].headers);
        free(f->answers[i].body);
    }
    free(f->answers);
    f->answers = NULL;
    f->n_answers = 0;
    pthread_mutex_unlock(&f->lock);
}

size_t fake_http_n_requests(struct fake_http *f)
{
    size_t n;

    pthread_mutex_lock(&f->lock);
    n = f->n_reqs;
    pthread_mutex_unlock(&f->lock);
    return n;
}

const struct fake_http_req *fake_http_request(struct fake_http *f, size_t i)
{
    const struct fake_http_req *r;

    pthread_mutex_lock(&f->lock);
    r = i < f->n_reqs ? &f->reqs[i] : NULL;
    pthread_mutex_unlock(&f->lock);
    return r;
}

size_t fake_http_count(struct fake_http *f, const char *method, const char *url)
{
    size_t n = 0;

    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_reqs; i++)
        if (wc_streq(f->reqs[i].method, method) && wc_streq(f->reqs[i].url, url))
            n++;
    pthread_mutex_unlock(&f->lock);
    return n;
}

const char *fake_http_req_header(const struct fake_http_req *r, const char *name)
{
    for (size_t i = 0; r && i < r->n_headers; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void fake_http_destroy(struct fake_http *f)
{
    if (!f)
        return;
    fake_http_clear(f);
    for (size_t i = 0; i < f->n_reqs; i++) {
        struct fake_http_req *r = &f->reqs[i];

        for (size_t j = 0; j < r->n_headers; j++) {
            free(r->headers[j].name);
            free(r->headers[j].value);
        }
        free(r->headers);
        free(r->method);
        free(r->url);
        free(r->body);
    }
    free(f->reqs);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
