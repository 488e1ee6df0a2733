/* The catalog of SNIIM cities and the normalisation of published names to it. */
#include "milkcast/series.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Canonical (state, city) pairs as SNIIM publishes them, spelling fixed. */
// clang-format off
static const struct {
	const char *state, *city;
} catalog[] = {
	{"Aguascalientes", "Aguascalientes"},
	{"Baja California", "Mexicali"}, {"Baja California", "Tijuana"},
	{"Baja California Sur", "La Paz"},
	{"CDMX", "Ciudad de México"}, {"CDMX", "ZM Ciudad de México"},
	{"Campeche", "Campeche"},
	{"Chiapas", "Tapachula"}, {"Chiapas", "Tuxtla Gutiérrez"},
	{"Chihuahua", "Cd. Juárez"}, {"Chihuahua", "Chihuahua"},
	{"Coahuila", "Piedras Negras"}, {"Coahuila", "Saltillo"}, {"Coahuila", "Torreón"},
	{"Colima", "Colima"},
	{"Durango", "Durango"}, {"Durango", "Gómez Palacio"},
	{"Edo. México", "Toluca"},
	{"Guanajuato", "Celaya"}, {"Guanajuato", "León"},
	{"Guerrero", "Acapulco"}, {"Guerrero", "Chilpancingo"},
	{"Hidalgo", "Pachuca"},
	{"Jalisco", "Guadalajara"}, {"Jalisco", "ZM Guadalajara"},
	{"Michoacán", "Morelia"},
	{"Morelos", "Cuernavaca"},
	{"Nayarit", "Tepic"},
	{"Nuevo León", "Monterrey"}, {"Nuevo León", "ZM Monterrey"},
	{"Oaxaca", "Oaxaca"},
	{"Puebla", "Puebla"}, {"Puebla", "ZM Puebla"},
	{"Querétaro", "Querétaro"},
	{"Quintana Roo", "Cancún"}, {"Quintana Roo", "Chetumal"},
	{"San Luis Potosí", "San Luis Potosí"},
	{"Sinaloa", "Culiacán"},
	{"Sonora", "Cd. Obregón"}, {"Sonora", "Hermosillo"}, {"Sonora", "Nogales"},
	{"Sonora", "San Luis Río Colorado"},
	{"Tabasco", "Villahermosa"},
	{"Tamaulipas", "Cd. Victoria"}, {"Tamaulipas", "Matamoros"},
	{"Tamaulipas", "Nuevo Laredo"}, {"Tamaulipas", "Reynosa"}, {"Tamaulipas", "Tampico"},
	{"Tlaxcala", "Tlaxcala"},
	{"Veracruz", "Coatzacoalcos"}, {"Veracruz", "Veracruz"}, {"Veracruz", "Xalapa"},
	{"Yucatán", "Mérida"},
	{"Zacatecas", "Zacatecas"},
};
// clang-format on
#define CATALOG_SIZE (sizeof catalog / sizeof *catalog)

/* Other spellings, by folded key, of states and cities. */
static const struct {
	const char *folded, *canonical;
} state_aliases[] = {
	{"ciudaddemexico", "CDMX"},
	{"distritofederal", "CDMX"},
	{"df", "CDMX"},
	{"estadodemexico", "Edo. México"},
	{"mexico", "Edo. México"},
	{"edomex", "Edo. México"},
	{"coahuiladezaragoza", "Coahuila"},
	{"michoacandeocampo", "Michoacán"},
	{"veracruzdeignaciodelallave", "Veracruz"},
};
static const struct {
	const char *folded, *canonical;
} city_aliases[] = {
	{"ciudadjuarez", "Cd. Juárez"},	    {"ciudadobregon", "Cd. Obregón"},
	{"ciudadvictoria", "Cd. Victoria"}, {"cdmx", "Ciudad de México"},
	{"zmcdmx", "ZM Ciudad de México"},
};

const char *mc_kind_name(mc_series_kind k)
{
	return k == MC_KIND_NATIONAL ? "national" : "city";
}

bool mc_kind_parse(const char *s, mc_series_kind *k)
{
	if (!strcmp(s, "city"))
		*k = MC_KIND_CITY;
	else if (!strcmp(s, "national"))
		*k = MC_KIND_NATIONAL;
	else
		return false;
	return true;
}

void mc_name_clean(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	bool pending_space = false;
	for (size_t i = 0; i < n && o + 2 < cap; i++) {
		unsigned char c = (unsigned char)in[i];
		/* U+00A0 no-break space counts as space. */
		if (c == 0xC2 && i + 1 < n && (unsigned char)in[i + 1] == 0xA0) {
			i++;
			c = ' ';
		}
		if (isspace(c)) {
			pending_space = o > 0;
			continue;
		}
		if (pending_space)
			out[o++] = ' ';
		pending_space = false;
		out[o++] = (char)c;
		/* "Cd.Juárez" → "Cd. Juárez" */
		if (c == '.' && o == 3 && strncmp(out, "Cd", 2) == 0 && i + 1 < n &&
		    !isspace((unsigned char)in[i + 1]))
			pending_space = true;
	}
	out[o] = '\0';
}

/* Lower-case ASCII with Spanish accents folded and spaces, dots removed: a match key. */
static void fold_key(const char *s, size_t n, char *out, size_t cap)
{
	static const char from[] = "\xA1\xA9\xAD\xB3\xBA\xBC\xB1\x81\x89\x8D\x93\x9A\x9C\x91";
	static const char to[] = "aeiouunaeiouun";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xC3 && i + 1 < n) {
			const char *f = memchr(from, s[i + 1], sizeof from - 1);
			if (f) {
				out[o++] = to[f - from];
				i++;
				continue;
			}
		}
		if (isspace(c) || c == '.' || c == '-' || c == '_')
			continue;
		if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) {
			i++;
			continue;
		}
		out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
}

static const char *canonical_state(const char *s, size_t n)
{
	char key[MC_NAME_MAX], k2[MC_NAME_MAX];
	fold_key(s, n, key, sizeof key);
	for (size_t i = 0; i < CATALOG_SIZE; i++) {
		fold_key(catalog[i].state, strlen(catalog[i].state), k2, sizeof k2);
		if (!strcmp(key, k2))
			return catalog[i].state;
	}
	for (size_t i = 0; i < sizeof state_aliases / sizeof *state_aliases; i++)
		if (!strcmp(key, state_aliases[i].folded))
			return state_aliases[i].canonical;
	return NULL;
}

static const char *canonical_city(const char *state, const char *s, size_t n)
{
	char key[MC_NAME_MAX], k2[MC_NAME_MAX];
	fold_key(s, n, key, sizeof key);
	for (size_t i = 0; i < sizeof city_aliases / sizeof *city_aliases; i++)
		if (!strcmp(key, city_aliases[i].folded)) {
			s = city_aliases[i].canonical;
			fold_key(s, strlen(s), key, sizeof key);
		}
	for (size_t i = 0; i < CATALOG_SIZE; i++) {
		if (strcmp(catalog[i].state, state) != 0)
			continue;
		fold_key(catalog[i].city, strlen(catalog[i].city), k2, sizeof k2);
		if (!strcmp(key, k2))
			return catalog[i].city;
	}
	return NULL;
}

static bool national_name(const char *city, size_t n, char *out, size_t cap)
{
	char key[MC_NAME_MAX];
	fold_key(city, n, key, sizeof key);
	if (!strncmp(key, "promedioaritmetico", 18) || !strcmp(key, "nacionalaritmetico"))
		snprintf(out, cap, "Promedio aritmético");
	else if (!strncmp(key, "promedioponderado", 17))
		snprintf(out, cap, "Promedio ponderado por población");
	else
		return false;
	return true;
}

bool mc_series_resolve(const char *state, size_t state_len, const char *city, size_t city_len,
		       mc_series *out, const char **reason)
{
	memset(out, 0, sizeof *out);
	if (national_name(city, city_len, out->city, sizeof out->city)) {
		out->kind = MC_KIND_NATIONAL;
		snprintf(out->state, sizeof out->state, "%s", MC_NATIONAL_STATE);
		return true;
	}
	out->kind = MC_KIND_CITY;
	const char *st = canonical_state(state, state_len);
	if (!st) {
		*reason = state_len ? "unknown state" : "missing state";
		return false;
	}
	const char *ct = canonical_city(st, city, city_len);
	if (!ct) {
		*reason = city_len ? "unknown city for this state" : "missing city";
		return false;
	}
	snprintf(out->state, sizeof out->state, "%s", st);
	snprintf(out->city, sizeof out->city, "%s", ct);
	return true;
}

const char *mc_milk_type_code(const char *s, size_t n)
{
	char key[MC_NAME_MAX];
	fold_key(s, n, key, sizeof key);
	const char *k = !strncmp(key, "leche", 5) ? key + 5 : key;
	if (!strcmp(k, "pasteurizada"))
		return "pasteurizada";
	if (!strcmp(k, "ultrapasteurizada") || !strcmp(k, "uht"))
		return "ultrapasteurizada";
	return NULL;
}

const char *mc_channel_code(const char *s, size_t n)
{
	char key[MC_NAME_MAX];
	fold_key(s, n, key, sizeof key);
	if (!strcmp(key, "tiendas") || !strcmp(key, "tienda"))
		return "tiendas";
	if (!strcmp(key, "autoservicios") || !strcmp(key, "autoservicio"))
		return "autoservicios";
	return NULL;
}

size_t mc_catalog_size(void)
{
	return CATALOG_SIZE;
}

void mc_catalog_entry(size_t i, const char **state, const char **city)
{
	*state = catalog[i].state;
	*city = catalog[i].city;
}
