import { createHash, type KeyObject } from 'node:crypto';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, verifyEnvelope } from './dsse.js';
import type { AttestationToPublish } from '../publishing/types.js';
import { buildStatement, statementBytes, type StatementInput } from './statement.js';
import type { SigningKey } from './signing-key.js';

/** The most of an existing attestation a destination reads back to compare (an envelope is a few KiB). */
export const MAX_ATTESTATION_BYTES = 1024 * 1024;

/** Signs a statement into the content of a `.intoto.jsonl` file: the DSSE envelope as one JSON line. */
export function signAttestation(input: StatementInput, key: SigningKey, fileName: string): AttestationToPublish {
  const payload = statementBytes(buildStatement(input));
  const envelope = Buffer.from(`${JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, key.privateKey))}\n`, 'utf8');
  const digest = createHash('sha256').update(envelope).digest('hex');
  return {
    envelope,
    digest,
    keyId: key.keyId,
    fileName,
    equivalent: (existing) => equivalentAttestation(existing, envelope, key.publicKey),
  };
}

/** The first line of a `.intoto.jsonl` file, parsed; undefined when it is not JSON. */
export function parseEnvelopeLine(bytes: Buffer): unknown {
  const line = bytes
    .toString('utf8')
    .split('\n')
    .find((l) => l.trim() !== '');
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

interface Claim {
  subjects: string;
  project: unknown;
  version: unknown;
}

function claimOf(bytes: Buffer, publicKey: KeyObject): Claim | undefined {
  const checked = verifyEnvelope(parseEnvelopeLine(bytes), publicKey);
  if (!checked.ok) return undefined;
  try {
    const s = JSON.parse(checked.payload.toString('utf8')) as {
      subject?: unknown;
      predicate?: { buildDefinition?: { externalParameters?: Record<string, unknown> } };
    };
    const params = s.predicate?.buildDefinition?.externalParameters ?? {};
    return { subjects: JSON.stringify(s.subject), project: params.project, version: params.version };
  } catch {
    return undefined;
  }
}

/**
 * Whether an attestation already at the destination says what ours says: signed by the same key,
 * about the same subjects, project and version. An earlier attempt of the release being resumed
 * wrote it (another release id and time): it is kept, never overwritten; anything else is a conflict.
 */
export function equivalentAttestation(existing: Buffer, wanted: Buffer, publicKey: KeyObject): boolean {
  if (existing.equals(wanted)) return true;
  const a = claimOf(existing, publicKey);
  const b = claimOf(wanted, publicKey);
  return a !== undefined && b !== undefined && a.subjects === b.subjects && a.project === b.project && a.version === b.version;
}
