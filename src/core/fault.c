/* Crash points for tests; see milkcast/fault.h. */
#include "milkcast/fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void mc_fault_point(const char *name)
{
	const char *want = getenv("MILKCAST_FAULT");
	if (want && !strcmp(want, name))
		raise(SIGKILL);
}
