import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, toReleaseBotError, type ReleaseBotError } from '../../errors.js';
import type { PublishContext } from '../../publishing/types.js';
import type { DestinationOutcome } from '../types.js';
import { abortable, sleep } from './abortable.js';
import { deliver, planDelivery } from './lifecycle.js';
import { stepContext, type DestinationJob, type RunDestinationsOptions } from './types.js';

/** What one destination's run keeps across its attempts. */
interface DestinationRun {
  job: DestinationJob;
  o: RunDestinationsOptions;
  log: Logger;
  started: number;
  startedAt: string;
  /**
   * timeout_seconds bounds the destination as a whole (every attempt and every wait between them), so
   * retries cannot hold the release past it.
   */
  deadline: number;
  pause: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** How an attempt ended; the destination's name and type, its attempts and its duration are added by `finish`. */
type AttemptEnd = Omit<DestinationOutcome, 'name' | 'type' | 'attempts' | 'durationMs'>;

/**
 * One destination to its end: attempts of its lifecycle (src/release/destinations/lifecycle.ts) and
 * its attestation, with bounded retries of retryable failures, all within its timeout_seconds; the
 * outcome stored, announced and logged.
 */
export async function runOne(job: DestinationJob, o: RunDestinationsOptions): Promise<DestinationOutcome> {
  const { destination: dest } = job;
  const started = o.now();
  const run: DestinationRun = {
    job,
    o,
    log: o.log.child({ destination: dest.name, type: dest.type }),
    started,
    startedAt: new Date(started).toISOString(),
    deadline: started + dest.timeout_seconds * 1000,
    pause: o.sleep ?? sleep,
  };
  const tmpDir = await mkdtemp(path.join(o.tmpRoot, `${dest.name}-`));
  let attempt = 0;
  try {
    for (;;) {
      attempt += 1;
      o.releases.upsertDestination({ ...rowKey(run), status: 'running', attempts: attempt, startedAt: run.startedAt });
      o.events.emit('destination-started', { releaseId: o.releaseId, destination: dest.name, type: dest.type, attempt });
      const timeout = AbortSignal.timeout(Math.max(run.deadline - o.now(), 1));
      const signal = AbortSignal.any([timeout, o.shutdown]);
      const ctx = stepContext(o, dest.name, { credentials: job.credentials, signal, tmpDir, log: run.log });
      try {
        return finish(run, attempt, await attemptOnce(run, ctx, signal));
      } catch (thrown) {
        const failure = afterFailure(run, toReleaseBotError(thrown), attempt);
        if (failure.waitMs === undefined) return finish(run, attempt, { status: 'failed', error: failure.error });
        await run.pause(failure.waitMs, o.shutdown);
      }
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** The key of the destination's row in `destination_results`. */
function rowKey({ o, job }: DestinationRun): { releaseId: string; destination: string; type: string } {
  return { releaseId: o.releaseId, destination: job.destination.name, type: job.destination.type };
}

/** One attempt: the plan of a dry run, or the delivery (and its attestation), bounded by the signal. */
async function attemptOnce({ job, o, pause }: DestinationRun, ctx: PublishContext, signal: AbortSignal): Promise<AttemptEnd> {
  const { destination: dest, publisher } = job;
  if (o.dryRun) {
    const plan = await planDelivery(publisher, ctx, dest.options, `publish to ${dest.type} destination ${dest.name}`);
    return { status: 'planned', plan: plan.map(o.context.redact) };
  }
  const attestOf = job.attest;
  const result = await abortable(
    (async () => {
      const delivered = await deliver(publisher, ctx, dest.options, pause);
      return attestOf ? { ...delivered, attestations: await attestOf(ctx, delivered) } : delivered;
    })(),
    signal,
    dest.timeout_seconds,
  );
  return {
    status: result.status,
    readBackDigest: result.readBackDigest,
    location: result.location && o.context.redact(result.location),
    detail: result.detail && o.context.redact(result.detail),
    ...(result.attestations ? { attestations: result.attestations } : {}),
  };
}

/** A failed attempt, logged: the error to finish with, or how long to wait before the next attempt. */
function afterFailure(
  { job, o, log, deadline }: DestinationRun,
  err: ReleaseBotError,
  attempt: number,
): { error: NonNullable<DestinationOutcome['error']>; waitMs?: number } {
  const dest = job.destination;
  const wanted = err.retryable && attempt <= dest.retries && !o.shutdown.aborted;
  // A service that says when to come back (429/503 Retry-After) is believed: retrying sooner only earns another refusal.
  const backoffMs = o.retryBaseMs * 2 ** (attempt - 1);
  const askedSeconds = retryAfterSeconds(err);
  const retryAfterMs = askedSeconds === undefined ? undefined : askedSeconds * 1000;
  const waitMs = Math.max(backoffMs, retryAfterMs ?? 0);
  const fits = o.now() + waitMs < deadline;
  const message = o.context.redact(err.message) + (wanted && !fits ? notRetried(err, dest.timeout_seconds, retryAfterMs, backoffMs) : '');
  log.warn(
    { code: err.code, retryable: err.retryable, attempt, retry: wanted && fits, waitMs, retryAfterMs, err: message },
    'destination attempt failed',
  );
  const error = { code: err.code, message, retryable: err.retryable };
  return wanted && fits ? { error, waitMs } : { error };
}

/** How the attempt ended, stored, announced and logged, with the destination's name and type, its attempts and its duration. */
function finish(run: DestinationRun, attempts: number, end: AttemptEnd): DestinationOutcome {
  const { job, o, log, started, startedAt } = run;
  const { status, ...rest } = end;
  const dest = job.destination;
  const outcome: DestinationOutcome = { name: dest.name, type: dest.type, status, attempts, durationMs: o.now() - started, ...rest };
  o.releases.upsertDestination({
    ...rowKey(run),
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
    attestationsJson: outcome.attestations ? JSON.stringify(outcome.attestations) : null,
  });
  o.events.emit('destination-finished', { releaseId: o.releaseId, outcome });
  log.info(
    { status: outcome.status, durationMs: outcome.durationMs, attempts: outcome.attempts, error: outcome.error?.code },
    'destination finished',
  );
  return outcome;
}

/** The wait a service asked for (publishers put a parsed Retry-After into the error's details), if any. */
function retryAfterSeconds(err: ReleaseBotError): number | undefined {
  const s = err.details.retryAfterSeconds;
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s : undefined;
}

/** Why a retryable failure is final after all: the next attempt would start past the destination's deadline. */
function notRetried(err: ReleaseBotError, timeoutSeconds: number, retryAfterMs: number | undefined, backoffMs: number): string {
  if (retryAfterMs !== undefined && retryAfterMs > backoffMs) {
    return `; not retried: the service asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After), which would pass this destination's timeout_seconds (${timeoutSeconds} s): release again later, or raise timeout_seconds`;
  }
  if (err.code === ErrorCode.Timeout) return ''; // the message already says the timeout passed
  return `; not retried: this destination's timeout_seconds (${timeoutSeconds} s) would pass before the next attempt: release again later, or raise timeout_seconds`;
}
