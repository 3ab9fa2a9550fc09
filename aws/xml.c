#include "aws/xml.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "core/buf.h"
#include "core/err.h"

struct s_parse {
    XML_Parser xp;
    const struct wc_xml_options *o;
    int max_depth;
    int depth;                                /* open elements */
    char path[WC_XML_MAX_PATH + 1];
    size_t path_len[WC_XML_DEPTH_LIMIT + 1];  /* [d]: path length with d elements open */
    bool has_child[WC_XML_DEPTH_LIMIT + 1];   /* [d]: element at depth d has a child */
    char *text;                               /* text of the innermost open element */
    size_t text_len, text_cap;                /* text_cap: at most max_text_bytes */
    bool text_cut;
    int rc;
};

/* --- expat's memory: wiped before it is freed -------------------------------
 * expat copies the document into its own buffers; an STS answer holds a
 * secret key and a session token, so nothing it allocated is freed unwiped. */

union s_hdr {
    size_t size;
    max_align_t align; /* cppcheck-suppress unusedStructMember ; it aligns what follows */
};

static void *s_malloc(size_t n)
{
    union s_hdr *h;

    if (n > SIZE_MAX - sizeof(*h) || !(h = malloc(sizeof(*h) + n)))
        return NULL;
    h->size = n;
    return h + 1;
}

static void s_free(void *p)
{
    union s_hdr *h;

    if (!p)
        return;
    h = (union s_hdr *)p - 1;
    wc_secure_zero(p, h->size);
    free(h);
}

static void *s_realloc(void *p, size_t n)
{
    size_t old;
    void *q;

    if (!p)
        return s_malloc(n);
    old = ((union s_hdr *)p - 1)->size;
    if (!(q = s_malloc(n)))
        return NULL;
    memcpy(q, p, old < n ? old : n);
    s_free(p);
    return q;
}

static const XML_Memory_Handling_Suite s_memory = {s_malloc, s_realloc, s_free};

/* --- handlers ---------------------------------------------------------------- */

static void s_fail(struct s_parse *st, int rc)
{
    if (st->rc == WC_OK)
        st->rc = rc;
    XML_StopParser(st->xp, XML_FALSE);
}

static void s_text_reset(struct s_parse *st)
{
    wc_secure_zero(st->text, st->text_len);
    st->text_len = 0;
    st->text_cut = false;
}

/* Local name of an expat namespace-qualified name "uri|local". */
static const char *s_local(const char *name)
{
    const char *bar = strrchr(name, '|');

    return bar ? bar + 1 : name;
}

static void XMLCALL s_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct s_parse *st = ud;
    const char *local = s_local(name);
    size_t n = strlen(local), at;

    (void)atts;
    if (st->rc != WC_OK)
        return;
    if (st->depth >= st->max_depth) {
        s_fail(st, WC_ERR_TOO_LARGE);
        return;
    }
    if (st->depth == 0 && st->o->root && strcmp(local, st->o->root) != 0) {
        s_fail(st, WC_ERR_PARSE); /* not the document asked for */
        return;
    }
    at = st->path_len[st->depth];
    if (n + 1 > WC_XML_MAX_PATH - at) {
        s_fail(st, WC_ERR_TOO_LARGE);
        return;
    }
    st->has_child[st->depth] = true;
    st->path[at] = '/';
    memcpy(st->path + at + 1, local, n + 1);
    st->depth++;
    st->path_len[st->depth] = at + 1 + n;
    st->has_child[st->depth] = false;
    s_text_reset(st);
}

static void XMLCALL s_chars(void *ud, const XML_Char *s, int len)
{
    struct s_parse *st = ud;
    size_t n = len > 0 ? (size_t)len : 0;

    if (st->rc != WC_OK || st->depth == 0 || n == 0 || st->has_child[st->depth] ||
        st->text_cut)
        return;
    if (n > st->text_cap - st->text_len) {
        if (!st->o->cut_text) {
            s_fail(st, WC_ERR_TOO_LARGE);
            return;
        }
        n = wc_str_utf8_prefix(s, n, st->text_cap - st->text_len);
        st->text_cut = true;
    }
    memcpy(st->text + st->text_len, s, n);
    st->text_len += n;
    st->text[st->text_len] = '\0';
}

static void XMLCALL s_end(void *ud, const XML_Char *name)
{
    struct s_parse *st = ud;
    struct wc_xml_element el;
    int rc;

    (void)name;
    if (st->rc != WC_OK || st->depth == 0)
        return;
    memset(&el, 0, sizeof(el));
    el.path = st->path;
    el.name = st->path + st->path_len[st->depth - 1] + 1;
    el.depth = st->depth;
    el.has_children = st->has_child[st->depth];
    el.text_cut = !el.has_children && st->text_cut;
    el.text = el.has_children ? (struct wc_str){"", 0} : (struct wc_str){st->text, st->text_len};
    rc = st->o->on_element(st->o->ctx, &el);
    s_text_reset(st);
    st->depth--;
    st->path[st->path_len[st->depth]] = '\0';
    if (rc != WC_OK)
        s_fail(st, rc);
}

/* No response of ours has a DTD: refuse it before its internal subset is read. */
static void XMLCALL s_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                              const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    s_fail(ud, WC_ERR_PARSE);
}

/* Unreachable with the DOCTYPE refused; kept so no path declares an entity. */
static void XMLCALL s_entity_decl(void *ud, const XML_Char *name, int is_param,
                                  const XML_Char *value, int value_len, const XML_Char *base,
                                  const XML_Char *sysid, const XML_Char *pubid,
                                  const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    s_fail(ud, WC_ERR_PARSE);
}

static int XMLCALL s_external_entity_ref(XML_Parser p, const XML_Char *context,
                                         const XML_Char *base, const XML_Char *sysid,
                                         const XML_Char *pubid)
{
    (void)p;
    (void)context;
    (void)base;
    (void)sysid;
    (void)pubid;
    return XML_STATUS_ERROR; /* never load anything */
}

/* The parser is told the input is UTF-8; a document saying otherwise is not ours. */
static void XMLCALL s_xml_decl(void *ud, const XML_Char *version, const XML_Char *encoding,
                               int standalone)
{
    (void)version;
    (void)standalone;
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        s_fail(ud, WC_ERR_PARSE);
}

/* --- entry points ------------------------------------------------------------ */

int wc_xml_parse(const char *xml, size_t len, const struct wc_xml_options *o)
{
    struct s_parse *st = NULL;
    size_t max_bytes, max_text;
    int rc;

    if (!xml || !o || !o->on_element)
        return WC_ERR_INVALID;
    max_bytes = o->max_bytes ? o->max_bytes : WC_XML_MAX_BYTES;
    if (max_bytes > (size_t)INT_MAX)
        max_bytes = (size_t)INT_MAX;
    if (len > max_bytes)
        return WC_ERR_TOO_LARGE;
    /* expat honours a UTF-16 byte-order mark over the encoding it is given;
     * UTF-16 markup always holds NUL bytes, which XML never allows. */
    if (len == 0 || memchr(xml, '\0', len) ||
        (len >= 2 && ((unsigned char)xml[0] == 0xFE || (unsigned char)xml[0] == 0xFF)))
        return WC_ERR_PARSE;
    if (!(st = calloc(1, sizeof(*st))))
        return WC_ERR_NOMEM;
    st->o = o;
    st->max_depth = o->max_depth > 0 ? o->max_depth : WC_XML_MAX_DEPTH;
    if (st->max_depth > WC_XML_DEPTH_LIMIT)
        st->max_depth = WC_XML_DEPTH_LIMIT;
    max_text = o->max_text_bytes ? o->max_text_bytes : WC_XML_MAX_TEXT_BYTES;
    /* Text is never longer than the document: size the buffer once, so it
     * never reallocates (which would leave unwiped copies behind). */
    st->text_cap = len < max_text ? len : max_text;
    if (!(st->text = calloc(1, st->text_cap + 1))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    if (!(st->xp = XML_ParserCreate_MM("UTF-8", &s_memory, "|"))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    XML_SetUserData(st->xp, st);
    XML_SetElementHandler(st->xp, s_start, s_end);
    XML_SetCharacterDataHandler(st->xp, s_chars);
    XML_SetXmlDeclHandler(st->xp, s_xml_decl);
    XML_SetStartDoctypeDeclHandler(st->xp, s_doctype);
    XML_SetEntityDeclHandler(st->xp, s_entity_decl);
    XML_SetExternalEntityRefHandler(st->xp, s_external_entity_ref);
    XML_SetParamEntityParsing(st->xp, XML_PARAM_ENTITY_PARSING_NEVER);
    if (XML_Parse(st->xp, xml, (int)len, XML_TRUE) != XML_STATUS_OK && st->rc == WC_OK)
        st->rc = XML_GetErrorCode(st->xp) == XML_ERROR_NO_MEMORY ? WC_ERR_NOMEM : WC_ERR_PARSE;
    rc = st->rc;
out:
    if (st->xp)
        XML_ParserFree(st->xp);
    if (st->text) {
        wc_secure_zero(st->text, st->text_cap + 1);
        free(st->text);
    }
    free(st);
    return rc;
}

bool wc_xml_parent_is(const struct wc_xml_element *el, const char *parent)
{
    const char *slash, *start;
    size_t n;

    if (!el || !el->path || !el->name || !parent || el->depth < 2)
        return false;
    n = strlen(parent);
    slash = el->name - 1; /* the '/' before the element's own name */
    if ((size_t)(slash - el->path) < n + 1)
        return false;
    start = slash - n;
    return start[-1] == '/' && memcmp(start, parent, n) == 0;
}
