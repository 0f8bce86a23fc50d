import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * GC pauses of this process while a piece of work runs (a forecast batch): count, total and
 * longest pause, from perf_hooks 'gc' entries. The observer is process-wide, so two batches
 * running at once in one process both see every pause in their time.
 */

export interface GcStats {
  count: number;
  totalMs: number;
  maxMs: number;
}

export function gcRecorder(): { stop(): GcStats } {
  const stats: GcStats = { count: 0, totalMs: 0, maxMs: 0 };
  const add = (entries: PerformanceEntry[]) => {
    for (const e of entries) {
      stats.count++;
      stats.totalMs += e.duration;
      if (e.duration > stats.maxMs) stats.maxMs = e.duration;
    }
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop(): GcStats {
      add(observer.takeRecords()); // entries not yet delivered to the callback
      observer.disconnect();
      return stats;
    },
  };
}
