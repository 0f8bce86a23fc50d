-- Per-SKU model assignments: what serves a SKU in an environment instead of the environment's
-- SELECTION_POLICY (a model name or a policy), the cohort and the release that set it, since when;
-- every change in the history, like config.
CREATE TABLE model_assignments (
  environment text NOT NULL,
  sku_id      text NOT NULL REFERENCES skus(id) ON DELETE CASCADE,
  serves      text NOT NULL,
  cohort      text,
  release     text,
  since       timestamptz NOT NULL DEFAULT now(),
  set_by      text NOT NULL,
  PRIMARY KEY (environment, sku_id)
);
CREATE INDEX model_assignments_cohort ON model_assignments (environment, cohort);

CREATE TABLE model_assignment_history (
  id          bigserial PRIMARY KEY,
  environment text NOT NULL,
  sku_id      text NOT NULL,
  old_serves  text,
  new_serves  text,
  old_cohort  text,
  new_cohort  text,
  release     text,
  changed_by  text NOT NULL,
  reason      text,
  changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_assignment_history_env_sku ON model_assignment_history (environment, sku_id, id);

-- What served each assigned SKU in a run, so the API names the cohort of the forecast it serves
-- (not of an assignment made after the run).
CREATE TABLE run_assignments (
  run_id  text NOT NULL,
  sku_id  text NOT NULL,
  serves  text NOT NULL,
  cohort  text,
  PRIMARY KEY (run_id, sku_id)
);

-- Shadow A/B: a challenger forecast beside the champion in the same run, stored apart, never served.
CREATE TABLE shadow_forecasts (
  environment text NOT NULL,
  run_id      text NOT NULL,
  sku_id      text NOT NULL,
  ds          date NOT NULL,
  model       text NOT NULL,
  value       double precision NOT NULL,
  PRIMARY KEY (environment, run_id, sku_id, ds)
);

-- Champion and challenger backtested on the same windows, per SKU (the sums make catalogue WAPE).
CREATE TABLE shadow_accuracy (
  environment        text NOT NULL,
  run_id             text NOT NULL,
  sku_id             text NOT NULL,
  demand_class       text,
  champion_model     text NOT NULL,
  challenger_model   text NOT NULL,
  champion_mape      double precision,
  challenger_mape    double precision,
  champion_rmsse     double precision,
  challenger_rmsse   double precision,
  champion_abs_err   double precision NOT NULL,
  challenger_abs_err double precision NOT NULL,
  actual             double precision NOT NULL,
  PRIMARY KEY (environment, run_id, sku_id)
);

-- The latest shadow comparison of a rollout, for the ops report's A/B charts.
ALTER TABLE rollouts ADD COLUMN shadow jsonb;
