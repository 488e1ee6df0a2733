/* Features: values on a hand-made panel, and no look-ahead on the real data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lake_fixture.h"
#include "milkcast/dataset.h"
#include "milkcast/date.h"
#include "milkcast/features.h"
#include "milkcast/panel.h"

static mc_table *lake;

static int setup(void **state)
{
	(void)state;
	lake = mc_fixture_lake_table();
	return lake ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mc_table_free(lake);
	return 0;
}

static void push_row(mc_table *t, int32_t date, const char *state, const char *city,
		     const char *type, const char *channel, double price)
{
	const char *kind = "city";
	mc_column *c = t->cols;
	assert_int_equal(mc_column_push_i32(&c[MC_LAKE_DATE], date), MC_OK);
	const char *s[5] = {kind, state, city, type, channel};
	for (int i = 0; i < 5; i++)
		assert_int_equal(mc_column_push_str(&c[MC_LAKE_KIND + i], s[i], strlen(s[i])),
				 MC_OK);
	if (isnan(price))
		assert_int_equal(mc_column_push_null(&c[MC_LAKE_PRICE]), MC_OK);
	else
		assert_int_equal(mc_column_push_f64(&c[MC_LAKE_PRICE], price), MC_OK);
	assert_int_equal(mc_column_push_str(&c[MC_LAKE_SOURCE], "t", 1), MC_OK);
	assert_int_equal(mc_column_push_i64(&c[MC_LAKE_INGESTED_AT], 0), MC_OK);
	t->nrows++;
}

static float feat(const float *row, const char *name)
{
	int i = mc_features_index(name);
	assert_true(i >= 0);
	return row[i];
}

/* Two cities of one state, one with gaps; features checked by hand. */
static void test_hand_values(void **state)
{
	(void)state;
	mc_table *t = mc_lake_table_new();
	int32_t d0 = mc_date_from_ymd(2025, 1, 6); /* a Monday */
	static const int32_t step[] = {0, 2, 4, 7, 9, 11, 14};
	const double a[] = {20, 20, NAN, 21, 21, 21.5, 22};
	const double b[] = {30, 30, 30, 30, 31, 31, 31};
	for (int i = 0; i < 7; i++) {
		push_row(t, d0 + step[i], "Jalisco", "Guadalajara", "pasteurizada", "tiendas",
			 a[i]);
		push_row(t, d0 + step[i], "Jalisco", "Tepic", "pasteurizada", "tiendas", b[i]);
	}
	mc_panel *p;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_panel_from_table(t, INT32_MAX, &p, &err), MC_OK);
	assert_int_equal(p->nseries, 2);
	assert_int_equal(p->ndates, 7);
	mc_vocabs v;
	assert_int_equal(mc_vocabs_from_panel(p, &v, &err), MC_OK);
	long g = mc_panel_find(p, "Jalisco", "Guadalajara", "pasteurizada", "tiendas");
	assert_true(g >= 0);
	float row[64];
	assert_true(mc_features_count() <= 64);
	/* Origin k = 5 (21.5), h = 1, target the next date. */
	mc_features_row(p, &v, (size_t)g, 5, 1, d0 + 14, row);
	assert_float_equal(feat(row, "h"), 1, 0);
	assert_float_equal(feat(row, "days_ahead"), 3, 0);
	assert_float_equal(feat(row, "target_weekday"), 0, 0);
	assert_float_equal(feat(row, "last"), 21.5, 1e-6);
	assert_float_equal(feat(row, "age_last"), 0, 0);
	assert_float_equal(feat(row, "chg_1"), 0.5, 1e-6);
	assert_float_equal(feat(row, "chg_2"), 0.5, 1e-6);
	assert_float_equal(feat(row, "chg_4"), 1.5, 1e-6); /* ffill at k=1 is 20 */
	assert_true(isnan(feat(row, "chg_8")));
	/* last 4 publications: 20(NaN at k=2 skipped), 21, 21, 21.5 → k=2..5 = NaN,21,21,21.5 */
	assert_float_equal(feat(row, "mean_4_dev"), (21 + 21 + 21.5) / 3.0 - 21.5, 1e-5);
	assert_float_equal(feat(row, "since_change"), 0, 0);
	assert_float_equal(feat(row, "last_change"), 0.5, 1e-6);
	/* observed pairs: 20-20, 20-21, 21-21, 21-21.5 → 2 of 4 changed */
	assert_float_equal(feat(row, "change_rate_52"), 0.5, 1e-6);
	assert_float_equal(feat(row, "missing_26"), 1.0 / 6.0, 1e-6);
	/* state mean at k=5: (21.5 + 31) / 2 */
	assert_float_equal(feat(row, "dev_state"), 21.5 - 26.25, 1e-5);
	/* Origin k = 2: Guadalajara missing there, last = 20 seen one publication earlier. */
	mc_features_row(p, &v, (size_t)g, 2, 2, d0 + 9, row);
	assert_float_equal(feat(row, "last"), 20, 0);
	assert_float_equal(feat(row, "age_last"), 1, 0);
	assert_float_equal(feat(row, "since_change"), 2, 0);
	assert_true(isnan(feat(row, "last_change")));
	assert_false(mc_features_usable(p, (size_t)g, 2)); /* 2 observations < MIN_OBS */
	assert_true(mc_features_usable(p, (size_t)g, 4));
	mc_vocabs_free(&v);
	mc_panel_free(p);
	mc_table_free(t);
}

static int same_float(float a, float b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/*
 * No look-ahead: a row computed from the whole lake equals the row computed
 * from a panel that never saw any date after the origin.
 */
static void test_no_lookahead(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_panel *full;
	assert_int_equal(mc_panel_from_table(lake, INT32_MAX, &full, &err), MC_OK);
	assert_true(full->ndates >= 150);
	mc_vocabs v;
	assert_int_equal(mc_vocabs_from_panel(full, &v, &err), MC_OK);
	size_t n = mc_features_count(), checked = 0;
	float a[64], b[64];
	for (size_t k = 10; k + 12 < full->ndates; k += 17) {
		mc_panel *cut;
		assert_int_equal(mc_panel_from_table(lake, full->dates[k], &cut, &err), MC_OK);
		assert_int_equal(cut->ndates, k + 1);
		for (size_t s = 0; s < full->nseries; s += 7) {
			const mc_panel_series *ps = &full->series[s];
			long cs =
				mc_panel_find(cut, ps->state, ps->city, ps->milk_type, ps->channel);
			if (cs < 0)
				continue; /* no price up to the origin: not forecastable there */
			for (int h = 1; h <= 12; h += 5) {
				int32_t target = full->dates[k + (size_t)h];
				mc_features_row(full, &v, s, k, h, target, a);
				mc_features_row(cut, &v, (size_t)cs, k, h, target, b);
				for (size_t f = 0; f < n; f++)
					if (!same_float(a[f], b[f]))
						fail_msg("feature %s differs for series %zu at "
							 "origin "
							 "%zu h %d: %g with the future, %g without",
							 mc_features_defs()[f].name, s, k, h,
							 (double)a[f], (double)b[f]);
				checked++;
			}
		}
		mc_panel_free(cut);
	}
	assert_true(checked > 200);
	mc_vocabs_free(&v);
	mc_panel_free(full);
}

/*
 * A snapshot holding only the last MC_FEATURES_HISTORY publications gives the
 * same rows at its last origin as the whole lake (what a Lambda relies on).
 */
static void test_snapshot_equivalence(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_panel *full, *snap;
	assert_int_equal(mc_panel_from_table(lake, INT32_MAX, &full, &err), MC_OK);
	int32_t from = full->dates[full->ndates - MC_FEATURES_HISTORY];
	const int32_t *date = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	size_t *keep = malloc(lake->nrows * sizeof *keep), n = 0;
	assert_non_null(keep);
	for (size_t i = 0; i < lake->nrows; i++)
		if (date[i] >= from)
			keep[n++] = i;
	mc_table *recent = mc_table_take(lake, keep, n);
	free(keep);
	assert_int_equal(mc_panel_from_table(recent, INT32_MAX, &snap, &err), MC_OK);
	assert_int_equal(snap->ndates, MC_FEATURES_HISTORY);
	mc_vocabs v;
	assert_int_equal(mc_vocabs_from_panel(full, &v, &err), MC_OK);
	size_t kf = full->ndates - 1, ks = snap->ndates - 1, usable = 0;
	float a[64], b[64];
	for (size_t s = 0; s < full->nseries; s++) {
		const mc_panel_series *ps = &full->series[s];
		long cs = mc_panel_find(snap, ps->state, ps->city, ps->milk_type, ps->channel);
		int fu = mc_features_usable(full, s, kf);
		assert_int_equal(cs >= 0 && mc_features_usable(snap, (size_t)cs, ks), fu);
		if (!fu)
			continue;
		usable++;
		mc_features_row(full, &v, s, kf, 3, full->dates[kf] + 7, a);
		mc_features_row(snap, &v, (size_t)cs, ks, 3, full->dates[kf] + 7, b);
		for (size_t f = 0; f < mc_features_count(); f++)
			if (!same_float(a[f], b[f]))
				fail_msg("feature %s of series %zu: %g from the lake, %g from the "
					 "snapshot",
					 mc_features_defs()[f].name, s, (double)a[f], (double)b[f]);
	}
	assert_true(usable > 150);
	mc_vocabs_free(&v);
	mc_table_free(recent);
	mc_panel_free(snap);
	mc_panel_free(full);
}

/*
 * A panel cut at k and extended with the real prices of k + 1 (what a
 * recursive forecast does with its own) gives the rows of the panel built
 * with k + 1 published.
 */
static void test_head_append(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_panel *full, *head, *ref;
	assert_int_equal(mc_panel_from_table(lake, INT32_MAX, &full, &err), MC_OK);
	mc_vocabs v;
	assert_int_equal(mc_vocabs_from_panel(full, &v, &err), MC_OK);
	size_t k = 120;
	assert_int_equal(mc_panel_head(full, k, &head, &err), MC_OK);
	assert_int_equal(head->ndates, k + 1);
	double *col = malloc(full->nseries * sizeof *col);
	assert_non_null(col);
	for (size_t s = 0; s < full->nseries; s++)
		col[s] = mc_panel_price(full, s, k + 1);
	assert_int_equal(mc_panel_append(head, full->dates[k + 1], col, &err), MC_OK);
	assert_int_equal(mc_panel_append(head, full->dates[k], col, &err), MC_ERR_INVALID);
	assert_int_equal(mc_panel_from_table(lake, full->dates[k + 1], &ref, &err), MC_OK);
	float a[64], b[64];
	size_t compared = 0;
	for (size_t s = 0; s < ref->nseries; s++) {
		const mc_panel_series *ps = &ref->series[s];
		long hs = mc_panel_find(head, ps->state, ps->city, ps->milk_type, ps->channel);
		assert_true(hs >= 0);
		assert_int_equal(mc_features_usable(ref, s, k + 1),
				 mc_features_usable(head, (size_t)hs, k + 1));
		if (!mc_features_usable(ref, s, k + 1))
			continue;
		mc_features_row(ref, &v, s, k + 1, 1, full->dates[k + 2], a);
		mc_features_row(head, &v, (size_t)hs, k + 1, 1, full->dates[k + 2], b);
		for (size_t f = 0; f < mc_features_count(); f++)
			if (!same_float(a[f], b[f]))
				fail_msg("feature %s of series %zu: %g built, %g appended",
					 mc_features_defs()[f].name, s, (double)a[f], (double)b[f]);
		compared++;
	}
	assert_true(compared > 150);
	free(col);
	mc_vocabs_free(&v);
	mc_panel_free(ref);
	mc_panel_free(head);
	mc_panel_free(full);
}

static void test_panel_shape(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_panel *p;
	assert_int_equal(mc_panel_from_table(lake, INT32_MAX, &p, &err), MC_OK);
	assert_int_equal(p->ndates, 184);  /* data README: 184 publication dates */
	assert_int_equal(p->nseries, 193); /* 185 city series with prices + 8 national */
	mc_panel_free(p);
	assert_int_equal(mc_panel_from_table(lake, mc_date_from_ymd(2020, 1, 1), &p, &err),
			 MC_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "no prices"));
	mc_panel_free(p);
}

/* Rows stay inside the target window and learn actual − last. */
static void test_dataset_window(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_panel *p;
	assert_int_equal(mc_panel_from_table(lake, INT32_MAX, &p, &err), MC_OK);
	mc_vocabs v;
	assert_int_equal(mc_vocabs_from_panel(p, &v, &err), MC_OK);
	mc_ds_spec spec = {.horizons = 6, .target_from = 100, .target_to = 130};
	mc_dataset *d;
	assert_int_equal(mc_dataset_build(p, &v, &spec, &d, &err), MC_OK);
	assert_true(d->n > 1000);
	int hlast = mc_features_index("h"), ilast = mc_features_index("last");
	for (size_t i = 0; i < d->n; i++) {
		const mc_ds_row *r = &d->row[i];
		size_t t = r->origin + (size_t)r->h;
		assert_true(t >= 100 && t < 130);
		assert_true(r->h >= 1 && r->h <= 6);
		assert_int_equal(r->target, p->dates[t]);
		assert_float_equal(d->y[i], (float)(r->actual - r->last), 1e-6);
		assert_float_equal(d->X[i * d->ncol + (size_t)hlast], (float)r->h, 0);
		assert_float_equal(d->X[i * d->ncol + (size_t)ilast], (float)r->last, 1e-4);
	}
	mc_dataset_free(d);
	spec.horizons = 0;
	assert_int_equal(mc_dataset_build(p, &v, &spec, &d, &err), MC_ERR_INVALID);
	mc_vocabs_free(&v);
	mc_panel_free(p);
}

static void test_next_publications(void **state)
{
	(void)state;
	int32_t out[4];
	mc_features_next_publications(mc_date_from_ymd(2025, 3, 31), 4, out); /* a Monday */
	assert_int_equal(out[0], mc_date_from_ymd(2025, 4, 2));
	assert_int_equal(out[1], mc_date_from_ymd(2025, 4, 4));
	assert_int_equal(out[2], mc_date_from_ymd(2025, 4, 7));
	assert_int_equal(out[3], mc_date_from_ymd(2025, 4, 9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_values),    cmocka_unit_test(test_panel_shape),
		cmocka_unit_test(test_no_lookahead),   cmocka_unit_test(test_snapshot_equivalence),
		cmocka_unit_test(test_dataset_window), cmocka_unit_test(test_next_publications),
		cmocka_unit_test(test_head_append),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
