#include "core/notifier.h"

#include "core/err.h"

int wc_notifier_render(struct wc_notifier *n, const struct wc_notice *notice, struct wc_buf *out)
{
    if (!n || !n->vtable || !n->vtable->render || !notice || notice->n_findings == 0 || !out)
        return WC_ERR_INVALID;
    return n->vtable->render(n, notice, out);
}

int wc_notifier_send(struct wc_notifier *n, const struct wc_notice *notice,
                     struct wc_send_result *result)
{
    struct wc_send_result ignored = {0};

    if (!n || !n->vtable || !n->vtable->send || !notice || notice->n_findings == 0)
        return WC_ERR_INVALID;
    return n->vtable->send(n, notice, result ? result : &ignored);
}

int wc_notifier_reopen(struct wc_notifier *n)
{
    if (!n || !n->vtable)
        return WC_ERR_INVALID;
    return n->vtable->reopen ? n->vtable->reopen(n) : WC_OK;
}

void wc_notifier_destroy(struct wc_notifier *n)
{
    if (n && n->vtable && n->vtable->destroy)
        n->vtable->destroy(n);
}

bool wc_notifier_wants(const struct wc_notifier *n, enum wc_verdict v)
{
    return n && (n->verdict_mask & WC_VERDICT_BIT(v)) != 0;
}

size_t wc_notifier_fit(struct wc_notifier *n, const struct wc_notice *notice)
{
    size_t k;

    if (!notice || notice->n_findings == 0)
        return 0;
    if (!n || !n->vtable || !n->vtable->fit)
        return 1;
    k = n->vtable->fit(n, notice);
    if (k < 1)
        k = 1;
    return k > notice->n_findings ? notice->n_findings : k;
}

bool wc_notifier_digests(const struct wc_notifier *n)
{
    return n && n->vtable && n->vtable->fit;
}
