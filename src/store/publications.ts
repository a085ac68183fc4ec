import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { StagedArtifact } from '../publishing/types.js';
import type { Db } from './db.js';
import { StagedBuilds } from './staged-builds.js';
import type { YankState } from './yanks.js';

/** What one destination published for one version: the newest published or already-present result of a release that was no dry run. */
export interface Publication {
  version: string;
  destination: string;
  type: string;
  releaseId: string;
  /** When the release that published it finished (or was last updated). */
  at: string;
  readBackDigest: string | null;
  location: string | null;
  artifact: StagedArtifact | undefined;
  /** The staged build it was published from (null for a release recorded without one). */
  stagedBuildId: number | null;
}

/**
 * Refuses a release of a version that was yanked, or is being yanked: a yanked version is never
 * released again under the same number (its users were told to move off it). Called by the core
 * under the same write lock that takes the release lock, so a yank and a release cannot cross.
 */
export function assertNotYanked(db: Db, project: string, version: string): void {
  const yank = db
    .prepare(
      `SELECT id, state, requester_login, reason, created_at FROM yanks WHERE project = ? AND version = ? AND dry_run = 0 ORDER BY created_at, rowid LIMIT 1`,
    )
    .get(project, version) as { id: string; state: YankState; requester_login: string; reason: string; created_at: string } | undefined;
  if (!yank) return;
  const being = yank.state === 'yanking' ? 'is being yanked right now' : 'was yanked';
  throw new ReleaseBotError(
    ErrorCode.AlreadyReleased,
    `${project} ${version} ${being} (${yank.id}, by ${yank.requester_login} on ${yank.created_at}: ${yank.reason}): a yanked version is never released again; release a new version`,
    {
      details: { yankId: yank.id, reason: 'yanked' },
    },
  );
}

/**
 * The versions of a project some destination published (a real release, published or already present)
 * and no yank took back: what a floating tag such as docker's `latest` may point at.
 */
export function releasedVersions(db: Db, project: string): string[] {
  return (
    db
      .prepare(
        `SELECT DISTINCT r.version FROM destination_results d JOIN releases r ON r.id = d.release_id
         WHERE r.project = ? AND r.dry_run = 0 AND d.status IN ('published', 'already-present')
           AND r.version NOT IN (SELECT version FROM yanks WHERE project = ? AND dry_run = 0)`,
      )
      .all(project, project) as { version: string }[]
  ).map((r) => r.version);
}

/**
 * What each destination published, for every version of a project: per version and destination the
 * newest published (or already-present) result of a release that was not a dry run. A failed release
 * whose npm destination published still left that version on npm, so it counts.
 */
export function publications(db: Db, project: string): Publication[] {
  const rows = db
    .prepare(
      `SELECT r.version, d.destination, d.type, r.id AS release_id, COALESCE(d.finished_at, r.finished_at, r.updated_at) AS at, d.read_back_digest, d.location, r.staged_build_id
       FROM destination_results d JOIN releases r ON r.id = d.release_id
       WHERE r.project = ? AND r.dry_run = 0 AND d.status IN ('published', 'already-present')
       ORDER BY at DESC, r.rowid DESC`,
    )
    .all(project) as {
    version: string;
    destination: string;
    type: string;
    release_id: string;
    at: string;
    read_back_digest: string | null;
    location: string | null;
    staged_build_id: number | null;
  }[];
  const seen = new Set<string>();
  const out: Publication[] = [];
  const artifacts = new Map<number, StagedArtifact | undefined>();
  const artifactOf = (id: number | null): StagedArtifact | undefined => {
    if (id === null) return undefined;
    if (!artifacts.has(id)) artifacts.set(id, new StagedBuilds(db).byId(id)?.artifact);
    return artifacts.get(id);
  };
  for (const r of rows) {
    const key = JSON.stringify([r.version, r.destination]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      version: r.version,
      destination: r.destination,
      type: r.type,
      releaseId: r.release_id,
      at: r.at,
      readBackDigest: r.read_back_digest,
      location: r.location,
      artifact: artifactOf(r.staged_build_id),
      stagedBuildId: r.staged_build_id,
    });
  }
  return out;
}
