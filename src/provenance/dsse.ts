import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * DSSE (Dead Simple Signing Envelope, github.com/secure-systems-lab/dsse, envelope.md and protocol.md):
 * the signature covers PAE(payloadType, payload), never the JSON around it, so the envelope can be
 * re-serialised without breaking it. Ed25519 only: one key type, no algorithm negotiation.
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** Standard base64 of the payload's bytes. */
  payload: string;
  signatures: DsseSignature[];
}

/** Pre-Authentication Encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** The key id written into every envelope: sha256 (hex) of the public key's DER SubjectPublicKeyInfo. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function assertEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the provenance key must be Ed25519, not ${key.asymmetricKeyType ?? key.type}`);
}

export function signEnvelope(payloadType: string, payload: Buffer, privateKey: KeyObject): DsseEnvelope {
  assertEd25519(privateKey);
  const sig = sign(null, pae(payloadType, payload), privateKey);
  return { payloadType, payload: payload.toString('base64'), signatures: [{ keyid: keyIdOf(privateKey), sig: sig.toString('base64') }] };
}

export type EnvelopeCheck = { ok: true; payload: Buffer; keyid: string } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Whether one of the envelope's signatures is `publicKey`'s over PAE(payloadType, payload). Strict about
 * shape: base64 that does not round-trip (so two encodings of one payload cannot both be accepted) is refused.
 */
export function verifyEnvelope(envelope: unknown, publicKey: KeyObject): EnvelopeCheck {
  assertEd25519(publicKey);
  if (typeof envelope !== 'object' || envelope === null) return { ok: false, reason: 'the envelope is not a JSON object' };
  const { payloadType, payload, signatures } = envelope as Record<string, unknown>;
  if (typeof payloadType !== 'string' || typeof payload !== 'string' || !Array.isArray(signatures)) {
    return { ok: false, reason: 'the envelope lacks payloadType, payload or signatures' };
  }
  if (!BASE64.test(payload)) return { ok: false, reason: 'the payload is not base64' };
  const body = Buffer.from(payload, 'base64');
  if (body.toString('base64') !== payload) return { ok: false, reason: 'the payload is not canonical base64' };
  const wanted = keyIdOf(publicKey);
  const message = pae(payloadType, body);
  for (const s of signatures as unknown[]) {
    if (typeof s !== 'object' || s === null) continue;
    // Only the fields DSSE defines: a renamed keyid (unsigned, so free to change) must not pass as absent.
    if (Object.keys(s).some((k) => k !== 'keyid' && k !== 'sig')) continue;
    const { keyid, sig } = s as Record<string, unknown>;
    // Canonical base64 only: otherwise the unused low bits of the last character could change without changing the signature.
    if (typeof sig !== 'string' || !BASE64.test(sig) || Buffer.from(sig, 'base64').toString('base64') !== sig) continue;
    if (keyid !== undefined && keyid !== '' && keyid !== wanted) continue;
    if (verify(null, message, publicKey, Buffer.from(sig, 'base64'))) return { ok: true, payload: body, keyid: wanted };
  }
  return { ok: false, reason: `no signature of key ${wanted} verifies` };
}
