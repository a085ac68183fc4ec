import { jenkinsSettings, MIN_JWT_SECRET_LENGTH, type JenkinsKeySettings } from '../../src/config/handler-settings.js';
import { ConfigError } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { JwksKeys } from './jwks.js';
import type { JwtAlgorithm, KeyResolver } from './jwt-algorithms.js';

export { publicKeyFrom } from '../../src/config/jwt-public-key.js';

/** Shorter shared secrets can be brute-forced offline from one captured token or signature. */
export const MIN_SECRET_LENGTH = MIN_JWT_SECRET_LENGTH;

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
 * The keys the webhook verifies tokens with, from environment variables, checked as the configuration
 * checks them (src/config/handler-settings.ts): a problem is a ConfigError; undefined when none is set.
 */
export function jwtKeysFromEnv(env: JwtKeySettings, options: JwtKeyOptions = {}): KeyResolver | undefined {
  const { settings, problems } = jenkinsSettings(env);
  if (problems.length > 0) throw new ConfigError(problems);
  return jwtKeys(settings.keys, options);
}

/** The resolver over keys the configuration already checked; undefined when none is set. */
export function jwtKeys(keys: JenkinsKeySettings, options: JwtKeyOptions = {}): KeyResolver | undefined {
  const { secret, publicKey } = keys;
  const jwks = keys.jwksUrl === undefined ? undefined : new JwksKeys({ url: keys.jwksUrl, ...options });
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
