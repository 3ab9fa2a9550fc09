/* event.c - CloudTrail events: LookupEvents pages, log files, records.
 *
 * cJSON only, no I/O. Every document is parsed into a private array first and
 * appended to the caller's list only when all of it parsed, so a failure
 * leaves the list exactly as it was. A record (or LookupEvents entry) that
 * cannot be used is skipped and counted, never the reason a page fails: one
 * odd record must not hide the others (event.h).
 *
 * Hardening against hostile input:
 *   - the input is capped at WC_EVENTS_MAX_BYTES and WC_EVENTS_MAX events;
 *   - cJSON refuses nesting deeper than CJSON_NESTING_LIMIT (1000), and our
 *     own requestParameters walk stops at S_PARAM_MAX_DEPTH;
 *   - a string field we keep is at most S_FIELD_MAX_BYTES (WC_ERR_TOO_LARGE
 *     otherwise: no real CloudTrail field comes close, and nothing bigger
 *     should reach a log line or a Slack message); requestParameters values
 *     longer than S_PARAM_MAX_BYTES are skipped, not kept;
 *   - trailing bytes after the JSON document are rejected.
 *
 * Derived fields: identity.session_name is the last part of an
 * "assumed-role/ROLE/SESSION" or "federated-user/NAME" ARN; when the record
 * has no sessionContext.sessionIssuer.userName, identity.issuer_user_name is
 * ROLE from such an ARN. A successful parse replaces list->next_token with
 * the input's NextToken (NULL when it has none).
 */
#include "core/event.h"
#include "core/event_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/err.h"

#define S_FIELD_MAX_BYTES ((size_t)64 * 1024)
#define S_PARAM_MAX_BYTES ((size_t)2048)
#define S_PARAM_MAX_DEPTH 32
/* 9999-12-31T23:59:59Z: anything later in EventTime is garbage. */
#define S_EPOCH_MAX_S 253402300799.0

struct s_ctx {
    char *errbuf;
    size_t errlen;
    size_t skipped;       /* records left out of this document */
    char first_skip[160]; /* why the first one was */
};

/* Events being parsed, not yet handed to the caller. */
struct s_vec {
    struct wc_event *items;
    size_t len;
    size_t cap;
};

static int s_fail(struct s_ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct s_ctx *c, int rc, const char *fmt, ...)
{
    va_list ap;

    if (c->errbuf && c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->errbuf, c->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int s_nomem(struct s_ctx *c)
{
    return s_fail(c, WC_ERR_NOMEM, "out of memory");
}

/* A record failed with rc: out of memory fails the document (returned);
 * anything else skips the record (WC_OK), keeping the first reason. */
static int s_skip_or_fail(struct s_ctx *c, int rc)
{
    if (rc == WC_OK || rc == WC_ERR_NOMEM)
        return rc;
    if (c->skipped++ == 0)
        snprintf(c->first_skip, sizeof(c->first_skip), "%s",
                 c->errbuf && c->errlen ? c->errbuf : "unusable record");
    if (c->errbuf && c->errlen)
        c->errbuf[0] = '\0';
    return WC_OK;
}

/* Copy a (possibly absent) string member. Absent or null leaves *out NULL;
 * any other non-string type is WC_ERR_INVALID. */
static int s_get_str(struct s_ctx *c, const char *where, const cJSON *obj, const char *key,
                     char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t n;

    if (!v || cJSON_IsNull(v))
        return WC_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return s_fail(c, WC_ERR_INVALID, "%s: %s is not a string", where, key);
    n = strlen(v->valuestring);
    if (n > S_FIELD_MAX_BYTES)
        return s_fail(c, WC_ERR_TOO_LARGE, "%s: %s is longer than %zu bytes", where, key,
                      S_FIELD_MAX_BYTES);
    free(*out);
    if (!(*out = wc_strndup(v->valuestring, n)))
        return s_nomem(c);
    return WC_OK;
}

/* A member that must be an object when present. *out is NULL when absent/null. */
static int s_get_obj(struct s_ctx *c, const char *where, const cJSON *obj, const char *key,
                     const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return WC_OK;
    if (!cJSON_IsObject(v))
        return s_fail(c, WC_ERR_INVALID, "%s: %s is not an object", where, key);
    *out = v;
    return WC_OK;
}

static int s_get_array(struct s_ctx *c, const char *where, const cJSON *obj, const char *key,
                       const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return WC_OK;
    if (!cJSON_IsArray(v))
        return s_fail(c, WC_ERR_INVALID, "%s: %s is not an array", where, key);
    *out = v;
    return WC_OK;
}

/* true/false as a JSON bool or as the string "true"/"false" (CloudTrail
 * writes sessionCredentialFromConsole and LookupEvents ReadOnly as strings).
 * *present tells whether the member was there. */
static int s_get_boolish(struct s_ctx *c, const char *where, const cJSON *obj, const char *key,
                         bool *present, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *present = false;
    if (!v || cJSON_IsNull(v))
        return WC_OK;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
    } else if (cJSON_IsString(v) && v->valuestring) {
        *out = strcasecmp(v->valuestring, "true") == 0;
    } else {
        return s_fail(c, WC_ERR_INVALID, "%s: %s is neither a boolean nor a string", where,
                      key);
    }
    *present = true;
    return WC_OK;
}

/* The resource part of an ARN: after the fifth ':'. NULL if not an ARN. */
static const char *s_arn_resource(const char *arn)
{
    const char *p = arn;

    if (!arn || strncmp(arn, "arn:", 4) != 0)
        return NULL;
    for (int i = 0; i < 5; i++) {
        p = strchr(p, ':');
        if (!p)
            return NULL;
        p++;
    }
    return p;
}

/* From "…:assumed-role/ROLE/SESSION" take ROLE and SESSION; from
 * "…:federated-user/NAME" take NAME as the session. Outputs are left NULL
 * when the ARN has another shape. */
static int s_arn_session(const char *arn, char **role, char **session)
{
    const char *res = s_arn_resource(arn);
    const char *rest, *first, *last;

    *role = NULL;
    *session = NULL;
    if (!res)
        return WC_OK;
    if (strncmp(res, "assumed-role/", 13) == 0) {
        rest = res + 13;
        first = strchr(rest, '/');
        last = strrchr(rest, '/');
        if (!first || first == rest || last[1] == '\0')
            return WC_OK;
        if (!(*role = wc_strndup(rest, (size_t)(first - rest))))
            return WC_ERR_NOMEM;
        if (!(*session = wc_strdup(last + 1))) {
            free(*role);
            *role = NULL;
            return WC_ERR_NOMEM;
        }
    } else if (strncmp(res, "federated-user/", 15) == 0) {
        last = strrchr(res, '/');
        if (last[1] == '\0')
            return WC_OK;
        if (!(*session = wc_strdup(last + 1)))
            return WC_ERR_NOMEM;
    }
    return WC_OK;
}

/* sessionContext.attributes.mfaAuthenticated ("true"/"false", or a
 * boolean) as WC_MFA_*. Shown, never acted on: an odd type is "unknown",
 * not a reason to skip the record. */
static int s_parse_mfa(const cJSON *sc)
{
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(sc, "attributes");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, "mfaAuthenticated");

    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? WC_MFA_YES : WC_MFA_NO;
    if (cJSON_IsString(v) && v->valuestring) {
        if (strcasecmp(v->valuestring, "true") == 0)
            return WC_MFA_YES;
        if (strcasecmp(v->valuestring, "false") == 0)
            return WC_MFA_NO;
    }
    return WC_MFA_UNKNOWN;
}

static int s_parse_identity(struct s_ctx *c, const char *where, const cJSON *rec,
                            struct wc_user_identity *id)
{
    const cJSON *ui = NULL, *sc = NULL, *issuer = NULL, *obo = NULL;
    char *role = NULL, *session = NULL;
    int rc;

    if ((rc = s_get_obj(c, where, rec, "userIdentity", &ui)) != WC_OK || !ui)
        return rc;
    if ((rc = s_get_str(c, where, ui, "type", &id->type)) != WC_OK ||
        (rc = s_get_str(c, where, ui, "principalId", &id->principal_id)) != WC_OK ||
        (rc = s_get_str(c, where, ui, "accessKeyId", &id->access_key_id)) != WC_OK ||
        (rc = s_get_str(c, where, ui, "arn", &id->arn)) != WC_OK ||
        (rc = s_get_str(c, where, ui, "accountId", &id->account_id)) != WC_OK ||
        (rc = s_get_str(c, where, ui, "userName", &id->user_name)) != WC_OK ||
        (rc = s_get_str(c, where, ui, "invokedBy", &id->invoked_by)) != WC_OK ||
        (rc = s_get_obj(c, where, ui, "sessionContext", &sc)) != WC_OK ||
        (rc = s_get_obj(c, where, ui, "onBehalfOf", &obo)) != WC_OK)
        return rc;
    if (sc) {
        if ((rc = s_get_obj(c, where, sc, "sessionIssuer", &issuer)) != WC_OK)
            return rc;
        if (issuer &&
            ((rc = s_get_str(c, where, issuer, "type", &id->issuer_type)) != WC_OK ||
             (rc = s_get_str(c, where, issuer, "arn", &id->issuer_arn)) != WC_OK ||
             (rc = s_get_str(c, where, issuer, "userName", &id->issuer_user_name)) != WC_OK))
            return rc;
        if ((rc = s_get_str(c, where, sc, "sourceIdentity", &id->identity_store_user)) != WC_OK)
            return rc;
        id->mfa = s_parse_mfa(sc);
    }
    /* onBehalfOf.userId (IAM Identity Center) wins over sourceIdentity. */
    if (obo && (rc = s_get_str(c, where, obo, "userId", &id->identity_store_user)) != WC_OK)
        return rc;

    if (s_arn_session(id->arn, &role, &session) != WC_OK)
        return s_nomem(c);
    id->session_name = session;
    /* The role behind an assumed-role session, when the issuer is missing:
     * the ARN names it (without its path). */
    if (!id->issuer_user_name) {
        id->issuer_user_name = role;
        role = NULL;
    }
    free(role);
    return WC_OK;
}

/* Collect string values of requestParameters, depth-first, in document order. */
static int s_collect_params(const cJSON *node, int depth, struct wc_strlist *out)
{
    const cJSON *child;
    int rc;

    if (!node || depth > S_PARAM_MAX_DEPTH)
        return WC_OK;
    if (cJSON_IsString(node) && node->valuestring) {
        size_t n = strlen(node->valuestring);

        if (n > S_PARAM_MAX_BYTES || out->len >= WC_EVENT_MAX_PARAM_STRINGS)
            return WC_OK;
        return wc_strlist_push_n(out, node->valuestring, n);
    }
    if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
        return WC_OK;
    cJSON_ArrayForEach(child, node)
    {
        if (out->len >= WC_EVENT_MAX_PARAM_STRINGS)
            break;
        if ((rc = s_collect_params(child, depth + 1, out)) != WC_OK)
            return rc;
    }
    return WC_OK;
}

static int s_push_resource(struct wc_event *e, struct wc_event_resource *r)
{
    struct wc_event_resource *n;

    n = realloc(e->resources, (e->n_resources + 1) * sizeof(*n));
    if (!n)
        return WC_ERR_NOMEM;
    e->resources = n;
    e->resources[e->n_resources++] = *r;
    memset(r, 0, sizeof(*r));
    return WC_OK;
}

static void s_resource_clean_up(struct wc_event_resource *r)
{
    free(r->type);
    free(r->name);
    free(r->arn);
    memset(r, 0, sizeof(*r));
}

/* resources[] of a record ({"ARN","type","accountId"}) or Resources[] of a
 * LookupEvents entry ({"ResourceType","ResourceName"}). */
static int s_parse_resources(struct s_ctx *c, const char *where, const cJSON *obj,
                             bool lookup, struct wc_event *e)
{
    const cJSON *arr = NULL, *it;
    struct wc_event_resource r = {0};
    const char *key = lookup ? "Resources" : "resources";
    int rc;

    if ((rc = s_get_array(c, where, obj, key, &arr)) != WC_OK || !arr)
        return rc;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsObject(it)) {
            rc = s_fail(c, WC_ERR_INVALID, "%s: %s[] entry is not an object", where, key);
            goto out;
        }
        if (lookup) {
            if ((rc = s_get_str(c, where, it, "ResourceType", &r.type)) != WC_OK ||
                (rc = s_get_str(c, where, it, "ResourceName", &r.name)) != WC_OK)
                goto out;
        } else {
            if ((rc = s_get_str(c, where, it, "type", &r.type)) != WC_OK ||
                (rc = s_get_str(c, where, it, "ARN", &r.arn)) != WC_OK)
                goto out;
        }
        if ((rc = s_push_resource(e, &r)) != WC_OK) {
            rc = s_nomem(c);
            goto out;
        }
    }
out:
    s_resource_clean_up(&r);
    return rc;
}

/* LookupEvents EventTime: epoch seconds as a JSON number (integer, fraction
 * or exponent form). A string is tried as ISO 8601. */
static int s_lookup_time(struct s_ctx *c, const char *where, const cJSON *entry, bool *ok,
                         int64_t *ms)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "EventTime");

    *ok = false;
    if (!v || cJSON_IsNull(v))
        return WC_OK;
    if (cJSON_IsNumber(v)) {
        double s = v->valuedouble;

        if (isfinite(s) && s >= 0 && s <= S_EPOCH_MAX_S) {
            *ms = (int64_t)llround(s * 1000.0);
            *ok = true;
        }
        return WC_OK;
    }
    if (cJSON_IsString(v) && v->valuestring) {
        *ok = wc_time_parse_iso8601(wc_str_from_cstr(v->valuestring), ms) == WC_OK;
        return WC_OK;
    }
    return s_fail(c, WC_ERR_INVALID, "%s: EventTime is neither a number nor a string", where);
}

/* Fill e from one record; entry is the LookupEvents wrapper (or NULL), whose
 * fields stand in for missing record fields. */
static int s_parse_record(struct s_ctx *c, const char *where, const cJSON *rec,
                          const cJSON *entry, struct wc_event *e)
{
    const cJSON *rp;
    char *time_s = NULL;
    int64_t rec_ms = 0, lk_ms = 0;
    bool rec_ok = false, lk_ok = false, present = false, val = false;
    int rc;

    memset(e, 0, sizeof(*e));
    if (!cJSON_IsObject(rec)) {
        rc = s_fail(c, WC_ERR_INVALID, "%s: record is not an object", where);
        goto out;
    }
    if ((rc = s_get_str(c, where, rec, "eventID", &e->event_id)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "eventName", &e->event_name)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "eventSource", &e->event_source)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "eventType", &e->event_type)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "awsRegion", &e->aws_region)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "recipientAccountId", &e->recipient_account_id)) !=
            WC_OK ||
        (rc = s_get_str(c, where, rec, "sourceIPAddress", &e->source_ip)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "userAgent", &e->user_agent)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "errorCode", &e->error_code)) != WC_OK ||
        (rc = s_get_str(c, where, rec, "eventTime", &time_s)) != WC_OK)
        goto out;
    if ((rc = s_get_boolish(c, where, rec, "readOnly", &present, &val)) != WC_OK)
        goto out;
    if (present)
        e->read_only = val;
    if ((rc = s_get_boolish(c, where, rec, "sessionCredentialFromConsole", &present, &val)) !=
        WC_OK)
        goto out;
    e->session_credential_from_console = present && val;
    if ((rc = s_parse_identity(c, where, rec, &e->identity)) != WC_OK ||
        (rc = s_parse_resources(c, where, rec, false, e)) != WC_OK)
        goto out;
    if ((rp = cJSON_GetObjectItemCaseSensitive(rec, "requestParameters")) &&
        s_collect_params(rp, 0, &e->param_strings) != WC_OK) {
        rc = s_nomem(c);
        goto out;
    }
    if (time_s)
        rec_ok = wc_time_parse_iso8601(wc_str_from_cstr(time_s), &rec_ms) == WC_OK;

    if (entry) {
        /* The record inside CloudTrailEvent is authoritative; the wrapper
         * fills what it lacks. */
        if ((!e->event_id && (rc = s_get_str(c, where, entry, "EventId", &e->event_id))) ||
            (!e->event_name &&
             (rc = s_get_str(c, where, entry, "EventName", &e->event_name))) ||
            (!e->event_source &&
             (rc = s_get_str(c, where, entry, "EventSource", &e->event_source))))
            goto out;
        if ((rc = s_get_boolish(c, where, entry, "ReadOnly", &present, &val)) != WC_OK)
            goto out;
        if (present && !cJSON_GetObjectItemCaseSensitive(rec, "readOnly"))
            e->read_only = val;
        if ((rc = s_lookup_time(c, where, entry, &lk_ok, &lk_ms)) != WC_OK ||
            (rc = s_parse_resources(c, where, entry, true, e)) != WC_OK)
            goto out;
    }

    if (wc_str_empty(e->event_id)) {
        rc = s_fail(c, WC_ERR_INVALID, "%s: record has no eventID", where);
        goto out;
    }
    if (wc_str_empty(e->event_name)) {
        rc = s_fail(c, WC_ERR_INVALID, "%s: record has no eventName", where);
        goto out;
    }
    if (rec_ok) {
        e->event_time_ms = rec_ms;
    } else if (lk_ok) {
        e->event_time_ms = lk_ms;
    } else {
        rc = s_fail(c, WC_ERR_INVALID, "%s: record has no parseable eventTime", where);
        goto out;
    }
    rc = WC_OK;
out:
    free(time_s);
    if (rc != WC_OK)
        wc_event_clean_up(e);
    return rc;
}

int wc_event_parse_record(const cJSON *rec, struct wc_event *out, char *errbuf, size_t errlen)
{
    struct s_ctx c = {errbuf, errlen, 0, ""};

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out)
        return s_fail(&c, WC_ERR_INVALID, "no output");
    return s_parse_record(&c, "record", rec, NULL, out);
}

static int s_vec_push(struct s_vec *v, struct wc_event **slot)
{
    if (v->len == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        struct wc_event *n = realloc(v->items, ncap * sizeof(*n));

        if (!n)
            return WC_ERR_NOMEM;
        v->items = n;
        v->cap = ncap;
    }
    *slot = &v->items[v->len];
    return WC_OK;
}

static void s_vec_clean_up(struct s_vec *v)
{
    for (size_t i = 0; i < v->len; i++)
        wc_event_clean_up(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static int s_check_count(struct s_ctx *c, const cJSON *arr, const char *what)
{
    if (cJSON_GetArraySize(arr) > WC_EVENTS_MAX)
        return s_fail(c, WC_ERR_TOO_LARGE, "more than %d %s", WC_EVENTS_MAX, what);
    return WC_OK;
}

/* {"Events":[{..., "CloudTrailEvent":"<record json>"}], "NextToken":...} */
static int s_parse_lookup(struct s_ctx *c, const cJSON *root, struct s_vec *v, char **token)
{
    const cJSON *events = NULL, *entry, *ct;
    cJSON *rec = NULL;
    struct wc_event *slot = NULL;
    char where[48];
    int rc, i = 0;

    if ((rc = s_get_array(c, "response", root, "Events", &events)) != WC_OK)
        return rc;
    if (!events)
        return s_fail(c, WC_ERR_INVALID, "response: Events is null");
    if ((rc = s_check_count(c, events, "events")) != WC_OK ||
        (rc = s_get_str(c, "response", root, "NextToken", token)) != WC_OK)
        return rc;
    cJSON_ArrayForEach(entry, events)
    {
        snprintf(where, sizeof(where), "Events[%d]", i++);
        if (!cJSON_IsObject(entry)) {
            rc = s_fail(c, WC_ERR_INVALID, "%s: not an object", where);
        } else if (!(ct = cJSON_GetObjectItemCaseSensitive(entry, "CloudTrailEvent"))) {
            rc = s_fail(c, WC_ERR_INVALID, "%s: no CloudTrailEvent", where);
        } else if (!cJSON_IsString(ct) || !ct->valuestring) {
            rc = s_fail(c, WC_ERR_INVALID, "%s: CloudTrailEvent is not a string", where);
        } else if (!(rec = cJSON_ParseWithOpts(ct->valuestring, NULL, true))) {
            rc = s_fail(c, WC_ERR_PARSE, "%s: CloudTrailEvent is not valid JSON", where);
        } else if ((rc = s_vec_push(v, &slot)) != WC_OK) {
            rc = s_nomem(c);
        } else if ((rc = s_parse_record(c, where, rec, entry, slot)) == WC_OK) {
            v->len++;
        }
        cJSON_Delete(rec);
        rec = NULL;
        if ((rc = s_skip_or_fail(c, rc)) != WC_OK)
            return rc;
    }
    return WC_OK;
}

/* A JSON array of records (a log file's Records or a bare array). */
static int s_parse_records(struct s_ctx *c, const cJSON *arr, const char *name,
                           struct s_vec *v)
{
    const cJSON *rec;
    struct wc_event *slot = NULL;
    char where[48];
    int rc, i = 0;

    if ((rc = s_check_count(c, arr, "records")) != WC_OK)
        return rc;
    cJSON_ArrayForEach(rec, arr)
    {
        snprintf(where, sizeof(where), "%s[%d]", name, i++);
        if ((rc = s_vec_push(v, &slot)) != WC_OK)
            return s_nomem(c);
        if ((rc = s_parse_record(c, where, rec, NULL, slot)) == WC_OK)
            v->len++;
        else if ((rc = s_skip_or_fail(c, rc)) != WC_OK)
            return rc;
    }
    return WC_OK;
}

static bool s_looks_like_record(const cJSON *o)
{
    static const char *const keys[] = {"eventID", "eventName", "eventTime", "eventVersion",
                                       "userIdentity"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (cJSON_GetObjectItemCaseSensitive(o, keys[i]))
            return true;
    return false;
}

static bool s_only_space(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0')
            return false;
    return true;
}

int wc_events_parse(struct wc_str json, struct wc_event_list *list, char *errbuf,
                    size_t errlen)
{
    struct s_ctx c = {errbuf, errlen, 0, ""};
    struct s_vec v = {0};
    cJSON *root = NULL;
    const cJSON *records = NULL;
    const char *end = NULL;
    char *token = NULL;
    struct wc_event *items = NULL, *slot = NULL;
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!list || (!json.ptr && json.len)) {
        rc = s_fail(&c, WC_ERR_INVALID, "no input");
        goto out;
    }
    if (json.len > WC_EVENTS_MAX_BYTES) {
        rc = s_fail(&c, WC_ERR_TOO_LARGE, "input is %zu bytes, over the %zu byte cap", json.len,
                    WC_EVENTS_MAX_BYTES);
        goto out;
    }
    /* JSON is UTF-8 (RFC 8259); cJSON passes other bytes through, and they
     * would make every payload built from them invalid */
    if (json.len > 0 && wc_utf8_valid_prefix(json.ptr, json.len) < json.len) {
        rc = s_fail(&c, WC_ERR_PARSE, "not valid UTF-8 at byte %zu",
                    wc_utf8_valid_prefix(json.ptr, json.len));
        goto out;
    }
    if (json.len == 0 ||
        !(root = cJSON_ParseWithLengthOpts(json.ptr, json.len, &end, false)) ||
        !s_only_space(end, json.ptr + json.len)) {
        rc = s_fail(&c, WC_ERR_PARSE, "not valid JSON");
        goto out;
    }

    if (cJSON_IsArray(root)) {
        rc = s_parse_records(&c, root, "records", &v);
    } else if (!cJSON_IsObject(root)) {
        rc = s_fail(&c, WC_ERR_INVALID, "neither an object nor an array");
    } else if (cJSON_GetObjectItemCaseSensitive(root, "Events")) {
        rc = s_parse_lookup(&c, root, &v, &token);
    } else if (cJSON_GetObjectItemCaseSensitive(root, "Records")) {
        if ((rc = s_get_array(&c, "log file", root, "Records", &records)) == WC_OK) {
            if (records)
                rc = s_parse_records(&c, records, "Records", &v);
            else
                rc = s_fail(&c, WC_ERR_INVALID, "log file: Records is null");
        }
    } else if (s_looks_like_record(root)) {
        if ((rc = s_vec_push(&v, &slot)) != WC_OK) {
            rc = s_nomem(&c);
        } else if ((rc = s_parse_record(&c, "record", root, NULL, slot)) == WC_OK) {
            v.len++;
        }
    } else {
        rc = s_fail(&c, WC_ERR_INVALID, "no Events, Records or CloudTrail record fields");
    }
    if (rc != WC_OK)
        goto out;

    /* Commit: nothing below may leave the list half-updated. */
    if (v.len) {
        if (list->len > SIZE_MAX / sizeof(*items) - v.len) {
            rc = s_nomem(&c);
            goto out;
        }
        items = realloc(list->items, (list->len + v.len) * sizeof(*items));
        if (!items) {
            rc = s_nomem(&c);
            goto out;
        }
        list->items = items;
        memcpy(list->items + list->len, v.items, v.len * sizeof(*items));
        list->len += v.len;
        v.len = 0; /* moved */
    }
    /* The token of the page just parsed replaces the previous one (NULL when
     * it has none: the last page, or not a LookupEvents response). */
    free(list->next_token);
    list->next_token = token;
    token = NULL;
    list->n_skipped += c.skipped;
    if (c.skipped && errbuf && errlen)
        snprintf(errbuf, errlen, "skipped %zu unusable record%s, the first: %s", c.skipped,
                 c.skipped == 1 ? "" : "s", c.first_skip);
    rc = WC_OK;
out:
    free(token);
    s_vec_clean_up(&v);
    cJSON_Delete(root);
    return rc;
}

static void s_identity_clean_up(struct wc_user_identity *id)
{
    free(id->type);
    free(id->principal_id);
    free(id->access_key_id);
    free(id->arn);
    free(id->account_id);
    free(id->user_name);
    free(id->invoked_by);
    free(id->issuer_type);
    free(id->issuer_arn);
    free(id->issuer_user_name);
    free(id->session_name);
    free(id->identity_store_user);
    memset(id, 0, sizeof(*id));
}

void wc_event_clean_up(struct wc_event *e)
{
    if (!e)
        return;
    free(e->event_id);
    free(e->event_name);
    free(e->event_source);
    free(e->event_type);
    free(e->aws_region);
    free(e->recipient_account_id);
    free(e->source_ip);
    free(e->user_agent);
    free(e->error_code);
    s_identity_clean_up(&e->identity);
    for (size_t i = 0; i < e->n_resources; i++)
        s_resource_clean_up(&e->resources[i]);
    free(e->resources);
    wc_strlist_clean_up(&e->param_strings);
    memset(e, 0, sizeof(*e));
}

void wc_event_list_clean_up(struct wc_event_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->len; i++)
        wc_event_clean_up(&list->items[i]);
    free(list->items);
    free(list->next_token);
    memset(list, 0, sizeof(*list));
}

/* Duplicate *src into *dst (NULL stays NULL); false on allocation failure. */
static bool s_dup(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    return (*dst = wc_strdup(src)) != NULL;
}

int wc_event_copy(struct wc_event *dst, const struct wc_event *src)
{
    const struct wc_user_identity *si;
    struct wc_user_identity *di;
    bool ok;

    if (!dst || !src)
        return WC_ERR_INVALID;
    memset(dst, 0, sizeof(*dst));
    si = &src->identity;
    di = &dst->identity;
    dst->event_time_ms = src->event_time_ms;
    dst->read_only = src->read_only;
    dst->session_credential_from_console = src->session_credential_from_console;
    di->mfa = si->mfa;
    ok = s_dup(&dst->event_id, src->event_id) && s_dup(&dst->event_name, src->event_name) &&
         s_dup(&dst->event_source, src->event_source) &&
         s_dup(&dst->event_type, src->event_type) &&
         s_dup(&dst->aws_region, src->aws_region) &&
         s_dup(&dst->recipient_account_id, src->recipient_account_id) &&
         s_dup(&dst->source_ip, src->source_ip) && s_dup(&dst->user_agent, src->user_agent) &&
         s_dup(&dst->error_code, src->error_code) && s_dup(&di->type, si->type) &&
         s_dup(&di->principal_id, si->principal_id) &&
         s_dup(&di->access_key_id, si->access_key_id) && s_dup(&di->arn, si->arn) &&
         s_dup(&di->account_id, si->account_id) && s_dup(&di->user_name, si->user_name) &&
         s_dup(&di->invoked_by, si->invoked_by) && s_dup(&di->issuer_type, si->issuer_type) &&
         s_dup(&di->issuer_arn, si->issuer_arn) &&
         s_dup(&di->issuer_user_name, si->issuer_user_name) &&
         s_dup(&di->session_name, si->session_name) &&
         s_dup(&di->identity_store_user, si->identity_store_user) &&
         wc_strlist_copy(&dst->param_strings, &src->param_strings) == WC_OK;
    if (ok && src->n_resources) {
        dst->resources = calloc(src->n_resources, sizeof(*dst->resources));
        ok = dst->resources != NULL;
        for (size_t i = 0; ok && i < src->n_resources; i++) {
            struct wc_event_resource *d = &dst->resources[i];
            const struct wc_event_resource *s = &src->resources[i];

            dst->n_resources = i + 1;
            ok = s_dup(&d->type, s->type) && s_dup(&d->name, s->name) &&
                 s_dup(&d->arn, s->arn);
        }
    }
    if (!ok) {
        wc_event_clean_up(dst);
        return WC_ERR_NOMEM;
    }
    return WC_OK;
}
