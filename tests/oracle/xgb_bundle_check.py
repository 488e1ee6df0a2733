"""Python's xgboost on a milkcast bundle: load model.ubj, predict the feature rows that
`milkcast predict --features` wrote, and compare with milkcast's own model output.
usage: /usr/bin/python3 tests/oracle/xgb_bundle_check.py BUNDLE_DIR FEATURES.csv
Prints the number of rows and the largest difference; exits 1 when they differ."""
import csv
import json
import sys

import numpy as np
import xgboost as xgb

bundle, path = sys.argv[1], sys.argv[2]
names = [f["name"] for f in json.load(open(f"{bundle}/bundle.json"))["features"]]
rows = list(csv.DictReader(open(path, encoding="utf-8")))
X = np.array([[float(r["f_" + n]) if r["f_" + n] != "" else np.nan for n in names] for r in rows],
             dtype=np.float32)
ours = np.array([float(r["model_change"]) for r in rows])
booster = xgb.Booster(model_file=f"{bundle}/model.ubj")
theirs = booster.predict(xgb.DMatrix(X, missing=np.nan, feature_names=None))
diff = float(np.max(np.abs(theirs.astype(np.float64) - ours))) if len(rows) else 0.0
print(f"rows {len(rows)} max_abs_diff {diff:.3g}")
# milkcast prints the float32 output with 9 significant digits: that is exact.
sys.exit(0 if len(rows) and diff <= 1e-6 else 1)
