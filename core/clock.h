/* clock.h - injectable clock and RFC 3339 time helpers.
 *
 * Times are int64 milliseconds since the Unix epoch, UTC, everywhere in
 * whochanged. Tests pin the clock; production uses wc_clock_system().
 */
#ifndef WC_CLOCK_H
#define WC_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

typedef int64_t wc_clock_now_fn(void *ctx);

struct wc_clock {
    wc_clock_now_fn *now_ms; /* wall clock, ms since epoch */
    wc_clock_now_fn *mono_ms;/* monotonic, ms; may equal now_ms in tests */
    void *ctx;
};

/* The real clock (CLOCK_REALTIME / CLOCK_MONOTONIC). */
struct wc_clock wc_clock_system(void);
int64_t wc_clock_now_ms(const struct wc_clock *c);
int64_t wc_clock_mono_ms(const struct wc_clock *c);

/* Parse an ISO 8601 / RFC 3339 timestamp: "2024-05-01T11:59:10Z",
 * fractional seconds ("...10.156Z"), and numeric offsets ("+02:00", "+0000").
 * Validates ranges (month 1-12, day within month, hour < 24, ...). */
int wc_time_parse_iso8601(struct wc_str s, int64_t *out_ms);

/* Format as RFC 3339 UTC "2024-05-01T11:59:10Z" (".156Z" when ms != 0).
 * out must hold WC_TIME_ISO_MAX bytes. */
#define WC_TIME_ISO_MAX 32
void wc_time_format_iso8601(int64_t ms, char out[WC_TIME_ISO_MAX]);

/* Days-from-civil (proleptic Gregorian), exposed for SigV4 dates etc. */
int64_t wc_time_from_civil(int y, int mon, int d, int h, int mi, int s);
void wc_time_to_civil(int64_t secs, int *y, int *mon, int *d, int *h, int *mi, int *s);

#endif
