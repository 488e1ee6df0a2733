/* What build of milkcast this is: its version and the git commit it was built from. */
#ifndef MILKCAST_VERSION_H
#define MILKCAST_VERSION_H

/* The release version, e.g. "0.1.0". */
#define MC_VERSION_STRING MC_VERSION

/* The commit of the source tree at build time (12 hex digits, "-dirty" when
 * tracked files had changes), or "unknown" outside a git checkout. */
const char *mc_git_commit(void);

#endif
