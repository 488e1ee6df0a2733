/*
 * S3 settings from the environment and the shared AWS files, resolved in
 * the order botocore (the AWS CLI) uses; the profile, region, credentials,
 * retries and endpoint steps are shared with the SSM client (ssm.c).  Never
 * prints a secret: a line of a file is named by its number, never quoted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/s3_int.h"
#include "milkcast/fsutil.h"

#define DEFAULT_RETRIES 3
#define MAX_RETRIES 20
#define DEFAULT_BACKOFF_MS 200L
#define MAX_BACKOFF_MS 60000L

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] ? v : NULL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

void aws_wipe_free(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

/* --- the shared files --------------------------------------------------------- */

/* What we read from a profile; the same names in both files. */
enum {
	P_ACCESS_KEY,
	P_SECRET_KEY,
	P_SESSION_TOKEN,
	P_SECURITY_TOKEN,
	P_REGION,
	P_ENDPOINT_URL,
	P_MAX_ATTEMPTS,
	P_ADDRESSING_STYLE, /* nested: "s3 =" then an indented "addressing_style = path" */
	P_N
};

static const char *const p_names[P_N] = {
	"aws_access_key_id",
	"aws_secret_access_key",
	"aws_session_token",
	"aws_security_token",
	"region",
	"endpoint_url",
	"max_attempts",
	"addressing_style",
};

/* One file's view of the profile. */
typedef struct aws_file {
	const char *kind; /* "config" or "credentials" */
	char *path;	  /* NULL without the variable and without HOME */
	bool found;	  /* the file has the profile's section */
	char *v[P_N];	  /* NULL when absent or empty */
	int line[P_N];
} aws_file;

typedef struct str_set {
	char **s;
	size_t n, cap;
} str_set;

/* Add s; *dup when it was already there (then nothing is added). */
static mc_code str_set_add(str_set *set, const char *s, bool *dup)
{
	*dup = false;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->s[i], s) == 0) {
			*dup = true;
			return MC_OK;
		}
	if (set->n == set->cap) {
		size_t ncap = set->cap ? 2 * set->cap : 8;
		char **ns = realloc(set->s, ncap * sizeof *ns);
		if (!ns)
			return MC_ERR_NOMEM;
		set->s = ns;
		set->cap = ncap;
	}
	if (!(set->s[set->n] = strdup(s)))
		return MC_ERR_NOMEM;
	set->n++;
	return MC_OK;
}

static void str_set_clear(str_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->s[i]);
	set->n = 0;
}

/*
 * The parser: Python's configparser as botocore runs it (RawConfigParser,
 * strict): "[section]" headers, "name = value" or "name: value" with names
 * folded to lower case, whole-line '#' and ';' comments, continuation lines
 * indented deeper than their setting, an error for anything else, a
 * duplicate section or a duplicate name in a section.  A setting with an
 * empty value followed by indented "name = value" lines is a nested block
 * (botocore's "s3 =").
 */
typedef struct ini {
	aws_file *f;
	const char *profile;
	bool config; /* "[default]" / "[profile NAME]" rather than "[NAME]" */
	int lineno;
	bool in_section, selected;
	bool have_opt, nested, nested_s3;
	size_t opt_indent;
	str_set sections, names;
} ini;

static mc_code bad_line(const ini *p, mc_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static mc_code bad_line(const ini *p, mc_error *err, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return mc_fail(err, MC_ERR_FORMAT, "cannot parse AWS %s file '%s' line %d: %s", p->f->kind,
		       p->f->path, p->lineno, what);
}

static mc_code set(ini *p, int i, const char *value, mc_error *err)
{
	char *v = value[0] ? strdup(value) : NULL; /* an empty value is no value */
	if (value[0] && !v)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	aws_wipe_free(p->f->v[i]);
	p->f->v[i] = v;
	p->f->line[i] = p->lineno;
	return MC_OK;
}

/* Is h (trimmed) the header of the profile we want? */
static bool selects(const ini *p, const char *h)
{
	if (!p->config)
		return strcmp(h, p->profile) == 0;
	if (strcmp(h, "default") == 0)
		return strcmp(p->profile, "default") == 0;
	if (strncmp(h, "profile", 7) != 0 || !isspace((unsigned char)h[7]))
		return false;
	const char *name = h + 7 + strspn(h + 7, " \t");
	size_t n = strcspn(name, " \t");
	return name[n] == '\0' && strcmp(name, p->profile) == 0; /* exactly two words */
}

static mc_code header(ini *p, char *t, mc_error *err)
{
	char *end = strrchr(t, ']');
	if (!end)
		return bad_line(p, err, "expected '[section]'");
	*end = '\0';
	char *h = trim(t + 1);
	if (!h[0])
		return bad_line(p, err, "empty section name");
	bool dup;
	if (str_set_add(&p->sections, h, &dup))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (dup)
		return bad_line(p, err, "duplicate section [%.64s]", h);
	str_set_clear(&p->names);
	p->in_section = true;
	p->selected = selects(p, h);
	if (p->selected)
		p->f->found = true;
	return MC_OK;
}

/* A line indented under a setting: part of its value, or of its nested block. */
static mc_code continuation(ini *p, char *t, mc_error *err)
{
	if (!p->nested)
		return MC_OK; /* more lines of a value we do not read */
	char *eq = strchr(t, '=');
	if (!eq)
		return bad_line(p, err, "expected 'name = value' in a nested block");
	*eq = '\0';
	if (p->nested_s3 && strcmp(trim(t), "addressing_style") == 0)
		return set(p, P_ADDRESSING_STYLE, trim(eq + 1), err);
	return MC_OK;
}

static mc_code setting_line(ini *p, char *t, size_t indent, mc_error *err)
{
	if (!p->in_section)
		return bad_line(p, err, "a setting before any [section]");
	size_t n = strcspn(t, "=:");
	if (!t[n])
		return bad_line(p, err, "expected 'name = value', a [section] or a comment");
	char *value = trim(t + n + 1);
	t[n] = '\0';
	char *name = trim(t);
	if (!name[0])
		return bad_line(p, err, "a setting without a name");
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	bool dup;
	if (str_set_add(&p->names, name, &dup))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (dup)
		return bad_line(p, err, "duplicate setting '%.64s'", name);
	p->have_opt = true;
	p->opt_indent = indent;
	p->nested = !value[0];
	p->nested_s3 = p->nested && p->selected && strcmp(name, "s3") == 0;
	if (!p->selected)
		return MC_OK;
	for (int i = 0; i < P_ADDRESSING_STYLE; i++)
		if (strcmp(name, p_names[i]) == 0)
			return set(p, i, value, err);
	return MC_OK;
}

static mc_code ini_line(ini *p, char *raw, mc_error *err)
{
	size_t indent = strspn(raw, " \t");
	char *t = trim(raw);
	if (!t[0] || t[0] == '#' || t[0] == ';')
		return MC_OK; /* blank lines and comments do not end a value */
	if (p->have_opt && indent > p->opt_indent)
		return continuation(p, t, err);
	p->have_opt = p->nested = p->nested_s3 = false;
	return t[0] == '[' ? header(p, t, err) : setting_line(p, t, indent, err);
}

/* "~/x" -> "$HOME/x", as botocore expands the paths it is given. */
static char *expand_home(const char *path)
{
	if (path[0] == '~' && (path[1] == '/' || !path[1]) && env("HOME"))
		return mc_path_join(env("HOME"), path[1] ? path + 2 : "");
	return strdup(path);
}

/* A missing file has no settings (as botocore); an unreadable or malformed one is an error. */
static mc_code aws_file_load(aws_file *f, const char *var, const char *home_rel,
			     const char *profile, mc_error *err)
{
	const char *given = env(var);
	if (given)
		f->path = expand_home(given);
	else if (env("HOME"))
		f->path = mc_path_join(env("HOME"), home_rel);
	if ((given || env("HOME")) && !f->path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!f->path)
		return MC_OK;
	FILE *fp = fopen(f->path, "r");
	if (!fp)
		return errno == ENOENT || errno == ENOTDIR
			       ? MC_OK
			       : mc_fail(err, MC_ERR_IO, "cannot read AWS %s file '%s': %s",
					 f->kind, f->path, strerror(errno));
	ini p = {.f = f, .profile = profile, .config = strcmp(f->kind, "config") == 0};
	char *line = NULL;
	size_t cap = 0;
	mc_code rc = MC_OK;
	while (!rc && getline(&line, &cap, fp) >= 0) {
		p.lineno++;
		rc = ini_line(&p, line, err);
	}
	if (!rc && ferror(fp))
		rc = mc_fail(err, MC_ERR_IO, "cannot read AWS %s file '%s': %s", f->kind, f->path,
			     strerror(errno));
	if (line)
		memset(line, 0, cap);
	free(line);
	fclose(fp);
	str_set_clear(&p.sections);
	str_set_clear(&p.names);
	free(p.sections.s);
	free(p.names.s);
	return rc;
}

static void aws_file_release(aws_file *f)
{
	free(f->path);
	for (int i = 0; i < P_N; i++)
		aws_wipe_free(f->v[i]);
}

/* f[0] is the credentials file, f[1] the config file. */
struct aws_profile {
	aws_file f[2];
	char *profile; /* AWS_PROFILE or "default" */
	bool profile_given;
};

mc_code aws_profile_load(aws_profile **out, mc_error *err)
{
	aws_profile *a = calloc(1, sizeof *a);
	*out = a;
	if (!a)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	a->f[0].kind = "credentials";
	a->f[1].kind = "config";
	a->profile_given = env("AWS_PROFILE") != NULL;
	a->profile = strdup(a->profile_given ? env("AWS_PROFILE") : "default");
	if (!a->profile)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = aws_file_load(&a->f[0], "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials",
				   a->profile, err);
	if (!rc)
		rc = aws_file_load(&a->f[1], "AWS_CONFIG_FILE", ".aws/config", a->profile, err);
	/* botocore: a profile asked for by name must exist, even with credentials in the
	 * environment */
	if (!rc && a->profile_given && !a->f[0].found && !a->f[1].found)
		rc = mc_fail(err, MC_ERR_NOT_FOUND,
			     "AWS profile '%s' (AWS_PROFILE) is in neither '%s' nor '%s'",
			     a->profile, a->f[0].path ? a->f[0].path : "~/.aws/credentials",
			     a->f[1].path ? a->f[1].path : "~/.aws/config");
	return rc;
}

void aws_profile_free(aws_profile *a)
{
	if (!a)
		return;
	aws_file_release(&a->f[0]);
	aws_file_release(&a->f[1]);
	free(a->profile);
	free(a);
}

/*
 * A profile setting: the credentials file's value wins over the config
 * file's, as botocore merges the former over the latter.
 */
static const aws_file *setting(const aws_profile *a, int i)
{
	return a->f[0].v[i] ? &a->f[0] : a->f[1].v[i] ? &a->f[1] : NULL;
}

/* "profile 'ci' of '/home/u/.aws/config' line 4" into buf. */
static const char *where(const aws_profile *a, const aws_file *f, int i, char *buf, size_t cap)
{
	snprintf(buf, cap, "profile '%s' of '%s' line %d", a->profile, f->path, f->line[i]);
	return buf;
}

/* --- settings ------------------------------------------------------------------- */

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || end[strspn(end, " \t")] || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static mc_code bad_number(mc_error *err, const char *name, const char *value, const char *src,
			  long lo, long hi)
{
	return mc_fail(err, MC_ERR_INVALID,
		       "invalid %s '%.32s' in %s: expected an integer from %ld to %ld", name, value,
		       src, lo, hi);
}

mc_code aws_retries(const aws_profile *a, const char *retries_var, const char *backoff_var,
		    int *retries, long *backoff_ms, mc_error *err)
{
	char buf[600];
	long v;
	const char *s;
	if (*retries < 0) {
		*retries = DEFAULT_RETRIES;
		const aws_file *f = setting(a, P_MAX_ATTEMPTS);
		if ((s = env(retries_var))) {
			if (!parse_long(s, 0, MAX_RETRIES, &v))
				return bad_number(err, "retry count", s, retries_var, 0,
						  MAX_RETRIES);
			*retries = (int)v;
		} else if ((s = env("AWS_MAX_ATTEMPTS"))) {
			if (!parse_long(s, 1, MAX_RETRIES + 1, &v))
				return bad_number(err, "max_attempts", s, "AWS_MAX_ATTEMPTS", 1,
						  MAX_RETRIES + 1);
			*retries = (int)v - 1;
		} else if (f) {
			s = f->v[P_MAX_ATTEMPTS];
			if (!parse_long(s, 1, MAX_RETRIES + 1, &v))
				return bad_number(err, "max_attempts", s,
						  where(a, f, P_MAX_ATTEMPTS, buf, sizeof buf), 1,
						  MAX_RETRIES + 1);
			*retries = (int)v - 1;
		}
	}
	if (*backoff_ms < 0) {
		*backoff_ms = DEFAULT_BACKOFF_MS;
		if ((s = env(backoff_var))) {
			if (!parse_long(s, 0, MAX_BACKOFF_MS, &v))
				return bad_number(err, "backoff", s, backoff_var, 0,
						  MAX_BACKOFF_MS);
			*backoff_ms = v;
		}
	}
	return MC_OK;
}

/* Region names go into host names and the credential scope. */
static bool valid_region(const char *r)
{
	size_t n = strlen(r);
	if (n == 0 || n > 64)
		return false;
	for (; *r; r++)
		if (!isalnum((unsigned char)*r) && *r != '-' && *r != '_' && *r != '.')
			return false;
	return true;
}

mc_code aws_region(const aws_profile *a, char **region, mc_error *err)
{
	char buf[600];
	const char *src = "AWS_REGION", *r = env(src);
	if (!r)
		r = env(src = "AWS_DEFAULT_REGION");
	const aws_file *f = r ? NULL : setting(a, P_REGION);
	if (f) {
		r = f->v[P_REGION];
		src = where(a, f, P_REGION, buf, sizeof buf);
	}
	if (!r)
		r = "us-east-1";
	if (!valid_region(r))
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid AWS region '%.64s' in %s: expected letters, digits, '-', "
			       "'_' or '.'",
			       r, src);
	*region = strdup(r);
	return *region ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

mc_code aws_credentials(const aws_profile *a, const char *subject, char **access_key,
			char **secret_key, char **session_token, mc_error *err)
{
	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk, *token;
	if (ak) {
		sk = env("AWS_SECRET_ACCESS_KEY");
		if (!sk)
			return mc_fail(err, MC_ERR_INVALID,
				       "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not "
				       "(for %s)",
				       subject);
		token = env("AWS_SESSION_TOKEN") ? env("AWS_SESSION_TOKEN")
						 : env("AWS_SECURITY_TOKEN");
	} else {
		const aws_file *f = a->f[0].v[P_ACCESS_KEY]   ? &a->f[0]
				    : a->f[1].v[P_ACCESS_KEY] ? &a->f[1]
							      : NULL;
		if (!f)
			return mc_fail(err, MC_ERR_INVALID,
				       "no AWS credentials for %s: set AWS_ACCESS_KEY_ID and "
				       "AWS_SECRET_ACCESS_KEY, or aws_access_key_id and "
				       "aws_secret_access_key in profile '%s' of '%s' or '%s'",
				       subject, a->profile,
				       a->f[0].path ? a->f[0].path : "~/.aws/credentials",
				       a->f[1].path ? a->f[1].path : "~/.aws/config");
		ak = f->v[P_ACCESS_KEY];
		sk = f->v[P_SECRET_KEY];
		if (!sk)
			return mc_fail(
				err, MC_ERR_INVALID,
				"profile '%s' of '%s' has aws_access_key_id (line %d) but no "
				"aws_secret_access_key",
				a->profile, f->path, f->line[P_ACCESS_KEY]);
		token = f->v[P_SESSION_TOKEN] ? f->v[P_SESSION_TOKEN] : f->v[P_SECURITY_TOKEN];
	}
	*access_key = strdup(ak);
	*secret_key = strdup(sk);
	*session_token = token ? strdup(token) : NULL;
	if (!*access_key || !*secret_key || (token && !*session_token))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	return MC_OK;
}

static bool valid_bucket(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return false;
	for (const char *p = b; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' ||
		      *p == '.'))
			return false;
	return true;
}

static mc_code split_uri(s3_config *c, const char *rest, mc_error *err)
{
	const char *slash = strchr(rest, '/');
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
	c->bucket = strndup(rest, blen);
	const char *p = slash ? slash + 1 : "";
	size_t plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	c->prefix = malloc(plen + 2);
	if (!c->bucket || !c->prefix)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	memcpy(c->prefix, p, plen);
	c->prefix[plen] = '\0';
	if (!valid_bucket(c->bucket))
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid store URI 's3://%s': bad bucket name '%s'", rest,
			       c->bucket);
	if (plen && mc_artifact_key_check(c->prefix, err))
		return mc_error_prefix(err, "invalid store URI 's3://%s': prefix: ", rest);
	if (plen)
		strcpy(c->prefix + plen, "/");
	return MC_OK;
}

mc_code aws_endpoint_parse(const char *url, const char *service, const char *src, char **origin,
			   char **host, mc_error *err)
{
	*origin = *host = NULL;
	const char *sep = strstr(url, "://");
	if (!sep || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid %s endpoint '%s' in %s: expected http:// or https://",
			       service, url, src);
	const char *h = sep + 3;
	size_t hlen = strcspn(h, "/?#");
	if (hlen == 0 || memchr(h, '@', hlen) || h[hlen + strspn(h + hlen, "/")] != '\0')
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid %s endpoint '%s' in %s: expected scheme://host[:port]",
			       service, url, src);
	*host = strndup(h, hlen);
	*origin = strndup(url, (size_t)(h - url) + hlen);
	if (!*host || !*origin)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	return MC_OK;
}

const char *aws_endpoint_setting(const aws_profile *a, const char *const *vars, size_t n,
				 const char **src, char *buf, size_t cap)
{
	for (size_t i = 0; i < n; i++)
		if (env(vars[i])) {
			*src = vars[i];
			return env(vars[i]);
		}
	const aws_file *f = setting(a, P_ENDPOINT_URL);
	if (!f)
		return NULL;
	*src = where(a, f, P_ENDPOINT_URL, buf, cap);
	return f->v[P_ENDPOINT_URL];
}

/* S3 at url: path-style ("/bucket") unless the caller clears base_path. */
static mc_code endpoint(s3_config *c, const char *url, const char *src, mc_error *err)
{
	mc_code rc = aws_endpoint_parse(url, "S3", src, &c->origin, &c->host, err);
	if (rc)
		return rc;
	c->base_path = malloc(strlen(c->bucket) + 2);
	if (!c->base_path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	sprintf(c->base_path, "/%s", c->bucket);
	return MC_OK;
}

static mc_code aws_endpoint(s3_config *c, bool path_style, mc_error *err)
{
	char url[512];
	if (path_style || strchr(c->bucket, '.')) {
		snprintf(url, sizeof url, "https://s3.%s.amazonaws.com", c->region);
		return endpoint(c, url, "the AWS endpoint", err);
	}
	snprintf(url, sizeof url, "https://%s.s3.%s.amazonaws.com", c->bucket, c->region);
	mc_code rc = endpoint(c, url, "the AWS endpoint", err);
	if (!rc)
		c->base_path[0] = '\0';
	return rc;
}

/*
 * opts.endpoint > MILKCAST_S3_ENDPOINT > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > the
 * profile's endpoint_url (all path-style) > AWS, virtual-host unless opts.path_style, the
 * profile's "s3 = / addressing_style = path", or a dotted bucket.
 */
static mc_code resolve_endpoint(s3_config *c, const mc_artifact_opts *o, const aws_profile *a,
				mc_error *err)
{
	static const char *const vars[] = {"MILKCAST_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3",
					   "AWS_ENDPOINT_URL"};
	char buf[600];
	const char *src = "opts.endpoint", *ep = o->endpoint;
	if (!ep)
		ep = aws_endpoint_setting(a, vars, sizeof vars / sizeof *vars, &src, buf,
					  sizeof buf);
	if (ep)
		return endpoint(c, ep, src, err);
	bool path_style = o->path_style;
	const aws_file *f;
	if ((f = setting(a, P_ADDRESSING_STYLE))) {
		const char *style = f->v[P_ADDRESSING_STYLE];
		if (strcmp(style, "path") == 0)
			path_style = true;
		else if (strcmp(style, "virtual") != 0 && strcmp(style, "auto") != 0)
			return mc_fail(err, MC_ERR_INVALID,
				       "invalid s3 addressing_style '%.32s' in %s: expected path, "
				       "virtual or auto",
				       style, where(a, f, P_ADDRESSING_STYLE, buf, sizeof buf));
	}
	return aws_endpoint(c, path_style, err);
}

mc_code s3_config_load(s3_config *c, const char *rest, const mc_artifact_opts *o, mc_error *err)
{
	memset(c, 0, sizeof *c);
	mc_code rc = split_uri(c, rest, err);
	if (rc)
		return rc;
	aws_profile *a = NULL;
	mc_buf subject = MC_BUF_INIT;
	rc = aws_profile_load(&a, err);
	if (!rc)
		rc = aws_region(a, &c->region, err);
	if (!rc) {
		c->retries = o->retries;
		c->backoff_ms = o->backoff_ms;
		rc = aws_retries(a, "MILKCAST_S3_RETRIES", "MILKCAST_S3_BACKOFF_MS", &c->retries,
				 &c->backoff_ms, err);
	}
	if (!rc)
		rc = resolve_endpoint(c, o, a, err);
	if (!rc && mc_buf_printf(&subject, "'s3://%s'", rest))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = aws_credentials(a, (const char *)subject.data, &c->access_key, &c->secret_key,
				     &c->session_token, err);
	mc_buf_release(&subject);
	aws_profile_free(a);
	return rc;
}

void s3_config_release(s3_config *c)
{
	aws_wipe_free(c->secret_key);
	aws_wipe_free(c->session_token);
	free(c->bucket);
	free(c->prefix);
	free(c->region);
	free(c->access_key);
	free(c->origin);
	free(c->host);
	free(c->base_path);
	memset(c, 0, sizeof *c);
}

bool aws_retryable_code(const char *code)
{
	static const char *const codes[] = {
		"SlowDown",
		"Throttling",
		"ThrottlingException",
		"ThrottledException",
		"RequestThrottled",
		"RequestThrottledException",
		"TooManyRequestsException",
		"ProvisionedThroughputExceededException",
		"TransactionInProgressException",
		"RequestLimitExceeded",
		"BandwidthLimitExceeded",
		"LimitExceededException",
		"RequestTimeout",
		"RequestTimeoutException",
		"PriorRequestNotComplete",
		"InternalError",
		"ServiceUnavailable",
	};
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}
