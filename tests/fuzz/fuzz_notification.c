/* fuzz_notification.c - an SQS message body into a change
 * (wc_notification_parse), and the same bytes as the S3 object of an
 * oversized item (wc_notification_parse_oversized_object).
 *
 * Invariants: a failure leaves *out NULL and a one-line reason; a success
 * has a known kind and envelope, the documented caps (properties, related
 * events, value length), the required fields of a change, and survives a
 * deep copy unchanged. */
#include <stdlib.h>
#include <string.h>

#include "core/change.h"
#include "core/err.h"
#include "tests/fuzz/harness.h"

static void s_check_err(int rc, const struct wc_notification *n, const char *err)
{
    FUZZ_CHECK(rc < 0, "rc %d", rc);
    FUZZ_CHECK(n == NULL, "failure with a notification");
    FUZZ_CHECK(err[0] != '\0', "failure (%s) without a reason", wc_strerror(rc));
    for (const char *p = err; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20, "control byte in the reason: %s", err);
}

static bool s_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void s_check_change(const struct wc_change *c, bool full)
{
    struct wc_change copy;

    FUZZ_CHECK(c->resource_type && c->resource_type[0], "change without resourceType");
    FUZZ_CHECK(c->resource_id && c->resource_id[0], "change without resourceId");
    FUZZ_CHECK(!c->region || c->lookup_region, "region %s without a lookup region", c->region);
    FUZZ_CHECK(c->n_props <= WC_CHANGE_MAX_PROPERTIES, "%zu properties kept", c->n_props);
    FUZZ_CHECK(c->n_props <= c->n_props_total, "%zu kept of %zu", c->n_props, c->n_props_total);
    FUZZ_CHECK(c->related_event_ids.len <= WC_CHANGE_MAX_RELATED, "%zu related events",
               c->related_event_ids.len);
    for (size_t i = 0; i < c->n_props; i++) {
        const struct wc_changed_property *p = &c->props[i];

        FUZZ_CHECK(p->path, "property %zu without a path", i);
        FUZZ_CHECK(!p->before || strlen(p->before) <= WC_CHANGE_VALUE_MAX, "before of %zu bytes",
                   strlen(p->before));
        FUZZ_CHECK(!p->after || strlen(p->after) <= WC_CHANGE_VALUE_MAX, "after of %zu bytes",
                   strlen(p->after));
    }
    if (!full)
        return;
    memset(&copy, 0, sizeof(copy));
    if (wc_change_copy(&copy, c) == WC_OK) {
        FUZZ_CHECK(s_eq(copy.resource_id, c->resource_id) &&
                       s_eq(copy.resource_type, c->resource_type) &&
                       s_eq(copy.account_id, c->account_id) && s_eq(copy.region, c->region) &&
                       s_eq(copy.lookup_region, c->lookup_region) && s_eq(copy.arn, c->arn) &&
                       copy.capture_time_ms == c->capture_time_ms &&
                       copy.n_props == c->n_props && copy.n_props_total == c->n_props_total &&
                       copy.related_event_ids.len == c->related_event_ids.len,
                   "the copy differs");
        for (size_t i = 0; i < c->n_props; i++)
            FUZZ_CHECK(s_eq(copy.props[i].path, c->props[i].path) &&
                           s_eq(copy.props[i].before, c->props[i].before) &&
                           s_eq(copy.props[i].after, c->props[i].after),
                       "property %zu differs in the copy", i);
    }
    wc_change_clean_up(&copy);
}

static void s_check(const struct wc_notification *n)
{
    FUZZ_CHECK(n, "success without a notification");
    FUZZ_CHECK(n->kind >= WC_NOTE_CHANGE && n->kind <= WC_NOTE_OTHER, "kind %d", (int)n->kind);
    FUZZ_CHECK(n->envelope >= WC_ENV_SNS && n->envelope <= WC_ENV_EVENTBRIDGE, "envelope %d",
               (int)n->envelope);
    if (n->kind == WC_NOTE_CHANGE) {
        FUZZ_CHECK(n->n_items >= 1, "a change with %zu items", n->n_items);
        s_check_change(&n->change, true);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wc_str body = {(const char *)data, size};
    struct wc_notification *n = NULL;
    char err[256];
    int rc;

    err[0] = '\0';
    rc = wc_notification_parse(body, &n, err, sizeof(err));
    if (rc == WC_OK)
        s_check(n);
    else
        s_check_err(rc, n, err);
    wc_notification_destroy(n);

    n = NULL;
    err[0] = '\0';
    rc = wc_notification_parse_oversized_object(body, &n, err, sizeof(err));
    if (rc == WC_OK) {
        s_check(n);
        FUZZ_CHECK(n->kind == WC_NOTE_CHANGE, "an S3 object parsed as kind %d", (int)n->kind);
    } else {
        s_check_err(rc, n, err);
    }
    wc_notification_destroy(n);
    return 0;
}
