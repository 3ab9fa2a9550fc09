/* queue.h - the queue port: receive, delete, retry later.
 *
 * core/ declares it; aws/sqs.c implements it with SQS; tests use fakes.
 */
#ifndef WC_QUEUE_H
#define WC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define WC_QUEUE_MAX_BATCH 10

struct wc_queue_message {
    char *message_id;
    char *receipt_handle;     /* changes on every receive: delete with the latest */
    char *body;
    size_t body_len;
    int receive_count;        /* ApproximateReceiveCount (1 on first delivery) */
    int64_t first_receive_ms; /* ApproximateFirstReceiveTimestamp, 0 if unknown */
    int64_t sent_ms;          /* SentTimestamp, 0 if unknown */
};

struct wc_queue_batch {
    struct wc_queue_message *items;
    size_t len;
};

#define WC_QUEUE_BATCH_INIT {NULL, 0}

struct wc_queue;

struct wc_queue_vtable {
    const char *name;
    /* Long-poll for up to max_messages (1..10), waiting up to wait_s (0..20). */
    int (*receive)(struct wc_queue *q, int max_messages, int wait_s, struct wc_queue_batch *out);
    /* Delete up to 10 messages; results[i] is WC_OK or a negative wc_err for
     * each handle (partial failure is normal). Returns WC_OK when the call
     * itself succeeded. */
    int (*delete_batch)(struct wc_queue *q, const char *const *receipt_handles, size_t n,
                        int *results);
    /* Make the message visible again after delay_s (0..43200). */
    int (*retry_later)(struct wc_queue *q, const char *receipt_handle, int delay_s);
    /* ChangeMessageVisibilityBatch: give each of n (1..10) messages
     * visibility_s (0..43200) from now - the lease heartbeat, and the
     * release of many at once. results[i] as for delete_batch
     * (WC_ERR_NOT_FOUND: no longer in flight). */
    int (*change_visibility_batch)(struct wc_queue *q, const char *const *receipt_handles,
                                   size_t n, int visibility_s, int *results);
    /* The queue's VisibilityTimeout attribute in seconds (GetQueueAttributes). */
    int (*visibility_timeout)(struct wc_queue *q, int *out_s);
    void (*destroy)(struct wc_queue *q);
};

struct wc_queue {
    const struct wc_queue_vtable *vtable;
    void *impl;
};

int wc_queue_receive(struct wc_queue *q, int max_messages, int wait_s, struct wc_queue_batch *out);
int wc_queue_delete_batch(struct wc_queue *q, const char *const *receipt_handles, size_t n,
                          int *results);
int wc_queue_retry_later(struct wc_queue *q, const char *receipt_handle, int delay_s);
int wc_queue_change_visibility_batch(struct wc_queue *q, const char *const *receipt_handles,
                                     size_t n, int visibility_s, int *results);
int wc_queue_visibility_timeout(struct wc_queue *q, int *out_s);
void wc_queue_destroy(struct wc_queue *q);

void wc_queue_message_clean_up(struct wc_queue_message *m);
void wc_queue_batch_clean_up(struct wc_queue_batch *b);

#endif
