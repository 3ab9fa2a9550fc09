/* credentials_profile.c - the shared files ~/.aws/credentials and
 * ~/.aws/config: static keys, role_arn + source_profile / credential_source
 * (through the injected assume_role_fn), web_identity_token_file, IAM
 * Identity Center (sso_account_id + sso_role_name, with an [sso-session] or
 * the legacy sso_start_url/sso_region) and credential_process; and the
 * profile's region. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "aws/sts_xml.h"
#include "core/err.h"
#include "core/str.h"

#define S_FILE_MAX ((size_t)1024 * 1024)
#define S_MAX_DEPTH 4

struct s_kv {
    char *key; /* lower case */
    char *value;
};

struct s_section {
    char *name;
    struct s_kv *kvs;
    size_t n, cap;
};

struct s_ini {
    struct s_section *secs;
    size_t n, cap;
};

static void s_ini_clean_up(struct s_ini *ini)
{
    for (size_t i = 0; i < ini->n; i++) {
        for (size_t j = 0; j < ini->secs[i].n; j++) {
            free(ini->secs[i].kvs[j].key);
            wc_creds_free_secret(ini->secs[i].kvs[j].value);
        }
        free(ini->secs[i].kvs);
        free(ini->secs[i].name);
    }
    free(ini->secs);
    memset(ini, 0, sizeof(*ini));
}

static struct s_section *s_ini_section(struct s_ini *ini, struct wc_str name, int *rc)
{
    struct s_section *secs;

    for (size_t i = 0; i < ini->n; i++)
        if (wc_str_eq_cstr(name, ini->secs[i].name))
            return &ini->secs[i]; /* repeated section: merged */
    if (ini->n == ini->cap) {
        size_t cap = ini->cap ? ini->cap * 2 : 8;

        if (!(secs = realloc(ini->secs, cap * sizeof(*secs)))) {
            *rc = WC_ERR_NOMEM;
            return NULL;
        }
        ini->secs = secs;
        ini->cap = cap;
    }
    memset(&ini->secs[ini->n], 0, sizeof(ini->secs[0]));
    if (!(ini->secs[ini->n].name = wc_strndup(name.ptr, name.len))) {
        *rc = WC_ERR_NOMEM;
        return NULL;
    }
    return &ini->secs[ini->n++];
}

static int s_section_set(struct s_section *s, struct wc_str key, struct wc_str value)
{
    struct s_kv *kvs;
    char *k, *v;

    if (!(k = wc_strndup(key.ptr, key.len)))
        return WC_ERR_NOMEM;
    for (char *p = k; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!(v = wc_strndup(value.ptr ? value.ptr : "", value.len))) {
        free(k);
        return WC_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->kvs[i].key, k) == 0) { /* last one wins */
            free(k);
            wc_creds_free_secret(s->kvs[i].value);
            s->kvs[i].value = v;
            return WC_OK;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;

        if (!(kvs = realloc(s->kvs, cap * sizeof(*kvs)))) {
            free(k);
            wc_creds_free_secret(v);
            return WC_ERR_NOMEM;
        }
        s->kvs = kvs;
        s->cap = cap;
    }
    s->kvs[s->n].key = k;
    s->kvs[s->n].value = v;
    s->n++;
    return WC_OK;
}

static bool s_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Parse an INI file. In a config file (sso != NULL), sections are
 * "[default]" and "[profile NAME]", and "[sso-session NAME]" go to *sso;
 * other sections ("[services x]", bare names) are ignored. Indented lines
 * following a key are sub-settings (e.g. "s3 =\n  max_concurrent_requests =
 * 5") and are ignored. */
static int s_ini_parse(const struct wc_creds_ctx *c, const char *path, struct wc_str text,
                       struct s_ini *out, struct s_ini *sso)
{
    struct s_ini *into = out;
    bool config = sso != NULL;
    struct s_section *cur = NULL;
    bool in_section = false, have_key = false;
    size_t pos = 0;
    int line_no = 0, rc = WC_OK;
    const char *why = NULL;

    memset(out, 0, sizeof(*out));
    if (sso)
        memset(sso, 0, sizeof(*sso));
    while (pos < text.len && rc == WC_OK) {
        struct wc_str line = {text.ptr + pos, 0}, t;
        const char *eq;

        while (pos + line.len < text.len && text.ptr[pos + line.len] != '\n')
            line.len++;
        pos += line.len + 1;
        line_no++;
        if (memchr(line.ptr, '\0', line.len)) {
            why = "NUL byte";
            break;
        }
        t = wc_str_trim(line);
        if (t.len == 0 || t.ptr[0] == '#' || t.ptr[0] == ';')
            continue;
        if (s_is_blank(line.ptr[0]) && have_key)
            continue; /* continuation / nested sub-setting */
        if (t.ptr[0] == '[') {
            struct wc_str name;

            if (t.ptr[t.len - 1] != ']') {
                why = "section header without a closing ]";
                break;
            }
            name = wc_str_trim((struct wc_str){t.ptr + 1, t.len - 2});
            if (name.len == 0) {
                why = "empty section name";
                break;
            }
            in_section = true;
            have_key = false;
            cur = NULL;
            into = out;
            if (config) {
                if (wc_str_eq_cstr(name, "default")) {
                    /* kept as is */
                } else if (name.len > 7 && strncmp(name.ptr, "profile", 7) == 0 &&
                           s_is_blank(name.ptr[7])) {
                    name = wc_str_trim((struct wc_str){name.ptr + 8, name.len - 8});
                    if (name.len == 0) {
                        why = "empty profile name";
                        break;
                    }
                } else if (name.len > 11 && strncmp(name.ptr, "sso-session", 11) == 0 &&
                           s_is_blank(name.ptr[11])) {
                    name = wc_str_trim((struct wc_str){name.ptr + 12, name.len - 12});
                    if (name.len == 0) {
                        why = "empty sso-session name";
                        break;
                    }
                    into = sso;
                } else {
                    continue; /* services, or not a profile */
                }
            }
            cur = s_ini_section(into, name, &rc);
            continue;
        }
        if (!(eq = memchr(t.ptr, '=', t.len))) {
            why = "expected key = value";
            break;
        }
        if (!in_section) {
            why = "setting before any [section]";
            break;
        }
        if (eq == t.ptr) {
            why = "empty key";
            break;
        }
        have_key = true;
        if (!cur)
            continue; /* ignored section */
        rc = s_section_set(cur, wc_str_trim((struct wc_str){t.ptr, (size_t)(eq - t.ptr)}),
                           wc_str_trim((struct wc_str){eq + 1, t.len - (size_t)(eq - t.ptr) - 1}));
    }
    if (why) {
        WC_LOGE(c->logger, NULL, "credentials: %s:%d: %s", path, line_no, why);
        rc = WC_ERR_PARSE;
    }
    if (rc != WC_OK) {
        s_ini_clean_up(out);
        if (sso)
            s_ini_clean_up(sso);
    }
    return rc;
}

static const char *s_ini_get(const struct s_ini *ini, const char *section, const char *key)
{
    for (size_t i = 0; i < ini->n; i++) {
        if (strcmp(ini->secs[i].name, section) != 0)
            continue;
        for (size_t j = 0; j < ini->secs[i].n; j++)
            if (strcmp(ini->secs[i].kvs[j].key, key) == 0)
                return ini->secs[i].kvs[j].value[0] ? ini->secs[i].kvs[j].value : NULL;
    }
    return NULL;
}

static bool s_ini_has(const struct s_ini *ini, const char *section)
{
    for (size_t i = 0; i < ini->n; i++)
        if (strcmp(ini->secs[i].name, section) == 0)
            return true;
    return false;
}

struct s_files {
    struct s_ini creds;
    struct s_ini config;
    struct s_ini sso;    /* the config file's [sso-session NAME] sections */
};

static void s_files_clean_up(struct s_files *f)
{
    s_ini_clean_up(&f->creds);
    s_ini_clean_up(&f->config);
    s_ini_clean_up(&f->sso);
}

/* The credentials file wins over the config file. */
static const char *s_get(const struct s_files *f, const char *profile, const char *key)
{
    const char *v = s_ini_get(&f->creds, profile, key);

    return v ? v : s_ini_get(&f->config, profile, key);
}

static int s_path(const struct wc_creds_ctx *c, const char *env, const char *rel, char *out,
                  size_t len)
{
    const char *p = wc_creds_ctx_getenv(c, env);
    const char *home = c->home_dir ? c->home_dir : wc_creds_ctx_getenv(c, "HOME");

    if (p && strncmp(p, "~/", 2) == 0) {
        if (!home)
            return WC_ERR_NOT_FOUND;
        snprintf(out, len, "%s/%s", home, p + 2);
    } else if (p) {
        snprintf(out, len, "%s", p);
    } else {
        if (!home)
            return WC_ERR_NOT_FOUND;
        snprintf(out, len, "%s/%s", home, rel);
    }
    return WC_OK;
}

static int s_load(const struct wc_creds_ctx *c, const char *env, const char *rel,
                  struct s_ini *out, struct s_ini *sso)
{
    struct wc_buf b = WC_BUF_INIT;
    char path[4096] = {0};
    int rc;

    if ((rc = s_path(c, env, rel, path, sizeof(path))) != WC_OK)
        return rc;
    if ((rc = wc_creds_read_file(path, S_FILE_MAX, &b)) != WC_OK) {
        if (rc != WC_ERR_NOT_FOUND)
            WC_LOGE(c->logger, NULL, "credentials: cannot read %s: %s", path, wc_strerror(rc));
        goto out;
    }
    rc = s_ini_parse(c, path, wc_buf_str(&b), out, sso);
out:
    wc_buf_clean_up_secure(&b);
    return rc;
}

static int s_resolve(const struct wc_creds_ctx *c, const struct s_files *f, const char *profile,
                     const char **visited, int depth, struct wc_aws_credentials *out);

static int s_static_keys(const struct s_files *f, const char *profile, const char *source,
                         struct wc_aws_credentials *out)
{
    struct wc_aws_credentials tmp = {0};

    tmp.access_key_id = (char *)s_get(f, profile, "aws_access_key_id");
    tmp.secret_access_key = (char *)s_get(f, profile, "aws_secret_access_key");
    tmp.session_token = (char *)s_get(f, profile, "aws_session_token");
    if (!tmp.session_token)
        tmp.session_token = (char *)s_get(f, profile, "aws_security_token");
    tmp.source = (char *)source;
    return wc_aws_credentials_copy(out, &tmp);
}

static int s_role_source(const struct wc_creds_ctx *c, const struct s_files *f,
                         const char *profile, const char **visited, int depth,
                         struct wc_aws_credentials *src)
{
    const char *source_profile = s_get(f, profile, "source_profile");
    const char *credential_source = s_get(f, profile, "credential_source");
    int rc;

    if (source_profile && credential_source) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s has both source_profile and "
                "credential_source", profile);
        return WC_ERR_CONFIG;
    }
    if (source_profile) {
        if (strcmp(source_profile, profile) == 0 && s_get(f, profile, "aws_access_key_id") &&
            s_get(f, profile, "aws_secret_access_key"))
            return s_static_keys(f, profile, "shared-file", src); /* its own keys */
        for (int i = 0; i <= depth; i++) {
            if (strcmp(visited[i], source_profile) == 0) {
                WC_LOGE(c->logger, NULL, "credentials: source_profile cycle through profile %s",
                        source_profile);
                return WC_ERR_CONFIG;
            }
        }
        return s_resolve(c, f, source_profile, visited, depth + 1, src);
    }
    if (!credential_source) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s has role_arn but neither "
                "source_profile nor credential_source", profile);
        return WC_ERR_CONFIG;
    }
    if (strcasecmp(credential_source, "Environment") == 0)
        rc = wc_creds_fetch_env(c, src);
    else if (strcasecmp(credential_source, "Ec2InstanceMetadata") == 0)
        rc = wc_creds_fetch_imds(c, src);
    else if (strcasecmp(credential_source, "EcsContainer") == 0)
        rc = wc_creds_fetch_ecs(c, src);
    else {
        WC_LOGE(c->logger, NULL, "credentials: profile %s: unknown credential_source %s",
                profile, credential_source);
        return WC_ERR_CONFIG;
    }
    if (rc == WC_ERR_NOT_FOUND) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_source %s has no "
                "credentials", profile, credential_source);
        rc = WC_ERR_AUTH;
    }
    return rc;
}

/* An SSO profile's settings: sso_account_id and sso_role_name in the
 * profile; sso_start_url and sso_region from its [sso-session] (which must
 * agree with any the profile also names) or, in the legacy form, from the
 * profile itself. */
static int s_sso_config(const struct wc_creds_ctx *c, const struct s_files *f,
                        const char *profile, struct wc_creds_sso_config *out)
{
    static const char *const keys[] = {"sso_start_url", "sso_region"};
    const char *vals[2] = {NULL, NULL};
    char missing[128] = {0};

    memset(out, 0, sizeof(*out));
    out->profile = profile;
    out->account_id = s_get(f, profile, "sso_account_id");
    out->role_name = s_get(f, profile, "sso_role_name");
    out->session_name = s_get(f, profile, "sso_session");
    for (size_t i = 0; i < 2; i++) {
        const char *mine = s_get(f, profile, keys[i]);

        vals[i] = mine;
        if (out->session_name) {
            const char *theirs = s_ini_get(&f->sso, out->session_name, keys[i]);

            if (!s_ini_has(&f->sso, out->session_name)) {
                WC_LOGE(c->logger, NULL, "credentials: profile %s: sso_session %s has no "
                        "[sso-session %s] section in the config file", profile,
                        out->session_name, out->session_name);
                return WC_ERR_CONFIG;
            }
            if (mine && theirs && strcmp(mine, theirs) != 0) {
                WC_LOGE(c->logger, NULL, "credentials: profile %s: %s differs between the "
                        "profile and [sso-session %s]", profile, keys[i], out->session_name);
                return WC_ERR_CONFIG;
            }
            if (theirs)
                vals[i] = theirs;
        }
    }
    out->start_url = vals[0];
    out->region = vals[1];
    if (!out->account_id || !out->role_name || !out->start_url || !out->region) {
        snprintf(missing, sizeof(missing), "%s%s%s%s", out->account_id ? "" : " sso_account_id",
                 out->role_name ? "" : " sso_role_name", out->start_url ? "" : " sso_start_url",
                 out->region ? "" : " sso_region");
        WC_LOGE(c->logger, NULL, "credentials: profile %s is configured for IAM Identity "
                "Center (SSO) but lacks:%s%s", profile, missing,
                out->session_name ? " (in the profile or its sso-session)" : "");
        return WC_ERR_CONFIG;
    }
    return WC_OK;
}

static int s_resolve(const struct wc_creds_ctx *c, const struct s_files *f, const char *profile,
                     const char **visited, int depth, struct wc_aws_credentials *out)
{
    struct wc_creds_sso_config sso;
    struct wc_aws_credentials src = {0};
    const char *role_arn, *akid, *secret, *session, *external_id, *wif, *process;
    int rc;

    if (depth > S_MAX_DEPTH) {
        WC_LOGE(c->logger, NULL, "credentials: source_profile chain deeper than %d", S_MAX_DEPTH);
        return WC_ERR_CONFIG;
    }
    visited[depth] = profile;
    if (!s_ini_has(&f->creds, profile) && !s_ini_has(&f->config, profile)) {
        if (depth == 0)
            return WC_ERR_NOT_FOUND;
        WC_LOGE(c->logger, NULL, "credentials: source_profile %s not found", profile);
        return WC_ERR_CONFIG;
    }
    role_arn = s_get(f, profile, "role_arn");
    akid = s_get(f, profile, "aws_access_key_id");
    secret = s_get(f, profile, "aws_secret_access_key");
    process = s_get(f, profile, "credential_process");
    /* The SDKs' order within a profile: role_arn, then IAM Identity Center,
     * then static keys, then credential_process. */
    if (!role_arn) {
        if (s_get(f, profile, "sso_account_id") || s_get(f, profile, "sso_role_name")) {
            if ((rc = s_sso_config(c, f, profile, &sso)) != WC_OK)
                return rc;
            return wc_creds_fetch_sso(c, &sso, out);
        }
        if (akid && secret)
            return s_static_keys(f, profile, "shared-file", out);
        if (akid || secret) {
            WC_LOGW(c->logger, NULL, "credentials: profile %s has only one of "
                    "aws_access_key_id and aws_secret_access_key", profile);
            return WC_ERR_AUTH;
        }
        if (process)
            return wc_creds_fetch_process(c, profile, process, out);
        if (depth == 0)
            return WC_ERR_NOT_FOUND;
        WC_LOGE(c->logger, NULL, "credentials: source_profile %s has no credentials", profile);
        return WC_ERR_CONFIG;
    }
    session = s_get(f, profile, "role_session_name");
    if (!session)
        session = WC_CREDS_DEFAULT_SESSION_NAME;
    external_id = s_get(f, profile, "external_id");
    if (!wc_sts_valid_session_name(session) ||
        (external_id && !wc_sts_valid_external_id(external_id))) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s: invalid role_session_name or "
                "external_id", profile);
        return WC_ERR_CONFIG;
    }
    wif = s_get(f, profile, "web_identity_token_file");
    if (wif && !s_get(f, profile, "source_profile") && !s_get(f, profile, "credential_source"))
        return wc_creds_fetch_web_identity(c, wif, role_arn, session, out);
    if (!c->assume_role_fn) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s needs AssumeRole, which is not "
                "available here", profile);
        return WC_ERR_UNSUPPORTED;
    }
    if ((rc = s_role_source(c, f, profile, visited, depth, &src)) != WC_OK)
        goto out;
    rc = c->assume_role_fn(c->assume_role_ctx, &src, role_arn, session, external_id, out);
    if (rc != WC_OK)
        WC_LOGW(c->logger, NULL, "credentials: profile %s: AssumeRole %s failed: %s", profile,
                role_arn, wc_strerror(rc));
out:
    wc_aws_credentials_clean_up(&src);
    return rc;
}

/* The profile asked for: the option, AWS_PROFILE, AWS_DEFAULT_PROFILE, else
 * "default" (*explicit_name false). */
static const char *s_profile_name(const struct wc_creds_ctx *c, bool *explicit_name)
{
    const char *profile = c->profile;

    *explicit_name = true;
    if (!profile)
        profile = wc_creds_ctx_getenv(c, "AWS_PROFILE");
    if (!profile)
        profile = wc_creds_ctx_getenv(c, "AWS_DEFAULT_PROFILE");
    if (!profile) {
        profile = "default";
        *explicit_name = false;
    }
    return profile;
}

/* Both files; a missing file is empty. */
static int s_load_files(const struct wc_creds_ctx *c, struct s_files *f)
{
    int rc = s_load(c, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &f->creds, NULL);
    int rc2 = s_load(c, "AWS_CONFIG_FILE", ".aws/config", &f->config, &f->sso);

    if (rc != WC_OK && rc != WC_ERR_NOT_FOUND)
        return rc;
    if (rc2 != WC_OK && rc2 != WC_ERR_NOT_FOUND)
        return rc2;
    return WC_OK;
}

int wc_creds_profile_region(const struct wc_creds_options *o, char **out)
{
    struct wc_creds_ctx c;
    struct s_files f;
    const char *region;
    bool explicit_name = false;
    int rc;

    memset(&f, 0, sizeof(f));
    if (!out)
        return WC_ERR_INVALID;
    *out = NULL;
    if ((rc = wc_creds_ctx_init(&c, o)) != WC_OK)
        return rc;
    if ((rc = s_load_files(&c, &f)) != WC_OK)
        goto out;
    region = s_get(&f, s_profile_name(&c, &explicit_name), "region");
    if (region && !(*out = wc_strdup(region)))
        rc = WC_ERR_NOMEM;
out:
    s_files_clean_up(&f);
    wc_creds_ctx_clean_up(&c);
    return rc;
}

int wc_creds_fetch_profile(const struct wc_creds_ctx *c, struct wc_aws_credentials *out)
{
    const char *visited[S_MAX_DEPTH + 2] = {0};
    bool explicit_name = true;
    const char *profile = s_profile_name(c, &explicit_name);
    struct s_files f;
    char source[300] = {0};
    int rc;

    memset(&f, 0, sizeof(f));
    if ((rc = s_load_files(c, &f)) != WC_OK)
        goto out;
    if ((rc = s_resolve(c, &f, profile, visited, 0, out)) != WC_OK) {
        if (rc == WC_ERR_NOT_FOUND && explicit_name && !s_ini_has(&f.creds, profile) &&
            !s_ini_has(&f.config, profile)) {
            /* A profile asked for by name must exist. */
            WC_LOGE(c->logger, NULL, "credentials: profile %s not found in the shared "
                    "credentials or config file", profile);
            rc = WC_ERR_CONFIG;
        }
        goto out;
    }
    /* "sso:NAME", "credential-process:NAME" for those kinds of profile,
     * "shared-file:NAME" for the others (keys, roles) */
    snprintf(source, sizeof(source), "%s:%s",
             out->source && (strcmp(out->source, "sso") == 0 ||
                             strcmp(out->source, "credential-process") == 0)
                 ? out->source
                 : "shared-file",
             profile);
    if ((rc = wc_creds_set_source(out, source)) != WC_OK)
        wc_aws_credentials_clean_up(out);
out:
    s_files_clean_up(&f);
    return rc;
}

/* ---- the shared config file's other settings ----
 * Endpoints, FIPS/dual-stack, retries and the CA bundle (aws/endpoints.c,
 * cmd/stack.c) read the active profile and its [services NAME] section
 * once, through the same INI parser: the text is first flattened so that
 * a nested sub-setting ("sqs =" then "  endpoint_url = URL") becomes the key
 * "sqs.endpoint_url", and parsed without the config-file section rule, so
 * sections keep their full names ("profile dev", "services s"). */
struct wc_aws_shared_config {
    struct s_ini ini;
    char *section; /* "default" or "profile NAME" */
    char *profile;
};

static int s_flatten(struct wc_str text, struct wc_buf *out)
{
    struct wc_str parent = {NULL, 0};
    size_t pos = 0;
    int rc = WC_OK;

    while (pos < text.len && rc == WC_OK) {
        struct wc_str line = {text.ptr + pos, 0}, t;
        const char *eq;

        while (pos + line.len < text.len && text.ptr[pos + line.len] != '\n')
            line.len++;
        pos += line.len + 1;
        t = wc_str_trim(line);
        if (t.len && line.len && s_is_blank(line.ptr[0]) && t.ptr[0] != '#' && t.ptr[0] != ';') {
            /* indented: a sub-setting of the parent key, if any */
            if (parent.len && memchr(t.ptr, '=', t.len))
                rc = wc_buf_appendf(out, "%.*s.%.*s\n", (int)parent.len, parent.ptr, (int)t.len,
                                    t.ptr);
            continue;
        }
        parent = (struct wc_str){NULL, 0};
        if (t.len && t.ptr[0] != '[' && (eq = memchr(t.ptr, '=', t.len)) &&
            wc_str_trim((struct wc_str){eq + 1, t.len - (size_t)(eq - t.ptr) - 1}).len == 0)
            parent = wc_str_trim((struct wc_str){t.ptr, (size_t)(eq - t.ptr)});
        rc = wc_buf_appendf(out, "%.*s\n", (int)line.len, line.ptr);
    }
    return rc;
}

int wc_aws_shared_config_load(const struct wc_creds_options *o, struct wc_aws_shared_config **out)
{
    struct wc_creds_ctx c;
    struct wc_aws_shared_config *f = NULL;
    struct wc_buf raw = WC_BUF_INIT, flat = WC_BUF_INIT;
    char path[4096] = {0};
    const char *profile;
    int rc;

    if (!out)
        return WC_ERR_INVALID;
    *out = NULL;
    if ((rc = wc_creds_ctx_init(&c, o)) != WC_OK)
        return rc;
    if (!(f = calloc(1, sizeof(*f)))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    profile = c.profile ? c.profile : wc_creds_ctx_getenv(&c, "AWS_PROFILE");
    if (!profile)
        profile = wc_creds_ctx_getenv(&c, "AWS_DEFAULT_PROFILE");
    if (!profile)
        profile = "default";
    if (!(f->profile = wc_strdup(profile))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    if ((rc = s_path(&c, "AWS_CONFIG_FILE", ".aws/config", path, sizeof(path))) != WC_OK ||
        (rc = wc_creds_read_file(path, S_FILE_MAX, &raw)) != WC_OK) {
        if (rc == WC_ERR_NOT_FOUND)
            rc = WC_OK; /* no file: no settings */
        else
            WC_LOGE(c.logger, NULL, "aws config: cannot read %s: %s", path, wc_strerror(rc));
        goto out;
    }
    wc_buf_init(&flat, S_FILE_MAX * 2);
    if ((rc = s_flatten(wc_buf_str(&raw), &flat)) != WC_OK ||
        (rc = s_ini_parse(&c, path, wc_buf_str(&flat), &f->ini, NULL)) != WC_OK)
        goto out;
    /* [default] or [profile default] for the default profile */
    if (strcmp(profile, "default") == 0 && s_ini_has(&f->ini, "default"))
        f->section = wc_strdup("default");
    else if ((f->section = malloc(strlen(profile) + 9)))
        sprintf(f->section, "profile %s", profile);
    rc = f->section ? WC_OK : WC_ERR_NOMEM;
out:
    wc_buf_clean_up_secure(&raw);
    wc_buf_clean_up_secure(&flat);
    wc_creds_ctx_clean_up(&c);
    if (rc == WC_OK)
        *out = f;
    else
        wc_aws_shared_config_destroy(f);
    return rc;
}

const char *wc_aws_shared_config_get(const struct wc_aws_shared_config *f, const char *section,
                                     const char *key)
{
    if (!f || !key || (!section && !f->section))
        return NULL;
    return s_ini_get(&f->ini, section ? section : f->section, key);
}

const char *wc_aws_shared_config_profile(const struct wc_aws_shared_config *f)
{
    return f ? f->profile : NULL;
}

void wc_aws_shared_config_destroy(struct wc_aws_shared_config *f)
{
    if (!f)
        return;
    s_ini_clean_up(&f->ini);
    free(f->section);
    free(f->profile);
    free(f);
}
