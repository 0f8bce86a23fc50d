import { Context } from '@temporalio/activity';

/**
 * Heartbeats every `intervalMs` while `fn` runs, with the latest `details`: an activity waiting on
 * the database or the cache stays alive to the server, and one whose worker died is noticed after
 * its heartbeat timeout (seconds) and retried elsewhere, not after its start-to-close timeout.
 */
export async function heartbeatWhile<T>(intervalMs: number, details: () => unknown, fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), intervalMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
