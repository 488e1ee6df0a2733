/* Opening the workspace (milkcast.db and the lake) for the commands that need it. */
#include "cli/cli.h"
#include "milkcast/store.h"

int mc_ctx_open_store(mc_ctx *ctx)
{
	if (ctx->store)
		return MC_EXIT_OK;
	mc_error err = MC_ERROR_INIT;
	if (mc_store_open(ctx->home, &ctx->store, &err))
		return mc_die_error(&err);
	return MC_EXIT_OK;
}

void mc_ctx_release(mc_ctx *ctx)
{
	mc_store_free(ctx->store);
	ctx->store = NULL;
}
