/* The first steps of a forked worker process; see milkcast/child.h. */
#include "milkcast/child.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

void mc_child_setup(pid_t parent, int orphan_status)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(orphan_status);
	/* The parent may catch signals (a CLI's SIGINT, a test harness's
	 * SIGSEGV): not in the child.  SIGTERM must stop it, as timeouts and
	 * cancellation expect. */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN &&
		    sa.sa_handler != SIG_DFL)
			signal(sig, SIG_DFL);
	}
	signal(SIGTERM, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
