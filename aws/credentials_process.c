/* credentials_process.c - a profile's credential_process: run the command,
 * read its JSON from stdout (Version 1, AccessKeyId, SecretAccessKey,
 * SessionToken, Expiration), as the AWS SDKs do.
 *
 * The command is split into words like a POSIX shell command line (the AWS
 * CLI uses Python's shlex.split) and run without a shell: posix_spawnp, so
 * PATH is searched, with stdin from /dev/null, in its own process group
 * (killed whole on time-out), with every signal at its default and none
 * blocked, and with no descriptor of ours but the two pipes. stdout is
 * capped at WC_CREDS_PROCESS_MAX_OUTPUT bytes; stderr (capped too) goes to
 * our log at debug level, with the credentials it might echo masked. */
#define _GNU_SOURCE /* pipe2(O_CLOEXEC), posix_spawn_file_actions_addclosefrom_np */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "core/err.h"
#include "core/str.h"

extern char **environ;

#define S_MAX_ARGS 256
#define S_STDERR_MAX ((size_t)4096)
#define S_STDERR_LINE_MAX 300

/* --- splitting ---------------------------------------------------------- */

void wc_creds_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

static bool s_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int wc_creds_split_command(const char *cmd, char ***out, size_t *argc)
{
    struct wc_buf word = WC_BUF_INIT;
    char **argv = NULL;
    size_t n = 0;
    bool in_word = false;
    int rc = WC_OK;

    *out = NULL;
    *argc = 0;
    if (!cmd)
        return WC_ERR_INVALID;
    if (!(argv = calloc(S_MAX_ARGS + 1, sizeof(*argv))))
        return WC_ERR_NOMEM;
    for (const char *p = cmd;; p++) {
        if (*p == '\0' || s_blank(*p)) {
            if (in_word) {
                if (n == S_MAX_ARGS) {
                    rc = WC_ERR_TOO_LARGE;
                    goto out;
                }
                if (!(argv[n++] = wc_strndup(word.ptr ? word.ptr : "", word.len))) {
                    rc = WC_ERR_NOMEM;
                    goto out;
                }
                wc_buf_reset(&word);
                in_word = false;
            }
            if (*p == '\0')
                break;
            continue;
        }
        in_word = true;
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');

            if (!end) {
                rc = WC_ERR_PARSE; /* no closing quotation */
                goto out;
            }
            if ((rc = wc_buf_append(&word, p + 1, (size_t)(end - p - 1))) != WC_OK)
                goto out;
            p = end;
        } else if (*p == '"') {
            for (p++; *p != '"'; p++) {
                if (*p == '\0') {
                    rc = WC_ERR_PARSE;
                    goto out;
                }
                /* inside double quotes a backslash escapes only " and \ */
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                if ((rc = wc_buf_append_char(&word, *p)) != WC_OK)
                    goto out;
            }
        } else if (*p == '\\') {
            if (p[1] == '\0') {
                rc = WC_ERR_PARSE; /* no escaped character */
                goto out;
            }
            p++;
            if ((rc = wc_buf_append_char(&word, *p)) != WC_OK)
                goto out;
        } else if ((rc = wc_buf_append_char(&word, *p)) != WC_OK) {
            goto out;
        }
    }
    if (n == 0)
        rc = WC_ERR_PARSE;
out:
    wc_buf_clean_up(&word);
    if (rc != WC_OK) {
        wc_creds_argv_free(argv);
        return rc;
    }
    *out = argv;
    *argc = n;
    return WC_OK;
}

/* --- running ------------------------------------------------------------ */

static int64_t s_mono_ms(void)
{
    struct timespec ts = {0};

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct s_run {
    struct wc_buf out;   /* stdout, capped */
    struct wc_buf err;   /* stderr, capped (the rest is read and dropped) */
    int status;          /* waitpid status */
    bool timed_out;
    bool too_large;
};

/* Read what is there; false at EOF or error (fd then closed and set to -1). */
static bool s_drain(int *fd, struct wc_buf *b, size_t cap, bool *over)
{
    char chunk[4096];
    ssize_t got = read(*fd, chunk, sizeof(chunk));

    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (got <= 0) {
        close(*fd);
        *fd = -1;
        return false;
    }
    if (b->len + (size_t)got > cap) {
        size_t room = cap - b->len;

        if (room > 0)
            (void)wc_buf_append(b, chunk, room);
        if (over)
            *over = true;
    } else {
        (void)wc_buf_append(b, chunk, (size_t)got);
    }
    wc_secure_zero(chunk, sizeof(chunk));
    return true;
}

static void s_kill_group(pid_t pid)
{
    /* the child leads its own group: its own children go too */
    if (kill(-pid, SIGKILL) != 0)
        kill(pid, SIGKILL);
}

static int s_spawn(char **argv, int out_fd, int err_fd, pid_t *pid)
{
    static const int defaults[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                                   SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dfl;
    int err;

    sigemptyset(&none);
    sigemptyset(&dfl);
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        sigaddset(&dfl, defaults[i]);
    if (posix_spawn_file_actions_init(&fa) != 0)
        return ENOMEM;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return ENOMEM;
    }
    if ((err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
        (err = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) != 0 ||
        (err = posix_spawn_file_actions_adddup2(&fa, err_fd, 2)) != 0 ||
        (err = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
        (err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                   POSIX_SPAWN_SETSIGDEF)) != 0 ||
        (err = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
        (err = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
        (err = posix_spawnattr_setsigdefault(&attr, &dfl)) != 0)
        goto out;
    err = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
out:
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

/* Run argv, collect its output and exit status within timeout_ms. */
static int s_run(const struct wc_creds_ctx *c, const char *profile, char **argv,
                 struct s_run *r)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    int64_t deadline = s_mono_ms() + c->process_timeout_ms;
    pid_t pid = -1;
    int rc = WC_OK, err;

    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        rc = WC_ERR_IO;
        goto out;
    }
    if ((err = s_spawn(argv, out_pipe[1], err_pipe[1], &pid)) != 0) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: cannot run credential_process "
                "%s: %s", profile, argv[0], strerror(err));
        rc = WC_ERR_AUTH;
        goto out;
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;
    while (out_pipe[0] >= 0 || err_pipe[0] >= 0) {
        struct pollfd pfd[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
        int64_t left = deadline - s_mono_ms();
        int n;

        if (left <= 0) {
            r->timed_out = true;
            break;
        }
        n = poll(pfd, 2, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno != EINTR) {
            rc = WC_ERR_IO;
            break;
        }
        if (n <= 0)
            continue;
        if (pfd[0].revents && !s_drain(&out_pipe[0], &r->out, WC_CREDS_PROCESS_MAX_OUTPUT,
                                       &r->too_large))
            out_pipe[0] = -1;
        if (r->too_large)
            break;
        if (pfd[1].revents && !s_drain(&err_pipe[0], &r->err, S_STDERR_MAX, NULL))
            err_pipe[0] = -1;
    }
    /* Both pipes closed: wait for the exit (a process that closed its
     * output may still run a while), still within the deadline. */
    for (;;) {
        pid_t got;

        if (r->timed_out || r->too_large || rc != WC_OK) {
            s_kill_group(pid);
            while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        got = waitpid(pid, &r->status, WNOHANG);
        if (got == pid)
            break;
        if (got < 0 && errno != EINTR) {
            rc = WC_ERR_IO; /* e.g. SIGCHLD ignored: no status to read */
            break;
        }
        if (s_mono_ms() >= deadline) {
            r->timed_out = true;
            continue;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
out:
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    return rc;
}

/* --- the answer --------------------------------------------------------- */

/* Replace each occurrence of secret in line (in place, same length). */
static void s_mask(char *line, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    char *hit;

    if (n < 4)
        return;
    while ((hit = strstr(line, secret)) != NULL)
        memset(hit, '*', n);
}

/* The process's stderr, line by line, at debug level. */
static void s_log_stderr(const struct wc_creds_ctx *c, const char *profile, struct wc_buf *err,
                         const struct wc_aws_credentials *creds)
{
    char *line, *save = NULL;

    if (!err->ptr || !c->logger || !wc_logger_enabled(c->logger, WC_LOG_DEBUG))
        return;
    for (char *p = err->ptr; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n')
            *p = ' ';
    for (line = strtok_r(err->ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (creds) {
            s_mask(line, creds->secret_access_key);
            s_mask(line, creds->session_token);
        }
        WC_LOGD(c->logger, NULL, "credentials: profile %s: credential_process stderr: %.*s",
                profile, S_STDERR_LINE_MAX, line);
    }
}

static int s_parse(const struct wc_creds_ctx *c, const char *profile, const struct wc_buf *out,
                   struct wc_aws_credentials *creds)
{
    struct wc_aws_credentials tmp = {0};
    const cJSON *version;
    cJSON *root = NULL;
    const char *exp;
    int rc = WC_ERR_PARSE;

    if (!out->ptr || !(root = cJSON_ParseWithLength(out->ptr, out->len)) ||
        !cJSON_IsObject(root)) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process did not print "
                "a JSON object", profile);
        goto out;
    }
    version = cJSON_GetObjectItemCaseSensitive(root, "Version");
    if (!cJSON_IsNumber(version) || version->valuedouble != 1.0) {
        if (cJSON_IsNumber(version))
            WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process answered "
                    "Version %g; only Version 1 is supported", profile, version->valuedouble);
        else
            WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process answer has "
                    "no numeric Version (must be 1)", profile);
        goto out;
    }
    tmp.access_key_id = (char *)wc_creds_json_str(root, "AccessKeyId");
    tmp.secret_access_key = (char *)wc_creds_json_str(root, "SecretAccessKey");
    tmp.session_token = (char *)wc_creds_json_str(root, "SessionToken");
    tmp.source = (char *)"credential-process";
    if (!tmp.access_key_id || !tmp.secret_access_key) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process answer lacks %s",
                profile, tmp.access_key_id ? "SecretAccessKey" : "AccessKeyId");
        goto out;
    }
    /* no Expiration: the credentials do not expire (the SDKs' reading) */
    exp = wc_creds_json_str(root, "Expiration");
    if (exp && (wc_time_parse_iso8601(wc_str_from_cstr(exp), &tmp.expiration_ms) != WC_OK ||
                tmp.expiration_ms <= 0)) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process Expiration is "
                "not an ISO 8601 time", profile);
        goto out;
    }
    rc = wc_aws_credentials_copy(creds, &tmp);
out:
    if (root) {
        wc_creds_json_wipe(root);
        cJSON_Delete(root);
    }
    return rc;
}

int wc_creds_fetch_process(const struct wc_creds_ctx *c, const char *profile,
                           const char *command, struct wc_aws_credentials *out)
{
    struct s_run r;
    char **argv = NULL;
    size_t argc = 0;
    int rc;

    memset(&r, 0, sizeof(r));
    wc_buf_init(&r.out, WC_CREDS_PROCESS_MAX_OUTPUT + 1);
    wc_buf_init(&r.err, S_STDERR_MAX + 1);
    if ((rc = wc_creds_split_command(command, &argv, &argc)) == WC_OK &&
        c->no_credential_process) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s: credential_process is disabled "
                "here", profile);
        rc = WC_ERR_UNSUPPORTED;
        goto out;
    }
    if (rc != WC_OK) {
        WC_LOGE(c->logger, NULL, "credentials: profile %s: credential_process cannot be split "
                "into words (%s)", profile,
                rc == WC_ERR_PARSE ? "empty, or an unterminated quote or backslash"
                                   : wc_strerror(rc));
        rc = WC_ERR_CONFIG;
        goto out;
    }
    WC_LOGD(c->logger, NULL, "credentials: profile %s: running credential_process %s "
            "(%zu argument%s)", profile, argv[0], argc - 1, argc == 2 ? "" : "s");
    if ((rc = s_run(c, profile, argv, &r)) != WC_OK) {
        s_log_stderr(c, profile, &r.err, NULL);
        goto out;
    }
    if (r.timed_out) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process %s did not "
                "finish within %lld ms; killed", profile, argv[0],
                (long long)c->process_timeout_ms);
        s_log_stderr(c, profile, &r.err, NULL);
        rc = WC_ERR_TIMEOUT;
        goto out;
    }
    if (r.too_large) {
        WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process %s printed more "
                "than %zu bytes; killed", profile, argv[0], WC_CREDS_PROCESS_MAX_OUTPUT);
        rc = WC_ERR_TOO_LARGE;
        goto out;
    }
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        if (WIFEXITED(r.status))
            WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process %s exited "
                    "with status %d%s", profile, argv[0], WEXITSTATUS(r.status),
                    WEXITSTATUS(r.status) == 127 ? " (command not found?)" : "");
        else
            WC_LOGW(c->logger, NULL, "credentials: profile %s: credential_process %s was "
                    "killed by signal %d", profile, argv[0],
                    WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0);
        s_log_stderr(c, profile, &r.err, NULL);
        rc = WC_ERR_AUTH;
        goto out;
    }
    rc = s_parse(c, profile, &r.out, out);
    s_log_stderr(c, profile, &r.err, rc == WC_OK ? out : NULL);
    if (rc != WC_OK)
        rc = WC_ERR_AUTH;
out:
    wc_creds_argv_free(argv);
    wc_buf_clean_up_secure(&r.out);
    wc_buf_clean_up_secure(&r.err);
    return rc;
}
