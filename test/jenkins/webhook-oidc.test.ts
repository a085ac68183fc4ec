import { createHash } from 'node:crypto';
import { startBot, type Bot } from './helpers/bot.js';
import { startJwksServer, type JwksServer } from './helpers/jwks-server.js';
import { pluginJwk, pluginToken, type PluginTokenOptions } from './helpers/oidc-plugin.js';
import { botReport } from './helpers/reports.js';
import { token } from './helpers/tokens.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/**
 * Jenkins' OIDC provider plugin as the bot meets it: an RS256 token with kid and typ, no jti,
 * sub = the job URL and build_number, verified through JENKINS_JWKS_URL = <issuer>/jwks on loopback.
 * Such a token is valid (and replayable) for an hour, so the build is what is single-use: one report per
 * (iss, sub, build_number).
 */
describe('POST /webhooks/jenkins with tokens of the Jenkins OIDC provider plugin', () => {
  let bot: Bot;
  let jwks: JwksServer;
  let issuer: string;
  let root: string;

  beforeAll(async () => {
    jwks = await startJwksServer({ keys: [pluginJwk()] }, { path: '/oidc/jwks' });
    root = jwks.root;
    issuer = `${root}oidc`;
    // The shared secret stays configured: HS256 tokens (release-bot notify) keep needing a jti.
    bot = await startBot({ JENKINS_JWKS_URL: jwks.url, JENKINS_JWT_ISSUER: issuer });
  }, 30_000);
  afterAll(async () => {
    await bot.stop();
    await jwks.close();
  });

  const minted = (o: PluginTokenOptions = {}) => pluginToken({ issuer, jobUrl: `${root}job/conjur-cli/`, ...o });
  const stageFiles = (version: string, content = `gem ${version}`) =>
    bot.stageFiles('conjur-cli', version, { [`conjur-cli-${version}.gem`]: content });
  const report = (version: string, content = `gem ${version}`, build: Record<string, unknown> = {}) =>
    botReport({ version, build: { number: 123, ...build }, artifacts: [{ path: `conjur-cli-${version}.gem`, sha256: sha(content) }] });
  const stagedEntries = (version: string) =>
    bot.running.app.audit.list({ project: 'conjur-cli', version, limit: 100 }).filter((e) => e.type === 'staged');
  const auditSize = () => bot.running.app.audit.list({ limit: 10_000 }).length;

  it('stages a report with a plugin token (kid, no jti, sub = job URL, build_number); its replay changes nothing; another report of the build is 409', async () => {
    const t = minted({ buildNumber: 123 });
    const payload = JSON.parse(Buffer.from(t.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    expect(Object.keys(payload).sort()).toEqual(['aud', 'build_number', 'exp', 'iat', 'iss', 'sub']);

    stageFiles('5.0.0');
    const first = await bot.post('/webhooks/jenkins', report('5.0.0'), bearer(t));
    expect(first.status).toBe(202);
    const staged = bot.running.app.staged.current('conjur-cli', '5.0.0');
    expect(staged).toMatchObject({ build: { job: 'conjur-cli', number: 123 } });
    expect(stagedEntries('5.0.0')).toHaveLength(1);

    // The replay (the same token and body, as someone who captured them would send) is answered and
    // looks at nothing: not even files changed in the staging directory since are taken up.
    stageFiles('5.0.0', 'a different gem');
    const before = auditSize();
    const replay = await bot.post('/webhooks/jenkins', report('5.0.0'), bearer(t));
    expect(replay.status).toBe(200);
    expect(replay.json).toMatchObject({ status: 'already-staged', project: 'conjur-cli', version: '5.0.0' });
    expect(bot.running.app.staged.current('conjur-cli', '5.0.0')).toEqual(staged);
    expect(auditSize()).toBe(before);

    // The same build reporting another version: with the same token or a fresh one, refused.
    stageFiles('5.0.1');
    for (const other of [t, minted({ buildNumber: 123, iat: Math.floor(Date.now() / 1000) - 5 })]) {
      const r = await bot.post('/webhooks/jenkins', report('5.0.1'), bearer(other));
      expect(r.status).toBe(409);
      expect(r.json.error).toMatch(/build 123 of conjur-cli already reported conjur-cli 5\.0\.0/);
    }
    // ...or the same version with other files.
    const otherBody = await bot.post('/webhooks/jenkins', report('5.0.0', 'a different gem'), bearer(t));
    expect(otherBody.status).toBe(409);
    expect(otherBody.json.error).toMatch(/with another body/);
    expect(bot.running.app.staged.current('conjur-cli', '5.0.1')).toBeUndefined();
    expect(bot.running.app.staged.current('conjur-cli', '5.0.0')).toEqual(staged);
    expect(auditSize()).toBe(before);

    // The next build may report the next version.
    const next = await bot.post('/webhooks/jenkins', report('5.0.1', 'gem 5.0.1', { number: 124 }), bearer(minted({ buildNumber: 124 })));
    expect(next.status).toBe(202);
  });

  it('refuses a token with neither jti nor build_number (401), and an HS256 token without jti', async () => {
    stageFiles('5.1.0');
    const noBuild = await bot.post('/webhooks/jenkins', report('5.1.0'), bearer(minted({ buildNumber: undefined })));
    expect(noBuild.status).toBe(401);
    expect(noBuild.json.error).toMatch(/neither a jti nor a build_number/);
    const hs = await bot.post(
      '/webhooks/jenkins',
      report('5.1.0'),
      bearer(token({ iss: issuer, jti: undefined, claims: { build_number: 200 } })),
    );
    expect(hs.status).toBe(401);
    expect(hs.json.error).toMatch(/no usable jti/);
    expect(bot.running.app.staged.current('conjur-cli', '5.1.0')).toBeUndefined();
    expect(stagedEntries('5.1.0')).toHaveLength(0);
  });

  it('stages with a token whose aud is a string, as older plugin versions send it (setAudience(String))', async () => {
    stageFiles('5.5.0');
    const t = minted({ buildNumber: 700, audienceAsString: true });
    expect(JSON.parse(Buffer.from(t.split('.')[1] as string, 'base64url').toString())).toMatchObject({ aud: 'release-bot' });
    expect((await bot.post('/webhooks/jenkins', report('5.5.0', 'gem 5.5.0', { number: 700 }), bearer(t))).status).toBe(202);
    const wrong = minted({ buildNumber: 701, audienceAsString: true, audience: 'another-service' });
    stageFiles('5.5.1');
    expect((await bot.post('/webhooks/jenkins', report('5.5.1', 'gem 5.5.1', { number: 701 }), bearer(wrong))).status).toBe(401);
    expect(bot.running.app.staged.current('conjur-cli', '5.5.1')).toBeUndefined();
  });

  it('refuses a report that names another build than the token was minted for', async () => {
    stageFiles('5.2.0');
    const r = await bot.post('/webhooks/jenkins', report('5.2.0', 'gem 5.2.0', { number: 301 }), bearer(minted({ buildNumber: 300 })));
    expect(r.status).toBe(403);
    expect(r.json.error).toMatch(/report is for build 301, and the token was minted for build 300/);
    expect(bot.running.app.staged.current('conjur-cli', '5.2.0')).toBeUndefined();
  });

  it('lets the build report again when staging failed (files not there yet)', async () => {
    const t = minted({ buildNumber: 400 });
    bot.stageFiles('conjur-cli', '5.3.0', {});
    const early = await bot.post('/webhooks/jenkins', report('5.3.0', 'gem 5.3.0', { number: 400 }), bearer(t));
    expect(early.status).toBe(422);
    stageFiles('5.3.0');
    expect((await bot.post('/webhooks/jenkins', report('5.3.0', 'gem 5.3.0', { number: 400 }), bearer(t))).status).toBe(202);
  });

  it('stages one of two reports of the same build sent at once', async () => {
    stageFiles('5.4.0');
    stageFiles('5.4.1');
    const t = minted({ buildNumber: 500 });
    const answers = await Promise.all(
      ['5.4.0', '5.4.1'].map((v) => bot.post('/webhooks/jenkins', report(v, `gem ${v}`, { number: 500 }), bearer(t))),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const staged = ['5.4.0', '5.4.1'].filter((v) => bot.running.app.staged.current('conjur-cli', v));
    expect(staged).toHaveLength(1);
  });

  it('matches sub to jenkins_job through folders: job/team/job/secretless/ is team/secretless, job/secretless/ is not', async () => {
    bot.stageFiles('secretless', '1.0.0', { 'secretless.tgz': 'tgz' });
    const body = botReport({
      project: 'secretless',
      version: '1.0.0',
      build: { job: undefined, number: 600 },
      artifacts: [{ path: 'secretless.tgz', sha256: sha('tgz') }],
    });
    const outside = await bot.post('/webhooks/jenkins', body, bearer(minted({ jobUrl: `${root}job/secretless/`, buildNumber: 600 })));
    expect(outside.status).toBe(403);
    expect(bot.running.app.staged.current('secretless', '1.0.0')).toBeUndefined();
    const inFolder = await bot.post(
      '/webhooks/jenkins',
      body,
      bearer(minted({ jobUrl: `${root}job/team/job/secretless/`, buildNumber: 600 })),
    );
    expect(inFolder.status).toBe(202);
    expect(bot.running.app.staged.current('secretless', '1.0.0')).toMatchObject({ build: { job: 'team/secretless', number: 600 } });
  });
});
