import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { npmPublisher } from '../../publishers/npm.js';
import { npmPack } from '../../dev/npm-pack.js';
import type { PublishedRecord, YankContext } from '../../src/publishing/types.js';
import { publishContext } from '../support/publish-context.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { startVerdaccio, type Verdaccio } from '../support/verdaccio.js';
import { deliver } from '../../src/release/run-destinations.js';
import type { PublishContext } from '../../src/publishing/types.js';

/** The destinations runner's lifecycle of one attempt (already-present check, push, read-back) around npmPublisher. */
const publish = (ctx: PublishContext, o: Record<string, unknown>) => deliver(npmPublisher, ctx, o);

// Every npm run costs about a second of CPU: the first test runs 13 of them (the publisher's and the yank's
// own, and one npm view), which took over 4 minutes on 2 cores shared with a dozen other jobs. Checks in
// between read the registry's packument over HTTP instead of starting npm.
jest.setTimeout(480_000);

let tmp: ReturnType<typeof makeTmpDir>;
let registry: Verdaccio;
let token: string;
let n = 0;

beforeAll(async () => {
  requireBinary('npm', 'npm');
  tmp = makeTmpDir('release-bot-npm-yank-');
  registry = await startVerdaccio(path.join(tmp.dir, 'registry'));
  token = await registry.addUser('release-bot', 'a-long-test-password-1');
});

afterAll(async () => {
  await registry?.stop();
  tmp?.cleanup();
});

const opts = () => npmPublisher.options.parse({ registry: registry.url, read_back_interval_ms: 10 });

/** Publishes name@version with the real publisher, as a release did; returns what the store would record. */
async function release(name: string, version: string): Promise<PublishedRecord> {
  const packed = await npmPack(path.join(tmp.dir, `src-${(n += 1)}`), { name, version, body: `module.exports = '${version}';\n` });
  const ctx = await publishContext(
    path.join(tmp.dir, `ctx-${(n += 1)}`),
    { [path.basename(packed.file)]: packed.bytes },
    { project: name, version, credentials: { NPM_TOKEN: token } },
  );
  const result = await publish(ctx, opts());
  expect(result.status).toBe('published');
  return { version, artifact: ctx.artifact, readBackDigest: result.readBackDigest, location: result.location };
}

/** A YankContext as the yank flow builds it, with the log captured. */
async function yankContext(
  project: string,
  published: PublishedRecord,
  previous: PublishedRecord | undefined,
  reason: string,
  over: Partial<YankContext> = {},
) {
  const base = await publishContext(
    path.join(tmp.dir, `yctx-${(n += 1)}`),
    {},
    { project, version: published.version, credentials: { NPM_TOKEN: token } },
  );
  const ctx: YankContext = {
    project,
    version: published.version,
    yankId: 'yank_test',
    reason,
    published,
    previous,
    dryRun: false,
    credentials: { NPM_TOKEN: token },
    redact: base.redact,
    log: base.log,
    signal: new AbortController().signal,
    tmpDir: base.tmpDir,
    progress: () => undefined,
    ...over,
  };
  return { ctx, logLines: base.logLines };
}

/** `npm view` run independently of the bot, as a user checking the registry would. */
function view(spec: string, ...fields: string[]): Record<string, unknown> {
  const home = path.join(tmp.dir, `view-${(n += 1)}`);
  mkdirSync(home);
  writeFileSync(path.join(home, '.npmrc'), `//${new URL(registry.url).host}/:_authToken=${token}\n`);
  const out = execFileSync('npm', ['view', spec, '--json', `--registry=${registry.url}/`], {
    cwd: home,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home },
  });
  const manifest = JSON.parse(out) as Record<string, unknown>;
  // `a.b` names a nested field, as npm view's own field syntax does; absent fields are left out.
  const pick = (f: string) =>
    f.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), manifest);
  return Object.fromEntries(fields.map((f) => [f, pick(f)]).filter(([, v]) => v !== undefined));
}

/** The registry's packument (GET /<name>, what npm view reads), without starting npm. */
async function packument(
  name: string,
): Promise<{ 'dist-tags': Record<string, string>; versions: Record<string, { deprecated?: string }> }> {
  const res = await fetch(`${registry.url}/${name}`, { headers: { authorization: `Bearer ${token}`, 'cache-control': 'no-cache' } });
  expect(res.status).toBe(200);
  return (await res.json()) as { 'dist-tags': Record<string, string>; versions: Record<string, { deprecated?: string }> };
}

test('deprecates the version with the reason and moves latest back to the previous release; npm view shows both; a second yank is already-yanked', async () => {
  const v1 = await release('yank-me', '1.0.0');
  const v2 = await release('yank-me', '1.1.0');
  expect((await packument('yank-me'))['dist-tags'].latest).toBe('1.1.0');

  const dry = await yankContext('yank-me', v2, v1, 'broken postinstall', { dryRun: true });
  await expect(npmPublisher.yank!(dry.ctx, opts())).resolves.toMatchObject({
    status: 'planned',
    actions: [
      `npm deprecate yank-me@1.1.0 "broken postinstall" on ${registry.url}`,
      'npm dist-tag add yank-me@1.0.0 latest (latest is 1.1.0 now)',
    ],
  });
  // The dry run changed nothing.
  const untouched = await packument('yank-me');
  expect(untouched['dist-tags'].latest).toBe('1.1.0');
  expect(untouched.versions['1.1.0']?.deprecated).toBeUndefined();

  const { ctx, logLines } = await yankContext('yank-me', v2, v1, 'broken postinstall');
  await expect(npmPublisher.yank!(ctx, opts())).resolves.toMatchObject({
    status: 'yanked',
    detail: 'deprecated yank-me@1.1.0; latest -> 1.0.0',
  });
  // Never unpublished: the version is still there, with the integrity that was released.
  expect(view('yank-me@1.1.0', 'deprecated', 'dist-tags.latest', 'dist.integrity')).toEqual({
    deprecated: 'broken postinstall',
    'dist-tags.latest': '1.0.0',
    'dist.integrity': v2.readBackDigest,
  });
  expect((await packument('yank-me')).versions['1.0.0']?.deprecated).toBeUndefined();

  const again = await yankContext('yank-me', v2, v1, 'broken postinstall');
  await expect(npmPublisher.yank!(again.ctx, opts())).resolves.toMatchObject({ status: 'already-yanked' });
  expect(logLines.join('\n')).not.toContain(token);
});

test('a reason that looks like an npm option is the deprecation message, never configuration', async () => {
  const v1 = await release('yank-opt', '1.0.0');
  const v2 = await release('yank-opt', '2.0.0');
  // Were it read as an option, npm would send the token to this registry (nothing listens there) and the deprecation would fail.
  const hostile = '--registry=http://127.0.0.1:9/';
  const { ctx } = await yankContext('yank-opt', v2, v1, hostile);
  await expect(npmPublisher.yank!(ctx, opts())).resolves.toMatchObject({ status: 'yanked' });
  expect(view('yank-opt@2.0.0', 'deprecated')).toEqual({ deprecated: hostile });
});

test('a version on the registry with another integrity than the one released is left alone', async () => {
  const v1 = await release('yank-other', '1.0.0');
  const { ctx } = await yankContext('yank-other', { ...v1, readBackDigest: 'sha512-somethingelse' }, undefined, 'bad');
  await expect(npmPublisher.yank!(ctx, opts())).rejects.toMatchObject({ code: 'DESTINATION_CONFLICT' });
  expect(view('yank-other@1.0.0', 'deprecated')).toEqual({});
});
