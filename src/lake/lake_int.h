/* Private to src/lake: the remote attached to a lake (lake.c holds it, remote.c uses it). */
#ifndef MILKCAST_LAKE_LAKE_INT_H
#define MILKCAST_LAKE_LAKE_INT_H

#include "milkcast/lake.h"

typedef struct mc_lake_remote mc_lake_remote;

/* The lake's remote (NULL when none); set replaces and frees the previous one. */
mc_lake_remote *mc_lake_remote_of(const mc_lake *l);
void mc_lake_remote_set(mc_lake *l, mc_lake_remote *r);
void mc_lake_remote_free(mc_lake_remote *r);

#endif
