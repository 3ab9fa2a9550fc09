/* registry.c - the notifier backends by name. */
#include <string.h>

#include "notifiers/notifiers.h"

static const struct wc_notifier_backend s_slack = {
    .name = "slack",
    .vtable = &wc_slack_notifier_vtable,
    .create = wc_slack_notifier_new,
};

static const struct wc_notifier_backend s_webhook = {
    .name = "webhook",
    .vtable = &wc_webhook_notifier_vtable,
    .create = wc_webhook_notifier_new,
};

static const struct wc_notifier_backend s_jsonl = {
    .name = "jsonl",
    .vtable = &wc_jsonl_notifier_vtable,
    .create = wc_jsonl_notifier_new,
};

const struct wc_notifier_backend *const wc_notifier_backends[] = {
    &s_slack,
    &s_webhook,
    &s_jsonl,
    NULL,
};

const struct wc_notifier_backend *wc_notifier_backend_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; wc_notifier_backends[i]; i++)
        if (strcmp(wc_notifier_backends[i]->name, name) == 0)
            return wc_notifier_backends[i];
    return NULL;
}
