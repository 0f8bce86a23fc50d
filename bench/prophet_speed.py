"""Mean Python Prophet fit time per series.

Usage: python3 bench/prophet_speed.py SERIES.json [REPEATS]
SERIES.json is a list of {"start": "YYYY-MM-DD", "freqDays": n, "y": [number|null, ...]}.
Prints {"meanFitSeconds": s, "series": n, "repeats": r, "prophetVersion": v} as JSON.
Times Prophet(...).fit(df) with its defaults (MAP, Stan L-BFGS), one warm-up fit first.
"""
import json
import logging
import sys
import time

import numpy as np
import pandas as pd
import prophet
from prophet import Prophet

logging.getLogger('cmdstanpy').disabled = True
logging.getLogger('prophet').setLevel(logging.WARNING)


def frame(s):
    ds = pd.date_range(s['start'], periods=len(s['y']), freq=f"{s['freqDays']}D")
    return pd.DataFrame({'ds': ds, 'y': [np.nan if v is None else v for v in s['y']]})


def main():
    series = json.load(open(sys.argv[1]))
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    frames = [frame(s) for s in series]
    Prophet(uncertainty_samples=0).fit(frames[0].copy())  # warm-up (imports, model load)
    total = 0.0
    for _ in range(repeats):
        for df in frames:
            d = df.copy()
            t0 = time.perf_counter()
            Prophet().fit(d)
            total += time.perf_counter() - t0
    print(json.dumps({'meanFitSeconds': total / (repeats * len(frames)), 'series': len(frames),
                      'repeats': repeats, 'prophetVersion': prophet.__version__}))


if __name__ == '__main__':
    main()
