import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DestinationConfig, ProjectConfig } from '../config/load.js';
import type { SecretValue } from '../conjur/secret-value.js';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../errors.js';
import type { PublishedRecord, PublisherDefinition, YankContext, YankResult } from '../publishing/types.js';
import type { Publication } from '../store/publications.js';
import type { YankRecord } from '../store/yanks.js';
import { destinationCredentials } from './destination-credentials.js';
import type { YankDestinationOutcome } from './yank-types.js';
import { compareVersions } from './version-order.js';

/** One destination that published the version being yanked (absent from the projects file: `undefined`). */
export interface DestinationYankJob {
  publication: Publication;
  destination: DestinationConfig | undefined;
}

/** What every destination of one yank shares. */
export interface DestinationYankRun {
  yank: YankRecord;
  project: ProjectConfig;
  secrets: ReadonlyMap<string, SecretValue>;
  runDir: string;
  log: Logger;
  redact: (t: string) => string;
  dryRun: boolean;
  shutdown: AbortSignal;
  /** Versions yanked before this yank started: never a destination's "previous" version. */
  yankedBefore: ReadonlySet<string>;
  /** Everything the project's destinations published (Yanks.publications). */
  publications: readonly Publication[];
  publishers: ReadonlyMap<string, PublisherDefinition>;
  /** First retry delay of a retryable failure; doubles each attempt. */
  retryBaseMs: number;
}

/** Runs one destination's `yank` step with its retries and timeout; never throws, the outcome says what happened. */
export async function yankDestination(job: DestinationYankJob, o: DestinationYankRun): Promise<YankDestinationOutcome> {
  const { publication: p, destination: dest } = job;
  const base = { name: p.destination, type: dest?.type ?? p.type };
  const publisher = dest && o.publishers.get(dest.type);
  const refused = unyankable(job, publisher);
  if (refused || !dest || !publisher?.yank) return { ...base, status: 'cannot-yank', detail: '', ...refused };
  const log = o.log.child({ destination: dest.name, type: dest.type });
  const previous = previousOf(o.publications, dest.name, o.yank.version, o.yankedBefore);
  const tmpRoot = path.join(o.runDir, dest.name);
  await mkdir(tmpRoot, { mode: 0o700 });
  const deadline = Date.now() + dest.timeout_seconds * 1000;
  for (let attempt = 1; ; attempt += 1) {
    const tmpDir = await mkdtemp(path.join(tmpRoot, 'a-'));
    const signal = AbortSignal.any([AbortSignal.timeout(Math.max(deadline - Date.now(), 1)), o.shutdown]);
    try {
      const { credentials } = destinationCredentials(dest, publisher, o.secrets);
      const ctx: YankContext = {
        project: o.project.name,
        version: o.yank.version,
        yankId: o.yank.id,
        reason: o.yank.reason,
        published: recordOf(p),
        previous,
        dryRun: o.dryRun,
        credentials,
        redact: o.redact,
        log,
        signal,
        tmpDir,
        progress: (message) => log.info({ progress: o.redact(message) }, 'yank progress'),
      };
      const result = await withTimeout(publisher.yank(ctx, dest.options), signal, dest.timeout_seconds);
      log.info({ status: result.status }, 'destination yank finished');
      return outcomeOf(base, result, o.redact);
    } catch (thrown) {
      const err = toReleaseBotError(thrown);
      const message = o.redact(err.message);
      const waitMs = o.retryBaseMs * 2 ** (attempt - 1);
      const retry = err.retryable && attempt <= dest.retries && !o.shutdown.aborted && Date.now() + waitMs < deadline;
      log.warn({ code: err.code, attempt, retry, err: message }, 'destination yank attempt failed');
      if (!retry) return { ...base, status: 'failed', detail: message, error: { code: err.code, message } };
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }
}

/** Why a destination cannot be yanked by the bot at all (gone from the projects file, no yank step, no artifact). */
function unyankable(
  { publication: p, destination: dest }: DestinationYankJob,
  publisher: PublisherDefinition | undefined,
): Pick<YankDestinationOutcome, 'status' | 'detail' | 'error'> | undefined {
  if (!dest)
    return { status: 'cannot-yank', detail: `${p.destination} is no longer in the projects file: undo ${p.location ?? 'it'} by hand` };
  if (!publisher?.yank)
    return {
      status: 'cannot-yank',
      detail: `a ${dest.type} destination cannot yank${dest.type === 'exec' ? ' (it has no yank_command)' : ''}: undo ${p.location ?? 'it'} by hand`,
    };
  if (!p.artifact)
    return {
      status: 'failed',
      detail: 'the staged build this version was published from is gone from the store',
      error: { code: ErrorCode.NotFound, message: 'no artifact recorded' },
    };
  return undefined;
}

/** The highest version below `version` that this destination published and that is not yanked. */
function previousOf(
  publications: readonly Publication[],
  destination: string,
  version: string,
  yanked: ReadonlySet<string>,
): PublishedRecord | undefined {
  const candidates = publications
    .filter(
      (p) =>
        p.destination === destination &&
        p.version !== version &&
        !yanked.has(p.version) &&
        compareVersions(p.version, version) < 0 &&
        p.artifact !== undefined,
    )
    .sort((a, b) => compareVersions(a.version, b.version));
  const best = candidates.at(-1);
  return best && recordOf(best);
}

function recordOf(p: Publication): PublishedRecord {
  return {
    version: p.version,
    artifact: p.artifact as NonNullable<Publication['artifact']>,
    readBackDigest: p.readBackDigest ?? undefined,
    location: p.location ?? undefined,
  };
}

function outcomeOf(base: { name: string; type: string }, result: YankResult, redact: (t: string) => string): YankDestinationOutcome {
  return {
    ...base,
    status: result.status,
    detail: redact(result.detail),
    location: result.location === undefined ? undefined : redact(result.location),
    actions: result.actions?.map(redact),
  };
}

/** A yank step that ignores its signal still cannot hold the yank past the destination's timeout. */
function withTimeout<T>(work: Promise<T>, signal: AbortSignal, timeoutSeconds: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new ReleaseBotError(ErrorCode.Timeout, `no answer within ${timeoutSeconds} s (timeout_seconds)`, {
          retryable: !(signal.reason instanceof Error && signal.reason.name === 'AbortError'),
        }),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
