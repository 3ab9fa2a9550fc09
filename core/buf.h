/* buf.h - owned, growable, size-capped byte buffer (NUL-terminated).
 *
 * A buffer never grows beyond max_len bytes (0 = WC_BUF_DEFAULT_MAX); an
 * append that would exceed it fails with WC_ERR_TOO_LARGE and leaves the
 * buffer unchanged. Contents are always NUL-terminated when ptr != NULL.
 */
#ifndef WC_BUF_H
#define WC_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/str.h"

#define WC_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

struct wc_buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max_len;
};

#define WC_BUF_INIT {NULL, 0, 0, 0}

void wc_buf_init(struct wc_buf *b, size_t max_len);
int wc_buf_append(struct wc_buf *b, const void *data, size_t len);
int wc_buf_append_str(struct wc_buf *b, struct wc_str s);
int wc_buf_append_cstr(struct wc_buf *b, const char *s);
int wc_buf_append_char(struct wc_buf *b, char c);
int wc_buf_appendf(struct wc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int wc_buf_vappendf(struct wc_buf *b, const char *fmt, va_list ap);
/* Empty the buffer, keep its storage. */
void wc_buf_reset(struct wc_buf *b);
/* View of the contents. */
struct wc_str wc_buf_str(const struct wc_buf *b);
/* Hand the heap string to the caller (never NULL on success: "" if empty). */
char *wc_buf_steal(struct wc_buf *b);
void wc_buf_clean_up(struct wc_buf *b);
/* Wipe the contents (secrets) before freeing. */
void wc_buf_clean_up_secure(struct wc_buf *b);

/* Wipe memory in a way the compiler cannot elide. */
void wc_secure_zero(void *p, size_t len);

#endif
