/* credentials_sso.c - IAM Identity Center (SSO) profiles.
 *
 * `aws sso login` leaves an access token in ~/.aws/sso/cache/<sha1>.json,
 * where <sha1> is the hex SHA-1 of the sso_session name (the [sso-session]
 * form) or of the sso_start_url (the legacy form kept in the profile). The
 * token buys the role's credentials from the portal's GetRoleCredentials:
 *   GET https://portal.sso.<sso_region>.amazonaws.com/federation/credentials
 *       ?account_id=...&role_name=...   x-amz-sso_bearer_token: <token>
 * (not SigV4-signed). A token of the sso-session form that expires within
 * 15 minutes is refreshed first, as the SDKs do, with the cached
 * refreshToken and client registration through the OIDC service's
 * CreateToken (POST https://oidc.<sso_region>.amazonaws.com/token), and the
 * cache file is rewritten. Otherwise an expired or refused token is an
 * error that says to run `aws sso login`.
 *
 * Endpoints: AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC, else
 * AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "aws/endpoints.h"
#include "core/awsid.h"
#include "core/err.h"
#include "core/str.h"

#define S_TOKEN_FILE_MAX ((size_t)64 * 1024)
#define S_RESP_MAX ((size_t)64 * 1024)
#define S_CONNECT_MS 3000L
#define S_TOTAL_MS 10000L
/* botocore's SSOTokenProvider refreshes a token this close to its expiry */
#define S_TOKEN_REFRESH_WINDOW_MS ((int64_t)15 * 60 * 1000)

/* --- helpers ------------------------------------------------------------ */

static int s_sha1_hex(const char *s, char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL) != 1 || n != 20)
        return WC_ERR_INVALID;
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
    return WC_OK;
}

/* Percent-encode a query value (RFC 3986 unreserved characters pass). */
static int s_query_escape(struct wc_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = WC_OK;

    for (const unsigned char *p = (const unsigned char *)s; *p && rc == WC_OK; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            rc = wc_buf_append_char(b, (char)*p);
        else
            rc = wc_buf_appendf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    return rc;
}

/* The service's base URL (no trailing '/'): the service's AWS_ENDPOINT_URL_*
 * variable, AWS_ENDPOINT_URL, or https://<host_prefix>.<region>.amazonaws.com. */
static int s_endpoint(const struct wc_creds_ctx *c, const char *var, const char *host_prefix,
                      const char *region, struct wc_buf *out)
{
    const char *ignore = wc_creds_ctx_getenv(c, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    const char *url = NULL;
    size_t n;

    if (!ignore || strcasecmp(ignore, "true") != 0) {
        url = wc_creds_ctx_getenv(c, var);
        if (!url)
            url = wc_creds_ctx_getenv(c, "AWS_ENDPOINT_URL");
    }
    if (!url)
        return wc_buf_appendf(out, "https://%s.%s.amazonaws.com%s", host_prefix, region,
                              wc_region_is_china(region) ? ".cn" : "");
    if (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0) {
        WC_LOGE(c->logger, NULL, "credentials: %s must be an http(s):// URL", var);
        return WC_ERR_CONFIG;
    }
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    return wc_buf_append(out, url, n);
}

/* An error answer's type ("UnauthorizedException") and message. */
static void s_error_of(const struct wc_http_response *resp, char *type, size_t tlen,
                       char *msg, size_t mlen)
{
    const char *h = wc_http_response_header(resp, "x-amzn-ErrorType");
    cJSON *root = NULL;
    const char *t = NULL, *m = NULL;

    snprintf(type, tlen, "HTTP %ld", resp->status);
    msg[0] = '\0';
    if (resp->body.ptr)
        root = cJSON_ParseWithLength(resp->body.ptr, resp->body.len);
    if (cJSON_IsObject(root)) {
        t = wc_creds_json_str(root, "__type");
        m = wc_creds_json_str(root, "message");
        if (!m)
            m = wc_creds_json_str(root, "Message");
        if (!m)
            m = wc_creds_json_str(root, "error_description");
        if (!t)
            t = wc_creds_json_str(root, "error");
    }
    if (h)
        t = h;
    if (t) {
        /* "com.amazonaws.x#UnauthorizedException" or "Unauthorized...:http://..." */
        const char *hash = strrchr(t, '#');
        size_t len;

        if (hash)
            t = hash + 1;
        len = strcspn(t, ":");
        snprintf(type, tlen, "%.*s", (int)len, t);
    }
    if (m)
        snprintf(msg, mlen, "%s", m);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    if (root) {
        wc_creds_json_wipe(root);
        cJSON_Delete(root);
    }
}

static int s_parse_time(const char *s, int64_t *out)
{
    char buf[64] = {0};
    size_t n;

    if (!s || (n = strlen(s)) >= sizeof(buf) - 1)
        return WC_ERR_PARSE;
    memcpy(buf, s, n);
    /* older AWS CLI v2 releases wrote "2024-05-01T12:00:00UTC" */
    if (n > 3 && strcmp(buf + n - 3, "UTC") == 0)
        snprintf(buf + n - 3, sizeof(buf) - (n - 3), "Z");
    return wc_time_parse_iso8601(wc_str_from_cstr(buf), out);
}

/* --- the token cache ---------------------------------------------------- */

struct s_token {
    char path[4096];
    cJSON *root;              /* the whole cached object */
    const char *access_token; /* inside root */
    int64_t expires_ms;
};

static void s_token_clean_up(struct s_token *t)
{
    if (t->root) {
        wc_creds_json_wipe(t->root);
        cJSON_Delete(t->root);
    }
    memset(t, 0, sizeof(*t));
}

static void s_login_hint(const struct wc_creds_ctx *c, const struct wc_creds_sso_config *s,
                         const char *what)
{
    WC_LOGE(c->logger, NULL, "credentials: SSO token for profile %s is %s: run aws sso login "
            "--profile %s", s->profile, what, s->profile);
}

static int s_token_load(const struct wc_creds_ctx *c, const struct wc_creds_sso_config *s,
                        struct s_token *t)
{
    const char *home = c->home_dir ? c->home_dir : wc_creds_ctx_getenv(c, "HOME");
    const char *key = s->session_name ? s->session_name : s->start_url;
    struct wc_buf b = WC_BUF_INIT;
    char hex[41] = {0};
    int rc;

    if (!home) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s: no home directory for the SSO "
                "token cache", s->profile);
        return WC_ERR_CONFIG;
    }
    if ((rc = s_sha1_hex(key, hex)) != WC_OK)
        return rc;
    snprintf(t->path, sizeof(t->path), "%s/.aws/sso/cache/%s.json", home, hex);
    if ((rc = wc_creds_read_file(t->path, S_TOKEN_FILE_MAX, &b)) != WC_OK) {
        if (rc == WC_ERR_NOT_FOUND)
            s_login_hint(c, s, "missing");
        else
            WC_LOGE(c->logger, NULL, "credentials: profile %s: cannot read the SSO token "
                    "cache %s: %s", s->profile, t->path, wc_strerror(rc));
        rc = WC_ERR_AUTH;
        goto out;
    }
    t->root = cJSON_ParseWithLength(b.ptr ? b.ptr : "", b.len);
    if (!cJSON_IsObject(t->root) || !(t->access_token = wc_creds_json_str(t->root, "accessToken")) ||
        s_parse_time(wc_creds_json_str(t->root, "expiresAt"), &t->expires_ms) != WC_OK) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s: the SSO token cache %s has no "
                "usable accessToken and expiresAt: run aws sso login --profile %s", s->profile,
                t->path, s->profile);
        rc = WC_ERR_AUTH;
        goto out;
    }
out:
    wc_buf_clean_up_secure(&b);
    return rc;
}

/* Replace (or add) a string member. */
static int s_json_set(cJSON *obj, const char *key, const char *value)
{
    cJSON *v = cJSON_CreateString(value);

    if (!v)
        return WC_ERR_NOMEM;
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
        cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(obj, key);

        wc_creds_json_wipe(old);
        cJSON_Delete(old);
    }
    if (!cJSON_AddItemToObject(obj, key, v)) {
        cJSON_Delete(v);
        return WC_ERR_NOMEM;
    }
    return WC_OK;
}

/* Write the token back where `aws sso login` keeps it: a 0600 file beside
 * it, renamed over it. */
static int s_token_save(const struct wc_creds_ctx *c, const struct s_token *t)
{
    char tmp[4200] = {0};
    char *text = cJSON_PrintUnformatted(t->root);
    size_t len = text ? strlen(text) : 0, done = 0;
    int fd = -1, rc = WC_OK, err = 0;

    if (!text)
        return WC_ERR_NOMEM;
    snprintf(tmp, sizeof(tmp), "%s.whochanged-%ld.tmp", t->path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        rc = WC_ERR_IO;
        goto out;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = WC_ERR_IO;
            goto out;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = WC_ERR_IO;
        goto out;
    }
    fd = -1;
    if (rename(tmp, t->path) != 0)
        rc = WC_ERR_IO;
out:
    err = errno;
    if (fd >= 0)
        close(fd);
    if (rc != WC_OK) {
        unlink(tmp);
        WC_LOGW(c->logger, NULL, "credentials: cannot rewrite the SSO token cache %s: %s",
                t->path, strerror(err));
    }
    OPENSSL_cleanse(text, len);
    cJSON_free(text);
    return rc;
}

/* OIDC CreateToken with the cached refresh token; on success t holds the
 * new token and the cache file is rewritten. */
static int s_token_refresh(const struct wc_creds_ctx *c, const struct wc_creds_sso_config *s,
                           struct s_token *t)
{
    static const struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)"application/json"},
    };
    const char *refresh = wc_creds_json_str(t->root, "refreshToken");
    const char *client_id = wc_creds_json_str(t->root, "clientId");
    const char *client_secret = wc_creds_json_str(t->root, "clientSecret");
    const char *reg_exp = wc_creds_json_str(t->root, "registrationExpiresAt");
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_buf url = WC_BUF_INIT;
    cJSON *req = NULL, *ans = NULL;
    const cJSON *expires_in;
    const char *access, *new_refresh;
    char *body = NULL, type[96] = {0}, msg[256] = {0}, when[WC_TIME_ISO_MAX] = {0};
    int64_t reg_ms = 0, now = wc_creds_ctx_now_ms(c), exp_ms;
    int rc;

    if (!refresh || !client_id || !client_secret || !reg_exp) {
        WC_LOGD(c->logger, NULL, "credentials: profile %s: the SSO token cannot be refreshed "
                "(no refreshToken or client registration in the cache)", s->profile);
        return WC_ERR_NOT_FOUND;
    }
    if (s_parse_time(reg_exp, &reg_ms) != WC_OK || reg_ms <= now) {
        WC_LOGD(c->logger, NULL, "credentials: profile %s: the SSO client registration has "
                "expired; the token cannot be refreshed", s->profile);
        return WC_ERR_NOT_FOUND;
    }
    if ((rc = s_endpoint(c, "AWS_ENDPOINT_URL_SSO_OIDC", "oidc", s->region, &url)) != WC_OK ||
        (rc = wc_buf_append_cstr(&url, "/token")) != WC_OK)
        goto out;
    if (!(req = cJSON_CreateObject()) || !cJSON_AddStringToObject(req, "clientId", client_id) ||
        !cJSON_AddStringToObject(req, "clientSecret", client_secret) ||
        !cJSON_AddStringToObject(req, "grantType", "refresh_token") ||
        !cJSON_AddStringToObject(req, "refreshToken", refresh) ||
        !(body = cJSON_PrintUnformatted(req))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    rc = wc_creds_send(c, false, "POST", url.ptr, headers, 1, body, strlen(body), S_CONNECT_MS,
                       S_TOTAL_MS, S_RESP_MAX, &resp);
    if (rc != WC_OK) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: SSO OIDC CreateToken: %s",
                s->profile, wc_strerror(rc));
        goto out;
    }
    if (resp.status != 200) {
        s_error_of(&resp, type, sizeof(type), msg, sizeof(msg));
        WC_LOGW(c->logger, NULL, "credentials: profile %s: refreshing the SSO token failed: "
                "%s%s%s", s->profile, type, msg[0] ? ": " : "", msg);
        rc = resp.status >= 500 ? WC_ERR_SERVICE : WC_ERR_AUTH;
        goto out;
    }
    ans = cJSON_ParseWithLength(resp.body.ptr ? resp.body.ptr : "", resp.body.len);
    access = wc_creds_json_str(ans, "accessToken");
    new_refresh = wc_creds_json_str(ans, "refreshToken");
    expires_in = cJSON_GetObjectItemCaseSensitive(ans, "expiresIn");
    if (!cJSON_IsObject(ans) || !access || !cJSON_IsNumber(expires_in) ||
        expires_in->valuedouble <= 0 || expires_in->valuedouble > 366.0 * 86400) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: malformed SSO OIDC CreateToken "
                "answer", s->profile);
        rc = WC_ERR_PARSE;
        goto out;
    }
    now -= now % 1000;
    exp_ms = now + (int64_t)expires_in->valuedouble * 1000;
    wc_time_format_iso8601(exp_ms, when);
    if ((rc = s_json_set(t->root, "accessToken", access)) != WC_OK ||
        (rc = s_json_set(t->root, "expiresAt", when)) != WC_OK ||
        (new_refresh && (rc = s_json_set(t->root, "refreshToken", new_refresh)) != WC_OK))
        goto out;
    t->access_token = wc_creds_json_str(t->root, "accessToken");
    t->expires_ms = exp_ms;
    WC_LOGI(c->logger, NULL, "credentials: profile %s: SSO token refreshed, valid until %s",
            s->profile, when);
    (void)s_token_save(c, t); /* the new token works even if the cache cannot be written */
out:
    if (ans) {
        wc_creds_json_wipe(ans);
        cJSON_Delete(ans);
    }
    if (req) {
        wc_creds_json_wipe(req);
        cJSON_Delete(req);
    }
    if (body) {
        OPENSSL_cleanse(body, strlen(body));
        cJSON_free(body);
    }
    wc_creds_response_clean_up(&resp);
    wc_buf_clean_up(&url);
    return rc;
}

/* --- GetRoleCredentials ------------------------------------------------- */

static int s_parse_role_creds(const struct wc_buf *body, struct wc_aws_credentials *out)
{
    struct wc_aws_credentials tmp = {0};
    cJSON *root = cJSON_ParseWithLength(body->ptr ? body->ptr : "", body->len);
    const cJSON *rc_obj, *exp;
    int rc = WC_ERR_PARSE;

    rc_obj = cJSON_GetObjectItemCaseSensitive(root, "roleCredentials");
    if (!cJSON_IsObject(rc_obj))
        goto out;
    tmp.access_key_id = (char *)wc_creds_json_str(rc_obj, "accessKeyId");
    tmp.secret_access_key = (char *)wc_creds_json_str(rc_obj, "secretAccessKey");
    tmp.session_token = (char *)wc_creds_json_str(rc_obj, "sessionToken");
    tmp.source = (char *)"sso";
    exp = cJSON_GetObjectItemCaseSensitive(rc_obj, "expiration"); /* epoch milliseconds */
    if (!tmp.access_key_id || !tmp.secret_access_key || !tmp.session_token ||
        !cJSON_IsNumber(exp) || exp->valuedouble <= 0 || exp->valuedouble > 1e15)
        goto out;
    tmp.expiration_ms = (int64_t)exp->valuedouble;
    rc = wc_aws_credentials_copy(out, &tmp);
out:
    if (root) {
        wc_creds_json_wipe(root);
        cJSON_Delete(root);
    }
    return rc;
}

static bool s_role_name_ok(const char *r)
{
    size_t n = strlen(r);

    if (n == 0 || n > 128)
        return false;
    for (const char *p = r; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

int wc_creds_fetch_sso(const struct wc_creds_ctx *c, const struct wc_creds_sso_config *s,
                       struct wc_aws_credentials *out)
{
    struct wc_http_header hdr = {(char *)"x-amz-sso_bearer_token", NULL};
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_buf url = WC_BUF_INIT;
    struct s_token t;
    char type[96] = {0}, msg[256] = {0}, when[WC_TIME_ISO_MAX] = {0};
    int64_t now = wc_creds_ctx_now_ms(c);
    int rc;

    memset(&t, 0, sizeof(t));
    if (!wc_account_id_is_valid(s->account_id) || !s_role_name_ok(s->role_name) ||
        !wc_region_is_valid(s->region)) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s: invalid %s", s->profile,
                !wc_account_id_is_valid(s->account_id) ? "sso_account_id (12 digits)"
                : !s_role_name_ok(s->role_name)         ? "sso_role_name"
                                                        : "sso_region");
        return WC_ERR_CONFIG;
    }
    if ((rc = s_token_load(c, s, &t)) != WC_OK)
        goto out;
    if (s->session_name && t.expires_ms - now < S_TOKEN_REFRESH_WINDOW_MS) {
        rc = s_token_refresh(c, s, &t);
        if (rc != WC_OK && rc != WC_ERR_NOT_FOUND && t.expires_ms > now)
            WC_LOGW(c->logger, NULL, "credentials: profile %s: using the SSO token until it "
                    "expires", s->profile);
    }
    if (t.expires_ms <= now) {
        wc_time_format_iso8601(t.expires_ms, when);
        WC_LOGD(c->logger, NULL, "credentials: the SSO token in %s expired at %s", t.path, when);
        s_login_hint(c, s, "expired");
        rc = WC_ERR_AUTH;
        goto out;
    }
    if ((rc = s_endpoint(c, "AWS_ENDPOINT_URL_SSO", "portal.sso", s->region, &url)) != WC_OK ||
        (rc = wc_buf_append_cstr(&url, "/federation/credentials?account_id=")) != WC_OK ||
        (rc = s_query_escape(&url, s->account_id)) != WC_OK ||
        (rc = wc_buf_append_cstr(&url, "&role_name=")) != WC_OK ||
        (rc = s_query_escape(&url, s->role_name)) != WC_OK)
        goto out;
    hdr.value = (char *)t.access_token;
    rc = wc_creds_send(c, false, "GET", url.ptr, &hdr, 1, NULL, 0, S_CONNECT_MS, S_TOTAL_MS,
                       S_RESP_MAX, &resp);
    if (rc != WC_OK) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: SSO GetRoleCredentials: %s",
                s->profile, wc_strerror(rc));
        goto out;
    }
    if (resp.status != 200) {
        s_error_of(&resp, type, sizeof(type), msg, sizeof(msg));
        /* a bad or expired token: 401, or UnauthorizedException whatever
         * the status; 403 ForbiddenException is a role not assigned */
        if (resp.status == 401 || strcmp(type, "UnauthorizedException") == 0) {
            WC_LOGE(c->logger, NULL, "credentials: SSO token for profile %s was refused by the "
                    "portal (%s%s%s): run aws sso login --profile %s", s->profile, type,
                    msg[0] ? ": " : "", msg, s->profile);
            rc = WC_ERR_AUTH;
        } else {
            WC_LOGW(c->logger, NULL, "credentials: profile %s: SSO GetRoleCredentials for "
                    "role %s in account %s failed: %s%s%s", s->profile, s->role_name,
                    s->account_id, type, msg[0] ? ": " : "", msg);
            rc = resp.status == 429 ? WC_ERR_THROTTLED
                 : resp.status >= 500 ? WC_ERR_SERVICE
                                      : WC_ERR_AUTH;
        }
        goto out;
    }
    if ((rc = s_parse_role_creds(&resp.body, out)) != WC_OK)
        WC_LOGW(c->logger, NULL, "credentials: profile %s: malformed SSO GetRoleCredentials "
                "answer", s->profile);
out:
    s_token_clean_up(&t);
    wc_creds_response_clean_up(&resp);
    wc_buf_clean_up(&url);
    return rc;
}
