"""Oracle for src/drift: the drift tests as Evidently computes them, with SciPy.

Evidently is not packaged for Debian, so its per-column steps are restated
here with pandas, NumPy and SciPy (Debian's python3-scipy), following
evidently/legacy/calculations/data_drift.py (get_one_column_drift: ±inf and
NaN dropped, an empty column refused), stattests/registry.py
(_get_default_stattest) and stattests/{ks_stattest, wasserstein_distance_norm,
jensenshannon, chisquare_stattest, z_stattest, psi, kl_div,
hellinger_distance, utils}.py.  The statistics themselves are SciPy's
(ks_2samp, wasserstein_distance, distance.jensenshannon, chisquare, entropy,
norm.cdf, kstwo.sf, gammaincc).

usage: /usr/bin/python3 tests/oracle/drift_oracle.py DIR
DIR/cases.txt has one case a line:
    num ID TEST THRESHOLD    samples DIR/ID.ref, DIR/ID.cur: float64, little-endian
    cat ID TEST THRESHOLD    samples DIR/ID.ref, DIR/ID.cur: one string a line, <NA> = missing
    kstwo N X | smirnov N X | gammaq A X | chi2 X DF
TEST is a test name or "default"; THRESHOLD a number or "nan" (the test's default).
Prints one line per case: "TEST STATISTIC P_VALUE DRIFT" (or "EMPTY" when a sample
has no value left), or the single value for the special functions.
"""
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.spatial import distance

warnings.simplefilter("ignore")

DEFAULT_THRESHOLD = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "wasserstein": 0.1,
                     "jensenshannon": 0.1, "psi": 0.1, "kl_div": 0.1, "hellinger": 0.1}
# how each test turns its score into a verdict
VERDICT = {"ks": lambda s, t: s <= t, "chisquare": lambda s, t: s < t, "z": lambda s, t: s < t}
NA = "<NA>"


def default_test(ref, cur, numeric):
    """registry._get_default_stattest"""
    n_values = pd.concat([ref, cur]).nunique()
    if ref.shape[0] <= 1000:
        if numeric and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if numeric and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def category_keys(ref, cur):
    """utils.get_unique_not_nan_values_list_from_series"""
    return list(set(ref.dropna().unique()) | set(cur.dropna().unique()))


def binned(ref, cur, numeric, fill_zeroes):
    """utils.get_binned_data: Sturges bins over both samples when the reference
    has more than 20 distinct values, shares per value otherwise; zeros filled."""
    if numeric and ref.nunique() > 20:
        bins = np.histogram_bin_edges(pd.concat([ref, cur], axis=0).values, bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = category_keys(ref, cur)
        rc = {**dict.fromkeys(keys, 0), **dict(ref.value_counts())}
        cc = {**dict.fromkeys(keys, 0), **dict(cur.value_counts())}
        rp = np.array([rc[k] / len(ref) for k in keys])
        cp = np.array([cc[k] / len(cur) for k in keys])
    if fill_zeroes:
        for p in (rp, cp):
            low = min(p[p != 0])
            np.place(p, p == 0, low / 10**6 if low <= 0.0001 else 0.0001)
    return rp, cp


def t_ks(ref, cur, numeric):
    r = stats.ks_2samp(ref, cur)
    return r.statistic, r.pvalue


def t_wasserstein(ref, cur, numeric):
    norm = max(np.std(ref), 0.001)
    return stats.wasserstein_distance(ref, cur) / norm, math.nan


def t_jensenshannon(ref, cur, numeric):
    rp, cp = binned(ref, cur, numeric, False)
    return distance.jensenshannon(rp, cp, None), math.nan


def t_psi(ref, cur, numeric):
    rp, cp = binned(ref, cur, numeric, True)
    return np.sum((rp - cp) * np.log(rp / cp)), math.nan


def t_kl_div(ref, cur, numeric):
    rp, cp = binned(ref, cur, numeric, True)
    return stats.entropy(rp, cp), math.nan


def t_chisquare(ref, cur, numeric):
    keys = category_keys(ref, cur)
    rc = {**dict.fromkeys(keys, 0), **dict(ref.value_counts())}
    cc = {**dict.fromkeys(keys, 0), **dict(cur.value_counts())}
    k_norm = cur.shape[0] / ref.shape[0]
    r = stats.chisquare([cc[k] for k in keys], [rc[k] * k_norm for k in keys])
    return r.statistic, r.pvalue


def t_z(ref, cur, numeric):
    if ref.nunique() == 1 and cur.nunique() == 1 and ref.unique()[0] == cur.unique()[0]:
        return 0.0, 1.0
    first = sorted(category_keys(ref, cur))[0]
    a = ref.apply(lambda x: 0 if x == first else 1)
    b = cur.apply(lambda x: 0 if x == first else 1)
    n1, n2 = len(a), len(b)
    p1, p2 = float(sum(a)) / n1, float(sum(b)) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return z, 2 * (1 - stats.norm.cdf(np.abs(z)))


def t_hellinger(ref, cur, numeric):
    keys = list(set(ref.unique()) | set(cur.unique()))
    if not numeric:
        rp = (ref.value_counts() / len(ref)).to_dict()
        cp = (cur.value_counts() / len(cur)).to_dict()
        s = 0.0
        for k in keys:
            s += math.sqrt(rp.get(k, 0) * cp.get(k, 0))
    else:
        bins = np.histogram_bin_edges(keys, bins="sturges")
        h1 = np.histogram(ref.to_numpy(), bins=bins, density=True)[0]
        h2 = np.histogram(cur.to_numpy(), bins=bins, density=True)[0]
        width = (max(bins) - min(bins)) / (len(bins) - 1)
        s = 0.0
        for i in range(len(h1)):
            s += math.sqrt(h1[i] * h2[i]) * width
    return math.sqrt(1 - np.clip(s, 0, 1)), math.nan


TESTS = {"ks": t_ks, "wasserstein": t_wasserstein, "jensenshannon": t_jensenshannon,
         "chisquare": t_chisquare, "z": t_z, "psi": t_psi, "kl_div": t_kl_div,
         "hellinger": t_hellinger}


def read_sample(path, numeric):
    if numeric:
        return pd.Series(np.fromfile(path, dtype="<f8"))
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")[:-1]
    return pd.Series([None if s == NA else s for s in lines], dtype=object)


def column_case(folder, kind, cid, test, threshold):
    numeric = kind == "num"
    ref = read_sample(os.path.join(folder, cid + ".ref"), numeric)
    cur = read_sample(os.path.join(folder, cid + ".cur"), numeric)
    ref = ref.replace([-np.inf, np.inf], np.nan).dropna()
    cur = cur.replace([-np.inf, np.inf], np.nan).dropna()
    if ref.empty or cur.empty:
        return "EMPTY"
    if test == "default":
        test = default_test(ref, cur, numeric)
    stat, p = TESTS[test](ref, cur, numeric)
    thr = DEFAULT_THRESHOLD[test] if threshold == "nan" else float(threshold)
    score = p if test in VERDICT else stat
    drift = VERDICT.get(test, lambda s, t: s >= t)(score, thr)
    return f"{test} {float(stat)!r} {float(p)!r} {int(bool(drift))}"


def ks_exact(n1, n2, h):
    """ks_2samp's exact two-sided p-value for D = h / lcm(n1, n2)."""
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    # pylint: disable-next=protected-access
    ok, _, p = stats._stats_py._attempt_exact_2kssamp(n1, n2, g, h / lcm, "two-sided")
    return float(p) if ok else float("nan")


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "cases.txt")) as f:
        for line in f:
            w = line.split()
            if w[0] in ("num", "cat"):
                print(column_case(folder, *w))
            elif w[0] == "kstwo":
                print(repr(float(stats.kstwo.sf(float(w[2]), int(w[1])))))
            elif w[0] == "ksexact":
                print(repr(ks_exact(int(w[1]), int(w[2]), int(w[3]))))
            elif w[0] == "smirnov":
                print(repr(float(special.smirnov(int(w[1]), float(w[2])))))
            elif w[0] == "gammaq":
                print(repr(float(special.gammaincc(float(w[1]), float(w[2])))))
            elif w[0] == "chi2":
                print(repr(float(stats.chi2.sf(float(w[1]), float(w[2])))))
            else:
                raise SystemExit(f"unknown case {w[0]}")


if __name__ == "__main__":
    main()
