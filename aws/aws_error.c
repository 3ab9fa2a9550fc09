#include "aws/aws_error.h"

#include <cjson/cJSON.h>
#include <expat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

/* Longest code / message / request id we keep; anything longer is cut. */
#define S_FIELD_MAX 8192
/* Depth of the element path we remember while walking the XML. */
#define S_XML_DEPTH 8
#define S_XML_NAME 32

static const char *s_header(const struct wc_http_header *hs, size_t n, const char *name)
{
    for (size_t i = 0; hs && i < n; i++)
        if (hs[i].name && strcasecmp(hs[i].name, name) == 0)
            return hs[i].value;
    return NULL;
}

void wc_aws_error_sanitize_code(char *code)
{
    char *p;

    if (!code)
        return;
    /* botocore: split on the first ':' (URI suffix), then keep what follows
     * the last '#' (shape namespace). */
    if ((p = strchr(code, ':')))
        *p = '\0';
    if ((p = strrchr(code, '#')))
        memmove(code, p + 1, strlen(p + 1) + 1);
}

/* Copy s (trimmed, capped) into *dst unless *dst is already set. */
static int s_set(char **dst, const char *s, size_t len)
{
    struct wc_str t = wc_str_trim((struct wc_str){s, len});

    if (*dst || !s)
        return WC_OK;
    if (t.len > S_FIELD_MAX)
        t.len = S_FIELD_MAX;
    *dst = wc_strndup(t.ptr, t.len);
    return *dst ? WC_OK : WC_ERR_NOMEM;
}

/* ---- JSON (awsJson1_0 / awsJson1_1) ---- */

static int s_parse_json(const char *body, size_t len, struct wc_aws_error *out, char **code_body)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *it;
    int rc = WC_OK;

    if (!cJSON_IsObject(root))
        goto out;
    it = cJSON_GetObjectItemCaseSensitive(root, "code");
    if (!cJSON_IsString(it))
        it = cJSON_GetObjectItemCaseSensitive(root, "__type");
    if (cJSON_IsString(it) && (rc = s_set(code_body, it->valuestring, strlen(it->valuestring))) != WC_OK)
        goto out;
    it = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (!cJSON_IsString(it))
        it = cJSON_GetObjectItemCaseSensitive(root, "Message");
    if (cJSON_IsString(it))
        rc = s_set(&out->message, it->valuestring, strlen(it->valuestring));
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- XML (awsQuery, restXml) ---- */

enum s_field { S_NONE = 0, S_CODE, S_MESSAGE, S_TYPE, S_REQUEST_ID };

struct s_xml {
    XML_Parser parser;
    int depth;
    char names[S_XML_DEPTH][S_XML_NAME];
    enum s_field capture;
    int capture_depth;
    struct wc_buf text;
    char *code, *message, *type, *request_id;
    int rc;
};

static const char *s_parent(const struct s_xml *x)
{
    /* names[depth - 1] is the current element; its parent is one above. */
    if (x->depth < 2 || x->depth - 2 >= S_XML_DEPTH)
        return "";
    return x->names[x->depth - 2];
}

static void XMLCALL s_xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct s_xml *x = ud;
    const char *parent;

    (void)attrs;
    x->depth++;
    if (x->depth <= S_XML_DEPTH)
        snprintf(x->names[x->depth - 1], S_XML_NAME, "%s", name);
    if (x->capture != S_NONE)
        return;
    parent = s_parent(x);
    if (strcmp(parent, "Error") == 0) {
        if (strcmp(name, "Code") == 0 && !x->code)
            x->capture = S_CODE;
        else if (strcmp(name, "Message") == 0 && !x->message)
            x->capture = S_MESSAGE;
        else if (strcmp(name, "Type") == 0 && !x->type)
            x->capture = S_TYPE;
    }
    /* <ErrorResponse><RequestId>, <Error><RequestId> (S3), <Response><RequestID> (EC2) */
    if (x->capture == S_NONE && x->depth <= 3 && !x->request_id &&
        (strcmp(name, "RequestId") == 0 || strcmp(name, "RequestID") == 0))
        x->capture = S_REQUEST_ID;
    if (x->capture != S_NONE) {
        x->capture_depth = x->depth;
        wc_buf_reset(&x->text);
    }
}

static void XMLCALL s_xml_text(void *ud, const XML_Char *s, int len)
{
    struct s_xml *x = ud;

    if (x->capture == S_NONE || len <= 0 || x->text.len >= S_FIELD_MAX)
        return;
    if ((size_t)len > S_FIELD_MAX - x->text.len)
        len = (int)(S_FIELD_MAX - x->text.len);
    if (wc_buf_append(&x->text, s, (size_t)len) != WC_OK) {
        x->rc = WC_ERR_NOMEM;
        XML_StopParser(x->parser, XML_FALSE);
    }
}

static void XMLCALL s_xml_end(void *ud, const XML_Char *name)
{
    struct s_xml *x = ud;
    char **dst = NULL;
    struct wc_str t;

    (void)name;
    if (x->capture != S_NONE && x->depth == x->capture_depth) {
        switch (x->capture) {
        case S_CODE: dst = &x->code; break;
        case S_MESSAGE: dst = &x->message; break;
        case S_TYPE: dst = &x->type; break;
        case S_REQUEST_ID: dst = &x->request_id; break;
        default: break;
        }
        t = wc_buf_str(&x->text);
        if (dst && s_set(dst, t.ptr ? t.ptr : "", t.len) != WC_OK) {
            x->rc = WC_ERR_NOMEM;
            XML_StopParser(x->parser, XML_FALSE);
        }
        x->capture = S_NONE;
    }
    x->depth--;
}

/* An error body has no business declaring a DTD: refuse it outright. */
static void XMLCALL s_xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                  const XML_Char *pubid, int has_internal_subset)
{
    struct s_xml *x = ud;

    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    XML_StopParser(x->parser, XML_FALSE);
}

static int s_parse_xml(const char *body, size_t len, struct wc_aws_error *out, char **code_body,
                       bool *have_type, bool *type_sender)
{
    struct s_xml x;
    int rc = WC_OK;

    memset(&x, 0, sizeof(x));
    wc_buf_init(&x.text, S_FIELD_MAX + 1);
    if (len > (size_t)INT32_MAX)
        goto out;
    if (!(x.parser = XML_ParserCreate("UTF-8"))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    XML_SetUserData(x.parser, &x);
    XML_SetElementHandler(x.parser, s_xml_start, s_xml_end);
    XML_SetCharacterDataHandler(x.parser, s_xml_text);
    XML_SetStartDoctypeDeclHandler(x.parser, s_xml_doctype);
    /* A malformed document still yields whatever came before the fault. */
    (void)XML_Parse(x.parser, body, (int)len, XML_TRUE);
    if ((rc = x.rc) != WC_OK)
        goto out;
    *code_body = x.code;
    x.code = NULL;
    out->message = x.message;
    x.message = NULL;
    if (!out->request_id) {
        out->request_id = x.request_id;
        x.request_id = NULL;
    }
    if (x.type) {
        *have_type = true;
        *type_sender = strcmp(x.type, "Sender") == 0;
    }
out:
    if (x.parser)
        XML_ParserFree(x.parser);
    free(x.code);
    free(x.message);
    free(x.type);
    free(x.request_id);
    wc_buf_clean_up(&x.text);
    return rc;
}

/* ---- entry points ---- */

int wc_aws_error_parse_parts(long status, const struct wc_http_header *headers, size_t n_headers,
                             const char *body, size_t body_len, struct wc_aws_error *out)
{
    char *code_body = NULL, *code = NULL;
    const char *hv, *semi;
    bool have_type = false, type_sender = false, have_query_error = false;
    size_t i = 0;
    int rc = WC_OK;

    if (!out || (!body && body_len))
        return WC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->status = (int)status;

    if ((hv = s_header(headers, n_headers, "x-amzn-RequestId")) ||
        (hv = s_header(headers, n_headers, "x-amz-request-id")))
        if ((rc = s_set(&out->request_id, hv, strlen(hv))) != WC_OK)
            goto out;

    while (body && i < body_len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
                                    body[i] == '\n'))
        i++;
    if (body && i < body_len && body[i] == '{')
        rc = s_parse_json(body, body_len, out, &code_body);
    else if (body && i < body_len && body[i] == '<')
        rc = s_parse_xml(body, body_len, out, &code_body, &have_type, &type_sender);
    if (rc != WC_OK)
        goto out;

    /* Smithy awsJson: X-Amzn-ErrorType header first, then the body. */
    if ((hv = s_header(headers, n_headers, "X-Amzn-ErrorType")) && *hv) {
        if ((rc = s_set(&code, hv, strlen(hv))) != WC_OK)
            goto out;
    } else {
        code = code_body;
        code_body = NULL;
    }
    wc_aws_error_sanitize_code(code);
    if (code && !*code) {
        free(code);
        code = NULL;
    }

    /* awsQueryCompatible: "LegacyCode;Sender" names the code SDKs expose. */
    if ((hv = s_header(headers, n_headers, "x-amzn-query-error")) && *hv) {
        struct wc_str field;

        semi = strchr(hv, ';');
        /* blank (after trimming, as s_set trims) names nothing */
        field = wc_str_trim((struct wc_str){hv, semi ? (size_t)(semi - hv) : strlen(hv)});
        if (field.len > 0) {
            free(code);
            code = NULL;
            if ((rc = s_set(&code, field.ptr, field.len)) != WC_OK)
                goto out;
        }
        if (semi) {
            have_query_error = true;
            type_sender = strcmp(semi + 1, "Sender") == 0;
        }
    }

    if (!code) {
        char num[24];

        snprintf(num, sizeof(num), "%ld", status);
        if (!(code = wc_strdup(num))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
    }
    out->code = code;
    code = NULL;
    if (have_type || have_query_error)
        out->sender_fault = type_sender;
    else
        out->sender_fault = status >= 400 && status < 500;
out:
    free(code);
    free(code_body);
    if (rc != WC_OK)
        wc_aws_error_clean_up(out);
    return rc;
}

int wc_aws_error_parse(const struct wc_http_response *resp, struct wc_aws_error *out)
{
    if (!resp || !out)
        return WC_ERR_INVALID;
    return wc_aws_error_parse_parts(resp->status, resp->headers, resp->n_headers, resp->body.ptr,
                                    resp->body.len, out);
}

void wc_aws_error_clean_up(struct wc_aws_error *e)
{
    if (!e)
        return;
    free(e->code);
    free(e->message);
    free(e->request_id);
    memset(e, 0, sizeof(*e));
}
