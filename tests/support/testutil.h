/* testutil.h - helpers shared by the cmocka unit tests. */
#ifndef WC_TESTUTIL_H
#define WC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/buf.h"

/* Path of a file under tests/data/aws-reference: $WC_REFERENCE/rel if set,
 * else $WC_ROOT/tests/data/aws-reference/rel (WC_ROOT defaults to "."). */
const char *wc_test_ref_path(const char *rel, char *out, size_t outlen);
/* Path under tests/data. */
const char *wc_test_data_path(const char *rel, char *out, size_t outlen);
/* Read a whole file into buf (fails the test if it cannot). */
void wc_test_read_file(const char *path, struct wc_buf *buf);
/* Read a file under tests/data/aws-reference into buf. */
void wc_test_read_ref(const char *rel, struct wc_buf *buf);
void wc_test_read_data(const char *rel, struct wc_buf *buf);

#endif
