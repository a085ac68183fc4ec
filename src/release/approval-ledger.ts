import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProjectConfig } from '../config/load.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { ApprovalRecords, type ApprovalRequest } from '../store/approvals.js';
import type { BusEventMap, EventBus } from '../events.js';
import type { Db } from '../store/db.js';
import type { StagedBuild } from '../store/staged-builds.js';
import { actorOf } from './actor.js';
import { asked, expiry, staleness, type Stale } from './approval-checks.js';
import { artifactDigests } from './core.js';
import { refusalsAudited } from './denials.js';
import type { AuditAppend, StagedReader } from './ports.js';
import type { Requester } from './types.js';

export interface ApprovalEventMap {
  /** `staged`: the build to release, or (a yank) the build that was published and is taken back. */
  'approval-requested': [{ request: ApprovalRequest; staged: StagedBuild }];
  'approval-recorded': [{ request: ApprovalRequest; approver: Requester }];
  /** Approved (the release or yank starts), expired or void (re-staged, superseded). */
  'approval-closed': [{ request: ApprovalRequest }];
}

/**
 * The bookkeeping of approvals, apart from their rules (approvals.ts): new requests, approvals added
 * under the write lock, closings, and the audit entry and event of each; every refusal audited.
 */
export class ApprovalLedger {
  readonly records: ApprovalRecords;

  constructor(
    /** Where requests, approvals, closings and refusals are audited, and the staged build a request is checked against. */
    private readonly store: { audit: AuditAppend; staged: StagedReader },
    db: Db,
    private readonly log: Logger,
    readonly now: () => Date,
    /** The app's event bus: the chat side hears of requests, approvals and closings there. */
    readonly events: EventBus,
  ) {
    this.records = new ApprovalRecords(db);
  }

  /** Adds the approval under the write lock; refuses (rolling back) what changed during the Conjur call. */
  record(id: string, approver: Requester): { stale?: Stale; reached: boolean; request: ApprovalRequest } {
    // Re-read under the write lock: another approval or a re-stage may have closed it meanwhile.
    // No closing here: a refusal rolls the transaction back, so it must change nothing.
    const request = this.records.get(id) as ApprovalRequest;
    if (request.status !== 'open' || expiry(request, this.now())) {
      throw new ReleaseBotError(
        ErrorCode.Conflict,
        `${request.project} ${request.version}: this request is no longer open (${request.status})`,
        {
          details: { reason: request.status, requestId: request.id },
        },
      );
    }
    // The staged build is read again under the same lock: a `release-bot stage` in another process
    // during the Conjur call above fires no event here, and approving would release a build nobody saw.
    const stale = this.staleOf(request);
    if (stale) return { stale, reached: false, request };
    if (!this.records.addApproval(request.id, approver, this.now().toISOString())) {
      throw new ReleaseBotError(
        ErrorCode.Conflict,
        `${approver.login} already approved this ${asked(request)}: it needs another member of ${request.approverGroup}`,
        { details: { reason: 'already-approved' } },
      );
    }
    const reached = this.records.count(request.id) >= request.needed;
    if (reached) this.records.close(request.id, 'approved', 'approved', this.now().toISOString());
    return { reached, request: this.records.get(request.id) as ApprovalRequest };
  }

  newRequest(
    project: ProjectConfig,
    version: string,
    staged: StagedBuild,
    requester: Requester,
    what: Pick<ApprovalRequest, 'action' | 'approverGroup'>,
  ): ApprovalRequest {
    const at = this.now();
    return {
      id: `apr_${randomBytes(12).toString('base64url')}`,
      ...what,
      project: project.name,
      version,
      stagedBuildId: staged.id,
      fingerprint: staged.fingerprint,
      requester,
      needed: project.approvals,
      resume: false,
      reason: null,
      noLock: false,
      status: 'open',
      createdAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + project.approval_ttl_seconds * 1000).toISOString(),
      closedAt: null,
      closedReason: null,
      approvals: [],
    };
  }

  /** Records a new request, audits it and announces it; a concurrent twin that won the race is returned instead. */
  openRequest(request: ApprovalRequest, staged: StagedBuild): { request: ApprovalRequest; created: boolean } {
    if (!this.records.insert(request)) {
      // Two requests at the same moment: the unique index keeps one open request per action; return it.
      return { request: this.records.openFor(request.project, request.version, request.action) as ApprovalRequest, created: false };
    }
    this.store.audit.append({
      type: 'approval-requested',
      project: request.project,
      version: request.version,
      actor: actorOf(request.requester),
      data: {
        requestId: request.id,
        action: request.action,
        needed: request.needed,
        approverGroup: request.approverGroup,
        expiresAt: request.expiresAt,
        resume: request.resume,
        ...(request.action === 'yank' ? { reason: request.reason, noLock: request.noLock } : {}),
        stagedBuildId: staged.id,
        fingerprint: staged.fingerprint,
        build: staged.build,
        artifact: artifactDigests(staged.artifact),
      },
    });
    this.emit('approval-requested', { request, staged });
    return { request, created: true };
  }

  auditApproved(request: ApprovalRequest, approver: Requester): void {
    this.store.audit.append({
      type: 'approved',
      project: request.project,
      version: request.version,
      actor: actorOf(approver),
      data: {
        requestId: request.id,
        action: request.action,
        approvals: request.approvals.length,
        needed: request.needed,
        requester: request.requester.login,
        ...(request.action === 'yank' ? { reason: request.reason, noLock: request.noLock } : {}),
        stagedBuildId: request.stagedBuildId,
        fingerprint: request.fingerprint,
      },
    });
  }

  staleOf(request: ApprovalRequest): Stale | undefined {
    const staged = request.action === 'release' ? this.store.staged.current(request.project, request.version) : undefined;
    return staleness(request, staged, this.now());
  }

  close(request: ApprovalRequest, stale: Stale, by: Requester): void {
    if (!this.records.close(request.id, stale.status, stale.reason, this.now().toISOString())) return;
    this.store.audit.append({
      type: 'approval-void',
      project: request.project,
      version: request.version,
      actor: actorOf(by),
      data: {
        requestId: request.id,
        action: request.action,
        status: stale.status,
        reason: stale.reason,
        approvals: request.approvals.map((a) => a.login),
        stagedBuildId: request.stagedBuildId,
        fingerprint: request.fingerprint,
      },
    });
    this.emit('approval-closed', { request: this.records.get(request.id) as ApprovalRequest });
  }

  /** Every refusal is audited, with what was asked; `where` may be filled in as the work learns it. */
  async audited<T>(
    action: string,
    where: { project: string; version: string },
    actor: Requester,
    extra: Record<string, unknown>,
    work: () => Promise<T>,
  ): Promise<T> {
    const refused = () => ({ project: where.project, version: where.version, actor: actorOf(actor), data: { action, ...extra } });
    return refusalsAudited(this.store.audit, refused, work);
  }

  emit<K extends keyof ApprovalEventMap>(event: K, ...args: BusEventMap[K]): void {
    try {
      this.events.emit(event, ...args);
    } catch (err) {
      this.log.error({ err: (err as Error).message, event }, 'an approval event listener threw');
    }
  }
}
