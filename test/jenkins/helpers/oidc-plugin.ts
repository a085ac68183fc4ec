import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Tokens and key sets shaped exactly as Jenkins' OIDC provider plugin makes them (jenkinsci/oidc-provider-plugin
 * at b5cde4512a23a05cbb45b722d3f48693c34baa51, read, not copied):
 * - IdTokenCredentials.java `token()`: header `kid` = the credential id and `typ: JWT` (jjwt adds `alg`,
 *   RS256 for the credential's 2048-bit RSA key from `generatePrivateKey()`); body `iss` (the issuer, by
 *   default `<Jenkins root URL>oidc`), `aud` (jjwt's `audience().add(...)`: a JSON array), `iat`, `exp`,
 *   then the claim templates; `jti` is among STANDARD_CLAIMS, which no template may set, and never added.
 * - config/IdTokenConfiguration.java: build claim templates by default `sub` = `${JOB_URL}` (string) and
 *   `build_number` = `${BUILD_NUMBER}` (IntegerClaimType: a JSON number); token lifetime 3600 s.
 * - Keys.java `key()`: the JWKS at `<issuer>/jwks` lists `{ kid, kty: RSA, alg: RS256, use: sig, n, e }`,
 *   with n and e from BigInteger.toByteArray(), so a 2048-bit modulus carries a leading zero byte.
 * Signed by hand (not with jsonwebtoken) so that nothing is added that the plugin does not send.
 */
export const PLUGIN_ROOT_URL = 'https://jenkins.example/';
export const PLUGIN_ISSUER = `${PLUGIN_ROOT_URL}oidc`;
export const PLUGIN_CREDENTIAL_ID = 'release-bot-id-token';
export const pluginKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

export interface PluginTokenOptions {
  /** The job's URL (`${JOB_URL}`), e.g. https://jenkins.example/job/team/job/conjur-cli/ */
  jobUrl?: string;
  buildNumber?: number | undefined;
  audience?: string;
  /** Older plugin versions call setAudience(String) and send `aud` as a string; newer ones an array. */
  audienceAsString?: boolean;
  issuer?: string;
  kid?: string;
  key?: KeyObject;
  /** Seconds since the epoch. */
  iat?: number;
  lifetimeSec?: number;
  /** Claims a differently configured plugin would add (or a hostile token would). */
  extra?: Record<string, unknown>;
}

export function pluginToken(o: PluginTokenOptions = {}, at: Date = new Date()): string {
  const iat = o.iat ?? Math.floor(at.getTime() / 1000);
  const header = { kid: o.kid ?? PLUGIN_CREDENTIAL_ID, typ: 'JWT', alg: 'RS256' };
  const body: Record<string, unknown> = {
    iss: o.issuer ?? PLUGIN_ISSUER,
    aud: o.audienceAsString ? (o.audience ?? 'release-bot') : [o.audience ?? 'release-bot'],
    iat,
    exp: iat + (o.lifetimeSec ?? 3600),
    sub: o.jobUrl ?? `${PLUGIN_ROOT_URL}job/conjur-cli/`,
    ...(Object.prototype.hasOwnProperty.call(o, 'buildNumber') && o.buildNumber === undefined
      ? {}
      : { build_number: o.buildNumber ?? 123 }),
    ...o.extra,
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64(header)}.${b64(body)}`;
  return `${input}.${createSign('RSA-SHA256')
    .update(input)
    .sign(o.key ?? pluginKey.privateKey)
    .toString('base64url')}`;
}

/** A JWKS entry as Keys.key() writes it: BigInteger.toByteArray() keeps a sign byte (0x00) before a modulus whose top bit is set. */
export function pluginJwk(publicKey: KeyObject = pluginKey.publicKey, kid: string = PLUGIN_CREDENTIAL_ID): Record<string, string> {
  const jwk = publicKey.export({ format: 'jwk' });
  const javaBytes = (b64: string) => {
    const bytes = Buffer.from(b64, 'base64url');
    return ((bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes).toString('base64url');
  };
  return { kid, kty: 'RSA', alg: 'RS256', use: 'sig', n: javaBytes(jwk.n as string), e: javaBytes(jwk.e as string) };
}
