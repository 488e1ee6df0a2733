/* The failure hook that sends an alert through src/alert. */
#include <stdio.h>

#include "flow/flow_int.h"
#include "milkcast/alert.h"

void mc_flow_alert_hook(void *alerter, const mc_flow_run_info *run)
{
	if (!alerter || !run)
		return;
	char title[256], details[1024], key[128];
	snprintf(title, sizeof title, "Flow '%s' run %.8s %s", run->flow, run->id,
		 mc_state_name(run->state));
	snprintf(details, sizeof details, "Run %s: %s\nParameters: %.400s", run->id,
		 run->message ? run->message : "(no message)",
		 run->parameters ? run->parameters : "{}");
	snprintf(key, sizeof key, "flow_failed:%s:%s:%d", run->id, mc_state_name(run->state),
		 run->run_count);
	mc_alert a = {.rule = "flow_failed",
		      .severity = MC_ALERT_CRITICAL,
		      .title = title,
		      .details = details,
		      .link = NULL,
		      .dedup_key = key};
	mc_alert_outcome out;
	mc_error err = MC_ERROR_INIT;
	mc_alert_send(alerter, &a, &out, &err); /* what happened is in alerts_sent */
}
