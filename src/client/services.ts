import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { createCache } from '../cache';
import type { ForecastCache } from '../cache/types';
import { infraFromEnv, type InfraSettings } from '../config/schema';
import { startEmbeddedPostgres } from '../db/embedded';
import { migrate, type MigrationResult } from '../db/migrate';
import { createPool } from '../db/pool';
import { ensureSearchAttributes, startDevServer, type DevServer } from './temporal-server';

/**
 * Resolves the three services every entry point needs. With DATABASE_URL / REDIS_URL /
 * TEMPORAL_ADDRESS set, the real services; without them, the embedded defaults (PGlite over the
 * wire protocol, an in-process cache, the Temporal dev server). A running `neuro dev` publishes its
 * addresses in .neuro/dev.json so other `neuro` commands in other terminals reach the same stack.
 */

/** Embedded data and the running dev's addresses; NEURO_STATE_DIR moves it (tests use a temp dir). */
export const STATE_DIR = process.env.NEURO_STATE_DIR || resolve(__dirname, '..', '..', '.neuro');
const DEV_FILE = join(STATE_DIR, 'dev.json');

type Log = (line: string) => void;

export interface DevState {
  pid: number;
  databaseUrl: string;
  temporalAddress: string;
  redisUrl?: string;
  uiUrl?: string;
  apiUrl?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readDevState(): DevState | undefined {
  if (process.env.NEURO_IGNORE_DEV_STATE || !existsSync(DEV_FILE)) return undefined;
  try {
    const state = JSON.parse(readFileSync(DEV_FILE, 'utf8')) as DevState;
    return alive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

export function writeDevState(state: DevState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(DEV_FILE, JSON.stringify(state, null, 2));
}

export function clearDevState(): void {
  rmSync(DEV_FILE, { force: true });
}

/** Settings from the process environment, filled in from a running `neuro dev` where unset. */
export function resolveInfra(env: NodeJS.ProcessEnv = process.env): InfraSettings {
  const infra = infraFromEnv(env);
  const dev = readDevState();
  if (dev && dev.pid !== process.pid) {
    infra.databaseUrl ??= dev.databaseUrl;
    infra.temporalAddress ??= dev.temporalAddress;
    infra.redisUrl ??= dev.redisUrl;
  }
  return infra;
}

export interface Services {
  infra: InfraSettings;
  pool: Pool;
  databaseUrl: string;
  cache: ForecastCache;
  temporal?: { connection: Connection; client: Client; address: string; uiUrl?: string; devServer?: DevServer };
  /** One line per service: which one is in use. */
  describe(): string[];
  stop(): Promise<void>;
}

export interface StartOptions {
  temporal?: boolean;
  /** Web UI for an embedded dev server. */
  ui?: boolean;
  uiPort?: number;
  temporalPort?: number;
  /** Keep embedded data (PGlite files, workflow history) in .neuro/ between runs. */
  persist?: boolean;
  log?: Log;
}

export async function startServices(opts: StartOptions = {}): Promise<Services> {
  const log = opts.log ?? console.log;
  const infra = resolveInfra();
  const stops: (() => Promise<void>)[] = [];
  const lines: string[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log(`[stop] ${(err as Error).message}`));
  };
  try {
    const db = await openDatabase(infra, opts.persist);
    stops.push(db.stop);
    lines.push(db.description);
    const { pool, databaseUrl } = db;

    const cache = await createCache(infra.redisUrl, { log });
    stops.push(() => cache.close());
    lines.push(
      infra.redisUrl
        ? infra.redisUrl.startsWith('redis+cluster://')
          ? `Cache: Redis Cluster at ${redact(infra.redisUrl)} (REDIS_CLUSTER_NODES / REDIS_URL)`
          : `Cache: Redis at ${redact(infra.redisUrl)} (REDIS_URL)`
        : 'Cache: in-process memory cache — set REDIS_URL (or REDIS_CLUSTER_NODES) for Redis',
    );

    let temporal: Services['temporal'];
    if (opts.temporal) {
      let address = infra.temporalAddress;
      let devServer: DevServer | undefined;
      if (!address) {
        devServer = await startDevServer({
          ui: opts.ui,
          uiPort: opts.uiPort,
          port: opts.temporalPort,
          namespace: infra.temporalNamespace,
          dbFilename: opts.persist ? join(STATE_DIR, 'temporal.db') : undefined,
          log,
        });
        stops.push(() => devServer!.stop());
        address = devServer.address;
        lines.push(`Temporal: dev server at ${address}${devServer.uiUrl ? `, Web UI ${devServer.uiUrl}` : ''} — set TEMPORAL_ADDRESS for your own`);
      } else {
        lines.push(`Temporal: ${address} namespace ${infra.temporalNamespace} (TEMPORAL_ADDRESS)`);
      }
      const connection = await Connection.connect({ address });
      stops.push(() => connection.close());
      const added = await ensureSearchAttributes(connection, infra.temporalNamespace);
      if (added.length) lines.push(`Temporal: registered search attributes ${added.join(', ')}`);
      const client = new Client({ connection, namespace: infra.temporalNamespace });
      temporal = { connection, client, address, uiUrl: devServer?.uiUrl, devServer };
    }

    return { infra, pool, databaseUrl, cache, temporal, describe: () => lines, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export interface OpenDatabase {
  pool: Pool;
  databaseUrl: string;
  description: string;
  migrations: MigrationResult;
  stop(): Promise<void>;
}

/** DATABASE_URL (or a running `neuro dev`'s), else embedded PGlite; migrated either way. */
export async function openDatabase(infra: InfraSettings = resolveInfra(), persist = true): Promise<OpenDatabase> {
  let databaseUrl = infra.databaseUrl;
  let description: string;
  let stopEmbedded = async (): Promise<void> => undefined;
  if (databaseUrl) {
    description = `PostgreSQL: ${redact(databaseUrl)}${process.env.DATABASE_URL ? ' (DATABASE_URL)' : ' (from the running neuro dev)'}`;
  } else {
    const dataDir = persist ? join(STATE_DIR, 'pgdata') : undefined;
    const pg = await startEmbeddedPostgres({ dataDir });
    stopEmbedded = () => pg.stop();
    databaseUrl = pg.url;
    description = `PostgreSQL: embedded PGlite${dataDir ? ` (data in ${dataDir})` : ' (in memory)'} — set DATABASE_URL for a real server`;
  }
  // PGlite is one session: one connection keeps each transaction whole.
  const pool = createPool(databaseUrl, { max: infra.databaseUrl ? 8 : 1 });
  const stop = async () => {
    await pool.end();
    await stopEmbedded();
  };
  try {
    const migrations = await migrate(pool);
    return { pool, databaseUrl, description, migrations, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Opens the database for one command and closes it after, however `fn` ends. */
export async function withDatabase<T>(fn: (pool: import('pg').Pool) => Promise<T>): Promise<T> {
  const db = await openDatabase();
  try {
    return await fn(db.pool);
  } finally {
    await db.stop();
  }
}

/** A Temporal client for commands that only talk to a server (no embedded start). */
export async function connectTemporal(): Promise<{ client: Client; close(): Promise<void> }> {
  const infra = resolveInfra();
  if (!infra.temporalAddress) {
    throw new Error('No Temporal server: start `neuro dev` in another terminal, or set TEMPORAL_ADDRESS');
  }
  const connection = await Connection.connect({ address: infra.temporalAddress });
  return { client: new Client({ connection, namespace: infra.temporalNamespace }), close: () => connection.close() };
}

/** Hides a password in a connection URL before it is printed. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
