-- One unfinished release per (environment, key): a rollout or a release revert claims every key it
-- may change in every environment before it changes anything, and gives the claims back when it
-- ends (however it ends). The primary key makes the claim atomic: a second claimant's INSERT
-- conflicts and it is refused, naming the owner. The owner's workflow id lets a later claimant
-- see that the owner's workflow is no longer running (terminated, timed out) and take over.
CREATE TABLE release_key_claims (
  environment text NOT NULL,
  key         text NOT NULL,
  release     text NOT NULL,
  workflow_id text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('rollout', 'revert')),
  claimed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, key)
);
CREATE INDEX release_key_claims_workflow ON release_key_claims (workflow_id);

-- Reverts of completed releases (`neuro release revert`): one row per attempt, the latest shown by
-- `neuro rollout status` of the reverted release.
CREATE TABLE release_reverts (
  id          bigserial PRIMARY KEY,
  release     text NOT NULL,
  workflow_id text NOT NULL,
  requested_by text NOT NULL,
  reason      text NOT NULL,
  status      text NOT NULL,
  detail      jsonb NOT NULL DEFAULT '{}',
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX release_reverts_release ON release_reverts (release, id);
