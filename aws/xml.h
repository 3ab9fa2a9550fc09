/* xml.h - the one XML front end: every XML response is read through here.
 *
 * Built on expat, hardened the same way for every caller:
 *   - any DOCTYPE is refused (WC_ERR_PARSE) at its first byte, so there are
 *     no entity declarations, no external entities (XXE) and no entity
 *     expansion (billion laughs); the entity-declaration and external-entity
 *     handlers refuse as well, and parameter entities are never parsed;
 *   - the input is UTF-8 only: the parser is told so (a document declaring
 *     another encoding is refused, and so are bytes that are not UTF-8);
 *   - input size, element depth and the text kept per element are capped
 *     (WC_ERR_TOO_LARGE);
 *   - a malformed or truncated document is WC_ERR_PARSE;
 *   - expat's own buffers (which hold copies of the input, secrets included)
 *     are wiped before they are freed.
 *
 * The caller sees each element when it closes: its path of local names from
 * the root ("/ErrorResponse/Error/Code"; a namespace or prefix is dropped, so
 * <sts:Code> is "Code"), its depth (the root is 1) and, for an element with
 * no child element, its text (character data with references resolved and
 * CDATA included, untrimmed). An element holding child elements has
 * has_children set and empty text (mixed-content text is dropped).
 * Callbacks fire as the document is read: when the parse fails, those made
 * before the fault have happened.
 */
#ifndef WC_AWS_XML_H
#define WC_AWS_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

#define WC_XML_MAX_BYTES ((size_t)64 * 1024)   /* default input cap */
#define WC_XML_MAX_DEPTH 16                    /* default depth cap (root = 1) */
#define WC_XML_DEPTH_LIMIT 64                  /* max_depth is clamped to this */
#define WC_XML_MAX_TEXT_BYTES ((size_t)16 * 1024) /* default text cap per element */
#define WC_XML_MAX_PATH 1024                   /* longest element path, bytes */

struct wc_xml_element {
    const char *path;   /* "/Root/Child/Leaf", NUL-terminated */
    const char *name;   /* local name: the last segment of path */
    int depth;          /* 1 for the root */
    bool has_children;  /* then text is empty */
    bool text_cut;      /* text stopped at max_text_bytes (cut_text only) */
    struct wc_str text; /* borrowed; wiped once the callback returns */
};

/* Return WC_OK to go on; anything else stops the parse and is returned. */
typedef int (*wc_xml_element_fn)(void *ctx, const struct wc_xml_element *el);

struct wc_xml_options {
    wc_xml_element_fn on_element; /* required */
    void *ctx;
    const char *root;      /* NULL: any; else the root's local name (WC_ERR_PARSE if not) */
    size_t max_bytes;      /* 0: WC_XML_MAX_BYTES (at most INT_MAX) */
    int max_depth;         /* 0: WC_XML_MAX_DEPTH */
    size_t max_text_bytes; /* 0: WC_XML_MAX_TEXT_BYTES */
    bool cut_text;         /* keep the first max_text_bytes (cut on a UTF-8
                            * boundary) of a longer text instead of refusing */
};

/* Parse xml[0..len) calling o->on_element per element. Returns WC_OK for a
 * well-formed document, WC_ERR_INVALID (NULL argument), WC_ERR_PARSE (see
 * above; also an empty input), WC_ERR_TOO_LARGE, WC_ERR_NOMEM, or what a
 * callback returned. */
int wc_xml_parse(const char *xml, size_t len, const struct wc_xml_options *o);

/* true when el's parent element has the local name parent. */
bool wc_xml_parent_is(const struct wc_xml_element *el, const char *parent);

#endif
