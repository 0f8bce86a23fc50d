/**
 * A small terminal progress bar. On a TTY it redraws one line in place; elsewhere (CI logs, pipes)
 * it prints a plain line when the count changes, at most once per `minIntervalMs`, so logs stay short.
 */
export interface ProgressOptions {
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  width?: number;
  minIntervalMs?: number;
  /** Printed before the bar, e.g. "forecastRun". */
  label?: string;
}

export class ProgressBar {
  private readonly out: NonNullable<ProgressOptions['out']>;
  private readonly width: number;
  private readonly minIntervalMs: number;
  private readonly label: string;
  private lastLine = '';
  private lastDone = -1;
  private lastPrintAt = 0;
  private drawn = false;

  constructor(opts: ProgressOptions = {}) {
    this.out = opts.out ?? process.stderr;
    this.width = opts.width ?? 28;
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.label = opts.label ?? '';
  }

  get isTTY(): boolean {
    return Boolean(this.out.isTTY);
  }

  /** Shows done/total with an optional detail text (e.g. "batch 3/7, delay 300 ms, ETA 2 s"). */
  update(done: number, total: number, detail = ''): void {
    const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    const filled = Math.round(frac * this.width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}]`;
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const line = [this.label, bar, pct, detail].filter(Boolean).join(' ');
    if (this.isTTY) {
      if (line === this.lastLine) return;
      const cols = this.out.columns ?? 120;
      this.out.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
      this.drawn = true;
    } else {
      const now = Date.now();
      if (done === this.lastDone && now - this.lastPrintAt < this.minIntervalMs * 10) return;
      if (done !== total && now - this.lastPrintAt < this.minIntervalMs) return;
      this.out.write(`${line}\n`);
      this.lastDone = done;
      this.lastPrintAt = now;
    }
    this.lastLine = line;
  }

  /** Ends the bar's line so the next output starts on a fresh one. */
  finish(finalLine?: string): void {
    if (this.isTTY && this.drawn) this.out.write(finalLine ? `\r${finalLine}\x1b[K\n` : '\n');
    else if (finalLine) this.out.write(`${finalLine}\n`);
    this.drawn = false;
  }
}

/** 83600 -> "1 min 23.6 s", 950 -> "950 ms". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  return `${min} min ${((ms - min * 60_000) / 1000).toFixed(1)} s`;
}
