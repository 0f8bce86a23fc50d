import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCsv } from '../../src/db/catalogue';
import { CsvFormatError } from '../../src/forecasting/long-csv';
import { freshDatabase, type TestDatabase } from '../helpers/env';

/** `neuro data import`'s path on real PostgreSQL: RFC 4180 quoting, the API's id rule, nothing imported on any error. */

let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), 'neuro-csv4180-'));
let n = 0;
const file = (text: string) => {
  const f = join(dir, `f${n++}.csv`);
  writeFileSync(f, text);
  return f;
};
const stored = async () => ({
  skus: (await db.pool.query('SELECT id FROM skus ORDER BY id')).rows.map((r) => r.id),
  sales: Number((await db.pool.query('SELECT count(*) AS n FROM sales')).rows[0].n),
});

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db?.drop());
afterEach(async () => {
  await db.pool.query('TRUNCATE skus CASCADE'); // sales (a view over sales_history) goes with them
});

it('reads quoted fields: commas and doubled quotes inside, CRLF line ends, a BOM', async () => {
  const f = file('\uFEFFunique_id,ds,y\r\n"SKU:Q1",2024-01-01,5\r\n"A.1","2024-01-02","6"\r\nB-2,2024-01-01, 7 \r\n');
  expect(await importCsv(db.pool, f)).toEqual({ skus: 3, rows: 3 });
  const { rows } = await db.pool.query('SELECT sku_id, ds, qty FROM sales ORDER BY sku_id, ds');
  expect(rows).toEqual([
    { sku_id: 'A.1', ds: '2024-01-02', qty: 6 },
    { sku_id: 'B-2', ds: '2024-01-01', qty: 7 },
    { sku_id: 'SKU:Q1', ds: '2024-01-01', qty: 5 },
  ]);
});

it('a quoted comma no longer breaks the column count; the id then meets the API rule or is refused by line', async () => {
  const f = file('sku,date,quantity\nA,2024-01-01,1\n"SKU,Q1",2024-01-01,5\n"say ""hi""",2024-01-01,2\nU-ünï,2024-01-01,3\n');
  const err = await importCsv(db.pool, f).catch((e) => e);
  expect(err).toBeInstanceOf(CsvFormatError);
  expect(err.problems).toEqual([
    { line: 3, message: 'SKU "SKU,Q1" is not a valid id (letters, digits, . _ : -, up to 100 characters)' },
    { line: 4, message: 'SKU "say "hi"" is not a valid id (letters, digits, . _ : -, up to 100 characters)' },
    { line: 5, message: 'SKU "U-ünï" is not a valid id (letters, digits, . _ : -, up to 100 characters)' },
  ]);
  expect(await stored()).toEqual({ skus: [], sales: 0 });
});

it('quotes only a short prefix of a long bad id', async () => {
  const long = 'X'.repeat(5000) + '!';
  const err = await importCsv(db.pool, file(`unique_id,ds,y\n${long},2024-01-01,1\n`)).catch((e) => e);
  expect(err.problems[0].message).toBe(`SKU "${'X'.repeat(40)}..." (5001 characters) is not a valid id (letters, digits, . _ : -, up to 100 characters)`);
  expect(err.message.length).toBeLessThan(300);
});

it('refuses a header-only file', async () => {
  await expect(importCsv(db.pool, file('unique_id,ds,y\n'))).rejects.toThrow(/line 2: no data rows after the header/);
  await expect(importCsv(db.pool, file('unique_id,ds,y\n\n  \n'))).rejects.toThrow(/no data rows/);
  expect(await stored()).toEqual({ skus: [], sales: 0 });
});

it('reports a quoted field that is never closed, with its line, and imports nothing', async () => {
  const f = file('unique_id,ds,y\nA,2024-01-01,1\nB,2024-01-02,x\n"C,2024-01-01,1\nD,2024-01-01,1\n');
  const err = await importCsv(db.pool, f).catch((e) => e);
  expect(err).toBeInstanceOf(CsvFormatError);
  expect(err.problems[0]).toEqual({ line: 3, message: 'non-numeric quantity "x"' });
  expect(err.problems[1].message).toMatch(/^bad quoting: .*quote/i);
  expect(err.problems[1].line).toBeGreaterThanOrEqual(4);
  expect(await stored()).toEqual({ skus: [], sales: 0 });
});

it('numbers lines from where a record starts when a quoted field spans lines', async () => {
  const f = file('unique_id,ds,y\n"A\nB",2024-01-01,1\nC,2024-13-01,1\n');
  const err = await importCsv(db.pool, f).catch((e) => e);
  expect(err.problems).toEqual([
    { line: 2, message: 'SKU "A\nB" is not a valid id (letters, digits, . _ : -, up to 100 characters)' },
    { line: 4, message: 'bad date "2024-13-01" (want YYYY-MM-DD)' },
  ]);
});
