import type { Readable } from 'node:stream';
import { dayToIso, inferFrequency, isoToDay } from './dates';
import { readLongCsv } from './long-csv';
import type { SeriesInput } from './types';

/**
 * Reads a long CSV (`unique_id,ds,y` or `sku,date,quantity`) into one series per SKU, in order of
 * first appearance, each sorted by date with its frequency inferred (daily or weekly). Rows may
 * come in any order; a gap or an irregular step is a ForecastInputError naming the SKU.
 */
export async function readSeriesCsv(input: Readable, source = 'input'): Promise<SeriesInput[]> {
  const groups = new Map<string, { days: number[]; y: number[] }>();
  for await (const row of readLongCsv(input, source)) {
    let g = groups.get(row.id);
    if (!g) groups.set(row.id, (g = { days: [], y: [] }));
    g.days.push(isoToDay(row.ds));
    g.y.push(row.y);
  }
  const out: SeriesInput[] = [];
  for (const [id, g] of groups) {
    const order = g.days.map((_, i) => i).sort((a, b) => g.days[a] - g.days[b]);
    const days = order.map((i) => g.days[i]);
    const freqDays = inferFrequency(id, days);
    out.push({ id, start: dayToIso(days[0]), freqDays, y: Float64Array.from(order, (i) => g.y[i]) });
  }
  return out;
}
