import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inspectDigest, inspectManifest, writeAuthFile } from '../../src/staging/skopeo.js';
import { buildMultiArchImage, pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { project } from '../support/projects-file.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { startBot, type Bot } from './helpers/bot.js';
import { botReport } from './helpers/reports.js';
import { token } from './helpers/tokens.js';

const USER = 'multiarch-pusher';
const PASSWORD = 'canary-multiarch-registry-pw-2d8e4f6a0c';

/**
 * Issue 13's multi-arch case end to end: an OCI index of two platforms that are not the release
 * machine's (linux/s390x, linux/ppc64le; built with umoci, pushed with skopeo) is reported by a
 * signed webhook to a running serve, staged with its index digest, released by a member of the
 * project's group to a second real docker-registry behind basic auth (credentials from Conjur), and
 * read back from there as the same raw index.
 */
describe('a multi-arch image: webhook staging to publishing on a real registry', () => {
  const tmp = makeTmpDir('release-bot-webhook-multiarch-');
  let staging: TestRegistry;
  let dest: TestRegistry;
  let bot: Bot;
  let image: PushedImage;

  beforeAll(async () => {
    requireBinary('skopeo', 'skopeo');
    requireBinary('umoci', 'umoci');
    [staging, dest] = await Promise.all([startRegistry(), startRegistry({ auth: { username: USER, password: PASSWORD } })]);
    image = await pushTinyImage({
      workDir: tmp.dir,
      host: staging.host,
      path: 'builds/conjur-multi',
      tag: '7.0.0',
      image: await buildMultiArchImage(tmp.dir),
    });
    bot = await startBot(
      {},
      {
        extraProjects: {
          'conjur-multi': project(
            'conjur-multi',
            [
              {
                name: 'registry',
                type: 'docker',
                repository: `${dest.host}/org/conjur-multi`,
                tls_verify: false,
                credentials: { REGISTRY_USERNAME: 'release/registry/user', REGISTRY_PASSWORD: 'release/registry/password' },
              },
            ],
            { artifact: 'docker', image: { repository: `${staging.host}/builds/conjur-multi`, tls_verify: false } },
          ),
        },
      },
    );
    bot.conjur.addMember('release/conjur-multi', 'user:alice');
    bot.conjur.setVariable('release/registry/user', USER, ['host:release-bot']);
    bot.conjur.setVariable('release/registry/password', PASSWORD, ['host:release-bot']);
  });

  afterAll(async () => {
    await bot?.stop();
    await Promise.all([staging?.stop(), dest?.stop()]);
    tmp.cleanup();
  });

  it('stages with the index digest and publishes the same index, every platform included', async () => {
    const platforms = image.image.platforms ?? {};
    expect(Object.keys(platforms)).toEqual(['linux/s390x', 'linux/ppc64le']);

    const report = botReport({
      project: 'conjur-multi',
      version: '7.0.0',
      build: { job: 'conjur-multi' },
      image: { ref: image.ref, digest: image.digest },
    });
    const r = await bot.post('/webhooks/jenkins', report, { authorization: `Bearer ${token({ sub: 'conjur-multi' })}` });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'staged', digests: { kind: 'docker', digest: image.digest } });

    const summary = await bot.running.app.core.release('conjur-multi', '7.0.0', { login: 'alice', via: 'cli' });
    expect(summary.state).toBe('published');

    const authFile = path.join(tmp.dir, 'read-back-auth.json');
    await writeAuthFile(authFile, dest.host, USER, PASSWORD);
    const read = { tlsVerify: false, authFile, redact: (t: string) => t };
    for (const tag of ['7.0.0', '7.0.0-build.123']) {
      await expect(inspectManifest(`${dest.host}/org/conjur-multi:${tag}`, read)).resolves.toEqual({
        digest: image.digest,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: ['linux/s390x', 'linux/ppc64le'],
      });
    }
    for (const digest of Object.values(platforms))
      await expect(inspectDigest(`${dest.host}/org/conjur-multi@${digest}`, read)).resolves.toBe(digest);

    const audit = bot.running.app.audit
      .list({ limit: 20 })
      .map((e) => JSON.stringify(e))
      .join('\n');
    expect(audit).toContain(image.digest);
    for (const text of [audit, bot.logs.join('')]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64').replace(/=+$/, ''));
    }
  });

  it('with a skopeo older than 1.6.0 first on PATH, staging refuses (500, CONFIG_INVALID; what to install in the log) and stages nothing', async () => {
    const bin = path.join(tmp.dir, 'old-skopeo');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'skopeo'), "#!/bin/sh\necho 'skopeo version 1.4.1'\n");
    chmodSync(path.join(bin, 'skopeo'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    try {
      const report = botReport({
        project: 'conjur-multi',
        version: '7.1.0',
        build: { job: 'conjur-multi' },
        image: { ref: image.ref, digest: image.digest },
      });
      const r = await bot.post('/webhooks/jenkins', report, { authorization: `Bearer ${token({ sub: 'conjur-multi' })}` });
      expect(r.status).toBe(500);
      // Jenkins hears only that the bot has a problem; the operator reads which in the bot's log.
      expect(r.json).toMatchObject({ code: 'CONFIG_INVALID', error: 'internal error: see the release-bot log' });
      expect(bot.logs.join('')).toContain(
        'skopeo 1.4.1 is too old: release-bot needs skopeo 1.6.0 or newer (for copy --preserve-digests); install skopeo 1.6.0 or newer',
      );
      expect(bot.running.app.staged.current('conjur-multi', '7.1.0')).toBeUndefined();
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
