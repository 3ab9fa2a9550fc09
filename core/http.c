#include "core/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/str.h"

int wc_http_send(struct wc_http *h, const struct wc_http_request *req,
                 struct wc_http_response *resp)
{
    if (!h || !h->vtable || !h->vtable->send || !req || !resp)
        return WC_ERR_INVALID;
    return h->vtable->send(h, req, resp);
}

void wc_http_destroy(struct wc_http *h)
{
    if (h && h->vtable && h->vtable->destroy)
        h->vtable->destroy(h);
}

const char *wc_http_response_header(const struct wc_http_response *resp, const char *name)
{
    for (size_t i = 0; resp && name && i < resp->n_headers; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

int wc_http_response_add_header(struct wc_http_response *resp, const char *name, size_t nlen,
                                const char *value, size_t vlen)
{
    struct wc_http_header *hs;
    char *n, *v;

    hs = realloc(resp->headers, (resp->n_headers + 1) * sizeof(*hs));
    if (!hs)
        return WC_ERR_NOMEM;
    resp->headers = hs;
    n = wc_strndup(name, nlen);
    v = wc_strndup(value, vlen);
    if (!n || !v) {
        free(n);
        free(v);
        return WC_ERR_NOMEM;
    }
    hs[resp->n_headers].name = n;
    hs[resp->n_headers].value = v;
    resp->n_headers++;
    return WC_OK;
}

void wc_http_response_clean_up(struct wc_http_response *resp)
{
    if (!resp)
        return;
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->n_headers = 0;
    wc_buf_clean_up(&resp->body);
    resp->status = 0;
}

/* ---- proxy URLs ---- */

bool wc_http_proxy_url_ok(const char *url)
{
    static const char *const schemes[] = {"http://", "https://", "socks4://", "socks4a://",
                                          "socks5://", "socks5h://"};
    const char *h = url, *end, *at;

    if (!url || !*url)
        return false;
    if (strcmp(url, "none") == 0)
        return true;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    if (strstr(url, "://")) {
        h = NULL;
        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
            if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
                h = url + strlen(schemes[i]);
        if (!h)
            return false;
    }
    end = h + strcspn(h, "/?#");
    if ((at = memchr(h, '@', (size_t)(end - h))))
        h = at + 1;
    /* a host, then an optional :port; nothing but '/' after */
    if (h == end || *h == ':' || (*end && strcmp(end, "/") != 0))
        return false;
    return true;
}

void wc_http_proxy_redact(const char *url, char *out, size_t outlen)
{
    const char *h, *at, *end;

    if (!out || !outlen)
        return;
    if (!url) {
        snprintf(out, outlen, "(none)");
        return;
    }
    h = strstr(url, "://");
    h = h ? h + 3 : url;
    end = h + strcspn(h, "/?#");
    if ((at = memchr(h, '@', (size_t)(end - h))))
        snprintf(out, outlen, "%.*s***@%s", (int)(h - url), url, at + 1);
    else
        snprintf(out, outlen, "%s", url);
}
