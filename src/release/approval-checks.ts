import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ApprovalRequest } from '../store/approvals.js';
import type { StagedBuild } from '../store/staged-builds.js';
import type { ReleaseReader, StagedReader } from './ports.js';
import type { Requester } from './types.js';

/** Why an open request can no longer be approved. */
export interface Stale {
  status: 'void' | 'expired';
  reason: string;
}

export function expiry(request: ApprovalRequest, now: Date): Stale | undefined {
  if (now.getTime() >= Date.parse(request.expiresAt)) return { status: 'expired', reason: `the request expired at ${request.expiresAt}` };
  return undefined;
}

/**
 * A release request is void once another build is staged for its version (or none is), and expired
 * after its TTL. A yank request is bound to its words, not to what is staged: it only expires.
 */
export function staleness(request: ApprovalRequest, staged: StagedBuild | undefined, now: Date): Stale | undefined {
  if (request.action === 'yank') return expiry(request, now);
  if (!staged) return { status: 'void', reason: `${request.project} ${request.version} is no longer staged` };
  if (request.stagedBuildId !== staged.id || request.fingerprint !== staged.fingerprint) {
    return {
      status: 'void',
      reason: `${request.project} ${request.version} was re-staged (build ${staged.build.number ?? '?'}) after approvals were requested`,
    };
  }
  return expiry(request, now);
}

/** What is asked: "release" or "yank", for messages. */
export function asked(request: Pick<ApprovalRequest, 'action'>): string {
  return request.action === 'yank' ? 'yank' : 'release';
}

/** Two-person rule: never the requester, by Conjur login or by chat user. */
export function assertNotRequester(request: ApprovalRequest, approver: Requester): void {
  const same =
    approver.login === request.requester.login ||
    (approver.chatUserId !== undefined && approver.chatUserId === request.requester.chatUserId);
  if (!same) return;
  throw new ReleaseBotError(
    ErrorCode.NotAuthorized,
    `${approver.login} requested this ${asked(request)} and cannot approve it: another member of ${request.approverGroup} must`,
    { details: { group: request.approverGroup, reason: 'own-request' } },
  );
}

/** The refusal of a request that is no longer open, saying what happened to it. */
export function notOpen(request: ApprovalRequest): ReleaseBotError {
  const action = asked(request);
  const what = {
    approved: `this request was already approved and the ${action} started`,
    expired: `this request expired at ${request.expiresAt}: ask for the ${action} again`,
    void: `the approvals are void: ${request.closedReason ?? 'the build was re-staged'}; ask for the ${action} again`,
    open: `this request is no longer open`,
  }[request.status];
  return new ReleaseBotError(ErrorCode.Conflict, `${request.project} ${request.version}: ${what}`, {
    details: { reason: request.status, requestId: request.id },
  });
}

export function currentStaged(stagedBuilds: StagedReader, project: string, version: string): StagedBuild {
  const staged = stagedBuilds.current(project, version);
  if (!staged)
    throw new ReleaseBotError(
      ErrorCode.NotStaged,
      `${project} ${version} is not staged: Jenkins has not reported this build (see \`release-bot stage\`)`,
    );
  return staged;
}

/** Nobody asks approvers for a version that is released, or being released, already. */
export function assertNotLive(releases: ReleaseReader, project: string, version: string): void {
  const holder = releases.live(project, version);
  if (holder?.state === 'published') {
    const at = holder.finishedAt ?? holder.updatedAt;
    throw new ReleaseBotError(
      ErrorCode.AlreadyReleased,
      `${project} ${version} was already released on ${at} by ${holder.requesterLogin ?? 'unknown'} (${holder.id})`,
      { details: { releaseId: holder.id, at, by: holder.requesterLogin } },
    );
  }
  if (holder) {
    throw new ReleaseBotError(
      ErrorCode.InProgress,
      `${project} ${version} is being released right now by ${holder.requesterLogin ?? 'someone'} (${holder.id})`,
      { details: { releaseId: holder.id, by: holder.requesterLogin } },
    );
  }
}
