/* err.h - error codes shared by every module.
 *
 * Functions return int: WC_OK (0) or a negative enum wc_err. Constructors
 * return NULL on failure.
 */
#ifndef WC_ERR_H
#define WC_ERR_H

enum wc_err {
    WC_OK = 0,
    WC_ERR_NOMEM = -1,       /* allocation failed */
    WC_ERR_INVALID = -2,     /* bad argument or invalid input */
    WC_ERR_PARSE = -3,       /* malformed JSON / YAML / XML */
    WC_ERR_TOO_LARGE = -4,   /* input or response over its cap */
    WC_ERR_NOT_FOUND = -5,   /* missing file, key, queue, object */
    WC_ERR_IO = -6,          /* read/write failure */
    WC_ERR_HTTP = -7,        /* transport failure (connect, TLS, reset) */
    WC_ERR_AUTH = -8,        /* not authorized, or credentials missing or rejected */
    WC_ERR_THROTTLED = -9,   /* the service asked us to slow down */
    WC_ERR_TIMEOUT = -10,    /* deadline passed */
    WC_ERR_SERVICE = -11,    /* the service returned an error */
    WC_ERR_UNSUPPORTED = -12,/* not implemented / not supported */
    WC_ERR_CONFIG = -13,     /* configuration rejected */
    WC_ERR_CANCELLED = -14,  /* stopped on request (shutdown) */
};

/* Short, static, human-readable description of an error code. */
const char *wc_strerror(int err);

#endif
