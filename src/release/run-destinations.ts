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
  /** Waits between attempts; resolves early when `signal` aborts. Tests inject one to keep time virtual. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Results after which a destination that names this one in `after` may start. */
const SUCCEEDED: ReadonlySet<DestinationOutcome['status']> = new Set(['published', 'already-present', 'planned']);

/**
 * Runs every destination's preflight first, all of them to the end; when one refuses, no destination
 * publishes (the refusing ones are failed, the others skipped, none ran). Otherwise publishes.
 */
export async function runDestinations(jobs: readonly DestinationJob[], o: RunDestinationsOptions): Promise<DestinationOutcome[]> {
  const refusals = await runPreflights(jobs, o);
  if (refusals.size > 0) return jobs.map((job) => notRun(job, o, refusals));
  return publishAll(jobs, o);
}

/**
 * Each destination's preflight (concurrently: they read the private copy only), within its timeout.
 * Decision: a preflight gets no credential, since it must decide from the artifact alone, and it is
 * never retried: what the artifact says does not change on a second look.
 */
async function runPreflights(jobs: readonly DestinationJob[], o: RunDestinationsOptions): Promise<Map<string, ReleaseBotError>> {
  const refusals = new Map<string, ReleaseBotError>();
  await Promise.all(
    jobs.map(async ({ destination: dest, publisher }) => {
      if (!publisher.preflight) return;
      const log = o.log.child({ destination: dest.name, type: dest.type, step: 'preflight' });
      const tmpDir = await mkdtemp(path.join(o.tmpRoot, `${dest.name}-preflight-`));
      const signal = AbortSignal.any([AbortSignal.timeout(dest.timeout_seconds * 1000), o.shutdown]);
      const ctx: PublishContext = {
        ...o.context,
        credentials: {},
        signal,
        tmpDir,
        log,
        progress: (message) =>
          o.events.emit('destination-progress', { releaseId: o.releaseId, destination: dest.name, message: o.context.redact(message) }),
      };
      try {
        await abortable((async () => publisher.preflight?.(ctx, dest.options))(), signal, dest.timeout_seconds);
      } catch (thrown) {
        const err = toReleaseBotError(thrown);
        refusals.set(dest.name, err);
        log.warn({ code: err.code, err: o.context.redact(err.message) }, 'preflight refused');
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    }),
  );
  return refusals;
}

/** A destination of a release whose preflight refused: failed (its own refusal) or skipped (another's), never run. */
function notRun(job: DestinationJob, o: RunDestinationsOptions, refusals: ReadonlyMap<string, ReleaseBotError>): DestinationOutcome {
  const { destination: dest } = job;
  const own = refusals.get(dest.name);
  if (!own)
    return skip(job, o, `not run: the preflight of ${[...refusals.keys()].join(', ')} refused the artifact, so no destination published`);
  const detail = 'not run: its preflight refused the artifact';
  const message = o.context.redact(own.message);
  o.releases.upsertDestination({
    releaseId: o.releaseId,
    destination: dest.name,
    type: dest.type,
    status: 'failed',
    attempts: 0,
    startedAt: null,
    finishedAt: new Date(o.now()).toISOString(),
    durationMs: 0,
    detail,
    errorCode: own.code,
    errorMessage: message,
  });
  const outcome: DestinationOutcome = {
    name: dest.name,
    type: dest.type,
    status: 'failed',
    attempts: 0,
    durationMs: 0,
    detail,
    error: { code: own.code, message, retryable: false },
  };
  o.events.emit('destination-finished', { releaseId: o.releaseId, outcome });
  return outcome;
}

/**
 * Runs every destination of a release, `concurrency` at a time, each within its own timeout and with
 * bounded retries for retryable failures. One failing destination never hides another's result.
 * A destination starts only once every destination it names in `after` has succeeded; when one of them
 * failed it is skipped, since it depends on what that one should have delivered (e.g. a heroku build of
 * a tarball the download host does not serve yet). A name that is not among `jobs` was done by the
 * release being resumed, so it counts as succeeded.
 */
function publishAll(jobs: readonly DestinationJob[], o: RunDestinationsOptions): Promise<DestinationOutcome[]> {
  const outcomes: DestinationOutcome[] = new Array(jobs.length);
  const inRun = new Set(jobs.map((j) => j.destination.name));
  const finished = new Map<string, DestinationOutcome>();
  const waiting = jobs.map((job, i) => ({ job, i }));
  let running = 0;
  return new Promise((resolve, reject) => {
    let broken = false;
    const done = (i: number, outcome: DestinationOutcome) => {
      outcomes[i] = outcome;
      finished.set(outcome.name, outcome);
    };
    const pump = () => {
      if (broken) return;
      for (let k = 0; k < waiting.length;) {
        const { job, i } = waiting[k] as { job: DestinationJob; i: number };
        const deps = job.destination.after.filter((n) => inRun.has(n));
        if (deps.some((n) => !finished.has(n))) {
          k += 1;
          continue;
        }
        const unmet = deps.find((n) => !SUCCEEDED.has((finished.get(n) as DestinationOutcome).status));
        if (unmet !== undefined) {
          waiting.splice(k, 1);
          done(
            i,
            skip(
              job,
              o,
              `not started: it runs after ${unmet}, which ${finished.get(unmet)?.status === 'skipped' ? 'was skipped' : 'failed'}`,
            ),
          );
          k = 0; // this result may decide others already passed over
          continue;
        }
        if (running >= o.concurrency) {
          k += 1;
          continue;
        }
        waiting.splice(k, 1);
        running += 1;
        runOne(job, o).then(
          (outcome) => {
            running -= 1;
            done(i, outcome);
            pump();
          },
          (err: unknown) => {
            broken = true;
            reject(err);
          },
        );
      }
      if (running > 0) return;
      // Nothing runs and nothing can start: only a cycle (which the config loader refuses) leaves anything waiting.
      for (const { job, i } of waiting.splice(0))
        done(i, skip(job, o, `not started: it waits for ${job.destination.after.join(', ')} in a cycle`));
      resolve(outcomes);
    };
    pump();
  });
}

/**
 * A destination that never started. Stored as `pending` (never as done), so a resume runs it; the
 * detail says why, and the release has failed anyway since the destination it waited for did.
 */
function skip(job: DestinationJob, o: RunDestinationsOptions, detail: string): DestinationOutcome {
  const { destination: dest } = job;
  const at = new Date(o.now()).toISOString();
  o.releases.upsertDestination({
    releaseId: o.releaseId,
    destination: dest.name,
    type: dest.type,
    status: 'pending',
    attempts: 0,
    startedAt: null,
    finishedAt: at,
    durationMs: 0,
    detail,
  });
  const outcome: DestinationOutcome = { name: dest.name, type: dest.type, status: 'skipped', attempts: 0, durationMs: 0, detail };
  o.events.emit('destination-finished', { releaseId: o.releaseId, outcome });
  o.log.info({ destination: dest.name, type: dest.type, status: 'skipped', detail }, 'destination skipped');
  return outcome;
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
      attestationsJson: outcome.attestations ? JSON.stringify(outcome.attestations) : null,
    });
    o.events.emit('destination-finished', { releaseId: o.releaseId, outcome });
    log.info(
      { status: outcome.status, durationMs: outcome.durationMs, attempts: outcome.attempts, error: outcome.error?.code },
      'destination finished',
    );
    return outcome;
  };

  // timeout_seconds bounds the destination as a whole (every attempt and every wait between them), so
  // retries cannot hold the release past it.
  const deadline = started + dest.timeout_seconds * 1000;
  const pause = o.sleep ?? sleep;
  let attempt = 0;
  try {
    for (;;) {
      attempt += 1;
      o.releases.upsertDestination({ ...base, status: 'running', attempts: attempt, startedAt });
      o.events.emit('destination-started', { releaseId: o.releaseId, destination: dest.name, type: dest.type, attempt });
      const timeout = AbortSignal.timeout(Math.max(deadline - o.now(), 1));
      const signal = AbortSignal.any([timeout, o.shutdown]);
      const ctx: PublishContext = {
        ...o.context,
        credentials: job.credentials,
        signal,
        tmpDir,
        log,
        progress: (message) =>
          o.events.emit('destination-progress', { releaseId: o.releaseId, destination: dest.name, message: o.context.redact(message) }),
      };
      try {
        if (o.dryRun) {
          const plan = publisher.plan
            ? (await publisher.plan(ctx, dest.options)).actions
            : [`publish to ${dest.type} destination ${dest.name}`];
          return finish({
            name: dest.name,
            type: dest.type,
            status: 'planned',
            attempts: attempt,
            durationMs: o.now() - started,
            plan: plan.map(o.context.redact),
          });
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
          ...(result.attestations ? { attestations: result.attestations } : {}),
        });
      } catch (thrown) {
        const err = toReleaseBotError(thrown);
        const wanted = err.retryable && attempt <= dest.retries && !o.shutdown.aborted;
        // A service that says when to come back (429/503 Retry-After) is believed: retrying sooner only earns another refusal.
        const backoffMs = o.retryBaseMs * 2 ** (attempt - 1);
        const askedSeconds = retryAfterSeconds(err);
        const retryAfterMs = askedSeconds === undefined ? undefined : askedSeconds * 1000;
        const waitMs = Math.max(backoffMs, retryAfterMs ?? 0);
        const fits = o.now() + waitMs < deadline;
        const message =
          o.context.redact(err.message) + (wanted && !fits ? notRetried(err, dest.timeout_seconds, retryAfterMs, backoffMs) : '');
        log.warn(
          { code: err.code, retryable: err.retryable, attempt, retry: wanted && fits, waitMs, retryAfterMs, err: message },
          'destination attempt failed',
        );
        if (!wanted || !fits) {
          return finish({
            name: dest.name,
            type: dest.type,
            status: 'failed',
            attempts: attempt,
            durationMs: o.now() - started,
            error: { code: err.code, message, retryable: err.retryable },
          });
        }
        await pause(waitMs, o.shutdown);
      }
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
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
