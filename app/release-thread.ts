import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../src/config/load.js';
import type { BusMessage } from '../src/events.js';
import { ReleaseCore, type CoreDeps } from '../src/release/core.js';
import type { ReleaseOptions, ReleaseSummary, Requester } from '../src/release/types.js';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { Metrics } from '../src/metrics.js';
import { AppendsOnTheirWay } from './bus-bridge.js';

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
  /** An event of the thread's bus (its audit appends included), redacted by the thread. */
  | { type: 'bus'; message: BusMessage }
  | { type: 'log'; line: string }
  | { type: 'conjur-call'; operation: string; seconds: number; errorCode: string | undefined }
  /** The thread's last word: an error nothing caught, redacted by the thread; it exits next. */
  | { type: 'dying'; error: ThreadError };

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
 * The thread's bus events are emitted again on this process's bus (bus-bridge.ts), so the chat side
 * announces the release as before; its log lines are written to this process's log destination.
 */
export class ThreadedReleaseCore extends ReleaseCore {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private exited = false;
  /** Set by stopThread: the exit that follows is the one serve asked for. */
  private stopping = false;
  private deathOf: ThreadDeath | undefined;
  private lastWord: ThreadError | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly running = new Set<Promise<unknown>>();
  private readonly appending: AppendsOnTheirWay;

  constructor(
    deps: CoreDeps,
    private readonly thread: {
      init: ReleaseThreadInit;
      logDestination: NodeJS.WritableStream;
      metrics: () => Metrics;
      /** The worker's file: the compiled release-worker.js, or (a test's) one that wraps it. */
      workerFile?: string | undefined;
      /** The thread stopped without being asked to (an uncaught error, out of memory): serve cannot release any more. */
      onDeath?: (death: ThreadDeath) => void;
    },
  ) {
    super(deps);
    // Shared with the thread, and with this thread's audit log (its `unheardAppends`, see serve.ts).
    this.appending = new AppendsOnTheirWay(thread.init.appending);
  }

  /** Starts the thread; resolves once its core is built. A configuration it refuses rejects here. */
  start(): Promise<void> {
    const worker = new Worker(this.thread.workerFile ?? releaseWorkerFile, { workerData: this.thread.init, stdout: false, stderr: false });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromReleaseThread) => {
        if (m.type === 'ready') resolve();
        else this.receive(m);
      });
      let uncaught: Error | undefined;
      worker.once('error', (err) => {
        uncaught = err;
        reject(err);
      });
      worker.once('exit', (code) => {
        this.exited = true;
        this.appending.reset();
        const err = this.stopping ? shuttingDown() : this.died(code, uncaught);
        reject(err);
        this.failAll(err);
        if (this.death) this.thread.onDeath?.(this.death);
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
    this.stopping = true;
    if (this.worker && !this.exited) await this.worker.terminate();
  }

  /** Whether the thread runs, or was stopped by serve: false once it died on its own (serve's /readyz). */
  get threadAlive(): boolean {
    return this.deathOf === undefined;
  }

  /** Why the thread died, when it stopped without being asked to. */
  get death(): ThreadDeath | undefined {
    return this.deathOf;
  }

  /** Records an unexpected exit; the coded error every waiting and later release request gets. */
  private died(code: number, uncaught: Error | undefined): ReleaseBotError {
    // The thread's own last word was redacted there; an error it could not report (out of memory) names no secret it held.
    const reason = this.lastWord?.message ?? (uncaught ? `${uncaught.name}: ${uncaught.message}` : undefined);
    this.deathOf = { exitCode: code, ...(reason !== undefined ? { reason } : {}) };
    return threadDied();
  }

  private call(message: WithoutId<Extract<ToReleaseThread, { id: number }>>): Promise<unknown> {
    if (this.death) return Promise.reject(threadDied());
    if (!this.worker || this.exited) return Promise.reject(shuttingDown());
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
      case 'bus':
        // The thread's bus carried it; the listeners here (announcer, approvals, audit watcher, forwarders) are the ones an in-process core had.
        try {
          this.events.emitMessage(m.message);
        } catch {
          // Listeners must not throw; one that does never stops the thread's next events.
        } finally {
          // An entry the thread appended is this process's own now: the audit log reads it again.
          if (m.message.name === 'audit-appended') this.appending.down();
        }
        return;
      case 'log':
        this.thread.logDestination.write(m.line);
        return;
      case 'conjur-call':
        this.thread.metrics().conjurCall(m.operation, m.seconds, m.errorCode);
        return;
      case 'dying':
        this.lastWord = m.error;
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

/** How the release thread ended when nobody asked it to. */
export interface ThreadDeath {
  exitCode: number;
  /** The error nothing caught, redacted by the thread when it could still report it. */
  reason?: string;
}

function shuttingDown(): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.InProgress, 'release-bot is shutting down: ask again in a minute');
}

/** INTERNAL (the notify single file keeps its own copy of the codes); `details.reason` says which. */
function threadDied(): ReleaseBotError {
  return new ReleaseBotError(
    ErrorCode.Internal,
    'the release thread of release-bot stopped unexpectedly, so nothing was released: release-bot restarts; ask again in a minute',
    { retryable: true, details: { reason: 'release-thread-died' } },
  );
}

export function toThreadError(err: ReleaseBotError): ThreadError {
  return { code: err.code, message: err.message, details: err.details, retryable: err.retryable };
}

function fromThreadError(e: ThreadError): ReleaseBotError {
  return new ReleaseBotError(e.code as ErrorCode, e.message, { details: e.details, retryable: e.retryable });
}
