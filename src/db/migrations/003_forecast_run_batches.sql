-- The SKU list of a run (forecastRun or backtest), cut into batches once when the run starts.
-- Batches are then addressed by (run_id, batch_index): workflow history carries only counts, so it
-- stays the same size whatever the catalogue size, and a retried batch sees exactly the same SKUs.
CREATE TABLE batch_skus (
  run_id      text NOT NULL,
  batch_index integer NOT NULL,
  sku_id      text NOT NULL,
  PRIMARY KEY (run_id, batch_index, sku_id)
);

-- Run settings and phases that the run record reports beside the 001 columns.
ALTER TABLE forecast_runs
  ADD COLUMN horizon integer,
  ADD COLUMN policy text,
  ADD COLUMN forecast_ms double precision,
  ADD COLUMN preload_keys integer,
  ADD COLUMN accuracy_source text,
  ADD COLUMN mase double precision,
  ADD COLUMN outlier_count integer;
