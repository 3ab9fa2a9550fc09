/* credentials_http.c - the sources that speak HTTP: STS
 * AssumeRoleWithWebIdentity, ECS/EKS container credentials, EC2 IMDSv2. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "aws/sts_xml.h"
#include "core/awsid.h"
#include "core/err.h"
#include "core/str.h"

#define S_META_CONNECT_MS 1000L
#define S_META_TOTAL_MS 2000L
#define S_META_MAX_BYTES ((size_t)64 * 1024)
#define S_STS_CONNECT_MS 3000L
#define S_STS_TOTAL_MS 10000L
#define S_TOKEN_FILE_MAX ((size_t)64 * 1024)
#define S_IMDS_TOKEN_TTL "21600"

void wc_creds_response_clean_up(struct wc_http_response *resp)
{
    wc_buf_clean_up_secure(&resp->body);
    wc_http_response_clean_up(resp);
}

int wc_creds_send(const struct wc_creds_ctx *c, bool metadata, const char *method,
                  const char *url, const struct wc_http_header *headers, size_t n_headers,
                  const void *body, size_t body_len, long connect_ms, long total_ms,
                  size_t max_bytes, struct wc_http_response *resp)
{
    struct wc_http_request req = {0};

    if (!c->http)
        return WC_ERR_UNSUPPORTED;
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.n_headers = n_headers;
    req.body = body;
    req.body_len = body_len;
    req.connect_timeout_ms = connect_ms;
    req.timeout_ms = total_ms;
    req.max_response_bytes = max_bytes;
    req.metadata_credentials = metadata;
    return wc_http_send(c->http, &req, resp);
}

/* Trimmed copy of a token read from a file; NULL when empty or on error. */
static int s_read_token_file(const char *path, char **out)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_str t;
    int rc;

    *out = NULL;
    if ((rc = wc_creds_read_file(path, S_TOKEN_FILE_MAX, &b)) != WC_OK)
        goto out;
    t = wc_str_trim(wc_buf_str(&b));
    if (t.len == 0 || memchr(t.ptr, '\n', t.len) || memchr(t.ptr, '\r', t.len)) {
        rc = WC_ERR_AUTH;
        goto out;
    }
    if (!(*out = wc_strndup(t.ptr, t.len)))
        rc = WC_ERR_NOMEM;
out:
    wc_buf_clean_up_secure(&b);
    return rc;
}

/* --- JSON credentials (ECS, IMDS) --------------------------------------- */

void wc_creds_json_wipe(cJSON *node)
{
    for (; node; node = node->next) {
        if (node->valuestring)
            OPENSSL_cleanse(node->valuestring, strlen(node->valuestring));
        if (node->child)
            wc_creds_json_wipe(node->child);
    }
}

const char *wc_creds_json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) && v->valuestring && v->valuestring[0] ? v->valuestring : NULL;
}

static int s_parse_creds_json(const struct wc_creds_ctx *c, const struct wc_buf *body, bool imds,
                              const char *source, struct wc_aws_credentials *out)
{
    struct wc_aws_credentials tmp = {0};
    cJSON *root = NULL;
    const char *code, *exp;
    int rc = WC_OK;

    if (!body->ptr || !(root = cJSON_ParseWithLength(body->ptr, body->len)) ||
        !cJSON_IsObject(root)) {
        rc = WC_ERR_PARSE;
        goto out;
    }
    if (imds) {
        code = wc_creds_json_str(root, "Code");
        if (!code || strcmp(code, "Success") != 0) {
            WC_LOGW(c->logger, NULL, "credentials: instance metadata Code is %s, not Success",
                    code ? code : "missing");
            rc = WC_ERR_AUTH;
            goto out;
        }
    }
    tmp.access_key_id = (char *)wc_creds_json_str(root, "AccessKeyId");
    tmp.secret_access_key = (char *)wc_creds_json_str(root, "SecretAccessKey");
    tmp.session_token = (char *)wc_creds_json_str(root, "Token");
    tmp.source = (char *)source;
    exp = wc_creds_json_str(root, "Expiration");
    /* Temporary credentials must say when they expire (else they would be
     * cached for ever). */
    if (!tmp.access_key_id || !tmp.secret_access_key || (tmp.session_token && !exp) ||
        (imds && !tmp.session_token)) {
        rc = WC_ERR_PARSE;
        goto out;
    }
    /* an expiry at or before the epoch would read as "does not expire" */
    if (exp && (wc_time_parse_iso8601(wc_str_from_cstr(exp), &tmp.expiration_ms) != WC_OK ||
                tmp.expiration_ms <= 0)) {
        rc = WC_ERR_PARSE;
        goto out;
    }
    rc = wc_aws_credentials_copy(out, &tmp);
out:
    if (root) {
        wc_creds_json_wipe(root);
        cJSON_Delete(root);
    }
    return rc;
}

/* --- STS AssumeRoleWithWebIdentity -------------------------------------- */

static int s_sts_url(const struct wc_creds_ctx *c, char *out, size_t len)
{
    const char *region = c->region;

    if (c->sts_endpoint) {
        snprintf(out, len, "%s", c->sts_endpoint);
        return WC_OK;
    }
    if (!region)
        region = wc_creds_ctx_getenv(c, "AWS_REGION");
    if (!region)
        region = wc_creds_ctx_getenv(c, "AWS_DEFAULT_REGION");
    if (!region) {
        snprintf(out, len, "https://sts.amazonaws.com/");
        return WC_OK;
    }
    if (!wc_region_is_valid(region))
        return WC_ERR_CONFIG;
    snprintf(out, len, "https://sts.%s.amazonaws.com/", region);
    return WC_OK;
}

int wc_creds_sts_failure(struct wc_logger *lg, const char *action,
                         const struct wc_http_response *resp)
{
    struct wc_sts_error e = {0};
    int rc = resp->status >= 500 ? WC_ERR_SERVICE : WC_ERR_AUTH;

    if (resp->body.ptr && wc_sts_xml_parse_error(resp->body.ptr, resp->body.len, &e) == WC_OK) {
        if (strcmp(e.code, "Throttling") == 0 || strcmp(e.code, "ThrottlingException") == 0 ||
            strcmp(e.code, "RequestLimitExceeded") == 0)
            rc = WC_ERR_THROTTLED;
        WC_LOGW(lg, NULL, "credentials: STS %s failed: HTTP %ld %s: %s (request %s)",
                action, resp->status, e.code, e.message ? e.message : "",
                e.request_id ? e.request_id : "?");
    } else {
        WC_LOGW(lg, NULL, "credentials: STS %s failed: HTTP %ld", action, resp->status);
    }
    wc_sts_error_clean_up(&e);
    return rc;
}

int wc_creds_fetch_web_identity(const struct wc_creds_ctx *c, const char *token_file,
                                const char *role_arn, const char *session_name,
                                struct wc_aws_credentials *out)
{
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/x-www-form-urlencoded; charset=utf-8"},
    };
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_sts_result res = {0};
    struct wc_buf body = WC_BUF_INIT;
    char url[512] = {0};
    char *token = NULL;
    int rc;

    if (!session_name)
        session_name = WC_CREDS_DEFAULT_SESSION_NAME;
    if (!wc_sts_valid_session_name(session_name)) {
        WC_LOGE(c->logger, NULL, "credentials: invalid role session name for web identity");
        return WC_ERR_CONFIG;
    }
    if ((rc = s_read_token_file(token_file, &token)) != WC_OK) {
        WC_LOGW(c->logger, NULL, "credentials: cannot read the web identity token file %s: %s",
                token_file, wc_strerror(rc));
        rc = rc == WC_ERR_NOT_FOUND ? WC_ERR_AUTH : rc;
        goto out;
    }
    if ((rc = s_sts_url(c, url, sizeof(url))) != WC_OK)
        goto out;
    if ((rc = wc_sts_web_identity_body(role_arn, session_name, token, &body)) != WC_OK) {
        WC_LOGE(c->logger, NULL, "credentials: invalid web identity role ARN or token");
        rc = WC_ERR_CONFIG;
        goto out;
    }
    rc = wc_creds_send(c, false, "POST", url, headers, 1, body.ptr, body.len, S_STS_CONNECT_MS,
                       S_STS_TOTAL_MS, WC_STS_XML_MAX_BYTES, &resp);
    if (rc != WC_OK) {
        WC_LOGW(c->logger, NULL, "credentials: STS AssumeRoleWithWebIdentity: %s",
                wc_strerror(rc));
        goto out;
    }
    if (resp.status != 200) {
        rc = wc_creds_sts_failure(c->logger, "AssumeRoleWithWebIdentity", &resp);
        goto out;
    }
    if ((rc = wc_sts_xml_parse_credentials(resp.body.ptr ? resp.body.ptr : "", resp.body.len,
                                           "AssumeRoleWithWebIdentity", &res)) != WC_OK) {
        WC_LOGW(c->logger, NULL, "credentials: malformed AssumeRoleWithWebIdentity response");
        goto out;
    }
    if ((rc = wc_creds_set_source(&res.creds, "web-identity")) != WC_OK)
        goto out;
    *out = res.creds;
    memset(&res.creds, 0, sizeof(res.creds));
out:
    wc_sts_result_clean_up(&res);
    wc_creds_response_clean_up(&resp);
    wc_buf_clean_up_secure(&body);
    wc_creds_free_secret(token);
    return rc;
}

int wc_creds_fetch_web_identity_env(const struct wc_creds_ctx *c, struct wc_aws_credentials *out)
{
    const char *file = wc_creds_ctx_getenv(c, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *arn = wc_creds_ctx_getenv(c, "AWS_ROLE_ARN");

    if (!file || !arn)
        return WC_ERR_NOT_FOUND;
    return wc_creds_fetch_web_identity(c, file, arn,
                                       wc_creds_ctx_getenv(c, "AWS_ROLE_SESSION_NAME"), out);
}

/* --- ECS / EKS container credentials ------------------------------------ */

/* Plain-http full URIs may only point at the container agents or loopback;
 * https may point anywhere (as the SDKs allow). */
static bool s_full_uri_allowed(const char *uri)
{
    const char *auth, *end, *host_end;
    char host[64] = {0};
    unsigned char addr[16] = {0};
    static const unsigned char v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char v6_eks[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0,
                                             0,    0, 0,    0,    0, 0, 0, 0x23};
    size_t n;

    if (strncasecmp(uri, "https://", 8) == 0)
        return strlen(uri) > 8;
    if (strncasecmp(uri, "http://", 7) != 0)
        return false;
    auth = uri + 7;
    end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(end - auth)))
        return false; /* no userinfo tricks: http://127.0.0.1@evil/ */
    if (*auth == '[') {
        host_end = memchr(auth, ']', (size_t)(end - auth));
        if (!host_end)
            return false;
        auth++;
    } else {
        host_end = memchr(auth, ':', (size_t)(end - auth));
        if (!host_end)
            host_end = end;
    }
    n = (size_t)(host_end - auth);
    if (n == 0 || n >= sizeof(host))
        return false;
    memcpy(host, auth, n);
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "169.254.170.2") == 0 ||
        strcmp(host, "169.254.170.23") == 0)
        return true;
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127;
    if (inet_pton(AF_INET6, host, addr) == 1)
        return memcmp(addr, v6_loop, 16) == 0 || memcmp(addr, v6_eks, 16) == 0;
    return false;
}

int wc_creds_fetch_ecs(const struct wc_creds_ctx *c, struct wc_aws_credentials *out)
{
    const char *rel = wc_creds_ctx_getenv(c, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = wc_creds_ctx_getenv(c, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *token_file = wc_creds_ctx_getenv(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token_env = wc_creds_ctx_getenv(c, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_http_header hdr = {0};
    struct wc_buf url = WC_BUF_INIT;
    char *token = NULL;
    int rc;

    if (rel) {
        if (rel[0] != '/') {
            WC_LOGE(c->logger, NULL, "credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                    "must start with /");
            return WC_ERR_CONFIG;
        }
        if ((rc = wc_buf_appendf(&url, "http://%s%s", WC_CREDS_ECS_HOST, rel)) != WC_OK)
            goto out;
    } else if (full) {
        if (!s_full_uri_allowed(full)) {
            WC_LOGE(c->logger, NULL, "credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI must be "
                    "https or point at loopback, 169.254.170.2 or 169.254.170.23; refusing %s",
                    full);
            return WC_ERR_CONFIG;
        }
        if ((rc = wc_buf_append_cstr(&url, full)) != WC_OK)
            goto out;
    } else {
        return WC_ERR_NOT_FOUND;
    }
    if (token_file) {
        if ((rc = s_read_token_file(token_file, &token)) != WC_OK) {
            WC_LOGW(c->logger, NULL, "credentials: cannot read "
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", token_file, wc_strerror(rc));
            rc = WC_ERR_AUTH;
            goto out;
        }
    } else if (token_env) {
        if (strchr(token_env, '\n') || strchr(token_env, '\r')) {
            rc = WC_ERR_CONFIG;
            goto out;
        }
        if (!(token = wc_strdup(token_env))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
    }
    hdr.name = (char *)"Authorization";
    hdr.value = token;
    rc = wc_creds_send(c, true, "GET", url.ptr, &hdr, token ? 1 : 0, NULL, 0, S_META_CONNECT_MS,
                       S_META_TOTAL_MS, S_META_MAX_BYTES, &resp);
    if (rc != WC_OK)
        goto out;
    if (resp.status < 200 || resp.status > 299) {
        WC_LOGW(c->logger, NULL, "credentials: container credentials endpoint returned HTTP %ld",
                resp.status);
        rc = WC_ERR_AUTH;
        goto out;
    }
    rc = s_parse_creds_json(c, &resp.body, false, "ecs", out);
out:
    wc_creds_response_clean_up(&resp);
    wc_buf_clean_up(&url);
    wc_creds_free_secret(token);
    return rc;
}

/* --- EC2 instance metadata (IMDSv2) ------------------------------------- */

struct s_imds {
    const struct wc_creds_ctx *c;
    char base[512];
    char *token; /* NULL: IMDSv1 */
};

static int s_imds_token(struct s_imds *m)
{
    static const struct wc_http_header hdr[] = {
        {(char *)"X-aws-ec2-metadata-token-ttl-seconds", (char *)S_IMDS_TOKEN_TTL},
    };
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    char url[600] = {0};
    struct wc_str t;
    int rc;

    wc_creds_free_secret(m->token);
    m->token = NULL;
    snprintf(url, sizeof(url), "%s/latest/api/token", m->base);
    rc = wc_creds_send(m->c, true, "PUT", url, hdr, 1, NULL, 0, S_META_CONNECT_MS,
                       S_META_TOTAL_MS, S_META_MAX_BYTES, &resp);
    if (rc != WC_OK)
        goto out;
    t = wc_str_trim(wc_buf_str(&resp.body));
    if (resp.status == 200 && t.len > 0 && !memchr(t.ptr, '\n', t.len) &&
        !memchr(t.ptr, '\r', t.len)) {
        if (!(m->token = wc_strndup(t.ptr, t.len)))
            rc = WC_ERR_NOMEM;
        goto out;
    }
    if (m->c->imds_v1_fallback) {
        WC_LOGW(m->c->logger, NULL, "credentials: IMDSv2 token request returned HTTP %ld; "
                "falling back to IMDSv1", resp.status);
        goto out;
    }
    WC_LOGW(m->c->logger, NULL, "credentials: IMDSv2 token request returned HTTP %ld and the "
            "IMDSv1 fallback is disabled", resp.status);
    rc = WC_ERR_AUTH;
out:
    wc_creds_response_clean_up(&resp);
    return rc;
}

/* GET base+path with the session token; a 401 (token expired) fetches a new
 * token once and retries. */
static int s_imds_get(struct s_imds *m, const char *path, struct wc_http_response *resp)
{
    struct wc_http_header hdr = {(char *)"X-aws-ec2-metadata-token", NULL};
    char url[1024] = {0};
    int rc = WC_OK;

    snprintf(url, sizeof(url), "%s%s", m->base, path);
    for (int attempt = 0; attempt < 2; attempt++) {
        wc_creds_response_clean_up(resp);
        hdr.value = m->token;
        rc = wc_creds_send(m->c, true, "GET", url, &hdr, m->token ? 1 : 0, NULL, 0,
                           S_META_CONNECT_MS, S_META_TOTAL_MS, S_META_MAX_BYTES, resp);
        if (rc != WC_OK || resp->status != 401 || !m->token || attempt > 0)
            break;
        WC_LOGD(m->c->logger, NULL, "credentials: IMDS token rejected (401); fetching a new one");
        if ((rc = s_imds_token(m)) != WC_OK)
            break;
    }
    return rc;
}

static bool s_role_name_valid(struct wc_str r)
{
    if (r.len == 0 || r.len > 128)
        return false;
    for (size_t i = 0; i < r.len; i++) {
        unsigned char ch = (unsigned char)r.ptr[i];

        if (!isalnum(ch) && (ch == 0 || !strchr("_+=,.@-", ch)))
            return false;
    }
    return true;
}

int wc_creds_fetch_imds(const struct wc_creds_ctx *c, struct wc_aws_credentials *out)
{
    static const char creds_path[] = "/latest/meta-data/iam/security-credentials/";
    const char *disabled = wc_creds_ctx_getenv(c, "AWS_EC2_METADATA_DISABLED");
    const char *endpoint = c->imds_endpoint;
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct s_imds m = {0};
    struct wc_str list, role;
    char path[256] = {0};
    size_t n;
    int rc;

    if (disabled && strcasecmp(disabled, "true") == 0)
        return WC_ERR_NOT_FOUND;
    if (!endpoint)
        endpoint = wc_creds_ctx_getenv(c, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!endpoint)
        endpoint = WC_CREDS_DEFAULT_IMDS_ENDPOINT;
    n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(m.base) ||
        (strncasecmp(endpoint, "http://", 7) != 0 && strncasecmp(endpoint, "https://", 8) != 0))
        return WC_ERR_CONFIG;
    memcpy(m.base, endpoint, n);
    m.c = c;

    if ((rc = s_imds_token(&m)) != WC_OK)
        goto out;
    if ((rc = s_imds_get(&m, creds_path, &resp)) != WC_OK)
        goto out;
    if (resp.status == 404) {
        WC_LOGD(c->logger, NULL, "credentials: no instance profile attached (IMDS 404)");
        rc = WC_ERR_NOT_FOUND;
        goto out;
    }
    if (resp.status != 200) {
        WC_LOGW(c->logger, NULL, "credentials: IMDS role list returned HTTP %ld", resp.status);
        rc = WC_ERR_AUTH;
        goto out;
    }
    list = wc_buf_str(&resp.body);
    role = list;
    for (size_t i = 0; i < list.len; i++) {
        if (list.ptr[i] == '\n') {
            role.len = i;
            break;
        }
    }
    role = wc_str_trim(role);
    if (!s_role_name_valid(role)) {
        WC_LOGW(c->logger, NULL, "credentials: IMDS returned no usable role name");
        rc = WC_ERR_PARSE;
        goto out;
    }
    snprintf(path, sizeof(path), "%s%.*s", creds_path, (int)role.len, role.ptr);
    if ((rc = s_imds_get(&m, path, &resp)) != WC_OK)
        goto out;
    if (resp.status != 200) {
        WC_LOGW(c->logger, NULL, "credentials: IMDS credentials returned HTTP %ld", resp.status);
        rc = resp.status == 404 ? WC_ERR_NOT_FOUND : WC_ERR_AUTH;
        goto out;
    }
    rc = s_parse_creds_json(c, &resp.body, true, "imds", out);
out:
    wc_creds_response_clean_up(&resp);
    wc_creds_free_secret(m.token);
    return rc;
}
