import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A reader that closes the CLI's output early ends the command quietly (no EPIPE stack). */

const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');
const dir = mkdtempSync(join(tmpdir(), 'neuro-pipe-'));
const input = join(dir, 'series.csv');

beforeAll(() => {
  // 200 SKUs x 60 days: `forecast file --horizon 60` then writes ~12,000 lines, far more than a pipe buffer.
  let text = 'unique_id,ds,y\n';
  for (let s = 0; s < 200; s++) for (let d = 0; d < 60; d++) text += `S-${s},${new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10)},${(s + d) % 7}\n`;
  writeFileSync(input, text);
});

it('`neuro forecast file ... | head -3` prints three lines and exits 0 with nothing on stderr', async () => {
  const err = join(dir, 'err.txt');
  const script = `node ${NEURO} forecast file --input ${input} --model SES --horizon 60 2>${err} | head -3; echo "rc=\${PIPESTATUS[0]}"`;
  const { stdout } = await promisify(execFile)('bash', ['-c', script]);
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(4);
  expect(lines[0]).toBe('unique_id,ds,SES');
  expect(lines[3]).toBe('rc=0');
  expect(readFileSync(err, 'utf8')).toBe('');
});

it('ends quietly when the reader is gone before the first line', async () => {
  const child = spawn(process.execPath, [NEURO, 'forecast', 'file', '--input', input, '--model', 'SES', '--horizon', '60'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(stderr).toBe('');
  expect(code).toBe(0);
});

it('covers plain process.stdout writes too (what `rollout status` prints with): no unhandled EPIPE', async () => {
  // What main() installs first, then line-by-line writes into a closed pipe, as a long status does.
  const script = join(dir, 'status.js');
  writeFileSync(
    script,
    `require(${JSON.stringify(require.resolve('tsx/cjs'))});
    require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'client', 'cli.ts'))}).endQuietlyOnClosedPipe();
    const t = setInterval(() => { for (let i = 0; i < 200; i++) process.stdout.write('status line ' + i + '\\n'); }, 5);
    setTimeout(() => { clearInterval(t); process.exitCode = 3; }, 3000);`,
  );
  const err = join(dir, 'err-status.txt');
  const { stdout } = await promisify(execFile)('bash', ['-c', `node ${script} 2>${err} | head -3 >/dev/null; echo "rc=\${PIPESTATUS[0]}"`]);
  expect(stdout.trim()).toBe('rc=0');
  expect(readFileSync(err, 'utf8')).toBe('');
});
