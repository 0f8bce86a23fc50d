import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Pool } from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { appRegistry, registerStabilityMetrics } from '../ops/metrics';

/**
 * The worker's Prometheus endpoint. With WORKER_METRICS_ADDRESS (e.g. 127.0.0.1:9464) set, the
 * SDK's exporter (Runtime telemetry: temporal_ task latencies, schedule-to-start, activity
 * failures...) binds a private loopback port, and one small HTTP server on WORKER_METRICS_ADDRESS
 * serves /metrics as the SDK's text followed by the application metrics (src/ops/metrics.ts), the
 * process metrics and the stability score: one scrape target per worker. Unset: no exporter, no server.
 *
 * Call installWorkerRuntime before the first NativeConnection of the process (Runtime.install
 * works once), then serveWorkerMetrics once the database pool exists.
 */

export interface HostPort {
  host: string;
  port: number;
}

/** "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", ":9464" (all interfaces). */
export function parseBindAddress(v: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`WORKER_METRICS_ADDRESS: "${v}" refused: must be HOST:PORT, e.g. 127.0.0.1:9464`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

let sdkMetricsPort: number | undefined;

/** Runtime.install with the log level and, when an address is given, the SDK's Prometheus exporter. */
export async function installWorkerRuntime(o: { logLevel?: LogLevel; metricsAddress?: string }): Promise<void> {
  const logger = new DefaultLogger(o.logLevel ?? 'INFO');
  if (!o.metricsAddress) {
    Runtime.install({ logger });
    return;
  }
  parseBindAddress(o.metricsAddress); // refuse a bad address before anything starts
  sdkMetricsPort = await freeLoopbackPort();
  Runtime.install({ logger, telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } } } });
}

export interface WorkerMetricsServer {
  url: string;
  close(): Promise<void>;
}

async function sdkMetrics(): Promise<string> {
  if (!sdkMetricsPort) return '';
  try {
    const res = await fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`);
    return res.ok ? await res.text() : `# SDK exporter answered ${res.status}\n`;
  } catch (err) {
    return `# SDK exporter unreachable: ${(err as Error).message}\n`;
  }
}

/** Serves GET /metrics on the address: SDK metrics + application metrics + process metrics + stability. */
export async function serveWorkerMetrics(o: { address: string; pool?: Pool }): Promise<WorkerMetricsServer> {
  const { host, port } = parseBindAddress(o.address);
  const own = new Registry();
  collectDefaultMetrics({ register: own, prefix: 'neuro_worker_' });
  if (o.pool) registerStabilityMetrics(own, o.pool);
  const merged = Registry.merge([appRegistry, own]);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    Promise.all([sdkMetrics(), merged.metrics()]).then(
      ([sdk, app]) => res.writeHead(200, { 'content-type': merged.contentType }).end(`${sdk.trimEnd()}\n${app}`),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Both steps for a worker entry point; returns undefined when WORKER_METRICS_ADDRESS is unset. */
export async function startWorkerTelemetry(o: { logLevel?: LogLevel; metricsAddress?: string; pool?: Pool }): Promise<WorkerMetricsServer | undefined> {
  await installWorkerRuntime(o);
  return o.metricsAddress ? serveWorkerMetrics({ address: o.metricsAddress, pool: o.pool }) : undefined;
}
