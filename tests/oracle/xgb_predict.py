"""Oracle for tests/unit/test_xgb.c: XGBoost's Python package loads a model
milkcast saved and predicts feature rows with default arguments.

usage: xgb_predict.py MODEL ROWS NCOL
  MODEL  a .ubj model file
  ROWS   little-endian float32 rows, NCOL values each, NaN = missing
Prints "rounds R best_iteration B best_score S" (attributes as stored, "-"
when absent), then one prediction per line as %.9g (exact for float32).
Exits 1 if Booster.predict and Booster.inplace_predict disagree.
"""
import sys

import numpy as np
import xgboost as xgb


def main():
    model, rows, ncol = sys.argv[1], sys.argv[2], int(sys.argv[3])
    booster = xgb.Booster(model_file=model)
    X = np.fromfile(rows, dtype="<f4").reshape(-1, ncol)
    pred = booster.predict(xgb.DMatrix(X, missing=np.nan))
    inplace = booster.inplace_predict(X, missing=np.nan)
    if not np.array_equal(pred, inplace):
        print("predict and inplace_predict disagree", file=sys.stderr)
        return 1
    attrs = booster.attributes()
    print("rounds %d best_iteration %s best_score %s" % (
        booster.num_boosted_rounds(), attrs.get("best_iteration", "-"),
        attrs.get("best_score", "-")))
    for v in pred:
        print("%.9g" % v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
