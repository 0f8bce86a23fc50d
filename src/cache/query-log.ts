import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { insertQueryLog } from '../db/query-log';

/**
 * The query log the prefetch analyses: each served forecast query, written in batches in the
 * background (never on the response path), and the plan's top-N analysis over it.
 */

export interface QueryLogEntry {
  environment: string;
  sku: string;
  horizon: number;
  durationMs: number;
  cacheHit: boolean;
  at: Date;
}

export function queryHash(environment: string, sku: string, horizon: number): string {
  return createHash('sha1').update(`${environment}\n${sku}\n${horizon}`).digest('hex').slice(0, 16);
}

export function queryPattern(environment: string, sku: string, horizon: number): string {
  return `GET /api/v1/forecasts/${sku}?env=${environment}&horizon=${horizon}`;
}

/**
 * Buffers query-log entries and writes them in batches off the response path. A failed write (the
 * database briefly unreachable) puts its batch back, in order, and the next flush retries it, like
 * the cache statistics. Memory is bounded: entries waiting or in flight never exceed maxBuffer;
 * past that new entries are dropped and counted (onDrop, the API's Prometheus counter).
 */
export class QueryLogWriter {
  private buffer: QueryLogEntry[] = [];
  private inFlight = 0;
  private dropped = 0;
  private failing = false;
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    private readonly opts: {
      flushMs?: number;
      maxBatch?: number;
      maxBuffer?: number;
      log?: (line: string) => void;
      onDrop?: (count: number) => void;
    } = {},
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
    this.timer.unref();
  }

  /** Entries waiting to be written (buffered or in flight). */
  get pending(): number {
    return this.buffer.length + this.inFlight;
  }

  add(entry: QueryLogEntry): void {
    if (this.pending >= (this.opts.maxBuffer ?? 50_000)) {
      if (this.dropped++ === 0) this.opts.log?.('[query-log] buffer full: dropping entries until the database catches up');
      this.opts.onDrop?.(1);
      return;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= (this.opts.maxBatch ?? 1000)) void this.flush();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    while (this.buffer.length) {
      const batch = this.buffer.splice(0, this.opts.maxBatch ?? 1000);
      this.inFlight = batch.length;
      try {
        await insertQueryLog(this.pool, batch.map((e) => ({ ...e, hash: queryHash(e.environment, e.sku, e.horizon), pattern: queryPattern(e.environment, e.sku, e.horizon) })));
        if (this.failing || this.dropped) {
          this.opts.log?.(`[query-log] writing again${this.dropped ? `; ${this.dropped} entries were dropped while the buffer was full` : ''}`);
          this.failing = false;
          this.dropped = 0;
        }
      } catch (err) {
        // Kept for the next flush (the timer retries); logged once per outage, not every second.
        this.buffer.unshift(...batch);
        if (!this.failing) this.opts.log?.(`[query-log] write failed (${(err as Error).message}); ${this.buffer.length} entries kept for retry`);
        this.failing = true;
        return;
      } finally {
        this.inFlight = 0;
      }
    }
  }

  /** Stops the timer and writes what is buffered; what the database still refuses then is reported lost. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.buffer.length) this.opts.log?.(`[query-log] closing with the database unreachable: ${this.buffer.length} entries not written`);
  }
}
