import type { z } from 'zod';
import type { HandlerSettings } from './handler-settings.js';
import type { DestinationBase, EnvInput, ProjectConfigInput, ProjectsFileInput, ProvenanceInput } from './schema.js';

export type ArtifactKind = 'files' | 'docker';

/** What the config loader needs to know of a destination type; the publisher registry provides it. */
export interface DestinationTypeSpec {
  options: z.ZodType<Record<string, unknown>>;
  artifacts: readonly ArtifactKind[];
  /** Programs a destination runs (some depend on its options); checked on PATH when asked. */
  tools?: readonly string[] | ((options: never) => readonly string[]);
  /** The credential names the publisher reads; absent for types that take any (exec). */
  credentials?: { required: readonly string[]; optional?: readonly string[] };
}

export interface DestinationConfig extends DestinationBase {
  /** The type-specific keys, as parsed by the destination type's own schema. */
  options: Record<string, unknown>;
}

export interface ProjectConfig extends Omit<ProjectConfigInput, 'destinations' | 'channel' | 'approver_group' | 'provenance'> {
  name: string;
  channel: string;
  approver_group: string;
  destinations: DestinationConfig[];
  /** Signed provenance: the project's `provenance` over the file's; absent when no signing key is named. */
  provenance?: ProjectProvenance | undefined;
}

export interface ProjectProvenance {
  /** The Conjur variable holding the Ed25519 private key (PKCS#8 PEM). */
  signing_key: string;
  /** The destination of this project that keeps the attestations of npm and rubygems destinations. */
  store?: string | undefined;
}

export interface Config {
  env: EnvInput;
  configFile: string;
  /** sha256 (hex) of the projects file's bytes: the policy a release runs under, recorded with it. */
  policySha256: string;
  dataDir: string;
  stagingDir: string;
  /** Limits on reports and the quarantine's retention (`staging:`). */
  staging: ProjectsFileInput['staging'];
  channel: string;
  identity: ProjectsFileInput['identity'];
  /** Conjur group whose members may read the audit log in Slack (`audit_group`); anyone identified when absent. */
  auditGroup?: string | undefined;
  projects: ReadonlyMap<string, ProjectConfig>;
  /** The file's own `provenance` section (each project's resolved one is on the project). */
  provenance?: ProvenanceInput | undefined;
  /** What works but should not be so (http:// Conjur in production); printed, never refused. */
  warnings: string[];
  /** The Slack front end's settings, checked; absent when Slack is off. */
  slack?: HandlerSettings['slack'];
  /** The Jenkins webhook's keys and secrets, checked. */
  jenkins: HandlerSettings['jenkins'];
}
