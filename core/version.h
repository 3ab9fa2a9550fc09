/* version.h - whochanged's version, decided in one place.
 *
 * scripts/version prints it (VERSION, and git describe when the source is a
 * git checkout); the Makefile passes it to core/version.c alone as
 * -DWC_VERSION, so a new version recompiles one file. Everything that shows
 * a version asks here: `whochanged version` and --version, the
 * whochanged_build_info metric, the User-Agent of AWS and notifier requests,
 * and the Debian package (make deb) uses the same script.
 */
#ifndef WC_VERSION_H
#define WC_VERSION_H

/* "0.1.0", "0.1.0+3.g1a2b3c4", "0.1.0+g1a2b3c4.dirty": [0-9A-Za-z.+~] only. */
const char *wc_version(void);
/* "whochanged/<version>", the User-Agent of every HTTP request we make. */
const char *wc_version_user_agent(void);

#endif
