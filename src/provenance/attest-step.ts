import type { DestinationConfig } from '../config/load.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { AttestationRecord, AttestationToPublish, PublishContext, PublisherDefinition, PublishResult } from '../publishing/types.js';
import { signAttestation } from './envelope-file.js';
import type { SigningKey } from './signing-key.js';
import type { StatementInput, Subject } from './statement.js';

/** What every attestation of one release states, whatever its subject. */
export type ReleaseFacts = Omit<StatementInput, 'subjects' | 'finishedOn'>;

/** The `provenance.store` destination: where npm and rubygems attestations go, through its own `attest`. */
export interface AttestationStore {
  destination: DestinationConfig;
  publisher: PublisherDefinition;
  credentials: Record<string, string>;
}

export interface ProvenanceOptions {
  key: SigningKey;
  facts: ReleaseFacts;
  now: () => Date;
  store?: AttestationStore | undefined;
}

interface Pending {
  subject: Subject;
  fileName: string;
}

/** What a destination's publish made public, as subjects of the statement (files by path, an image by repository). */
function subjectsOf(ctx: PublishContext, result: PublishResult): Pending[] {
  if (ctx.artifact.kind === 'files') {
    return ctx.artifact.files.map((f) => ({ subject: { name: f.path, digest: { sha256: f.sha256 } }, fileName: `${f.path}.intoto.jsonl` }));
  }
  const digest = result.readBackDigest ?? ctx.artifact.digest;
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
  if (!hex)
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `the image's manifest digest ${JSON.stringify(digest)} is not sha256:<64 hex>: cannot attest it`,
    );
  const repository = (result.location ?? ctx.artifact.ref).replace(/@sha256:[0-9a-f]{64}$/, '');
  return [{ subject: { name: repository, digest: { sha256: hex } }, fileName: `sha256-${hex}.intoto.jsonl` }];
}

/**
 * The signed attestation step of a destination, run by the destinations runner after its publish and
 * read-back (and when the release was already there): each subject's statement is signed and handed
 * to the destination's `attest` (or the store's, for a type that cannot carry one). Part of the
 * destination: a failing attestation fails it like a failing push, retryable or not, and its retry
 * publishes (already present) and attests again. An envelope is signed once per subject and kept for
 * the retries, so a retry offers the same bytes.
 */
export function withProvenance<O extends Record<string, unknown>>(
  publisher: PublisherDefinition<O>,
  options: O,
  o: ProvenanceOptions,
): (ctx: PublishContext, result: PublishResult) => Promise<AttestationRecord[]> {
  const signed = new Map<string, AttestationToPublish>();
  const attestOne = async (ctx: PublishContext, att: AttestationToPublish): Promise<{ location: string }> => {
    if (publisher.attest) return publisher.attest(ctx, options, att);
    const store = o.store;
    if (!store?.publisher.attest) {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `a ${publisher.type} destination cannot hold an attestation, and no provenance.store destination is set for it: name a directory or ssh destination of this project in provenance.store`,
      );
    }
    // The store's own credentials (its ssh key), never this destination's.
    return store.publisher.attest({ ...ctx, credentials: store.credentials }, store.destination.options, att);
  };
  return async (ctx, result) => {
    const records: AttestationRecord[] = [];
    for (const { subject, fileName } of subjectsOf(ctx, result)) {
      const id = `${subject.name}\0${subject.digest.sha256}`;
      let att = signed.get(id);
      if (!att) {
        att = signAttestation({ ...o.facts, subjects: [subject], finishedOn: o.now() }, o.key, fileName);
        signed.set(id, att);
      }
      ctx.progress(`publishing the signed provenance of ${subject.name}`);
      const { location } = await attestOne(ctx, att);
      records.push({ subject: subject.name, digest: att.digest, keyId: att.keyId, location: ctx.redact(location) });
    }
    return records;
  };
}
