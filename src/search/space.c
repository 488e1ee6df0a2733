/*
 * Search spaces: parsed from JSON (an object of parameters in file order, or
 * an array of them with a "name" each), the built-in XGBoost space, priors,
 * and JSON output of spaces and parameter vectors.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/json_kind.h"
#include "search/search_int.h"

#define SPACE_FILE_MAX (1u << 20)

static const char *const type_names[] = {
	[MC_PARAM_UNIFORM] = "uniform",	  [MC_PARAM_LOGUNIFORM] = "loguniform",
	[MC_PARAM_QUNIFORM] = "quniform", [MC_PARAM_QLOGUNIFORM] = "qloguniform",
	[MC_PARAM_NORMAL] = "normal",	  [MC_PARAM_CHOICE] = "choice",
};
#define N_TYPES (sizeof type_names / sizeof type_names[0])

/* The fields each type takes besides "type" (and "name" in the array form). */
static const char *const type_fields[N_TYPES][4] = {
	[MC_PARAM_UNIFORM] = {"low", "high"},	    [MC_PARAM_LOGUNIFORM] = {"low", "high"},
	[MC_PARAM_QUNIFORM] = {"low", "high", "q"}, [MC_PARAM_QLOGUNIFORM] = {"low", "high", "q"},
	[MC_PARAM_NORMAL] = {"mu", "sigma"},	    [MC_PARAM_CHOICE] = {"options"},
};

const char *mc_param_type_name(mc_param_type t)
{
	return (unsigned)t < N_TYPES ? type_names[t] : "unknown";
}

/* ---- small helpers ---- */

/* Whole numbers as integers, others in the shortest %g form that reads back the same. */
static void fmt_shortest(double v, char *buf, size_t n)
{
	if (v == trunc(v) && fabs(v) < 1e15) {
		snprintf(buf, n, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static mc_code put_json_string(mc_buf *b, const char *s)
{
	mc_code rc = mc_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if (*p == '"' || *p == '\\')
			rc = mc_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			rc = mc_buf_printf(b, "\\u%04x", *p);
		else
			rc = mc_buf_putc(b, *p);
	}
	return rc ? rc : mc_buf_putc(b, '"');
}

static mc_code put_number(mc_buf *b, double v)
{
	if (!isfinite(v))
		return mc_buf_printf(b, "null");
	char num[40];
	fmt_shortest(v, num, sizeof num);
	return mc_buf_printf(b, "%s", num);
}

static void param_release(mc_param *p)
{
	free(p->name);
	for (size_t k = 0; k < p->n_options; k++)
		free(p->options[k].text);
	free(p->options);
}

void mc_space_free(mc_space *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		param_release(&s->p[i]);
	free(s->p);
	free(s);
}

static mc_space *space_alloc(size_t n)
{
	mc_space *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->p = calloc(n ? n : 1, sizeof *s->p);
	if (!s->p) {
		free(s);
		return NULL;
	}
	return s;
}

static bool param_copy(mc_param *dst, const mc_param *src)
{
	*dst = *src;
	dst->name = strdup(src->name);
	dst->options = NULL;
	dst->n_options = 0;
	if (!dst->name)
		return false;
	if (!src->n_options)
		return true;
	dst->options = calloc(src->n_options, sizeof *dst->options);
	if (!dst->options)
		return false;
	for (size_t k = 0; k < src->n_options; k++) {
		dst->options[k].is_number = src->options[k].is_number;
		dst->options[k].text = strdup(src->options[k].text);
		dst->n_options = k + 1;
		if (!dst->options[k].text)
			return false;
	}
	return true;
}

mc_space *mc_space_clone(const mc_space *s)
{
	mc_space *c = space_alloc(s->n);
	if (!c)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		c->n = i + 1;
		if (!param_copy(&c->p[i], &s->p[i])) {
			mc_space_free(c);
			return NULL;
		}
	}
	return c;
}

/* ---- parsing ---- */

typedef struct parse_ctx {
	const char *file;
	const char *param; /* NULL before the parameter's name is known */
	size_t index;	   /* position, for nameless entries of the array form */
	mc_error *err;
} parse_ctx;

/* mc_fail with "file: parameter 'name': " in front. */
static mc_code param_fail(const parse_ctx *c, mc_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static mc_code param_fail(const parse_ctx *c, mc_code code, const char *fmt, ...)
{
	char what[MC_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (c->param)
		return mc_fail(c->err, code, "%s: parameter '%s': %s", c->file, c->param, what);
	return mc_fail(c->err, code, "%s: parameter #%zu: %s", c->file, c->index + 1, what);
}
#ifdef __clang_analyzer__
/* For clang-tidy's analyzer, which does not look inside variadic functions. */
#define param_fail(c, code, ...) (param_fail((c), (code), __VA_ARGS__), (code))
#endif

static mc_code get_number(const parse_ctx *c, json_t *spec, const char *field, double *out)
{
	json_t *v = json_object_get(spec, field);
	if (!v)
		return param_fail(c, MC_ERR_FORMAT, "'%s' is missing", field);
	if (!json_is_number(v))
		return param_fail(c, MC_ERR_FORMAT, "'%s' must be a number, not %s", field,
				  mc_json_kind(v));
	*out = json_number_value(v);
	if (!isfinite(*out))
		return param_fail(c, MC_ERR_INVALID, "'%s' must be finite", field);
	return MC_OK;
}

static mc_code parse_type(const parse_ctx *c, json_t *spec, mc_param_type *out)
{
	json_t *v = json_object_get(spec, "type");
	if (!v)
		return param_fail(c, MC_ERR_FORMAT, "'type' is missing");
	if (!json_is_string(v))
		return param_fail(c, MC_ERR_FORMAT, "'type' must be a string, not %s",
				  mc_json_kind(v));
	for (size_t t = 0; t < N_TYPES; t++)
		if (strcmp(json_string_value(v), type_names[t]) == 0) {
			*out = (mc_param_type)t;
			return MC_OK;
		}
	return param_fail(c, MC_ERR_FORMAT,
			  "unknown 'type' '%s' (expected uniform, loguniform, quniform, "
			  "qloguniform, normal or choice)",
			  json_string_value(v));
}

/* Every field must be one the type takes: a typo ("hihg") is an error, not a default. */
static mc_code check_fields(const parse_ctx *c, json_t *spec, mc_param_type t, bool named)
{
	const char *key;
	json_t *v;
	json_object_foreach(spec, key, v)
	{
		bool ok = strcmp(key, "type") == 0 || (named && strcmp(key, "name") == 0);
		for (size_t f = 0; f < 4 && type_fields[t][f] && !ok; f++)
			ok = strcmp(key, type_fields[t][f]) == 0;
		if (!ok)
			return param_fail(c, MC_ERR_FORMAT, "unknown field '%s' for type '%s'", key,
					  type_names[t]);
	}
	return MC_OK;
}

static mc_code parse_bounds(const parse_ctx *c, json_t *spec, mc_param *p)
{
	mc_code rc = get_number(c, spec, "low", &p->low);
	if (!rc)
		rc = get_number(c, spec, "high", &p->high);
	if (rc)
		return rc;
	if (!(p->high > p->low))
		return param_fail(c, MC_ERR_INVALID, "'high' (%g) must be greater than 'low' (%g)",
				  p->high, p->low);
	if (p->type == MC_PARAM_QUNIFORM || p->type == MC_PARAM_QLOGUNIFORM) {
		rc = get_number(c, spec, "q", &p->q);
		if (rc)
			return rc;
		if (!(p->q > 0))
			return param_fail(c, MC_ERR_INVALID, "'q' (%g) must be greater than 0",
					  p->q);
	}
	/* exp(high) must be a number for the log kinds' densities and draws. */
	if ((p->type == MC_PARAM_LOGUNIFORM || p->type == MC_PARAM_QLOGUNIFORM) && !(p->high < 700))
		return param_fail(c, MC_ERR_INVALID,
				  "'high' (%g) is in log space and must be below 700", p->high);
	return MC_OK;
}

static mc_code parse_option(const parse_ctx *c, json_t *v, size_t k, mc_option *o)
{
	char num[40];
	if (json_is_string(v)) {
		o->text = strdup(json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		o->text = strdup(num);
		o->is_number = true;
	} else if (json_is_real(v)) {
		fmt_shortest(json_real_value(v), num, sizeof num);
		o->text = strdup(num);
		o->is_number = true;
	} else {
		return param_fail(c, MC_ERR_FORMAT,
				  "'options'[%zu] must be a number or a string, "
				  "not %s",
				  k, mc_json_kind(v));
	}
	return o->text ? MC_OK : mc_fail(c->err, MC_ERR_NOMEM, "out of memory");
}

static mc_code parse_options(const parse_ctx *c, json_t *spec, mc_param *p)
{
	json_t *a = json_object_get(spec, "options");
	if (!a)
		return param_fail(c, MC_ERR_FORMAT, "'options' is missing");
	if (!json_is_array(a))
		return param_fail(c, MC_ERR_FORMAT, "'options' must be an array, not %s",
				  mc_json_kind(a));
	size_t n = json_array_size(a);
	if (n == 0)
		return param_fail(c, MC_ERR_INVALID, "'options' must not be empty");
	p->options = calloc(n, sizeof *p->options);
	if (!p->options)
		return mc_fail(c->err, MC_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < n; k++) {
		p->n_options = k + 1;
		mc_code rc = parse_option(c, json_array_get(a, k), k, &p->options[k]);
		if (rc)
			return rc;
	}
	return MC_OK;
}

static mc_code parse_param(parse_ctx *c, json_t *spec, bool named, mc_param *p)
{
	if (!json_is_object(spec))
		return param_fail(c, MC_ERR_FORMAT, "expected an object with a 'type', not %s",
				  mc_json_kind(spec));
	mc_code rc = parse_type(c, spec, &p->type);
	if (!rc)
		rc = check_fields(c, spec, p->type, named);
	if (rc)
		return rc;
	switch (p->type) {
	case MC_PARAM_NORMAL:
		rc = get_number(c, spec, "mu", &p->mu);
		if (!rc)
			rc = get_number(c, spec, "sigma", &p->sigma);
		if (!rc && !(p->sigma > 0))
			rc = param_fail(c, MC_ERR_INVALID, "'sigma' (%g) must be greater than 0",
					p->sigma);
		return rc;
	case MC_PARAM_CHOICE: return parse_options(c, spec, p);
	default: return parse_bounds(c, spec, p);
	}
}

/* The name of entry i: the object key, or the array entry's "name". */
static mc_code entry_name(parse_ctx *c, const char *key, json_t *spec, const char **out)
{
	if (!key) {
		json_t *v = json_is_object(spec) ? json_object_get(spec, "name") : NULL;
		if (!v)
			return param_fail(c, MC_ERR_FORMAT, "'name' is missing");
		if (!json_is_string(v))
			return param_fail(c, MC_ERR_FORMAT, "'name' must be a string, not %s",
					  mc_json_kind(v));
		key = json_string_value(v);
	}
	if (!*key)
		return param_fail(c, MC_ERR_FORMAT, "the name must not be empty");
	*out = key;
	return MC_OK;
}

static mc_code add_param(parse_ctx *c, mc_space *s, const char *key, json_t *spec)
{
	const char *name = NULL;
	mc_code rc = entry_name(c, key, spec, &name);
	if (rc)
		return rc;
	c->param = name;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->p[i].name, name) == 0)
			return param_fail(c, MC_ERR_INVALID, "defined twice");
	mc_param *p = &s->p[s->n++];
	p->name = strdup(name);
	if (!p->name)
		return mc_fail(c->err, MC_ERR_NOMEM, "out of memory");
	return parse_param(c, spec, key == NULL, p);
}

static mc_code parse_root(const char *file, json_t *root, mc_space *s, mc_error *err)
{
	parse_ctx c = {file, NULL, 0, err};
	mc_code rc = MC_OK;
	if (json_is_object(root)) {
		const char *key;
		json_t *v;
		json_object_foreach(root, key, v)
		{
			rc = add_param(&c, s, key, v);
			if (rc)
				return rc;
			c.index++;
			c.param = NULL;
		}
	} else {
		for (size_t i = 0; i < json_array_size(root) && !rc; i++) {
			c.index = i;
			c.param = NULL;
			rc = add_param(&c, s, NULL, json_array_get(root, i));
		}
	}
	return rc;
}

static size_t root_size(json_t *root)
{
	return json_is_object(root) ? json_object_size(root) : json_array_size(root);
}

mc_code mc_space_parse_json(const char *text, size_t n, const char *name, mc_space **out,
			    mc_error *err)
{
	const char *file = name ? name : "space";
	*out = NULL;
	json_error_t jerr;
	/* Duplicate keys would silently keep the last one; refuse them. */
	json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return mc_fail(err, MC_ERR_FORMAT, "%s: line %d column %d: %s", file, jerr.line,
			       jerr.column, jerr.text);
	mc_code rc = MC_OK;
	mc_space *s = NULL;
	if (!json_is_object(root) && !json_is_array(root))
		rc = mc_fail(err, MC_ERR_FORMAT,
			     "%s: expected an object of parameters or an array of them, not %s",
			     file, mc_json_kind(root));
	else if (root_size(root) == 0)
		rc = mc_fail(err, MC_ERR_INVALID, "%s: the space has no parameters", file);
	else if (root_size(root) > MC_SPACE_MAX_PARAMS)
		rc = mc_fail(err, MC_ERR_LIMIT, "%s: %zu parameters, more than the %d allowed",
			     file, root_size(root), MC_SPACE_MAX_PARAMS);
	else if (!(s = space_alloc(root_size(root))))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	else
		rc = parse_root(file, root, s, err);
	json_decref(root);
	if (rc) {
		mc_space_free(s);
		return rc;
	}
	*out = s;
	return MC_OK;
}

mc_code mc_space_load_file(const char *path, mc_space **out, mc_error *err)
{
	*out = NULL;
	mc_buf b;
	mc_buf_init(&b, SPACE_FILE_MAX);
	mc_code rc = mc_buf_read_file(&b, path, err);
	if (!rc)
		rc = mc_space_parse_json((const char *)b.data, b.len, path, out, err);
	mc_buf_release(&b);
	return rc;
}

/* ---- the built-in space ---- */

typedef struct default_param {
	const char *name;
	mc_param_type type;
	double low, high, q;
} default_param;

/*
 * The original system's XGBoost space (hp.quniform / hp.loguniform / hp.uniform),
 * plus L1 and L2 regularisation.  The log bounds are written as the doubles
 * glibc and Python give for log(); the unit test checks them.
 */
static const default_param default_params[] = {
	{"max_depth", MC_PARAM_QUNIFORM, 3, 10, 1},
	{"learning_rate", MC_PARAM_LOGUNIFORM, -4, 0, 0}, /* exp(-4) .. 1 */
	{"n_estimators", MC_PARAM_QUNIFORM, 50, 300, 10},
	{"min_child_weight", MC_PARAM_QUNIFORM, 1, 10, 1},
	{"gamma", MC_PARAM_UNIFORM, 0, 1, 0},
	{"subsample", MC_PARAM_UNIFORM, 0.5, 1, 0},
	{"colsample_bytree", MC_PARAM_UNIFORM, 0.5, 1, 0},
	{"reg_alpha", MC_PARAM_LOGUNIFORM, -6.907755278982137, 2.302585092994046,
	 0}, /* log(1e-3), log(10) */
	{"reg_lambda", MC_PARAM_LOGUNIFORM, -4.605170185988091, 4.605170185988092,
	 0}, /* log(1e-2), log(100) */
};
#define N_DEFAULT (sizeof default_params / sizeof default_params[0])

mc_space *mc_space_default(void)
{
	mc_space *s = space_alloc(N_DEFAULT);
	if (!s)
		return NULL;
	for (size_t i = 0; i < N_DEFAULT; i++) {
		const default_param *d = &default_params[i];
		mc_param *p = &s->p[i];
		s->n = i + 1;
		p->name = strdup(d->name);
		if (!p->name) {
			mc_space_free(s);
			return NULL;
		}
		p->type = d->type;
		p->low = d->low;
		p->high = d->high;
		p->q = d->q;
	}
	return s;
}

/* ---- accessors ---- */

size_t mc_space_size(const mc_space *s)
{
	return s->n;
}

const char *mc_space_name(const mc_space *s, size_t i)
{
	return i < s->n ? s->p[i].name : NULL;
}

mc_param_type mc_space_type(const mc_space *s, size_t i)
{
	return s->p[i].type;
}

static bool param_is_integer(const mc_param *p)
{
	if (p->type == MC_PARAM_CHOICE)
		return true;
	if (p->type == MC_PARAM_QUNIFORM || p->type == MC_PARAM_QLOGUNIFORM)
		return p->q == floor(p->q);
	return false;
}

bool mc_space_is_integer(const mc_space *s, size_t i)
{
	return i < s->n && param_is_integer(&s->p[i]);
}

void mc_space_param(const mc_space *s, size_t i, mc_param_info *out)
{
	const mc_param *p = &s->p[i];
	*out = (mc_param_info){
		.name = p->name,
		.type = p->type,
		.low = p->low,
		.high = p->high,
		.q = p->q,
		.mu = p->mu,
		.sigma = p->sigma,
		.n_options = p->n_options,
		.integer = param_is_integer(p),
	};
}

size_t mc_space_find(const mc_space *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->p[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

const char *mc_space_option(const mc_space *s, size_t i, size_t k)
{
	if (i >= s->n || k >= s->p[i].n_options)
		return NULL;
	return s->p[i].options[k].text;
}

bool mc_space_option_is_number(const mc_space *s, size_t i, size_t k)
{
	return i < s->n && k < s->p[i].n_options && s->p[i].options[k].is_number;
}

static bool param_equal(const mc_param *a, const mc_param *b)
{
	if (strcmp(a->name, b->name) != 0 || a->type != b->type || a->low != b->low ||
	    a->high != b->high || a->q != b->q || a->mu != b->mu || a->sigma != b->sigma ||
	    a->n_options != b->n_options)
		return false;
	for (size_t k = 0; k < a->n_options; k++)
		if (a->options[k].is_number != b->options[k].is_number ||
		    strcmp(a->options[k].text, b->options[k].text) != 0)
			return false;
	return true;
}

bool mc_space_equal(const mc_space *a, const mc_space *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!param_equal(&a->p[i], &b->p[i]))
			return false;
	return true;
}

/* ---- priors (hyperopt.pyll.stochastic) ---- */

double mc_param_sample_prior(const mc_param *p, mc_rng *r)
{
	double u = p->low + (p->high - p->low) * mc_rng_uniform(r);
	switch (p->type) {
	case MC_PARAM_UNIFORM: return u;
	case MC_PARAM_LOGUNIFORM: return exp(u);
	/* np.round is round-half-to-even, as rint in the default rounding mode. */
	case MC_PARAM_QUNIFORM: return rint(u / p->q) * p->q;
	case MC_PARAM_QLOGUNIFORM: return rint(exp(u) / p->q) * p->q;
	case MC_PARAM_NORMAL: return p->mu + p->sigma * mc_rng_normal(r);
	case MC_PARAM_CHOICE: return (double)mc_rng_below(r, p->n_options);
	}
	return u;
}

bool mc_param_value_ok(const mc_param *p, double v)
{
	if (!isfinite(v))
		return false;
	switch (p->type) {
	case MC_PARAM_CHOICE: return v >= 0 && v < (double)p->n_options && v == floor(v);
	case MC_PARAM_LOGUNIFORM: return v > 0;
	case MC_PARAM_QLOGUNIFORM: return v >= 0;
	default: return true;
	}
}

/* ---- output ---- */

mc_code mc_space_format_json(const mc_space *s, const double *x, mc_buf *out, mc_error *err)
{
	mc_code rc = mc_buf_putc(out, '{');
	for (size_t i = 0; i < s->n && !rc; i++) {
		const mc_param *p = &s->p[i];
		rc = i ? mc_buf_printf(out, ", ") : MC_OK;
		if (!rc)
			rc = put_json_string(out, p->name);
		if (!rc)
			rc = mc_buf_printf(out, ": ");
		if (rc)
			break;
		if (p->type == MC_PARAM_CHOICE && mc_param_value_ok(p, x[i])) {
			const mc_option *o = &p->options[(size_t)x[i]];
			rc = o->is_number ? mc_buf_printf(out, "%s", o->text)
					  : put_json_string(out, o->text);
		} else if (p->type == MC_PARAM_CHOICE) {
			rc = mc_buf_printf(out, "null");
		} else {
			rc = put_number(out, x[i]);
		}
	}
	if (!rc)
		rc = mc_buf_putc(out, '}');
	return rc ? mc_fail(err, rc, "cannot format a parameter vector: %s", mc_strerror(rc))
		  : MC_OK;
}

static mc_code put_field(mc_buf *b, const char *field, double v)
{
	mc_code rc = mc_buf_printf(b, ", \"%s\": ", field);
	return rc ? rc : put_number(b, v);
}

static mc_code put_param_spec(mc_buf *b, const mc_param *p)
{
	mc_code rc = mc_buf_printf(b, "{\"type\": \"%s\"", type_names[p->type]);
	switch (p->type) {
	case MC_PARAM_NORMAL:
		rc = rc ? rc : put_field(b, "mu", p->mu);
		rc = rc ? rc : put_field(b, "sigma", p->sigma);
		break;
	case MC_PARAM_CHOICE:
		rc = rc ? rc : mc_buf_printf(b, ", \"options\": [");
		for (size_t k = 0; k < p->n_options && !rc; k++) {
			const mc_option *o = &p->options[k];
			rc = k ? mc_buf_printf(b, ", ") : MC_OK;
			if (!rc)
				rc = o->is_number ? mc_buf_printf(b, "%s", o->text)
						  : put_json_string(b, o->text);
		}
		rc = rc ? rc : mc_buf_putc(b, ']');
		break;
	default:
		rc = rc ? rc : put_field(b, "low", p->low);
		rc = rc ? rc : put_field(b, "high", p->high);
		if (p->type == MC_PARAM_QUNIFORM || p->type == MC_PARAM_QLOGUNIFORM)
			rc = rc ? rc : put_field(b, "q", p->q);
	}
	return rc ? rc : mc_buf_putc(b, '}');
}

mc_code mc_space_to_json(const mc_space *s, mc_buf *out, mc_error *err)
{
	mc_code rc = mc_buf_printf(out, "{\n");
	for (size_t i = 0; i < s->n && !rc; i++) {
		rc = mc_buf_printf(out, "  ");
		rc = rc ? rc : put_json_string(out, s->p[i].name);
		rc = rc ? rc : mc_buf_printf(out, ": ");
		rc = rc ? rc : put_param_spec(out, &s->p[i]);
		rc = rc ? rc : mc_buf_printf(out, i + 1 < s->n ? ",\n" : "\n");
	}
	rc = rc ? rc : mc_buf_printf(out, "}\n");
	return rc ? mc_fail(err, rc, "cannot write the search space: %s", mc_strerror(rc)) : MC_OK;
}
