/* Private to src/http: the libcurl functions, resolved with dlsym when first needed. */
#ifndef MILKCAST_HTTP_INT_H
#define MILKCAST_HTTP_INT_H

#include <curl/curl.h>

#include "milkcast/error.h"

/* The libcurl entry points the client uses; filled once by http_curl_load(). */
typedef struct http_curl {
	CURLcode (*global_init)(long flags);
	curl_version_info_data *(*version_info)(CURLversion v);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *c);
	void (*easy_reset)(CURL *c);
	CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
	const char *(*easy_strerror)(CURLcode cc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} http_curl;

/* libcurl's functions, loading it on the first call (thread-safe); NULL with err filled when it
 * cannot be loaded. */
const http_curl *http_curl_get(mc_error *err);

#endif
