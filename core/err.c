#include "core/err.h"

const char *wc_strerror(int err)
{
    switch ((enum wc_err)err) {
    case WC_OK: return "success";
    case WC_ERR_NOMEM: return "out of memory";
    case WC_ERR_INVALID: return "invalid input";
    case WC_ERR_PARSE: return "malformed document";
    case WC_ERR_TOO_LARGE: return "too large";
    case WC_ERR_NOT_FOUND: return "not found";
    case WC_ERR_IO: return "I/O error";
    case WC_ERR_HTTP: return "HTTP transport error";
    case WC_ERR_AUTH: return "not authorized or credentials refused";
    case WC_ERR_THROTTLED: return "throttled";
    case WC_ERR_TIMEOUT: return "timed out";
    case WC_ERR_SERVICE: return "service error";
    case WC_ERR_UNSUPPORTED: return "not supported";
    case WC_ERR_CONFIG: return "invalid configuration";
    case WC_ERR_CANCELLED: return "cancelled";
    }
    return "unknown error";
}
