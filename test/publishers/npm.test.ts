import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { npmPublisher, pinnedNpmArgs } from '../../publishers/npm.js';
import { npmPack } from '../../dev/npm-pack.js';
import { expectOnlyOwnEnv, PARENT_CANARIES, setParentEnv, spyOnTools } from '../support/child-env.js';
import { publishContext } from '../support/publish-context.js';
import { freePort } from '../support/ports.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { startVerdaccio, type Verdaccio } from '../support/verdaccio.js';
import { deliver, planDelivery } from '../../src/release/run-destinations.js';
import type { PublishContext } from '../../src/publishing/types.js';

/** The destinations runner's lifecycle of one attempt (already-present check, push, read-back) around npmPublisher. */
const publish = (ctx: PublishContext, o: Record<string, unknown>) => deliver(npmPublisher, ctx, o);
const plan = async (ctx: PublishContext, o: Record<string, unknown>) => ({ actions: await planDelivery(npmPublisher, ctx, o, '') });

// Each npm run costs about a second of CPU, and Verdaccio bcrypt-checks the user behind every legacy
// token it is sent. Idle, the heaviest test here takes 3-7 s; at a load average of 16 on two cores it
// took 16-20 s, a third of Jest's default 60 s (hooks included): a busier machine times tests out. That
// is the likely cause of the "wrong token" flake: its npm and Verdaccio answers were E401 in all of 90 tries.
jest.setTimeout(240_000);

const CANARY = 'canary-npm-token-5f1d0c2e9a';
let tmp: ReturnType<typeof makeTmpDir>;
let registry: Verdaccio;
let token: string;
let caseNo = 0;

beforeAll(async () => {
  requireBinary('npm', 'npm');
  tmp = makeTmpDir('release-bot-npm-');
  registry = await startVerdaccio(path.join(tmp.dir, 'registry'));
  token = await registry.addUser('release-bot', 'a-long-test-password-1');
});

afterAll(async () => {
  await registry?.stop();
  tmp?.cleanup();
});

/** A real tarball made by `npm pack` from a package written here; `body` varies its content. */
async function pack(name: string, version: string, body = 'module.exports = 1;\n'): Promise<{ file: string; bytes: Buffer; name: string }> {
  const packed = await npmPack(path.join(tmp.dir, `src-${(caseNo += 1)}`), { name, version, body });
  return { file: path.basename(packed.file), bytes: packed.bytes, name };
}

/** A release of the project named like the package (its package_name by default); a scoped one is project acme-<name>. */
async function contextFor(tgz: { file: string; bytes: Buffer; name?: string }, version: string, npmToken = token) {
  const root = path.join(tmp.dir, `ctx-${(caseNo += 1)}`);
  const project = (tgz.name ?? 'conjur-cli').replace(/^@(\w+)\//, '$1-');
  return publishContext(root, { [tgz.file]: tgz.bytes }, { project, version, credentials: { NPM_TOKEN: npmToken } });
}

/** Whether the registry has the package at all (E404 = never published), asked independently of the publisher. */
function registryHas(name: string): boolean {
  try {
    viewIntegrity(name);
    return true;
  } catch (err) {
    if (/E404/.test(String((err as { stderr?: unknown }).stderr))) return false;
    throw err;
  }
}

/** `npm view` run independently of the publisher, as a user checking the registry would. */
function viewIntegrity(spec: string): string {
  const home = path.join(tmp.dir, `view-${(caseNo += 1)}`);
  mkdirSync(home);
  const host = new URL(registry.url).host;
  writeFileSync(path.join(home, '.npmrc'), `//${host}/:_authToken=${token}\n`);
  return JSON.parse(
    execFileSync('npm', ['view', spec, 'dist.integrity', '--json', `--registry=${registry.url}/`], {
      cwd: home,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as string;
}

const integrityOf = (bytes: Buffer) => `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
const opts = (extra: Record<string, unknown> = {}) =>
  npmPublisher.options.parse({ registry: registry.url, read_back_interval_ms: 10, ...extra });

test('publishes to a real registry, npm view shows the same integrity, and a second run is already-present', async () => {
  const tgz = await pack('@acme/hello', '1.0.0');
  const ctx = await contextFor(tgz, '1.0.0');
  const scoped = opts({ package_name: '@acme/hello' });
  const planned = await plan(ctx, scoped);
  expect(planned.actions[0]).toMatch(/^npm publish acme-hello-1\.0\.0\.tgz \(@acme\/hello@1\.0\.0, sha512-/);

  const result = await publish(ctx, scoped);
  expect(result).toMatchObject({ status: 'published', readBackDigest: integrityOf(tgz.bytes) });
  expect(viewIntegrity('@acme/hello@1.0.0')).toBe(integrityOf(tgz.bytes));
  expect(readdirSync(ctx.tmpDir).filter((f) => f.startsWith('npmrc'))).toEqual([]);

  const again = await publish(await contextFor(tgz, '1.0.0'), scoped);
  expect(again).toMatchObject({ status: 'already-present', readBackDigest: integrityOf(tgz.bytes) });
  expect((await plan(await contextFor(tgz, '1.0.0'), scoped)).actions[0]).toMatch(/^nothing: .*already on/);
  for (const line of [...ctx.logLines, ...ctx.progressLines, JSON.stringify(result)]) expect(line).not.toContain(token);
});

test('a new version of a package the registry already has is published and read back', async () => {
  await publish(await contextFor(await pack('growing', '1.0.0'), '1.0.0'), opts());
  const next = await pack('growing', '1.1.0');
  await expect(
    publish(await contextFor(next, '1.1.0'), npmPublisher.options.parse({ registry: registry.url, tag: 'next' })),
  ).resolves.toMatchObject({ status: 'published', readBackDigest: integrityOf(next.bytes), detail: 'growing@1.1.0 tagged next' });
  expect(viewIntegrity('growing@next')).toBe(integrityOf(next.bytes));
});

test('a different tarball with a published version is a conflict and the registry keeps the original', async () => {
  const first = await pack('conflicted', '2.0.0', 'module.exports = "first";\n');
  await publish(await contextFor(first, '2.0.0'), opts());
  const second = await pack('conflicted', '2.0.0', 'module.exports = "second";\n');
  const ctx = await contextFor(second, '2.0.0');
  await expect(publish(ctx, opts())).rejects.toMatchObject({ code: ErrorCode.DestinationConflict, retryable: false });
  await expect(plan(ctx, opts())).rejects.toMatchObject({ code: ErrorCode.DestinationConflict });
  expect(viewIntegrity('conflicted@2.0.0')).toBe(integrityOf(first.bytes));
});

test('a wrong token is a final auth error that says where to fix it and never shows the token', async () => {
  const ctx = await contextFor(await pack('wrong-token', '1.0.0'), '1.0.0', CANARY);
  const err = await publish(ctx, opts()).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'auth', npmCode: 'E401' } });
  expect((err as Error).message).toMatch(/npm rejected the token \(E401\): check the Conjur variable behind NPM_TOKEN/);
  const everything = JSON.stringify({
    err,
    details: (err as { details: unknown }).details,
    message: (err as Error).message,
    logs: ctx.logLines,
    progress: ctx.progressLines,
  });
  expect(everything).not.toContain(CANARY);
  expect(everything).not.toContain(Buffer.from(CANARY).toString('base64'));
});

test('a staged tarball whose bytes are not the recorded sha256 is a final bad-artifact failure and nothing is published', async () => {
  const tgz = await pack('swapped', '1.0.0');
  const ctx = await contextFor(tgz, '1.0.0');
  // Another valid tarball of the same name and version in place of the verified one.
  const other = await pack('swapped', '1.0.0', 'module.exports = "not what was staged";\n');
  writeFileSync(path.join(ctx.dir, tgz.file), other.bytes);
  const err = await publish(ctx, opts()).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: ErrorCode.ArtifactMismatch, retryable: false, details: { reason: 'bad-artifact', file: tgz.file } });
  expect((err as Error).message).toMatch(
    /swapped-1\.0\.0\.tgz now has sha256 [0-9a-f]{12}…, not the staged [0-9a-f]{12}… that was verified: nothing was published/,
  );
  await expect(plan(ctx, opts())).rejects.toMatchObject({ code: ErrorCode.ArtifactMismatch });
  expect(registryHas('swapped')).toBe(false);
});

test('npm gets only the allowlisted environment and its own token; the userconfig is 0600 while npm runs, holds no token, and is gone after', async () => {
  const tgz = await pack('env-checked', '1.0.0');
  const ctx = await contextFor(tgz, '1.0.0');
  const spy = spyOnTools(path.join(tmp.dir, `spy-${(caseNo += 1)}`), {
    npm: {
      real: requireBinary('npm', 'npm'),
      // Runs inside npm's own start: the file as npm sees it, and whether the token's value is in it.
      note: 'for a in "$@"; do case "$a" in --userconfig=*) f="${a#--userconfig=}"; echo "mode $(stat -c %a "$f")"; echo "token in file: $(grep -cF -- "$NPM_TOKEN" "$f")"; echo "$f";; esac; done',
    },
  });
  const restore = setParentEnv({ ...PARENT_CANARIES, PATH: `${spy.bin}:${process.env.PATH}` });
  try {
    await expect(publish(ctx, opts())).resolves.toMatchObject({ status: 'published' });
    const calls = spy.calls('npm');
    expect(calls.map((c) => c.argv[0])).toEqual(['view', 'publish', 'view']);
    for (const call of calls) {
      // No npm_config_* at all: npm's settings are in the generated userconfig and on the command line.
      expectOnlyOwnEnv(call, { NPM_TOKEN: token });
      expect(call.env.HOME).toBe(ctx.tmpDir);
      const host = new URL(registry.url).hostname;
      expect(call.argv).toEqual(
        expect.arrayContaining([
          `--registry=${registry.url}/`,
          '--proxy=false',
          `--noproxy=${host}`,
          '--strict-ssl=true',
          `--prefix=${ctx.tmpDir}`,
        ]),
      );
      const globalconfig = call.argv.find((a) => a.startsWith('--globalconfig='))?.slice('--globalconfig='.length) ?? '';
      expect(path.dirname(globalconfig)).toBe(ctx.tmpDir);
      expect(existsSync(globalconfig)).toBe(false);
      expect(call.argv.join(' ')).not.toContain(token);
      const [mode, inFile, file] = call.note.trim().split('\n');
      expect([mode, inFile]).toEqual(['mode 600', 'token in file: 0']);
      expect(path.dirname(file ?? '')).toBe(ctx.tmpDir);
      expect(existsSync(file ?? '')).toBe(false);
    }
  } finally {
    restore();
  }
});

test('an unreachable registry is retryable', async () => {
  const ctx = await contextFor(await pack('unreachable', '1.0.0'), '1.0.0');
  const closed = npmPublisher.options.parse({ registry: `http://127.0.0.1:${await freePort()}` });
  await expect(publish(ctx, closed)).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: true,
    details: { npmCode: 'ECONNREFUSED' },
  });
});

test('a tarball of another version, a hostile package name or a missing tarball changes nothing', async () => {
  const wrongVersion = await contextFor(await pack('mismatch', '3.0.0'), '3.0.1');
  await expect(publish(wrongVersion, opts())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringMatching(/holds mismatch@3\.0\.0, but this release is version 3\.0\.1/),
  });

  // A hand-made tarball whose name would read as an npm option if it reached argv.
  const src = path.join(tmp.dir, 'hostile');
  mkdirSync(path.join(src, 'package'), { recursive: true });
  writeFileSync(path.join(src, 'package', 'package.json'), JSON.stringify({ name: '--registry=http://evil.example/', version: '1.0.0' }));
  execFileSync('tar', ['czf', 'hostile.tgz', 'package'], { cwd: src });
  const hostile = await contextFor({ file: 'hostile.tgz', bytes: readFileSync(path.join(src, 'hostile.tgz')) }, '1.0.0');
  await expect(publish(hostile, opts())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringMatching(/not an npm package tarball/),
  });

  const garbage = await contextFor({ file: 'garbage.tgz', bytes: Buffer.from('not gzip at all') }, '1.0.0');
  await expect(publish(garbage, opts())).rejects.toMatchObject({ code: ErrorCode.BadInput });

  const none = await publishContext(path.join(tmp.dir, 'none'), { 'README.md': 'x' }, { credentials: { NPM_TOKEN: token } });
  await expect(publish(none, opts())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringMatching(/exactly one \.tgz file/),
  });

  const noToken = await publishContext(path.join(tmp.dir, 'no-token'), { 'a.tgz': 'x' });
  await expect(publish(noToken, opts())).rejects.toMatchObject({
    code: ErrorCode.ConfigInvalid,
    message: expect.stringMatching(/credentials: \{ NPM_TOKEN:/),
  });
});

test('the options refuse plain http off loopback, credentials in the URL and option-like tags', () => {
  expect(npmPublisher.options.safeParse({ registry: 'http://registry.example.com/' }).success).toBe(false);
  expect(npmPublisher.options.safeParse({ registry: 'https://user:pw@registry.example.com/' }).success).toBe(false);
  expect(npmPublisher.options.safeParse({ registry: 'https://registry.npmjs.org/', tag: '--registry=x' }).success).toBe(false);
  expect(npmPublisher.options.safeParse({ registry: 'https://registry.npmjs.org/', extra: 1 }).success).toBe(false);
  expect(npmPublisher.options.parse({ registry: 'https://registry.npmjs.org/' })).toMatchObject({
    registry: 'https://registry.npmjs.org',
    tag: 'latest',
  });
});

test("the command line pins registry (the scope's too), proxies, TLS and every config file; cafile only from the destination", () => {
  const files = { userconfig: '/t/u', globalconfig: '/t/g', prefix: '/t' };
  expect(pinnedNpmArgs({ registry: 'https://npm.example.com/api' }, files, '@acme/tiny-util')).toEqual([
    '--registry=https://npm.example.com/api/',
    '--@acme:registry=https://npm.example.com/api/',
    '--userconfig=/t/u',
    '--globalconfig=/t/g',
    '--prefix=/t',
    '--proxy=false',
    '--noproxy=npm.example.com',
    '--strict-ssl=true',
  ]);
  expect(pinnedNpmArgs({ registry: 'https://npm.example.com', cafile: '/etc/ssl/npm-ca.pem' }, files, 'tiny-util')).toEqual(
    expect.arrayContaining(['--cafile=/etc/ssl/npm-ca.pem']),
  );
  expect(pinnedNpmArgs({ registry: 'https://npm.example.com' }, files, 'tiny-util').some((a) => a.includes(':registry='))).toBe(false);
  expect(npmPublisher.options.safeParse({ registry: 'https://npm.example.com', cafile: 'relative.pem' }).success).toBe(false);
  expect(npmPublisher.options.safeParse({ registry: 'https://npm.example.com', package_name: '--registry=x' }).success).toBe(false);
});
