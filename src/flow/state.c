/* State and log level names of the flow engine (Prefect's). */
#include <strings.h>

#include "flow/flow_int.h"

static const char *const state_names[MC_NSTATES] = {
	"Scheduled", "Pending", "Running",  "Retrying", "Completed",
	"Cached",    "Failed",	"TimedOut", "Crashed",	"Cancelled",
};

const char *mc_state_name(mc_state s)
{
	return (unsigned)s < MC_NSTATES ? state_names[s] : "Unknown";
}

mc_code mc_state_parse(const char *name, mc_state *out, mc_error *err)
{
	for (int i = 0; i < MC_NSTATES; i++)
		if (!strcasecmp(name, state_names[i])) {
			*out = (mc_state)i;
			return MC_OK;
		}
	return mc_fail(err, MC_ERR_INVALID,
		       "unknown state '%.40s': one of Scheduled, Pending, Running, Retrying, "
		       "Completed, Cached, Failed, TimedOut, Crashed, Cancelled",
		       name);
}

bool mc_state_is_final(mc_state s)
{
	return s >= MC_STATE_COMPLETED && s <= MC_STATE_CANCELLED;
}

bool mc_state_is_ok(mc_state s)
{
	return s == MC_STATE_COMPLETED || s == MC_STATE_CACHED;
}

/* A state read back from milkcast.db: an unknown name means a corrupt row. */
mc_code flow_state_from_db(const char *name, mc_state *out, mc_error *err)
{
	if (name && mc_state_parse(name, out, err) == MC_OK)
		return MC_OK;
	return mc_fail(err, MC_ERR_FORMAT, "milkcast.db holds an unknown flow state '%.40s'",
		       name ? name : "(null)");
}

const char *mc_log_level_name(mc_log_level level)
{
	switch (level) {
	case MC_LOG_DEBUG: return "DEBUG";
	case MC_LOG_INFO: return "INFO";
	case MC_LOG_WARNING: return "WARNING";
	case MC_LOG_ERROR: return "ERROR";
	}
	return "INFO";
}
