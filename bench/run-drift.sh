#!/usr/bin/env bash
# bench/drift: per-column time of the drift tests (ks and wasserstein on a
# numeric column, jensenshannon and chisquare on a categorical one) for
# 10^3 .. 10^7 reference rows (and 3/4 as many current rows), next to
# Evidently's steps in Python with SciPy and pandas (bench/drift_peer.py) on
# the same data in the same run, printed as ratios, with the time per
# n log2 n (n = both samples) normalised to the smallest size to show the
# growth.  ks is exact up to 10^4 rows a side and asymptotic above (SciPy's
# method='auto').  milkcast runs before and after the peer and keeps its
# best time per measure; each side reports the best of several runs.
#
# usage: bench/run-drift.sh [BUILD_DIR]   (SIZES="1000 10000" to choose sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SIZES=${SIZES:-"1000 10000 100000 1000000 10000000"}
PY=/usr/bin/python3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
	echo "warning: load average $load before the run: other processes share the cores"
fi

# shellcheck disable=SC2086
"$BUILD/bench_drift" "$W" $SIZES >"$W/c1.txt"
# shellcheck disable=SC2086
"$PY" bench/drift_peer.py "$W" $SIZES >"$W/py.txt"
# shellcheck disable=SC2086
"$BUILD/bench_drift" "$W" $SIZES >"$W/c2.txt"

echo "-- $("$PY" -c 'import numpy, pandas, scipy
print("python peer: numpy " + numpy.__version__ + ", pandas " + pandas.__version__ + ", scipy " + scipy.__version__)')"
# best C time per (N, test) over both runs, then the table
awk '
	FNR == 1 { file++ }
	file <= 2 { k = $2 " " $3; if (!(k in c) || $4 < c[k]) { c[k] = $4; cs[k] = $5; cp[k] = $6 } next }
	{ k = $2 " " $3; py[k] = $4; ps[k] = $5; pp[k] = $6; order[++n] = k }
	END {
		printf "%10s  %-13s %12s %12s %8s %16s %8s  %s\n", "rows", "test", "milkcast s", "python s", "ratio",
			"ns/(n log2 n)", "growth", "same result"
		for (i = 1; i <= n; i++) {
			k = order[i]; split(k, f, " "); N = f[1]; t = f[2]
			tot = N + int(N * 3 / 4)
			per = c[k] * 1e9 / (tot * log(tot) / log(2))
			if (!(t in base)) base[t] = per
			ds = cs[k] - ps[k]; if (ds < 0) ds = -ds
			rel = (ps[k] != 0) ? ds / (ps[k] < 0 ? -ps[k] : ps[k]) : ds
			dp = cp[k] - pp[k]; if (dp < 0) dp = -dp
			same = (rel <= 1e-9 && (cp[k] == pp[k] || dp <= 1e-6)) ? "yes" : "NO"
			if (cp[k] == "nan" && pp[k] == "nan" && rel <= 1e-9) same = "yes"
			ratio = py[k] / c[k]
			if (!(t in minr) || ratio < minr[t]) minr[t] = ratio
			printf "%10d  %-13s %12.6f %12.6f %7.1fx %16.2f %8.2f  %s\n", N, t, c[k], py[k], ratio, per,
				per / base[t], same
		}
		for (t in minr)
			printf "smallest ratio for %s: %.1fx (target >= 10x): %s\n", t, minr[t],
				((minr[t] >= 10) ? "met" : "NOT met")
	}' "$W/c1.txt" "$W/c2.txt" "$W/py.txt"
