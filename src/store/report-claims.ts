import type { Db } from './db.js';
import { JenkinsBuildReports, type JenkinsBuildKey, type JenkinsBuildReport } from './jenkins-build-reports.js';
import { UsedTokenIds } from './token-ids.js';

/**
 * What makes a build report single-use: its token's `jti` (kept until the token can no longer pass
 * `exp`; times in seconds since the epoch), or, for a token without one, its build (issuer, job, build
 * number). Recorded in the transaction that records the staged build (src/store/staging-commit.ts).
 */
export type ReportClaim =
  | { kind: 'token'; jti: string; expiresAt: number; nowSeconds: number }
  | { kind: 'build'; key: JenkinsBuildKey; report: Pick<JenkinsBuildReport, 'project' | 'version' | 'bodySha256'> };

/** The replay records of both kinds, behind one pair of calls. */
export class ReportClaims {
  private readonly tokens: UsedTokenIds;
  private readonly builds: JenkinsBuildReports;

  constructor(db: Db, now: () => Date = () => new Date()) {
    this.tokens = new UsedTokenIds(db);
    this.builds = new JenkinsBuildReports(db, now);
  }

  /** Reads only: whether the claim was recorded before (a replay is refused before any work). */
  recorded(claim: ReportClaim): boolean {
    return claim.kind === 'token' ? this.tokens.used(claim.jti, claim.nowSeconds) : this.builds.get(claim.key) !== undefined;
  }

  /**
   * Records the claim (inside the caller's transaction when there is one); false when another report
   * recorded it first: the insert and the check are one statement, so two racing reports cannot both pass.
   */
  record(claim: ReportClaim): boolean {
    return claim.kind === 'token'
      ? this.tokens.claim(claim.jti, claim.expiresAt, claim.nowSeconds)
      : this.builds.claimStaged(claim.key, claim.report);
  }
}
