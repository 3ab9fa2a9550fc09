#include "core/clock.h"

#include <stdio.h>
#include <time.h>

#include "core/err.h"

static int64_t s_realtime(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_monotonic(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct wc_clock wc_clock_system(void)
{
    return (struct wc_clock){s_realtime, s_monotonic, NULL};
}

int64_t wc_clock_now_ms(const struct wc_clock *c)
{
    if (!c || !c->now_ms)
        return s_realtime(NULL);
    return c->now_ms(c->ctx);
}

int64_t wc_clock_mono_ms(const struct wc_clock *c)
{
    if (!c)
        return s_monotonic(NULL);
    if (c->mono_ms)
        return c->mono_ms(c->ctx);
    return wc_clock_now_ms(c);
}

/* Howard Hinnant's days_from_civil. */
int64_t wc_time_from_civil(int y, int mon, int d, int h, int mi, int s)
{
    int64_t yy = y - (mon <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;

    return days * 86400 + h * 3600 + mi * 60 + s;
}

void wc_time_to_civil(int64_t secs, int *y, int *mon, int *d, int *h, int *mi, int *s)
{
    int64_t days = secs / 86400, rem = secs % 86400;
    int64_t era, doe, yoe, doy, mp, yy;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*mon <= 2));
    *h = (int)(rem / 3600);
    *mi = (int)(rem % 3600 / 60);
    *s = (int)(rem % 60);
}

static int s_digits(struct wc_str s, size_t *pos, size_t n, int *out)
{
    int v = 0;

    if (*pos + n > s.len)
        return WC_ERR_PARSE;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[*pos + i];
        if (c < '0' || c > '9')
            return WC_ERR_PARSE;
        v = v * 10 + (c - '0');
    }
    *pos += n;
    *out = v;
    return WC_OK;
}

static int s_expect(struct wc_str s, size_t *pos, char c)
{
    if (*pos >= s.len || s.ptr[*pos] != c)
        return WC_ERR_PARSE;
    (*pos)++;
    return WC_OK;
}

static bool s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int wc_time_parse_iso8601(struct wc_str s, int64_t *out_ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t p = 0;
    int y, mo, d, h, mi, sec, ms = 0, off = 0;

    if (!s.ptr)
        return WC_ERR_PARSE;
    if (s_digits(s, &p, 4, &y) || s_expect(s, &p, '-') || s_digits(s, &p, 2, &mo) ||
        s_expect(s, &p, '-') || s_digits(s, &p, 2, &d))
        return WC_ERR_PARSE;
    if (p >= s.len || (s.ptr[p] != 'T' && s.ptr[p] != 't' && s.ptr[p] != ' '))
        return WC_ERR_PARSE;
    p++;
    if (s_digits(s, &p, 2, &h) || s_expect(s, &p, ':') || s_digits(s, &p, 2, &mi) ||
        s_expect(s, &p, ':') || s_digits(s, &p, 2, &sec))
        return WC_ERR_PARSE;
    if (p < s.len && (s.ptr[p] == '.' || s.ptr[p] == ',')) {
        int scale = 100, n = 0;
        p++;
        while (p < s.len && s.ptr[p] >= '0' && s.ptr[p] <= '9') {
            ms += (s.ptr[p] - '0') * scale;
            scale /= 10;
            p++;
            n++;
        }
        if (n == 0)
            return WC_ERR_PARSE;
    }
    if (p < s.len && (s.ptr[p] == 'Z' || s.ptr[p] == 'z')) {
        p++;
    } else if (p < s.len && (s.ptr[p] == '+' || s.ptr[p] == '-')) {
        int sign = s.ptr[p] == '-' ? -1 : 1, oh, om;
        p++;
        if (s_digits(s, &p, 2, &oh))
            return WC_ERR_PARSE;
        if (p < s.len && s.ptr[p] == ':')
            p++;
        if (s_digits(s, &p, 2, &om) || oh > 23 || om > 59)
            return WC_ERR_PARSE;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return WC_ERR_PARSE; /* a timestamp without a zone is ambiguous */
    }
    if (p != s.len)
        return WC_ERR_PARSE;
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
        return WC_ERR_PARSE;
    if (d > mdays[mo - 1] + (mo == 2 && s_leap(y)))
        return WC_ERR_PARSE;
    if (sec == 60)
        sec = 59; /* leap second: clamp */
    *out_ms = (wc_time_from_civil(y, mo, d, h, mi, sec) - off) * 1000 + ms;
    return WC_OK;
}

void wc_time_format_iso8601(int64_t ms, char out[WC_TIME_ISO_MAX])
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    int y, mo, d, h, mi, s;

    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    wc_time_to_civil(secs, &y, &mo, &d, &h, &mi, &s);
    if (frac)
        snprintf(out, WC_TIME_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h,
                 mi, s, (int)frac);
    else
        snprintf(out, WC_TIME_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
}
