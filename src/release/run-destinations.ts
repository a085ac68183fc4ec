import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DestinationConfig } from '../config/load.js';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../errors.js';
import type { PublishContext, PublisherDefinition } from '../publishing/types.js';
import type { Releases } from '../store/releases.js';
import type { CoreEvents } from './events.js';
import type { DestinationOutcome } from './types.js';

export interface DestinationJob {
  destination: DestinationConfig;
  publisher: PublisherDefinition;
  credentials: Record<string, string>;
}

export interface RunDestinationsOptions {
  releaseId: string;
  /** Everything of the publish context that all destinations share. */
  context: Omit<PublishContext, 'credentials' | 'signal' | 'tmpDir' | 'progress' | 'log'>;
  /** Where each destination gets its private temporary directory. */
  tmpRoot: string;
  concurrency: number;
  dryRun: boolean;
  log: Logger;
  releases: Releases;
  events: CoreEvents;
  /** Aborted when the bot shuts down for good: running destinations stop, none is retried. */
  shutdown: AbortSignal;
  retryBaseMs: number;
  now: () => number;
}

/**
 * Runs every destination of a release, `concurrency` at a time, each with its own timeout and
 * bounded retries for retryable failures. One failing destination never hides another's result.
 */
export async function runDestinations(jobs: readonly DestinationJob[], o: RunDestinationsOptions): Promise<DestinationOutcome[]> {
  const outcomes: DestinationOutcome[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      outcomes[i] = await runOne(jobs[i] as DestinationJob, o);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, jobs.length) }, worker));
  return outcomes;
}

async function runOne(job: DestinationJob, o: RunDestinationsOptions): Promise<DestinationOutcome> {
  const { destination: dest, publisher } = job;
  const log = o.log.child({ destination: dest.name, type: dest.type });
  const started = o.now();
  const startedAt = new Date(started).toISOString();
  const base = { releaseId: o.releaseId, destination: dest.name, type: dest.type };
  const tmpDir = await mkdtemp(path.join(o.tmpRoot, `${dest.name}-`));
  const finish = (outcome: DestinationOutcome): DestinationOutcome => {
    o.releases.upsertDestination({
      ...base,
      status: outcome.status === 'skipped' ? 'already-present' : outcome.status,
      attempts: outcome.attempts,
      startedAt,
      finishedAt: new Date(o.now()).toISOString(),
      durationMs: outcome.durationMs,
      readBackDigest: outcome.readBackDigest ?? null,
      location: outcome.location ?? null,
      detail: outcome.detail ?? (outcome.plan ? outcome.plan.join('\n') : null),
      errorCode: outcome.error?.code ?? null,
      errorMessage: outcome.error?.message ?? null,
    });
    o.events.emit('destination-finished', { releaseId: o.releaseId, outcome });
    log.info({ status: outcome.status, durationMs: outcome.durationMs, attempts: outcome.attempts, error: outcome.error?.code }, 'destination finished');
    return outcome;
  };

  let attempt = 0;
  try {
    for (;;) {
      attempt += 1;
      o.releases.upsertDestination({ ...base, status: 'running', attempts: attempt, startedAt });
      o.events.emit('destination-started', { releaseId: o.releaseId, destination: dest.name, type: dest.type, attempt });
      const timeout = AbortSignal.timeout(dest.timeout_seconds * 1000);
      const signal = AbortSignal.any([timeout, o.shutdown]);
      const ctx: PublishContext = {
        ...o.context,
        credentials: job.credentials,
        signal,
        tmpDir,
        log,
        progress: (message) => o.events.emit('destination-progress', { releaseId: o.releaseId, destination: dest.name, message: o.context.redact(message) }),
      };
      try {
        if (o.dryRun) {
          const plan = publisher.plan ? (await publisher.plan(ctx, dest.options)).actions : [`publish to ${dest.type} destination ${dest.name}`];
          return finish({ name: dest.name, type: dest.type, status: 'planned', attempts: attempt, durationMs: o.now() - started, plan: plan.map(o.context.redact) });
        }
        const result = await abortable(publisher.publish(ctx, dest.options), signal, dest.timeout_seconds);
        return finish({
          name: dest.name,
          type: dest.type,
          status: result.status,
          attempts: attempt,
          durationMs: o.now() - started,
          readBackDigest: result.readBackDigest,
          location: result.location && o.context.redact(result.location),
          detail: result.detail && o.context.redact(result.detail),
        });
      } catch (thrown) {
        const err = toReleaseBotError(thrown);
        const message = o.context.redact(err.message);
        const retry = err.retryable && attempt <= dest.retries && !o.shutdown.aborted;
        log.warn({ code: err.code, retryable: err.retryable, attempt, retry, err: message }, 'destination attempt failed');
        if (!retry) {
          return finish({ name: dest.name, type: dest.type, status: 'failed', attempts: attempt, durationMs: o.now() - started, error: { code: err.code, message, retryable: err.retryable } });
        }
        await sleep(o.retryBaseMs * 2 ** (attempt - 1), o.shutdown);
      }
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** A publisher that ignores its signal still cannot hold the release past its timeout. */
function abortable<T>(work: Promise<T>, signal: AbortSignal, timeoutSeconds: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const timedOut = signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError';
      reject(
        timedOut
          ? new ReleaseBotError(ErrorCode.Timeout, `no answer within ${timeoutSeconds} s (timeout_seconds)`, { retryable: true })
          : new ReleaseBotError(ErrorCode.Timeout, 'stopped: release-bot is shutting down', { retryable: false }),
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
