import type { AuditEntry } from '../../src/audit/log.js';
import type { ArtifactFile, BuildInfo, StagedArtifact } from '../../src/publishing/types.js';
import type { DestinationOutcome, ReleaseSummary, Requester } from '../../src/release/types.js';
import type { YankDestinationOutcome, YankSummary } from '../../src/release/yank.js';
import type { ReleaseRecord } from '../../src/store/releases.js';
import type { StagedBuild } from '../../src/store/staged-builds.js';

/** A destination as the core writes it into a `published` or `failed` entry. */
interface AuditedDestination {
  name: string;
  type: string;
  status: DestinationOutcome['status'];
  attempts?: number;
  durationMs?: number;
  readBackDigest?: string;
  location?: string;
  detail?: string;
  error?: string;
  message?: string;
  plan?: string[];
  attestations?: DestinationOutcome['attestations'];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * The summary of a release another process ran (`release-bot publish`, the ssh forced command),
 * rebuilt from its final audit entry: the entry is what the release channel must show, and it is
 * all that process left behind besides the release row. Undefined for anything but the final entry
 * of a real (not dry) release.
 */
export function summaryFromAudit(entry: AuditEntry, release: ReleaseRecord, staged: StagedBuild | undefined): ReleaseSummary | undefined {
  if ((entry.type !== 'published' && entry.type !== 'failed') || release.dryRun || entry.releaseId !== release.id) return undefined;
  const d = entry.data;
  const resumeOf = str(d.resumeOf) ?? release.resumeOf;
  const destinations = (Array.isArray(d.destinations) ? (d.destinations as AuditedDestination[]) : []).map((x): DestinationOutcome => ({
    name: x.name,
    type: x.type,
    status: x.status,
    attempts: num(x.attempts),
    durationMs: num(x.durationMs),
    readBackDigest: x.readBackDigest,
    location: x.location,
    // The entry says why a destination was skipped (done earlier, or a dependency failed); older entries do not.
    detail: x.detail ?? (x.status === 'skipped' && resumeOf ? `done in ${resumeOf}` : undefined),
    // Whether it was retryable is not audited; the summary does not show it.
    error: x.error ? { code: x.error, message: x.message ?? '', retryable: false } : undefined,
    plan: x.plan,
    attestations: Array.isArray(x.attestations) ? x.attestations : undefined,
  }));
  const error = d.error as { code?: unknown; message?: unknown } | undefined;
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
    build: staged?.build ?? (d.build as BuildInfo | undefined) ?? {},
    artifact: staged?.artifact ?? artifactOf(d.artifact),
    requester,
    approvers: Array.isArray(d.approvers) ? d.approvers.filter((a): a is string => typeof a === 'string') : release.approvers,
    destinations,
    credentialIds: Array.isArray(d.credentialIds) ? d.credentialIds.filter((c): c is string => typeof c === 'string') : [],
    startedAt: str(d.startedAt) ?? release.createdAt,
    finishedAt: entry.at,
    durationMs: num(d.durationMs),
    auditId: entry.id,
    error: error && typeof error.code === 'string' ? { code: error.code, message: str(error.message) ?? '' } : undefined,
  };
}

/** The artifact from the entry's digests, when the staged build row is gone (it never is, but the entry is enough). */
function artifactOf(v: unknown): StagedArtifact {
  const a = (v ?? {}) as { kind?: unknown; files?: unknown; ref?: unknown; digest?: unknown };
  if (a.kind === 'docker') return { kind: 'docker', ref: str(a.ref) ?? '', digest: str(a.digest) ?? '', tlsVerify: true };
  return { kind: 'files', files: Array.isArray(a.files) ? (a.files as ArtifactFile[]) : [] };
}

const VIA: Record<string, Requester['via']> = { cli: 'cli', ssh: 'ssh', slack: 'slack', api: 'api' };

/**
 * The summary of a yank another process ran (`release-bot yank|rollback`, the ssh forced command),
 * rebuilt from its final audit entry (`yanked` or `yank-failed`), as the channel shows a Slack yank's.
 */
export function yankSummaryFromAudit(entry: AuditEntry): YankSummary | undefined {
  if ((entry.type !== 'yanked' && entry.type !== 'yank-failed') || !entry.project || !entry.version) return undefined;
  const d = entry.data;
  const yankId = str(d.yankId);
  if (!yankId) return undefined;
  const destinations = (Array.isArray(d.destinations) ? (d.destinations as Array<Record<string, unknown>>) : []).map(
    (x): YankDestinationOutcome => ({
      name: str(x.name) ?? '?',
      type: str(x.type) ?? '?',
      status: x.status as YankDestinationOutcome['status'],
      detail: str(x.detail) ?? '',
      location: str(x.location),
      ...(str(x.error) ? { error: { code: str(x.error) as string, message: str(x.detail) ?? '' } } : {}),
    }),
  );
  const frozenReason = str((d.frozen as { reason?: unknown } | undefined)?.reason);
  const login = entry.actor.conjurLogin ?? entry.actor.via;
  const error = d.error as { code?: unknown; message?: unknown } | undefined;
  return {
    yankId,
    project: entry.project,
    version: entry.version,
    reason: str(d.reason) ?? '',
    state: entry.type === 'yanked' ? 'yanked' : 'failed',
    dryRun: false,
    requester: { login, via: VIA[entry.actor.via.split(':')[0] ?? ''] ?? 'cli' },
    approvers: Array.isArray(d.approvers) ? d.approvers.filter((a): a is string => typeof a === 'string') : [],
    destinations,
    credentialIds: Array.isArray(d.credentialIds) ? d.credentialIds.filter((a): a is string => typeof a === 'string') : [],
    frozen: frozenReason ? { project: entry.project, by: login, reason: frozenReason, at: entry.at } : undefined,
    latest: str(d.latest),
    startedAt: str(d.startedAt) ?? entry.at,
    finishedAt: entry.at,
    auditId: entry.id,
    ...(error && typeof error.code === 'string' ? { error: { code: error.code, message: str(error.message) ?? '' } } : {}),
  };
}
