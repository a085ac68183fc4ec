import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AuditActor } from '../audit/log.js';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../errors.js';
import type { Db } from '../store/db.js';
import { ApprovalRecords, type ApprovalRequest } from './approval-records.js';
import type { StagedBuild } from '../store/staged-builds.js';
import { assertVersion, clip } from '../validate.js';
import { artifactDigests, type ReleaseCore } from './core.js';
import type { Freezes } from './freeze.js';
import { assertMember } from './membership.js';
import type { ReleaseSummary, Requester } from './types.js';

export type { Approval, ApprovalRequest, ApprovalStatus } from './approval-records.js';

export type ApproveResult =
  | { status: 'recorded'; request: ApprovalRequest }
  /** The last approval needed: the release runs as the requester; `release` settles when it ends. */
  | { status: 'releasing'; request: ApprovalRequest; release: Promise<ReleaseSummary> };

export interface ApprovalEventMap {
  'approval-requested': [{ request: ApprovalRequest; staged: StagedBuild }];
  'approval-recorded': [{ request: ApprovalRequest; approver: Requester }];
  /** Approved (the release starts), expired or void (re-staged). */
  'approval-closed': [{ request: ApprovalRequest }];
}

export interface ApprovalsOptions {
  freezes: Freezes;
  log: Logger;
  now?: () => Date;
}

const REQUEST_ID = /^apr_[A-Za-z0-9_-]{16}$/;

/**
 * The two-person rule. A release of a project with `approvals: N` waits for N approvals by members of
 * the project's `approver_group` other than the requester; then the core runs it as the requester,
 * with the approvers named. Approvals are bound to the staged build, expire after
 * `approval_ttl_seconds`, and every request, approval and refusal is audited.
 */
export class Approvals {
  readonly events = new EventEmitter<ApprovalEventMap>();
  private readonly now: () => Date;
  private readonly records: ApprovalRecords;

  constructor(
    private readonly core: ReleaseCore,
    db: Db,
    private readonly options: ApprovalsOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.records = new ApprovalRecords(db);
    core.events.on('staged', ({ staged }) => {
      try {
        this.voidStale(staged.project, staged.version, staged);
      } catch (err) {
        options.log.error(
          { err: (err as Error).message, project: staged.project, version: staged.version },
          'could not void approvals of a re-staged build',
        );
      }
    });
  }

  /** Whether releases of this project wait for approvals (unknown projects: no; the core refuses them). */
  required(projectName: string): boolean {
    return (this.core.config.projects.get(projectName)?.approvals ?? 0) > 0;
  }

  get(id: string): ApprovalRequest | undefined {
    return this.records.get(id);
  }

  /** Open requests that can still be approved, newest first. */
  open(project?: string): ApprovalRequest[] {
    return this.records.open(project, this.now().toISOString());
  }

  /**
   * Closes the open requests nobody can approve any more: expired ones, and those whose build was
   * re-staged by another process (`release-bot stage`, the ssh forced command), whose staging this
   * process never heard of. Without it such a request stays open for ever: no audit entry says it
   * ended and its Approve button stays in the channel. The Slack front end runs it periodically.
   * Returns the requests it closed.
   */
  closeStale(): ApprovalRequest[] {
    const closed: ApprovalRequest[] = [];
    for (const request of this.records.open()) {
      const staged = this.core.staged.current(request.project, request.version);
      const stale = staged
        ? this.staleness(request, staged)
        : { status: 'void' as const, reason: `${request.project} ${request.version} is no longer staged` };
      if (!stale) continue;
      this.close(request, stale.status, stale.reason, { login: 'release-bot', via: 'api' });
      const after = this.records.get(request.id);
      // Only the ones this sweep closed: an approval may have closed it first.
      if (after?.status === stale.status) closed.push(after);
    }
    return closed;
  }

  /**
   * Asks for a release that needs approvals. The same checks as a release run first (project, version,
   * freeze, staged, not released, requester authorized), so nobody can ask approvers for what the core
   * would refuse anyway. An open request for the same staged build is returned as is (`created: false`).
   */
  async request(
    projectName: string,
    version: string,
    requester: Requester,
    opts: { resume?: boolean } = {},
  ): Promise<{ request: ApprovalRequest; created: boolean }> {
    return this.audited('approval-request', projectName, version, requester, undefined, async () => {
      const project = this.core.project(projectName);
      assertVersion(version);
      if (project.approvals === 0) throw new ReleaseBotError(ErrorCode.BadInput, `${project.name} needs no approvals: release it directly`);
      const freeze = this.options.freezes.get(project.name);
      if (freeze) {
        throw new ReleaseBotError(ErrorCode.Frozen, `${project.name} is frozen by ${freeze.by} since ${freeze.at}: ${freeze.reason}`, {
          details: { by: freeze.by, at: freeze.at, reason: freeze.reason },
        });
      }
      const staged = this.currentStaged(project.name, version);
      this.assertNotLive(project.name, version);
      await this.assertMember(
        requester,
        project.authorized_group,
        `${requester.login} is not a member of the Conjur group ${project.authorized_group}, which may release ${project.name}`,
      );

      const current = this.records.openFor(project.name, version);
      if (current) {
        const stale = this.staleness(current, staged);
        if (!stale) return { request: current, created: false };
        this.close(current, stale.status, stale.reason, requester);
      }

      const at = this.now();
      const request: ApprovalRequest = {
        id: `apr_${randomBytes(12).toString('base64url')}`,
        project: project.name,
        version,
        stagedBuildId: staged.id,
        fingerprint: staged.fingerprint,
        requester,
        needed: project.approvals,
        approverGroup: project.approver_group,
        resume: Boolean(opts.resume),
        status: 'open',
        createdAt: at.toISOString(),
        expiresAt: new Date(at.getTime() + project.approval_ttl_seconds * 1000).toISOString(),
        closedAt: null,
        closedReason: null,
        approvals: [],
      };
      if (!this.records.insert(request)) {
        // Two requests at the same moment: the unique index keeps one open request; return it.
        return { request: this.records.openFor(project.name, version) as ApprovalRequest, created: false };
      }
      this.core.audit.append({
        type: 'approval-requested',
        project: project.name,
        version,
        actor: actorOf(requester),
        data: {
          requestId: request.id,
          needed: request.needed,
          approverGroup: request.approverGroup,
          expiresAt: request.expiresAt,
          resume: request.resume,
          stagedBuildId: staged.id,
          fingerprint: staged.fingerprint,
          build: staged.build,
          artifact: artifactDigests(staged.artifact),
        },
      });
      this.emit('approval-requested', { request, staged });
      return { request, created: true };
    });
  }

  /**
   * Records an approval. Refused: the requester approving their own release, a non-member of the
   * approver group, a second approval by the same person, an expired request, a re-staged build.
   * The approval that reaches N starts the release (exactly once, even when approvals race).
   */
  async approve(requestId: string, approver: Requester): Promise<ApproveResult> {
    const known = REQUEST_ID.test(requestId) ? this.get(requestId) : undefined;
    return this.audited('approve', known?.project ?? '-', known?.version ?? '-', approver, known?.id, async () => {
      if (!known) throw new ReleaseBotError(ErrorCode.NotFound, `no approval request ${JSON.stringify(clip(requestId, 40))}`);
      this.assertOpen(known);
      // Who may approve is decided before any state changes: never the requester, only approver-group members.
      if (
        approver.login === known.requester.login ||
        (approver.chatUserId !== undefined && approver.chatUserId === known.requester.chatUserId)
      ) {
        throw new ReleaseBotError(
          ErrorCode.NotAuthorized,
          `${approver.login} requested this release and cannot approve it: another member of ${known.approverGroup} must`,
          {
            details: { group: known.approverGroup, reason: 'own-request' },
          },
        );
      }
      await this.assertMember(
        approver,
        known.approverGroup,
        `${approver.login} is not a member of the Conjur group ${known.approverGroup}, whose members approve releases of ${known.project}`,
      );

      const outcome = this.records.transaction(() => {
        // Re-read under the write lock: another approval or a re-stage may have closed it meanwhile.
        // No closing here: a refusal rolls the transaction back, so it must change nothing.
        const request = this.records.get(known.id) as ApprovalRequest;
        if (request.status !== 'open' || this.now().getTime() >= Date.parse(request.expiresAt)) {
          throw new ReleaseBotError(
            ErrorCode.Conflict,
            `${request.project} ${request.version}: this request is no longer open (${request.status})`,
            { details: { reason: request.status, requestId: request.id } },
          );
        }
        // The staged build is read again under the same lock: a `release-bot stage` in another process
        // during the Conjur call above fires no event here, and approving would release a build nobody saw.
        const staged = this.core.staged.current(request.project, request.version);
        const stale = staged
          ? this.staleness(request, staged)
          : { status: 'void' as const, reason: `${request.project} ${request.version} is no longer staged` };
        if (stale) return { stale, reached: false, request };
        if (!this.records.addApproval(request.id, approver, this.now().toISOString())) {
          throw new ReleaseBotError(
            ErrorCode.Conflict,
            `${approver.login} already approved this release: it needs another member of ${request.approverGroup}`,
            { details: { reason: 'already-approved' } },
          );
        }
        const reached = this.records.count(request.id) >= request.needed;
        if (reached) this.records.close(request.id, 'approved', 'approved', this.now().toISOString());
        return { stale: undefined, reached, request: this.records.get(request.id) as ApprovalRequest };
      });
      if (outcome.stale) {
        const { stale } = outcome;
        this.close(outcome.request, stale.status, stale.reason, { login: 'release-bot', via: 'api' });
        throw new ReleaseBotError(
          ErrorCode.Conflict,
          `${outcome.request.project} ${outcome.request.version}: the approvals are void: ${stale.reason}; ask for the release again`,
          {
            details: { reason: stale.status, requestId: outcome.request.id },
          },
        );
      }
      const { request, reached } = outcome;
      this.core.audit.append({
        type: 'approved',
        project: request.project,
        version: request.version,
        actor: actorOf(approver),
        data: {
          requestId: request.id,
          approvals: request.approvals.length,
          needed: request.needed,
          requester: request.requester.login,
          stagedBuildId: request.stagedBuildId,
          fingerprint: request.fingerprint,
        },
      });
      this.emit('approval-recorded', { request, approver });
      if (!reached) return { status: 'recorded', request };
      this.emit('approval-closed', { request });
      // Bound to the build that was approved: the core refuses if another one is staged by the time it runs.
      const release = this.core.release(request.project, request.version, request.requester, {
        approvers: request.approvals.map((a) => a.login),
        resume: request.resume,
        expectedStaged: { id: request.stagedBuildId, fingerprint: request.fingerprint },
      });
      // The caller may not wait for it; a refusal is audited by the core and must not go unhandled here.
      release.catch(() => undefined);
      return { status: 'releasing', request, release };
    });
  }

  /** Voids open requests of a version when a different build is staged for it. */
  private voidStale(project: string, version: string, staged: StagedBuild): void {
    const request = this.records.openFor(project, version);
    if (!request) return;
    const stale = this.staleness(request, staged);
    if (stale) this.close(request, stale.status, stale.reason, { login: 'release-bot', via: 'api' });
  }

  private staleness(request: ApprovalRequest, staged: StagedBuild): { status: 'void' | 'expired'; reason: string } | undefined {
    if (request.stagedBuildId !== staged.id || request.fingerprint !== staged.fingerprint) {
      return {
        status: 'void',
        reason: `${request.project} ${request.version} was re-staged (build ${staged.build.number ?? '?'}) after approvals were requested`,
      };
    }
    if (this.now().getTime() >= Date.parse(request.expiresAt))
      return { status: 'expired', reason: `the request expired at ${request.expiresAt}` };
    return undefined;
  }

  /** Refuses a request that is not open, closing it first if it has just expired or its build was replaced. */
  private assertOpen(request: ApprovalRequest): void {
    if (request.status === 'open') {
      const staged = this.core.staged.current(request.project, request.version);
      const stale = staged
        ? this.staleness(request, staged)
        : { status: 'void' as const, reason: `${request.project} ${request.version} is no longer staged` };
      if (!stale) return;
      this.close(request, stale.status, stale.reason, { login: 'release-bot', via: 'api' });
      request = this.records.get(request.id) as ApprovalRequest;
    }
    const what = {
      approved: `this request was already approved and the release started`,
      expired: `this request expired at ${request.expiresAt}: ask for the release again`,
      void: `the approvals are void: ${request.closedReason ?? 'the build was re-staged'}; ask for the release again`,
      open: '',
    }[request.status];
    throw new ReleaseBotError(ErrorCode.Conflict, `${request.project} ${request.version}: ${what}`, {
      details: { reason: request.status, requestId: request.id },
    });
  }

  private close(request: ApprovalRequest, status: 'void' | 'expired', reason: string, by: Requester): void {
    if (!this.records.close(request.id, status, reason, this.now().toISOString())) return;
    this.core.audit.append({
      type: 'approval-void',
      project: request.project,
      version: request.version,
      actor: actorOf(by),
      data: {
        requestId: request.id,
        status,
        reason,
        approvals: request.approvals.map((a) => a.login),
        stagedBuildId: request.stagedBuildId,
        fingerprint: request.fingerprint,
      },
    });
    this.emit('approval-closed', { request: this.records.get(request.id) as ApprovalRequest });
  }

  private currentStaged(project: string, version: string): StagedBuild {
    const staged = this.core.staged.current(project, version);
    if (!staged)
      throw new ReleaseBotError(
        ErrorCode.NotStaged,
        `${project} ${version} is not staged: Jenkins has not reported this build (see \`release-bot stage\`)`,
      );
    return staged;
  }

  private assertNotLive(project: string, version: string): void {
    const holder = this.core.releases.live(project, version);
    if (holder?.state === 'published') {
      const at = holder.finishedAt ?? holder.updatedAt;
      throw new ReleaseBotError(
        ErrorCode.AlreadyReleased,
        `${project} ${version} was already released on ${at} by ${holder.requesterLogin ?? 'unknown'} (${holder.id})`,
        {
          details: { releaseId: holder.id, at, by: holder.requesterLogin },
        },
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

  /** Fail closed: a Conjur error refuses, it never approves. */
  private assertMember(who: Requester, group: string, refusal: string): Promise<void> {
    return assertMember(this.core, who, group, refusal);
  }

  private async audited<T>(
    action: string,
    project: string,
    version: string,
    actor: Requester,
    requestId: string | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (thrown) {
      const err = toReleaseBotError(thrown);
      this.core.audit.append({
        type: 'denied',
        project: clip(project, 100),
        version: clip(version, 100),
        actor: actorOf(actor),
        data: { action, requestId, code: err.code, reason: err.message },
      });
      throw err;
    }
  }

  private emit<K extends keyof ApprovalEventMap>(event: K, ...args: ApprovalEventMap[K]): void {
    try {
      (this.events as EventEmitter).emit(event, ...args);
    } catch (err) {
      this.options.log.error({ err: (err as Error).message, event }, 'an approval event listener threw');
    }
  }
}

function actorOf(r: Requester): AuditActor {
  return { via: r.via, chatUserId: r.chatUserId, conjurLogin: r.login };
}
