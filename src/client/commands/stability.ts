import { parseEnvironment } from '../../config/schema';
import { stabilityFor } from '../../db/ops';
import { describeStability, type StabilityReport } from '../../ops/stability';
import { parseDuration } from '../../rollout/input';
import { openDatabase, resolveInfra } from '../services';

/** `neuro stability --env E [--window 7d] [--json]`: the stability score from what PostgreSQL recorded. */

export function parseWindow(window: string): number {
  const ms = parseDuration(window, '--window');
  if (ms < 60_000) throw new Error(`--window: "${window}" refused: must be at least 1m (e.g. 24h, 7d)`);
  return ms;
}

export async function stabilityCommand(o: { env: string; window: string; json?: boolean }, out: (line: string) => void = console.log): Promise<StabilityReport> {
  const environment = parseEnvironment(o.env);
  const windowMs = parseWindow(o.window);
  const db = await openDatabase(resolveInfra());
  try {
    const to = new Date();
    const r = await stabilityFor(db.pool, environment, { from: new Date(to.getTime() - windowMs), to, label: o.window });
    if (o.json) out(JSON.stringify(r));
    else describeStability(r).forEach((line) => out(line));
    return r;
  } finally {
    await db.stop();
  }
}
