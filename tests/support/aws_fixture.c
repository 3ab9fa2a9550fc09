#include "tests/support/aws_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/testutil.h"

const struct wc_aws_credentials aws_fixture_creds = {
    .access_key_id = (char *)"AKIDEXAMPLE",
    .secret_access_key = (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

const struct wc_aws_credentials aws_fixture_creds_token = {
    .access_key_id = (char *)"AKIDEXAMPLE",
    .secret_access_key = (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    .session_token = (char *)"IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQD"
                             "EXAMPLE+sessiontoken/with=special+chars",
};

static int64_t s_now(void *ctx)
{
    return ((struct aws_fixture *)ctx)->now;
}

static void s_sleep(void *ctx, int64_t ms)
{
    struct aws_fixture *f = ctx;

    if (f->n_sleeps < AWS_FIXTURE_MAX_SLEEPS)
        f->slept[f->n_sleeps] = ms;
    f->n_sleeps++;
    f->now += ms;
}

static void s_log(void *ctx, const char *line, size_t len)
{
    struct aws_fixture *f = ctx;

    wc_buf_append(&f->log, line, len);
    wc_buf_append_char(&f->log, '\n');
}

struct aws_fixture *aws_fixture_new(const struct aws_fixture_options *o)
{
    struct aws_fixture *f = calloc(1, sizeof(*f));
    struct wc_logger_options lo = {.level = WC_LOG_DEBUG, .write = s_log};
    struct wc_aws_options ao = {0};

    if (!f)
        return NULL;
    f->now = AWS_FIXTURE_T0_MS;
    f->clock = (struct wc_clock){s_now, s_now, f};
    f->http = fake_http_new();
    lo.write_ctx = f;
    f->logger = wc_logger_new(&lo);
    if (o && o->retry) {
        f->retry = wc_retry_policy_new(o->retry);
        if (!f->retry)
            goto fail;
    }
    ao.http = fake_http_transport(f->http);
    ao.retry = f->retry;
    ao.clock = &f->clock;
    ao.logger = f->logger;
    ao.sleep_ms = s_sleep;
    ao.sleep_ctx = f;
    f->aws = wc_aws_new(&ao);
    f->creds = wc_creds_static_new(o && o->creds ? o->creds : &aws_fixture_creds, NULL);
    if (f->aws && f->creds && f->logger)
        return f;
fail:
    aws_fixture_destroy(f);
    return NULL;
}

void aws_fixture_destroy(struct aws_fixture *f)
{
    if (!f)
        return;
    wc_aws_destroy(f->aws);
    wc_creds_provider_destroy(f->creds);
    wc_retry_policy_destroy(f->retry);
    wc_logger_destroy(f->logger);
    fake_http_destroy(f->http);
    wc_buf_clean_up(&f->log);
    free(f);
}

const struct fake_http_req *aws_fixture_req(struct aws_fixture *f, size_t i)
{
    const struct fake_http_req *r = fake_http_request(f->http, i);

    assert_non_null(r);
    return r;
}

const char *aws_fixture_req_header(struct aws_fixture *f, size_t i, const char *name)
{
    return fake_http_req_header(aws_fixture_req(f, i), name);
}

size_t aws_fixture_log_lines(const struct aws_fixture *f, size_t from, const char *level,
                             const char *needle)
{
    const char *p = f->log.ptr ? f->log.ptr + (from < f->log.len ? from : f->log.len) : "";
    char lv[16] = "";
    size_t n = 0;

    if (level) /* the text format: "<ts> <level, padded to 5> [<msg id>] <text>" */
        snprintf(lv, sizeof(lv), " %-5s ", level);
    while (*p) {
        size_t len = strcspn(p, "\n");
        char *line = strndup(p, len);
        const char *at = line ? strstr(line, needle) : NULL;
        const char *l = line && lv[0] ? strstr(line, lv) : NULL;

        assert_non_null(line);
        if (at && (!lv[0] || (l && l < at)))
            n++;
        free(line);
        p += len + (p[len] ? 1 : 0);
    }
    return n;
}

void aws_fixture_assert_one_denied(const struct aws_fixture *f, size_t from, const char *want)
{
    const char *log = f->log.ptr && from < f->log.len ? f->log.ptr + from : "";
    size_t n = aws_fixture_log_lines(f, from, NULL, "AccessDenied");

    if (n != 1)
        fail_msg("%zu log lines name AccessDenied, want 1:\n%s", n, log);
    if (aws_fixture_log_lines(f, from, "warn", want) != 1)
        fail_msg("no warn line has \"%s\":\n%s", want, log);
}

const char *aws_fixture_no_env(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

struct wc_creds_provider *aws_fixture_no_creds_new(void)
{
    struct wc_creds_options co = {.getenv_fn = aws_fixture_no_env};

    return wc_creds_env_new(&co);
}

int aws_fixture_setup(void **state)
{
    *state = aws_fixture_new(NULL);
    return *state ? 0 : -1;
}

int aws_fixture_setup_token(void **state)
{
    struct aws_fixture_options o = {.creds = &aws_fixture_creds_token};

    *state = aws_fixture_new(&o);
    return *state ? 0 : -1;
}

int aws_fixture_teardown(void **state)
{
    aws_fixture_destroy(*state);
    return 0;
}
