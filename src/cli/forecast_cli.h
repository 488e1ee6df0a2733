/* Helpers shared by train, predict and backtest (src/cli/forecast_cli.c). */
#ifndef MILKCAST_FORECAST_CLI_H
#define MILKCAST_FORECAST_CLI_H

#include "cli/cli.h"
#include "milkcast/forecast.h"
#include "milkcast/table.h"

/* The whole lake as one table; MC_ERR_EMPTY (with advice) when it holds nothing. */
mc_code mc_cli_read_lake(const mc_ctx *ctx, mc_table **out, mc_error *err);

/* The bundle at `path`, or HOME/models/latest when path is NULL. */
mc_code mc_cli_load_bundle(const mc_ctx *ctx, const char *path, mc_bundle **out, mc_error *err);

#endif
