/* event.h - CloudTrail events, parsed.
 *
 * Accepts a LookupEvents response ({"Events":[{"CloudTrailEvent":"<json>",
 * "EventTime":<number>,"Resources":[...]}], "NextToken":...}), a CloudTrail
 * log file ({"Records":[...]}), a JSON array of records, or one record.
 * No I/O.
 */
#ifndef WC_EVENT_H
#define WC_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

#define WC_EVENTS_MAX_BYTES ((size_t)16 * 1024 * 1024)
#define WC_EVENTS_MAX 10000
#define WC_EVENT_MAX_PARAM_STRINGS 64 /* string values kept from requestParameters */

struct wc_event_resource {
    char *type; /* "AWS::EC2::SecurityGroup" (LookupEvents) or record resources[].type */
    char *name; /* LookupEvents ResourceName: an id, a name or an ARN */
    char *arn;  /* record resources[].ARN */
};

struct wc_user_identity {
    char *type;          /* Root, IAMUser, AssumedRole, FederatedUser, AWSAccount, AWSService, ... or NULL */
    char *principal_id;
    char *access_key_id; /* accessKeyId: one per sign-in for temporary credentials */
    char *arn;
    char *account_id;
    char *user_name;     /* IAMUser/Root userName */
    char *invoked_by;    /* "autoscaling.amazonaws.com", "AWS Internal" */
    char *issuer_type;   /* sessionContext.sessionIssuer.type */
    char *issuer_arn;    /* sessionContext.sessionIssuer.arn (the role) */
    char *issuer_user_name;
    char *session_name;  /* last path element of an assumed-role/federated ARN */
    char *identity_store_user; /* onBehalfOf / sourceIdentity when present */
    int mfa;             /* sessionContext.attributes.mfaAuthenticated: WC_MFA_* */
};

/* Whether the session was signed in with MFA, as CloudTrail says. */
#define WC_MFA_UNKNOWN 0 /* not given (long-term access keys, services) */
#define WC_MFA_NO 1
#define WC_MFA_YES 2

struct wc_event {
    char *event_id;
    char *event_name;
    char *event_source;
    int64_t event_time_ms;
    char *event_type;     /* AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ... */
    char *aws_region;
    char *recipient_account_id;
    char *source_ip;
    char *user_agent;
    char *error_code;     /* NULL on success */
    bool read_only;       /* readOnly true (record) or ReadOnly "true" (LookupEvents) */
    bool session_credential_from_console;
    struct wc_user_identity identity;
    struct wc_event_resource *resources;
    size_t n_resources;
    struct wc_strlist param_strings; /* string values found in requestParameters */
};

struct wc_event_list {
    struct wc_event *items;
    size_t len;
    char *next_token; /* LookupEvents NextToken, if any */
    size_t n_skipped; /* records wc_events_parse left out as unusable (summed over calls) */
};

#define WC_EVENT_LIST_INIT {NULL, 0, NULL, 0}

/* Append the events in json to list. errbuf gets a one-line reason on failure
 * (list is left as it was).
 *
 * One record that cannot be used (no eventID, eventName or eventTime, a
 * field of an unexpected type or size, a LookupEvents entry without a
 * parseable CloudTrailEvent) is skipped: the others are kept, the parse
 * succeeds, list->n_skipped grows by the number skipped and errbuf names the
 * first one's problem ("" when none was skipped). The call fails only when
 * the envelope is broken (not JSON, Events/Records/NextToken of the wrong
 * type, over the caps) or memory runs out; a document that is a single
 * record is its own envelope and fails when that record cannot be used. */
int wc_events_parse(struct wc_str json, struct wc_event_list *list, char *errbuf,
                    size_t errlen);
void wc_event_list_clean_up(struct wc_event_list *list);
void wc_event_clean_up(struct wc_event *e);
int wc_event_copy(struct wc_event *dst, const struct wc_event *src);

#endif
