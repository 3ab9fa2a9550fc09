/* evstream.c - EventBridge "AWS API Call via CloudTrail" events from SQS.
 *
 * One cJSON parse of the body (two with an SNS envelope: the Message is a
 * string holding the event), the record handed to the parser of
 * wc_events_parse (core/event_internal.h), then the ResourceNames
 * LookupEvents would list for it derived from resources[],
 * requestParameters and responseElements (evstream.h). cJSON trees stay in
 * wc_evstream_parse.
 */
#include "core/evstream.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/awsid.h"
#include "core/err.h"
#include "core/event_internal.h"

#define S_WALK_MAX_DEPTH 32

static const char *const s_kind_names[] = {
    [WC_EVSTREAM_EVENT] = "event",
    [WC_EVSTREAM_OTHER_TYPE] = "other_type",
    [WC_EVSTREAM_READ_ONLY] = "read_only",
    [WC_EVSTREAM_NOT_A_CALL] = "not_a_call",
    [WC_EVSTREAM_NO_RESOURCE] = "no_resource",
    [WC_EVSTREAM_SNS_CONTROL] = "sns_control",
};

const char *wc_evstream_kind_name(enum wc_evstream_kind k)
{
    if (k < WC_EVSTREAM_EVENT || k > WC_EVSTREAM_SNS_CONTROL)
        return "unknown";
    return s_kind_names[k];
}

void wc_evstream_msg_clean_up(struct wc_evstream_msg *m)
{
    if (!m)
        return;
    wc_event_clean_up(&m->event);
    memset(m, 0, sizeof(*m));
}

static int s_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (errbuf && errlen) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static const char *s_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool s_only_space(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
    return true;
}

/* A whole JSON document of len bytes (nothing but blanks after it). */
static cJSON *s_parse_json(const char *p, size_t len)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(p, len, &end, false);

    if (root && !s_only_space(end, p + len)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return root;
}

/* --- derived ResourceNames ------------------------------------------------- */

static bool s_ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Does a requestParameters / responseElements key name a resource? */
static bool s_naming_key(const char *key)
{
    static const char *const suffixes[] = {"Id",   "Ids",  "Name",       "Names", "Arn",
                                           "Arns", "ARN",  "Identifier", "Url",   "URL"};
    static const char *const not_names[] = {"requestId", "accountId", "ownerId", "requesterId"};
    size_t n;

    if (!key)
        return false;
    for (size_t i = 0; i < sizeof(not_names) / sizeof(not_names[0]); i++)
        if (!strcmp(key, not_names[i]))
            return false;
    n = strlen(key);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (s_ends_with(key, n, suffixes[i]))
            return true;
    return false;
}

static bool s_has_name(const struct wc_event *e, size_t from, const char *v)
{
    for (size_t i = from; i < e->n_resources; i++)
        if (e->resources[i].name && !strcmp(e->resources[i].name, v))
            return true;
    return false;
}

/* Append {type, name} unless the name is empty, too long, already there
 * (from index `from`: the derived entries) or over the cap. */
static int s_add_name(struct wc_event *e, size_t from, const char *type, const char *name)
{
    struct wc_event_resource *n;
    size_t len;

    if (!name || !*name || e->n_resources - from >= WC_EVSTREAM_MAX_NAMES)
        return WC_OK;
    len = strlen(name);
    if (len > WC_EVSTREAM_NAME_MAX_BYTES || s_has_name(e, from, name))
        return WC_OK;
    n = realloc(e->resources, (e->n_resources + 1) * sizeof(*n));
    if (!n)
        return WC_ERR_NOMEM;
    e->resources = n;
    memset(&n[e->n_resources], 0, sizeof(*n));
    if (!(n[e->n_resources].name = wc_strndup(name, len)))
        return WC_ERR_NOMEM;
    if (type && !(n[e->n_resources].type = wc_strdup(type))) {
        free(n[e->n_resources].name);
        n[e->n_resources].name = NULL;
        return WC_ERR_NOMEM;
    }
    e->n_resources++;
    return WC_OK;
}

static int s_walk(const cJSON *node, const char *key, int depth, struct wc_event *e, size_t from)
{
    const cJSON *child;
    int rc;

    if (!node || depth > S_WALK_MAX_DEPTH)
        return WC_OK;
    if (cJSON_IsString(node) && node->valuestring) {
        if (s_naming_key(key) || !strncmp(node->valuestring, "arn:", 4))
            return s_add_name(e, from, NULL, node->valuestring);
        return WC_OK;
    }
    if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
        return WC_OK;
    cJSON_ArrayForEach(child, node)
    {
        if (e->n_resources - from >= WC_EVSTREAM_MAX_NAMES)
            break;
        /* an array's elements go by the array's key */
        if ((rc = s_walk(child, cJSON_IsObject(node) ? child->string : key, depth + 1, e,
                         from)) != WC_OK)
            return rc;
    }
    return WC_OK;
}

/* The Resources LookupEvents would list, appended after the record's own
 * resources[] entries. */
static int s_derive_names(const cJSON *rec, struct wc_event *e)
{
    size_t from = e->n_resources; /* the record's own entries come before */
    int rc;

    for (size_t i = 0; i < from; i++)
        if ((rc = s_add_name(e, from, e->resources[i].type, e->resources[i].arn)) != WC_OK)
            return rc;
    if ((rc = s_walk(cJSON_GetObjectItemCaseSensitive(rec, "requestParameters"), NULL, 0, e,
                     from)) != WC_OK)
        return rc;
    return s_walk(cJSON_GetObjectItemCaseSensitive(rec, "responseElements"), NULL, 0, e, from);
}

/* --- the message ------------------------------------------------------------ */

static bool s_is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

/* Fill a missing account or region of the record from the envelope; both
 * must then be valid. */
static int s_fill_origin(const cJSON *ev, struct wc_event *e, char *errbuf, size_t errlen)
{
    const char *account = s_string(ev, "account"), *region = s_string(ev, "region");

    if (wc_str_empty(e->recipient_account_id)) {
        free(e->recipient_account_id);
        if (!(e->recipient_account_id = wc_strdup(account ? account : "")))
            return s_fail(errbuf, errlen, WC_ERR_NOMEM, "out of memory");
    }
    if (wc_str_empty(e->aws_region)) {
        free(e->aws_region);
        if (!(e->aws_region = wc_strdup(region ? region : "")))
            return s_fail(errbuf, errlen, WC_ERR_NOMEM, "out of memory");
    }
    if (!wc_account_id_is_valid(e->recipient_account_id))
        return s_fail(errbuf, errlen, WC_ERR_INVALID,
                      "event %s: recipientAccountId is not a 12-digit account id",
                      e->event_id);
    if (!wc_region_is_valid(e->aws_region))
        return s_fail(errbuf, errlen, WC_ERR_INVALID, "event %s: awsRegion is not a region",
                      e->event_id);
    return WC_OK;
}

/* The EventBridge event ev (an object). */
static int s_parse_event(const cJSON *ev, struct wc_evstream_msg *out, char *errbuf,
                         size_t errlen)
{
    const char *dtype = s_string(ev, "detail-type");
    const cJSON *detail;
    struct wc_event *e = &out->event;
    int rc;

    if (!s_is(dtype, "AWS API Call via CloudTrail") &&
        !s_is(dtype, "AWS Service Event via CloudTrail")) {
        out->kind = WC_EVSTREAM_OTHER_TYPE;
        return WC_OK;
    }
    detail = cJSON_GetObjectItemCaseSensitive(ev, "detail");
    if (!cJSON_IsObject(detail))
        return s_fail(errbuf, errlen, WC_ERR_INVALID, "%s: detail is not an object", dtype);
    if ((rc = wc_event_parse_record(detail, e, errbuf, errlen)) != WC_OK)
        return rc;
    if (e->read_only) {
        out->kind = WC_EVSTREAM_READ_ONLY;
    } else if (e->event_type && !s_is(e->event_type, "AwsApiCall") &&
               !s_is(e->event_type, "AwsServiceEvent")) {
        out->kind = WC_EVSTREAM_NOT_A_CALL;
    } else {
        if ((rc = s_fill_origin(ev, e, errbuf, errlen)) != WC_OK)
            return rc;
        if ((rc = s_derive_names(detail, e)) != WC_OK)
            return s_fail(errbuf, errlen, rc, "out of memory");
        out->kind = e->n_resources || e->param_strings.len ? WC_EVSTREAM_EVENT
                                                           : WC_EVSTREAM_NO_RESOURCE;
    }
    if (out->kind != WC_EVSTREAM_EVENT)
        wc_event_clean_up(e);
    return WC_OK;
}

int wc_evstream_parse(struct wc_str body, struct wc_evstream_msg *out, char *errbuf,
                      size_t errlen)
{
    cJSON *root = NULL, *inner = NULL;
    const cJSON *ev;
    const char *type, *msg;
    size_t bad;
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out)
        return s_fail(errbuf, errlen, WC_ERR_INVALID, "no output");
    memset(out, 0, sizeof(*out));
    if (!body.ptr || !body.len) {
        rc = s_fail(errbuf, errlen, WC_ERR_PARSE, "empty body");
        goto out;
    }
    if (body.len > WC_EVSTREAM_MAX_BYTES) {
        rc = s_fail(errbuf, errlen, WC_ERR_TOO_LARGE, "body is %zu bytes, over the %zu byte cap",
                    body.len, WC_EVSTREAM_MAX_BYTES);
        goto out;
    }
    if ((bad = wc_utf8_valid_prefix(body.ptr, body.len)) < body.len) {
        rc = s_fail(errbuf, errlen, WC_ERR_PARSE, "not valid UTF-8 at byte %zu", bad);
        goto out;
    }
    if (!(root = s_parse_json(body.ptr, body.len)) || !cJSON_IsObject(root)) {
        rc = s_fail(errbuf, errlen, WC_ERR_PARSE, "not a JSON object");
        goto out;
    }
    ev = root;
    type = s_string(root, "Type");
    if (type && !cJSON_GetObjectItemCaseSensitive(root, "detail-type")) {
        /* an SNS envelope */
        out->sns = true;
        if (s_is(type, "SubscriptionConfirmation") || s_is(type, "UnsubscribeConfirmation")) {
            out->kind = WC_EVSTREAM_SNS_CONTROL;
            rc = WC_OK;
            goto out;
        }
        if (!s_is(type, "Notification")) {
            rc = s_fail(errbuf, errlen, WC_ERR_INVALID, "SNS envelope: unknown Type");
            goto out;
        }
        if (!(msg = s_string(root, "Message"))) {
            rc = s_fail(errbuf, errlen, WC_ERR_INVALID, "SNS envelope: no Message string");
            goto out;
        }
        if (!(inner = s_parse_json(msg, strlen(msg))) || !cJSON_IsObject(inner)) {
            rc = s_fail(errbuf, errlen, WC_ERR_PARSE,
                        "SNS envelope: Message is not a JSON object");
            goto out;
        }
        ev = inner;
    }
    rc = s_parse_event(ev, out, errbuf, errlen);
out:
    cJSON_Delete(inner);
    cJSON_Delete(root);
    if (rc != WC_OK) {
        wc_event_clean_up(&out->event);
        memset(out, 0, sizeof(*out));
    } else if (errbuf && errlen) {
        errbuf[0] = '\0';
    }
    return rc;
}
