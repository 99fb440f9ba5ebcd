import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
