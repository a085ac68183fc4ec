import type { Logger } from 'pino';
import type { ProjectConfig } from '../config/load.js';
import type { Conjur } from '../conjur/types.js';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../errors.js';
import { withLogContext } from '../log.js';
import type { PublisherDefinition } from '../publishing/types.js';
import type { Redactor } from '../redact.js';
import type { Db } from '../store/db.js';
import type { Publication } from '../store/publications.js';
import { newYankId, Yanks, type YankRecord } from '../store/yanks.js';
import { assertVersion, clip } from '../validate.js';
import type { ReleaseCore } from './core.js';
import { Freezes } from './freeze.js';
import { assertMember } from './membership.js';
import type { AuditAppend, ReleaseReader } from './ports.js';
import { currentProcess, ownerIsDead, systemProbe, type ProcessProbe } from './owner.js';
import type { Requester } from './types.js';
import { compareVersions } from './version-order.js';
import { cleanReason, MAX_REASON } from './yank-reason.js';
import type { YankOptions, YankSummary } from './yank-types.js';
import { actorOf } from './actor.js';
import { undoYank } from './yank-undo.js';

export { cleanReason } from './yank-reason.js';
export type { YankDestinationOutcome, YankOptions, YankSummary } from './yank-types.js';

export interface YankDeps {
  core: ReleaseCore;
  /** Every yank, its outcome and every refusal is audited here (app/create.ts gives the append only). */
  audit: AuditAppend;
  /** A version being released right now is not yanked. */
  releases: ReleaseReader;
  db: Db;
  /** The yanks' repository, kept by the service (app/create.ts hands ways in its read-only view); built on `db` when absent. */
  yanks?: Yanks;
  conjur: Conjur;
  publishers: ReadonlyMap<string, PublisherDefinition>;
  redactor: Redactor;
  log: Logger;
  now?: () => Date;
  probe?: ProcessProbe;
  /** First retry delay of a retryable failure; doubles each attempt. */
  retryBaseMs?: number;
}

/** A yank that passed the checks every yank passes (see `admit`). */
export interface AdmittedYank {
  project: ProjectConfig;
  /** The reason as it will be shown (one line, at most 300 characters). */
  reason: string;
  /** What each destination published of the version. */
  published: Publication[];
  /** The Conjur group whose members may yank (and approve yanks of) the project. */
  group: string;
}

/** The group that may yank a project, and whose members approve its yanks: `yank_group`, default `authorized_group`. */
export function yankGroupOf(project: Pick<ProjectConfig, 'yank_group' | 'authorized_group'>): string {
  return project.yank_group ?? project.authorized_group;
}

/**
 * Takes a released version back (`/release yank`, `release-bot yank`, the ssh forced command) through
 * the same gates as a release: the project and version, the Conjur group (`yank_group`, default the
 * authorized group; fail closed), approvals, the per-version lock shared with releases, the audit log.
 * A freeze does not stop a yank (undoing is what a freeze is for); a yank freezes the project after.
 * Each destination that published the version gets its type's `yank` step; absent, it "cannot yank".
 */
export class YankService {
  private readonly yanks: Yanks;
  readonly freezes: Freezes;
  private readonly now: () => Date;
  private readonly probe: ProcessProbe;

  constructor(private readonly deps: YankDeps) {
    this.now = deps.now ?? (() => new Date());
    this.probe = deps.probe ?? systemProbe;
    this.yanks = deps.yanks ?? new Yanks(deps.db, this.now, currentProcess());
    this.freezes = new Freezes(deps.core, deps.audit, deps.db, this.now);
  }

  yank(projectName: string, version: string, reason: string, requester: Requester, options: YankOptions = {}): Promise<YankSummary> {
    const yankId = newYankId();
    return this.deps.core.track((shutdown) =>
      withLogContext({ yankId, project: clip(String(projectName), 100), version: clip(String(version), 100) }, () =>
        this.run(yankId, projectName, version, reason, requester, options, shutdown),
      ),
    );
  }

  /**
   * `/release rollback <project> [text]`: yanks the newest release of the project (by when it was
   * published) that is not yanked, with the reason "rollback" and the requester's text. A project
   * with nothing to roll back is refused and audited like any other refusal.
   */
  rollback(projectName: string, text: string, requester: Requester, options: YankOptions = {}): Promise<YankSummary> {
    let target: { version: string; reason: string };
    try {
      target = this.rollbackTarget(projectName, text);
    } catch (thrown) {
      const reason = text.trim() ? `rollback: ${text.trim()}` : 'rollback';
      return Promise.reject(this.refuse(toReleaseBotError(thrown), projectName, '-', requester, reason, options, 'rollback'));
    }
    return this.yank(projectName, target.version, target.reason, requester, options);
  }

  /** What `/release rollback <project> [text]` yanks, and with which reason; NOT_FOUND when nothing is left to roll back. */
  rollbackTarget(projectName: string, text: string): { version: string; reason: string } {
    const reason = text.trim() ? `rollback: ${text.trim()}` : 'rollback';
    const project = this.deps.core.project(projectName);
    const version = this.newestReleased(project.name);
    if (!version)
      throw new ReleaseBotError(ErrorCode.NotFound, `${project.name} has no released version that is not yanked: nothing to roll back`);
    return { version, reason };
  }

  /** The version published most recently (any destination) that is not yanked. */
  newestReleased(project: string): string | undefined {
    const yanked = this.yanks.yankedVersions(project);
    return this.yanks.publications(project).find((p) => !yanked.has(p.version))?.version;
  }

  /** The highest released version that is not yanked (what `latest` should point at). */
  latestVersion(project: string): string | undefined {
    const yanked = this.yanks.yankedVersions(project);
    const versions = [...new Set(this.yanks.publications(project).map((p) => p.version))].filter((v) => !yanked.has(v));
    return versions.sort(compareVersions).at(-1);
  }

  /**
   * The checks every yank passes before it may run or be put to approvers: a known project, a valid
   * version some destination published (not one being released right now), a reason, and the
   * requester in the yank group (fail closed). Throws; the caller audits the refusal.
   */
  async admit(projectName: string, version: string, rawReason: string, requester: Requester): Promise<AdmittedYank> {
    const { core } = this.deps;
    const project = core.project(projectName);
    assertVersion(version);
    const reason = cleanReason(rawReason);
    const published = this.yanks.publications(project.name).filter((p) => p.version === version);
    if (published.length === 0) {
      const running = this.deps.releases.inFlight(project.name, version)[0];
      if (running)
        throw new ReleaseBotError(
          ErrorCode.InProgress,
          `${project.name} ${version} is being released right now by ${running.requesterLogin ?? 'someone'} (${running.id}): yank it once that release has finished`,
          { details: { releaseId: running.id } },
        );
      throw new ReleaseBotError(
        ErrorCode.NotFound,
        `${project.name} ${version} was never released (no destination published it): there is nothing to yank`,
      );
    }
    const group = yankGroupOf(project);
    await assertMember(
      core,
      requester,
      group,
      `${requester.login} is not a member of the Conjur group ${group}, which may yank ${project.name}`,
    );
    return { project, reason, published, group };
  }

  private refuse(
    err: ReleaseBotError,
    project: string,
    version: string,
    requester: Requester,
    reason: string,
    options: YankOptions,
    action = 'yank',
  ): ReleaseBotError {
    this.deps.audit.append({
      type: 'denied',
      project: clip(project, 100),
      version: clip(version, 100),
      actor: actorOf(requester),
      data: {
        action,
        code: err.code,
        reason: err.message,
        yankReason: clip(reason, MAX_REASON),
        dryRun: Boolean(options.dryRun),
        approvers: options.approvers ?? [],
      },
    });
    this.deps.log.warn(
      { project: clip(project, 100), version: clip(version, 100), login: requester.login, code: err.code },
      'yank refused',
    );
    return err;
  }

  private async run(
    yankId: string,
    projectName: string,
    version: string,
    rawReason: string,
    requester: Requester,
    options: YankOptions,
    shutdown: AbortSignal,
  ): Promise<YankSummary> {
    const startedAt = this.now().toISOString();
    const approvers = options.approvers ?? [];
    const dryRun = Boolean(options.dryRun);
    let admitted: AdmittedYank;
    let yank: YankRecord;
    try {
      admitted = await this.admit(projectName, version, rawReason, requester);
      const { project, reason, group } = admitted;
      assertApproved(project, group, approvers, dryRun);
      // A release or a yank of this version whose process died holds the lock: mark it interrupted first.
      this.deps.core.recoverInterrupted(this.probe, { project: project.name, version });
      this.recoverInterrupted(project.name, version);
      yank = this.yanks.create(
        {
          project: project.name,
          version,
          reason,
          requesterLogin: requester.login,
          requesterChat: requester.chatUserId ?? null,
          via: requester.via,
          approvers,
          dryRun,
        },
        yankId,
      );
    } catch (thrown) {
      throw this.refuse(toReleaseBotError(thrown), projectName, version, requester, rawReason, options);
    }
    return undoYank(
      {
        ...this.deps,
        yanks: this.yanks,
        freezes: this.freezes,
        now: this.now,
        retryBaseMs: this.deps.retryBaseMs ?? 1000,
        latestVersion: (p) => this.latestVersion(p),
      },
      {
        yank,
        project: admitted.project,
        published: admitted.published,
        requester,
        approvers,
        dryRun,
        noLock: Boolean(options.noLock),
        startedAt,
        shutdown,
      },
    );
  }

  /**
   * Yanks left `yanking` by a process that is provably gone: marked interrupted and audited, so the
   * version is no longer locked; running the yank again finishes it (done destinations answer already-yanked).
   */
  recoverInterrupted(project: string, version: string): void {
    const live = this.yanks.live(project, version);
    if (
      !live ||
      !ownerIsDead({ host: live.ownerHost, bootId: live.ownerBootId, pid: live.ownerPid, startTime: live.ownerStartTime }, this.probe)
    )
      return;
    if (!this.yanks.markInterrupted(live.id)) return;
    this.deps.audit.append({
      type: 'yank-interrupted',
      project,
      version,
      actor: { via: 'release-bot' },
      data: {
        yankId: live.id,
        reason: live.reason,
        destinations: this.yanks.destinations(live.id).map((d) => ({ name: d.destination, status: d.status })),
      },
    });
  }
}

/** Approvals are collected in Slack (Approvals.requestYank, approve), which then runs the yank with the approvers named. */
function assertApproved(project: ProjectConfig, group: string, approvers: readonly string[], dryRun: boolean): void {
  if (dryRun || project.approvals <= approvers.length) return;
  throw new ReleaseBotError(
    ErrorCode.ApprovalPending,
    `${project.name} needs ${project.approvals} approval(s) from members of ${group} other than the requester to yank a version, as to release one: request the yank in Slack`,
    { details: { needed: project.approvals, have: approvers.length } },
  );
}
