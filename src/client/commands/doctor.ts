import { execFileSync } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createRedisCache } from '../../cache/redis';
import { defaultsFromEnv, ENVIRONMENTS, type InfraSettings } from '../../config/schema';
import { forecastTaskQueue } from '../../config/task-queues';
import { pendingMigrations } from '../../db/migrate';
import { createPool } from '../../db/pool';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { redact, resolveInfra } from '../services';
import { findTemporalCli, TEMPORAL_CLI_MODULE, TEMPORAL_CLI_VERSION, TOOLS_BIN } from '../temporal-server';
import { scheduleDefinitions } from './schedules';

/**
 * `neuro doctor`: one line per part of the stack, what was found and, when something is wrong, the
 * fix. `fail` = a command needs it and it is missing (exit code 1); `warn` = works, but not as a
 * deployment would want it (an embedded default, a schedule not applied).
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

const TIMEOUT_MS = 5000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS))),
  ]);
}

function nodeCheck(): Check {
  const pkg = require('../../../package.json') as { engines: { node: string }; optionalDependencies?: Record<string, string> };
  const min = Number(/\d+/.exec(pkg.engines.node)![0]);
  const pinned = pkg.optionalDependencies?.[`node-${process.platform}-${process.arch}`];
  const major = Number(process.versions.node.split('.')[0]);
  const where = pinned && process.versions.node === pinned ? `the pinned ${pinned}` : pinned ? `not the pinned ${pinned}` : `no pinned build for ${process.platform}-${process.arch}`;
  if (major >= min) return { name: 'node', status: 'ok', detail: `Node ${process.version} (${where}; engines ${pkg.engines.node}) at ${process.execPath}` };
  return { name: 'node', status: 'fail', detail: `Node ${process.version} is older than engines ${pkg.engines.node}`, fix: 'npm install (brings the pinned Node LTS; npm scripts and npx neuro use it), or install Node ' + min };
}

function temporalCliCheck(infra: InfraSettings): Check {
  let path: string | undefined;
  try {
    path = findTemporalCli();
  } catch (err) {
    return { name: 'temporal-cli', status: 'fail', detail: (err as Error).message, fix: 'point TEMPORAL_CLI_PATH at the `temporal` binary, or unset it' };
  }
  const build = `GOBIN=${TOOLS_BIN} go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`;
  if (!path) {
    // Only the embedded dev server needs it (demo, dev, tests); a TEMPORAL_ADDRESS server does not.
    return { name: 'temporal-cli', status: infra.temporalAddress ? 'warn' : 'fail', detail: 'Temporal CLI not found (TEMPORAL_CLI_PATH, .tools/bin, PATH)', fix: `${build} (npm run demo builds it when Go is installed)` };
  }
  let version: string;
  try {
    version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: TIMEOUT_MS }).trim().split('\n')[0];
  } catch (err) {
    return { name: 'temporal-cli', status: 'fail', detail: `${path} does not run: ${(err as Error).message}`, fix: build };
  }
  return { name: 'temporal-cli', status: 'ok', detail: `${version} at ${path}` };
}

async function postgresCheck(infra: InfraSettings): Promise<Check> {
  if (!infra.databaseUrl) {
    return { name: 'postgresql', status: 'warn', detail: 'DATABASE_URL unset: commands use the embedded PGlite (.neuro/pgdata)', fix: 'set DATABASE_URL for a real PostgreSQL' };
  }
  const url = redact(infra.databaseUrl);
  const pool = createPool(infra.databaseUrl, { max: 1, connectionTimeoutMillis: TIMEOUT_MS });
  try {
    const pending = await withTimeout(pendingMigrations(pool), 'PostgreSQL');
    if (pending.length) return { name: 'postgresql', status: 'fail', detail: `${url} reachable; migrations not applied: ${pending.join(', ')}`, fix: 'neuro db migrate' };
    return { name: 'postgresql', status: 'ok', detail: `${url} reachable; migrations current` };
  } catch (err) {
    return { name: 'postgresql', status: 'fail', detail: `${url} not reachable: ${(err as Error).message}`, fix: 'start PostgreSQL or fix DATABASE_URL' };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function redisCheck(infra: InfraSettings): Promise<Check> {
  if (!infra.redisUrl) {
    return { name: 'redis', status: 'warn', detail: 'REDIS_URL unset: the cache is in-process (one per process)', fix: 'set REDIS_URL (or REDIS_CLUSTER_NODES) for a shared cache' };
  }
  const what = infra.redisUrl.startsWith('redis+cluster://') ? 'Redis Cluster' : 'Redis';
  const url = redact(infra.redisUrl);
  try {
    const cache = await withTimeout(createRedisCache(infra.redisUrl, { log: () => undefined, connectTimeoutMs: 2000, maxOfflineQueue: 0 }), what);
    try {
      if (!(await withTimeout(cache.ping(), what))) throw new Error('PING unanswered');
      return { name: 'redis', status: 'ok', detail: `${what} at ${url} answers` };
    } finally {
      await cache.close();
    }
  } catch (err) {
    return { name: 'redis', status: 'fail', detail: `${what} at ${url} not reachable: ${(err as Error).message}`, fix: `start ${what} or fix ${what === 'Redis' ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES'}` };
  }
}

const TQ = temporal.api.enums.v1.TaskQueueType;

/** Server, search attributes, schedules and the pollers of both task queues: one connection. */
async function temporalChecks(infra: InfraSettings): Promise<Check[]> {
  if (!infra.temporalAddress) {
    return [{ name: 'temporal-server', status: 'fail', detail: 'no Temporal server: TEMPORAL_ADDRESS unset and no `neuro dev` running', fix: 'start `neuro dev`, or set TEMPORAL_ADDRESS' }];
  }
  const ns = infra.temporalNamespace;
  let connection: Connection;
  try {
    connection = await withTimeout(Connection.connect({ address: infra.temporalAddress, connectTimeout: TIMEOUT_MS }), 'Temporal');
    await withTimeout(connection.workflowService.describeNamespace({ namespace: ns }), 'Temporal');
  } catch (err) {
    return [{ name: 'temporal-server', status: 'fail', detail: `${infra.temporalAddress} (namespace ${ns}) not reachable: ${(err as Error).message}`, fix: 'start the Temporal server (or `neuro dev`), or fix TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE' }];
  }
  const out: Check[] = [];
  try {
    const attrs = await connection.operatorService.listSearchAttributes({ namespace: ns });
    const have = new Set(Object.keys(attrs.customAttributes ?? {}));
    const missing = ALL_SEARCH_ATTRIBUTES.map((k) => k.name).filter((n) => !have.has(n));
    out.push(
      missing.length
        ? { name: 'temporal-server', status: 'fail', detail: `${infra.temporalAddress} reachable; search attributes missing: ${missing.join(', ')}`, fix: `neuro worker registers them, or: ${missing.map((n) => `temporal operator search-attribute create --name ${n} --type Keyword`).join('; ')}` }
        : { name: 'temporal-server', status: 'ok', detail: `${infra.temporalAddress} (namespace ${ns}) reachable; ${ALL_SEARCH_ATTRIBUTES.length} search attributes registered` },
    );

    const client = new Client({ connection, namespace: ns });
    const defaults = defaultsFromEnv();
    for (const env of ENVIRONMENTS) {
      const ids = scheduleDefinitions(env, defaults).map((d) => d.scheduleId);
      const absent: string[] = [];
      for (const id of ids) {
        await client.schedule.getHandle(id).describe().catch(() => absent.push(id));
      }
      out.push(
        absent.length
          ? { name: `schedules:${env}`, status: 'warn', detail: `missing: ${absent.join(', ')}`, fix: `neuro schedules apply --env ${env}` }
          : { name: `schedules:${env}`, status: 'ok', detail: ids.join(', ') },
      );
    }

    const queues: [string, number, string][] = [
      [infra.taskQueue, TQ.TASK_QUEUE_TYPE_WORKFLOW, 'workflows'],
      [forecastTaskQueue(infra.taskQueue), TQ.TASK_QUEUE_TYPE_ACTIVITY, 'forecast batches'],
    ];
    for (const [name, type, what] of queues) {
      const r = await connection.workflowService.describeTaskQueue({ namespace: ns, taskQueue: { name }, taskQueueType: type });
      const pollers = r.pollers ?? [];
      out.push(
        pollers.length
          ? { name: `workers:${name}`, status: 'ok', detail: `${pollers.length} polling (${what}): ${[...new Set(pollers.map((p) => p.identity))].join(', ')}` }
          : { name: `workers:${name}`, status: 'fail', detail: `no worker polls ${name} (${what}): runs wait`, fix: `neuro worker --role ${what === 'workflows' ? 'workflows' : 'forecast'} (or --role all)` },
      );
    }
  } finally {
    await connection.close();
  }
  return out;
}

export async function runDoctor(infra: InfraSettings = resolveInfra()): Promise<Check[]> {
  const [pg, redis, temporalServer] = await Promise.all([postgresCheck(infra), redisCheck(infra), temporalChecks(infra)]);
  return [nodeCheck(), temporalCliCheck(infra), ...temporalServer, pg, redis];
}

/** `neuro doctor [--json]`: exit code 1 when a check failed. */
export async function doctorCommand(opts: { json?: boolean }): Promise<void> {
  const checks = await runDoctor();
  const ok = !checks.some((c) => c.status === 'fail');
  if (opts.json) {
    console.log(JSON.stringify({ ok, checks }));
  } else {
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) {
      console.log(`${c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'warn' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? `  -> fix: ${c.fix}` : ''}`);
    }
  }
  if (!ok) process.exitCode = 1;
}
