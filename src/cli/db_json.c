/* Query results as JSON, for the commands that show what milkcast.db holds. */
#include <jansson.h>

#include "cli/cli.h"
#include "milkcast/store.h"

json_t *mc_cli_query_json(mc_ctx *ctx, const char *sql, const char *arg, mc_error *err)
{
	mc_stmt *st;
	if (mc_stmt_prepare(ctx->store, sql, &st, err))
		return NULL;
	if (arg && mc_stmt_bind_text(st, 1, arg)) {
		mc_stmt_free(st);
		return NULL;
	}
	json_t *a = json_array();
	bool row;
	while (!mc_stmt_step(st, &row, err) && row) {
		json_t *o = json_object();
		for (int i = 0; i < mc_stmt_columns(st); i++)
			json_object_set_new(o, mc_stmt_column_name(st, i),
					    mc_stmt_is_null(st, i)
						    ? json_null()
						    : json_string(mc_stmt_text(st, i)));
		json_array_append_new(a, o);
	}
	mc_stmt_free(st);
	if (err->code) {
		json_decref(a);
		return NULL;
	}
	return a;
}
