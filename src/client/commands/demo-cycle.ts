import { runBatchDurations, runSkuMape } from '../../db/forecasts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApiServer } from '../../api/server';
import { getEnvironmentConfig } from '../../db/config-store';
import { formatDuration, planToInput } from '../../rollout/input';
import type { RolloutStatus } from '../../rollout/types';
import { approveUpdate, confirmUpdate, goUpdate, statusQuery } from '../../workflows/messages';
import type { KeyObject } from 'node:crypto';
import { signPayload } from '../../rollout/keys';
import type { SignedKind } from '../../rollout/signoff';
import { renderCycleReport } from '../html-report';
import { shadowFigures } from '../../ops/report';
import type { ShadowComparison } from '../../rollout/shadow';
import { STATE_DIR } from '../services';
import type { DemoContext, DemoStep } from './demo';
import { rolloutWorkflowId } from '../../workflows/ids';
import { startPostDeployPrefetch, startPrefetch, startRollout } from '../starters';
import { hybridStep, localSigners } from './demo-hybrid';
import { describePrefetch } from './prefetch';
import { applySchedules } from './schedules';
import { formatTraffic, replayTraffic } from './traffic';

/**
 * The demo's second half: the rest of a forecast cycle as the Web UI shows it — the Temporal
 * Schedules, traffic with a predictive prefetch, the deploy hook's durable timer, and a rehearsal
 * of the plan's P1 rollout through staging, sign-offs, GO and production.
 */

const schedulesStep: DemoStep = {
  name: 'schedules',
  title: 'Temporal Schedules: forecast-daily 02:00, prefetch 11:28 and 17:28 UTC',
  async run(ctx) {
    const s = ctx.services!;
    const config = await getEnvironmentConfig(s.pool, ctx.environment);
    const applied = await applySchedules(s.temporal!.client, ctx.environment, config, s.infra.taskQueue);
    for (const a of applied) ctx.log(`  ${JSON.stringify(a)}`);
    ctx.report.schedules = applied;
  },
};

/** Rate and length of each replay: one simulated day of queries compressed into a few seconds. */
const TRAFFIC = { rate: 400, duration: 4 };

/** The forecast API on a free port for the length of `fn`. */
async function withApi<T>(ctx: DemoContext, fn: (api: { url: string; flush(): Promise<void> }) => Promise<T>): Promise<T> {
  const s = ctx.services!;
  const api = await startApiServer({
    pool: s.pool,
    cache: s.cache,
    temporalClient: s.temporal!.client,
    taskQueue: s.infra.taskQueue,
    adminToken: s.infra.adminToken,
    port: 0,
    log: () => undefined,
  });
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

const trafficPrefetchStep: DemoStep = {
  name: 'traffic-prefetch',
  title: 'API traffic for a simulated day, a predictive prefetch of the top queries, traffic for the next day',
  async run(ctx) {
    const s = ctx.services!;
    await withApi(ctx, async (api) => {
      const before = await replayTraffic({ base: api.url, environment: ctx.environment, ...TRAFFIC });
      for (const line of formatTraffic(before)) ctx.log(`  before: ${line}`);
      await api.flush(); // the query log feeds the prefetch's top-N analysis
      const handle = await startPrefetch(s.temporal!.client, { environment: ctx.environment, trigger: 'manual' }, s.infra.taskQueue);
      const prefetch = await handle.result();
      // It warms the most asked queries the cache lacks; read-through has cached most of the day already.
      ctx.log(`  ${describePrefetch(prefetch)}`);
      const after = await replayTraffic({ base: api.url, environment: ctx.environment, ...TRAFFIC, dayOffset: 1 });
      for (const line of formatTraffic(after)) ctx.log(`  after:  ${line}`);
      await api.flush();
      ctx.report.trafficPrefetch = { before, prefetch, after };
    });
  },
};

const deployHookStep: DemoStep = {
  name: 'deploy-hook',
  title: 'Deploy hook: postDeployPrefetch waits its durable timer',
  async run(ctx) {
    const s = ctx.services!;
    const deployId = `demo-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
    const r = await startPostDeployPrefetch(s.temporal!.client, { environment: ctx.environment, deployId }, s.infra.taskQueue);
    const delay = (await getEnvironmentConfig(s.pool, ctx.environment)).PREFETCH_POST_DEPLOY_DELAY_MS;
    ctx.log(`  ${JSON.stringify(r)}`);
    ctx.log(`  its ${formatDuration(delay)} timer is durable: if the demo ends first, \`npx neuro dev\` resumes it`);
    ctx.report.deployHook = { ...r, delayMs: delay };
  },
};

async function waitForState(read: () => Promise<RolloutStatus>, done: (s: RolloutStatus) => boolean, log: (l: string) => void): Promise<RolloutStatus> {
  let stage = '';
  for (;;) {
    const s = await read();
    if (s.stage !== stage) log(`  rollout stage: ${s.stage} (${s.state})`);
    stage = s.stage;
    if (done(s)) return s;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Production traffic during the rehearsal's monitoring window: a third simulated day, gentler than the replays above. */
const MONITOR_TRAFFIC = { rate: 150, duration: 4, dayOffset: 2 };

const ENDED = ['completed', 'rolled-back', 'no-go', 'failed'];

const rolloutStep: DemoStep = {
  name: 'rollout',
  title: 'Rollout rehearsal of P1 (STREAMING_BATCH_DELAY_MS=300): staging, gates, sign-offs, GO, production measured under traffic',
  async run(ctx) {
    const s = ctx.services!;
    const client = s.temporal!.client;
    const release = `v19.3-batch-delay-rehearsal-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
    // The plan's windows (24 h soak, 3 cycles; 24 h monitoring) shortened for a rehearsal; production
    // monitoring runs a forecast cycle and gets API traffic, so its gates are measured. The deploy
    // hook above shows the post-deploy prefetch, so the rehearsal does not wait for another 2-minute timer.
    const input = planToInput('v19.3-batch-delay', {
      release,
      author: 'demo-author',
      soak: '8s',
      monitor: '20s',
      cycles: 1,
      monitorCycles: 1,
      approvalTimeout: '5m',
      confirmTimeout: '2m',
      postDeployPrefetch: false,
      forecast: ctx.skuSubset ? { skus: ctx.skuSubset } : undefined,
    });
    // The plan's own gates: the 700-SKU catalogue meets them, so no `--gate` override (which would be recorded) is needed.
    ctx.log(`  gates: the plan's own (${input.gates.map((g) => `${g.gate} ${g.comparator} ${g.threshold}`).join(', ')}); no --gate overrides`);
    // Sign-offs are signed: a local roster (one demo approver per plan role, keys in .neuro/keys/).
    const keyOf = await localSigners(s.pool, ctx.log);
    await startRollout(client, input, s.infra.taskQueue);
    const handle = client.workflow.getHandle(rolloutWorkflowId(release));
    const sign = <P extends object>(kind: SignedKind, p: P, key: KeyObject) => signPayload({ kind, release, workflowId: handle.workflowId }, p, key);
    const read = () => handle.query(statusQuery);
    const settled = (st: RolloutStatus) => st.state !== 'running';
    let status = await waitForState(read, settled, ctx.log);
    for (const g of status.gates.staging ?? []) ctx.log(`    ${g.status.padEnd(12)} ${g.gate}: ${g.detail}`);
    let traffic: unknown;
    if (status.state === 'awaiting-approval') {
      for (const role of input.signOffs) {
        const { by, key } = keyOf(role);
        ctx.log(`  approve ${role} by ${by} (signed): ${await handle.executeUpdate(approveUpdate, { args: [sign('approve', { role, by }, key)] })}`);
      }
      // Staging has no API traffic in the demo, so its cache gates stay inconclusive: GO accepts that, on the record.
      const lead = keyOf('devops-lead');
      const go = await handle.executeUpdate(goUpdate, { args: [sign('go', { by: lead.by, reason: 'staging gates pass', acceptInconclusive: true }, lead.key)] });
      ctx.log(`  go: ${go}`);
      status = await waitForState(read, (st) => st.stage === 'monitor' || ENDED.includes(st.state), ctx.log);
      if (status.stage === 'monitor') {
        traffic = await withApi(ctx, async (api) => {
          const t = await replayTraffic({ base: api.url, environment: ctx.environment, ...MONITOR_TRAFFIC });
          await api.flush(); // hit counts and the query log are what the production gates measure
          return t;
        });
        for (const line of formatTraffic(traffic as Awaited<ReturnType<typeof replayTraffic>>)) ctx.log(`  production traffic: ${line}`);
      }
      status = await waitForState(read, (st) => st.state === 'awaiting-confirmation' || ENDED.includes(st.state), ctx.log);
      for (const g of status.gates.production ?? []) ctx.log(`    ${g.status.padEnd(12)} ${g.gate}: ${g.detail}`);
      if (status.state === 'awaiting-confirmation') {
        // Never a silent pass: the rehearsal confirms on the record, naming what it accepts.
        const open = status.monitorEnd?.inconclusive.join(', ');
        const reason = `rehearsal: ${open} had no data in the ${formatDuration(input.monitor.windowMs)} window; accepted for the demo only`;
        ctx.log(`  confirm (signed): ${await handle.executeUpdate(confirmUpdate, { args: [sign('confirm', { by: lead.by, reason }, lead.key)] })}`);
        status = await waitForState(read, (st) => ENDED.includes(st.state), ctx.log);
      }
    }
    ctx.log(`  rollout ${release}: ${status.state}${status.confirmation ? ` (confirmed by ${status.confirmation.by}: ${status.confirmation.reason})` : ''}`);
    ctx.report.rollout = {
      release,
      workflowId: handle.workflowId,
      state: status.state,
      stage: status.stage,
      gates: status.gates,
      decision: status.decision,
      confirmation: status.confirmation,
      overrides: status.overrides,
      monitorTraffic: traffic,
    };
  },
};

const reportStep: DemoStep = {
  name: 'report',
  title: 'Charts of the cycle (HTML with inline SVG)',
  async run(ctx) {
    const { pool } = ctx.services!;
    const run = ctx.forecastRun!;
    const skuMape = await runSkuMape(pool, ctx.environment, run.runId);
    const batches = await runBatchDurations(pool, run.runId);
    const traffic = ctx.report.trafficPrefetch as { before: { hitRate: number | null }; after: { hitRate: number | null } } | undefined;
    const hybrid = ctx.report.hybrid as { shadow?: ShadowComparison } | undefined;
    const rollout = ctx.report.rollout as { gates: Record<string, { gate: string; status: string; detail: string }[]> } | undefined;
    const html = renderCycleReport({
      title: `Forecast cycle ${run.runDate} (${ctx.environment})`,
      skuMape,
      outlierThreshold: (await getEnvironmentConfig(pool, ctx.environment)).OUTLIER_MAPE_THRESHOLD,
      batches,
      batchDelayMs: run.batchDelayMs,
      hitRates: traffic ? [{ label: 'day 1', rate: traffic.before.hitRate }, { label: 'day 2, after prefetch', rate: traffic.after.hitRate }] : [],
      gates: Object.entries(rollout?.gates ?? {}).flatMap(([environment, gs]) => gs.map((g) => ({ environment, ...g }))),
      // The P3 rehearsal's shadow A/B: MAPE and outliers per demand class, before (Prophet-only) and after (hybrid).
      figures: hybrid?.shadow ? shadowFigures(hybrid.shadow) : [],
    });
    const file = join(STATE_DIR, 'demo-report.html');
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(file, html);
    ctx.log(`  wrote ${file}`);
    ctx.report.htmlReport = file;
  },
};

export const cycleDemoSteps: DemoStep[] = [schedulesStep, trafficPrefetchStep, deployHookStep, rolloutStep, hybridStep, reportStep];
