/*
 * libcurl on first use: dlopen libcurl.so.4, resolve the functions the client
 * calls, check the version and run curl_global_init, once per process.  The
 * outcome (the functions, or the error) is kept for every later call.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "milkcast/httpc.h"

#define LIBCURL_FILE "libcurl.so.4"
#define LIBCURL_MIN 0x074200 /* 7.66.0: CURLINFO_RETRY_AFTER */

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static http_curl api;
static mc_error load_err;

static const struct {
	const char *name;
	size_t offset;
} symbols[] = {
	{"curl_global_init", offsetof(http_curl, global_init)},
	{"curl_version_info", offsetof(http_curl, version_info)},
	{"curl_easy_init", offsetof(http_curl, easy_init)},
	{"curl_easy_cleanup", offsetof(http_curl, easy_cleanup)},
	{"curl_easy_reset", offsetof(http_curl, easy_reset)},
	{"curl_easy_setopt", offsetof(http_curl, easy_setopt)},
	{"curl_easy_perform", offsetof(http_curl, easy_perform)},
	{"curl_easy_getinfo", offsetof(http_curl, easy_getinfo)},
	{"curl_easy_strerror", offsetof(http_curl, easy_strerror)},
	{"curl_slist_append", offsetof(http_curl, slist_append)},
	{"curl_slist_free_all", offsetof(http_curl, slist_free_all)},
};

static mc_code resolve(void *lib, const char *file)
{
	for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++) {
		void *p = dlsym(lib, symbols[i].name);
		if (!p)
			return mc_fail(&load_err, MC_ERR_UNSUPPORTED,
				       "cannot use libcurl '%s': it has no %s", file,
				       symbols[i].name);
		memcpy((char *)&api + symbols[i].offset, &p, sizeof p);
	}
	return MC_OK;
}

static mc_code start(const char *file)
{
	const curl_version_info_data *v = api.version_info(CURLVERSION_NOW);
	if (!v || v->version_num < LIBCURL_MIN)
		return mc_fail(&load_err, MC_ERR_UNSUPPORTED,
			       "libcurl %s ('%s') is too old: 7.66.0 or later is needed",
			       v && v->version ? v->version : "(unknown version)", file);
	CURLcode cc = api.global_init(CURL_GLOBAL_DEFAULT);
	if (cc != CURLE_OK)
		return mc_fail(&load_err, MC_ERR_NETWORK, "cannot initialise libcurl '%s': %s",
			       file, api.easy_strerror(cc));
	return MC_OK;
}

static void load(void)
{
	const char *file = secure_getenv("MILKCAST_LIBCURL");
	if (!file || !*file)
		file = LIBCURL_FILE;
	void *lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		mc_fail(&load_err, MC_ERR_UNSUPPORTED,
			"cannot load libcurl, needed for HTTP requests (%s); install it "
			"(Debian: apt-get install libcurl4)",
			why ? why : file);
		return;
	}
	/* Never closed: libcurl's global state lives until the process ends. */
	if (resolve(lib, file) || start(file))
		memset(&api, 0, sizeof api);
}

const http_curl *http_curl_get(mc_error *err)
{
	pthread_once(&load_once, load);
	if (load_err.code) {
		if (err)
			*err = load_err;
		return NULL;
	}
	return &api;
}

mc_code mc_httpc_load(mc_error *err)
{
	return http_curl_get(err) ? MC_OK : load_err.code;
}

const char *mc_httpc_curl_version(void)
{
	const http_curl *c = http_curl_get(NULL);
	const curl_version_info_data *v = c ? c->version_info(CURLVERSION_NOW) : NULL;
	return v && v->version ? v->version : "unavailable";
}
