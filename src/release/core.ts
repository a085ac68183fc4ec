import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { AuditLog, type ArtifactDigests, type AuditActor } from '../audit/log.js';
import type { Config, ProjectConfig } from '../config/load.js';
import { registerSecret, type SecretValue } from '../conjur/secret-value.js';
import type { Conjur } from '../conjur/types.js';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../errors.js';
import type { ArtifactFile, BuildInfo, PublisherDefinition, StagedArtifact } from '../publishing/types.js';
import type { Redactor } from '../redact.js';
import { withLogContext } from '../log.js';
import type { Db } from '../store/db.js';
import { newReleaseId, Releases, type ReleaseRecord } from '../store/releases.js';
import { StagedBuilds, type StagedBuild } from '../store/staged-builds.js';
import { assertNotYanked, releasedVersions } from '../store/yanks.js';
import { errnoOf, removeStagingFile, renameStagingFile, writeStagingFile } from '../staging/label.js';
import { stagingLimits } from '../staging/limits.js';
import { Quarantine, removeTree, type ReportedFile } from '../staging/quarantine.js';
import { botFileNames, labelFileName, pendingLabelFileName } from '../staging/scan.js';
import { assertProjectName, assertVersion, clip } from '../validate.js';
import { CoreEvents } from './events.js';
import { destinationCredentials, withBinaryCredentials } from './destination-credentials.js';
import { runDestinations, type DestinationJob } from './run-destinations.js';
import { Slots } from './slots.js';
import { compareVersions } from './version-order.js';
import type { DestinationOutcome, ExpectedStaged, ReleaseOptions, ReleaseSummary, Requester } from './types.js';
import { currentProcess, ownerIsDead, systemProbe, type ProcessProbe } from './owner.js';
import { releaseProvenance } from '../provenance/release-provenance.js';

export interface CoreDeps {
  config: Config;
  db: Db;
  conjur: Conjur;
  publishers: ReadonlyMap<string, PublisherDefinition>;
  redactor: Redactor;
  log: Logger;
  /** The manifest digest of an image on the staging registry (skopeo inspect). */
  inspectImage?: (ref: string, tlsVerify: boolean) => Promise<string>;
  now?: () => Date;
  /** How the owner of a live release is looked up (tests); the real processes of this machine by default. */
  probe?: ProcessProbe;
  /** First retry delay; doubles each attempt. */
  retryBaseMs?: number;
  /** Releases that verify and publish at once (RELEASE_BOT_MAX_CONCURRENT_RELEASES); the rest queue. */
  maxConcurrentReleases?: number;
}

export interface StageReport {
  project: string;
  version: string;
  build: BuildInfo;
  /** Files as the build reported them; absent when the digests are to be taken at staging. */
  files?: ReportedFile[] | undefined;
  /** Docker projects: the image on the staging registry and, when the build reported it, its digest. */
  image?: { ref: string; digest?: string | undefined } | undefined;
  /** Who or what reported it, e.g. `jenkins:conjur-cli (jwt)`, `cli:root`. */
  reportedBy: string;
  actor: AuditActor;
}

export interface StageResult {
  outcome: 'staged' | 'unchanged' | 'replaced';
  staged: StagedBuild;
  auditId?: string | undefined;
}

const LOGIN = /^[A-Za-z0-9@._-]+(\/[A-Za-z0-9@._-]+)*$/;

/**
 * The release core: every way in (Slack, Jenkins, CLI, ssh) calls these methods, so every request
 * gets the same checks: Conjur membership, the lock on project+version, the digests recorded at staging.
 */
export class ReleaseCore {
  readonly events = new CoreEvents();
  readonly audit: AuditLog;
  readonly staged: StagedBuilds;
  readonly releases: Releases;
  /** The bot's own copies of staged files; releases read only these (see Quarantine). */
  readonly quarantine: Quarantine;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private readonly now: () => Date;
  private readonly probe: ProcessProbe;
  private draining = false;
  private readonly slots: Slots;
  /** The policy new releases start under; `replaceConfig` swaps it (serve's reload). */
  private policy: Config;

  constructor(private readonly deps: CoreDeps) {
    this.now = deps.now ?? (() => new Date());
    this.policy = deps.config;
    this.slots = new Slots(deps.maxConcurrentReleases ?? 4);
    this.probe = deps.probe ?? systemProbe;
    this.audit = new AuditLog(deps.db, deps.redactor, this.now);
    this.staged = new StagedBuilds(deps.db);
    this.releases = new Releases(deps.db, this.now, currentProcess());
    this.quarantine = new Quarantine(path.join(deps.config.dataDir, 'quarantine'));
  }

  get config(): Config {
    return this.policy;
  }

  /**
   * Puts a new policy (projects file) in place for every release that starts from now on. One
   * reference swap: a release already running keeps the policy it captured when it started.
   */
  replaceConfig(next: Config): void {
    this.policy = next;
  }

  project(name: string, policy: Config = this.policy): ProjectConfig {
    assertProjectName(name);
    const project = policy.projects.get(name);
    if (!project) {
      throw new ReleaseBotError(
        ErrorCode.UnknownProject,
        `unknown project ${JSON.stringify(clip(name))}: known projects are ${[...policy.projects.keys()].join(', ') || 'none'}`,
      );
    }
    return project;
  }

  versionDir(project: string, version: string): string {
    return path.join(this.policy.stagingDir, assertProjectName(project), assertVersion(version));
  }

  /** Whether a Conjur login belongs to a group, directly or through nested groups. Conjur errors throw: callers fail closed. */
  async isMember(login: string, group: string): Promise<boolean> {
    if (!LOGIN.test(login)) throw new ReleaseBotError(ErrorCode.BadInput, `invalid Conjur login ${JSON.stringify(clip(login))}`);
    return this.deps.conjur.isMember(login, group);
  }

  /** Records a staged build after checking its files (or image) against the report. */
  async stage(report: StageReport): Promise<StageResult> {
    const project = this.project(report.project);
    const version = assertVersion(report.version);
    const base = { project: project.name, version, actor: report.actor };
    try {
      const artifact = await this.inspectStaged(project, version, report);
      const fingerprint = sha256Hex(canonicalJson({ artifact, build: report.build }));
      const current = this.staged.current(project.name, version);
      if (current?.fingerprint === fingerprint) return { outcome: 'unchanged', staged: current };
      // The check and the insert share one write lock, as the release lock does in runRelease: a
      // release starting in another process between them would otherwise run a superseded build.
      const placed = this.deps.db
        .transaction(() => {
          const holder = this.releases.live(project.name, version);
          if (holder) return { holder };
          return {
            staged: this.staged.insert({
              project: project.name,
              version,
              artifact,
              build: report.build,
              reportedBy: report.reportedBy,
              fingerprint,
              stagedAt: this.now().toISOString(),
            }),
          };
        })
        .immediate();
      if (placed.holder) {
        const holder = placed.holder;
        this.events.emit('stage-conflict', {
          project,
          version,
          reportedBy: report.reportedBy,
          build: report.build,
          releasedBy: holder.requesterLogin,
          releaseId: holder.id,
        });
        throw new ReleaseBotError(
          ErrorCode.Conflict,
          holder.state === 'published'
            ? `${project.name} ${version} was already released (${holder.id}) from another build: a released version is never replaced`
            : `${project.name} ${version} is being released right now (${holder.id}): it cannot be re-staged meanwhile`,
          { details: { releaseId: holder.id } },
        );
      }
      const staged = placed.staged;
      const entry = this.audit.append({
        ...base,
        type: 'staged',
        data: {
          build: report.build,
          artifact: artifactDigests(artifact),
          reportedBy: report.reportedBy,
          replaces: current ? { stagedAt: current.stagedAt, build: current.build, artifact: artifactDigests(current.artifact) } : undefined,
        },
      });
      this.events.emit('staged', { staged, replaced: current, project });
      this.deps.log.info({ project: project.name, version, build: report.build.number, replaced: Boolean(current) }, 'build staged');
      return { outcome: current ? 'replaced' : 'staged', staged, auditId: entry.id };
    } catch (thrown) {
      const err = toReleaseBotError(thrown);
      this.audit.append({
        ...base,
        type: 'stage-refused',
        data: { code: err.code, reason: err.message, build: report.build, reportedBy: report.reportedBy },
      });
      throw err;
    }
  }

  private async inspectStaged(project: ProjectConfig, version: string, report: StageReport): Promise<StagedArtifact> {
    if (project.artifact === 'files') {
      if (report.image) throw new ReleaseBotError(ErrorCode.BadInput, `${project.name} is a files project: report artifacts, not an image`);
      this.versionDir(project.name, version);
      const files = await this.quarantine.ingest({
        stagingDir: this.deps.config.stagingDir,
        project: project.name,
        version,
        reported: report.files,
        ignore: botFileNames(project.name, version),
        limits: stagingLimits(this.deps.config.staging),
      });
      return { kind: 'files', files };
    }
    const image = project.image;
    if (!image || !report.image)
      throw new ReleaseBotError(ErrorCode.BadInput, `${project.name} is a docker project: report image.ref (and image.digest)`);
    const repository = report.image.ref.replace(/@sha256:[0-9a-f]{64}$/, '').replace(/:[A-Za-z0-9_.-]+$/, '');
    if (repository !== image.repository) {
      throw new ReleaseBotError(
        ErrorCode.WebhookForbidden,
        `image ${clip(report.image.ref)} is not in ${project.name}'s staging repository ${image.repository}`,
      );
    }
    if (report.image.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(report.image.digest)) {
      throw new ReleaseBotError(ErrorCode.BadInput, 'image.digest must be sha256:<64 hex>');
    }
    if (!this.deps.inspectImage) throw new ReleaseBotError(ErrorCode.Internal, 'no image inspector is configured');
    const actual = await this.deps.inspectImage(report.image.ref, image.tls_verify);
    if (report.image.digest !== undefined && actual !== report.image.digest) {
      throw new ReleaseBotError(
        ErrorCode.ArtifactMismatch,
        `the staged image ${clip(report.image.ref)} has digest ${actual}, the build reported ${report.image.digest}`,
      );
    }
    return { kind: 'docker', ref: repository, digest: actual, tlsVerify: image.tls_verify };
  }

  /**
   * Runs a release as `requester`. Refusals (bad input, unknown project, not staged, not authorized,
   * Conjur unreachable, in progress, already released) throw a coded error after being audited; once
   * the release holds its lock, the outcome (published, failed, dry-run) is returned as a summary.
   */
  release(projectName: string, version: string, requester: Requester, options: ReleaseOptions = {}): Promise<ReleaseSummary> {
    if (this.shutdown.signal.aborted) {
      return Promise.reject(new ReleaseBotError(ErrorCode.InProgress, 'release-bot is shutting down: ask again in a minute'));
    }
    // The id exists from the first moment, so every log line of the request (the Conjur client's
    // included, through the log context) carries it, also when the request is refused.
    const releaseId = newReleaseId();
    const work = withLogContext({ releaseId, project: clip(String(projectName), 100), version: clip(String(version), 100) }, () =>
      this.runRelease(releaseId, projectName, version, requester, options),
    );
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  private async runRelease(
    releaseId: string,
    projectName: string,
    version: string,
    requester: Requester,
    options: ReleaseOptions,
  ): Promise<ReleaseSummary> {
    const startedMs = this.now().getTime();
    // The policy is captured once, here: the whole release runs under it, whatever a reload puts in place meanwhile.
    const policy = this.policy;
    const policySha256 = policy.policySha256;
    const actor: AuditActor = { via: requester.via, chatUserId: requester.chatUserId, conjurLogin: requester.login };
    const refuse = (err: ReleaseBotError, stagedBuildId: number | null = null): never => {
      const entry = this.audit.append({
        type: 'denied',
        project: clip(projectName, 100),
        version: clip(version, 100),
        actor,
        data: { code: err.code, reason: err.message, dryRun: Boolean(options.dryRun), policySha256 },
      });
      if (stagedBuildId !== null) {
        this.releases.recordDenied(
          {
            project: projectName,
            version,
            stagedBuildId,
            requesterLogin: requester.login,
            requesterChat: requester.chatUserId ?? null,
            via: requester.via,
            dryRun: Boolean(options.dryRun),
            policySha256,
          },
          err.code,
          err.message,
          releaseId,
        );
      }
      this.events.emit('release-denied', {
        project: projectName,
        version,
        requester,
        code: err.code,
        message: err.message,
        auditId: entry.id,
      });
      this.deps.log.warn(
        { project: clip(projectName, 100), version: clip(version, 100), login: requester.login, code: err.code },
        'release refused',
      );
      throw err;
    };

    let project: ProjectConfig;
    let staged: StagedBuild | undefined;
    try {
      // Draining (SIGTERM): the releases already running finish; nothing new starts.
      if (this.draining)
        throw new ReleaseBotError(
          ErrorCode.InProgress,
          'release-bot is shutting down and finishing the releases it runs: ask again in a minute',
        );
      project = this.project(projectName, policy);
      assertVersion(version);
      if (!LOGIN.test(requester.login))
        throw new ReleaseBotError(ErrorCode.IdentityUnresolved, `invalid Conjur login ${JSON.stringify(clip(requester.login))}`);
      this.assertNotFrozen(project.name);
      staged = this.staged.current(project.name, version);
      if (!staged)
        throw new ReleaseBotError(
          ErrorCode.NotStaged,
          `${project.name} ${version} is not staged: Jenkins has not reported this build (see \`release-bot stage\`)`,
        );
      assertExpectedStaged(staged, options.expectedStaged);
    } catch (thrown) {
      return refuse(toReleaseBotError(thrown), staged?.id ?? null);
    }

    // Authorization: any doubt (Conjur down, 5xx, timeout) denies. Fail closed.
    try {
      const member = await this.deps.conjur.isMember(requester.login, project.authorized_group).catch((err: unknown) => {
        // Conjur answers 404 for a role it does not know (or the bot may not see): a member of nothing.
        if (err instanceof ReleaseBotError && err.code === ErrorCode.ConjurNotFound) return false;
        throw err;
      });
      if (!member) {
        throw new ReleaseBotError(
          ErrorCode.NotAuthorized,
          `${requester.login} is not a member of the Conjur group ${project.authorized_group}, which may release ${project.name}`,
          {
            details: { group: project.authorized_group },
          },
        );
      }
    } catch (thrown) {
      const err = toReleaseBotError(thrown);
      // Membership undetermined is Conjur policy to fix, not an outage: refused with its own words.
      const coded =
        err.code === ErrorCode.NotAuthorized || err.code === ErrorCode.MembershipUndetermined
          ? err
          : new ReleaseBotError(
              ErrorCode.ConjurUnavailable,
              `cannot check authorization in Conjur (${err.code}): the release is refused until Conjur answers`,
              { cause: err },
            );
      return refuse(coded, staged.id);
    }

    const approvers = options.approvers ?? [];
    let previous: ReleaseRecord | undefined;
    try {
      // A release of this version whose process died (a killed CLI or ssh publish) holds the lock and
      // is not yet resumable: mark it interrupted here, in whichever process asks next.
      this.recoverInterrupted(this.probe, { project: project.name, version });
      if (project.approvals > approvers.length && !options.dryRun) {
        throw new ReleaseBotError(
          ErrorCode.ApprovalPending,
          `${project.name} needs ${project.approvals} approval(s) from members of ${project.approver_group} other than the requester: request the release in Slack`,
          {
            details: { needed: project.approvals, have: approvers.length },
          },
        );
      }
      if (options.resume) previous = this.resumable(project.name, version, staged);
    } catch (thrown) {
      const err = toReleaseBotError(thrown);
      // A resume with nothing to resume is a no-op, not a denial: answered, never audited (issue 15).
      if (err.details.reason === 'nothing-to-resume') throw err;
      return refuse(err, staged.id);
    }

    let release: ReleaseRecord;
    const authorizedBuild = staged;
    try {
      // The staged build is read again under the write lock that takes the release lock: a re-stage
      // (from another process) during the Conjur call above must not be released as the build checked here.
      release = this.deps.db
        .transaction(() => {
          const now = this.staged.current(project.name, version);
          if (now?.id !== authorizedBuild.id || now.fingerprint !== authorizedBuild.fingerprint) {
            throw new ReleaseBotError(
              ErrorCode.Conflict,
              `${project.name} ${version} was re-staged while this release was being authorized: ask again to release the build staged now`,
              {
                details: { reason: 'restaged', stagedBuildId: now?.id },
              },
            );
          }
          assertExpectedStaged(now, options.expectedStaged);
          // A yanked version (or one being yanked) is never released again: its users were told to move off it.
          assertNotYanked(this.deps.db, project.name, version);
          // A dry run takes no lock but runs every check a release does: "already released" is one.
          if (options.dryRun) this.releases.assertUnlocked(project.name, version);
          return this.releases.create(
            {
              project: project.name,
              version,
              stagedBuildId: authorizedBuild.id,
              requesterLogin: requester.login,
              requesterChat: requester.chatUserId ?? null,
              via: requester.via,
              dryRun: Boolean(options.dryRun),
              resumeOf: previous?.id ?? null,
              approvers,
              policySha256,
            },
            releaseId,
          );
        })
        .immediate();
    } catch (thrown) {
      return refuse(toReleaseBotError(thrown));
    }
    // Authorized and locked: a second request is told it is in progress while this one waits its turn.
    if (this.slots.full)
      this.deps.log.info({ queued: this.slots.queued + 1, slots: this.slots.size }, 'release authorized; waiting for a free release slot');
    const free = await this.slots.acquire();
    try {
      return await this.publishRelease({
        release,
        project,
        staged,
        requester,
        actor,
        approvers,
        previous,
        startedMs,
        dryRun: Boolean(options.dryRun),
      });
    } finally {
      free();
    }
  }

  private async publishRelease(r: {
    release: ReleaseRecord;
    project: ProjectConfig;
    staged: StagedBuild;
    requester: Requester;
    actor: AuditActor;
    approvers: string[];
    previous: ReleaseRecord | undefined;
    startedMs: number;
    dryRun: boolean;
  }): Promise<ReleaseSummary> {
    const { release, project, staged } = r;
    const log = this.deps.log.child({ releaseId: release.id, project: project.name, version: release.version });
    // The provenance key is read in the same one batch as the destinations' credentials.
    const credentialIds = [
      ...new Set([
        ...project.destinations.flatMap((d) => Object.values(d.credentials)),
        ...(project.provenance ? [project.provenance.signing_key] : []),
      ]),
    ].sort();
    const authorized = this.audit.append({
      type: 'requested',
      project: project.name,
      version: release.version,
      releaseId: release.id,
      actor: r.actor,
      data: {
        authorizedBy: project.authorized_group,
        approvers: r.approvers,
        dryRun: r.dryRun,
        resumeOf: r.previous?.id,
        build: staged.build,
        artifact: artifactDigests(staged.artifact),
        policySha256: release.policySha256,
      },
    });
    this.setState(release.id, 'authorized');
    this.events.emit('release-started', {
      release,
      staged,
      project,
      requester: r.requester,
      destinations: project.destinations.map((d) => d.name),
    });
    log.info({ login: r.requester.login, via: r.requester.via, dryRun: r.dryRun, resumeOf: r.previous?.id }, 'release started');

    const runDir = await mkdtemp(path.join(tmpdir(), `release-bot-${release.id}-`));
    let outcomes: DestinationOutcome[] = [];
    let error: ReleaseBotError | undefined;
    /** What was hashed while verifying (the copy, the docker re-inspect): the audit's digests at publish. */
    let measured: StagedArtifact | undefined;
    /** The release label's pending name, written beside the staged files before any destination runs; renamed in place once they all succeeded. */
    let pendingLabel: string | undefined;
    let labelWritten: boolean | undefined;
    try {
      this.setState(release.id, 'verifying');
      const dir = path.join(runDir, 'artifact');
      await mkdir(dir, { mode: 0o700 });
      if (staged.artifact.kind === 'files') {
        try {
          // The quarantined copy, never the staging directory: the build side may have changed it since.
          measured = { kind: 'files', files: await this.quarantine.copyOut(staged.artifact.files, dir) };
        } catch (thrown) {
          const found = thrown instanceof ReleaseBotError ? (thrown.details.measured as ArtifactFile[] | undefined) : undefined;
          if (found) measured = { kind: 'files', files: found };
          throw thrown;
        }
      } else {
        const inspect = this.deps.inspectImage;
        if (!inspect) throw new ReleaseBotError(ErrorCode.Internal, 'no image inspector is configured');
        const now = await inspect(`${staged.artifact.ref}@${staged.artifact.digest}`, staged.artifact.tlsVerify);
        measured = { ...staged.artifact, digest: now };
        if (now !== staged.artifact.digest)
          throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `the staged image now has digest ${now}, staged ${staged.artifact.digest}`);
      }
      const labelFile = path.join(dir, labelFileName(project.name, release.version));
      const labelText = `${JSON.stringify(releaseLabel(r, this.now()), null, 2)}\n`;
      await writeFile(labelFile, labelText, { mode: 0o444 });
      await chmod(dir, 0o555);
      if (staged.artifact.kind === 'files')
        pendingLabel = await this.prepareStagingLabel(project.name, release.version, labelText, r.dryRun);

      const secrets = credentialIds.length > 0 ? await this.deps.conjur.getSecrets(credentialIds) : new Map<string, SecretValue>();
      for (const value of secrets.values()) registerSecret(this.deps.redactor, value);
      // Missing, unreadable or not Ed25519: the release fails here, before any destination runs.
      const provenance = releaseProvenance({
        project,
        artifact: staged.artifact,
        secrets,
        redactor: this.deps.redactor,
        publishers: this.deps.publishers,
        now: this.now,
        facts: {
          project: project.name,
          version: release.version,
          releaseId: release.id,
          requester: r.requester.login,
          approvers: r.approvers,
          policySha256: release.policySha256 ?? '',
          conjurIdentity: this.policy.env.CONJUR_AUTHN_LOGIN,
          conjurVariables: credentialIds,
          build: staged.build,
          audit: { seq: authorized.seq, id: authorized.id, hash: authorized.hash },
          startedOn: new Date(r.startedMs),
        },
      });
      const done = new Map(
        (r.previous ? this.releases.destinations(r.previous.id) : [])
          .filter((d) => d.status === 'published' || d.status === 'already-present')
          .map((d) => [d.destination, d]),
      );
      const jobs: DestinationJob[] = [];
      for (const destination of project.destinations) {
        if (done.has(destination.name)) continue;
        const publisher = this.deps.publishers.get(destination.type);
        if (!publisher)
          throw new ReleaseBotError(ErrorCode.ConfigInvalid, `destination ${destination.name} has unknown type ${destination.type}`);
        const { credentials, binary } = destinationCredentials(destination, publisher, secrets);
        const job = { destination, publisher: withBinaryCredentials(publisher, binary), credentials };
        jobs.push(provenance && !r.dryRun ? provenance.sign(job) : job);
      }
      this.setState(release.id, 'publishing');
      const tmpRoot = path.join(runDir, 'tmp');
      await mkdir(tmpRoot, { mode: 0o700 });
      const ran = await runDestinations(jobs, {
        releaseId: release.id,
        context: {
          project: project.name,
          version: release.version,
          releaseId: release.id,
          build: staged.build,
          artifact: staged.artifact,
          dir,
          labelFile,
          newerReleased: newerReleased(this.deps.db, project.name, release.version),
          redact: (t) => this.deps.redactor.redact(t),
        },
        tmpRoot,
        concurrency: project.concurrency,
        dryRun: r.dryRun,
        log,
        releases: this.releases,
        events: this.events,
        shutdown: this.shutdown.signal,
        retryBaseMs: this.deps.retryBaseMs ?? 1000,
        now: () => this.now().getTime(),
      });
      const skipped: DestinationOutcome[] = [...done.values()].map((d) => {
        this.releases.upsertDestination({ ...d, releaseId: release.id, detail: `done in ${r.previous?.id}` });
        return {
          name: d.destination,
          type: d.type,
          status: 'skipped',
          attempts: 0,
          durationMs: 0,
          readBackDigest: d.readBackDigest ?? undefined,
          location: d.location ?? undefined,
          detail: `done in ${r.previous?.id}`,
          attestations: d.attestationsJson ? (JSON.parse(d.attestationsJson) as DestinationOutcome['attestations']) : undefined,
        };
      });
      const order = project.destinations.map((d) => d.name);
      outcomes = [...ran, ...skipped].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
      if (pendingLabel && !r.dryRun && outcomes.every((o) => o.status !== 'failed')) {
        labelWritten = await this.placeStagingLabel(pendingLabel, project.name, release.version, log);
        pendingLabel = undefined;
      }
    } catch (thrown) {
      error = toReleaseBotError(thrown);
    } finally {
      if (pendingLabel)
        await removeStagingFile(this.deps.config.stagingDir, project.name, release.version, pendingLabel).catch(() => undefined);
      await removeTree(runDir);
    }

    const failed = error !== undefined || outcomes.some((o) => o.status === 'failed');
    const state = r.dryRun && !failed ? 'dry-run' : failed ? 'failed' : 'published';
    const safeError = error && { code: error.code, message: this.deps.redactor.redact(error.message) };
    const firstFailure = outcomes.find((o) => o.status === 'failed')?.error;
    this.setState(
      release.id,
      state,
      safeError ??
        (firstFailure && {
          code: ErrorCode.DestinationFailed,
          message: `${outcomes
            .filter((o) => o.status === 'failed')
            .map((o) => o.name)
            .join(', ')} failed`,
        }),
    );
    const finished = this.now();
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
      credentialIds,
      startedAt: new Date(r.startedMs).toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - r.startedMs,
      error: safeError,
    } satisfies Omit<ReleaseSummary, 'auditId'>;
    const entry = this.audit.append({
      type: state === 'dry-run' ? 'dry-run' : state === 'published' ? 'published' : 'failed',
      project: project.name,
      version: release.version,
      releaseId: release.id,
      actor: r.actor,
      data: {
        build: staged.build,
        artifact: artifactDigests(staged.artifact),
        publishedArtifact: measured && artifactDigests(measured),
        labelWritten,
        stagedAt: staged.stagedAt,
        stagedBy: staged.reportedBy,
        approvers: r.approvers,
        conjurIdentity: this.policy.env.CONJUR_AUTHN_LOGIN,
        policySha256: release.policySha256,
        credentialIds,
        destinations: outcomes.map((o) => ({
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
        })),
        resumeOf: r.previous?.id,
        error: safeError,
        startedAt: summaryBase.startedAt,
        durationMs: summaryBase.durationMs,
      },
    });
    const summary: ReleaseSummary = { ...summaryBase, auditId: entry.id };
    this.events.emit('release-finished', { summary, project });
    log.info({ state, durationMs: summary.durationMs, auditId: entry.id }, 'release finished');
    return summary;
  }

  /**
   * The label goes beside the staged files too, and the same label is handed to every destination.
   * Decision: a label that cannot be written there fails the release BEFORE any destination runs (a
   * dry run reports it too). Writing it only afterwards, as before, let a release report published
   * while the staging directory never got its label, with only a warning in the log to say so. So it
   * is written first under a pending name (the staging checks ignore it), and renamed into place once
   * every destination succeeded; a failed or dry run removes it.
   */
  private async prepareStagingLabel(project: string, version: string, text: string, dryRun: boolean): Promise<string> {
    const dir = this.versionDir(project, version);
    const pending = pendingLabelFileName(project, version, dryRun);
    try {
      await writeStagingFile(this.deps.config.stagingDir, project, version, pending, text);
    } catch (err) {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `cannot write the release label into the staging directory ${dir} (${errnoOf(err)}): release-bot writes it beside the staged files; give it write access there (ReadWritePaths in its unit). It writes only into a real directory, never through a symlink (ELOOP). Nothing was published`,
        { cause: err },
      );
    }
    return pending;
  }

  /** Renames the pending label into place; the destinations have published, so a failure here is recorded, not thrown. */
  private async placeStagingLabel(pending: string, project: string, version: string, log: Logger): Promise<boolean> {
    try {
      await renameStagingFile(this.deps.config.stagingDir, project, version, pending, labelFileName(project, version));
      return true;
    } catch (err) {
      log.error(
        { err: (err as Error).message },
        'the release is published but its label could not be put in place in the staging directory',
      );
      return false;
    }
  }

  private resumable(project: string, version: string, staged: StagedBuild): ReleaseRecord {
    const previous = this.releases
      .latest(project, version, 20)
      .find((x) => !x.dryRun && (x.state === 'interrupted' || x.state === 'failed'));
    if (!previous)
      throw new ReleaseBotError(ErrorCode.NotFound, `${project} ${version} has no interrupted or failed release to resume`, {
        details: { reason: 'nothing-to-resume' },
      });
    if (previous.stagedBuildId !== staged.id) {
      throw new ReleaseBotError(
        ErrorCode.Conflict,
        `${project} ${version} was re-staged after release ${previous.id}: start a new release instead of resuming`,
      );
    }
    return previous;
  }

  private assertNotFrozen(project: string): void {
    const freeze = this.deps.db.prepare('SELECT locked_by, reason, locked_at FROM freezes WHERE project = ?').get(project) as
      { locked_by: string; reason: string; locked_at: string } | undefined;
    if (freeze) {
      throw new ReleaseBotError(
        ErrorCode.Frozen,
        `${project} is frozen by ${freeze.locked_by} since ${freeze.locked_at}: ${freeze.reason}`,
        {
          details: { by: freeze.locked_by, at: freeze.locked_at, reason: freeze.reason },
        },
      );
    }
  }

  private setState(id: string, state: ReleaseRecord['state'], error?: { code: string; message: string }): void {
    this.releases.setState(id, state, error);
    this.events.emit('release-state', { releaseId: id, state });
  }

  /**
   * Releases left in a live state by a process that is provably gone (crash, SIGKILL, reboot): they
   * are marked `interrupted`, audited and announced. Nothing is published again until someone resumes
   * them. `serve` runs it for every release at start; every release and resume runs it first for its
   * own project+version, so a killed CLI or ssh release does not block the version until serve restarts.
   */
  recoverInterrupted(probe: ProcessProbe = this.probe, only?: { project: string; version: string }): ReleaseRecord[] {
    const recovered: ReleaseRecord[] = [];
    for (const release of this.releases.inFlight(only?.project, only?.version)) {
      if (
        !ownerIsDead(
          { host: release.ownerHost, bootId: release.ownerBootId, pid: release.ownerPid, startTime: release.ownerStartTime },
          probe,
        )
      )
        continue;
      // Conditional: when two processes recover the same release, one audits and announces it.
      if (
        !this.releases.markInterrupted(release.id, { code: 'INTERRUPTED', message: 'release-bot stopped while this release was running' })
      )
        continue;
      this.deps.log.warn(
        {
          releaseId: release.id,
          project: release.project,
          version: release.version,
          ownerPid: release.ownerPid,
          ownerHost: release.ownerHost,
        },
        'release of a process that no longer runs marked interrupted',
      );
      const destinations = this.releases.destinations(release.id);
      const entry = this.audit.append({
        type: 'interrupted',
        project: release.project,
        version: release.version,
        releaseId: release.id,
        actor: { via: 'release-bot' },
        data: { previousState: release.state, destinations: destinations.map((d) => ({ name: d.destination, status: d.status })) },
      });
      const updated = this.releases.get(release.id) as ReleaseRecord;
      this.events.emit('release-interrupted', { release: updated, project: this.policy.projects.get(release.project), auditId: entry.id });
      recovered.push(updated);
    }
    return recovered;
  }

  /** Waits for in-flight releases; after `timeoutMs` they are told to stop. */
  async drain(timeoutMs = 10 * 60_000): Promise<void> {
    this.draining = true;
    const pending = [...this.inFlight];
    if (pending.length === 0) {
      this.shutdown.abort();
      return;
    }
    const timer = setTimeout(() => this.shutdown.abort(), timeoutMs);
    await Promise.allSettled(pending);
    clearTimeout(timer);
    this.shutdown.abort();
  }

  /**
   * Runs other work of the core's (a yank) as in flight: `drain` waits for it, and nothing new starts
   * while the bot shuts down. `signal` aborts when the bot stops for good.
   */
  track<T>(start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.draining || this.shutdown.signal.aborted) {
      return Promise.reject(
        new ReleaseBotError(ErrorCode.InProgress, 'release-bot is shutting down and finishing the work it runs: ask again in a minute'),
      );
    }
    const work = start(this.shutdown.signal);
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }
}

/** Refuses when the caller was bound to another staged build than the one staged now. */
function assertExpectedStaged(staged: StagedBuild, expected: ExpectedStaged | undefined): void {
  if (expected === undefined) return;
  if (expected.id === undefined && expected.fingerprint === undefined) {
    throw new ReleaseBotError(ErrorCode.BadInput, 'expectedStaged names no build: give its id and/or fingerprint');
  }
  if (
    (expected.id !== undefined && expected.id !== staged.id) ||
    (expected.fingerprint !== undefined && expected.fingerprint !== staged.fingerprint)
  ) {
    throw new ReleaseBotError(
      ErrorCode.Conflict,
      `${staged.project} ${staged.version} was re-staged (build ${staged.build.number ?? '?'}) after this release was requested or approved: ask for the release of the build staged now`,
      {
        details: { reason: 'restaged', expected, stagedBuildId: staged.id },
      },
    );
  }
}

/** Digests of an artifact as the audit and chat show them. */
export function artifactDigests(artifact: StagedArtifact): ArtifactDigests {
  return artifact.kind === 'files'
    ? { kind: 'files', files: artifact.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })) }
    : { kind: 'docker', ref: artifact.ref, digest: artifact.digest };
}

function releaseLabel(
  r: { release: ReleaseRecord; staged: StagedBuild; requester: Requester; approvers: string[] },
  at: Date,
): Record<string, unknown> {
  return {
    project: r.release.project,
    version: r.release.version,
    releaseId: r.release.id,
    build: r.staged.build,
    artifact: artifactDigests(r.staged.artifact),
    requester: r.requester.login,
    approvers: r.approvers,
    releasedAt: at.toISOString(),
  };
}

/** The highest released, not yanked version of the project when it is newer than `version` (see PublishContext). */
function newerReleased(db: Db, project: string, version: string): string | undefined {
  const highest = releasedVersions(db, project).sort(compareVersions).at(-1);
  return highest !== undefined && compareVersions(highest, version) > 0 ? highest : undefined;
}
