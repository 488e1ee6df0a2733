/* S3 settings from the standard AWS environment and shared credentials file; never prints secrets.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/s3_int.h"
#include "milkcast/fsutil.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] ? v : NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
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

/* One "name = value" line of the profile we want. */
static mc_code credentials_line(s3_config *c, char *line)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return MC_OK;
	*eq = '\0';
	char *name = trim(line), *value = trim(eq + 1);
	char **slot = NULL;
	if (strcmp(name, "aws_access_key_id") == 0)
		slot = &c->access_key;
	else if (strcmp(name, "aws_secret_access_key") == 0)
		slot = &c->secret_key;
	else if (strcmp(name, "aws_session_token") == 0)
		slot = &c->session_token;
	if (!slot)
		return MC_OK;
	free(*slot);
	*slot = strdup(value);
	return *slot ? MC_OK : MC_ERR_NOMEM;
}

static mc_code credentials_file(s3_config *c, mc_error *err)
{
	const char *path = env("AWS_SHARED_CREDENTIALS_FILE");
	char *owned = NULL;
	if (!path && env("HOME"))
		path = owned = mc_path_join(env("HOME"), ".aws/credentials");
	const char *profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
	FILE *f = path ? fopen(path, "r") : NULL;
	free(owned);
	if (!f)
		return MC_OK;
	char line[4096];
	bool in_profile = false;
	mc_code rc = MC_OK;
	while (!rc && fgets(line, sizeof line, f)) {
		char *t = trim(line);
		if (t[0] == '#' || t[0] == ';' || !t[0])
			continue;
		if (t[0] == '[') {
			char *end = strchr(t, ']');
			if (end)
				*end = '\0';
			in_profile = strcmp(trim(t + 1), profile) == 0;
		} else if (in_profile) {
			rc = credentials_line(c, t);
		}
	}
	fclose(f);
	return rc ? mc_fail(err, MC_ERR_NOMEM, "out of memory") : MC_OK;
}

static mc_code load_credentials(s3_config *c, const char *uri, mc_error *err)
{
	if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		c->access_key = strdup(env("AWS_ACCESS_KEY_ID"));
		c->secret_key = strdup(env("AWS_SECRET_ACCESS_KEY"));
		c->session_token = dup_or_null(env("AWS_SESSION_TOKEN"));
		if (!c->access_key || !c->secret_key)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	} else {
		mc_code rc = credentials_file(c, err);
		if (rc)
			return rc;
	}
	if (!c->access_key || !c->secret_key)
		return mc_fail(err, MC_ERR_INVALID,
			       "no AWS credentials for 's3://%s': set AWS_ACCESS_KEY_ID and "
			       "AWS_SECRET_ACCESS_KEY or a profile in the shared credentials file",
			       uri);
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

/* "http://127.0.0.1:5000/" -> origin "http://127.0.0.1:5000", host "127.0.0.1:5000". */
static mc_code endpoint(s3_config *c, const char *url, mc_error *err)
{
	const char *sep = strstr(url, "://");
	if (!sep || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid S3 endpoint '%s': expected http:// or https://", url);
	const char *h = sep + 3;
	size_t hlen = strcspn(h, "/?#");
	if (hlen == 0 || memchr(h, '@', hlen) || h[hlen + strspn(h + hlen, "/")] != '\0')
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid S3 endpoint '%s': expected scheme://host[:port]", url);
	c->host = strndup(h, hlen);
	c->origin = strndup(url, (size_t)(h - url) + hlen);
	if (c->bucket)
		c->base_path = malloc(strlen(c->bucket) + 2);
	if (!c->host || !c->origin || !c->base_path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	sprintf(c->base_path, "/%s", c->bucket);
	return MC_OK;
}

static mc_code aws_endpoint(s3_config *c, bool path_style, mc_error *err)
{
	char url[512];
	if (path_style || strchr(c->bucket, '.')) {
		snprintf(url, sizeof url, "https://s3.%s.amazonaws.com", c->region);
		return endpoint(c, url, err);
	}
	snprintf(url, sizeof url, "https://%s.s3.%s.amazonaws.com", c->bucket, c->region);
	mc_code rc = endpoint(c, url, err);
	if (!rc)
		c->base_path[0] = '\0';
	return rc;
}

mc_code s3_config_load(s3_config *c, const char *rest, const mc_artifact_opts *o, mc_error *err)
{
	memset(c, 0, sizeof *c);
	mc_code rc = split_uri(c, rest, err);
	if (rc)
		return rc;
	const char *region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
	c->region = strdup(region ? region : "us-east-1");
	if (!c->region)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	const char *ep = o->endpoint;
	if (!ep)
		ep = env("MILKCAST_S3_ENDPOINT") ? env("MILKCAST_S3_ENDPOINT")
						 : env("AWS_ENDPOINT_URL");
	rc = ep ? endpoint(c, ep, err) : aws_endpoint(c, o->path_style, err);
	if (!rc)
		rc = load_credentials(c, rest, err);
	return rc;
}

void s3_config_release(s3_config *c)
{
	if (c->secret_key)
		memset(c->secret_key, 0, strlen(c->secret_key));
	free(c->bucket);
	free(c->prefix);
	free(c->region);
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	free(c->origin);
	free(c->host);
	free(c->base_path);
	memset(c, 0, sizeof *c);
}
