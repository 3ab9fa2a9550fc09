/* event_internal.h - the record parser of core/event.c for other core
 * modules that hold a record already parsed by cJSON (core/evstream.c: the
 * "detail" of an EventBridge event), so that its fields come out exactly as
 * wc_events_parse makes them from a LookupEvents CloudTrailEvent. */
#ifndef WC_EVENT_INTERNAL_H
#define WC_EVENT_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/event.h"

/* Fill *out (zeroed first) from one CloudTrail record. Fails (WC_ERR_INVALID,
 * WC_ERR_TOO_LARGE, WC_ERR_NOMEM) where wc_events_parse would skip the
 * record, errbuf saying why; *out is then empty. */
int wc_event_parse_record(const cJSON *rec, struct wc_event *out, char *errbuf, size_t errlen);

#endif
