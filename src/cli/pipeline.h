/*
 * The pipeline's flows on the flow engine (milkcast/flow.h): daily, train
 * and backfill.  Each task runs one milkcast subcommand, as a person would
 * type it, with --json inside the engine's child process: its stdout is the
 * task's result, its stderr the task's log.  A flow's parameters are
 * completed with their defaults when it is built, so a run records exactly
 * what it did.  See docs/user-guide.md ("Flows").
 */
#ifndef MILKCAST_CLI_PIPELINE_H
#define MILKCAST_CLI_PIPELINE_H

#include <jansson.h>

#include "cli/cli.h"
#include "milkcast/flow.h"

typedef struct mc_pipeline mc_pipeline;

/* The flows, NULL-terminated: "daily", "train", "backfill". */
extern const char *const mc_pipeline_names[];

/*
 * Build flow `name` with params (a JSON object of strings, numbers or
 * booleans; unknown keys and bad values are MC_ERR_INVALID naming the key).
 * Backfill reads the lake to find the publication days.  Free with
 * mc_pipeline_free.
 */
mc_code mc_pipeline_build(const mc_ctx *ctx, const char *name, const json_t *params,
			  mc_pipeline **out, mc_error *err);
void mc_pipeline_free(mc_pipeline *p);

const mc_flow_def *mc_pipeline_def(const mc_pipeline *p);
/* The parameters with every default filled in.  Borrowed. */
const json_t *mc_pipeline_params(const mc_pipeline *p);

/* One line per flow and parameter with its default, for --help. */
extern const char mc_pipeline_help[];

#endif
