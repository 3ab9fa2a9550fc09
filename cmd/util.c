#include "cmd/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "aws/endpoints.h"
#include "aws/sqs.h"
#include "core/err.h"
#include "core/policy.h"
#include "core/str.h"

int wc_cmd_read_file(const char *path, size_t max_bytes, struct wc_buf *out, char *errbuf,
                     size_t errlen)
{
    char chunk[16384];
    FILE *f;
    size_t n;
    int rc = WC_OK;

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, errlen, "%s", strerror(errno));
        return errno == ENOENT ? WC_ERR_NOT_FOUND : WC_ERR_IO;
    }
    wc_buf_init(out, max_bytes);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((rc = wc_buf_append(out, chunk, n)) != WC_OK) {
            if (rc == WC_ERR_TOO_LARGE)
                snprintf(errbuf, errlen, "file is larger than %zu bytes", max_bytes);
            else
                snprintf(errbuf, errlen, "%s", wc_strerror(rc));
            break;
        }
    }
    if (rc == WC_OK && ferror(f)) {
        snprintf(errbuf, errlen, "read error: %s", strerror(errno));
        rc = WC_ERR_IO;
    }
    if (rc == WC_OK && !out->ptr)
        rc = wc_buf_append(out, "", 0);
    if (f != stdin)
        fclose(f);
    if (rc != WC_OK)
        wc_buf_clean_up(out);
    return rc;
}

int wc_cmd_opt_value(int argc, char **argv, int *i, const char *name, const char **value,
                     const char *cmd)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    /* -c is --config everywhere */
    if (!strcmp(name, "--config") && !strcmp(arg, "-c"))
        arg = name;
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "whochanged %s: option %s needs a value\n"
                        "Run 'whochanged %s --help' for its options.\n", cmd, name, cmd);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int wc_cmd_disable_core_dumps(char *err, size_t errlen)
{
    struct rlimit none = {0, 0};

    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        wc_errf(err, errlen, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        wc_errf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
        return -1;
    }
    return 0;
}

#define S_TCACHE_TUNABLE "glibc.malloc.tcache_count"

int wc_cmd_reexec_without_tcache(char **argv, char *err, size_t errlen)
{
    const char *old = getenv("GLIBC_TUNABLES");
    char *saved = NULL;
    char v[1024];
    int n;

    if (old && strstr(old, S_TCACHE_TUNABLE))
        return 0;
    n = old && *old ? snprintf(v, sizeof(v), "%s:%s=0", old, S_TCACHE_TUNABLE)
                    : snprintf(v, sizeof(v), "%s=0", S_TCACHE_TUNABLE);
    if (n < 0 || (size_t)n >= sizeof(v)) {
        wc_errf(err, errlen, "GLIBC_TUNABLES is too long (%zu bytes)", strlen(old));
        return -1;
    }
    if (old && !(saved = strdup(old))) {
        wc_errf(err, errlen, "out of memory");
        return -1;
    }
    if (setenv("GLIBC_TUNABLES", v, 1) != 0) {
        wc_errf(err, errlen, "setenv(GLIBC_TUNABLES): %s", strerror(errno));
        free(saved);
        return -1;
    }
    execv("/proc/self/exe", argv);
    wc_errf(err, errlen, "execv(/proc/self/exe): %s", strerror(errno));
    /* not started again: the environment as the user had it */
    if (saved)
        setenv("GLIBC_TUNABLES", saved, 1);
    else
        unsetenv("GLIBC_TUNABLES");
    free(saved);
    return -1;
}

static int s_line(struct wc_strlist *l, const struct wc_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_line(struct wc_strlist *l, const struct wc_config *cfg, const char *fmt, ...)
{
    struct wc_buf b = WC_BUF_INIT;
    va_list ap;
    int rc;

    rc = wc_buf_appendf(&b, "%s: ", wc_config_path(cfg) ? wc_config_path(cfg) : "(defaults)");
    va_start(ap, fmt);
    if (rc == WC_OK)
        rc = wc_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (rc == WC_OK)
        rc = wc_strlist_push(l, b.ptr);
    wc_buf_clean_up(&b);
    return rc;
}

int wc_cmd_run_checks(const struct wc_config *cfg, struct wc_strlist *errors,
                      struct wc_strlist *warnings)
{
    const struct wc_policy *pol = wc_config_policy(cfg);
    const char *queue_url = wc_config_queue_url(cfg), *region = wc_config_region(cfg);
    char *from_url = NULL, *sqs = NULL;
    int rc = WC_OK;

    if (!queue_url && !wc_config_queue_name(cfg)) {
        rc = s_line(errors, cfg, "no queue: set queue_url (or queue_name) to the SQS queue "
                                 "AWS Config notifications arrive on");
    } else {
        if (!region && queue_url)
            region = from_url = wc_sqs_region_from_queue_url(queue_url);
        if (!region)
            rc = s_line(errors, cfg, "no AWS region: set `region` in the config or AWS_REGION "
                                     "(a queue_url names its region too)");
        else if (wc_endpoint_resolve("sqs", region, NULL, 0, NULL, &sqs) != WC_OK &&
                 !wc_config_endpoint(cfg, "sqs"))
            rc = s_line(errors, cfg, "no SQS endpoint for region %s: set endpoints.sqs",
                        region);
    }
    if (rc == WC_OK && wc_config_notifier_count(cfg) == 0)
        rc = s_line(warnings, cfg, "no notifier configured: findings are only logged (add "
                                   "one under `notifiers:`)");
    if (rc == WC_OK && pol->trusted.len == 0 && pol->automation_user_agents.len == 0)
        rc = s_line(warnings, cfg,
                    "`trusted` and `automation_user_agents` are both empty: every change "
                    "made with credentials, Terraform and CI pipelines included, is reported "
                    "as human (list your automation roles under `trusted`)");
    free(sqs);
    free(from_url);
    return rc;
}
