/* fuzz_credentials_ini.c - the shared credentials and config files
 * (aws/credentials_profile.c): the INI parser, [profile x] sections,
 * static keys, role_arn with source_profile chains (cycles, depth),
 * credential_source, web_identity_token_file, IAM Identity Center settings
 * (no token cache: they fail) and credential_process (split, never run).
 * AssumeRole is a stub; the HTTP sources get no answer.
 *
 * Input: credentials file FUZZ_SEP config file; both are written to a
 * private directory and read through AWS_SHARED_CREDENTIALS_FILE /
 * AWS_CONFIG_FILE, for the profiles "default" and "fuzz".
 *
 * Invariants: credentials handed out have a key id and a secret, name the
 * profile as their source, and never reach a log line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "core/err.h"
#include "tests/fuzz/harness.h"
#include "tests/support/fake_http.h"

static struct wc_logger *s_lg;
static char s_creds_path[600], s_config_path[600];

static const char *s_getenv(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0)
        return s_creds_path;
    if (strcmp(name, "AWS_CONFIG_FILE") == 0)
        return s_config_path;
    return NULL;
}

/* AssumeRole stand-in: fixed credentials, checking what it is given. */
static int s_assume_role(void *ctx, const struct wc_aws_credentials *source,
                         const char *role_arn, const char *session_name,
                         const char *external_id, struct wc_aws_credentials *out)
{
    static const struct wc_aws_credentials assumed = {
        (char *)"ASIAFUZZASSUMEDROLE", (char *)"fuzz-assumed-secret-EXAMPLE",
        (char *)"fuzz-assumed-session-token", FUZZ_NOW_MS + 3600 * 1000,
        (char *)"assume-role"};

    (void)ctx;
    (void)external_id;
    FUZZ_CHECK(wc_aws_credentials_valid(source), "AssumeRole from invalid credentials");
    FUZZ_CHECK(role_arn && role_arn[0], "AssumeRole without a role");
    FUZZ_CHECK(session_name && session_name[0], "AssumeRole without a session name");
    return wc_aws_credentials_copy(out, &assumed);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_lg = fuzz_logger(false);
    snprintf(s_creds_path, sizeof(s_creds_path), "%s/credentials", fuzz_tmpdir());
    snprintf(s_config_path, sizeof(s_config_path), "%s/config", fuzz_tmpdir());
    return 0;
}

static void s_fetch(struct fake_http *f, const char *profile)
{
    struct wc_creds_options o = {0};
    struct wc_creds_ctx ctx;
    struct wc_aws_credentials out;
    char source[64];
    int rc;

    o.http = fake_http_transport(f);
    o.clock = fuzz_clock();
    o.getenv_fn = s_getenv;
    o.home_dir = fuzz_tmpdir();
    o.profile = profile;
    o.region = "eu-west-1";
    o.imds_endpoint = "http://169.254.169.254";
    o.assume_role_fn = s_assume_role;
    o.no_credential_process = true; /* never run a command the input names */
    o.logger = s_lg;
    if (wc_creds_ctx_init(&ctx, &o) != WC_OK)
        abort();
    memset(&out, 0, sizeof(out));
    fuzz_log_reset();
    rc = wc_creds_fetch_profile(&ctx, &out);
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    if (rc == WC_OK) {
        snprintf(source, sizeof(source), "shared-file:%s", profile ? profile : "default");
        FUZZ_CHECK(wc_aws_credentials_valid(&out), "invalid credentials handed out");
        FUZZ_CHECK(out.source && strcmp(out.source, source) == 0, "source %s, not %s",
                   out.source ? out.source : "(null)", source);
        FUZZ_CHECK(strlen(out.secret_access_key) < 8 ||
                       !fuzz_log_contains(out.secret_access_key),
                   "the secret access key was logged");
    }
    wc_aws_credentials_clean_up(&out);
    wc_creds_ctx_clean_up(&ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wc_str parts[2];
    struct fake_http *f = fake_http_new();

    if (!f)
        abort();
    fuzz_split(data, size, FUZZ_SEP, parts, 2);
    fuzz_write_file(s_creds_path, parts[0].ptr, parts[0].len);
    fuzz_write_file(s_config_path, parts[1].ptr, parts[1].len);
    s_fetch(f, NULL);
    s_fetch(f, "fuzz");
    fake_http_destroy(f);
    return 0;
}
