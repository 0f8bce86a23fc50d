-- class-best's table per environment: for each demand class the model (or combination) a backtest
-- chose, stored by the backtest workflow (id = its workflow id). A forecast run with policy
-- class-best uses the environment's latest table and records its id; class defaults without one.
CREATE TABLE class_model_tables (
  id          text PRIMARY KEY,
  environment text NOT NULL,
  run_date    date NOT NULL,
  horizon     integer NOT NULL,
  -- SKUs judged (a sample of at most CLASS_TABLE_MAX_SKUS)
  skus        integer NOT NULL,
  -- per class: { default, chosen, pairs, defaultRmsse, chosenRmsse, se } (select.ts ClassChoice)
  choices     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX class_model_tables_env ON class_model_tables (environment, created_at DESC);

ALTER TABLE forecast_runs ADD COLUMN class_table_id text;
