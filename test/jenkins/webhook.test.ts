import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CoreEventMap } from '../../src/release/events.js';
import { hubSignature } from '../../handlers/jenkins/hmac.js';
import { startBot, URL_TOKENS, type Bot } from './helpers/bot.js';
import { botReport, notification } from './helpers/reports.js';
import { HS_SECRET, nowSec, rsa, token, unsignedToken, WEBHOOK_SECRET } from './helpers/tokens.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const files = (entries: Record<string, string>) => Object.entries(entries).map(([p, content]) => ({ path: p, sha256: sha(content) }));

describe('POST /webhooks/jenkins (real HTTP to release-bot serve)', () => {
  let bot: Bot;
  const staged: CoreEventMap['staged'][0][] = [];
  const conflicts: CoreEventMap['stage-conflict'][0][] = [];
  const stagedRows = (project: string, version: string) =>
    bot.running.app.db.prepare('SELECT count(*) AS n FROM staged_builds WHERE project = ? AND version = ?').get(project, version) as {
      n: number;
    };
  const current = (project: string, version: string) => bot.running.app.staged.current(project, version);
  const lastAudit = () => bot.running.app.audit.list({ limit: 1 })[0];

  /** Stages files on disk and posts a bot-format report of them with a fresh token. */
  const report = async (
    version: string,
    content: Record<string, string>,
    over: Parameters<typeof botReport>[0] = {},
    tokenOver: Parameters<typeof token>[0] = {},
  ) => {
    bot.stageFiles('conjur-cli', version, content);
    return bot.post('/webhooks/jenkins', botReport({ version, artifacts: files(content), ...over }), bearer(token(tokenOver)));
  };

  beforeAll(async () => {
    bot = await startBot();
    bot.running.app.core.events.on('staged', (e) => staged.push(e));
    bot.running.app.core.events.on('stage-conflict', (e) => conflicts.push(e));
  });
  afterAll(async () => {
    await bot.stop();
  });

  describe('a good report', () => {
    it('is verified, recorded with its digests, audited, announced, and answered 202', async () => {
      const gem = 'gem bytes 4.2.0';
      const r = await report('4.2.0', { 'conjur-cli-4.2.0.gem': gem, 'checksums/SHA256SUMS': 'sums' });
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({
        status: 'staged',
        project: 'conjur-cli',
        version: '4.2.0',
        build: { job: 'conjur-cli', number: 123, commit: '9fceb02d0ae598e95dc970b74767f19372d61af8' },
        digests: { kind: 'files', files: expect.arrayContaining([{ path: 'conjur-cli-4.2.0.gem', sha256: sha(gem), size: gem.length }]) },
      });
      expect(current('conjur-cli', '4.2.0')).toMatchObject({ reportedBy: 'jenkins:conjur-cli (jwt)', build: { number: 123 } });
      expect(lastAudit()).toMatchObject({ type: 'staged', project: 'conjur-cli', version: '4.2.0', actor: { via: 'jenkins:conjur-cli' } });
      expect(staged.at(-1)).toMatchObject({ staged: { project: 'conjur-cli', version: '4.2.0' }, replaced: undefined });
    });

    it('the same build reported twice is one staged build (200 unchanged)', async () => {
      const before = staged.length;
      const r = await report('4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0', 'checksums/SHA256SUMS': 'sums' });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ status: 'unchanged', project: 'conjur-cli', version: '4.2.0' });
      expect(stagedRows('conjur-cli', '4.2.0').n).toBe(1);
      expect(staged.length).toBe(before);
    });

    it('a different build of a staged, unreleased version replaces it, and the channel is told', async () => {
      const r = await report('4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0 rebuilt' }, { build: { number: 124 } });
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ status: 'replaced', build: { number: 124 } });
      expect(current('conjur-cli', '4.2.0')?.build.number).toBe(124);
      expect(staged.at(-1)).toMatchObject({ staged: { build: { number: 124 } }, replaced: { build: { number: 123 } } });
    });

    it('accepts a job URL in sub, folders included, and records the job by full name', async () => {
      const content = { 'secretless-1.0.0.tgz': 'secretless' };
      bot.stageFiles('secretless', '1.0.0', content);
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({ project: 'secretless', version: '1.0.0', build: { job: undefined }, artifacts: files(content) }),
        bearer(token({ sub: 'https://jenkins.example/job/team/job/secretless/' })),
      );
      expect(r.status).toBe(202);
      expect(current('secretless', '1.0.0')).toMatchObject({
        build: { job: 'team/secretless' },
        reportedBy: 'jenkins:team/secretless (jwt)',
      });
    });
  });

  describe('authentication', () => {
    it('refuses a replayed jti (401) and changes nothing', async () => {
      const content = { 'conjur-cli-6.0.0.gem': 'six' };
      bot.stageFiles('conjur-cli', '6.0.0', content);
      const body = botReport({ version: '6.0.0', artifacts: files(content) });
      const t = token({ jti: 'replayed-jti-0001' });
      expect((await bot.post('/webhooks/jenkins', body, bearer(t))).status).toBe(202);
      const again = await bot.post('/webhooks/jenkins', body, bearer(t));
      expect(again.status).toBe(401);
      expect(again.json).toMatchObject({ code: 'WEBHOOK_UNAUTHENTICATED', error: expect.stringMatching(/already used \(same jti\)/) });
      // Even another token with the same jti (say, re-minted by an attacker who has the secret's output) is refused.
      const other = await bot.post('/webhooks/jenkins', body, bearer(token({ jti: 'replayed-jti-0001', exp: nowSec() + 200 })));
      expect(other.status).toBe(401);
      expect(stagedRows('conjur-cli', '6.0.0').n).toBe(1);
    });

    it.each([
      ['an expired token', () => token({ exp: nowSec() - 120, iat: nowSec() - 600 }), /expired/],
      [
        'alg none',
        () => unsignedToken({ sub: 'conjur-cli', aud: 'release-bot', jti: 'none-jti-0001', exp: nowSec() + 60 }),
        /not a signed JWT/,
      ],
      [
        'alg none with a dummy signature',
        () => `${unsignedToken({ sub: 'conjur-cli', aud: 'release-bot', jti: 'none-jti-0002', exp: nowSec() + 60 })}eA`,
        /algorithm "none" is not accepted/,
      ],
      ['a wrong audience', () => token({ aud: 'some-other-service' }), /audience/],
      ['another secret', () => token({ key: `${HS_SECRET}-guess` }), /signature is invalid/],
      [
        'an RS256 token (no public key configured)',
        () => token({ algorithm: 'RS256', key: rsa.privateKey }),
        /RS256" is not accepted: this bot accepts HS256/,
      ],
      ['a token for another body', () => token({ body: '{"project":"conjur-cli","version":"9.9.9"}' }), /another request body/],
    ])('refuses %s with 401, staging nothing', async (_what, mint, why) => {
      const content = { 'conjur-cli-7.0.0.gem': 'seven' };
      bot.stageFiles('conjur-cli', '7.0.0', content);
      const r = await bot.post('/webhooks/jenkins', botReport({ version: '7.0.0', artifacts: files(content) }), bearer(mint()));
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(r.json).toMatchObject({ status: 'error', code: 'WEBHOOK_UNAUTHENTICATED', error: expect.stringMatching(why) });
      expect(current('conjur-cli', '7.0.0')).toBeUndefined();
    });

    it('refuses a request without credentials, or with a malformed Authorization header', async () => {
      const body = botReport({ version: '7.0.0', artifacts: files({ 'conjur-cli-7.0.0.gem': 'seven' }) });
      const none = await bot.post('/webhooks/jenkins', body);
      expect(none.status).toBe(401);
      expect(none.json.error).toMatch(/no credentials/);
      const basic = await bot.post('/webhooks/jenkins', body, { authorization: 'Basic YWRtaW46YWRtaW4=' });
      expect(basic.status).toBe(401);
      expect(basic.json.error).toMatch(/must be "Bearer <JWT>"/);
    });

    it('accepts a token bound to its exact body (body_sha256)', async () => {
      const content = { 'conjur-cli-7.1.0.gem': 'seven one' };
      bot.stageFiles('conjur-cli', '7.1.0', content);
      const raw = JSON.stringify(botReport({ version: '7.1.0', artifacts: files(content) }));
      const r = await bot.post('/webhooks/jenkins', raw, bearer(token({ body: raw })));
      expect(r.status).toBe(202);
    });
  });

  describe('the job check', () => {
    it("refuses a job reporting another project's build (403)", async () => {
      const content = { 'secretless-2.0.0.tgz': 'two' };
      bot.stageFiles('secretless', '2.0.0', content);
      const body = botReport({ project: 'secretless', version: '2.0.0', build: { job: undefined }, artifacts: files(content) });
      for (const sub of [
        'conjur-cli',
        'secretless',
        'https://jenkins.example/job/evil/job/secretless/',
        'https://jenkins.example/job/team/job/secretless/123/',
      ]) {
        const r = await bot.post('/webhooks/jenkins', body, bearer(token({ sub })));
        expect(r.status).toBe(403);
        expect(r.json).toMatchObject({
          code: 'WEBHOOK_FORBIDDEN',
          error: expect.stringMatching(/may not report builds of secretless: its jenkins_job is team\/secretless/),
        });
      }
      expect(current('secretless', '2.0.0')).toBeUndefined();
    });

    it('refuses a payload whose build.job contradicts the token (403)', async () => {
      const content = { 'conjur-cli-7.2.0.gem': 'x' };
      bot.stageFiles('conjur-cli', '7.2.0', content);
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({ version: '7.2.0', build: { job: 'team/secretless' }, artifacts: files(content) }),
        bearer(token()),
      );
      expect(r.status).toBe(403);
      expect(current('conjur-cli', '7.2.0')).toBeUndefined();
    });

    it('answers 404 for an unknown project', async () => {
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({ project: 'nope', artifacts: files({ a: 'a' }) }),
        bearer(token({ sub: 'nope' })),
      );
      expect(r.status).toBe(404);
      expect(r.json).toMatchObject({ code: 'UNKNOWN_PROJECT' });
    });
  });

  describe('verification at staging', () => {
    it.each([
      ['../x', 400],
      ['/etc/passwd', 400],
      ['a/../../x', 400],
      ['./conjur-cli-8.0.0.gem', 400],
    ])('refuses the path %j (%i), reading nothing outside the staging directory', async (p, status) => {
      bot.stageFiles('conjur-cli', '8.0.0', { 'conjur-cli-8.0.0.gem': 'eight' });
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({ version: '8.0.0', artifacts: [{ path: p, sha256: sha('eight') }] }),
        bearer(token()),
      );
      expect(r.status).toBe(status);
      expect(r.json).toMatchObject({ code: 'BAD_INPUT', error: expect.stringMatching(/artifact path/) });
      expect(current('conjur-cli', '8.0.0')).toBeUndefined();
      expect(lastAudit()).toMatchObject({ type: 'stage-refused', version: '8.0.0', data: { code: 'BAD_INPUT' } });
    });

    it('refuses a symlink pointing out of the staging directory (422)', async () => {
      const dir = bot.stageFiles('conjur-cli', '8.1.0', { 'conjur-cli-8.1.0.gem': 'gem' });
      const outside = path.join(bot.tmpDir, 'outside-secret.txt');
      writeFileSync(outside, 'not an artifact');
      symlinkSync(outside, path.join(dir, 'link.txt'));
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({
          version: '8.1.0',
          artifacts: [
            { path: 'link.txt', sha256: sha('not an artifact') },
            { path: 'conjur-cli-8.1.0.gem', sha256: sha('gem') },
          ],
        }),
        bearer(token()),
      );
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({ code: 'ARTIFACT_MISMATCH', error: expect.stringMatching(/link\.txt .* is a symlink/) });
      expect(current('conjur-cli', '8.1.0')).toBeUndefined();
    });

    it('refuses a version directory that is itself a symlink out (422)', async () => {
      const elsewhere = path.join(bot.tmpDir, 'elsewhere');
      mkdirSync(elsewhere);
      writeFileSync(path.join(elsewhere, 'a.gem'), 'a');
      mkdirSync(path.join(bot.staging, 'conjur-cli'), { recursive: true });
      symlinkSync(elsewhere, path.join(bot.staging, 'conjur-cli', '8.2.0'));
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({ version: '8.2.0', artifacts: [{ path: 'a.gem', sha256: sha('a') }] }),
        bearer(token()),
      );
      expect(r.status).toBe(422);
      expect(current('conjur-cli', '8.2.0')).toBeUndefined();
    });

    it('refuses a digest mismatch (422), listing the problem', async () => {
      bot.stageFiles('conjur-cli', '8.3.0', { 'conjur-cli-8.3.0.gem': 'what is on disk' });
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({ version: '8.3.0', artifacts: [{ path: 'conjur-cli-8.3.0.gem', sha256: sha('what jenkins built') }] }),
        bearer(token()),
      );
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({
        code: 'ARTIFACT_MISMATCH',
        problems: [expect.stringMatching(/conjur-cli-8\.3\.0\.gem has sha256 .*, the build reported/)],
      });
      expect(current('conjur-cli', '8.3.0')).toBeUndefined();
    });

    it('refuses an extra file beside the reported ones (422)', async () => {
      bot.stageFiles('conjur-cli', '8.4.0', { 'conjur-cli-8.4.0.gem': 'gem', 'backdoor.sh': 'echo' });
      const r = await bot.post(
        '/webhooks/jenkins',
        botReport({ version: '8.4.0', artifacts: files({ 'conjur-cli-8.4.0.gem': 'gem' }) }),
        bearer(token()),
      );
      expect(r.status).toBe(422);
      expect(r.json.problems).toEqual(['backdoor.sh is in the staging directory but was not reported']);
    });

    it('refuses a report of files that are not there (422)', async () => {
      bot.stageFiles('conjur-cli', '8.5.0', { 'conjur-cli-8.5.0.gem': 'gem' });
      const missing = await bot.post(
        '/webhooks/jenkins',
        botReport({ version: '8.5.0', artifacts: files({ 'conjur-cli-8.5.0.gem': 'gem', 'conjur-cli-8.5.0.sig': 'sig' }) }),
        bearer(token()),
      );
      expect(missing.status).toBe(422);
      expect(missing.json.problems).toEqual(['conjur-cli-8.5.0.sig was reported but is not in the staging directory']);
      const nothing = await bot.post('/webhooks/jenkins', botReport({ version: '8.6.0', artifacts: files({ a: 'a' }) }), bearer(token()));
      expect(nothing.status).toBe(422);
      expect(nothing.json).toMatchObject({ code: 'NOT_STAGED' });
    });

    it('refuses a different build of a released version (409), flags it, and keeps the staged build', async () => {
      const gem = { 'conjur-cli-5.0.0.gem': 'released bytes' };
      expect((await report('5.0.0', gem)).status).toBe(202);
      const summary = await bot.running.app.core.release('conjur-cli', '5.0.0', { login: 'alice', via: 'cli' });
      expect(summary.state).toBe('published');
      const r = await report('5.0.0', { 'conjur-cli-5.0.0.gem': 'other bytes' }, { build: { number: 999 } });
      expect(r.status).toBe(409);
      expect(r.json).toMatchObject({ code: 'CONFLICT', error: expect.stringMatching(/already released/) });
      expect(conflicts.at(-1)).toMatchObject({
        version: '5.0.0',
        releasedBy: 'alice',
        build: { number: 999 },
        reportedBy: 'jenkins:conjur-cli (jwt)',
      });
      expect(current('conjur-cli', '5.0.0')?.artifact).toMatchObject({ files: [{ sha256: sha('released bytes') }] });
      expect(lastAudit()).toMatchObject({ type: 'stage-refused', data: { code: 'CONFLICT' } });
    });
  });

  describe('transport', () => {
    it('refuses a body over 1 MB with 413', async () => {
      const huge = JSON.stringify(botReport({ version: '9.0.0', padding: 'x'.repeat(1024 * 1024) }));
      const r = await bot.post('/webhooks/jenkins', huge, bearer(token()));
      expect(r.status).toBe(413);
    });

    it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/json; charset=latin1'], ['']])(
      'refuses content type %j with 415',
      async (type) => {
        const r = await fetch(`${bot.url}/webhooks/jenkins`, {
          method: 'POST',
          headers: { ...(type ? { 'content-type': type } : {}), ...bearer(token()) },
          body: '{}',
        });
        expect(r.status).toBe(415);
      },
    );

    it('refuses bodies that are not JSON, or malformed reports, with 400 and the issues listed', async () => {
      const notJson = await bot.post('/webhooks/jenkins', '{"project":', bearer(token()));
      expect(notJson.status).toBe(400);
      expect(notJson.json.error).toBe('the body is not valid JSON');
      const hostile = `<img src=x onerror=alert(1)>${'A'.repeat(5000)}`;
      const bad = await bot.post(
        '/webhooks/jenkins',
        {
          project: 'conjur-cli',
          version: 42,
          build: { number: 'x', url: hostile },
          artifacts: [{ path: 'a', sha256: 'nothex' }],
          [hostile]: true,
        },
        bearer(token()),
      );
      expect(bad.status).toBe(400);
      expect(bad.json.issues).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^version:/),
          expect.stringMatching(/^build\.number:/),
          expect.stringMatching(/^build\.url:/),
          expect.stringMatching(/^artifacts\[0\]\.sha256:/),
        ]),
      );
      expect(bad.raw).not.toContain('A'.repeat(200));
    });

    it('answers other methods and paths itself, never quoting the path', async () => {
      const t = URL_TOKENS['conjur-cli'];
      const get = await fetch(`${bot.url}/webhooks/jenkins/${t}`);
      expect(get.status).toBe(405);
      const deeper = await bot.post(`/webhooks/jenkins/${t}/extra`, {});
      expect(deeper.status).toBe(404);
      const badEncoding = await bot.post(`/webhooks/jenkins/${t}%E0%A4%A`, {});
      expect(badEncoding.status).toBe(400);
      for (const r of [await get.text(), deeper.raw, badEncoding.raw]) expect(r).not.toContain(t);
    });
  });

  describe('HMAC (X-Hub-Signature-256)', () => {
    const signedPost = (body: unknown, secret = WEBHOOK_SECRET) => {
      const raw = JSON.stringify(body);
      return bot.post('/webhooks/jenkins', raw, { 'x-hub-signature-256': hubSignature(Buffer.from(raw), secret) });
    };

    it("stages a report signed with the shared secret; the job is the payload's build.job", async () => {
      const content = { 'conjur-cli-10.0.0.gem': 'ten' };
      bot.stageFiles('conjur-cli', '10.0.0', content);
      const r = await signedPost(botReport({ version: '10.0.0', artifacts: files(content) }));
      expect(r.status).toBe(202);
      expect(current('conjur-cli', '10.0.0')?.reportedBy).toBe('jenkins:conjur-cli (hmac)');
    });

    it('refuses a forged signature (401), and a signed report naming no or another job (403)', async () => {
      const content = { 'conjur-cli-10.1.0.gem': 'ten one' };
      bot.stageFiles('conjur-cli', '10.1.0', content);
      const body = botReport({ version: '10.1.0', artifacts: files(content) });
      expect((await signedPost(body, `${WEBHOOK_SECRET}-forged`)).status).toBe(401);
      const raw = JSON.stringify(body);
      const tampered = await bot.post('/webhooks/jenkins', raw.replace('10.1.0', '10.1.1'), {
        'x-hub-signature-256': hubSignature(Buffer.from(raw), WEBHOOK_SECRET),
      });
      expect(tampered.status).toBe(401);
      const noJob = await signedPost(botReport({ version: '10.1.0', build: { job: undefined }, artifacts: files(content) }));
      expect(noJob.status).toBe(403);
      expect(noJob.json.error).toMatch(/must name its job in build\.job/);
      const otherJob = await signedPost(botReport({ version: '10.1.0', build: { job: 'team/secretless' }, artifacts: files(content) }));
      expect(otherJob.status).toBe(403);
      expect(current('conjur-cli', '10.1.0')).toBeUndefined();
    });
  });

  describe('the Notification plugin (POST /webhooks/jenkins/<token>)', () => {
    const tokenRoute = (project: keyof typeof URL_TOKENS) => `/webhooks/jenkins/${URL_TOKENS[project]}`;

    it('acknowledges and ignores a phase that is not a successful end, staging nothing', async () => {
      bot.stageFiles('conjur-cli', '11.0.0', { 'conjur-cli-11.0.0.gem': 'eleven' });
      for (const build of [
        { phase: 'STARTED', status: 'SUCCESS' },
        { phase: 'COMPLETED', status: 'FAILURE' },
        { phase: 'QUEUED', status: undefined },
      ]) {
        const r = await bot.post(tokenRoute('conjur-cli'), notification({ build, parameters: { VERSION: '11.0.0' } }));
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({
          status: 'ignored',
          reason: expect.stringMatching(/only a COMPLETED or FINALIZED build with status SUCCESS is staged/),
        });
      }
      expect(current('conjur-cli', '11.0.0')).toBeUndefined();
    });

    it('stages a COMPLETED SUCCESS build, taking the digests at staging; FINALIZED after it changes nothing', async () => {
      const gem = 'eleven';
      const r = await bot.post(tokenRoute('conjur-cli'), notification({ parameters: { VERSION: '11.0.0' } }));
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({
        status: 'staged',
        project: 'conjur-cli',
        version: '11.0.0',
        digests: { files: [{ path: 'conjur-cli-11.0.0.gem', sha256: sha(gem) }] },
      });
      expect(current('conjur-cli', '11.0.0')).toMatchObject({
        reportedBy: 'jenkins:conjur-cli (url-token)',
        build: { number: 123, url: 'https://jenkins.example/job/conjur-cli/123/' },
      });
      const finalized = await bot.post(
        tokenRoute('conjur-cli'),
        notification({ build: { phase: 'FINALIZED' }, parameters: { VERSION: '11.0.0' } }),
      );
      expect(finalized.status).toBe(200);
      expect(finalized.json.status).toBe('unchanged');
      expect(stagedRows('conjur-cli', '11.0.0').n).toBe(1);
    });

    it("maps a folder job by its url, and refuses another project's job or token (403), an unknown token (401)", async () => {
      bot.stageFiles('secretless', '3.0.0', { 'secretless-3.0.0.tgz': 'three' });
      const folder = notification({ name: 'secretless', url: 'job/team/job/secretless/', parameters: { VERSION: '3.0.0' } });
      const wrongToken = await bot.post(tokenRoute('conjur-cli'), folder);
      expect(wrongToken.status).toBe(403);
      const wrongFolder = await bot.post(
        tokenRoute('secretless'),
        notification({ name: 'secretless', url: 'job/evil/job/secretless/', parameters: { VERSION: '3.0.0' } }),
      );
      expect(wrongFolder.status).toBe(403);
      const unknown = await bot.post(`/webhooks/jenkins/${'z'.repeat(40)}`, folder);
      expect(unknown.status).toBe(401);
      expect(current('secretless', '3.0.0')).toBeUndefined();
      const ok = await bot.post(tokenRoute('secretless'), folder);
      expect(ok.status).toBe(202);
      expect(current('secretless', '3.0.0')?.build.job).toBe('team/secretless');
    });

    it('says which parameter is missing', async () => {
      const r = await bot.post(tokenRoute('conjur-cli'), notification({ build: { parameters: { OTHER: 'x' } } }));
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(/no VERSION parameter/);
    });

    it('on the bearer route, maps a multibranch job to its project and reads its version_parameter', async () => {
      bot.stageFiles('summon', '0.9.0', { 'summon.tar.gz': 'summon' });
      const body = notification({ name: 'v0.9.0', url: 'job/summon/job/v0.9.0/', parameters: { RELEASE_VERSION: '0.9.0' } });
      const r = await bot.post('/webhooks/jenkins', body, bearer(token({ sub: 'https://jenkins.example/job/summon/job/v0.9.0/' })));
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ project: 'summon', version: '0.9.0', build: { job: 'summon/v0.9.0' } });
    });
  });

  it('never lets a secret or a URL token reach a log line or the database', () => {
    // The database files; the quarantine (a directory beside them) holds only staged artifacts.
    const db = readdirSync(bot.dataDir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(path.join(bot.dataDir, e.name)).toString('latin1'))
      .join('\n');
    const logs = bot.logs.join('');
    expect(logs).toContain('jenkins report'); // the scan read real log lines
    for (const text of [logs, db]) {
      for (const secret of [HS_SECRET, WEBHOOK_SECRET, ...Object.values(URL_TOKENS)]) expect(text).not.toContain(secret);
    }
  });
});
