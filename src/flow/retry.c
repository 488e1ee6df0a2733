/* Retry delays: a fixed list, or exponential backoff with jitter from a seedable generator. */
#include <math.h>

#include "flow/flow_int.h"

/* splitmix64: small, seedable, good enough for jitter. */
void flow_rng_seed(flow_rng *r, uint64_t seed)
{
	r->s = seed;
}

static uint64_t rng_next(flow_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double flow_rng_unit(flow_rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static int64_t to_ms(double s)
{
	return (int64_t)llround(s * 1000.0);
}

int64_t flow_retry_delay_ms(const mc_retry_policy *p, int k, flow_rng *r)
{
	if (p->kind == MC_RETRY_FIXED) {
		if (p->ndelays <= 0)
			return 0;
		return to_ms(p->delays_s[k < p->ndelays ? k : p->ndelays - 1]);
	}
	double d = p->base_s * pow(p->factor, k);
	double u = 2.0 * flow_rng_unit(r) - 1.0;
	d *= 1.0 + p->jitter * u;
	return to_ms(d < p->max_s ? d : p->max_s);
}

/* At most a week: longer waits belong to the scheduler. */
#define DELAY_MAX_S (7.0 * 24 * 3600)

static bool nonneg(double v)
{
	return isfinite(v) && v >= 0 && v <= DELAY_MAX_S;
}

static mc_code check_exponential(const mc_retry_policy *p, const char *where, mc_error *err)
{
	if (!isfinite(p->base_s) || p->base_s <= 0 || !isfinite(p->factor) || p->factor < 1)
		return mc_fail(err, MC_ERR_INVALID,
			       "%s: exponential retry needs a base > 0 s and a factor >= 1", where);
	if (!nonneg(p->max_s) || p->max_s < p->base_s)
		return mc_fail(err, MC_ERR_INVALID,
			       "%s: exponential retry's max delay must be at least its base and at "
			       "most a week",
			       where);
	if (!(p->jitter >= 0 && p->jitter <= 1))
		return mc_fail(err, MC_ERR_INVALID, "%s: retry jitter is a fraction in [0, 1]",
			       where);
	return MC_OK;
}

mc_code flow_retry_check(const mc_retry_policy *p, const char *where, mc_error *err)
{
	if (p->retries < 0 || p->retries > MC_RETRY_MAX)
		return mc_fail(err, MC_ERR_INVALID, "%s: retries must be 0 to %d, not %d", where,
			       MC_RETRY_MAX, p->retries);
	if (p->retries == 0)
		return MC_OK;
	if (p->kind == MC_RETRY_EXPONENTIAL)
		return check_exponential(p, where, err);
	if (p->kind != MC_RETRY_FIXED)
		return mc_fail(err, MC_ERR_INVALID, "%s: unknown retry kind %d", where,
			       (int)p->kind);
	if (p->ndelays < 0 || p->ndelays > MC_RETRY_MAX_DELAYS)
		return mc_fail(err, MC_ERR_INVALID, "%s: 0 to %d retry delays, not %d", where,
			       MC_RETRY_MAX_DELAYS, p->ndelays);
	for (int i = 0; i < p->ndelays; i++)
		if (!nonneg(p->delays_s[i]))
			return mc_fail(err, MC_ERR_INVALID,
				       "%s: retry delay %d is not 0 s to a week", where, i + 1);
	return MC_OK;
}
