/* mrkdwn.c - safe text for Slack mrkdwn, and URL helpers. */
#include "notifiers/mrkdwn.h"

#include <stdbool.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

#define S_ELLIPSIS "\xe2\x80\xa6"      /* U+2026 … */
#define S_GRAVE_SUBST "\xcb\x8b"       /* U+02CB ˋ */

int wc_mrkdwn_escape(struct wc_buf *out, const char *s, size_t len)
{
    size_t start = 0;
    int rc = WC_OK;

    for (size_t i = 0; rc == WC_OK && i < len; i++) {
        const char *rep = NULL;

        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        default:
            continue;
        }
        if ((rc = wc_buf_append(out, s + start, i - start)) == WC_OK)
            rc = wc_buf_append_cstr(out, rep);
        start = i + 1;
    }
    if (rc == WC_OK)
        rc = wc_buf_append(out, s + start, len - start);
    return rc;
}

size_t wc_utf8_prefix(const char *s, size_t len, size_t max)
{
    size_t n;

    if (len <= max)
        return len;
    n = max;
    /* back off continuation bytes so the cut falls before a lead byte */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

void wc_mrkdwn_truncate(struct wc_buf *b, size_t max)
{
    size_t n, ticks = 0;

    if (!b->ptr || b->len <= max || max < 8)
        return;
    /* room for a closing backtick and the ellipsis (3 bytes) */
    n = wc_utf8_prefix(b->ptr, b->len, max - 4);
    for (size_t k = n; k > 0 && n - k < 5; k--) {
        if (b->ptr[k - 1] == ';')
            break;
        if (b->ptr[k - 1] == '&') {
            n = k - 1; /* an entity would be cut: drop it whole */
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        ticks += b->ptr[i] == '`';
    b->len = n;
    b->ptr[n] = '\0';
    /* fits: n + 4 <= max, and the buffer already held more than that */
    if (ticks % 2)
        wc_buf_append_char(b, '`');
    wc_buf_append_cstr(b, S_ELLIPSIS);
}

#define S_ASTERISK_SUBST "\xe2\x88\x97"  /* U+2217 ∗ */
#define S_TILDE_SUBST "\xe2\x88\xbc"     /* U+223C ∼ */
#define S_LOWLINE_SUBST "\xcb\x8d"        /* U+02CD ˍ */

static bool s_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Length of an invisible format control at s (n bytes left), 0 if none:
 * bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069), the
 * marks U+200E/200F and U+061C, zero-width characters (U+200B-200D,
 * U+2060-2064) and U+FEFF. They reorder or hide text on screen. */
static size_t s_format_control(const unsigned char *s, size_t n)
{
    if (n >= 2 && s[0] == 0xD8 && s[1] == 0x9C)
        return 2; /* U+061C */
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 &&
        ((s[2] >= 0x8B && s[2] <= 0x8F) || (s[2] >= 0xAA && s[2] <= 0xAE)))
        return 3; /* U+200B-200F, U+202A-202E */
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x81 &&
        ((s[2] >= 0xA0 && s[2] <= 0xA4) || (s[2] >= 0xA6 && s[2] <= 0xA9)))
        return 3; /* U+2060-2064, U+2066-2069 */
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        return 3; /* U+FEFF */
    return 0;
}

/* Copy s into tmp, cut to max_bytes: control characters (C0, DEL, C1)
 * become spaces, invisible format controls are dropped, backticks become
 * U+02CB; outside code spans * and ~ become look-alikes, and so does _
 * unless it sits inside a word (snake_case names stay as they are: Slack
 * formats only delimiters at a word boundary). */
static int s_clean(struct wc_buf *tmp, const char *s, size_t max_bytes, bool in_code)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), cut = wc_utf8_prefix(s, len, max_bytes), skip;
    int rc = WC_OK;

    for (size_t i = 0; rc == WC_OK && i < cut; i++) {
        unsigned char c = u[i];

        if ((skip = s_format_control(u + i, cut - i)) > 0) {
            i += skip - 1;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            rc = wc_buf_append_char(tmp, ' ');
        } else if (c == 0xC2 && i + 1 < cut && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
            rc = wc_buf_append_char(tmp, ' '); /* C1 control */
            i++;
        } else if (c == '`') {
            rc = wc_buf_append_cstr(tmp, S_GRAVE_SUBST);
        } else if (in_code) {
            rc = wc_buf_append_char(tmp, (char)c);
        } else if (c == '*') {
            rc = wc_buf_append_cstr(tmp, S_ASTERISK_SUBST);
        } else if (c == '~') {
            rc = wc_buf_append_cstr(tmp, S_TILDE_SUBST);
        } else if (c == '_' && !(i > 0 && s_word_byte(u[i - 1]) && i + 1 < cut &&
                                 s_word_byte(u[i + 1]))) {
            rc = wc_buf_append_cstr(tmp, S_LOWLINE_SUBST);
        } else {
            rc = wc_buf_append_char(tmp, (char)c);
        }
    }
    if (rc == WC_OK && cut < len)
        rc = wc_buf_append_cstr(tmp, S_ELLIPSIS);
    return rc;
}

static int s_value(struct wc_buf *out, const char *s, size_t max_bytes, const char *fallback,
                   bool in_code, bool ticks)
{
    struct wc_buf tmp = WC_BUF_INIT;
    int rc;

    if (wc_str_empty(s))
        return wc_buf_append_cstr(out, fallback ? fallback : "");
    if ((rc = s_clean(&tmp, s, max_bytes, in_code)) != WC_OK)
        goto out;
    if (ticks && (rc = wc_buf_append_char(out, '`')) != WC_OK)
        goto out;
    if ((rc = wc_mrkdwn_escape(out, tmp.ptr ? tmp.ptr : "", tmp.len)) != WC_OK)
        goto out;
    if (ticks)
        rc = wc_buf_append_char(out, '`');
out:
    wc_buf_clean_up(&tmp);
    return rc;
}

int wc_mrkdwn_value(struct wc_buf *out, const char *s, size_t max_bytes, const char *fallback)
{
    return s_value(out, s, max_bytes, fallback, false, false);
}

int wc_mrkdwn_code(struct wc_buf *out, const char *s, size_t max_bytes, const char *fallback)
{
    return s_value(out, s, max_bytes, fallback, true, true);
}

int wc_mrkdwn_pre(struct wc_buf *out, const char *s, size_t max_bytes, const char *fallback)
{
    return s_value(out, s, max_bytes, fallback, true, false);
}

int wc_mrkdwn_date(struct wc_buf *out, int64_t ms)
{
    char iso[WC_TIME_ISO_MAX];
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);

    wc_time_format_iso8601(ms, iso);
    return wc_buf_appendf(out, "<!date^%lld^{date_short_pretty} {time}|%s>", (long long)secs,
                          iso);
}

int wc_mrkdwn_time(struct wc_buf *out, int64_t ms)
{
    char iso[WC_TIME_ISO_MAX];
    const char *t;
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);

    wc_time_format_iso8601(secs * 1000, iso);
    t = strchr(iso, 'T');
    return wc_buf_appendf(out, "<!date^%lld^{time}|%s>", (long long)secs, t ? t + 1 : iso);
}

int wc_url_encode(struct wc_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = WC_OK;

    for (; s && *s && rc == WC_OK; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rc = wc_buf_append_char(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = wc_buf_append(out, e, 3);
        }
    }
    return rc;
}
