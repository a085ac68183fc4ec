import { createHash, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { clip } from '../../src/validate.js';
import type { JwtAlgorithm, KeyResolver } from './jwt-algorithms.js';

export interface JwtPolicy {
  /** `aud` must be (or contain) this. */
  audience: string;
  /** `iss` must equal this when set. */
  issuer?: string | undefined;
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
  clockToleranceSec: number;
  /** Tokens valid for longer than this (from now) are refused: build-ready tokens are short-lived. */
  maxLifetimeSec: number;
}

export const DEFAULT_POLICY: Omit<JwtPolicy, 'audience'> = { clockToleranceSec: 30, maxLifetimeSec: 3600 };

export interface JenkinsClaims {
  /** The job that reports (a full name or a job URL). */
  sub: string;
  /** Always present on HS256 tokens; optional on RS256/ES256 tokens that carry `build_number`. */
  jti?: string;
  /** Seconds since the epoch. */
  exp: number;
  /** Present when the token has no `jti`: the report is then bound to (iss, sub, build_number). */
  iss?: string;
  /** The `build_number` claim of Jenkins' OIDC provider plugin (an integer claim by default). */
  buildNumber?: number;
}

const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const JTI = /^[\x21-\x7e]{8,200}$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

const unauthenticated = (why: string) => new ReleaseBotError(ErrorCode.WebhookUnauthenticated, why);

/**
 * Verifies a build-ready token. Pure but for the key lookup: the clock is a parameter. The algorithm
 * comes from the token header only to pick among the configured keys, and jsonwebtoken is told to
 * accept that one algorithm with that one key, so neither `none` nor an HS256 token "signed" with a
 * public key can pass. `exp` is required; when the token carries `body_sha256` (as `release-bot
 * notify` signs) it must match the request body, so a stolen token cannot carry another report.
 *
 * Replay: an HS256 token (`release-bot notify`, a client we write) must carry a single-use `jti`.
 * Jenkins' OIDC provider plugin never puts a `jti` in its RS256 tokens (it refuses a claim template
 * of that name), so an RS256/ES256 token may go without one if it carries `build_number`: the caller
 * then lets (iss, sub, build_number) stage one report only. A token with neither has nothing to
 * stop a replay and is refused.
 */
export async function verifyJenkinsJwt(
  token: string,
  keys: KeyResolver,
  policy: JwtPolicy,
  now: Date,
  rawBody?: Buffer,
): Promise<JenkinsClaims> {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWT.test(token))
    throw unauthenticated('the bearer token is not a signed JWT (header.payload.signature)');
  const header = decodeHeader(token);
  const alg = header.alg;
  if (typeof alg !== 'string' || !(keys.algorithms as readonly string[]).includes(alg)) {
    throw unauthenticated(
      `token algorithm ${JSON.stringify(clip(String(alg), 20))} is not accepted: this bot accepts ${keys.algorithms.join(', ')}`,
    );
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const key = await keys.resolve(alg as JwtAlgorithm, kid);
  const nowSec = Math.floor(now.getTime() / 1000);

  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key, {
      algorithms: [alg as JwtAlgorithm],
      audience: policy.audience,
      ...(policy.issuer ? { issuer: policy.issuer } : {}),
      clockTolerance: policy.clockToleranceSec,
      clockTimestamp: nowSec,
    });
  } catch (err) {
    throw unauthenticated(explain(err, policy));
  }
  if (typeof payload !== 'object' || payload === null) throw unauthenticated('the token payload is not a JSON object');

  if (typeof payload.exp !== 'number') throw unauthenticated('the token has no exp: build-ready tokens must expire');
  if (payload.exp - nowSec > policy.maxLifetimeSec + policy.clockToleranceSec) {
    throw unauthenticated(`the token is valid for more than ${policy.maxLifetimeSec} s: mint short-lived tokens`);
  }
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > nowSec + policy.clockToleranceSec)) {
    throw unauthenticated('the token was issued in the future (iat): check the clocks of Jenkins and the release machine');
  }
  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 1024)
    throw unauthenticated('the token has no sub naming the reporting job');
  const replay = replayClaims(payload, alg as JwtAlgorithm);
  const bodyDigest = (payload as Record<string, unknown>).body_sha256;
  if (bodyDigest !== undefined) {
    if (rawBody === undefined || typeof bodyDigest !== 'string' || !sameDigest(bodyDigest, rawBody)) {
      throw unauthenticated('the token was signed for another request body (body_sha256)');
    }
  }
  return { sub: payload.sub, exp: payload.exp, ...replay };
}

function replayClaims(payload: jwt.JwtPayload, alg: JwtAlgorithm): Pick<JenkinsClaims, 'jti' | 'iss' | 'buildNumber'> {
  if (payload.jti !== undefined || alg === 'HS256') {
    if (typeof payload.jti !== 'string' || !JTI.test(payload.jti))
      throw unauthenticated('the token has no usable jti (8 to 200 printable characters): each token must carry a unique id');
    return { jti: payload.jti };
  }
  const raw: unknown = (payload as Record<string, unknown>).build_number;
  // The plugin's default template makes it an integer; a string claim type gives digits.
  const number = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : raw;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw unauthenticated(
      "the token has neither a jti nor a build_number: Jenkins' OIDC provider puts build_number in build tokens by default (keep that claim template), other clients must send a unique jti",
    );
  }
  return { buildNumber: number, ...(typeof payload.iss === 'string' ? { iss: payload.iss } : {}) };
}

function decodeHeader(token: string): Record<string, unknown> {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
    if (typeof header === 'object' && header !== null && !Array.isArray(header)) return header as Record<string, unknown>;
  } catch {
    // falls through to the refusal below
  }
  throw unauthenticated('the token header is not a JSON object');
}

function sameDigest(hex: string, body: Buffer): boolean {
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  return timingSafeEqual(Buffer.from(hex, 'hex'), createHash('sha256').update(body).digest());
}

/** jsonwebtoken's errors, said so that a CI log reader knows what to fix. */
function explain(err: unknown, policy: JwtPolicy): string {
  if (err instanceof jwt.TokenExpiredError) return `the token expired at ${err.expiredAt.toISOString()}: mint a fresh one for each report`;
  if (err instanceof jwt.NotBeforeError) return `the token is not valid before ${err.date.toISOString()} (nbf): check the clocks`;
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('jwt audience invalid'))
    return `the token's audience (aud) is not ${JSON.stringify(policy.audience)} (JENKINS_JWT_AUDIENCE)`;
  if (message.startsWith('jwt issuer invalid'))
    return `the token's issuer (iss) is not ${JSON.stringify(policy.issuer)} (JENKINS_JWT_ISSUER)`;
  if (message === 'invalid signature') return 'the token signature is invalid';
  return `the token is not valid (${clip(message, 80)})`;
}
