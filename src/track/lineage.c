/* The code lineage every run records: milkcast's version and commit, and the libraries'. */
#include <jansson.h>
#include <stdio.h>

#include "milkcast/httpc.h"
#include "milkcast/tracking.h"
#include "milkcast/version.h"
#include "milkcast/xgb.h"

mc_code mc_run_tag_lineage(mc_store *s, const char *run, mc_error *err)
{
	const struct {
		const char *k;
		const char *v;
	} tags[] = {
		/* MLflow's own name for the commit, so its UI shows it. */
		{"mlflow.source.git.commit", mc_git_commit()},
		{"mlflow.source.name", "milkcast"},
		{"mlflow.source.type", "LOCAL"},
		{"milkcast.version", MC_VERSION},
		{"milkcast.git_commit", mc_git_commit()},
		{"milkcast.xgboost_version", mc_xgb_version()},
		{"milkcast.sqlite_version", mc_store_sqlite_version()},
		{"milkcast.jansson_version", JANSSON_VERSION},
		{"milkcast.curl_version", mc_httpc_curl_version()}, /* loads libcurl */
	};
	mc_code rc = MC_OK;
	for (size_t i = 0; i < sizeof tags / sizeof *tags && !rc; i++)
		rc = mc_run_set_tag(s, run, tags[i].k, tags[i].v, err);
	return rc;
}
