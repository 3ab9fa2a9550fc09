#include "tests/support/gzip_util.h"

#include <string.h>

#include <zlib.h>

#include "core/err.h"
#include "tests/support/testutil.h"

void wc_test_gzip(const void *data, size_t len, struct wc_buf *out)
{
    z_stream zs;
    unsigned char chunk[16384];
    int zrc;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY),
                     Z_OK);
    wc_buf_init(out, 0);
    zs.next_in = (unsigned char *)data;
    zs.avail_in = (uInt)len;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof(chunk);
        zrc = deflate(&zs, Z_FINISH);
        assert_true(zrc == Z_OK || zrc == Z_STREAM_END || zrc == Z_BUF_ERROR);
        assert_int_equal(wc_buf_append(out, chunk, sizeof(chunk) - zs.avail_out), WC_OK);
    } while (zrc != Z_STREAM_END);
    deflateEnd(&zs);
}
