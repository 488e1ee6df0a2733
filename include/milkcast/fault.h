/*
 * Crash points for tests: when the environment variable MILKCAST_FAULT names
 * a point, the process kills itself there with SIGKILL (no cleanup, no
 * flush), so tests can prove a crash at that step leaves consistent state.
 * Unset, a point costs one getenv on first use.
 */
#ifndef MILKCAST_FAULT_H
#define MILKCAST_FAULT_H

/* Die here if MILKCAST_FAULT equals name. */
void mc_fault_point(const char *name);

#endif
