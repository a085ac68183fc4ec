import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import type { AuditActor } from '../audit/log.js';
import type { ProjectConfig } from '../config/load.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { BuildInfo, StagedArtifact } from '../publishing/types.js';
import { ReportClaims, type ReportClaim } from '../store/report-claims.js';
import type { StagedBuild } from '../store/staged-builds.js';
import { commitStagedReport } from '../store/staging-commit.js';
import { stagingLimits } from '../staging/limits.js';
import type { ReportedFile } from '../staging/quarantine.js';
import { botFileNames } from '../staging/scan.js';
import { assertVersion, clip } from '../validate.js';
import { runPipeline, type Pipeline, type Stage } from './pipeline.js';
import { need, projectOf, versionDir, type CoreServices } from './services.js';
import { artifactDigests } from './stages/label-text.js';

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
  /**
   * The report's replay record (its token's jti, or its build), written in the commit that records the
   * build, or alone when the same build is staged already; a replay met there is refused (`details.replayed`).
   */
  claim?: ReportClaim | undefined;
}

export interface StageResult {
  outcome: 'staged' | 'unchanged' | 'replaced';
  staged: StagedBuild;
  auditId?: string | undefined;
}

interface StagingRun {
  s: CoreServices;
  report: StageReport;
  project: ProjectConfig;
  version: string;
  artifact?: StagedArtifact;
  fingerprint?: string;
  /** The build staged before this report, if any. */
  current?: StagedBuild | undefined;
  result?: StageResult;
}

const unchanged = (r: StagingRun) => r.result?.outcome === 'unchanged' && 'the same build is staged already';

/** The staging pipeline: inspect (quarantine or image) → compare → claim (when unchanged) → record → announce; a refusal is audited. */
const staging: Pipeline<StagingRun, Stage<StagingRun>, StageResult> = {
  name: 'staging',
  stages: [
    {
      name: 'inspect',
      run: async (r) => {
        r.artifact = await inspectStaged(r.s, r.project, r.version, r.report);
        r.fingerprint = sha256Hex(canonicalJson({ artifact: r.artifact, build: r.report.build }));
      },
    },
    {
      name: 'compare',
      run: (r) => {
        r.current = r.s.staged.current(r.project.name, r.version);
        if (r.current && r.current.fingerprint === r.fingerprint) r.result = { outcome: 'unchanged', staged: r.current };
      },
    },
    {
      name: 'claim',
      skip: (r) => (r.result?.outcome !== 'unchanged' ? 'the claim is recorded with the build' : !r.report.claim && 'no replay record'),
      run: (r) => {
        if (!new ReportClaims(r.s.db, r.s.now).record(need(r.report.claim))) throw replayed();
      },
    },
    { name: 'record', skip: unchanged, run: record },
    { name: 'announce', skip: unchanged, run: announce },
  ],
  outcome: (r, failure) => {
    if (!failure && r.result) return r.result;
    const err = failure?.error ?? new ReleaseBotError(ErrorCode.Internal, 'staging ended without a result');
    r.s.audit.append({
      project: r.project.name,
      version: r.version,
      actor: r.report.actor,
      type: 'stage-refused',
      data: { code: err.code, reason: err.message, build: r.report.build, reportedBy: r.report.reportedBy },
    });
    throw err;
  },
};

/** Records a staged build after checking its files (or image) against the report. */
export function stageBuild(s: CoreServices, report: StageReport): Promise<StageResult> {
  const project = projectOf(report.project, s.policy());
  const version = assertVersion(report.version);
  return runPipeline(staging, { s, report, project, version }, s.log);
}

/**
 * The report's one durable commit (src/store/staging-commit.ts): the check that no release holds the
 * version, the replay record, the staged build and its audit entry, under one write lock. A release
 * starting in another process between the check and the insert would otherwise run a superseded build,
 * and a failure between two commits would leave a build recorded without its entry, or a report's
 * replay record without its build (and Jenkins' retry of it refused).
 */
function record(r: StagingRun): void {
  const { s, project, version, report, current } = r;
  // Its entry is announced once the transaction committed, never before (a failed COMMIT rolls it back).
  const committed = s.audit.announcingAfter(() =>
    commitStagedReport(
      s.db,
      { releases: s.releases, staged: s.staged, now: s.now },
      {
        staged: {
          project: project.name,
          version,
          artifact: need(r.artifact),
          build: report.build,
          reportedBy: report.reportedBy,
          fingerprint: need(r.fingerprint),
          stagedAt: s.now().toISOString(),
        },
        claim: report.claim,
        audit: (staged) =>
          s.audit.append({
            project: project.name,
            version,
            actor: report.actor,
            type: 'staged',
            data: {
              build: report.build,
              artifact: artifactDigests(staged.artifact),
              reportedBy: report.reportedBy,
              replaces: current
                ? { stagedAt: current.stagedAt, build: current.build, artifact: artifactDigests(current.artifact) }
                : undefined,
            },
          }),
      },
    ),
  );
  if (committed.kind === 'replayed') throw replayed();
  if (committed.kind === 'held') {
    const holder = committed.holder;
    s.events.emit('stage-conflict', {
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
  r.result = { outcome: current ? 'replaced' : 'staged', staged: committed.staged, auditId: committed.audit.id };
}

/** Tells the ways out (the readiness note in Slack) once the build and its entry are committed. */
function announce(r: StagingRun): void {
  const { s, project, version, report, current } = r;
  const staged = need(r.result).staged;
  s.events.emit('staged', { staged, replaced: current, project });
  s.log.info({ project: project.name, version, build: report.build.number, replaced: Boolean(current) }, 'build staged');
}

/** Another report with the same replay record committed first (a replay racing its original). */
function replayed(): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.Conflict, 'this report was already recorded (its token or its build): a report stages once', {
    details: { replayed: true },
  });
}

async function inspectStaged(s: CoreServices, project: ProjectConfig, version: string, report: StageReport): Promise<StagedArtifact> {
  if (project.artifact === 'files') {
    if (report.image) throw new ReleaseBotError(ErrorCode.BadInput, `${project.name} is a files project: report artifacts, not an image`);
    versionDir(s.policy().stagingDir, project.name, version);
    const files = await s.quarantine.ingest({
      stagingDir: s.config.stagingDir,
      project: project.name,
      version,
      reported: report.files,
      ignore: botFileNames(project.name, version),
      limits: stagingLimits(s.config.staging),
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
  if (!s.inspectImage) throw new ReleaseBotError(ErrorCode.Internal, 'no image inspector is configured');
  const actual = await s.inspectImage(report.image.ref, image.tls_verify);
  if (report.image.digest !== undefined && actual !== report.image.digest) {
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `the staged image ${clip(report.image.ref)} has digest ${actual}, the build reported ${report.image.digest}`,
    );
  }
  return { kind: 'docker', ref: repository, digest: actual, tlsVerify: image.tls_verify };
}
