import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SearchAttributeType } from '@temporalio/common';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

/**
 * The one place that finds, installs and starts the Temporal CLI dev server, for the demo,
 * `neuro dev` and the tests alike.
 */

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** Git-ignored folder where the pinned CLI is built once and reused by later runs. */
export const TOOLS_BIN = resolve(__dirname, '..', '..', '.tools', 'bin');

type Log = (line: string) => void;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** TEMPORAL_CLI_PATH, then the tools folder, then PATH. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    return env.TEMPORAL_CLI_PATH;
  }
  const candidates = [join(TOOLS_BIN, 'temporal'), ...(env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'temporal'))];
  return candidates.find(isExecutable);
}

function goBinary(): string | undefined {
  for (const p of ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go']) {
    if (spawnSync(p, ['version'], { stdio: 'ignore' }).status === 0) return p;
  }
  return undefined;
}

export type TemporalExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/**
 * Finds the CLI or builds the pinned version with `go install` into the tools folder (minutes, once).
 * Without Go it falls back to the SDK's own download, which needs the download host to be reachable.
 */
export function ensureTemporalCli(log: Log = console.log): TemporalExecutable {
  const found = findTemporalCli();
  if (found) return { type: 'existing-path', path: found };
  const go = goBinary();
  if (go) {
    log(`[temporal] building Temporal CLI ${TEMPORAL_CLI_VERSION} with go install into ${TOOLS_BIN} (takes a few minutes, once)...`);
    mkdirSync(TOOLS_BIN, { recursive: true });
    try {
      execFileSync(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...process.env, GOBIN: TOOLS_BIN },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      return { type: 'existing-path', path: join(TOOLS_BIN, 'temporal') };
    } catch (err) {
      log(`[temporal] go install failed (${(err as Error).message}); trying the SDK's download instead`);
    }
  } else {
    log("[temporal] no Temporal CLI and no Go toolchain found; trying the SDK's download of the dev server");
  }
  return { type: 'cached-download' };
}

export const NO_TEMPORAL_HELP = [
  'Could not start a Temporal dev server. Do one of:',
  `  - install Go and run: GOBIN=${TOOLS_BIN} go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`,
  '  - install the Temporal CLI and put `temporal` on PATH, or set TEMPORAL_CLI_PATH to it',
  '  - or point TEMPORAL_ADDRESS at a running Temporal server',
].join('\n');

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  ui?: boolean;
  /** Persist workflow history between runs (the dev server keeps it in memory otherwise). */
  dbFilename?: string;
  namespace?: string;
  log?: Log;
}

export interface DevServer {
  env: TestWorkflowEnvironment;
  address: string;
  namespace: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` with our search attributes registered. */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? console.log;
  const executable = ensureTemporalCli(log);
  const namespace = opts.namespace ?? 'default';
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        namespace,
        port: opts.port,
        ui: opts.ui ?? false,
        uiPort: opts.ui ? opts.uiPort : undefined,
        dbFilename: opts.dbFilename,
        searchAttributes: ALL_SEARCH_ATTRIBUTES as SearchAttributeKey<SearchAttributeType>[],
        log: { format: 'pretty', level: 'warn' },
      },
    });
  } catch (err) {
    throw new Error(`${NO_TEMPORAL_HELP}\n(cause: ${(err as Error).message})`, { cause: err });
  }
  const address = env.address;
  const port = Number(address.split(':').pop());
  const uiUrl = opts.ui ? `http://localhost:${opts.uiPort ?? port + 1000}` : undefined;
  return { env, address, namespace, uiUrl, stop: () => env.teardown() };
}

/** Registers our search attributes on an existing server that lacks them (idempotent). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length === 0) return [];
  // Operator API enum: KEYWORD = 2.
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2])),
  });
  return missing.map((k) => k.name);
}
