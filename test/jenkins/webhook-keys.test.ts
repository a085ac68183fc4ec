import { createHash } from 'node:crypto';
import { startBot, type Bot } from './helpers/bot.js';
import { startJwksServer, type JwksServer } from './helpers/jwks-server.js';
import { botReport } from './helpers/reports.js';
import { ec, hsWithPublicKeyToken, nowSec, rsa, rsaPublicPem, token, unsignedToken } from './helpers/tokens.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('POST /webhooks/jenkins with RS256 (JENKINS_JWT_PUBLIC_KEY, no shared secret)', () => {
  let bot: Bot;
  beforeAll(async () => {
    bot = await startBot({ JENKINS_JWT_SECRET: undefined, JENKINS_WEBHOOK_SECRET: undefined, JENKINS_JWT_PUBLIC_KEY: rsaPublicPem });
  });
  afterAll(() => bot.stop());

  const post = (version: string, t: string) => {
    bot.stageFiles('conjur-cli', version, { 'a.gem': version });
    return bot.post('/webhooks/jenkins', botReport({ version, artifacts: [{ path: 'a.gem', sha256: sha(version) }] }), bearer(t));
  };

  it('stages a report with an RS256 token from the key pair (with a jti, or a build_number instead)', async () => {
    expect((await post('1.0.0', token({ key: rsa.privateKey, algorithm: 'RS256', jti: 'rs256-jti-0001' }))).status).toBe(202);
    expect((await post('1.0.1', token({ key: rsa.privateKey, algorithm: 'RS256', claims: { build_number: 123 } }))).status).toBe(202);
    const neither = await post('1.0.2', token({ key: rsa.privateKey, algorithm: 'RS256' }));
    expect(neither.status).toBe(401);
    expect(neither.json.error).toMatch(/neither a jti nor a build_number/);
    expect(bot.running.app.staged.current('conjur-cli', '1.0.2')).toBeUndefined();
  });

  it('refuses an HS256 token whose HMAC key is the RSA public key PEM (algorithm confusion)', async () => {
    const forged = hsWithPublicKeyToken({ sub: 'conjur-cli', aud: 'release-bot', jti: 'confused-jti-1', exp: nowSec() + 60 }, rsaPublicPem);
    const r = await post('1.1.0', forged);
    expect(r.status).toBe(401);
    expect(r.json.error).toMatch(/algorithm "HS256" is not accepted: this bot accepts RS256/);
    expect(bot.running.app.staged.current('conjur-cli', '1.1.0')).toBeUndefined();
  });

  it('refuses alg none and an ES256 token', async () => {
    expect(
      (await post('1.2.0', `${unsignedToken({ sub: 'conjur-cli', aud: 'release-bot', jti: 'none-jti-03', exp: nowSec() + 60 })}eA`)).status,
    ).toBe(401);
    expect((await post('1.2.0', token({ key: ec.privateKey, algorithm: 'ES256' }))).status).toBe(401);
  });

  it('refuses HMAC signatures when JENKINS_WEBHOOK_SECRET is not set', async () => {
    bot.stageFiles('conjur-cli', '1.3.0', { 'a.gem': 'x' });
    const r = await bot.post('/webhooks/jenkins', botReport({ version: '1.3.0' }), { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` });
    expect(r.status).toBe(401);
    expect(r.json.error).toMatch(/no JENKINS_WEBHOOK_SECRET/);
  });
});

describe('POST /webhooks/jenkins with a JWKS (Jenkins OIDC provider) and an issuer', () => {
  let bot: Bot;
  let jwks: JwksServer;
  const issuer = 'https://jenkins.example/oidc';
  beforeAll(async () => {
    jwks = await startJwksServer({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'jenkins-1', use: 'sig', alg: 'RS256' }] });
    bot = await startBot({ JENKINS_JWT_SECRET: undefined, JENKINS_JWKS_URL: jwks.url, JENKINS_JWT_ISSUER: issuer });
  });
  afterAll(async () => {
    await bot.stop();
    await jwks.close();
  });

  const post = (version: string, t: string) => {
    bot.stageFiles('conjur-cli', version, { 'a.gem': version });
    return bot.post('/webhooks/jenkins', botReport({ version, artifacts: [{ path: 'a.gem', sha256: sha(version) }] }), bearer(t));
  };

  it('stages a report with an RS256 token with kid, iss and jti (tokens shaped as the plugin mints them: webhook-oidc.test.ts)', async () => {
    const t = token({
      key: rsa.privateKey,
      algorithm: 'RS256',
      kid: 'jenkins-1',
      iss: issuer,
      jti: 'jwks-jti-0001',
      sub: 'https://jenkins.example/job/conjur-cli/',
    });
    const r = await post('2.0.0', t);
    expect(r.status).toBe(202);
    expect(jwks.requests).toBe(1);
  });

  it('refuses a wrong issuer, an unknown kid, and an HS256 token', async () => {
    expect(
      (
        await post(
          '2.1.0',
          token({ key: rsa.privateKey, algorithm: 'RS256', kid: 'jenkins-1', iss: 'https://evil.example', jti: 'jwks-jti-0002' }),
        )
      ).json.error,
    ).toMatch(/issuer/);
    const unknownKid = await post(
      '2.1.0',
      token({ key: rsa.privateKey, algorithm: 'RS256', kid: 'jenkins-2', iss: issuer, jti: 'jwks-jti-0003' }),
    );
    expect(unknownKid.status).toBe(401);
    expect(unknownKid.json.error).toMatch(/key id "jenkins-2"/);
    expect((await post('2.1.0', token({ key: 's'.repeat(40), iss: issuer }))).status).toBe(401);
    expect(bot.running.app.staged.current('conjur-cli', '2.1.0')).toBeUndefined();
  });

  it('answers 503 (worth retrying) when the JWKS cannot be read and nothing is cached', async () => {
    const fresh = await startBot({ JENKINS_JWT_SECRET: undefined, JENKINS_JWKS_URL: 'http://127.0.0.1:9/jwks' });
    try {
      fresh.stageFiles('conjur-cli', '3.0.0', { 'a.gem': 'x' });
      const r = await fresh.post(
        '/webhooks/jenkins',
        botReport({ version: '3.0.0', artifacts: [{ path: 'a.gem', sha256: sha('x') }] }),
        bearer(token({ key: rsa.privateKey, algorithm: 'RS256', kid: 'k' })),
      );
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ code: 'WEBHOOK_UNAUTHENTICATED', error: expect.stringMatching(/cannot read the JWKS/) });
    } finally {
      await fresh.stop();
    }
  });
});

describe('release-bot serve refuses to start with a weak Jenkins secret', () => {
  it('names the variable and how to fix it', async () => {
    await expect(startBot({ JENKINS_WEBHOOK_SECRET: 'short' })).rejects.toThrow(
      /JENKINS_WEBHOOK_SECRET: is 5 characters long: use at least 32/,
    );
    await expect(startBot({ JENKINS_JWT_SECRET: 'short' })).rejects.toThrow(/JENKINS_JWT_SECRET: is 5 characters long/);
  });
});
