import type { KeyObject } from 'node:crypto';

/**
 * The only algorithms the webhook accepts, each bound to one kind of key: HS256 to the shared secret,
 * RS256/ES256 to a public key. `none` is not among them, and a public key is never used as an HMAC secret.
 */
export type AsymmetricAlgorithm = 'RS256' | 'ES256';
export type JwtAlgorithm = 'HS256' | AsymmetricAlgorithm;

/** Finds the key for a token's header; throws WEBHOOK_UNAUTHENTICATED when there is none. */
export interface KeyResolver {
  /** The algorithms some configured key serves, e.g. ['HS256'] with only JENKINS_JWT_SECRET. */
  readonly algorithms: readonly JwtAlgorithm[];
  resolve(alg: JwtAlgorithm, kid: string | undefined): Promise<KeyObject>;
}
