import type { ReleaseBotError } from '../errors.js';
import { runOne } from './destinations/run-one.js';
import { runPreflights } from './destinations/preflights.js';
import type { DestinationJob, RunDestinationsOptions } from './destinations/types.js';
import type { DestinationOutcome } from './types.js';

export type { DestinationJob, RunDestinationsOptions } from './destinations/types.js';
export { deliver, planDelivery } from './destinations/lifecycle.js';

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
        const next = startable(job, inRun, finished);
        if (typeof next === 'object') {
          waiting.splice(k, 1);
          done(i, skip(job, o, next.skip));
          k = 0; // this result may decide others already passed over
          continue;
        }
        if (next === 'wait' || running >= o.concurrency) {
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
 * Whether a waiting destination may start: `wait` while one it runs after (in this run) has not finished,
 * `start` once all of them succeeded, or why it never will when one of them failed or was skipped.
 */
function startable(
  job: DestinationJob,
  inRun: ReadonlySet<string>,
  finished: ReadonlyMap<string, DestinationOutcome>,
): 'wait' | 'start' | { skip: string } {
  const deps = job.destination.after.filter((n) => inRun.has(n));
  if (deps.some((n) => !finished.has(n))) return 'wait';
  const unmet = deps.find((n) => !SUCCEEDED.has((finished.get(n) as DestinationOutcome).status));
  if (unmet === undefined) return 'start';
  return { skip: `not started: it runs after ${unmet}, which ${finished.get(unmet)?.status === 'skipped' ? 'was skipped' : 'failed'}` };
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
