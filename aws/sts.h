/* sts.h - STS AssumeRole (awsQuery: signed form POST, XML answer).
 *
 * wc_sts_assume_role has the shape of wc_creds_assume_role_fn, so the
 * credentials chain (role_arn + source_profile) and the per-account
 * provider use it through their assume_role_fn hook.
 */
#ifndef WC_AWS_STS_H
#define WC_AWS_STS_H

#include "aws/aws_client.h"
#include "aws/credentials.h"

struct wc_sts_options {
    struct wc_aws *aws;   /* borrowed */
    const char *endpoint; /* resolved STS base URL (no trailing '/') */
    const char *region;   /* signing region */
    int duration_s;       /* 0: omitted (STS default 3600) */
};

struct wc_sts;

struct wc_sts *wc_sts_new(const struct wc_sts_options *o);
void wc_sts_destroy(struct wc_sts *sts);

/* ctx is a struct wc_sts *. WC_OK fills out (source "assume-role");
 * WC_ERR_AUTH for AccessDenied and other credential errors (logged with the
 * STS code and message); other negative wc_err otherwise. */
int wc_sts_assume_role(void *ctx, const struct wc_aws_credentials *source, const char *role_arn,
                       const char *session_name, const char *external_id,
                       struct wc_aws_credentials *out);

#endif
