/*
 * Series names in requests: resolved to the lake's canonical spelling as
 * ingest does it, and, for names that match nothing, the served series
 * closest to them (edit distance over accent- and case-folded names).
 */
#include <string.h>

#include "milkcast/series.h"
#include "serve/serve_int.h"

#define FOLD_MAX 64

/* The base letter of a Latin-1 letter encoded as 0xC3 c (à → a, Ñ → n), or 0. */
static char latin1_base(unsigned char c)
{
	static const char map[65] = "aaaaaaaceeeeiiiidnooooo" /* 0x80-0x96 */
				    "xouuuuyts"		      /* 0x97-0x9f */
				    "aaaaaaaceeeeiiiidnooooo" /* 0xa0-0xb6 */
				    "xouuuuyty";	      /* 0xb7-0xbf */
	return c >= 0x80 && c <= 0xbf ? map[c - 0x80] : 0;
}

/* Lower-case ASCII letters and digits only (accents dropped, punctuation and spaces skipped). */
static size_t fold(const char *s, char *out)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n < FOLD_MAX; p++) {
		char c = 0;
		if (*p == 0xc3 && p[1]) {
			c = latin1_base(*++p);
		} else if (*p < 0x80) {
			c = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
				c = 0;
		}
		if (c)
			out[n++] = c;
	}
	return n;
}

bool mc_name_equal(const char *a, const char *b)
{
	char fa[FOLD_MAX], fb[FOLD_MAX];
	size_t na = fold(a, fa), nb = fold(b, fb);
	return na == nb && !memcmp(fa, fb, na);
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

size_t mc_name_distance(const char *a, const char *b)
{
	char fa[FOLD_MAX], fb[FOLD_MAX];
	size_t na = fold(a, fa), nb = fold(b, fb);
	size_t prev[FOLD_MAX + 1], cur[FOLD_MAX + 1];
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= nb; j++)
			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
				      prev[j - 1] + (fa[i - 1] != fb[j - 1]));
		memcpy(prev, cur, (nb + 1) * sizeof *prev);
	}
	return prev[nb];
}

mc_code mc_series_query_resolve(const char *state, const char *city, const char *milk_type,
				const char *channel, mc_series_query *q, const char **field,
				mc_error *err)
{
	*field = NULL;
	q->milk_type = mc_milk_type_code(milk_type, strlen(milk_type));
	if (!q->milk_type) {
		*field = "milk_type";
		return mc_fail(err, MC_ERR_INVALID,
			       "milk_type '%.60s' is not pasteurizada or ultrapasteurizada",
			       milk_type);
	}
	q->channel = mc_channel_code(channel, strlen(channel));
	if (!q->channel) {
		*field = "channel";
		return mc_fail(err, MC_ERR_INVALID,
			       "channel '%.60s' is not tiendas or autoservicios", channel);
	}
	mc_series s;
	const char *reason = NULL;
	if (!mc_series_resolve(state, strlen(state), city, strlen(city), &s, &reason))
		return mc_fail(err, MC_ERR_NOT_FOUND, "%s", reason ? reason : "unknown series");
	snprintf(q->state, sizeof q->state, "%s", s.state);
	snprintf(q->city, sizeof q->city, "%s", s.city);
	return MC_OK;
}

/* Whether series s is at the same place as the one before it (the panel keeps them together). */
static bool same_place_as_previous(const mc_panel *p, size_t s)
{
	return s > 0 && !strcmp(p->series[s].state, p->series[s - 1].state) &&
	       !strcmp(p->series[s].city, p->series[s - 1].city);
}

size_t mc_series_suggest(const mc_panel *p, const char *state, const char *city, size_t *out,
			 size_t max)
{
	char f[FOLD_MAX];
	size_t limit = 2 + ((state ? fold(state, f) : 0) + (city ? fold(city, f) : 0)) / 4, n = 0;
	size_t score[16];
	if (max > 16)
		max = 16;
	for (size_t s = 0; s < p->nseries; s++) {
		if (same_place_as_previous(p, s))
			continue;
		size_t d = (state ? mc_name_distance(state, p->series[s].state) : 0) +
			   (city ? mc_name_distance(city, p->series[s].city) : 0);
		if (d > limit)
			continue;
		/* insertion into the sorted top list; ties keep panel order */
		size_t at = n;
		while (at > 0 && score[at - 1] > d)
			at--;
		if (at >= max)
			continue;
		size_t end = n < max ? n : max - 1;
		memmove(out + at + 1, out + at, (end - at) * sizeof *out);
		memmove(score + at + 1, score + at, (end - at) * sizeof *score);
		out[at] = s;
		score[at] = d;
		if (n < max)
			n++;
	}
	return n;
}
