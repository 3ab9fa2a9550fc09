/* aws_fixture.h - the shared fixture of the AWS client unit tests: a wc_aws
 * on the fake transport (tests/support/fake_http.h), a fake clock pinned to
 * AWS_FIXTURE_T0_MS (the generated SigV4 vectors' time), a fake sleep that
 * advances it and records the delays, a logger captured into `log` (level
 * debug) and a static credentials provider. */
#ifndef WC_TESTS_AWS_FIXTURE_H
#define WC_TESTS_AWS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/retry.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "tests/support/fake_http.h"

#define AWS_FIXTURE_T0_MS 1714564800000LL /* 2024-05-01T12:00:00Z */
#define AWS_FIXTURE_MAX_SLEEPS 16

/* The generated vectors' credentials. */
extern const struct wc_aws_credentials aws_fixture_creds;
/* The same with the vectors' session token. */
extern const struct wc_aws_credentials aws_fixture_creds_token;

struct aws_fixture_options {
    const struct wc_aws_credentials *creds; /* NULL: aws_fixture_creds */
    const struct wc_retry_options *retry;   /* NULL: no retry policy (one attempt) */
};

struct aws_fixture {
    struct fake_http *http;
    struct wc_aws *aws;
    struct wc_creds_provider *creds;        /* static, from the options' creds */
    struct wc_retry_policy *retry;          /* NULL unless asked for */
    struct wc_logger *logger;
    struct wc_buf log;                      /* every log line, '\n'-terminated */
    struct wc_clock clock;                  /* reads `now` */
    int64_t now;                            /* ms; the fake sleep adds to it */
    int64_t slept[AWS_FIXTURE_MAX_SLEEPS];  /* the first delays slept */
    int n_sleeps;                           /* how many sleeps (may exceed the array) */
};

/* NULL if anything could not be made. */
struct aws_fixture *aws_fixture_new(const struct aws_fixture_options *o);
void aws_fixture_destroy(struct aws_fixture *f);

/* The i-th recorded request; fails the test if there is none. */
const struct fake_http_req *aws_fixture_req(struct aws_fixture *f, size_t i);
/* Header name of the i-th recorded request (NULL if absent); fails the test
 * if there is no such request. */
const char *aws_fixture_req_header(struct aws_fixture *f, size_t i, const char *name);

/* How many lines of the captured log, from byte `from` on, contain needle
 * and, unless level is NULL, are lines of that level ("warn", "error"). */
size_t aws_fixture_log_lines(const struct aws_fixture *f, size_t from, const char *level,
                             const char *needle);
/* Fails the test unless, from byte `from` on, exactly one log line names
 * AccessDenied (any code containing it) and that line is a warn line
 * containing want ("not authorized to <service>:<Action> on <resource>"). */
void aws_fixture_assert_one_denied(const struct aws_fixture *f, size_t from, const char *want);

/* An environment with nothing in it (a wc_creds_getenv_fn / wc_getenv_fn). */
const char *aws_fixture_no_env(void *ctx, const char *name);
/* A provider that finds no credentials: the environment provider over an
 * empty environment. */
struct wc_creds_provider *aws_fixture_no_creds_new(void);

/* cmocka setup/teardown: *state is a struct aws_fixture with the default
 * credentials, or with the session token (setup_token). */
int aws_fixture_setup(void **state);
int aws_fixture_setup_token(void **state);
int aws_fixture_teardown(void **state);

#endif
