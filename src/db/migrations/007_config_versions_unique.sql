-- A config version names one change of one (environment, key). Before writes were serialised per
-- key, two concurrent first writes could both record version 1; renumber such histories in write
-- order (a no-op where versions are already distinct), then make the rule a constraint.
WITH renumbered AS (
  SELECT id, row_number() OVER (PARTITION BY environment, key ORDER BY id)::int AS v FROM config_history
)
UPDATE config_history h SET version = r.v FROM renumbered r WHERE h.id = r.id AND h.version <> r.v;

UPDATE config_values c SET version = h.v
FROM (SELECT environment, key, MAX(version) AS v FROM config_history GROUP BY environment, key) h
WHERE c.environment = h.environment AND c.key = h.key AND c.version <> h.v;

ALTER TABLE config_history ADD CONSTRAINT config_history_env_key_version UNIQUE (environment, key, version);
