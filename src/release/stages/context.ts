import type { Logger } from 'pino';
import type { AuditActor, AuditEntry } from '../../audit/log.js';
import type { Config, ProjectConfig } from '../../config/load.js';
import type { SecretValue } from '../../conjur/secret-value.js';
import type { ReleaseProvenance } from '../../provenance/release-provenance.js';
import type { StagedArtifact } from '../../publishing/types.js';
import type { DestinationRecord, ReleaseRecord } from '../../store/releases.js';
import type { StagedBuild } from '../../store/staged-builds.js';
import type { Stage } from '../pipeline.js';
import type { DestinationJob } from '../run-destinations.js';
import type { CoreServices } from '../services.js';
import type { DestinationOutcome, ReleaseOptions, Requester } from '../types.js';

/** A `/release` while its gates run (admit → authorize → ... → lock): refused and audited at the first that says no. */
export interface ReleaseRequest {
  s: CoreServices;
  /** Exists from the first moment: every log line of the request carries it, also when it is refused. */
  releaseId: string;
  projectName: string;
  version: string;
  requester: Requester;
  options: ReleaseOptions;
  /** Captured once, when the request arrives: the whole release runs under it, whatever a reload puts in place meanwhile. */
  policy: Config;
  actor: AuditActor;
  startedMs: number;
  approvers: string[];
  project?: ProjectConfig;
  staged?: StagedBuild;
  /** The interrupted or failed release a resume continues. */
  previous?: ReleaseRecord | undefined;
  /** The release record, once locked. */
  release?: ReleaseRecord;
}

/** A gate of the release. */
export interface GateStage extends Stage<ReleaseRequest> {
  /** Whether its refusal records a denied release of the staged build (the lock's never do: nothing was created). */
  readonly deniedWithBuild: boolean;
}

/** A locked release while it is verified and published: its failures become its outcome, never a throw. */
export interface ReleaseRun {
  s: CoreServices;
  /** The release's own child logger: one grep gives the whole release. */
  log: Logger;
  release: ReleaseRecord;
  project: ProjectConfig;
  staged: StagedBuild;
  requester: Requester;
  actor: AuditActor;
  approvers: string[];
  previous: ReleaseRecord | undefined;
  startedMs: number;
  dryRun: boolean;
  /** Conjur variable ids of the one batch (destinations' credentials and the signing key), never values. */
  credentialIds: string[];
  /** The audit entry that opened the release (provenance names it). */
  requested?: AuditEntry;
  /** The run's private directory: the artifact copy (`dir`), the label, each destination's temporary directory. */
  runDir?: string;
  dir?: string;
  tmpRoot?: string;
  labelFile?: string;
  labelText?: string;
  /** What was hashed while verifying (the copy, the docker re-inspect): the audit's digests at publish. */
  measured?: StagedArtifact;
  /** The release label's pending name beside the staged files; renamed in place once every destination succeeded. */
  pendingLabel?: string | undefined;
  labelWritten?: boolean;
  secrets: Map<string, SecretValue>;
  provenance?: ReleaseProvenance | undefined;
  /** Destinations the resumed release already finished. */
  done: Map<string, DestinationRecord>;
  jobs: DestinationJob[];
  outcomes: DestinationOutcome[];
}

export type RunStage = Stage<ReleaseRun>;
