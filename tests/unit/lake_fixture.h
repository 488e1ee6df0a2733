/*
 * For tests: the shipped workbook ingested into a throw-away workspace and
 * read back as one lake-schema table, as the product itself would see it.
 */
#ifndef MC_TEST_LAKE_FIXTURE_H
#define MC_TEST_LAKE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "milkcast/ingest.h"
#include "milkcast/lake.h"
#include "milkcast/store.h"

#define MC_FIXTURE_WORKBOOK "data/sniim/raw/Leche31032025.xlsx"

/* Returns the table (caller frees) or NULL; the workspace is removed. */
static inline mc_table *mc_fixture_lake_table(void)
{
	char home[] = "/tmp/mc-fixture-XXXXXX";
	if (!mkdtemp(home))
		return NULL;
	mc_error err = MC_ERROR_INIT;
	mc_store *s = NULL;
	mc_lake *l = NULL;
	mc_table *t = NULL;
	mc_ingest_opts o;
	mc_ingest_opts_init(&o);
	mc_ingest_summary sum;
	const char *wb = MC_FIXTURE_WORKBOOK;
	if (mc_store_open(home, &s, &err) || mc_lake_open(home, &l, &err) ||
	    mc_ingest(s, l, &wb, 1, &o, &sum, &err) ||
	    mc_lake_read(l, INT32_MIN, INT32_MAX, &t, &err))
		fprintf(stderr, "fixture: %s\n", err.msg);
	mc_lake_free(l);
	mc_store_free(s);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	if (system(cmd) != 0)
		fprintf(stderr, "fixture: could not remove %s\n", home);
	return t;
}

#endif
