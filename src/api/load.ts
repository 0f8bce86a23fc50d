import { Agent, request } from 'node:http';

/**
 * A small, bounded HTTP load loop over keep-alive connections: requests go out at their planned
 * times (open loop), at most `concurrency` in flight; a request that would exceed it is counted
 * as dropped rather than queued, so a slow server cannot make the client's memory grow.
 */

export interface Planned<T> {
  path: string;
  /** ms after the start of the replay. */
  atMs: number;
  tag: T;
}

export interface Outcome<T> {
  tag: T;
  status: number;
  /** x-cache header: 'hit' | 'miss' | null. */
  cache: string | null;
  ms: number;
  error?: string;
}

export function get(agent: Agent, url: URL, timeoutMs = 5000): Promise<{ status: number; cache: string | null; ms: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, cache: (res.headers['x-cache'] as string) ?? null, ms: Number(process.hrtime.bigint() - started) / 1e6 }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function replay<T>(
  baseUrl: string,
  plan: Planned<T>[],
  opts: { concurrency?: number; onOutcome?: (o: Outcome<T>) => void } = {},
): Promise<{ outcomes: Outcome<T>[]; dropped: number; elapsedMs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 64 });
  const limit = opts.concurrency ?? 64;
  const outcomes: Outcome<T>[] = [];
  let inFlight = 0;
  let dropped = 0;
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  try {
    for (let i = 0; i < plan.length; ) {
      const now = performance.now() - started;
      while (i < plan.length && plan[i].atMs <= now) {
        const p = plan[i++];
        if (inFlight >= limit) {
          dropped++;
          continue;
        }
        inFlight++;
        const done = get(agent, new URL(p.path, baseUrl))
          .then(
            (r) => ({ tag: p.tag, ...r }),
            (err: Error) => ({ tag: p.tag, status: 0, cache: null, ms: 0, error: err.message }),
          )
          .then((o) => {
            outcomes.push(o);
            opts.onOutcome?.(o);
            inFlight--;
          });
        pending.add(done);
        void done.finally(() => pending.delete(done));
      }
      // Wake at most 1 ms late, so an open loop at 1,000 req/s sends about one request per tick, not bursts.
      if (i < plan.length) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(1, plan[i].atMs - (performance.now() - started)))));
    }
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  return { outcomes, dropped, elapsedMs: performance.now() - started };
}

export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
