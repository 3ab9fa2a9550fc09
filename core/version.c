/* version.c - see version.h. The build defines WC_VERSION for this file. */
#include "core/version.h"

#ifndef WC_VERSION
/* Built without the Makefile (an IDE, a static analyser): say so. */
#define WC_VERSION "0.0.0+unknown"
#endif

const char *wc_version(void)
{
    return WC_VERSION;
}

const char *wc_version_user_agent(void)
{
    return "whochanged/" WC_VERSION;
}
