/* trust.c - where a notification may come from. See trust.h. */
#include "core/trust.h"

#include <stdio.h>
#include <string.h>

#include "core/awsid.h"
#include "core/err.h"
#include "core/str.h"

/* Values quoted in a reason are cut to this many bytes. */
#define S_SHOW_MAX 96

/* v as printable ASCII, at most S_SHOW_MAX bytes ("..." when cut): the
 * values come from the message, which anyone able to send to the queue
 * writes. */
static const char *s_show(const char *v, char out[S_SHOW_MAX + 4])
{
    size_t o = 0;

    if (!v)
        v = "(none)";
    for (; *v && o < S_SHOW_MAX; v++)
        out[o++] = (*v >= 0x20 && *v < 0x7f) ? *v : '?';
    if (*v) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

bool wc_trust_account_allowed(const struct wc_policy *p, const char *account_id)
{
    if (!p->allowed_accounts.len)
        return true;
    if (!wc_account_id_is_valid(account_id))
        return false;
    /* exact: an org id (o-...) never equals a 12-digit id */
    return wc_strlist_contains(&p->allowed_accounts, account_id);
}

bool wc_trust_topic_allowed(const struct wc_policy *p, const char *topic_arn)
{
    if (!p->allowed_topics.len)
        return true;
    return topic_arn && wc_strlist_glob_any(&p->allowed_topics, topic_arn);
}

/* "bucket" matches the bucket (any key); "bucket/key" matches its bucket
 * part against the bucket and the rest against the key, so that a '*' in
 * the bucket part cannot run on into the key. */
static bool s_bucket_match(const char *pattern, const char *bucket, const char *key)
{
    const char *slash = strchr(pattern, '/');
    char head[256];
    size_t n;

    if (!slash)
        return wc_glob_match(pattern, bucket);
    n = (size_t)(slash - pattern);
    if (n >= sizeof(head))
        return false;
    memcpy(head, pattern, n);
    head[n] = '\0';
    return wc_glob_match(head, bucket) && wc_glob_match(slash + 1, key);
}

bool wc_trust_bucket_allowed(const struct wc_policy *p, const char *bucket, const char *key)
{
    if (!p->allowed_buckets.len)
        return true;
    if (!bucket || !key)
        return false;
    for (size_t i = 0; i < p->allowed_buckets.len; i++)
        if (s_bucket_match(p->allowed_buckets.items[i], bucket, key))
            return true;
    return false;
}

static int s_refuse(char *why, size_t whylen, const char *what, const char *value,
                    const char *key)
{
    char shown[S_SHOW_MAX + 4];

    if (why && whylen)
        snprintf(why, whylen, "%s %s is not in %s", what, s_show(value, shown), key);
    return WC_ERR_INVALID;
}

int wc_trust_check_item(const struct wc_policy *p, const struct wc_notification *n, char *why,
                        size_t whylen)
{
    if (!p || !n)
        return WC_ERR_INVALID;
    if ((n->kind == WC_NOTE_CHANGE || n->kind == WC_NOTE_OVERSIZED) &&
        !wc_trust_account_allowed(p, n->change.account_id))
        return s_refuse(why, whylen, "account", n->change.account_id, "accounts.allowed");
    return WC_OK;
}

int wc_trust_check(const struct wc_policy *p, const struct wc_notification *n, char *why,
                   size_t whylen)
{
    int rc;

    if (!p || !n)
        return WC_ERR_INVALID;
    if (!wc_trust_topic_allowed(p, n->sns_topic_arn)) {
        if (!n->sns_topic_arn) {
            if (why && whylen)
                snprintf(why, whylen, "no SNS envelope (raw delivery or EventBridge): no "
                                      "topic to check against sns.allowed_topics");
            return WC_ERR_INVALID;
        }
        return s_refuse(why, whylen, "SNS topic", n->sns_topic_arn, "sns.allowed_topics");
    }
    if ((rc = wc_trust_check_item(p, n, why, whylen)) != WC_OK)
        return rc;
    if (n->kind == WC_NOTE_OVERSIZED &&
        !wc_trust_bucket_allowed(p, n->oversized.s3_bucket, n->oversized.s3_key))
        return s_refuse(why, whylen, "oversized item location", n->oversized.s3_location,
                        "oversized.allowed_buckets");
    return WC_OK;
}
