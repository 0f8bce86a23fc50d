-- The operations view: GC pauses and RSS of each forecast batch and run, and the daily snapshots.
-- GC figures come from the worker's PerformanceObserver('gc') over a batch's execution; a run's
-- are summed over its batches (max for the longest pause).
ALTER TABLE forecast_batches
  ADD COLUMN gc_count integer,
  ADD COLUMN gc_total_ms double precision,
  ADD COLUMN gc_max_ms double precision,
  ADD COLUMN rss_start_mb double precision,
  ADD COLUMN rss_end_mb double precision;

ALTER TABLE forecast_runs
  ADD COLUMN gc_count integer,
  ADD COLUMN gc_total_ms double precision,
  ADD COLUMN gc_max_ms double precision,
  -- RSS per batch in order: [{batch, startMb, peakMb, endMb}]
  ADD COLUMN rss_samples jsonb;

-- One row per (environment, UTC day), written by the dailySnapshot workflow; a rerun overwrites.
CREATE TABLE daily_snapshots (
  environment text NOT NULL,
  day         date NOT NULL,
  data        jsonb NOT NULL,
  markdown    text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, day)
);
