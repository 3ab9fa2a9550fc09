#include "tests/support/creds_fake_http.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/str.h"

struct s_route {
    char *method;
    char *url;
    long status;
    char *body;
    int rc;
    int served;
};

struct creds_fake_http {
    struct wc_http http;
    pthread_mutex_t lock;
    struct s_route *routes;
    size_t n_routes;
    struct creds_fake_request *reqs;
    size_t n_reqs;
};

static void s_oom(void *p)
{
    if (!p)
        abort();
}

static int s_send(struct wc_http *h, const struct wc_http_request *req,
                  struct wc_http_response *resp)
{
    struct creds_fake_http *f = h->impl;
    struct creds_fake_request *r;
    struct s_route *pick = NULL;
    int rc = WC_ERR_HTTP;

    pthread_mutex_lock(&f->lock);
    f->reqs = realloc(f->reqs, (f->n_reqs + 1) * sizeof(*f->reqs));
    s_oom(f->reqs);
    r = &f->reqs[f->n_reqs++];
    memset(r, 0, sizeof(*r));
    r->method = wc_strdup(req->method);
    r->url = wc_strdup(req->url);
    r->connect_timeout_ms = req->connect_timeout_ms;
    r->timeout_ms = req->timeout_ms;
    r->body = req->body ? wc_strndup(req->body, req->body_len) : NULL;
    r->headers = calloc(req->n_headers + 1, sizeof(*r->headers));
    s_oom(r->headers);
    for (size_t i = 0; i < req->n_headers; i++) {
        r->headers[i].name = wc_strdup(req->headers[i].name);
        r->headers[i].value = wc_strdup(req->headers[i].value);
    }
    r->n_headers = req->n_headers;

    /* First unserved route for this pair, else the last one for it. */
    for (size_t i = 0; i < f->n_routes; i++) {
        struct s_route *rt = &f->routes[i];

        if (strcmp(rt->method, req->method) != 0 || strcmp(rt->url, req->url) != 0)
            continue;
        if (!rt->served) {
            pick = rt;
            break;
        }
        pick = rt;
    }
    if (pick) {
        pick->served++;
        rc = pick->rc;
        if (rc == WC_OK) {
            resp->status = pick->status;
            wc_buf_init(&resp->body, req->max_response_bytes);
            rc = wc_buf_append_cstr(&resp->body, pick->body ? pick->body : "");
        }
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static const struct wc_http_vtable s_vtable = {
    .name = "creds-fake",
    .send = s_send,
    .destroy = NULL,
};

struct creds_fake_http *creds_fake_http_new(void)
{
    struct creds_fake_http *f = calloc(1, sizeof(*f));

    s_oom(f);
    pthread_mutex_init(&f->lock, NULL);
    f->http.vtable = &s_vtable;
    f->http.impl = f;
    return f;
}

struct wc_http *creds_fake_http_transport(struct creds_fake_http *f)
{
    return &f->http;
}

static void s_add(struct creds_fake_http *f, const char *method, const char *url, long status,
                  const char *body, int rc)
{
    struct s_route *rt;

    pthread_mutex_lock(&f->lock);
    f->routes = realloc(f->routes, (f->n_routes + 1) * sizeof(*f->routes));
    s_oom(f->routes);
    rt = &f->routes[f->n_routes++];
    memset(rt, 0, sizeof(*rt));
    rt->method = wc_strdup(method);
    rt->url = wc_strdup(url);
    rt->status = status;
    rt->body = body ? wc_strdup(body) : NULL;
    rt->rc = rc;
    pthread_mutex_unlock(&f->lock);
}

void creds_fake_http_add(struct creds_fake_http *f, const char *method, const char *url,
                         long status, const char *body)
{
    s_add(f, method, url, status, body, WC_OK);
}

void creds_fake_http_add_error(struct creds_fake_http *f, const char *method, const char *url,
                               int rc)
{
    s_add(f, method, url, 0, NULL, rc);
}

void creds_fake_http_clear(struct creds_fake_http *f)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_routes; i++) {
        free(f->routes[i].method);
        free(f->routes[i].url);
        free(f->routes[i].body);
    }
    free(f->routes);
    f->routes = NULL;
    f->n_routes = 0;
    pthread_mutex_unlock(&f->lock);
}

size_t creds_fake_http_n_requests(const struct creds_fake_http *f)
{
    return f->n_reqs;
}

const struct creds_fake_request *creds_fake_http_request(const struct creds_fake_http *f,
                                                         size_t i)
{
    return i < f->n_reqs ? &f->reqs[i] : NULL;
}

size_t creds_fake_http_count(const struct creds_fake_http *f, const char *method,
                             const char *url)
{
    size_t n = 0;

    for (size_t i = 0; i < f->n_reqs; i++)
        if (wc_streq(f->reqs[i].method, method) && wc_streq(f->reqs[i].url, url))
            n++;
    return n;
}

const char *creds_fake_request_header(const struct creds_fake_request *r, const char *name)
{
    for (size_t i = 0; r && i < r->n_headers; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void creds_fake_http_destroy(struct creds_fake_http *f)
{
    if (!f)
        return;
    creds_fake_http_clear(f);
    for (size_t i = 0; i < f->n_reqs; i++) {
        struct creds_fake_request *r = &f->reqs[i];

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
