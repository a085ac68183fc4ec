import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditActor } from '../audit/log.js';
import type { DestinationConfig, ProjectConfig } from '../config/load.js';
import { registerSecret, type SecretValue } from '../conjur/secret-value.js';
import type { Conjur } from '../conjur/types.js';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../errors.js';
import { withLogContext } from '../log.js';
import type { PublishedRecord, PublisherDefinition, YankContext, YankResult } from '../publishing/types.js';
import type { Redactor } from '../redact.js';
import type { Db } from '../store/db.js';
import { newYankId, Yanks, type Publication, type YankDestinationStatus, type YankRecord, type YankState } from '../store/yanks.js';
import { assertVersion, clip } from '../validate.js';
import type { ReleaseCore } from './core.js';
import { destinationCredentials } from './destination-credentials.js';
import { Freezes, type Freeze } from './freeze.js';
import { assertMember } from './membership.js';
import { currentProcess, ownerIsDead, systemProbe, type ProcessProbe } from './owner.js';
import type { Requester } from './types.js';
import { compareVersions } from './version-order.js';

export interface YankOptions {
  /** Every check and the credential fetch run; each destination says what it would do; nothing changes. */
  dryRun?: boolean | undefined;
  /** Do not freeze the project afterwards. */
  noLock?: boolean | undefined;
  /** Logins that approved (two-person rule), already checked by whoever collected them. */
  approvers?: string[] | undefined;
}

export interface YankDestinationOutcome {
  name: string;
  type: string;
  status: YankDestinationStatus;
  /** What was done, or why not. */
  detail: string;
  location?: string | undefined;
  /** Dry runs: what the destination would do. */
  actions?: string[] | undefined;
  error?: { code: string; message: string } | undefined;
}

export interface YankSummary {
  yankId: string;
  project: string;
  version: string;
  reason: string;
  state: Exclude<YankState, 'yanking'>;
  dryRun: boolean;
  requester: Requester;
  approvers: string[];
  destinations: YankDestinationOutcome[];
  /** Conjur variable ids read (never values). */
  credentialIds: string[];
  /** The freeze this yank put in place (none with --no-lock, a dry run, or when the project was frozen already). */
  frozen?: Freeze | undefined;
  /** The highest released version left that is not yanked: what `latest` points at now. */
  latest?: string | undefined;
  startedAt: string;
  finishedAt: string;
  auditId: string;
  error?: { code: string; message: string } | undefined;
}

export interface YankDeps {
  core: ReleaseCore;
  db: Db;
  conjur: Conjur;
  publishers: ReadonlyMap<string, PublisherDefinition>;
  redactor: Redactor;
  log: Logger;
  now?: () => Date;
  probe?: ProcessProbe;
  /** First retry delay of a retryable failure; doubles each attempt. */
  retryBaseMs?: number;
}

const MAX_REASON = 300;

/**
 * Takes a released version back (`/release yank`, `release-bot yank`, the ssh forced command) through
 * the same gates as a release: the project and version, the Conjur group (`yank_group`, default the
 * authorized group; fail closed), approvals, the per-version lock shared with releases, the audit log.
 * A freeze does not stop a yank (undoing is what a freeze is for); a yank freezes the project after.
 * Each destination that published the version gets its type's `yank` step; absent, it "cannot yank".
 */
export class YankService {
  readonly yanks: Yanks;
  readonly freezes: Freezes;
  private readonly now: () => Date;
  private readonly probe: ProcessProbe;

  constructor(private readonly deps: YankDeps) {
    this.now = deps.now ?? (() => new Date());
    this.probe = deps.probe ?? systemProbe;
    this.yanks = new Yanks(deps.db, this.now, currentProcess());
    this.freezes = new Freezes(deps.core, deps.db, this.now);
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
    const reason = text.trim() ? `rollback: ${text.trim()}` : 'rollback';
    let version: string | undefined;
    try {
      const project = this.deps.core.project(projectName);
      version = this.newestReleased(project.name);
      if (!version)
        throw new ReleaseBotError(ErrorCode.NotFound, `${project.name} has no released version that is not yanked: nothing to roll back`);
    } catch (thrown) {
      return Promise.reject(this.refuse(toReleaseBotError(thrown), projectName, '-', requester, reason, options, 'rollback'));
    }
    return this.yank(projectName, version, reason, requester, options);
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

  private refuse(
    err: ReleaseBotError,
    project: string,
    version: string,
    requester: Requester,
    reason: string,
    options: YankOptions,
    action = 'yank',
  ): ReleaseBotError {
    this.deps.core.audit.append({
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
    const { core } = this.deps;
    const approvers = options.approvers ?? [];
    const dryRun = Boolean(options.dryRun);
    let project: ProjectConfig;
    let reason: string;
    let published: Publication[];
    let yank: YankRecord;
    try {
      project = core.project(projectName);
      assertVersion(version);
      reason = cleanReason(rawReason);
      published = this.yanks.publications(project.name).filter((p) => p.version === version);
      if (published.length === 0) {
        const running = core.releases.inFlight(project.name, version)[0];
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
      const group = project.yank_group ?? project.authorized_group;
      await assertMember(
        core,
        requester,
        group,
        `${requester.login} is not a member of the Conjur group ${group}, which may yank ${project.name}`,
      );
      if (project.approvals > approvers.length && !dryRun) {
        throw new ReleaseBotError(
          ErrorCode.ApprovalPending,
          `${project.name} needs ${project.approvals} approval(s) from members of ${project.approver_group} other than the requester to yank a version, as to release one`,
          {
            details: { needed: project.approvals, have: approvers.length },
          },
        );
      }
      // A release or a yank of this version whose process died holds the lock: mark it interrupted first.
      core.recoverInterrupted(this.probe, { project: project.name, version });
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
    return this.undo({ yank, project, published, requester, approvers, dryRun, noLock: Boolean(options.noLock), startedAt, shutdown });
  }

  private async undo(r: {
    yank: YankRecord;
    project: ProjectConfig;
    published: Publication[];
    requester: Requester;
    approvers: string[];
    dryRun: boolean;
    noLock: boolean;
    startedAt: string;
    shutdown: AbortSignal;
  }): Promise<YankSummary> {
    const { yank, project, dryRun } = r;
    const { core, redactor } = this.deps;
    const log = this.deps.log.child({ yankId: yank.id, project: project.name, version: yank.version });
    const redact = (t: string) => redactor.redact(t);
    const jobs = r.published.map((p) => ({ publication: p, destination: project.destinations.find((d) => d.name === p.destination) }));
    const credentialIds = [
      ...new Set(
        jobs.flatMap((j) =>
          j.destination && this.deps.publishers.get(j.destination.type)?.yank ? Object.values(j.destination.credentials) : [],
        ),
      ),
    ].sort();
    core.audit.append({
      type: 'yank-requested',
      project: project.name,
      version: yank.version,
      actor: actorOf(r.requester),
      data: {
        yankId: yank.id,
        reason: yank.reason,
        approvers: r.approvers,
        yankGroup: project.yank_group ?? project.authorized_group,
        dryRun,
        noLock: r.noLock,
        destinations: jobs.map((j) => j.publication.destination),
        policySha256: core.config.policySha256,
      },
    });
    log.info({ login: r.requester.login, via: r.requester.via, dryRun }, 'yank started');

    const outcomes: YankDestinationOutcome[] = [];
    let error: ReleaseBotError | undefined;
    const runDir = await mkdtemp(path.join(tmpdir(), `release-bot-${yank.id}-`));
    try {
      // One batch, as a release does; every value is registered for redaction the moment it arrives.
      const secrets = credentialIds.length > 0 ? await this.deps.conjur.getSecrets(credentialIds) : new Map<string, SecretValue>();
      for (const value of secrets.values()) registerSecret(redactor, value);
      const yanked = this.yanks.yankedVersions(project.name);
      for (const job of jobs) {
        const outcome = await this.undoOne(job, {
          yank,
          project,
          secrets,
          runDir,
          log,
          redact,
          dryRun,
          shutdown: r.shutdown,
          yankedBefore: yanked,
        });
        outcomes.push(outcome);
        if (!dryRun)
          this.yanks.setDestination({
            yankId: yank.id,
            destination: outcome.name,
            type: outcome.type,
            status: outcome.status,
            detail: outcome.detail,
            location: outcome.location ?? null,
            errorCode: outcome.error?.code ?? null,
          });
      }
    } catch (thrown) {
      error = toReleaseBotError(thrown);
    } finally {
      await rm(runDir, { recursive: true, force: true });
    }

    const failed = error !== undefined || outcomes.some((o) => o.status === 'failed');
    const state = dryRun ? 'dry-run' : failed ? 'failed' : 'yanked';
    const safeError = error && { code: error.code, message: redact(error.message) };
    if (!dryRun)
      this.yanks.finish(
        yank.id,
        state,
        safeError ??
          (failed
            ? {
                code: ErrorCode.DestinationFailed,
                message: `${outcomes
                  .filter((o) => o.status === 'failed')
                  .map((o) => o.name)
                  .join(', ')} failed`,
              }
            : undefined),
      );
    // Freeze even when a destination failed: the version is on its way out, and the freeze keeps a
    // new release from landing on top while someone retries the yank.
    const prefix = `yanked ${yank.version}: `;
    // A freeze reason holds at most 300 characters: the yank's reason is shortened to fit, never refused here, after the fact.
    const frozen =
      dryRun || r.noLock
        ? undefined
        : this.freezes.freezeAfterYank(project.name, `${prefix}${clip(yank.reason, MAX_REASON - prefix.length - 1)}`, r.requester, {
            yankId: yank.id,
            version: yank.version,
          });
    const latest = this.latestVersion(project.name);
    const finishedAt = this.now().toISOString();
    const entry = core.audit.append({
      type: state === 'dry-run' ? 'yank-dry-run' : state === 'yanked' ? 'yanked' : 'yank-failed',
      project: project.name,
      version: yank.version,
      actor: actorOf(r.requester),
      data: {
        yankId: yank.id,
        reason: yank.reason,
        approvers: r.approvers,
        conjurIdentity: core.config.env.CONJUR_AUTHN_LOGIN,
        credentialIds,
        destinations: outcomes.map((o) => ({
          name: o.name,
          type: o.type,
          status: o.status,
          detail: o.detail,
          location: o.location,
          actions: o.actions,
          error: o.error?.code,
        })),
        frozen: frozen ? { reason: frozen.reason } : undefined,
        latest,
        error: safeError,
        startedAt: r.startedAt,
      },
    });
    log.info({ state, auditId: entry.id }, 'yank finished');
    return {
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
      finishedAt,
      auditId: entry.id,
      error: safeError,
    };
  }

  private async undoOne(
    job: { publication: Publication; destination: DestinationConfig | undefined },
    o: {
      yank: YankRecord;
      project: ProjectConfig;
      secrets: ReadonlyMap<string, SecretValue>;
      runDir: string;
      log: Logger;
      redact: (t: string) => string;
      dryRun: boolean;
      shutdown: AbortSignal;
      yankedBefore: ReadonlySet<string>;
    },
  ): Promise<YankDestinationOutcome> {
    const { publication: p, destination: dest } = job;
    const base = { name: p.destination, type: dest?.type ?? p.type };
    if (!dest)
      return {
        ...base,
        status: 'cannot-yank',
        detail: `${p.destination} is no longer in the projects file: undo ${p.location ?? 'it'} by hand`,
      };
    const publisher = this.deps.publishers.get(dest.type);
    if (!publisher?.yank)
      return {
        ...base,
        status: 'cannot-yank',
        detail: `a ${dest.type} destination cannot yank${dest.type === 'exec' ? ' (it has no yank_command)' : ''}: undo ${p.location ?? 'it'} by hand`,
      };
    if (!p.artifact)
      return {
        ...base,
        status: 'failed',
        detail: 'the staged build this version was published from is gone from the store',
        error: { code: ErrorCode.NotFound, message: 'no artifact recorded' },
      };
    const log = o.log.child({ destination: dest.name, type: dest.type });
    const previous = this.previousOf(o.project.name, dest.name, o.yank.version, o.yankedBefore);
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
        const waitMs = (this.deps.retryBaseMs ?? 1000) * 2 ** (attempt - 1);
        const retry = err.retryable && attempt <= dest.retries && !o.shutdown.aborted && Date.now() + waitMs < deadline;
        log.warn({ code: err.code, attempt, retry, err: message }, 'destination yank attempt failed');
        if (!retry) return { ...base, status: 'failed', detail: message, error: { code: err.code, message } };
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    }
  }

  /** The highest version below `version` that this destination published and that is not yanked. */
  private previousOf(project: string, destination: string, version: string, yanked: ReadonlySet<string>): PublishedRecord | undefined {
    const candidates = this.yanks
      .publications(project)
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
    this.deps.core.audit.append({
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

function actorOf(r: Requester): AuditActor {
  return { via: r.via, chatUserId: r.chatUserId, conjurLogin: r.login };
}

/** A reason is shown in chat, the audit, an npm deprecation and a file: one line of printable text. */
export function cleanReason(reason: string): string {
  const clean = reason
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!clean) throw new ReleaseBotError(ErrorCode.BadInput, 'say why the version is yanked: `/release yank <project> <version> <reason>`');
  if (clean.length > MAX_REASON)
    throw new ReleaseBotError(ErrorCode.BadInput, `the reason is ${clean.length} characters long: keep it under ${MAX_REASON}`);
  return clean;
}
