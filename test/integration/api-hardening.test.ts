import { buildApp, type ApiApp } from '../../src/api/server';
import { createMemoryCache, preloadRun } from '../../src/cache';
import { freshDatabase, type TestDatabase } from '../helpers/env';
import { seedRun, skuIds } from './cache-fixtures';

/** API hardening on real PostgreSQL: auth before the body, short error quotes, /openapi.json from the validating schemas. */

let db: TestDatabase;
let api: ApiApp;
let base = '';
const TOKEN = 'hardening-token';
const LONG = 'Z'.repeat(10_000);

beforeAll(async () => {
  db = await freshDatabase();
  await seedRun(db.pool, 'production', 'h-run', skuIds(3));
  const cache = createMemoryCache();
  await preloadRun(db.pool, cache, 'production', 'h-run');
  api = await buildApp({ pool: db.pool, cache, taskQueue: 'unused', adminToken: TOKEN, log: () => undefined });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await api?.close();
  await db?.drop();
});

async function send(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) {
  const res = await fetch(base + path, { method, headers: init.headers, body: init.body });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

describe('admin routes check the token before reading the body', () => {
  it.each([
    ['malformed JSON', { 'content-type': 'application/json' }, '{"env": "staging",'],
    ['an unsupported content type', { 'content-type': 'text/xml' }, '<env>staging</env>'],
    ['a body over the size limit', { 'content-type': 'application/json' }, JSON.stringify({ env: 'staging', pad: 'x'.repeat(3 * 1024 * 1024) })],
  ])('%s without a token -> 401, not a parse error', async (_what, headers, body) => {
    const res = await send('POST', '/api/v1/admin/trigger-forecast', { headers, body });
    expect(res.status).toBe(401);
    expect(res.json().error).toMatch(/missing or wrong bearer token/);
  });

  it('an impossible run date (month 13) is a 400 naming runDate, not a 500', async () => {
    const res = await send('POST', '/api/v1/admin/trigger-forecast', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ env: 'staging', runDate: '2025-13-01' }),
    });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/runDate: is not a calendar date/);
  });

  it('with the token the same malformed body is a 400', async () => {
    const res = await send('POST', '/api/v1/admin/trigger-forecast', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: '{"env": "staging",',
    });
    expect(res.status).toBe(400);
  });
});

describe('error answers quote at most a short prefix of the input', () => {
  const prefix = (s: string) => `"${s.slice(0, 40)}..." (${s.length} characters)`;
  it.each([
    ['horizon', `/api/v1/forecasts/SKU-0001?horizon=${LONG}`, `got ${prefix(LONG)}`],
    ['env', `/api/v1/forecasts/SKU-0001?env=${LONG}`, `got ${prefix(LONG)}`],
    // (a path parameter over 100 characters is already a 414 from fastify)
    ['a SKU id', `/api/v1/forecasts/${'Y'.repeat(90)}!`, `SKU ${prefix(`${'Y'.repeat(90)}!`)} is not a valid id`],
    ['a SKU in a list', `/api/v1/forecasts?skus=SKU-0001,${LONG}`, `SKU ${prefix(LONG)} is not a valid id`],
    ['a parameter name', `/api/v1/forecasts/SKU-0001?${LONG}=1`, `unknown parameter ${LONG.slice(0, 40)}...`],
    ['a level', `/api/v1/forecasts/SKU-0001?level=80,${LONG}`, `level must be a number strictly between 0 and 100 (e.g. 80 or 95), got ${prefix(LONG)}`],
    ['a repeated parameter name', `/api/v1/skus?${LONG.slice(0, 5000)}=1&${LONG.slice(0, 5000)}=2`, `${LONG.slice(0, 40)} given more than once`],
  ])('%s', async (_what, path, expected) => {
    const res = await send('GET', path);
    expect(res.status).toBe(400);
    expect(res.json().error).toContain(expected);
    expect(res.text.length).toBeLessThan(300);
  });

  it('an unknown route and an unknown body field', async () => {
    const route = await send('GET', `/nope/${LONG}`);
    expect(route.status).toBe(404);
    expect(route.text.length).toBeLessThan(200);
    const body = await send('POST', '/api/v1/admin/trigger-forecast', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ env: 'staging', [LONG]: 1 }),
    });
    expect(body.status).toBe(400);
    expect(body.json().error).toContain(`unknown field ${LONG.slice(0, 40)}...`);
    expect(body.text.length).toBeLessThan(300);
  });
});

describe('GET /openapi.json', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let doc: any;
  beforeAll(async () => {
    const res = await send('GET', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.json();
  });

  it('is OpenAPI 3 and describes every route', () => {
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual(
      [
        'GET /api/v1/forecasts/{sku}',
        'GET /api/v1/forecasts',
        'GET /api/v1/skus',
        'POST /api/v1/admin/trigger-forecast',
        'POST /api/v1/admin/rollouts/{release}/rollback',
        'GET /metrics',
        'GET /healthz',
        'GET /report',
        'GET /openapi.json',
      ].sort(),
    );
  });

  it('gives each route its parameters and error answers, from the schemas that validate', () => {
    const one = doc.paths['/api/v1/forecasts/{sku}'].get;
    const params = Object.fromEntries(one.parameters.map((p: { name: string; in: string; schema: unknown }) => [`${p.in}:${p.name}`, p.schema]));
    expect(Object.keys(params).sort()).toEqual(['path:sku', 'query:env', 'query:horizon', 'query:level']);
    expect(params['query:env']).toMatchObject({ enum: ['staging', 'production'], default: 'production' });
    expect(params['path:sku']).toMatchObject({ type: 'string', pattern: expect.stringContaining('A-Za-z0-9') });
    expect(Object.keys(one.responses).sort()).toEqual(['200', '400', '404', '500']);
    expect(one.responses['400'].content['application/json'].schema).toMatchObject({ properties: { error: { type: 'string' } } });

    const batch = doc.paths['/api/v1/forecasts'].get;
    expect(batch.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['env', 'horizon', 'level', 'skus']);
    expect(batch.parameters.find((p: { name: string }) => p.name === 'skus').required).toBe(true);

    const trigger = doc.paths['/api/v1/admin/trigger-forecast'].post;
    expect(trigger.security).toEqual([{ adminToken: [] }]);
    expect(Object.keys(trigger.responses).sort()).toEqual(['202', '400', '401', '500', '503']);
    const body = trigger.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.env).toMatchObject({ enum: ['staging', 'production'] });
    expect(body.properties.batchSize).toMatchObject({ type: 'integer', minimum: 1, maximum: 100_000 });
    expect(Object.keys(doc.paths['/healthz'].get.responses).sort()).toEqual(['200', '503']);
  });

  it('a real answer has the fields the document lists', async () => {
    const schema = doc.paths['/api/v1/forecasts/{sku}'].get.responses['200'].content['application/json'].schema;
    const res = await send('GET', '/api/v1/forecasts/SKU-0001?horizon=3');
    expect(res.status).toBe(200);
    const got = Object.keys(res.json());
    expect(got.filter((k) => !(k in schema.properties))).toEqual([]);
    expect(schema.required.filter((k: string) => !got.includes(k))).toEqual([]);
  });
});
