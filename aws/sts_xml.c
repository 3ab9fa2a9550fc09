#include "aws/sts_xml.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

#define S_MAX_DEPTH 12
#define S_MAX_PATH 256

enum s_ws { S_TRIM = 0, S_STRIP_ALL };

struct s_field {
    const char *path; /* below the root, e.g. "/AssumeRoleResult/Credentials/AccessKeyId" */
    char **dst;
    enum s_ws ws;
    bool seen;
};

struct s_parse {
    XML_Parser xp;
    const char *root;
    int depth;
    char path[S_MAX_PATH];         /* path below the root */
    size_t path_len[S_MAX_DEPTH];  /* path length at each depth */
    bool has_child[S_MAX_DEPTH];
    struct wc_buf text;
    struct s_field *fields;
    size_t n_fields;
    int rc;
};

static void s_fail(struct s_parse *st, int rc)
{
    if (st->rc == WC_OK)
        st->rc = rc;
    XML_StopParser(st->xp, XML_FALSE);
}

/* Local name of an expat namespace-qualified name "uri|local". */
static const char *s_local(const char *name)
{
    const char *bar = strrchr(name, '|');

    return bar ? bar + 1 : name;
}

static void XMLCALL s_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct s_parse *st = ud;
    const char *local = s_local(name);
    size_t len = strlen(local), at;

    (void)atts;
    if (st->rc != WC_OK)
        return;
    if (st->depth == 0) {
        if (strcmp(local, st->root) != 0) {
            s_fail(st, WC_ERR_PARSE); /* unknown root */
            return;
        }
        st->path[0] = '\0';
        st->path_len[0] = 0;
        st->has_child[0] = false;
        st->depth = 1;
        wc_buf_reset(&st->text);
        return;
    }
    if (st->depth >= S_MAX_DEPTH) {
        s_fail(st, WC_ERR_PARSE);
        return;
    }
    st->has_child[st->depth - 1] = true;
    at = st->path_len[st->depth - 1];
    if (at + 1 + len + 1 > sizeof(st->path)) {
        s_fail(st, WC_ERR_PARSE);
        return;
    }
    st->path[at] = '/';
    memcpy(st->path + at + 1, local, len + 1);
    st->path_len[st->depth] = at + 1 + len;
    st->has_child[st->depth] = false;
    st->depth++;
    wc_buf_reset(&st->text);
}

static char *s_clean_text(struct wc_str t, enum s_ws ws)
{
    char *out;
    size_t n = 0;

    if (ws == S_TRIM) {
        t = wc_str_trim(t);
        return wc_strndup(t.ptr ? t.ptr : "", t.len);
    }
    out = malloc(t.len + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < t.len; i++)
        if (!isspace((unsigned char)t.ptr[i]))
            out[n++] = t.ptr[i];
    out[n] = '\0';
    return out;
}

static void XMLCALL s_end(void *ud, const XML_Char *name)
{
    struct s_parse *st = ud;
    int d;

    (void)name;
    if (st->rc != WC_OK || st->depth <= 0)
        return;
    d = st->depth - 1;
    if (d > 0 && !st->has_child[d]) {
        for (size_t i = 0; i < st->n_fields; i++) {
            struct s_field *f = &st->fields[i];
            char *v;

            if (strcmp(f->path, st->path) != 0)
                continue;
            if (f->seen) {
                s_fail(st, WC_ERR_PARSE); /* duplicate field */
                return;
            }
            v = s_clean_text(wc_buf_str(&st->text), f->ws);
            if (!v) {
                s_fail(st, WC_ERR_NOMEM);
                return;
            }
            f->seen = true;
            *f->dst = v;
            break;
        }
    }
    if (st->text.ptr)
        wc_secure_zero(st->text.ptr, st->text.len);
    wc_buf_reset(&st->text);
    st->depth--;
    if (st->depth > 0)
        st->path[st->path_len[st->depth - 1]] = '\0';
}

static void XMLCALL s_chars(void *ud, const XML_Char *s, int len)
{
    struct s_parse *st = ud;
    int rc;

    if (st->rc != WC_OK || len <= 0)
        return;
    if ((rc = wc_buf_append(&st->text, s, (size_t)len)) != WC_OK)
        s_fail(st, rc);
}

static void XMLCALL s_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                              const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    s_fail(ud, WC_ERR_PARSE);
}

static void XMLCALL s_entity_decl(void *ud, const XML_Char *name, int is_param,
                                  const XML_Char *value, int value_len, const XML_Char *base,
                                  const XML_Char *sysid, const XML_Char *pubid,
                                  const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    s_fail(ud, WC_ERR_PARSE);
}

static int s_external_entity_ref(XML_Parser p, const XML_Char *context, const XML_Char *base,
                                 const XML_Char *sysid, const XML_Char *pubid)
{
    (void)p;
    (void)context;
    (void)base;
    (void)sysid;
    (void)pubid;
    return XML_STATUS_ERROR; /* never load anything */
}

/* Parse xml, filling fields. Returns WC_OK when the document is well formed
 * with the expected root; fields may still be missing. */
static int s_parse(const char *xml, size_t len, const char *root, struct s_field *fields,
                   size_t n_fields)
{
    struct s_parse st;
    int rc = WC_OK;

    memset(&st, 0, sizeof(st));
    if (!xml || !root)
        return WC_ERR_INVALID;
    if (len > WC_STS_XML_MAX_BYTES)
        return WC_ERR_TOO_LARGE;
    if (len == 0)
        return WC_ERR_PARSE;
    st.root = root;
    st.fields = fields;
    st.n_fields = n_fields;
    st.rc = WC_OK;
    /* Size the text buffer once so it never reallocates (which would leave
     * unwiped copies of secrets behind). */
    wc_buf_init(&st.text, len + 1);
    if ((rc = wc_buf_append(&st.text, xml, len)) != WC_OK)
        goto out;
    wc_secure_zero(st.text.ptr, st.text.len);
    wc_buf_reset(&st.text);

    st.xp = XML_ParserCreateNS(NULL, '|');
    if (!st.xp) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    XML_SetUserData(st.xp, &st);
    XML_SetElementHandler(st.xp, s_start, s_end);
    XML_SetCharacterDataHandler(st.xp, s_chars);
    XML_SetStartDoctypeDeclHandler(st.xp, s_doctype);
    XML_SetEntityDeclHandler(st.xp, s_entity_decl);
    XML_SetExternalEntityRefHandler(st.xp, s_external_entity_ref);
    XML_SetParamEntityParsing(st.xp, XML_PARAM_ENTITY_PARSING_NEVER);
    if (XML_Parse(st.xp, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
        rc = st.rc != WC_OK ? st.rc : WC_ERR_PARSE;
        goto out;
    }
    rc = st.rc;
out:
    if (st.xp)
        XML_ParserFree(st.xp);
    wc_buf_clean_up_secure(&st.text);
    return rc;
}

int wc_sts_xml_parse_credentials(const char *xml, size_t len, const char *action,
                                 struct wc_sts_result *out)
{
    char root[64] = {0}, p_akid[128] = {0}, p_secret[128] = {0}, p_token[128] = {0},
         p_exp[128] = {0}, p_arn[128] = {0};
    char *exp = NULL;
    struct s_field fields[6];
    int rc;

    if (!out)
        return WC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (!action || (strcmp(action, "AssumeRole") != 0 &&
                    strcmp(action, "AssumeRoleWithWebIdentity") != 0))
        return WC_ERR_INVALID;
    snprintf(root, sizeof(root), "%sResponse", action);
    snprintf(p_akid, sizeof(p_akid), "/%sResult/Credentials/AccessKeyId", action);
    snprintf(p_secret, sizeof(p_secret), "/%sResult/Credentials/SecretAccessKey", action);
    snprintf(p_token, sizeof(p_token), "/%sResult/Credentials/SessionToken", action);
    snprintf(p_exp, sizeof(p_exp), "/%sResult/Credentials/Expiration", action);
    snprintf(p_arn, sizeof(p_arn), "/%sResult/AssumedRoleUser/Arn", action);
    memset(fields, 0, sizeof(fields));
    fields[0] = (struct s_field){p_akid, &out->creds.access_key_id, S_STRIP_ALL, false};
    fields[1] = (struct s_field){p_secret, &out->creds.secret_access_key, S_STRIP_ALL, false};
    fields[2] = (struct s_field){p_token, &out->creds.session_token, S_STRIP_ALL, false};
    fields[3] = (struct s_field){p_exp, &exp, S_TRIM, false};
    fields[4] = (struct s_field){p_arn, &out->assumed_role_arn, S_TRIM, false};
    fields[5] = (struct s_field){"/ResponseMetadata/RequestId", &out->request_id, S_TRIM, false};

    if ((rc = s_parse(xml, len, root, fields, 6)) != WC_OK)
        goto out;
    if (wc_str_empty(out->creds.access_key_id) || wc_str_empty(out->creds.secret_access_key) ||
        wc_str_empty(out->creds.session_token) || wc_str_empty(exp)) {
        rc = WC_ERR_PARSE;
        goto out;
    }
    /* an expiry at or before the epoch would read as "does not expire" */
    if (wc_time_parse_iso8601(wc_str_from_cstr(exp), &out->creds.expiration_ms) != WC_OK ||
        out->creds.expiration_ms <= 0) {
        rc = WC_ERR_PARSE;
        goto out;
    }
    if (out->assumed_role_arn && !out->assumed_role_arn[0]) {
        free(out->assumed_role_arn);
        out->assumed_role_arn = NULL;
    }
out:
    free(exp);
    if (rc != WC_OK)
        wc_sts_result_clean_up(out);
    return rc;
}

void wc_sts_result_clean_up(struct wc_sts_result *r)
{
    if (!r)
        return;
    wc_aws_credentials_clean_up(&r->creds);
    free(r->assumed_role_arn);
    free(r->request_id);
    r->assumed_role_arn = NULL;
    r->request_id = NULL;
}

int wc_sts_xml_parse_error(const char *xml, size_t len, struct wc_sts_error *out)
{
    struct s_field fields[4];
    int rc;

    if (!out)
        return WC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    memset(fields, 0, sizeof(fields));
    fields[0] = (struct s_field){"/Error/Type", &out->type, S_TRIM, false};
    fields[1] = (struct s_field){"/Error/Code", &out->code, S_TRIM, false};
    fields[2] = (struct s_field){"/Error/Message", &out->message, S_TRIM, false};
    fields[3] = (struct s_field){"/RequestId", &out->request_id, S_TRIM, false};
    if ((rc = s_parse(xml, len, "ErrorResponse", fields, 4)) == WC_OK && wc_str_empty(out->code))
        rc = WC_ERR_PARSE;
    if (rc != WC_OK)
        wc_sts_error_clean_up(out);
    return rc;
}

void wc_sts_error_clean_up(struct wc_sts_error *e)
{
    if (!e)
        return;
    free(e->type);
    free(e->code);
    free(e->message);
    free(e->request_id);
    memset(e, 0, sizeof(*e));
}

/* --- request bodies ----------------------------------------------------- */

static bool s_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

int wc_sts_form_encode(struct wc_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = WC_OK;

    if (!out || !s)
        return WC_ERR_INVALID;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == WC_OK; p++) {
        if (s_unreserved(*p)) {
            rc = wc_buf_append_char(out, (char)*p);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            rc = wc_buf_append(out, enc, 3);
        }
    }
    return rc;
}

static bool s_word(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool s_valid_chars(const char *s, size_t min, size_t max, const char *extra)
{
    size_t n;

    if (!s)
        return false;
    n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!s_word((unsigned char)s[i]) && !strchr(extra, s[i]))
            return false;
    return true;
}

bool wc_sts_valid_session_name(const char *s)
{
    return s_valid_chars(s, 2, 64, "+=,.@-");
}

bool wc_sts_valid_external_id(const char *s)
{
    return s_valid_chars(s, 2, 1224, "+=,.@:/-");
}

static bool s_valid_role_arn(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 20 || n > 2048 || strncmp(s, "arn:", 4) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
            return false;
    return true;
}

static int s_param(struct wc_buf *out, const char *name, const char *value)
{
    int rc;

    if ((rc = wc_buf_append_char(out, '&')) != WC_OK ||
        (rc = wc_buf_append_cstr(out, name)) != WC_OK ||
        (rc = wc_buf_append_char(out, '=')) != WC_OK)
        return rc;
    return wc_sts_form_encode(out, value);
}

int wc_sts_assume_role_body(const struct wc_sts_assume_role_params *p, struct wc_buf *out)
{
    char dur[16] = {0};
    size_t start;
    int rc;

    if (!p || !out || !s_valid_role_arn(p->role_arn) ||
        !wc_sts_valid_session_name(p->session_name) ||
        (p->external_id && !wc_sts_valid_external_id(p->external_id)) ||
        (p->duration_s != 0 && (p->duration_s < 900 || p->duration_s > 43200)))
        return WC_ERR_INVALID;
    start = out->len;
    if ((rc = wc_buf_append_cstr(out, "Action=AssumeRole&Version=" WC_STS_API_VERSION)) != WC_OK ||
        (rc = s_param(out, "RoleArn", p->role_arn)) != WC_OK ||
        (rc = s_param(out, "RoleSessionName", p->session_name)) != WC_OK)
        goto out;
    if (p->duration_s) {
        snprintf(dur, sizeof(dur), "%d", p->duration_s);
        if ((rc = s_param(out, "DurationSeconds", dur)) != WC_OK)
            goto out;
    }
    if (p->external_id)
        rc = s_param(out, "ExternalId", p->external_id);
out:
    if (rc != WC_OK && out->ptr) {
        out->len = start;
        out->ptr[start] = '\0';
    }
    return rc;
}

int wc_sts_web_identity_body(const char *role_arn, const char *session_name, const char *token,
                             struct wc_buf *out)
{
    size_t start, tlen = token ? strlen(token) : 0;
    int rc;

    if (!out || !s_valid_role_arn(role_arn) || !wc_sts_valid_session_name(session_name) ||
        tlen < 4 || tlen > 20000)
        return WC_ERR_INVALID;
    start = out->len;
    if ((rc = wc_buf_append_cstr(out, "Action=AssumeRoleWithWebIdentity&Version="
                                      WC_STS_API_VERSION)) != WC_OK ||
        (rc = s_param(out, "RoleArn", role_arn)) != WC_OK ||
        (rc = s_param(out, "RoleSessionName", session_name)) != WC_OK ||
        (rc = s_param(out, "WebIdentityToken", token)) != WC_OK) {
        if (out->ptr) {
            wc_secure_zero(out->ptr + start, out->len - start);
            out->len = start;
            out->ptr[start] = '\0';
        }
    }
    return rc;
}
