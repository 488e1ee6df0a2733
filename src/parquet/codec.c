/* Page compression codecs: UNCOMPRESSED, SNAPPY (snappy-c) and ZSTD (libzstd, contexts reused). */
#include "parquet/parquet_int.h"

#include <pthread.h>
#include <snappy-c.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

/*
 * Between reads and writes, each thread keeps one idle context of each kind: a ZSTD_CCtx
 * sizes its tables for the pages it has seen and clears them whenever it has to grow, so a
 * fresh context per file (the lake writes many small ones) would pay that again and again.
 * Contexts that grew past CACHE_MAX_BYTES (big pages) are freed instead of kept.
 */
#define CACHE_MAX_BYTES ((size_t)4 << 20)

static _Thread_local ZSTD_CCtx *idle_cctx;
static _Thread_local ZSTD_DCtx *idle_dctx;

/* A thread that cached a context frees it when it exits (the key's destructor). */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *unused)
{
	(void)unused;
	mc_parquet_thread_done();
}

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, on_thread_exit);
}

static void free_at_thread_exit(void)
{
	pthread_once(&exit_once, make_exit_key);
	pthread_setspecific(exit_key, &exit_key);
}

static ZSTD_CCtx *take_cctx(void)
{
	ZSTD_CCtx *c = idle_cctx;
	idle_cctx = NULL;
	return c ? c : ZSTD_createCCtx();
}

static ZSTD_DCtx *take_dctx(void)
{
	ZSTD_DCtx *d = idle_dctx;
	idle_dctx = NULL;
	return d ? d : ZSTD_createDCtx();
}

void pq_codecs_free(pq_codecs *cs)
{
	if ((cs->zc && !idle_cctx && ZSTD_sizeof_CCtx(cs->zc) <= CACHE_MAX_BYTES) ||
	    (cs->zd && !idle_dctx && ZSTD_sizeof_DCtx(cs->zd) <= CACHE_MAX_BYTES))
		free_at_thread_exit();
	if (cs->zc && !idle_cctx && ZSTD_sizeof_CCtx(cs->zc) <= CACHE_MAX_BYTES)
		idle_cctx = cs->zc;
	else
		ZSTD_freeCCtx(cs->zc);
	if (cs->zd && !idle_dctx && ZSTD_sizeof_DCtx(cs->zd) <= CACHE_MAX_BYTES)
		idle_dctx = cs->zd;
	else
		ZSTD_freeDCtx(cs->zd);
	cs->zc = cs->zd = NULL;
}

void mc_parquet_thread_done(void)
{
	ZSTD_freeCCtx(idle_cctx);
	ZSTD_freeDCtx(idle_dctx);
	idle_cctx = NULL;
	idle_dctx = NULL;
}

bool pq_codec_supported(int codec)
{
	return codec == MC_PQ_UNCOMPRESSED || codec == MC_PQ_SNAPPY || codec == MC_PQ_ZSTD;
}

static const char *snappy_decode(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
	size_t want;
	if (snappy_uncompressed_length((const char *)src, src_len, &want) != SNAPPY_OK)
		return "corrupt snappy data";
	if (want != dst_len)
		return "corrupt snappy data (its length differs from the page's uncompressed size)";
	size_t got = dst_len;
	if (dst_len == 0)
		return NULL;
	if (snappy_uncompress((const char *)src, src_len, (char *)dst, &got) != SNAPPY_OK ||
	    got != dst_len)
		return "corrupt snappy data";
	return NULL;
}

static const char *zstd_decode(pq_codecs *cs, const uint8_t *src, size_t src_len, uint8_t *dst,
			       size_t dst_len)
{
	/* One context per read: ZSTD_decompress would make and free one for every page. */
	if (cs && !cs->zd)
		cs->zd = take_dctx();
	size_t got = cs && cs->zd ? ZSTD_decompressDCtx(cs->zd, dst, dst_len, src, src_len)
				  : ZSTD_decompress(dst, dst_len, src, src_len);
	if (ZSTD_isError(got))
		return ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall
			       ? "corrupt zstd data (larger than the page's uncompressed size)"
			       : "corrupt zstd data";
	if (got != dst_len)
		return "corrupt zstd data (smaller than the page's uncompressed size)";
	return NULL;
}

const char *pq_decompress(pq_codecs *cs, int codec, const uint8_t *src, size_t src_len,
			  uint8_t *dst, size_t dst_len)
{
	switch (codec) {
	case MC_PQ_UNCOMPRESSED:
		if (src_len != dst_len)
			return "compressed and uncompressed sizes differ in an uncompressed page";
		if (dst_len)
			memcpy(dst, src, dst_len);
		return NULL;
	case MC_PQ_SNAPPY: return snappy_decode(src, src_len, dst, dst_len);
	case MC_PQ_ZSTD: return zstd_decode(cs, src, src_len, dst, dst_len);
	default: return "unsupported codec";
	}
}

static mc_code snappy_encode(const uint8_t *src, size_t n, mc_buf *out)
{
	size_t cap = snappy_max_compressed_length(n);
	mc_code rc = mc_buf_reserve(out, cap);
	if (rc)
		return rc;
	size_t got = cap;
	if (snappy_compress((const char *)src, n, (char *)out->data + out->len, &got) != SNAPPY_OK)
		return MC_ERR_NOMEM;
	out->len += got;
	out->data[out->len] = '\0';
	return MC_OK;
}

static mc_code zstd_encode(pq_codecs *cs, int level, const uint8_t *src, size_t n, mc_buf *out)
{
	size_t cap = ZSTD_compressBound(n);
	mc_code rc = mc_buf_reserve(out, cap);
	if (rc)
		return rc;
	/* One context per write: ZSTD_compress would make and free one for every page. */
	if (cs && !cs->zc)
		cs->zc = take_cctx();
	size_t got = cs && cs->zc
			     ? ZSTD_compressCCtx(cs->zc, out->data + out->len, cap, src, n, level)
			     : ZSTD_compress(out->data + out->len, cap, src, n, level);
	if (ZSTD_isError(got))
		return MC_ERR_INVALID;
	out->len += got;
	out->data[out->len] = '\0';
	return MC_OK;
}

mc_code pq_compress(pq_codecs *cs, int codec, int level, const uint8_t *src, size_t n, mc_buf *out)
{
	switch (codec) {
	case MC_PQ_UNCOMPRESSED: return mc_buf_append(out, src, n);
	case MC_PQ_SNAPPY: return snappy_encode(src, n, out);
	case MC_PQ_ZSTD: return zstd_encode(cs, level, src, n, out);
	default: return MC_ERR_INVALID;
	}
}
