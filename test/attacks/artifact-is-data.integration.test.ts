import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AuditEntry } from '../../src/audit/log.js';
import { npmPack } from '../../dev/npm-pack.js';
import { PARENT_CANARIES, setParentEnv } from '../support/child-env.js';
import { project, type DestinationSpec } from '../support/projects-file.js';
import { requireBinary } from '../support/require-binary.js';
import { startSlackWorld, type SlackWorld } from '../support/slack-world.js';
import { tarArchive, tarEntry } from '../support/tar-builder.js';
import { makeTmpDir } from '../support/tmp.js';
import { startVerdaccio, type Verdaccio } from '../support/verdaccio.js';

// Real npm runs against a real Verdaccio on a busy machine: generous, as test/publishers/npm.test.ts explains.
jest.setTimeout(300_000);

const GEM_KEY = 'rubygems_canary_attack_4e1f9a0c7b2d';

/** A server that records every connection and request it gets (a proxy or registry the build side runs). */
async function recorder(): Promise<{ url: string; connections: number; seen: string[]; close: () => Promise<void> }> {
  const state = { connections: 0, seen: [] as string[] };
  const note = (req: IncomingMessage, body = '') => state.seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('latin1')));
    req.on('end', () => {
      note(req, body);
      res.writeHead(502).end();
    });
  });
  server.on('connection', () => (state.connections += 1));
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    note(req);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    seen: state.seen,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/**
 * The build side is the attacker: it stages what it wants and reports it (correctly signed, here
 * through the core as the webhook does). alice, who may release the projects, asks in Slack.
 */
describe('attacks through the artifact: it is data, never configuration, and must be what the project publishes (serve, Verdaccio, gem)', () => {
  let w: SlackWorld;
  let registry: Verdaccio;
  let token: string;
  let proxy: Awaited<ReturnType<typeof recorder>>;
  let gemServer: Awaited<ReturnType<typeof recorder>>;
  let n = 0;
  let mine: ReturnType<typeof makeTmpDir>;
  let mirrorDir: string;

  beforeAll(async () => {
    requireBinary('npm', 'npm');
    requireBinary('gem', 'ruby');
    proxy = await recorder();
    gemServer = await recorder();
    mine = makeTmpDir('release-bot-attack-');
    mirrorDir = path.join(mine.dir, 'mirror');
    registry = await startVerdaccio(path.join(mine.dir, 'registry'));
    token = await registry.addUser('release-bot', 'a-long-test-password-2');
    const mirror: DestinationSpec = { name: 'mirror', type: 'directory', path: `${mirrorDir}/{project}/{version}` };
    w = await startSlackWorld({
      sleepSeconds: 0,
      variables: {
        'release/npm/token': { value: token, readers: ['host:release-bot'] },
        'release/gems/key': { value: GEM_KEY, readers: ['host:release-bot'] },
      },
      extraProjects: {
        'tiny-util': project(
          'tiny-util',
          [
            {
              name: 'npm',
              type: 'npm',
              registry: registry.url,
              read_back_interval_ms: 200,
              retries: 0,
              credentials: { NPM_TOKEN: 'release/npm/token' },
            },
            mirror,
          ],
          { authorized_group: 'release/conjur-cli' },
        ),
        'tiny-gem': project(
          'tiny-gem',
          [
            { name: 'rubygems', type: 'rubygems', host: gemServer.url, retries: 0, credentials: { GEM_HOST_API_KEY: 'release/gems/key' } },
            mirror,
          ],
          { authorized_group: 'release/conjur-cli' },
        ),
      },
    });
  });

  afterAll(async () => {
    await w?.stop();
    await registry?.stop();
    await proxy?.close();
    await gemServer?.close();
    mine?.cleanup();
  });

  /** Writes the files into the staging directory and reports them, as a signed Jenkins report would. */
  async function stage(project: string, version: string, files: Record<string, Buffer>): Promise<void> {
    const dir = path.join(w.dir, 'staging', project, version);
    mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
    await w.server.app.core.stage({
      project,
      version,
      build: { job: project, number: (n += 1) },
      reportedBy: `jenkins:${project}`,
      actor: { via: `jenkins:${project}` },
    });
  }

  /** alice asks for the release in Slack; resolves with the release's final audit entry. */
  async function release(project: string, versionAndFlags: string): Promise<AuditEntry> {
    const [version] = versionAndFlags.split(' ');
    const sent = await w.command('alice', `${project} ${versionAndFlags}`);
    expect(sent.status).toBe(200);
    const deadline = Date.now() + 240_000;
    for (;;) {
      const entry = w.server.app.audit
        .list({ project, limit: 20 })
        .find((e) => e.version === version && ['published', 'failed'].includes(e.type));
      if (entry) return entry;
      if (Date.now() > deadline) throw new Error(`no final audit entry for ${project} ${version}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Whether Verdaccio knows the package (at that version), asked over HTTP with the token, as npm view would. */
  async function registryHas(name: string, version?: string): Promise<boolean> {
    const res = await fetch(`${registry.url}/${name.replace('/', '%2f')}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 404) return false;
    const doc = (await res.json()) as { versions?: Record<string, unknown> };
    return version === undefined || Boolean(doc.versions?.[version]);
  }

  const destinationsOf = (entry: AuditEntry) =>
    (entry.data as { destinations: Array<{ name: string; status: string; message?: string; detail?: string }> }).destinations;
  const mirrored = (project: string, version: string) => existsSync(path.join(mirrorDir, project, version));

  /** Nothing of the release left the machine: no destination ran, the registry has no such version, no secret anywhere. */
  function expectNothingPublished(entry: AuditEntry, project: string, version: string, refusing: string, reason: RegExp): void {
    expect(entry.type).toBe('failed');
    const [first, mirror] = destinationsOf(entry);
    expect(first).toMatchObject({
      name: refusing,
      status: 'failed',
      detail: 'not run: its preflight refused the artifact',
      message: expect.stringMatching(reason),
    });
    expect(mirror).toMatchObject({
      name: 'mirror',
      status: 'skipped',
      detail: `not run: the preflight of ${refusing} refused the artifact, so no destination published`,
    });
    expect(mirrored(project, version)).toBe(false);
    const everything = JSON.stringify([w.logLines, w.slack.calls, w.server.app.audit.list({ limit: 200 })]);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(GEM_KEY);
  }

  describe("npm: the tarball's publishConfig never acts as configuration", () => {
    test.each([
      ['proxy', (p: string) => ({ proxy: p })],
      ['https-proxy with strict-ssl off', (p: string) => ({ 'https-proxy': p, 'strict-ssl': false })],
      ['a registry of its own', (p: string) => ({ registry: `${p}/` })],
    ])(
      '%s: refused before anything is sent; the recording server never sees a connection, Verdaccio has nothing',
      async (_what, publishConfig) => {
        const version = `1.0.${(n += 1)}`;
        const packed = await npmPack(path.join(w.dir, `pack-${n}`), {
          name: 'tiny-util',
          version,
          manifest: { publishConfig: publishConfig(proxy.url) },
        });
        await stage('tiny-util', version, { [path.basename(packed.file)]: packed.bytes });
        const entry = await release('tiny-util', version);
        expectNothingPublished(entry, 'tiny-util', version, 'npm', /publishConfig .*npm would apply it as configuration/);
        expect(proxy.connections).toBe(0);
        expect(proxy.seen).toEqual([]);
        expect(await registryHas('tiny-util', version)).toBe(false);
      },
    );

    test("the bot's own proxy variables and npm_config_* do not reach npm: a harmless publishConfig publishes to the configured registry only", async () => {
      const version = '1.1.0';
      const packed = await npmPack(path.join(w.dir, 'pack-harmless'), {
        name: 'tiny-util',
        version,
        manifest: { publishConfig: { access: 'public', registry: `${registry.url}/` } },
      });
      await stage('tiny-util', version, { [path.basename(packed.file)]: packed.bytes });
      // Decision: the bot's environment is the operator's, but none of it configures npm. A proxy the
      // release machine needs would be a destination option, never an inherited variable.
      // HTTPS_PROXY is what npm (@npmcli/agent) would use for any registry, http ones too; the bot's own
      // Slack client reads HTTP_PROXY for its http stand-in, so that one stays unset here.
      const restore = setParentEnv({
        ...PARENT_CANARIES,
        HTTPS_PROXY: proxy.url,
        https_proxy: proxy.url,
        npm_config_proxy: proxy.url,
        npm_config_https_proxy: proxy.url,
        npm_config_registry: `${proxy.url}/`,
        npm_config_strict_ssl: 'false',
        NPM_CONFIG_USERCONFIG: path.join(w.dir, 'evil-npmrc'),
        NPM_CONFIG_GLOBALCONFIG: path.join(w.dir, 'evil-npmrc'),
      });
      writeFileSync(path.join(w.dir, 'evil-npmrc'), `registry=${proxy.url}/\nproxy=${proxy.url}\n`);
      let entry: AuditEntry;
      try {
        entry = await release('tiny-util', version);
      } finally {
        restore();
      }
      expect(entry.type).toBe('published');
      expect(destinationsOf(entry).map((d) => `${d.name} ${d.status}`)).toEqual(['npm published', 'mirror published']);
      expect(await registryHas('tiny-util', version)).toBe(true);
      expect(proxy.connections).toBe(0);
    });
  });

  test('npm: project tiny-util with a tarball declaring crown-jewel@2.0.0 is refused; Verdaccio has no crown-jewel', async () => {
    const packed = await npmPack(path.join(w.dir, 'pack-crown'), { name: 'crown-jewel', version: '2.0.0' });
    await stage('tiny-util', '2.0.0', { [path.basename(packed.file)]: packed.bytes });
    const entry = await release('tiny-util', '2.0.0');
    expectNothingPublished(
      entry,
      'tiny-util',
      '2.0.0',
      'npm',
      /declares the package "crown-jewel", but this destination publishes tiny-util/,
    );
    // The channel is told why, and that the other destination never ran.
    const summary = await w.slack.waitFor(
      (c) => c.method === 'chat.update' && JSON.stringify(c.body.blocks).includes(`audit entry \`${entry.id}\``),
      30_000,
    );
    const blocks = JSON.stringify(summary.body.blocks);
    expect(blocks).toContain('Release of tiny-util 2.0.0 FAILED');
    expect(blocks).toContain('declares the package');
    expect(blocks).toContain('not run: the preflight of npm refused the artifact');
    expect(await registryHas('crown-jewel')).toBe(false);
    expect(await registryHas('tiny-util', '2.0.0')).toBe(false);
  });

  test('a dry run runs the preflights too: crown-jewel staged as tiny-util is refused by --dry-run, which plans nothing', async () => {
    const packed = await npmPack(path.join(w.dir, 'pack-crown-dry'), { name: 'crown-jewel', version: '2.0.1' });
    await stage('tiny-util', '2.0.1', { [path.basename(packed.file)]: packed.bytes });
    const entry = await release('tiny-util', '2.0.1 --dry-run');
    expectNothingPublished(entry, 'tiny-util', '2.0.1', 'npm', /declares the package "crown-jewel"/);
    expect(destinationsOf(entry).some((d) => 'plan' in d && d.plan !== undefined)).toBe(false);
    expect(
      w.server.app.audit.list({ project: 'tiny-util', limit: 20 }).find((e) => e.type === 'requested' && e.releaseId === entry.releaseId)
        ?.data,
    ).toMatchObject({ dryRun: true });
    expect(await registryHas('crown-jewel')).toBe(false);
  });

  test('npm: a tarball with two package/package.json entries is refused; neither name reaches Verdaccio', async () => {
    const manifest = (name: string) => JSON.stringify({ name, version: '3.0.0', main: 'index.js' });
    const tgz = gzipSync(
      tarArchive(
        tarEntry({ name: 'package/package.json', data: manifest('tiny-util') }),
        tarEntry({ name: 'package/index.js', data: 'module.exports = 1;\n' }),
        tarEntry({ name: 'package/package.json', data: manifest('crown-jewel') }),
      ),
    );
    await stage('tiny-util', '3.0.0', { 'tiny-util-3.0.0.tgz': tgz });
    const entry = await release('tiny-util', '3.0.0');
    expectNothingPublished(entry, 'tiny-util', '3.0.0', 'npm', /"package\/package.json" appears twice in the archive/);
    expect(await registryHas('crown-jewel')).toBe(false);
    expect(await registryHas('tiny-util', '3.0.0')).toBe(false);
  });

  describe("rubygems: a real gem build whose metadata is not the project's gem", () => {
    function gemBuild(name: string, version: string): { file: string; bytes: Buffer } {
      const src = path.join(w.dir, `gem-${(n += 1)}`);
      mkdirSync(path.join(src, 'lib'), { recursive: true });
      writeFileSync(path.join(src, 'lib', 'x.rb'), 'module X; end\n');
      writeFileSync(
        path.join(src, 'x.gemspec'),
        `Gem::Specification.new do |s|\n  s.name = ${JSON.stringify(name)}\n  s.version = ${JSON.stringify(version)}\n  s.summary = 'x'\n  s.authors = ['x']\n  s.files = ['lib/x.rb']\nend\n`,
      );
      execFileSync('gem', ['build', 'x.gemspec'], { cwd: src, env: { PATH: process.env.PATH, HOME: src }, stdio: 'pipe' });
      const file = readdirSync(src).find((f) => f.endsWith('.gem')) as string;
      return { file, bytes: readFileSync(path.join(src, file)) };
    }

    test.each([
      ['another name', 'crown-jewel', '1.0.0', '1.0.0', /declares the gem "crown-jewel", but this destination pushes tiny-gem/],
      ['another version', 'tiny-gem', '9.9.9', '1.0.1', /holds tiny-gem 9\.9\.9, but this release is version 1\.0\.1/],
    ])(
      '%s: refused before any destination pushes; the gem server and the directory destination get nothing',
      async (_what, name, built, released, reason) => {
        const gem = gemBuild(name, built);
        // Named as the project's gem would be: only the metadata inside tells.
        await stage('tiny-gem', released, { [`tiny-gem-${released}.gem`]: gem.bytes });
        const entry = await release('tiny-gem', released);
        expectNothingPublished(entry, 'tiny-gem', released, 'rubygems', reason);
        expect(gemServer.connections).toBe(0);
      },
    );
  });
});
