import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { digestIfPresent, inspectDigest, writeAuthFile } from '../../src/staging/skopeo.js';
import { startBot, type Bot } from '../jenkins/helpers/bot.js';
import { botReport } from '../jenkins/helpers/reports.js';
import { token } from '../jenkins/helpers/tokens.js';
import { buildTinyImage, pushTinyImage, type OciLayout, type PushedImage } from '../support/oci-image.js';
import { project } from '../support/projects-file.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';

const USER = 'release-bot';
const PASSWORD = 'canary-docker-requests-pw-7f3a9c1e5b';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
/**
 * What a HEAD must accept (OCI image-spec media-types.md) for a registry to answer for the manifest as pushed:
 * distribution registry/handlers/manifests.go GetManifest (which serves HEAD too) answers MANIFEST_UNKNOWN, a 404,
 * for an OCI manifest or index the Accept header does not name, and rewrites a Docker list to one platform's manifest.
 */
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * A loopback reverse proxy in front of a real docker-registry that records every request (method, path,
 * headers) and passes it on unchanged, Host included, so the registry's upload Locations point back here.
 */
async function recordingProxy(target: TestRegistry) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const out = http.request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * What a docker release asks of the registries and how many processes it starts, through a running
 * serve: a real staging docker-registry (anonymous) and a real destination docker-registry behind
 * htpasswd, each behind a recording proxy, skopeo behind a wrapper first on PATH that records every
 * run. The release re-checks the staged digest and the destination's tags with registry HEADs (OCI
 * distribution-spec spec.md "Checking if content exists in the registry"; distribution
 * registry/handlers/manifests.go answers HEAD with Docker-Content-Digest): the copy is the one skopeo process.
 */
describe('a docker release: one skopeo process, registry HEADs for every question', () => {
  const tmp = makeTmpDir('release-bot-docker-requests-');
  let staging: TestRegistry;
  let dest: TestRegistry;
  let stagingProxy: Awaited<ReturnType<typeof recordingProxy>>;
  let destProxy: Awaited<ReturnType<typeof recordingProxy>>;
  let bot: Bot;
  let argvLog: string;
  let moveScript: string;
  let savedPath: string | undefined;
  let build = 0;

  /** Every skopeo run so far, as its arguments. */
  const skopeoRuns = () => (existsSync(argvLog) ? readFileSync(argvLog, 'utf8').trim().split('\n').filter(Boolean) : []);

  beforeAll(async () => {
    const skopeo = requireBinary('skopeo', 'skopeo');
    requireBinary('umoci', 'umoci');
    [staging, dest] = await Promise.all([
      startRegistry({ deletes: true }),
      startRegistry({ auth: { username: USER, password: PASSWORD } }),
    ]);
    [stagingProxy, destProxy] = await Promise.all([recordingProxy(staging), recordingProxy(dest)]);

    const bin = path.join(tmp.dir, 'bin');
    mkdirSync(bin);
    argvLog = path.join(tmp.dir, 'skopeo-argv.log');
    moveScript = path.join(tmp.dir, 'someone-else.sh');
    // After a successful copy, runs (once) what someone else does at that moment, when the test left it a script.
    writeFileSync(
      path.join(bin, 'skopeo'),
      [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >> '${argvLog}'`,
        `'${skopeo}' "$@" || exit $?`,
        `if [ "$1" = copy ] && [ -f '${moveScript}' ]; then sh '${moveScript}' && rm -f '${moveScript}'; fi`,
        '',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'skopeo'), 0o755);
    savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${process.env.PATH}`;

    bot = await startBot(
      {},
      {
        extraProjects: {
          'conjur-img': project(
            'conjur-img',
            [
              {
                name: 'registry',
                type: 'docker',
                repository: `${destProxy.host}/org/conjur-img`,
                tls_verify: false,
                tags: ['{version}'],
                retries: 0,
                credentials: { REGISTRY_USERNAME: 'release/registry/user', REGISTRY_PASSWORD: 'release/registry/password' },
              },
            ],
            { artifact: 'docker', image: { repository: `${stagingProxy.host}/builds/conjur-img`, tls_verify: false } },
          ),
        },
      },
    );
    bot.conjur.addMember('release/conjur-img', 'user:alice');
    bot.conjur.setVariable('release/registry/user', USER, ['host:release-bot']);
    bot.conjur.setVariable('release/registry/password', PASSWORD, ['host:release-bot']);
  });

  afterAll(async () => {
    process.env.PATH = savedPath;
    await bot?.stop();
    await Promise.all([stagingProxy?.close(), destProxy?.close()]);
    await Promise.all([staging?.stop(), dest?.stop()]);
    tmp.cleanup();
  });

  /** Pushes a fresh image to the staging registry and stages it by a signed report, as Jenkins would. */
  async function stage(version: string): Promise<PushedImage> {
    build += 1;
    const image = await pushTinyImage({ workDir: tmp.dir, host: staging.host, path: 'builds/conjur-img', tag: version });
    const ref = `${stagingProxy.host}/builds/conjur-img:${version}`;
    const report = botReport({
      project: 'conjur-img',
      version,
      build: { job: 'conjur-img', number: build },
      image: { ref, digest: image.digest },
    });
    const r = await bot.post('/webhooks/jenkins', report, { authorization: `Bearer ${token({ sub: 'conjur-img' })}` });
    expect(r.status).toBe(202);
    return image;
  }

  const fromBot = (s: Seen) => s.headers['user-agent'] === 'release-bot';

  it('re-checks the staged digest and the tags with HEADs that accept the OCI index and manifest; the copy is the only skopeo run; the digest read back is the one pushed', async () => {
    const image = await stage('4.2.0');
    const runsBefore = skopeoRuns().length;
    const [stagingBefore, destBefore] = [stagingProxy.seen.length, destProxy.seen.length];

    const summary = await bot.running.app.core.release('conjur-img', '4.2.0', { login: 'alice', via: 'cli' });
    expect(summary.state).toBe('published');

    const runs = skopeoRuns().slice(runsBefore);
    // `--version` is checked once per process, before its first run: not per release.
    expect(runs.filter((r) => r !== '--version').map((r) => r.split(' ')[0])).toEqual(['copy']);

    const stagingAsked = stagingProxy.seen.slice(stagingBefore).filter(fromBot);
    const destAsked = destProxy.seen.slice(destBefore).filter(fromBot);
    expect(stagingAsked.filter((s) => s.url.includes('/manifests/')).map((s) => `${s.method} ${s.url}`)).toEqual([
      `HEAD /v2/builds/conjur-img/manifests/${image.digest}`,
    ]);
    // Before the copy (never overwrite) and after it (read back): one HEAD of the tag each.
    expect(destAsked.filter((s) => s.url.includes('/manifests/')).map((s) => `${s.method} ${s.url}`)).toEqual([
      'HEAD /v2/org/conjur-img/manifests/4.2.0',
      'HEAD /v2/org/conjur-img/manifests/4.2.0',
    ]);
    for (const s of [...stagingAsked, ...destAsked].filter((x) => x.url.includes('/manifests/'))) {
      expect(String(s.headers.accept).split(', ')).toEqual(expect.arrayContaining([OCI_INDEX, OCI_MANIFEST]));
    }
    // The staging registry is read anonymously; the destination's credential goes to the destination only.
    expect(stagingAsked.some((s) => s.headers.authorization !== undefined)).toBe(false);
    expect(destAsked.filter((s) => s.url.includes('/manifests/')).every((s) => s.headers.authorization === `Basic ${BASIC}`)).toBe(true);

    // Read back independently of the bot's code path: the destination serves the digest that was pushed.
    const authFile = path.join(tmp.dir, 'read-back-auth.json');
    await writeAuthFile(authFile, dest.host, USER, PASSWORD);
    await expect(inspectDigest(`${dest.host}/org/conjur-img:4.2.0`, { tlsVerify: false, authFile, redact: (t) => t })).resolves.toBe(
      image.digest,
    );
    expect(summary.destinations).toEqual([
      expect.objectContaining({ name: 'registry', status: 'published', readBackDigest: image.digest }),
    ]);
  });

  it('a tag moved by someone else between the copy and the read-back is refused, and not moved back', async () => {
    const image = await stage('4.3.0');
    const theirs: OciLayout = await buildTinyImage(tmp.dir, 'someone else pushed this\n');
    const theirAuth = path.join(tmp.dir, 'their-auth.json');
    await writeAuthFile(theirAuth, dest.host, USER, PASSWORD);
    writeFileSync(
      moveScript,
      `HOME='${tmp.dir}' '${requireBinary('skopeo', 'skopeo')}' copy --quiet --preserve-digests --dest-tls-verify=false --dest-authfile '${theirAuth}' '${theirs.source}' 'docker://${dest.host}/org/conjur-img:4.3.0'\n`,
    );

    const summary = await bot.running.app.core.release('conjur-img', '4.3.0', { login: 'alice', via: 'cli' });
    expect(existsSync(moveScript)).toBe(false); // someone else did move it
    expect(summary.state).toBe('failed');
    const [result] = summary.destinations;
    // Another digest under the tag is someone else's push: final, not retried into overwriting it.
    expect(result).toMatchObject({ name: 'registry', status: 'failed', error: { code: ErrorCode.DestinationFailed, retryable: false } });
    expect(JSON.stringify(result)).toContain(`after the copy ${destProxy.host}/org/conjur-img does not serve the staged ${image.digest}`);
    expect(JSON.stringify(result)).toContain(`4.3.0 is ${theirs.digest}`);

    const authFile = path.join(tmp.dir, 'read-back-auth.json');
    await expect(inspectDigest(`${dest.host}/org/conjur-img:4.3.0`, { tlsVerify: false, authFile, redact: (t) => t })).resolves.toBe(
      theirs.digest,
    );
  });

  it('a staged image deleted from the staging registry after staging is refused at the re-check: nothing reaches the destination', async () => {
    const image = await stage('4.4.0');
    // The build side controls the staging registry: it deletes the manifest it reported (distribution-spec "Deleting Manifests").
    const deleted = await fetch(`${staging.url}/v2/builds/conjur-img/manifests/${image.digest}`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);
    const runsBefore = skopeoRuns().length;

    const summary = await bot.running.app.core.release('conjur-img', '4.4.0', { login: 'alice', via: 'cli' });
    expect(summary.state).toBe('failed');
    expect(summary.error).toMatchObject({ code: ErrorCode.NotFound });
    expect(
      skopeoRuns()
        .slice(runsBefore)
        .filter((r) => r.startsWith('copy')),
    ).toEqual([]);
    const authFile = path.join(tmp.dir, 'read-back-auth.json');
    await expect(
      digestIfPresent(`${dest.host}/org/conjur-img:4.4.0`, { tlsVerify: false, authFile, redact: (t) => t }),
    ).resolves.toBeUndefined();
  });

  it('no form of the registry password reaches a log line, the audit log, a URL or the staging registry', () => {
    const audit = bot.running.app.audit
      .list({ limit: 50 })
      .map((e) => JSON.stringify(e))
      .join('\n');
    const urls = [...stagingProxy.seen, ...destProxy.seen].map((s) => s.url).join('\n');
    const toStaging = stagingProxy.seen.map((s) => JSON.stringify(s.headers)).join('\n');
    expect(audit).toContain('conjur-img');
    for (const text of [audit, bot.logs.join(''), urls, toStaging]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(BASIC.replace(/=+$/, ''));
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
    }
  });
});
