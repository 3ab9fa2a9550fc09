#include "core/queue.h"

#include <stdlib.h>

#include "core/err.h"

int wc_queue_receive(struct wc_queue *q, int max_messages, int wait_s, struct wc_queue_batch *out)
{
    if (!q || !q->vtable || !q->vtable->receive || !out || max_messages < 1 ||
        max_messages > WC_QUEUE_MAX_BATCH || wait_s < 0 || wait_s > 20)
        return WC_ERR_INVALID;
    return q->vtable->receive(q, max_messages, wait_s, out);
}

int wc_queue_delete_batch(struct wc_queue *q, const char *const *receipt_handles, size_t n,
                          int *results)
{
    if (!q || !q->vtable || !q->vtable->delete_batch || !results || n == 0 ||
        n > WC_QUEUE_MAX_BATCH)
        return WC_ERR_INVALID;
    return q->vtable->delete_batch(q, receipt_handles, n, results);
}

int wc_queue_retry_later(struct wc_queue *q, const char *receipt_handle, int delay_s)
{
    if (!q || !q->vtable || !q->vtable->retry_later || !receipt_handle || delay_s < 0 ||
        delay_s > 43200)
        return WC_ERR_INVALID;
    return q->vtable->retry_later(q, receipt_handle, delay_s);
}

int wc_queue_change_visibility_batch(struct wc_queue *q, const char *const *receipt_handles,
                                     size_t n, int visibility_s, int *results)
{
    if (!q || !q->vtable || !receipt_handles || !results || n == 0 ||
        n > WC_QUEUE_MAX_BATCH || visibility_s < 0 || visibility_s > 43200)
        return WC_ERR_INVALID;
    if (!q->vtable->change_visibility_batch)
        return WC_ERR_UNSUPPORTED;
    return q->vtable->change_visibility_batch(q, receipt_handles, n, visibility_s, results);
}

int wc_queue_visibility_timeout(struct wc_queue *q, int *out_s)
{
    if (!q || !q->vtable || !out_s)
        return WC_ERR_INVALID;
    if (!q->vtable->visibility_timeout)
        return WC_ERR_UNSUPPORTED;
    return q->vtable->visibility_timeout(q, out_s);
}

void wc_queue_destroy(struct wc_queue *q)
{
    if (q && q->vtable && q->vtable->destroy)
        q->vtable->destroy(q);
}

void wc_queue_message_clean_up(struct wc_queue_message *m)
{
    if (!m)
        return;
    free(m->message_id);
    free(m->receipt_handle);
    free(m->body);
    m->message_id = m->receipt_handle = m->body = NULL;
}

void wc_queue_batch_clean_up(struct wc_queue_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->len; i++)
        wc_queue_message_clean_up(&b->items[i]);
    free(b->items);
    b->items = NULL;
    b->len = 0;
}
