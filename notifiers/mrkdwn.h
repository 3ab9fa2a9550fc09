/* mrkdwn.h - safe text for Slack mrkdwn, and URL helpers.
 *
 * Slack treats &, < and > as control characters in message text
 * (<@U123>, <!channel>, <https://x|label>); escaping them as &amp; &lt; &gt;
 * is all it documents and all it decodes. Its formatting characters
 * (`code`, *bold*, _italic_, ~strike~) would let a resource named
 * "*Approved by security team*" dress itself up, or an unbalanced backtick
 * swallow the text after it; and bidi or zero-width format controls make
 * text read differently from what it is. Everything that comes from AWS
 * data goes through these functions before it reaches a Slack text field.
 */
#ifndef WC_MRKDWN_H
#define WC_MRKDWN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Append s (len bytes) with & < > escaped. */
int wc_mrkdwn_escape(struct wc_buf *out, const char *s, size_t len);

/* Append an untrusted value for display: it is cut to at most max_bytes
 * bytes at a UTF-8 boundary ("…" appended when cut); control characters
 * (newlines included) become spaces; invisible format controls (U+061C,
 * U+200B-200F, U+202A-202E, U+2060-2064, U+2066-2069, U+FEFF) are dropped;
 * ` * ~ become look-alikes (U+02CB ˋ, U+2217 ∗, U+223C ∼) and so does _
 * (U+02CD ˍ) unless it has a letter or digit on both sides; then & < > are
 * escaped. NULL or "" appends fallback verbatim (a trusted literal). */
int wc_mrkdwn_value(struct wc_buf *out, const char *s, size_t max_bytes, const char *fallback);

/* The same inside a code span: `value`, where * _ ~ stay as they are (Slack
 * does not format inside code) but backticks are replaced by U+02CB (ˋ) so
 * the span cannot be closed early. NULL or "" appends fallback verbatim,
 * without the span. */
int wc_mrkdwn_code(struct wc_buf *out, const char *s, size_t max_bytes, const char *fallback);

/* The same cleaning as inside a code span, without the backticks around
 * it: for a line of a ``` preformatted block (backticks become U+02CB, so
 * the block cannot be closed early; nothing is formatted there). NULL or ""
 * appends fallback verbatim. */
int wc_mrkdwn_pre(struct wc_buf *out, const char *s, size_t max_bytes, const char *fallback);

/* A time for Slack to show in the reader's time zone and locale:
 * <!date^EPOCH^{date_short_pretty} {time}|ISO 8601 UTC> (the part after |
 * is the fallback for clients that cannot format it). */
#define WC_MRKDWN_DATE_MAX 96
int wc_mrkdwn_date(struct wc_buf *out, int64_t ms);
/* The time of day alone: <!date^EPOCH^{time}|HH:MM:SSZ>. */
int wc_mrkdwn_time(struct wc_buf *out, int64_t ms);

/* Cut the mrkdwn text in b to at most max bytes (max >= 8): at a UTF-8
 * boundary, never inside an &amp; &lt; &gt; entity, closing a code span
 * left open, with "…" appended. No-op when it already fits. */
void wc_mrkdwn_truncate(struct wc_buf *b, size_t max);

/* Length of the longest prefix of s[0..len) of at most max bytes that does
 * not split a UTF-8 sequence. */
size_t wc_utf8_prefix(const char *s, size_t len, size_t max);

/* Append s percent-encoded: everything but A-Z a-z 0-9 - . _ ~ . */
int wc_url_encode(struct wc_buf *out, const char *s);

#endif
