/* sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256).
 *
 * Signs one HTTP request the way AWS does (header auth, or query auth for a
 * presigned URL). Nothing here reads a clock or the network: the signing
 * time and the credentials are inputs, so tests pin them.
 *
 * The signer never modifies the request. It returns the strings the caller
 * must add to the request it sends:
 *
 *   X-Amz-Date:            result.amz_date
 *   X-Amz-Security-Token:  the session token (when there is one; also when
 *                          omit_session_token is set - it is then sent but
 *                          not signed)
 *   x-amz-content-sha256:  result.content_sha256 (when sign_body_header)
 *   Authorization:         result.authorization
 *
 * or, with presign, the query string result.presigned_query in place of the
 * original one.
 *
 * Canonicalisation (matches the AWS test suites):
 *  - header names lower-cased; values trimmed and every run of whitespace,
 *    including folded (obs-fold) line breaks, collapsed to one space;
 *    repeated headers joined with ',' in request order; sorted by name.
 *    Every header given is signed, so pass only the ones to sign
 *    (botocore does not sign User-Agent or Content-Length).
 *  - query: split on '&', each key and value percent-decoded then RFC 3986
 *    encoded (unreserved A-Za-z0-9-_.~ kept, %XX upper-case), sorted by key
 *    then value; a key without value becomes "k=".
 *  - path: with normalize_path, '.', '..' and empty segments are removed
 *    (trailing slash kept); with double_encode_path every byte but the
 *    unreserved ones and '/' is encoded, '%' included (all services but
 *    S3); without it (S3) existing %XX escapes are kept and other bytes are
 *    encoded once, so the wire path is signed as sent.
 *  - payload hash: payload_hash if given (e.g. WC_SIGV4_UNSIGNED_PAYLOAD),
 *    otherwise the hex SHA-256 of exactly body_len bytes of body.
 *
 * Secrets: the secret key never appears in any output; the signing key and
 * every intermediate key are wiped. The session token appears in the
 * canonical request (when signed) and the presigned query, so results are
 * wiped by wc_sigv4_result_clean_up. Nothing is logged.
 */
#ifndef WC_AWS_SIGV4_H
#define WC_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/str.h"

#define WC_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define WC_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* hex SHA-256 of the empty string */
#define WC_SIGV4_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* Presigned URLs live at most 7 days. */
#define WC_SIGV4_MAX_EXPIRES_S (7 * 24 * 3600)

/* One request header; both strings borrowed. */
struct wc_sigv4_header {
    const char *name;
    const char *value;
};

/* The request to sign; everything borrowed. */
struct wc_sigv4_request {
    const char *method;  /* "GET", "POST" */
    const char *path;    /* as on the wire (may hold %XX), starts with '/' */
    const char *query;   /* raw query string without '?', NULL or "" if none */
    const struct wc_sigv4_header *headers; /* must include Host */
    size_t n_headers;
    const void *body;    /* may be NULL when body_len is 0 */
    size_t body_len;
    const char *payload_hash; /* NULL: hash the body; else used verbatim */
};

struct wc_sigv4_params {
    const char *region;            /* "us-east-1" */
    const char *service;           /* signing name: "sqs", "s3", ... */
    int64_t time_s;                /* signing time, Unix seconds (UTC) */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;     /* NULL or "" for long-term keys */
    bool normalize_path;           /* false for S3 */
    bool double_encode_path;       /* false for S3 */
    bool sign_body_header;         /* add and sign x-amz-content-sha256 (S3) */
    bool omit_session_token;       /* token sent but not signed */
    bool presign;                  /* query auth instead of Authorization */
    int64_t expires_s;             /* presign only: 1..WC_SIGV4_MAX_EXPIRES_S */
};

/* Owned, NUL-terminated strings; fields that do not apply are NULL. */
struct wc_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signature;        /* 64 lower-case hex digits */
    char *signed_headers;   /* "host;x-amz-date" */
    char *credential_scope; /* "20150830/us-east-1/service/aws4_request" */
    char *amz_date;         /* "20150830T123600Z" */
    char *content_sha256;   /* value of x-amz-content-sha256 (sign_body_header,
                               header auth only) */
    char *authorization;    /* Authorization header value (header auth) */
    char *presigned_query;  /* full query string, '?' not included (presign) */
};

#define WC_SIGV4_RESULT_INIT {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/* Sign req. On success fills *out (which must be zeroed or cleaned up) and
 * returns WC_OK; on failure *out is left empty and the return is
 * WC_ERR_INVALID (bad or missing input, a header the signer owns already
 * present: Authorization, X-Amz-Date, and X-Amz-Security-Token /
 * x-amz-content-sha256 when the signer adds them), WC_ERR_NOMEM or
 * WC_ERR_TOO_LARGE. */
int wc_sigv4_sign(const struct wc_sigv4_request *req,
                  const struct wc_sigv4_params *p,
                  struct wc_sigv4_result *out);

/* Headers to send with a signed wc_http_request; owned. */
struct wc_sigv4_http_headers {
    struct wc_http_header *items;
    size_t len;
};

#define WC_SIGV4_HTTP_HEADERS_INIT {NULL, 0}

/* Header auth for the HTTP transport. Path, query and (unless req has a
 * Host header) Host are taken from req->url ("https://host[:port]/p?q";
 * the default port is dropped from Host, as SDKs do). Every header of req
 * is signed, so leave out the ones not to sign (User-Agent, Content-Length).
 * The payload hash is payload_hash if not NULL, else that of req->body.
 * On success out holds req's headers followed by Host (when added),
 * X-Amz-Date, X-Amz-Security-Token (when there is a token),
 * x-amz-content-sha256 (sign_body_header) and Authorization: set them as
 * the request's headers and send. p->presign is refused (use
 * wc_sigv4_sign). */
int wc_sigv4_sign_http(const struct wc_http_request *req, const struct wc_sigv4_params *p,
                       const char *payload_hash, struct wc_sigv4_http_headers *out);
/* Wipe (they hold the token and signature), free, reset. NULL-safe. */
void wc_sigv4_http_headers_clean_up(struct wc_sigv4_http_headers *h);

/* Overwrite every string of r with zero bytes, keeping the storage. */
void wc_sigv4_result_wipe(struct wc_sigv4_result *r);
/* Wipe, free and reset to empty. NULL-safe. */
void wc_sigv4_result_clean_up(struct wc_sigv4_result *r);

/* Append the RFC 3986 encoding of s to out: unreserved bytes
 * A-Za-z0-9-_.~ are copied, every other byte becomes %XX (upper-case);
 * '/' is kept when encode_slash is false. For STS form bodies, query
 * values and S3 keys. */
int wc_sigv4_uri_encode(struct wc_str s, bool encode_slash, struct wc_buf *out);

/* Format t (Unix seconds) as YYYYMMDDTHHMMSSZ into out[17]. */
int wc_sigv4_format_amz_date(int64_t t, char out[17]);

#endif
