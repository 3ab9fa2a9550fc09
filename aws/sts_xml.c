#include "aws/sts_xml.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/xml.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

enum s_ws { S_TRIM = 0, S_STRIP_ALL };

struct s_field {
    const char *path; /* from the root, e.g. "/AssumeRoleResponse/AssumeRoleResult/..." */
    char **dst;
    enum s_ws ws;
    bool seen;
};

struct s_fields {
    struct s_field *fields;
    size_t n_fields;
};

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

static int s_on_element(void *ctx, const struct wc_xml_element *el)
{
    struct s_fields *fs = ctx;

    if (el->depth < 2 || el->has_children)
        return WC_OK;
    for (size_t i = 0; i < fs->n_fields; i++) {
        struct s_field *f = &fs->fields[i];

        if (strcmp(f->path, el->path) != 0)
            continue;
        if (f->seen)
            return WC_ERR_PARSE; /* duplicate field */
        if (!(*f->dst = s_clean_text(el->text, f->ws)))
            return WC_ERR_NOMEM;
        f->seen = true;
        break;
    }
    return WC_OK;
}

/* Parse xml, filling fields. Returns WC_OK when the document is well formed
 * with the expected root; fields may still be missing. */
static int s_parse(const char *xml, size_t len, const char *root, struct s_field *fields,
                   size_t n_fields)
{
    struct s_fields fs = {fields, n_fields};
    struct wc_xml_options o = {
        .on_element = s_on_element,
        .ctx = &fs,
        .root = root,
        .max_bytes = WC_STS_XML_MAX_BYTES,
        .max_text_bytes = WC_STS_XML_MAX_BYTES, /* no cap beyond the document's own */
    };

    if (!xml || !root)
        return WC_ERR_INVALID;
    return wc_xml_parse(xml, len, &o);
}

/* "/<action>Response/<action>Result/<tail>" */
static void s_result_path(char *buf, size_t n, const char *action, const char *tail)
{
    snprintf(buf, n, "/%sResponse/%sResult/%s", action, action, tail);
}

int wc_sts_xml_parse_credentials(const char *xml, size_t len, const char *action,
                                 struct wc_sts_result *out)
{
    char root[64] = {0}, p_akid[160] = {0}, p_secret[160] = {0}, p_token[160] = {0},
         p_exp[160] = {0}, p_arn[160] = {0}, p_rid[160] = {0};
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
    s_result_path(p_akid, sizeof(p_akid), action, "Credentials/AccessKeyId");
    s_result_path(p_secret, sizeof(p_secret), action, "Credentials/SecretAccessKey");
    s_result_path(p_token, sizeof(p_token), action, "Credentials/SessionToken");
    s_result_path(p_exp, sizeof(p_exp), action, "Credentials/Expiration");
    s_result_path(p_arn, sizeof(p_arn), action, "AssumedRoleUser/Arn");
    snprintf(p_rid, sizeof(p_rid), "/%sResponse/ResponseMetadata/RequestId", action);
    memset(fields, 0, sizeof(fields));
    fields[0] = (struct s_field){p_akid, &out->creds.access_key_id, S_STRIP_ALL, false};
    fields[1] = (struct s_field){p_secret, &out->creds.secret_access_key, S_STRIP_ALL, false};
    fields[2] = (struct s_field){p_token, &out->creds.session_token, S_STRIP_ALL, false};
    fields[3] = (struct s_field){p_exp, &exp, S_TRIM, false};
    fields[4] = (struct s_field){p_arn, &out->assumed_role_arn, S_TRIM, false};
    fields[5] = (struct s_field){p_rid, &out->request_id, S_TRIM, false};

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
    fields[0] = (struct s_field){"/ErrorResponse/Error/Type", &out->type, S_TRIM, false};
    fields[1] = (struct s_field){"/ErrorResponse/Error/Code", &out->code, S_TRIM, false};
    fields[2] = (struct s_field){"/ErrorResponse/Error/Message", &out->message, S_TRIM, false};
    fields[3] = (struct s_field){"/ErrorResponse/RequestId", &out->request_id, S_TRIM, false};
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
