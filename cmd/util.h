/* util.h - small helpers shared by the subcommands (file reading, flags). */
#ifndef WC_CMD_UTIL_H
#define WC_CMD_UTIL_H

#include <stddef.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/str.h"

/* Read a whole file into out (capped at max_bytes). On failure returns a
 * negative wc_err and writes a one-line reason (strerror or "larger than
 * N bytes") to errbuf. */
int wc_cmd_read_file(const char *path, size_t max_bytes, struct wc_buf *out, char *errbuf,
                     size_t errlen);

/* "--name=value" or "--name value": if argv[*i] is the option, store the
 * value, advance *i, and return 1; return 0 if it is another argument;
 * return -1 (after printing an error) when the value is missing. */
int wc_cmd_opt_value(int argc, char **argv, int *i, const char *name, const char **value,
                     const char *cmd);

/* What `run` needs of a config beyond what the loader checks, in one
 * place so that `run` and `check-config` agree. Appends one line per
 * problem to errors (run refuses to start: no queue; no region to be had
 * from the config, the environment or the queue URL; no SQS endpoint for
 * it) and to warnings (it starts, probably not as meant: no notifier; an
 * empty `trusted` and `automation_user_agents`, so every change is
 * reported as human). Each line names the config file. WC_OK or
 * WC_ERR_NOMEM. */
int wc_cmd_run_checks(const struct wc_config *cfg, struct wc_strlist *errors,
                      struct wc_strlist *warnings);

/* The process holds live AWS credentials and notifier secrets: no core file
 * (RLIMIT_CORE 0, soft and hard) and not dumpable (PR_SET_DUMPABLE 0: no
 * core either way, and no ptrace or /proc/PID/mem from other processes of
 * the same user). 0, or -1 with a reason in err. */
int wc_cmd_disable_core_dumps(char *err, size_t errlen);

/* The worker's malloc without per-thread caches. glibc gives every thread a
 * cache of freed chunks (tcache: up to 7 per size class) that only that
 * thread reuses; with the worker's 64 I/O threads those caches pinned about
 * 7 MiB of heap at peak (bench C: 24 MiB peak RSS with them, 17 without, and
 * no slower). glibc reads that setting only from the environment at start-up
 * (GLIBC_TUNABLES=glibc.malloc.tcache_count=0), so the worker sets it and
 * executes itself again (/proc/self/exe, same argv, same pid) before it
 * reads anything. Nothing happens when GLIBC_TUNABLES already names
 * glibc.malloc.tcache_count (the user's choice, and the second start).
 * Processes the worker starts (credential_process) inherit the variable.
 * Returns 0 when nothing was to be done; on failure -1 with a reason in err
 * (the worker goes on with glibc's defaults); on success it does not return. */
int wc_cmd_reexec_without_tcache(char **argv, char *err, size_t errlen);

#endif
