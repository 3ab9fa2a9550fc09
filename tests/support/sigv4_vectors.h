/* sigv4_vectors.h - loader for the SigV4 test suites under
 * tests/data/aws-reference.
 *
 * Three suites (see tests/data/aws-reference/README.md, "SigV4 suites"):
 *   classic    sigv4-testsuite/botocore-aws4_testsuite  (<case>/<case>.req ...)
 *   aws-c-auth sigv4-testsuite/aws-c-auth-v4            (context.json, request.txt,
 *              header-*.txt; query-*.txt for the presigned variant)
 *   generated  sigv4-testsuite/generated-service-vectors (context.json, request.txt, ...)
 *
 * wc_test_sigv4_list() walks a suite on disk (cases are found, not listed
 * here); wc_test_sigv4_load() turns one case into a request, the signing
 * parameters and the expected outputs.
 */
#ifndef WC_TEST_SIGV4_VECTORS_H
#define WC_TEST_SIGV4_VECTORS_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/sigv4.h"

enum wc_test_sigv4_suite {
    WC_TEST_SIGV4_CLASSIC,
    WC_TEST_SIGV4_AWS_C_AUTH,
    WC_TEST_SIGV4_GENERATED,
};

/* One case found on disk. */
struct wc_test_sigv4_vector {
    enum wc_test_sigv4_suite suite;
    bool presign;  /* aws-c-auth query-* files */
    char *name;    /* test name, e.g. "classic/normalize-path/get-space" */
    char *dir;     /* absolute directory of the case */
    char *base;    /* last path component (classic file prefix) */
};

struct wc_test_sigv4_vectors {
    struct wc_test_sigv4_vector *items;
    size_t len;
    size_t cap;
};

/* Append every case of suite (sorted by name; aws-c-auth cases appear
 * twice when with_presign: header and query auth). Returns 0 or -1 if the
 * suite directory cannot be read. */
int wc_test_sigv4_list(enum wc_test_sigv4_suite suite, bool with_presign,
                       struct wc_test_sigv4_vectors *out);
void wc_test_sigv4_vectors_clean_up(struct wc_test_sigv4_vectors *v);

/* A loaded case: input and expected outputs. */
struct wc_test_sigv4_case {
    struct wc_sigv4_request req;
    struct wc_sigv4_params params;
    char *expect_creq;
    char *expect_sts;
    char *expect_signature;
    char *expect_authz;     /* NULL for presigned cases */
    char *expect_amz_date;  /* "YYYYMMDDTHHMMSSZ" */
    char *url;              /* generated suite: the URL the client calls */
    /* storage */
    struct wc_sigv4_header *headers;
    size_t n_headers;
    char *method, *path, *query, *body;
    char *region, *service, *akid, *secret, *token;
};

/* Load v; fails the running cmocka test with a message on bad data. */
void wc_test_sigv4_load(const struct wc_test_sigv4_vector *v, struct wc_test_sigv4_case *c);
void wc_test_sigv4_case_clean_up(struct wc_test_sigv4_case *c);

/* The classic suite's fixed inputs (tests/data/aws-reference/README.md). */
#define WC_TEST_SIGV4_AKID "AKIDEXAMPLE"
#define WC_TEST_SIGV4_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define WC_TEST_SIGV4_REGION "us-east-1"
#define WC_TEST_SIGV4_SERVICE "service"
#define WC_TEST_SIGV4_TIME_S 1440938160 /* 2015-08-30T12:36:00Z */

#endif
