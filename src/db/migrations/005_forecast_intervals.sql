-- Conformal prediction intervals stored with each forecast (FORECAST_INTERVAL_LEVELS at run start).
-- A run records the levels it stores; a SKU whose history is too short for intervals (fewer than
-- 2 x horizon + 1 points) has forecasts but no interval rows.
ALTER TABLE forecast_runs ADD COLUMN interval_levels double precision[] NOT NULL DEFAULT '{}';

CREATE TABLE forecast_intervals (
  environment text NOT NULL,
  run_id      text NOT NULL,
  sku_id      text NOT NULL,
  ds          date NOT NULL,
  level       double precision NOT NULL,
  lo          double precision NOT NULL,
  hi          double precision NOT NULL,
  PRIMARY KEY (environment, run_id, sku_id, ds, level)
);
