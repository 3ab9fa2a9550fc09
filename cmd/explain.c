#include <stdio.h>

#include "cmd/cmd.h"

int wc_cmd_explain(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "whochanged explain: not implemented yet\n");
    return 1;
}
