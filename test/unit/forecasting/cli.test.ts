import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runBacktestCli } from '../../../src/client/commands/backtest';
import { runForecastFile } from '../../../src/client/commands/forecast-file';

const dir = mkdtempSync(join(tmpdir(), 'forecast-cli-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
async function capture(fn: (out: PassThrough) => Promise<void>): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await fn(out);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

const days = (n: number, start = Date.UTC(2024, 0, 1)) => Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
// rows deliberately out of date order; B is weekly
const daily = days(30).map((d, i) => `A,${d},${i % 3 === 0 ? 0 : 2}`).reverse();
const weekly = Array.from({ length: 10 }, (_, i) => `B,${new Date(Date.UTC(2024, 0, 1 + 7 * i)).toISOString().slice(0, 10)},${5 + (i % 2)}`);
const longCsv = file('long.csv', ['unique_id,ds,y', ...daily, ...weekly].join('\n') + '\n');

describe('runForecastFile', () => {
  test('writes unique_id,ds,<model> continuing each frequency', async () => {
    const text = await capture((out) => runForecastFile({ input: longCsv, model: 'CrostonClassic', horizon: 3 }, out));
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('unique_id,ds,CrostonClassic');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual([
      'A,2024-01-31', 'A,2024-02-01', 'A,2024-02-02', 'B,2024-03-11', 'B,2024-03-18', 'B,2024-03-25',
    ]);
    expect(Number(lines[1].split(',')[2])).toBeGreaterThan(0);
  });
  test('sku,date,quantity header and model options', async () => {
    const p = file('skus.csv', ['sku,date,quantity', ...days(10).map((d, i) => `X,${d},${i}`)].join('\n'));
    const text = await capture((out) => runForecastFile({ input: p, model: 'SES', horizon: 1, alpha: 1 }, out));
    expect(text).toBe('unique_id,ds,SES\nX,2024-01-11,9\n');
  });
  test('a gap is an error naming the SKU, and nothing is written', async () => {
    const p = file('gap.csv', 'unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,1\nA,2024-01-05,1\n');
    let text = '';
    await expect(capture(async (out) => {
      out.on('data', (c: Buffer) => (text += c.toString()));
      await runForecastFile({ input: p, model: 'Naive', horizon: 2 }, out);
    })).rejects.toThrow(/SKU A: irregular daily dates/);
    expect(text).toBe('');
  });
  test('--level adds statsforecast-named interval columns', async () => {
    const text = await capture((out) => runForecastFile({ input: longCsv, model: 'SESOptimized', horizon: 2, level: ['95', '80'] }, out));
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('unique_id,ds,SESOptimized,SESOptimized-lo-95,SESOptimized-lo-80,SESOptimized-hi-80,SESOptimized-hi-95');
    expect(lines).toHaveLength(5);
    for (const l of lines.slice(1)) {
      const [m, lo95, lo80, hi80, hi95] = l.split(',').slice(2).map(Number);
      expect(lo95).toBeLessThanOrEqual(lo80);
      expect(lo80).toBeLessThanOrEqual(m);
      expect(m).toBeLessThanOrEqual(hi80);
      expect(hi80).toBeLessThanOrEqual(hi95);
    }
  });
  test.each(['0', '100', '150', 'abc'])('--level %p is refused naming the flag, nothing written', async (v) => {
    let text = '';
    await expect(capture(async (out) => {
      out.on('data', (c: Buffer) => (text += c.toString()));
      await runForecastFile({ input: longCsv, model: 'Naive', horizon: 2, level: ['80', v] }, out);
    })).rejects.toThrow(new RegExp(`--level must be a number strictly between 0 and 100.*"${v}"`));
    expect(text).toBe('');
  });
  test('--n-windows below 2 is refused', async () => {
    await expect(capture((out) => runForecastFile({ input: longCsv, model: 'Naive', horizon: 2, level: ['80'], nWindows: 1 }, out))).rejects.toThrow(/--n-windows/);
  });
  test('unknown model', async () => {
    await expect(capture((out) => runForecastFile({ input: longCsv, model: 'Arima', horizon: 2 }, out))).rejects.toThrow(/unknown model "Arima"/);
  });
});

describe('runBacktestCli', () => {
  test('JSON with a model', async () => {
    const text = await capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, model: 'Naive', format: 'json' }, out));
    const doc = JSON.parse(text);
    expect(doc.model).toBe('Naive');
    expect(Object.keys(doc.summary)).toEqual(expect.arrayContaining(['mape', 'wape', 'mase', 'rmsse', 'totalWape', 'outlierMetric', 'outlierCount', 'avgOutlierMape']));
    expect(doc.summary.outlierMetric).toBe('mape');
    expect(doc.skus.map((s: { id: string }) => s.id)).toEqual(['A', 'B']);
    expect(Object.keys(doc.skus[0])).toEqual(expect.arrayContaining(['id', 'class', 'model', 'mape', 'wape', 'mase']));
  });
  test('JSON with a policy (default plan)', async () => {
    const doc = JSON.parse(await capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, format: 'json' }, out)));
    expect(doc.policy).toBe('plan');
    expect(doc.summary.skus).toBe(2);
  });
  test('CSV', async () => {
    const text = await capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, policy: 'sbc', format: 'csv' }, out));
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('unique_id,class,model,mape,wape,mase,rmsse,total_wape,outlier');
    expect(lines).toHaveLength(3);
  });
  test('levels: coverage per level in the summary; outlier metric recorded', async () => {
    const doc = JSON.parse(await capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, model: 'Ensemble', format: 'json', level: ['80,95'], outlierMetric: 'rmsse' }, out)));
    expect(doc.model).toBe('Ensemble');
    expect(Object.keys(doc.summary.coverage)).toEqual(['80', '95']);
    expect(doc.summary.outlierMetric).toBe('rmsse');
    expect(doc.summary.outlierThreshold).toBe(1);
    await expect(capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, format: 'json', outlierMetric: 'mae' }, out))).rejects.toThrow(/--outlier-metric/);
  });
  test('class-best records the per-class table', async () => {
    const doc = JSON.parse(await capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, policy: 'class-best', format: 'json' }, out)));
    expect(Object.keys(doc.summary.classChoices)).toEqual(['smooth', 'erratic', 'intermittent', 'lumpy']);
  });
  test('bad policy and format', async () => {
    await expect(capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, policy: 'best', format: 'json' }, out))).rejects.toThrow(/unknown policy/);
    await expect(capture((out) => runBacktestCli({ input: longCsv, horizon: 2, windows: 2, format: 'xml' }, out))).rejects.toThrow(/--format/);
  });
});
