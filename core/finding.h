/* finding.h - correlation of a change with CloudTrail events, and the
 * verdict. No I/O.
 *
 * An event matches a change when
 *   - it names the resource: one of its Resources (LookupEvents) or resources
 *     (log record) has the change's resource id, name or ARN; or the change's
 *     relatedEvents lists its event id; or a string in its requestParameters
 *     equals the resource id or ARN;
 *   - its eventTime is within the change's window (wc_change_window:
 *     [capture - skew_s, capture + skew_s], inclusive; for a periodically
 *     recorded item, from lookback_s earlier: the change happened at some
 *     time in the period before the capture);
 *   - it is not read-only, did not fail (no errorCode), and its name is not in
 *     the policy's ignore.event_names.
 * Matches are ordered by |offset| (closest first), then time, then event id.
 * A human verdict keeps every human match: for periodic recording each
 * human who wrote to the resource in the window is reported.
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
    int64_t window_start_ms;          /* the window events were matched in */
    int64_t window_end_ms;
    /* Who manages the resource, from its tags (views into change.tag_keys /
     * tag_values): aws:cloudformation:stack-name, else the first tag whose
     * key a policy.ownership_tags glob matches. NULL: none found. */
    const char *owner_tag;
    const char *owner_value;
};

/* --- the actor, as people know them ---------------------------------------- */

/* True for the session names the AWS SDKs and CLI make up when none is
 * given ("botocore-session-1714564770", "aws-go-sdk-1763632800123",
 * "aws-sdk-java-1714564770123", "aws-sdk-js-session-…", a bare Unix time):
 * they say nothing about who it was. */
bool wc_session_name_is_sdk_default(const char *s);

/* An IAM Identity Center role name "AWSReservedSSO_<PermissionSet>_<16 hex>"
 * (a path before it allowed): the permission set's name into buf, true.
 * false for any other name. */
bool wc_sso_permission_set(const char *role_name, char *buf, size_t len);

/* The actor's name as people know them: the session name (an SSO user's
 * e-mail), unless it is an SDK default, then the role's name (an SSO role
 * as its permission set); the IAM user; "root"; else the ARN. Into buf;
 * returns buf, or "unknown principal". */
const char *wc_actor_display(const struct wc_actor *a, char *buf, size_t len);

/* What kind of principal, short: "IAM user", "root", "SSO AdministratorAccess",
 * "role deploy", "federated user", "AWS service", "AWS account"; "" when
 * unknown. Into buf; returns buf. The role is left out ("role", "SSO")
 * when wc_actor_display already names it. */
const char *wc_actor_kind(const struct wc_actor *a, char *buf, size_t len);

#define WC_ACTOR_NAME_MAX 256

/* "alice@example.com (SSO AdministratorAccess) AuthorizeSecurityGroupIngress
 * on sg-0123 (web-prod)": who did what to which resource, plain text (not
 * escaped), at most max bytes, cut at a UTF-8 boundary with "…". Without a
 * match: "Unattributed change to AWS::EC2::SecurityGroup sg-0123". */
int wc_finding_headline(const struct wc_finding *f, size_t max, struct wc_buf *out);

/* The distinct human writers among f's matches (by principal and session),
 * first match of each, in match order, at most max into out; counts[i] (when
 * not NULL) gets how many matches each made. Returns how many there are in
 * all (may exceed max). */
size_t wc_finding_writers(const struct wc_finding *f, const struct wc_match **out,
                          size_t *counts, size_t max);

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

/* Replace f->reason with the formatted text (cut, valid UTF-8, at 4 KiB). */
int wc_finding_set_reason(struct wc_finding *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
