import type { ArtifactDigests, AuditEntry } from '../../src/audit/entries.js';
import type { StagedArtifact } from '../../src/publishing/types.js';
import type { DestinationOutcome, ReleaseSummary, Requester } from '../../src/release/types.js';
import type { YankDestinationOutcome, YankSummary } from '../../src/release/yank.js';
import type { ReleaseRecord } from '../../src/store/releases.js';
import type { StagedBuild } from '../../src/store/staged-builds.js';

/**
 * The summary of a release another process ran (`release-bot publish`, the ssh forced command),
 * rebuilt from its final audit entry: the entry is what the release channel must show, and it is
 * all that process left behind besides the release row. Undefined for anything but the final entry
 * of a real (not dry) release.
 */
export function summaryFromAudit(entry: AuditEntry, release: ReleaseRecord, staged: StagedBuild | undefined): ReleaseSummary | undefined {
  if ((entry.type !== 'published' && entry.type !== 'failed') || release.dryRun || entry.releaseId !== release.id) return undefined;
  const d = entry.data;
  const resumeOf = d.resumeOf ?? release.resumeOf;
  const destinations = (d.destinations ?? []).map((x): DestinationOutcome => ({
    name: x.name,
    type: x.type,
    status: x.status,
    attempts: x.attempts ?? 0,
    durationMs: x.durationMs ?? 0,
    readBackDigest: x.readBackDigest,
    location: x.location,
    // The entry says why a destination was skipped (done earlier, or a dependency failed); older entries do not.
    detail: x.detail ?? (x.status === 'skipped' && resumeOf ? `done in ${resumeOf}` : undefined),
    // Whether it was retryable is not audited; the summary does not show it.
    error: x.error ? { code: x.error, message: x.message ?? '', retryable: false } : undefined,
    plan: x.plan,
    attestations: x.attestations,
  }));
  const requester: Requester = {
    login: release.requesterLogin ?? entry.actor.conjurLogin ?? 'unknown',
    via: release.via as Requester['via'],
    ...(release.requesterChat ? { chatUserId: release.requesterChat } : {}),
  };
  return {
    releaseId: release.id,
    project: release.project,
    version: release.version,
    state: entry.type,
    dryRun: false,
    resumeOf: resumeOf ?? null,
    build: staged?.build ?? d.build ?? {},
    artifact: staged?.artifact ?? artifactOf(d.artifact),
    requester,
    approvers: d.approvers ?? release.approvers,
    destinations,
    credentialIds: d.credentialIds ?? [],
    startedAt: d.startedAt ?? release.createdAt,
    finishedAt: entry.at,
    durationMs: d.durationMs ?? 0,
    auditId: entry.id,
    error: d.error && { code: d.error.code, message: d.error.message },
  };
}

/** The artifact from the entry's digests, when the staged build row is gone (it never is, but the entry is enough). */
function artifactOf(a: ArtifactDigests | undefined): StagedArtifact {
  if (a?.kind === 'docker') return { kind: 'docker', ref: a.ref, digest: a.digest, tlsVerify: true };
  return { kind: 'files', files: (a?.files ?? []).map((f) => ({ path: f.path, sha256: f.sha256, size: f.size ?? 0 })) };
}

const VIA: Record<string, Requester['via']> = { cli: 'cli', ssh: 'ssh', slack: 'slack', api: 'api' };

/**
 * The summary of a yank another process ran (`release-bot yank|rollback`, the ssh forced command),
 * rebuilt from its final audit entry (`yanked` or `yank-failed`), as the channel shows a Slack yank's.
 */
export function yankSummaryFromAudit(entry: AuditEntry): YankSummary | undefined {
  if ((entry.type !== 'yanked' && entry.type !== 'yank-failed') || !entry.project || !entry.version) return undefined;
  const d = entry.data;
  if (!d.yankId) return undefined;
  const destinations = (d.destinations ?? []).map((x): YankDestinationOutcome => ({
    name: x.name,
    type: x.type,
    status: x.status,
    detail: x.detail ?? '',
    location: x.location,
    ...(x.error ? { error: { code: x.error, message: x.detail ?? '' } } : {}),
  }));
  const frozenReason = d.frozen?.reason;
  const login = entry.actor.conjurLogin ?? entry.actor.via;
  return {
    yankId: d.yankId,
    project: entry.project,
    version: entry.version,
    reason: d.reason,
    state: entry.type === 'yanked' ? 'yanked' : 'failed',
    dryRun: false,
    requester: { login, via: VIA[entry.actor.via.split(':')[0] ?? ''] ?? 'cli' },
    approvers: d.approvers ?? [],
    destinations,
    credentialIds: d.credentialIds ?? [],
    frozen: frozenReason ? { project: entry.project, by: login, reason: frozenReason, at: entry.at } : undefined,
    latest: d.latest,
    startedAt: d.startedAt ?? entry.at,
    finishedAt: entry.at,
    auditId: entry.id,
    ...(d.error ? { error: { code: d.error.code, message: d.error.message } } : {}),
  };
}
