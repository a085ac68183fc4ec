import type { AttestationRecord, BuildInfo, StagedArtifact } from '../publishing/types.js';
import type { DestinationStatus, ReleaseState } from '../store/releases.js';

/** Who asks for a release, and through which way in. The login is the Conjur login checked for membership. */
export interface Requester {
  login: string;
  via: 'cli' | 'slack' | 'ssh' | 'api';
  chatUserId?: string | undefined;
}

export interface ReleaseOptions {
  /** Every check and credential fetch runs; nothing is pushed. */
  dryRun?: boolean | undefined;
  /** Continue an interrupted or failed release: only destinations that had not finished run. */
  resume?: boolean | undefined;
  /** Logins that approved (two-person rule), already checked by the approvals flow. */
  approvers?: string[] | undefined;
  /**
   * The staged build the request was bound to (an approval, a button under a readiness note). The
   * core refuses when the build staged now is another one: it never releases what nobody approved.
   */
  expectedStaged?: ExpectedStaged | undefined;
}

/** A staged build by its row id and/or its fingerprint (digests + build info); either given must match. */
export interface ExpectedStaged {
  id?: number | undefined;
  fingerprint?: string | undefined;
}

export interface DestinationOutcome {
  name: string;
  type: string;
  status: DestinationStatus | 'skipped';
  attempts: number;
  durationMs: number;
  readBackDigest?: string | undefined;
  location?: string | undefined;
  detail?: string | undefined;
  error?: { code: string; message: string; retryable: boolean } | undefined;
  /** Dry runs: what the destination would do. */
  plan?: string[] | undefined;
  /** The signed provenance it published (when the project has a signing key). */
  attestations?: AttestationRecord[] | undefined;
}

export interface ReleaseSummary {
  releaseId: string;
  project: string;
  version: string;
  state: ReleaseState;
  dryRun: boolean;
  resumeOf: string | null;
  build: BuildInfo;
  artifact: StagedArtifact;
  requester: Requester;
  approvers: string[];
  destinations: DestinationOutcome[];
  /** Conjur variable ids read for this release (never values). */
  credentialIds: string[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  auditId: string;
  error?: { code: string; message: string } | undefined;
}
