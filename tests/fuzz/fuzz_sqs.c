/* fuzz_sqs.c - SQS answers (aws/sqs.c over the real client, SigV4 and the
 * error mapping, through a fake transport): GetQueueUrl, ReceiveMessage,
 * DeleteMessageBatch and, when the client has it, GetQueueAttributes. The
 * input is the answer to every call, as an HTTP answer in text (see
 * fuzz_push_response) or a bare 200 body.
 *
 * Invariants: a received batch holds at most 10 messages, each with a
 * message id, a receipt handle, a body of body_len bytes and a receive
 * count >= 1, and a failed receive returns none; every batch entry gets
 * WC_OK or an error; every request goes to the SQS endpoint, whatever the
 * answers say (a GetQueueUrl answer names the queue, not the host). */
#include <stdlib.h>
#include <string.h>

#include "aws/sqs.h"
#include "core/err.h"
#include "core/queue.h"
#include "tests/fuzz/harness.h"
#include "tests/support/fake_http.h"

#define S_QUEUE_URL "https://sqs.eu-west-1.amazonaws.com/123456789012/config-changes"

static struct wc_logger *s_lg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_lg = fuzz_logger(true);
    return 0;
}

static struct wc_queue *s_queue(struct fuzz_aws *a, bool by_name)
{
    struct wc_sqs_options o = {0};
    struct wc_queue *q;

    o.aws = a->aws;
    o.creds = a->creds;
    o.region = "eu-west-1";
    o.queue_url = by_name ? NULL : S_QUEUE_URL;
    o.queue_name = by_name ? "config-changes" : NULL;
    o.visibility_timeout_s = 60;
    o.logger = s_lg;
    if (!(q = wc_sqs_new(&o)))
        abort();
    return q;
}

static void s_check_batch(int rc, const struct wc_queue_batch *b)
{
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    if (rc != WC_OK) {
        FUZZ_CHECK(b->len == 0 && b->items == NULL, "failed receive (%s) with messages",
                   wc_strerror(rc));
        return;
    }
    FUZZ_CHECK(b->len <= WC_QUEUE_MAX_BATCH, "%zu messages", b->len);
    for (size_t i = 0; i < b->len; i++) {
        const struct wc_queue_message *m = &b->items[i];

        FUZZ_CHECK(m->message_id && m->message_id[0], "message %zu without id", i);
        FUZZ_CHECK(m->receipt_handle && m->receipt_handle[0], "message %zu without handle", i);
        FUZZ_CHECK(m->body && strlen(m->body) == m->body_len, "message %zu body length", i);
        FUZZ_CHECK(m->receive_count >= 1, "message %zu receive count %d", i, m->receive_count);
        FUZZ_CHECK(m->first_receive_ms >= 0 && m->sent_ms >= 0, "message %zu negative time", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const handles[3] = {"rh-0", "rh-1", "rh-2"};
    struct wc_str answer = {(const char *)data, size};
    struct wc_queue_batch batch = WC_QUEUE_BATCH_INIT;
    struct wc_queue *byname, *byurl;
    struct fuzz_aws a;
    int results[3], rc, vis = 0;

    fuzz_log_reset();
    fuzz_aws_init(&a, s_lg);
    byname = s_queue(&a, true);
    byurl = s_queue(&a, false);

    fuzz_push_response(a.fake, answer);
    rc = wc_sqs_resolve(byname);
    FUZZ_CHECK(rc <= 0, "resolve rc %d", rc);
    FUZZ_CHECK((rc == WC_OK) == (wc_sqs_queue_url(byname) != NULL),
               "resolve %s but queue URL %s", wc_strerror(rc),
               wc_sqs_queue_url(byname) ? wc_sqs_queue_url(byname) : "(none)");

    fuzz_push_response(a.fake, answer);
    rc = wc_queue_receive(byurl, WC_QUEUE_MAX_BATCH, 0, &batch);
    s_check_batch(rc, &batch);
    wc_queue_batch_clean_up(&batch);

    fuzz_push_response(a.fake, answer);
    rc = wc_queue_delete_batch(byurl, handles, 3, results);
    FUZZ_CHECK(rc <= 0, "delete rc %d", rc);
    for (size_t i = 0; rc == WC_OK && i < 3; i++)
        FUZZ_CHECK(results[i] <= 0, "entry %zu result %d", i, results[i]);

    fake_http_clear(a.fake);
    fuzz_push_response(a.fake, answer);
    rc = wc_queue_visibility_timeout(byurl, &vis);
    FUZZ_CHECK(rc <= 0, "visibility timeout rc %d", rc);
    if (rc == WC_OK)
        FUZZ_CHECK(vis >= 0 && vis <= WC_SQS_MAX_VISIBILITY_S, "visibility timeout %d", vis);

    for (size_t i = 0; i < fake_http_n_requests(a.fake); i++) {
        const struct fake_http_req *r = fake_http_request(a.fake, i);

        FUZZ_CHECK(strcmp(r->url, "https://sqs.eu-west-1.amazonaws.com/") == 0,
                   "request %zu went to %s", i, r->url);
    }
    wc_queue_destroy(byname);
    wc_queue_destroy(byurl);
    fuzz_aws_clean_up(&a);
    return 0;
}
