import type { Db } from './db.js';
import type { ReleaseRecord, Releases } from './releases.js';
import { ReportClaims, type ReportClaim } from './report-claims.js';
import type { StagedBuild, StagedBuilds } from './staged-builds.js';

export interface StagingCommitRequest<A> {
  staged: Omit<StagedBuild, 'id'>;
  /** The report's replay record (its jti, or its build), when it came with one. */
  claim?: ReportClaim | undefined;
  /**
   * Appends the staged build's audit entry: the last write of the transaction, so nothing after it can
   * undo it. Its own append nests as a savepoint, chained to the newest entry under the same write lock.
   */
  audit: (staged: StagedBuild) => A;
}

export type StagingCommitResult<A> =
  { kind: 'held'; holder: ReleaseRecord } | { kind: 'replayed' } | { kind: 'recorded'; staged: StagedBuild; audit: A };

/**
 * A staged report's one durable commit (issue 14: a report waited for the disk three times): in one
 * immediate transaction, the check that no release holds the version, the replay record, the staged
 * build (superseding the current one) and its audit entry. A crash or a failure anywhere in it leaves
 * none of them, so the report's retry is taken as new; `held` and `replayed` write nothing.
 */
export function commitStagedReport<A>(
  db: Db,
  stores: { releases: Releases; staged: StagedBuilds; now: () => Date },
  req: StagingCommitRequest<A>,
): StagingCommitResult<A> {
  const claims = new ReportClaims(db, stores.now);
  return db
    .transaction((): StagingCommitResult<A> => {
      const holder = stores.releases.live(req.staged.project, req.staged.version);
      if (holder) return { kind: 'held', holder };
      if (req.claim && !claims.record(req.claim)) return { kind: 'replayed' };
      const staged = stores.staged.insert(req.staged);
      return { kind: 'recorded', staged, audit: req.audit(staged) };
    })
    .immediate();
}
