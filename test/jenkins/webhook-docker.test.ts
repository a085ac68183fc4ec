import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashUrlToken } from '../../handlers/jenkins/url-token.js';
import { runCli, type CliResult } from '../support/cli.js';
import { pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { project } from '../support/projects-file.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { startBot, type Bot } from './helpers/bot.js';
import { botReport, notification } from './helpers/reports.js';
import { HS_SECRET, token } from './helpers/tokens.js';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
/** The docker project's Notification URL token (a canary: it must never reach a log). */
const IMG_URL_TOKEN = `urltoken-canary-${'i'.repeat(24)}`;

/**
 * Docker staging through the webhook: a real docker-registry on loopback holds images built with
 * umoci and pushed with skopeo; the bot must take the digest with `skopeo inspect` of the staged image
 * (recorded by a wrapper first on PATH) and stage only what the registry really serves, from its
 * project's `image.repository`.
 */
describe('POST /webhooks/jenkins for a docker project (real registry, real skopeo)', () => {
  const tmp = makeTmpDir('release-bot-webhook-docker-');
  let registry: TestRegistry;
  let bot: Bot;
  let repository: string;
  let built: PushedImage;
  let other: PushedImage;
  let argvLog: string;
  let savedPath: string | undefined;

  const current = (version: string) => bot.running.app.staged.current('conjur-img', version);
  const lastAudit = () => bot.running.app.audit.list({ limit: 1 })[0];
  /** Every `skopeo inspect` the bot ran, as its last argument (the image it looked at). */
  const inspected = () =>
    (existsSync(argvLog) ? readFileSync(argvLog, 'utf8').trim().split('\n') : [])
      .filter((l) => l.startsWith('inspect '))
      .map((l) => l.split(' ').at(-1));
  const push = (tag: string, image = built) =>
    pushTinyImage({ workDir: tmp.dir, host: registry.host, path: 'builds/conjur-img', tag, image: image.image });

  beforeAll(async () => {
    const skopeo = requireBinary('skopeo', 'skopeo');
    requireBinary('umoci', 'umoci');
    registry = await startRegistry();
    repository = `${registry.host}/builds/conjur-img`;
    built = await pushTinyImage({
      workDir: tmp.dir,
      host: registry.host,
      path: 'builds/conjur-img',
      tag: '4.2.0',
      content: 'the build Jenkins reported\n',
    });
    other = await pushTinyImage({
      workDir: tmp.dir,
      host: registry.host,
      path: 'builds/conjur-img',
      tag: 'other',
      content: 'another build\n',
    });
    expect(other.digest).not.toBe(built.digest);

    const bin = path.join(tmp.dir, 'bin');
    mkdirSync(bin);
    argvLog = path.join(tmp.dir, 'skopeo-argv.log');
    writeFileSync(path.join(bin, 'skopeo'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${skopeo}' "$@"\n`);
    chmodSync(path.join(bin, 'skopeo'), 0o755);
    savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${process.env.PATH}`;

    bot = await startBot(
      {},
      {
        extraProjects: {
          'conjur-img': project('conjur-img', [{ name: 'script', type: 'exec', command: ['/bin/true'] }], {
            artifact: 'docker',
            notification_token_sha256: hashUrlToken(IMG_URL_TOKEN),
            image: { repository, tls_verify: false },
          }),
        },
      },
    );
  });

  afterAll(async () => {
    process.env.PATH = savedPath;
    await bot?.stop();
    await registry?.stop();
    tmp.cleanup();
  });

  const imageReport = (version: string, image: Record<string, unknown>) =>
    botReport({ project: 'conjur-img', version, build: { job: 'conjur-img' }, image });
  const postImage = (version: string, image: Record<string, unknown>) =>
    bot.post('/webhooks/jenkins', imageReport(version, image), bearer(token({ sub: 'conjur-img' })));

  describe("the bot's format: image { ref, digest }", () => {
    it('inspects the staged image with skopeo and stages it by its digest when the build reported that digest (202)', async () => {
      const r = await postImage('4.2.0', { ref: built.ref, digest: built.digest });
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({
        status: 'staged',
        project: 'conjur-img',
        version: '4.2.0',
        digests: { kind: 'docker', ref: repository, digest: built.digest },
      });
      expect(current('4.2.0')?.artifact).toEqual({ kind: 'docker', ref: repository, digest: built.digest, tlsVerify: false });
      expect(lastAudit()).toMatchObject({ type: 'staged', project: 'conjur-img', version: '4.2.0' });
      expect(inspected()).toEqual([`docker://${built.ref}`]);
    });

    it('takes the digest from the registry when the build reported none', async () => {
      const tagged = await push('4.3.0', other);
      const r = await postImage('4.3.0', { ref: tagged.ref });
      expect(r.status).toBe(202);
      // Only skopeo inspect of the registry can have told the bot this digest: the report had none.
      expect(r.json).toMatchObject({ digests: { kind: 'docker', ref: repository, digest: other.digest } });
      expect(inspected().at(-1)).toBe(`docker://${tagged.ref}`);
    });

    it('refuses an image whose registry digest is not the one reported (422), naming both, and stages nothing', async () => {
      await push('4.4.0');
      const r = await postImage('4.4.0', { ref: `${repository}:4.4.0`, digest: other.digest });
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({
        code: 'ARTIFACT_MISMATCH',
        error: `the staged image ${repository}:4.4.0 has digest ${built.digest}, the build reported ${other.digest}`,
      });
      expect(inspected().at(-1)).toBe(`docker://${repository}:4.4.0`);
      expect(current('4.4.0')).toBeUndefined();
      expect(lastAudit()).toMatchObject({ type: 'stage-refused', version: '4.4.0', data: { code: 'ARTIFACT_MISMATCH' } });
    });

    it('refuses a digest the repository does not hold, by digest reference (422)', async () => {
      const r = await postImage('4.4.1', { ref: `${repository}@${'sha256:'}${'0'.repeat(64)}` });
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({ code: 'NOT_FOUND' });
      expect(current('4.4.1')).toBeUndefined();
    });

    it('refuses a tag that was never pushed (422)', async () => {
      const r = await postImage('4.5.0', { ref: `${repository}:4.5.0`, digest: built.digest });
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({ code: 'NOT_FOUND' });
      expect(current('4.5.0')).toBeUndefined();
    });

    it.each([
      ['another repository on the same registry', '127.0.0.1', 'evil/conjur-img'],
      ['a repository whose name only starts like it', '127.0.0.1', 'builds/conjur-img-evil'],
      ['a repository nested under it', '127.0.0.1', 'builds/conjur-img/evil'],
      ['the same repository under another host name', 'localhost', 'builds/conjur-img'],
    ])("refuses an image outside the project's image.repository: %s (403), without inspecting it", async (_what, hostname, repoPath) => {
      // The image really is there with the reported digest: only the repository check can refuse it.
      await pushTinyImage({ workDir: tmp.dir, host: registry.host, path: repoPath, tag: '4.6.0', image: built.image });
      const ref = `${hostname}:${registry.port}/${repoPath}:4.6.0`;
      const before = inspected().length;
      const r = await postImage('4.6.0', { ref, digest: built.digest });
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({
        code: 'WEBHOOK_FORBIDDEN',
        error: `image ${ref} is not in conjur-img's staging repository ${repository}`,
      });
      expect(inspected().length).toBe(before);
      expect(current('4.6.0')).toBeUndefined();
      expect(lastAudit()).toMatchObject({ type: 'stage-refused', version: '4.6.0', data: { code: 'WEBHOOK_FORBIDDEN' } });
    });

    it('refuses files for a docker project, and an image for a files project (400)', async () => {
      const files = await bot.post(
        '/webhooks/jenkins',
        botReport({
          project: 'conjur-img',
          version: '4.7.0',
          build: { job: 'conjur-img' },
          artifacts: [{ path: 'a.tar', sha256: 'a'.repeat(64) }],
        }),
        bearer(token({ sub: 'conjur-img' })),
      );
      expect(files.status).toBe(400);
      expect(files.json.error).toMatch(/conjur-img is a docker project: report image\.ref/);
      const image = await bot.post(
        '/webhooks/jenkins',
        botReport({ version: '4.7.0', image: { ref: built.ref, digest: built.digest } }),
        bearer(token()),
      );
      expect(image.status).toBe(400);
      expect(image.json.error).toMatch(/conjur-cli is a files project/);
      expect(current('4.7.0')).toBeUndefined();
    });
  });

  describe('the Notification plugin format (no digest: the image is expected under its version tag)', () => {
    const route = `/webhooks/jenkins/${IMG_URL_TOKEN}`;
    const completed = (version: string) =>
      notification({ name: 'conjur-img', url: 'job/conjur-img/', parameters: { VERSION: version }, build: { artifacts: {} } });

    it('inspects <image.repository>:<version> and stages it with the registry digest (202)', async () => {
      await push('5.0.0', other);
      const r = await bot.post(route, completed('5.0.0'));
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({
        status: 'staged',
        project: 'conjur-img',
        version: '5.0.0',
        digests: { kind: 'docker', ref: repository, digest: other.digest },
      });
      expect(current('5.0.0')).toMatchObject({
        reportedBy: 'jenkins:conjur-img (url-token)',
        artifact: { kind: 'docker', digest: other.digest },
      });
      expect(inspected().at(-1)).toBe(`docker://${repository}:5.0.0`);
    });

    it('answers 422 when no image was pushed under the version tag', async () => {
      const r = await bot.post(route, completed('5.1.0'));
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({ code: 'NOT_FOUND' });
      expect(inspected().at(-1)).toBe(`docker://${repository}:5.1.0`);
      expect(current('5.1.0')).toBeUndefined();
    });

    it('a re-pushed tag with another digest is a new build that replaces the staged one (202 replaced)', async () => {
      await push('5.0.0', built);
      const r = await bot.post(route, completed('5.0.0'));
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ status: 'replaced', digests: { digest: built.digest } });
    });
  });

  describe('release-bot notify --image (a process) against the running bot', () => {
    const outputs: string[] = [];
    const notify = async (version: string, ...args: string[]): Promise<CliResult> => {
      const r = await runCli(
        [
          'notify',
          '--url',
          bot.url,
          '--project',
          'conjur-img',
          '--version',
          version,
          '--job',
          'conjur-img',
          '--build-number',
          '77',
          ...args,
        ],
        { JENKINS_JWT_SECRET: HS_SECRET },
      );
      outputs.push(r.stdout, r.stderr);
      return r;
    };

    it('exits 0 when the registry serves the reported digest, printing it', async () => {
      const tagged = await push('6.0.0');
      const r = await notify('6.0.0', '--image', tagged.ref, '--image-digest', built.digest);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`staged: conjur-img 6.0.0\n  ${repository}@${built.digest}\n`);
      expect(current('6.0.0')).toMatchObject({
        build: { job: 'conjur-img', number: 77 },
        artifact: { digest: built.digest },
        reportedBy: 'jenkins:conjur-img (jwt)',
      });
      expect(inspected().at(-1)).toBe(`docker://${tagged.ref}`);
    });

    it('exits 0 without --image-digest, printing the digest the bot took', async () => {
      const tagged = await push('6.1.0', other);
      const r = await notify('6.1.0', '--image', tagged.ref);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`staged: conjur-img 6.1.0\n  ${repository}@${other.digest}\n`);
    });

    it('exits 65 when the registry holds another digest', async () => {
      const tagged = await push('6.2.0');
      const r = await notify('6.2.0', '--image', tagged.ref, '--image-digest', other.digest);
      expect(r.code).toBe(65);
      expect(r.stderr).toBe(
        `release-bot: HTTP 422: the staged image ${tagged.ref} has digest ${built.digest}, the build reported ${other.digest} [ARTIFACT_MISMATCH]\n`,
      );
      expect(current('6.2.0')).toBeUndefined();
    });

    it("exits 77 for an image outside the project's repository (403)", async () => {
      const outside = await pushTinyImage({
        workDir: tmp.dir,
        host: registry.host,
        path: 'evil/conjur-img',
        tag: '6.3.0',
        image: built.image,
      });
      const r = await notify('6.3.0', '--image', outside.ref, '--image-digest', built.digest);
      expect(r.code).toBe(77);
      expect(r.stderr).toMatch(
        /^release-bot: HTTP 403: image .*\/evil\/conjur-img:6\.3\.0 is not in conjur-img's staging repository .* \[WEBHOOK_FORBIDDEN\]/,
      );
      expect(current('6.3.0')).toBeUndefined();
    });

    it('never prints the secret', () => {
      expect(outputs.join('')).toContain('conjur-img');
      expect(outputs.join('')).not.toContain(HS_SECRET);
    });
  });

  it('never lets a secret or the URL token reach a log line', () => {
    const logs = bot.logs.join('');
    expect(logs).toContain('jenkins report');
    for (const secret of [HS_SECRET, IMG_URL_TOKEN]) expect(logs).not.toContain(secret);
  });
});
