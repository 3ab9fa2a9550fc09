/* sigv4_internal.h - SigV4 pieces exposed for the unit tests. */
#ifndef WC_AWS_SIGV4_INTERNAL_H
#define WC_AWS_SIGV4_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

#define WC_SIGV4_KEY_LEN 32

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region),
 * service), "aws4_request"); every intermediate key is wiped. */
int wc_sigv4_derive_key(const char *secret_access_key, const char *date8,
                        const char *region, const char *service,
                        uint8_t out[WC_SIGV4_KEY_LEN]);

/* Canonical URI of a raw path (see sigv4.h). Appends to out. */
int wc_sigv4_canonical_path(const char *path, bool normalize, bool double_encode,
                            struct wc_buf *out);

/* Canonical query string of a raw query (NULL/"" gives ""). Appends. */
int wc_sigv4_canonical_query(const char *query, struct wc_buf *out);

#endif
