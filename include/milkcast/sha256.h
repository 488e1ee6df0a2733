/* SHA-256 (FIPS 180-4), for content hashes of inputs, artifacts and S3 payloads. */
#ifndef MILKCAST_SHA256_H
#define MILKCAST_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mc_sha256 {
	uint32_t h[8];
	uint64_t total;
	uint8_t block[64];
	size_t used;
} mc_sha256;

void mc_sha256_init(mc_sha256 *s);
void mc_sha256_update(mc_sha256 *s, const void *p, size_t n);
void mc_sha256_final(mc_sha256 *s, uint8_t out[32]);
/* Whether the x86 SHA extensions are used (detected at run time); tests
 * can switch them off to compare both paths. */
bool mc_sha256_accelerated(void);
void mc_sha256_set_accelerated(bool on);
/* One shot, lower-case hex into out (65 bytes with the NUL). */
void mc_sha256_hex(const void *p, size_t n, char out[65]);

#endif
