/* Unit tests for the rest of the AWS SDKs' chain in aws/credentials:
 * credential_process profiles (the real tests/data/credentials/process.sh
 * is run), IAM Identity Center profiles (the token cache in a temporary
 * HOME, the portal and OIDC through the fake transport) and the profile's
 * region. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "cmd/stack.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "tests/support/fake_http.h"

/* botocore's SSOTokenLoader cache keys: sha1("my-sso") (the sso-session
 * name) and sha1 of the legacy profile's start URL. */
#define KEY_SESSION "0ad374308c5a4e22f723adf10145eafad7c4031c"
#define KEY_LEGACY "79e435d7a515078e81c9dffc35f38d5687ebd3a7"
#define PORTAL "https://portal.sso.eu-west-1.amazonaws.com/federation/credentials"
#define PORTAL_DEV PORTAL "?account_id=111122223333&role_name=ReadOnly"
#define OIDC "https://oidc.eu-west-1.amazonaws.com/token"
#define TOKEN "aoaAAAAAGExampleSsoAccessToken0001"
#define ROLE_JSON                                                                             \
    "{\"roleCredentials\":{\"accessKeyId\":\"ASIASSOEXAMPLE000001\",\"secretAccessKey\":"     \
    "\"ssoSECRETssoSECRETssoSECRETssoSECRET0001\",\"sessionToken\":\"ssoTOKEN0001\","         \
    "\"expiration\":1714568400000}}" /* 2024-05-01T13:00:00Z */

#define ENV_MAX 16

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
    char home[64];
    char script[1024];
    char path[1200];
    int assume_calls;
    char assume_source[64];
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
    assert_true(f->env_n < ENV_MAX);
    f->env_names[f->env_n] = name;
    f->env_values[f->env_n++] = value;
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

    (void)role_arn;
    (void)session_name;
    (void)external_id;
    f->assume_calls++;
    snprintf(f->assume_source, sizeof(f->assume_source), "%s", source->access_key_id);
    out->access_key_id = wc_strdup("ASIAROLEFROMSOURCE01");
    out->secret_access_key = wc_strdup("roleSECRETroleSECRETroleSECRETroleSECRET");
    out->session_token = wc_strdup("roleTOKEN");
    out->expiration_ms = f->now + 3600 * 1000;
    return WC_OK;
}

static int64_t s_iso(const char *s)
{
    int64_t ms = 0;

    assert_int_equal(wc_time_parse_iso8601(wc_str_from_cstr(s), &ms), WC_OK);
    return ms;
}

static void s_mkdir(const char *path)
{
    assert_true(mkdir(path, 0700) == 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct wc_logger_options lo = {0};
    char dir[1200];

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
    snprintf(f->home, sizeof(f->home), "/tmp/wc-creds-home-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    snprintf(dir, sizeof(dir), "%s/.aws", f->home);
    s_mkdir(dir);
    snprintf(dir, sizeof(dir), "%s/.aws/sso", f->home);
    s_mkdir(dir);
    snprintf(dir, sizeof(dir), "%s/.aws/sso/cache", f->home);
    s_mkdir(dir);
    wc_test_data_path("credentials/process.sh", f->script, sizeof(f->script));
    f->o.http = fake_http_transport(f->http);
    f->o.clock = &f->clock;
    f->o.getenv_fn = s_getenv;
    f->o.getenv_ctx = f;
    f->o.home_dir = f->home;
    f->o.assume_role_fn = s_fake_assume;
    f->o.assume_role_ctx = f;
    f->o.logger = f->logger;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[1200];

    /* the directory is ours, made by mkdtemp above */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
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

/* Write HOME/rel. */
static const char *s_write(struct fx *f, const char *rel, const char *content)
{
    FILE *fp;

    snprintf(f->path, sizeof(f->path), "%s/%s", f->home, rel);
    fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
    return f->path;
}

static void s_read(struct fx *f, const char *rel, struct wc_buf *out)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->home, rel);
    wc_test_read_file(f->path, out);
}

static void s_config(struct fx *f, const char *text)
{
    s_write(f, ".aws/config", text);
}

/* A profile whose credential_process runs process.sh with args. */
static void s_process_profile(struct fx *f, const char *profile, const char *args)
{
    char text[3000];

    snprintf(text, sizeof(text), "[profile %s]\ncredential_process = '%s' %s\n", profile,
             f->script, args);
    s_config(f, text);
}

static int s_get(struct fx *f, const char *profile, struct wc_aws_credentials *out)
{
    struct wc_creds_provider *p;
    int rc;

    f->o.profile = profile;
    p = wc_creds_profile_new(&f->o);
    assert_non_null(p);
    rc = wc_creds_provider_get(p, out);
    wc_creds_provider_destroy(p);
    return rc;
}

/* --- splitting ---------------------------------------------------------- */

static void s_expect_split(const char *cmd, const char *joined)
{
    struct wc_buf b = WC_BUF_INIT;
    char **argv = NULL;
    size_t argc = 0;

    assert_int_equal(wc_creds_split_command(cmd, &argv, &argc), WC_OK);
    for (size_t i = 0; i < argc; i++) {
        assert_non_null(argv[i]);
        assert_int_equal(wc_buf_appendf(&b, "%s<%s>", i ? " " : "", argv[i]), WC_OK);
    }
    assert_null(argv[argc]);
    assert_string_equal(b.ptr, joined);
    wc_buf_clean_up(&b);
    wc_creds_argv_free(argv);
}

static void test_split_command(void **state)
{
    char **argv = (char **)1;
    size_t argc = 9;

    (void)state;
    /* what Python's shlex.split (the AWS CLI's) makes of them */
    s_expect_split("/usr/bin/helper --profile prod", "</usr/bin/helper> <--profile> <prod>");
    s_expect_split("  a \t b\n c  ", "<a> <b> <c>");
    s_expect_split("'/opt/my tools/get' \"x y\"", "</opt/my tools/get> <x y>");
    s_expect_split("a\\ b c\\\"d", "<a b> <c\"d>");
    s_expect_split("\"q\\\"uote\" \"back\\\\slash\" \"keep\\$dollar\"",
                   "<q\"uote> <back\\slash> <keep\\$dollar>");
    s_expect_split("'it''s' '' x", "<its> <> <x>");
    s_expect_split("a'b'\"c\"d", "<abcd>");
    s_expect_split("$HOME/bin/x ~/y `z` *", "<$HOME/bin/x> <~/y> <`z`> <*>"); /* no expansion */
    s_expect_split("'single \\ keeps' #not-a-comment", "<single \\ keeps> <#not-a-comment>");
    assert_int_equal(wc_creds_split_command("'open", &argv, &argc), WC_ERR_PARSE);
    assert_null(argv);
    assert_int_equal(argc, 0);
    assert_int_equal(wc_creds_split_command("a \"open", &argv, &argc), WC_ERR_PARSE);
    assert_int_equal(wc_creds_split_command("trailing\\", &argv, &argc), WC_ERR_PARSE);
    assert_int_equal(wc_creds_split_command("", &argv, &argc), WC_ERR_PARSE);
    assert_int_equal(wc_creds_split_command(" \t ", &argv, &argc), WC_ERR_PARSE);
    wc_creds_argv_free(NULL);
}

/* --- credential_process ------------------------------------------------- */

static void test_process_static(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_process_profile(f, "proc", "static AKIAPROCESSEXAMPLE01 procSECRETprocSECRET");
    assert_int_equal(s_get(f, "proc", &c), WC_OK);
    assert_string_equal(c.access_key_id, "AKIAPROCESSEXAMPLE01");
    assert_string_equal(c.secret_access_key, "procSECRETprocSECRET");
    assert_null(c.session_token);
    assert_int_equal(c.expiration_ms, 0); /* no Expiration: does not expire */
    assert_string_equal(c.source, "credential-process:proc");
    assert_true(s_log_has(f, "not expiring"));
    wc_aws_credentials_clean_up(&c);
}

static void test_process_refresh(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_creds_provider *p;
    struct wc_buf runs = WC_BUF_INIT;
    char args[400];

    s_write(f, "runs", "");
    snprintf(args, sizeof(args), "count '%s/runs' ASIAPROCESSEXAMPLE01 procSECRET procTOKEN "
             "2024-05-01T13:00:00Z", f->home);
    s_process_profile(f, "proc", args);
    f->o.profile = "proc";
    p = wc_creds_profile_new(&f->o);
    assert_non_null(p);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.session_token, "procTOKEN");
    assert_int_equal(c.expiration_ms, s_iso("2024-05-01T13:00:00Z"));
    wc_aws_credentials_clean_up(&c);
    f->now = s_iso("2024-05-01T12:50:00Z"); /* 10 min left: cached */
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    s_read(f, "runs", &runs);
    assert_string_equal(runs.ptr, "run\n");
    wc_buf_clean_up(&runs);
    f->now = s_iso("2024-05-01T12:56:00Z"); /* within the 5 min margin: run again */
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    s_read(f, "runs", &runs);
    assert_string_equal(runs.ptr, "run\nrun\n");
    wc_buf_clean_up(&runs);
    wc_creds_provider_destroy(p);
}

static void test_process_args(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_process_profile(f, "proc", "args 'two words' \"it's\" back\\ slashed $HOME");
    assert_int_equal(s_get(f, "proc", &c), WC_OK);
    assert_string_equal(c.access_key_id, "two words|it's|back slashed|$HOME");
    wc_aws_credentials_clean_up(&c);
}

static void test_process_errors(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_process_profile(f, "proc", "fail 3 'helper says: no session'");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "credential_process"));
    assert_true(s_log_has(f, "exited with status 3"));
    assert_true(s_log_has(f, "credential_process stderr: helper says: no session"));

    s_process_profile(f, "proc", "garbage");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "did not print a JSON object"));

    s_process_profile(f, "proc", "version 2 AKIDEXAMPLE s");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "Version 2; only Version 1 is supported"));

    s_process_profile(f, "proc", "version '\"1\"' AKIDEXAMPLE s");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "no numeric Version"));

    s_process_profile(f, "proc", "nokey");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "lacks AccessKeyId"));

    s_process_profile(f, "proc", "temp AKIDEXAMPLE s t yesterday");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "Expiration is not an ISO 8601 time"));

    s_config(f, "[profile proc]\ncredential_process = /nonexistent/whochanged-helper --x\n");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "cannot run credential_process /nonexistent/whochanged-helper"));

    /* a harness feeding untrusted files turns commands off */
    f->o.no_credential_process = true;
    s_process_profile(f, "proc", "static AKIDEXAMPLE s");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_UNSUPPORTED);
    assert_true(s_log_has(f, "profile proc: credential_process is disabled here"));
    f->o.no_credential_process = false;

    s_config(f, "[profile proc]\ncredential_process = helper 'unterminated\n");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "cannot be split into words"));
    assert_null(c.access_key_id);
}

static void test_process_timeout_and_cap(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct timespec t0, t1;

    f->o.process_timeout_ms = 300;
    s_process_profile(f, "proc", "sleep 20");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5); /* killed, not waited for */
    assert_true(s_log_has(f, "did not finish within 300 ms; killed"));

    f->o.process_timeout_ms = 20000;
    s_process_profile(f, "proc", "flood");
    assert_int_equal(s_get(f, "proc", &c), WC_ERR_TOO_LARGE);
    assert_true(s_log_has(f, "printed more than 65536 bytes; killed"));
}

static void test_process_stderr_masked(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_process_profile(f, "proc", "chatty ASIACHATTYEXAMPLE001 chattySECRETchattySECRET "
                      "chattyTOKENchattyTOKEN 2024-05-01T18:00:00Z");
    assert_int_equal(s_get(f, "proc", &c), WC_OK);
    assert_true(s_log_has(f, "credential_process stderr: issued secret"));
    assert_false(s_log_has(f, "chattySECRET"));
    assert_false(s_log_has(f, "chattyTOKEN"));
    assert_false(s_log_has(f, "'/")); /* the command's arguments are not logged */
    wc_aws_credentials_clean_up(&c);
}

static void test_process_precedence(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    char text[4000];

    /* static keys win over credential_process in one profile (the SDKs'
     * order); a role's source_profile may be a credential_process one */
    snprintf(text, sizeof(text),
             "[profile both]\naws_access_key_id = AKIASTATICKEYS000001\n"
             "aws_secret_access_key = staticSECRET\n"
             "credential_process = '%s' static AKIAPROCESS000000001 p\n"
             "[profile proc]\ncredential_process = '%s' static AKIAPROCESS000000002 p\n"
             "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/reader\n"
             "source_profile = proc\n",
             f->script, f->script);
    s_config(f, text);
    assert_int_equal(s_get(f, "both", &c), WC_OK);
    assert_string_equal(c.access_key_id, "AKIASTATICKEYS000001");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(s_get(f, "role", &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIAROLEFROMSOURCE01");
    assert_string_equal(c.source, "shared-file:role");
    assert_string_equal(f->assume_source, "AKIAPROCESS000000002");
    wc_aws_credentials_clean_up(&c);
}

/* --- IAM Identity Center ------------------------------------------------ */

#define SSO_CONFIG                                                                            \
    "[profile dev]\nsso_session = my-sso\nsso_account_id = 111122223333\n"                    \
    "sso_role_name = ReadOnly\nregion = eu-central-1\n"                                       \
    "[sso-session my-sso]\nsso_start_url = https://example.awsapps.com/start\n"               \
    "sso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n"                  \
    "[profile legacy]\nsso_start_url = https://legacy.awsapps.com/start\n"                    \
    "sso_region = eu-west-1\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\n"

static void s_token(struct fx *f, const char *key, const char *token, const char *expires,
                    const char *extra)
{
    char rel[128], text[2000];

    snprintf(rel, sizeof(rel), ".aws/sso/cache/%s.json", key);
    snprintf(text, sizeof(text),
             "{\"startUrl\": \"https://example.awsapps.com/start\", \"region\": \"eu-west-1\", "
             "\"accessToken\": \"%s\", \"expiresAt\": \"%s\"%s}",
             token, expires, extra ? extra : "");
    s_write(f, rel, text);
}

static void test_sso_session(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    const struct fake_http_req *r;

    s_config(f, SSO_CONFIG);
    s_token(f, KEY_SESSION, TOKEN, "2024-05-01T20:00:00Z", NULL);
    fake_http_add(f->http, "GET", PORTAL_DEV, 200, ROLE_JSON);
    assert_int_equal(s_get(f, "dev", &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIASSOEXAMPLE000001");
    assert_string_equal(c.secret_access_key, "ssoSECRETssoSECRETssoSECRETssoSECRET0001");
    assert_string_equal(c.session_token, "ssoTOKEN0001");
    assert_int_equal(c.expiration_ms, s_iso("2024-05-01T13:00:00Z"));
    assert_string_equal(c.source, "sso:dev");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    r = fake_http_request(f->http, 0);
    assert_string_equal(r->method, "GET");
    assert_string_equal(fake_http_req_header(r, "x-amz-sso_bearer_token"), TOKEN);
    assert_null(fake_http_req_header(r, "Authorization")); /* not SigV4-signed */
    assert_false(r->metadata_credentials);
    assert_false(s_log_has(f, TOKEN));
    assert_false(s_log_has(f, "ssoSECRET"));
}

static void test_sso_legacy_and_cache(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_creds_provider *p;

    s_config(f, SSO_CONFIG);
    /* older AWS CLI v2 releases wrote expiresAt with "UTC" */
    s_token(f, KEY_LEGACY, "legacyTOKEN0000000001", "2024-05-01T20:00:00UTC", NULL);
    fake_http_add(f->http, "GET", PORTAL_DEV, 200, ROLE_JSON);
    f->o.profile = "legacy";
    p = wc_creds_profile_new(&f->o);
    assert_non_null(p);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.source, "sso:legacy");
    wc_aws_credentials_clean_up(&c);
    assert_string_equal(fake_http_req_header(fake_http_request(f->http, 0),
                                             "x-amz-sso_bearer_token"),
                        "legacyTOKEN0000000001");
    /* the role credentials are cached until 5 min before they expire */
    f->now = s_iso("2024-05-01T12:54:00Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 1);
    f->now = s_iso("2024-05-01T12:56:00Z");
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    wc_creds_provider_destroy(p);
}

static void test_sso_token_missing_or_expired(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_config(f, SSO_CONFIG);
    fake_http_add(f->http, "GET", PORTAL_DEV, 200, ROLE_JSON);
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "SSO token for profile dev is missing: run aws sso login "
                             "--profile dev"));
    /* expired, and nothing to refresh it with: no request at all */
    s_token(f, KEY_SESSION, TOKEN, "2024-05-01T11:59:59Z", NULL);
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "SSO token for profile dev is expired: run aws sso login "
                             "--profile dev"));
    s_token(f, KEY_LEGACY, TOKEN, "2024-05-01T11:00:00Z", NULL);
    assert_int_equal(s_get(f, "legacy", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "SSO token for profile legacy is expired: run aws sso login "
                             "--profile legacy"));
    s_token(f, KEY_LEGACY, TOKEN, "not a time", NULL);
    assert_int_equal(s_get(f, "legacy", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "no usable accessToken and expiresAt"));
    assert_int_equal(fake_http_n_requests(f->http), 0);
    assert_null(c.access_key_id);
}

static void test_sso_portal_errors(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_config(f, SSO_CONFIG);
    s_token(f, KEY_SESSION, TOKEN, "2024-05-01T20:00:00Z", NULL);
    fake_http_push(f->http, 401, "x-amzn-ErrorType: UnauthorizedException:http://internal/",
                   "{\"message\":\"Session token not found or invalid\"}");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "SSO token for profile dev was refused by the portal "
                             "(UnauthorizedException: Session token not found or invalid): "
                             "run aws sso login --profile dev"));
    fake_http_push(f->http, 403, NULL,
                   "{\"__type\":\"com.amazonaws.switchboard.portal#ForbiddenException\","
                   "\"message\":\"No access\"}");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "SSO GetRoleCredentials for role ReadOnly in account "
                             "111122223333 failed: ForbiddenException: No access"));
    fake_http_push(f->http, 403, NULL, "{\"__type\":\"UnauthorizedException\","
                   "\"message\":\"Session token expired\"}");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "(UnauthorizedException: Session token expired): run aws sso "
                             "login --profile dev"));
    fake_http_push(f->http, 429, NULL, "{\"message\":\"slow down\"}");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_THROTTLED);
    fake_http_push(f->http, 500, NULL, "oops");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_SERVICE);
    fake_http_push(f->http, 404, NULL, "{\"message\":\"No access\"}");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "SSO GetRoleCredentials for role ReadOnly in account "
                             "111122223333 failed: HTTP 404: No access"));
    fake_http_push(f->http, 200, NULL, "{\"roleCredentials\":{\"accessKeyId\":\"A\"}}");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_PARSE);
    assert_true(s_log_has(f, "malformed SSO GetRoleCredentials answer"));
    fake_http_add_error(f->http, "GET", PORTAL_DEV, WC_ERR_TIMEOUT);
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_TIMEOUT);
    assert_null(c.access_key_id);
}

static void test_sso_endpoint_override(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_config(f, "[profile dev]\nsso_session = my-sso\nsso_account_id = 111122223333\n"
                "sso_role_name = Admin+Ops@x\n"
                "[sso-session my-sso]\nsso_start_url = https://example.awsapps.com/start\n"
                "sso_region = eu-west-1\n");
    s_token(f, KEY_SESSION, TOKEN, "2024-05-01T20:00:00Z", NULL);
    s_setenv(f, "AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:4599/");
    fake_http_add(f->http, "GET",
                  "http://127.0.0.1:4599/federation/credentials?account_id=111122223333"
                  "&role_name=Admin%2BOps%40x",
                  200, ROLE_JSON);
    assert_int_equal(s_get(f, "dev", &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    /* the global AWS_ENDPOINT_URL applies too, but not when configured
     * endpoints are to be ignored */
    f->env_n = 0;
    s_setenv(f, "AWS_ENDPOINT_URL", "http://127.0.0.1:4599");
    assert_int_equal(s_get(f, "dev", &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    s_setenv(f, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_HTTP); /* the real portal: nothing here */
    assert_string_equal(fake_http_request(f->http, 2)->url,
                        PORTAL "?account_id=111122223333&role_name=Admin%2BOps%40x");
    f->env_n = 0;
    s_setenv(f, "AWS_ENDPOINT_URL_SSO", "ftp://nope");
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_CONFIG);
}

#define REFRESHABLE                                                                           \
    ", \"refreshToken\": \"refreshTOKENold\", \"clientId\": \"clientIDexample\", "            \
    "\"clientSecret\": \"clientSECRETexample\", "                                             \
    "\"registrationExpiresAt\": \"2024-08-01T00:00:00Z\""

static void test_sso_token_refresh(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    const struct fake_http_req *r;
    struct wc_buf cache = WC_BUF_INIT;

    s_config(f, SSO_CONFIG);
    /* 10 minutes left: within the 15 minute window, refreshed first */
    s_token(f, KEY_SESSION, "oldACCESStoken", "2024-05-01T12:10:00Z", REFRESHABLE);
    fake_http_add(f->http, "POST", OIDC, 200,
                  "{\"accessToken\":\"newACCESStoken\",\"tokenType\":\"Bearer\","
                  "\"expiresIn\":28800,\"refreshToken\":\"refreshTOKENnew\"}");
    fake_http_add(f->http, "GET", PORTAL_DEV, 200, ROLE_JSON);
    assert_int_equal(s_get(f, "dev", &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIASSOEXAMPLE000001");
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_n_requests(f->http), 2);
    r = fake_http_request(f->http, 0);
    assert_string_equal(r->url, OIDC);
    assert_non_null(strstr(r->body, "\"grantType\":\"refresh_token\""));
    assert_non_null(strstr(r->body, "\"refreshToken\":\"refreshTOKENold\""));
    assert_non_null(strstr(r->body, "\"clientId\":\"clientIDexample\""));
    assert_non_null(strstr(r->body, "\"clientSecret\":\"clientSECRETexample\""));
    assert_null(fake_http_req_header(r, "Authorization"));
    assert_string_equal(fake_http_req_header(fake_http_request(f->http, 1),
                                             "x-amz-sso_bearer_token"),
                        "newACCESStoken");
    /* the cache is rewritten for the CLI and the next start */
    s_read(f, ".aws/sso/cache/" KEY_SESSION ".json", &cache);
    assert_non_null(strstr(cache.ptr, "\"accessToken\":\"newACCESStoken\""));
    assert_non_null(strstr(cache.ptr, "\"expiresAt\":\"2024-05-01T20:00:00Z\""));
    assert_non_null(strstr(cache.ptr, "\"refreshToken\":\"refreshTOKENnew\""));
    assert_non_null(strstr(cache.ptr, "\"startUrl\":\"https://example.awsapps.com/start\""));
    wc_buf_clean_up(&cache);
    assert_true(s_log_has(f, "SSO token refreshed, valid until 2024-05-01T20:00:00Z"));
    assert_false(s_log_has(f, "refreshTOKEN"));
    assert_false(s_log_has(f, "clientSECRET"));
    assert_false(s_log_has(f, "ACCESStoken"));
}

static void test_sso_token_refresh_fails(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_config(f, SSO_CONFIG);
    s_setenv(f, "AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:4598");
    /* still valid for 10 min: the refresh fails, the token is used */
    s_token(f, KEY_SESSION, "oldACCESStoken", "2024-05-01T12:10:00Z", REFRESHABLE);
    fake_http_add(f->http, "POST", "http://127.0.0.1:4598/token", 400,
                  "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token\"}");
    fake_http_add(f->http, "GET", PORTAL_DEV, 200, ROLE_JSON);
    assert_int_equal(s_get(f, "dev", &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_true(s_log_has(f, "refreshing the SSO token failed: invalid_grant: Invalid refresh "
                             "token"));
    assert_int_equal(fake_http_count(f->http, "GET", PORTAL_DEV), 1);
    /* expired: the refresh fails, so does the profile, with the hint */
    s_token(f, KEY_SESSION, "oldACCESStoken", "2024-05-01T11:10:00Z", REFRESHABLE);
    assert_int_equal(s_get(f, "dev", &c), WC_ERR_AUTH);
    assert_true(s_log_has(f, "SSO token for profile dev is expired: run aws sso login"));
    assert_int_equal(fake_http_count(f->http, "GET", PORTAL_DEV), 1);
    /* the legacy form is never refreshed (as the SDKs) */
    s_token(f, KEY_LEGACY, "oldACCESStoken", "2024-05-01T12:10:00Z", REFRESHABLE);
    assert_int_equal(s_get(f, "legacy", &c), WC_OK);
    wc_aws_credentials_clean_up(&c);
    assert_int_equal(fake_http_count(f->http, "POST", "http://127.0.0.1:4598/token"), 2);
}

static void test_sso_config_errors(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_config(f, "[profile a]\nsso_session = nowhere\nsso_account_id = 111122223333\n"
                "sso_role_name = R\n");
    assert_int_equal(s_get(f, "a", &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "sso_session nowhere has no [sso-session nowhere] section"));
    s_config(f, "[profile a]\nsso_session = s\nsso_account_id = 111122223333\n"
                "sso_role_name = R\n[sso-session s]\nsso_start_url = https://x.awsapps.com/start\n");
    assert_int_equal(s_get(f, "a", &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "profile a is configured for IAM Identity Center (SSO) but lacks: "
                             "sso_region (in the profile or its sso-session)"));
    s_config(f, "[profile a]\nsso_session = s\nsso_account_id = 111122223333\n"
                "sso_role_name = R\nsso_region = us-east-1\n"
                "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\n"
                "sso_region = eu-west-1\n");
    assert_int_equal(s_get(f, "a", &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "sso_region differs between the profile and [sso-session s]"));
    s_config(f, "[profile a]\nsso_role_name = R\nsso_start_url = https://x.awsapps.com/start\n");
    assert_int_equal(s_get(f, "a", &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "lacks: sso_account_id sso_region"));
    s_config(f, "[profile a]\nsso_account_id = 12345\nsso_role_name = R\n"
                "sso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\n");
    assert_int_equal(s_get(f, "a", &c), WC_ERR_CONFIG);
    assert_true(s_log_has(f, "invalid sso_account_id"));
    assert_int_equal(fake_http_n_requests(f->http), 0);
}

static void test_sso_as_source_profile(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};

    s_config(f, SSO_CONFIG "[profile reader]\nrole_arn = arn:aws:iam::210987654321:role/r\n"
                           "source_profile = dev\n");
    s_token(f, KEY_SESSION, TOKEN, "2024-05-01T20:00:00Z", NULL);
    fake_http_add(f->http, "GET", PORTAL_DEV, 200, ROLE_JSON);
    assert_int_equal(s_get(f, "reader", &c), WC_OK);
    assert_string_equal(c.access_key_id, "ASIAROLEFROMSOURCE01");
    assert_string_equal(f->assume_source, "ASIASSOEXAMPLE000001");
    wc_aws_credentials_clean_up(&c);
}

static void test_sso_in_chain(void **state)
{
    struct fx *f = *state;
    struct wc_aws_credentials c = {0};
    struct wc_creds_provider *p;

    s_config(f, SSO_CONFIG);
    s_token(f, KEY_SESSION, TOKEN, "2024-05-01T20:00:00Z", NULL);
    fake_http_add(f->http, "GET", PORTAL_DEV, 200, ROLE_JSON);
    s_setenv(f, "AWS_PROFILE", "dev");
    s_setenv(f, "AWS_EC2_METADATA_DISABLED", "true");
    p = wc_creds_chain_new(&f->o);
    assert_non_null(p);
    assert_int_equal(wc_creds_provider_get(p, &c), WC_OK);
    assert_string_equal(c.source, "sso:dev");
    wc_aws_credentials_clean_up(&c);
    wc_creds_provider_destroy(p);
}

/* --- the profile's region ----------------------------------------------- */

static void test_profile_region(void **state)
{
    struct fx *f = *state;
    char *region = NULL;

    assert_int_equal(wc_creds_profile_region(&f->o, &region), WC_OK);
    assert_null(region); /* no files */
    s_config(f, SSO_CONFIG "[default]\nregion = ap-southeast-2\n");
    assert_int_equal(wc_creds_profile_region(&f->o, &region), WC_OK);
    assert_string_equal(region, "ap-southeast-2");
    free(region);
    s_setenv(f, "AWS_PROFILE", "dev");
    assert_int_equal(wc_creds_profile_region(&f->o, &region), WC_OK);
    assert_string_equal(region, "eu-central-1");
    free(region);
    f->o.profile = "legacy"; /* the option wins over AWS_PROFILE; legacy sets none */
    assert_int_equal(wc_creds_profile_region(&f->o, &region), WC_OK);
    assert_null(region);
    s_config(f, "[profile broken\n");
    assert_int_equal(wc_creds_profile_region(&f->o, &region), WC_ERR_PARSE);
    assert_null(region);
    assert_int_equal(wc_creds_profile_region(NULL, NULL), WC_ERR_INVALID);
}

/* The worker's stack takes the profile's region last: after the config's
 * (its key, AWS_REGION) and what the data says (fallback_region). It reads
 * the process environment, set here for the test and restored. */
static void test_stack_region(void **state)
{
    static const char *const vars[] = {"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                                       "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
                                       "AWS_DEFAULT_REGION"};
    struct fx *f = *state;
    char *saved[6] = {0}, config[1200], err[256] = {0};
    struct wc_config *cfg = NULL;
    struct wc_stack st;

    for (size_t i = 0; i < 6; i++) {
        const char *v = getenv(vars[i]);

        saved[i] = v ? wc_strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    snprintf(config, sizeof(config), "%s", s_write(f, ".aws/config", SSO_CONFIG));
    setenv("AWS_CONFIG_FILE", config, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", s_write(f, "credentials", ""), 1);
    setenv("AWS_PROFILE", "dev", 1);
    assert_int_equal(wc_config_load_defaults(&cfg), WC_OK);
    assert_int_equal(wc_stack_init(&st, cfg, NULL, NULL, err, sizeof(err)), WC_OK);
    assert_string_equal(st.region, "eu-central-1"); /* the profile's */
    wc_stack_clean_up(&st);
    assert_int_equal(wc_stack_init(&st, cfg, "us-west-2", NULL, err, sizeof(err)), WC_OK);
    assert_string_equal(st.region, "us-west-2"); /* the queue URL's or the change's */
    wc_stack_clean_up(&st);
    wc_config_destroy(cfg);
    cfg = NULL;
    setenv("AWS_REGION", "ap-northeast-1", 1);
    assert_int_equal(wc_config_load_defaults(&cfg), WC_OK);
    assert_int_equal(wc_stack_init(&st, cfg, "us-west-2", NULL, err, sizeof(err)), WC_OK);
    assert_string_equal(st.region, "ap-northeast-1"); /* AWS_REGION first */
    wc_stack_clean_up(&st);
    wc_config_destroy(cfg);
    cfg = NULL;
    unsetenv("AWS_REGION");
    setenv("AWS_PROFILE", "legacy", 1); /* sets no region */
    assert_int_equal(wc_config_load_defaults(&cfg), WC_OK);
    assert_int_equal(wc_stack_init(&st, cfg, NULL, NULL, err, sizeof(err)), WC_ERR_CONFIG);
    assert_non_null(strstr(err, "region in the AWS profile"));
    wc_config_destroy(cfg);
    for (size_t i = 0; i < 6; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_command),
        cmocka_unit_test_setup_teardown(test_process_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_timeout_and_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_stderr_masked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_legacy_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_token_missing_or_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_portal_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_endpoint_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_token_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_token_refresh_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_as_source_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sso_in_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_region, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
