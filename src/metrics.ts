import type { Express, NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConjurObserver } from './conjur/measured.js';
import { AuditForwardingMarks, AuditRows } from './store/audit.js';
import type { Db } from './store/db.js';
import { StoreFigures } from './store/metrics.js';

/**
 * The bot's Prometheus metrics. Release, destination and audit figures are read from the database at
 * scrape time, so they count releases run by every process (serve, CLI, ssh) and survive restarts;
 * Conjur and webhook figures are measured in the serving process.
 */
export class Metrics implements ConjurObserver {
  readonly registry = new Registry();
  private readonly conjurDuration: Histogram<'operation' | 'outcome'>;
  private readonly conjurErrors: Counter<'operation' | 'code'>;
  private readonly webhookRequests: Counter<'webhook' | 'status'>;
  private readonly webhookDuration: Histogram<'webhook'>;
  private storeTracked = false;

  constructor() {
    this.conjurDuration = new Histogram({
      name: 'release_bot_conjur_request_duration_seconds',
      help: 'Latency of calls to Conjur (authentication included), by operation and outcome',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.conjurErrors = new Counter({
      name: 'release_bot_conjur_errors_total',
      help: 'Failed calls to Conjur, by operation and error code (CONJUR_UNAVAILABLE, CONJUR_FORBIDDEN, ...)',
      labelNames: ['operation', 'code'],
      registers: [this.registry],
    });
    this.webhookRequests = new Counter({
      name: 'release_bot_webhook_requests_total',
      help: 'Requests to /webhooks/*, by webhook and HTTP status code',
      labelNames: ['webhook', 'status'],
      registers: [this.registry],
    });
    this.webhookDuration = new Histogram({
      name: 'release_bot_webhook_request_duration_seconds',
      help: 'Time to answer requests to /webhooks/*',
      labelNames: ['webhook'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }

  conjurCall(operation: string, seconds: number, errorCode?: string): void {
    this.conjurDuration.observe({ operation, outcome: errorCode ? 'error' : 'ok' }, seconds);
    if (errorCode) this.conjurErrors.inc({ operation, code: errorCode });
  }

  /**
   * Counts every answer under /webhooks/. Only the first path segment names the webhook: the rest
   * can hold a per-project token, which must never become a label.
   */
  webhookMiddleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      const first = req.path.split('/')[1] ?? '';
      const webhook = /^[a-z0-9-]{1,32}$/.test(first) ? first : 'other';
      let counted = false;
      const count = () => {
        if (counted) return;
        counted = true;
        this.webhookRequests.inc({ webhook, status: res.writableFinished ? String(res.statusCode) : 'aborted' });
        this.webhookDuration.observe({ webhook }, Number(process.hrtime.bigint() - started) / 1e9);
      };
      res.once('finish', count);
      res.once('close', count);
      next();
    };
  }

  /**
   * For the serving process: the figures read from the database at each scrape, and Node's own
   * (memory, event loop, GC). Once per registry.
   */
  trackStore(db: Db, inFlight: () => number): void {
    if (this.storeTracked) return;
    this.storeTracked = true;
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const figures = new StoreFigures(db);
    const audit = new AuditRows(db);
    const forwarding = new AuditForwardingMarks(db);
    counted(
      registers,
      'release_bot_releases_total',
      'Releases that ended, by project and result (published, failed, denied, interrupted, dry-run)',
      ['project', 'result'],
      () => figures.releasesEnded().map((r) => [{ project: r.project, result: r.state }, r.n]),
    );
    new Histogram({
      name: 'release_bot_release_duration_seconds',
      help: 'From request to outcome, for releases that ran (denials excluded), by project and result',
      labelNames: ['project', 'result'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
      collect() {
        this.reset();
        for (const r of figures.releaseDurations())
          this.observe({ project: r.project, result: r.state }, Math.max(0, Date.parse(r.finished_at) - Date.parse(r.created_at)) / 1000);
      },
    });
    gauge(
      registers,
      'release_bot_releases_in_progress',
      'Releases in a live state (requested, authorized, verifying, publishing), in any process',
      () => figures.releasesLive(),
    );
    gauge(registers, 'release_bot_releases_in_flight', 'Releases this serving process is running now (what SIGTERM waits for)', inFlight);
    counted(
      registers,
      'release_bot_destination_results_total',
      'Destination results, by destination type and status',
      ['type', 'status'],
      () => figures.destinationResults().map((r) => [{ type: r.type, status: r.status }, r.n]),
    );
    gauge(registers, 'release_bot_audit_entries', 'Entries in the audit log', () => audit.countAfter(0));
    new Gauge({
      name: 'release_bot_audit_forward_pending_entries',
      help: 'Audit entries not yet forwarded, by forwarder (syslog, JSONL): growing means the sink is down',
      labelNames: ['forwarder'],
      registers,
      collect() {
        this.reset();
        for (const r of forwarding.pending()) this.set({ forwarder: r.forwarder }, r.n);
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

// Read from the database at each scrape: a count by labels from rows, or one number.
function counted<L extends string>(
  registers: Registry[],
  name: string,
  help: string,
  labelNames: L[],
  rows: () => [Record<L, string>, number][],
): Counter<L> {
  return new Counter({
    name,
    help,
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const [labels, n] of rows()) this.inc(labels, n);
    },
  });
}

function gauge(registers: Registry[], name: string, help: string, value: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(value());
    },
  });
}

/**
 * Mounts `GET /metrics` and the webhook counter. Call it before any webhook route is mounted, so
 * that every webhook answer passes the counter.
 */
export function mountMetrics(http: Express, app: { metrics: Metrics; db: Db; core: { inFlightCount: number } }): void {
  app.metrics.trackStore(app.db, () => app.core.inFlightCount);
  http.use('/webhooks', app.metrics.webhookMiddleware());
  http.get('/metrics', (_req, res, next) => {
    app.metrics.render().then(({ contentType, body }) => {
      res.set('Content-Type', contentType);
      res.set('Cache-Control', 'no-store');
      res.send(body);
    }, next);
  });
}
