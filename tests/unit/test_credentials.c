/* Unit tests for aws/credentials: each source, the chain, caching and
 * refresh, per-account AssumeRole, and that secrets never reach the log. */
#include "tests/support/testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "tests/support/fake_http.h"

#define IMDS "http://169.254.169.254"
#define IMDS_TOKEN IMDS "/latest/api/token"
#define IMDS_LIST IMDS "/latest/meta-data/iam/security-credentials/"
#define IMDS_ROLE IMDS_LIST "ec2-config-auditor"
#define IMDS_SESSION "AQAEAEXAMPLEimdsv2sessiontoken_OpaqueBase64ish=="
#define IMDS_JSON                                                                             \
    "{\"Code\":\"Success\",\"LastUpdated\":\"2024-05-01T11:00:00Z\",\"Type\":\"AWS-HMAC\","   \
    "\"AccessKeyId\":\"ASIA3EXAMPLEKEYID0999\",\"SecretAccessKey\":"                          \
    "\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\"Token\":\"IQoJb3JpZ2luX2VjEXAMPLEimds\"," \
    "\"Expiration\":\"2024-05-01T17:20:00Z\"}"
#define ECS_REL "/v2/credentials/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define ECS_URL "http://169.254.170.2" ECS_REL
#define EKS_URL "http://169.254.170.23/v1/credentials"
#define EKS_JSON                                                                              \
    "{\"AccessKeyId\":\"ASIA3EXAMPLEKEYID0889\",\"SecretAccessKey\":"                         \
    "\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\"Token\":\"IQoJb3JpZ2luX2VjEXAMPLEeks\","  \
    "\"AccountId\":\"123456789012\",\"Expiration\":\"2024-05-01T18:00:00Z\"}"
#define EKS_AUTH "eyJhbGciOiJSUzI1NiIsImtpZCI6IkVYQU1QTEUifQ.EXAMPLE.EXAMPLE"
#define STS_URL "http://127.0.0.1:1/sts"
#define WI_ROLE "arn:aws:iam::123456789012:role/eks-reader"

#define ENV_MAX 32
#define CALLS_MAX 32

struct fx {
    const char *env_names[ENV_MAX];
    const char *env_values[ENV_MAX];
    size_t env_n;
    int64_t now;
    struct wc_clock clock;
    struct fake_http *http;
    struct wc_logger *logger;
    struct wc_buf log;
    struct wc_creds_options o;
    /* the fake AssumeRole */
    int assume_calls;
    int assume_fail;
    int64_t assume_ttl_ms;
    char *assume_source[CALLS_MAX];
    char *assume_role[CALLS_MAX];
    char *assume_session[CALLS_MAX];
    char *assume_ext[CALLS_MAX];
    char data[1024];
    char tmp_path[64];
};

static const char *s_getenv(void *ctx, const char *name)
{
    struct fx *f = ctx;

    for (size_t i = 0; i < f->env_n; i++)
        if (strcmp(f->env_names[i], name) == 0)
            return f->env_values[i];
    return NULL;
}

static void s_setenv(struct fx *f, const char *name, const char *value)
{
    for (size_t i = 0; i < f->env_n; i++) {
        if (strcmp(f->env_names[i], name) == 0) {
            if (value) {
                f->env_values[i] = value;
            } else {
                f->env_n--;
                f->env_names[i] = f->env_names[f->env_n];
                f->env_values[i] = f->env_values[f->env_n];
            }
            return;
        }
    }
    if (value) {
        assert_true(f->env_n < ENV_MAX);
        f->env_names[f->env_n] = name;
        f->env_values[f->env_n++] = value;
    }
}

static int64_t s_now(void *ctx)
{
    return ((struct fx *)ctx)->now;
}

static void s_log_write(void *ctx, const char *line, size_t len)
{
    struct wc_buf *b = ctx;

    assert_int_equal(wc_buf_append(b, line, len), WC_OK);
    assert_int_equal(wc_buf_append_char(b, '\n'), WC_OK);
}

static int s_fake_assume(void *ctx, const struct wc_aws_credentials *source, const char *role_arn,
                         const char *session_name, const char *external_id,
                         struct wc_aws_credentials *out)
{
    struct fx *f = ctx;
    char akid[32], secret[64], token[64];
    int n;

    assert_true(f->assume_calls < CALLS_MAX);
    n = f->assume_calls++;
    f->assume_source[n] = wc_strdup(source->access_key_id);
    f->assume_role[n] = wc_strdup(role_arn);
    f->assume_session[n] = wc_strdup(session_name);
    f->assume_ext[n] = wc_strdup(external_id);
    if (f->assume_fail)
        return WC_ERR_AUTH;
    snprintf(akid, sizeof(akid), "ASIAROLE%012d", n + 1);
    snprintf(secret, sizeof(secret), "roleSECRET%04dxxxxxxxxxxxxxxxxxxxxxxxxxx", n + 1);
    snprintf(token, sizeof(token), "roleTOKEN%04d", n + 1);
    out->access_key_id = wc_strdup(akid);
    out->secret_access_key = wc_strdup(secret);
    out->session_token = wc_strdup(token);
    out->expiration_ms = f->now + f->assume_ttl_ms;
    return WC_OK;
}

static int64_t s_iso(const char *s)
{
    int64_t ms = 0;

    assert_int_equal(wc_time_parse_iso8601(wc_str_from_cstr(s), &ms), WC_OK);
    return ms;
}

static const char *s_data(struct fx *f, const char *rel)
{
    return wc_test_data_path(rel, f->data, sizeof(f->data));
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct wc_logger_options lo = {0};

    assert_non_null(f);
    f->now = s_iso("2024-05-01T12:00:00Z");
    f->clock.now_ms = s_now;
    f->clock.mono_ms = s_now;
    f->clock.ctx = f;
    f->http = fake_http_new();
    wc_buf_init(&f->log, 0);
    lo.level = WC_LOG_TRACE;
    lo.write = s_log_write;
    lo.write_ctx = &f->log;
    f->logger = wc_logger_new(&lo);
    f->assume_ttl_ms = 3600 * 1000;
    f->o.http = fake_http_transport(f->http);
    f->o.clock = &f->clock;
    f->o.getenv_fn = s_getenv;
    f->o.getenv_ctx = f;
    f->o.home_dir = "/nonexistent/whochanged-test-home";
    f->o.sts_endpoint = STS_URL;
    f->o.assume_role_fn = s_fake_assume;
    f->o.assume_role_ctx = f;
    f->o.logger = f->logger;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    for (int i = 0; i < f->assume_calls; i++) {
        free(f->assume_source[i]);
        free(f->assume_role[i]);
        free(f->assume_session[i]);
        free(f->assume_ext[i]);
    }
    if (f->tmp_path[0])
        unlink(f->tmp_path);
    fake_http_destroy(f->http);
    wc_logger_destroy(f->logger);
    wc_buf_clean_up(&f->log);
    free(f);
    return 0;
}

static bool s_log_has(struct fx *f, const char *needle)
{
    return f->log.ptr && strstr(f->log.ptr, needle) != NULL;
}

static void s_use_fixture_files(struct fx *f)
{
    static char creds[1024], config[1024];

    s_setenv(f, "AWS_SHARED_CREDENTIALS_FILE",
             wc_test_data_path("credentials/credentials", creds, sizeof(creds)));
    s_setenv(f, "AWS_CONFIG_FILE", wc_test_data_path("credentials/config", config, sizeof(config)));
}

static void s_serve_imds(struct fx *f)
{
    fake_http_add(f->http, "PUT", IMDS_TOKEN, 200, IMDS_SESSION "\n");
    fake_http_add(f->http, "GET", IMDS_LIST, 200, "ec2-config-auditor\n");
    fake_http_add(f->http, "GET", IMDS_ROLE, 200, IMDS_JSON);
}

static void s_write_tmp(struct fx *f, const char *content)
{
    FILE *fp;

    if (!f->tmp_path[0]) {
        int fd;

        snprintf(f->tmp_path, sizeof(f->tmp_path), "/tmp/wc-creds-test-XXXXXX");
        fd = mkstemp(f->tmp_path);
        assert_true(fd >= 0);
        close(fd);
    }
    fp = fopen(f->tmp_path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

/* Get from a fresh provider of one kind and destroy it. */
static int s_get_once(struct wc_creds_provider *(*ctor)(const struct wc_creds_options *),
                      struct fx *f, struct wc_aws_credentials *out)
{
    struct wc_creds_provider *p = ctor(&f->o);
    int rc;

    assert_non_null(p);
    rc = wc_creds_provider_get(p, out);
    wc_creds_provider_destroy(p);
    return rc;
}

/* --- credentials type --------------------------------------------------- */

static void test_copy_and_clean_up(void **state)
{
    struct wc_aws_credentials a = {0}, b = {0};

    (void)state;
    a.access_key_id = (char *)"AKIAEXAMPLE";
    a.secret_access_key = (char *)"secret";
    a.expiration_ms = 42;
    a.source = (char *)"environment";
    assert_int_equal(wc_aws_credentials_copy(&b, &a), WC_OK);
    assert_ptr_not_equal(b.access_key_id, a.access_key_id);
    assert_string_equal(b.secret_access_key, "secret");
    assert_null(b.session_token);
    assert_int_equal(b.expiration_ms, 42);
    assert_true(wc_aws_credentials_valid(&b));
    wc_aws_credentials_clean_up(&b);
    assert_null(b.access_key_id);
    assert_null(b.source);
    assert_int_equal(b.expiration_ms, 0);
    assert_false(wc_aws_credentials_valid(&b));
    wc_aws_credentials_clean_up(NULL);
}

static void test_static(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials in = {0}, out = {0};
    struct wc_creds_provider *p;

    in.access_key_id = (char *)"AKIASTATICEXAMPLE000";
    in.secret_access_key = (char *)"staticSECRET";
    p = wc_creds_static_new(&in, &f->o);
    assert_non_null(p);
    assert_int_equal(wc_creds_provider_get(p, &out), WC_OK);
    assert_string_equal(out.access_key_id, "AKIASTATICEXAMPLE000");
    assert_string_equal(out.source, "static");
    wc_aws_credentials_clean_up(&out);
    wc_creds_provider_destroy(p);
    in.secret_access_key = NULL;
    assert_null(wc_creds_static_new(&in, NULL));
    wc_creds_provider_destroy(NULL);
}

/* --- environment -------------------------------------------------------- */

static void test_env(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    assert_int_equal(s_get_once(wc_creds_env_new, f, &c), WC_ERR_NOT_FOUND);
    s_setenv(f, "AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE");
    assert_int_equal(s_get_once(wc_creds_env_new, f, &c), WC_ERR_AUTH); /* no secret */
    s_setenv(f, "AWS_SECRET_ACCESS_KEY", "");
    assert_int_equal(s_get_once(wc_creds_env_new, f, &c), WC_ERR_AUTH); /* empty secret */
    s_setenv(f, "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_int_equal(s_get_once(wc_creds_env_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_null(c.session_token);
    assert_int_equal(c.expiration_ms, 0);
    assert_string_equal(c.source, "environment");
    wc_aws_credentials_clean_up(&c);
    s_setenv(f, "AWS_SECURITY_TOKEN", "legacyTOKEN");
    assert_int_equal(s_get_once(wc_creds_env_new, f, &c), WC_OK);
    assert_string_equal(c.session_token, "legacyTOKEN");
    wc_aws_credentials_clean_up(&c);
    s_setenv(f, "AWS_SESSION_TOKEN", "sessionTOKEN");
    assert_int_equal(s_get_once(wc_creds_env_new, f, &c), WC_OK);
    assert_string_equal(c.session_token, "sessionTOKEN");
    wc_aws_credentials_clean_up(&c);
    s_setenv(f, "AWS_ACCESS_KEY_ID", NULL);
    assert_int_equal(s_get_once(wc_creds_env_new, f, &c), WC_ERR_AUTH); /* secret only */
}

/* --- shared files ------------------------------------------------------- */

static void s_expect_profile(struct fx *f, const char *profile, int rc, const char *akid,
                             const char *secret)
{
    struct wc_aws_credentials c = {0};
    int got;

    f->o.profile = profile;
    got = s_get_once(wc_creds_profile_new, f, &c);
    f->o.profile = NULL;
    if (got != rc)
        fail_msg("profile %s: rc %d, want %d", profile ? profile : "(env)", got, rc);
    if (rc == WC_OK) {
        char want[128];

        assert_string_equal(c.access_key_id, akid);
        if (secret)
            assert_string_equal(c.secret_access_key, secret);
        snprintf(want, sizeof(want), "shared-file:%s", profile ? profile : "default");
        assert_string_equal(c.source, want);
    }
    wc_aws_credentials_clean_up(&c);
}

static void test_profile_static(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    /* No files at all: not configured. */
    s_expect_profile(f, NULL, WC_ERR_NOT_FOUND, NULL, NULL);
    s_use_fixture_files(f);
    s_expect_profile(f, NULL, WC_OK, "AKIDDEFAULTEXAMPLE01", "defaultSECRETexample0000000000000000000");
    /* Case-insensitive keys, session token, comments. */
    s_expect_profile(f, "audit", WC_OK, "ASIA3EXAMPLEKEYID0123", "auditSECRETexample1111111111111111111");
    f->o.profile = "audit";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_string_equal(c.session_token, "IQoJb3JpZ2luX2VjEXAMPLEauditTOKEN//wEa=");
    assert_int_equal(c.expiration_ms, 0);
    wc_aws_credentials_clean_up(&c);
    f->o.profile = NULL;
    /* Section name and value trimmed. */
    s_expect_profile(f, "spaced", WC_OK, "AKIASPACEDEXAMPLE123", "secret-with-trailing-spaces");
    /* Keys only in the config file, under [profile name]. */
    s_expect_profile(f, "legacy-keys-in-config", WC_OK, "AKIACONFIGEXAMPLE123", NULL);
    /* In the credentials file "[profile literal]" is a profile called "profile literal". */
    s_expect_profile(f, "profile literal", WC_OK, "AKIALITERALNAME12345", NULL);
    s_expect_profile(f, "literal", WC_ERR_CONFIG, NULL, NULL);
    /* Config sections that are not profiles are ignored (and a profile
     * asked for by name that does not exist is an error). */
    s_expect_profile(f, "notaprofile", WC_ERR_CONFIG, NULL, NULL);
    s_expect_profile(f, "corp", WC_ERR_CONFIG, NULL, NULL);
    s_expect_profile(f, "local", WC_ERR_CONFIG, NULL, NULL);
    /* Indented sub-settings do not override top-level keys. */
    s_expect_profile(f, "nested", WC_OK, "AKIANESTEDEXAMPLE000", "nestedSECRETexample666666666666666");
    /* A key without its secret. */
    s_expect_profile(f, "half", WC_ERR_AUTH, NULL, NULL);
    s_expect_profile(f, "no-such-profile", WC_ERR_CONFIG, NULL, NULL);
    assert_true(s_log_has(f, "profile no-such-profile not found"));
    /* AWS_PROFILE picks the profile; options->profile wins over it. */
    s_setenv(f, "AWS_PROFILE", "base");
    f->o.profile = NULL;
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "AKIABASEEXAMPLE12345");
    assert_string_equal(c.source, "shared-file:base");
    wc_aws_credentials_clean_up(&c);
    s_expect_profile(f, "audit", WC_OK, "ASIA3EXAMPLEKEYID0123", NULL);
    assert_int_equal(f->assume_calls, 0);
}

static void test_profile_home_dir(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    char home[1024];

    /* ~/.aws/credentials under home_dir: tests/data/credentials/home. */
    f->o.home_dir = wc_test_data_path("credentials/home", home, sizeof(home));
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "AKIAHOMEDIREXAMPLE00");
    wc_aws_credentials_clean_up(&c);
    /* "~/" in AWS_SHARED_CREDENTIALS_FILE expands to the home directory. */
    s_setenv(f, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/other");
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "AKIAOTHERFILEEXAMPLE");
    wc_aws_credentials_clean_up(&c);
}

static void test_profile_reference_samples(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    char creds[1024], config[1024];

    s_setenv(f, "AWS_SHARED_CREDENTIALS_FILE",
             wc_test_ref_path("samples/credentials/shared-credentials-file.constructed.ini",
                              creds, sizeof(creds)));
    s_setenv(f, "AWS_CONFIG_FILE",
             wc_test_ref_path("samples/credentials/shared-config-file.constructed.ini", config,
                              sizeof(config)));
    s_expect_profile(f, NULL, WC_OK, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    s_expect_profile(f, "spaced", WC_OK, "AKIASPACEDEXAMPLE123", "secret-with-trailing-spaces");
    s_expect_profile(f, "legacy-keys-in-config", WC_OK, "AKIACONFIGEXAMPLE123", NULL);
    f->o.profile = "cross-account";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    f->o.profile = NULL;
    assert_int_equal(f->assume_calls, 1);
    assert_string_equal(f->assume_source[0], "AKIAIOSFODNN7EXAMPLE");
    assert_string_equal(f->assume_role[0], "arn:aws:iam::210987654321:role/ChangeAuditor");
    assert_string_equal(f->assume_session[0], "change-auditor");
    assert_string_equal(f->assume_ext[0], "a+b=c/d:e");
    assert_string_equal(c.access_key_id, "ASIAROLE000000000001");
    assert_string_equal(c.source, "shared-file:cross-account");
    assert_int_equal(c.expiration_ms, f->now + f->assume_ttl_ms);
    wc_aws_credentials_clean_up(&c);
}

static void test_profile_roles(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_use_fixture_files(f);
    f->o.profile = "cross-account";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_int_equal(f->assume_calls, 1);
    assert_string_equal(f->assume_source[0], "AKIABASEEXAMPLE12345");
    assert_string_equal(f->assume_ext[0], "a+b=c/d:e");
    assert_string_equal(c.access_key_id, "ASIAROLE000000000001");
    wc_aws_credentials_clean_up(&c);

    /* Role chaining: chained -> cross-account -> base (keys are case-insensitive). */
    f->o.profile = "chained";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_int_equal(f->assume_calls, 3);
    assert_string_equal(f->assume_role[1], "arn:aws:iam::210987654321:role/ChangeAuditor");
    assert_string_equal(f->assume_source[1], "AKIABASEEXAMPLE12345");
    assert_string_equal(f->assume_role[2], "arn:aws:iam::333333333333:role/Second");
    assert_string_equal(f->assume_source[2], "ASIAROLE000000000002");
    assert_string_equal(f->assume_session[2], "whochanged");
    assert_null(f->assume_ext[2]);
    assert_string_equal(c.access_key_id, "ASIAROLE000000000003");
    wc_aws_credentials_clean_up(&c);

    /* A profile that is its own source uses its own keys. */
    f->o.profile = "self";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_int_equal(f->assume_calls, 4);
    assert_string_equal(f->assume_source[3], "AKIASELFEXAMPLE12345");
    wc_aws_credentials_clean_up(&c);

    /* Cycles and over-deep chains fail before any STS call. */
    f->o.profile = "cycle-a";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "cycle"));
    f->o.profile = "deep1";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "deeper than 4"));
    f->o.profile = "deep2"; /* depth 4 is still fine */
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(f->assume_calls, 4 + 4);
    f->o.profile = "both-sources";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_CONFIG);
    assert_int_equal(f->assume_calls, 8);

    /* credential_source = Environment. */
    f->o.profile = "on-env";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_AUTH);
    s_setenv(f, "AWS_ACCESS_KEY_ID", "AKIAFROMENVEXAMPLE00");
    s_setenv(f, "AWS_SECRET_ACCESS_KEY", "envSECRET");
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    assert_string_equal(f->assume_source[8], "AKIAFROMENVEXAMPLE00");
    assert_string_equal(f->assume_role[8], "arn:aws:iam::666666666666:role/FromEnv");
    wc_aws_credentials_clean_up(&c);

    /* AssumeRole failing, and not available at all. */
    f->assume_fail = 1;
    f->o.profile = "cross-account";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_AUTH);
    f->o.assume_role_fn = NULL;
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_UNSUPPORTED);
    f->o.profile = NULL;
}

static void test_profile_malformed(void **state)
{
    static const char *const files[] = {"credentials/malformed-header.ini",
                                        "credentials/malformed-no-equals.ini",
                                        "credentials/malformed-no-section.ini"};
    static const char *const lines[] = {"malformed-header.ini:3:", "malformed-no-equals.ini:3:",
                                        "malformed-no-section.ini:1:"};
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    char path[1024];

    for (size_t i = 0; i < 3; i++) {
        s_setenv(f, "AWS_SHARED_CREDENTIALS_FILE", wc_test_data_path(files[i], path, sizeof(path)));
        assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_PARSE);
        assert_null(c.access_key_id);
        if (!s_log_has(f, lines[i]))
            fail_msg("log lacks %s: %s", lines[i], f->log.ptr ? f->log.ptr : "");
    }
    /* A malformed config file fails too, even if the credentials file is fine. */
    s_setenv(f, "AWS_SHARED_CREDENTIALS_FILE", s_data(f, "credentials/credentials"));
    s_setenv(f, "AWS_CONFIG_FILE", wc_test_data_path(files[0], path, sizeof(path)));
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_PARSE);
    /* Binary junk. */
    s_write_tmp(f, "[default]\n\x01\x02\x03\xff garbage\n");
    s_setenv(f, "AWS_CONFIG_FILE", f->tmp_path);
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_PARSE);
}

/* --- web identity -------------------------------------------------------- */

static const char s_wi_response[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    " <AssumeRoleWithWebIdentityResult>\n"
    "  <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/eks-reader/whochanged</Arn>"
    "</AssumedRoleUser>\n"
    "  <Credentials>\n"
    "   <AccessKeyId>ASIA3EXAMPLEKEYIDWEB1</AccessKeyId>\n"
    "   <SecretAccessKey>webSECRETexample7777777777777777777</SecretAccessKey>\n"
    "   <SessionToken>webTOKENexample</SessionToken>\n"
    "   <Expiration>2024-05-01T13:00:00.123Z</Expiration>\n"
    "  </Credentials>\n"
    " </AssumeRoleWithWebIdentityResult>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_web_identity(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    const struct fake_http_req *r;
    struct wc_creds_provider *p;

    assert_int_equal(s_get_once(wc_creds_web_identity_new, f, &c), WC_ERR_NOT_FOUND);
    s_write_tmp(f, "eyJhbGciOiJSUzI1NiJ9.tokenONE.sig\n");
    s_setenv(f, "AWS_WEB_IDENTITY_TOKEN_FILE", f->tmp_path);
    assert_int_equal(s_get_once(wc_creds_web_identity_new, f, &c), WC_ERR_NOT_FOUND);
    s_setenv(f, "AWS_ROLE_ARN", WI_ROLE);
    fake_http_add(f->http, "POST", STS_URL, 200, s_wi_response);
    p = wc_creds_web_identity_new(&f->o);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYIDWEB1");
    assert_string_equal(c.secret_access_key, "webSECRETexample7777777777777777777");
    assert_string_equal(c.session_token, "webTOKENexample");
    assert_int_equal(c.expiration_ms, s_iso("2024-05-01T13:00:00Z") + 123);
    assert_string_equal(c.source, "web-identity");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    r = fake_http_request(f->http, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn="
                                 "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Feks-reader"
                                 "&RoleSessionName=whochanged"
                                 "&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.tokenONE.sig");
    assert_string_equal(fake_http_req_header(r, "Content-Type"),
                        "application/x-www-form-urlencoded; charset=utf-8");
    assert_null(fake_http_req_header(r, "Authorization")); /* unsigned */
    assert_false(r->metadata_credentials); /* STS: https, never a metadata address */

    /* The token file is re-read on refresh; the session name comes from env. */
    s_write_tmp(f, "eyJhbGciOiJSUzI1NiJ9.tokenTWO.sig");
    s_setenv(f, "AWS_ROLE_SESSION_NAME", "pod-1");
    f->now = s_iso("2024-05-01T12:56:00Z"); /* within 5 min of 13:00 */
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    r = fake_http_request(f->http, 1);
    assert_non_null(strstr(r->body, "&RoleSessionName=pod-1&WebIdentityToken="
                                    "eyJhbGciOiJSUzI1NiJ9.tokenTWO.sig"));
    wc_creds_provider_destroy(p);

    /* Without an explicit endpoint: the regional STS endpoint. */
    f->o.sts_endpoint = NULL;
    f->o.region = "eu-west-1";
    fake_http_add(f->http, "POST", "https://sts.eu-west-1.amazonaws.com/", 200, s_wi_response);
    assert_int_equal(s_get_once(wc_creds_web_identity_new, f, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_count(f->http, "POST", "https://sts.eu-west-1.amazonaws.com/"), 1);
    f->o.region = "eu-west-1/../evil";
    assert_int_equal(s_get_once(wc_creds_web_identity_new, f, &c), WC_ERR_CONFIG);
    f->o.region = NULL;
    f->o.sts_endpoint = STS_URL;

    /* STS says no. */
    fake_http_clear(f->http);
    {
        struct wc_buf b = WC_BUF_INIT;

        wc_test_read_ref("samples/sts/error-access-denied.constructed.xml", &b);
        fake_http_add(f->http, "POST", STS_URL, 403, b.ptr);
        wc_buf_clean_up(&b);
    }
    assert_int_equal(s_get_once(wc_creds_web_identity_new, f, &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "AccessDenied"));
    /* Token file gone. */
    s_setenv(f, "AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token");
    assert_int_equal(s_get_once(wc_creds_web_identity_new, f, &c), WC_ERR_AUTH);
}

static void test_profile_web_identity(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    char config[2048], token[1024];
    const struct fake_http_req *r;

    snprintf(config, sizeof(config),
             "[profile eks]\nrole_arn = %s\nweb_identity_token_file = %s\n"
             "role_session_name = from-profile\n",
             WI_ROLE, wc_test_data_path("credentials/web-identity-token", token, sizeof(token)));
    s_write_tmp(f, config);
    s_setenv(f, "AWS_CONFIG_FILE", f->tmp_path);
    fake_http_add(f->http, "POST", STS_URL, 200, s_wi_response);
    f->o.profile = "eks";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    f->o.profile = NULL;
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYIDWEB1");
    assert_string_equal(c.source, "shared-file:eks");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(f->assume_calls, 0);
    r = fake_http_request(f->http, 0);
    assert_non_null(r);
    assert_non_null(strstr(r->body, "&RoleSessionName=from-profile&WebIdentityToken="
                                    "eyJhbGciOiJSUzI1NiJ9.webIDENTITYtokenONE.sig"));
}

/* --- ECS / EKS ------------------------------------------------------------ */

static void test_ecs_relative(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_buf body = WC_BUF_INIT;
    const struct fake_http_req *r;

    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_NOT_FOUND);
    assert_int_equal(fake_http_n_requests(f->http), 0);
    wc_test_read_ref("samples/credentials/ecs-container-credentials.constructed.json", &body);
    fake_http_add(f->http, "GET", ECS_URL, 200, body.ptr);
    wc_buf_clean_up(&body);
    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ECS_REL);
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0888");
    assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_string_equal(c.session_token, "IQoJb3JpZ2luX2VjEXAMPLEecs");
    assert_int_equal(c.expiration_ms, s_iso("2024-05-01T17:45:12Z"));
    assert_string_equal(c.source, "ecs");
    wc_aws_credentials_clean_up(&c);
    r = fake_http_request(f->http, 0);
    assert_string_equal(r->method, "GET");
    assert_null(fake_http_req_header(r, "Authorization"));
    assert_true(r->connect_timeout_ms > 0 && r->connect_timeout_ms <= 1000);
    assert_true(r->metadata_credentials); /* a credential fetch */

    /* Relative URIs win over full ones; a non-2xx answer is a failure. */
    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds");
    fake_http_clear(f->http);
    fake_http_add(f->http, "GET", ECS_URL, 500, "{\"code\":\"x\"}");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_AUTH);
    fake_http_clear(f->http);
    fake_http_add(f->http, "GET", ECS_URL, 200, "{\"AccessKeyId\":\"A\"}");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_PARSE);
    /* A session token without an expiration would be cached for ever. */
    fake_http_clear(f->http);
    fake_http_add(f->http, "GET", ECS_URL, 200,
                  "{\"AccessKeyId\":\"AKIAEXAMPLE\",\"SecretAccessKey\":\"s\",\"Token\":\"t\"}");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_PARSE);
    /* Nor with one at the epoch, which reads as "does not expire" (found
     * with tests/fuzz/fuzz_credentials_http). */
    fake_http_clear(f->http);
    fake_http_add(f->http, "GET", ECS_URL, 200,
                  "{\"AccessKeyId\":\"AKIAEXAMPLE\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                  "\"Expiration\":\"1970-01-01T00:00:00Z\"}");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_PARSE);
    /* Long-term keys need none. */
    fake_http_clear(f->http);
    fake_http_add(f->http, "GET", ECS_URL, 200,
                  "{\"AccessKeyId\":\"AKIAEXAMPLE\",\"SecretAccessKey\":\"s\"}");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_OK);
    assert_int_equal(c.expiration_ms, 0);
    assert_null(c.session_token);
    wc_aws_credentials_clean_up(&c);
    fake_http_clear(f->http);
    fake_http_add(f->http, "GET", ECS_URL, 200, "not json");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_PARSE);
    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "no-leading-slash");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_CONFIG);
}

static void test_ecs_full_uri(void **state)
{
    static const char *const refused[] = {
        "http://169.254.169.254/latest/meta-data/", "http://example.com/creds",
        "http://127.0.0.1@evil.example/creds",      "http://10.0.0.1/creds",
        "ftp://127.0.0.1/creds",                    "http://[fd00:ec2::24]/creds",
        "http://169.254.170.2.evil.example/",
    };
    static const char *const allowed[] = {
        "http://127.0.0.1:8080/creds", "http://127.3.2.1/creds", "http://localhost/creds",
        "http://[::1]:9000/creds",     "http://169.254.170.2/creds", "http://[fd00:ec2::23]/c",
        "https://creds.example.com/v1",
    };
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    const struct fake_http_req *r;

    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_URL);
    s_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "literalAUTHtoken");
    fake_http_add(f->http, "GET", EKS_URL, 200, EKS_JSON);
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0889");
    assert_int_equal(c.expiration_ms, s_iso("2024-05-01T18:00:00Z"));
    wc_aws_credentials_clean_up(&c);
    r = fake_http_request(f->http, 0);
    assert_string_equal(fake_http_req_header(r, "Authorization"), "literalAUTHtoken");

    /* The token file wins over the literal token and is re-read each time. */
    s_write_tmp(f, EKS_AUTH "\n");
    s_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", f->tmp_path);
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    r = fake_http_request(f->http, 1);
    assert_string_equal(fake_http_req_header(r, "Authorization"), EKS_AUTH);
    s_write_tmp(f, "rotatedAUTHtoken");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    r = fake_http_request(f->http, 2);
    assert_string_equal(fake_http_req_header(r, "Authorization"), "rotatedAUTHtoken");
    s_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", NULL);

    /* Hosts outside the allow-list are refused without a request. */
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        size_t before = fake_http_n_requests(f->http);

        s_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i]);
        if (s_get_once(wc_creds_ecs_new, f, &c) != WC_ERR_CONFIG)
            fail_msg("full URI %s was not refused", refused[i]);
        assert_int_equal(fake_http_n_requests(f->http), before);
    }
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        fake_http_add(f->http, "GET", allowed[i], 200, EKS_JSON);
        s_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed[i]);
        if (s_get_once(wc_creds_ecs_new, f, &c) != WC_OK)
            fail_msg("full URI %s was refused", allowed[i]);
        wc_aws_credentials_clean_up(&c);
        assert_int_equal(fake_http_count(f->http, "GET", allowed[i]), 1);
    }
    /* A token with a newline would inject a header. */
    s_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Evil: 1");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_CONFIG);
}

/* --- IMDS ------------------------------------------------------------------ */

static void test_imds_v2_flow(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    const struct fake_http_req *r;

    s_serve_imds(f);
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0999");
    assert_string_equal(c.session_token, "IQoJb3JpZ2luX2VjEXAMPLEimds");
    assert_int_equal(c.expiration_ms, s_iso("2024-05-01T17:20:00Z"));
    assert_string_equal(c.source, "imds");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 3);
    r = fake_http_request(f->http, 0);
    assert_string_equal(r->method, "PUT");
    assert_string_equal(r->url, IMDS_TOKEN);
    assert_string_equal(fake_http_req_header(r, "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
    assert_true(r->connect_timeout_ms > 0 && r->connect_timeout_ms <= 1000);
    for (size_t i = 1; i < 3; i++) {
        r = fake_http_request(f->http, i);
        assert_string_equal(r->method, "GET");
        assert_string_equal(fake_http_req_header(r, "X-aws-ec2-metadata-token"), IMDS_SESSION);
    }
    assert_string_equal(fake_http_request(f->http, 1)->url, IMDS_LIST);
    assert_string_equal(fake_http_request(f->http, 2)->url, IMDS_ROLE);
    /* each is marked a credential fetch: only those may use plain http to IMDS */
    for (size_t i = 0; i < 3; i++)
        assert_true(fake_http_request(f->http, i)->metadata_credentials);
}

static void test_imds_doc_json_and_endpoint(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_buf doc = WC_BUF_INIT;

    wc_test_read_ref("samples/credentials/imds-security-credentials.doc.json", &doc);
    s_setenv(f, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8111/");
    fake_http_add(f->http, "PUT", "http://127.0.0.1:8111/latest/api/token", 200, "tok");
    fake_http_add(f->http, "GET",
                  "http://127.0.0.1:8111/latest/meta-data/iam/security-credentials/", 200,
                  "my-role");
    fake_http_add(f->http, "GET",
                  "http://127.0.0.1:8111/latest/meta-data/iam/security-credentials/my-role", 200,
                  doc.ptr);
    wc_buf_clean_up(&doc);
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(c.session_token, "token");
    assert_int_equal(c.expiration_ms, s_iso("2017-05-17T15:09:54Z"));
    wc_aws_credentials_clean_up(&c);
    /* Code other than Success. */
    fake_http_clear(f->http);
    fake_http_add(f->http, "PUT", "http://127.0.0.1:8111/latest/api/token", 200, "tok");
    fake_http_add(f->http, "GET",
                  "http://127.0.0.1:8111/latest/meta-data/iam/security-credentials/", 200,
                  "my-role");
    fake_http_add(f->http, "GET",
                  "http://127.0.0.1:8111/latest/meta-data/iam/security-credentials/my-role", 200,
                  "{\"Code\":\"AssumeRoleUnauthorizedAccess\"}");
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "AssumeRoleUnauthorizedAccess"));
}

static void test_imds_401_refetches_token(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    fake_http_add(f->http, "PUT", IMDS_TOKEN, 200, "first-token");
    fake_http_add(f->http, "PUT", IMDS_TOKEN, 200, "second-token");
    fake_http_add(f->http, "GET", IMDS_LIST, 200, "ec2-config-auditor");
    fake_http_add(f->http, "GET", IMDS_ROLE, 401, "");
    fake_http_add(f->http, "GET", IMDS_ROLE, 200, IMDS_JSON);
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0999");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_count(f->http, "PUT", IMDS_TOKEN), 2);
    assert_int_equal(fake_http_count(f->http, "GET", IMDS_ROLE), 2);
    assert_string_equal(
        fake_http_req_header(fake_http_request(f->http, 4), "X-aws-ec2-metadata-token"),
        "second-token");
    /* A 401 that persists fails after one retry, bounded. */
    fake_http_clear(f->http);
    fake_http_add(f->http, "PUT", IMDS_TOKEN, 200, "t");
    fake_http_add(f->http, "GET", IMDS_LIST, 401, "");
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_ERR_AUTH);
    assert_int_equal(fake_http_count(f->http, "GET", IMDS_LIST), 1 + 2);
    /* No instance profile. */
    fake_http_clear(f->http);
    fake_http_add(f->http, "PUT", IMDS_TOKEN, 200, "t");
    fake_http_add(f->http, "GET", IMDS_LIST, 404, "");
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_ERR_NOT_FOUND);
    /* Not on EC2: the connection fails. */
    fake_http_clear(f->http);
    fake_http_add_error(f->http, "PUT", IMDS_TOKEN, WC_ERR_TIMEOUT);
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_ERR_TIMEOUT);
}

static void test_imds_v1_fallback(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    size_t n;

    fake_http_add(f->http, "PUT", IMDS_TOKEN, 403, "");
    fake_http_add(f->http, "GET", IMDS_LIST, 200, "ec2-config-auditor");
    fake_http_add(f->http, "GET", IMDS_ROLE, 200, IMDS_JSON);
    /* Disabled (the default): no GET without a token. */
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_ERR_AUTH);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    /* Enabled: IMDSv1 GETs without the token header. */
    f->o.imds_v1_fallback = true;
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0999");
    wc_aws_credentials_clean_up(&c);
    n = fake_http_n_requests(f->http);
    assert_int_equal(n, 4);
    for (size_t i = 2; i < n; i++)
        assert_null(
            fake_http_req_header(fake_http_request(f->http, i), "X-aws-ec2-metadata-token"));
    /* AWS_EC2_METADATA_DISABLED=true: not even a token request. */
    s_setenv(f, "AWS_EC2_METADATA_DISABLED", "TRUE");
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_ERR_NOT_FOUND);
    assert_int_equal(fake_http_n_requests(f->http), n);
}

/* --- chain ------------------------------------------------------------------ */

static int s_chain_get(struct fx *f, struct wc_aws_credentials *out)
{
    return s_get_once(wc_creds_chain_new, f, out);
}

static void s_expect_chain(struct fx *f, const char *source, const char *akid)
{
    struct wc_aws_credentials c = {0};

    assert_int_equal(s_chain_get(f, &c), WC_OK);
    assert_string_equal(c.source, source);
    assert_string_equal(c.access_key_id, akid);
    wc_aws_credentials_clean_up(&c);
}

static void test_chain_precedence(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    /* Nothing anywhere (IMDS unreachable). */
    assert_int_equal(s_chain_get(f, &c), WC_ERR_AUTH);
    /* Every source configured. */
    s_serve_imds(f);
    fake_http_add(f->http, "GET", ECS_URL, 200, EKS_JSON);
    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ECS_REL);
    s_use_fixture_files(f);
    s_setenv(f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000");
    s_setenv(f, "AWS_SECRET_ACCESS_KEY", "envSECRET");
    s_expect_chain(f, "environment", "AKIAENVEXAMPLE000000");
    s_setenv(f, "AWS_ACCESS_KEY_ID", NULL);
    s_setenv(f, "AWS_SECRET_ACCESS_KEY", NULL);
    s_expect_chain(f, "shared-file:default", "AKIDDEFAULTEXAMPLE01");
    /* Web identity beats the shared files. */
    s_setenv(f, "AWS_WEB_IDENTITY_TOKEN_FILE", s_data(f, "credentials/web-identity-token"));
    s_setenv(f, "AWS_ROLE_ARN", WI_ROLE);
    fake_http_add(f->http, "POST", STS_URL, 200, s_wi_response);
    s_expect_chain(f, "web-identity", "ASIA3EXAMPLEKEYIDWEB1");
    assert_non_null(strstr(fake_http_request(f->http, fake_http_n_requests(f->http) - 1)->body,
                           "WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.webIDENTITYtokenONE.sig"));
    s_setenv(f, "AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
    /* A profile without credentials falls through to the container. */
    s_setenv(f, "AWS_PROFILE", "audit-missing");
    s_expect_chain(f, "ecs", "ASIA3EXAMPLEKEYID0889");
    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);
    s_expect_chain(f, "imds", "ASIA3EXAMPLEKEYID0999");
    /* A broken source is skipped: partial env keys fall through to the profile. */
    s_setenv(f, "AWS_PROFILE", NULL);
    s_setenv(f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000");
    s_expect_chain(f, "shared-file:default", "AKIDDEFAULTEXAMPLE01");
}

static void test_chain_remembers_source(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_creds_provider *p;
    size_t profile_reads;

    fake_http_add(f->http, "GET", ECS_URL, 200, EKS_JSON); /* expires 18:00 */
    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ECS_REL);
    p = wc_creds_chain_new(&f->o);
    assert_non_null(p);
    assert_string_equal(wc_creds_provider_name(p), "chain");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.source, "ecs");
    wc_aws_credentials_clean_up(&c);
    /* Environment credentials appear later; the chain keeps to the source
     * that worked, even when it has to refresh. */
    s_setenv(f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000");
    s_setenv(f, "AWS_SECRET_ACCESS_KEY", "envSECRET");
    f->now = s_iso("2024-05-01T17:58:00Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.source, "ecs");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_count(f->http, "GET", ECS_URL), 2);
    /* Once it stops working (and its credentials expired), search again. */
    fake_http_clear(f->http);
    f->now = s_iso("2024-05-01T18:30:00Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.source, "environment");
    wc_aws_credentials_clean_up(&c);
    profile_reads = fake_http_n_requests(f->http);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.source, "environment");
    wc_aws_credentials_clean_up(&c);
    /* Remembered: no more container requests. */
    assert_int_equal(fake_http_n_requests(f->http), profile_reads);
    wc_creds_provider_destroy(p);
}

/* --- caching and refresh ---------------------------------------------------- */

static void test_refresh_margin(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_creds_provider *p;

    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_URL);
    fake_http_add(f->http, "GET", EKS_URL, 200, EKS_JSON); /* expires 18:00:00 */
    f->o.refresh_margin_ms = 10 * 60 * 1000;
    p = wc_creds_ecs_new(&f->o);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    /* Outside the margin: served from the cache. */
    f->now = s_iso("2024-05-01T17:49:59Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0889");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    /* Inside it: fetched again, and the new credentials are served. */
    fake_http_clear(f->http);
    fake_http_add(f->http, "GET", EKS_URL, 200,
                  "{\"AccessKeyId\":\"ASIA3EXAMPLEKEYIDNEW2\",\"SecretAccessKey\":\"s2\","
                  "\"Token\":\"t2\",\"Expiration\":\"2024-05-01T19:00:00Z\"}");
    f->now = s_iso("2024-05-01T17:50:01Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYIDNEW2");
    assert_int_equal(c.expiration_ms, s_iso("2024-05-01T19:00:00Z"));
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    wc_creds_provider_destroy(p);
}

static void test_refresh_failure_keeps_unexpired(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_creds_provider *p;

    s_serve_imds(f); /* expires 17:20 */
    p = wc_creds_imds_new(&f->o);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    fake_http_clear(f->http);
    fake_http_add(f->http, "PUT", IMDS_TOKEN, 200, "t");
    fake_http_add(f->http, "GET", IMDS_LIST, 500, "");
    /* Within the default 5-minute margin, the refresh fails: keep the old ones. */
    f->now = s_iso("2024-05-01T17:17:00Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0999");
    wc_aws_credentials_clean_up(&c);
    assert_true(s_log_has(f, "using the cached credentials"));
    assert_int_equal(fake_http_count(f->http, "GET", IMDS_LIST), 2);
    /* Each get inside the margin tries again. */
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_count(f->http, "GET", IMDS_LIST), 3);
    /* Once expired, the failure shows. */
    f->now = s_iso("2024-05-01T17:20:00Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_ERR_AUTH);
    assert_null(c.access_key_id);
    /* And recovers when the source does. */
    fake_http_clear(f->http);
    s_serve_imds(f);
    f->now = s_iso("2024-05-01T17:21:00Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIA3EXAMPLEKEYID0999");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_count(f->http, "GET", IMDS_ROLE), 2);
    wc_creds_provider_destroy(p);
}

struct s_thread_arg {
    struct wc_creds_provider *p;
    int ok;
};

static void *s_thread_get(void *arg)
{
    struct s_thread_arg *a = arg;

    for (int i = 0; i < 50; i++) {
        struct wc_aws_credentials c = {0};

        if (wc_creds_provider_get(a->p, &c) == WC_OK &&
            wc_streq(c.access_key_id, "ASIA3EXAMPLEKEYID0889"))
            a->ok++;
        wc_aws_credentials_clean_up(&c);
    }
    return NULL;
}

static void test_thread_safety(void **state)
{
    struct fx *f = *state;
    struct s_thread_arg args[4];
    pthread_t th[4];
    struct wc_creds_provider *p;

    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_URL);
    fake_http_add(f->http, "GET", EKS_URL, 200, EKS_JSON);
    f->o.logger = NULL; /* the capturing sink is not thread-safe */
    p = wc_creds_chain_new(&f->o);
    for (int i = 0; i < 4; i++) {
        args[i].p = p;
        args[i].ok = 0;
        assert_int_equal(pthread_create(&th[i], NULL, s_thread_get, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].ok, 50);
    }
    /* Exactly one fetch: the cache is shared and locked. */
    assert_int_equal(fake_http_count(f->http, "GET", EKS_URL), 1);
    wc_creds_provider_destroy(p);
}

/* --- per-account AssumeRole --------------------------------------------------- */

static void test_accounts(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials base = {0}, a1 = {0}, a1b = {0}, a2 = {0};
    struct wc_creds_provider *bp;
    struct wc_creds_accounts *acc;

    base.access_key_id = (char *)"AKIABASEEXAMPLE12345";
    base.secret_access_key = (char *)"baseSECRET";
    bp = wc_creds_static_new(&base, &f->o);
    acc = wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/whochanged-reader",
                                "ext-id-1", NULL, &f->o);
    assert_non_null(acc);
    assert_int_equal(wc_creds_accounts_get(acc, "111111111111", &a1), WC_OK);
    assert_int_equal(f->assume_calls, 1);
    assert_string_equal(f->assume_role[0], "arn:aws:iam::111111111111:role/whochanged-reader");
    assert_string_equal(f->assume_source[0], "AKIABASEEXAMPLE12345");
    assert_string_equal(f->assume_session[0], "whochanged");
    assert_string_equal(f->assume_ext[0], "ext-id-1");
    assert_string_equal(a1.source, "assume-role");
    /* Cached until near expiry. */
    f->now += 30 * 60 * 1000;
    assert_int_equal(wc_creds_accounts_get(acc, "111111111111", &a1b), WC_OK);
    assert_int_equal(f->assume_calls, 1);
    assert_string_equal(a1b.access_key_id, a1.access_key_id);
    wc_aws_credentials_clean_up(&a1b);
    /* Another account: its own role and credentials. */
    assert_int_equal(wc_creds_accounts_get(acc, "222222222222", &a2), WC_OK);
    assert_int_equal(f->assume_calls, 2);
    assert_string_equal(f->assume_role[1], "arn:aws:iam::222222222222:role/whochanged-reader");
    assert_string_not_equal(a2.access_key_id, a1.access_key_id);
    assert_string_not_equal(a2.secret_access_key, a1.secret_access_key);
    /* Near expiry of the first account: one new call, for it only. */
    f->now += 26 * 60 * 1000; /* 56 min after the first call: within 5 min of its expiry */
    assert_int_equal(wc_creds_accounts_get(acc, "111111111111", &a1b), WC_OK);
    assert_int_equal(f->assume_calls, 3);
    assert_string_equal(f->assume_role[2], "arn:aws:iam::111111111111:role/whochanged-reader");
    assert_string_not_equal(a1b.access_key_id, a1.access_key_id);
    wc_aws_credentials_clean_up(&a1b);
    assert_int_equal(wc_creds_accounts_get(acc, "222222222222", &a1b), WC_OK);
    assert_int_equal(f->assume_calls, 3);
    wc_aws_credentials_clean_up(&a1b);
    /* Bad account ids. */
    assert_int_equal(wc_creds_accounts_get(acc, "12345", &a1b), WC_ERR_INVALID);
    assert_int_equal(wc_creds_accounts_get(acc, "11111111111x", &a1b), WC_ERR_INVALID);
    assert_int_equal(wc_creds_accounts_get(acc, NULL, &a1b), WC_ERR_INVALID);
    assert_int_equal(f->assume_calls, 3);
    /* STS failure for a new account is reported. */
    f->assume_fail = 1;
    assert_int_equal(wc_creds_accounts_get(acc, "333333333333", &a1b), WC_ERR_AUTH);
    assert_null(a1b.access_key_id);
    wc_creds_accounts_destroy(acc);
    wc_aws_credentials_clean_up(&a1);
    wc_aws_credentials_clean_up(&a2);
    wc_creds_provider_destroy(bp);
}

/* Review finding 14: accounts named by forged messages must not lock out a
 * real one. A counting AssumeRole: how often each role was assumed. */
struct s_lru_fx {
    struct fx *f;
    int calls, real_calls;
};

static int s_count_assume(void *ctx, const struct wc_aws_credentials *source,
                          const char *role_arn, const char *session_name,
                          const char *external_id, struct wc_aws_credentials *out)
{
    struct s_lru_fx *x = ctx;
    char akid[32];
    int n;

    (void)source;
    (void)session_name;
    (void)external_id;
    n = __atomic_add_fetch(&x->calls, 1, __ATOMIC_SEQ_CST);
    if (strstr(role_arn, "::111111111111:"))
        __atomic_add_fetch(&x->real_calls, 1, __ATOMIC_SEQ_CST);
    snprintf(akid, sizeof(akid), "ASIALRU%013d", n);
    out->access_key_id = wc_strdup(akid);
    out->secret_access_key = wc_strdup("lruSECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    out->session_token = wc_strdup("lruTOKEN");
    out->expiration_ms = x->f->now + 3600 * 1000;
    return WC_OK;
}

static void test_accounts_bounded_lru(void **state)
{
    struct fx *f = *state;
    struct s_lru_fx x = {f, 0, 0};
    struct wc_aws_credentials base = {0}, c = {0}, first = {0};
    struct wc_creds_provider *bp;
    struct wc_creds_accounts *acc;
    const int forged = 5000;

    base.access_key_id = (char *)"AKIABASEEXAMPLE12345";
    base.secret_access_key = (char *)"baseSECRET";
    f->o.assume_role_fn = s_count_assume;
    f->o.assume_role_ctx = &x;
    f->o.logger = NULL; /* 5,000 lines of nothing */
    bp = wc_creds_static_new(&base, &f->o);
    acc = wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/r", "ext-id-1", NULL,
                                &f->o);
    assert_non_null(acc);
    assert_int_equal(wc_creds_accounts_get(acc, "111111111111", &first), WC_OK);
    for (int i = 0; i < forged; i++) {
        char id[16];

        snprintf(id, sizeof(id), "9%011d", i);
        /* every forged account is served too: none is refused for room */
        assert_int_equal(wc_creds_accounts_get(acc, id, &c), WC_OK);
        wc_aws_credentials_clean_up(&c);
        assert_true(wc_creds_accounts_count(acc) <= WC_CREDS_ACCOUNTS_MAX);
        /* the real account, used now and then, is never the one forgotten */
        if (i % 1000 == 999) {
            assert_int_equal(wc_creds_accounts_get(acc, "111111111111", &c), WC_OK);
            assert_string_equal(c.access_key_id, first.access_key_id);
            wc_aws_credentials_clean_up(&c);
        }
    }
    assert_int_equal(wc_creds_accounts_count(acc), WC_CREDS_ACCOUNTS_MAX);
    assert_int_equal(x.real_calls, 1); /* cached all along: assumed once */
    assert_int_equal(x.calls, 1 + forged);
    /* the oldest forged account was forgotten: assumed again when named again */
    assert_int_equal(wc_creds_accounts_get(acc, "900000000000", &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(x.calls, 2 + forged);
    /* and the most recent is still cached */
    {
        char id[16];

        snprintf(id, sizeof(id), "9%011d", forged - 1);
        assert_int_equal(wc_creds_accounts_get(acc, id, &c), WC_OK);
        wc_aws_credentials_clean_up(&c);
        assert_int_equal(x.calls, 2 + forged);
    }
    wc_creds_accounts_destroy(acc);
    wc_creds_provider_destroy(bp);
    wc_aws_credentials_clean_up(&first);
}

struct s_lru_thread {
    struct wc_creds_accounts *acc;
    int t, ok;
};

static void *s_lru_thread_main(void *arg)
{
    struct s_lru_thread *a = arg;

    for (int i = 0; i < 1500; i++) {
        struct wc_aws_credentials c = {0};
        char id[16];

        snprintf(id, sizeof(id), "8%d%010d", a->t, i);
        a->ok += wc_creds_accounts_get(a->acc, id, &c) == WC_OK;
        wc_aws_credentials_clean_up(&c);
        a->ok += wc_creds_accounts_get(a->acc, "111111111111", &c) == WC_OK;
        wc_aws_credentials_clean_up(&c);
    }
    return NULL;
}

/* Entries are evicted while other threads use them (under ASan: no use
 * after free, no leak). */
static void test_accounts_lru_threads(void **state)
{
    struct fx *f = *state;
    struct s_lru_fx x = {f, 0, 0};
    struct wc_aws_credentials base = {0};
    struct s_lru_thread args[4];
    struct wc_creds_provider *bp;
    struct wc_creds_accounts *acc;
    pthread_t th[4];

    base.access_key_id = (char *)"AKIABASEEXAMPLE12345";
    base.secret_access_key = (char *)"baseSECRET";
    f->o.assume_role_fn = s_count_assume;
    f->o.assume_role_ctx = &x;
    f->o.logger = NULL;
    bp = wc_creds_static_new(&base, &f->o);
    acc = wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/r", NULL, NULL, &f->o);
    assert_non_null(acc);
    for (int i = 0; i < 4; i++) {
        args[i] = (struct s_lru_thread){acc, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_lru_thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].ok, 3000);
    }
    assert_int_equal(wc_creds_accounts_count(acc), WC_CREDS_ACCOUNTS_MAX);
    assert_int_equal(x.real_calls, 1);
    wc_creds_accounts_destroy(acc);
    wc_creds_provider_destroy(bp);
}

static void test_accounts_fixed_template(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials base = {0}, c = {0};
    struct wc_creds_provider *bp;
    struct wc_creds_accounts *acc;

    base.access_key_id = (char *)"AKIABASEEXAMPLE12345";
    base.secret_access_key = (char *)"baseSECRET";
    bp = wc_creds_static_new(&base, &f->o);
    /* No placeholder: a fixed ARN, which serves only its own account. */
    acc = wc_creds_accounts_new(bp, "arn:aws:iam::111111111111:role/fixed", NULL, "audit-session",
                                &f->o);
    assert_non_null(acc);
    assert_int_equal(wc_creds_accounts_get(acc, "111111111111", &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_string_equal(f->assume_role[0], "arn:aws:iam::111111111111:role/fixed");
    assert_string_equal(f->assume_session[0], "audit-session");
    assert_null(f->assume_ext[0]);
    assert_int_equal(wc_creds_accounts_get(acc, "222222222222", &c), WC_ERR_CONFIG);
    assert_int_equal(f->assume_calls, 1);
    wc_creds_accounts_destroy(acc);
    /* Templates rejected up front. */
    assert_null(wc_creds_accounts_new(bp, "not-an-arn", NULL, NULL, &f->o));
    assert_null(wc_creds_accounts_new(bp, "arn:aws:iam::role/no-account", NULL, NULL, &f->o));
    assert_null(wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/r", "x", NULL, &f->o));
    assert_null(wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/r", NULL, "bad name",
                                      &f->o));
    f->o.assume_role_fn = NULL;
    assert_null(wc_creds_accounts_new(bp, "arn:aws:iam::{account_id}:role/r", NULL, NULL, &f->o));
    wc_creds_accounts_destroy(NULL);
    wc_creds_provider_destroy(bp);
}

/* --- no secrets in the log -------------------------------------------------- */

static void test_no_secrets_logged(void **state)
{
    static const char *const secrets[] = {
        "wJalrXUtnFEMI", "IQoJb3JpZ2luX2VjEXAMPLE", IMDS_SESSION, "webSECRETexample",
        "webTOKENexample", "tokenONE", "literalAUTHtoken", "roleSECRET", "roleTOKEN",
        "defaultSECRETexample", "auditSECRETexample", "baseSECRET", "envSECRET",
        "ASIA3EXAMPLEKEYID0999", "AKIDDEFAULTEXAMPLE01", /* whole key ids neither */
    };
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_creds_provider *p;
    struct wc_creds_accounts *acc;

    /* Drive every source, including failures and refreshes. */
    s_serve_imds(f);
    assert_int_equal(s_get_once(wc_creds_imds_new, f, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    s_setenv(f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_URL);
    s_setenv(f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "literalAUTHtoken");
    fake_http_add(f->http, "GET", EKS_URL, 403, "{\"message\":\"denied\"}");
    assert_int_equal(s_get_once(wc_creds_ecs_new, f, &c), WC_ERR_AUTH);
    s_write_tmp(f, "eyJhbGciOiJSUzI1NiJ9.tokenONE.sig");
    s_setenv(f, "AWS_WEB_IDENTITY_TOKEN_FILE", f->tmp_path);
    s_setenv(f, "AWS_ROLE_ARN", WI_ROLE);
    fake_http_add(f->http, "POST", STS_URL, 200, s_wi_response);
    assert_int_equal(s_get_once(wc_creds_web_identity_new, f, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    s_use_fixture_files(f);
    f->o.profile = "chained";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    f->o.profile = "half";
    assert_int_equal(s_get_once(wc_creds_profile_new, f, &c), WC_ERR_AUTH);
    f->o.profile = NULL;
    s_setenv(f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000");
    s_setenv(f, "AWS_SECRET_ACCESS_KEY", "envSECRET");
    p = wc_creds_chain_new(&f->o);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    acc = wc_creds_accounts_new(p, "arn:aws:iam::{account_id}:role/r", NULL, NULL, &f->o);
    assert_int_equal(wc_creds_accounts_get(acc, "111111111111", &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    wc_creds_accounts_destroy(acc);
    wc_creds_provider_destroy(p);

    assert_non_null(f->log.ptr);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (strstr(f->log.ptr, secrets[i]))
            fail_msg("secret %s in the log:\n%s", secrets[i], f->log.ptr);
    /* The log does say where credentials came from, with a key id tail. */
    assert_true(s_log_has(f, "from imds (key ...0999)"));
    assert_true(s_log_has(f, "web-identity"));
    assert_true(s_log_has(f, "shared-file:chained"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copy_and_clean_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_home_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_reference_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_web_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecs_relative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecs_full_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds_v2_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds_doc_json_and_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds_401_refetches_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds_v1_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_remembers_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_margin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_failure_keeps_unexpired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts_bounded_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts_lru_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts_fixed_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_secrets_logged, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
