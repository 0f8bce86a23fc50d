import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Pool } from 'pg';
import { getRelease, listReleases } from '../../db/rollouts';
import { renderChangelog } from '../../rollout/report';
import { openDatabase } from '../services';

/** `neuro report`: writes a release's POST_DEPLOYMENT_REPORT and the CHANGELOG_ops from PostgreSQL. */

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

export async function reportCommand(o: { release?: string; out: string }, out: (line: string) => void = console.log): Promise<void> {
  const db = await openDatabase();
  try {
    for (const f of await writeReport(db.pool, o)) out(`wrote ${f}`);
  } finally {
    await db.stop();
  }
}
