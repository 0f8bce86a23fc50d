-- Catalogue and daily sales history.
CREATE TABLE skus (
  id         text PRIMARY KEY,
  kind       text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sales (
  sku_id text NOT NULL REFERENCES skus(id) ON DELETE CASCADE,
  ds     date NOT NULL,
  qty    double precision NOT NULL CHECK (qty >= 0),
  PRIMARY KEY (sku_id, ds)
);

-- Per-environment configuration: current value with a version, and an audit row per change.
CREATE TABLE config_values (
  environment text NOT NULL,
  key         text NOT NULL,
  value       jsonb NOT NULL,
  version     integer NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL,
  PRIMARY KEY (environment, key)
);

CREATE TABLE config_history (
  id          bigserial PRIMARY KEY,
  environment text NOT NULL,
  key         text NOT NULL,
  old_value   jsonb,
  new_value   jsonb,
  version     integer NOT NULL,
  changed_by  text NOT NULL,
  reason      text,
  changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX config_history_env_key ON config_history (environment, key, id);

-- Forecast runs and their outputs.
CREATE TABLE forecast_runs (
  id               text PRIMARY KEY,
  environment      text NOT NULL,
  run_date         date NOT NULL,
  status           text NOT NULL,
  started_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  duration_ms      double precision,
  skus             integer,
  batches          integer,
  batch_delay_ms   integer,
  total_delay_ms   double precision,
  peak_rss_mb      double precision,
  peak_memory_pct  double precision,
  model_counts     jsonb,
  mape             double precision,
  wape             double precision,
  outlier_skus     jsonb,
  error            text
);
CREATE INDEX forecast_runs_env_date ON forecast_runs (environment, run_date);

CREATE TABLE forecast_batches (
  run_id       text NOT NULL,
  batch_index  integer NOT NULL,
  skus         integer NOT NULL,
  attempt      integer NOT NULL,
  duration_ms  double precision NOT NULL,
  peak_rss_mb  double precision,
  finished_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, batch_index)
);

CREATE TABLE forecasts (
  environment text NOT NULL,
  run_id      text NOT NULL,
  sku_id      text NOT NULL,
  ds          date NOT NULL,
  model       text NOT NULL,
  value       double precision NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, run_id, sku_id, ds)
);
CREATE INDEX forecasts_env_sku ON forecasts (environment, sku_id, run_id);

CREATE TABLE sku_accuracy (
  environment  text NOT NULL,
  run_id       text NOT NULL,
  sku_id       text NOT NULL,
  model        text NOT NULL,
  demand_class text,
  mape         double precision,
  wape         double precision,
  mase         double precision,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, run_id, sku_id)
);

-- Latest completed run per environment: what the API serves.
CREATE TABLE current_forecast_run (
  environment text PRIMARY KEY,
  run_id      text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Serving: query log, cache statistics, prefetch runs.
CREATE TABLE query_log (
  id            bigserial PRIMARY KEY,
  environment   text NOT NULL,
  query_hash    text NOT NULL,
  query_pattern text NOT NULL,
  sku_id        text,
  horizon       integer,
  duration_ms   double precision NOT NULL,
  cache_hit     boolean NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX query_log_env_time ON query_log (environment, created_at);

CREATE TABLE cache_stats (
  environment text NOT NULL,
  minute      timestamptz NOT NULL,
  hits        bigint NOT NULL DEFAULT 0,
  misses      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (environment, minute)
);

CREATE TABLE prefetch_runs (
  id                text PRIMARY KEY,
  environment       text NOT NULL,
  trigger           text NOT NULL,
  top_n             integer NOT NULL,
  include_recent    boolean NOT NULL,
  keys_warmed       integer,
  duration_ms       double precision,
  memory_impact_pct double precision,
  status            text NOT NULL,
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);

-- Rollouts, their gate results, and releases.
CREATE TABLE rollouts (
  release      text PRIMARY KEY,
  workflow_id  text NOT NULL,
  plan         text,
  description  text,
  author       text NOT NULL,
  status       text NOT NULL,
  stage        text NOT NULL,
  changes      jsonb NOT NULL,
  snapshot     jsonb,
  decision     jsonb,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);

CREATE TABLE gate_results (
  id           bigserial PRIMARY KEY,
  release      text NOT NULL,
  environment  text NOT NULL,
  gate         text NOT NULL,
  status       text NOT NULL CHECK (status IN ('pass', 'fail', 'inconclusive')),
  measured     double precision,
  threshold    double precision,
  comparator   text,
  window_start timestamptz,
  window_end   timestamptz,
  evaluated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gate_results_release ON gate_results (release, id);

CREATE TABLE releases (
  release     text PRIMARY KEY,
  tag         text NOT NULL,
  status      text NOT NULL,
  changelog   text NOT NULL,
  report      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
