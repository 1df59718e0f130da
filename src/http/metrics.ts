/**
 * Prometheus metrics (prom-client): requests by operation and error code, latency, live
 * sessions, build outcomes, rate-limit rejections. One registry per app, so several apps in
 * one process (tests) do not mix their counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'method' | 'status' | 'code'>;
  readonly latency: Histogram<'operation'>;
  readonly liveSessions: Gauge;
  readonly builds: Counter<'outcome'>;
  readonly throttled: Counter<'limit'>;

  constructor(liveSessions: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'appstreamd_process_' });
    this.requests = new Counter({
      name: 'appstreamd_requests_total',
      help: 'Requests answered, by operation (IAM action name), method, status and error code ("" on success).',
      labelNames: ['operation', 'method', 'status', 'code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'appstreamd_request_duration_seconds',
      help: 'Time from request start to response end, by operation.',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.liveSessions = new Gauge({
      name: 'appstreamd_live_sessions',
      help: 'Sessions whose program runs on this instance.',
      registers: [this.registry],
      collect() {
        this.set(liveSessions());
      },
    });
    this.builds = new Counter({ name: 'appstreamd_builds_total', help: 'Finished builds by outcome.', labelNames: ['outcome'], registers: [this.registry] });
    this.throttled = new Counter({ name: 'appstreamd_throttled_total', help: 'POSTs rejected by a rate limit.', labelNames: ['limit'], registers: [this.registry] });
  }
}
