#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>

const char *wc_test_ref_path(const char *rel, char *out, size_t outlen)
{
    const char *ref = getenv("WC_REFERENCE");
    const char *root = getenv("WC_ROOT");

    if (ref && *ref)
        snprintf(out, outlen, "%s/%s", ref, rel);
    else
        snprintf(out, outlen, "%s/tests/data/aws-reference/%s", root ? root : ".", rel);
    return out;
}

const char *wc_test_data_path(const char *rel, char *out, size_t outlen)
{
    const char *root = getenv("WC_ROOT");

    snprintf(out, outlen, "%s/tests/data/%s", root ? root : ".", rel);
    return out;
}

void wc_test_read_file(const char *path, struct wc_buf *buf)
{
    char chunk[8192];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        fail_msg("cannot open %s", path);
    wc_buf_init(buf, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(wc_buf_append(buf, chunk, n), 0);
    fclose(f);
    if (!buf->ptr)
        assert_int_equal(wc_buf_append(buf, "", 0), 0);
}

void wc_test_read_ref(const char *rel, struct wc_buf *buf)
{
    char path[4096];

    wc_test_read_file(wc_test_ref_path(rel, path, sizeof(path)), buf);
}

void wc_test_read_data(const char *rel, struct wc_buf *buf)
{
    char path[4096];

    wc_test_read_file(wc_test_data_path(rel, path, sizeof(path)), buf);
}
