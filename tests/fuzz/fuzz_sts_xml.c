/* fuzz_sts_xml.c - STS XML answers (aws/sts_xml.c, expat): the credentials
 * of AssumeRole and AssumeRoleWithWebIdentity, and <ErrorResponse>.
 *
 * Invariants: a success has an access key id and a secret with no ASCII
 * whitespace (sts_xml.h strips it all), a session token without any and
 * an expiry after the epoch (0 would mean "does not expire"), and an
 * error has a code; results clean up to zero (no leak, checked by
 * LeakSanitizer). */
#include <stdlib.h>
#include <string.h>

#include "aws/sts_xml.h"
#include "core/err.h"
#include "tests/fuzz/harness.h"

static bool s_no_space(const char *s)
{
    for (; s && *s; s++)
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
            return false;
    return true;
}

static void s_creds(const char *xml, size_t len, const char *action)
{
    struct wc_sts_result r;
    int rc;

    memset(&r, 0, sizeof(r));
    rc = wc_sts_xml_parse_credentials(xml, len, action, &r);
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    if (rc == WC_OK) {
        FUZZ_CHECK(len <= WC_STS_XML_MAX_BYTES, "%zu bytes accepted", len);
        FUZZ_CHECK(r.creds.access_key_id && r.creds.access_key_id[0], "%s: no key id", action);
        FUZZ_CHECK(r.creds.secret_access_key && r.creds.secret_access_key[0], "%s: no secret",
                   action);
        FUZZ_CHECK(s_no_space(r.creds.access_key_id) && s_no_space(r.creds.secret_access_key) &&
                       s_no_space(r.creds.session_token),
                   "%s: whitespace left in a credential", action);
        FUZZ_CHECK(r.creds.session_token && r.creds.expiration_ms > 0,
                   "%s: temporary credentials without an expiry", action);
    }
    wc_sts_result_clean_up(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct wc_sts_error e;
    int rc;

    s_creds(xml, size, "AssumeRole");
    s_creds(xml, size, "AssumeRoleWithWebIdentity");

    memset(&e, 0, sizeof(e));
    rc = wc_sts_xml_parse_error(xml, size, &e);
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    if (rc == WC_OK)
        FUZZ_CHECK(e.code && e.code[0], "an error without a code");
    wc_sts_error_clean_up(&e);
    return 0;
}
