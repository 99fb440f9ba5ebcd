import { Counter, Histogram, type Registry } from 'prom-client';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/webhook-types.js';

/**
 * Webhook metrics, per process (sum them across workers in Prometheus). Events are counted per
 * endpoint they are queued for (one delivery each).
 */
export class WebhookMetrics {
  readonly created: Counter<'type'>;
  readonly delivered: Counter<'type'>;
  readonly failed: Counter<'type' | 'final'>;
  readonly disabledEndpoints: Counter;
  readonly attemptSeconds: Histogram<'type'>;
  readonly eventToDeliveredSeconds: Histogram<'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.created = new Counter({ name: 'erpc_webhook_events_created_total', help: 'Webhook events queued, one per subscribed endpoint, by event type.', labelNames: ['type'], registers });
    this.delivered = new Counter({ name: 'erpc_webhook_events_delivered_total', help: 'Webhook deliveries answered 2xx, by event type.', labelNames: ['type'], registers });
    this.failed = new Counter({
      name: 'erpc_webhook_events_failed_total',
      help: 'Failed webhook attempts by event type; final="true" when no retry follows.',
      labelNames: ['type', 'final'],
      registers,
    });
    this.disabledEndpoints = new Counter({ name: 'erpc_webhook_endpoints_disabled_total', help: 'Endpoints disabled because their deliveries kept failing.', registers });
    this.attemptSeconds = new Histogram({
      name: 'erpc_webhook_attempt_duration_seconds',
      help: 'Duration of successful webhook requests, by event type.',
      labelNames: ['type'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.eventToDeliveredSeconds = new Histogram({
      name: 'erpc_webhook_delivery_latency_seconds',
      help: 'Time from the event (the outcome\'s commit) to its webhook being answered 2xx, retries included, by event type.',
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86_400],
      registers,
    });
    for (const type of WEBHOOK_EVENT_TYPES) {
      this.created.inc({ type }, 0);
      this.delivered.inc({ type }, 0);
    }
  }
}
