/* gzip_util.h - gzip for the tests that serve objects as AWS Config writes
 * them (gzip with header). */
#ifndef WC_TESTS_GZIP_UTIL_H
#define WC_TESTS_GZIP_UTIL_H

#include <stddef.h>

#include "core/buf.h"

/* out = gzip (level 9, with header) of data; fails the test on a zlib error. */
void wc_test_gzip(const void *data, size_t len, struct wc_buf *out);

#endif
