/* fuzz_credentials_http.c - the credential sources that speak HTTP
 * (aws/credentials_http.c through the fake transport): the ECS/EKS
 * container endpoint, EC2 IMDSv2 (token, role list, credentials JSON, the
 * 401 token refresh and the IMDSv1 fallback) and STS
 * AssumeRoleWithWebIdentity.
 *
 * Input: ECS answer FUZZ_SEP IMDS token answer FUZZ_SEP IMDS role list
 * answer FUZZ_SEP IMDS credentials answer FUZZ_SEP STS answer; each an HTTP
 * answer in text (see fuzz_push_response) or a bare 200 body.
 *
 * Invariants: credentials handed out have a key id and a secret and name
 * their source; temporary ones (with a session token) carry an expiry; no
 * secret or token reaches a log line; every request goes to its own
 * endpoint (the answers cannot move it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "core/err.h"
#include "tests/fuzz/harness.h"
#include "tests/support/fake_http.h"

#define S_ECS_URL "http://169.254.170.2/v2/credentials/fuzz-task"
#define S_IMDS "http://169.254.169.254"
#define S_STS_URL "https://sts.eu-west-1.amazonaws.com/"

static struct wc_logger *s_lg;
static char s_token_file[600];

static const char *s_getenv(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") == 0)
        return "/v2/credentials/fuzz-task";
    if (strcmp(name, "AWS_CONTAINER_AUTHORIZATION_TOKEN") == 0)
        return "fuzz-container-authorization-token";
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char token[] = "eyJhbGciOiJSUzI1NiJ9.fuzz-web-identity-token.signature\n";

    (void)argc;
    (void)argv;
    s_lg = fuzz_logger(true);
    snprintf(s_token_file, sizeof(s_token_file), "%s/web-identity-token", fuzz_tmpdir());
    fuzz_write_file(s_token_file, token, sizeof(token) - 1);
    return 0;
}

static void s_check(int rc, const struct wc_aws_credentials *c, const char *source)
{
    FUZZ_CHECK(rc <= 0, "%s: rc %d", source, rc);
    if (rc != WC_OK)
        return;
    FUZZ_CHECK(wc_aws_credentials_valid(c), "%s: invalid credentials handed out", source);
    FUZZ_CHECK(c->source && strcmp(c->source, source) == 0, "source %s, not %s",
               c->source ? c->source : "(null)", source);
    FUZZ_CHECK(!c->session_token || c->expiration_ms != 0,
               "%s: a session token without an expiry (would be cached for ever)", source);
    /* short values may occur in log lines by chance */
    FUZZ_CHECK(strlen(c->secret_access_key) < 8 || !fuzz_log_contains(c->secret_access_key),
               "%s: the secret access key was logged", source);
    FUZZ_CHECK(!c->session_token || strlen(c->session_token) < 8 ||
                   !fuzz_log_contains(c->session_token),
               "%s: the session token was logged", source);
}

static void s_urls(struct fake_http *f, const char *prefix, const char *what)
{
    for (size_t i = 0; i < fake_http_n_requests(f); i++) {
        const struct fake_http_req *r = fake_http_request(f, i);

        FUZZ_CHECK(strncmp(r->url, prefix, strlen(prefix)) == 0, "%s request %zu went to %s",
                   what, i, r->url);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wc_str parts[5];
    struct fake_http *f = fake_http_new();
    struct wc_creds_options o = {0};
    struct wc_creds_ctx ctx;
    struct wc_aws_credentials out;
    int rc;

    if (!f)
        abort();
    fuzz_split(data, size, FUZZ_SEP, parts, 5);
    o.http = fake_http_transport(f);
    o.clock = fuzz_clock();
    o.getenv_fn = s_getenv;
    o.region = "eu-west-1";
    o.imds_endpoint = S_IMDS;
    o.imds_v1_fallback = true;
    o.logger = s_lg;
    if (wc_creds_ctx_init(&ctx, &o) != WC_OK)
        abort();

    fuzz_log_reset();
    memset(&out, 0, sizeof(out));
    fuzz_push_response(f, parts[0]);
    rc = wc_creds_fetch_ecs(&ctx, &out);
    s_check(rc, &out, "ecs");
    wc_aws_credentials_clean_up(&out);
    s_urls(f, S_ECS_URL, "ECS");

    fake_http_destroy(f);
    if (!(f = fake_http_new()))
        abort();
    ctx.http = fake_http_transport(f);
    fuzz_log_reset();
    for (size_t i = 1; i <= 3; i++)
        fuzz_push_response(f, parts[i]);
    rc = wc_creds_fetch_imds(&ctx, &out);
    s_check(rc, &out, "imds");
    wc_aws_credentials_clean_up(&out);
    s_urls(f, S_IMDS "/latest/", "IMDS");

    fake_http_clear(f);
    fuzz_log_reset();
    fuzz_push_response(f, parts[4]);
    rc = wc_creds_fetch_web_identity(&ctx, s_token_file, "arn:aws:iam::123456789012:role/fuzz-wi",
                                     "fuzz-session", &out);
    s_check(rc, &out, "web-identity");
    wc_aws_credentials_clean_up(&out);

    wc_creds_ctx_clean_up(&ctx);
    fake_http_destroy(f);
    return 0;
}
