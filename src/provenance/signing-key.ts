import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { registerSecret, type SecretValue } from '../conjur/secret-value.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { keyIdOf } from './dsse.js';

export interface SigningKey {
  /** Never serialised: a KeyObject holds the key outside any string that could reach a log. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  /** The Conjur variable it came from. */
  variable: string;
}

const HOW = 'store a PKCS#8 PEM Ed25519 private key in it (`openssl genpkey -algorithm ed25519`)';

/**
 * The provenance key from its Conjur value. Every form it could be logged in is registered for
 * redaction before it is parsed (the PEM text line by line, the DER in base64 and hex, the raw
 * 32-byte seed), so even a parse error cannot carry it. Anything but an Ed25519 private key is
 * refused: the release fails before any destination runs, rather than publishing unsigned.
 */
export function signingKeyFrom(variable: string, value: SecretValue | undefined, redactor: Redactor): SigningKey {
  if (value === undefined || value.length === 0) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `the provenance signing key ${variable} is empty in Conjur: ${HOW}. Nothing was published`,
      { details: { variable } },
    );
  }
  registerSecret(redactor, value);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), format: 'pem' });
  } catch {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `the provenance signing key ${variable} is not a PEM private key: ${HOW}. Nothing was published`,
      { details: { variable } },
    );
  }
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  registerSecret(redactor, der);
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `the provenance signing key ${variable} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key, not Ed25519: ${HOW}. Nothing was published`,
      { details: { variable } },
    );
  }
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  registerSecret(redactor, seed);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey), variable };
}

/** The public half as `provenance verify --public-key` reads it. */
export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
