import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { ConfigError } from '../../src/config/schema';
import { configHistory, getEnvironmentConfig, setConfig, snapshotOverrides } from '../../src/db/config-store';
import { importCsv } from '../../src/db/catalogue';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { CsvFormatError } from '../../src/forecasting/long-csv';
import { freshDatabase, testDatabaseServerUrl, testTemporal, type TestDatabase } from '../helpers/env';

const run = promisify(execFile);
const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');

async function counts(db: TestDatabase) {
  const q = async (sql: string) => Number((await db.pool.query(sql)).rows[0].n);
  return {
    values: await q('SELECT count(*) AS n FROM config_values'),
    history: await q('SELECT count(*) AS n FROM config_history'),
    skus: await q('SELECT count(*) AS n FROM skus'),
    sales: await q('SELECT count(*) AS n FROM sales'),
  };
}

describe('migrations', () => {
  it('apply from empty and are idempotent on re-run', async () => {
    const admin = new PgClient({ connectionString: testDatabaseServerUrl() });
    await admin.connect();
    const name = `mig_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const pool = createPool(testDatabaseServerUrl().replace(/\/[^/]*$/, `/${name}`));
    try {
      const first = await migrate(pool);
      expect(first.applied.length).toBeGreaterThan(0);
      expect(first.alreadyApplied).toEqual([]);
      const second = await migrate(pool);
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toEqual(first.applied);
      const tables = (await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).rows.map((r) => r.table_name);
      for (const t of ['skus', 'sales', 'forecasts', 'forecast_runs', 'query_log', 'config_values', 'config_history', 'rollouts', 'releases', 'gate_results', 'prefetch_runs', 'cache_stats', 'sku_accuracy']) {
        expect(tables).toContain(t);
      }
    } finally {
      await pool.end();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('per-environment config in PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db.drop());

  it('records a version and an audit row per change', async () => {
    const before = await getEnvironmentConfig(db.pool, 'staging');
    expect(before.STREAMING_BATCH_DELAY_MS).toBe(500);
    const changes = await setConfig(db.pool, 'staging', { STREAMING_BATCH_DELAY_MS: '300' }, 'alice', 'P1');
    expect(changes).toEqual([{ key: 'STREAMING_BATCH_DELAY_MS', old: 500, new: 300, version: 1 }]);
    await setConfig(db.pool, 'staging', { STREAMING_BATCH_DELAY_MS: 250 }, 'bob');
    expect((await getEnvironmentConfig(db.pool, 'staging')).STREAMING_BATCH_DELAY_MS).toBe(250);
    expect((await getEnvironmentConfig(db.pool, 'production')).STREAMING_BATCH_DELAY_MS).toBe(500);
    const history = await configHistory(db.pool, 'staging', 'STREAMING_BATCH_DELAY_MS');
    expect(history.map((h) => [h.old, h.new, h.version, h.changedBy])).toEqual([
      [300, 250, 2, 'bob'],
      [null, 300, 1, 'alice'],
    ]);
    expect(history[1].reason).toBe('P1');
  });

  it('restores a key to its default with null (what a rollback does)', async () => {
    expect(await snapshotOverrides(db.pool, 'production', ['STREAMING_BATCH_DELAY_MS'])).toEqual({ STREAMING_BATCH_DELAY_MS: null });
    await setConfig(db.pool, 'production', { STREAMING_BATCH_DELAY_MS: 300 }, 'ci');
    await setConfig(db.pool, 'production', { STREAMING_BATCH_DELAY_MS: null }, 'ci', 'rollback');
    expect((await getEnvironmentConfig(db.pool, 'production')).STREAMING_BATCH_DELAY_MS).toBe(500);
    const [last] = await configHistory(db.pool, 'production');
    expect([last.old, last.new, last.reason]).toEqual([300, null, 'rollback']);
  });

  it.each([
    [{ STREAMING_BATCH_DELAY_MS: '-5' }, /STREAMING_BATCH_DELAY_MS/],
    [{ STREAMING_BATCH_DELAY_MS: 'abc' }, /STREAMING_BATCH_DELAY_MS/],
    [{ PREFETCH_MORNING_PEAK_HOUR: '25' }, /PREFETCH_MORNING_PEAK_HOUR.*hour 0\.\.23/],
    [{ UNKNOWN_KEY: '1' }, /UNKNOWN_KEY: unknown key/],
    [{ INTERMITTENT_DEMAND_ZERO_RATIO_THRESHOLD: '1.2' }, /between 0 and 1/],
    [{ CROSTON_ALPHA: '0.2', TSB_BETA: '-1' }, /TSB_BETA/],
  ])('refuses %j and writes nothing', async (changes, message) => {
    const before = await counts(db);
    await expect(setConfig(db.pool, 'staging', changes, 'mallory')).rejects.toThrow(message);
    await expect(setConfig(db.pool, 'staging', changes, 'mallory')).rejects.toBeInstanceOf(ConfigError);
    expect(await counts(db)).toEqual(before);
  });

  it('refuses an unknown environment', async () => {
    await expect(setConfig(db.pool, 'qa', { CROSTON_ALPHA: '0.2' }, 'x')).rejects.toThrow(/unknown environment "qa"/);
  });

  it('the CLI refuses a bad value with a non-zero exit and writes nothing', async () => {
    const before = await counts(db);
    const env = { ...process.env, DATABASE_URL: db.url };
    const bad = run('node', [NEURO, 'config', 'set', '--env', 'staging', 'CROSTON_ALPHA=0.2', 'STREAMING_BATCH_DELAY_MS=-5'], { env });
    await expect(bad).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/STREAMING_BATCH_DELAY_MS: "-5" refused: must be whole number of ms/) });
    expect(await counts(db)).toEqual(before);
    const good = await run('node', [NEURO, 'config', 'set', '--env', 'staging', 'CROSTON_ALPHA=0.2', '--by', 'cli-test'], { env });
    expect(good.stdout).toContain('staging CROSTON_ALPHA: 0.1 -> 0.2');
    const got = await run('node', [NEURO, 'config', 'get', '--env', 'staging', 'CROSTON_ALPHA', '--json'], { env });
    expect(JSON.parse(got.stdout)).toMatchObject({ key: 'CROSTON_ALPHA', value: 0.2, source: 'database', updatedBy: 'cli-test' });
  });
});

describe('CSV import', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'neuro-csv-'));
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db.drop());

  it('refuses a file with bad rows whole, with line numbers, importing nothing', async () => {
    const rows = ['sku,date,quantity'];
    const day = (n: number) => new Date(Date.UTC(2020, 0, 1 + n)).toISOString().slice(0, 10);
    for (let i = 0; i < 30_000; i++) rows.push(`SKU-${i % 50},${day(Math.floor(i / 50))},${i % 7}`);
    rows.push('SKU-X,2024-02-30,1', 'SKU-X,2024-03-01,-2', 'SKU-X,2024-03-02,abc', 'SKU-X,2024-03-03,1', 'SKU-X,2024-03-03,2');
    const file = join(dir, 'bad.csv');
    writeFileSync(file, rows.join('\n'));
    const err = await importCsv(db.pool, file).catch((e) => e);
    expect(err).toBeInstanceOf(CsvFormatError);
    expect(err.problems).toEqual([
      { line: 30002, message: 'bad date "2024-02-30" (want YYYY-MM-DD)' },
      { line: 30003, message: 'negative quantity -2' },
      { line: 30004, message: 'non-numeric quantity "abc"' },
      { line: 30006, message: 'duplicate key (SKU-X, 2024-03-03)' },
    ]);
    expect((await counts(db)).sales).toBe(0);
    expect((await counts(db)).skus).toBe(0);
  });

  it('imports a good file in either header form', async () => {
    const file = join(dir, 'good.csv');
    writeFileSync(file, 'unique_id,ds,y\nA,2024-01-01,3\nA,2024-01-02,0\nB,2024-01-01,1.5\n');
    expect(await importCsv(db.pool, file)).toEqual({ skus: 2, rows: 3 });
    const { rows } = await db.pool.query('SELECT sku_id, ds, qty FROM sales ORDER BY sku_id, ds');
    expect(rows).toEqual([
      { sku_id: 'A', ds: '2024-01-01', qty: 3 },
      { sku_id: 'A', ds: '2024-01-02', qty: 0 },
      { sku_id: 'B', ds: '2024-01-01', qty: 1.5 },
    ]);
  });

  it('refuses a file with a wrong header', async () => {
    const file = join(dir, 'header.csv');
    writeFileSync(file, 'id,when,qty\nA,2024-01-01,3\n');
    await expect(importCsv(db.pool, file)).rejects.toThrow(/line 1: header must be/);
  });
});

describe('embedded PostgreSQL (PGlite over the wire protocol)', () => {
  it('runs the same pg code path: migrations, config, history', async () => {
    const pg = await startEmbeddedPostgres();
    const pool = createPool(pg.url, { max: 1 });
    try {
      expect((await migrate(pool)).applied.length).toBeGreaterThan(0);
      expect((await migrate(pool)).applied).toEqual([]);
      await setConfig(pool, 'staging', { STREAMING_BATCH_DELAY_MS: '300' }, 'embedded');
      await expect(setConfig(pool, 'staging', { STREAMING_BATCH_DELAY_MS: '-5' }, 'embedded')).rejects.toThrow(ConfigError);
      expect((await getEnvironmentConfig(pool, 'staging')).STREAMING_BATCH_DELAY_MS).toBe(300);
      expect(await configHistory(pool, 'staging')).toHaveLength(1);
    } finally {
      await pool.end();
      await pg.stop();
    }
  });
});

describe('Temporal dev server', () => {
  it('runs a trivial workflow end to end', async () => {
    const t = await testTemporal();
    try {
      const worker = await Worker.create({
        connection: t.nativeConnection,
        taskQueue: t.taskQueue,
        workflowsPath: require.resolve('../fixtures/workflows/hello'),
        activities: { greet: async (name: string) => `hello, ${name}` },
      });
      const result = await worker.runUntil(
        t.client.workflow.execute('hello', { taskQueue: t.taskQueue, workflowId: `hello-${t.taskQueue}`, args: ['temporal'] }),
      );
      expect(result).toBe('hello, temporal');
      const history = await t.client.workflow.getHandle(`hello-${t.taskQueue}`).fetchHistory();
      expect(history.events?.some((e) => e.timerStartedEventAttributes)).toBe(true);
    } finally {
      await t.close();
    }
  });
});
