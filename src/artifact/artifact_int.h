/* Private to src/artifact: the backend table behind mc_artifact_store, and helpers the backends
 * share. */
#ifndef MILKCAST_ARTIFACT_INT_H
#define MILKCAST_ARTIFACT_INT_H

#include <stdint.h>

#include "milkcast/artifact.h"

typedef struct artifact_ops {
	mc_code (*put)(mc_artifact_store *s, const char *key, const void *p, size_t n,
		       mc_error *err);
	mc_code (*get)(mc_artifact_store *s, const char *key, mc_buf *out, mc_error *err);
	mc_code (*exists)(mc_artifact_store *s, const char *key, bool *exists, mc_error *err);
	mc_code (*del)(mc_artifact_store *s, const char *key, mc_error *err);
	mc_code (*list)(mc_artifact_store *s, const char *prefix, mc_artifact_keys *out,
			mc_error *err);
	void (*free)(mc_artifact_store *s);
} artifact_ops;

struct mc_artifact_store {
	const artifact_ops *ops;
	char *uri;
	mc_artifact_opts opts;
	void *backend;
};

mc_code artifact_file_open(mc_artifact_store *s, const char *dir, mc_error *err);
/* bucket_and_prefix is what follows "s3://". */
mc_code artifact_s3_open(mc_artifact_store *s, const char *bucket_and_prefix, mc_error *err);

/* Append a copy of key to the list (growing it). */
mc_code artifact_list_add(mc_artifact_keys *l, const char *key, size_t *cap);
void artifact_list_sort(mc_artifact_keys *l);

/* MD5 (RFC 1321), for S3's Content-MD5 and ETags. */
void artifact_md5(const void *p, size_t n, uint8_t out[16]);
/* Standard base64 with padding into out (4 * ceil(n / 3) + 1 bytes). */
void artifact_base64(const uint8_t *p, size_t n, char *out);

#endif
