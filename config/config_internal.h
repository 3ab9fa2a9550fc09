/* config_internal.h - helpers shared by the files of config/: a small tree
 * built from libyaml parser events (so that aliases, tags and positions stay
 * under our control), and error collection. */
#ifndef WC_CONFIG_INTERNAL_H
#define WC_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Deepest nesting the tree accepts. */
#define WC_CNODE_MAX_DEPTH 64

enum wc_cnode_kind {
    WC_CNODE_BAD = 0, /* stands for something already reported (an alias) */
    WC_CNODE_NULL,    /* plain "", "~", "null", "Null", "NULL" */
    WC_CNODE_SCALAR,
    WC_CNODE_SEQ,
    WC_CNODE_MAP,
};

struct wc_cnode {
    enum wc_cnode_kind kind;
    int line, col;            /* 1-based */
    char *value;              /* scalars (and NULL nodes): the text as written */
    size_t len;
    /* SEQ: the items; MAP: key, value, key, value ... */
    struct wc_cnode **items;
    size_t n;
    size_t cap;
};

/* Collects errors; after WC_CONFIG_MAX_ERRORS it adds one last "too many
 * errors" entry and ignores the rest. errs may not be NULL. */
struct wc_config_diag {
    struct wc_config_errors *errs;
    const char *file;
    size_t count;   /* errors reported, including those not stored */
    int oom;        /* an allocation failed while reporting */
};

void wc_config_diag_add(struct wc_config_diag *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parse yaml into a tree. *root is NULL for an empty stream. Returns WC_OK
 * (possibly with errors reported for aliases or tags: the tree stays usable,
 * the bad nodes are WC_CNODE_BAD), WC_ERR_PARSE after a syntax error (reported),
 * or WC_ERR_NOMEM. */
int wc_cnode_parse(struct wc_config_diag *d, const char *yaml, size_t len,
                   struct wc_cnode **root);
/* Frees the tree, wiping scalar text (it may hold secrets). NULL-safe. */
void wc_cnode_destroy(struct wc_cnode *n);
/* "a string", "a list", "a mapping", "null". */
const char *wc_cnode_kind_name(const struct wc_cnode *n);

#endif
