-- The approvers roster: who may sign which sign-off, with the Ed25519 public key their signatures
-- verify against. name is stored NFKC-normalised; name_key is its confusable-folded form
-- (src/rollout/names.ts), unique among active approvers so look-alike names cannot both be
-- rostered. Removing an approver keeps the row (removed_at/by); every change has an audit row.
CREATE TABLE approvers (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL,
  name_key    text NOT NULL,
  roles       text[] NOT NULL,
  public_key  text NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now(),
  added_by    text NOT NULL,
  removed_at  timestamptz,
  removed_by  text
);
CREATE UNIQUE INDEX approvers_active_name_key ON approvers (name_key) WHERE removed_at IS NULL;

CREATE TABLE approver_audit (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  action      text NOT NULL CHECK (action IN ('add', 'remove', 'rotate-key')),
  approver_id bigint NOT NULL REFERENCES approvers (id),
  name        text NOT NULL,
  detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX approver_audit_at ON approver_audit (at);
