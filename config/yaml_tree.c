/* yaml_tree.c - a small node tree from libyaml parser events.
 *
 * We use the event parser rather than yaml_parser_load() because the
 * document API resolves aliases silently (billion laughs) and loses the fact
 * that a node was an alias; here an alias is an error at its own position.
 */
#include "config/config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

void wc_config_diag_add(struct wc_config_diag *d, int line, int col, const char *fmt, ...)
{
    struct wc_config_errors *e = d->errs;
    struct wc_config_error *items = NULL;
    struct wc_buf reason = WC_BUF_INIT;
    va_list ap;

    d->count++;
    if (d->count > WC_CONFIG_MAX_ERRORS + 1)
        return;
    if (d->count == WC_CONFIG_MAX_ERRORS + 1) {
        line = col = 0;
        fmt = "too many errors, giving up";
    }
    va_start(ap, fmt);
    if (wc_buf_vappendf(&reason, fmt, ap) != WC_OK) {
        va_end(ap);
        d->oom = 1;
        return;
    }
    va_end(ap);
    items = realloc(e->items, (e->len + 1) * sizeof(*items));
    if (!items) {
        wc_buf_clean_up(&reason);
        d->oom = 1;
        return;
    }
    e->items = items;
    items[e->len].file = wc_strdup(d->file ? d->file : "(config)");
    items[e->len].line = line;
    items[e->len].col = col;
    items[e->len].reason = wc_buf_steal(&reason);
    if (!items[e->len].file || !items[e->len].reason) {
        free(items[e->len].file);
        free(items[e->len].reason);
        d->oom = 1;
        return;
    }
    e->len++;
}

void wc_config_errors_clean_up(struct wc_config_errors *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->len; i++) {
        free(e->items[i].file);
        free(e->items[i].reason);
    }
    free(e->items);
    e->items = NULL;
    e->len = 0;
}

int wc_config_errors_print(const struct wc_config_errors *e, FILE *f)
{
    for (size_t i = 0; e && i < e->len; i++) {
        const struct wc_config_error *x = &e->items[i];
        int n;

        if (x->line > 0)
            n = fprintf(f, "%s:%d:%d: %s\n", x->file, x->line, x->col, x->reason);
        else
            n = fprintf(f, "%s: %s\n", x->file, x->reason);
        if (n < 0)
            return WC_ERR_IO;
    }
    return WC_OK;
}

const char *wc_cnode_kind_name(const struct wc_cnode *n)
{
    switch (n ? n->kind : WC_CNODE_NULL) {
    case WC_CNODE_SCALAR:
        return "a string";
    case WC_CNODE_SEQ:
        return "a list";
    case WC_CNODE_MAP:
        return "a mapping";
    case WC_CNODE_NULL:
        return "null";
    default:
        return "an invalid value";
    }
}

void wc_cnode_destroy(struct wc_cnode *n)
{
    /* iterative: the depth is bounded, but a wide tree should not recurse
     * per item either; children are freed through an explicit stack. */
    struct wc_cnode **stack = NULL;
    size_t len = 0, cap = 0;

    if (!n)
        return;
    for (;;) {
        for (size_t i = 0; i < n->n; i++) {
            if (len == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct wc_cnode **s = realloc(stack, ncap * sizeof(*s));
                if (!s)
                    break; /* leak rather than crash: unreachable in practice */
                stack = s;
                cap = ncap;
            }
            stack[len++] = n->items[i];
        }
        if (n->value) {
            wc_secure_zero(n->value, n->len);
            free(n->value);
        }
        free(n->items);
        free(n);
        if (!len)
            break;
        n = stack[--len];
    }
    free(stack);
}

static struct wc_cnode *s_node_new(enum wc_cnode_kind kind, yaml_mark_t mark)
{
    struct wc_cnode *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

static int s_node_append(struct wc_cnode *parent, struct wc_cnode *child)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct wc_cnode **items = realloc(parent->items, cap * sizeof(*items));
        if (!items)
            return WC_ERR_NOMEM;
        parent->items = items;
        parent->cap = cap;
    }
    parent->items[parent->n++] = child;
    return WC_OK;
}

static bool s_is_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;

    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

static struct wc_cnode *s_scalar_new(const yaml_event_t *ev)
{
    struct wc_cnode *n;

    n = s_node_new(s_is_null(ev) ? WC_CNODE_NULL : WC_CNODE_SCALAR, ev->start_mark);
    if (!n)
        return NULL;
    n->len = ev->data.scalar.length;
    n->value = wc_strndup((const char *)ev->data.scalar.value, n->len);
    if (!n->value) {
        free(n);
        return NULL;
    }
    return n;
}

static void s_syntax_error(struct wc_config_diag *d, const yaml_parser_t *p, const char *yaml,
                           size_t len)
{
    yaml_mark_t m = p->problem_mark;
    const char *problem = p->problem ? p->problem : "malformed document";

    if (p->error == YAML_READER_ERROR) {
        /* reader errors (bad encoding, control characters) carry a byte
         * offset, not a mark: count lines up to it */
        int line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++, col++)
            if (yaml[i] == '\n') {
                line++;
                col = 0;
            }
        wc_config_diag_add(d, line, col, "YAML syntax error: %s (at byte %zu)", problem,
                           p->problem_offset);
        return;
    }
    if (p->context)
        wc_config_diag_add(d, (int)m.line + 1, (int)m.column + 1,
                           "YAML syntax error: %s (%s started at line %d column %d)", problem,
                           p->context, (int)p->context_mark.line + 1,
                           (int)p->context_mark.column + 1);
    else
        wc_config_diag_add(d, (int)m.line + 1, (int)m.column + 1, "YAML syntax error: %s",
                           problem);
}

int wc_cnode_parse(struct wc_config_diag *d, const char *yaml, size_t len,
                   struct wc_cnode **root)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct wc_cnode *stack[WC_CNODE_MAX_DEPTH];
    struct wc_cnode *top = NULL, *node = NULL;
    size_t depth = 0;
    int docs = 0, done = 0, have_event = 0;
    int rc = WC_OK;

    *root = NULL;
    memset(&ev, 0, sizeof(ev));
    if (!yaml_parser_initialize(&parser))
        return WC_ERR_NOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    while (!done) {
        const char *tag = NULL;

        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = WC_ERR_NOMEM;
                goto out;
            }
            s_syntax_error(d, &parser, yaml, len);
            rc = WC_ERR_PARSE;
            goto out;
        }
        have_event = 1;
        node = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (docs++ > 0) {
                wc_config_diag_add(d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                                   "only one YAML document is allowed");
                rc = WC_ERR_PARSE;
                goto out;
            }
            break;
        case YAML_ALIAS_EVENT:
            wc_config_diag_add(d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                               "YAML aliases are not allowed (*%s): write the value out",
                               (const char *)ev.data.alias.anchor);
            node = s_node_new(WC_CNODE_BAD, ev.start_mark);
            break;
        case YAML_SCALAR_EVENT:
            tag = (const char *)ev.data.scalar.tag;
            node = s_scalar_new(&ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            tag = (const char *)ev.data.sequence_start.tag;
            node = s_node_new(WC_CNODE_SEQ, ev.start_mark);
            break;
        case YAML_MAPPING_START_EVENT:
            tag = (const char *)ev.data.mapping_start.tag;
            node = s_node_new(WC_CNODE_MAP, ev.start_mark);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
        if ((ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
             ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)) {
            if (!node) {
                rc = WC_ERR_NOMEM;
                goto out;
            }
            if (tag) {
                wc_config_diag_add(d, node->line, node->col,
                                   "YAML tags are not supported (%s)", tag);
                node->kind = WC_CNODE_BAD;
            }
            top = depth ? stack[depth - 1] : NULL;
            if (top) {
                if ((rc = s_node_append(top, node)) != WC_OK) {
                    wc_cnode_destroy(node);
                    goto out;
                }
            } else if (!*root) {
                *root = node;
            } else {
                wc_cnode_destroy(node); /* cannot happen within one document */
                rc = WC_ERR_PARSE;
                goto out;
            }
            if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
                if (depth == WC_CNODE_MAX_DEPTH) {
                    wc_config_diag_add(d, node->line, node->col,
                                       "nesting deeper than %d levels", WC_CNODE_MAX_DEPTH);
                    rc = WC_ERR_PARSE;
                    goto out;
                }
                stack[depth++] = node;
            }
        }
        yaml_event_delete(&ev);
        have_event = 0;
    }
out:
    if (have_event)
        yaml_event_delete(&ev);
    yaml_parser_delete(&parser);
    if (rc != WC_OK) {
        wc_cnode_destroy(*root);
        *root = NULL;
    }
    return rc;
}
