/*
 * The check of an XGBoost model document before XGBoost loads it.  XGBoost
 * 1.7 trusts the tree arrays when it predicts (child indices, split feature
 * indices, array lengths), so a damaged file that still parses would read
 * outside its arrays; here every index the prediction walk will follow is
 * checked.  Layout: docs/internals/model.md.
 */
#include "model/xgb_int.h"

#include <stdio.h>
#include <string.h>

/* What is being checked, for messages: "trees[3].left_children". */
typedef struct check_ctx {
	const mc_ubj_doc *doc;
	mc_error *err;
	long tree; /* -1 outside the trees */
} check_ctx;

static mc_code check_fail(check_ctx *c, mc_code code, const char *field, const char *what)
{
	if (c->tree >= 0)
		return mc_fail(c->err, code, "model trees[%ld]%s%s: %s", c->tree, *field ? "." : "",
			       field, what);
	return mc_fail(c->err, code, "model %s: %s", field, what);
}

/* The member `key` of `obj`, which must be of `kind`. */
static mc_code need(check_ctx *c, size_t obj, const char *key, uint8_t kind, size_t *out)
{
	size_t at = mc_ubj_get(c->doc, obj, key);
	if (!at)
		return check_fail(c, MC_ERR_FORMAT, key, "missing");
	if (c->doc->node[at].kind != kind)
		return check_fail(c, MC_ERR_FORMAT, key, "wrong type");
	*out = at;
	return MC_OK;
}

/* XGBoost writes parameters as decimal strings: "7". */
static mc_code need_int(check_ctx *c, size_t obj, const char *key, long long lo, long long hi,
			long long *out)
{
	size_t at = 0;
	mc_code rc = need(c, obj, key, 'S', &at);
	if (rc)
		return rc;
	const mc_ubj_node *s = &c->doc->node[at];
	const uint8_t *p = c->doc->p + s->data;
	long long v = 0;
	bool ok = s->count > 0 && s->count <= 18;
	for (size_t i = 0; ok && i < s->count; i++) {
		ok = p[i] >= '0' && p[i] <= '9';
		v = v * 10 + (p[i] - '0');
	}
	if (!ok || v < lo || v > hi) {
		char what[96];
		snprintf(what, sizeof what, "'%.*s' is not an integer in [%lld, %lld]",
			 (int)(s->count < 24 ? s->count : 24), (const char *)p, lo, hi);
		return check_fail(c, MC_ERR_FORMAT, key, what);
	}
	*out = v;
	return MC_OK;
}

static mc_code need_string(check_ctx *c, size_t obj, const char *key, const char *want)
{
	size_t at;
	mc_code rc = need(c, obj, key, 'S', &at);
	if (rc)
		return rc;
	const mc_ubj_node *s = &c->doc->node[at];
	if (s->count != strlen(want) || memcmp(c->doc->p + s->data, want, s->count) != 0) {
		char what[96];
		snprintf(what, sizeof what, "'%.*s' is not supported (only '%s')",
			 (int)(s->count < 24 ? s->count : 24), (const char *)c->doc->p + s->data,
			 want);
		return check_fail(c, MC_ERR_UNSUPPORTED, key, what);
	}
	return MC_OK;
}

/* A typed array of `type` holding exactly n items. */
static mc_code need_typed(check_ctx *c, size_t obj, const char *key, uint8_t type, size_t n,
			  size_t *out)
{
	mc_code rc = need(c, obj, key, '$', out);
	if (rc)
		return rc;
	const mc_ubj_node *a = &c->doc->node[*out];
	if (a->type != type)
		return check_fail(c, MC_ERR_FORMAT, key, "wrong item type");
	if (a->count != n) {
		char what[80];
		snprintf(what, sizeof what, "%zu items for %zu nodes", a->count, n);
		return check_fail(c, MC_ERR_FORMAT, key, what);
	}
	return MC_OK;
}

/* Every node's children come after it and inside the arrays; splits are
 * numeric on a feature the model has. */
static mc_code check_nodes(check_ctx *c, size_t tree, size_t n, long long nfeat)
{
	size_t left, right, parent, feat, type, at;
	mc_code rc;
	if ((rc = need_typed(c, tree, "left_children", 'l', n, &left)) ||
	    (rc = need_typed(c, tree, "right_children", 'l', n, &right)) ||
	    (rc = need_typed(c, tree, "parents", 'l', n, &parent)) ||
	    (rc = need_typed(c, tree, "split_indices", 'l', n, &feat)) ||
	    (rc = need_typed(c, tree, "split_conditions", 'd', n, &at)) ||
	    (rc = need_typed(c, tree, "base_weights", 'd', n, &at)) ||
	    (rc = need_typed(c, tree, "loss_changes", 'd', n, &at)) ||
	    (rc = need_typed(c, tree, "sum_hessian", 'd', n, &at)) ||
	    (rc = need_typed(c, tree, "default_left", 'U', n, &at)) ||
	    (rc = need_typed(c, tree, "split_type", 'U', n, &type)))
		return rc;
	char what[96];
	for (size_t j = 0; j < n; j++) {
		/* XGBoost's loader looks up every parent (but the root's). */
		int64_t up = mc_ubj_i32(c->doc, parent, j);
		if (j > 0 && (up < 0 || up >= (int64_t)j)) {
			snprintf(what, sizeof what, "node %zu has parent %lld", j, (long long)up);
			return check_fail(c, MC_ERR_FORMAT, "parents", what);
		}
		int64_t l = mc_ubj_i32(c->doc, left, j);
		if (l == -1)
			continue; /* a leaf */
		int64_t r = mc_ubj_i32(c->doc, right, j);
		if (l <= (int64_t)j || l >= (int64_t)n || r <= (int64_t)j || r >= (int64_t)n) {
			snprintf(what, sizeof what, "node %zu has children %lld and %lld of %zu", j,
				 (long long)l, (long long)r, n);
			return check_fail(c, MC_ERR_FORMAT, "left_children", what);
		}
		if (mc_ubj_u8(c->doc, type, j) != 0)
			return check_fail(c, MC_ERR_UNSUPPORTED, "split_type",
					  "categorical splits");
		uint32_t f = (uint32_t)mc_ubj_i32(c->doc, feat, j);
		if ((long long)f >= nfeat) {
			snprintf(what, sizeof what, "node %zu splits on feature %u of %lld", j, f,
				 nfeat);
			return check_fail(c, MC_ERR_FORMAT, "split_indices", what);
		}
	}
	return MC_OK;
}

static mc_code check_tree(check_ctx *c, size_t tree, long index, long long nfeat)
{
	c->tree = index;
	size_t at = 0, param = 0;
	long long n, v;
	mc_code rc;
	if (c->doc->node[tree].kind != '{')
		return check_fail(c, MC_ERR_FORMAT, "", "not an object");
	if ((rc = need(c, tree, "id", 'i', &at)))
		return rc;
	if (c->doc->node[at].integer != index)
		return check_fail(c, MC_ERR_FORMAT, "id", "out of order");
	if ((rc = need(c, tree, "tree_param", '{', &param)) ||
	    (rc = need_int(c, param, "num_nodes", 1, INT32_MAX, &n)) ||
	    (mc_ubj_get(c->doc, param, "size_leaf_vector") &&
	     (rc = need_int(c, param, "size_leaf_vector", 0, 0, &v))))
		return rc;
	/* Categorical splits are not supported: their tables must be empty. */
	static const char *const cats[] = {"categories", "categories_nodes", "categories_segments",
					   "categories_sizes"};
	for (size_t k = 0; k < sizeof cats / sizeof *cats; k++) {
		size_t a = mc_ubj_get(c->doc, tree, cats[k]);
		if (a && c->doc->node[a].count != 0)
			return check_fail(c, MC_ERR_UNSUPPORTED, cats[k], "categorical splits");
	}
	return check_nodes(c, tree, (size_t)n, nfeat);
}

/* tree_info: one output group per tree, all 0 for a regression model. */
static mc_code check_tree_info(check_ctx *c, size_t model, long long ntrees)
{
	size_t at = mc_ubj_get(c->doc, model, "tree_info");
	if (!at)
		return check_fail(c, MC_ERR_FORMAT, "tree_info", "missing");
	const mc_ubj_node *a = &c->doc->node[at];
	if ((a->kind != '[' && a->kind != '$') || a->count != (size_t)ntrees)
		return check_fail(c, MC_ERR_FORMAT, "tree_info", "not one entry per tree");
	bool zero = true;
	if (a->kind == '[') {
		for (size_t i = a->child; zero && i; i = c->doc->node[i].next)
			zero = c->doc->node[i].kind == 'i' && c->doc->node[i].integer == 0;
	} else {
		size_t width = a->type == 'U' ? 1 : a->type == 'L' ? 8 : 4;
		for (size_t k = 0; zero && k < a->count * width; k++)
			zero = c->doc->p[a->data + k] == 0;
	}
	if (!zero)
		return check_fail(c, MC_ERR_UNSUPPORTED, "tree_info", "more than one output group");
	return MC_OK;
}

/* feature_names / feature_types: absent, empty or one per feature. */
static mc_code check_feature_list(check_ctx *c, size_t learner, const char *key, long long nfeat)
{
	size_t at = mc_ubj_get(c->doc, learner, key);
	if (!at)
		return MC_OK;
	const mc_ubj_node *a = &c->doc->node[at];
	if (a->kind != '[' || (a->count != 0 && a->count != (size_t)nfeat))
		return check_fail(c, MC_ERR_FORMAT, key, "not one entry per feature");
	return MC_OK;
}

mc_code mc_xgb_check_model(const mc_ubj_doc *doc, mc_error *err)
{
	check_ctx c = {doc, err, -1};
	if (doc->node[0].kind != '{')
		return check_fail(&c, MC_ERR_FORMAT, "document", "not an object");
	size_t version = mc_ubj_get(doc, 0, "version");
	if (!version || doc->node[version].kind != '[' || doc->node[version].count != 3)
		return check_fail(&c, MC_ERR_FORMAT, "version", "not [major, minor, patch]");
	for (size_t i = doc->node[version].child; i; i = doc->node[i].next)
		if (doc->node[i].kind != 'i')
			return check_fail(&c, MC_ERR_FORMAT, "version", "not integers");
	size_t learner, lmp, gb, model, gmp, trees;
	long long nfeat, v, ntrees;
	mc_code rc;
	if ((rc = need(&c, 0, "learner", '{', &learner)) ||
	    (rc = need(&c, learner, "learner_model_param", '{', &lmp)) ||
	    (rc = need_int(&c, lmp, "num_feature", 1, INT32_MAX, &nfeat)) ||
	    (rc = need_int(&c, lmp, "num_class", 0, 0, &v)) ||
	    (mc_ubj_get(doc, lmp, "num_target") &&
	     (rc = need_int(&c, lmp, "num_target", 1, 1, &v))) ||
	    (rc = check_feature_list(&c, learner, "feature_names", nfeat)) ||
	    (rc = check_feature_list(&c, learner, "feature_types", nfeat)) ||
	    (rc = need(&c, learner, "gradient_booster", '{', &gb)) ||
	    (rc = need_string(&c, gb, "name", "gbtree")) ||
	    (rc = need(&c, gb, "model", '{', &model)) ||
	    (rc = need(&c, model, "gbtree_model_param", '{', &gmp)) ||
	    (rc = need_int(&c, gmp, "num_trees", 0, INT32_MAX, &ntrees)) ||
	    (rc = need_int(&c, gmp, "num_parallel_tree", 1, 1, &v)) ||
	    (rc = check_tree_info(&c, model, ntrees)) ||
	    (rc = need(&c, model, "trees", '[', &trees)))
		return rc;
	if (doc->node[trees].count != (size_t)ntrees)
		return check_fail(&c, MC_ERR_FORMAT, "trees", "count differs from num_trees");
	long index = 0;
	for (size_t t = doc->node[trees].child; t; t = doc->node[t].next, index++)
		if ((rc = check_tree(&c, t, index, nfeat)))
			return rc;
	return MC_OK;
}
