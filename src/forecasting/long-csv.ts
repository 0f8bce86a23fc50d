import { isValidIsoDate } from './dates';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** One row of a long-format demand file: `unique_id,ds,y` or `sku,date,quantity`. */
export interface LongRow {
  id: string;
  ds: string;
  y: number;
  line: number;
}

export interface RowProblem {
  line: number;
  message: string;
}

export class CsvFormatError extends Error {
  constructor(
    readonly source: string,
    readonly problems: RowProblem[],
  ) {
    const shown = problems.slice(0, 20).map((p) => `  line ${p.line}: ${p.message}`);
    const more = problems.length > 20 ? [`  ... and ${problems.length - 20} more`] : [];
    super([`${source}: ${problems.length} bad row(s), nothing imported`, ...shown, ...more].join('\n'));
    this.name = 'CsvFormatError';
  }
}

const HEADERS: Record<string, [string, string, string]> = {
  'unique_id,ds,y': ['unique_id', 'ds', 'y'],
  'sku,date,quantity': ['sku', 'date', 'quantity'],
};

export { isValidIsoDate };

/**
 * Streams a long CSV line by line (never buffering the whole file) and yields valid rows.
 * Every bad row (bad date, negative or non-numeric quantity, duplicate key) is collected; when the
 * stream ends with problems, a CsvFormatError listing them with line numbers is thrown, so a caller
 * that writes inside a transaction can refuse the file whole.
 */
export async function* readLongCsv(input: Readable, source = 'input'): AsyncGenerator<LongRow> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  const problems: RowProblem[] = [];
  const seen = new Set<string>();
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim();
    if (lineNo === 1) {
      const header = text.replace(/^\uFEFF/, '').toLowerCase().replace(/\s+/g, '');
      if (!HEADERS[header]) {
        throw new CsvFormatError(source, [
          { line: 1, message: `header must be "unique_id,ds,y" or "sku,date,quantity", got "${text}"` },
        ]);
      }
      continue;
    }
    if (text === '') continue;
    const cells = text.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (cells.length !== 3) {
      problems.push({ line: lineNo, message: `expected 3 columns, got ${cells.length}` });
      continue;
    }
    const [id, ds, yText] = cells;
    const y = Number(yText);
    if (id === '') problems.push({ line: lineNo, message: 'empty SKU id' });
    else if (!isValidIsoDate(ds)) problems.push({ line: lineNo, message: `bad date "${ds}" (want YYYY-MM-DD)` });
    else if (yText === '' || !Number.isFinite(y)) problems.push({ line: lineNo, message: `non-numeric quantity "${yText}"` });
    else if (y < 0) problems.push({ line: lineNo, message: `negative quantity ${y}` });
    else {
      const key = `${id}\u0000${ds}`;
      if (seen.has(key)) problems.push({ line: lineNo, message: `duplicate key (${id}, ${ds})` });
      else {
        seen.add(key);
        if (problems.length === 0) yield { id, ds, y, line: lineNo };
      }
    }
  }
  if (lineNo === 0) throw new CsvFormatError(source, [{ line: 1, message: 'empty file (no header)' }]);
  if (problems.length > 0) throw new CsvFormatError(source, problems);
}
