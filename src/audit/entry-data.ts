import type { BuildInfo } from '../publishing/types.js';
import type { DestinationOutcome } from '../release/types.js';
import type { ReleaseState } from '../store/releases.js';
import type { YankDestinationStatus } from '../store/yanks.js';

/** What each kind of audit entry holds in its `data` (the kinds themselves: src/audit/entries.ts). */

/** The digests of an artifact as the audit records them (src/release/core.ts artifactDigests). */
export type ArtifactDigests =
  { kind: 'files'; files: { path: string; sha256: string; size?: number | undefined }[] } | { kind: 'docker'; ref: string; digest: string };

/** What capData (src/audit/log.ts) left out of an entry too large to keep whole. */
export interface Truncation {
  bytes: number;
  sha256: string;
  limit: number;
}

interface Data {
  truncated?: Truncation | undefined;
}

/** A code and a message, with every value redacted. */
export interface AuditedError {
  code: string;
  message: string;
}

/** A destination as a release's final entry records it: its outcome, with the error's code and message apart. */
export type AuditedDestination = Omit<DestinationOutcome, 'attempts' | 'durationMs' | 'error'> & {
  attempts?: number | undefined;
  durationMs?: number | undefined;
  /** The error code; its message is `message`. */
  error?: string | undefined;
  message?: string | undefined;
};

/** A destination as a yank's final entry records it. */
export interface AuditedYankDestination {
  name: string;
  type: string;
  status: YankDestinationStatus;
  detail?: string | undefined;
  location?: string | undefined;
  actions?: string[] | undefined;
  /** The error code; the detail says what went wrong. */
  error?: string | undefined;
}

/** A destination of an interrupted release or yank, as its row stood. */
export interface InterruptedDestination {
  name: string;
  status: string;
}

export interface StagedData extends Data {
  build?: BuildInfo | undefined;
  artifact?: ArtifactDigests | undefined;
  reportedBy: string;
  /** The build this one replaced as the current one of the version. */
  replaces?: { stagedAt: string; build: BuildInfo; artifact: ArtifactDigests } | undefined;
}

export interface StageRefusedData extends Data {
  code: string;
  /** The refusal's message; it can quote what was reported at length, so a capped entry may have lost it. */
  reason?: string | undefined;
  build?: BuildInfo | undefined;
  reportedBy: string;
}

export interface RequestedData extends Data {
  authorizedBy: string;
  approvers?: string[] | undefined;
  dryRun: boolean;
  resumeOf?: string | undefined;
  build?: BuildInfo | undefined;
  artifact?: ArtifactDigests | undefined;
  policySha256?: string | null | undefined;
}

/** `published`, `failed` and `dry-run`: the end of a release. */
export interface ReleaseEndData extends Data {
  build?: BuildInfo | undefined;
  artifact?: ArtifactDigests | undefined;
  /** The digests measured while publishing (undefined when the release ended before they were). */
  publishedArtifact?: ArtifactDigests | undefined;
  labelWritten?: boolean | undefined;
  stagedAt?: string | undefined;
  stagedBy?: string | undefined;
  approvers?: string[] | undefined;
  conjurIdentity?: string | undefined;
  policySha256?: string | null | undefined;
  credentialIds?: string[] | undefined;
  destinations?: AuditedDestination[] | undefined;
  resumeOf?: string | undefined;
  error?: AuditedError | undefined;
  startedAt?: string | undefined;
  durationMs?: number | undefined;
}

export interface InterruptedData extends Data {
  previousState: ReleaseState;
  destinations?: InterruptedDestination[] | undefined;
}

/** Why something was refused; which fields are there depends on what was refused. */
export interface DeniedData extends Data {
  /** What was refused when it was not a release: lock, unlock, approve, yank, rollback ... */
  action?: string | undefined;
  code: string;
  /** The refusal's message; it can quote what was asked at length, so a capped entry may have lost it. */
  reason?: string | undefined;
  dryRun?: boolean | undefined;
  policySha256?: string | null | undefined;
  requestId?: string | undefined;
  yankReason?: string | undefined;
  approvers?: string[] | undefined;
  /** A refused ssh forced command: what was asked (clipped) and from where. */
  sshCommand?: string | null | undefined;
  sshClient?: string | undefined;
}

/** The approval request an entry is about: its id, what it is for, the staged build it is bound to. */
interface ApprovalOf extends Data {
  requestId: string;
  /** What the request is for (entries before yanks could be approved have none: a release). */
  action?: 'release' | 'yank' | undefined;
  stagedBuildId: number;
  fingerprint: string;
}

/** A yank's reason and --no-lock, bound to the request (a release's request has neither). */
interface YankTerms {
  reason?: string | null | undefined;
  noLock?: boolean | undefined;
}

export interface ApprovalRequestedData extends ApprovalOf, YankTerms {
  needed: number;
  approverGroup: string;
  expiresAt: string;
  resume: boolean;
  build?: BuildInfo | undefined;
  artifact?: ArtifactDigests | undefined;
}

export interface ApprovedData extends ApprovalOf, YankTerms {
  /** Approvals recorded so far, this one included. */
  approvals: number;
  needed: number;
  /** Login of who asked for the release. */
  requester: string;
  /** Entries of early versions named the approver here, not in the actor. */
  approver?: string | undefined;
}

export interface ApprovalVoidData extends ApprovalOf {
  status: 'void' | 'expired';
  reason: string;
  approvals?: string[] | undefined;
}

export interface FrozenData extends Data {
  reason: string;
  /** Set when a yank froze the project. */
  yankId?: string | undefined;
  version?: string | undefined;
}

export interface UnfrozenData extends Data {
  lockedBy: string;
  lockedAt: string;
  reason: string;
}

export interface ConfigChangedData extends Data {
  file: string;
  sha256: string;
  previousSha256: string;
  trigger: string;
  changes?: string[] | undefined;
}

export interface ConfigRejectedData extends Data {
  file: string;
  sha256: string | null;
  runningSha256: string;
  trigger: string;
  problems?: string[] | undefined;
}

export interface YankRequestedData extends Data {
  yankId: string;
  reason: string;
  approvers?: string[] | undefined;
  yankGroup: string;
  dryRun: boolean;
  noLock: boolean;
  destinations?: string[] | undefined;
  policySha256?: string | undefined;
}

/** `yanked`, `yank-failed` and `yank-dry-run`: the end of a yank. */
export interface YankEndData extends Data {
  yankId: string;
  reason: string;
  approvers?: string[] | undefined;
  conjurIdentity?: string | undefined;
  credentialIds?: string[] | undefined;
  destinations?: AuditedYankDestination[] | undefined;
  /** The project was frozen as the yank's last step, with this reason. */
  frozen?: { reason: string } | undefined;
  /** The newest version still released after the yank. */
  latest?: string | undefined;
  error?: AuditedError | undefined;
  startedAt?: string | undefined;
}

export interface YankInterruptedData extends Data {
  yankId: string;
  reason: string;
  destinations?: InterruptedDestination[] | undefined;
}
