import { createHash, createHmac, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** A shared secret as long as the bot requires (32+). Also a canary: it must never reach a log. */
export const HS_SECRET = `hs-secret-canary-${'s'.repeat(32)}`;
export const WEBHOOK_SECRET = `hmac-secret-canary-${'w'.repeat(32)}`;

export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
export const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();

export interface TokenOptions {
  key?: string | KeyObject;
  algorithm?: jwt.Algorithm;
  sub?: string | undefined;
  aud?: string | string[] | undefined;
  iss?: string | undefined;
  jti?: string | undefined;
  /** Seconds since the epoch; undefined omits the claim. */
  exp?: number | undefined;
  iat?: number | undefined;
  nbf?: number | undefined;
  kid?: string | undefined;
  body?: Buffer | string | undefined;
  /** Extra claims. */
  claims?: Record<string, unknown>;
}

export const nowSec = (at: Date = new Date()) => Math.floor(at.getTime() / 1000);

/**
 * A signed token with sensible defaults (HS256 with HS_SECRET, sub conjur-cli, aud release-bot, 5 min).
 * A random jti is added by default to HS256 tokens only (what `release-bot notify` signs); tokens of
 * Jenkins' OIDC provider plugin never carry one: use `pluginToken` (oidc-plugin.ts) for those.
 */
export function token(o: TokenOptions = {}, at: Date = new Date()): string {
  const t = nowSec(at);
  const has = (k: keyof TokenOptions) => Object.prototype.hasOwnProperty.call(o, k);
  const payload: Record<string, unknown> = {
    ...(has('sub') ? (o.sub === undefined ? {} : { sub: o.sub }) : { sub: 'conjur-cli' }),
    ...(has('aud') ? (o.aud === undefined ? {} : { aud: o.aud }) : { aud: 'release-bot' }),
    ...(o.iss === undefined ? {} : { iss: o.iss }),
    ...(has('jti') ? (o.jti === undefined ? {} : { jti: o.jti }) : (o.algorithm ?? 'HS256') === 'HS256' ? { jti: randomUUID() } : {}),
    ...(has('exp') ? (o.exp === undefined ? {} : { exp: o.exp }) : { exp: t + 300 }),
    ...(has('iat') ? (o.iat === undefined ? {} : { iat: o.iat }) : { iat: t }),
    ...(o.nbf === undefined ? {} : { nbf: o.nbf }),
    ...(o.body === undefined ? {} : { body_sha256: createHash('sha256').update(o.body).digest('hex') }),
    ...o.claims,
  };
  return jwt.sign(payload, o.key ?? HS_SECRET, {
    algorithm: o.algorithm ?? 'HS256',
    noTimestamp: payload.iat === undefined,
    ...(o.kid ? { keyid: o.kid } : {}),
  });
}

/** A token whose header says `alg: none` and that carries no signature, as an attacker would send it. */
export function unsignedToken(payload: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

/**
 * The classic key-confusion forgery: an HS256 token whose HMAC key is the server's RSA public key PEM,
 * signed by hand (jsonwebtoken itself refuses to sign like this).
 */
export function hsWithPublicKeyToken(payload: Record<string, unknown>, pem: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}
