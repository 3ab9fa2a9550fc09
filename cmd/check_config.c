#include <stdio.h>

#include "cmd/cmd.h"

int wc_cmd_check_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "whochanged check-config: not implemented yet\n");
    return 1;
}
