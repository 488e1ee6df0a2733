/*
 * Private to src/model: a bounds-checked UBJSON reader (xgb_ubj.c) and the
 * check of an XGBoost model document (xgb_check.c) that mc_xgb_load() runs
 * before XGBoost sees the bytes.
 */
#ifndef MILKCAST_MODEL_XGB_INT_H
#define MILKCAST_MODEL_XGB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

/* Deepest nesting of arrays and objects accepted (XGBoost models use about 8). */
#define MC_UBJ_MAX_DEPTH 64
/* Most values in one document (typed arrays count as one); ~25 per tree. */
#define MC_UBJ_MAX_NODES (1 << 22)

/*
 * One value of a UBJSON document.  Containers link their members by index
 * (0 = none: node 0 is the root, never a member).  Strings and typed arrays
 * point into the input bytes, which must outlive the document.
 */
typedef struct mc_ubj_node {
	uint8_t kind;	 /* '{' object, '[' array, '$' typed array, 'S' string, 'i' integer,
			    'd' float, 'Z' null, 'T' true, 'F' false */
	uint8_t type;	 /* typed array items: 'd' f32, 'U' u8, 'l' i32, 'L' i64 */
	size_t key;	 /* offset of the member's key (objects only), */
	size_t key_len;	 /* and its length */
	size_t data;	 /* offset of a string's bytes or a typed array's items */
	size_t count;	 /* string bytes, or items of an array / members of an object */
	size_t child;	 /* first member */
	size_t next;	 /* next member of the same container */
	int64_t integer; /* 'i' */
	double number;	 /* 'd' */
} mc_ubj_node;

typedef struct mc_ubj_doc {
	const uint8_t *p; /* the input, n bytes */
	size_t n;
	mc_ubj_node *node; /* node[0] is the root */
	size_t nnodes, cap;
} mc_ubj_doc;

/*
 * Parse p[0..n) as exactly one UBJSON value in the subset XGBoost 1.7 writes
 * and reads: every length and count fits in the bytes that remain, no
 * container is left open, nesting stays under MC_UBJ_MAX_DEPTH, nothing
 * follows.  MC_ERR_FORMAT naming the byte offset, or MC_ERR_NOMEM.
 */
mc_code mc_ubj_parse(mc_ubj_doc *doc, const uint8_t *p, size_t n, mc_error *err);
void mc_ubj_release(mc_ubj_doc *doc);

/* The member `key` of object node `obj`, or 0. */
size_t mc_ubj_get(const mc_ubj_doc *doc, size_t obj, const char *key);
/* Item i of a typed array of 32-bit integers ('l'), of bytes ('U'), of floats ('d'). */
int32_t mc_ubj_i32(const mc_ubj_doc *doc, size_t arr, size_t i);
uint8_t mc_ubj_u8(const mc_ubj_doc *doc, size_t arr, size_t i);

/*
 * Check that the document is a model mc_xgb_predict() can run safely: one
 * regression gbtree whose every tree is a proper binary tree (children after
 * their parent, inside the node arrays, numeric splits on features below
 * num_feature) with arrays of the declared sizes.  XGBoost trusts these
 * when it predicts.  MC_ERR_FORMAT or MC_ERR_UNSUPPORTED naming the field.
 */
mc_code mc_xgb_check_model(const mc_ubj_doc *doc, mc_error *err);

#endif
