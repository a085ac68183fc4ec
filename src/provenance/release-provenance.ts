import type { ProjectConfig } from '../config/load.js';
import type { SecretValue } from '../conjur/secret-value.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { PublisherDefinition, StagedArtifact } from '../publishing/types.js';
import type { Redactor } from '../redact.js';
import { destinationCredentials } from '../release/destination-credentials.js';
import type { DestinationJob } from '../release/run-destinations.js';
import { withProvenance, type AttestationStore, type ReleaseFacts } from './attest-step.js';
import { signingKeyFrom, type SigningKey } from './signing-key.js';

export interface ReleaseProvenance {
  key: SigningKey;
  /** The job with its attestation step added (run by the destinations runner after the read-back). */
  sign(job: DestinationJob): DestinationJob;
}

/**
 * A release's provenance, once its Conjur batch is in: the signing key parsed (the release fails
 * here, before any destination runs, when it is missing or not Ed25519) and the store resolved.
 * Undefined for a project without a signing key.
 */
export function releaseProvenance(a: {
  project: ProjectConfig;
  artifact: StagedArtifact;
  secrets: ReadonlyMap<string, SecretValue>;
  redactor: Redactor;
  publishers: ReadonlyMap<string, PublisherDefinition>;
  facts: ReleaseFacts;
  now: () => Date;
}): ReleaseProvenance | undefined {
  const settings = a.project.provenance;
  if (!settings) return undefined;
  // The build side names the files: one named like an attestation would be published beside the real
  // file as if the bot had signed it (and would take the name the bot's own attestation needs).
  const posing = a.artifact.kind === 'files' ? a.artifact.files.find((f) => f.path.endsWith('.intoto.jsonl')) : undefined;
  if (posing) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the staged file ${posing.path} is named like an attestation, which only release-bot writes (<file>.intoto.jsonl): remove it from the build's output and stage again. Nothing was published`,
    );
  }
  const key = signingKeyFrom(settings.signing_key, a.secrets.get(settings.signing_key), a.redactor);
  let store: AttestationStore | undefined;
  if (settings.store !== undefined) {
    const destination = a.project.destinations.find((d) => d.name === settings.store);
    const publisher = destination && a.publishers.get(destination.type);
    if (!destination || !publisher?.attest) {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `provenance.store of ${a.project.name} names ${settings.store}, which is not a directory or ssh destination of it: nothing was published`,
      );
    }
    store = { destination, publisher, credentials: destinationCredentials(destination, publisher, a.secrets).credentials };
  }
  return {
    key,
    sign: (job) => ({ ...job, attest: withProvenance(job.publisher, job.destination.options, { key, facts: a.facts, now: a.now, store }) }),
  };
}
