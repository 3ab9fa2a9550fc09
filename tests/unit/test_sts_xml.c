/* Unit tests for aws/sts_xml: STS XML responses and form-encoded bodies. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "aws/sts_xml.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"

static int64_t s_iso(const char *s)
{
    int64_t ms = 0;

    assert_int_equal(wc_time_parse_iso8601(wc_str_from_cstr(s), &ms), WC_OK);
    return ms;
}

static int s_parse_ar(const char *xml, struct wc_sts_result *r)
{
    return wc_sts_xml_parse_credentials(xml, strlen(xml), "AssumeRole", r);
}

static int s_parse_err(const char *xml, struct wc_sts_error *e)
{
    return wc_sts_xml_parse_error(xml, strlen(xml), e);
}

static void test_doc_sample(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_sts_result r = {0};

    (void)state;
    wc_test_read_ref("samples/sts/assume-role-response.doc.xml", &b);
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRole", &r), WC_OK);
    assert_string_equal(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(r.creds.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    /* The documentation wraps the token over indented lines: the lines are
     * joined, with no whitespace left anywhere. */
    assert_string_equal(r.creds.session_token,
                        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW"
                        "LWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGd"
                        "QrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU"
                        "9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz"
                        "+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==");
    assert_null(strpbrk(r.creds.session_token, " \t\r\n"));
    assert_int_equal(r.creds.expiration_ms, s_iso("2019-11-09T13:34:41Z"));
    assert_string_equal(r.assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/demo/TestAR");
    assert_string_equal(r.request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
    assert_null(r.creds.source);
    wc_sts_result_clean_up(&r);
    assert_null(r.creds.session_token);
    wc_buf_clean_up(&b);
}

static void test_wire_sample(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_sts_result r = {0};

    (void)state;
    wc_test_read_ref("samples/sts/assume-role-response.wire.constructed.xml", &b);
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRole", &r), WC_OK);
    assert_string_equal(r.creds.access_key_id, "ASIA3EXAMPLEKEYID0777");
    assert_string_equal(r.creds.session_token,
                        "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCWV1LXdlc3QtMSJHMEUCIQDexample"
                        "exampleexample+AiBexampleexample/example=");
    assert_int_equal(r.creds.expiration_ms, s_iso("2024-05-01T13:00:00Z"));
    assert_string_equal(r.assumed_role_arn,
                        "arn:aws:sts::210987654321:assumed-role/ChangeAuditor/change-auditor");
    wc_sts_result_clean_up(&r);
    /* The same document is not an AssumeRoleWithWebIdentity response. */
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRoleWithWebIdentity", &r),
                     WC_ERR_PARSE);
    assert_null(r.creds.access_key_id);
    /* Nor an error response. */
    {
        struct wc_sts_error e = {0};

        assert_int_equal(wc_sts_xml_parse_error(b.ptr, b.len, &e), WC_ERR_PARSE);
        assert_null(e.code);
    }
    wc_buf_clean_up(&b);
}

static void test_error_samples(void **state)
{
    struct wc_buf b = WC_BUF_INIT;
    struct wc_sts_error e = {0};
    struct wc_sts_result r = {0};

    (void)state;
    wc_test_read_ref("samples/sts/error-access-denied.constructed.xml", &b);
    assert_int_equal(wc_sts_xml_parse_error(b.ptr, b.len, &e), WC_OK);
    assert_string_equal(e.type, "Sender");
    assert_string_equal(e.code, "AccessDenied");
    assert_true(strncmp(e.message, "User: arn:aws:iam::123456789012:user/Alice is not", 49) == 0);
    assert_string_equal(e.request_id, "9b2f4d3e-EXAMPLE-4f6e-8d8c-accessdeny");
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRole", &r), WC_ERR_PARSE);
    wc_sts_error_clean_up(&e);
    wc_buf_clean_up(&b);

    wc_test_read_ref("samples/sts/error-expired-token.constructed.xml", &b);
    assert_int_equal(wc_sts_xml_parse_error(b.ptr, b.len, &e), WC_OK);
    assert_string_equal(e.code, "ExpiredToken");
    assert_string_equal(e.message, "The security token included in the request is expired");
    assert_string_equal(e.request_id, "ac3e5f4a-EXAMPLE-4071-9e9d-expired");
    wc_sts_error_clean_up(&e);
    wc_buf_clean_up(&b);

    /* An ErrorResponse without a Code is rejected. */
    assert_int_equal(s_parse_err("<ErrorResponse><Error><Message>x</Message></Error>"
                                 "</ErrorResponse>", &e), WC_ERR_PARSE);
}

#define AR_HEAD "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">" \
                "<AssumeRoleResult><Credentials>"
#define AR_TAIL "</Credentials></AssumeRoleResult></AssumeRoleResponse>"
#define F_AKID "<AccessKeyId>ASIAEXAMPLE</AccessKeyId>"
#define F_SECRET "<SecretAccessKey>secret</SecretAccessKey>"
#define F_TOKEN "<SessionToken>tok</SessionToken>"
#define F_EXP "<Expiration>2024-05-01T13:00:00Z</Expiration>"

static void test_missing_and_duplicate_fields(void **state)
{
    struct wc_sts_result r = {0};

    (void)state;
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_SECRET F_TOKEN F_EXP AR_TAIL, &r), WC_OK);
    assert_null(r.assumed_role_arn); /* optional */
    wc_sts_result_clean_up(&r);
    assert_int_equal(s_parse_ar(AR_HEAD F_SECRET F_TOKEN F_EXP AR_TAIL, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_TOKEN F_EXP AR_TAIL, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_SECRET F_EXP AR_TAIL, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_SECRET F_TOKEN AR_TAIL, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_SECRET F_TOKEN
                                "<Expiration>soon</Expiration>" AR_TAIL, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_AKID F_SECRET F_TOKEN F_EXP AR_TAIL, &r),
                     WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(AR_HEAD "<AccessKeyId>  </AccessKeyId>" F_SECRET F_TOKEN F_EXP
                                AR_TAIL, &r), WC_ERR_PARSE);
    /* Fields in the wrong place do not count. */
    assert_int_equal(s_parse_ar("<AssumeRoleResponse><AssumeRoleResult>" F_AKID F_SECRET F_TOKEN
                                F_EXP "</AssumeRoleResult></AssumeRoleResponse>", &r),
                     WC_ERR_PARSE);
    assert_null(r.creds.access_key_id);
    /* Fractional seconds. */
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_SECRET F_TOKEN
                                "<Expiration>2024-05-01T13:00:00.359Z</Expiration>" AR_TAIL, &r),
                     WC_OK);
    assert_int_equal(r.creds.expiration_ms, s_iso("2024-05-01T13:00:00Z") + 359);
    wc_sts_result_clean_up(&r);
    /* Found with tests/fuzz/fuzz_credentials_http: an expiry at the epoch
     * (or before) is 0 or less, which reads as "does not expire". */
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_SECRET F_TOKEN
                                "<Expiration>1970-01-01T00:00:00Z</Expiration>" AR_TAIL, &r),
                     WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(AR_HEAD F_AKID F_SECRET F_TOKEN
                                "<Expiration>1969-12-31T23:59:59Z</Expiration>" AR_TAIL, &r),
                     WC_ERR_PARSE);
    assert_null(r.creds.access_key_id);
}

static void test_web_identity_and_prefix(void **state)
{
    static const char wi[] =
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>system:sa</SubjectFromWebIdentityToken>"
        "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>"
        "<Credentials>" F_AKID F_SECRET F_TOKEN F_EXP "</Credentials>"
        "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    static const char prefixed[] =
        "<sts:AssumeRoleResponse xmlns:sts=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<sts:AssumeRoleResult><sts:Credentials>"
        "<sts:AccessKeyId>ASIAEXAMPLE</sts:AccessKeyId><sts:SecretAccessKey>secret</sts:SecretAccessKey>"
        "<sts:SessionToken>tok</sts:SessionToken><sts:Expiration>2024-05-01T13:00:00Z</sts:Expiration>"
        "</sts:Credentials></sts:AssumeRoleResult></sts:AssumeRoleResponse>";
    struct wc_sts_result r = {0};

    (void)state;
    assert_int_equal(wc_sts_xml_parse_credentials(wi, strlen(wi), "AssumeRoleWithWebIdentity", &r),
                     WC_OK);
    assert_string_equal(r.assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/r/s");
    assert_string_equal(r.creds.secret_access_key, "secret");
    wc_sts_result_clean_up(&r);
    assert_int_equal(s_parse_ar(wi, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(prefixed, &r), WC_OK);
    assert_string_equal(r.creds.session_token, "tok");
    wc_sts_result_clean_up(&r);
    assert_int_equal(wc_sts_xml_parse_credentials(wi, strlen(wi), "GetCallerIdentity", &r),
                     WC_ERR_INVALID);
}

static void test_malformed_and_oversized(void **state)
{
    static const char full[] = AR_HEAD F_AKID F_SECRET F_TOKEN F_EXP AR_TAIL;
    struct wc_sts_result r = {0};
    struct wc_buf big = WC_BUF_INIT;

    (void)state;
    for (size_t cut = 0; cut < sizeof(full) - 1; cut += 7)
        assert_int_equal(wc_sts_xml_parse_credentials(full, cut, "AssumeRole", &r) != WC_OK, 1);
    assert_int_equal(s_parse_ar("<AssumeRoleResponse><x></AssumeRoleResponse>", &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar("not xml at all", &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar("<Unknown>" F_AKID "</Unknown>", &r), WC_ERR_PARSE);
    /* A valid document padded past 64 KiB. */
    wc_buf_init(&big, 0);
    assert_int_equal(wc_buf_append_cstr(&big, AR_HEAD F_AKID F_SECRET F_TOKEN F_EXP
                                        "</Credentials><Pad>"), WC_OK);
    while (big.len <= WC_STS_XML_MAX_BYTES)
        assert_int_equal(wc_buf_append_cstr(&big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&big, "</Pad></AssumeRoleResult></AssumeRoleResponse>"),
                     WC_OK);
    assert_int_equal(wc_sts_xml_parse_credentials(big.ptr, big.len, "AssumeRole", &r),
                     WC_ERR_TOO_LARGE);
    wc_buf_clean_up(&big);
}

static void test_entity_attacks(void **state)
{
    static const char laughs[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE AssumeRoleResponse [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        "]>\n" AR_HEAD "<AccessKeyId>&lol3;</AccessKeyId>" F_SECRET F_TOKEN F_EXP AR_TAIL;
    static const char external[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE AssumeRoleResponse [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
        AR_HEAD "<AccessKeyId>&xxe;</AccessKeyId>" F_SECRET F_TOKEN F_EXP AR_TAIL;
    static const char doctype_only[] =
        "<!DOCTYPE AssumeRoleResponse>" AR_HEAD F_AKID F_SECRET F_TOKEN F_EXP AR_TAIL;
    static const char undeclared[] =
        AR_HEAD "<AccessKeyId>&undeclared;</AccessKeyId>" F_SECRET F_TOKEN F_EXP AR_TAIL;
    static const char predefined[] =
        AR_HEAD F_AKID "<SecretAccessKey>a&amp;b&#x2F;c</SecretAccessKey>" F_TOKEN F_EXP AR_TAIL;
    struct wc_sts_result r = {0};
    struct wc_sts_error e = {0};

    (void)state;
    assert_int_equal(s_parse_ar(laughs, &r), WC_ERR_PARSE);
    assert_null(r.creds.access_key_id);
    assert_int_equal(s_parse_ar(external, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(doctype_only, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_ar(undeclared, &r), WC_ERR_PARSE);
    assert_int_equal(s_parse_err("<!DOCTYPE ErrorResponse [<!ENTITY a \"b\">]>"
                                 "<ErrorResponse><Error><Code>&a;</Code></Error>"
                                 "</ErrorResponse>", &e), WC_ERR_PARSE);
    /* Predefined and character references are plain XML and fine. */
    assert_int_equal(s_parse_ar(predefined, &r), WC_OK);
    assert_string_equal(r.creds.secret_access_key, "a&b/c");
    wc_sts_result_clean_up(&r);
}

/* The XML front end's guards apply to STS answers: only UTF-8, depth capped. */
static void test_front_end_guards(void **state)
{
    static const char full[] = AR_HEAD F_AKID F_SECRET F_TOKEN F_EXP AR_TAIL;
    struct wc_sts_result r = {0};
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    wc_buf_init(&b, 0);
    /* another declared encoding (expat alone would convert it) */
    assert_int_equal(wc_buf_append_cstr(&b, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"),
                     WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, full), WC_OK);
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRole", &r), WC_ERR_PARSE);
    assert_null(r.creds.secret_access_key);
    /* the same document in UTF-16LE with a byte-order mark */
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append(&b, "\xFF\xFE", 2), WC_OK);
    for (size_t i = 0; i < sizeof(full) - 1; i++)
        assert_int_equal(wc_buf_append(&b, (char[2]){full[i], 0}, 2), WC_OK);
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRole", &r), WC_ERR_PARSE);
    assert_null(r.creds.secret_access_key);
    /* a valid answer with a nest deeper than the cap after the credentials */
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append_cstr(&b, AR_HEAD F_AKID F_SECRET F_TOKEN F_EXP), WC_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(wc_buf_append_cstr(&b, "<x>"), WC_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(wc_buf_append_cstr(&b, "</x>"), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, AR_TAIL), WC_OK);
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRole", &r),
                     WC_ERR_TOO_LARGE);
    assert_null(r.creds.access_key_id); /* nothing kept from before the fault */
    /* the control: UTF-8 declared, shallow */
    wc_buf_reset(&b);
    assert_int_equal(wc_buf_append_cstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, full), WC_OK);
    assert_int_equal(wc_sts_xml_parse_credentials(b.ptr, b.len, "AssumeRole", &r), WC_OK);
    assert_string_equal(r.creds.secret_access_key, "secret");
    wc_sts_result_clean_up(&r);
    wc_buf_clean_up(&b);
}

static void test_form_encode(void **state)
{
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    wc_buf_init(&b, 0);
    assert_int_equal(wc_sts_form_encode(&b, "arn:aws:iam::123456789012:role/a+b c"), WC_OK);
    assert_string_equal(b.ptr, "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fa%2Bb%20c");
    wc_buf_reset(&b);
    assert_int_equal(wc_sts_form_encode(&b, "AZaz09-_.~=&%\xe1\x88\xb4"), WC_OK);
    assert_string_equal(b.ptr, "AZaz09-_.~%3D%26%25%E1%88%B4");
    wc_buf_clean_up(&b);
}

static void test_assume_role_body(void **state)
{
    struct wc_sts_assume_role_params p = {0};
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    wc_buf_init(&b, 0);
    p.role_arn = "arn:aws:iam::210987654321:role/ChangeAuditor";
    p.session_name = "change-auditor";
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_OK);
    assert_string_equal(b.ptr, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                               "210987654321%3Arole%2FChangeAuditor&RoleSessionName=change-auditor");
    wc_buf_reset(&b);
    p.external_id = "a+b=c/d:e";
    p.duration_s = 3600;
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_OK);
    assert_string_equal(b.ptr, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                               "210987654321%3Arole%2FChangeAuditor&RoleSessionName=change-auditor"
                               "&DurationSeconds=3600&ExternalId=a%2Bb%3Dc%2Fd%3Ae");
    wc_buf_reset(&b);

    /* Limits; the buffer is left as it was on failure. */
    assert_int_equal(wc_buf_append_cstr(&b, "keep"), WC_OK);
    p.duration_s = 899;
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_ERR_INVALID);
    p.duration_s = 43201;
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_ERR_INVALID);
    p.duration_s = 43200;
    p.external_id = "has space";
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_ERR_INVALID);
    p.external_id = NULL;
    p.session_name = "x";
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_ERR_INVALID);
    p.session_name = "bad/name";
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_ERR_INVALID);
    p.session_name = "ok";
    p.role_arn = "not-an-arn";
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_ERR_INVALID);
    assert_string_equal(b.ptr, "keep");
    p.role_arn = "arn:aws:iam::210987654321:role/R";
    p.duration_s = 900;
    assert_int_equal(wc_sts_assume_role_body(&p, &b), WC_OK);
    assert_string_equal(b.ptr, "keepAction=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam"
                               "%3A%3A210987654321%3Arole%2FR&RoleSessionName=ok&DurationSeconds=900");
    wc_buf_clean_up(&b);
}

static void test_validators(void **state)
{
    char s64[65], s65[66], e1224[1225], e1225[1226];

    (void)state;
    memset(s64, 'a', 64);
    s64[64] = '\0';
    memset(s65, 'a', 65);
    s65[65] = '\0';
    memset(e1224, 'b', 1224);
    e1224[1224] = '\0';
    memset(e1225, 'b', 1225);
    e1225[1225] = '\0';
    assert_true(wc_sts_valid_session_name("ab"));
    assert_true(wc_sts_valid_session_name("user@example.com,x=y+z_-."));
    assert_true(wc_sts_valid_session_name(s64));
    assert_false(wc_sts_valid_session_name(s65));
    assert_false(wc_sts_valid_session_name("a"));
    assert_false(wc_sts_valid_session_name("a:b"));
    assert_false(wc_sts_valid_session_name(NULL));
    assert_true(wc_sts_valid_external_id("a+b=c/d:e"));
    assert_true(wc_sts_valid_external_id(e1224));
    assert_false(wc_sts_valid_external_id(e1225));
    assert_false(wc_sts_valid_external_id("x"));
    assert_false(wc_sts_valid_external_id("a b"));
}

static void test_web_identity_body(void **state)
{
    struct wc_buf b = WC_BUF_INIT;

    (void)state;
    wc_buf_init(&b, 0);
    assert_int_equal(wc_sts_web_identity_body("arn:aws:iam::123456789012:role/eks-reader",
                                              "whochanged", "eyJ.a+b/c=", &b), WC_OK);
    assert_string_equal(b.ptr, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn="
                               "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Feks-reader"
                               "&RoleSessionName=whochanged&WebIdentityToken=eyJ.a%2Bb%2Fc%3D");
    wc_buf_reset(&b);
    assert_int_equal(wc_sts_web_identity_body("arn:aws:iam::123456789012:role/eks-reader",
                                              "whochanged", "", &b), WC_ERR_INVALID);
    wc_buf_clean_up_secure(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_sample),
        cmocka_unit_test(test_wire_sample),
        cmocka_unit_test(test_error_samples),
        cmocka_unit_test(test_missing_and_duplicate_fields),
        cmocka_unit_test(test_web_identity_and_prefix),
        cmocka_unit_test(test_malformed_and_oversized),
        cmocka_unit_test(test_entity_attacks),
        cmocka_unit_test(test_front_end_guards),
        cmocka_unit_test(test_form_encode),
        cmocka_unit_test(test_assume_role_body),
        cmocka_unit_test(test_validators),
        cmocka_unit_test(test_web_identity_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
