/*
 * The first steps of a forked worker process (a flow's task, a Lambda
 * command): its own process group, killed when its parent dies, signal
 * handlers inherited from the parent reset to their defaults, SIGTERM
 * deliverable and no signal blocked.
 */
#ifndef MILKCAST_CHILD_H
#define MILKCAST_CHILD_H

#include <sys/types.h>

/* Call first in the child of fork(); exits with orphan_status when `parent`
 * is already gone (it died before the child could ask to die with it). */
void mc_child_setup(pid_t parent, int orphan_status);

#endif
