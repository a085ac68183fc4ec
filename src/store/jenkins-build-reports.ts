import type { Db } from './db.js';
import { statement } from './statements.js';

/** A Jenkins build, as a token without `jti` names it: the issuer (`iss`, '' when absent), the job's full name and the build number. */
export interface JenkinsBuildKey {
  issuer: string;
  job: string;
  number: number;
}

export interface JenkinsBuildReport extends JenkinsBuildKey {
  project: string;
  version: string;
  /** sha256 (hex) of the request body the build sent. */
  bodySha256: string;
  /** `staging` while the first request is being checked; `staged` once the core recorded it. */
  state: 'staging' | 'staged';
  claimedAt: string;
}

export type BuildClaim = { kind: 'claimed' } | { kind: 'same'; report: JenkinsBuildReport } | { kind: 'other'; report: JenkinsBuildReport };

interface Row {
  issuer: string;
  job: string;
  build_number: number;
  project: string;
  version: string;
  body_sha256: string;
  state: 'staging' | 'staged';
  claimed_at: string;
}

/** Longer than any staging check takes (hashing the files, asking the registry). */
const STALE_CLAIM_MS = 30 * 60_000;

const toReport = (r: Row): JenkinsBuildReport => ({
  issuer: r.issuer,
  job: r.job,
  number: r.build_number,
  project: r.project,
  version: r.version,
  bodySha256: r.body_sha256,
  state: r.state,
  claimedAt: r.claimed_at,
});

/**
 * The one report each Jenkins build may make when its token has no `jti` (Jenkins' OIDC provider
 * plugin mints none): a token lives up to an hour and is replayable meanwhile, so the build, not the
 * token, is what is single-use. Kept for good: a build number is never reused by a job.
 */
export class JenkinsBuildReports {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Claims the build for this report. The insert and the check are one statement, so two requests
   * racing with the same token cannot both claim it. `same`: this build already sent these bytes for
   * this project and version; `other`: it reported something else.
   */
  claim(key: JenkinsBuildKey, report: Pick<JenkinsBuildReport, 'project' | 'version' | 'bodySha256'>): BuildClaim {
    if (this.insert(key, report, 'staging')) return { kind: 'claimed' };
    const existing = this.get(key);
    if (!existing) return this.claim(key, report); // released between the insert and the read: try again
    const same = existing.project === report.project && existing.version === report.version && existing.bodySha256 === report.bodySha256;
    return { kind: same ? 'same' : 'other', report: existing };
  }

  /**
   * Records the build as staged by this report, in one statement (inside the transaction that records
   * the staged build: src/store/staging-commit.ts); false when the build has a report already. A claim
   * left `staging` by a process that died mid-check (before this method existed) is taken over once stale.
   */
  claimStaged(key: JenkinsBuildKey, report: Pick<JenkinsBuildReport, 'project' | 'version' | 'bodySha256'>): boolean {
    return this.insert(key, report, 'staged');
  }

  /**
   * Inserts the build's report in `state` unless the build has one; a claim left `staging` by a process
   * that died mid-check (it would block the build for good) is taken over once stale.
   */
  private insert(
    key: JenkinsBuildKey,
    report: Pick<JenkinsBuildReport, 'project' | 'version' | 'bodySha256'>,
    state: 'staging' | 'staged',
  ): boolean {
    const stale = new Date(this.now().getTime() - STALE_CLAIM_MS).toISOString();
    statement(
      this.db,
      `DELETE FROM jenkins_build_reports WHERE issuer = ? AND job = ? AND build_number = ? AND state = 'staging' AND claimed_at < ?`,
    ).run(key.issuer, key.job, key.number, stale);
    const info = statement(
      this.db,
      `INSERT INTO jenkins_build_reports (issuer, job, build_number, project, version, body_sha256, state, claimed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (issuer, job, build_number) DO NOTHING`,
    ).run(key.issuer, key.job, key.number, report.project, report.version, report.bodySha256, state, this.now().toISOString());
    return info.changes === 1;
  }

  /** The claim's report was staged: from now on only its replay is answered (and changes nothing). */
  confirm(key: JenkinsBuildKey): void {
    statement(this.db, `UPDATE jenkins_build_reports SET state = 'staged' WHERE issuer = ? AND job = ? AND build_number = ?`).run(
      key.issuer,
      key.job,
      key.number,
    );
  }

  /** Staging failed (files not there yet, a digest differs): the build may report again. */
  release(key: JenkinsBuildKey): void {
    statement(this.db, `DELETE FROM jenkins_build_reports WHERE issuer = ? AND job = ? AND build_number = ? AND state = 'staging'`).run(
      key.issuer,
      key.job,
      key.number,
    );
  }

  get(key: JenkinsBuildKey): JenkinsBuildReport | undefined {
    const row = statement(this.db, 'SELECT * FROM jenkins_build_reports WHERE issuer = ? AND job = ? AND build_number = ?').get(
      key.issuer,
      key.job,
      key.number,
    ) as Row | undefined;
    return row && toReport(row);
  }
}
