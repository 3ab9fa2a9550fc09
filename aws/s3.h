/* s3.h - S3 GetObject for AWS Config's oversized change notifications.
 *
 * An OversizedConfigurationItemChangeNotification carries only a summary and
 * s3BucketLocation "bucket/key" (never a URL): the full notification is a
 * gzip JSON object there, served without Content-Encoding. This module
 *   1. validates the location (bucket per S3 naming rules, key 1..1024 bytes,
 *      no control characters, no "." / ".." segments, which an HTTP stack
 *      could collapse), so only an object of that bucket can be fetched;
 *   2. GETs it, signed with S3's SigV4 rules (x-amz-content-sha256 signed,
 *      path neither normalised nor double-encoded), key encoded once
 *      (wc_sigv4_uri_encode, '/' kept):
 *        virtual-hosted  https://<bucket>.s3.<region>.amazonaws.com/<key>
 *                        (standard endpoint, virtual-hostable bucket)
 *        path style      <endpoint>/<bucket>/<key> with an endpoint override
 *                        (tests, S3-compatible stores), or
 *                        https://s3.<region>.amazonaws.com/<bucket>/<key>
 *                        for buckets with dots;
 *      signed for the change's region; when S3 answers 301/400 naming the
 *      bucket's region (x-amz-bucket-region header, or <Region> in the error
 *      body, read through the XML front end aws/xml.h, which refuses any
 *      DOCTYPE) the request is retried once in that region;
 *   3. gunzips it (zlib, when it starts with the gzip magic; plain JSON is
 *      taken as is), capped at WC_OVERSIZED_OBJECT_MAX_BYTES uncompressed
 *      (a gzip bomb is WC_ERR_TOO_LARGE);
 *   4. parses it with wc_notification_parse_oversized_object.
 * NoSuchKey / NoSuchBucket -> WC_ERR_NOT_FOUND, AccessDenied and other
 * credential errors -> WC_ERR_AUTH, each with a one-line reason in errbuf.
 */
#ifndef WC_AWS_S3_H
#define WC_AWS_S3_H

#include <stddef.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "core/buf.h"
#include "core/change.h"

#define WC_S3_KEY_MAX 1024

struct wc_s3_options {
    struct wc_aws *aws;              /* borrowed */
    struct wc_creds_provider *creds; /* borrowed */
    const char *endpoint;            /* override base URL (path style), NULL: AWS;
                                      * "{region}" stands for the bucket's region */
    const struct wc_endpoints *endpoints; /* borrowed; when set (and endpoint is
                                      * NULL), the S3 endpoint comes from it:
                                      * configured URLs, FIPS, dual-stack */
    size_t max_object_bytes;         /* 0: WC_OVERSIZED_OBJECT_MAX_BYTES (both the
                                      * download and the gunzipped size) */
    const char *log_id;              /* SQS message id for log lines, may be NULL */
};

/* true when bucket follows the S3 naming rules: 3-63 bytes of [a-z0-9.-],
 * starting and ending with a letter or digit, no "..", ".-" or "-.", not
 * shaped like an IPv4 address. */
bool wc_s3_bucket_name_is_valid(const char *bucket);

/* WC_OK when bucket and key may be fetched (see above), else WC_ERR_INVALID. */
int wc_s3_location_validate(const char *bucket, const char *key);

/* Split "bucket/key" at the first '/' into two heap strings, validated.
 * WC_ERR_INVALID for anything else (URLs included). */
int wc_s3_location_parse(const char *location, char **bucket, char **key);

/* The object URL (heap, caller frees) for bucket/key in region, per the rules
 * above. The location must be valid. */
int wc_s3_object_url(const char *endpoint, const char *bucket, const char *key,
                     const char *region, char **out_url);

/* Append data to out, gunzipped when it starts with the gzip magic (1f 8b),
 * else as is. WC_ERR_TOO_LARGE beyond max_bytes of output, WC_ERR_PARSE for a
 * corrupt or truncated stream. */
int wc_s3_gunzip(const void *data, size_t len, size_t max_bytes, struct wc_buf *out);

/* GET the raw object bytes into out (appended; capped at max_object_bytes),
 * with the region retry. region NULL or not a region name: us-east-1. */
int wc_s3_get_object(const struct wc_s3_options *o, const char *bucket, const char *key,
                     const char *region, struct wc_buf *out, char *errbuf, size_t errlen);

/* Validate loc (s3_bucket + s3_key, or s3_location when those are unset),
 * fetch, gunzip and parse it. change_region: the summary's awsRegion (the
 * bucket's region is usually the same; "global" and NULL try us-east-1). */
int wc_s3_fetch_oversized(const struct wc_s3_options *o, const struct wc_oversized *loc,
                          const char *change_region, struct wc_notification **out,
                          char *errbuf, size_t errlen);

#endif
