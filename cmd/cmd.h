/* cmd.h - subcommands. Each returns the process exit code:
 * 0 success, 1 runtime failure, 2 bad usage or bad input. */
#ifndef WC_CMD_H
#define WC_CMD_H

int wc_cmd_explain(int argc, char **argv);
int wc_cmd_check_config(int argc, char **argv);
int wc_cmd_run(int argc, char **argv);
int wc_cmd_history(int argc, char **argv);

#endif
