import type { Logger } from 'pino';
import { AuditForwardingMarks, AuditRows } from '../store/audit.js';
import type { Db } from '../store/db.js';
import type { AuditEntry } from './entries.js';

/** Somewhere audit entries are copied to (syslog, a JSONL file). */
export interface AuditSink {
  /** Stable name, the key of the sink's high-water mark: `syslog:tcp://logs:514`, `jsonl:/var/log/...`. */
  readonly name: string;
  /** Delivers entries in order; resolves once all were handed over, rejects when any was not. */
  send(entries: readonly AuditEntry[]): Promise<void>;
  close(): Promise<void>;
}

export interface ForwarderOptions {
  log: Logger;
  batchSize?: number;
  /** First retry delay after a failure; doubles up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How often to look for entries other processes (CLI, ssh) appended to the shared database. */
  pollMs?: number;
  now?: () => Date;
}

/**
 * Copies the audit log to one sink, in order, at least once. The database is the queue: the entries
 * after the sink's high-water mark (`audit_forwarding.forwarded_seq`) are the ones still to send,
 * so nothing waits in memory that a crash could lose, and a restart resumes where the last run
 * stopped. Appending never waits for a sink; a failing sink is retried with exponential backoff.
 */
export class AuditForwarder {
  private forwardedSeq = 0;
  private pumping: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private lastWarnAt = 0;
  private readonly now: () => Date;
  private readonly entries: AuditRows;
  private readonly marks: AuditForwardingMarks;

  constructor(
    db: Db,
    readonly sink: AuditSink,
    private readonly options: ForwarderOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.entries = new AuditRows(db);
    this.marks = new AuditForwardingMarks(db);
  }

  get position(): number {
    return this.forwardedSeq;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    this.forwardedSeq = this.marks.start(this.sink.name, this.now().toISOString());
    this.pollTimer = setInterval(() => this.notify(), this.options.pollMs ?? 1000);
    this.pollTimer.unref();
    this.notify();
  }

  /** New entries may be there: send them, unless a retry is already scheduled (backoff is respected). */
  notify(): void {
    if (this.stopped || this.retryTimer || this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  /** Sends whatever is pending, within `timeoutMs`; true when nothing is left. */
  async flush(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.pending() === 0) return true;
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      this.notify();
      await Promise.race([this.pumping, sleep(deadline - Date.now())]);
      if (this.failures > 0) await sleep(Math.min(200, deadline - Date.now()));
    }
    return this.pending() === 0;
  }

  /** Entries appended but not yet forwarded. */
  pending(): number {
    return this.entries.countAfter(this.forwardedSeq);
  }

  /** Stops retrying after a last attempt of at most `timeoutMs`; what is left goes out on the next start. */
  async stop(timeoutMs = 3_000): Promise<void> {
    const flushed = await this.flush(timeoutMs);
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.pumping;
    if (!flushed)
      this.options.log.warn(
        { forwarder: this.sink.name, pending: this.pending() },
        'audit forwarding stopped with entries left: they are sent at the next start',
      );
    await this.sink
      .close()
      .catch((err: unknown) =>
        this.options.log.debug({ forwarder: this.sink.name, err: (err as Error).message }, 'closing the audit sink failed'),
      );
  }

  private async pump(): Promise<void> {
    const batchSize = this.options.batchSize ?? 100;
    for (;;) {
      if (this.stopped) return;
      const entries = this.entries.after(this.forwardedSeq, batchSize);
      if (entries.length === 0) return;
      try {
        await this.sink.send(entries);
      } catch (err) {
        this.failed(err as Error, entries[0] as AuditEntry);
        return;
      }
      this.advance((entries[entries.length - 1] as AuditEntry).seq);
    }
  }

  private advance(seq: number): void {
    this.forwardedSeq = seq;
    this.marks.advance(this.sink.name, seq, this.now().toISOString());
    if (this.failures > 0)
      this.options.log.info({ forwarder: this.sink.name, afterFailures: this.failures, forwardedSeq: seq }, 'audit forwarding recovered');
    this.failures = 0;
  }

  private failed(err: Error, first: AuditEntry): void {
    this.failures += 1;
    const delay = Math.min((this.options.baseDelayMs ?? 500) * 2 ** (this.failures - 1), this.options.maxDelayMs ?? 60_000);
    // One warning when it starts failing, then at most one a minute: a down syslog must not flood the log.
    const quiet = Date.now() - this.lastWarnAt < 60_000 && this.failures > 1;
    this.options.log[quiet ? 'debug' : 'warn'](
      { forwarder: this.sink.name, err: err.message, seq: first.seq, failures: this.failures, retryInMs: delay },
      'audit forwarding failed; the entry is kept and retried',
    );
    if (!quiet) this.lastWarnAt = Date.now();
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.notify();
    }, delay);
    this.retryTimer.unref();
  }
}

/** A wait that never keeps the process alive on its own. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}
