/* Helpers shared by ingest, lake, train, predict and backtest. */
#include "cli/forecast_cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "milkcast/lake_remote.h"

mc_code mc_cli_open_lake(const mc_ctx *ctx, bool pull, mc_lake **out, mc_error *err)
{
	*out = NULL;
	mc_lake *l;
	mc_code rc = mc_lake_open(ctx->home, &l, err);
	if (rc)
		return rc;
	const char *uri = getenv("MILKCAST_LAKE");
	if (uri && uri[0] && (rc = mc_lake_attach_remote(l, uri, err)) != MC_OK)
		mc_error_prefix(err, "MILKCAST_LAKE: ");
	if (!rc && pull && mc_lake_remote_uri(l)) {
		rc = mc_lake_pull(l, err);
		mc_lake_sync_stats s;
		mc_lake_sync_stats_get(l, &s);
		if (!rc)
			mc_verbose(ctx,
				   "lake: %zu partition%s downloaded from %s (manifest generation "
				   "%" PRId64 ", %zu partitions)\n",
				   s.downloaded, s.downloaded == 1 ? "" : "s",
				   mc_lake_remote_uri(l), s.generation, s.remote_partitions);
	}
	if (rc) {
		mc_lake_free(l);
		return rc;
	}
	*out = l;
	return MC_OK;
}

mc_code mc_cli_read_lake(const mc_ctx *ctx, mc_table **out, mc_error *err)
{
	*out = NULL;
	mc_lake *l;
	mc_code rc = mc_cli_open_lake(ctx, true, &l, err);
	if (rc)
		return rc;
	rc = mc_lake_read(l, INT32_MIN, INT32_MAX, out, err);
	if (!rc && (*out)->nrows == 0) {
		mc_table_free(*out);
		*out = NULL;
		const char *remote = mc_lake_remote_uri(l);
		rc = mc_fail(
			err, MC_ERR_EMPTY,
			"the lake in '%s'%s%s%s is empty: add data with 'milkcast ingest' first",
			ctx->home, remote ? " (remote '" : "", remote ? remote : "",
			remote ? "')" : "");
	}
	mc_lake_free(l);
	return rc;
}

void mc_cli_bundle_cache(const mc_ctx *ctx, char *out, size_t cap)
{
	snprintf(out, cap, "%s/cache/bundles", ctx->home);
}

mc_code mc_cli_load_bundle(const mc_ctx *ctx, const char *path, mc_bundle **out, mc_error *err)
{
	char def[4200], cache[4200];
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
	mc_cli_bundle_cache(ctx, cache, sizeof cache);
	return mc_bundle_open(path, cache, out, err);
}
