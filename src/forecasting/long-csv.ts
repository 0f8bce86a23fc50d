import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { isValidIsoDate } from './dates';

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
 * Streams a long CSV record by record (never buffering the whole file) and yields valid rows.
 * Fields follow RFC 4180: a quoted field may hold commas, newlines and doubled quotes ("" -> ").
 * Every bad row (bad date, negative or non-numeric quantity, duplicate key, an id `checkId`
 * refuses) is collected; when the stream ends with problems, or without a data row, a
 * CsvFormatError listing them with line numbers is thrown, so a caller that writes inside a
 * transaction can refuse the file whole.
 */
export async function* readLongCsv(
  input: Readable,
  source = 'input',
  opts: { checkId?: (id: string) => string | undefined } = {},
): AsyncGenerator<LongRow> {
  const records = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true, // a wrong column count is reported per row below
    relax_quotes: true, // a quote inside an unquoted field is kept, as before
    record_delimiter: ['\r\n', '\n'],
    info: true,
  });
  input.once('error', (err) => records.destroy(err));
  input.pipe(records);
  const problems: RowProblem[] = [];
  const seen = new Set<string>();
  let header = false;
  let dataRows = 0;
  try {
    for await (const { record, info } of records as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      // info.lines is where the record ends; a quoted field may span lines.
      const lineNo = info.lines - record.reduce((n, c) => n + (c.match(/\n/g)?.length ?? 0), 0);
      if (!header) {
        const text = record.join(',').toLowerCase().replace(/\s+/g, '');
        if (!HEADERS[text]) {
          throw new CsvFormatError(source, [
            { line: lineNo, message: `header must be "unique_id,ds,y" or "sku,date,quantity", got "${record.join(',').slice(0, 80)}"` },
          ]);
        }
        header = true;
        continue;
      }
      if (record.length === 1 && record[0] === '') continue; // a line of spaces
      dataRows++;
      const cells = record;
      if (cells.length !== 3) {
        problems.push({ line: lineNo, message: `expected 3 columns, got ${cells.length}` });
        continue;
      }
      const [id, ds, yText] = cells;
      const y = Number(yText);
      const idProblem = id === '' ? 'empty SKU id' : opts.checkId?.(id);
      if (idProblem) problems.push({ line: lineNo, message: idProblem });
      else if (!isValidIsoDate(ds)) problems.push({ line: lineNo, message: `bad date "${cells[1].slice(0, 40)}" (want YYYY-MM-DD)` });
      else if (yText === '' || !Number.isFinite(y)) problems.push({ line: lineNo, message: `non-numeric quantity "${yText.slice(0, 40)}"` });
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
  } catch (err) {
    // Broken quoting (a quoted field never closed) ends parsing: report it with what was found so far.
    if (err instanceof CsvError) throw new CsvFormatError(source, [...problems, { line: Number(err.lines), message: `bad quoting: ${err.message}` }]);
    throw err;
  }
  if (!header) throw new CsvFormatError(source, [{ line: 1, message: 'empty file (no header)' }]);
  if (dataRows === 0) throw new CsvFormatError(source, [{ line: 2, message: 'no data rows after the header' }]);
  if (problems.length > 0) throw new CsvFormatError(source, problems);
}
