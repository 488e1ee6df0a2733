/* Helpers shared by ingest, lake, train, predict and backtest (src/cli/forecast_cli.c). */
#ifndef MILKCAST_FORECAST_CLI_H
#define MILKCAST_FORECAST_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "milkcast/forecast.h"
#include "milkcast/lake.h"
#include "milkcast/table.h"

/*
 * The workspace's lake, with the remote lake of $MILKCAST_LAKE (s3://…,
 * file://… or a path) attached when it is set; with `pull`, brought up to
 * the remote's manifest first.  Free with mc_lake_free.
 */
mc_code mc_cli_open_lake(const mc_ctx *ctx, bool pull, mc_lake **out, mc_error *err);

/* The whole lake (pulled first) as one table; MC_ERR_EMPTY (with advice) when it holds nothing. */
mc_code mc_cli_read_lake(const mc_ctx *ctx, mc_table **out, mc_error *err);

/* Where bundles fetched from an artifact store are cached: HOME/cache/bundles. */
void mc_cli_bundle_cache(const mc_ctx *ctx, char *out, size_t cap);

/* The bundle at `path` (a directory or a store URI), or HOME/models/latest when path is NULL. */
mc_code mc_cli_load_bundle(const mc_ctx *ctx, const char *path, mc_bundle **out, mc_error *err);

#endif
