/* Unit tests for aws/xml: the one XML front end. Valid documents (paths,
 * names, text, namespaces) and hostile ones: billion laughs, XXE, DOCTYPE,
 * deep nesting, oversized text, non-UTF-8, truncation, oversized input. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "aws/xml.h"
#include "core/buf.h"
#include "core/err.h"

/* Records every element as "path[*]=text|" (* when it has children). */
struct s_rec {
    struct wc_buf log;
    size_t n;
    size_t stop_at; /* 0: never; else return stop_rc from that call */
    int stop_rc;
    bool cut_seen;
};

static int s_record(void *ctx, const struct wc_xml_element *el)
{
    struct s_rec *r = ctx;

    r->n++;
    /* name is the last segment of path, depth its number of segments */
    assert_non_null(el->name);
    assert_true(el->name > el->path && el->name[-1] == '/');
    assert_string_equal(el->name, strrchr(el->path, '/') + 1);
    {
        int d = 0;

        for (const char *p = el->path; *p; p++)
            d += *p == '/';
        assert_int_equal(d, el->depth);
    }
    assert_int_equal(el->text.ptr[el->text.len], '\0');
    if (el->text_cut)
        r->cut_seen = true;
    assert_int_equal(wc_buf_appendf(&r->log, "%s%s=%.*s|", el->path, el->has_children ? "*" : "",
                                    (int)el->text.len, el->text.ptr),
                     WC_OK);
    if (r->stop_at && r->n == r->stop_at)
        return r->stop_rc;
    return WC_OK;
}

static int s_parse_opts(const char *xml, size_t len, struct wc_xml_options *o, struct s_rec *r)
{
    wc_buf_clean_up(&r->log);
    wc_buf_init(&r->log, 0);
    r->n = 0;
    r->cut_seen = false;
    o->on_element = s_record;
    o->ctx = r;
    return wc_xml_parse(xml, len, o);
}

static int s_parse(const char *xml, struct s_rec *r)
{
    struct wc_xml_options o = {0};

    return s_parse_opts(xml, strlen(xml), &o, r);
}

static const char *s_log(struct s_rec *r)
{
    return r->log.ptr ? r->log.ptr : "";
}

/* --- valid input ------------------------------------------------------------ */

static void test_paths_and_text(void **state)
{
    struct s_rec r = {0};

    (void)state;
    assert_int_equal(s_parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                             "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                             "<Error><Type>Sender</Type><Code> A&amp;B&#x2F;&lt;c&gt; </Code>"
                             "<Message><![CDATA[x < y]]> &quot;q&quot;</Message><Empty/></Error>"
                             "<RequestId>r-1</RequestId></ErrorResponse>", &r),
                     WC_OK);
    assert_string_equal(s_log(&r), "/ErrorResponse/Error/Type=Sender|"
                                   "/ErrorResponse/Error/Code= A&B/<c> |"
                                   "/ErrorResponse/Error/Message=x < y \"q\"|"
                                   "/ErrorResponse/Error/Empty=|"
                                   "/ErrorResponse/Error*=|"
                                   "/ErrorResponse/RequestId=r-1|"
                                   "/ErrorResponse*=|");
    /* prefixes and namespaces are dropped; comments and PIs are ignored */
    assert_int_equal(s_parse("<sts:R xmlns:sts=\"urn:x\"><!-- c --><?pi x?><sts:A>1</sts:A>"
                             "<B xmlns=\"urn:y\">2</B></sts:R>", &r),
                     WC_OK);
    assert_string_equal(s_log(&r), "/R/A=1|/R/B=2|/R*=|");
    /* mixed content: an element with children has no text */
    assert_int_equal(s_parse("<a>x<b>y</b>z</a>", &r), WC_OK);
    assert_string_equal(s_log(&r), "/a/b=y|/a*=|");
    /* multi-byte UTF-8 and a UTF-8 byte-order mark are fine */
    assert_int_equal(s_parse("\xEF\xBB\xBF<a>caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80</a>", &r),
                     WC_OK);
    assert_string_equal(s_log(&r), "/a=caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80|");
    wc_buf_clean_up(&r.log);
}

static void test_parent_is(void **state)
{
    struct wc_xml_element el = {0};

    (void)state;
    el.path = "/ErrorResponse/Error/Code";
    el.name = el.path + strlen("/ErrorResponse/Error/");
    el.depth = 3;
    assert_true(wc_xml_parent_is(&el, "Error"));
    assert_false(wc_xml_parent_is(&el, "rror"));
    assert_false(wc_xml_parent_is(&el, "ErrorResponse"));
    assert_false(wc_xml_parent_is(&el, "Code"));
    el.path = "/Error/Code";
    el.name = el.path + 7;
    el.depth = 2;
    assert_true(wc_xml_parent_is(&el, "Error"));
    assert_false(wc_xml_parent_is(&el, "XError"));
    el.path = "/Code";
    el.name = el.path + 1;
    el.depth = 1;
    assert_false(wc_xml_parent_is(&el, "Error")); /* the root has no parent */
    assert_false(wc_xml_parent_is(NULL, "Error"));
}

static void test_root_and_callback_stop(void **state)
{
    struct wc_xml_options o = {0};
    struct s_rec r = {0};
    static const char doc[] = "<R><a>1</a><b>2</b><c>3</c></R>";

    (void)state;
    o.root = "R";
    assert_int_equal(s_parse_opts(doc, strlen(doc), &o, &r), WC_OK);
    assert_int_equal(r.n, 4);
    o.root = "Other";
    assert_int_equal(s_parse_opts(doc, strlen(doc), &o, &r), WC_ERR_PARSE);
    assert_int_equal(r.n, 0);
    /* a callback's error stops the parse and is what comes back */
    o.root = NULL;
    r.stop_at = 2;
    r.stop_rc = WC_ERR_NOT_FOUND;
    assert_int_equal(s_parse_opts(doc, strlen(doc), &o, &r), WC_ERR_NOT_FOUND);
    assert_int_equal(r.n, 2);
    assert_string_equal(s_log(&r), "/R/a=1|/R/b=2|");
    wc_buf_clean_up(&r.log);
}

static void test_arguments(void **state)
{
    struct wc_xml_options o = {0};
    struct s_rec r = {0};

    (void)state;
    assert_int_equal(wc_xml_parse("<a/>", 4, NULL), WC_ERR_INVALID);
    assert_int_equal(wc_xml_parse("<a/>", 4, &o), WC_ERR_INVALID); /* no callback */
    o.on_element = s_record;
    o.ctx = &r;
    assert_int_equal(wc_xml_parse(NULL, 0, &o), WC_ERR_INVALID);
    assert_int_equal(s_parse("", &r), WC_ERR_PARSE);
    assert_int_equal(s_parse("   \n", &r), WC_ERR_PARSE);
    assert_int_equal(s_parse("not xml", &r), WC_ERR_PARSE);
    assert_int_equal(s_parse("<a></b>", &r), WC_ERR_PARSE);
    assert_int_equal(s_parse("<a/><b/>", &r), WC_ERR_PARSE);
    assert_int_equal(r.n, 1); /* <a/> was seen before the second root */
    wc_buf_clean_up(&r.log);
}

/* --- hostile input ------------------------------------------------------------ */

static void test_billion_laughs(void **state)
{
    static const char doc[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n<lolz>&lol9;</lolz>";
    struct wc_xml_options o = {0};
    struct s_rec r = {0};

    (void)state;
    assert_int_equal(s_parse(doc, &r), WC_ERR_PARSE);
    assert_int_equal(r.n, 0);
    /* not even with a text cap big enough to hold a few laughs */
    o.max_text_bytes = 1u << 20;
    o.cut_text = true;
    assert_int_equal(s_parse_opts(doc, strlen(doc), &o, &r), WC_ERR_PARSE);
    assert_int_equal(r.n, 0);
    wc_buf_clean_up(&r.log);
}

static void test_external_entity(void **state)
{
    static const char *docs[] = {
        /* general external entity */
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE r [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n<r>&xxe;</r>",
        /* external DTD */
        "<?xml version=\"1.0\"?>\n<!DOCTYPE r SYSTEM \"file:///etc/passwd\">\n<r/>",
        /* parameter entity */
        "<!DOCTYPE r [ <!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p; ]><r/>",
        /* public identifier */
        "<!DOCTYPE r PUBLIC \"-//X//Y\" \"http://127.0.0.1:1/x.dtd\"><r/>",
        /* unparsed entity */
        "<!DOCTYPE r [ <!NOTATION n SYSTEM \"x\"> "
        "<!ENTITY u SYSTEM \"file:///etc/passwd\" NDATA n> ]><r/>",
    };
    struct s_rec r = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        assert_int_equal(s_parse(docs[i], &r), WC_ERR_PARSE);
        assert_int_equal(r.n, 0);
    }
    wc_buf_clean_up(&r.log);
}

static void test_doctype_and_entities(void **state)
{
    struct s_rec r = {0};

    (void)state;
    /* a DOCTYPE alone, with nothing declared, is refused just the same */
    assert_int_equal(s_parse("<!DOCTYPE r><r>1</r>", &r), WC_ERR_PARSE);
    assert_int_equal(s_parse("<?xml version=\"1.0\"?><!DOCTYPE r []><r>1</r>", &r), WC_ERR_PARSE);
    assert_int_equal(r.n, 0);
    /* a DOCTYPE after the root is not well formed either */
    assert_int_equal(s_parse("<r>1</r><!DOCTYPE r>", &r), WC_ERR_PARSE);
    /* undeclared entity */
    assert_int_equal(s_parse("<r>&undeclared;</r>", &r), WC_ERR_PARSE);
    assert_int_equal(r.n, 0);
    /* the control: the same document without the DOCTYPE */
    assert_int_equal(s_parse("<r>1</r>", &r), WC_OK);
    assert_string_equal(s_log(&r), "/r=1|");
    wc_buf_clean_up(&r.log);
}

static void s_nested(struct wc_buf *b, size_t depth)
{
    wc_buf_reset(b);
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(wc_buf_append_cstr(b, "<a>"), WC_OK);
    assert_int_equal(wc_buf_append_cstr(b, "x"), WC_OK);
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(wc_buf_append_cstr(b, "</a>"), WC_OK);
}

static void test_deep_nesting(void **state)
{
    struct wc_xml_options o = {0};
    struct wc_buf b = WC_BUF_INIT;
    struct s_rec r = {0};

    (void)state;
    wc_buf_init(&b, 0);
    s_nested(&b, WC_XML_MAX_DEPTH);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_OK);
    assert_int_equal(r.n, WC_XML_MAX_DEPTH);
    s_nested(&b, WC_XML_MAX_DEPTH + 1);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_ERR_TOO_LARGE);
    assert_int_equal(r.n, 0);
    /* as deep as 64 KiB allows: refused at the cap, no stack or heap growth */
    wc_buf_reset(&b);
    while (b.len + 3 <= WC_XML_MAX_BYTES)
        assert_int_equal(wc_buf_append_cstr(&b, "<a>"), WC_OK);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_ERR_TOO_LARGE);
    /* a caller's own cap, and one past the hard limit clamped to it */
    s_nested(&b, 4);
    o.max_depth = 3;
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_ERR_TOO_LARGE);
    o.max_depth = 1000;
    s_nested(&b, WC_XML_DEPTH_LIMIT);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_OK);
    s_nested(&b, WC_XML_DEPTH_LIMIT + 1);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_ERR_TOO_LARGE);
    /* a path longer than WC_XML_MAX_PATH */
    wc_buf_reset(&b);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(wc_buf_append_char(&b, '<'), WC_OK);
        for (int j = 0; j < 200; j++)
            assert_int_equal(wc_buf_append_char(&b, 'n'), WC_OK);
        assert_int_equal(wc_buf_append_char(&b, '>'), WC_OK);
    }
    o.max_depth = 0;
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_ERR_TOO_LARGE);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&r.log);
}

static void test_oversized_text(void **state)
{
    static const char cut[] = "<r><t>\xC3\xA9\xC3\xA9\xC3\xA9</t><u>ok</u></r>";
    struct wc_xml_options o = {0};
    struct wc_buf b = WC_BUF_INIT;
    struct s_rec r = {0};

    (void)state;
    wc_buf_init(&b, 0);
    assert_int_equal(wc_buf_append_cstr(&b, "<r><t>"), WC_OK);
    for (size_t i = 0; i < WC_XML_MAX_TEXT_BYTES; i++)
        assert_int_equal(wc_buf_append_char(&b, 'x'), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, "</t></r>"), WC_OK);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_OK); /* exactly the cap */
    /* one byte more, through a character reference */
    b.len -= strlen("</t></r>");
    assert_int_equal(wc_buf_append_cstr(&b, "&#x79;</t></r>"), WC_OK);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_ERR_TOO_LARGE);
    assert_int_equal(r.n, 0);
    /* cut instead, on a UTF-8 boundary: 5 bytes of "\xC3\xA9" pairs keep 4 */
    o.max_text_bytes = 5;
    o.cut_text = true;
    assert_int_equal(s_parse_opts(cut, strlen(cut), &o, &r), WC_OK);
    assert_true(r.cut_seen);
    assert_string_equal(s_log(&r), "/r/t=\xC3\xA9\xC3\xA9|/r/u=ok|/r*=|");
    /* without cut_text the same is refused */
    o.cut_text = false;
    assert_int_equal(s_parse_opts(cut, strlen(cut), &o, &r), WC_ERR_TOO_LARGE);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&r.log);
}

static void test_oversized_input(void **state)
{
    struct wc_xml_options o = {0};
    struct wc_buf b = WC_BUF_INIT;
    struct s_rec r = {0};

    (void)state;
    wc_buf_init(&b, 0);
    assert_int_equal(wc_buf_append_cstr(&b, "<r>"), WC_OK);
    while (b.len + 8 <= WC_XML_MAX_BYTES)
        assert_int_equal(wc_buf_append_cstr(&b, "<a/>"), WC_OK);
    while (b.len < WC_XML_MAX_BYTES - 4)
        assert_int_equal(wc_buf_append_char(&b, ' '), WC_OK);
    assert_int_equal(wc_buf_append_cstr(&b, "</r>"), WC_OK);
    assert_int_equal(b.len, WC_XML_MAX_BYTES);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_OK);
    assert_int_equal(wc_buf_append_char(&b, ' '), WC_OK);
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_ERR_TOO_LARGE);
    assert_int_equal(r.n, 0);
    o.max_bytes = b.len;
    assert_int_equal(s_parse_opts(b.ptr, b.len, &o, &r), WC_OK);
    o.max_bytes = 10;
    assert_int_equal(s_parse_opts("<r>12345</r>", 12, &o, &r), WC_ERR_TOO_LARGE);
    wc_buf_clean_up(&b);
    wc_buf_clean_up(&r.log);
}

static void test_not_utf8(void **state)
{
    static const char *docs[] = {
        "<r>caf\xE9</r>",                   /* Latin-1 byte */
        "<r>\xC0\xAF</r>",                  /* overlong '/' */
        "<r>\xED\xA0\x80</r>",              /* UTF-16 surrogate */
        "<r>\xF4\x90\x80\x80</r>",          /* past U+10FFFF */
        "<r>\xE2\x82</r>",                  /* cut sequence */
        "<r\xFF>1</r\xFF>",                 /* in a name */
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf\xE9</r>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>ascii only</r>",
        "<?xml version=\"1.0\" encoding=\"US-ASCII\"?><r>1</r>",
        "<r>\x01</r>",                      /* not an XML character */
    };
    /* UTF-16 with a byte-order mark ("<r>1</r>"; expat would honour it), UTF-16
     * without one, and a plain NUL byte */
    static const char utf16le[] = "\xFF\xFE<\0r\0>\0" "1\0<\0/\0r\0>\0";
    static const char utf16be[] = "\xFE\xFF\0<\0r\0>\0" "1\0<\0/\0r\0>";
    static const char nobom[] = "<\0r\0>\0" "1\0<\0/\0r\0>\0";
    static const char nul[] = "<r>1\0</r>";
    static const struct {
        const char *p;
        size_t n;
    } raw[] = {{utf16le, sizeof(utf16le) - 1}, {utf16be, sizeof(utf16be) - 1},
               {nobom, sizeof(nobom) - 1}, {nul, sizeof(nul) - 1}};
    struct wc_xml_options o = {0};
    struct s_rec r = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        assert_int_equal(s_parse(docs[i], &r), WC_ERR_PARSE);
        assert_int_equal(r.n, 0);
    }
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        assert_int_equal(s_parse_opts(raw[i].p, raw[i].n, &o, &r), WC_ERR_PARSE);
        assert_int_equal(r.n, 0);
    }
    /* the declaration naming UTF-8, in any case, is fine */
    assert_int_equal(s_parse("<?xml version=\"1.0\" encoding=\"utf-8\"?><r>caf\xC3\xA9</r>", &r),
                     WC_OK);
    assert_string_equal(s_log(&r), "/r=caf\xC3\xA9|");
    wc_buf_clean_up(&r.log);
}

static void test_truncated(void **state)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ErrorResponse><Error><Code>AccessDenied</Code><Message>a &amp; b <![CDATA[c]]>"
        "caf\xC3\xA9</Message></Error><RequestId>r-1</RequestId></ErrorResponse>";
    struct wc_xml_options o = {0};
    struct s_rec r = {0};

    (void)state;
    assert_int_equal(s_parse_opts(doc, sizeof(doc) - 1, &o, &r), WC_OK);
    for (size_t cut = 0; cut < sizeof(doc) - 1; cut++) {
        int rc = s_parse_opts(doc, cut, &o, &r);

        assert_int_equal(rc, WC_ERR_PARSE);
        /* what came before the fault was seen, never the root's end */
        assert_null(strstr(s_log(&r), "/ErrorResponse*="));
    }
    wc_buf_clean_up(&r.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_and_text),
        cmocka_unit_test(test_parent_is),
        cmocka_unit_test(test_root_and_callback_stop),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_external_entity),
        cmocka_unit_test(test_doctype_and_entities),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_oversized_text),
        cmocka_unit_test(test_oversized_input),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_truncated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
