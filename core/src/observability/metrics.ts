import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PUSH_REASON } from '../push/push-types.js';
import { PushMetrics } from './push-metrics.js';
import { WebhookMetrics } from './webhook-metrics.js';

const { version: HOST_VERSION } = createRequire(import.meta.url)('../../package.json') as { version: string };

const GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The `code` label of a failure no connector declared (bounded label values, ADR 0032). */
export const OTHER_CODE = 'other';

/** A connector type loaded in this process and the failure codes its manifest declares. */
export interface MeteredConnector {
  readonly connectorType: string;
  readonly errorCodes?: readonly string[];
}

/**
 * The host's Prometheus metrics, on a Registry of its own (never prom-client's global one, so
 * several hosts in one process — tests — do not collide). Served as text by `GET /metrics` on
 * `serve` and on `erpc worker --http-port`.
 *
 * To add metrics: declare them as fields here, created with `registers: [this.registry]`, or
 * register a collector of your own on `registry` (the plugin sandboxes' supervisor does).
 * Node's and the process's defaults keep their standard names (`process_*`, `nodejs_*`), so the
 * usual Node.js dashboards work; erpc's own metrics start with `erpc_`.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Latency of connection tests, by connector type and outcome. */
  readonly connectionTestSeconds = new Histogram({
    name: 'erpc_connection_test_duration_seconds',
    help: 'Duration of connection tests (testConnection), by connector type and outcome.',
    labelNames: ['connector_type', 'ok'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** Sandbox processes and their crashes per connector type, read from the supervisor at scrape time. */
  readonly sandboxProcesses = new Gauge({
    name: 'erpc_sandbox_processes',
    help: 'Live sandbox processes running plugin code, by connector type.',
    labelNames: ['connector_type'] as const,
    registers: [this.registry],
    collect: () => this.#collectSandboxes(),
  });
  readonly sandboxCrashes = new Gauge({
    name: 'erpc_sandbox_crashes',
    help: 'Sandbox processes of a connector type that ended unexpectedly since this process started.',
    labelNames: ['connector_type'] as const,
    registers: [this.registry],
  });
  readonly sandboxHealthy = new Gauge({
    name: 'erpc_sandbox_healthy',
    help: '1 when the connector type\'s sandboxes run normally, 0 while they keep crashing (restart backoff).',
    labelNames: ['connector_type'] as const,
    registers: [this.registry],
  });
  #sandboxSource: (() => readonly { connectorType: string; processes: number; crashes: number; healthy: boolean }[]) | undefined;

  /** Where the sandbox gauges read from (the host's supervisor). */
  setSandboxSource(source: () => readonly { connectorType: string; processes: number; crashes: number; healthy: boolean }[]): void {
    this.#sandboxSource = source;
  }

  #collectSandboxes(): void {
    for (const h of this.#sandboxSource?.() ?? []) {
      this.sandboxProcesses.set({ connector_type: h.connectorType }, h.processes);
      this.sandboxCrashes.set({ connector_type: h.connectorType }, h.crashes);
      this.sandboxHealthy.set({ connector_type: h.connectorType }, h.healthy ? 1 : 0);
    }
  }

  /** HTTP requests answered, by method, route template (`/v1/pushes/:id`) and status. */
  readonly httpRequests = new Counter({
    name: 'erpc_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpSeconds = new Histogram({
    name: 'erpc_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** The push pipeline's counters, histograms and queue-depth gauge. */
  readonly push = new PushMetrics(this.registry);
  /** Webhook events queued, delivered, failed; delivery latency. */
  readonly webhooks = new WebhookMetrics(this.registry);

  // Allowed `code` label values per connector type: erpc's own reasons plus what the manifest declares.
  readonly #codes = new Map<string, ReadonlySet<string>>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Process metrics (CPU, memory, event loop lag) only for a real server: tests build many hosts.
    if (options.defaultMetrics === true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters, which `promtool check metrics` flags; the same counts stay
      // available by type in nodejs_active_handles / _requests / _resources (ADR 0032).
      for (const name of GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name: 'erpc_build_info',
      help: 'Always 1; the labels say which erpc and Node.js versions run.',
      labelNames: ['version', 'node_version'] as const,
      registers: [this.registry],
    }).set({ version: HOST_VERSION, node_version: process.version }, 1);
  }

  /**
   * Every counter of a loaded connector type starts at 0 (so `rate()` and alerts see a series
   * before the first event), and its `code` label accepts the codes its manifest declares.
   */
  initConnectors(connectors: readonly MeteredConnector[]): void {
    for (const { connectorType, errorCodes = [] } of connectors) {
      const codes = new Set<string>([...Object.values(PUSH_REASON), ...errorCodes]);
      this.#codes.set(connectorType, codes);
      const type = { connector_type: connectorType };
      this.push.accepted.inc(type, 0);
      this.push.delivered.inc(type, 0);
      for (const code of [...codes, OTHER_CODE]) {
        this.push.retried.inc({ ...type, code }, 0);
        this.push.dead.inc({ ...type, code }, 0);
      }
    }
  }

/** The `code` label of a failure: the code when declared for the type (or erpc's own), else `other`. */
  codeLabel(connectorType: string, code: string): string {
    const allowed = this.#codes.get(connectorType);
    if (allowed !== undefined) return allowed.has(code) ? code : OTHER_CODE;
    return (Object.values(PUSH_REASON) as string[]).includes(code) ? code : OTHER_CODE;
  }

  /** Records one answered HTTP request. */
  observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpSeconds.observe(labels, seconds);
  }

  /** Records one connection test. */
  observeConnectionTest(connectorType: string, ok: boolean, latencyMs: number): void {
    this.connectionTestSeconds.observe({ connector_type: connectorType, ok: ok ? 'true' : 'false' }, latencyMs / 1000);
  }

  /** The Prometheus text exposition and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
