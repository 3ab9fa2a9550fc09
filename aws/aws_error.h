/* aws_error.h - parse the error body of an AWS response.
 *
 * Understands the three shapes whochanged meets:
 *   - awsJson1_0 / awsJson1_1 (SQS, CloudTrail): code from the
 *     X-Amzn-ErrorType header, else the body's "code", else "__type"; the
 *     namespace before the last '#' and anything after the first ':' are
 *     dropped. For query-compatible services (SQS) the first field of the
 *     x-amzn-query-error header ("AWS.SimpleQueueService.NonExistentQueue;Sender")
 *     overrides the code, as the SDKs do, and its second field sets sender_fault.
 *   - awsQuery (STS): <ErrorResponse><Error><Type/><Code/><Message/></Error>
 *     <RequestId/></ErrorResponse>
 *   - restXml (S3): <Error><Code/><Message/><RequestId/>...</Error>
 * XML goes through the XML front end (aws/xml.h: no DOCTYPE, UTF-8 only,
 * 64 KiB at most); only leaf elements count, prefixes are dropped, and a
 * malformed or refused document still gives what came before the fault.
 * When nothing names the error, the code is the HTTP status as a decimal
 * string (what botocore does), so code is never NULL after a successful
 * parse.
 */
#ifndef WC_AWS_ERROR_H
#define WC_AWS_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/http.h"
#include "core/log.h"

struct wc_aws_error {
    char *code;        /* owned; never NULL after wc_aws_error_parse() == WC_OK */
    char *message;     /* owned; NULL when the service sent none */
    char *request_id;  /* owned; NULL when absent */
    bool sender_fault; /* the caller's fault (4xx / "Sender") */
    int status;        /* HTTP status */
};

#define WC_AWS_ERROR_INIT {NULL, NULL, NULL, false, 0}

/* Parse resp (status, headers, body) into out, which must be zeroed
 * (WC_AWS_ERROR_INIT) or cleaned up. A body that is neither JSON nor XML,
 * or is malformed, is not an error: the fields come from the headers and the
 * status. Returns WC_OK, WC_ERR_INVALID (NULL argument) or WC_ERR_NOMEM. */
int wc_aws_error_parse(const struct wc_http_response *resp, struct wc_aws_error *out);

/* The same from parts (headers borrowed). */
int wc_aws_error_parse_parts(long status, const struct wc_http_header *headers, size_t n_headers,
                             const char *body, size_t body_len, struct wc_aws_error *out);

/* Reduce "ns.a#Code:http://..." to "Code" in place (exposed for tests). */
void wc_aws_error_sanitize_code(char *code);

void wc_aws_error_clean_up(struct wc_aws_error *e);

/* True for the codes that mean "the caller is known, its policy does not
 * allow this action" (AccessDenied, AccessDeniedException,
 * UnauthorizedOperation, AuthorizationError, ...), as opposed to refused
 * credentials or signatures (InvalidClientTokenId, SignatureDoesNotMatch,
 * ExpiredToken, ...). */
bool wc_aws_error_is_access_denied(const char *code);

/* One line saying what went wrong with service:operation, for logs and
 * check-config: "not authorized to sqs:ReceiveMessage (AccessDenied: ...)"
 * for an access-denied code, "credentials refused (InvalidClientTokenId:
 * ...)" for a credential or signature code, else "<code>: <message>".
 * The service's message is cut to keep the line short. Always
 * NUL-terminates out (outlen > 0). */
void wc_aws_error_describe(const struct wc_aws_error *e, const char *service,
                           const char *operation, char *out, size_t outlen);
/* The same, naming in the not-authorized form what the call was about
 * (resource: a queue URL, a table; NULL for none): "not authorized to
 * sqs:ReceiveMessage on https://sqs.../queue (AccessDenied: ...)". */
void wc_aws_error_describe_on(const struct wc_aws_error *e, const char *service,
                              const char *operation, const char *resource, char *out,
                              size_t outlen);

/* A client's line for a failed call: fmt, then ": <code>: <message>" (or
 * ": <rc's text>" without an AWS error), at level. Nothing for an
 * access-denied error: wc_aws_send has logged that one already, naming the
 * action and the resource (one line per refused call). */
void wc_aws_error_log(struct wc_logger *lg, enum wc_log_level level, const char *log_id,
                      const struct wc_aws_error *e, int rc, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
