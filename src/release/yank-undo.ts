import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ProjectConfig } from '../config/load.js';
import { registerSecret, type SecretValue } from '../conjur/secret-value.js';
import type { Conjur } from '../conjur/types.js';
import { ErrorCode, toReleaseBotError, type ReleaseBotError } from '../errors.js';
import type { PublisherDefinition } from '../publishing/types.js';
import type { Redactor } from '../redact.js';
import type { Publication } from '../store/publications.js';
import type { YankRecord, Yanks } from '../store/yanks.js';
import { clip } from '../validate.js';
import { actorOf } from './actor.js';
import type { ReleaseCore } from './core.js';
import type { Freezes } from './freeze.js';
import type { AuditAppend } from './ports.js';
import type { Requester } from './types.js';
import { yankDestination, type DestinationYankJob, type DestinationYankRun } from './yank-destination.js';
import { MAX_REASON } from './yank-reason.js';
import type { YankDestinationOutcome, YankSummary } from './yank-types.js';

/** What undoing a yank needs from the service that admitted it. */
export interface UndoDeps {
  core: ReleaseCore;
  /** The yank's start and outcome are audited here. */
  audit: AuditAppend;
  conjur: Conjur;
  publishers: ReadonlyMap<string, PublisherDefinition>;
  redactor: Redactor;
  log: Logger;
  yanks: Yanks;
  freezes: Freezes;
  now: () => Date;
  retryBaseMs: number;
  /** The highest released version left that is not yanked. */
  latestVersion: (project: string) => string | undefined;
}

/** One admitted yank: its record (the per-version lock, for a real yank) and what published the version. */
export interface UndoRun {
  yank: YankRecord;
  project: ProjectConfig;
  published: Publication[];
  requester: Requester;
  approvers: string[];
  dryRun: boolean;
  noLock: boolean;
  startedAt: string;
  shutdown: AbortSignal;
}

/**
 * Undoes an admitted yank on every destination that published the version: one Conjur batch for the
 * credentials, each destination's `yank` step in turn, the state recorded, the project frozen (unless
 * --no-lock or a dry run), the outcome audited with the reason and the approvers.
 */
export async function undoYank(deps: UndoDeps, r: UndoRun): Promise<YankSummary> {
  const { yank, project } = r;
  const log = deps.log.child({ yankId: yank.id, project: project.name, version: yank.version });
  const jobs: DestinationYankJob[] = r.published.map((p) => ({
    publication: p,
    destination: project.destinations.find((d) => d.name === p.destination),
  }));
  const credentialIds = [
    ...new Set(
      jobs.flatMap((j) => (j.destination && deps.publishers.get(j.destination.type)?.yank ? Object.values(j.destination.credentials) : [])),
    ),
  ].sort();
  auditStart(deps, r, jobs);
  log.info({ login: r.requester.login, via: r.requester.via, dryRun: r.dryRun }, 'yank started');
  const { outcomes, error } = await runDestinations(deps, r, jobs, credentialIds, log);
  const summary = finish(deps, r, outcomes, credentialIds, error);
  log.info({ state: summary.state, auditId: summary.auditId }, 'yank finished');
  return summary;
}

function auditStart(deps: UndoDeps, r: UndoRun, jobs: DestinationYankJob[]): void {
  deps.audit.append({
    type: 'yank-requested',
    project: r.project.name,
    version: r.yank.version,
    actor: actorOf(r.requester),
    data: {
      yankId: r.yank.id,
      reason: r.yank.reason,
      approvers: r.approvers,
      yankGroup: r.project.yank_group ?? r.project.authorized_group,
      dryRun: r.dryRun,
      noLock: r.noLock,
      destinations: jobs.map((j) => j.publication.destination),
      policySha256: deps.core.config.policySha256,
    },
  });
}

async function runDestinations(
  deps: UndoDeps,
  r: UndoRun,
  jobs: DestinationYankJob[],
  credentialIds: string[],
  log: Logger,
): Promise<{ outcomes: YankDestinationOutcome[]; error: ReleaseBotError | undefined }> {
  const outcomes: YankDestinationOutcome[] = [];
  const runDir = await mkdtemp(path.join(tmpdir(), `release-bot-${r.yank.id}-`));
  try {
    // One batch, as a release does; every value is registered for redaction the moment it arrives.
    const secrets = credentialIds.length > 0 ? await deps.conjur.getSecrets(credentialIds) : new Map<string, SecretValue>();
    for (const value of secrets.values()) registerSecret(deps.redactor, value);
    const run: DestinationYankRun = {
      yank: r.yank,
      project: r.project,
      secrets,
      runDir,
      log,
      redact: (t) => deps.redactor.redact(t),
      dryRun: r.dryRun,
      shutdown: r.shutdown,
      yankedBefore: deps.yanks.yankedVersions(r.project.name),
      publications: deps.yanks.publications(r.project.name),
      publishers: deps.publishers,
      retryBaseMs: deps.retryBaseMs,
    };
    for (const job of jobs) {
      const outcome = await yankDestination(job, run);
      outcomes.push(outcome);
      if (!r.dryRun) deps.yanks.setDestination(destinationRecord(r.yank.id, outcome));
    }
    return { outcomes, error: undefined };
  } catch (thrown) {
    return { outcomes, error: toReleaseBotError(thrown) };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

function destinationRecord(yankId: string, o: YankDestinationOutcome): Parameters<Yanks['setDestination']>[0] {
  return {
    yankId,
    destination: o.name,
    type: o.type,
    status: o.status,
    detail: o.detail,
    location: o.location ?? null,
    errorCode: o.error?.code ?? null,
  };
}

function finish(
  deps: UndoDeps,
  r: UndoRun,
  outcomes: YankDestinationOutcome[],
  credentialIds: string[],
  error: ReleaseBotError | undefined,
): YankSummary {
  const { yank, project, dryRun } = r;
  const failed = error !== undefined || outcomes.some((o) => o.status === 'failed');
  const state = dryRun ? 'dry-run' : failed ? 'failed' : 'yanked';
  const safeError = error && { code: error.code, message: deps.redactor.redact(error.message) };
  const failedNames = outcomes.filter((o) => o.status === 'failed').map((o) => o.name);
  if (!dryRun)
    deps.yanks.finish(
      yank.id,
      state,
      safeError ?? (failed ? { code: ErrorCode.DestinationFailed, message: `${failedNames.join(', ')} failed` } : undefined),
    );
  // Freeze even when a destination failed: the version is on its way out, and the freeze keeps a
  // new release from landing on top while someone retries the yank.
  const prefix = `yanked ${yank.version}: `;
  // A freeze reason holds at most 300 characters: the yank's reason is shortened to fit, never refused here, after the fact.
  const frozen =
    dryRun || r.noLock
      ? undefined
      : deps.freezes.freezeAfterYank(project.name, `${prefix}${clip(yank.reason, MAX_REASON - prefix.length - 1)}`, r.requester, {
          yankId: yank.id,
          version: yank.version,
        });
  const latest = deps.latestVersion(project.name);
  const summary: Omit<YankSummary, 'auditId' | 'finishedAt'> = {
    yankId: yank.id,
    project: project.name,
    version: yank.version,
    reason: yank.reason,
    state,
    dryRun,
    requester: r.requester,
    approvers: r.approvers,
    destinations: outcomes,
    credentialIds,
    frozen,
    latest,
    startedAt: r.startedAt,
    error: safeError,
  };
  const finishedAt = deps.now().toISOString();
  return { ...summary, finishedAt, auditId: auditEnd(deps, summary) };
}

/** The yank's outcome in the audit log, with its reason and approvers; returns the entry's id. */
function auditEnd(deps: UndoDeps, s: Omit<YankSummary, 'auditId' | 'finishedAt'>): string {
  return deps.audit.append({
    type: s.state === 'dry-run' ? 'yank-dry-run' : s.state === 'yanked' ? 'yanked' : 'yank-failed',
    project: s.project,
    version: s.version,
    actor: actorOf(s.requester),
    data: {
      yankId: s.yankId,
      reason: s.reason,
      approvers: s.approvers,
      conjurIdentity: deps.core.config.env.CONJUR_AUTHN_LOGIN,
      credentialIds: s.credentialIds,
      destinations: s.destinations.map((o) => ({
        name: o.name,
        type: o.type,
        status: o.status,
        detail: o.detail,
        location: o.location,
        actions: o.actions,
        error: o.error?.code,
      })),
      frozen: s.frozen ? { reason: s.frozen.reason } : undefined,
      latest: s.latest,
      error: s.error,
      startedAt: s.startedAt,
    },
  }).id;
}
