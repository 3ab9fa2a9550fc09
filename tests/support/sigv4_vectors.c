/* sigv4_vectors.c - loader for the SigV4 test suites (see sigv4_vectors.h). */
#include "tests/support/sigv4_vectors.h"

#include "tests/support/testutil.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/str.h"

static const char *const s_suite_dir[] = {
    [WC_TEST_SIGV4_CLASSIC] = "sigv4-testsuite/botocore-aws4_testsuite",
    [WC_TEST_SIGV4_AWS_C_AUTH] = "sigv4-testsuite/aws-c-auth-v4",
    [WC_TEST_SIGV4_GENERATED] = "sigv4-testsuite/generated-service-vectors",
};

static const char *const s_suite_name[] = {
    [WC_TEST_SIGV4_CLASSIC] = "classic",
    [WC_TEST_SIGV4_AWS_C_AUTH] = "aws-c-auth",
    [WC_TEST_SIGV4_GENERATED] = "generated",
};

static char *s_printf_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *s_printf_dup(const char *fmt, ...)
{
    struct wc_buf b = WC_BUF_INIT;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = wc_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        wc_buf_clean_up(&b);
        return NULL;
    }
    return wc_buf_steal(&b);
}

static bool s_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool s_is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int s_push(struct wc_test_sigv4_vectors *out, enum wc_test_sigv4_suite suite, bool presign,
                  const char *rel, const char *dir, const char *base)
{
    struct wc_test_sigv4_vector *v;

    if (out->len == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 64;
        struct wc_test_sigv4_vector *p = realloc(out->items, cap * sizeof(*p));

        if (!p)
            return -1;
        out->items = p;
        out->cap = cap;
    }
    v = &out->items[out->len];
    v->suite = suite;
    v->presign = presign;
    v->name = s_printf_dup("%s/%s%s", s_suite_name[suite], rel, presign ? " (presigned)" : "");
    v->dir = wc_strdup(dir);
    v->base = wc_strdup(base);
    if (!v->name || !v->dir || !v->base) {
        free(v->name);
        free(v->dir);
        free(v->base);
        return -1;
    }
    out->len++;
    return 0;
}

/* Walk dir (rel is its path relative to the suite root, "" at the top). */
static int s_walk(enum wc_test_sigv4_suite suite, bool with_presign, const char *dir,
                  const char *rel, int depth, struct wc_test_sigv4_vectors *out)
{
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (depth > 3 || !(d = opendir(dir)))
        return -1;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char *sub = NULL, *subrel = NULL, *marker = NULL;

        if (e->d_name[0] == '.')
            continue;
        sub = s_printf_dup("%s/%s", dir, e->d_name);
        subrel = *rel ? s_printf_dup("%s/%s", rel, e->d_name) : wc_strdup(e->d_name);
        if (!sub || !subrel) {
            rc = -1;
        } else if (s_is_dir(sub)) {
            if (suite == WC_TEST_SIGV4_CLASSIC)
                marker = s_printf_dup("%s/%s.req", sub, e->d_name);
            else
                marker = s_printf_dup("%s/request.txt", sub);
            if (!marker)
                rc = -1;
            else if (s_is_file(marker)) {
                rc = s_push(out, suite, false, subrel, sub, e->d_name);
                if (rc == 0 && with_presign && suite == WC_TEST_SIGV4_AWS_C_AUTH)
                    rc = s_push(out, suite, true, subrel, sub, e->d_name);
            } else {
                /* a group such as normalize-path/: look inside */
                rc = s_walk(suite, with_presign, sub, subrel, depth + 1, out);
            }
        }
        free(marker);
        free(sub);
        free(subrel);
    }
    closedir(d);
    return rc;
}

static int s_vector_cmp(const void *a, const void *b)
{
    const struct wc_test_sigv4_vector *x = a, *y = b;

    return strcmp(x->name, y->name);
}

int wc_test_sigv4_list(enum wc_test_sigv4_suite suite, bool with_presign,
                       struct wc_test_sigv4_vectors *out)
{
    char root[4096];
    size_t first = out->len;
    int rc;

    wc_test_ref_path(s_suite_dir[suite], root, sizeof(root));
    rc = s_walk(suite, with_presign, root, "", 0, out);
    if (out->len > first)
        qsort(out->items + first, out->len - first, sizeof(*out->items), s_vector_cmp);
    return rc;
}

void wc_test_sigv4_vectors_clean_up(struct wc_test_sigv4_vectors *v)
{
    for (size_t i = 0; i < v->len; i++) {
        free(v->items[i].name);
        free(v->items[i].dir);
        free(v->items[i].base);
    }
    free(v->items);
    memset(v, 0, sizeof(*v));
}

/* ---- loading one case -------------------------------------------------- */

static char *s_read(const char *dir, const char *file)
{
    struct wc_buf b = WC_BUF_INIT;
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    wc_test_read_file(path, &b);
    return wc_buf_steal(&b);
}

static void s_add_header(struct wc_test_sigv4_case *c, char *name, char *value)
{
    struct wc_sigv4_header *h = realloc(c->headers, (c->n_headers + 1) * sizeof(*h));

    assert_non_null(h);
    c->headers = h;
    h[c->n_headers].name = name;
    h[c->n_headers].value = value;
    c->n_headers++;
}

/* Parse "METHOD target HTTP/1.1\nName:value\n...\n\nbody". Folded lines
 * (starting with SP/HT) are kept in the value after a '\n', as on the wire.
 * X-Amz-Date is returned in *amz_date and X-Amz-Security-Token in
 * c->token (both are added by the signer, not by the caller). */
static void s_parse_request(const char *text, struct wc_test_sigv4_case *c, char **amz_date)
{
    const char *line = text, *eol, *sp1, *sp2, *q;
    char *target;

    eol = strchr(line, '\n');
    if (!eol)
        eol = line + strlen(line);
    sp1 = memchr(line, ' ', (size_t)(eol - line));
    for (sp2 = eol; sp2 > line && sp2[-1] != ' '; sp2--)
        ;
    if (!sp1 || sp2 <= sp1 + 1)
        fail_msg("bad request line");
    c->method = wc_strndup(line, (size_t)(sp1 - line));
    target = wc_strndup(sp1 + 1, (size_t)(sp2 - 1 - (sp1 + 1)));
    assert_non_null(target);
    q = strchr(target, '?');
    c->path = wc_strndup(target, q ? (size_t)(q - target) : strlen(target));
    c->query = q ? wc_strdup(q + 1) : NULL;
    free(target);

    line = *eol ? eol + 1 : eol;
    while (*line && *line != '\n') {
        const char *colon;

        eol = strchr(line, '\n');
        if (!eol)
            eol = line + strlen(line);
        if ((*line == ' ' || *line == '\t') && c->n_headers) {
            struct wc_sigv4_header *h = &c->headers[c->n_headers - 1];
            char *v = s_printf_dup("%s\n%.*s", h->value, (int)(eol - line), line);

            assert_non_null(v);
            free((char *)h->value);
            h->value = v;
        } else {
            char *name, *value;

            colon = memchr(line, ':', (size_t)(eol - line));
            if (!colon)
                fail_msg("bad header line");
            name = wc_strndup(line, (size_t)(colon - line));
            value = wc_strndup(colon + 1, (size_t)(eol - colon - 1));
            assert_non_null(name);
            assert_non_null(value);
            if (strcasecmp(name, "x-amz-date") == 0) {
                free(*amz_date);
                *amz_date = value;
                free(name);
            } else if (strcasecmp(name, "x-amz-security-token") == 0) {
                free(c->token);
                c->token = value;
                free(name);
            } else {
                s_add_header(c, name, value);
            }
        }
        line = *eol ? eol + 1 : eol;
    }
    if (*line == '\n')
        line++;
    c->body = wc_strdup(line);
    assert_non_null(c->body);
    c->req.method = c->method;
    c->req.path = c->path;
    c->req.query = c->query;
    c->req.headers = c->headers;
    c->req.n_headers = c->n_headers;
    c->req.body = c->body;
    c->req.body_len = strlen(c->body);
}

/* Value of header name in an HTTP message text (first match), or NULL. */
static char *s_find_header(const char *text, const char *name)
{
    size_t n = strlen(name);

    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1, *eol = strchr(v, '\n');

            while (*v == ' ')
                v++;
            return wc_strndup(v, eol ? (size_t)(eol - v) : strlen(v));
        }
    }
    return NULL;
}

static char *s_after(const char *s, const char *marker)
{
    const char *p = strstr(s, marker);

    if (!p)
        fail_msg("%s not found", marker);
    p += strlen(marker);
    return wc_strndup(p, strcspn(p, ",\n "));
}

/* Strip one trailing newline (signature.txt files may end with one). */
static char *s_chomp(char *s)
{
    size_t n = strlen(s);

    if (n && s[n - 1] == '\n')
        s[n - 1] = '\0';
    return s;
}

static int64_t s_parse_iso8601(const char *s)
{
    struct tm tm;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    char z = 0;

    memset(&tm, 0, sizeof(tm));
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 ||
        z != 'Z')
        fail_msg("bad timestamp %s", s ? s : "(null)");
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return (int64_t)timegm(&tm);
}

static char *s_json_str(const cJSON *obj, const char *key, bool required)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsString(it))
        return wc_strdup(it->valuestring);
    if (required)
        fail_msg("context.json: missing string %s", key);
    return NULL;
}

static bool s_json_bool(const cJSON *obj, const char *key, bool dflt)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsBool(it) ? cJSON_IsTrue(it) : dflt;
}

/* context.json of the aws-c-auth and generated suites. */
static void s_load_context(const struct wc_test_sigv4_vector *v, struct wc_test_sigv4_case *c)
{
    char *text = s_read(v->dir, "context.json");
    cJSON *root = cJSON_Parse(text), *creds;
    char *ts = NULL;

    free(text);
    if (!root)
        fail_msg("context.json: not JSON");
    creds = cJSON_GetObjectItemCaseSensitive(root, "credentials");
    c->akid = s_json_str(creds, "access_key_id", true);
    c->secret = s_json_str(creds, "secret_access_key", true);
    free(c->token);
    c->token = s_json_str(creds, "token", false);
    c->region = s_json_str(root, "region", true);
    c->service = s_json_str(root, "service", true);
    ts = s_json_str(root, "timestamp", true);
    c->params.time_s = s_parse_iso8601(ts);
    free(ts);
    if (v->suite == WC_TEST_SIGV4_AWS_C_AUTH) {
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "expiration_in_seconds");

        c->params.normalize_path = s_json_bool(root, "normalize", true);
        c->params.double_encode_path = true; /* aws-c-auth's default */
        c->params.sign_body_header = s_json_bool(root, "sign_body", false);
        c->params.omit_session_token = s_json_bool(root, "omit_session_token", false);
        c->params.expires_s = cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0;
    } else {
        c->params.normalize_path = s_json_bool(root, "normalize_path", true);
        c->params.double_encode_path = s_json_bool(root, "double_uri_encode", true);
        c->params.sign_body_header = s_json_bool(root, "add_x_amz_content_sha256", false);
        c->params.omit_session_token = !s_json_bool(root, "session_token_is_signed", true);
        c->expect_amz_date = s_json_str(root, "x_amz_date", true);
        c->url = s_json_str(root, "url", true);
    }
    cJSON_Delete(root);
}

/* Line n (0-based) of s. */
static char *s_line(const char *s, int n)
{
    for (; n > 0 && s; n--) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    if (!s)
        fail_msg("missing line");
    return wc_strndup(s, strcspn(s, "\n"));
}

void wc_test_sigv4_load(const struct wc_test_sigv4_vector *v, struct wc_test_sigv4_case *c)
{
    char *text = NULL, *amz_date = NULL, file[512];

    memset(c, 0, sizeof(*c));
    if (v->suite == WC_TEST_SIGV4_CLASSIC) {
        snprintf(file, sizeof(file), "%s.req", v->base);
        text = s_read(v->dir, file);
        s_parse_request(text, c, &amz_date);
        free(text);
        c->akid = wc_strdup(WC_TEST_SIGV4_AKID);
        c->secret = wc_strdup(WC_TEST_SIGV4_SECRET);
        c->region = wc_strdup(WC_TEST_SIGV4_REGION);
        c->service = wc_strdup(WC_TEST_SIGV4_SERVICE);
        c->params.time_s = WC_TEST_SIGV4_TIME_S;
        c->params.normalize_path = true;
        c->params.double_encode_path = true;
        if (!c->token) {
            /* The token is not in .req but in the request as sent (.sreq):
             * signed in get-vanilla-with-session-token; added after signing
             * in post-sts-header-after (post-sts-token/readme.txt). */
            snprintf(file, sizeof(file), "%s.sreq", v->base);
            text = s_read(v->dir, file);
            c->token = s_find_header(text, "X-Amz-Security-Token");
            free(text);
            c->params.omit_session_token = strcmp(v->base, "post-sts-header-after") == 0;
        }
        if (!amz_date)
            fail_msg("classic case without X-Amz-Date");
        c->expect_amz_date = amz_date;
        amz_date = NULL;
        snprintf(file, sizeof(file), "%s.creq", v->base);
        c->expect_creq = s_read(v->dir, file);
        snprintf(file, sizeof(file), "%s.sts", v->base);
        c->expect_sts = s_read(v->dir, file);
        snprintf(file, sizeof(file), "%s.authz", v->base);
        c->expect_authz = s_chomp(s_read(v->dir, file));
        c->expect_signature = s_after(c->expect_authz, "Signature=");
    } else {
        text = s_read(v->dir, "request.txt");
        s_parse_request(text, c, &amz_date);
        free(text);
        if (amz_date)
            fail_msg("request.txt carries X-Amz-Date");
        s_load_context(v, c);
        if (v->suite == WC_TEST_SIGV4_AWS_C_AUTH) {
            const char *pre = v->presign ? "query-" : "header-";

            c->params.presign = v->presign;
            snprintf(file, sizeof(file), "%scanonical-request.txt", pre);
            c->expect_creq = s_read(v->dir, file);
            snprintf(file, sizeof(file), "%sstring-to-sign.txt", pre);
            c->expect_sts = s_read(v->dir, file);
            snprintf(file, sizeof(file), "%ssignature.txt", pre);
            c->expect_signature = s_chomp(s_read(v->dir, file));
            if (!v->presign) {
                text = s_read(v->dir, "header-signed-request.txt");
                c->expect_authz = s_find_header(text, "Authorization");
                free(text);
                if (!c->expect_authz)
                    fail_msg("no Authorization in header-signed-request.txt");
            }
            c->expect_amz_date = s_line(c->expect_sts, 1);
        } else {
            c->expect_creq = s_read(v->dir, "canonical-request.txt");
            c->expect_sts = s_read(v->dir, "string-to-sign.txt");
            c->expect_signature = s_chomp(s_read(v->dir, "signature.txt"));
            c->expect_authz = s_chomp(s_read(v->dir, "authorization.txt"));
        }
    }
    c->params.region = c->region;
    c->params.service = c->service;
    c->params.access_key_id = c->akid;
    c->params.secret_access_key = c->secret;
    c->params.session_token = c->token;
}

void wc_test_sigv4_case_clean_up(struct wc_test_sigv4_case *c)
{
    for (size_t i = 0; i < c->n_headers; i++) {
        free((char *)c->headers[i].name);
        free((char *)c->headers[i].value);
    }
    free(c->headers);
    free(c->method);
    free(c->path);
    free(c->query);
    free(c->body);
    free(c->region);
    free(c->service);
    free(c->akid);
    free(c->secret);
    free(c->token);
    free(c->expect_creq);
    free(c->expect_sts);
    free(c->expect_signature);
    free(c->expect_authz);
    free(c->expect_amz_date);
    free(c->url);
    memset(c, 0, sizeof(*c));
}
