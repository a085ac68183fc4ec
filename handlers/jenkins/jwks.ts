import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { clip } from '../../src/validate.js';
import type { AsymmetricAlgorithm } from './jwt-algorithms.js';

export interface JwksOptions {
  url: string;
  fetch?: typeof fetch;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** How long a fetched key set is used before it is fetched again. */
  ttlMs?: number;
  /** A token with an unknown `kid` refetches the set (key rotation), at most this often. */
  minRefetchMs?: number;
  /** When a refetch fails, a set this young is still used (the issuer's keys rarely change). */
  maxStaleMs?: number;
  timeoutMs?: number;
}

interface Jwk {
  kid: string | undefined;
  alg: AsymmetricAlgorithm;
  key: KeyObject;
}

const MAX_BYTES = 512 * 1024;

/**
 * The public keys of a JWKS URL (Jenkins' OIDC provider plugin), cached. Only RSA (RS256, 2048 bits or
 * more) and P-256 (ES256) signing keys are kept; every other key in the set is ignored.
 */
export class JwksKeys {
  private keys: Jwk[] = [];
  private fetchedAt: number | undefined;
  /** Last download attempt, successful or not: what the unknown-kid refetch is rate-limited on. */
  private attemptedAt: number | undefined;
  private pending: Promise<void> | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: JwksOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** The key that signed a token with this header, fetching the set when it is stale or the kid is new. */
  async key(kid: string | undefined, alg: AsymmetricAlgorithm): Promise<KeyObject> {
    const ttl = this.options.ttlMs ?? 10 * 60_000;
    const minRefetch = this.options.minRefetchMs ?? 30_000;
    const mayRetry = this.now() - (this.attemptedAt ?? 0) >= minRefetch;
    const age = this.fetchedAt === undefined ? Infinity : this.now() - this.fetchedAt;
    // A set too old to use is always fetched again (a failure then refuses); a merely stale one at most once per minRefetch.
    if (age >= (this.options.maxStaleMs ?? 60 * 60_000) || (age >= ttl && mayRetry)) await this.refresh();
    let found = this.pick(kid, alg);
    // Rate-limited on the last attempt, not the last success: tokens with made-up kids while the
    // issuer is down must not turn into one download each.
    if (!found && kid !== undefined && this.now() - (this.attemptedAt ?? 0) >= minRefetch) {
      await this.refresh();
      found = this.pick(kid, alg);
    }
    if (!found) {
      throw new ReleaseBotError(
        ErrorCode.WebhookUnauthenticated,
        kid === undefined
          ? `the token has no kid and the JWKS does not hold exactly one ${alg} key`
          : `the token's key id ${JSON.stringify(clip(kid, 60))} is not an ${alg} key of the JWKS at JENKINS_JWKS_URL`,
      );
    }
    return found.key;
  }

  private pick(kid: string | undefined, alg: AsymmetricAlgorithm): Jwk | undefined {
    const fitting = this.keys.filter((k) => k.alg === alg);
    if (kid === undefined) return fitting.length === 1 ? fitting[0] : undefined;
    return fitting.find((k) => k.kid === kid);
  }

  private refresh(): Promise<void> {
    this.pending ??= this.load().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async load(): Promise<void> {
    this.attemptedAt = this.now();
    try {
      this.keys = await this.download();
      this.fetchedAt = this.now();
    } catch (err) {
      const stale = this.fetchedAt !== undefined && this.now() - this.fetchedAt < (this.options.maxStaleMs ?? 60 * 60_000);
      if (stale) return;
      // Fail closed, but say it is worth retrying: the token was not judged bad.
      throw new ReleaseBotError(ErrorCode.WebhookUnauthenticated, `cannot read the JWKS at JENKINS_JWKS_URL: ${(err as Error).message}`, {
        retryable: true,
        cause: err,
      });
    }
  }

  private async download(): Promise<Jwk[]> {
    const res = await this.fetchImpl(this.options.url, {
      redirect: 'error',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
    });
    if (res.status !== 200) throw new Error(`it answered HTTP ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MAX_BYTES) throw new Error(`it is larger than ${MAX_BYTES} bytes`);
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new Error('it is not JSON');
    }
    const list = (doc as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) throw new Error('it has no "keys" array');
    return list.flatMap((jwk) => toKey(jwk));
  }
}

/** The keys of a JWKS document the webhook would use (kid and algorithm), or undefined when it has no "keys" array. */
export function jwksUsableKeys(doc: unknown): Array<{ kid: string | undefined; alg: AsymmetricAlgorithm }> | undefined {
  const list = (doc as { keys?: unknown } | null)?.keys;
  return Array.isArray(list) ? list.flatMap((jwk) => toKey(jwk)).map(({ kid, alg }) => ({ kid, alg })) : undefined;
}

function toKey(jwk: unknown): Jwk[] {
  if (typeof jwk !== 'object' || jwk === null) return [];
  const j = jwk as Record<string, unknown>;
  if (j.use !== undefined && j.use !== 'sig') return [];
  const alg: AsymmetricAlgorithm | undefined = j.kty === 'RSA' ? 'RS256' : j.kty === 'EC' && j.crv === 'P-256' ? 'ES256' : undefined;
  if (!alg || (j.alg !== undefined && j.alg !== alg)) return [];
  // Only the public members: a set that wrongly publishes a private key must not make the bot hold one.
  const publicMembers = alg === 'RS256' ? { kty: j.kty, n: j.n, e: j.e } : { kty: j.kty, crv: j.crv, x: j.x, y: j.y };
  try {
    const key = createPublicKey({ key: publicMembers as JsonWebKey, format: 'jwk' });
    if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return [];
    return [{ kid: typeof j.kid === 'string' ? j.kid : undefined, alg, key }];
  } catch {
    return []; // a malformed key in the set is skipped; the others still serve
  }
}
