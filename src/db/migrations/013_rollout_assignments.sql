-- A cohort rollout's snapshot of the assignments it replaced: one row per (workflow, environment,
-- SKU), written before the SKU's first assignment by the rollout (a retried write keeps the first);
-- a rollback puts exactly these back, for SKUs that still hold what the rollout wrote.
CREATE TABLE rollout_assignment_snapshots (
  workflow_id   text NOT NULL,
  environment   text NOT NULL,
  sku_id        text NOT NULL,
  release       text NOT NULL,
  prior_serves  text,
  prior_cohort  text,
  prior_release text,
  taken_at      timestamptz NOT NULL DEFAULT now(),
  restored_at   timestamptz,
  PRIMARY KEY (workflow_id, environment, sku_id)
);
