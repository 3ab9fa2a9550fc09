#include "aws/dynamodb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/endpoints.h"
#include "core/awsid.h"
#include "core/err.h"
#include "core/str.h"

struct wc_dynamodb {
    struct wc_aws *aws;
    struct wc_creds_provider *creds;
    struct wc_logger *logger;
    char *region;
    char *endpoint; /* no trailing '/' */
    char *url;      /* endpoint + "/" */
    long timeout_ms;
};

/* --- items ----------------------------------------------------------------- */

void wc_dynamodb_item_clean_up(struct wc_dynamodb_item *item)
{
    if (!item)
        return;
    for (size_t i = 0; i < item->n; i++) {
        free((char *)item->attrs[i].name);
        free((char *)item->attrs[i].value);
    }
    free(item->attrs);
    item->attrs = NULL;
    item->n = 0;
}

const struct wc_dynamodb_attr *wc_dynamodb_item_get(const struct wc_dynamodb_item *item,
                                                    const char *name)
{
    for (size_t i = 0; item && name && i < item->n; i++)
        if (!strcmp(item->attrs[i].name, name))
            return &item->attrs[i];
    return NULL;
}

/* --- request bodies -------------------------------------------------------- */

static bool s_attrs_ok(const struct wc_dynamodb_attr *attrs, size_t n)
{
    if (n && !attrs)
        return false;
    for (size_t i = 0; i < n; i++)
        if (wc_str_empty(attrs[i].name) || !attrs[i].value ||
            (attrs[i].type != WC_DYNAMODB_S && attrs[i].type != WC_DYNAMODB_N))
            return false;
    return true;
}

/* {"S": value} or {"N": value} added to obj as name (checked: s_attrs_ok). */
static bool s_add_value(cJSON *obj, const struct wc_dynamodb_attr *a)
{
    cJSON *v;

    if (!(v = cJSON_AddObjectToObject(obj, a->name)))
        return false;
    return cJSON_AddStringToObject(v, a->type == WC_DYNAMODB_S ? "S" : "N", a->value) != NULL;
}

static bool s_add_attrs(cJSON *root, const char *field, const struct wc_dynamodb_attr *attrs,
                        size_t n)
{
    cJSON *obj = cJSON_AddObjectToObject(root, field);

    for (size_t i = 0; obj && i < n; i++)
        if (!s_add_value(obj, &attrs[i]))
            return false;
    return obj != NULL;
}

/* The arguments were checked: a failure to build is a failure to allocate. */
static int s_print(cJSON *root, bool ok, struct wc_buf *out)
{
    char *text = NULL;
    int rc = WC_ERR_NOMEM;

    if (ok && (text = cJSON_PrintUnformatted(root)) != NULL)
        rc = wc_buf_append_cstr(out, text);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

int wc_dynamodb_get_item_body(const struct wc_dynamodb_get *get, struct wc_buf *out)
{
    cJSON *root, *names = NULL;
    struct wc_buf proj = WC_BUF_INIT;
    bool ok;
    int rc;

    if (!get || !out || !wc_dynamodb_table_is_valid(get->table) || !get->n_key ||
        !s_attrs_ok(get->key, get->n_key) || (get->n_projection && !get->projection))
        return WC_ERR_INVALID;
    for (size_t i = 0; i < get->n_projection; i++)
        if (wc_str_empty(get->projection[i]))
            return WC_ERR_INVALID;
    if (!(root = cJSON_CreateObject()))
        return WC_ERR_NOMEM;
    ok = cJSON_AddStringToObject(root, "TableName", get->table) &&
         s_add_attrs(root, "Key", get->key, get->n_key) &&
         (!get->consistent || cJSON_AddTrueToObject(root, "ConsistentRead"));
    for (size_t i = 0; ok && i < get->n_projection; i++) {
        char ph[32];

        snprintf(ph, sizeof(ph), "#p%zu", i);
        ok = wc_buf_appendf(&proj, "%s%s", i ? "," : "", ph) == WC_OK &&
             (names || (names = cJSON_AddObjectToObject(root, "ExpressionAttributeNames"))) &&
             cJSON_AddStringToObject(names, ph, get->projection[i]);
    }
    if (ok && get->n_projection)
        ok = cJSON_AddStringToObject(root, "ProjectionExpression", proj.ptr) != NULL;
    rc = s_print(root, ok, out);
    wc_buf_clean_up(&proj);
    return rc;
}

int wc_dynamodb_put_item_body(const struct wc_dynamodb_put *put, struct wc_buf *out)
{
    cJSON *root, *names;
    bool ok;

    if (!put || !out || !wc_dynamodb_table_is_valid(put->table) || !put->n_item ||
        !s_attrs_ok(put->item, put->n_item) || !s_attrs_ok(put->values, put->n_values) ||
        (put->n_names && !put->names))
        return WC_ERR_INVALID;
    for (size_t i = 0; i < put->n_names; i++)
        if (wc_str_empty(put->names[i].placeholder) || wc_str_empty(put->names[i].name))
            return WC_ERR_INVALID;
    if (!(root = cJSON_CreateObject()))
        return WC_ERR_NOMEM;
    ok = cJSON_AddStringToObject(root, "TableName", put->table) &&
         s_add_attrs(root, "Item", put->item, put->n_item) &&
         (!put->condition || cJSON_AddStringToObject(root, "ConditionExpression", put->condition));
    if (ok && put->n_names) {
        ok = (names = cJSON_AddObjectToObject(root, "ExpressionAttributeNames")) != NULL;
        for (size_t i = 0; ok && i < put->n_names; i++)
            ok = cJSON_AddStringToObject(names, put->names[i].placeholder, put->names[i].name);
    }
    if (ok && put->n_values)
        ok = s_add_attrs(root, "ExpressionAttributeValues", put->values, put->n_values);
    return s_print(root, ok, out);
}

/* --- answers --------------------------------------------------------------- */

int wc_dynamodb_parse_item(const char *json, size_t len, bool *found,
                           struct wc_dynamodb_item *out)
{
    cJSON *root, *item, *a;
    size_t n = 0;
    int rc = WC_OK;

    *found = false;
    if (!(root = cJSON_ParseWithLength(json ? json : "", len)) || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return WC_ERR_PARSE;
    }
    item = cJSON_GetObjectItemCaseSensitive(root, "Item");
    if (!item) /* {} : no such item */
        goto out;
    if (!cJSON_IsObject(item)) {
        rc = WC_ERR_PARSE;
        goto out;
    }
    *found = true;
    cJSON_ArrayForEach(a, item)
        n++;
    if (n && !(out->attrs = calloc(n, sizeof(*out->attrs)))) {
        rc = WC_ERR_NOMEM;
        goto out;
    }
    cJSON_ArrayForEach(a, item) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(a, "S");
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(a, "N");
        const cJSON *v = cJSON_IsString(s) ? s : cJSON_IsString(num) ? num : NULL;
        struct wc_dynamodb_attr *dst = &out->attrs[out->n];

        if (!v || !a->string)
            continue; /* a type the ledger does not use */
        dst->type = v == s ? WC_DYNAMODB_S : WC_DYNAMODB_N;
        dst->name = wc_strdup(a->string);
        dst->value = wc_strdup(v->valuestring);
        out->n++;
        if (!dst->name || !dst->value) {
            rc = WC_ERR_NOMEM;
            goto out;
        }
    }
out:
    if (rc != WC_OK) {
        wc_dynamodb_item_clean_up(out);
        *found = false;
    }
    cJSON_Delete(root);
    return rc;
}

/* --- calls ----------------------------------------------------------------- */

int wc_dynamodb_error_rc(const char *code, int rc)
{
    if (!code)
        return rc;
    if (!strcmp(code, "ResourceNotFoundException"))
        return WC_ERR_NOT_FOUND;
    if (!strcmp(code, "AccessDeniedException"))
        return WC_ERR_AUTH;
    /* a 400 that is not ours to retry: say "the service refused" */
    if (rc == WC_ERR_NOT_FOUND)
        return WC_ERR_SERVICE;
    return rc;
}

/* POST body as DynamoDB_20120810.<op> on table ("table <name>" in the
 * not-authorized line wc_aws_send logs for an access-denied answer). */
static int s_call(struct wc_dynamodb *d, const char *op, const char *table,
                  const struct wc_buf *body, struct wc_http_response *resp,
                  struct wc_aws_error *err)
{
    struct wc_aws_credentials creds = {0};
    char target[64], where[sizeof("table ") + 256];
    struct wc_http_header headers[] = {
        {(char *)"Content-Type", (char *)WC_DYNAMODB_CONTENT_TYPE},
        {(char *)"X-Amz-Target", target},
    };
    struct wc_aws_request req = {
        .service = "dynamodb",
        .region = d->region,
        .method = "POST",
        .url = d->url,
        .headers = headers,
        .n_headers = sizeof(headers) / sizeof(headers[0]),
        .body = body->ptr,
        .body_len = body->len,
        .max_response_bytes = WC_DYNAMODB_MAX_RESPONSE_BYTES,
        .timeout_ms = d->timeout_ms,
        /* a record must be made even while stopping (the post went out) */
        .cancellable = false,
        .resource = where,
    };
    int rc;

    snprintf(target, sizeof(target), WC_DYNAMODB_TARGET_PREFIX "%s", op);
    snprintf(where, sizeof(where), "table %s", table ? table : "?");
    if ((rc = wc_creds_provider_get(d->creds, &creds)) != WC_OK) {
        WC_LOGW(d->logger, NULL, "dynamodb: %s: no credentials: %s", op, wc_strerror(rc));
        rc = WC_ERR_AUTH;
        goto out;
    }
    rc = wc_aws_send(d->aws, &creds, &req, resp, err, NULL);
    if (rc != WC_OK)
        rc = wc_dynamodb_error_rc(err->code, rc);
out:
    wc_aws_credentials_clean_up(&creds);
    return rc;
}

int wc_dynamodb_get_item(struct wc_dynamodb *d, const struct wc_dynamodb_get *get, bool *found,
                         struct wc_dynamodb_item *out, struct wc_aws_error *err)
{
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_dynamodb_item item = WC_DYNAMODB_ITEM_INIT;
    struct wc_buf body = WC_BUF_INIT;
    int rc;

    if (!d || !found || !err)
        return WC_ERR_INVALID;
    *found = false;
    if ((rc = wc_dynamodb_get_item_body(get, &body)) != WC_OK)
        goto out;
    if ((rc = s_call(d, "GetItem", get->table, &body, &resp, err)) != WC_OK)
        goto out;
    rc = wc_dynamodb_parse_item(resp.body.ptr, resp.body.len, found, &item);
    if (rc == WC_ERR_PARSE)
        WC_LOGW(d->logger, NULL, "dynamodb: GetItem on %s: the answer is not an item",
                get->table);
    if (rc == WC_OK && out) {
        *out = item;
        item = (struct wc_dynamodb_item)WC_DYNAMODB_ITEM_INIT;
    }
out:
    wc_dynamodb_item_clean_up(&item);
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    return rc;
}

int wc_dynamodb_put_item(struct wc_dynamodb *d, const struct wc_dynamodb_put *put,
                         bool *condition_failed, struct wc_aws_error *err)
{
    struct wc_http_response resp = WC_HTTP_RESPONSE_INIT;
    struct wc_buf body = WC_BUF_INIT;
    int rc;

    if (!d || !condition_failed || !err)
        return WC_ERR_INVALID;
    *condition_failed = false;
    if ((rc = wc_dynamodb_put_item_body(put, &body)) != WC_OK)
        goto out;
    rc = s_call(d, "PutItem", put->table, &body, &resp, err);
    if (rc != WC_OK && err->code && !strcmp(err->code, "ConditionalCheckFailedException")) {
        *condition_failed = true;
        rc = WC_OK;
    }
out:
    wc_http_response_clean_up(&resp);
    wc_buf_clean_up(&body);
    return rc;
}

/* --- the client ------------------------------------------------------------ */

struct wc_dynamodb *wc_dynamodb_new(const struct wc_dynamodb_options *o)
{
    static const struct wc_env no_env = {NULL, NULL};
    struct wc_dynamodb *d;
    struct wc_buf url = WC_BUF_INIT;
    char *endpoint = NULL;
    int rc = WC_OK;

    if (!o || !o->aws || !o->creds || !o->region || !wc_region_is_valid(o->region))
        return NULL;
    if (!(d = calloc(1, sizeof(*d))))
        return NULL;
    d->aws = o->aws;
    d->creds = o->creds;
    d->logger = o->logger ? o->logger : wc_aws_logger(o->aws);
    d->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : WC_DYNAMODB_DEFAULT_TIMEOUT_MS;
    if (!wc_str_empty(o->endpoint))
        endpoint = wc_strdup(o->endpoint);
    else
        rc = wc_endpoint_resolve("dynamodb", o->region, NULL, 0, &no_env, &endpoint);
    if (rc != WC_OK || !endpoint || !(d->region = wc_strdup(o->region)))
        goto fail;
    /* one '/' between the base and the path, whatever the base ends with */
    while (*endpoint && endpoint[strlen(endpoint) - 1] == '/')
        endpoint[strlen(endpoint) - 1] = '\0';
    d->endpoint = endpoint;
    endpoint = NULL;
    if (wc_buf_appendf(&url, "%s/", d->endpoint) != WC_OK || !(d->url = wc_buf_steal(&url)))
        goto fail;
    return d;
fail:
    free(endpoint);
    wc_buf_clean_up(&url);
    wc_dynamodb_destroy(d);
    return NULL;
}

void wc_dynamodb_destroy(struct wc_dynamodb *d)
{
    if (!d)
        return;
    free(d->region);
    free(d->endpoint);
    free(d->url);
    free(d);
}

const char *wc_dynamodb_region(const struct wc_dynamodb *d)
{
    return d ? d->region : NULL;
}

const char *wc_dynamodb_endpoint(const struct wc_dynamodb *d)
{
    return d ? d->endpoint : NULL;
}
