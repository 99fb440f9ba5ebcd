import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PushMetrics } from './push-metrics.js';

/**
 * The host's Prometheus metrics, on a Registry of its own (never prom-client's global one, so
 * several hosts in one process — tests — do not collide). Served as text by `GET /metrics`.
 *
 * To add metrics: declare them as fields here, created with `registers: [this.registry]`.
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

  /** The push pipeline's counters, histograms and queue-depth gauge. */
  readonly push = new PushMetrics(this.registry);

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Process metrics (CPU, memory, event loop lag) only for a real server: tests build many hosts.
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'erpc_' });
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
