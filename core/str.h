/* str.h - borrowed string views and small string helpers. */
#ifndef WC_STR_H
#define WC_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Borrowed, not necessarily NUL-terminated. Passed by value. */
struct wc_str {
    const char *ptr;
    size_t len;
};

#define WC_STR_LIT(s) ((struct wc_str){(s), sizeof(s) - 1})
#define WC_STR_NULL ((struct wc_str){NULL, 0})
/* printf("%.*s", WC_STR_FMT(s)) */
#define WC_STR_FMT(s) (int)(s).len, ((s).ptr ? (s).ptr : "")

struct wc_str wc_str_from_cstr(const char *s);
bool wc_str_eq(struct wc_str a, struct wc_str b);
bool wc_str_eq_cstr(struct wc_str a, const char *b);
bool wc_str_eq_icase(struct wc_str a, struct wc_str b);
bool wc_str_starts_with(struct wc_str s, struct wc_str prefix);
bool wc_str_ends_with(struct wc_str s, struct wc_str suffix);
bool wc_str_contains(struct wc_str s, struct wc_str needle);
struct wc_str wc_str_trim(struct wc_str s);

/* The length of the longest prefix of s (len bytes) that is at most max
 * bytes and does not end inside a UTF-8 sequence: len itself when it fits. */
size_t wc_str_utf8_prefix(const char *s, size_t len, size_t max);

/* NULL-safe strdup; returns NULL if s is NULL or on allocation failure. */
char *wc_strdup(const char *s);
char *wc_strndup(const char *s, size_t n);
/* NULL-safe strcmp (NULL sorts first) and equality. */
int wc_strcmp0(const char *a, const char *b);
bool wc_streq(const char *a, const char *b);
/* true when s is NULL or "". */
bool wc_str_empty(const char *s);

/* snprintf a one-line reason into err (nothing when err is NULL or errlen
 * 0): the "char *err, size_t errlen" out-parameter of constructors. */
void wc_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Length of the longest prefix of s[0..len) that is valid UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF); len when all
 * of it is. */
size_t wc_utf8_valid_prefix(const char *s, size_t len);

/* Shell-style glob: '*' any run (including '/'), '?' one byte, no classes.
 * Case-sensitive. Iterative, linear in practice, no recursion. */
bool wc_glob_match(const char *pattern, const char *text);

/* Owned list of strings (NULL-terminated array for convenience). */
struct wc_strlist {
    char **items;
    size_t len;
    size_t cap;
};
#define WC_STRLIST_INIT {NULL, 0, 0}
int wc_strlist_push(struct wc_strlist *l, const char *s);
int wc_strlist_push_n(struct wc_strlist *l, const char *s, size_t n);
bool wc_strlist_contains(const struct wc_strlist *l, const char *s);
/* true if any glob in l matches text. */
bool wc_strlist_glob_any(const struct wc_strlist *l, const char *text);
int wc_strlist_copy(struct wc_strlist *dst, const struct wc_strlist *src);
void wc_strlist_clean_up(struct wc_strlist *l);

#endif
