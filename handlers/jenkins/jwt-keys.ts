import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { JwksKeys } from './jwks.js';
import type { AsymmetricAlgorithm, JwtAlgorithm, KeyResolver } from './jwt-algorithms.js';

/** Shorter shared secrets can be brute-forced offline from one captured token or signature. */
export const MIN_SECRET_LENGTH = 32;

export interface JwtKeySettings {
  JENKINS_JWT_SECRET?: string | undefined;
  JENKINS_JWT_PUBLIC_KEY?: string | undefined;
  JENKINS_JWKS_URL?: string | undefined;
}

export interface JwtKeyOptions {
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * The keys the webhook verifies tokens with, from the environment; undefined when none is set.
 * Every problem is a ConfigError at start, so a bad key never surfaces as "invalid signature" later.
 */
export function jwtKeysFromEnv(env: JwtKeySettings, options: JwtKeyOptions = {}): KeyResolver | undefined {
  const problems: string[] = [];
  let secret: KeyObject | undefined;
  let publicKey: { alg: AsymmetricAlgorithm; key: KeyObject } | undefined;
  if (env.JENKINS_JWT_SECRET !== undefined) {
    if (env.JENKINS_JWT_SECRET.length < MIN_SECRET_LENGTH) {
      problems.push(
        `JENKINS_JWT_SECRET: is ${env.JENKINS_JWT_SECRET.length} characters long: use at least ${MIN_SECRET_LENGTH} random characters (openssl rand -hex 32)`,
      );
    } else {
      secret = createSecretKey(Buffer.from(env.JENKINS_JWT_SECRET, 'utf8'));
    }
  }
  if (env.JENKINS_JWT_PUBLIC_KEY !== undefined) {
    try {
      publicKey = publicKeyFrom(env.JENKINS_JWT_PUBLIC_KEY);
    } catch (err) {
      problems.push(`JENKINS_JWT_PUBLIC_KEY: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const jwks = env.JENKINS_JWKS_URL === undefined ? undefined : new JwksKeys({ url: env.JENKINS_JWKS_URL, ...options });
  if (!secret && !publicKey && !jwks) return undefined;

  const algorithms = new Set<JwtAlgorithm>();
  if (secret) algorithms.add('HS256');
  if (publicKey) algorithms.add(publicKey.alg);
  if (jwks) for (const alg of ['RS256', 'ES256'] as const) algorithms.add(alg);

  return {
    algorithms: [...algorithms],
    async resolve(alg, kid) {
      if (alg === 'HS256') {
        if (secret) return secret;
      } else if (jwks && (kid !== undefined || publicKey?.alg !== alg)) {
        // A token naming a key id is checked against the JWKS; the PEM key (if any) has no id.
        return jwks.key(kid, alg);
      } else if (publicKey?.alg === alg) {
        return publicKey.key;
      }
      throw new ReleaseBotError(ErrorCode.WebhookUnauthenticated, `no configured key verifies ${alg} tokens`);
    },
  };
}

/**
 * A PEM public key, given inline (newlines may be written as `\n` in a one-line .env value) or as
 * the path of a PEM file. RSA keys of 2048 bits or more serve RS256, P-256 keys ES256; nothing else.
 */
export function publicKeyFrom(value: string): { alg: AsymmetricAlgorithm; key: KeyObject } {
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
