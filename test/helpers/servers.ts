import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** Throwaway real servers for tests: PostgreSQL (initdb in a temp dir) and Redis, on free ports. */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function pgBinDir(): string {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
    if (!versions.length) throw new Error('PostgreSQL server binaries not found: apt-get install postgresql (or set DATABASE_URL)');
    return join(root, versions[0], 'bin');
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

function runAs(): { uid?: number; gid?: number } {
  // initdb and postgres refuse to run as root; use the postgres system user where we are root.
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** A PostgreSQL in a temp dir; `halt` then `restart` simulate an outage (same port, same data). */
export async function startPostgres(): Promise<RunningServer & { halt(): Promise<void>; restart(): Promise<void> }> {
  const bin = pgBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'neuro-pg-'));
  const ids = runAs();
  if (ids.uid !== undefined) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const dataDir = join(dir, 'data');
  execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], {
    stdio: 'ignore',
    ...ids,
  });
  const port = await freePort();
  const spawnIt = () =>
    spawn(
      join(bin, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
      { stdio: 'ignore', ...ids },
    );
  let child = spawnIt();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ready = () =>
    waitFor(async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.end();
      return true;
    }, 'PostgreSQL');
  await ready();
  return {
    url,
    port,
    stop: async () => {
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
    // An outage: the server stops (fast shutdown, connections cut) and comes back with its data.
    halt: () => stopChild(child, 'SIGINT'),
    restart: async () => {
      child = spawnIt();
      await ready();
    },
  };
}

function redisBinary(): string {
  for (const p of ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return p;
    } catch {
      /* try the next */
    }
  }
  throw new Error('redis-server not found: apt-get install redis-server (or set REDIS_URL)');
}

/** A Redis on a fixed port can be stopped and started again (outage tests) with `restart`. */
export async function startRedis(port?: number): Promise<RunningServer & { kill(): Promise<void>; restart(): Promise<void> }> {
  const p = port ?? (await freePort());
  const spawnIt = () =>
    spawn(redisBinary(), ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let child = spawnIt();
  const ready = () =>
    waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = require('node:net').connect(p, '127.0.0.1');
          s.on('connect', () => {
            s.end();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      'Redis',
    );
  await ready();
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    stop: () => stopChild(child, 'SIGTERM'),
    kill: () => stopChild(child, 'SIGKILL'),
    restart: async () => {
      child = spawnIt();
      await ready();
    },
  };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

export interface RunningRedisCluster {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... (what REDIS_CLUSTER_NODES becomes) */
  url: string;
  ports: number[];
  /** SIGKILLs node i (its slots stop answering). */
  kill(i: number): Promise<void>;
  /** Starts node i again on its port with its nodes.conf: it rejoins with the same id and slots (data lost). */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `size` masters (no replicas) on free ports, slots spread by
 * `redis-cli --cluster create`. cluster-require-full-coverage is off so the other nodes keep serving
 * their slots while one is down.
 */
export async function startRedisCluster(size = 3): Promise<RunningRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'neuro-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < size; i++) ports.push(await freePort());
  const spawnNode = (p: number) =>
    spawn(
      redisBinary(),
      ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`, '--cluster-node-timeout', '1000',
        '--cluster-require-full-coverage', 'no'],
      { stdio: 'ignore' },
    );
  const cli = (...args: string[]) => execFileSync('redis-cli', args, { encoding: 'utf8' });
  const pong = (p: number) => async () => cli('-p', String(p), 'ping').trim() === 'PONG';
  const nodes = ports.map(spawnNode);
  for (const p of ports) await waitFor(pong(p), `Redis cluster node ${p}`);
  cli('--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes');
  const clusterOk = async () => ports.every((p) => cli('-p', String(p), 'cluster', 'info').includes('cluster_state:ok'));
  await waitFor(clusterOk, 'Redis Cluster state ok');
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    kill: (i) => stopChild(nodes[i], 'SIGKILL'),
    restart: async (i) => {
      nodes[i] = spawnNode(ports[i]);
      await waitFor(pong(ports[i]), `Redis cluster node ${ports[i]}`);
      await waitFor(clusterOk, 'Redis Cluster state ok');
    },
    stop: async () => {
      for (const n of nodes) await stopChild(n, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A throwaway PostgreSQL with one database `name` for a bench or script: its url, and stop() for both. */
export async function startScratchDatabase(name: string): Promise<{ url: string; stop(): Promise<void> }> {
  const pg = await startPostgres();
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return { url: pg.url.replace(/\/postgres$/, `/${name}`), stop: () => pg.stop() };
}
