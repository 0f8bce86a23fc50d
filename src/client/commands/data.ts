import { createWriteStream } from 'node:fs';
import { generateIntoDatabase, importCsv, startDateFor } from '../../db/catalogue';
import { generateCatalogue } from '../../forecasting/synthetic';
import { openDatabase } from '../services';

/** Prints a progress line at most every 500 ms, and always the last one. */
function progressLines(label: string) {
  let last = 0;
  return (text: string, final = false) => {
    const now = Date.now();
    if (final || now - last > 500) {
      last = now;
      process.stderr.write(`${label}: ${text}\n`);
    }
  };
}

export async function generateCommand(opts: { skus: number; days: number; seed: number; end?: string; csv?: string }): Promise<void> {
  if (opts.csv) {
    const start = startDateFor(opts.days, opts.end);
    const out = createWriteStream(opts.csv);
    out.write('unique_id,ds,y\n');
    const base = Date.parse(`${start}T00:00:00Z`);
    for (const s of generateCatalogue({ skus: opts.skus, days: opts.days, seed: opts.seed, start })) {
      let text = '';
      for (let i = 0; i < s.y.length; i++) text += `${s.id},${new Date(base + i * 86_400_000).toISOString().slice(0, 10)},${s.y[i]}\n`;
      if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    console.log(`wrote ${opts.skus} SKUs x ${opts.days} days to ${opts.csv}`);
    return;
  }
  const db = await openDatabase();
  try {
    console.log(db.description);
    const show = progressLines('generate');
    const r = await generateIntoDatabase(db.pool, opts, (done, total) => show(`${done}/${total} SKUs`, done === total));
    console.log(`generated ${r.skus} SKUs, ${r.rows} daily sales rows from ${r.start} (seed ${opts.seed})`);
  } finally {
    await db.stop();
  }
}

export async function importCommand(file: string): Promise<void> {
  const db = await openDatabase();
  try {
    console.log(db.description);
    const show = progressLines('import');
    const r = await importCsv(db.pool, file, (read, total, rows) =>
      show(`${((100 * read) / Math.max(total, 1)).toFixed(0)}% (${rows} rows)`, read >= total),
    );
    console.log(`imported ${r.rows} rows for ${r.skus} SKUs from ${file}`);
  } finally {
    await db.stop();
  }
}

