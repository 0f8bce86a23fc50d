import { parseEnvironment } from '../../config/schema';
import { assignmentHistory, servedModels, writeAssignments } from '../../db/model-assignments';
import { parseServes } from '../../forecasting/serves';
import { withDatabase } from '../services';

/** `neuro models`: what serves each SKU (its assignment, else the environment's policy), and changing it. */


export async function modelsList(opts: { env: string; sku?: string; json?: boolean }): Promise<void> {
  const environment = parseEnvironment(opts.env);
  const rows = await withDatabase((pool) => servedModels(pool, environment, opts.sku));
  if (opts.sku && !rows.length) throw new RangeError(`--sku: unknown SKU "${opts.sku}"`);
  if (opts.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const assigned = rows.filter((r) => r.source === 'assignment').length;
  console.log(`${environment}: ${rows.length} SKUs, ${assigned} by assignment, ${rows.length - assigned} by the environment's policy`);
  for (const r of rows) {
    const by = r.source === 'assignment' ? `assignment${r.cohort ? ` cohort ${r.cohort}` : ''}${r.release ? ` release ${r.release}` : ''} since ${r.since}` : 'policy';
    console.log(`${r.sku.padEnd(24)} ${(r.model ?? '(no forecast yet)').padEnd(18)} ${by}`);
  }
}

export async function modelsAssign(skus: string[], opts: { env: string; serves: string; cohort?: string; by: string; reason?: string }): Promise<void> {
  const environment = parseEnvironment(opts.env);
  const serves = parseServes(opts.serves, '--serves');
  const { changed, unchanged } = await withDatabase((pool) =>
    writeAssignments(pool, { environment, changes: skus.map((sku) => ({ sku, serves, cohort: opts.cohort ?? null })), by: opts.by, reason: opts.reason }),
  );
  console.log(`${environment}: ${changed} SKU(s) now served by ${serves}${opts.cohort ? ` (cohort ${opts.cohort})` : ''}${unchanged ? `, ${unchanged} already were` : ''}`);
}

export async function modelsUnassign(skus: string[], opts: { env: string; by: string; reason?: string }): Promise<void> {
  const environment = parseEnvironment(opts.env);
  const { changed, unchanged } = await withDatabase((pool) => writeAssignments(pool, { environment, changes: skus.map((sku) => ({ sku, serves: null })), by: opts.by, reason: opts.reason }));
  console.log(`${environment}: ${changed} SKU(s) back on the environment's policy${unchanged ? `, ${unchanged} had no assignment` : ''}`);
}

export async function modelsHistory(opts: { env: string; sku?: string; limit: number }): Promise<void> {
  const environment = parseEnvironment(opts.env);
  const rows = await withDatabase((pool) => assignmentHistory(pool, environment, opts.sku, opts.limit));
  if (!rows.length) console.log(`no assignment changes recorded for ${environment}${opts.sku ? ` ${opts.sku}` : ''}`);
  const show = (serves: string | null, cohort: string | null) => (serves === null ? 'policy' : `${serves}${cohort ? ` [${cohort}]` : ''}`);
  for (const r of rows) {
    console.log(`${r.changedAt}  ${r.sku}: ${show(r.oldServes, r.oldCohort)} -> ${show(r.newServes, r.newCohort)}  by ${r.changedBy}${r.release ? ` (${r.release})` : ''}${r.reason ? `: ${r.reason}` : ''}`);
  }
}
