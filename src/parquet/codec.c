/* Page compression codecs: UNCOMPRESSED, SNAPPY (snappy-c) and ZSTD (libzstd). */
#include "parquet/parquet_int.h"

#include <snappy-c.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

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

static const char *zstd_decode(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
	size_t got = ZSTD_decompress(dst, dst_len, src, src_len);
	if (ZSTD_isError(got))
		return ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall
			       ? "corrupt zstd data (larger than the page's uncompressed size)"
			       : "corrupt zstd data";
	if (got != dst_len)
		return "corrupt zstd data (smaller than the page's uncompressed size)";
	return NULL;
}

const char *pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst,
			  size_t dst_len)
{
	switch (codec) {
	case MC_PQ_UNCOMPRESSED:
		if (src_len != dst_len)
			return "compressed and uncompressed sizes differ in an uncompressed page";
		if (dst_len)
			memcpy(dst, src, dst_len);
		return NULL;
	case MC_PQ_SNAPPY: return snappy_decode(src, src_len, dst, dst_len);
	case MC_PQ_ZSTD: return zstd_decode(src, src_len, dst, dst_len);
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

static mc_code zstd_encode(int level, const uint8_t *src, size_t n, mc_buf *out)
{
	size_t cap = ZSTD_compressBound(n);
	mc_code rc = mc_buf_reserve(out, cap);
	if (rc)
		return rc;
	size_t got = ZSTD_compress(out->data + out->len, cap, src, n, level);
	if (ZSTD_isError(got))
		return MC_ERR_INVALID;
	out->len += got;
	out->data[out->len] = '\0';
	return MC_OK;
}

mc_code pq_compress(int codec, int level, const uint8_t *src, size_t n, mc_buf *out)
{
	switch (codec) {
	case MC_PQ_UNCOMPRESSED: return mc_buf_append(out, src, n);
	case MC_PQ_SNAPPY: return snappy_encode(src, n, out);
	case MC_PQ_ZSTD: return zstd_encode(level, src, n, out);
	default: return MC_ERR_INVALID;
	}
}
