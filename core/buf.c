#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void wc_secure_zero(void *p, size_t len)
{
    volatile unsigned char *v = p;

    while (p && len--)
        *v++ = 0;
}

void wc_buf_init(struct wc_buf *b, size_t max_len)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_len = max_len;
}

static size_t s_max(const struct wc_buf *b)
{
    return b->max_len ? b->max_len : WC_BUF_DEFAULT_MAX;
}

static int s_reserve(struct wc_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > s_max(b) || b->len > s_max(b) - extra)
        return WC_ERR_TOO_LARGE;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return WC_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->ptr, cap);
    if (!p)
        return WC_ERR_NOMEM;
    b->ptr = p;
    b->cap = cap;
    return WC_OK;
}

int wc_buf_append(struct wc_buf *b, const void *data, size_t len)
{
    int rc;

    if ((rc = s_reserve(b, len)) != WC_OK)
        return rc;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return WC_OK;
}

int wc_buf_append_str(struct wc_buf *b, struct wc_str s)
{
    return wc_buf_append(b, s.ptr, s.len);
}

int wc_buf_append_cstr(struct wc_buf *b, const char *s)
{
    return wc_buf_append(b, s ? s : "", s ? strlen(s) : 0);
}

int wc_buf_append_char(struct wc_buf *b, char c)
{
    return wc_buf_append(b, &c, 1);
}

int wc_buf_vappendf(struct wc_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return WC_ERR_INVALID;
    if ((rc = s_reserve(b, (size_t)n)) != WC_OK)
        return rc;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return WC_OK;
}

int wc_buf_appendf(struct wc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = wc_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void wc_buf_reset(struct wc_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

struct wc_str wc_buf_str(const struct wc_buf *b)
{
    return (struct wc_str){b->ptr ? b->ptr : "", b->len};
}

char *wc_buf_steal(struct wc_buf *b)
{
    char *p = b->ptr;

    if (!p)
        p = calloc(1, 1);
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}

void wc_buf_clean_up(struct wc_buf *b)
{
    if (!b)
        return;
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

void wc_buf_clean_up_secure(struct wc_buf *b)
{
    if (!b)
        return;
    wc_secure_zero(b->ptr, b->cap);
    wc_buf_clean_up(b);
}
