/* notification_internal.h - the configuration-item parser of
 * core/notification.c, for the other modules that meet configuration items
 * outside a notification (core/history.c: AWS Config's
 * GetResourceConfigHistory). One parser, so that a change reads the same
 * wherever its item came from. cJSON trees are the caller's, borrowed. */
#ifndef WC_NOTIFICATION_INTERNAL_H
#define WC_NOTIFICATION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/change.h"

/* A configurationItem object, in the shape Config gives it in a
 * notification (configurationItemCaptureTime an ISO 8601 string; the
 * account as awsAccountId or accountId, the ARN as ARN or arn), and the
 * configurationItemDiff that goes with it (NULL: none), into *out exactly
 * as wc_notification_parse builds a notification's change, then checked as
 * it checks one (wc_notification_parse's rules; now_ms: the wall clock).
 * *out is overwritten; on failure it is left empty and errbuf holds a
 * one-line reason. */
int wc_change_from_item(const cJSON *item, const cJSON *diff, int64_t now_ms,
                        struct wc_change *out, char *errbuf, size_t errlen);

#endif
