import type { Logger } from 'pino';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ApprovalRecords, ApprovalRequest } from '../store/approvals.js';
import { ApprovalLedger } from './approval-ledger.js';
import type { EventBus } from '../events.js';
import type { Db } from '../store/db.js';
import { assertVersion, clip } from '../validate.js';
import { asked, assertNotLive, assertNotRequester, currentStaged, expiry, notOpen, staleness } from './approval-checks.js';
import type { ReleaseCore } from './core.js';
import type { Freezes } from './freeze.js';
import { assertMember } from './membership.js';
import type { AuditAppend, ReleaseReader, StagedReader } from './ports.js';
import type { ReleaseSummary, Requester } from './types.js';
import type { YankService, YankSummary } from './yank.js';

export type { ApprovalEventMap } from './approval-ledger.js';
export type { Approval, ApprovalAction, ApprovalRequest, ApprovalStatus } from '../store/approvals.js';

export type ApproveResult =
  | { status: 'recorded'; request: ApprovalRequest }
  /** The last approval needed: the release runs as the requester; `release` settles when it ends. */
  | { status: 'releasing'; request: ApprovalRequest; release: Promise<ReleaseSummary> }
  /** The last approval needed of a yank: the yank runs as the requester; `yank` settles when it ends. */
  | { status: 'yanking'; request: ApprovalRequest; yank: Promise<YankSummary> };

/** What approvals of yanks need of the yank service: its gates, the rollback target, the yank itself. */
export type ApprovalYanks = Pick<YankService, 'admit' | 'rollbackTarget' | 'yank'>;

export interface ApprovalsOptions {
  /** Where every request, approval and refusal is audited (app/create.ts gives the append only). */
  audit: AuditAppend;
  /** What a request is bound to (the staged build) and checked against (a release of the version). */
  staged: StagedReader;
  releases: ReleaseReader;
  freezes: Freezes;
  log: Logger;
  now?: () => Date;
  /** The yank service: without it, a yank of a project that needs approvals cannot be asked for. */
  yanks?: ApprovalYanks | undefined;
  /** The app's event bus, where requests, approvals and closings are told; the core's by default. */
  bus?: EventBus;
}

const REQUEST_ID = /^apr_[A-Za-z0-9_-]{16}$/;
const BOT: Requester = { login: 'release-bot', via: 'api' };

/**
 * The two-person rule. A release of a project with `approvals: N` waits for N approvals by members of
 * the project's `approver_group` other than the requester; a yank waits for N approvals by members of
 * its yank group other than the requester. Then the release or the yank runs as the requester, with
 * the approvers named. A release request is bound to the staged build; a yank request to its reason
 * and --no-lock. Requests expire after `approval_ttl_seconds`; every request, approval and refusal is
 * audited. An approval authorizes only the request it was given to: a release never a yank.
 */
export class Approvals {
  /** The bus the approvals' events are emitted on (and `staged`, which voids stale requests, heard). */
  readonly events: EventBus;
  private readonly now: () => Date;
  private readonly ledger: ApprovalLedger;
  private readonly records: ApprovalRecords;

  constructor(
    private readonly core: ReleaseCore,
    db: Db,
    private readonly options: ApprovalsOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.events = options.bus ?? core.events;
    this.ledger = new ApprovalLedger(options, db, options.log, this.now, this.events);
    this.records = this.ledger.records;
    this.events.on('staged', ({ staged }) => {
      try {
        this.voidStale(staged.project, staged.version);
      } catch (err) {
        options.log.error(
          { err: (err as Error).message, project: staged.project, version: staged.version },
          'could not void approvals of a re-staged build',
        );
      }
    });
  }

  /** Whether releases and yanks of this project wait for approvals (unknown projects: no; the core refuses them). */
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
      const stale = this.ledger.staleOf(request);
      if (!stale) continue;
      this.ledger.close(request, stale, BOT);
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
    return this.ledger.audited('approval-request', { project: projectName, version }, requester, {}, async () => {
      const project = this.core.project(projectName);
      assertVersion(version);
      if (project.approvals === 0) throw new ReleaseBotError(ErrorCode.BadInput, `${project.name} needs no approvals: release it directly`);
      const freeze = this.options.freezes.get(project.name);
      if (freeze) {
        throw new ReleaseBotError(ErrorCode.Frozen, `${project.name} is frozen by ${freeze.by} since ${freeze.at}: ${freeze.reason}`, {
          details: { by: freeze.by, at: freeze.at, reason: freeze.reason },
        });
      }
      const staged = currentStaged(this.options.staged, project.name, version);
      assertNotLive(this.options.releases, project.name, version);
      const group = project.authorized_group;
      await assertMember(
        this.core,
        requester,
        group,
        `${requester.login} is not a member of the Conjur group ${group}, which may release ${project.name}`,
      );
      const current = this.records.openFor(project.name, version, 'release');
      if (current) {
        const stale = staleness(current, staged, this.now());
        if (!stale) return { request: current, created: false };
        this.ledger.close(current, stale, requester);
      }
      const request = this.ledger.newRequest(project, version, staged, requester, {
        action: 'release',
        approverGroup: project.approver_group,
      });
      return this.ledger.openRequest({ ...request, resume: Boolean(opts.resume) }, staged);
    });
  }

  /**
   * Asks for a yank (`version` given) or a rollback (`version` undefined: the newest released version)
   * of a project that needs approvals. The checks every yank passes run first (YankService.admit:
   * published, a reason, the requester in the yank group). The request is bound to the reason and
   * --no-lock: the same words again return the open request; other words supersede it (its approvals
   * are void), so an approval given for one reason never carries a yank with another.
   */
  async requestYank(
    projectName: string,
    version: string | undefined,
    text: string,
    requester: Requester,
    opts: { noLock?: boolean | undefined } = {},
  ): Promise<{ request: ApprovalRequest; created: boolean }> {
    const where = { project: projectName, version: version ?? '-' };
    const action = version === undefined ? 'rollback' : 'yank';
    return this.ledger.audited(action, where, requester, { yankReason: clip(text, 300) }, async () => {
      const yanks = this.yankService();
      const target = version === undefined ? yanks.rollbackTarget(projectName, text) : { version, reason: text };
      where.version = target.version;
      const { project, reason, published, group } = await yanks.admit(projectName, target.version, target.reason, requester);
      if (project.approvals === 0) throw new ReleaseBotError(ErrorCode.BadInput, `${project.name} needs no approvals: yank it directly`);
      const publishedFrom = published.find((p) => p.stagedBuildId !== null)?.stagedBuildId;
      const staged = publishedFrom === undefined || publishedFrom === null ? undefined : this.options.staged.byId(publishedFrom);
      if (!staged)
        throw new ReleaseBotError(
          ErrorCode.NotFound,
          `the build ${project.name} ${target.version} was published from is gone from the store`,
        );
      const noLock = Boolean(opts.noLock);
      const current = this.records.openFor(project.name, target.version, 'yank');
      if (current) {
        const same = current.reason === reason && current.noLock === noLock;
        const stale =
          expiry(current, this.now()) ??
          (same ? undefined : { status: 'void' as const, reason: `${requester.login} asked again to yank it, in other words: ${reason}` });
        if (!stale) return { request: current, created: false };
        this.ledger.close(current, stale, requester);
      }
      const request = this.ledger.newRequest(project, target.version, staged, requester, { action: 'yank', approverGroup: group });
      return this.ledger.openRequest({ ...request, reason, noLock }, staged);
    });
  }

  /**
   * Records an approval. Refused: the requester approving their own request, a non-member of the
   * request's approver group, a second approval by the same person, an expired request, a re-staged
   * build (a release). The approval that reaches N starts the release or the yank (exactly once,
   * even when approvals race).
   */
  async approve(requestId: string, approver: Requester): Promise<ApproveResult> {
    const known = REQUEST_ID.test(requestId) ? this.get(requestId) : undefined;
    const where = { project: known?.project ?? '-', version: known?.version ?? '-' };
    return this.ledger.audited('approve', where, approver, { requestId: known?.id, approving: known?.action }, async () => {
      if (!known) throw new ReleaseBotError(ErrorCode.NotFound, `no approval request ${JSON.stringify(clip(requestId, 40))}`);
      this.assertOpen(known);
      // Who may approve is decided before any state changes: never the requester, only approver-group members.
      assertNotRequester(known, approver);
      const whose = `whose members approve ${asked(known)}s of ${known.project}`;
      await assertMember(
        this.core,
        approver,
        known.approverGroup,
        `${approver.login} is not a member of the Conjur group ${known.approverGroup}, ${whose}`,
      );
      const outcome = this.records.transaction(() => this.ledger.record(known.id, approver));
      if (outcome.stale) {
        this.ledger.close(outcome.request, outcome.stale, BOT);
        const again = `ask for the ${asked(outcome.request)} again`;
        throw new ReleaseBotError(
          ErrorCode.Conflict,
          `${outcome.request.project} ${outcome.request.version}: the approvals are void: ${outcome.stale.reason}; ${again}`,
          { details: { reason: outcome.stale.status, requestId: outcome.request.id } },
        );
      }
      const { request, reached } = outcome;
      this.ledger.auditApproved(request, approver);
      this.ledger.emit('approval-recorded', { request, approver });
      if (!reached) return { status: 'recorded', request };
      this.ledger.emit('approval-closed', { request });
      return this.start(request);
    });
  }

  /** Runs what the approvals were given for, as its requester, with the approvers named. */
  private start(request: ApprovalRequest): ApproveResult {
    const approvers = request.approvals.map((a) => a.login);
    if (request.action === 'yank') {
      // Bound to the words that were approved: the stored reason and --no-lock, never the caller's.
      const yank = this.yankService().yank(request.project, request.version, request.reason ?? '', request.requester, {
        approvers,
        noLock: request.noLock,
      });
      // The caller may not wait for it; a refusal is audited by the yank service and must not go unhandled here.
      yank.catch(() => undefined);
      return { status: 'yanking', request, yank };
    }
    // Bound to the build that was approved: the core refuses if another one is staged by the time it runs.
    const release = this.core.release(request.project, request.version, request.requester, {
      approvers,
      resume: request.resume,
      expectedStaged: { id: request.stagedBuildId, fingerprint: request.fingerprint },
    });
    release.catch(() => undefined);
    return { status: 'releasing', request, release };
  }

  /** Voids the open release request of a version when a different build is staged for it. */
  private voidStale(project: string, version: string): void {
    const request = this.records.openFor(project, version, 'release');
    const stale = request && this.ledger.staleOf(request);
    if (request && stale) this.ledger.close(request, stale, BOT);
  }

  /** Refuses a request that is not open, closing it first if it has just expired or its build was replaced. */
  private assertOpen(request: ApprovalRequest): void {
    if (request.status === 'open') {
      const stale = this.ledger.staleOf(request);
      if (!stale) return;
      this.ledger.close(request, stale, BOT);
      request = this.records.get(request.id) as ApprovalRequest;
    }
    throw notOpen(request);
  }

  private yankService(): ApprovalYanks {
    if (!this.options.yanks)
      throw new ReleaseBotError(ErrorCode.BadInput, 'this release-bot takes no yank approvals (no yank service is wired to approvals)');
    return this.options.yanks;
  }
}
