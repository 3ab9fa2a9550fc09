#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

struct wc_str wc_str_from_cstr(const char *s)
{
    return (struct wc_str){s, s ? strlen(s) : 0};
}

bool wc_str_eq(struct wc_str a, struct wc_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool wc_str_eq_cstr(struct wc_str a, const char *b)
{
    return wc_str_eq(a, wc_str_from_cstr(b));
}

bool wc_str_eq_icase(struct wc_str a, struct wc_str b)
{
    return a.len == b.len && (a.len == 0 || strncasecmp(a.ptr, b.ptr, a.len) == 0);
}

bool wc_str_starts_with(struct wc_str s, struct wc_str prefix)
{
    return s.len >= prefix.len &&
           (prefix.len == 0 || memcmp(s.ptr, prefix.ptr, prefix.len) == 0);
}

bool wc_str_ends_with(struct wc_str s, struct wc_str suffix)
{
    return s.len >= suffix.len &&
           (suffix.len == 0 ||
            memcmp(s.ptr + s.len - suffix.len, suffix.ptr, suffix.len) == 0);
}

bool wc_str_contains(struct wc_str s, struct wc_str needle)
{
    if (needle.len == 0)
        return true;
    if (s.len < needle.len)
        return false;
    for (size_t i = 0; i + needle.len <= s.len; i++)
        if (memcmp(s.ptr + i, needle.ptr, needle.len) == 0)
            return true;
    return false;
}

static bool s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

struct wc_str wc_str_trim(struct wc_str s)
{
    while (s.len && s_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && s_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

size_t wc_str_utf8_prefix(const char *s, size_t len, size_t max)
{
    size_t n;

    if (len <= max)
        return len;
    /* back up while s[n] continues a sequence, so s[0..n) ends on a whole one */
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

char *wc_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *wc_strndup(const char *s, size_t n)
{
    char *p;

    if (!s)
        return NULL;
    p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int wc_strcmp0(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

bool wc_streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

bool wc_str_empty(const char *s)
{
    return !s || !*s;
}

bool wc_glob_match(const char *p, const char *t)
{
    const char *star_p = NULL, *star_t = NULL;

    if (!p || !t)
        return false;
    while (*t) {
        if (*p == '*') {
            star_p = ++p;
            star_t = t;
        } else if (*p == '?' || *p == *t) {
            p++;
            t++;
        } else if (star_p) {
            p = star_p;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int wc_strlist_push_n(struct wc_strlist *l, const char *s, size_t n)
{
    char *copy;

    if (l->len + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **items = realloc(l->items, cap * sizeof(*items));
        if (!items)
            return WC_ERR_NOMEM;
        l->items = items;
        l->cap = cap;
    }
    copy = wc_strndup(s, n);
    if (!copy)
        return WC_ERR_NOMEM;
    l->items[l->len++] = copy;
    l->items[l->len] = NULL;
    return WC_OK;
}

int wc_strlist_push(struct wc_strlist *l, const char *s)
{
    if (!s)
        return WC_ERR_INVALID;
    return wc_strlist_push_n(l, s, strlen(s));
}

bool wc_strlist_contains(const struct wc_strlist *l, const char *s)
{
    for (size_t i = 0; s && i < l->len; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

bool wc_strlist_glob_any(const struct wc_strlist *l, const char *text)
{
    for (size_t i = 0; text && i < l->len; i++)
        if (wc_glob_match(l->items[i], text))
            return true;
    return false;
}

int wc_strlist_copy(struct wc_strlist *dst, const struct wc_strlist *src)
{
    int rc;

    for (size_t i = 0; i < src->len; i++)
        if ((rc = wc_strlist_push(dst, src->items[i])) != WC_OK)
            return rc;
    return WC_OK;
}

void wc_strlist_clean_up(struct wc_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = l->cap = 0;
}

void wc_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

size_t wc_utf8_valid_prefix(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i], cp, min;
        size_t n;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}
