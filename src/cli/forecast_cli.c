/* Helpers shared by train, predict and backtest. */
#include "cli/forecast_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "milkcast/lake.h"

mc_code mc_cli_read_lake(const mc_ctx *ctx, mc_table **out, mc_error *err)
{
	*out = NULL;
	mc_lake *l;
	mc_code rc = mc_lake_open(ctx->home, &l, err);
	if (rc)
		return rc;
	rc = mc_lake_read(l, INT32_MIN, INT32_MAX, out, err);
	mc_lake_free(l);
	if (!rc && (*out)->nrows == 0) {
		mc_table_free(*out);
		*out = NULL;
		rc = mc_fail(err, MC_ERR_EMPTY,
			     "the lake in '%s' is empty: add data with 'milkcast ingest' first",
			     ctx->home);
	}
	return rc;
}

mc_code mc_cli_load_bundle(const mc_ctx *ctx, const char *path, mc_bundle **out, mc_error *err)
{
	char def[4200];
	if (!path) {
		snprintf(def, sizeof def, "%s/models/latest", ctx->home);
		struct stat st;
		if (stat(def, &st) != 0)
			return mc_fail(err, MC_ERR_NOT_FOUND,
				       "no model in '%s/models': train one with 'milkcast train' "
				       "or pass --model DIR",
				       ctx->home);
		path = def;
	}
	return mc_bundle_load(path, out, err);
}
