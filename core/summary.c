/* summary.c - readable summaries of Config property values. See summary.h. */
#include "core/summary.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"

#define S_ELLIPSIS "\xe2\x80\xa6" /* U+2026 */
/* Items of one list shown in a line ("a, b, c, d +3 more"). */
#define S_LIST_ITEMS 4
#define S_ITEM_MAX 160
/* Policy search: how deep into a value, how many nodes visited, and the
 * longest string parsed as a policy document. */
#define S_POLICY_DEPTH 4
#define S_POLICY_NODES 512
#define S_POLICY_TEXT_MAX ((size_t)64 * 1024)
#define S_SOURCES_MAX 64

struct s_lines {
    struct wc_buf out;
    size_t n;      /* lines written */
    size_t more;   /* lines left out */
    int nodes;     /* policy search: nodes visited */
};

/* Append line (cut to WC_SUMMARY_LINE_MAX at a UTF-8 boundary) as the next
 * line, unless the line or byte budget is spent (then it is counted). */
static int s_push(struct s_lines *l, const struct wc_buf *line)
{
    size_t len = line->len, cut = len;
    int rc;

    if (len == 0)
        return WC_OK;
    if (cut > WC_SUMMARY_LINE_MAX)
        cut = wc_str_utf8_prefix(line->ptr, len, WC_SUMMARY_LINE_MAX - 3);
    /* room for this line, and for a last "… and N more" line */
    if (l->n >= WC_SUMMARY_MAX_LINES || l->out.len + cut + 4 + 40 > WC_SUMMARY_MAX) {
        l->more++;
        return WC_OK;
    }
    if (l->n > 0 && (rc = wc_buf_append_char(&l->out, '\n')) != WC_OK)
        return rc;
    if ((rc = wc_buf_append(&l->out, line->ptr, cut)) != WC_OK)
        return rc;
    if (cut < len && (rc = wc_buf_append_cstr(&l->out, S_ELLIPSIS)) != WC_OK)
        return rc;
    l->n++;
    return WC_OK;
}

/* Append s, cut to S_ITEM_MAX bytes, control characters as spaces. */
static int s_item(struct wc_buf *b, const char *s)
{
    size_t len = strlen(s), cut = wc_str_utf8_prefix(s, len, S_ITEM_MAX);
    int rc = WC_OK;

    for (size_t i = 0; rc == WC_OK && i < cut; i++)
        rc = wc_buf_append_char(b, (unsigned char)s[i] < 0x20 ? ' ' : s[i]);
    if (rc == WC_OK && cut < len)
        rc = wc_buf_append_cstr(b, S_ELLIPSIS);
    return rc;
}

/* A scalar as text into b ("" for objects, arrays and null). */
static int s_scalar(struct wc_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring)
        return s_item(b, v->valuestring);
    if (cJSON_IsNumber(v))
        return wc_buf_appendf(b, "%.15g", v->valuedouble);
    if (cJSON_IsBool(v))
        return wc_buf_append_cstr(b, cJSON_IsTrue(v) ? "true" : "false");
    return WC_OK;
}

/* --- security-group rules ------------------------------------------------- */

/* path has the component `name` (case-insensitive) followed by nothing or
 * by one numeric component: "Configuration.IpPermissions.0". */
static bool s_rule_path(const char *path, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = path; p && *p; p = strchr(p, '.'), p = p ? p + 1 : NULL) {
        const char *rest;

        if (strncasecmp(p, name, n) != 0 || (p[n] != '.' && p[n] != '\0'))
            continue;
        rest = p + n;
        if (*rest == '\0')
            return true;
        rest++;
        if (!*rest)
            return false;
        while (isdigit((unsigned char)*rest))
            rest++;
        return *rest == '\0';
    }
    return false;
}

static bool s_num(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) {
        char *end = NULL;
        double d = strtod(v->valuestring, &end);

        if (end && *end == '\0') {
            *out = d;
            return true;
        }
    }
    return false;
}

/* "tcp/22", "tcp/1024-2048", "all", "icmp/8", "icmp", "udp". */
static int s_rule_proto(struct wc_buf *b, const cJSON *rule)
{
    const cJSON *p = cJSON_GetObjectItem(rule, "ipProtocol");
    double from = 0, to = 0;
    bool has_from = s_num(cJSON_GetObjectItem(rule, "fromPort"), &from);
    bool has_to = s_num(cJSON_GetObjectItem(rule, "toPort"), &to);
    char proto[64] = "";
    int rc;

    if (cJSON_IsString(p) && p->valuestring)
        snprintf(proto, sizeof(proto), "%s", p->valuestring);
    else if (cJSON_IsNumber(p))
        snprintf(proto, sizeof(proto), "%d", p->valueint);
    if (!proto[0] || strcmp(proto, "-1") == 0 || strcasecmp(proto, "all") == 0)
        return wc_buf_append_cstr(b, "all");
    if (strcmp(proto, "6") == 0)
        snprintf(proto, sizeof(proto), "tcp");
    else if (strcmp(proto, "17") == 0)
        snprintf(proto, sizeof(proto), "udp");
    else if (strcmp(proto, "1") == 0)
        snprintf(proto, sizeof(proto), "icmp");
    else if (strcmp(proto, "58") == 0)
        snprintf(proto, sizeof(proto), "icmpv6");
    if ((rc = s_item(b, proto)) != WC_OK)
        return rc;
    if (strncasecmp(proto, "icmp", 4) == 0) /* fromPort is the ICMP type */
        return has_from && from >= 0 ? wc_buf_appendf(b, "/%.0f", from) : WC_OK;
    if (!has_from && !has_to)
        return WC_OK;
    if (!has_to || from == to)
        return wc_buf_appendf(b, "/%.0f", from);
    if (!has_from)
        return wc_buf_appendf(b, "/%.0f", to);
    return wc_buf_appendf(b, "/%.0f-%.0f", from, to);
}

/* Add the string member `key` of every element of the array rule[list]
 * (or the element itself when it is a string) to src, once each. */
static int s_sources_of(struct wc_strlist *src, const cJSON *rule, const char *list,
                        const char *key, const char *key2)
{
    const cJSON *arr = cJSON_GetObjectItem(rule, list), *e;
    int rc;

    if (!cJSON_IsArray(arr))
        return WC_OK;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *v = cJSON_IsString(e) ? e : cJSON_GetObjectItem(e, key);

        if ((!cJSON_IsString(v) || !v->valuestring || !v->valuestring[0]) && key2)
            v = cJSON_GetObjectItem(e, key2);
        if (!cJSON_IsString(v) || !v->valuestring || !v->valuestring[0] ||
            wc_strlist_contains(src, v->valuestring) || src->len >= S_SOURCES_MAX)
            continue;
        if ((rc = wc_strlist_push(src, v->valuestring)) != WC_OK)
            return rc;
    }
    return WC_OK;
}

static int s_rule(struct s_lines *l, const cJSON *rule, bool egress)
{
    struct wc_strlist src = WC_STRLIST_INIT;
    struct wc_buf proto = WC_BUF_INIT, line = WC_BUF_INIT;
    const char *dir = egress ? " to " : " from ";
    int rc;

    if ((rc = s_rule_proto(&proto, rule)) != WC_OK ||
        (rc = s_sources_of(&src, rule, "ipv4Ranges", "cidrIp", NULL)) != WC_OK ||
        (rc = s_sources_of(&src, rule, "ipRanges", "cidrIp", NULL)) != WC_OK ||
        (rc = s_sources_of(&src, rule, "ipv6Ranges", "cidrIpv6", NULL)) != WC_OK ||
        (rc = s_sources_of(&src, rule, "prefixListIds", "prefixListId", NULL)) != WC_OK ||
        (rc = s_sources_of(&src, rule, "userIdGroupPairs", "groupId", "groupName")) != WC_OK)
        goto out;
    if (src.len == 0) {
        if ((rc = wc_buf_append(&line, proto.ptr, proto.len)) == WC_OK &&
            (rc = wc_buf_append_cstr(&line, egress ? " to nowhere" : " from nowhere")) == WC_OK)
            rc = s_push(l, &line);
        goto out;
    }
    for (size_t i = 0; rc == WC_OK && i < src.len; i++) {
        wc_buf_reset(&line);
        if ((rc = wc_buf_append(&line, proto.ptr, proto.len)) == WC_OK &&
            (rc = wc_buf_append_cstr(&line, dir)) == WC_OK &&
            (rc = s_item(&line, src.items[i])) == WC_OK)
            rc = s_push(l, &line);
    }
out:
    wc_strlist_clean_up(&src);
    wc_buf_clean_up(&proto);
    wc_buf_clean_up(&line);
    return rc;
}

static bool s_is_rule(const cJSON *v)
{
    return cJSON_IsObject(v) && cJSON_GetObjectItem(v, "ipProtocol") != NULL;
}

/* One rule or an array of rules; false when v is neither. */
static int s_rules(struct s_lines *l, const cJSON *v, bool egress, bool *found)
{
    const cJSON *e;
    int rc = WC_OK;

    *found = false;
    if (s_is_rule(v)) {
        *found = true;
        return s_rule(l, v, egress);
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return WC_OK;
    cJSON_ArrayForEach(e, v)
        if (!s_is_rule(e))
            return WC_OK;
    *found = true;
    cJSON_ArrayForEach(e, v)
        if ((rc = s_rule(l, e, egress)) != WC_OK)
            break;
    return rc;
}

/* --- policy documents ------------------------------------------------------ */

/* Append "a, b, c, d +N more" of a string or an array of scalars. */
static int s_list(struct wc_buf *b, const cJSON *v)
{
    const cJSON *e;
    size_t n = 0, total;
    int rc = WC_OK;

    if (!cJSON_IsArray(v))
        return s_scalar(b, v);
    total = (size_t)cJSON_GetArraySize(v);
    cJSON_ArrayForEach(e, v) {
        if (n == S_LIST_ITEMS)
            break;
        if (n > 0 && (rc = wc_buf_append_cstr(b, ", ")) != WC_OK)
            return rc;
        if ((rc = s_scalar(b, e)) != WC_OK)
            return rc;
        n++;
    }
    if (total > n)
        rc = wc_buf_appendf(b, " +%zu more", total - n);
    return rc;
}

/* A principal: "*", or the values of {"AWS": ..., "Service": ...,
 * "Federated": ..., "CanonicalUser": ...} (a "*" among them as "*"). */
static int s_principal(struct wc_buf *b, const cJSON *p)
{
    const cJSON *e;
    bool first = true;
    int rc = WC_OK;

    if (!cJSON_IsObject(p))
        return s_list(b, p);
    cJSON_ArrayForEach(e, p) {
        if (!first && (rc = wc_buf_append_cstr(b, ", ")) != WC_OK)
            return rc;
        if (e->string && strcasecmp(e->string, "CanonicalUser") == 0 &&
            (rc = wc_buf_append_cstr(b, "canonical user ")) != WC_OK)
            return rc;
        if ((rc = s_list(b, e)) != WC_OK)
            return rc;
        first = false;
    }
    return rc;
}

/* The condition keys of a statement: {"StringEquals": {"aws:SourceVpce": ...}}. */
static int s_condition(struct wc_buf *b, const cJSON *cond)
{
    const cJSON *op, *k;
    size_t n = 0, total = 0;
    int rc = WC_OK;

    cJSON_ArrayForEach(op, cond) {
        if (!cJSON_IsObject(op))
            continue;
        cJSON_ArrayForEach(k, op) {
            total++;
            if (n == S_LIST_ITEMS || !k->string)
                continue;
            if ((rc = wc_buf_append_cstr(b, n == 0 ? " if " : ", ")) != WC_OK ||
                (rc = s_item(b, k->string)) != WC_OK)
                return rc;
            n++;
        }
    }
    if (total > n && n > 0)
        rc = wc_buf_appendf(b, " +%zu more", total - n);
    else if (total > 0 && n == 0)
        rc = wc_buf_append_cstr(b, " with conditions");
    return rc;
}

/* "Allow * to s3:GetObject on arn:aws:s3:::b/x if aws:SourceVpce". */
static int s_statement(struct s_lines *l, const cJSON *st)
{
    const cJSON *effect = cJSON_GetObjectItem(st, "Effect");
    const cJSON *pr = cJSON_GetObjectItem(st, "Principal");
    const cJSON *npr = cJSON_GetObjectItem(st, "NotPrincipal");
    const cJSON *ac = cJSON_GetObjectItem(st, "Action");
    const cJSON *nac = cJSON_GetObjectItem(st, "NotAction");
    const cJSON *res = cJSON_GetObjectItem(st, "Resource");
    const cJSON *nres = cJSON_GetObjectItem(st, "NotResource");
    const cJSON *cond = cJSON_GetObjectItem(st, "Condition");
    struct wc_buf line = WC_BUF_INIT;
    int rc;

    if (!cJSON_IsObject(st))
        return WC_OK;
    rc = cJSON_IsString(effect) && effect->valuestring && effect->valuestring[0]
             ? s_item(&line, effect->valuestring)
             : wc_buf_append_cstr(&line, "(no Effect)");
    if (rc == WC_OK && pr) {
        if ((rc = wc_buf_append_char(&line, ' ')) == WC_OK &&
            (rc = s_principal(&line, pr)) == WC_OK)
            rc = wc_buf_append_cstr(&line, " to");
    } else if (rc == WC_OK && npr) {
        if ((rc = wc_buf_append_cstr(&line, " everyone except ")) == WC_OK &&
            (rc = s_principal(&line, npr)) == WC_OK)
            rc = wc_buf_append_cstr(&line, " to");
    }
    if (rc == WC_OK && ac) {
        if ((rc = wc_buf_append_char(&line, ' ')) == WC_OK)
            rc = s_list(&line, ac);
    } else if (rc == WC_OK && nac) {
        if ((rc = wc_buf_append_cstr(&line, " everything except ")) == WC_OK)
            rc = s_list(&line, nac);
    } else if (rc == WC_OK) {
        rc = wc_buf_append_cstr(&line, " (no Action)");
    }
    if (rc == WC_OK && res) {
        if ((rc = wc_buf_append_cstr(&line, " on ")) == WC_OK)
            rc = s_list(&line, res);
    } else if (rc == WC_OK && nres) {
        if ((rc = wc_buf_append_cstr(&line, " on everything except ")) == WC_OK)
            rc = s_list(&line, nres);
    }
    if (rc == WC_OK && cJSON_IsObject(cond))
        rc = s_condition(&line, cond);
    if (rc == WC_OK)
        rc = s_push(l, &line);
    wc_buf_clean_up(&line);
    return rc;
}

static int s_policy_doc(struct s_lines *l, const cJSON *doc)
{
    const cJSON *st = cJSON_GetObjectItem(doc, "Statement"), *e;
    int rc = WC_OK;

    if (cJSON_IsObject(st))
        return s_statement(l, st);
    cJSON_ArrayForEach(e, st)
        if ((rc = s_statement(l, e)) != WC_OK)
            break;
    return rc;
}

static int s_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s into b (plus as space when asked). */
static int s_url_decode(struct wc_buf *b, const char *s, bool plus)
{
    int rc = WC_OK;

    for (size_t i = 0; rc == WC_OK && s[i]; i++) {
        int hi, lo;

        if (s[i] == '%' && (hi = s_hex((unsigned char)s[i + 1])) >= 0 &&
            (lo = s_hex((unsigned char)s[i + 2])) >= 0) {
            rc = wc_buf_append_char(b, (char)(hi * 16 + lo));
            i += 2;
        } else {
            rc = wc_buf_append_char(b, plus && s[i] == '+' ? ' ' : s[i]);
        }
    }
    return rc;
}

static int s_policies(struct s_lines *l, const cJSON *v, int depth);

/* A string holding a policy document: JSON text, or URL-encoded JSON. */
static int s_policy_text(struct s_lines *l, const char *s, int depth)
{
    struct wc_buf dec = WC_BUF_INIT;
    cJSON *root = NULL;
    size_t len = strlen(s);
    int rc = WC_OK;

    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    if (len > S_POLICY_TEXT_MAX || !strstr(s, "tatement"))
        return WC_OK; /* no "Statement" (plain or, ...%22Statement%22...) */
    if (*s == '{') {
        root = cJSON_ParseWithLength(s, strlen(s));
    } else if (strncasecmp(s, "%7B", 3) == 0) {
        for (int plus = 0; plus < 2 && !root; plus++) {
            wc_buf_reset(&dec);
            if ((rc = s_url_decode(&dec, s, plus == 1)) != WC_OK)
                goto out;
            root = cJSON_ParseWithLength(dec.ptr, dec.len);
        }
    }
    if (root)
        rc = s_policies(l, root, depth + 1);
out:
    cJSON_Delete(root);
    wc_buf_clean_up(&dec);
    return rc;
}

/* Every policy document in v, as deep as S_POLICY_DEPTH. */
static int s_policies(struct s_lines *l, const cJSON *v, int depth)
{
    const cJSON *e;
    int rc = WC_OK;

    if (depth > S_POLICY_DEPTH || ++l->nodes > S_POLICY_NODES)
        return WC_OK;
    if (cJSON_IsString(v) && v->valuestring)
        return s_policy_text(l, v->valuestring, depth);
    if (cJSON_IsObject(v) && cJSON_GetObjectItem(v, "Statement"))
        return s_policy_doc(l, v);
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return WC_OK;
    cJSON_ArrayForEach(e, v)
        if ((rc = s_policies(l, e, depth + 1)) != WC_OK)
            break;
    return rc;
}

/* --- API -------------------------------------------------------------------- */

/* Bytes that are not valid UTF-8 (a URL-decoded %FF, say) become '?': the
 * summary goes into JSON and Slack text. */
static void s_utf8_fix(struct wc_buf *b)
{
    size_t at = 0;

    while (at < b->len) {
        size_t ok = wc_utf8_valid_prefix(b->ptr + at, b->len - at);

        at += ok;
        if (at < b->len)
            b->ptr[at++] = '?';
    }
}

int wc_summary_property(const char *path, const cJSON *v, char **out)
{
    struct s_lines l = {WC_BUF_INIT, 0, 0, 0};
    bool found = false;
    int rc = WC_OK;

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return WC_OK;
    if (!path)
        path = "";
    if (s_rule_path(path, "IpPermissionsEgress"))
        rc = s_rules(&l, v, true, &found);
    else if (s_rule_path(path, "IpPermissions"))
        rc = s_rules(&l, v, false, &found);
    if (rc == WC_OK && !found)
        rc = s_policies(&l, v, 0);
    if (rc == WC_OK && l.more > 0)
        rc = wc_buf_appendf(&l.out, "\n" S_ELLIPSIS " and %zu more", l.more);
    if (rc == WC_OK && l.n > 0) {
        s_utf8_fix(&l.out);
        *out = wc_buf_steal(&l.out);
        rc = *out ? WC_OK : WC_ERR_NOMEM;
    }
    wc_buf_clean_up(&l.out);
    return rc;
}

int wc_summary_json(const char *path, struct wc_str json, char **out)
{
    cJSON *v = json.ptr ? cJSON_ParseWithLength(json.ptr, json.len) : NULL;
    int rc;

    *out = NULL;
    if (!v && json.ptr) {
        char *s = wc_strndup(json.ptr, json.len);

        if (!s)
            return WC_ERR_NOMEM;
        v = cJSON_CreateString(s);
        free(s);
    }
    if (!v)
        return json.ptr ? WC_ERR_NOMEM : WC_OK;
    rc = wc_summary_property(path, v, out);
    cJSON_Delete(v);
    return rc;
}
