import type { ArtifactFile, BuildInfo, StagedArtifact } from '../publishing/types.js';
import type { Db } from './db.js';
import { statement } from './statements.js';

export interface StagedBuild {
  id: number;
  project: string;
  version: string;
  artifact: StagedArtifact;
  build: BuildInfo;
  reportedBy: string;
  fingerprint: string;
  stagedAt: string;
}

interface Row {
  id: number;
  project: string;
  version: string;
  artifact_kind: 'files' | 'docker';
  files_json: string | null;
  image_ref: string | null;
  image_digest: string | null;
  build_job: string | null;
  build_number: number | null;
  build_url: string | null;
  build_commit: string | null;
  reported_by: string;
  fingerprint: string;
  staged_at: string;
  image_tls_verify?: number;
}

function toStaged(r: Row): StagedBuild {
  const artifact: StagedArtifact =
    r.artifact_kind === 'files'
      ? { kind: 'files', files: JSON.parse(r.files_json ?? '[]') as ArtifactFile[] }
      : {
          kind: 'docker',
          ref: r.image_ref ?? '',
          digest: r.image_digest ?? '',
          tlsVerify: JSON.parse(r.files_json ?? '{"tlsVerify":true}').tlsVerify !== false,
        };
  return {
    id: r.id,
    project: r.project,
    version: r.version,
    artifact,
    build: {
      job: r.build_job ?? undefined,
      number: r.build_number ?? undefined,
      url: r.build_url ?? undefined,
      commit: r.build_commit ?? undefined,
    },
    reportedBy: r.reported_by,
    fingerprint: r.fingerprint,
    stagedAt: r.staged_at,
  };
}

export class StagedBuilds {
  constructor(private readonly db: Db) {}

  current(project: string, version: string): StagedBuild | undefined {
    const row = statement(this.db, 'SELECT * FROM staged_builds WHERE project = ? AND version = ? AND superseded_at IS NULL').get(
      project,
      version,
    ) as Row | undefined;
    return row && toStaged(row);
  }

  byId(id: number): StagedBuild | undefined {
    const row = this.db.prepare('SELECT * FROM staged_builds WHERE id = ?').get(id) as Row | undefined;
    return row && toStaged(row);
  }

  /** Current staged builds, newest first. */
  list(project?: string, limit = 50): StagedBuild[] {
    const rows = project
      ? this.db
          .prepare('SELECT * FROM staged_builds WHERE superseded_at IS NULL AND project = ? ORDER BY id DESC LIMIT ?')
          .all(project, limit)
      : this.db.prepare('SELECT * FROM staged_builds WHERE superseded_at IS NULL ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Row[]).map(toStaged);
  }

  /**
   * Staged files builds whose quarantined copy must stay: current ones not released before `releasedBefore`
   * (ISO time), and any build a live release is reading. Superseded builds can no longer be released
   * or resumed (a resume of a re-staged version is refused), so they are not kept.
   */
  quarantineKeep(releasedBefore: string): StagedBuild[] {
    const rows = this.db
      .prepare(
        `SELECT s.* FROM staged_builds s WHERE s.artifact_kind = 'files' AND (
           (s.superseded_at IS NULL AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.staged_build_id = s.id AND r.dry_run = 0 AND r.state = 'published' AND COALESCE(r.finished_at, r.updated_at) < ?))
           OR EXISTS (SELECT 1 FROM releases r WHERE r.staged_build_id = s.id AND r.state IN ('requested', 'authorized', 'verifying', 'publishing')))`,
      )
      .all(releasedBefore) as Row[];
    return rows.map(toStaged);
  }

  /** Records a staged build, superseding the current one of the same project+version (in one transaction). */
  insert(s: Omit<StagedBuild, 'id'>): StagedBuild {
    return this.db
      .transaction(() => {
        statement(this.db, 'UPDATE staged_builds SET superseded_at = ? WHERE project = ? AND version = ? AND superseded_at IS NULL').run(
          s.stagedAt,
          s.project,
          s.version,
        );
        const files = s.artifact.kind === 'files' ? JSON.stringify(s.artifact.files) : JSON.stringify({ tlsVerify: s.artifact.tlsVerify });
        const info = statement(
          this.db,
          `INSERT INTO staged_builds (project, version, artifact_kind, files_json, image_ref, image_digest, build_job, build_number, build_url, build_commit, reported_by, fingerprint, staged_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          s.project,
          s.version,
          s.artifact.kind,
          files,
          s.artifact.kind === 'docker' ? s.artifact.ref : null,
          s.artifact.kind === 'docker' ? s.artifact.digest : null,
          s.build.job ?? null,
          s.build.number ?? null,
          s.build.url ?? null,
          s.build.commit ?? null,
          s.reportedBy,
          s.fingerprint,
          s.stagedAt,
        );
        return { ...s, id: Number(info.lastInsertRowid) };
      })
      .immediate();
  }
}
