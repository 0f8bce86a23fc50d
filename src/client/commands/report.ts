import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Pool } from 'pg';
import { parseEnvironment } from '../../config/schema';
import { getDailySnapshot, loadOpsReport } from '../../db/ops';
import { getRelease, listReleases } from '../../db/rollouts';
import { renderOpsReport, renderSnapshotHtml } from '../../ops/report';
import { renderChangelog } from '../../rollout/report';
import { checkDay } from '../../activities/ops';
import { openDatabase } from '../services';

/**
 * `neuro report`: the ops report (HTML charts of the last N days, OPS_REPORT_<env>.html) and, when
 * there is a release record, that release's POST_DEPLOYMENT_REPORT and the CHANGELOG_ops, all from
 * PostgreSQL. `neuro report daily` prints a stored daily snapshot.
 */

export async function writeReport(pool: Pool, o: { release?: string; out: string }): Promise<string[]> {
  const release = await getRelease(pool, o.release);
  if (!release) throw new Error(o.release ? `no release record for "${o.release}" (a rollout writes it when it finishes)` : 'no release records yet');
  const dir = resolve(o.out);
  mkdirSync(dir, { recursive: true });
  const reportFile = join(dir, `POST_DEPLOYMENT_REPORT_${release.release.replace(/[^A-Za-z0-9._-]/g, '_')}.md`);
  const changelogFile = join(dir, 'CHANGELOG_ops.md');
  writeFileSync(reportFile, release.report);
  writeFileSync(changelogFile, renderChangelog((await listReleases(pool)).map((r) => r.changelog)));
  return [reportFile, changelogFile];
}

export function parseDays(v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 90) throw new Error(`--days: ${v} refused: must be a whole number of days, 1..90`);
  return v;
}

export async function writeOpsReport(pool: Pool, o: { env: string; days: number; out: string }): Promise<string> {
  const environment = parseEnvironment(o.env);
  const html = renderOpsReport(await loadOpsReport(pool, environment, parseDays(o.days)));
  const dir = resolve(o.out);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `OPS_REPORT_${environment}.html`);
  writeFileSync(file, html);
  return file;
}

export async function reportCommand(
  o: { release?: string; out: string; env: string; days: number },
  out: (line: string) => void = console.log,
): Promise<void> {
  parseEnvironment(o.env);
  parseDays(o.days);
  const db = await openDatabase();
  try {
    out(`wrote ${await writeOpsReport(db.pool, o)}`);
    // The release files need a release record: asked for by name (then it must exist), else the latest if any.
    if (o.release || (await getRelease(db.pool))) for (const f of await writeReport(db.pool, o)) out(`wrote ${f}`);
    else out('no release records yet: no POST_DEPLOYMENT_REPORT written');
  } finally {
    await db.stop();
  }
}

/** `neuro report daily --env E --date D [--format md|html]`: a stored snapshot to stdout. */
export async function reportDailyCommand(o: { env: string; date: string; format: string }, out: (text: string) => void = (t) => process.stdout.write(t)): Promise<void> {
  const environment = parseEnvironment(o.env);
  const day = checkDay(o.date);
  if (o.format !== 'md' && o.format !== 'html') throw new Error(`--format: "${o.format}" refused: must be md or html`);
  const db = await openDatabase();
  try {
    const s = await getDailySnapshot(db.pool, environment, day);
    if (!s) throw new Error(`no daily snapshot for ${environment} on ${day} (the daily-snapshot schedule writes one at 03:00 UTC for the day before)`);
    out(o.format === 'html' ? renderSnapshotHtml(s.data) : `${s.markdown}\n`);
  } finally {
    await db.stop();
  }
}
