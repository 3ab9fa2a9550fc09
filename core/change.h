/* change.h - an AWS Config notification, parsed into a change.
 *
 * An SQS message body is one of:
 *   - an SNS envelope ({"Type":"Notification","Message":"<json string>",...});
 *   - the Config JSON itself (SNS raw message delivery);
 *   - an EventBridge event (source aws.config, detail-type
 *     "Config Configuration Item Change", the Config JSON in "detail").
 * wc_notification_parse() accepts all three. No I/O.
 */
#ifndef WC_CHANGE_H
#define WC_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Limits applied while parsing (hostile or broken input stays bounded). */
#define WC_NOTIFICATION_MAX_BYTES ((size_t)4 * 1024 * 1024)
#define WC_CHANGE_MAX_PROPERTIES 50  /* more are counted, not kept */
/* before/after rendered then truncated (bytes, UTF-8 safe): long enough for
 * a security-group rule or a short policy, which the notifiers show in a
 * size-capped block; the readable summary (below) is taken from the whole
 * value before the cut. */
#define WC_CHANGE_VALUE_MAX 1000
#define WC_CHANGE_MAX_RELATED 64
/* The item's tags kept (for IaC ownership); longer keys or values are left out. */
#define WC_CHANGE_MAX_TAGS 64
#define WC_CHANGE_TAG_KEY_MAX 128
#define WC_CHANGE_TAG_VALUE_MAX 256
/* Periodic recording (recordingFrequency DAILY): the change happened within
 * this long before the capture, unless correlation.periodic_window_hours
 * says otherwise (the worker sets lookback_s from it). */
#define WC_PERIODIC_WINDOW_DEFAULT_H 24
/* Cap on the gunzipped S3 object of an oversized item (an item too large
 * for an SNS message, 256 KiB, is delivered this way). It is parsed whole:
 * cJSON takes many times the text's size (review finding 4), so the cap is
 * 4 MiB and the pipeline parses at most WC_PIPELINE_MAX_FETCHES at once. */
#define WC_OVERSIZED_OBJECT_MAX_BYTES ((size_t)4 * 1024 * 1024)

enum wc_notification_kind {
    WC_NOTE_CHANGE = 1,     /* ConfigurationItemChangeNotification */
    WC_NOTE_OVERSIZED,      /* OversizedConfigurationItemChangeNotification */
    WC_NOTE_OTHER,          /* anything else: not a change */
};

enum wc_envelope {
    WC_ENV_SNS = 1,
    WC_ENV_RAW,
    WC_ENV_EVENTBRIDGE,
};

/* One entry of configurationItemDiff.changedProperties. */
struct wc_changed_property {
    char *path;    /* "Configuration.IpPermissions.0" */
    char *change;  /* "CREATE" | "UPDATE" | "DELETE" */
    char *before;  /* compact JSON of previousValue, truncated; NULL if absent/null */
    char *after;   /* compact JSON of updatedValue, truncated; NULL if absent/null */
    /* What the values hold, readable, one item a line ('\n' between), taken
     * from the whole value (core/summary.h): security-group rules as
     * "tcp/22 from 0.0.0.0/0", policy statements as "Allow * to
     * s3:GetObject on arn:..."; NULL when the value is not of a kind
     * summarised. */
    char *before_summary;
    char *after_summary;
};

struct wc_change {
    char *account_id;
    char *region;        /* Config's awsRegion ("global" possible) */
    char *lookup_region; /* where CloudTrail records it: us-east-1 for global services */
    char *resource_type; /* "AWS::EC2::SecurityGroup" */
    char *resource_id;
    char *resource_name; /* may be NULL */
    char *arn;           /* may be NULL */
    int64_t capture_time_ms;
    char *status;        /* configurationItemStatus: OK, ResourceDiscovered, ResourceDeleted, ... */
    char *change_type;   /* configurationItemDiff.changeType: CREATE|UPDATE|DELETE; NULL if none */
    struct wc_strlist related_event_ids;
    struct wc_changed_property *props;
    size_t n_props;
    size_t n_props_total; /* before truncation to WC_CHANGE_MAX_PROPERTIES */
    /* configurationItem.recordingFrequency ("CONTINUOUS", "DAILY"); NULL when
     * absent (continuous recording, as before the field existed). */
    char *recording_frequency;
    /* The lookup window is [capture - lookback_s - skew, capture + skew]:
     * 0 for continuous recording (the capture follows the change within
     * minutes); for periodic recording the period before the capture in
     * which the change happened (the parser sets the default, 24 h; the
     * worker sets correlation.periodic_window_hours). */
    int lookback_s;
    /* configurationItem.tags, in the item's order (key i has value i); at
     * most WC_CHANGE_MAX_TAGS, over-long ones left out. */
    struct wc_strlist tag_keys;
    struct wc_strlist tag_values;
};

/* Summary of an oversized notification: the item itself is in S3. */
struct wc_oversized {
    char *s3_bucket;      /* split from s3BucketLocation "bucket/key" */
    char *s3_key;
    char *s3_location;    /* as received */
};

struct wc_notification {
    enum wc_notification_kind kind;
    enum wc_envelope envelope;
    char *message_type;   /* "ConfigurationItemChangeNotification", ... */
    char *sns_message_id; /* SNS MessageId or EventBridge id, when present */
    char *sns_topic_arn;  /* the SNS envelope's TopicArn, when present (WC_ENV_SNS) */
    /* An SNS SubscriptionConfirmation or UnsubscribeConfirmation (kind
     * WC_NOTE_OTHER, message_type the SNS Type): its SubscribeURL, which
     * confirms the subscription when visited. NULL otherwise. */
    char *sns_subscribe_url;
    /* For WC_NOTE_CHANGE: the full change. For WC_NOTE_OVERSIZED: the summary
     * fields (account, region, type, id, name, capture time, status, change
     * type) as far as the summary carries them. Unused for WC_NOTE_OTHER. */
    struct wc_change change;
    struct wc_oversized oversized; /* WC_NOTE_OVERSIZED only */
    /* Configuration items in the message: 1, or more in the legacy (2014)
     * array shape, of which only the first is parsed into change. */
    size_t n_items;
};

/* Parse one SQS message body. On failure returns a negative wc_err, *out is
 * NULL, and errbuf (if given) holds a one-line reason such as
 * "SNS envelope: Message is not valid JSON at byte 17".
 *
 * A change is invalid (WC_ERR_INVALID, permanently: the worker leaves it for
 * the dead-letter queue) when its account id is not 12 digits, its region is
 * neither shaped like an AWS region nor "global", its capture time is before
 * 2005 or more than a day after now, or the JSON holds a NUL character
 * (\u0000), which would silently cut an id short. */
int wc_notification_parse(struct wc_str body, struct wc_notification **out, char *errbuf,
                          size_t errlen);
/* The same with "now" given (wc_notification_parse reads the wall clock). */
int wc_notification_parse_at(struct wc_str body, int64_t now_ms, struct wc_notification **out,
                             char *errbuf, size_t errlen);
void wc_notification_destroy(struct wc_notification *n);

/* Parse the content of an oversized item's S3 object (the gunzipped JSON of
 * a normal ConfigurationItemChangeNotification) into a change notification. */
int wc_notification_parse_oversized_object(struct wc_str json, struct wc_notification **out,
                                           char *errbuf, size_t errlen);

/* Region in which CloudTrail records calls for this resource type:
 * wc_partition_lookup_region (core/awsid.h) without an ARN - the global
 * services (IAM, CloudFront, Route 53, ...) log in their partition's home
 * region (us-east-1, us-gov-west-1, cn-north-1), Global Accelerator and
 * Network Manager in us-west-2. The parser passes the item's ARN too, so a
 * GovCloud item of region "global" is looked up in us-gov-west-1. */
const char *wc_lookup_region(const char *resource_type, const char *region);

/* True for an SNS SubscriptionConfirmation or UnsubscribeConfirmation: the
 * first message of a subscription, whose SubscribeURL someone must visit
 * before any notification arrives. Never a change. */
bool wc_notification_is_subscription(const struct wc_notification *n);

/* True when the item was recorded periodically (recordingFrequency set and
 * not CONTINUOUS): its capture time is not its change time. */
bool wc_change_is_periodic(const struct wc_change *c);

/* The window of CloudTrail events that may explain c:
 * [capture - lookback_s - skew_s, capture + skew_s], in ms, inclusive. */
void wc_change_window(const struct wc_change *c, int skew_s, int64_t *start_ms, int64_t *end_ms);

/* Tag value of c for key (exact), or NULL. */
const char *wc_change_tag(const struct wc_change *c, const char *key);

void wc_change_clean_up(struct wc_change *c);
/* Deep copy. */
int wc_change_copy(struct wc_change *dst, const struct wc_change *src);

#endif
