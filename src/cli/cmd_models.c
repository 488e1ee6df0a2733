/* `milkcast models list|show|promote|rollback`: the model registry. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "milkcast/registry.h"
#include "milkcast/store.h"
#include "milkcast/tracking.h"

static const mc_command_help help = {
	"milkcast models list|show|promote|rollback|tag|untag|describe ... [options]",
	"The model registry: versions, aliases and how they moved.",
	"  list       registered models with their champion and challenger\n"
	"  show       a model's versions (run, data hash, code version, bundle) and the\n"
	"             history of its aliases\n"
	"  promote    make VERSION the champion (recorded, with the reason 'promoted')\n"
	"  rollback   give champion back to the version that held it before\n"
	"  tag NAME [VERSION] KEY=VALUE...  set tags on a version, or on the model\n"
	"  untag NAME [VERSION] KEY...      remove tags\n"
	"  describe NAME [VERSION] TEXT     describe the model, or one version\n"
	"`train` registers every bundle as a new version of milkcast-forecast; it\n"
	"becomes champion only when it beats the champion on its test window.",
};

static const char *f(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static int models_list(mc_ctx *ctx)
{
	mc_error err = MC_ERROR_INIT;
	json_t *a = mc_cli_query_json(
		ctx,
		"SELECT m.name, (SELECT count(*) FROM model_versions v WHERE v.name = m.name)"
		" AS versions, (SELECT version FROM registered_model_aliases a WHERE a.name ="
		" m.name AND a.alias = 'champion') AS champion, (SELECT version FROM"
		" registered_model_aliases a WHERE a.name = m.name AND a.alias ="
		" 'challenger') AS challenger FROM registered_models m ORDER BY m.name",
		NULL, &err);
	if (!a)
		return mc_die_error(&err);
	if (ctx->json) {
		mc_print_json(a);
		return MC_EXIT_OK;
	}
	printf("%-20s %-9s %-9s %s\n", "model", "versions", "champion", "challenger");
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o)
	{
		printf("%-20s %-9s %-9s %s\n", f(o, "name"), f(o, "versions"), f(o, "champion"),
		       f(o, "challenger"));
	}
	json_decref(a);
	return MC_EXIT_OK;
}

static int models_show(mc_ctx *ctx, const char *name)
{
	mc_error err = MC_ERROR_INIT;
	json_t *v = mc_cli_query_json(
		ctx,
		"SELECT version, run_id, data_sha256, code_version, source, creation_time,"
		" description, (SELECT group_concat(alias) FROM registered_model_aliases a"
		" WHERE a.name = v.name AND a.version = v.version) AS aliases, (SELECT"
		" json_group_object(key, value) FROM model_version_tags t WHERE t.name ="
		" v.name AND t.version = v.version) AS tags FROM model_versions v WHERE"
		" name = ? ORDER BY version",
		name, &err);
	json_t *h = v ? mc_cli_query_json(ctx,
					  "SELECT alias, old_version, new_version, time, reason "
					  "FROM alias_history"
					  " WHERE name = ? ORDER BY id",
					  name, &err)
		      : NULL;
	if (!v || !h) {
		json_decref(v);
		return mc_die_error(&err);
	}
	if (json_array_size(v) == 0) {
		json_decref(v);
		json_decref(h);
		mc_fail(&err, MC_ERR_NOT_FOUND, "no registered model '%s' ('milkcast models list')",
			name);
		return mc_die_error(&err);
	}
	size_t i;
	json_t *o;
	json_array_foreach(v, i, o)
	{
		const char *t = json_string_value(json_object_get(o, "tags"));
		json_t *parsed = t ? json_loads(t, 0, NULL) : NULL;
		json_object_set_new(o, "tags", parsed ? parsed : json_object());
	}
	json_t *m =
		mc_cli_query_json(ctx,
				  "SELECT description, (SELECT json_group_object(key, value) FROM"
				  " registered_model_tags t WHERE t.name = m.name) AS tags FROM"
				  " registered_models m WHERE name = ?",
				  name, &err);
	json_t *desc = json_incref(json_object_get(json_array_get(m, 0), "description"));
	const char *mt = json_string_value(json_object_get(json_array_get(m, 0), "tags"));
	json_t *tags = mt ? json_loads(mt, 0, NULL) : NULL;
	json_decref(m);
	if (!tags)
		tags = json_object();
	if (ctx->json) {
		mc_print_json(json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", name, "description",
					desc ? desc : json_null(), "tags", tags, "versions", v,
					"alias_history", h));
		return MC_EXIT_OK;
	}
	if (json_is_string(desc))
		printf("%s: %s\n", name, json_string_value(desc));
	json_decref(desc);
	const char *k;
	json_t *val;
	json_object_foreach(tags, k, val)
	{
		printf("%s=%s\n", k, json_string_value(val));
	}
	json_decref(tags);
	printf("%s\n%-8s %-32s %-10s %-12s %s\n", name, "version", "run", "aliases", "data",
	       "bundle");
	json_array_foreach(v, i, o)
	{
		printf("%-8s %-32s %-10s %.12s %s\n", f(o, "version"), f(o, "run_id"),
		       f(o, "aliases"), f(o, "data_sha256"), f(o, "source"));
		if (json_is_string(json_object_get(o, "description")))
			printf("         %s\n", f(o, "description"));
		json_object_foreach(json_object_get(o, "tags"), k, val)
		{
			printf("         %s=%s\n", k, json_string_value(val));
		}
	}
	printf("alias moves\n");
	json_array_foreach(h, i, o)
	{
		printf("  %-10s %s -> %s: %s\n", f(o, "alias"), f(o, "old_version"),
		       f(o, "new_version"), f(o, "reason"));
	}
	json_decref(v);
	json_decref(h);
	return MC_EXIT_OK;
}

static int moved(mc_ctx *ctx, const char *name, int version, const char *what)
{
	if (ctx->json)
		mc_print_json(json_pack("{s:s, s:s, s:i}", "name", name, "champion_alias",
					MC_ALIAS_CHAMPION, "version", version));
	else
		mc_info(ctx, "%s: champion is now version %d (%s)\n", name, version, what);
	return MC_EXIT_OK;
}

static int parse_version(const char *text, int *v)
{
	char *end;
	long x = strtol(text, &end, 10);
	if (*end || x < 1 || x > 1000000000)
		return mc_usage_error(help.usage, "VERSION is a number, not '%s'", text);
	*v = (int)x;
	return -1;
}

/* One tag argument: KEY=VALUE when setting, KEY when removing. */
static int tag_arg(const char *arg, bool set, char *key, size_t cap, const char **value)
{
	const char *eq = strchr(arg, '=');
	if (set && !eq)
		return mc_usage_error(help.usage, "tags are KEY=VALUE, not '%s'", arg);
	size_t klen = set ? (size_t)(eq - arg) : strlen(arg);
	snprintf(key, cap, "%.*s", (int)(klen < cap ? klen : cap - 1), arg);
	*value = set ? eq + 1 : NULL;
	return -1;
}

/*
 * models tag NAME [VERSION] KEY=VALUE... / models untag NAME [VERSION] KEY...
 * Without VERSION (the third word is not a number) the tags are the model's.
 */
static int models_tag(mc_ctx *ctx, int n, char **argv, bool set)
{
	int v = 0, first = 2;
	if (strspn(argv[2], "0123456789") == strlen(argv[2])) {
		int prc = parse_version(argv[2], &v);
		if (prc >= 0)
			return prc;
		first = 3;
	}
	if (first >= n)
		return mc_usage_error(help.usage, "say which tags");
	mc_error err = MC_ERROR_INIT;
	for (int i = first; i < n; i++) {
		char key[MC_KEY_MAX + 2];
		const char *value = NULL;
		int prc = tag_arg(argv[i], set, key, sizeof key, &value);
		if (prc >= 0)
			return prc;
		mc_code rc;
		if (v > 0)
			rc = set ? mc_registry_set_version_tag(ctx->store, argv[1], v, key, value,
							       &err)
				 : mc_registry_delete_version_tag(ctx->store, argv[1], v, key,
								  &err);
		else
			rc = set ? mc_registry_set_model_tag(ctx->store, argv[1], key, value, &err)
				 : mc_registry_delete_model_tag(ctx->store, argv[1], key, &err);
		if (rc)
			return mc_die_error(&err);
	}
	return MC_EXIT_OK;
}

/* models describe NAME [VERSION] TEXT */
static int models_describe(mc_ctx *ctx, int n, char **argv)
{
	int v = 0;
	if (n == 4) {
		int prc = parse_version(argv[2], &v);
		if (prc >= 0)
			return prc;
	}
	mc_error err = MC_ERROR_INIT;
	if (mc_registry_describe(ctx->store, argv[1], v, argv[n - 1], &err))
		return mc_die_error(&err);
	return MC_EXIT_OK;
}

int cmd_models(int argc, char **argv, mc_ctx *ctx)
{
	const mc_option opts[] = {MC_OPT_END()};
	int n = mc_parse_options(argc, argv, opts, &help, ctx);
	if (n < 0)
		return mc_parse_exit(n);
	if (n == 0)
		return mc_usage_error(help.usage,
				      "say list, show, promote, rollback, tag, untag or describe");
	int rc = mc_ctx_open_store(ctx);
	if (rc)
		return rc;
	mc_error err = MC_ERROR_INIT;
	if (!strcmp(argv[0], "list") && n == 1)
		return models_list(ctx);
	if (!strcmp(argv[0], "show") && n == 2)
		return models_show(ctx, argv[1]);
	if (!strcmp(argv[0], "promote") && n == 3) {
		int v = 0, prc = parse_version(argv[2], &v);
		if (prc >= 0)
			return prc;
		if (mc_registry_set_alias(ctx->store, argv[1], MC_ALIAS_CHAMPION, v, "promoted",
					  &err))
			return mc_die_error(&err);
		return moved(ctx, argv[1], v, "promoted");
	}
	if ((!strcmp(argv[0], "tag") || !strcmp(argv[0], "untag")) && n >= 3)
		return models_tag(ctx, n, argv, argv[0][0] == 't');
	if (!strcmp(argv[0], "describe") && (n == 3 || n == 4))
		return models_describe(ctx, n, argv);
	if (!strcmp(argv[0], "rollback") && n == 2) {
		int v;
		if (mc_registry_rollback(ctx->store, argv[1], &v, &err))
			return mc_die_error(&err);
		return moved(ctx, argv[1], v, "rolled back");
	}
	return mc_usage_error(help.usage, "unknown or incomplete subcommand '%s'", argv[0]);
}
