#!/usr/bin/python3
"""Python peer of `milkcast serve` for bench/run-serve.sh: the original system's handler.

The original AWS Lambda received one JSON object
  {"Estado", "Ciudad", "Tipo", "Canal", "día" (or "dia"), "mes", "año",
   "dia_semana", "Precio_lag1", "Precio_mean7"},
one-hot encoded the four names with a DictVectorizer (a dict of feature
name -> column built when the model was trained), built one row and asked an
XGBoost Booster for the price, answering {"predicted_price": x}.  This app
does that work in Flask, served by gunicorn:

    MC_PEER_MODEL=DIR MC_PEER_LAKE=LAKE.csv gunicorn serve_peer:app

Training (at start-up when DIR holds no model yet, or ahead of time with
`serve_peer.py train LAKE.csv DIR`, as the original trained offline) uses the
rows of `milkcast lake export` (CSV: Debian 12 has no pyarrow): one row per
city series and publication with a price, the features above computed from
the series' own history (the previous price and the mean of the previous 7),
and 100 trees of depth 6.

`serve_peer.py check DIR BODY.json` answers one request without a server.
"""
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb

NUMERIC = ("día", "mes", "año", "dia_semana", "Precio_lag1", "Precio_mean7")
NAMES = ("Estado", "Ciudad", "Tipo", "Canal")
# The original data's spellings of the lake's codes.
TIPO = {"pasteurizada": "Pasteurizada", "ultrapasteurizada": "Ultrapasteurizada"}
CANAL = {"autoservicios": "Autoservicio", "tiendas": "Tiendas"}
PARAMS = {"objective": "reg:squarederror", "max_depth": 6, "eta": 0.1,
          "subsample": 0.9, "colsample_bytree": 0.9, "tree_method": "hist",
          "seed": 42}
TREES = 100


class DictVectorizer:
    """sklearn's DictVectorizer, the part the handler used: strings become
    "key=value" one-hot columns, numbers their own column, unknown keys are
    dropped; the vocabulary is a dict of feature name -> column, sorted."""

    def __init__(self, vocabulary=None):
        self.vocabulary_ = vocabulary or {}

    def fit(self, records):
        names = set()
        for r in records:
            for k, v in r.items():
                names.add(f"{k}={v}" if isinstance(v, str) else k)
        self.vocabulary_ = {name: i for i, name in enumerate(sorted(names))}
        return self

    def transform_one(self, record):
        row = np.zeros((1, len(self.vocabulary_)), dtype=np.float32)
        voc = self.vocabulary_
        for k, v in record.items():
            if isinstance(v, str):
                i = voc.get(f"{k}={v}")
                if i is not None:
                    row[0, i] = 1.0
            else:
                i = voc.get(k)
                if i is not None:
                    row[0, i] = v
        return row


def training_rows(lake_csv):
    """The lake's city series as the original's training table (pandas)."""
    import pandas as pd
    lake = pd.read_csv(lake_csv, parse_dates=["date"], keep_default_na=False,
                       na_values={"price": [""]})
    lake = lake[(lake["kind"] == "city") & lake["price"].notna()]
    lake = lake.sort_values(["state", "city", "milk_type", "channel", "date"])
    by = lake.groupby(["state", "city", "milk_type", "channel"], sort=False)["price"]
    lake["Precio_lag1"] = by.shift(1)
    lake["Precio_mean7"] = by.transform(lambda s: s.shift(1).rolling(7).mean())
    lake = lake.dropna(subset=["Precio_lag1", "Precio_mean7"])
    frame = pd.DataFrame({
        "Estado": lake["state"], "Ciudad": lake["city"],
        "Tipo": lake["milk_type"].map(TIPO), "Canal": lake["channel"].map(CANAL),
        "día": lake["date"].dt.day.astype(float), "mes": lake["date"].dt.month.astype(float),
        "año": lake["date"].dt.year.astype(float),
        "dia_semana": lake["date"].dt.dayofweek.astype(float),
        "Precio_lag1": lake["Precio_lag1"], "Precio_mean7": lake["Precio_mean7"]})
    return frame.to_dict("records"), lake["price"].to_numpy(dtype=np.float32)


def train(lake_csv, out_dir):
    records, y = training_rows(lake_csv)
    dv = DictVectorizer().fit(records)
    X = np.vstack([dv.transform_one(r) for r in records])
    booster = xgb.train({**PARAMS, "nthread": 2}, xgb.DMatrix(X, label=y), TREES)
    os.makedirs(out_dir, exist_ok=True)
    booster.save_model(os.path.join(out_dir, "model.json"))
    with open(os.path.join(out_dir, "vocabulary.json"), "w") as f:
        json.dump(dv.vocabulary_, f, ensure_ascii=False)
    return len(records), len(dv.vocabulary_)


def load(model_dir, lake_csv=None):
    path = os.path.join(model_dir, "model.json")
    if not os.path.exists(path):
        train(lake_csv, model_dir)
    booster = xgb.Booster(model_file=path)
    booster.set_param({"nthread": 1})  # one request, one row: no OpenMP fan-out
    with open(os.path.join(model_dir, "vocabulary.json")) as f:
        dv = DictVectorizer(json.load(f))
    return booster, dv


def handle(booster, dv, data):
    """The original handler's work on one parsed request."""
    record = {k: data[k] for k in NAMES}
    day = data["día"] if "día" in data else data["dia"]
    for k, v in zip(NUMERIC, (day, data["mes"], data["año"], data["dia_semana"],
                              data["Precio_lag1"], data["Precio_mean7"])):
        record[k] = float(v)
    row = dv.transform_one(record)
    return float(booster.predict(xgb.DMatrix(row))[0])


def make_app():
    from flask import Flask, jsonify, request
    booster, dv = load(os.environ["MC_PEER_MODEL"], os.environ.get("MC_PEER_LAKE"))
    app = Flask("serve_peer")

    @app.post("/v1/predict")
    def predict():
        data = request.get_json(force=True)
        try:
            price = handle(booster, dv, data)
        except (KeyError, TypeError, ValueError) as e:
            return jsonify({"error": str(e)}), 400
        return jsonify({"predicted_price": price})

    return app


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "train":
        t0 = time.perf_counter()
        n, f = train(sys.argv[2], sys.argv[3])
        print(f"peer_train {time.perf_counter() - t0:.2f} s ({n} rows, {f} features,"
              f" {TREES} trees)")
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        b, v = load(sys.argv[2])
        with open(sys.argv[3], encoding="utf-8") as f:
            print(json.dumps({"predicted_price": handle(b, v, json.load(f))}))
    else:
        sys.exit(__doc__)
else:
    if "MC_PEER_MODEL" in os.environ:
        app = make_app()
