"""statsforecast speed on the engine benchmark's catalogue, one core.

Usage: python3 bench/statsforecast_speed.py Y.f64 LENGTHS.i32 H MODEL [MODEL ...]
Y.f64 holds every series' values back to back (little-endian float64), LENGTHS.i32 their lengths.
For each model it times, on one core:
  * StatsForecast(models=[M], freq=1, n_jobs=1).forecast(df=..., h=H)  (the usual entry point;
    the long data frame is built beforehand and not timed), and
  * a plain loop of M.forecast(y=series, h=H)  (the kernel alone, no data-frame handling).
Times are CPU seconds of this process (time.process_time), so other load on the machine does not
skew them. Progress goes to stderr; stdout is one JSON object {model: {"seriesPerSecond": ..,
"kernelSeriesPerSecond": ..}, "_version": statsforecast version}.
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsforecast  # noqa: E402
from statsforecast import StatsForecast  # noqa: E402
from statsforecast import models as M  # noqa: E402

# our model names -> statsforecast constructors (same parameters as the TypeScript defaults)
MODELS = {
    "Naive": lambda: M.Naive(),
    "SeasonalNaive": lambda: M.SeasonalNaive(season_length=7),
    "SES": lambda: M.SimpleExponentialSmoothing(alpha=0.1),
    "SESOptimized": lambda: M.SimpleExponentialSmoothingOptimized(),
    "CrostonClassic": lambda: M.CrostonClassic(),
    "CrostonSBA": lambda: M.CrostonSBA(),
    "CrostonOptimized": lambda: M.CrostonOptimized(),
    "TSB": lambda: M.TSB(alpha_d=0.1, alpha_p=0.1),
    "ADIDA": lambda: M.ADIDA(),
    "IMAPA": lambda: M.IMAPA(),
}


def main():
    y = np.fromfile(sys.argv[1], dtype="<f8")
    lengths = np.fromfile(sys.argv[2], dtype="<i4").astype(np.int64)
    h = int(sys.argv[3])
    names = sys.argv[4:]
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    n = lengths.size
    df = pd.DataFrame({
        "unique_id": np.repeat(np.arange(n), lengths),
        "ds": np.concatenate([np.arange(k) for k in lengths]),
        "y": y,
    })
    out = {"_version": statsforecast.__version__}
    for name in names:
        model = MODELS[name]()
        t0 = time.process_time()
        for i in range(n):
            model.forecast(y=y[indptr[i]:indptr[i + 1]], h=h)
        kernel = time.process_time() - t0
        sf = StatsForecast(models=[MODELS[name]()], freq=1, n_jobs=1)
        t0 = time.process_time()
        sf.forecast(df=df, h=h)
        full = time.process_time() - t0
        out[name] = {"seriesPerSecond": n / full, "kernelSeriesPerSecond": n / kernel}
        print(f"  statsforecast {name}: {n / full:,.0f} series/s (kernel loop {n / kernel:,.0f}/s)", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
