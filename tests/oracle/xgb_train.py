"""Oracle for tests/unit/test_xgb.c: the same training run through XGBoost's
Python package (xgb.train with early_stopping_rounds), for comparison with
milkcast's own training loop and early-stopping rule.

usage: xgb_train.py DIR
DIR holds Xtrain.f32 ytrain.f32 Xvalid.f32 yvalid.f32 (little-endian float32,
NaN = missing) and params.txt: "name value" lines with XGBoost's parameter
names plus ncol, num_boost_round and early_stopping_rounds.
Prints:
  best_iteration B
  best_score S          (the attribute, as Python set it)
  rounds R              (rounds trained, before any slicing)
  curve I TRAIN VALID   (one per round: evals_result, repr of the floats)
  pred P                (per validation row, iteration_range (0, B + 1), %.9g)
"""
import os
import sys

import numpy as np
import xgboost as xgb


def number(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def main():
    d = sys.argv[1]
    params = {}
    with open(os.path.join(d, "params.txt")) as f:
        for line in f:
            key, value = line.split()
            params[key] = number(value)
    ncol = params.pop("ncol")
    rounds = params.pop("num_boost_round")
    esr = params.pop("early_stopping_rounds")

    def load(name):
        return np.fromfile(os.path.join(d, name), dtype="<f4")

    dtrain = xgb.DMatrix(load("Xtrain.f32").reshape(-1, ncol), label=load("ytrain.f32"),
                         missing=np.nan)
    Xvalid = load("Xvalid.f32").reshape(-1, ncol)
    dvalid = xgb.DMatrix(Xvalid, label=load("yvalid.f32"), missing=np.nan)
    result = {}
    booster = xgb.train(params, dtrain, rounds, evals=[(dtrain, "train"), (dvalid, "valid")],
                        early_stopping_rounds=esr, evals_result=result, verbose_eval=False)
    best = booster.best_iteration
    print("best_iteration %d" % best)
    print("best_score %s" % booster.attr("best_score"))
    print("rounds %d" % booster.num_boosted_rounds())
    for i, (t, v) in enumerate(zip(result["train"]["rmse"], result["valid"]["rmse"])):
        print("curve %d %r %r" % (i, t, v))
    for p in booster.predict(dvalid, iteration_range=(0, best + 1)):
        print("pred %.9g" % p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
