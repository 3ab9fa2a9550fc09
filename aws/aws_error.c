#include "aws/aws_error.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/xml.h"
#include "core/err.h"
#include "core/str.h"

/* Longest code / message / request id we keep; anything longer is cut. */
#define S_FIELD_MAX 8192

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

/* ---- XML (awsQuery, restXml), through the XML front end ---- */

struct s_xml {
    char *code, *message, *type, *request_id;
};

static int s_xml_element(void *ctx, const struct wc_xml_element *el)
{
    struct s_xml *x = ctx;
    char **dst = NULL;

    if (el->has_children)
        return WC_OK;
    if (wc_xml_parent_is(el, "Error")) {
        if (strcmp(el->name, "Code") == 0)
            dst = &x->code;
        else if (strcmp(el->name, "Message") == 0)
            dst = &x->message;
        else if (strcmp(el->name, "Type") == 0)
            dst = &x->type;
    }
    /* <ErrorResponse><RequestId>, <Error><RequestId> (S3), <Response><RequestID> (EC2) */
    if (!dst && el->depth <= 3 &&
        (strcmp(el->name, "RequestId") == 0 || strcmp(el->name, "RequestID") == 0))
        dst = &x->request_id;
    /* the first of each wins */
    return dst ? s_set(dst, el->text.ptr, el->text.len) : WC_OK;
}

static int s_parse_xml(const char *body, size_t len, struct wc_aws_error *out, char **code_body,
                       bool *have_type, bool *type_sender)
{
    struct s_xml x;
    struct wc_xml_options o = {
        .on_element = s_xml_element,
        .ctx = &x,
        .max_text_bytes = S_FIELD_MAX,
        .cut_text = true,
    };
    int rc;

    memset(&x, 0, sizeof(x));
    /* A malformed or refused document still yields whatever came before the
     * fault (for a DOCTYPE, nothing: it precedes the root). */
    if ((rc = wc_xml_parse(body, len, &o)) != WC_ERR_NOMEM)
        rc = WC_OK;
    if (rc != WC_OK)
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
    free(x.code);
    free(x.message);
    free(x.type);
    free(x.request_id);
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

bool wc_aws_error_is_access_denied(const char *code)
{
    static const char *const codes[] = {
        "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
        "AuthorizationError", "UnauthorizedException", "KmsAccessDenied",
        "AWS.SimpleQueueService.AccessDenied", "KMS.AccessDeniedException",
    };

    for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

/* Codes that mean our credentials or signature were refused. */
static bool s_credential_code(const char *code)
{
    static const char *const codes[] = {
        "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
        "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature",
        "IncompleteSignatureException", "MissingAuthenticationToken",
        "MissingAuthenticationTokenException", "ExpiredToken", "ExpiredTokenException",
        "AuthFailure", "InvalidToken", "RequestExpired",
    };

    for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

#define S_DESCRIBE_MESSAGE_MAX 300

void wc_aws_error_describe(const struct wc_aws_error *e, const char *service,
                           const char *operation, char *out, size_t outlen)
{
    wc_aws_error_describe_on(e, service, operation, NULL, out, outlen);
}

void wc_aws_error_describe_on(const struct wc_aws_error *e, const char *service,
                              const char *operation, const char *resource, char *out,
                              size_t outlen)
{
    char msg[S_DESCRIBE_MESSAGE_MAX + 8] = "";
    const char *code = e && e->code ? e->code : "error";

    if (!out || !outlen)
        return;
    if (e && e->message && *e->message) {
        size_t n = strlen(e->message);

        /* ": " + the message, cut (at a byte, marked with "...") */
        if (n > S_DESCRIBE_MESSAGE_MAX)
            snprintf(msg, sizeof(msg), ": %.*s...", S_DESCRIBE_MESSAGE_MAX, e->message);
        else
            snprintf(msg, sizeof(msg), ": %s", e->message);
        for (char *p = msg; *p; p++) /* one line */
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    if (e && wc_aws_error_is_access_denied(e->code))
        snprintf(out, outlen, "not authorized to %s:%s%s%.256s (%s%s)",
                 service ? service : "aws", operation ? operation : "?",
                 resource && *resource ? " on " : "", resource ? resource : "", code, msg);
    else if (e && s_credential_code(e->code))
        snprintf(out, outlen, "credentials refused by %s (%s%s)", service ? service : "aws",
                 code, msg);
    else
        snprintf(out, outlen, "%s%s", code, msg);
}

void wc_aws_error_log(struct wc_logger *lg, enum wc_log_level level, const char *log_id,
                      const struct wc_aws_error *e, int rc, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    if (!lg || !wc_logger_enabled(lg, level) || (e && wc_aws_error_is_access_denied(e->code)))
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    wc_logger_logf(lg, level, log_id, "%s: %s%s%s", what, e && e->code ? e->code : wc_strerror(rc),
                   e && e->message ? ": " : "", e && e->message ? e->message : "");
}
