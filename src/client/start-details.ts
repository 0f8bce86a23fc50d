import { formatDuration } from '../rollout/input';
import type { RolloutInput } from '../rollout/types';
import type { ForecastRunInput } from '../workflows/forecast-run';
import { overrideLine } from '../workflows/rollout-details';

/**
 * The static summary and details each starter gives its workflow: what the Temporal Web UI's
 * workflow list and header show before anyone opens the history (markdown, one line for summaries).
 */

export function forecastRunSummary(environment: string, runDate: string, trigger: string): string {
  return `forecast ${environment} ${runDate} (${trigger})`;
}

/** The run's settings: what differs from the environment's configuration. */
export function forecastRunDetails(input: ForecastRunInput): string {
  const o = [
    input.batchSize !== undefined && `batch size ${input.batchSize}`,
    input.delayMs !== undefined && `batch delay ${input.delayMs} ms`,
    input.horizon !== undefined && `horizon ${input.horizon} days`,
    input.policy && `policy ${input.policy}`,
    input.maxParallel !== undefined && `${input.maxParallel} batches at once`,
    input.skus && `${input.skus.length} SKUs`,
    input.preload === false && 'no cache preload',
    input.accuracy && input.accuracy !== 'backtest' && `accuracy: ${input.accuracy}`,
  ].filter(Boolean);
  return o.length
    ? `Overrides: ${o.join(', ')}; the rest from the environment's configuration.`
    : "Settings from the environment's configuration (STREAMING_BATCH_DELAY_MS read before each gap).";
}

export function rolloutSummary(input: RolloutInput): string {
  return `rollout ${input.release}: ${input.description}`;
}

/** The change set, the plan's windows, gates and sign-offs. */
export function rolloutDetails(input: RolloutInput): string {
  const gates = input.gates.map(
    (g) => `${g.gate} ${g.comparator} ${g.threshold}${g.baselineFactor ? ` (and x${+g.baselineFactor.toFixed(3)} of baseline)` : ''}${g.mustHaveData === false ? ' (may end without data)' : ''}`,
  );
  const overrides = (input.overrides ?? []).map(overrideLine);
  return [
    `**Changes**: ${Object.entries(input.changes).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')} (author ${input.author}${input.plan ? `, plan ${input.plan}` : ''})`,
    `**Staging**: ${input.validation.cycles} forecast cycles over a ${formatDuration(input.validation.soakMs)} soak, checks every ${formatDuration(input.validation.checkIntervalMs)}`,
    `**Gates**: ${gates.join('; ') || 'none'}`,
    ...(overrides.length ? [`**Gate overrides**: ${overrides.join('; ')}`] : []),
    `**Sign-offs**: ${input.signOffs.join(', ') || 'none'}, then GO within ${formatDuration(input.approvalTimeoutMs)}`,
    `**Production**: monitored for ${formatDuration(input.monitor.windowMs)}; any breached gate or a rollback signal restores every changed key; gates still inconclusive at the end wait for confirm (${formatDuration(input.confirmTimeoutMs ?? 86_400_000)}, then rollback)`,
  ].join('\n\n');
}
