import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/servers';

const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function processesMentioning(text: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(text) && !l.includes('ps -eo'));
}

describe('neuro dev', () => {
  it('brings up the Web UI, a worker and the API, and Ctrl-C leaves nothing running', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'neuro-dev-'));
    const [apiPort, uiPort, temporalPort] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = { ...process.env, NEURO_STATE_DIR: stateDir, NEURO_IGNORE_DEV_STATE: '' };
    for (const k of ['DATABASE_URL', 'REDIS_URL', 'TEMPORAL_ADDRESS']) delete env[k];
    const child = spawn('node', [NEURO, 'dev', '--port', String(apiPort), '--ui-port', String(uiPort), '--temporal-port', String(temporalPort)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!output.includes('Ready.') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      expect(output).toContain('Ready.');
      expect(output).toContain(`Temporal Web UI: http://localhost:${uiPort}`);
      expect(output).toContain('PostgreSQL: embedded PGlite');
      expect(output).toContain('Cache: in-process memory cache');
      expect((await fetch(`http://127.0.0.1:${apiPort}/healthz`)).ok).toBe(true);
      expect((await fetch(`http://localhost:${uiPort}/`)).status).toBeLessThan(500);
      expect(await portOpen(temporalPort)).toBe(true);
      expect(processesMentioning(stateDir).length).toBeGreaterThan(0); // the dev server keeps its history there

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('Stopped.');
      for (const port of [apiPort, uiPort, temporalPort]) expect(await portOpen(port)).toBe(false);
      expect(processesMentioning(stateDir)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
