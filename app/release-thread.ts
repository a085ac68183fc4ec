import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AuditEntry } from '../src/audit/log.js';
import type { Config } from '../src/config/load.js';
import type { CoreEventMap } from '../src/release/events.js';
import { ReleaseCore, type CoreDeps } from '../src/release/core.js';
import type { ReleaseOptions, ReleaseSummary, Requester } from '../src/release/types.js';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { Metrics } from '../src/metrics.js';

/** What the release thread is started with: what `createApp` needs to build the same core again. */
export interface ReleaseThreadInit {
  env: Record<string, string | undefined>;
  logFormat?: 'json' | 'human' | undefined;
  retryBaseMs?: number | undefined;
  /** One Int32: the thread's audit appends this thread has not heard of yet (see ThreadedReleaseCore). */
  appending: SharedArrayBuffer;
}

/** A coded error as it crosses the thread boundary. */
export interface ThreadError {
  code: string;
  message: string;
  details: Record<string, unknown>;
  retryable: boolean;
}

export type ToReleaseThread =
  | { type: 'release'; id: number; project: string; version: string; requester: Requester; options: ReleaseOptions }
  | { type: 'policy'; config: Config }
  | { type: 'drain'; id: number; timeoutMs: number | undefined }
  | { type: 'record-message'; id: number; releaseId: string; channel: string; ts: string };

export type FromReleaseThread =
  | { type: 'ready' }
  | { type: 'result'; id: number; summary?: ReleaseSummary; error?: ThreadError }
  | { type: 'drained'; id: number }
  | { type: 'event'; name: keyof CoreEventMap; payload: unknown }
  | { type: 'log'; line: string }
  | { type: 'audit-appended'; entry: AuditEntry }
  | { type: 'conjur-call'; operation: string; seconds: number; errorCode: string | undefined };

/** The compiled worker; absent when the code runs from its TypeScript sources (the tests), where releases stay in-process. */
export const releaseWorkerFile = fileURLToPath(new URL('./release-worker.js', import.meta.url));

export function releaseThreadAvailable(): boolean {
  return existsSync(releaseWorkerFile);
}

/** A request before it is numbered (distributed over the union: each kind keeps its own fields). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * The release core of `serve`, with its releases run in a worker thread: the thread builds its own
 * core from the same configuration, with its own database connection (SQLite WAL lets both write),
 * so the synchronous commits, hashing and JSON of a release never hold up the event loop that
 * acknowledges Slack and the Jenkins webhook. Everything else (staging, reads, yanks) stays here.
 * The thread's events are emitted again on this core's `events`, so the chat side announces the
 * release as before; its log lines are written to this process's log destination.
 */
export class ThreadedReleaseCore extends ReleaseCore {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private exited = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly running = new Set<Promise<unknown>>();
  private readonly appendListeners: Array<(entry: AuditEntry) => void> = [];
  private readonly appending: Int32Array;

  constructor(
    deps: CoreDeps,
    private readonly thread: { init: ReleaseThreadInit; logDestination: NodeJS.WritableStream; metrics: () => Metrics },
  ) {
    super(deps);
    this.appending = new Int32Array(thread.init.appending);
    // The thread counts an append up before it commits and this thread counts it down once it heard of
    // it: until then the log is read as if the entry were not there, so the audit watcher never takes a
    // committed entry of the thread's for another process's work before its listeners are told.
    const after = this.audit.entriesAfter.bind(this.audit);
    this.audit.entriesAfter = (seq, limit) => (Atomics.load(this.appending, 0) > 0 ? [] : after(seq, limit));
    // An entry the thread appends is this process's own: the audit watcher must not announce it as
    // another process's work, and the forwarders wake for it. Its listeners hear of it here too.
    const register = this.audit.onAppend.bind(this.audit);
    this.audit.onAppend = (listener) => {
      this.appendListeners.push(listener);
      register(listener);
    };
  }

  /** Starts the thread; resolves once its core is built. A configuration it refuses rejects here. */
  start(): Promise<void> {
    const worker = new Worker(releaseWorkerFile, { workerData: this.thread.init, stdout: false, stderr: false });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromReleaseThread) => {
        if (m.type === 'ready') resolve();
        else this.receive(m);
      });
      worker.once('error', (err) => {
        reject(err);
        this.failAll(err);
      });
      worker.once('exit', (code) => {
        this.exited = true;
        Atomics.store(this.appending, 0, 0);
        const err = new ReleaseBotError(ErrorCode.Internal, `the release thread stopped (exit code ${code})`);
        reject(err);
        this.failAll(err);
      });
    });
    return this.ready;
  }

  override release(projectName: string, version: string, requester: Requester, options: ReleaseOptions = {}): Promise<ReleaseSummary> {
    const work = this.call({ type: 'release', project: projectName, version, requester, options }) as Promise<ReleaseSummary>;
    this.running.add(work);
    const forget = () => this.running.delete(work);
    work.then(forget, forget);
    return work;
  }

  override replaceConfig(next: Config): void {
    super.replaceConfig(next);
    this.worker?.postMessage({ type: 'policy', config: next } satisfies ToReleaseThread);
  }

  /** Drains both cores: this one's tracked work (yanks) and the thread's releases, which refuses new ones meanwhile. */
  override async drain(timeoutMs?: number): Promise<void> {
    const thread = this.exited || !this.worker ? Promise.resolve() : this.call({ type: 'drain', timeoutMs }).then(() => undefined);
    await Promise.all([super.drain(timeoutMs), thread, Promise.allSettled([...this.running])]);
  }

  /** The announcer's durable commit, made by the thread: a commit here would hold up every ack behind it. */
  override recordMessage(releaseId: string, channel: string, ts: string): Promise<void> {
    if (!this.worker || this.exited) return super.recordMessage(releaseId, channel, ts);
    return this.call({ type: 'record-message', releaseId, channel, ts }).then(() => undefined);
  }

  override get inFlightCount(): number {
    return super.inFlightCount + this.running.size;
  }

  /** Ends the thread (after `drain`): its database connection closes with it. */
  async stopThread(): Promise<void> {
    if (this.worker && !this.exited) await this.worker.terminate();
  }

  private call(message: WithoutId<Extract<ToReleaseThread, { id: number }>>): Promise<unknown> {
    if (!this.worker || this.exited)
      return Promise.reject(new ReleaseBotError(ErrorCode.InProgress, 'release-bot is shutting down: ask again in a minute'));
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id } as ToReleaseThread);
    });
  }

  private receive(m: FromReleaseThread): void {
    switch (m.type) {
      case 'result':
      case 'drained': {
        const waiting = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.type === 'result' && m.error) waiting?.reject(fromThreadError(m.error));
        else waiting?.resolve(m.type === 'result' ? m.summary : undefined);
        return;
      }
      case 'event':
        // The thread's core emitted it; the listeners here (announcer, approvals, metrics) are the same ones an in-process core had.
        (this.events.emit as (name: string, payload: unknown) => boolean)(m.name, m.payload);
        return;
      case 'log':
        this.thread.logDestination.write(m.line);
        return;
      case 'audit-appended':
        for (const listener of this.appendListeners) {
          try {
            listener(m.entry);
          } catch {
            // As AuditLog.append treats its listeners: a failing listener never fails the append.
          }
        }
        Atomics.sub(this.appending, 0, 1);
        return;
      case 'conjur-call':
        this.thread.metrics().conjurCall(m.operation, m.seconds, m.errorCode);
        return;
      case 'ready':
        return;
    }
  }

  private failAll(err: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }
}

export function toThreadError(err: ReleaseBotError): ThreadError {
  return { code: err.code, message: err.message, details: err.details, retryable: err.retryable };
}

function fromThreadError(e: ThreadError): ReleaseBotError {
  return new ReleaseBotError(e.code as ErrorCode, e.message, { details: e.details, retryable: e.retryable });
}
