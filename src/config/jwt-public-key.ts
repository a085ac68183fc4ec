import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** A Jenkins token key: RS256 for an RSA key of 2048 bits or more, ES256 for a P-256 key. */
export interface JwtPublicKey {
  alg: 'RS256' | 'ES256';
  key: KeyObject;
}

/**
 * A PEM public key, given inline (newlines may be written as `\n` in a one-line .env value) or as
 * the path of a PEM file. RSA keys of 2048 bits or more serve RS256, P-256 keys ES256; nothing else.
 * Throws an Error saying what the value is instead (never repeating it: a pasted private key is a secret).
 */
export function publicKeyFrom(value: string): JwtPublicKey {
  let pem = value.trim();
  if (!pem.startsWith('-----BEGIN')) {
    if (!existsSync(pem)) throw new Error('is neither a PEM public key ("-----BEGIN PUBLIC KEY-----...") nor the path of a PEM file');
    pem = readFileSync(pem, 'utf8').trim();
  }
  if (!pem.includes('\n')) pem = pem.replace(/\\n/g, '\n');
  if (/PRIVATE KEY/.test(pem)) throw new Error('is a private key: give the bot only the public key (openssl pkey -pubout)');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('is not a readable PEM public key');
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error('is an RSA key shorter than 2048 bits');
    return { alg: 'RS256', key };
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { alg: 'ES256', key };
  throw new Error(`is a ${key.asymmetricKeyType ?? 'unknown'} key: use an RSA key (RS256) or a P-256 EC key (ES256)`);
}
