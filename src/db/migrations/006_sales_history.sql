-- Daily sales as one packed array per SKU instead of one row per day: at M5 size (30,490 SKUs x
-- 1,941 days = 59M rows) a batch reads one (compressed) row per SKU, and PostgreSQL only has to
-- hand the bytes over (bench/history-load.ts measures the difference).
-- qty holds the days first_day, first_day + 1, ... (days since 2000-01-01, as db/forecasts.ts
-- counts them) as 8-byte big-endian doubles (float8send's format); NaN is a day without a sales
-- row, which the loader reads as zero, as before. Writers (db/catalogue.ts) refuse negative values.
CREATE TABLE sales_history (
  sku_id    text PRIMARY KEY REFERENCES skus(id) ON DELETE CASCADE,
  first_day integer NOT NULL,
  qty       bytea NOT NULL CHECK (length(qty) > 0 AND length(qty) % 8 = 0)
);

-- One 8-byte element back to a double (NULL for the NaN of a day without sales).
CREATE FUNCTION sales_qty(b bytea) RETURNS double precision LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN e = 2047 THEN NULL
              WHEN e = 0 THEN m * 2::float8 ^ -1074
              ELSE (1 + m / 4503599627370496::float8) * 2::float8 ^ (e - 1023) END
         * CASE WHEN bits < 0 THEN -1 ELSE 1 END
  FROM (SELECT bits, (bits >> 52) & 2047 AS e, (bits & 4503599627370495)::float8 AS m
        FROM (SELECT ('x' || encode(b, 'hex'))::bit(64)::bigint AS bits) x) y
$$;

-- The days of one SKU's array that have sales rows.
CREATE FUNCTION sales_days(first_day integer, packed bytea) RETURNS TABLE (ds date, qty double precision)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  b bytea := packed; -- detoasted once
BEGIN
  FOR i IN 0 .. length(b) / 8 - 1 LOOP
    qty := sales_qty(substr(b, i * 8 + 1, 8));
    IF qty IS NOT NULL THEN
      ds := DATE '2000-01-01' + first_day + i;
      RETURN NEXT;
    END IF;
  END LOOP;
END $$;

-- Today's rows, each SKU's days from its first to its last row, gaps as NaN.
INSERT INTO sales_history (sku_id, first_day, qty)
SELECT r.sku_id, r.first - DATE '2000-01-01',
       (SELECT string_agg(COALESCE(float8send(s.qty), '\x7ff8000000000000'::bytea), ''::bytea ORDER BY g.d)
        FROM generate_series(r.first, r.last, interval '1 day') AS g(d)
        LEFT JOIN sales s ON s.sku_id = r.sku_id AND s.ds = g.d::date)
FROM (SELECT sku_id, min(ds) AS first, max(ds) AS last FROM sales GROUP BY sku_id) r;

DROP TABLE sales;

-- The rows as before, for reading (and the odd hand-written INSERT): one row per day with sales.
CREATE VIEW sales AS
SELECT h.sku_id, d.ds, d.qty FROM sales_history h CROSS JOIN LATERAL sales_days(h.first_day, h.qty) d;

CREATE FUNCTION sales_view_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  d integer := NEW.ds - DATE '2000-01-01';
  h sales_history%ROWTYPE;
  n integer;
BEGIN
  IF NEW.qty IS NULL OR NOT (NEW.qty >= 0 AND NEW.qty < 'Infinity') THEN
    RAISE EXCEPTION 'sales: qty % of % on % refused: must be a number >= 0', NEW.qty, NEW.sku_id, NEW.ds USING ERRCODE = 'check_violation';
  END IF;
  SELECT * INTO h FROM sales_history WHERE sku_id = NEW.sku_id FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO sales_history VALUES (NEW.sku_id, d, float8send(NEW.qty));
    RETURN NEW;
  END IF;
  n := length(h.qty) / 8;
  IF d < h.first_day THEN
    h.qty := decode(repeat('7ff8000000000000', h.first_day - d), 'hex') || h.qty;
    h.first_day := d;
  ELSIF d >= h.first_day + n THEN
    h.qty := h.qty || decode(repeat('7ff8000000000000', d - h.first_day - n + 1), 'hex');
  END IF;
  UPDATE sales_history SET first_day = h.first_day, qty = overlay(h.qty PLACING float8send(NEW.qty) FROM (d - h.first_day) * 8 + 1)
  WHERE sku_id = NEW.sku_id;
  RETURN NEW;
END $$;

CREATE TRIGGER sales_insert INSTEAD OF INSERT ON sales FOR EACH ROW EXECUTE FUNCTION sales_view_insert();
