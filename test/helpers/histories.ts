import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { findTemporalCli } from '../../src/client/temporal-server';
import { testTemporalAddress } from './env';

/**
 * The one loader and recorder of replay fixtures: test/fixtures/histories/<name>.json (the Temporal
 * CLI's JSON, the format Web UI downloads use too) and index.json, which maps every fixture to the
 * workflow id it ran under (replay needs it: child workflow ids derive from it).
 */
export const HISTORIES_DIR = join(__dirname, '..', 'fixtures', 'histories');
const INDEX_FILE = join(HISTORIES_DIR, 'index.json');

type History = proto.temporal.api.history.v1.History;

function readIndex(): Record<string, string> {
  return existsSync(INDEX_FILE) ? JSON.parse(readFileSync(INDEX_FILE, 'utf8')) : {};
}

/** Every fixture file (index.json aside), sorted. */
export function historyFiles(): string[] {
  return readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json') && f !== 'index.json').sort();
}

/**
 * A fixture as a History message, parsed with the protobufjs copy that @temporalio/proto itself
 * uses (in this install @temporalio/common resolves a second copy, whose historyFromJSON fails with
 * "type must be a Type").
 */
export function loadHistory(file: string): { workflowId: string; history: History } {
  const workflowId = readIndex()[file];
  if (!workflowId) throw new Error(`${file} has no workflow id in test/fixtures/histories/index.json`);
  const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] }));
  const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
  const json = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'));
  return { workflowId, history: protojson.fromJson(root.lookupType('temporal.api.history.v1.History'), json, { ignoreUnknownFields: true }) };
}

/** Saves a real history as a replay fixture (first time, or always with RECORD_HISTORIES=1). */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  const file = `${name}.json`;
  if (existsSync(join(HISTORIES_DIR, file)) && !process.env.RECORD_HISTORIES) return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const { stdout } = await promisify(execFile)(
    findTemporalCli()!,
    ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', testTemporalAddress(), '--output', 'json'],
    { maxBuffer: 64 << 20 },
  );
  writeFileSync(join(HISTORIES_DIR, file), stdout);
  const index = { ...readIndex(), [file]: handle.workflowId };
  writeFileSync(INDEX_FILE, `${JSON.stringify(Object.fromEntries(Object.entries(index).sort()), null, 1)}\n`);
}
