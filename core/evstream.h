/* evstream.h - the messages of the CloudTrail event stream (issue 10).
 *
 * The events queue receives EventBridge events "AWS API Call via
 * CloudTrail" (and "AWS Service Event via CloudTrail"), write events only
 * when the rule says `detail.readOnly: [false]`:
 *
 *   {"version":"0","id":"…","detail-type":"AWS API Call via CloudTrail",
 *    "source":"aws.ec2","account":"111122223333","time":"…",
 *    "region":"eu-west-1","resources":[],"detail":{<CloudTrail record>}}
 *
 * either as the SQS body itself (SNS raw message delivery, or EventBridge
 * sending to the queue directly) or inside an SNS envelope
 * ({"Type":"Notification","Message":"<that JSON as a string>",…}: the queue
 * is one of the subscribers of a fan-out topic). No I/O.
 *
 * The record is parsed by the parser of wc_events_parse, so its fields are
 * those a LookupEvents CloudTrailEvent gives. What LookupEvents adds around
 * the record - Resources, the ResourceNames it can be found by - is not in
 * the stream, so wc_evstream_parse derives them the same way (see
 * WC_EVSTREAM_MAX_NAMES below) and appends them to event.resources as
 * {type, name} entries, exactly where wc_events_parse puts a LookupEvents
 * entry's Resources. wc_trail_query_matches and the correlation then treat
 * a streamed event as they treat the same event read from LookupEvents.
 */
#ifndef WC_EVSTREAM_H
#define WC_EVSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/event.h"
#include "core/str.h"

/* An SQS body is at most 256 KiB; the SNS envelope escapes the event. */
#define WC_EVSTREAM_MAX_BYTES ((size_t)1024 * 1024)
/* ResourceNames derived for one event (resources[].ARN first, then the
 * request, then the response): more are left out. */
#define WC_EVSTREAM_MAX_NAMES 64
/* A derived name longer than this is left out (as requestParameters
 * strings are: S_PARAM_MAX_BYTES in core/event.c). */
#define WC_EVSTREAM_NAME_MAX_BYTES 2048

enum wc_evstream_kind {
    WC_EVSTREAM_EVENT = 1,      /* a write call: msg.event is to be indexed */
    WC_EVSTREAM_OTHER_TYPE,     /* another detail-type (console sign-in, insight, a
                                 * Config event, ...) or not from CloudTrail */
    WC_EVSTREAM_READ_ONLY,      /* readOnly true */
    WC_EVSTREAM_NOT_A_CALL,     /* eventType other than AwsApiCall / AwsServiceEvent */
    WC_EVSTREAM_NO_RESOURCE,    /* no resource, no request or response value: nothing
                                 * a lookup could find it by but its event id */
    WC_EVSTREAM_SNS_CONTROL,    /* SNS SubscriptionConfirmation, UnsubscribeConfirmation */
};

/* Every kind but WC_EVSTREAM_EVENT is ignorable: the runner deletes the
 * message. A parse failure (a negative wc_err) is a malformed message: left
 * for redrive, as on the main queue. */
const char *wc_evstream_kind_name(enum wc_evstream_kind k);

struct wc_evstream_msg {
    enum wc_evstream_kind kind;
    bool sns;              /* it came in an SNS envelope */
    /* kind WC_EVSTREAM_EVENT: the event, recipient_account_id and aws_region
     * set (from the envelope's account and region when the record lacks
     * them) and valid. Owned: hand it to wc_evindex_add (which takes it) or
     * wc_evstream_msg_clean_up. Other kinds: empty. */
    struct wc_event event;
};

#define WC_EVSTREAM_MSG_INIT {0, false, {0}}

/* Parse one SQS body of the events queue into *out (overwritten: clean up
 * what it held before). Returns
 * WC_OK with out->kind set, or a negative wc_err for a malformed body (not
 * JSON, not UTF-8, over WC_EVSTREAM_MAX_BYTES, an SNS envelope without a
 * Message, a CloudTrail event without a detail object, a record without
 * eventID / eventName / eventTime, an account or region that is not one);
 * errbuf then says why in one line and *out is empty.
 *
 * Kept (WC_EVSTREAM_EVENT): detail-type "AWS API Call via CloudTrail" or
 * "AWS Service Event via CloudTrail", eventType AwsApiCall or
 * AwsServiceEvent (or none), readOnly false or absent (as LookupEvents'
 * ReadOnly=false returns it), and at least one resource, derived name or
 * requestParameters string. Failed calls (errorCode) are kept: a lookup
 * returns them too.
 *
 * Derived ResourceNames (type NULL unless resources[] gives one):
 *   - every resources[].ARN;
 *   - every string of requestParameters and responseElements (depth-first,
 *     document order) under a key ending in Id, Ids, Name, Names, Arn, Arns,
 *     ARN, Identifier, Url or URL (groupId, instanceId, bucketName,
 *     roleName, policyArn, functionName, dBInstanceIdentifier, queueUrl,
 *     and arrays under instanceIds, ...), or any string that is an ARN; an
 *     array element takes the key of its array. Not requestId, accountId,
 *     ownerId, requesterId (they name no resource). responseElements
 *     holds the ids of what a Create* / Run* call made (CreateSecurityGroup
 *     groupId, RunInstances instanceId), which LookupEvents lists too.
 * Each name once, at most WC_EVSTREAM_MAX_NAMES, none longer than
 * WC_EVSTREAM_NAME_MAX_BYTES. */
int wc_evstream_parse(struct wc_str body, struct wc_evstream_msg *out, char *errbuf,
                      size_t errlen);
void wc_evstream_msg_clean_up(struct wc_evstream_msg *m);

#endif
