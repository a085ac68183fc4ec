import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/config/load.js';
import { ErrorCode } from '../../src/errors.js';
import { jwtKeysFromEnv } from '../../handlers/jenkins/jwt-keys.js';
import { DEFAULT_POLICY, verifyJenkinsJwt, type JwtPolicy } from '../../handlers/jenkins/verify-jwt.js';
import { makeTmpDir } from '../support/tmp.js';
import { ec, ecPublicPem, HS_SECRET, hsWithPublicKeyToken, nowSec, rsa, rsaPublicPem, token, unsignedToken } from './helpers/tokens.js';

const policy: JwtPolicy = { ...DEFAULT_POLICY, audience: 'release-bot' };
const at = new Date('2026-03-01T12:00:00Z');
const t = nowSec(at);
const hsKeys = jwtKeysFromEnv({ JENKINS_JWT_SECRET: HS_SECRET }) as NonNullable<ReturnType<typeof jwtKeysFromEnv>>;
const rsKeys = jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: rsaPublicPem }) as NonNullable<ReturnType<typeof jwtKeysFromEnv>>;

const refused = (p: Promise<unknown>, message: RegExp) =>
  expect(p).rejects.toMatchObject({ code: ErrorCode.WebhookUnauthenticated, message: expect.stringMatching(message) });

describe('verifyJenkinsJwt', () => {
  it('accepts a good HS256 token and returns its sub, jti and exp', async () => {
    const claims = await verifyJenkinsJwt(token({ jti: 'jti-0000001' }, at), hsKeys, policy, at);
    expect(claims).toEqual({ sub: 'conjur-cli', jti: 'jti-0000001', exp: t + 300 });
  });

  it('refuses an expired token, but honours the clock tolerance', async () => {
    await refused(verifyJenkinsJwt(token({ exp: t - 31 }, at), hsKeys, policy, at), /expired/);
    await expect(verifyJenkinsJwt(token({ exp: t - 10 }, at), hsKeys, policy, at)).resolves.toMatchObject({ sub: 'conjur-cli' });
  });

  it('refuses a token without exp, jti or sub', async () => {
    await refused(verifyJenkinsJwt(token({ exp: undefined }, at), hsKeys, policy, at), /no exp/);
    await refused(verifyJenkinsJwt(token({ jti: undefined }, at), hsKeys, policy, at), /jti/);
    await refused(verifyJenkinsJwt(token({ jti: 'short' }, at), hsKeys, policy, at), /jti/);
    await refused(verifyJenkinsJwt(token({ sub: undefined }, at), hsKeys, policy, at), /sub/);
  });

  it('lets an RS256/ES256 token go without jti when it carries build_number (as the OIDC provider plugin mints them), never an HS256 token', async () => {
    const plugin = {
      key: rsa.privateKey,
      algorithm: 'RS256' as const,
      iss: 'https://jenkins.example/oidc',
      sub: 'https://jenkins.example/job/conjur-cli/',
    };
    await expect(verifyJenkinsJwt(token({ ...plugin, claims: { build_number: 42 } }, at), rsKeys, policy, at)).resolves.toEqual({
      sub: 'https://jenkins.example/job/conjur-cli/',
      exp: t + 300,
      iss: 'https://jenkins.example/oidc',
      buildNumber: 42,
    });
    // A string claim type (a reconfigured template) gives digits.
    await expect(verifyJenkinsJwt(token({ ...plugin, claims: { build_number: '42' } }, at), rsKeys, policy, at)).resolves.toMatchObject({
      buildNumber: 42,
    });
    for (const bad of [undefined, -1, 1.5, '4x', true, null]) {
      await refused(
        verifyJenkinsJwt(token({ ...plugin, claims: bad === undefined ? {} : { build_number: bad } }, at), rsKeys, policy, at),
        /neither a jti nor a build_number/,
      );
    }
    // A jti, when there is one, is checked as ever.
    await refused(
      verifyJenkinsJwt(token({ ...plugin, jti: 'short', claims: { build_number: 42 } }, at), rsKeys, policy, at),
      /no usable jti/,
    );
    await refused(verifyJenkinsJwt(token({ jti: undefined, claims: { build_number: 42 } }, at), hsKeys, policy, at), /no usable jti/);
  });

  it('refuses a token not yet valid (nbf) or issued in the future (iat)', async () => {
    await refused(verifyJenkinsJwt(token({ nbf: t + 120 }, at), hsKeys, policy, at), /not valid before/);
    await refused(verifyJenkinsJwt(token({ iat: t + 120 }, at), hsKeys, policy, at), /issued in the future/);
    await expect(verifyJenkinsJwt(token({ iat: t + 20, nbf: t + 20 }, at), hsKeys, policy, at)).resolves.toBeDefined();
  });

  it('refuses a long-lived token', async () => {
    await refused(verifyJenkinsJwt(token({ exp: t + 7 * 24 * 3600 }, at), hsKeys, policy, at), /valid for more than 3600 s/);
  });

  it('refuses a wrong audience and, when configured, a wrong issuer', async () => {
    await refused(verifyJenkinsJwt(token({ aud: 'another-service' }, at), hsKeys, policy, at), /audience .* "release-bot"/);
    await refused(verifyJenkinsJwt(token({ aud: undefined }, at), hsKeys, policy, at), /audience/);
    const withIssuer = { ...policy, issuer: 'https://jenkins.example' };
    await refused(verifyJenkinsJwt(token({ iss: 'https://evil.example' }, at), hsKeys, withIssuer, at), /issuer/);
    await refused(verifyJenkinsJwt(token({}, at), hsKeys, withIssuer, at), /issuer/);
    await expect(
      verifyJenkinsJwt(token({ iss: 'https://jenkins.example', aud: ['x', 'release-bot'] }, at), hsKeys, withIssuer, at),
    ).resolves.toBeDefined();
  });

  it('refuses a token signed with another secret', async () => {
    await refused(verifyJenkinsJwt(token({ key: `${HS_SECRET}-other` }, at), hsKeys, policy, at), /signature is invalid/);
  });

  it('refuses alg none, with or without a signature', async () => {
    const payload = { sub: 'conjur-cli', aud: 'release-bot', jti: 'jti-none-0001', exp: t + 60 };
    await refused(verifyJenkinsJwt(unsignedToken(payload), hsKeys, policy, at), /not a signed JWT/);
    await refused(verifyJenkinsJwt(`${unsignedToken(payload)}c2ln`, hsKeys, policy, at), /algorithm "none" is not accepted/);
    await refused(verifyJenkinsJwt(`${unsignedToken(payload)}c2ln`, rsKeys, policy, at), /algorithm "none" is not accepted/);
  });

  it('refuses an HS256 token keyed with the RSA public key PEM when RS256 is configured', async () => {
    const forged = hsWithPublicKeyToken({ sub: 'conjur-cli', aud: 'release-bot', jti: 'jti-confused-1', exp: t + 60 }, rsaPublicPem);
    await refused(verifyJenkinsJwt(forged, rsKeys, policy, at), /algorithm "HS256" is not accepted: this bot accepts RS256/);
    // Even with a shared secret configured too, the PEM is never the HMAC key.
    const both = jwtKeysFromEnv({ JENKINS_JWT_SECRET: HS_SECRET, JENKINS_JWT_PUBLIC_KEY: rsaPublicPem });
    await refused(verifyJenkinsJwt(forged, both!, policy, at), /signature is invalid/);
  });

  it('accepts RS256 with the configured public key and refuses an RS256 token from another key', async () => {
    await expect(
      verifyJenkinsJwt(token({ key: rsa.privateKey, algorithm: 'RS256', jti: 'rs256-jti-0001' }, at), rsKeys, policy, at),
    ).resolves.toMatchObject({ sub: 'conjur-cli' });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await refused(verifyJenkinsJwt(token({ key: other.privateKey, algorithm: 'RS256' }, at), rsKeys, policy, at), /signature is invalid/);
    await refused(verifyJenkinsJwt(token({ key: rsa.privateKey, algorithm: 'RS384' }, at), rsKeys, policy, at), /RS384" is not accepted/);
  });

  it('pins ES256 to a P-256 public key', async () => {
    const esKeys = jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: ecPublicPem })!;
    expect(esKeys.algorithms).toEqual(['ES256']);
    await expect(
      verifyJenkinsJwt(token({ key: ec.privateKey, algorithm: 'ES256', jti: 'es256-jti-0001' }, at), esKeys, policy, at),
    ).resolves.toBeDefined();
    await refused(verifyJenkinsJwt(token({ key: rsa.privateKey, algorithm: 'RS256' }, at), esKeys, policy, at), /RS256" is not accepted/);
  });

  it('binds a token to its body when it carries body_sha256', async () => {
    const body = Buffer.from('{"project":"conjur-cli"}');
    await expect(verifyJenkinsJwt(token({ body }, at), hsKeys, policy, at, body)).resolves.toBeDefined();
    await refused(verifyJenkinsJwt(token({ body }, at), hsKeys, policy, at, Buffer.from('{"project":"other"}')), /another request body/);
    await refused(
      verifyJenkinsJwt(
        token({ claims: { body_sha256: createHash('sha256').update('x').digest('hex').toUpperCase() } }, at),
        hsKeys,
        policy,
        at,
        body,
      ),
      /another request body/,
    );
  });

  it('refuses garbage without echoing it', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', '<script>.x.y', `${'A'.repeat(20_000)}.a.b`]) {
      const p = verifyJenkinsJwt(bad, hsKeys, policy, at);
      await refused(p, /./);
      await p.catch((err: Error) => expect(err.message).not.toContain('<script>'));
    }
  });
});

describe('jwtKeysFromEnv', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());

  it('is undefined when no key is configured', () => {
    expect(jwtKeysFromEnv({})).toBeUndefined();
  });

  it('refuses a short secret, a private key, a weak or unsupported key, naming the variable', () => {
    expect(() => jwtKeysFromEnv({ JENKINS_JWT_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => jwtKeysFromEnv({ JENKINS_JWT_SECRET: 'short' })).toThrow(/JENKINS_JWT_SECRET: is 5 characters long/);
    const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: privatePem })).toThrow(/is a private key/);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: weak })).toThrow(/shorter than 2048 bits/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: p384 })).toThrow(/P-256/);
    expect(() => jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: '/nonexistent/key.pem' })).toThrow(
      /neither a PEM public key .* nor the path of a PEM file/,
    );
  });

  it('reads a PEM from a file or from a one-line value with \\n', async () => {
    const file = path.join(tmp.dir, 'jenkins.pem');
    writeFileSync(file, rsaPublicPem);
    expect(jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: file })!.algorithms).toEqual(['RS256']);
    const oneLine = rsaPublicPem.trim().replace(/\n/g, '\\n');
    const keys = jwtKeysFromEnv({ JENKINS_JWT_PUBLIC_KEY: oneLine })!;
    await expect(
      verifyJenkinsJwt(token({ key: rsa.privateKey, algorithm: 'RS256', jti: 'rs256-jti-0002' }, at), keys, policy, at),
    ).resolves.toBeDefined();
  });
});
