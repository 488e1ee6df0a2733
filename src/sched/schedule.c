/*
 * The scheduler's pure logic: the config file, fire keys, catch-up plans,
 * a fire's parameters and the per-flow queue.  No process, signal or
 * database here (see cmd_scheduler.c), so tests/unit/test_schedule.c can
 * drive all of it.
 */
#include "sched/schedule.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milkcast/date.h"
#include "milkcast/text.h"

#define CONFIG_MAX_BYTES (1 << 20)
#define PLAN_CHUNK 256

const char mc_sched_default_config[] = "# The scheduler's built-in defaults.\n"
				       "timezone = " MC_CRON_DEFAULT_TZ "\n"
				       "catch_up = latest\n"
				       "max_catch_up = 10\n"
				       "\n"
				       "[daily]\n"
				       "flow = daily\n"
				       "cron = 0 13 * * 1,3,5\n"
				       "\n"
				       "[train]\n"
				       "flow = train\n"
				       "cron = 0 6 * * 0\n";

static const char *const CATCH_UP_NAMES[] = {"none", "latest", "all"};

const char *mc_catch_up_name(mc_catch_up c)
{
	return (unsigned)c < 3 ? CATCH_UP_NAMES[c] : "?";
}

/* ---- the config file ---- */

typedef enum key_id {
	K_TIMEZONE,
	K_CATCH_UP,
	K_MAX_CATCH_UP,
	K_FLOW,
	K_CRON,
	K_PARAMS,
	K_ENABLED,
	K_COUNT,
	K_GLOBAL_COUNT = K_MAX_CATCH_UP + 1, /* the keys allowed before any section */
} key_id;

static const char *const KEY_NAMES[K_COUNT] = {"timezone", "catch_up", "max_catch_up", "flow",
					       "cron",	   "params",   "enabled"};

typedef struct parser {
	const char *path;
	int line;
	mc_sched_config *cfg;
	mc_schedule *cur; /* NULL before the first section */
	int key_line[K_COUNT];
} parser;

/* Prefix err's message with "PATH:LINE: key 'K'[ in [S]]: ". */
static mc_code key_prefix(const parser *p, key_id k, int line, mc_error *err)
{
	if (p->cur)
		return mc_error_prefix(err, "%s:%d: key '%s' in [%s]: ", p->path, line,
				       KEY_NAMES[k], p->cur->name);
	return mc_error_prefix(err, "%s:%d: key '%s': ", p->path, line, KEY_NAMES[k]);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > MC_SCHED_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

static mc_code set_catch_up(parser *p, const char *v, mc_catch_up *out, mc_error *err)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(v, CATCH_UP_NAMES[i])) {
			*out = (mc_catch_up)i;
			return MC_OK;
		}
	mc_fail(err, MC_ERR_INVALID, "'%s' is not none, latest or all", v);
	return key_prefix(p, K_CATCH_UP, p->line, err);
}

static mc_code set_max(parser *p, const char *v, int *out, mc_error *err)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > MC_SCHED_MAX_CATCH_UP) {
		mc_fail(err, MC_ERR_INVALID, "'%s' is not a whole number from 0 to %d", v,
			MC_SCHED_MAX_CATCH_UP);
		return key_prefix(p, K_MAX_CATCH_UP, p->line, err);
	}
	*out = (int)n;
	return MC_OK;
}

/* A zone by name, checked: loaded into *out when out is not NULL, else freed. */
static mc_code check_zone(parser *p, const char *name, mc_tz **out, mc_error *err)
{
	mc_tz *tz = NULL;
	mc_code rc = mc_tz_load(name, &tz, err);
	if (rc)
		return key_prefix(p, K_TIMEZONE, p->line, err);
	if (out)
		*out = tz;
	else
		mc_tz_free(tz);
	return MC_OK;
}

/* `params = k=v k2=v2`: an object of strings. */
static mc_code set_params(parser *p, char *v, json_t *params, mc_error *err)
{
	for (char *save = NULL, *tok = strtok_r(v, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok) {
			mc_fail(err, MC_ERR_INVALID, "'%s' is not KEY=VALUE", tok);
			return key_prefix(p, K_PARAMS, p->line, err);
		}
		*eq = '\0';
		if (json_object_get(params, tok)) {
			mc_fail(err, MC_ERR_INVALID, "parameter '%s' is given twice", tok);
			return key_prefix(p, K_PARAMS, p->line, err);
		}
		json_t *s = json_string(eq + 1);
		if (!s) {
			mc_fail(err, MC_ERR_INVALID, "parameter '%s': the value is not UTF-8", tok);
			return key_prefix(p, K_PARAMS, p->line, err);
		}
		json_object_set_new(params, tok, s);
	}
	return MC_OK;
}

static mc_code global_key(parser *p, key_id k, const char *v, mc_error *err)
{
	mc_sched_config *c = p->cfg;
	switch (k) {
	case K_TIMEZONE: {
		mc_code rc = check_zone(p, v, NULL, err);
		if (rc)
			return rc;
		free(c->tz_name);
		c->tz_name = strdup(v);
		return c->tz_name ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	case K_CATCH_UP: return set_catch_up(p, v, &c->catch_up, err);
	case K_MAX_CATCH_UP: return set_max(p, v, &c->max_catch_up, err);
	default: break;
	}
	return mc_fail(err, MC_ERR_INVALID, "%s:%d: unknown key '%s'", p->path, p->line,
		       KEY_NAMES[k]);
}

static mc_code section_key(parser *p, key_id k, char *v, mc_error *err)
{
	mc_schedule *s = p->cur;
	mc_code rc = MC_OK;
	switch (k) {
	case K_TIMEZONE:
		rc = check_zone(p, v, &s->tz, err);
		if (!rc && !(s->tz_name = strdup(v)))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
		return rc;
	case K_CATCH_UP: return set_catch_up(p, v, &s->catch_up, err);
	case K_MAX_CATCH_UP: return set_max(p, v, &s->max_catch_up, err);
	case K_FLOW:
		free(s->flow);
		s->flow = strdup(v);
		s->flow_line = p->line;
		return s->flow ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	case K_CRON:
		rc = mc_cron_parse(v, &s->cron, err);
		return rc ? key_prefix(p, K_CRON, p->line, err) : MC_OK;
	case K_PARAMS: s->params_line = p->line; return set_params(p, v, s->params, err);
	case K_ENABLED:
		if (mc_parse_bool(v, &s->enabled))
			return MC_OK;
		mc_fail(err, MC_ERR_INVALID, "'%s' is not true or false", v);
		return key_prefix(p, K_ENABLED, p->line, err);
	case K_COUNT: break;
	}
	return mc_fail(err, MC_ERR_INVALID, "%s:%d: unknown key", p->path, p->line);
}

static mc_code unknown_key(const parser *p, const char *key, mc_error *err)
{
	if (p->cur)
		return mc_fail(err, MC_ERR_INVALID,
			       "%s:%d: unknown key '%s' in [%s] (the keys are flow, cron, "
			       "timezone, params, enabled, catch_up, max_catch_up)",
			       p->path, p->line, key, p->cur->name);
	return mc_fail(err, MC_ERR_INVALID,
		       "%s:%d: unknown key '%s' before the first [schedule] (the keys there are "
		       "timezone, catch_up, max_catch_up)",
		       p->path, p->line, key);
}

static mc_code key_line(parser *p, char *line, char *eq, mc_error *err)
{
	*eq = '\0';
	char *key = trim(line), *v = trim(eq + 1);
	int k = 0;
	int limit = p->cur ? K_COUNT : K_GLOBAL_COUNT;
	while (k < limit && strcmp(KEY_NAMES[k], key))
		k++;
	if (k == limit)
		return unknown_key(p, key, err);
	if (p->key_line[k]) {
		mc_fail(err, MC_ERR_INVALID, "given twice (first on line %d)", p->key_line[k]);
		return key_prefix(p, (key_id)k, p->line, err);
	}
	p->key_line[k] = p->line;
	if (!*v && k != K_PARAMS) {
		mc_fail(err, MC_ERR_INVALID, "no value");
		return key_prefix(p, (key_id)k, p->line, err);
	}
	return p->cur ? section_key(p, (key_id)k, v, err) : global_key(p, (key_id)k, v, err);
}

/* The end of a section: required keys, inherited values, the zone, a cron that fires. */
static mc_code finish_section(parser *p, mc_error *err)
{
	mc_schedule *s = p->cur;
	if (!s)
		return MC_OK;
	if (!s->cron)
		return mc_fail(err, MC_ERR_INVALID, "%s:%d: schedule [%s] has no 'cron'", p->path,
			       s->line, s->name);
	if (!s->flow && !(s->flow = strdup(s->name)))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!p->key_line[K_CATCH_UP])
		s->catch_up = p->cfg->catch_up;
	if (!p->key_line[K_MAX_CATCH_UP])
		s->max_catch_up = p->cfg->max_catch_up;
	if (!s->tz) {
		if (!(s->tz_name = strdup(p->cfg->tz_name)))
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		if (mc_tz_load(s->tz_name, &s->tz, err))
			return mc_error_prefix(err, "%s:%d: schedule [%s]: zone '%s': ", p->path,
					       s->line, s->name, s->tz_name);
	}
	int64_t next;
	if (mc_cron_next(s->cron, s->tz, 0, &next, err))
		return key_prefix(p, K_CRON, p->key_line[K_CRON], err);
	return MC_OK;
}

static mc_code section_line(parser *p, char *line, mc_error *err)
{
	size_t n = strlen(line);
	if (line[n - 1] != ']')
		return mc_fail(err, MC_ERR_INVALID, "%s:%d: a section is '[NAME]'", p->path,
			       p->line);
	line[n - 1] = '\0';
	const char *name = trim(line + 1);
	if (!name_valid(name))
		return mc_fail(err, MC_ERR_INVALID,
			       "%s:%d: schedule name '%s' must be 1 to %d of a-z 0-9 _ . -",
			       p->path, p->line, name, MC_SCHED_NAME_MAX);
	mc_sched_config *c = p->cfg;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->items[i].name, name))
			return mc_fail(err, MC_ERR_INVALID,
				       "%s:%d: schedule [%s] is defined twice (first on line %d)",
				       p->path, p->line, name, c->items[i].line);
	mc_schedule *grown = realloc(c->items, (c->n + 1) * sizeof *grown);
	if (!grown)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	c->items = grown;
	mc_schedule *s = &c->items[c->n++];
	memset(s, 0, sizeof *s);
	s->enabled = true;
	s->line = p->line;
	s->name = strdup(name);
	s->params = json_object();
	p->cur = s;
	memset(p->key_line, 0, sizeof p->key_line);
	return s->name && s->params ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

static mc_code parse_line(parser *p, char *raw, mc_error *err)
{
	char *line = trim(raw);
	if (!*line || *line == '#' || *line == ';')
		return MC_OK;
	if (*line == '[') {
		mc_code rc = finish_section(p, err);
		return rc ? rc : section_line(p, line, err);
	}
	char *eq = strchr(line, '=');
	if (!eq)
		return mc_fail(err, MC_ERR_INVALID, "%s:%d: expected 'key = value' or '[schedule]'",
			       p->path, p->line);
	return key_line(p, line, eq, err);
}

static void schedule_release(mc_schedule *s)
{
	free(s->name);
	free(s->flow);
	mc_cron_free(s->cron);
	free(s->tz_name);
	mc_tz_free(s->tz);
	json_decref(s->params);
}

void mc_sched_config_free(mc_sched_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		schedule_release(&c->items[i]);
	free(c->items);
	free(c->path);
	free(c->tz_name);
	free(c);
}

static mc_code parse_lines(parser *p, char *text, mc_error *err)
{
	mc_code rc = MC_OK;
	for (char *line = text, *next; !rc && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p->line++;
		rc = parse_line(p, line, err);
	}
	if (!rc)
		rc = finish_section(p, err);
	if (!rc && !p->cfg->n)
		rc = mc_fail(err, MC_ERR_INVALID, "%s: no schedule (a [NAME] section with a cron)",
			     p->path);
	return rc;
}

mc_code mc_sched_config_parse(const char *text, const char *path, mc_sched_config **out,
			      mc_error *err)
{
	*out = NULL;
	mc_sched_config *c = calloc(1, sizeof *c);
	char *copy = strdup(text);
	if (c) {
		c->path = strdup(path);
		c->tz_name = strdup(MC_CRON_DEFAULT_TZ);
		c->catch_up = MC_CATCH_UP_LATEST;
		c->max_catch_up = MC_SCHED_DEFAULT_MAX_CATCH_UP;
	}
	if (!c || !copy || !c->path || !c->tz_name) {
		free(copy);
		mc_sched_config_free(c);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	parser p = {.path = path, .cfg = c};
	mc_code rc = parse_lines(&p, copy, err);
	free(copy);
	if (rc) {
		mc_sched_config_free(c);
		return rc;
	}
	*out = c;
	return MC_OK;
}

mc_code mc_sched_config_load(const char *path, mc_sched_config **out, mc_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return mc_fail(err, errno == ENOENT ? MC_ERR_NOT_FOUND : MC_ERR_IO,
			       "cannot read '%s': %s", path, strerror(errno));
	char *text = malloc(CONFIG_MAX_BYTES + 1);
	size_t n = text ? fread(text, 1, CONFIG_MAX_BYTES + 1, f) : 0;
	bool bad = text && ferror(f);
	fclose(f);
	mc_code rc = MC_OK;
	if (!text)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	else if (bad)
		rc = mc_fail(err, MC_ERR_IO, "cannot read '%s'", path);
	else if (n > CONFIG_MAX_BYTES)
		rc = mc_fail(err, MC_ERR_LIMIT, "'%s' is larger than %d bytes", path,
			     CONFIG_MAX_BYTES);
	else if (memchr(text, '\0', n))
		rc = mc_fail(err, MC_ERR_INVALID, "'%s' is not a text file (it has a NUL byte)",
			     path);
	if (!rc) {
		text[n] = '\0';
		rc = mc_sched_config_parse(text, path, out, err);
	}
	free(text);
	return rc;
}

/* ---- keys ---- */

void mc_sched_key(const char *name, int64_t fire, char *buf, size_t size)
{
	snprintf(buf, size, "scheduler:%s:%lld", name, (long long)fire);
}

bool mc_sched_key_fire(const char *key, const char *name, int64_t *fire)
{
	static const char prefix[] = "scheduler:";
	size_t np = sizeof prefix - 1, nn = strlen(name);
	if (!key || strncmp(key, prefix, np) || strncmp(key + np, name, nn) || key[np + nn] != ':')
		return false;
	const char *digits = key + np + nn + 1;
	if (!isdigit((unsigned char)digits[*digits == '-']))
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(digits, &end, 10);
	if (errno || *end)
		return false;
	*fire = v;
	return true;
}

/* ---- catch-up plans ---- */

typedef struct ring {
	int64_t *v;
	size_t cap, start, n;
} ring;

/* Keeps the newest cap values; returns true and the evicted one when full. */
static bool ring_push(ring *r, int64_t x, int64_t *evicted)
{
	if (!r->cap) {
		*evicted = x;
		return true;
	}
	if (r->n < r->cap) {
		r->v[(r->start + r->n++) % r->cap] = x;
		return false;
	}
	*evicted = r->v[r->start];
	r->v[r->start] = x;
	r->start = (r->start + 1) % r->cap;
	return true;
}

static void note_skipped(mc_sched_plan *p, int64_t t)
{
	if (!p->nskipped++)
		p->first_skipped = t;
	p->last_skipped = t;
}

/* The missed fires in (after, until]: the newest r->cap kept, the others skipped. */
static mc_code scan_missed(const mc_cron *c, const mc_tz *tz, int64_t after, int64_t until, ring *r,
			   mc_sched_plan *p, mc_error *err)
{
	int64_t buf[PLAN_CHUNK];
	bool more = after < until;
	while (more) {
		size_t n = 0;
		mc_code rc = mc_cron_between(c, tz, after, until, buf, PLAN_CHUNK, &n, &more, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++) {
			int64_t evicted;
			p->nmissed++;
			if (ring_push(r, buf[i], &evicted))
				note_skipped(p, evicted);
		}
		if (n)
			after = buf[n - 1];
		else
			more = false;
	}
	return MC_OK;
}

static mc_code plan_add(mc_sched_plan *p, int64_t fire, bool catch_up, mc_error *err)
{
	mc_sched_slot *grown = realloc(p->run, (p->nrun + 1) * sizeof *grown);
	if (!grown)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	p->run = grown;
	p->run[p->nrun++] = (mc_sched_slot){fire, catch_up};
	if (fire > p->latest)
		p->latest = fire;
	return MC_OK;
}

mc_code mc_sched_plan_fires(const mc_cron *c, const mc_tz *tz, mc_catch_up policy, int max_catch_up,
			    int64_t last, int64_t now, mc_sched_plan *p, mc_error *err)
{
	memset(p, 0, sizeof *p);
	p->latest = last;
	if (now <= last)
		return MC_OK;
	int64_t due_from = now - MC_SCHED_DUE_WINDOW_S > last ? now - MC_SCHED_DUE_WINDOW_S : last;
	ring r = {0};
	r.cap = policy == MC_CATCH_UP_ALL      ? (size_t)(max_catch_up > 0 ? max_catch_up : 0)
		: policy == MC_CATCH_UP_LATEST ? 1
					       : 0;
	if (r.cap && !(r.v = malloc(r.cap * sizeof *r.v)))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	int64_t due[4];
	size_t ndue = 0;
	mc_code rc = scan_missed(c, tz, last, due_from, &r, p, err);
	if (!rc)
		rc = mc_cron_between(c, tz, due_from, now, due, 4, &ndue, NULL, err);
	if (!rc && ndue && policy == MC_CATCH_UP_LATEST && r.n) {
		note_skipped(p, r.v[r.start]); /* the due fire is newer */
		r.n = 0;
	}
	for (size_t i = 0; !rc && i < r.n; i++)
		rc = plan_add(p, r.v[(r.start + i) % r.cap], true, err);
	for (size_t i = 0; !rc && i < ndue; i++)
		rc = plan_add(p, due[i], false, err);
	if (!rc && p->nskipped && p->last_skipped > p->latest)
		p->latest = p->last_skipped;
	free(r.v);
	if (rc)
		mc_sched_plan_release(p);
	return rc;
}

void mc_sched_plan_release(mc_sched_plan *p)
{
	free(p->run);
	p->run = NULL;
	p->nrun = 0;
}

/* ---- a fire's parameters ---- */

mc_code mc_sched_fire_params(const mc_schedule *s, int64_t fire, json_t **out, mc_error *err)
{
	*out = NULL;
	json_t *o = s->params ? json_deep_copy(s->params) : json_object();
	if (!o)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!strcmp(s->flow, "daily")) {
		mc_local_time lt;
		mc_code rc = mc_tz_to_local(s->tz, fire, &lt, NULL, err);
		if (rc) {
			json_decref(o);
			return rc;
		}
		char date[16];
		snprintf(date, sizeof date, "%04d-%02d-%02d", lt.year, lt.month, lt.day);
		json_object_set_new(o, "date", json_string(date));
	}
	*out = o;
	return MC_OK;
}

/* ---- --now ---- */

/* n decimal digits at *s (advanced); -1 when they are not there. */
static int take_digits(const char **s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

/* "Z", "+HH", "+HH:MM", "+HHMM" → seconds east; false when malformed. */
static bool parse_offset(const char *s, int32_t *off)
{
	if (!strcmp(s, "Z") || !strcmp(s, "z")) {
		*off = 0;
		return true;
	}
	if (*s != '+' && *s != '-')
		return false;
	int sign = *s++ == '-' ? -1 : 1;
	int h = take_digits(&s, 2), m = 0;
	if (*s == ':')
		s++;
	if (*s)
		m = take_digits(&s, 2);
	if (h < 0 || h > 18 || m < 0 || m > 59 || *s)
		return false;
	*off = sign * (h * 3600 + m * 60);
	return true;
}

static bool parse_fields(const char *s, mc_local_time *lt, const char **rest)
{
	memset(lt, 0, sizeof *lt);
	lt->year = take_digits(&s, 4);
	if (lt->year < 0 || *s++ != '-' || (lt->month = take_digits(&s, 2)) < 0 || *s++ != '-' ||
	    (lt->day = take_digits(&s, 2)) < 0 || (*s != 'T' && *s != 't' && *s != ' '))
		return false;
	s++;
	if ((lt->hour = take_digits(&s, 2)) < 0 || *s++ != ':' ||
	    (lt->minute = take_digits(&s, 2)) < 0)
		return false;
	if (*s == ':' && (s++, (lt->second = take_digits(&s, 2)) < 0))
		return false;
	*rest = s;
	return mc_date_valid_ymd(lt->year, lt->month, lt->day) && lt->hour < 24 &&
	       lt->minute < 60 && lt->second < 60;
}

mc_code mc_sched_parse_time(const char *s, const mc_tz *tz, int64_t *out, mc_error *err)
{
	static const char form[] = "YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM] or @SECONDS";
	if (s[0] == '@') {
		char *end;
		errno = 0;
		long long v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end || v < MC_TZ_TIME_MIN || v > MC_TZ_TIME_MAX)
			return mc_fail(err, MC_ERR_INVALID, "'%s' is not a time (%s)", s, form);
		*out = v;
		return MC_OK;
	}
	mc_local_time lt;
	const char *rest = NULL;
	int32_t off = 0;
	if (!parse_fields(s, &lt, &rest) || (*rest && !parse_offset(rest, &off)))
		return mc_fail(err, MC_ERR_INVALID, "'%s' is not a time (%s)", s, form);
	if (*rest) {
		int32_t days = mc_date_from_ymd(lt.year, lt.month, lt.day);
		*out = (int64_t)days * 86400 + lt.hour * 3600 + lt.minute * 60 + lt.second - off;
		return MC_OK;
	}
	mc_code rc = mc_tz_from_local(tz, &lt, MC_TZ_FIRST, out, NULL, err);
	return rc ? mc_error_prefix(err, "'%s': ", s) : MC_OK;
}

/* ---- the queue ---- */

void mc_sched_fire_release(mc_sched_fire *f)
{
	if (!f)
		return;
	free(f->schedule);
	free(f->flow);
	json_decref(f->params);
	memset(f, 0, sizeof *f);
}

static void queue_remove(mc_sched_queue *q, size_t i)
{
	mc_sched_fire_release(&q->items[i]);
	memmove(&q->items[i], &q->items[i + 1], (q->n - i - 1) * sizeof *q->items);
	q->n--;
}

mc_code mc_sched_queue_push(mc_sched_queue *q, mc_sched_fire *f, size_t *ncollapsed,
			    int64_t *collapsed_fire, mc_error *err)
{
	size_t dropped = 0, at = q->n;
	for (size_t i = 0; !f->keep && i < q->n;) {
		mc_sched_fire *w = &q->items[i];
		if (w->keep || strcmp(w->schedule, f->schedule)) {
			i++;
			continue;
		}
		if (collapsed_fire && (!dropped || w->fire > *collapsed_fire))
			*collapsed_fire = w->fire;
		if (!dropped++)
			at = i;
		queue_remove(q, i);
	}
	if (ncollapsed)
		*ncollapsed = dropped;
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 8;
		mc_sched_fire *grown = realloc(q->items, cap * sizeof *grown);
		if (!grown) {
			mc_sched_fire_release(f);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		}
		q->items = grown;
		q->cap = cap;
	}
	memmove(&q->items[at + 1], &q->items[at], (q->n - at) * sizeof *q->items);
	q->items[at] = *f;
	q->n++;
	memset(f, 0, sizeof *f);
	return MC_OK;
}

bool mc_sched_queue_take(mc_sched_queue *q, bool (*busy)(void *user, const char *flow), void *user,
			 mc_sched_fire *out)
{
	for (size_t i = 0; i < q->n; i++) {
		if (busy && busy(user, q->items[i].flow))
			continue;
		*out = q->items[i];
		memmove(&q->items[i], &q->items[i + 1], (q->n - i - 1) * sizeof *q->items);
		q->n--;
		return true;
	}
	return false;
}

void mc_sched_queue_release(mc_sched_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		mc_sched_fire_release(&q->items[i]);
	free(q->items);
	memset(q, 0, sizeof *q);
}
