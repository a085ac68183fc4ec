import type { z } from 'zod';
import type { Logger } from 'pino';
import type { ArtifactKind } from '../config/load.js';

/** One staged file, as recorded at staging and verified again before publishing. */
export interface ArtifactFile {
  /** Relative to the version's staging directory, `/`-separated, never `..` or absolute. */
  path: string;
  sha256: string;
  size: number;
}

export interface BuildInfo {
  job?: string | undefined;
  number?: number | undefined;
  url?: string | undefined;
  commit?: string | undefined;
}

export type StagedArtifact = { kind: 'files'; files: ArtifactFile[] } | { kind: 'docker'; ref: string; digest: string; tlsVerify: boolean };

export interface PublishContext {
  project: string;
  version: string;
  releaseId: string;
  build: BuildInfo;
  artifact: StagedArtifact;
  /**
   * A private, read-only copy of the verified files (files projects), hashed again after copying:
   * nothing a publisher or its child process does can alter the staged artifact.
   */
  dir: string;
  /** `<project>-<version>.release.json` inside `dir`: build number, URL, commit, digests, requester, time. */
  labelFile: string;
  /**
   * The highest version of the project already released (and not yanked) when it is newer than this
   * one: a hotfix of an older line. A floating tag (docker's `latest`) then stays where it is.
   */
  newerReleased?: string | undefined;
  /** Env var name -> value, this destination's credentials only. Every value is registered for redaction. */
  credentials: Readonly<Record<string, string>>;
  /**
   * Credentials whose value is not text (not UTF-8, or holding a NUL byte), by name, with their exact
   * bytes; such a name is absent from `credentials`. Only for publishers with `binaryCredentials: true`:
   * for the others the release is refused before anything is published.
   */
  binaryCredentials?: Readonly<Record<string, Buffer>>;
  /** Redacts every credential value of the release (plain, base64, URL-encoded) from a text. */
  redact: (text: string) => string;
  log: Logger;
  /** Aborted when the destination's timeout passes or the bot shuts down. */
  signal: AbortSignal;
  /** A private directory for this destination's temporary files (auth files, keys); removed afterwards. */
  tmpDir: string;
  /** Reports progress that the chat thread shows ("uploading 2 of 3 files"). */
  progress: (message: string) => void;
}

export type PublishStatus = 'published' | 'already-present';

export interface PublishResult {
  status: PublishStatus;
  /** What the destination reported back after pushing (npm integrity, manifest digest, ...). */
  readBackDigest?: string;
  /** Where the release can be seen (a URL or a path). */
  location?: string;
  detail?: string;
  /** The signed provenance published beside it (src/provenance/attest-step.ts). */
  attestations?: AttestationRecord[];
}

/** What a destination already holds of this version: exactly the staged artifact, as `publish` would report it. */
export interface Existing {
  readBackDigest?: string;
  location?: string;
  /** What was found, for the summary and a dry run ("tiny-util@1.0.0 is already on <registry> with the same integrity"). */
  detail: string;
}

/** What a read-back saw: the push, with the digest the destination reports, or nothing yet (`detail` says what is missing). */
export type ReadBackAnswer = { visible: true; readBackDigest: string } | { visible: false; detail: string };

/** The read-back of a publisher, declared as data: how often the runner asks, how far apart, and the question. */
export interface ReadBackStep<Options extends Record<string, unknown> = Record<string, unknown>> {
  attempts: number;
  intervalMs(options: Options): number;
  read(ctx: PublishContext, options: Options, pushed: PublishResult): Promise<ReadBackAnswer>;
}

export interface DryRunPlan {
  /** One line per action the destination would take, e.g. "npm publish conjur-cli-4.2.0.tgz --tag latest". */
  actions: string[];
}

/**
 * What the configuration knows of a destination type, without its publisher: the artifacts it takes,
 * its option schema and the programs it runs. `publishers/destination-types.ts` declares each, with the
 * schema from `publishers/<type>/options.ts` (zod only), so the projects file is validated (`status`,
 * `check-config`) without loading any publisher; the publisher spreads it into `definePublisher`.
 */
export interface DestinationType<Options extends Record<string, unknown> = Record<string, unknown>> {
  type: string;
  artifacts: readonly ArtifactKind[];
  options: z.ZodType<Options>;
  /**
   * External programs this type runs, for `release-bot doctor` (e.g. ["skopeo"]): a function of the
   * destination's parsed options when they decide it (ssh runs scp or rsync, never both).
   */
  tools: readonly string[] | ((options: Options) => readonly string[]);
}

/**
 * A destination type. Adding one is one file under `publishers/` plus one line in its registry.
 * `publish` throws a ReleaseBotError: `retryable: true` for network, 429 and 5xx failures,
 * DESTINATION_CONFLICT when the destination holds this version with another digest (never overwrite).
 */
export interface PublisherDefinition<Options extends Record<string, unknown> = Record<string, unknown>> extends DestinationType<Options> {
  description: string;
  /**
   * Checks that the artifact says it is what this destination publishes (npm: the tarball's own
   * package.json; rubygems: the gem's metadata.gz), without a credential and without a push. Throws a
   * ReleaseBotError to refuse. Every destination's preflight settles before any destination publishes:
   * one refusal and nothing is published anywhere. Dry runs run it too.
   */
  preflight?(ctx: PublishContext, options: Options): Promise<void> | void;
  /** Takes binary credential values (in `binaryCredentials`); without it a binary value refuses the release. */
  binaryCredentials?: boolean;
  /**
   * Pushes the release. With `existing`, the runner asks that step first and publishes only when the
   * destination holds nothing of this version; a DESTINATION_CONFLICT from the push is asked again
   * (a concurrent or earlier attempt may have pushed the same bytes). With `readBack`, a `published`
   * result is read back by the runner before it counts.
   */
  publish(ctx: PublishContext, options: Options): Promise<PublishResult>;
  /**
   * The already-present check, before any push: undefined when the destination holds nothing of this
   * version, the result to report (as already-present) when it holds exactly the staged artifact.
   * Throws DESTINATION_CONFLICT when it holds this version with other bytes: never overwritten.
   */
  existing?(ctx: PublishContext, options: Options): Promise<Existing | undefined>;
  /**
   * Reads a push back, asked by the runner up to `attempts` times `intervalMs` apart while the
   * destination does not show it yet (a registry catching up). Throws when it shows other bytes.
   */
  readBack?: ReadBackStep<Options>;
  /** What `publish` would do; runs no push. Defaults to one generic line when absent. */
  plan?(ctx: PublishContext, options: Options): Promise<DryRunPlan> | DryRunPlan;
  /**
   * Undoes a published version on this destination (`/release yank`), then reads the new state back
   * (deprecation present, tag moved, files moved) before it answers. Idempotent: a second call on a
   * yanked version answers `already-yanked`. Absent: the destination reports `cannot-yank`.
   * With `ctx.dryRun` it changes nothing and answers `planned` with the actions it would take.
   */
  yank?(ctx: YankContext, options: Options): Promise<YankResult>;
  /**
   * Publishes the release's signed attestation beside what `publish` just pushed (a file next to the
   * file, a release asset, an OCI artifact tagged `sha256-<digest>.att`). Throws like `publish`
   * (retryable or final). Absent (npm, rubygems): the attestation goes to `provenance.store`.
   */
  attest?(ctx: PublishContext, options: Options, attestation: AttestationToPublish): Promise<{ location: string }>;
}

/** A DSSE envelope (in-toto Statement v1, SLSA Provenance v1) about one release's artifact. */
export interface AttestationToPublish {
  /** The envelope as one JSON line ending in a newline: the content of a `.intoto.jsonl` file. */
  envelope: Buffer;
  /** sha256 (hex) of `envelope`. */
  digest: string;
  /** The signing key's id (src/provenance/dsse.ts keyIdOf). */
  keyId: string;
  /** The name a file destination gives it: `<artifact file name>.intoto.jsonl`. */
  fileName: string;
  /**
   * Whether an attestation already at the destination under this name counts as this one (same key,
   * subjects, project and version: written by an earlier attempt or the release being resumed). A
   * destination keeps such a one as it is, and fails with DESTINATION_CONFLICT on any other.
   */
  equivalent?(existing: Buffer): boolean;
}

/** One attestation a destination published (or found already there), as the audit and the summary show it. */
export interface AttestationRecord {
  /** The subject's name: the file's path, or the image repository. */
  subject: string;
  /** sha256 (hex) of the `.intoto.jsonl` content. */
  digest: string;
  keyId: string;
  location: string;
}

/** What one destination published for a version, as the store recorded it (PublishResult's fields). */
export interface PublishedRecord {
  version: string;
  artifact: StagedArtifact;
  readBackDigest?: string | undefined;
  location?: string | undefined;
}

export interface YankContext {
  project: string;
  /** The version being yanked. */
  version: string;
  /** The yank's own id (like a release id): audit, locks and resume key on it. */
  yankId: string;
  reason: string;
  /** What this destination published for the yanked version. */
  published: PublishedRecord;
  /**
   * The newest released version of the project older than the yanked one that is not itself yanked
   * (what `latest` moves back to, the Heroku release to roll back to), as this destination published it.
   */
  previous?: PublishedRecord | undefined;
  dryRun: boolean;
  credentials: Readonly<Record<string, string>>;
  redact: (text: string) => string;
  log: Logger;
  signal: AbortSignal;
  tmpDir: string;
  progress: (message: string) => void;
}

export type YankStatus = 'yanked' | 'already-yanked' | 'cannot-yank' | 'planned';

export interface YankResult {
  status: YankStatus;
  /** One line for the summary: what was done ("deprecated conjur-cli@4.2.0; latest -> 4.1.0") or why not. */
  detail: string;
  /** Where the yanked state can be seen (a URL or a path), when there is one. */
  location?: string;
  /** Dry runs: one line per action the destination would take. */
  actions?: string[];
}
