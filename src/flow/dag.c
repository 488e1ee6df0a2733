/* A flow's definition checked and turned into a graph of task indices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

bool flow_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > MC_FLOW_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

static bool key_valid(const char *s)
{
	size_t n = strlen(s);
	if (n > MC_FLOW_KEY_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '[' || *s == ']')
			return false;
	return true;
}

const char *flow_task_version(const mc_task_def *t)
{
	return t->version && *t->version ? t->version : "1";
}

static bool has_key(const mc_task_def *t)
{
	return t->key && *t->key;
}

static char *make_label(const mc_task_def *t)
{
	size_t n = strlen(t->name) + (has_key(t) ? strlen(t->key) + 3 : 1);
	char *l = malloc(n);
	if (l)
		snprintf(l, n, has_key(t) ? "%s[%s]" : "%s", t->name, has_key(t) ? t->key : "");
	return l;
}

static bool nonneg(double v)
{
	return isfinite(v) && v >= 0;
}

static mc_code check_task(const mc_flow_def *def, size_t i, mc_error *err)
{
	const mc_task_def *t = &def->tasks[i];
	if (!flow_name_valid(t->name))
		return mc_fail(
			err, MC_ERR_INVALID,
			"flow '%s': task %zu has an invalid name '%.80s' (1 to %d of a-z 0-9 "
			"_ . -)",
			def->name, i + 1, t->name ? t->name : "(null)", MC_FLOW_NAME_MAX);
	if (has_key(t) && !key_valid(t->key))
		return mc_fail(
			err, MC_ERR_INVALID,
			"flow '%s': task '%s' has an invalid key '%.80s' (up to %d printable "
			"characters without [ ])",
			def->name, t->name, t->key, MC_FLOW_KEY_MAX);
	if (strlen(flow_task_version(t)) > MC_FLOW_KEY_MAX)
		return mc_fail(err, MC_ERR_INVALID, "flow '%s': task '%s': version is too long",
			       def->name, t->name);
	if (!t->fn)
		return mc_fail(err, MC_ERR_INVALID, "flow '%s': task '%s' has no function",
			       def->name, t->name);
	if (!nonneg(t->timeout_s) || !nonneg(t->cache.expire_s))
		return mc_fail(err, MC_ERR_INVALID,
			       "flow '%s': task '%s': timeout and cache expiry are seconds >= 0",
			       def->name, t->name);
	char where[MC_FLOW_NAME_MAX * 2 + 32];
	snprintf(where, sizeof where, "flow '%s': task '%s'", def->name, t->name);
	return flow_retry_check(&t->retry, where, err);
}

static mc_code check_duplicates(const mc_flow_def *def, flow_graph *g, mc_error *err)
{
	for (size_t i = 0; i < g->n; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(g->labels[i], g->labels[j]))
				return mc_fail(err, MC_ERR_INVALID,
					       "flow '%s': task '%s' is defined twice (tasks %zu "
					       "and %zu)",
					       def->name, g->labels[i], j + 1, i + 1);
	return MC_OK;
}

static mc_code add_dep(flow_graph *g, size_t i, size_t d)
{
	for (size_t k = 0; k < g->ndeps[i]; k++)
		if (g->deps[i][k] == d)
			return MC_OK;
	size_t *p = realloc(g->deps[i], (g->ndeps[i] + 1) * sizeof *p);
	if (!p)
		return MC_ERR_NOMEM;
	p[g->ndeps[i]++] = d;
	g->deps[i] = p;
	return MC_OK;
}

/* A dependency is a task's label, or a name standing for every task of that name. */
static mc_code resolve_dep(const mc_flow_def *def, flow_graph *g, size_t i, const char *dep,
			   mc_error *err)
{
	bool found = false;
	for (size_t j = 0; j < g->n; j++) {
		bool match = !strcmp(g->labels[j], dep) || !strcmp(def->tasks[j].name, dep);
		if (!match)
			continue;
		found = true;
		if (add_dep(g, i, j))
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	if (!found)
		return mc_fail(err, MC_ERR_INVALID,
			       "flow '%s': task '%s' depends on '%.80s', which is not a task of "
			       "the flow",
			       def->name, g->labels[i], dep);
	return MC_OK;
}

/* Depth-first search; on a cycle, path[0..*len) is it, from where it closes. */
static bool find_cycle(const flow_graph *g, size_t v, char *color, size_t *path, size_t *len)
{
	color[v] = 1;
	path[(*len)++] = v;
	for (size_t k = 0; k < g->ndeps[v]; k++) {
		size_t d = g->deps[v][k];
		if (color[d] == 1) {
			size_t start = 0;
			while (path[start] != d)
				start++;
			memmove(path, path + start, (*len - start) * sizeof *path);
			*len -= start;
			path[(*len)++] = d;
			return true;
		}
		if (color[d] == 0 && find_cycle(g, d, color, path, len))
			return true;
	}
	color[v] = 2;
	(*len)--;
	return false;
}

static mc_code cycle_error(const mc_flow_def *def, const flow_graph *g, const size_t *path,
			   size_t len, mc_error *err)
{
	mc_buf b;
	mc_buf_init(&b, 400);
	for (size_t k = 0; k < len; k++)
		if (mc_buf_printf(&b, "%s%s", k ? " needs " : "", g->labels[path[k]]))
			break;
	mc_fail(err, MC_ERR_INVALID, "flow '%s': tasks depend on each other in a cycle: %s%s",
		def->name, b.data ? (char *)b.data : "", b.len >= 390 ? " ..." : "");
	mc_buf_release(&b);
	return MC_ERR_INVALID;
}

static mc_code check_cycles(const mc_flow_def *def, const flow_graph *g, mc_error *err)
{
	char *color = calloc(g->n + 1, 1);
	size_t *path = calloc(g->n + 2, sizeof *path);
	mc_code rc = color && path ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t v = 0; v < g->n && !rc; v++) {
		size_t len = 0;
		if (color[v] == 0 && find_cycle(g, v, color, path, &len))
			rc = cycle_error(def, g, path, len, err);
	}
	free(color);
	free(path);
	return rc;
}

static mc_code graph_alloc(const mc_flow_def *def, flow_graph **out, mc_error *err)
{
	flow_graph *g = calloc(1, sizeof *g);
	size_t n = def->ntasks;
	if (g) {
		g->n = n;
		g->labels = calloc(n + 1, sizeof *g->labels);
		g->deps = calloc(n + 1, sizeof *g->deps);
		g->ndeps = calloc(n + 1, sizeof *g->ndeps);
	}
	if (!g || !g->labels || !g->deps || !g->ndeps) {
		flow_graph_free(g);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	*out = g;
	return MC_OK;
}

static mc_code build_edges(const mc_flow_def *def, flow_graph *g, mc_error *err)
{
	mc_code rc = check_duplicates(def, g, err);
	for (size_t i = 0; i < g->n && !rc; i++) {
		const char *const *d = def->tasks[i].depends_on;
		for (; d && *d && !rc; d++)
			rc = resolve_dep(def, g, i, *d, err);
	}
	return rc ? rc : check_cycles(def, g, err);
}

mc_code flow_graph_build(const mc_flow_def *def, flow_graph **out, mc_error *err)
{
	*out = NULL;
	if (!def || !flow_name_valid(def->name))
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid flow name '%.80s' (1 to %d of a-z 0-9 _ . -)",
			       def && def->name ? def->name : "(null)", MC_FLOW_NAME_MAX);
	if (def->ntasks && !def->tasks)
		return mc_fail(err, MC_ERR_INVALID, "flow '%s': %zu tasks but no definitions",
			       def->name, def->ntasks);
	flow_graph *g = NULL;
	mc_code rc = graph_alloc(def, &g, err);
	for (size_t i = 0; i < def->ntasks && !rc; i++) {
		rc = check_task(def, i, err);
		if (!rc && !(g->labels[i] = make_label(&def->tasks[i])))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	if (!rc)
		rc = build_edges(def, g, err);
	if (rc) {
		flow_graph_free(g);
		return rc;
	}
	*out = g;
	return MC_OK;
}

void flow_graph_free(flow_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		if (g->labels)
			free(g->labels[i]);
		if (g->deps)
			free(g->deps[i]);
	}
	free(g->labels);
	free(g->deps);
	free(g->ndeps);
	free(g);
}

mc_code mc_flow_validate(const mc_flow_def *def, mc_error *err)
{
	flow_graph *g = NULL;
	mc_code rc = flow_graph_build(def, &g, err);
	flow_graph_free(g);
	return rc;
}
