import type { ProjectConfig } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { artifactDigests, type ReleaseCore, type StageReport, type StageResult } from '../../src/release/core.js';
import type { JenkinsBuildKey, JenkinsBuildReport, JenkinsBuildReports } from '../../src/store/jenkins-build-reports.js';
import type { ReportClaim } from '../../src/store/report-claims.js';
import type { UsedTokenIds } from '../../src/store/token-ids.js';
import { jobAllowed, jobFullName } from './job-name.js';
import { parseReport, type BuildReport } from './payload.js';
import { safeText } from './safe-text.js';

/**
 * What an authenticated request proved:
 * - `jwt`: the job (the token's `sub`, signed by Jenkins or by `release-bot notify` with the shared secret);
 *   `build` when the token had no `jti` and is bound to its build instead (issuer, build number, body digest);
 * - `hmac`: only that the sender holds JENKINS_WEBHOOK_SECRET; the job is the one the payload names;
 * - `url-token`: only the project whose Notification URL token was used.
 */
export type Credential =
  | {
      kind: 'jwt';
      sub: string;
      /** The token's jti (not yet recorded: the staging commit records it with the build). */
      token?: TokenClaim | undefined;
      build?: { issuer: string; number: number; bodySha256: string } | undefined;
    }
  | { kind: 'hmac' }
  | { kind: 'url-token'; project: string };

export type TokenClaim = Extract<ReportClaim, { kind: 'token' }>;

/** Where the replay records live: used token ids, and the one report of each build whose token has no jti. */
export interface ReplayStores {
  tokens: UsedTokenIds;
  builds: JenkinsBuildReports;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const forbidden = (message: string) => new ReleaseBotError(ErrorCode.WebhookForbidden, message);
const malformed = (message: string) => new ReleaseBotError(ErrorCode.BadInput, message);

/**
 * Turns an authenticated report into a staging call on the core, and its result into an answer. The
 * report's replay record (its token's jti, or its build when the token had none) is written by the
 * core in the commit that records the build. A token is good for one request whatever the answer: when
 * that commit did not record it (a refusal, an ignored report), it is recorded here.
 */
export async function handleReport(core: ReleaseCore, credential: Credential, body: unknown, replay?: ReplayStores): Promise<Answer> {
  const token = credential.kind === 'jwt' ? credential.token : undefined;
  if (token && !replay) throw new ReleaseBotError(ErrorCode.Internal, 'a token with a jti needs the replay stores');
  let recorded = false;
  try {
    const answer = await stageReport(core, credential, body, replay);
    recorded = answer.recorded;
    return answer.answer;
  } catch (err) {
    if (token && err instanceof ReleaseBotError && err.details.replayed === true) {
      recorded = true;
      throw new ReleaseBotError(
        ErrorCode.WebhookUnauthenticated,
        'this token was already used (same jti): mint a new token for every request',
      );
    }
    throw err;
  } finally {
    if (token && !recorded) replay?.tokens.claim(token.jti, token.expiresAt, token.nowSeconds);
  }
}

async function stageReport(
  core: ReleaseCore,
  credential: Credential,
  body: unknown,
  replay: ReplayStores | undefined,
): Promise<{ answer: Answer; recorded: boolean }> {
  const parsed = parseReport(body);
  if (parsed.kind === 'ignored') return { answer: { status: 200, body: { status: 'ignored', reason: parsed.reason } }, recorded: false };
  const report = parsed.report;
  const project = resolveProject(core, credential, report);
  const job = checkJob(project, credential, report);
  const version = versionOf(project, report);
  const stage = artifactOf(project, report, version);
  const build = { ...report.build, job };

  const bound = credential.kind === 'jwt' ? credential.build : undefined;
  let claim: ReportClaim | undefined = credential.kind === 'jwt' ? credential.token : undefined;
  let builds: JenkinsBuildReports | undefined;
  let key: JenkinsBuildKey | undefined;
  const reportOf = { project: project.name, version };
  if (bound) {
    builds = replay?.builds;
    if (!builds) throw new ReleaseBotError(ErrorCode.Internal, 'a token without jti needs the build report store');
    // The token was minted for one build: the report may not speak for another.
    if (build.number !== undefined && build.number !== bound.number)
      throw forbidden(`the report is for build ${build.number}, and the token was minted for build ${bound.number}`);
    build.number = bound.number;
    key = { issuer: bound.issuer, job: job as string, number: bound.number };
    claim = { kind: 'build', key, report: { ...reportOf, bodySha256: bound.bodySha256 } };
    // Read only: a build's report is recorded with its staged build, so a failed one leaves the build free to report again.
    const earlier = builds.get(key);
    if (earlier?.state === 'staged') return { answer: buildReplay(earlier, claim.report, build), recorded: true };
  }

  const via = `jenkins:${job ?? project.name}`;
  let result;
  try {
    result = await core.stage({
      project: project.name,
      version,
      build,
      ...stage,
      reportedBy: `${via} (${credential.kind})`,
      actor: { via },
      claim,
    });
  } catch (err) {
    // Another request of the same build committed first (a replay racing its original): answered as its replay.
    const earlier = key && err instanceof ReleaseBotError && err.details.replayed === true ? builds?.get(key) : undefined;
    if (earlier && claim?.kind === 'build') return { answer: buildReplay(earlier, claim.report, build), recorded: true };
    throw err;
  }
  return { answer: stagedAnswer(result), recorded: true };
}

/** The answer to a report the core staged (or found unchanged). */
function stagedAnswer(result: StageResult): Answer {
  const staged = result.staged;
  return {
    status: result.outcome === 'unchanged' ? 200 : 202,
    body: {
      status: result.outcome,
      outcome: result.outcome,
      project: staged.project,
      version: staged.version,
      build: staged.build,
      stagedAt: staged.stagedAt,
      digests: artifactDigests(staged.artifact),
      ...(result.auditId ? { auditId: result.auditId } : {}),
    },
  };
}

/** The answer to a build that reported before: its replay changes nothing; another report of it is refused. */
function buildReplay(
  earlier: JenkinsBuildReport,
  report: Pick<JenkinsBuildReport, 'project' | 'version' | 'bodySha256'>,
  build: { number?: number | undefined; job?: string | undefined },
): Answer {
  const job = safeText(earlier.job, 200);
  const same = earlier.project === report.project && earlier.version === report.version;
  if (!same || earlier.bodySha256 !== report.bodySha256) {
    throw new ReleaseBotError(
      ErrorCode.Conflict,
      `build ${earlier.number} of ${job} already reported ${earlier.project} ${safeText(earlier.version, 100)}${same ? ' with another body' : ''}: a build stages one report; run a new build to stage another`,
    );
  }
  if (earlier.state === 'staging')
    throw new ReleaseBotError(ErrorCode.InProgress, `build ${earlier.number} of ${job} is being staged right now: wait for that answer`);
  // A replay of the report (a retried request, or someone who captured the token): nothing is looked at again.
  return {
    status: 200,
    body: {
      status: 'already-staged',
      outcome: 'already-staged',
      project: report.project,
      version: report.version,
      build,
      reportedAt: earlier.claimedAt,
    },
  };
}

function resolveProject(core: ReleaseCore, credential: Credential, report: BuildReport): ProjectConfig {
  if (credential.kind === 'url-token') {
    const project = core.project(credential.project);
    if (report.project !== undefined && report.project !== project.name) {
      throw forbidden(`this URL token belongs to ${project.name}, and the report is for ${safeText(report.project, 100)}`);
    }
    return project;
  }
  if (report.project !== undefined) return core.project(report.project);
  // The Notification format names only the job: the project is the one whose jenkins_job it is.
  const job = report.job as string;
  const matches = [...core.config.projects.values()].filter((p) => jobAllowed(p.jenkins_job, job));
  if (matches.length === 0) throw forbidden(`job ${safeText(job, 200)} is not the jenkins_job of any project`);
  if (matches.length > 1) {
    throw malformed(
      `job ${safeText(job, 200)} builds several projects (${matches.map((p) => p.name).join(', ')}): report with \`release-bot notify\`, which names the project`,
    );
  }
  return matches[0] as ProjectConfig;
}

/** The job check each credential allows; returns the job recorded with the staged build. */
function checkJob(project: ProjectConfig, credential: Credential, report: BuildReport): string | undefined {
  const allowed = (job: string) => jobAllowed(project.jenkins_job, job);
  const notAllowed = (job: string) =>
    forbidden(`job ${safeText(job, 200)} may not report builds of ${project.name}: its jenkins_job is ${project.jenkins_job}`);
  if (credential.kind === 'jwt') {
    if (!allowed(credential.sub)) throw notAllowed(credential.sub);
    if (report.job !== undefined && !allowed(report.job))
      throw forbidden(`the report names job ${safeText(report.job, 200)}, and the token was issued to ${safeText(credential.sub, 200)}`);
    return jobFullName(credential.sub);
  }
  if (credential.kind === 'hmac') {
    // The signature proves the secret, not the job: the job named in the payload is checked as a
    // statement of the sender, so a signed report for one project can still not stage another's build.
    if (report.job === undefined) throw forbidden('an HMAC-signed report must name its job in build.job');
    if (!allowed(report.job)) throw notAllowed(report.job);
    return report.job;
  }
  if (report.job !== undefined && !allowed(report.job)) throw notAllowed(report.job);
  return report.job;
}

function versionOf(project: ProjectConfig, report: BuildReport): string {
  if (report.version !== undefined) return report.version;
  const value = report.parameters?.[project.version_parameter];
  if (typeof value !== 'string' || value === '') {
    throw malformed(
      `the build has no ${project.version_parameter} parameter: add a string parameter ${project.version_parameter} holding the version, or set version_parameter for ${project.name}`,
    );
  }
  return value;
}

function artifactOf(project: ProjectConfig, report: BuildReport, version: string): Pick<StageReport, 'files' | 'image'> {
  if (report.format === 'notification') {
    // No digests in this format: they are taken at staging. A docker build is expected under its version tag.
    return project.artifact === 'docker' && project.image ? { image: { ref: `${project.image.repository}:${version}` } } : {};
  }
  if (report.files && report.image) throw malformed('report artifacts or image, not both');
  if (project.artifact === 'files' && !report.files)
    throw malformed(`${project.name} is a files project: list its artifacts with their sha256`);
  return { files: report.files, image: report.image };
}
