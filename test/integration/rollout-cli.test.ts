import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setConfig } from '../../src/db/config-store';
import { getRelease, getRollout } from '../../src/db/rollouts';
import { findTemporalCli } from '../../src/client/temporal-server';
import type { RolloutStatus } from '../../src/rollout/types';
import { testTemporalAddress } from '../helpers/env';
import { startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, waitFor, rolloutsFinished } from './rollout.helpers';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { holderOf, rosterTeam, sign, TEAM } from '../helpers/signers';

/**
 * The rollout driven only from command lines: the plain `temporal` CLI (start, signal, query) and
 * the `neuro` CLI, as an operator would from a terminal.
 */

jest.setTimeout(300_000);
const run = promisify(execFile);
const KEY = 'STREAMING_BATCH_DELAY_MS';
// The same binary the dev server runs from (TEMPORAL_CLI_PATH, the tools folder or PATH).
const TEMPORAL = findTemporalCli() ?? 'temporal';
const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');

describe('rollout from the temporal and neuro CLIs', () => {
  let stack: Stack;
  const temporal = (...args: string[]) => run(TEMPORAL, [...args, '--address', testTemporalAddress()]);
  const neuro = (...args: string[]) =>
    run(process.execPath, [NEURO, ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: testTemporalAddress(), NEURO_TASK_QUEUE: stack.temporal.taskQueue, DATABASE_URL: stack.db.url, NEURO_IGNORE_DEV_STATE: '1' },
    });
  const query = async (id: string): Promise<RolloutStatus> => {
    const { stdout } = await temporal('workflow', 'query', '--workflow-id', id, '--name', 'status', '--output', 'json');
    const parsed = JSON.parse(stdout);
    return (parsed.queryResult ?? [parsed])[0];
  };
  const untilQuery = (id: string, pred: (s: RolloutStatus) => boolean, what: string) =>
    waitFor(async () => {
      const s = await query(id);
      return pred(s) ? s : undefined;
    }, what);
  const signal = (id: string, name: string, input: unknown) =>
    temporal('workflow', 'signal', '--workflow-id', id, '--name', name, '--input', JSON.stringify(input));
  /** `temporal workflow start` with a whole rollout input (what `neuro rollout start` builds). */
  const startWithTemporal = async (input: ReturnType<typeof rehearsal>) => {
    const id = `rollout-${input.release}`;
    await temporal('workflow', 'start', '--type', 'rollout', '--task-queue', stack.temporal.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input));
    return id;
  };
  // Same rehearsal gates as rollout.test.ts: MAPE relative to the baseline on the synthetic catalogue.
  const cliRehearsal = (o: Parameters<typeof rehearsal>[0] = {}) =>
    rehearsal({
      gates: [
        { gate: 'forecast-duration', comparator: '<', threshold: 84_000, baselineFactor: 1.1 },
        { gate: 'peak-memory', comparator: '<', threshold: 62 },
        { gate: 'mape', comparator: '<', threshold: 1000, baselineFactor: 1.001 },
      ],
      forecast: { batchSize: 3, runDate: '2025-03-01' },
      ...o,
    });

  /** The team's private keys as files, as `neuro approvers add --key-out` writes them. */
  let keyDir: string;
  const keyFile = (name: string) => join(keyDir, `${name}.pem`);
  beforeAll(async () => {
    stack = await startStack({ skus: 24 });
    await setConfig(stack.db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: 0 }, 'test');
    await rosterTeam(stack.db.pool);
    keyDir = mkdtempSync(join(tmpdir(), 'neuro-keys-'));
    for (const s of Object.values(TEAM)) writeFileSync(keyFile(s.name), s.privateKeyPem, { mode: 0o600 });
  });
  afterAll(async () => {
    rmSync(keyDir, { recursive: true, force: true });
    await stack?.stop();
  });
  afterEach(async () => {
    await rolloutsFinished(stack.db.pool);
    for (const env of ['staging', 'production']) await setConfig(stack.db.pool, env, { [KEY]: null }, 'test');
  });

  it('temporal CLI: start, signed sign-offs (self-approval and unsigned refused), GO, to production, signed confirm of the inconclusive production gates', async () => {
    const input = cliRehearsal();
    const id = await startWithTemporal(input);
    await untilQuery(id, (s) => s.stage === 'approval', 'the approval stage');
    await signal(id, 'approve', sign(id, 'approve', { role: 'devops-lead', by: 'dana-author' }, TEAM.lee));
    await signal(id, 'approve', { role: 'product-owner', by: 'pat', comment: 'unsigned' });
    for (const role of input.signOffs) await signal(id, 'approve', sign(id, 'approve', { role, by: holderOf(role).name, ...(role === 'product-owner' ? { comment: 'scope ok' } : {}) }, holderOf(role)));
    await signal(id, 'go', sign(id, 'go', { by: 'lee', reason: 'staging gates pass' }, TEAM.lee));
    // No cycle in the 1 s monitoring window: it holds until someone confirms (or rolls back).
    const held = await untilQuery(id, (x) => x.state === 'awaiting-confirmation', 'the hold after monitoring');
    expect(held.monitorEnd?.inconclusive).toEqual(['forecast-duration', 'peak-memory', 'mape']);
    await signal(id, 'confirm', sign(id, 'confirm', { by: 'lee' }, TEAM.lee));
    await signal(id, 'confirm', sign(id, 'confirm', { by: 'lee', reason: 'overnight window, no run expected' }, TEAM.lee));
    const s = await untilQuery(id, (x) => x.state === 'completed', 'completion');
    expect(s.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/dana-author is the author .* may not approve/),
      expect.stringMatching(/^unsigned/),
      expect.stringMatching(/^"reason" is required/),
    ]);
    expect(s.confirmation).toMatchObject({ kind: 'confirm', by: 'lee', acceptedInconclusive: ['forecast-duration', 'peak-memory', 'mape'] });
    // The temporal CLI prints an empty list as null.
    expect(s.approvals.missing ?? []).toEqual([]);
    expect(s.decision).toMatchObject({ kind: 'go', by: 'lee' });
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    const { stdout } = await temporal('workflow', 'list', '--query', `NeuroReleaseTag = "${s.release}" AND NeuroStatus = "completed"`, '--output', 'json');
    expect(stdout).toContain(id);
  });

  it('temporal CLI: malformed payloads are refused, rollback mid-soak restores staging', async () => {
    const id = await startWithTemporal(cliRehearsal({ soak: '10m' }));
    await untilQuery(id, (s) => s.stage === 'validate' || s.stage === 'soak', 'the soak');
    await signal(id, 'approve', 'oops');
    await signal(id, 'rollback', { by: 'ops-oncall' });
    const refused = await untilQuery(id, (s) => s.rejected.length >= 2, 'the refusals');
    expect(refused.rejected.map((r) => `${r.message}: ${r.reason}`)).toEqual([
      expect.stringMatching(/^approve: payload must be a JSON object/),
      expect.stringMatching(/^rollback: "reason" is required/),
    ]);
    expect(refused.state).toBe('running');
    await waitFor(async () => (await override(stack.db.pool, 'staging', KEY)) === 300, 'staging applied');
    await signal(id, 'rollback', sign(id, 'rollback', { by: 'ops-oncall', reason: 'memory creeping' }, TEAM['ops-oncall']));
    const s = await untilQuery(id, (x) => x.state === 'rolled-back', 'the rollback');
    expect(s.rollback).toMatchObject({ by: 'ops-oncall', restored: ['staging'] });
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
  });

  it('temporal CLI: NO-GO', async () => {
    const id = await startWithTemporal(cliRehearsal());
    await untilQuery(id, (s) => s.stage === 'approval', 'the approval stage');
    await signal(id, 'noGo', sign(id, 'noGo', { by: 'pat', reason: 'defer to v19.4' }, TEAM.pat));
    const s = await untilQuery(id, (x) => x.state === 'no-go', 'NO-GO');
    expect(s.changes.environments.production).toBeUndefined();
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
  });

  it('neuro CLI: start a plan with overrides, status, approve (self-approval refused), rollback, report', async () => {
    const release = `cli-${process.pid}`;
    const started = await neuro('rollout', 'start', '--plan', 'v19.3-batch-delay', '--release', release, '--soak', '10m', '--cycles', '0', '--author', 'dana-author');
    expect(started.stdout).toMatch(/Started rollout cli-\d+ \(workflow rollout-cli-\d+\)/);
    await expect(neuro('rollout', 'start', '--plan', 'v19.3-batch-delay', '--set', 'STREAMING_BATCH_DELAY_MS=fast', '--author', 'x')).rejects.toMatchObject({
      stderr: expect.stringMatching(/STREAMING_BATCH_DELAY_MS: "fast" refused/),
    });
    await waitFor(async () => (await neuro('rollout', 'status', release)).stdout.includes('state running') && (await override(stack.db.pool, 'staging', KEY)) === 300, 'staging applied');
    const st = await neuro('rollout', 'status', release);
    expect(st.stdout).toMatch(/staging: STREAMING_BATCH_DELAY_MS 500 -> 300/);
    await expect(neuro('rollout', 'approve', release, '--role', 'devops-lead', '--by', 'dana-author', '--key', keyFile('lee'))).rejects.toMatchObject({
      stderr: expect.stringMatching(/refused: dana-author is the author/),
    });
    // Signed with somebody else's key: the signature does not verify against lee's rostered key.
    await expect(neuro('rollout', 'approve', release, '--role', 'devops-lead', '--by', 'lee', '--key', keyFile('pat'))).rejects.toMatchObject({
      stderr: expect.stringMatching(/refused: bad signature: it does not verify against the key rostered for lee/),
    });
    expect((await neuro('rollout', 'approve', release, '--role', 'devops-lead', '--by', 'lee', '--key', keyFile('lee'))).stdout).toMatch(/devops-lead signed off by lee; missing: product-owner, security, on-call/);
    // promote is for a cohort step that passed: refused on a rollout in staging, with the reason.
    await expect(neuro('rollout', 'promote', release, '--by', 'lee', '--key', keyFile('lee'), '--reason', 'too soon')).rejects.toMatchObject({
      stderr: expect.stringMatching(/refused: promote is for a cohort rollout whose step passed and waits for the next \(state now: running/),
    });
    const rb = await neuro('rollout', 'rollback', release, '--by', 'ops-oncall', '--key', keyFile('ops-oncall'), '--reason', 'rehearsal over');
    expect(rb.stdout).toMatch(/rolled back cli-\d+: restored staging in \d+ ms/);
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
    const json = JSON.parse((await neuro('rollout', 'status', release, '--json')).stdout) as RolloutStatus;
    expect(json.state).toBe('rolled-back');
  });

  it('neuro CLI: --gate overrides recorded with the author (status, --json, release record), confirm from the CLI', async () => {
    const release = `cli-gates-${process.pid}`;
    // The synthetic catalogue's MAPE (~68%) is far above the plan's 20%: a recorded override, not a quietly loosened plan.
    const started = await neuro(
      'rollout', 'start', '--plan', 'v19.3-batch-delay', '--release', release, '--soak', '1s', '--monitor', '1s', '--cycles', '0',
      '--confirm-timeout', '10m', '--gate', 'mape<1000', '--gate', 'prefetch-duration<30000', '--author', 'dana-author',
    );
    expect(started.stdout).toContain('gate override: mape < 1000 (plan: < 20) by dana-author');
    expect(started.stdout).toContain('gate override: prefetch-duration < 30000 (added) by dana-author');
    await waitFor(async () => (await neuro('rollout', 'status', release)).stdout.includes('state awaiting-approval'), 'the approval stage');
    const text = (await neuro('rollout', 'status', release)).stdout;
    expect(text).toContain('  gate override: mape < 1000 (plan: < 20) by dana-author');
    expect(text).toMatch(/gates \(staging\):[\s\S]* mape .*\(< 1000\)/);
    for (const role of ['product-owner', 'devops-lead', 'security', 'on-call']) await neuro('rollout', 'approve', release, '--role', role, '--by', holderOf(role).name, '--key', keyFile(holderOf(role).name));
    await neuro('rollout', 'go', release, '--by', 'lee', '--key', keyFile('lee'), '--reason', 'no cycle in a 1 s soak', '--accept-inconclusive');
    await waitFor(async () => (await neuro('rollout', 'status', release)).stdout.includes('state awaiting-confirmation'), 'the hold after monitoring');
    const heldText = (await neuro('rollout', 'status', release)).stdout;
    expect(heldText).toMatch(new RegExp(`awaiting confirmation: production gates inconclusive \\(.*mape.*\\); \`neuro rollout confirm ${release} --by WHO --reason WHY\` or rollback by \\S+Z \\(then rollback\\)`));
    await expect(neuro('rollout', 'confirm', release, '--by', 'lee', '--key', keyFile('lee'))).rejects.toMatchObject({ stderr: expect.stringMatching(/--reason/) });
    const confirmed = await neuro('rollout', 'confirm', release, '--by', 'lee', '--key', keyFile('lee'), '--reason', 'rehearsal: nothing runs in 1 s');
    expect(confirmed.stdout).toMatch(new RegExp(`confirmed by lee: releasing ${release} with inconclusive production gates .*mape`));
    await waitFor(async () => (await getRollout(stack.db.pool, release))?.status === 'completed', 'completion');
    const json = JSON.parse((await neuro('rollout', 'status', release, '--json')).stdout) as RolloutStatus;
    expect(json.overrides).toEqual([
      { gate: 'mape', comparator: '<', threshold: 1000, replaced: { comparator: '<', threshold: 20 }, by: 'dana-author' },
      { gate: 'prefetch-duration', comparator: '<', threshold: 30000, by: 'dana-author' },
    ]);
    expect(json.confirmation).toMatchObject({ by: 'lee', reason: 'rehearsal: nothing runs in 1 s' });
    expect((await neuro('rollout', 'status', release)).stdout).toMatch(/confirmed by lee — rehearsal: nothing runs in 1 s; accepted inconclusive: .*mape/);
    const record = await getRelease(stack.db.pool, release);
    expect(record?.changelog).toContain('- Gate overrides: `mape < 1000` (plan: < 20) set by dana-author; `prefetch-duration < 30000` (added, not in the plan) set by dana-author');
    expect(record?.report).toContain('- `mape < 1000` (plan: < 20) set by dana-author');
    expect(record?.report).toMatch(/\*\*CONFIRM\*\* by lee/);
  });

  it('neuro CLI: a bad --gate is refused, naming the flag value, and starts nothing', async () => {
    const release = `cli-bad-gate-${process.pid}`;
    const startWith = (gate: string) => neuro('rollout', 'start', '--plan', 'v19.3-batch-delay', '--release', release, '--gate', gate, '--author', 'x');
    await expect(startWith('latency<3')).rejects.toMatchObject({ stderr: expect.stringMatching(/--gate "latency<3": unknown gate "latency" \(known: forecast-duration, /) });
    await expect(startWith('mape=25')).rejects.toMatchObject({ stderr: expect.stringMatching(/--gate "mape=25": operator "=" is not one of <, <=, >, >=/) });
    await expect(startWith('mape<abc')).rejects.toMatchObject({ stderr: expect.stringMatching(/--gate "mape<abc": "abc" is not a number/) });
    await expect(startWith('mape 25')).rejects.toMatchObject({ stderr: expect.stringMatching(/--gate "mape 25": expected NAME<OP>VALUE/) });
    await expect(neuro('rollout', 'start', '--plan', 'v19.3-hybrid-ml', '--release', release, '--promotion', 'sometimes', '--author', 'x')).rejects.toMatchObject({
      stderr: expect.stringMatching(/--promotion <mode>' argument 'sometimes' is invalid. Allowed choices are auto, manual/),
    });
    expect(await getRollout(stack.db.pool, release)).toBeUndefined();
    await expect(temporal('workflow', 'describe', '--workflow-id', `rollout-${release}`)).rejects.toThrow();
  });
});
