"""Python peer of bench_train: the same training run with pandas + xgboost + optuna.

Reads the lake rows (CSV with the lake schema, as `milkcast lake export` or
bench_train writes it), builds the price panel and the same 31 features as
src/features/features.c, the same supervised rows and time split as
src/features/dataset.c and src/forecast/train.c, runs 25 trials of optuna's
TPE over the same search space (two trials at a time, one XGBoost thread
each), evaluates the best trial's model on validation and test, refits it on
every row and writes a bundle (model.ubj, bundle.json, snapshot.csv).

The clock starts once the CSV is read (milkcast's clock starts with the lake
table in memory) and stops when the bundle is written.  Time inside XGBoost
is what milkcast counts as such: the DMatrix builds and xgb.train calls of
the trials and of the refit (not the evaluation's predictions).

With --strategy recursive (milkcast's default) the model is a one-step model:
the search trains on the h = 1 rows and stops early on the h = 1 validation
rows; validation and test forecasts come from running it forward from every
origin (its forecasts appended to the price panel as if published, forward
fill and group means recomputed, up to h = 6); per horizon a weight on the
forecast change, the fallback to the last value and split-conformal
intervals come from those validation forecasts; the refit uses every h = 1
row.  Time inside XGBoost then also counts the evaluation's predictions, as
milkcast does for recursive forecasts.

usage: /usr/bin/python3 bench/train_peer.py LAKE_CSV OUT_DIR [TRIALS] [--strategy direct|recursive]
Prints one "name value [note]" line per measure, as bench_train does.
"""
import json
import math
import os
import sys
import threading
import time

import numpy as np
import optuna
import pandas as pd
import xgboost as xgb

UNTIL = pd.Timestamp("2024-12-31")
HORIZONS = 6
SEED = 42
THREADS = 2  # in all: two trials at a time with one XGBoost thread each
WORKERS = 2
VALID_FRAC = TEST_FRAC = 0.15
INTERVAL_LEVEL = 0.9
EARLY_STOPPING_ROUNDS = 20

KEYS = ["kind", "state", "city", "milk_type", "channel"]  # the lake's series key
LOOKBACK = 52  # MC_FEATURES_LOOKBACK: no feature looks further back
MIN_OBS = 4  # MC_FEATURES_MIN_OBS: prices an origin needs in its look-back window
HISTORY = LOOKBACK + 8  # MC_FEATURES_HISTORY: publications kept in the snapshot

# Column order of src/features/features.c (the model's contract).
FEATURES = [
    "h", "days_ahead", "target_weekday", "target_month", "last", "age_last",
    "chg_1", "chg_2", "chg_4", "chg_8", "chg_12",
    "mean_4_dev", "mean_12_dev", "mean_26_dev", "std_4", "std_12", "std_26",
    "since_change", "last_change", "change_rate_26", "change_rate_52", "missing_26",
    "dev_state", "dev_national", "state_chg_4", "national_chg_4",
    "kind", "state", "city", "milk_type", "channel",
]


class XgbClock:
    """Seconds spent inside XGBoost, summed over the threads that called it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.trials = 0.0  # trial DMatrix builds and xgb.train, summed over workers
        self.refit = 0.0
        self.evaluation = 0.0  # recursive forecasts' DMatrix builds and predictions

    def add(self, seconds, refit=False, evaluation=False):
        with self.lock:
            if refit:
                self.refit += seconds
            elif evaluation:
                self.evaluation += seconds
            else:
                self.trials += seconds


# ---- the panel: publication dates x series (src/features/panel.c) ----


def build_panel(lake, until):
    """Prices as a dates x series frame (NaN = missing), ffill, and the series table."""
    rows = lake[lake["date"] <= until]
    # Every date and series with a row up to `until`, even a row without a price.
    price = rows.set_index(["date"] + KEYS)["price"].unstack(KEYS).sort_index().sort_index(axis=1)
    price = price.dropna(axis=1, how="all")  # series with no price at all are left out
    series = price.columns.to_frame(index=False)
    price.columns = pd.RangeIndex(len(series))  # series by number, in lake order
    # A price carries forward for at most LOOKBACK publications.
    ffill = price.ffill(limit=LOOKBACK)
    return price, ffill, series


def group_means(ffill, series, by):
    """Per series: the mean ffill price of the city series of its group (NaN for national)."""
    city = series["kind"] == "city"
    members = ffill.loc[:, city.to_numpy()]
    keys = [series.loc[city, k].to_numpy() for k in by]
    means = members.T.groupby(keys).transform("mean").T
    return means.reindex(columns=ffill.columns)


# ---- history features per (origin date, series): wide dates x series frames ----


def window_change_rate(price, cells):
    """Share of consecutive observed pairs inside the last `cells` publications that differ."""
    obs = price.notna()
    pos = pd.DataFrame(np.arange(len(price))[:, None].repeat(price.shape[1], 1),
                       index=price.index, columns=price.columns, dtype=float)
    # Each observation against the one before it (anywhere before).
    prev = price.ffill().shift(1)
    differs = (obs & prev.notna() & (price != prev)).astype(float)
    n_obs = obs.astype(float).rolling(cells, min_periods=1).sum()
    n_diff = differs.rolling(cells, min_periods=1).sum()
    # The window's first observation was compared with one before the window: take it out.
    next_obs = pos.where(obs).bfill().to_numpy()
    k = np.arange(len(price))
    start = np.maximum(k - cells + 1, 0)
    first = next_obs[start]  # position of the first observation at or after the window start
    has_first = ~np.isnan(first) & (first <= k[:, None])
    first_idx = np.where(has_first, first, 0).astype(int)
    first_differs = np.take_along_axis(differs.to_numpy(), first_idx, axis=0) * has_first
    pairs = n_obs - 1
    return ((n_diff - first_differs) / pairs).where(pairs > 0)


def since_last_change(price, ffill):
    """Publications since ffill last changed (looking back at most LOOKBACK), and that change."""
    n = len(ffill)
    ff = ffill.to_numpy()
    k = np.arange(n)[:, None]
    before = np.vstack([np.full((1, ff.shape[1]), np.nan), ff[:-1]])
    changed = ~(ff == before)  # NaN on either side counts as a change, as in C
    last_changed = pd.DataFrame(np.where(changed, k, np.nan)).ffill().to_numpy()
    first_obs = price.notna().to_numpy().argmax(axis=0)[None, :]
    stop = np.maximum(k - LOOKBACK, first_obs)  # the walk back stops here
    at = np.maximum(last_changed, stop).astype(int)
    since = k - at
    step = ff - before
    size = np.where(at > stop, np.take_along_axis(step, at, axis=0), np.nan)
    return (pd.DataFrame(since.astype(float), index=ffill.index, columns=ffill.columns),
            pd.DataFrame(size, index=ffill.index, columns=ffill.columns))


def history_features(price, ffill, series):
    last = ffill
    obs = price.notna()
    pos = pd.DataFrame(np.arange(len(price))[:, None].repeat(price.shape[1], 1),
                       index=price.index, columns=price.columns, dtype=float)
    f = {"last": last}
    f["age_last"] = pos - pos.where(obs).ffill()
    for n in (1, 2, 4, 8, 12):
        f[f"chg_{n}"] = last - last.shift(n)
    for n in (4, 12, 26):
        f[f"mean_{n}_dev"] = price.rolling(n, min_periods=1).mean() - last
    for n in (4, 12, 26):
        f[f"std_{n}"] = price.rolling(n, min_periods=2).std(ddof=0)
    f["since_change"], f["last_change"] = since_last_change(price, ffill)
    f["change_rate_26"] = window_change_rate(price, 26)
    f["change_rate_52"] = window_change_rate(price, LOOKBACK + 1)  # [k - 52, k], as C
    f["missing_26"] = (~obs).astype(float).rolling(26, min_periods=1).mean()
    state = group_means(ffill, series, ["state", "milk_type", "channel"])
    national = group_means(ffill, series, ["milk_type", "channel"])
    f["dev_state"] = last - state
    f["dev_national"] = last - national
    f["state_chg_4"] = state - state.shift(4)
    f["national_chg_4"] = national - national.shift(4)
    # An origin needs a last price and MIN_OBS prices in [k - 52, k].
    f["usable"] = last.notna() & (obs.rolling(LOOKBACK + 1, min_periods=1).sum() >= MIN_OBS)
    return f


# ---- supervised rows (src/features/dataset.c) ----


def category_codes(series):
    """Codes of the sorted names of each category (the bundle's vocabularies)."""
    cats = series[KEYS].copy()
    cats["city"] = series["state"] + "/" + series["city"]
    vocabs = {k: sorted(cats[k].unique()) for k in KEYS}
    codes = pd.DataFrame({k: pd.Categorical(cats[k], categories=vocabs[k]).codes for k in KEYS})
    return codes.astype(float), vocabs


def build_rows(price, ffill, series):
    wide = history_features(price, ffill, series)
    dates = price.index
    ndates = len(dates)
    # One row per (origin k, series s): stack the wide frames into a long one.
    origins = pd.DataFrame({name: df.stack(dropna=False) for name, df in wide.items()})
    origins.index.names = ["k", "s"]
    origins = origins.reset_index()
    origins["k"] = dates.get_indexer(origins["k"])
    origins = origins[origins["usable"].astype(bool) & (origins["k"] + 1 < ndates)]
    codes, vocabs = category_codes(series)
    origins = origins.join(codes, on="s")
    # Every horizon of every origin whose target date and price exist.
    rows = origins.merge(pd.DataFrame({"h": range(1, HORIZONS + 1)}), how="cross")
    rows["t"] = rows["k"] + rows["h"]
    rows = rows[rows["t"] < ndates]
    rows["actual"] = price.to_numpy()[rows["t"], rows["s"]]
    rows = rows[rows["actual"].notna()].sort_values(["s", "k", "h"], ignore_index=True)
    target = dates[rows["t"]]
    rows["target_date"] = target
    rows["days_ahead"] = (target - dates[rows["k"]]).days
    rows["target_weekday"] = target.dayofweek  # 0 = Monday
    rows["target_month"] = target.month
    rows["y"] = rows["actual"] - rows["last"]  # the model learns the change
    rows["ma4"] = rows["mean_4_dev"] + rows["last"]
    rows["ma12"] = rows["mean_12_dev"] + rows["last"]
    return rows, vocabs


def split(ndates):
    """Date indexes where validation and test targets start (lround, as C)."""
    ntest = math.floor(TEST_FRAC * ndates + 0.5)
    nvalid = math.floor(VALID_FRAC * ndates + 0.5)
    test_from = ndates - ntest
    return test_from - nvalid, test_from


# ---- search (src/forecast/search_run.c, the space of mc_space_default) ----


def suggest(trial):
    return {
        "max_depth": trial.suggest_int("max_depth", 3, 10),
        "eta": trial.suggest_float("learning_rate", math.exp(-4), 1.0, log=True),
        "n_estimators": trial.suggest_int("n_estimators", 50, 300, step=10),
        "min_child_weight": trial.suggest_int("min_child_weight", 1, 10),
        "gamma": trial.suggest_float("gamma", 0.0, 1.0),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
        "lambda": trial.suggest_float("reg_lambda", 1e-2, 100.0, log=True),
    }


BASE = {"objective": "reg:squarederror", "eval_metric": "rmse", "tree_method": "hist",
        "max_bin": 256, "seed": SEED, "verbosity": 0}


def search(X_train, y_train, X_valid, y_valid, trials, clock):
    local = threading.local()  # one DMatrix pair per worker thread
    lock = threading.Lock()
    best = {"score": math.inf, "booster": None, "trial": None}
    per_trial = []

    def objective(trial):
        t0 = time.perf_counter()
        params = suggest(trial)
        rounds = params.pop("n_estimators")
        x0 = time.perf_counter()
        if not hasattr(local, "dtrain"):
            local.dtrain = xgb.DMatrix(X_train, label=y_train, missing=np.nan, nthread=1)
            local.dvalid = xgb.DMatrix(X_valid, label=y_valid, missing=np.nan, nthread=1)
        bst = xgb.train({**BASE, **params, "nthread": THREADS // WORKERS}, local.dtrain, rounds,
                        evals=[(local.dtrain, "train"), (local.dvalid, "valid")],
                        early_stopping_rounds=EARLY_STOPPING_ROUNDS, verbose_eval=False)
        clock.add(time.perf_counter() - x0)
        trial.set_user_attr("best_iteration", bst.best_iteration)
        with lock:
            per_trial.append((time.perf_counter() - t0, bst.num_boosted_rounds()))
            if bst.best_score < best["score"]:
                best.update(score=bst.best_score, booster=bst, trial=trial.number)
        return bst.best_score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # n_startup_trials=20: random trials before TPE, as hyperopt's (and milkcast's) TPE.
    sampler = optuna.samplers.TPESampler(seed=SEED, n_startup_trials=20)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=trials, n_jobs=WORKERS)
    return study, best, per_trial


# ---- evaluation (src/forecast/train.c) ----


def rmse(a, f):
    return float(np.sqrt(np.mean((a - f) ** 2)))


def conformal_signed(resid, level):
    """[f + lo, f + hi] from signed residuals: the k-th smallest and largest, as C."""
    r = np.sort(resid[~np.isnan(resid)])
    n = len(r)
    x = (n + 1) * (1 + level) / 2
    k = round(x) if abs(x - round(x)) < 1e-9 else math.ceil(x)
    if k > n:
        return -math.inf, math.inf
    return float(r[n - k]), float(r[k - 1])


def evaluate(booster, best_iteration, valid, test, Xv, Xt):
    it = (0, best_iteration + 1)
    valid = valid.assign(model=valid["last"] + booster.predict(xgb.DMatrix(Xv), iteration_range=it))
    test = test.assign(model=test["last"] + booster.predict(xgb.DMatrix(Xt), iteration_range=it))
    report = []
    for h in range(1, HORIZONS + 1):
        v = valid[valid["h"] == h]
        m, naive = rmse(v["actual"], v["model"]), rmse(v["actual"], v["last"])
        use_model = m < naive
        pred = v["model"] if use_model else v["last"]
        lo, hi = conformal_signed((v["actual"] - pred).to_numpy(), INTERVAL_LEVEL)
        report.append({"h": h, "use_model": bool(use_model), "valid_rmse_model": m,
                       "valid_rmse_naive": naive, "q_lower": -lo, "q_upper": hi})
    policy = pd.Series({r["h"]: r["use_model"] for r in report})
    test["bundle"] = np.where(policy[test["h"]].to_numpy(), test["model"], test["last"])
    for r in report:
        t = test[test["h"] == r["h"]]
        inside = t["actual"].between(t["bundle"] - r["q_lower"], t["bundle"] + r["q_upper"])
        r.update({f"test_rmse_{c}": rmse(t["actual"], t[c])
                  for c in ("bundle", "model", "last", "ma4", "ma12")})
        r["test_coverage"] = float(inside.mean())
    groups = test.groupby(["milk_type_name", "channel_name"]).apply(
        lambda g: pd.Series({"bundle": rmse(g["actual"], g["bundle"]),
                             "naive": rmse(g["actual"], g["last"])}))
    return report, groups


# ---- recursive strategy (src/forecast/recursive.c, the recursive path of train.c) ----


def change_rate_at_end(price, cells):
    """Share of consecutive observed pairs among the last `cells` rows that differ."""
    w = price.iloc[-cells:]
    obs = w.notna()
    prev = w.ffill().shift(1)  # the observation before, inside the window
    changes = (obs & prev.notna() & (w != prev)).sum()
    pairs = obs.sum() - 1
    return (changes / pairs).where(pairs > 0)


def origin_features(price, ffill, series):
    """The history features at the panel's last date, one row per series.

    The same definitions as history_features, written as reductions over the
    last rows instead of rolling windows over every date (pandas' rolling on a
    wide frame goes column by column, far too slow to call once per step).
    """
    last = ffill.iloc[-1]
    obs = price.notna()
    f = {"last": last}
    f["age_last"] = (~obs).iloc[::-1].cumprod().sum()  # trailing publications without a price
    for n in (1, 2, 4, 8, 12):
        f[f"chg_{n}"] = last - ffill.iloc[-1 - n] if n < len(ffill) else np.nan
    for n in (4, 12, 26):
        f[f"mean_{n}_dev"] = price.iloc[-n:].mean() - last
    for n in (4, 12, 26):
        w = price.iloc[-n:]
        f[f"std_{n}"] = w.std(ddof=0).where(w.count() >= 2)
    since, size = since_last_change(price, ffill)
    f["since_change"], f["last_change"] = since.iloc[-1], size.iloc[-1]
    f["change_rate_26"] = change_rate_at_end(price, 26)
    f["change_rate_52"] = change_rate_at_end(price, LOOKBACK + 1)
    f["missing_26"] = (~obs).iloc[-26:].mean()
    ends = ffill.iloc[[-5, -1]]  # the group means now and 4 publications before
    state = group_means(ends, series, ["state", "milk_type", "channel"])
    national = group_means(ends, series, ["milk_type", "channel"])
    f["dev_state"] = last - state.iloc[-1]
    f["dev_national"] = last - national.iloc[-1]
    f["state_chg_4"] = state.iloc[-1] - state.iloc[0]
    f["national_chg_4"] = national.iloc[-1] - national.iloc[0]
    return pd.DataFrame(f)


def usable_origins(price, ffill):
    """dates x series: an origin needs a last price and MIN_OBS prices in [k - 52, k]."""
    return ffill.notna() & (price.notna().rolling(LOOKBACK + 1, min_periods=1).sum() >= MIN_OBS)


def run_forward(booster, it, head, targets, usable, series, codes, clock=None,
                keep_features=False):
    """Forecasts of the usable series for each target date, from the panel `head`.

    Each step forecasts the next publication from the panel's last date and
    appends the forecasts to the panel as if they had been published.
    """
    panel = head.copy()
    out = []
    for h, target in enumerate(targets, 1):
        ffill = panel.ffill(limit=LOOKBACK)
        f = origin_features(panel, ffill, series).loc[usable].assign(
            h=1, days_ahead=(target - panel.index[-1]).days,
            target_weekday=target.dayofweek, target_month=target.month).join(codes)
        X = f[FEATURES].to_numpy(dtype=np.float32)
        x0 = time.perf_counter()
        change = booster.predict(xgb.DMatrix(X, missing=np.nan), iteration_range=it)
        if clock:
            clock.add(time.perf_counter() - x0, evaluation=True)
        forecast = f["last"] + change
        panel.loc[target] = forecast  # as if published; the other series get NaN
        step = pd.DataFrame({"s": forecast.index, "h": h, "model": forecast.to_numpy(),
                             "model_change": change})
        if keep_features:
            step = step.join(f[FEATURES].add_prefix("x_").reset_index(drop=True))
        out.append(step)
    return pd.concat(out, ignore_index=True)


def recursive_forecasts(booster, best_iteration, price, usable, series, codes, origins, clock):
    """Forecasts of every usable series from each origin, up to HORIZONS steps (k, s, h, model)."""
    it = (0, best_iteration + 1)
    dates = price.index
    out = []
    for k in origins:
        targets = dates[k + 1:k + 1 + HORIZONS]
        use = usable.columns[usable.iloc[k].to_numpy()]
        fc = run_forward(booster, it, price.iloc[:k + 1], targets, use, series, codes, clock)
        out.append(fc.assign(k=k))
    return pd.concat(out, ignore_index=True)


def calibrate(valid):
    """Per horizon: the weight of the forecast change, model or fallback, the interval."""
    report = []
    for h, v in valid.groupby("h"):
        x, y = v["model"] - v["last"], v["actual"] - v["last"]
        sxx = (x * x).sum()
        w = float(np.clip((x * y).sum() / sxx, 0, 1)) if sxx > 0 else 0.0
        blend = v["last"] + w * x
        m, naive = rmse(v["actual"], v["model"]), rmse(v["actual"], v["last"])
        b = rmse(v["actual"], blend)
        use_model = bool(w > 0 and b < naive)
        lo, hi = conformal_signed((v["actual"] - (blend if use_model else v["last"])).to_numpy(),
                                  INTERVAL_LEVEL)
        report.append({"h": int(h), "weight": w, "use_model": use_model, "valid_rmse_model": m,
                       "valid_rmse_blend": b, "valid_rmse_naive": naive,
                       "q_lower": -lo, "q_upper": hi})
    return report


def evaluate_recursive(booster, best_iteration, price, usable, series, codes, valid, test,
                       clock):
    """Recursive forecasts for every validation and test row, then calibration and the test report."""
    # Every origin with a target in the validation or test window, run once.
    origins = sorted(set(valid["k"]) | set(test["k"]))
    fc = recursive_forecasts(booster, best_iteration, price, usable, series, codes, origins,
                             clock)
    fc = fc[["k", "s", "h", "model"]]
    valid = valid.merge(fc, on=["k", "s", "h"], how="left")
    test = test.merge(fc, on=["k", "s", "h"], how="left")
    report = calibrate(valid)
    policy = pd.DataFrame(report).set_index("h")
    p = policy.loc[test["h"]]
    w = np.where(p["use_model"].to_numpy(), p["weight"].to_numpy(), 0.0)
    test["bundle"] = test["last"] + w * (test["model"] - test["last"])
    for r in report:
        t = test[test["h"] == r["h"]]
        inside = t["actual"].between(t["bundle"] - r["q_lower"], t["bundle"] + r["q_upper"])
        r.update({f"test_rmse_{c}": rmse(t["actual"], t[c])
                  for c in ("bundle", "model", "last", "ma4", "ma12")})
        r["test_coverage"] = float(inside.mean())
    groups = test.groupby(["milk_type_name", "channel_name"]).apply(
        lambda g: pd.Series({"bundle": rmse(g["actual"], g["bundle"]),
                             "naive": rmse(g["actual"], g["last"])}))
    return report, groups, len(origins)


def write_bundle(out_dir, booster, meta, lake, dates):
    os.makedirs(out_dir, exist_ok=True)
    booster.save_model(os.path.join(out_dir, "model.ubj"))
    with open(os.path.join(out_dir, "bundle.json"), "w") as f:
        json.dump(meta, f, indent=2, default=str)
    # No pyarrow on Debian 12: the snapshot of the recent lake rows is CSV.
    recent = lake[(lake["date"] >= dates[-HISTORY:][0]) & (lake["date"] <= dates[-1])]
    recent.to_csv(os.path.join(out_dir, "snapshot.csv"), index=False)


def main():
    args = sys.argv[1:]
    strategy = "direct"
    if "--strategy" in args:
        i = args.index("--strategy")
        strategy = args[i + 1]
        del args[i:i + 2]
    if strategy not in ("direct", "recursive") or len(args) < 2:
        sys.exit("usage: train_peer.py LAKE_CSV OUT_DIR [TRIALS] [--strategy direct|recursive]")
    recursive = strategy == "recursive"
    path, out_dir = args[0], args[1]
    trials = int(args[2]) if len(args) > 2 else 25
    lake = pd.read_csv(path, parse_dates=["date"], dtype={k: str for k in KEYS},
                       keep_default_na=False, na_values={"price": [""]})
    clock = XgbClock()

    t0 = time.perf_counter()
    price, ffill, series = build_panel(lake, UNTIL)
    rows, vocabs = build_rows(price, ffill, series)
    rows["milk_type_name"] = series["milk_type"].to_numpy()[rows["s"]]
    rows["channel_name"] = series["channel"].to_numpy()[rows["s"]]
    valid_from, test_from = split(len(price))
    train = rows[rows["t"] < valid_from]
    valid = rows[(rows["t"] >= valid_from) & (rows["t"] < test_from)]
    test = rows[rows["t"] >= test_from]
    if recursive:
        # A one-step model: trained, stopped early and refit on the h = 1 rows only.
        fit, stop, every = (d[d["h"] == 1] for d in (train, valid, rows))
        codes, _ = category_codes(series)
        usable = usable_origins(price, ffill)
    else:
        fit, stop, every = train, valid, rows

    def matrix(d):
        return d[FEATURES].to_numpy(dtype=np.float32), d["y"].to_numpy(dtype=np.float32)

    (Xtr, ytr), (Xs, ys), (Xall, yall) = map(matrix, (fit, stop, every))
    if not recursive:
        (Xv, _), (Xt, _) = map(matrix, (valid, test))
    t1 = time.perf_counter()

    study, best, per_trial = search(Xtr, ytr, Xs, ys, trials, clock)
    t2 = time.perf_counter()

    best_trial = study.trials[best["trial"]]
    best_iteration = best_trial.user_attrs["best_iteration"]
    norigins = 0
    if recursive:
        report, groups, norigins = evaluate_recursive(best["booster"], best_iteration, price,
                                                      usable, series, codes, valid, test, clock)
    else:
        report, groups = evaluate(best["booster"], best_iteration, valid, test, Xv, Xt)
    t3 = time.perf_counter()
    # Refit: the best point and its rounds on every row up to the cut-off, both threads.
    params = suggest(optuna.trial.FixedTrial(best_trial.params))
    params.pop("n_estimators")
    x0 = time.perf_counter()
    dall = xgb.DMatrix(Xall, label=yall, missing=np.nan, nthread=THREADS)
    final = xgb.train({**BASE, **params, "nthread": THREADS}, dall, best_iteration + 1)
    clock.add(time.perf_counter() - x0, refit=True)
    t4 = time.perf_counter()
    meta = {"until": UNTIL.date().isoformat(), "strategy": strategy, "horizons": HORIZONS,
            "features": FEATURES, "params": best_trial.params, "rounds": best_iteration + 1,
            "valid_rmse": best["score"], "vocabs": vocabs, "horizon_report": report,
            "test_groups": groups.reset_index().to_dict("records"),
            "rows": {"train": len(fit), "valid": len(valid), "test": len(test)}}
    write_bundle(os.path.join(out_dir, "bundle"), final, meta, lake, price.index)
    t5 = time.perf_counter()

    wall, search_wall = t5 - t0, t2 - t1
    trial_sum = sum(seconds for seconds, _ in per_trial)
    rounds = sum(r for _, r in per_trial)
    # XGBoost's share as mc_train_result's xgb_share: thread-seconds inside XGBoost over
    # the workers' time in the search plus the wall time of the serial rest.
    xgb_seconds = clock.trials + clock.refit + clock.evaluation
    share = xgb_seconds / (WORKERS * search_wall + wall - search_wall)
    d = price.index
    print(f"train_strategy {strategy}")
    print(f"train_rows train {len(fit)} valid {len(valid)} test {len(test)}"
          " (series x origin x horizon)")
    print(f"train_split valid {d[valid_from].date()}..{d[test_from - 1].date()}"
          f" test {d[test_from].date()}..{d[-1].date()} (target dates)")
    print(f"train_trials {len(study.trials)}")
    print(f"train_seconds {wall:.3f} s (features, search, evaluation, refit, bundle written)")
    print(f"train_seconds_per_trial {wall / trials:.3f} s (end to end / trials)")
    print(f"train_trial_seconds_mean {trial_sum / trials:.3f} s"
          f" (one trial's own wall time, {WORKERS} at a time)")
    print(f"train_rounds {rounds} (boosting rounds trained in all trials)")
    print(f"train_ms_per_round {1e3 * trial_sum / rounds:.2f} ms (trial wall time / rounds)")
    print(f"train_phases features {t1 - t0:.3f} s search {search_wall:.3f} s evaluate"
          f" {t3 - t2:.3f} s refit {t4 - t3:.3f} s write {t5 - t4:.3f} s")
    print(f"train_search_idle {WORKERS * search_wall - trial_sum:.3f} worker-s ({WORKERS} workers"
          f" x {search_wall:.3f} s search - trial time)")
    rest = ("evaluation {:.3f} and refit".format(clock.evaluation) if recursive
            else "the rest refit")
    print(f"train_xgboost_seconds {xgb_seconds:.3f} thread-s (trials {clock.trials:.3f},"
          f" summed over workers; {rest})")
    print(f"train_xgboost_share {share:.2f} (XGBoost thread-s / ({WORKERS} workers x search"
          " + the serial rest), as mc_train_result)")
    print(f"train_best_valid_rmse {best['score']:.5f} (trial {best['trial']},"
          f" {best_iteration + 1} rounds: {json.dumps(best_trial.params)})")
    if recursive:
        print(f"train_recursive origins {norigins} ({HORIZONS} steps each at most); weights "
              + " ".join(f"{r['weight']:.2f}" if r["use_model"] else "last" for r in report))
    print("train_test_rmse " + " ".join(
        f"h{r['h']} {r['test_rmse_bundle']:.4f}/{r['test_rmse_last']:.4f}" for r in report)
        + " (bundle/last value)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
