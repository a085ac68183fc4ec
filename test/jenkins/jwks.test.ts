import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ErrorCode } from '../../src/errors.js';
import { JwksKeys } from '../../handlers/jenkins/jwks.js';
import { jwtKeysFromEnv } from '../../handlers/jenkins/jwt-keys.js';
import { DEFAULT_POLICY, verifyJenkinsJwt } from '../../handlers/jenkins/verify-jwt.js';
import { startJwksServer, type JwksServer } from './helpers/jwks-server.js';
import { pluginJwk, pluginKey, pluginToken } from './helpers/oidc-plugin.js';
import { ec, rsa, rsaPublicPem, token } from './helpers/tokens.js';

const policy = { ...DEFAULT_POLICY, audience: 'release-bot' };
const jwk = (key: KeyObject, kid: string, extra: Record<string, unknown> = {}) => ({
  ...key.export({ format: 'jwk' }),
  kid,
  use: 'sig',
  ...extra,
});

describe('JWKS keys (served by a loopback HTTP server)', () => {
  let jwks: JwksServer;
  let clock: number;
  const now = () => clock;

  beforeEach(async () => {
    clock = Date.parse('2026-03-01T12:00:00Z');
    jwks = await startJwksServer({ keys: [jwk(rsa.publicKey, 'rsa-1', { alg: 'RS256' }), jwk(ec.publicKey, 'ec-1')] });
  });
  afterEach(() => jwks.close());

  it('verifies RS256 and ES256 tokens by kid and caches the set', async () => {
    const keys = jwtKeysFromEnv({ JENKINS_JWKS_URL: jwks.url }, { now })!;
    expect([...keys.algorithms].sort()).toEqual(['ES256', 'RS256']);
    const at = new Date(clock);
    await expect(
      verifyJenkinsJwt(token({ key: rsa.privateKey, algorithm: 'RS256', kid: 'rsa-1', jti: 'jwks-jti-rs' }, at), keys, policy, at),
    ).resolves.toMatchObject({ sub: 'conjur-cli' });
    await expect(
      verifyJenkinsJwt(token({ key: ec.privateKey, algorithm: 'ES256', kid: 'ec-1', jti: 'jwks-jti-es' }, at), keys, policy, at),
    ).resolves.toMatchObject({ sub: 'conjur-cli' });
    expect(jwks.requests).toBe(1);
  });

  it("verifies a token against the plugin's own JWKS shape (n with a sign byte, kid = credential id) and refuses keys that are not RS256/ES256", async () => {
    jwks.setKeys([
      pluginJwk(),
      { ...pluginJwk(pluginKey.publicKey, 'rs384'), alg: 'RS384' },
      { ...pluginJwk(pluginKey.publicKey, 'ps256'), alg: 'PS256' },
    ]);
    const keys = jwtKeysFromEnv({ JENKINS_JWKS_URL: jwks.url }, { now })!;
    const at = new Date(clock);
    await expect(verifyJenkinsJwt(pluginToken({}, at), keys, policy, at)).resolves.toMatchObject({
      sub: 'https://jenkins.example/job/conjur-cli/',
      buildNumber: 123,
      iss: 'https://jenkins.example/oidc',
    });
    for (const kid of ['rs384', 'ps256'])
      await expect(verifyJenkinsJwt(pluginToken({ kid }, at), keys, policy, at)).rejects.toThrow(/is not an RS256 key of the JWKS/);
  });

  it('refuses a token whose kid names a key of another type, and an HS256 token keyed with a JWKS key', async () => {
    const keys = jwtKeysFromEnv({ JENKINS_JWKS_URL: jwks.url }, { now })!;
    const at = new Date(clock);
    await expect(
      verifyJenkinsJwt(token({ key: rsa.privateKey, algorithm: 'RS256', kid: 'ec-1' }, at), keys, policy, at),
    ).rejects.toMatchObject({ code: ErrorCode.WebhookUnauthenticated });
    await expect(verifyJenkinsJwt(token({ key: rsaPublicPem, algorithm: 'HS256', kid: 'rsa-1' }, at), keys, policy, at)).rejects.toThrow(
      /HS256" is not accepted/,
    );
  });

  it('refetches on an unknown kid (key rotation), at most once per interval', async () => {
    const keys = new JwksKeys({ url: jwks.url, now, minRefetchMs: 30_000 });
    await keys.key('rsa-1', 'RS256');
    const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwks.setKeys([jwk(rotated.publicKey, 'rsa-2')]);
    // Too soon after the last fetch: an unknown kid does not make the bot hammer the issuer.
    await expect(keys.key('rsa-2', 'RS256')).rejects.toThrow(/key id "rsa-2" is not an RS256 key/);
    expect(jwks.requests).toBe(1);
    clock += 31_000;
    await expect(keys.key('rsa-2', 'RS256')).resolves.toBeDefined();
    expect(jwks.requests).toBe(2);
  });

  it('rate-limits unknown-kid refetches on the last attempt, also while the issuer is down', async () => {
    const keys = new JwksKeys({ url: jwks.url, now, ttlMs: 60_000, minRefetchMs: 30_000, maxStaleMs: 3_600_000 });
    await keys.key('rsa-1', 'RS256');
    clock += 61_000;
    jwks.setStatus(503);
    await expect(keys.key('rsa-1', 'RS256')).resolves.toBeDefined(); // TTL refetch fails: the cached set serves
    expect(jwks.requests).toBe(2);
    for (let i = 0; i < 5; i++) await expect(keys.key(`made-up-${i}`, 'RS256')).rejects.toThrow(/is not an RS256 key/);
    expect(jwks.requests).toBe(2);
  });

  it('fetches again when the TTL has passed, and keeps a recent set when the issuer is down', async () => {
    const keys = new JwksKeys({ url: jwks.url, now, ttlMs: 60_000, maxStaleMs: 3_600_000 });
    await keys.key('rsa-1', 'RS256');
    clock += 61_000;
    jwks.setStatus(500);
    await expect(keys.key('rsa-1', 'RS256')).resolves.toBeDefined();
    expect(jwks.requests).toBe(2);
    clock += 2 * 3_600_000;
    await expect(keys.key('rsa-1', 'RS256')).rejects.toMatchObject({
      code: ErrorCode.WebhookUnauthenticated,
      retryable: true,
      message: expect.stringMatching(/HTTP 500/),
    });
  });

  it('skips keys that cannot serve (encryption keys, small RSA keys, odd curves, junk) and never keeps private members', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    jwks.setKeys([
      jwk(rsa.publicKey, 'enc', { use: 'enc' }),
      jwk(small.publicKey, 'small'),
      jwk(p384.publicKey, 'p384'),
      { kty: 'RSA', kid: 'junk', n: '!!', e: 'AQAB' },
      'not an object',
      // A set that wrongly publishes a private key: only its public half is used.
      { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'private' },
    ]);
    const keys = new JwksKeys({ url: jwks.url, now });
    for (const kid of ['enc', 'small', 'junk']) await expect(keys.key(kid, 'RS256')).rejects.toThrow(/is not an RS256 key/);
    await expect(keys.key('p384', 'ES256')).rejects.toThrow(/is not an ES256 key/);
    const key = await keys.key('private', 'RS256');
    expect(key.type).toBe('public');
  });

  it('without a kid, uses the only key of the algorithm, else refuses', async () => {
    const keys = new JwksKeys({ url: jwks.url, now });
    await expect(keys.key(undefined, 'ES256')).resolves.toBeDefined();
    jwks.setKeys([jwk(rsa.publicKey, 'a'), jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey, 'b')]);
    const again = new JwksKeys({ url: jwks.url, now });
    await expect(again.key(undefined, 'RS256')).rejects.toThrow(/has no kid/);
  });

  it('refuses a JWKS that is not JSON or has no keys', async () => {
    jwks.setRaw('<html>login</html>');
    await expect(new JwksKeys({ url: jwks.url, now }).key('rsa-1', 'RS256')).rejects.toThrow(/not JSON/);
    jwks.setRaw('{"nokeys":[]}');
    await expect(new JwksKeys({ url: jwks.url, now }).key('rsa-1', 'RS256')).rejects.toThrow(/no "keys" array/);
  });
});
