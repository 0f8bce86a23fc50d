import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testTemporalAddress, testWorkflowBundle } from './env';

const WORKER_SCRIPT = join(__dirname, 'worker-process.ts');

/** Workers in their own processes (worker-process.ts), for the tests that SIGKILL one. */
export interface WorkerProcesses {
  /** A new worker with `env` on top of the common settings; resolves once it polls. */
  start(env?: Record<string, string>): Promise<ChildProcess>;
  /** SIGKILLs the workers still running and removes the bundle file. */
  stop(): void;
}

/**
 * Common settings: DATABASE_URL and TASK_QUEUE (and whatever else worker-process.ts reads) in
 * `env`; TEMPORAL_ADDRESS is the test server's and WORKFLOW_BUNDLE a pre-built bundle, so a
 * worker is ready in about a second instead of bundling.
 */
export async function workerProcesses(env: Record<string, string>): Promise<WorkerProcesses> {
  const dir = mkdtempSync(join(tmpdir(), 'neuro-workers-'));
  const bundleFile = join(dir, 'bundle.js');
  writeFileSync(bundleFile, (await testWorkflowBundle()).code);
  const children: ChildProcess[] = [];
  return {
    start: (extra = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['-r', 'tsx/cjs', WORKER_SCRIPT], {
          env: { ...process.env, TEMPORAL_ADDRESS: testTemporalAddress(), WORKFLOW_BUNDLE: bundleFile, ...env, ...extra },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let err = '';
        child.stderr!.on('data', (d) => (err += String(d)));
        child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
        child.once('exit', (code) => reject(new Error(`worker process exited early (${code}): ${err.slice(-2000)}`)));
      }),
    stop() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
