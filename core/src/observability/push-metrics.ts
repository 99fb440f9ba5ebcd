import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Counts of the queue's non-terminal states (and dead letters), read at scrape time. */
export type QueueDepthSource = () => Promise<{ pending: number; processing: number; awaitingAck: number; dead: number }>;

/**
 * Push pipeline metrics. Counters are per process (sum them across workers in Prometheus);
 * the queue-depth gauge reads the shared database, through partial indexes, at scrape time.
 */
export class PushMetrics {
  readonly accepted: Counter<'connector_type'>;
  readonly delivered: Counter<'connector_type'>;
  readonly retried: Counter<'connector_type' | 'code'>;
  readonly dead: Counter<'connector_type' | 'code'>;
  readonly deliverySeconds: Histogram<'connector_type'>;
  readonly endToEndSeconds: Histogram<'connector_type'>;
  readonly queueDepth: Gauge<'status'>;
  #source: QueueDepthSource | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.accepted = new Counter({ name: 'erpc_pushes_accepted_total', help: 'Pushes accepted into the outbox, by connector type.', labelNames: ['connector_type'], registers });
    this.delivered = new Counter({ name: 'erpc_pushes_delivered_total', help: 'Pushes delivered by a connector, by connector type.', labelNames: ['connector_type'], registers });
    this.retried = new Counter({
      name: 'erpc_pushes_retried_total',
      help: 'Failed delivery attempts scheduled for a retry, by connector type and reason code.',
      labelNames: ['connector_type', 'code'],
      registers,
    });
    this.dead = new Counter({ name: 'erpc_pushes_dead_total', help: 'Pushes that became dead letters, by connector type and reason code.', labelNames: ['connector_type', 'code'], registers });
    this.deliverySeconds = new Histogram({
      name: 'erpc_push_delivery_duration_seconds',
      help: 'Duration of successful connector push() calls, by connector type.',
      labelNames: ['connector_type'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.endToEndSeconds = new Histogram({
      name: 'erpc_push_accept_to_delivered_seconds',
      help: 'Time from accepting a push to its delivery (retries included), by connector type.',
      labelNames: ['connector_type'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    const self = this;
    this.queueDepth = new Gauge({
      name: 'erpc_push_queue_depth',
      help: 'Pushes by queue state: pending, processing, awaiting_ack (delivered, waiting for the ERP), dead.',
      labelNames: ['status'],
      registers,
      async collect() {
        if (self.#source === undefined) return;
        try {
          const d = await self.#source();
          this.set({ status: 'pending' }, d.pending);
          this.set({ status: 'processing' }, d.processing);
          this.set({ status: 'awaiting_ack' }, d.awaitingAck);
          this.set({ status: 'dead' }, d.dead);
        } catch {
          // A scrape must not fail because the database is briefly unavailable; the gauge keeps its last values.
        }
      },
    });
  }

  /** Where the queue-depth gauge reads its counts (set once the database is open). */
  setQueueDepthSource(source: QueueDepthSource): void {
    this.#source = source;
  }
}
