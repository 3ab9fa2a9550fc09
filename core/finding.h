/* finding.h - correlation of a change with CloudTrail events, and the
 * verdict. No I/O.
 *
 * An event matches a change when
 *   - it names the resource: one of its Resources (LookupEvents) or resources
 *     (log record) has the change's resource id, name or ARN; or the change's
 *     relatedEvents lists its event id; or a string in its requestParameters
 *     equals the resource id or ARN;
 *   - its eventTime is within [capture - skew_s, capture + skew_s] (inclusive);
 *   - it is not read-only, did not fail (no errorCode), and its name is not in
 *     the policy's ignore.event_names.
 * Matches are ordered by |offset| (closest first), then time, then event id.
 */
#ifndef WC_FINDING_H
#define WC_FINDING_H

#include <stdint.h>

#include "core/buf.h"
#include "core/change.h"
#include "core/classify.h"
#include "core/event.h"
#include "core/policy.h"

enum wc_verdict {
    WC_VERDICT_IGNORED = 1,
    WC_VERDICT_HUMAN,
    WC_VERDICT_AUTOMATION,
    WC_VERDICT_AWS_SERVICE,
    WC_VERDICT_UNATTRIBUTED,
};

struct wc_match {
    struct wc_event event;            /* owned copy */
    struct wc_classification cls;     /* actor views point into event */
    int64_t offset_ms;                /* event time - capture time */
};

struct wc_finding {
    enum wc_verdict verdict;
    char *reason;                     /* one line */
    struct wc_change change;          /* owned copy (zeroed for non-changes) */
    bool is_change;                   /* false when the notification is not a change */
    struct wc_match *matches;         /* for human: only the human events */
    size_t n_matches;
};

/* The matching events of events for change c, classified, closest first.
 * out/n_out are allocated (free with wc_matches_free). */
int wc_correlate(const struct wc_policy *p, const struct wc_change *c,
                 const struct wc_event_list *events, struct wc_match **out, size_t *n_out);
void wc_matches_free(struct wc_match *m, size_t n);

/* Decide the verdict for a parsed notification and the events found for it.
 * events may be NULL (nothing looked up yet -> unattributed for changes). */
int wc_finding_decide(const struct wc_policy *p, const struct wc_notification *n,
                      const struct wc_event_list *events, struct wc_finding **out);
void wc_finding_destroy(struct wc_finding *f);

/* A bit per verdict, for verdict sets: WC_VERDICT_BIT(WC_VERDICT_HUMAN) | ... */
#define WC_VERDICT_BIT(v) (1u << (unsigned)(v))
#define WC_VERDICT_MASK_ALL                                                              \
    (WC_VERDICT_BIT(WC_VERDICT_IGNORED) | WC_VERDICT_BIT(WC_VERDICT_HUMAN) |             \
     WC_VERDICT_BIT(WC_VERDICT_AUTOMATION) | WC_VERDICT_BIT(WC_VERDICT_AWS_SERVICE) |    \
     WC_VERDICT_BIT(WC_VERDICT_UNATTRIBUTED))

const char *wc_verdict_name(enum wc_verdict v);
int wc_verdict_parse(const char *name, enum wc_verdict *out);

/* Serialise as the documented `whochanged explain` JSON object (one line,
 * no trailing newline when pretty is false). */
int wc_finding_to_json(const struct wc_finding *f, bool pretty, struct wc_buf *out);

#endif
