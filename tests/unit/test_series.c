/* Unit tests of series normalisation: the quirks of SNIIM names listed in data/sniim/README.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "milkcast/series.h"

static void resolve_ok(const char *state, const char *city, const char *want_state,
		       const char *want_city, mc_series_kind kind)
{
	mc_series s;
	const char *why = NULL;
	assert_true(mc_series_resolve(state, strlen(state), city, strlen(city), &s, &why));
	assert_string_equal(s.state, want_state);
	assert_string_equal(s.city, want_city);
	assert_int_equal(s.kind, kind);
}

static void test_published_quirks(void **state)
{
	(void)state;
	resolve_ok("Aguascalientes ", "Aguascalientes", "Aguascalientes", "Aguascalientes",
		   MC_KIND_CITY);
	resolve_ok("Veracruz", "Veracruz ", "Veracruz", "Veracruz", MC_KIND_CITY);
	resolve_ok("Chihuahua", "Cd.Juárez", "Chihuahua", "Cd. Juárez", MC_KIND_CITY);
	resolve_ok("Chihuahua", "Cd. Juárez", "Chihuahua", "Cd. Juárez", MC_KIND_CITY);
	resolve_ok("Chihuahua", "Ciudad Juárez", "Chihuahua", "Cd. Juárez", MC_KIND_CITY);
	resolve_ok("Sonora", "Cd. Obregón", "Sonora", "Cd. Obregón", MC_KIND_CITY);
	resolve_ok("CDMX", "ZM Ciudad de México", "CDMX", "ZM Ciudad de México", MC_KIND_CITY);
	resolve_ok("Edo. México", "Toluca", "Edo. México", "Toluca", MC_KIND_CITY);
	resolve_ok("Estado de México", "Toluca", "Edo. México", "Toluca", MC_KIND_CITY);
	resolve_ok("Queretaro", "QUERETARO", "Querétaro", "Querétaro", MC_KIND_CITY);
	resolve_ok("  Nuevo   León ", "ZM  Monterrey", "Nuevo León", "ZM Monterrey", MC_KIND_CITY);
}

static void test_national_rows(void **state)
{
	(void)state;
	/* Parquet says Zacatecas (a forward-fill artefact), the workbook leaves it blank. */
	resolve_ok("Zacatecas", "Promedio aritmético", MC_NATIONAL_STATE, "Promedio aritmético",
		   MC_KIND_NATIONAL);
	resolve_ok("", "Promedio Ponderado por Población", MC_NATIONAL_STATE,
		   "Promedio ponderado por población", MC_KIND_NATIONAL);
}

static void test_unknown(void **state)
{
	(void)state;
	mc_series s;
	const char *why = NULL;
	assert_false(mc_series_resolve("Atlantis", 8, "Toluca", 6, &s, &why));
	assert_string_equal(why, "unknown state");
	assert_false(mc_series_resolve("Sonora", 6, "Toluca", 6, &s, &why));
	assert_string_equal(why, "unknown city for this state");
	assert_false(mc_series_resolve("Sonora", 6, "", 0, &s, &why));
	assert_string_equal(why, "missing city");
}

static void test_codes(void **state)
{
	(void)state;
	assert_string_equal(mc_milk_type_code("Pasteurizada", 12), "pasteurizada");
	assert_string_equal(mc_milk_type_code("Leche ultrapasteurizada", 23), "ultrapasteurizada");
	assert_null(mc_milk_type_code("Deslactosada", 12));
	assert_string_equal(mc_channel_code("Autoservicio", 12), "autoservicios");
	assert_string_equal(mc_channel_code("Tiendas ", 8), "tiendas");
	assert_null(mc_channel_code("Mercados", 8));
}

static void test_catalog(void **state)
{
	(void)state;
	/* 54 cities in 32 states, each resolving to itself. */
	assert_int_equal(mc_catalog_size(), 54);
	const char *states[64];
	size_t nstates = 0;
	for (size_t i = 0; i < mc_catalog_size(); i++) {
		const char *st, *city;
		mc_catalog_entry(i, &st, &city);
		resolve_ok(st, city, st, city, MC_KIND_CITY);
		size_t j = 0;
		while (j < nstates && strcmp(states[j], st))
			j++;
		if (j == nstates)
			states[nstates++] = st;
	}
	assert_int_equal(nstates, 32);
}

static void test_name_clean(void **state)
{
	(void)state;
	char out[MC_NAME_MAX];
	mc_name_clean("  Cd.Juárez  ", 13, out, sizeof out);
	assert_string_equal(out, "Cd. Juárez");
	mc_name_clean("a \t b", 5, out, sizeof out);
	assert_string_equal(out, "a b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_quirks), cmocka_unit_test(test_national_rows),
		cmocka_unit_test(test_unknown),		 cmocka_unit_test(test_codes),
		cmocka_unit_test(test_catalog),		 cmocka_unit_test(test_name_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
