/* notif_fakes.c - see notif_fakes.h. */
#include "tests/support/notif_fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "core/classify.h"
#include "core/err.h"
#include "core/policy.h"
#include "core/str.h"

/* --- fake transport -------------------------------------------------------- */

static char *s_dup(const char *s)
{
    char *p = wc_strdup(s ? s : "");

    assert_non_null(p);
    return p;
}

static int s_fake_send(struct wc_http *h, const struct wc_http_request *req,
                       struct wc_http_response *resp)
{
    struct notif_fake_http *f = h->impl;
    const struct notif_fake_reply *r;
    size_t idx = f->n_reqs;

    if (f->n_reqs < NOTIF_FAKE_MAX_REQUESTS) {
        struct notif_fake_request *rec = &f->reqs[f->n_reqs];

        rec->method = s_dup(req->method);
        rec->url = s_dup(req->url);
        rec->n_headers = req->n_headers;
        rec->headers = calloc(req->n_headers + 1, sizeof(*rec->headers));
        assert_non_null(rec->headers);
        for (size_t i = 0; i < req->n_headers; i++) {
            rec->headers[i].name = s_dup(req->headers[i].name);
            rec->headers[i].value = s_dup(req->headers[i].value);
        }
        rec->body = calloc(1, req->body_len + 1);
        assert_non_null(rec->body);
        if (req->body_len)
            memcpy(rec->body, req->body, req->body_len);
        rec->body_len = req->body_len;
        rec->connect_timeout_ms = req->connect_timeout_ms;
        rec->timeout_ms = req->timeout_ms;
    }
    f->n_reqs++;
    assert_true(f->n_script > 0);
    r = &f->script[idx < f->n_script ? idx : f->n_script - 1];
    if (r->transport_rc != WC_OK)
        return r->transport_rc;
    resp->status = r->status;
    if (r->retry_after)
        assert_int_equal(wc_http_response_add_header(resp, "retry-after", 11, r->retry_after,
                                                     strlen(r->retry_after)),
                         WC_OK);
    if (r->body)
        assert_int_equal(wc_buf_append_cstr(&resp->body, r->body), WC_OK);
    return WC_OK;
}

static const struct wc_http_vtable s_fake_vtable = {
    .name = "notif-fake",
    .send = s_fake_send,
    .destroy = NULL,
};

void notif_fake_http_init(struct notif_fake_http *f, const struct notif_fake_reply *script,
                          size_t n_script)
{
    memset(f, 0, sizeof(*f));
    f->http.vtable = &s_fake_vtable;
    f->http.impl = f;
    f->script = script;
    f->n_script = n_script;
}

void notif_fake_http_clean_up(struct notif_fake_http *f)
{
    for (size_t i = 0; i < f->n_reqs && i < NOTIF_FAKE_MAX_REQUESTS; i++) {
        struct notif_fake_request *r = &f->reqs[i];

        for (size_t k = 0; k < r->n_headers; k++) {
            free(r->headers[k].name);
            free(r->headers[k].value);
        }
        free(r->headers);
        free(r->method);
        free(r->url);
        free(r->body);
    }
    f->n_reqs = 0;
}

const char *notif_fake_header(const struct notif_fake_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* --- sleep and log capture -------------------------------------------------- */

void notif_sleep_record(void *ctx, int64_t ms)
{
    struct notif_sleeps *s = ctx;

    if (s->n < sizeof(s->ms) / sizeof(s->ms[0]))
        s->ms[s->n] = ms;
    s->n++;
    s->total_ms += ms;
}

static void s_log_write(void *ctx, const char *line, size_t len)
{
    struct notif_log *cap = ctx;

    if (cap->n < sizeof(cap->lines) / sizeof(cap->lines[0]))
        snprintf(cap->lines[cap->n], sizeof(cap->lines[0]), "%.*s", (int)len, line);
    cap->n++;
}

struct wc_logger *notif_log_new(struct notif_log *cap, enum wc_log_level level)
{
    struct wc_logger_options o = {0};
    struct wc_logger *lg;

    memset(cap, 0, sizeof(*cap));
    o.level = level;
    o.format = WC_LOG_TEXT;
    o.write = s_log_write;
    o.write_ctx = cap;
    lg = wc_logger_new(&o);
    assert_non_null(lg);
    return lg;
}

bool notif_log_contains(const struct notif_log *cap, const char *needle)
{
    for (size_t i = 0; i < cap->n && i < sizeof(cap->lines) / sizeof(cap->lines[0]); i++)
        if (strstr(cap->lines[i], needle))
            return true;
    return false;
}

/* --- findings -------------------------------------------------------------- */

#define S_CAPTURE_MS 1714564770000LL /* 2024-05-01T11:59:30Z */

static const char *s_or(const char *a, const char *b)
{
    return a ? a : b;
}

static void s_fill_event(struct wc_event *e, const struct notif_spec *sp)
{
    e->event_id = s_dup(s_or(sp->event_id, "1a2b3c4d-0000-4000-8000-000000000001"));
    e->event_name = s_dup(s_or(sp->event_name, "AuthorizeSecurityGroupIngress"));
    e->event_source = s_dup("ec2.amazonaws.com");
    e->event_type = s_dup("AwsApiCall");
    e->event_time_ms = S_CAPTURE_MS - 20000;
    e->aws_region = s_dup(s_or(sp->lookup_region, s_or(sp->region, "eu-west-1")));
    e->source_ip = s_dup(s_or(sp->source_ip, "198.51.100.23"));
    e->user_agent = s_dup(s_or(sp->user_agent, "aws-cli/2.15.0 Python/3.11"));
    e->identity.account_id = s_dup(s_or(sp->account_id, "123456789012"));
    e->identity.access_key_id = sp->access_key_id ? s_dup(sp->access_key_id) : NULL;
    if (sp->iam_user) {
        e->identity.type = s_dup("IAMUser");
        e->identity.arn = s_dup("arn:aws:iam::123456789012:user/Alice");
        e->identity.user_name = s_dup("Alice");
    } else {
        const char *sess = s_or(sp->session_name, "alice@example.com");
        const char *role = s_or(sp->role_name, "AWSReservedSSO_Admin_0123");
        struct wc_buf arn = WC_BUF_INIT, issuer = WC_BUF_INIT;

        assert_int_equal(wc_buf_appendf(&arn, "arn:aws:sts::123456789012:assumed-role/%s/%s",
                                        role, sess),
                         WC_OK);
        assert_int_equal(wc_buf_appendf(&issuer, "arn:aws:iam::123456789012:role/aws-reserved/"
                                                 "sso.amazonaws.com/eu-west-1/%s", role),
                         WC_OK);
        e->identity.type = s_dup("AssumedRole");
        e->identity.arn = wc_buf_steal(&arn);
        e->identity.issuer_type = s_dup("Role");
        e->identity.issuer_arn = wc_buf_steal(&issuer);
        e->identity.issuer_user_name = s_dup(role);
        e->identity.session_name = s_dup(sess);
        e->session_credential_from_console = true;
    }
}

struct wc_finding *notif_finding_new(const struct notif_spec *sp)
{
    struct wc_finding *f = calloc(1, sizeof(*f));
    struct wc_change *c;
    struct wc_policy pol;
    size_t n_props = sp->n_props ? sp->n_props : 1;

    assert_non_null(f);
    f->verdict = sp->verdict ? sp->verdict : WC_VERDICT_HUMAN;
    f->reason = s_dup(s_or(sp->reason, "test reason"));
    f->is_change = true;
    c = &f->change;
    c->account_id = s_dup(s_or(sp->account_id, "123456789012"));
    c->region = s_dup(s_or(sp->region, "eu-west-1"));
    c->lookup_region = s_dup(s_or(sp->lookup_region, s_or(sp->region, "eu-west-1")));
    c->resource_type = s_dup(s_or(sp->resource_type, "AWS::EC2::SecurityGroup"));
    c->resource_id = s_dup(s_or(sp->resource_id, "sg-0123456789abcdef0"));
    c->resource_name = sp->resource_name ? s_dup(sp->resource_name) : NULL;
    c->capture_time_ms = S_CAPTURE_MS;
    c->status = s_dup("OK");
    c->change_type = s_dup("UPDATE");
    c->props = calloc(n_props, sizeof(*c->props));
    assert_non_null(c->props);
    c->n_props = n_props;
    c->n_props_total = sp->n_props_total ? sp->n_props_total : n_props;
    for (size_t i = 0; i < n_props; i++) {
        char path[256];

        snprintf(path, sizeof(path), "%s.%zu", s_or(sp->prop_path, "Configuration.IpPermissions"),
                 i);
        c->props[i].path = s_dup(path);
        c->props[i].change = s_dup(i == 0 ? "CREATE" : "UPDATE");
        c->props[i].before = i == 0 ? NULL : s_dup("{\"fromPort\":22}");
        c->props[i].after =
            s_dup(s_or(sp->prop_after, "{\"fromPort\":22,\"ipRanges\":[\"0.0.0.0/0\"]}"));
        c->props[i].after_summary = sp->after_summary ? s_dup(sp->after_summary) : NULL;
        c->props[i].before_summary =
            sp->before_summary && i > 0 ? s_dup(sp->before_summary) : NULL;
    }
    c->lookback_s = sp->lookback_s;
    if (sp->lookback_s)
        c->recording_frequency = s_dup("DAILY");
    if (sp->owner_tag) {
        assert_int_equal(wc_strlist_push(&c->tag_keys, sp->owner_tag), WC_OK);
        assert_int_equal(wc_strlist_push(&c->tag_values, s_or(sp->owner_value, "")), WC_OK);
        f->owner_tag = c->tag_keys.items[0];
        f->owner_value = c->tag_values.items[0];
    }
    if (!sp->no_event) {
        size_t n_ev = sp->n_events ? sp->n_events : 1;

        f->matches = calloc(n_ev, sizeof(*f->matches));
        assert_non_null(f->matches);
        f->n_matches = n_ev;
        assert_int_equal(wc_policy_init_defaults(&pol), WC_OK);
        for (size_t i = 0; i < n_ev; i++) {
            struct wc_event *e = &f->matches[i].event;

            s_fill_event(e, sp);
            if (i > 0) {
                char id[64];

                snprintf(id, sizeof(id), "1a2b3c4d-0000-4000-8000-%012zu", i + 1);
                free(e->event_id);
                e->event_id = s_dup(id);
                free(e->event_name);
                e->event_name = s_dup("ModifySecurityGroupRules");
                e->event_time_ms += (int64_t)i * 1000;
            }
            f->matches[i].offset_ms = e->event_time_ms - S_CAPTURE_MS;
            if (i == 0)
                e->identity.mfa = sp->mfa;
            wc_classify(&pol, e, &f->matches[i].cls);
        }
        wc_policy_clean_up(&pol);
    }
    return f;
}
