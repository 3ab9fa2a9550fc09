/* notif_fakes.h - test helpers for the notifier unit tests: a scripted fake
 * HTTP transport that records requests, a sleep recorder, a log capture and
 * a hand-built finding. */
#ifndef WC_NOTIF_FAKES_H
#define WC_NOTIF_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/finding.h"
#include "core/http.h"
#include "core/log.h"

#define NOTIF_FAKE_MAX_REQUESTS 16

/* One scripted answer. transport_rc != WC_OK: no response, that error. */
struct notif_fake_reply {
    long status;
    const char *body;        /* NULL: empty */
    const char *retry_after; /* Retry-After header value, NULL: none */
    int transport_rc;
};

/* A recorded request (deep copy). */
struct notif_fake_request {
    char *method;
    char *url;
    struct wc_http_header *headers;
    size_t n_headers;
    char *body; /* NUL-terminated copy */
    size_t body_len;
    long connect_timeout_ms;
    long timeout_ms;
};

struct notif_fake_http {
    struct wc_http http; /* hand &fake.http to the notifier */
    const struct notif_fake_reply *script;
    size_t n_script;     /* the last reply repeats */
    struct notif_fake_request reqs[NOTIF_FAKE_MAX_REQUESTS];
    size_t n_reqs;       /* requests seen (recorded up to the max) */
};

void notif_fake_http_init(struct notif_fake_http *f, const struct notif_fake_reply *script,
                          size_t n_script);
void notif_fake_http_clean_up(struct notif_fake_http *f);
/* Case-insensitive; NULL when absent. */
const char *notif_fake_header(const struct notif_fake_request *r, const char *name);

/* sleep_ms recorder (never sleeps). */
struct notif_sleeps {
    int64_t ms[32];
    size_t n;
    int64_t total_ms;
};
void notif_sleep_record(void *ctx, int64_t ms);

/* Log capture: every line a logger writes. */
struct notif_log {
    char lines[32][1024];
    size_t n;
};
/* A logger at level writing into cap (destroy with wc_logger_destroy). */
struct wc_logger *notif_log_new(struct notif_log *cap, enum wc_log_level level);
/* true when any captured line contains needle. */
bool notif_log_contains(const struct notif_log *cap, const char *needle);

/* A hand-built finding. Unset strings take the defaults noted. */
struct notif_spec {
    enum wc_verdict verdict;     /* 0: human */
    const char *account_id;      /* "123456789012" */
    const char *region;          /* "eu-west-1" */
    const char *lookup_region;   /* = region */
    const char *resource_type;   /* "AWS::EC2::SecurityGroup" */
    const char *resource_id;     /* "sg-0123456789abcdef0" */
    const char *resource_name;   /* NULL */
    const char *event_id;        /* "1a2b3c4d-0000-4000-8000-000000000001" */
    const char *event_name;      /* "AuthorizeSecurityGroupIngress" */
    const char *user_agent;      /* "aws-cli/2.15.0 Python/3.11" */
    const char *source_ip;       /* "198.51.100.23" */
    const char *session_name;    /* for the SSO actor: "alice@example.com" */
    const char *access_key_id;   /* userIdentity.accessKeyId: NULL */
    bool iam_user;               /* an IAM user "Alice" instead of an SSO session */
    bool no_event;               /* no matching event (unattributed) */
    size_t n_events;             /* matching events (0: one); the others are
                                  * "ModifySecurityGroupRules" 1 s apart */
    size_t n_props;              /* changed properties generated (0: one) */
    size_t n_props_total;        /* 0: n_props */
    const char *prop_path;       /* "Configuration.IpPermissions.%zu" */
    const char *prop_after;      /* after value of every property */
    const char *reason;          /* "test reason" */
    const char *role_name;       /* the SSO actor's role: "AWSReservedSSO_Admin_0123" */
    int mfa;                     /* WC_MFA_*: the first event's (0: unknown) */
    const char *after_summary;   /* every property's (core/summary.h): NULL */
    const char *before_summary;
    int lookback_s;              /* periodic recording: the change's lookback (0: none) */
    const char *owner_tag;       /* a tag naming who manages the resource (and its */
    const char *owner_value;     /* value): set as the finding's owner */
};
struct wc_finding *notif_finding_new(const struct notif_spec *spec);

#endif
