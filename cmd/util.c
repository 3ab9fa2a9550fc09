#include "cmd/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "core/err.h"
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

    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "whochanged %s: option %s needs a value\n", cmd, name);
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

