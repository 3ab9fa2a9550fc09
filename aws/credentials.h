/* credentials.h - the AWS credentials chain.
 *
 * A provider hands out the current credentials, caching temporary ones and
 * refreshing them refresh_margin_ms before they expire. If a refresh fails
 * while the cached credentials have not yet expired, the cached ones are
 * kept (and a warning logged). Providers are thread-safe.
 *
 * Sources (the AWS SDKs' default order, as wc_creds_chain_new uses them):
 *   1. environment   AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]
 *   2. web identity  AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]
 *                    -> unsigned STS AssumeRoleWithWebIdentity
 *   3. shared files  ~/.aws/credentials, ~/.aws/config, AWS_PROFILE; in a profile,
 *                    as the SDKs: role_arn with source_profile / credential_source
 *                    via assume_role_fn (or web_identity_token_file); else IAM
 *                    Identity Center (sso_account_id + sso_role_name, with
 *                    sso_session -> [sso-session] or the legacy sso_start_url +
 *                    sso_region): the token `aws sso login` cached in
 *                    ~/.aws/sso/cache, then the portal's GetRoleCredentials
 *                    (AWS_ENDPOINT_URL_SSO; refresh via OIDC CreateToken,
 *                    AWS_ENDPOINT_URL_SSO_OIDC); else static keys; else
 *                    credential_process (run without a shell, JSON on stdout,
 *                    process_timeout_ms, WC_CREDS_PROCESS_MAX_OUTPUT)
 *   4. container     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI (ECS, EKS Pod Identity)
 *   5. EC2 IMDSv2    (IMDSv1 only if imds_v1_fallback; AWS_EC2_METADATA_DISABLED=true skips)
 *
 * Secrets are wiped (OPENSSL_cleanse) when freed and never logged: log lines
 * name the source and at most the last 4 characters of the access key id.
 */
#ifndef WC_AWS_CREDENTIALS_H
#define WC_AWS_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/http.h"
#include "core/log.h"

struct wc_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;   /* NULL for long-term keys */
    int64_t expiration_ms; /* 0 = does not expire */
    char *source;          /* "environment", "web-identity", "shared-file:<profile>",
                            * "sso:<profile>", "credential-process:<profile>",
                            * "ecs", "imds", "assume-role", "static"; no secrets */
};

/* Deep copy; dst is overwritten (clean it up first if it owned anything). */
int wc_aws_credentials_copy(struct wc_aws_credentials *dst, const struct wc_aws_credentials *src);
/* Wipe and free the strings; leaves *c zeroed. NULL-safe. */
void wc_aws_credentials_clean_up(struct wc_aws_credentials *c);
/* true when key id and secret are both non-empty. */
bool wc_aws_credentials_valid(const struct wc_aws_credentials *c);

typedef const char *wc_creds_getenv_fn(void *ctx, const char *name);
typedef int wc_creds_assume_role_fn(void *ctx, const struct wc_aws_credentials *source,
                                    const char *role_arn, const char *session_name,
                                    const char *external_id, struct wc_aws_credentials *out);

#define WC_CREDS_DEFAULT_REFRESH_MARGIN_MS ((int64_t)5 * 60 * 1000)
#define WC_CREDS_DEFAULT_IMDS_ENDPOINT "http://169.254.169.254"
#define WC_CREDS_ECS_HOST "169.254.170.2"
#define WC_CREDS_DEFAULT_SESSION_NAME "whochanged"
#define WC_CREDS_DEFAULT_PROCESS_TIMEOUT_MS ((int64_t)60 * 1000)
#define WC_CREDS_PROCESS_MAX_OUTPUT ((size_t)64 * 1024)

struct wc_creds_options {
    struct wc_http *http;          /* transport for IMDS, ECS, STS (borrowed) */
    const struct wc_clock *clock;  /* NULL = system clock (copied) */
    wc_creds_getenv_fn *getenv_fn; /* NULL = getenv(3) */
    void *getenv_ctx;
    const char *home_dir;          /* for ~/.aws; NULL = $HOME */
    const char *profile;           /* NULL = $AWS_PROFILE, $AWS_DEFAULT_PROFILE, "default" */
    const char *sts_endpoint;      /* resolved STS URL; NULL = https://sts.<region>.amazonaws.com */
    const char *region;
    bool imds_v1_fallback;         /* default false */
    const char *imds_endpoint;     /* NULL = $AWS_EC2_METADATA_SERVICE_ENDPOINT or the default */
    int64_t refresh_margin_ms;     /* 0 = WC_CREDS_DEFAULT_REFRESH_MARGIN_MS */
    int64_t process_timeout_ms;    /* credential_process; 0 = WC_CREDS_DEFAULT_PROCESS_TIMEOUT_MS */
    /* Never run a credential_process (a profile with one then fails with
     * WC_ERR_UNSUPPORTED): for harnesses that feed untrusted config files. */
    bool no_credential_process;
    /* Signed STS AssumeRole (the SigV4 signer lives elsewhere). */
    wc_creds_assume_role_fn *assume_role_fn;
    void *assume_role_ctx;
    struct wc_logger *logger;      /* may be NULL */
};

struct wc_creds_provider;

/* Copy the current credentials into *out, which is overwritten (it must not
 * own anything) and which the caller cleans up. Returns WC_OK,
 * WC_ERR_NOT_FOUND when the source is not configured, WC_ERR_AUTH when it is
 * configured but yields nothing usable, or a transport / parse error. */
int wc_creds_provider_get(struct wc_creds_provider *p, struct wc_aws_credentials *out);
/* Name of the source ("environment", "chain", ...). */
const char *wc_creds_provider_name(const struct wc_creds_provider *p);
void wc_creds_provider_destroy(struct wc_creds_provider *p);

/* The default chain. The options' strings are copied; http, clock contents,
 * logger and the contexts are borrowed and must outlive the provider. */
struct wc_creds_provider *wc_creds_chain_new(const struct wc_creds_options *o);
struct wc_creds_provider *wc_creds_env_new(const struct wc_creds_options *o);
struct wc_creds_provider *wc_creds_web_identity_new(const struct wc_creds_options *o);
struct wc_creds_provider *wc_creds_profile_new(const struct wc_creds_options *o);
struct wc_creds_provider *wc_creds_ecs_new(const struct wc_creds_options *o);
struct wc_creds_provider *wc_creds_imds_new(const struct wc_creds_options *o);
/* Fixed credentials (copied). o may be NULL. */
struct wc_creds_provider *wc_creds_static_new(const struct wc_aws_credentials *c,
                                              const struct wc_creds_options *o);

/* The selected profile's `region =` (o->profile, else AWS_PROFILE,
 * AWS_DEFAULT_PROFILE, "default"; the credentials file wins over the config
 * file, as for every setting). *out is NULL when the profile sets none (or
 * the files do not exist), else a heap string the caller frees. o may be NULL.
 * Returns WC_OK, or an error reading or parsing the files. */
int wc_creds_profile_region(const struct wc_creds_options *o, char **out);

/* Cross-account access: AssumeRole into role_arn_template with "{account_id}"
 * replaced by the account id, using base's credentials, through
 * o->assume_role_fn. Credentials are cached per account and refreshed
 * refresh_margin_ms before they expire; at most WC_CREDS_ACCOUNTS_MAX
 * accounts are cached, and beyond that the least recently used one is
 * forgotten (its secrets wiped; it is assumed again when next needed), so
 * that no number of accounts named in forged messages can lock out a real
 * one. A template without the placeholder is a fixed role ARN and only
 * serves the account named in it. session_name NULL = "whochanged";
 * external_id may be NULL. base is borrowed. */
#define WC_CREDS_ACCOUNTS_MAX 4096
struct wc_creds_accounts;
struct wc_creds_accounts *wc_creds_accounts_new(struct wc_creds_provider *base,
                                                const char *role_arn_template,
                                                const char *external_id,
                                                const char *session_name,
                                                const struct wc_creds_options *o);
/* account_id must be 12 digits; *out as for wc_creds_provider_get. */
int wc_creds_accounts_get(struct wc_creds_accounts *a, const char *account_id,
                          struct wc_aws_credentials *out);
/* Accounts cached now (at most WC_CREDS_ACCOUNTS_MAX). */
size_t wc_creds_accounts_count(struct wc_creds_accounts *a);
void wc_creds_accounts_destroy(struct wc_creds_accounts *a);

/* The active profile of the shared config file (AWS_CONFIG_FILE, else
 * ~/.aws/config; profile as in wc_creds_options), read once for the
 * settings that are not credentials: endpoints, FIPS/dual-stack, retries,
 * CA bundle. A nested sub-setting is read as "parent.key": in
 * [services s], "sqs =\n  endpoint_url = URL" is key "sqs.endpoint_url".
 * No file: WC_OK with no settings. Uses o's getenv_fn, home_dir, profile
 * and logger only. */
struct wc_aws_shared_config;
int wc_aws_shared_config_load(const struct wc_creds_options *o, struct wc_aws_shared_config **out);
/* section NULL: the active profile; else a full section name, e.g.
 * "services my-services". NULL when unset or empty. */
const char *wc_aws_shared_config_get(const struct wc_aws_shared_config *f, const char *section,
                                     const char *key);
const char *wc_aws_shared_config_profile(const struct wc_aws_shared_config *f);
void wc_aws_shared_config_destroy(struct wc_aws_shared_config *f);

#endif
