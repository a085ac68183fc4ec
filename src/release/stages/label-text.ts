import type { ArtifactDigests } from '../../audit/log.js';
import type { StagedArtifact } from '../../publishing/types.js';
import type { ReleaseRecord } from '../../store/releases.js';
import type { StagedBuild } from '../../store/staged-builds.js';
import type { Requester } from '../types.js';

/** Digests of an artifact as the audit and chat show them. */
export function artifactDigests(artifact: StagedArtifact): ArtifactDigests {
  return artifact.kind === 'files'
    ? { kind: 'files', files: artifact.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })) }
    : { kind: 'docker', ref: artifact.ref, digest: artifact.digest };
}

/** The release label: what was released, from which build, by whom, when. */
export function releaseLabel(
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
