#!/usr/bin/python3
"""A NumPy TPE for uniform parameters, written from hyperopt 0.2.7's tpe.py
semantics, to cross-check src/search/ statistically (not run by the tests).

    /usr/bin/python3 tests/oracle/search_tpe_reference.py SEEDS BUDGET

prints the mean best Branin value over SEEDS runs and its standard error;
compare with the C search (tests/unit/test_search.c prints its means).
docs/internals/search.md records the numbers.
"""
import sys

import numpy as np
from scipy.special import erf

EPS = 1e-12
LF = 25


def forgetting(n):
    if n <= LF:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, n - LF), np.ones(LF)])


def parzen(obs, prior_mu, prior_sigma, prior_weight=1.0):
    obs = np.asarray(obs, float)
    n = len(obs)
    if n == 0:
        pos, mus, sig, w = 0, np.array([prior_mu]), np.array([prior_sigma]), np.array([1.0])
    elif n == 1:
        pos = 0 if prior_mu < obs[0] else 1
        mus = np.insert(obs, pos, prior_mu)
        sig = np.insert(np.array([prior_sigma * 0.5]), pos, prior_sigma)
        w = np.ones(2)
    else:
        order = np.argsort(obs, kind="stable")
        srt = obs[order]
        pos = np.searchsorted(srt, prior_mu)
        mus = np.insert(srt, pos, prior_mu)
        sig = np.zeros_like(mus)
        sig[1:-1] = np.maximum(mus[1:-1] - mus[:-2], mus[2:] - mus[1:-1])
        sig[0], sig[-1] = mus[1] - mus[0], mus[-1] - mus[-2]
        w = np.insert(forgetting(n)[order], pos, 0.0)
    w[pos] = prior_weight
    sig = np.clip(sig, prior_sigma / min(100.0, 1.0 + len(mus)), prior_sigma)
    sig[pos] = prior_sigma
    return w / w.sum(), mus, sig


def cdf(x, mu, s):
    return 0.5 * (1 + erf((x - mu) / np.maximum(np.sqrt(2) * s, EPS)))


def lpdf(x, w, mu, s, lo, hi):
    p_accept = np.sum(w * (cdf(hi, mu, s) - cdf(lo, mu, s)))
    d = (x[:, None] - mu) / np.maximum(s, EPS)
    t = -0.5 * d**2 + np.log(w / np.sqrt(2 * np.pi * s**2) / p_accept)
    m = t.max(axis=1)
    return np.log(np.exp(t - m[:, None]).sum(axis=1)) + m


def sample(rng, w, mu, s, lo, hi, n):
    out = []
    while len(out) < n:
        k = np.argmax(rng.multinomial(1, w))
        d = rng.normal(mu[k], s[k])
        if lo <= d < hi:
            out.append(d)
    return np.array(out)


def tpe(f, bounds, budget, seed):
    rng = np.random.default_rng(seed)
    xs, losses = [], []
    for t in range(budget):
        if t < 20:
            x = [rng.uniform(lo, hi) for lo, hi in bounds]
        else:
            n = len(losses)
            n_below = min(int(np.ceil(0.25 * np.sqrt(n))), 25)
            below = set(np.argsort(losses, kind="stable")[:n_below].tolist())
            x = []
            for j, (lo, hi) in enumerate(bounds):
                ob = [xs[i][j] for i in range(n) if i in below]
                oa = [xs[i][j] for i in range(n) if i not in below]
                l_model = parzen(ob, 0.5 * (lo + hi), hi - lo)
                g_model = parzen(oa, 0.5 * (lo + hi), hi - lo)
                cand = sample(rng, *l_model, lo, hi, 24)
                score = lpdf(cand, *l_model, lo, hi) - lpdf(cand, *g_model, lo, hi)
                x.append(cand[np.argmax(score)])
        xs.append(x)
        losses.append(f(x))
    return min(losses)


def branin(x):
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * np.cos(x[0]) + 10


if __name__ == "__main__":
    seeds, budget = int(sys.argv[1]), int(sys.argv[2])
    best = [tpe(branin, [(-5, 10), (0, 15)], budget, s) for s in range(seeds)]
    print("budget %d: mean best %.4f +- %.4f" % (budget, np.mean(best), np.std(best) / np.sqrt(seeds)))
