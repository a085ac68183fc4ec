import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { EventBus } from '../events.js';
import type { Db } from '../store/db.js';
import { AuditForwarder, type AuditSink, type ForwarderOptions } from './forwarder.js';
import { JsonlSink } from './forward-jsonl.js';
import { SyslogSink, type SyslogSinkOptions } from './forward-syslog.js';

export interface AuditForwarding {
  forwarders: readonly AuditForwarder[];
  /** Sends what is pending (bounded), then stops; call before closing the database. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The sinks AUDIT_SYSLOG_URL and AUDIT_JSONL_FILE ask for. */
export function configuredSinks(
  env: Pick<Config['env'], 'AUDIT_SYSLOG_URL' | 'AUDIT_JSONL_FILE'>,
  syslog: SyslogSinkOptions = {},
): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (env.AUDIT_SYSLOG_URL) sinks.push(new SyslogSink(env.AUDIT_SYSLOG_URL, syslog));
  if (env.AUDIT_JSONL_FILE) sinks.push(new JsonlSink(env.AUDIT_JSONL_FILE));
  return sinks;
}

/**
 * Starts forwarding the audit log to every configured sink (run by `serve`, the long-lived process).
 * Entries this process appends (and serve's release thread, forwarded) wake the forwarders at once,
 * through the bus; entries other processes append to the shared database (CLI, ssh forced command),
 * and whatever a sink missed before a restart, are found by polling: the durable catch-up. Each sink keeps its own high-water mark.
 */
export function startAuditForwarding(
  app: { config: { env: Pick<Config['env'], 'AUDIT_SYSLOG_URL' | 'AUDIT_JSONL_FILE'> }; db: Db; bus: EventBus; log: Logger },
  options: Partial<ForwarderOptions> & { sinks?: AuditSink[]; syslog?: SyslogSinkOptions } = {},
): AuditForwarding {
  const log = app.log.child({ component: 'audit-forwarding' });
  const sinks = options.sinks ?? configuredSinks(app.config.env, options.syslog);
  const forwarders = sinks.map((sink) => new AuditForwarder(app.db, sink, { ...options, log }));
  for (const f of forwarders) f.start();
  if (forwarders.length > 0) {
    // notify() only schedules work: an append never waits for a sink, and never fails because of one.
    app.bus.on('audit-appended', () => {
      for (const f of forwarders) f.notify();
    });
    log.info({ sinks: sinks.map((s) => s.name) }, 'audit forwarding started');
  }
  return {
    forwarders,
    async stop(timeoutMs = 3_000) {
      await Promise.all(forwarders.map((f) => f.stop(timeoutMs)));
    },
  };
}
