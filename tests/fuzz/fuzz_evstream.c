/* fuzz_evstream.c - the events queue's bodies (wc_evstream_parse: an
 * EventBridge "AWS API Call via CloudTrail" event, raw or in an SNS
 * envelope), then the event into an index (wc_evindex_add) and back out
 * through the lookups of a change it names.
 *
 * Invariants: a failure leaves the message empty with a reason; parsing is
 * deterministic; a kept event has an id, a name, a valid account and
 * region, is a write call, and its derived names are non-empty, within
 * their caps and each once; once indexed it is found by the change its
 * first name (or its event id, as a related event) names, at its own time,
 * and the index's bytes stay within its cap. */
#include <stdlib.h>
#include <string.h>

#include "core/awsid.h"
#include "core/change.h"
#include "core/err.h"
#include "core/evindex.h"
#include "core/evstream.h"
#include "core/trail.h"
#include "tests/fuzz/harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void s_check_event(const struct wc_event *e, const char **first_name)
{
    size_t derived = 0;

    FUZZ_CHECK(!wc_str_empty(e->event_id) && !wc_str_empty(e->event_name),
               "a kept event without id or name");
    FUZZ_CHECK(wc_account_id_is_valid(e->recipient_account_id), "account %s",
               e->recipient_account_id);
    FUZZ_CHECK(wc_region_is_valid(e->aws_region), "region %s", e->aws_region);
    FUZZ_CHECK(!e->read_only, "a read-only event kept");
    FUZZ_CHECK(e->n_resources > 0 || e->param_strings.len > 0, "nothing names event %s",
               e->event_id);
    *first_name = NULL;
    for (size_t i = 0; i < e->n_resources; i++) {
        const char *n = e->resources[i].name;

        if (!n)
            continue;
        derived++;
        FUZZ_CHECK(n[0] != '\0' && strlen(n) <= WC_EVSTREAM_NAME_MAX_BYTES,
                   "derived name %zu: %zu bytes", i, strlen(n));
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(!e->resources[j].name || strcmp(e->resources[j].name, n) != 0,
                       "derived name %s twice", n);
        if (!*first_name)
            *first_name = n;
    }
    FUZZ_CHECK(derived <= WC_EVSTREAM_MAX_NAMES, "%zu derived names", derived);
}

/* The event, indexed at its own time, is found by a change it names. */
static void s_check_index(struct wc_event *e, const char *first_name)
{
    struct wc_evindex *x = wc_evindex_new(NULL);
    struct wc_evindex_stats st;
    struct wc_change c;
    struct wc_event_list l = WC_EVENT_LIST_INIT;
    enum wc_evindex_added how = 0;
    char *id = wc_strdup(e->event_id);
    bool write = !e->error_code;
    int64_t t = e->event_time_ms;
    int rc;

    FUZZ_CHECK(x && id, "out of memory");
    memset(&c, 0, sizeof(c));
    c.account_id = wc_strdup(e->recipient_account_id);
    c.region = wc_strdup(e->aws_region);
    c.resource_id = wc_strdup(first_name ? first_name : "no-name");
    c.capture_time_ms = t;
    FUZZ_CHECK(c.account_id && c.region && c.resource_id, "out of memory");
    if (!first_name)
        FUZZ_CHECK(wc_strlist_push(&c.related_event_ids, id) == WC_OK, "out of memory");

    rc = wc_evindex_add(x, e, t, &how, NULL);
    FUZZ_CHECK(rc == WC_OK && how == WC_EVINDEX_ADDED, "add: %d, %d", rc, (int)how);
    FUZZ_CHECK(e->event_id == NULL, "the event was not taken");
    wc_evindex_get_stats(x, &st);
    FUZZ_CHECK(st.bytes <= st.max_bytes && st.events == 1, "%zu bytes, %zu events", st.bytes,
               st.events);
    rc = wc_evindex_lookup_change(x, &c, 1, &l);
    FUZZ_CHECK(rc == WC_OK, "lookup: %d", rc);
    FUZZ_CHECK(l.len == 1 && !strcmp(l.items[0].event_id, id), "event %s not found (%zu)", id,
               l.len);
    FUZZ_CHECK(wc_trail_found_write(&l) == write, "found_write differs");
    FUZZ_CHECK(wc_evindex_covers(x, &c, 1, t), "the window is not covered");
    wc_event_list_clean_up(&l);
    wc_change_clean_up(&c);
    free(id);
    wc_evindex_destroy(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT, again = WC_EVSTREAM_MSG_INIT;
    struct wc_str body = {size ? (const char *)data : NULL, size};
    const char *first = NULL;
    char err[256];
    int rc, rc2;

    rc = wc_evstream_parse(body, &m, err, sizeof(err));
    FUZZ_CHECK(rc <= 0, "rc %d", rc);
    if (rc != WC_OK) {
        FUZZ_CHECK(m.kind == 0 && m.event.event_id == NULL && m.event.resources == NULL,
                   "a failed parse (%s) left a message", err);
        FUZZ_CHECK(err[0] != '\0', "failure %s without a reason", wc_strerror(rc));
    } else {
        FUZZ_CHECK(m.kind >= WC_EVSTREAM_EVENT && m.kind <= WC_EVSTREAM_SNS_CONTROL, "kind %d",
                   (int)m.kind);
        FUZZ_CHECK(m.kind == WC_EVSTREAM_EVENT || m.event.event_id == NULL,
                   "an ignorable message (%s) holds an event", wc_evstream_kind_name(m.kind));
    }
    rc2 = wc_evstream_parse(body, &again, err, sizeof(err));
    FUZZ_CHECK(rc2 == rc && again.kind == m.kind && again.sns == m.sns &&
                   wc_strcmp0(again.event.event_id, m.event.event_id) == 0 &&
                   again.event.n_resources == m.event.n_resources,
               "parsing the same bytes again gave another result");
    wc_evstream_msg_clean_up(&again);
    if (rc == WC_OK && m.kind == WC_EVSTREAM_EVENT) {
        s_check_event(&m.event, &first);
        s_check_index(&m.event, first);
    }
    wc_evstream_msg_clean_up(&m);
    return 0;
}
