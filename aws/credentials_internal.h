/* credentials_internal.h - shared between aws/credentials*.c only. */
#ifndef WC_AWS_CREDENTIALS_INTERNAL_H
#define WC_AWS_CREDENTIALS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "aws/credentials.h"
#include "core/buf.h"
#include "core/http.h"

/* The options, copied. */
struct wc_creds_ctx {
    struct wc_http *http;
    struct wc_clock clock;
    wc_creds_getenv_fn *getenv_fn;
    void *getenv_ctx;
    char *home_dir;
    char *profile;
    char *sts_endpoint;
    char *region;
    char *imds_endpoint;
    bool imds_v1_fallback;
    int64_t refresh_margin_ms;
    int64_t process_timeout_ms;
    bool no_credential_process;
    wc_creds_assume_role_fn *assume_role_fn;
    void *assume_role_ctx;
    struct wc_logger *logger;
};

int wc_creds_ctx_init(struct wc_creds_ctx *c, const struct wc_creds_options *o);
void wc_creds_ctx_clean_up(struct wc_creds_ctx *c);
/* The variable's value, or NULL when unset or empty. */
const char *wc_creds_ctx_getenv(const struct wc_creds_ctx *c, const char *name);
int64_t wc_creds_ctx_now_ms(const struct wc_creds_ctx *c);

struct wc_creds_provider;

struct wc_creds_provider_vtable {
    const char *name;
    /* Fetch fresh credentials (no caching). */
    int (*fetch)(struct wc_creds_provider *p, struct wc_aws_credentials *out);
    /* Free p->impl (may be NULL). */
    void (*destroy_impl)(void *impl);
    /* get() calls fetch() every time, without the provider lock (chain). */
    bool uncached;
};

/* A cached set of credentials. Not locked: callers hold their own lock. */
struct wc_creds_cache {
    struct wc_aws_credentials creds;
    bool valid;
};

typedef int wc_creds_fetch_fn(void *arg, struct wc_aws_credentials *out);

/* Serve from the cache while now < expiration - margin; otherwise fetch. A
 * failed refresh keeps unexpired cached credentials (with a warning). */
int wc_creds_cache_get(struct wc_creds_cache *cache, const struct wc_creds_ctx *ctx,
                       wc_creds_fetch_fn *fetch, void *arg, const char *what,
                       struct wc_aws_credentials *out);
void wc_creds_cache_clean_up(struct wc_creds_cache *cache);

struct wc_creds_provider {
    const struct wc_creds_provider_vtable *vtable;
    void *impl;
    struct wc_creds_ctx ctx;
    pthread_mutex_t lock;
    struct wc_creds_cache cache;
};

/* Takes ownership of impl (freed with vt->destroy_impl, also on failure). */
struct wc_creds_provider *wc_creds_provider_new_impl(const struct wc_creds_provider_vtable *vt,
                                                     void *impl,
                                                     const struct wc_creds_options *o);

/* One-shot fetchers (no cache), shared by the providers and by profiles'
 * credential_source. WC_ERR_NOT_FOUND = not configured. */
int wc_creds_fetch_env(const struct wc_creds_ctx *c, struct wc_aws_credentials *out);
int wc_creds_fetch_web_identity_env(const struct wc_creds_ctx *c, struct wc_aws_credentials *out);
int wc_creds_fetch_web_identity(const struct wc_creds_ctx *c, const char *token_file,
                                const char *role_arn, const char *session_name,
                                struct wc_aws_credentials *out);
int wc_creds_fetch_profile(const struct wc_creds_ctx *c, struct wc_aws_credentials *out);
int wc_creds_fetch_ecs(const struct wc_creds_ctx *c, struct wc_aws_credentials *out);
int wc_creds_fetch_imds(const struct wc_creds_ctx *c, struct wc_aws_credentials *out);

/* A profile's credential_process: run the command (split like a POSIX shell
 * command line, no expansion), parse its JSON. */
int wc_creds_fetch_process(const struct wc_creds_ctx *c, const char *profile,
                           const char *command, struct wc_aws_credentials *out);
/* Split cmd into words as a POSIX shell (and Python's shlex.split, which the
 * AWS CLI uses) would: blanks separate words, '...' is literal, "..." keeps
 * all but \" and \\, a backslash outside quotes escapes the next character;
 * no expansion of any kind. *out is a NULL-terminated heap array (free with
 * wc_creds_argv_free). WC_ERR_PARSE: unterminated quote or trailing
 * backslash, or no word at all. */
int wc_creds_split_command(const char *cmd, char ***out, size_t *argc);
void wc_creds_argv_free(char **argv);

/* An IAM Identity Center (SSO) profile, resolved from the config file. */
struct wc_creds_sso_config {
    const char *profile;      /* the profile that holds the settings */
    const char *session_name; /* sso_session; NULL for the legacy form */
    const char *start_url;
    const char *region;       /* sso_region */
    const char *account_id;
    const char *role_name;
};

/* Role credentials from the portal's GetRoleCredentials, with the access
 * token that `aws sso login` cached in ~/.aws/sso/cache. */
int wc_creds_fetch_sso(const struct wc_creds_ctx *c, const struct wc_creds_sso_config *s,
                       struct wc_aws_credentials *out);

/* metadata: a fetch from IMDS or the container credentials endpoint, the
 * only requests the transport lets use plain http to those addresses. */
int wc_creds_send(const struct wc_creds_ctx *c, bool metadata, const char *method,
                  const char *url, const struct wc_http_header *headers, size_t n_headers,
                  const void *body, size_t body_len, long connect_ms, long total_ms,
                  size_t max_bytes, struct wc_http_response *resp);
/* Clean up a response whose body may hold secrets. */
void wc_creds_response_clean_up(struct wc_http_response *resp);
/* Wipe every string value of a cJSON tree (before cJSON_Delete). */
void wc_creds_json_wipe(cJSON *node);
/* A non-empty string member, or NULL. */
const char *wc_creds_json_str(const cJSON *obj, const char *key);

/* Log an STS error response and map it to an error code (WC_ERR_THROTTLED,
 * WC_ERR_SERVICE for 5xx, else WC_ERR_AUTH). */
int wc_creds_sts_failure(struct wc_logger *lg, const char *action,
                         const struct wc_http_response *resp);

/* Read a whole file (at most max bytes) into out; secrets: clean up securely. */
int wc_creds_read_file(const char *path, size_t max, struct wc_buf *out);
/* Set c->source (replacing any). */
int wc_creds_set_source(struct wc_aws_credentials *c, const char *source);
/* "…ABCD": at most the last 4 characters of an access key id, for logs. */
void wc_creds_key_tail(const char *access_key_id, char out[8]);
/* Free a string holding a secret. */
void wc_creds_free_secret(char *s);

#endif
