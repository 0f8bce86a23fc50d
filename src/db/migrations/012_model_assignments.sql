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
