/* sigv4.c - AWS Signature Version 4, header and query (presigned) auth.
 *
 * Steps, as in the AWS documentation ("Create a signed AWS API request"):
 * canonical request -> string to sign -> signing key -> signature. SHA-256
 * and HMAC come from OpenSSL 3 (EVP_Digest, HMAC). Every buffer that may
 * hold the session token or key material grows by copy-and-wipe, so no
 * stale copy is left in freed memory, and is wiped when released.
 */
#include "aws/sigv4.h"
#include "aws/sigv4_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"

#define S_SCOPE_TERMINATOR "aws4_request"

/* ---- buffers that never leave an unwiped copy behind ---------------- */

static int s_grow(struct wc_buf *b, size_t extra)
{
    size_t max = b->max_len ? b->max_len : WC_BUF_DEFAULT_MAX;
    size_t need, cap;
    char *p;

    if (extra > max || b->len > max - extra)
        return WC_ERR_TOO_LARGE;
    need = b->len + extra + 1;
    if (b->ptr && need <= b->cap)
        return WC_OK;
    cap = b->cap ? b->cap : 128;
    while (cap < need)
        cap = cap > max ? need : cap * 2;
    p = malloc(cap);
    if (!p)
        return WC_ERR_NOMEM;
    if (b->ptr) {
        memcpy(p, b->ptr, b->len + 1);
        OPENSSL_cleanse(b->ptr, b->cap);
        free(b->ptr);
    } else {
        p[0] = '\0';
    }
    b->ptr = p;
    b->cap = cap;
    return WC_OK;
}

static int s_put(struct wc_buf *b, const void *data, size_t len)
{
    int rc;

    if ((rc = s_grow(b, len)) != WC_OK)
        return rc;
    return wc_buf_append(b, data, len);
}

static int s_puts(struct wc_buf *b, const char *s)
{
    return s_put(b, s, strlen(s));
}

static int s_putc(struct wc_buf *b, char c)
{
    return s_put(b, &c, 1);
}

static void s_wipe_buf(struct wc_buf *b)
{
    if (b->ptr)
        OPENSSL_cleanse(b->ptr, b->cap);
    wc_buf_clean_up(b);
}

/* Hand the contents over as a C string (never NULL on success). */
static int s_steal(struct wc_buf *b, char **out)
{
    if (!b->ptr && s_grow(b, 0) != WC_OK)
        return WC_ERR_NOMEM;
    *out = wc_buf_steal(b);
    return *out ? WC_OK : WC_ERR_NOMEM;
}

static char *s_dup_secure(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);

    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static void s_free_secure(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* ---- hashing --------------------------------------------------------- */

static const char s_hex_lower[] = "0123456789abcdef";
static const char s_hex_upper[] = "0123456789ABCDEF";

static void s_hex(const uint8_t *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = s_hex_lower[in[i] >> 4];
        out[2 * i + 1] = s_hex_lower[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}

/* hex SHA-256 of data into out[65] */
static int s_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (!data)
        data = "";
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return WC_ERR_INVALID;
    s_hex(md, 32, out);
    OPENSSL_cleanse(md, sizeof(md));
    return WC_OK;
}

static int s_hmac(const uint8_t *key, size_t key_len, const void *data, size_t len,
                  uint8_t out[WC_SIGV4_KEY_LEN])
{
    unsigned int out_len = 0;

    if (key_len > INT32_MAX)
        return WC_ERR_TOO_LARGE;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
        out_len != WC_SIGV4_KEY_LEN)
        return WC_ERR_INVALID;
    return WC_OK;
}

int wc_sigv4_derive_key(const char *secret_access_key, const char *date8,
                        const char *region, const char *service,
                        uint8_t out[WC_SIGV4_KEY_LEN])
{
    uint8_t k1[WC_SIGV4_KEY_LEN] = {0}, k2[WC_SIGV4_KEY_LEN] = {0};
    uint8_t k3[WC_SIGV4_KEY_LEN] = {0};
    size_t secret_len, ksecret_len;
    uint8_t *ksecret = NULL;
    int rc = WC_ERR_INVALID;

    if (!secret_access_key || !date8 || !region || !service || !out)
        return WC_ERR_INVALID;
    secret_len = strlen(secret_access_key);
    ksecret_len = secret_len + 4;
    if (!(ksecret = malloc(ksecret_len))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, secret_access_key, secret_len);

    if ((rc = s_hmac(ksecret, ksecret_len, date8, strlen(date8), k1)) != WC_OK)
        goto out;
    if ((rc = s_hmac(k1, sizeof(k1), region, strlen(region), k2)) != WC_OK)
        goto out;
    if ((rc = s_hmac(k2, sizeof(k2), service, strlen(service), k3)) != WC_OK)
        goto out;
    rc = s_hmac(k3, sizeof(k3), S_SCOPE_TERMINATOR, strlen(S_SCOPE_TERMINATOR), out);
out:
    if (rc != WC_OK && out)
        OPENSSL_cleanse(out, WC_SIGV4_KEY_LEN);
    if (ksecret) {
        OPENSSL_cleanse(ksecret, ksecret_len);
        free(ksecret);
    }
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    OPENSSL_cleanse(k3, sizeof(k3));
    return rc;
}

/* ---- encoding -------------------------------------------------------- */

static bool s_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static int s_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int s_put_pct(struct wc_buf *out, unsigned char c)
{
    char t[3] = {'%', s_hex_upper[c >> 4], s_hex_upper[c & 0xf]};

    return s_put(out, t, 3);
}

int wc_sigv4_uri_encode(struct wc_str s, bool encode_slash, struct wc_buf *out)
{
    size_t i = 0, run;
    int rc = WC_OK;

    if (!out || (!s.ptr && s.len))
        return WC_ERR_INVALID;
    if ((rc = s_grow(out, 0)) != WC_OK) /* "" encodes to "", still a string */
        return rc;
    while (i < s.len) {
        for (run = 0; i + run < s.len; run++) {
            unsigned char c = (unsigned char)s.ptr[i + run];
            if (!s_unreserved(c) && (c != '/' || encode_slash))
                break;
        }
        if (run && (rc = s_put(out, s.ptr + i, run)) != WC_OK)
            return rc;
        i += run;
        if (i < s.len && (rc = s_put_pct(out, (unsigned char)s.ptr[i++])) != WC_OK)
            return rc;
    }
    return WC_OK;
}

/* S3 path: keep valid %XX escapes (hex upper-cased), encode everything else
 * but unreserved bytes and '/' once. */
static int s_encode_path_once(const char *p, size_t len, struct wc_buf *out)
{
    int rc = WC_OK;

    for (size_t i = 0; i < len && rc == WC_OK; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '%' && i + 2 < len && s_hexval((unsigned char)p[i + 1]) >= 0 &&
            s_hexval((unsigned char)p[i + 2]) >= 0) {
            rc = s_put_pct(out, (unsigned char)(s_hexval((unsigned char)p[i + 1]) * 16 +
                                                s_hexval((unsigned char)p[i + 2])));
            i += 2;
        } else if (s_unreserved(c) || c == '/') {
            rc = s_putc(out, (char)c);
        } else {
            rc = s_put_pct(out, c);
        }
    }
    return rc;
}

/* Percent-decode p[0..len) into out (invalid escapes are kept as is). */
static int s_decode(const char *p, size_t len, struct wc_buf *out)
{
    int rc;

    if ((rc = s_grow(out, len)) != WC_OK)
        return rc;
    for (size_t i = 0; i < len && rc == WC_OK; i++) {
        int hi, lo;

        if (p[i] == '%' && i + 2 < len && (hi = s_hexval((unsigned char)p[i + 1])) >= 0 &&
            (lo = s_hexval((unsigned char)p[i + 2])) >= 0) {
            rc = s_putc(out, (char)(hi * 16 + lo));
            i += 2;
        } else {
            rc = s_putc(out, p[i]);
        }
    }
    return rc;
}

/* ---- canonical path --------------------------------------------------- */

struct s_seg {
    size_t off;
    size_t len;
};

/* RFC 3986 5.2.4 dot-segment removal, plus empty segments dropped, as
 * botocore's remove_dot_segments (the test suite's reference). */
static int s_normalize_path(const char *path, size_t len, struct wc_buf *out)
{
    struct s_seg *segs = NULL;
    size_t n_slash = 0, n = 0, i, start;
    int rc = WC_OK;

    for (i = 0; i < len; i++)
        n_slash += path[i] == '/';
    if (!(segs = calloc(n_slash + 1, sizeof(*segs))))
        return WC_ERR_NOMEM;
    for (start = 0; start <= len; start = i + 1) {
        size_t seg_len;

        for (i = start; i < len && path[i] != '/'; i++)
            ;
        seg_len = i - start;
        if (seg_len == 0 || (seg_len == 1 && path[start] == '.'))
            continue;
        if (seg_len == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (n)
                n--;
            continue;
        }
        segs[n].off = start;
        segs[n].len = seg_len;
        n++;
    }
    if (len && path[0] == '/')
        rc = s_putc(out, '/');
    for (i = 0; i < n && rc == WC_OK; i++) {
        if (i)
            rc = s_putc(out, '/');
        if (rc == WC_OK)
            rc = s_put(out, path + segs[i].off, segs[i].len);
    }
    if (rc == WC_OK && n && path[len - 1] == '/')
        rc = s_putc(out, '/');
    free(segs);
    return rc;
}

int wc_sigv4_canonical_path(const char *path, bool normalize, bool double_encode,
                            struct wc_buf *out)
{
    struct wc_buf norm = WC_BUF_INIT;
    const char *src = path;
    size_t len;
    int rc;

    if (!path || !out)
        return WC_ERR_INVALID;
    len = strlen(path);
    if (normalize) {
        if ((rc = s_normalize_path(path, len, &norm)) != WC_OK)
            goto out;
        src = norm.ptr ? norm.ptr : "";
        len = norm.len;
    }
    if (len == 0) {
        rc = s_putc(out, '/');
        goto out;
    }
    if (double_encode)
        rc = wc_sigv4_uri_encode((struct wc_str){src, len}, false, out);
    else
        rc = s_encode_path_once(src, len, out);
out:
    s_wipe_buf(&norm);
    return rc;
}

/* ---- canonical query -------------------------------------------------- */

struct s_pair {
    char *key; /* encoded */
    char *value;
};

struct s_pairs {
    struct s_pair *items;
    size_t len;
    size_t cap;
};

static void s_pairs_clean_up(struct s_pairs *ps)
{
    for (size_t i = 0; i < ps->len; i++) {
        s_free_secure(ps->items[i].key);
        s_free_secure(ps->items[i].value);
    }
    free(ps->items);
    memset(ps, 0, sizeof(*ps));
}

/* Take ownership of key and value (freed on failure too). */
static int s_pairs_push(struct s_pairs *ps, char *key, char *value)
{
    if (!key || !value)
        goto fail;
    if (ps->len == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct s_pair *p = realloc(ps->items, cap * sizeof(*p));

        if (!p)
            goto fail;
        ps->items = p;
        ps->cap = cap;
    }
    ps->items[ps->len].key = key;
    ps->items[ps->len].value = value;
    ps->len++;
    return WC_OK;
fail:
    s_free_secure(key);
    s_free_secure(value);
    return WC_ERR_NOMEM;
}

/* Encode an already-decoded string into a new C string. */
static int s_encode_new(const char *p, size_t len, char **out)
{
    struct wc_buf b = WC_BUF_INIT;
    int rc;

    *out = NULL;
    if ((rc = wc_sigv4_uri_encode((struct wc_str){p, len}, true, &b)) == WC_OK)
        rc = s_steal(&b, out);
    s_wipe_buf(&b);
    return rc;
}

/* decode then encode p[0..len) into a new C string */
static int s_reencode_new(const char *p, size_t len, char **out)
{
    struct wc_buf dec = WC_BUF_INIT;
    int rc;

    *out = NULL;
    if ((rc = s_decode(p, len, &dec)) == WC_OK)
        rc = s_encode_new(dec.ptr ? dec.ptr : "", dec.len, out);
    s_wipe_buf(&dec);
    return rc;
}

static int s_pairs_parse(const char *query, struct s_pairs *ps)
{
    const char *p = query, *amp, *eq;
    int rc;

    if (!query)
        return WC_OK;
    while (*p) {
        char *k = NULL, *v = NULL;
        size_t seg_len;

        amp = strchr(p, '&');
        seg_len = amp ? (size_t)(amp - p) : strlen(p);
        if (seg_len) {
            eq = memchr(p, '=', seg_len);
            if ((rc = s_reencode_new(p, eq ? (size_t)(eq - p) : seg_len, &k)) == WC_OK && eq)
                rc = s_reencode_new(eq + 1, seg_len - (size_t)(eq + 1 - p), &v);
            else if (rc == WC_OK)
                v = s_dup_secure("");
            if (rc != WC_OK) {
                s_free_secure(k);
                s_free_secure(v);
                return rc;
            }
            if ((rc = s_pairs_push(ps, k, v)) != WC_OK)
                return rc;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return WC_OK;
}

static int s_pair_cmp(const void *a, const void *b)
{
    const struct s_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c ? c : strcmp(x->value, y->value);
}

static int s_pairs_join(struct s_pairs *ps, struct wc_buf *out)
{
    int rc = s_grow(out, 0);

    if (ps->len)
        qsort(ps->items, ps->len, sizeof(*ps->items), s_pair_cmp);
    for (size_t i = 0; i < ps->len && rc == WC_OK; i++) {
        if (i)
            rc = s_putc(out, '&');
        if (rc == WC_OK)
            rc = s_puts(out, ps->items[i].key);
        if (rc == WC_OK)
            rc = s_putc(out, '=');
        if (rc == WC_OK)
            rc = s_puts(out, ps->items[i].value);
    }
    return rc;
}

int wc_sigv4_canonical_query(const char *query, struct wc_buf *out)
{
    struct s_pairs ps = {0};
    int rc;

    if (!out)
        return WC_ERR_INVALID;
    if ((rc = s_pairs_parse(query, &ps)) == WC_OK)
        rc = s_pairs_join(&ps, out);
    s_pairs_clean_up(&ps);
    return rc;
}

/* ---- canonical headers ------------------------------------------------ */

struct s_hdr {
    char *name;  /* lower-case */
    char *value; /* trimmed, whitespace collapsed */
    size_t index;
};

static int s_hdr_cmp(const void *a, const void *b)
{
    const struct s_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static bool s_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 9110 token characters. */
static bool s_is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool s_valid_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!s_is_tchar((unsigned char)*s))
            return false;
    return true;
}

/* A header value may hold line breaks only as obs-fold (CRLF or LF followed
 * by SP/HT); any other control byte but HT is refused. */
static bool s_valid_value(const char *v)
{
    for (size_t i = 0; v[i]; i++) {
        unsigned char c = (unsigned char)v[i];

        if (c == '\r') {
            if (v[i + 1] != '\n')
                return false;
            continue;
        }
        if (c == '\n') {
            if (v[i + 1] != ' ' && v[i + 1] != '\t')
                return false;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static char *s_lower_dup(const char *s)
{
    char *p = s_dup_secure(s);

    for (char *q = p; q && *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    return p;
}

static char *s_collapse_dup(const char *v)
{
    size_t n = strlen(v), j = 0;
    char *p = malloc(n + 1);
    bool pending = false;

    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s_is_ws((unsigned char)v[i])) {
            pending = j > 0;
            continue;
        }
        if (pending)
            p[j++] = ' ';
        pending = false;
        p[j++] = v[i];
    }
    p[j] = '\0';
    return p;
}

struct s_hdrs {
    struct s_hdr *items;
    size_t len;
};

static void s_hdrs_clean_up(struct s_hdrs *hs)
{
    for (size_t i = 0; i < hs->len; i++) {
        s_free_secure(hs->items[i].name);
        s_free_secure(hs->items[i].value);
    }
    free(hs->items);
    hs->items = NULL;
    hs->len = 0;
}

/* Append one header (copies name and value); items has room. */
static int s_hdrs_add(struct s_hdrs *hs, const char *name, const char *value)
{
    struct s_hdr *h = &hs->items[hs->len];

    h->name = s_lower_dup(name);
    h->value = s_collapse_dup(value);
    h->index = hs->len;
    hs->len++; /* counted even if partial, so clean-up frees it */
    return h->name && h->value ? WC_OK : WC_ERR_NOMEM;
}

static bool s_name_is(const char *name, const char *lower)
{
    for (; *name && *lower; name++, lower++) {
        char c = *name;

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != *lower)
            return false;
    }
    return !*name && !*lower;
}

/* Build canonical headers ("name:value\n"...) and signed headers. */
static int s_canonical_headers(const struct wc_sigv4_request *req,
                               const struct wc_sigv4_header *extra, size_t n_extra,
                               struct wc_buf *canon, struct wc_buf *signed_hdrs)
{
    struct s_hdrs hs = {0};
    bool have_host = false;
    size_t i;
    int rc = WC_OK;

    if (req->n_headers > SIZE_MAX / sizeof(*hs.items) - n_extra - 1)
        return WC_ERR_TOO_LARGE;
    if (!(hs.items = calloc(req->n_headers + n_extra + 1, sizeof(*hs.items))))
        return WC_ERR_NOMEM;
    for (i = 0; i < req->n_headers + n_extra && rc == WC_OK; i++) {
        const struct wc_sigv4_header *h =
            i < req->n_headers ? &req->headers[i] : &extra[i - req->n_headers];

        if (h->name && s_name_is(h->name, "host"))
            have_host = true;
        rc = s_hdrs_add(&hs, h->name, h->value);
    }
    if (rc != WC_OK)
        goto out;
    if (!have_host) {
        rc = WC_ERR_INVALID;
        goto out;
    }
    qsort(hs.items, hs.len, sizeof(*hs.items), s_hdr_cmp);
    if ((rc = s_grow(canon, 0)) != WC_OK || (rc = s_grow(signed_hdrs, 0)) != WC_OK)
        goto out;
    for (i = 0; i < hs.len && rc == WC_OK; i++) {
        bool same = i > 0 && strcmp(hs.items[i].name, hs.items[i - 1].name) == 0;

        if (same) {
            rc = s_putc(canon, ',');
        } else {
            if (i > 0 && (rc = s_putc(canon, '\n')) == WC_OK)
                rc = s_putc(signed_hdrs, ';');
            if (rc == WC_OK)
                rc = s_puts(signed_hdrs, hs.items[i].name);
            if (rc == WC_OK)
                rc = s_puts(canon, hs.items[i].name);
            if (rc == WC_OK)
                rc = s_putc(canon, ':');
        }
        if (rc == WC_OK)
            rc = s_puts(canon, hs.items[i].value);
    }
    if (rc == WC_OK)
        rc = s_putc(canon, '\n');
out:
    s_hdrs_clean_up(&hs);
    return rc;
}

/* ---- input checks ----------------------------------------------------- */

/* Region, service, key id: printable ASCII without '/', ',', '=' or space
 * (they end up inside the credential scope). */
static bool s_valid_scope_part(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',' || c == '=')
            return false;
    }
    return true;
}

static int s_check_input(const struct wc_sigv4_request *req, const struct wc_sigv4_params *p,
                         bool token_in_request)
{
    if (!req || !p || !s_valid_token(req->method) || !req->path || req->path[0] != '/')
        return WC_ERR_INVALID;
    if (req->n_headers && !req->headers)
        return WC_ERR_INVALID;
    if (req->body_len && !req->body)
        return WC_ERR_INVALID;
    if (req->payload_hash && !s_valid_scope_part(req->payload_hash))
        return WC_ERR_INVALID;
    if (!s_valid_scope_part(p->region) || !s_valid_scope_part(p->service) ||
        !s_valid_scope_part(p->access_key_id) || wc_str_empty(p->secret_access_key))
        return WC_ERR_INVALID;
    /* the token becomes a header value: no line breaks at all */
    if (p->session_token &&
        (!s_valid_value(p->session_token) || strpbrk(p->session_token, "\r\n")))
        return WC_ERR_INVALID;
    if (p->presign && (p->expires_s < 1 || p->expires_s > WC_SIGV4_MAX_EXPIRES_S))
        return WC_ERR_INVALID;
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct wc_sigv4_header *h = &req->headers[i];

        if (!s_valid_token(h->name) || !h->value || !s_valid_value(h->value))
            return WC_ERR_INVALID;
        /* headers the signer owns */
        if (s_name_is(h->name, "authorization") || s_name_is(h->name, "x-amz-date"))
            return WC_ERR_INVALID;
        if (token_in_request && s_name_is(h->name, "x-amz-security-token"))
            return WC_ERR_INVALID;
        if (p->sign_body_header && !p->presign && s_name_is(h->name, "x-amz-content-sha256"))
            return WC_ERR_INVALID;
    }
    return WC_OK;
}

int wc_sigv4_format_amz_date(int64_t t, char out[17])
{
    struct tm tm;
    time_t tt;

    if (!out || t < 0 || t > INT64_C(253402300799)) /* 9999-12-31T23:59:59Z */
        return WC_ERR_INVALID;
    tt = (time_t)t;
    if ((int64_t)tt != t || !gmtime_r(&tt, &tm))
        return WC_ERR_INVALID;
    if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return WC_ERR_INVALID;
    return WC_OK;
}

/* ---- presigned query ------------------------------------------------- */

static bool s_is_auth_param(const char *key)
{
    static const char *const names[] = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", NULL,
    };

    for (size_t i = 0; names[i]; i++)
        if (strcmp(key, names[i]) == 0)
            return true;
    return false;
}

static int s_pairs_add_cstr(struct s_pairs *ps, const char *key, const char *raw_value)
{
    char *k = s_dup_secure(key), *v = NULL;

    if (!k)
        return WC_ERR_NOMEM;
    if (s_encode_new(raw_value, strlen(raw_value), &v) != WC_OK) {
        s_free_secure(k);
        return WC_ERR_NOMEM;
    }
    return s_pairs_push(ps, k, v);
}

/* Canonical query of a presigned request: the original parameters plus
 * the X-Amz-* authentication ones (all but the signature). */
static int s_presign_query(const struct wc_sigv4_request *req, const struct wc_sigv4_params *p,
                           bool sign_token, const char *amz_date, const char *credential,
                           const char *signed_hdrs, struct wc_buf *out)
{
    struct s_pairs ps = {0};
    char expires[24];
    int rc;

    if ((rc = s_pairs_parse(req->query, &ps)) != WC_OK)
        goto out;
    for (size_t i = 0; i < ps.len; i++) {
        if (s_is_auth_param(ps.items[i].key)) {
            rc = WC_ERR_INVALID;
            goto out;
        }
    }
    snprintf(expires, sizeof(expires), "%lld", (long long)p->expires_s);
    if ((rc = s_pairs_add_cstr(&ps, "X-Amz-Algorithm", WC_SIGV4_ALGORITHM)) != WC_OK ||
        (rc = s_pairs_add_cstr(&ps, "X-Amz-Credential", credential)) != WC_OK ||
        (rc = s_pairs_add_cstr(&ps, "X-Amz-Date", amz_date)) != WC_OK ||
        (rc = s_pairs_add_cstr(&ps, "X-Amz-Expires", expires)) != WC_OK ||
        (rc = s_pairs_add_cstr(&ps, "X-Amz-SignedHeaders", signed_hdrs)) != WC_OK)
        goto out;
    if (sign_token &&
        (rc = s_pairs_add_cstr(&ps, "X-Amz-Security-Token", p->session_token)) != WC_OK)
        goto out;
    rc = s_pairs_join(&ps, out);
out:
    s_pairs_clean_up(&ps);
    return rc;
}

/* ---- signing --------------------------------------------------------- */

int wc_sigv4_sign(const struct wc_sigv4_request *req, const struct wc_sigv4_params *p,
                  struct wc_sigv4_result *out)
{
    struct wc_buf creq = WC_BUF_INIT, sts = WC_BUF_INIT, hdrs = WC_BUF_INIT;
    struct wc_buf signed_hdrs = WC_BUF_INIT, query = WC_BUF_INIT, auth = WC_BUF_INIT;
    struct wc_buf scope = WC_BUF_INIT, cred = WC_BUF_INIT, presigned = WC_BUF_INIT;
    struct wc_sigv4_header extra[3];
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;
    uint8_t key[WC_SIGV4_KEY_LEN] = {0}, mac[WC_SIGV4_KEY_LEN] = {0};
    char amz_date[17] = {0}, date8[9] = {0}, body_hash[65] = {0}, creq_hash[65] = {0};
    char sig[65] = {0};
    const char *payload_hash;
    bool has_token, sign_token_header, sign_token_query, body_header;
    size_t n_extra = 0;
    int rc;

    if (!out)
        return WC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    has_token = p && !wc_str_empty(p->session_token);
    if ((rc = s_check_input(req, p, has_token)) != WC_OK)
        goto out;
    if ((rc = wc_sigv4_format_amz_date(p->time_s, amz_date)) != WC_OK)
        goto out;
    memcpy(date8, amz_date, 8);
    sign_token_header = has_token && !p->omit_session_token && !p->presign;
    sign_token_query = has_token && !p->omit_session_token && p->presign;
    body_header = p->sign_body_header && !p->presign;

    if (req->payload_hash) {
        payload_hash = req->payload_hash;
    } else {
        if ((rc = s_sha256_hex(req->body, req->body_len, body_hash)) != WC_OK)
            goto out;
        payload_hash = body_hash;
    }

    /* credential scope: date/region/service/aws4_request */
    if ((rc = s_puts(&scope, date8)) != WC_OK || (rc = s_putc(&scope, '/')) != WC_OK ||
        (rc = s_puts(&scope, p->region)) != WC_OK || (rc = s_putc(&scope, '/')) != WC_OK ||
        (rc = s_puts(&scope, p->service)) != WC_OK || (rc = s_putc(&scope, '/')) != WC_OK ||
        (rc = s_puts(&scope, S_SCOPE_TERMINATOR)) != WC_OK)
        goto out;
    if ((rc = s_puts(&cred, p->access_key_id)) != WC_OK || (rc = s_putc(&cred, '/')) != WC_OK ||
        (rc = s_puts(&cred, scope.ptr)) != WC_OK)
        goto out;

    /* headers the signer adds */
    if (!p->presign)
        extra[n_extra++] = (struct wc_sigv4_header){"x-amz-date", amz_date};
    if (sign_token_header)
        extra[n_extra++] = (struct wc_sigv4_header){"x-amz-security-token", p->session_token};
    if (body_header)
        extra[n_extra++] = (struct wc_sigv4_header){"x-amz-content-sha256", payload_hash};
    if ((rc = s_canonical_headers(req, extra, n_extra, &hdrs, &signed_hdrs)) != WC_OK)
        goto out;

    if (p->presign)
        rc = s_presign_query(req, p, sign_token_query, amz_date, cred.ptr, signed_hdrs.ptr,
                             &query);
    else
        rc = wc_sigv4_canonical_query(req->query, &query);
    if (rc != WC_OK)
        goto out;

    /* canonical request */
    if ((rc = s_puts(&creq, req->method)) != WC_OK || (rc = s_putc(&creq, '\n')) != WC_OK ||
        (rc = wc_sigv4_canonical_path(req->path, p->normalize_path, p->double_encode_path,
                                      &creq)) != WC_OK ||
        (rc = s_putc(&creq, '\n')) != WC_OK || (rc = s_puts(&creq, query.ptr)) != WC_OK ||
        (rc = s_putc(&creq, '\n')) != WC_OK || (rc = s_puts(&creq, hdrs.ptr)) != WC_OK ||
        (rc = s_putc(&creq, '\n')) != WC_OK || (rc = s_puts(&creq, signed_hdrs.ptr)) != WC_OK ||
        (rc = s_putc(&creq, '\n')) != WC_OK || (rc = s_puts(&creq, payload_hash)) != WC_OK)
        goto out;

    /* string to sign */
    if ((rc = s_sha256_hex(creq.ptr, creq.len, creq_hash)) != WC_OK)
        goto out;
    if ((rc = s_puts(&sts, WC_SIGV4_ALGORITHM "\n")) != WC_OK ||
        (rc = s_puts(&sts, amz_date)) != WC_OK || (rc = s_putc(&sts, '\n')) != WC_OK ||
        (rc = s_puts(&sts, scope.ptr)) != WC_OK || (rc = s_putc(&sts, '\n')) != WC_OK ||
        (rc = s_puts(&sts, creq_hash)) != WC_OK)
        goto out;

    /* signature */
    if ((rc = wc_sigv4_derive_key(p->secret_access_key, date8, p->region, p->service, key)) !=
        WC_OK)
        goto out;
    if ((rc = s_hmac(key, sizeof(key), sts.ptr, sts.len, mac)) != WC_OK)
        goto out;
    s_hex(mac, sizeof(mac), sig);

    if (p->presign) {
        if ((rc = s_puts(&presigned, query.ptr)) != WC_OK ||
            (rc = s_puts(&presigned, "&X-Amz-Signature=")) != WC_OK ||
            (rc = s_puts(&presigned, sig)) != WC_OK)
            goto out;
        if (has_token && !sign_token_query &&
            ((rc = s_puts(&presigned, "&X-Amz-Security-Token=")) != WC_OK ||
             (rc = wc_sigv4_uri_encode(wc_str_from_cstr(p->session_token), true, &presigned)) !=
                 WC_OK))
            goto out;
        if ((rc = s_steal(&presigned, &r.presigned_query)) != WC_OK)
            goto out;
    } else {
        if ((rc = s_puts(&auth, WC_SIGV4_ALGORITHM " Credential=")) != WC_OK ||
            (rc = s_puts(&auth, cred.ptr)) != WC_OK ||
            (rc = s_puts(&auth, ", SignedHeaders=")) != WC_OK ||
            (rc = s_puts(&auth, signed_hdrs.ptr)) != WC_OK ||
            (rc = s_puts(&auth, ", Signature=")) != WC_OK || (rc = s_puts(&auth, sig)) != WC_OK)
            goto out;
        if ((rc = s_steal(&auth, &r.authorization)) != WC_OK)
            goto out;
        if (body_header && !(r.content_sha256 = s_dup_secure(payload_hash))) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
    }
    if ((rc = s_steal(&creq, &r.canonical_request)) != WC_OK ||
        (rc = s_steal(&sts, &r.string_to_sign)) != WC_OK ||
        (rc = s_steal(&signed_hdrs, &r.signed_headers)) != WC_OK ||
        (rc = s_steal(&scope, &r.credential_scope)) != WC_OK)
        goto out;
    if (!(r.signature = s_dup_secure(sig)) || !(r.amz_date = s_dup_secure(amz_date))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    *out = r;
    memset(&r, 0, sizeof(r));
out:
    wc_sigv4_result_clean_up(&r);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(mac, sizeof(mac));
    OPENSSL_cleanse(sig, sizeof(sig));
    s_wipe_buf(&creq);
    s_wipe_buf(&sts);
    s_wipe_buf(&hdrs);
    s_wipe_buf(&signed_hdrs);
    s_wipe_buf(&query);
    s_wipe_buf(&auth);
    s_wipe_buf(&scope);
    s_wipe_buf(&cred);
    s_wipe_buf(&presigned);
    return rc;
}

static void s_wipe_str(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
}

void wc_sigv4_result_wipe(struct wc_sigv4_result *r)
{
    if (!r)
        return;
    s_wipe_str(r->canonical_request);
    s_wipe_str(r->string_to_sign);
    s_wipe_str(r->signature);
    s_wipe_str(r->signed_headers);
    s_wipe_str(r->credential_scope);
    s_wipe_str(r->amz_date);
    s_wipe_str(r->content_sha256);
    s_wipe_str(r->authorization);
    s_wipe_str(r->presigned_query);
}

void wc_sigv4_result_clean_up(struct wc_sigv4_result *r)
{
    if (!r)
        return;
    wc_sigv4_result_wipe(r);
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->signature);
    free(r->signed_headers);
    free(r->credential_scope);
    free(r->amz_date);
    free(r->content_sha256);
    free(r->authorization);
    free(r->presigned_query);
    memset(r, 0, sizeof(*r));
}

/* ---- the HTTP transport's request --------------------------------------- */

struct s_url {
    char *host; /* authority without userinfo; default port dropped */
    char *path;
    char *query; /* NULL if none */
};

static void s_url_clean_up(struct s_url *u)
{
    free(u->host);
    free(u->path);
    s_free_secure(u->query); /* may hold a presigned token */
    memset(u, 0, sizeof(*u));
}

static bool s_prefix_icase(const char *s, const char *prefix, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != prefix[i])
            return false;
    }
    return true;
}

static int s_url_parse(const char *url, struct s_url *u)
{
    const char *auth, *auth_end, *path_end, *port = NULL;
    const char *default_port;
    size_t host_len;

    if (!url)
        return WC_ERR_INVALID;
    if (s_prefix_icase(url, "https://", 8)) {
        auth = url + 8;
        default_port = "443";
    } else if (s_prefix_icase(url, "http://", 7)) {
        auth = url + 7;
        default_port = "80";
    } else {
        return WC_ERR_INVALID;
    }
    auth_end = auth + strcspn(auth, "/?#");
    host_len = (size_t)(auth_end - auth);
    if (host_len == 0 || memchr(auth, '@', host_len))
        return WC_ERR_INVALID;
    for (const char *c = auth; c < auth_end; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return WC_ERR_INVALID;
    /* port: after the last ':' that follows any IPv6 ']' */
    for (const char *c = auth_end; c > auth; c--) {
        if (c[-1] == ']')
            break;
        if (c[-1] == ':') {
            port = c;
            break;
        }
    }
    if (port && (size_t)(auth_end - port) == strlen(default_port) &&
        memcmp(port, default_port, strlen(default_port)) == 0)
        host_len = (size_t)(port - 1 - auth);
    if (host_len == 0)
        return WC_ERR_INVALID;
    path_end = auth_end + strcspn(auth_end, "?#");
    u->host = wc_strndup(auth, host_len);
    u->path = path_end > auth_end ? wc_strndup(auth_end, (size_t)(path_end - auth_end))
                                  : wc_strdup("/");
    if (*path_end == '?') {
        const char *q = path_end + 1;
        size_t qlen = strcspn(q, "#");

        if ((u->query = malloc(qlen + 1)) != NULL) {
            memcpy(u->query, q, qlen);
            u->query[qlen] = '\0';
        }
        if (!u->query)
            return WC_ERR_NOMEM;
    }
    if (!u->host || !u->path)
        return WC_ERR_NOMEM;
    if (u->path[0] != '/')
        return WC_ERR_INVALID;
    return WC_OK;
}

static int s_http_add(struct wc_sigv4_http_headers *h, const char *name, const char *value)
{
    struct wc_http_header *e = &h->items[h->len];

    e->name = s_dup_secure(name);
    e->value = s_dup_secure(value);
    if (!e->name || !e->value) {
        s_free_secure(e->name);
        s_free_secure(e->value);
        e->name = e->value = NULL;
        return WC_ERR_NOMEM;
    }
    h->len++;
    return WC_OK;
}

int wc_sigv4_sign_http(const struct wc_http_request *req, const struct wc_sigv4_params *p,
                       const char *payload_hash, struct wc_sigv4_http_headers *out)
{
    struct s_url u = {0};
    struct wc_sigv4_header *hdrs = NULL;
    struct wc_sigv4_request sreq = {0};
    struct wc_sigv4_result r = WC_SIGV4_RESULT_INIT;
    struct wc_sigv4_http_headers res = WC_SIGV4_HTTP_HEADERS_INIT;
    bool have_host = false;
    size_t i, n;
    int rc;

    if (!out)
        return WC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (!req || !p || p->presign || (req->n_headers && !req->headers))
        return WC_ERR_INVALID;
    if ((rc = s_url_parse(req->url, &u)) != WC_OK)
        goto out;
    n = req->n_headers;
    if (n > SIZE_MAX / sizeof(*res.items) - 6) {
        rc = WC_ERR_TOO_LARGE;
        goto out;
    }
    if (!(hdrs = calloc(n + 1, sizeof(*hdrs))) ||
        !(res.items = calloc(n + 6, sizeof(*res.items)))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        hdrs[i].name = req->headers[i].name;
        hdrs[i].value = req->headers[i].value;
        if (hdrs[i].name && s_name_is(hdrs[i].name, "host"))
            have_host = true;
    }
    if (!have_host)
        hdrs[n++] = (struct wc_sigv4_header){"Host", u.host};
    sreq.method = req->method;
    sreq.path = u.path;
    sreq.query = u.query;
    sreq.headers = hdrs;
    sreq.n_headers = n;
    sreq.body = req->body;
    sreq.body_len = req->body_len;
    sreq.payload_hash = payload_hash;
    if ((rc = wc_sigv4_sign(&sreq, p, &r)) != WC_OK)
        goto out;

    for (i = 0; i < n && rc == WC_OK; i++)
        rc = s_http_add(&res, hdrs[i].name, hdrs[i].value);
    if (rc == WC_OK)
        rc = s_http_add(&res, "X-Amz-Date", r.amz_date);
    if (rc == WC_OK && !wc_str_empty(p->session_token))
        rc = s_http_add(&res, "X-Amz-Security-Token", p->session_token);
    if (rc == WC_OK && r.content_sha256)
        rc = s_http_add(&res, "x-amz-content-sha256", r.content_sha256);
    if (rc == WC_OK)
        rc = s_http_add(&res, "Authorization", r.authorization);
    if (rc != WC_OK)
        goto out;
    *out = res;
    memset(&res, 0, sizeof(res));
out:
    wc_sigv4_http_headers_clean_up(&res);
    wc_sigv4_result_clean_up(&r);
    free(hdrs);
    s_url_clean_up(&u);
    return rc;
}

void wc_sigv4_http_headers_clean_up(struct wc_sigv4_http_headers *h)
{
    if (!h)
        return;
    for (size_t i = 0; h->items && i < h->len; i++) {
        s_free_secure(h->items[i].name);
        s_free_secure(h->items[i].value);
    }
    free(h->items);
    h->items = NULL;
    h->len = 0;
}
