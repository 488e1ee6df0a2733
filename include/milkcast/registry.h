/*
 * The model registry in milkcast.db, as MLflow's: registered models, versions
 * numbered per model, aliases (champion, challenger) with every move recorded
 * in alias_history with its time and reason.  Lineage: a version names its
 * run, the data snapshot hash and the code version.
 */
#ifndef MILKCAST_REGISTRY_H
#define MILKCAST_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "milkcast/error.h"
#include "milkcast/store.h"

#define MC_MODEL_NAME "milkcast-forecast"
#define MC_ALIAS_CHAMPION "champion"
#define MC_ALIAS_CHALLENGER "challenger"
/* MLflow's limits: tag values up to 5000 bytes, descriptions up to 5000. */
#define MC_TAG_VALUE_MAX 5000
#define MC_DESCRIPTION_MAX 5000

typedef struct mc_version_info {
	const char *source;	  /* where the bundle is (a directory or URI) */
	const char *run_id;	  /* the training run */
	const char *data_sha256;  /* the data snapshot */
	const char *code_version; /* milkcast's version */
	const char *description;  /* nullable */
} mc_version_info;

/* A new version of `name` (created when new): 1, 2, ... */
mc_code mc_registry_register(mc_store *s, const char *name, const mc_version_info *info,
			     int *version, mc_error *err);
/* The version an alias points at; MC_ERR_NOT_FOUND when unset. */
mc_code mc_registry_alias(mc_store *s, const char *name, const char *alias, int *version,
			  mc_error *err);
/* Point an alias at a version, recording the move and why. */
mc_code mc_registry_set_alias(mc_store *s, const char *name, const char *alias, int version,
			      const char *reason, mc_error *err);
/* Point champion back at the version it held before its last move. */
mc_code mc_registry_rollback(mc_store *s, const char *name, int *version, mc_error *err);
/* Set (or replace) a version's tag; keys follow MLflow's rule. */
mc_code mc_registry_set_version_tag(mc_store *s, const char *name, int version, const char *key,
				    const char *value, mc_error *err);
/* Remove a version's tag (absent: not an error). */
mc_code mc_registry_delete_version_tag(mc_store *s, const char *name, int version, const char *key,
				       mc_error *err);
/* Set (or replace) / remove a tag of the registered model itself. */
mc_code mc_registry_set_model_tag(mc_store *s, const char *name, const char *key, const char *value,
				  mc_error *err);
mc_code mc_registry_delete_model_tag(mc_store *s, const char *name, const char *key, mc_error *err);
/* Set the description of a version, or of the model itself when version is 0. */
mc_code mc_registry_describe(mc_store *s, const char *name, int version, const char *text,
			     mc_error *err);
/* Where a version's bundle is. */
mc_code mc_registry_source(mc_store *s, const char *name, int version, char *out, size_t cap,
			   mc_error *err);

#endif
