"""Python peer of bench_drift: the same per-column drift tests as Evidently runs them.

Reads the files bench_drift wrote (DIR/N.{ref,cur}.f64: float64 prices with
NaN for missing; DIR/N.{ref,cur}.cat: one byte a row, an index into CITIES,
255 = missing) and times, per column and best of several runs, Evidently's
steps (evidently/legacy/calculations/data_drift.py get_one_column_drift and
the stattests): drop ±inf and NaN, then
  ks             scipy.stats.ks_2samp (method='auto')
  wasserstein    scipy.stats.wasserstein_distance / max(np.std(reference), 0.001)
  jensenshannon  get_binned_data (value_counts per category) and
                 scipy.spatial.distance.jensenshannon
  chisquare      value_counts per category and scipy.stats.chisquare
The categorical columns are pandas object Series of the city names, as a
DataFrame read from CSV or Parquet holds them.  Building the Series is not
timed.

usage: /usr/bin/python3 bench/drift_peer.py DIR N...
Prints "drift N TEST SECONDS STATISTIC P_VALUE" lines, as bench_drift does.
"""
import math
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

warnings.simplefilter("ignore")

# The same list as bench/drift.c.
CITIES = [
    "Acapulco", "Aguascalientes", "Campeche", "Cancún", "Chihuahua",
    "Cd. Juárez", "Colima", "Cuernavaca", "Culiacán", "Durango",
    "Guadalajara", "Hermosillo", "La Paz", "León", "Mérida",
    "Mexicali", "Monterrey", "Morelia", "Oaxaca", "Pachuca",
    "Puebla", "Querétaro", "Saltillo", "San Luis Potosí", "Tampico",
    "Tapachula", "Tepic", "Tijuana", "Tlaxcala", "Toluca",
    "Tuxtla Gutiérrez", "Veracruz",
]
MIN_SECONDS = 0.5
MAX_RUNS = 20


def clean(s):
    return s.replace([-np.inf, np.inf], np.nan).dropna()


def ks(ref, cur):
    r = stats.ks_2samp(clean(ref), clean(cur))
    return r.statistic, r.pvalue


def wasserstein(ref, cur):
    ref, cur = clean(ref), clean(cur)
    norm = max(np.std(ref), 0.001)
    return stats.wasserstein_distance(ref, cur) / norm, math.nan


def counts(ref, cur):
    keys = list(set(ref.dropna().unique()) | set(cur.dropna().unique()))
    rc = {**dict.fromkeys(keys, 0), **dict(ref.value_counts())}
    cc = {**dict.fromkeys(keys, 0), **dict(cur.value_counts())}
    return keys, rc, cc


def jensenshannon(ref, cur):
    ref, cur = clean(ref), clean(cur)
    keys, rc, cc = counts(ref, cur)
    rp = np.array([rc[k] / len(ref) for k in keys])
    cp = np.array([cc[k] / len(cur) for k in keys])
    return distance.jensenshannon(rp, cp, None), math.nan


def chisquare(ref, cur):
    ref, cur = clean(ref), clean(cur)
    keys, rc, cc = counts(ref, cur)
    k_norm = cur.shape[0] / ref.shape[0]
    r = stats.chisquare([cc[k] for k in keys], [rc[k] * k_norm for k in keys])
    return r.statistic, r.pvalue


def measure(n, name, fn, ref, cur):
    best, spent, runs = math.inf, 0.0, 0
    while runs < MAX_RUNS and (runs < 3 or spent < MIN_SECONDS):
        t0 = time.perf_counter()
        stat, p = fn(ref, cur)
        t = time.perf_counter() - t0
        best, spent, runs = min(best, t), spent + t, runs + 1
        if t > 5:  # one run is enough at this size
            break
    print(f"drift {n} {name} {best:.6f} {float(stat)!r} {float(p)!r}", flush=True)


def main():
    folder = sys.argv[1]
    names = np.array(CITIES + [None], dtype=object)
    for arg in sys.argv[2:]:
        n = int(arg)
        ref = pd.Series(np.fromfile(f"{folder}/{n}.ref.f64", dtype="<f8"))
        cur = pd.Series(np.fromfile(f"{folder}/{n}.cur.f64", dtype="<f8"))
        measure(n, "ks", ks, ref, cur)
        measure(n, "wasserstein", wasserstein, ref, cur)
        del ref, cur
        codes = [np.fromfile(f"{folder}/{n}.{side}.cat", dtype=np.uint8) for side in ("ref", "cur")]
        ref, cur = (pd.Series(names[np.where(c == 255, len(CITIES), c)]) for c in codes)
        measure(n, "jensenshannon", jensenshannon, ref, cur)
        measure(n, "chisquare", chisquare, ref, cur)


if __name__ == "__main__":
    main()
