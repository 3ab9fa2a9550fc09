#include "tests/support/aws_fixture.h"

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
