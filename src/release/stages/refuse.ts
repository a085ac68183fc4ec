import type { ReleaseBotError } from '../../errors.js';
import { clip } from '../../validate.js';
import type { StageFailure } from '../pipeline.js';
import type { GateStage, ReleaseRequest } from './context.js';

/**
 * The outcome of a refused release: audited as denied (with the policy in force), recorded as a denied
 * release of the staged build when there is one, told to the ways out, logged, and thrown.
 * A resume with nothing to resume is a no-op, not a denial: answered, never audited (issue 15).
 */
export function refuse(r: ReleaseRequest, failure: StageFailure<GateStage>): never {
  const { s, projectName, version, requester, options } = r;
  const err: ReleaseBotError = failure.error;
  if (err.details.reason === 'nothing-to-resume') throw err;
  const policySha256 = r.policy.policySha256;
  const dryRun = Boolean(options.dryRun);
  const entry = s.audit.append({
    type: 'denied',
    project: clip(projectName, 100),
    version: clip(version, 100),
    actor: r.actor,
    data: { code: err.code, reason: err.message, dryRun, policySha256 },
  });
  const stagedBuildId = failure.stage.deniedWithBuild ? r.staged?.id : undefined;
  if (stagedBuildId !== undefined) {
    const record = {
      project: projectName,
      version,
      stagedBuildId,
      requesterLogin: requester.login,
      requesterChat: requester.chatUserId ?? null,
      via: requester.via,
      dryRun,
      policySha256,
    };
    s.releases.recordDenied(record, err.code, err.message, r.releaseId);
  }
  s.events.emit('release-denied', { project: projectName, version, requester, code: err.code, message: err.message, auditId: entry.id });
  s.log.warn({ project: clip(projectName, 100), version: clip(version, 100), login: requester.login, code: err.code }, 'release refused');
  throw err;
}
