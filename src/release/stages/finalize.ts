import type { AuditedDestination } from '../../audit/entry-data.js';
import { ErrorCode, type ReleaseBotError } from '../../errors.js';
import { removeStagingFile } from '../../staging/label.js';
import { removeTree } from '../../staging/quarantine.js';
import type { StageFailure } from '../pipeline.js';
import { setState } from '../services.js';
import type { DestinationOutcome, ReleaseSummary } from '../types.js';
import type { ReleaseRun, RunStage } from './context.js';
import { artifactDigests } from './label-text.js';

/** After the stages, whatever happened: a label still pending is removed, and the run's private directory. */
export async function cleanup(r: ReleaseRun): Promise<void> {
  if (r.pendingLabel)
    await removeStagingFile(r.s.config.stagingDir, r.project.name, r.release.version, r.pendingLabel).catch(() => undefined);
  if (r.runDir) await removeTree(r.runDir);
}

/**
 * Finalize: the release's outcome (published, failed, dry-run) as its final state, one audit entry,
 * the event the chat turns into the summary, a log line, and the summary returned to the caller.
 */
export function finalize(r: ReleaseRun, failure: StageFailure<RunStage> | undefined): ReleaseSummary {
  const { s, release, project, staged, outcomes } = r;
  const error: ReleaseBotError | undefined = failure?.error;
  const failed = error !== undefined || outcomes.some((o) => o.status === 'failed');
  const state = r.dryRun && !failed ? 'dry-run' : failed ? 'failed' : 'published';
  const safeError = error && { code: error.code, message: s.redactor.redact(error.message) };
  setState(s, release.id, state, safeError ?? destinationsFailed(outcomes));
  const finished = s.now();
  const summaryBase = {
    releaseId: release.id,
    project: project.name,
    version: release.version,
    state,
    dryRun: r.dryRun,
    resumeOf: r.previous?.id ?? null,
    build: staged.build,
    artifact: staged.artifact,
    requester: r.requester,
    approvers: r.approvers,
    destinations: outcomes,
    credentialIds: r.credentialIds,
    startedAt: new Date(r.startedMs).toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - r.startedMs,
    error: safeError,
  } satisfies Omit<ReleaseSummary, 'auditId'>;
  const entry = s.audit.append({
    type: state === 'dry-run' ? 'dry-run' : state === 'published' ? 'published' : 'failed',
    project: project.name,
    version: release.version,
    releaseId: release.id,
    actor: r.actor,
    data: {
      build: staged.build,
      artifact: artifactDigests(staged.artifact),
      publishedArtifact: r.measured && artifactDigests(r.measured),
      labelWritten: r.labelWritten,
      stagedAt: staged.stagedAt,
      stagedBy: staged.reportedBy,
      approvers: r.approvers,
      conjurIdentity: s.policy().env.CONJUR_AUTHN_LOGIN,
      policySha256: release.policySha256,
      credentialIds: r.credentialIds,
      destinations: outcomes.map(auditedOutcome),
      resumeOf: r.previous?.id,
      error: safeError,
      startedAt: summaryBase.startedAt,
      durationMs: summaryBase.durationMs,
    },
  });
  const summary: ReleaseSummary = { ...summaryBase, auditId: entry.id };
  s.events.emit('release-finished', { summary, project });
  r.log.info({ state, durationMs: summary.durationMs, auditId: entry.id }, 'release finished');
  return summary;
}

/** The error a release records when only destinations failed: their names. */
function destinationsFailed(outcomes: DestinationOutcome[]): { code: string; message: string } | undefined {
  if (!outcomes.find((o) => o.status === 'failed')?.error) return undefined;
  const names = outcomes.filter((o) => o.status === 'failed').map((o) => o.name);
  return { code: ErrorCode.DestinationFailed, message: `${names.join(', ')} failed` };
}

function auditedOutcome(o: DestinationOutcome): AuditedDestination {
  return {
    name: o.name,
    type: o.type,
    status: o.status,
    attempts: o.attempts,
    durationMs: o.durationMs,
    readBackDigest: o.readBackDigest,
    location: o.location,
    detail: o.detail,
    error: o.error?.code,
    message: o.error?.message,
    plan: o.plan,
    attestations: o.attestations,
  };
}
