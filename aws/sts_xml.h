/* sts_xml.h - STS (awsQuery) request bodies and XML responses.
 *
 * Responses are parsed strictly through the XML front end (aws/xml.h: any
 * DOCTYPE or entity declaration refused, UTF-8 only, depth capped): the root
 * element must be the expected one, every credential field must be present
 * exactly once, and bodies over WC_STS_XML_MAX_BYTES are rejected.
 *
 * Whitespace: AccessKeyId, SecretAccessKey and SessionToken lose ALL ASCII
 * whitespace (the STS API Reference sample wraps its SessionToken over
 * several indented lines; a real token is base64 and never contains
 * whitespace, and a newline in an X-Amz-Security-Token header would break
 * the request). The SDKs keep the raw text content instead; we deliberately
 * do not. Every other field is trimmed at both ends.
 */
#ifndef WC_AWS_STS_XML_H
#define WC_AWS_STS_XML_H

#include <stddef.h>

#include "aws/credentials.h"
#include "core/buf.h"

#define WC_STS_XML_MAX_BYTES ((size_t)64 * 1024)
#define WC_STS_API_VERSION "2011-06-15"

struct wc_sts_result {
    struct wc_aws_credentials creds; /* expiration_ms set; source NULL */
    char *assumed_role_arn;          /* AssumedRoleUser/Arn; NULL if absent */
    char *request_id;                /* ResponseMetadata/RequestId; NULL if absent */
};

struct wc_sts_error {
    char *type;       /* "Sender" / "Receiver"; may be NULL */
    char *code;       /* always set on success */
    char *message;    /* may be NULL */
    char *request_id; /* may be NULL */
};

/* action: "AssumeRole" or "AssumeRoleWithWebIdentity"; the root element must
 * be <action>Response and the credentials sit in <action>Result. */
int wc_sts_xml_parse_credentials(const char *xml, size_t len, const char *action,
                                 struct wc_sts_result *out);
void wc_sts_result_clean_up(struct wc_sts_result *r);

/* <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse> */
int wc_sts_xml_parse_error(const char *xml, size_t len, struct wc_sts_error *out);
void wc_sts_error_clean_up(struct wc_sts_error *e);

/* RFC 3986 percent-encoding of s (unreserved A-Za-z0-9-_.~ kept, others %XX
 * upper-case), appended to out. */
int wc_sts_form_encode(struct wc_buf *out, const char *s);

/* RoleSessionName: 2-64 of [A-Za-z0-9_+=,.@-]. */
bool wc_sts_valid_session_name(const char *s);
/* ExternalId: 2-1224 of [A-Za-z0-9_+=,.@:/-]. */
bool wc_sts_valid_external_id(const char *s);

struct wc_sts_assume_role_params {
    const char *role_arn;     /* required, 20-2048 chars */
    const char *session_name; /* required */
    const char *external_id;  /* NULL = omitted */
    int duration_s;           /* 0 = omitted, else 900-43200 */
};

/* "Action=AssumeRole&Version=2011-06-15&RoleArn=…&RoleSessionName=…
 *  [&DurationSeconds=…][&ExternalId=…]" appended to out. */
int wc_sts_assume_role_body(const struct wc_sts_assume_role_params *p, struct wc_buf *out);
/* "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=…
 *  &RoleSessionName=…&WebIdentityToken=…" appended to out (a secret: wipe it). */
int wc_sts_web_identity_body(const char *role_arn, const char *session_name,
                             const char *token, struct wc_buf *out);

#endif
