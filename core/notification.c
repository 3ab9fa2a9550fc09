/* notification.c - AWS Config notifications (SNS, raw, EventBridge) into a
 * struct wc_change. See change.h. No I/O; cJSON trees never leave the
 * function that parsed them.
 */
#include "core/change.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/awsid.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/summary.h"

/* Identity fields (ids, names, ARNs, account, region, status) longer than
 * this are refused: an ARN is at most 2048 characters, CloudTrail lookup
 * values at most 2000. */
#define S_FIELD_MAX 8192

static const char s_ellipsis[] = "\xe2\x80\xa6"; /* U+2026 "…" */

/* Hints taken from the envelope, used when the Config JSON lacks a field
 * (the legacy 2014 shape has no awsRegion and calls the account accountId). */
struct s_hints {
    char region[64];
    char account[64];
};

static void s_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!errbuf || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    /* one line: no control characters from the input */
    for (char *p = errbuf; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

static const char *s_type_name(const cJSON *v)
{
    if (!v)
        return "missing";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "invalid";
}

/* --- JSON parsing ------------------------------------------------------- */

/* Bracket depth reached at byte `end` of p (strings skipped). */
static size_t s_depth_at(const char *p, size_t end)
{
    size_t depth = 0;
    bool in_str = false;

    for (size_t i = 0; i < end; i++) {
        char c = p[i];

        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return depth;
}

/* Offset of the first NUL in [p, p+len), raw or escaped ("\u0000") inside
 * a JSON string, or len when there is none. cJSON turns either into a NUL
 * byte, which silently cuts the string short ("sg-1\u0000x" reads "sg-1"). */
static size_t s_nul_at(const char *p, size_t len)
{
    bool in_str = false;

    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\0')
            return i;
        if (!in_str) {
            in_str = p[i] == '"';
        } else if (p[i] == '"') {
            in_str = false;
        } else if (p[i] == '\\' && i + 1 < len) {
            if (p[i + 1] == 'u' && i + 5 < len && memcmp(p + i + 2, "0000", 4) == 0)
                return i;
            i++; /* the escaped character, whatever it is */
        }
    }
    return len;
}

/* Parse exactly [p, p+len) as one JSON value (trailing whitespace allowed).
 * `what` names the document in the error message. */
static int s_parse_json(const char *p, size_t len, const char *what, cJSON **out, char *errbuf,
                        size_t errlen)
{
    const char *end = NULL;
    cJSON *root;
    size_t at;

    *out = NULL;
    if (len == 0) {
        s_err(errbuf, errlen, "%s is empty, expected JSON", what);
        return WC_ERR_PARSE;
    }
    /* JSON is UTF-8 (RFC 8259); cJSON passes other bytes through, and they
     * would make every payload built from them invalid */
    if ((at = wc_utf8_valid_prefix(p, len)) < len) {
        s_err(errbuf, errlen, "%s is not valid UTF-8 at byte %zu", what, at);
        return WC_ERR_PARSE;
    }
    root = cJSON_ParseWithLengthOpts(p, len, &end, 0);
    if (!root) {
        at = (end && end >= p && end <= p + len) ? (size_t)(end - p) : 0;
        if (s_depth_at(p, at) >= CJSON_NESTING_LIMIT)
            s_err(errbuf, errlen, "%s is not valid JSON: nested deeper than %d levels at byte %zu",
                  what, CJSON_NESTING_LIMIT, at);
        else
            s_err(errbuf, errlen, "%s is not valid JSON at byte %zu", what, at);
        return WC_ERR_PARSE;
    }
    at = (end && end >= p && end <= p + len) ? (size_t)(end - p) : len;
    while (at < len && (p[at] == ' ' || p[at] == '\t' || p[at] == '\r' || p[at] == '\n'))
        at++;
    if (at < len) {
        cJSON_Delete(root);
        s_err(errbuf, errlen, "%s is not valid JSON at byte %zu (data after the value)", what,
              at);
        return WC_ERR_PARSE;
    }
    if ((at = s_nul_at(p, len)) < len) {
        cJSON_Delete(root);
        s_err(errbuf, errlen, "%s holds a NUL character (\\u0000) at byte %zu, which would cut "
              "a string short", what, at);
        return WC_ERR_INVALID;
    }
    *out = root;
    return WC_OK;
}

/* Object member `key` as a string: *out NULL when absent or null; wrong
 * types and over-long values are errors. `where` prefixes the message. */
static int s_get_str(const cJSON *obj, const char *key, const char *where, bool required,
                     const char **out, char *errbuf, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required) {
            s_err(errbuf, errlen, "%s.%s is %s, expected a string", where, key, s_type_name(v));
            return WC_ERR_INVALID;
        }
        return WC_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        s_err(errbuf, errlen, "%s.%s is %s, expected a string", where, key, s_type_name(v));
        return WC_ERR_INVALID;
    }
    if (strlen(v->valuestring) > S_FIELD_MAX) {
        s_err(errbuf, errlen, "%s.%s is longer than %d bytes", where, key, S_FIELD_MAX);
        return WC_ERR_TOO_LARGE;
    }
    if (required && v->valuestring[0] == '\0') {
        s_err(errbuf, errlen, "%s.%s is empty", where, key);
        return WC_ERR_INVALID;
    }
    *out = v->valuestring;
    return WC_OK;
}

/* First of two spellings (current, legacy) that is present. */
static int s_get_str2(const cJSON *obj, const char *key, const char *alt, const char *where,
                      const char **out, char *errbuf, size_t errlen)
{
    int rc = s_get_str(obj, key, where, false, out, errbuf, errlen);

    if (rc == WC_OK && !*out && alt)
        rc = s_get_str(obj, alt, where, false, out, errbuf, errlen);
    return rc;
}

/* Copy a possibly-NULL string; NOMEM only if s was non-NULL. */
static int s_dup(char **dst, const char *s)
{
    *dst = NULL;
    if (!s)
        return WC_OK;
    *dst = wc_strdup(s);
    return *dst ? WC_OK : WC_ERR_NOMEM;
}

/* --- regions ------------------------------------------------------------ */

/* The lookup region: one table of partitions and global services, in
 * core/awsid.c (wc_partition_lookup_region). */
const char *wc_lookup_region(const char *resource_type, const char *region)
{
    return wc_partition_lookup_region(resource_type, region, NULL);
}

/* "us-west-2b" / "us-gov-west-1a" / "us-west-2-lax-1a" -> region prefix
 * ("us-west-2"); false for "Regional", "Not Applicable", ... */
static bool s_region_from_az(const char *az, char *out, size_t outlen)
{
    size_t i = 0, groups = 0;

    if (!az)
        return false;
    while (az[i] >= 'a' && az[i] <= 'z')
        i++;
    if (i != 2)
        return false;
    for (;;) {
        size_t start;

        if (az[i] != '-')
            return false;
        start = ++i;
        if (az[i] >= '0' && az[i] <= '9') {
            while (az[i] >= '0' && az[i] <= '9')
                i++;
            break;
        }
        while (az[i] >= 'a' && az[i] <= 'z')
            i++;
        if (i == start)
            return false;
        groups++;
    }
    if (groups == 0 || i + 1 > outlen)
        return false;
    memcpy(out, az, i);
    out[i] = '\0';
    return true;
}

/* Field `index` (0-based, ':'-separated) of an ARN into out. */
static void s_arn_field(const char *arn, int index, char *out, size_t outlen)
{
    const char *p = arn, *e;

    out[0] = '\0';
    if (!arn || strncmp(arn, "arn:", 4) != 0)
        return;
    for (int i = 0; i < index && p; i++) {
        p = strchr(p, ':');
        if (p)
            p++;
    }
    if (!p)
        return;
    e = strchr(p, ':');
    if (!e || (size_t)(e - p) >= outlen)
        return;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

static void s_hint_copy(char *dst, size_t dstlen, const char *s)
{
    if (s && strlen(s) < dstlen)
        memcpy(dst, s, strlen(s) + 1);
}

/* --- values and properties ---------------------------------------------- */

/* Heap copy of s, cut to at most WC_CHANGE_VALUE_MAX bytes, the last three
 * being "…", without splitting a UTF-8 sequence. */
static char *s_copy_truncated(const char *s)
{
    size_t len = strlen(s), cut;
    char *out;

    if (len <= WC_CHANGE_VALUE_MAX)
        return wc_strdup(s);
    cut = wc_str_utf8_prefix(s, len, WC_CHANGE_VALUE_MAX - (sizeof(s_ellipsis) - 1));
    out = malloc(cut + sizeof(s_ellipsis));
    if (!out)
        return NULL;
    memcpy(out, s, cut);
    memcpy(out + cut, s_ellipsis, sizeof(s_ellipsis)); /* with the NUL */
    return out;
}

/* previousValue / updatedValue: NULL when absent or null; strings as they
 * are (no quotes); anything else as compact JSON. Truncated. */
static int s_render_value(const cJSON *v, char **out)
{
    char *json;

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return WC_OK;
    if (cJSON_IsString(v)) {
        *out = s_copy_truncated(v->valuestring ? v->valuestring : "");
        return *out ? WC_OK : WC_ERR_NOMEM;
    }
    json = cJSON_PrintUnformatted(v);
    if (!json)
        return WC_ERR_NOMEM;
    *out = s_copy_truncated(json);
    cJSON_free(json);
    return *out ? WC_OK : WC_ERR_NOMEM;
}

/* Natural order: digit runs compare as numbers, so "Foo.2" < "Foo.10". */
static int s_natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            size_t la = 0, lb = 0;
            int c;

            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            if ((c = memcmp(a, b, la)) != 0)
                return c;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

static int s_prop_cmp(const void *x, const void *y)
{
    const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
    const char *sa = a->string ? a->string : "", *sb = b->string ? b->string : "";
    int c = s_natcmp(sa, sb);

    return c ? c : strcmp(sa, sb);
}

static int s_parse_property(const cJSON *p, struct wc_changed_property *out, char *errbuf,
                            size_t errlen)
{
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(p, "previousValue");
    const cJSON *upd = cJSON_GetObjectItemCaseSensitive(p, "updatedValue");
    const char *change = NULL;
    int rc;

    if ((rc = s_get_str(p, "changeType", "configurationItemDiff.changedProperties[]", false,
                        &change, errbuf, errlen)) != WC_OK)
        return rc;
    if (!change) {
        /* not seen in practice; infer rather than leave NULL */
        bool had = prev && !cJSON_IsNull(prev), has = upd && !cJSON_IsNull(upd);

        change = had == has ? "UPDATE" : has ? "CREATE" : "DELETE";
    }
    if ((rc = s_dup(&out->path, p->string ? p->string : "")) != WC_OK ||
        (rc = s_dup(&out->change, change)) != WC_OK ||
        (rc = s_render_value(prev, &out->before)) != WC_OK ||
        (rc = s_render_value(upd, &out->after)) != WC_OK ||
        (rc = wc_summary_property(out->path, prev, &out->before_summary)) != WC_OK ||
        (rc = wc_summary_property(out->path, upd, &out->after_summary)) != WC_OK)
        return rc;
    return WC_OK;
}

static int s_parse_diff(const cJSON *diff, struct wc_change *c, char *errbuf, size_t errlen)
{
    const cJSON *props, *p;
    const cJSON **sorted = NULL;
    const char *ct = NULL;
    size_t n = 0, keep;
    int rc;

    if (!diff || cJSON_IsNull(diff))
        return WC_OK;
    if (!cJSON_IsObject(diff)) {
        s_err(errbuf, errlen, "configurationItemDiff is %s, expected an object",
              s_type_name(diff));
        return WC_ERR_INVALID;
    }
    if ((rc = s_get_str(diff, "changeType", "configurationItemDiff", false, &ct, errbuf,
                        errlen)) != WC_OK)
        return rc;
    if ((rc = s_dup(&c->change_type, ct)) != WC_OK)
        return rc;
    props = cJSON_GetObjectItemCaseSensitive(diff, "changedProperties");
    if (!props || cJSON_IsNull(props))
        return WC_OK;
    if (!cJSON_IsObject(props)) {
        s_err(errbuf, errlen, "configurationItemDiff.changedProperties is %s, expected an object",
              s_type_name(props));
        return WC_ERR_INVALID;
    }
    cJSON_ArrayForEach(p, props) {
        if (!cJSON_IsObject(p)) {
            s_err(errbuf, errlen, "configurationItemDiff.changedProperties[\"%.80s\"] is %s, "
                  "expected an object", p->string ? p->string : "", s_type_name(p));
            return WC_ERR_INVALID;
        }
        n++;
    }
    c->n_props_total = n;
    if (n == 0)
        return WC_OK;
    sorted = calloc(n, sizeof(*sorted));
    if (!sorted)
        return WC_ERR_NOMEM;
    n = 0;
    cJSON_ArrayForEach(p, props)
        sorted[n++] = p;
    qsort(sorted, n, sizeof(*sorted), s_prop_cmp);
    keep = n < WC_CHANGE_MAX_PROPERTIES ? n : WC_CHANGE_MAX_PROPERTIES;
    c->props = calloc(keep, sizeof(*c->props));
    if (!c->props) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < keep; i++) {
        c->n_props = i + 1; /* so clean_up frees a partly filled entry */
        if ((rc = s_parse_property(sorted[i], &c->props[i], errbuf, errlen)) != WC_OK)
            goto out;
    }
    rc = WC_OK;
out:
    free(sorted);
    return rc;
}

static int s_parse_related(const cJSON *item, const char *where, struct wc_change *c,
                           char *errbuf, size_t errlen)
{
    const cJSON *rel = cJSON_GetObjectItemCaseSensitive(item, "relatedEvents"), *e;
    size_t i = 0;
    int rc;

    if (!rel || cJSON_IsNull(rel))
        return WC_OK;
    if (!cJSON_IsArray(rel)) {
        s_err(errbuf, errlen, "%s.relatedEvents is %s, expected an array", where,
              s_type_name(rel));
        return WC_ERR_INVALID;
    }
    cJSON_ArrayForEach(e, rel) {
        if (!cJSON_IsString(e) || !e->valuestring) {
            s_err(errbuf, errlen, "%s.relatedEvents[%zu] is %s, expected a string", where, i,
                  s_type_name(e));
            return WC_ERR_INVALID;
        }
        if (c->related_event_ids.len < WC_CHANGE_MAX_RELATED && e->valuestring[0] &&
            strlen(e->valuestring) <= S_FIELD_MAX &&
            (rc = wc_strlist_push(&c->related_event_ids, e->valuestring)) != WC_OK)
            return rc;
        i++;
    }
    return WC_OK;
}

/* configurationItem.tags ({"key": "value", ...}) into c: at most
 * WC_CHANGE_MAX_TAGS, string values only, over-long ones left out (tags are
 * shown, never acted on). Anything else than an object is ignored. */
static int s_parse_tags(const cJSON *item, struct wc_change *c)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "tags"), *t;
    int rc;

    if (!cJSON_IsObject(tags))
        return WC_OK;
    cJSON_ArrayForEach(t, tags) {
        if (c->tag_keys.len >= WC_CHANGE_MAX_TAGS)
            break;
        if (!t->string || !t->string[0] || strlen(t->string) > WC_CHANGE_TAG_KEY_MAX ||
            !cJSON_IsString(t) || !t->valuestring ||
            strlen(t->valuestring) > WC_CHANGE_TAG_VALUE_MAX)
            continue;
        if ((rc = wc_strlist_push(&c->tag_keys, t->string)) != WC_OK)
            return rc;
        if ((rc = wc_strlist_push(&c->tag_values, t->valuestring)) != WC_OK) {
            free(c->tag_keys.items[--c->tag_keys.len]);
            c->tag_keys.items[c->tag_keys.len] = NULL;
            return rc;
        }
    }
    return WC_OK;
}

/* A configurationItem (or, with summary, a configurationItemSummary) into c.
 * diff is the message's configurationItemDiff (NULL for a summary). */
static int s_parse_item(const cJSON *item, const cJSON *diff, bool summary,
                        const struct s_hints *hints, struct wc_change *c, char *errbuf,
                        size_t errlen)
{
    const char *where = summary ? "configurationItemSummary" : "configurationItem";
    const char *type = NULL, *id = NULL, *when = NULL, *account = NULL, *region = NULL;
    const char *name = NULL, *arn = NULL, *status = NULL, *az = NULL, *ct = NULL;
    const char *freq = NULL;
    char az_region[64];
    int rc;

    if ((rc = s_get_str(item, "resourceType", where, true, &type, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str(item, "resourceId", where, true, &id, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str(item, "configurationItemCaptureTime", where, true, &when, errbuf,
                        errlen)) != WC_OK ||
        (rc = s_get_str2(item, "awsAccountId", "accountId", where, &account, errbuf, errlen)) !=
            WC_OK ||
        (rc = s_get_str(item, "awsRegion", where, false, &region, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str(item, "resourceName", where, false, &name, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str2(item, "ARN", "arn", where, &arn, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str(item, "configurationItemStatus", where, false, &status, errbuf,
                        errlen)) != WC_OK ||
        (rc = s_get_str(item, "availabilityZone", where, false, &az, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str(item, "recordingFrequency", where, false, &freq, errbuf, errlen)) !=
            WC_OK)
        return rc;
    if (summary &&
        (rc = s_get_str(item, "changeType", where, false, &ct, errbuf, errlen)) != WC_OK)
        return rc;
    if (wc_time_parse_iso8601(wc_str_from_cstr(when), &c->capture_time_ms) != WC_OK) {
        s_err(errbuf, errlen, "%s.configurationItemCaptureTime \"%.64s\" is not an ISO 8601 time",
              where, when);
        return WC_ERR_INVALID;
    }
    if (!region && s_region_from_az(az, az_region, sizeof(az_region)))
        region = az_region;
    if (!region && hints->region[0])
        region = hints->region;
    if (!region) {
        s_err(errbuf, errlen, "%s has no awsRegion", where);
        return WC_ERR_INVALID;
    }
    if (!account && hints->account[0])
        account = hints->account;
    if ((rc = s_dup(&c->resource_type, type)) != WC_OK ||
        (rc = s_dup(&c->resource_id, id)) != WC_OK ||
        (rc = s_dup(&c->account_id, account)) != WC_OK ||
        (rc = s_dup(&c->region, region)) != WC_OK ||
        (rc = s_dup(&c->lookup_region, wc_partition_lookup_region(type, region, arn))) != WC_OK ||
        (rc = s_dup(&c->resource_name, name)) != WC_OK ||
        (rc = s_dup(&c->arn, arn)) != WC_OK || (rc = s_dup(&c->status, status)) != WC_OK ||
        (rc = s_dup(&c->recording_frequency, freq && freq[0] ? freq : NULL)) != WC_OK)
        return rc;
    c->lookback_s = wc_change_is_periodic(c) ? WC_PERIODIC_WINDOW_DEFAULT_H * 3600 : 0;
    if ((rc = s_parse_tags(item, c)) != WC_OK)
        return rc;
    if (summary)
        return s_dup(&c->change_type, ct);
    if ((rc = s_parse_related(item, where, c, errbuf, errlen)) != WC_OK)
        return rc;
    return s_parse_diff(diff, c, errbuf, errlen);
}

/* --- message types ------------------------------------------------------ */

static int s_parse_change(const cJSON *msg, const struct s_hints *hints,
                          struct wc_notification *n, char *errbuf, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(msg, "configurationItem");

    n->kind = WC_NOTE_CHANGE;
    if (cJSON_IsArray(item)) {
        /* legacy (2014) shape: an array of items */
        n->n_items = (size_t)cJSON_GetArraySize(item);
        if (n->n_items == 0) {
            s_err(errbuf, errlen, "configurationItem is an empty array");
            return WC_ERR_INVALID;
        }
        item = cJSON_GetArrayItem(item, 0);
        if (!cJSON_IsObject(item)) {
            s_err(errbuf, errlen, "configurationItem[0] is %s, expected an object",
                  s_type_name(item));
            return WC_ERR_INVALID;
        }
    } else if (cJSON_IsObject(item)) {
        n->n_items = 1;
    } else {
        s_err(errbuf, errlen, "configurationItem is %s, expected an object", s_type_name(item));
        return WC_ERR_INVALID;
    }
    return s_parse_item(item, cJSON_GetObjectItemCaseSensitive(msg, "configurationItemDiff"),
                        false, hints, &n->change, errbuf, errlen);
}

static int s_parse_oversized(const cJSON *msg, const struct s_hints *hints,
                             struct wc_notification *n, char *errbuf, size_t errlen)
{
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(msg, "configurationItemSummary");
    const cJSON *s3 = cJSON_GetObjectItemCaseSensitive(msg, "s3DeliverySummary");
    const char *loc = NULL, *path, *slash;
    int rc;

    n->kind = WC_NOTE_OVERSIZED;
    if (!cJSON_IsObject(sum)) {
        s_err(errbuf, errlen, "configurationItemSummary is %s, expected an object",
              s_type_name(sum));
        return WC_ERR_INVALID;
    }
    if (!cJSON_IsObject(s3)) {
        s_err(errbuf, errlen, "s3DeliverySummary is %s, expected an object", s_type_name(s3));
        return WC_ERR_INVALID;
    }
    if ((rc = s_get_str(s3, "s3BucketLocation", "s3DeliverySummary", true, &loc, errbuf,
                        errlen)) != WC_OK)
        return rc;
    path = strncmp(loc, "s3://", 5) == 0 ? loc + 5 : loc;
    slash = strchr(path, '/');
    if (!slash || slash == path || slash[1] == '\0') {
        s_err(errbuf, errlen, "s3DeliverySummary.s3BucketLocation \"%.128s\" is not bucket/key",
              loc);
        return WC_ERR_INVALID;
    }
    n->oversized.s3_bucket = wc_strndup(path, (size_t)(slash - path));
    n->oversized.s3_key = wc_strdup(slash + 1);
    n->oversized.s3_location = wc_strdup(loc);
    if (!n->oversized.s3_bucket || !n->oversized.s3_key || !n->oversized.s3_location)
        return WC_ERR_NOMEM;
    n->n_items = 1;
    return s_parse_item(sum, NULL, true, hints, &n->change, errbuf, errlen);
}

/* The Config JSON itself (SNS Message, raw body, EventBridge detail). */
static int s_parse_config(const cJSON *msg, const struct s_hints *hints,
                          struct wc_notification *n, char *errbuf, size_t errlen)
{
    const char *type = NULL;
    int rc;

    if (!cJSON_IsObject(msg)) {
        s_err(errbuf, errlen, "Config message is %s, expected an object", s_type_name(msg));
        return WC_ERR_INVALID;
    }
    if ((rc = s_get_str(msg, "messageType", "message", false, &type, errbuf, errlen)) != WC_OK)
        return rc;
    if (!type) {
        s_err(errbuf, errlen, "not an AWS Config notification (no messageType)");
        return WC_ERR_INVALID;
    }
    if ((rc = s_dup(&n->message_type, type)) != WC_OK)
        return rc;
    if (strcmp(type, "ConfigurationItemChangeNotification") == 0)
        return s_parse_change(msg, hints, n, errbuf, errlen);
    if (strcmp(type, "OversizedConfigurationItemChangeNotification") == 0)
        return s_parse_oversized(msg, hints, n, errbuf, errlen);
    n->kind = WC_NOTE_OTHER;
    return WC_OK;
}

/* --- envelopes ---------------------------------------------------------- */

static int s_parse_sns(const cJSON *root, struct wc_notification *n, char *errbuf,
                       size_t errlen)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "Message");
    const char *type = NULL, *id = NULL, *topic = NULL, *url = NULL;
    struct s_hints hints = {{0}, {0}};
    cJSON *inner = NULL;
    char sub[256];
    int rc;

    n->envelope = WC_ENV_SNS;
    if ((rc = s_get_str(root, "Type", "SNS envelope", true, &type, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str(root, "MessageId", "SNS envelope", false, &id, errbuf, errlen)) !=
            WC_OK ||
        (rc = s_get_str(root, "TopicArn", "SNS envelope", false, &topic, errbuf, errlen)) !=
            WC_OK)
        return rc;
    if ((rc = s_dup(&n->sns_message_id, id)) != WC_OK ||
        (rc = s_dup(&n->sns_topic_arn, topic)) != WC_OK)
        return rc;
    if (strcmp(type, "Notification") != 0) {
        /* SubscriptionConfirmation, UnsubscribeConfirmation: not Config,
         * but someone must visit its SubscribeURL (the worker says so) */
        n->kind = WC_NOTE_OTHER;
        if ((rc = s_dup(&n->message_type, type)) != WC_OK)
            return rc;
        if (!wc_notification_is_subscription(n))
            return WC_OK;
        if ((rc = s_get_str(root, "SubscribeURL", "SNS envelope", false, &url, errbuf,
                            errlen)) != WC_OK)
            return rc;
        return s_dup(&n->sns_subscribe_url, url);
    }
    /* the topic lives in the region (and account) Config publishes from */
    s_arn_field(topic, 3, hints.region, sizeof(hints.region));
    s_arn_field(topic, 4, hints.account, sizeof(hints.account));
    if (cJSON_IsObject(msg))
        return s_parse_config(msg, &hints, n, errbuf, errlen);
    if (!cJSON_IsString(msg) || !msg->valuestring) {
        s_err(errbuf, errlen, "SNS envelope: Message is %s, expected a JSON string",
              s_type_name(msg));
        return WC_ERR_INVALID;
    }
    if ((rc = s_parse_json(msg->valuestring, strlen(msg->valuestring), "SNS envelope: Message",
                           &inner, errbuf, errlen)) != WC_OK)
        goto out;
    if (!cJSON_IsObject(inner)) {
        s_err(errbuf, errlen, "SNS envelope: Message holds JSON %s, expected an object",
              s_type_name(inner));
        rc = WC_ERR_INVALID;
        goto out;
    }
    if ((rc = s_parse_config(inner, &hints, n, errbuf, errlen)) != WC_OK && errbuf &&
        errlen > 0 && strncmp(errbuf, "SNS", 3) != 0) {
        snprintf(sub, sizeof(sub), "%s", errbuf);
        s_err(errbuf, errlen, "SNS Message: %s", sub);
    }
out:
    cJSON_Delete(inner);
    return rc;
}

static int s_parse_eventbridge(const cJSON *root, struct wc_notification *n, char *errbuf,
                               size_t errlen)
{
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(root, "detail");
    const char *source = NULL, *dtype = NULL, *id = NULL, *region = NULL, *account = NULL;
    struct s_hints hints = {{0}, {0}};
    int rc;

    n->envelope = WC_ENV_EVENTBRIDGE;
    if ((rc = s_get_str(root, "source", "EventBridge event", false, &source, errbuf, errlen)) !=
            WC_OK ||
        (rc = s_get_str(root, "detail-type", "EventBridge event", false, &dtype, errbuf,
                        errlen)) != WC_OK ||
        (rc = s_get_str(root, "id", "EventBridge event", false, &id, errbuf, errlen)) != WC_OK ||
        (rc = s_get_str(root, "region", "EventBridge event", false, &region, errbuf, errlen)) !=
            WC_OK ||
        (rc = s_get_str(root, "account", "EventBridge event", false, &account, errbuf,
                        errlen)) != WC_OK)
        return rc;
    if (!source || strcmp(source, "aws.config") != 0) {
        s_err(errbuf, errlen, "EventBridge event from source \"%.64s\", not aws.config",
              source ? source : "(none)");
        return WC_ERR_INVALID;
    }
    if (!cJSON_IsObject(detail)) {
        s_err(errbuf, errlen, "EventBridge event: detail is %s, expected an object",
              s_type_name(detail));
        return WC_ERR_INVALID;
    }
    if ((rc = s_dup(&n->sns_message_id, id)) != WC_OK)
        return rc;
    s_hint_copy(hints.region, sizeof(hints.region), region);
    s_hint_copy(hints.account, sizeof(hints.account), account);
    if (!cJSON_GetObjectItemCaseSensitive(detail, "messageType") && dtype &&
        strcmp(dtype, "Config Configuration Item Change") != 0) {
        /* another Config event kind without a messageType: not a change */
        n->kind = WC_NOTE_OTHER;
        return s_dup(&n->message_type, dtype);
    }
    return s_parse_config(detail, &hints, n, errbuf, errlen);
}

static bool s_is_sns(const cJSON *root)
{
    return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "Type")) &&
           (cJSON_GetObjectItemCaseSensitive(root, "Message") ||
            cJSON_GetObjectItemCaseSensitive(root, "TopicArn"));
}

static bool s_is_eventbridge(const cJSON *root)
{
    return cJSON_GetObjectItemCaseSensitive(root, "detail-type") ||
           (cJSON_GetObjectItemCaseSensitive(root, "source") &&
            cJSON_GetObjectItemCaseSensitive(root, "detail"));
}

/* --- validation --------------------------------------------------------- */

/* A capture time may be at most this far ahead of our clock (skew). */
#define S_CAPTURE_AHEAD_MS ((int64_t)24 * 3600 * 1000)

/* The change's identifiers have the shapes AWS gives them and its capture
 * time is plausible (2005-01-01, before AWS itself, to now + 1 day). A
 * message failing this is permanently invalid: looking it up could only
 * fail, and retrying it every 30 s would never end; it goes to the DLQ. */
static int s_validate_change(const struct wc_change *c, int64_t now_ms, char *errbuf,
                             size_t errlen)
{
    const int64_t min_ms = wc_time_from_civil(2005, 1, 1, 0, 0, 0) * 1000;
    char when[WC_TIME_ISO_MAX];

    if (c->account_id && !wc_account_id_is_valid(c->account_id)) {
        s_err(errbuf, errlen, "account id \"%.32s\" is not 12 digits", c->account_id);
        return WC_ERR_INVALID;
    }
    if (!c->region || (strcmp(c->region, "global") != 0 && !wc_region_is_valid(c->region))) {
        s_err(errbuf, errlen, "region \"%.32s\" is not an AWS region (such as eu-west-1) "
              "nor \"global\"", c->region ? c->region : "");
        return WC_ERR_INVALID;
    }
    if (c->capture_time_ms < min_ms || c->capture_time_ms > now_ms + S_CAPTURE_AHEAD_MS) {
        wc_time_format_iso8601(c->capture_time_ms, when);
        s_err(errbuf, errlen, "configurationItemCaptureTime %s is before 2005 or more than a "
              "day ahead of now", when);
        return WC_ERR_INVALID;
    }
    return WC_OK;
}

static int s_validate(const struct wc_notification *n, int64_t now_ms, char *errbuf,
                      size_t errlen)
{
    if (n->kind != WC_NOTE_CHANGE && n->kind != WC_NOTE_OVERSIZED)
        return WC_OK;
    return s_validate_change(&n->change, now_ms, errbuf, errlen);
}

int wc_notification_parse(struct wc_str body, struct wc_notification **out, char *errbuf,
                          size_t errlen)
{
    return wc_notification_parse_at(body, wc_clock_now_ms(NULL), out, errbuf, errlen);
}

int wc_notification_parse_at(struct wc_str body, int64_t now_ms, struct wc_notification **out,
                             char *errbuf, size_t errlen)
{
    struct wc_notification *n = NULL;
    struct s_hints hints = {{0}, {0}};
    cJSON *root = NULL;
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out) {
        s_err(errbuf, errlen, "no output");
        return WC_ERR_INVALID;
    }
    *out = NULL;
    if (!body.ptr || body.len == 0) {
        s_err(errbuf, errlen, "empty message body");
        return WC_ERR_PARSE;
    }
    if (body.len > WC_NOTIFICATION_MAX_BYTES) {
        s_err(errbuf, errlen, "message body is %zu bytes, over the %zu-byte limit", body.len,
              WC_NOTIFICATION_MAX_BYTES);
        return WC_ERR_TOO_LARGE;
    }
    if ((rc = s_parse_json(body.ptr, body.len, "message body", &root, errbuf, errlen)) != WC_OK)
        goto out;
    if (!cJSON_IsObject(root)) {
        s_err(errbuf, errlen, "message body holds JSON %s, expected an object",
              s_type_name(root));
        rc = WC_ERR_INVALID;
        goto out;
    }
    n = calloc(1, sizeof(*n));
    if (!n) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    if (s_is_sns(root)) {
        rc = s_parse_sns(root, n, errbuf, errlen);
    } else if (s_is_eventbridge(root)) {
        rc = s_parse_eventbridge(root, n, errbuf, errlen);
    } else {
        n->envelope = WC_ENV_RAW;
        rc = s_parse_config(root, &hints, n, errbuf, errlen);
    }
    if (rc == WC_OK)
        rc = s_validate(n, now_ms, errbuf, errlen);
out:
    cJSON_Delete(root);
    if (rc != WC_OK) {
        if (rc == WC_ERR_NOMEM)
            s_err(errbuf, errlen, "out of memory parsing the notification");
        wc_notification_destroy(n);
        return rc;
    }
    *out = n;
    return WC_OK;
}

int wc_notification_parse_oversized_object(struct wc_str json, struct wc_notification **out,
                                           char *errbuf, size_t errlen)
{
    struct wc_notification *n = NULL;
    struct s_hints hints = {{0}, {0}};
    const char *type = NULL;
    cJSON *root = NULL;
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out) {
        s_err(errbuf, errlen, "no output");
        return WC_ERR_INVALID;
    }
    *out = NULL;
    if (!json.ptr || json.len == 0) {
        s_err(errbuf, errlen, "empty oversized item object");
        return WC_ERR_PARSE;
    }
    if (json.len > WC_OVERSIZED_OBJECT_MAX_BYTES) {
        s_err(errbuf, errlen, "oversized item object is %zu bytes, over the %zu-byte limit",
              json.len, WC_OVERSIZED_OBJECT_MAX_BYTES);
        return WC_ERR_TOO_LARGE;
    }
    if ((rc = s_parse_json(json.ptr, json.len, "oversized item object", &root, errbuf,
                           errlen)) != WC_OK)
        goto out;
    if (!cJSON_IsObject(root)) {
        s_err(errbuf, errlen, "oversized item object holds JSON %s, expected an object",
              s_type_name(root));
        rc = WC_ERR_INVALID;
        goto out;
    }
    if ((rc = s_get_str(root, "messageType", "oversized item object", false, &type, errbuf,
                        errlen)) != WC_OK)
        goto out;
    if (type && strcmp(type, "ConfigurationItemChangeNotification") != 0) {
        s_err(errbuf, errlen, "oversized item object has messageType %.80s, expected "
              "ConfigurationItemChangeNotification", type);
        rc = WC_ERR_INVALID;
        goto out;
    }
    n = calloc(1, sizeof(*n));
    if (!n || (n->message_type = wc_strdup("ConfigurationItemChangeNotification")) == NULL) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    n->envelope = WC_ENV_RAW;
    rc = s_parse_change(root, &hints, n, errbuf, errlen);
    if (rc == WC_OK)
        rc = s_validate(n, wc_clock_now_ms(NULL), errbuf, errlen);
out:
    cJSON_Delete(root);
    if (rc != WC_OK) {
        if (rc == WC_ERR_NOMEM)
            s_err(errbuf, errlen, "out of memory parsing the oversized item object");
        wc_notification_destroy(n);
        return rc;
    }
    *out = n;
    return WC_OK;
}

/* --- helpers ------------------------------------------------------------ */

bool wc_notification_is_subscription(const struct wc_notification *n)
{
    return n && n->kind == WC_NOTE_OTHER && n->envelope == WC_ENV_SNS && n->message_type &&
           (strcmp(n->message_type, "SubscriptionConfirmation") == 0 ||
            strcmp(n->message_type, "UnsubscribeConfirmation") == 0);
}

bool wc_change_is_periodic(const struct wc_change *c)
{
    return c && !wc_str_empty(c->recording_frequency) &&
           strcasecmp(c->recording_frequency, "CONTINUOUS") != 0;
}

void wc_change_window(const struct wc_change *c, int skew_s, int64_t *start_ms, int64_t *end_ms)
{
    int64_t skew_ms = (int64_t)(skew_s > 0 ? skew_s : 0) * 1000;
    int64_t back_ms = (int64_t)(c->lookback_s > 0 ? c->lookback_s : 0) * 1000;

    *start_ms = c->capture_time_ms - back_ms - skew_ms;
    *end_ms = c->capture_time_ms + skew_ms;
}

const char *wc_change_tag(const struct wc_change *c, const char *key)
{
    for (size_t i = 0; c && key && i < c->tag_keys.len && i < c->tag_values.len; i++)
        if (strcmp(c->tag_keys.items[i], key) == 0)
            return c->tag_values.items[i];
    return NULL;
}

/* --- ownership ---------------------------------------------------------- */

void wc_change_clean_up(struct wc_change *c)
{
    if (!c)
        return;
    free(c->account_id);
    free(c->region);
    free(c->lookup_region);
    free(c->resource_type);
    free(c->resource_id);
    free(c->resource_name);
    free(c->arn);
    free(c->status);
    free(c->change_type);
    free(c->recording_frequency);
    wc_strlist_clean_up(&c->related_event_ids);
    wc_strlist_clean_up(&c->tag_keys);
    wc_strlist_clean_up(&c->tag_values);
    for (size_t i = 0; c->props && i < c->n_props; i++) {
        free(c->props[i].path);
        free(c->props[i].change);
        free(c->props[i].before);
        free(c->props[i].after);
        free(c->props[i].before_summary);
        free(c->props[i].after_summary);
    }
    free(c->props);
    memset(c, 0, sizeof(*c));
}

/* dst is overwritten (not freed first); on failure it is left empty. */
int wc_change_copy(struct wc_change *dst, const struct wc_change *src)
{
    int rc;

    if (!dst)
        return WC_ERR_INVALID;
    memset(dst, 0, sizeof(*dst));
    if (!src)
        return WC_ERR_INVALID;
    dst->capture_time_ms = src->capture_time_ms;
    dst->n_props_total = src->n_props_total;
    dst->lookback_s = src->lookback_s;
    if ((rc = s_dup(&dst->account_id, src->account_id)) != WC_OK ||
        (rc = s_dup(&dst->region, src->region)) != WC_OK ||
        (rc = s_dup(&dst->lookup_region, src->lookup_region)) != WC_OK ||
        (rc = s_dup(&dst->resource_type, src->resource_type)) != WC_OK ||
        (rc = s_dup(&dst->resource_id, src->resource_id)) != WC_OK ||
        (rc = s_dup(&dst->resource_name, src->resource_name)) != WC_OK ||
        (rc = s_dup(&dst->arn, src->arn)) != WC_OK ||
        (rc = s_dup(&dst->status, src->status)) != WC_OK ||
        (rc = s_dup(&dst->change_type, src->change_type)) != WC_OK ||
        (rc = s_dup(&dst->recording_frequency, src->recording_frequency)) != WC_OK ||
        (rc = wc_strlist_copy(&dst->related_event_ids, &src->related_event_ids)) != WC_OK ||
        (rc = wc_strlist_copy(&dst->tag_keys, &src->tag_keys)) != WC_OK ||
        (rc = wc_strlist_copy(&dst->tag_values, &src->tag_values)) != WC_OK)
        goto out;
    if (src->n_props > 0) {
        dst->props = calloc(src->n_props, sizeof(*dst->props));
        if (!dst->props) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < src->n_props; i++) {
            const struct wc_changed_property *s = &src->props[i];
            struct wc_changed_property *d = &dst->props[i];

            dst->n_props = i + 1;
            if ((rc = s_dup(&d->path, s->path)) != WC_OK ||
                (rc = s_dup(&d->change, s->change)) != WC_OK ||
                (rc = s_dup(&d->before, s->before)) != WC_OK ||
                (rc = s_dup(&d->after, s->after)) != WC_OK ||
                (rc = s_dup(&d->before_summary, s->before_summary)) != WC_OK ||
                (rc = s_dup(&d->after_summary, s->after_summary)) != WC_OK)
                goto out;
        }
    }
    rc = WC_OK;
out:
    if (rc != WC_OK)
        wc_change_clean_up(dst);
    return rc;
}

void wc_notification_destroy(struct wc_notification *n)
{
    if (!n)
        return;
    free(n->message_type);
    free(n->sns_message_id);
    free(n->sns_topic_arn);
    free(n->sns_subscribe_url);
    wc_change_clean_up(&n->change);
    free(n->oversized.s3_bucket);
    free(n->oversized.s3_key);
    free(n->oversized.s3_location);
    free(n);
}
