import { infraFromEnv, parseEnvironment } from '../../config/schema';
import type { PrefetchResult } from '../../workflows/prefetch';
import { connectTemporal } from '../services';
import { startPrefetch } from '../starters';

export function describePrefetch(r: PrefetchResult): string {
  if (r.status === 'skipped') return `prefetch ${r.prefetchId}: skipped (${r.reason})`;
  if (r.status === 'no-forecasts') return `prefetch ${r.prefetchId}: no forecast run yet in ${r.environment}; nothing to warm`;
  return (
    `prefetch ${r.prefetchId}: warmed ${r.keysWarmed} keys (${r.topKeys} of ${r.queries} top queries, topN ${r.topN}` +
    `${r.includeRecent ? ' + last 24 h' : ''}; ${r.patternKeys} from pattern expansion, horizons ` +
    `${r.patternHorizons.length ? r.patternHorizons.join('/') : 'none'} for the top ${r.patternSkus ?? 0} SKUs) in ${Math.round(r.durationMs)} ms, memory ${r.memoryImpactPct >= 0 ? '+' : ''}${r.memoryImpactPct.toFixed(4)}% of the memory limit`
  );
}

/** `neuro prefetch run`: a prefetch now. */
export async function prefetchRun(opts: { env: string; topN?: number; wait?: boolean }): Promise<void> {
  const environment = parseEnvironment(opts.env);
  if (opts.topN !== undefined && (!Number.isInteger(opts.topN) || opts.topN < 1)) throw new Error(`--top-n must be a whole number >= 1, got ${opts.topN}`);
  const temporal = await connectTemporal();
  try {
    const handle = await startPrefetch(temporal.client, { environment, trigger: 'manual', topN: opts.topN }, infraFromEnv().taskQueue);
    console.log(`started prefetch workflow ${handle.workflowId}`);
    if (opts.wait) console.log(describePrefetch(await handle.result()));
  } finally {
    await temporal.close();
  }
}
