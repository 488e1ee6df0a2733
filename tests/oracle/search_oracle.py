#!/usr/bin/python3
"""Oracle values for tests/unit/test_search.c (TPE internals).

Run with /usr/bin/python3 (Debian's, which has NumPy and SciPy):

    /usr/bin/python3 tests/oracle/search_oracle.py

and paste the printed constants into test_search.c when an input changes.
The mixture densities are computed from scipy.stats distributions (and the
quantised ones cross-checked by numerical integration), independently of the
formulas in src/search/tpe.c; the linear-forgetting weights use np.linspace
as hyperopt 0.2.7's linear_forgetting_weights does.
"""
import numpy as np
from scipy import integrate, stats


def c_array(name, values):
    body = ", ".join("%.17g" % v for v in values)
    print("static const double %s[] = {%s};" % (name, body))


def lf_weights(n, lf):
    """hyperopt.tpe.linear_forgetting_weights (documented behaviour)."""
    if n < lf:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - lf), np.ones(lf)])


def gmm_lpdf(x, w, mu, sigma, low=None, high=None, q=None):
    """log density of a Gaussian mixture truncated to [low, high]; with q,
    the log mass of the bin [x - q/2, x + q/2] cut to the bounds."""
    w, mu, sigma = map(np.asarray, (w, mu, sigma))
    comps = [stats.norm(m, s) for m, s in zip(mu, sigma)]
    if low is None:
        p_accept = 1.0
    else:
        p_accept = sum(wk * (c.cdf(high) - c.cdf(low)) for wk, c in zip(w, comps))
    if q is None:
        return np.log(sum(wk * c.pdf(x) for wk, c in zip(w, comps)) / p_accept)
    ub, lb = x + q / 2, x - q / 2
    if low is not None:
        ub, lb = min(ub, high), max(lb, low)
    mass = sum(wk * (c.cdf(ub) - c.cdf(lb)) for wk, c in zip(w, comps))
    pdf = lambda t: sum(wk * c.pdf(t) for wk, c in zip(w, comps))
    quad = integrate.quad(pdf, lb, ub, epsabs=1e-14, epsrel=1e-12)[0]
    assert abs(quad - mass) <= 1e-10 * mass, (quad, mass)
    return np.log(mass / p_accept)


def lgmm_lpdf(x, w, mu, sigma, low=None, high=None, q=None):
    """log-normal mixture (mu, sigma in log space).  Without q hyperopt's
    LGMM1_lpdf ignores the truncation; with q it is the bin mass cut to
    [exp(low), exp(high)], over the mass of [low, high] in log space."""
    comps = [stats.lognorm(s=s, scale=np.exp(m)) for m, s in zip(mu, sigma)]
    if q is None:
        return np.log(sum(wk * c.pdf(x) for wk, c in zip(w, comps)))
    p_accept = sum(wk * (stats.norm(m, s).cdf(high) - stats.norm(m, s).cdf(low))
                   for wk, m, s in zip(w, mu, sigma))
    ub = min(x + q / 2, np.exp(high))
    lb = max(x - q / 2, np.exp(low), 0.0)
    mass = sum(wk * (c.cdf(ub) - c.cdf(lb)) for wk, c in zip(w, comps))
    pdf = lambda t: sum(wk * c.pdf(t) for wk, c in zip(w, comps))
    quad = integrate.quad(pdf, lb, ub, epsabs=1e-14, epsrel=1e-12)[0]
    assert abs(quad - mass) <= 1e-10 * mass, (quad, mass)
    return np.log(mass / p_accept)


# -- linear forgetting: 30 trials, the newest 25 at weight 1
c_array("lf30", lf_weights(30, 25))
c_array("lf26", lf_weights(26, 25))

# -- Parzen estimator with forgetting: 30 observations in trial order,
#    prior of uniform(0, 1); weights follow trial order, mus are sorted.
obs30 = [(k * 37 % 101) / 101.0 for k in range(30)]
order = np.argsort(obs30, kind="stable")
srt = np.asarray(obs30)[order]
pos = np.searchsorted(srt, 0.5)
mus = np.insert(srt, pos, 0.5)
wts = np.insert(lf_weights(30, 25)[order], pos, 1.0)
sig = np.zeros_like(mus)
sig[1:-1] = np.maximum(mus[1:-1] - mus[:-2], mus[2:] - mus[1:-1])
sig[0], sig[-1] = mus[1] - mus[0], mus[-1] - mus[-2]
sig = np.clip(sig, 1.0 / min(100.0, 1.0 + len(mus)), 1.0)
sig[pos] = 1.0
print("/* obs30[k] = (k * 37 %% 101) / 101, prior_pos = %d */" % pos)
c_array("parzen30_w", wts / wts.sum())
c_array("parzen30_mu", mus)
c_array("parzen30_sigma", sig)

# -- categorical with forgetting: 30 observations of 4 options
cat30 = [k * 7 % 4 for k in range(30)]
counts = np.bincount(cat30, weights=lf_weights(30, 25), minlength=4) + 1.0
c_array("cat30_p", counts / counts.sum())

# -- GMM1_lpdf: bounded, bounded + quantised, unbounded
W, MU, SG = [0.2, 0.5, 0.3], [0.1, 0.5, 0.9], [0.3, 0.1, 0.2]
c_array("gmm_bounded", [gmm_lpdf(x, W, MU, SG, 0.0, 1.0) for x in (0.05, 0.37, 0.99)])
c_array("gmm_quant", [gmm_lpdf(x, W, MU, SG, 0.0, 1.0, 0.1) for x in (0.0, 0.4, 1.0)])
c_array("gmm_free", [gmm_lpdf(x, W, MU, SG) for x in (-1.0, 0.5)])

# -- LGMM1_lpdf: loguniform(-4, 0) and qloguniform(log 1, log 100, q=1)
LW, LMU, LSG = [0.25, 0.5, 0.25], [-3.0, -2.0, -0.5], [1.0, 0.5, 0.8]
c_array("lgmm_plain", [lgmm_lpdf(x, LW, LMU, LSG) for x in (np.exp(-3.2), 0.2, 0.9)])
QW, QMU, QSG = [0.3, 0.3, 0.4], [1.0, 2.5, 4.0], [0.8, 1.2, 0.5]
c_array("lgmm_quant",
        [lgmm_lpdf(x, QW, QMU, QSG, 0.0, np.log(100.0), 1.0) for x in (1.0, 7.0, 100.0)])
