import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, isReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { digestIfPresent, inspectDigest, writeAuthFile } from '../../src/staging/skopeo.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { expectOnlyOwnEnv, PARENT_CANARIES, setParentEnv, spyOnTools } from '../support/child-env.js';
import { buildMultiArchImage, pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { freePort } from '../support/ports.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';

const tmp = makeTmpDir('release-bot-docker-test-');
const PASSWORD = 'canary-registry-pw-7f3e9a1c';
const USER = 'release-bot';
const canaryForms = [
  PASSWORD,
  Buffer.from(PASSWORD).toString('base64').replace(/=+$/, ''),
  Buffer.from(`${USER}:${PASSWORD}`).toString('base64').replace(/=+$/, ''),
];
let source: TestRegistry;
let dest: TestRegistry;
let staged: PushedImage;
/** Every argv skopeo was started with, recorded by a wrapper first on PATH. */
let argvLog: string;
let savedPath: string | undefined;
let n = 0;

beforeAll(async () => {
  const skopeo = requireBinary('skopeo', 'skopeo');
  requireBinary('umoci', 'umoci');
  [source, dest] = await Promise.all([startRegistry(), startRegistry({ auth: { username: USER, password: PASSWORD } })]);
  staged = await pushTinyImage({ workDir: tmp.dir, host: source.host, path: 'builds/conjur-cli', tag: '4.2.0-staged' });

  const bin = path.join(tmp.dir, 'bin');
  mkdirSync(bin);
  argvLog = path.join(tmp.dir, 'skopeo-argv.log');
  writeFileSync(path.join(bin, 'skopeo'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${skopeo}' "$@"\n`);
  chmodSync(path.join(bin, 'skopeo'), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${process.env.PATH}`;
});

afterAll(async () => {
  process.env.PATH = savedPath;
  await Promise.all([source?.stop(), dest?.stop()]);
  tmp.cleanup();
});

async function context(overrides: Partial<PublishContext> = {}): Promise<TestContext> {
  n += 1;
  return publishContext(
    path.join(tmp.dir, `ctx-${n}`),
    {},
    {
      artifact: { kind: 'docker', ref: staged.repository, digest: staged.digest, tlsVerify: false },
      credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD },
      ...overrides,
    },
  );
}

const options = (extra: Record<string, unknown> = {}) =>
  dockerPublisher.options.parse({ repository: `${dest.host}/org/conjur-cli`, tls_verify: false, ...extra });

/** The registry read independently of the publisher, with our own auth file. */
async function destDigest(tag: string): Promise<string | undefined> {
  const authFile = path.join(tmp.dir, `check-auth-${(n += 1)}.json`);
  await writeAuthFile(authFile, dest.host, USER, PASSWORD);
  return digestIfPresent(`${dest.host}/org/conjur-cli:${tag}`, { tlsVerify: false, authFile, redact: (t) => t });
}

/** Every text a publisher run left behind: error (with causes and details), logs, progress. */
function everything(ctx: TestContext, err?: unknown): string {
  const parts = [...ctx.logLines, ...ctx.progressLines];
  for (let e = err; e; e = (e as { cause?: unknown }).cause) {
    parts.push(String(e), (e as Error).stack ?? '', JSON.stringify((e as { details?: unknown }).details ?? {}));
  }
  return parts.join('\n');
}

function expectNoCanary(text: string): void {
  for (const form of canaryForms) expect(text).not.toContain(form);
}

test('copies the staged image by digest under both tags; the destination serves the same manifest digest', async () => {
  const ctx = await context();
  const result = await dockerPublisher.publish(ctx, options());
  expect(result).toMatchObject({
    status: 'published',
    readBackDigest: staged.digest,
    location: `${dest.host}/org/conjur-cli@${staged.digest}`,
  });
  await expect(destDigest('4.2.0')).resolves.toBe(staged.digest);
  await expect(destDigest('4.2.0-build.123')).resolves.toBe(staged.digest);
  expect(ctx.progressLines.join('\n')).toMatch(/copying .* \(2 of 2\)/);

  // Credentials only ever in an auth file: not on a command line, not left behind, not in any output.
  const argv = readFileSync(argvLog, 'utf8');
  expect(argv).toMatch(/--dest-authfile \S+dest-auth-/);
  expect(argv).toMatch(/--preserve-digests/);
  expectNoCanary(argv);
  expect(readdirSync(ctx.tmpDir).filter((f) => f.includes('auth'))).toEqual([]);
  expectNoCanary(everything(ctx));
});

test('a multi-arch image (an OCI index of linux/s390x and linux/ppc64le) is published with its index digest and every platform', async () => {
  const multi = await pushTinyImage({
    workDir: tmp.dir,
    host: source.host,
    path: 'builds/conjur-cli',
    tag: '4.2.1-staged',
    image: await buildMultiArchImage(tmp.dir),
  });
  const ctx = await context({
    version: '4.2.1',
    artifact: { kind: 'docker', ref: multi.repository, digest: multi.digest, tlsVerify: false },
  });
  await expect(dockerPublisher.publish(ctx, options())).resolves.toMatchObject({ status: 'published', readBackDigest: multi.digest });
  // Read back independently: the raw index the destination serves hashes to the staged index digest.
  await expect(destDigest('4.2.1')).resolves.toBe(multi.digest);
  await expect(destDigest('4.2.1-build.123')).resolves.toBe(multi.digest);
  const authFile = await authFileFor();
  for (const digest of Object.values(multi.image.platforms ?? {})) {
    await expect(inspectDigest(`${dest.host}/org/conjur-cli@${digest}`, { tlsVerify: false, authFile, redact: (t) => t })).resolves.toBe(
      digest,
    );
  }
  // A second run sees the index under both tags: nothing to copy.
  await expect(dockerPublisher.publish(await context({ version: '4.2.1', artifact: ctx.artifact }), options())).resolves.toMatchObject({
    status: 'already-present',
  });
});

test('a second run finds every tag holding the staged digest: already-present, nothing copied', async () => {
  const ctx = await context();
  const before = readFileSync(argvLog, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('copy')).length;
  const result = await dockerPublisher.publish(ctx, options());
  expect(result).toMatchObject({ status: 'already-present', readBackDigest: staged.digest });
  expect(
    readFileSync(argvLog, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('copy')).length,
  ).toBe(before);
});

test('only the missing tag is copied when one tag is already there', async () => {
  const ctx = await context({ version: '4.3.0' });
  await pushTinyImage({
    workDir: tmp.dir,
    host: dest.host,
    path: 'org/conjur-cli',
    tag: '4.3.0',
    image: staged.image,
    auth: { username: USER, password: PASSWORD },
  });
  const result = await dockerPublisher.publish(ctx, options());
  expect(result).toMatchObject({ status: 'published', detail: expect.stringContaining('tagged 4.3.0-build.123') });
  await expect(destDigest('4.3.0-build.123')).resolves.toBe(staged.digest);
});

test('a tag that holds another image is a conflict: nothing is overwritten and no other tag is created', async () => {
  const other = await pushTinyImage({
    workDir: tmp.dir,
    host: dest.host,
    path: 'org/conjur-cli',
    tag: '5.0.0',
    content: 'another build\n',
    auth: { username: USER, password: PASSWORD },
  });
  expect(other.digest).not.toBe(staged.digest);
  const ctx = await context({ version: '5.0.0' });
  const err = await dockerPublisher.publish(ctx, options()).catch((e: unknown) => e);
  expect(isReleaseBotError(err, ErrorCode.DestinationConflict)).toBe(true);
  expect(err).toMatchObject({ retryable: false, message: expect.stringContaining(other.digest) });
  await expect(destDigest('5.0.0')).resolves.toBe(other.digest);
  await expect(destDigest('5.0.0-build.123')).resolves.toBeUndefined();
  // The dry run runs the same check and reports the same conflict.
  await expect(dockerPublisher.plan!(await context({ version: '5.0.0' }), options())).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
  });
});

test('a wrong password is a final auth failure, and the password never shows up anywhere', async () => {
  const wrong = `${PASSWORD}-wrong`;
  const ctx = await context({ version: '6.0.0', credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: wrong } });
  const err = await dockerPublisher.publish(ctx, options()).catch((e: unknown) => e);
  expect(isReleaseBotError(err, ErrorCode.DestinationFailed)).toBe(true);
  expect(err).toMatchObject({ retryable: false, details: { reason: 'unauthorized' } });
  expect((err as Error).message).toMatch(/refused the credentials/);
  const text = everything(ctx, err);
  for (const form of [wrong, Buffer.from(`${USER}:${wrong}`).toString('base64').replace(/=+$/, '')]) expect(text).not.toContain(form);
  expectNoCanary(text);
  expectNoCanary(readFileSync(argvLog, 'utf8'));
  expect(readdirSync(ctx.tmpDir)).toEqual([]);
  await expect(destDigest('6.0.0')).resolves.toBeUndefined();
});

test('no credentials at all against an auth registry: final auth failure, nothing pushed', async () => {
  const ctx = await context({ version: '6.1.0', credentials: {} });
  await expect(dockerPublisher.publish(ctx, options())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'unauthorized' },
  });
});

test('an unreachable registry is retryable', async () => {
  const ctx = await context({ version: '7.0.0' });
  const port = await freePort();
  await expect(dockerPublisher.publish(ctx, options({ repository: `127.0.0.1:${port}/org/conjur-cli` }))).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: true,
    details: { reason: 'network' },
  });
});

test('a staged digest that the local registry does not have is a final failure, nothing pushed', async () => {
  const missing = `sha256:${'0'.repeat(64)}`;
  const ctx = await context({ version: '8.0.0', artifact: { kind: 'docker', ref: staged.repository, digest: missing, tlsVerify: false } });
  await expect(dockerPublisher.publish(ctx, options())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'not-found' },
  });
  await expect(destDigest('8.0.0')).resolves.toBeUndefined();
});

test('the dry run checks the destination and says what it would copy, without pushing', async () => {
  const ctx = await context({ version: '9.0.0' });
  const plan = await dockerPublisher.plan!(ctx, options());
  expect(plan.actions).toEqual([
    `skopeo copy ${staged.repository}@${staged.digest} to ${dest.host}/org/conjur-cli:9.0.0`,
    `skopeo copy ${staged.repository}@${staged.digest} to ${dest.host}/org/conjur-cli:9.0.0-build.123`,
  ]);
  await expect(destDigest('9.0.0')).resolves.toBeUndefined();
  const present = await dockerPublisher.plan!(await context(), options());
  expect(present.actions.every((a) => a.includes('nothing to do'))).toBe(true);
});

test('custom tags are expanded; a tag that is not a docker tag, or a {build} without a build number, is refused before anything runs', async () => {
  const ctx = await context({ version: '10.0.0' });
  await expect(dockerPublisher.publish(ctx, options({ tags: ['{version}', 'stable-{version}'] }))).resolves.toMatchObject({
    status: 'published',
  });
  await expect(
    inspectDigest(`${dest.host}/org/conjur-cli:stable-10.0.0`, { tlsVerify: false, authFile: await authFileFor(), redact: (t) => t }),
  ).resolves.toBe(staged.digest);

  await expect(dockerPublisher.publish(await context({ version: '4.2.0+meta.1' }), options())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringContaining('not a valid docker tag'),
  });
  await expect(dockerPublisher.publish(await context({ version: '11.0.0', build: {} }), options())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringContaining('build number'),
  });
});

test('skopeo gets the allowlisted environment only: no registry credential (those are in the auth file) and nothing of the parent', async () => {
  const ctx = await context({ version: '12.0.0' });
  const spy = spyOnTools(path.join(tmp.dir, `spy-${(n += 1)}`), { skopeo: { real: requireBinary('skopeo', 'skopeo') } });
  const restore = setParentEnv({ ...PARENT_CANARIES, PATH: `${spy.bin}:${process.env.PATH}` });
  try {
    await expect(dockerPublisher.publish(ctx, options())).resolves.toMatchObject({ status: 'published' });
  } finally {
    restore();
  }
  const calls = spy.calls('skopeo');
  // The version check runs once for a new PATH, before the first real command. The tags are checked
  // before and read back after over the registry HTTP API: skopeo runs for the copies alone.
  expect(calls.map((c) => c.argv[0])).toEqual(['--version', 'copy', 'copy']);
  const homes = new Set<string>();
  for (const call of calls) {
    expectOnlyOwnEnv(call, {});
    expectNoCanary(`${JSON.stringify(call.env)}\n${call.argv.join(' ')}`);
    if (call.argv[0] === '--version') continue;
    // A fresh private HOME per run, holding the configuration the bot pinned on the command line.
    const home = call.env.HOME as string;
    expect(path.dirname(home)).toBe(ctx.tmpDir);
    homes.add(home);
    const flag = (name: string) => call.argv[call.argv.indexOf(name) + 1];
    expect([flag('--registries-conf'), flag('--policy'), flag('--registries.d')]).toEqual([
      `${home}/registries.conf`,
      `${home}/policy.json`,
      `${home}/registries.d`,
    ]);
  }
  expect(homes.size).toBe(calls.length - 1);
  expect(readdirSync(ctx.tmpDir).filter((f) => f.startsWith('skopeo-'))).toEqual([]);
  await expect(destDigest('12.0.0')).resolves.toBe(staged.digest);
});

async function authFileFor(): Promise<string> {
  const file = path.join(tmp.dir, `auth-for-${(n += 1)}.json`);
  await writeAuthFile(file, dest.host, USER, PASSWORD);
  return file;
}

test('a files artifact or half a credential pair is refused clearly', async () => {
  const files = await publishContext(
    path.join(tmp.dir, 'files-ctx'),
    { 'a.txt': 'a' },
    { credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD } },
  );
  await expect(dockerPublisher.publish(files, options())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringContaining('artifact: docker'),
  });
  const half = await context({ credentials: { REGISTRY_USERNAME: USER } });
  await expect(dockerPublisher.publish(half, options())).rejects.toMatchObject({
    code: ErrorCode.ConfigInvalid,
    message: expect.stringContaining('REGISTRY_PASSWORD'),
  });
});

describe('options', () => {
  test('defaults: tls on, the version and build tags', () => {
    expect(dockerPublisher.options.parse({ repository: 'registry.example.com/org/conjur-cli' })).toEqual({
      repository: 'registry.example.com/org/conjur-cli',
      tls_verify: true,
      tags: ['{version}', '{version}-build.{build}'],
      latest: false,
      delete_version_tag: false,
    });
  });

  test.each([
    { repository: 'docker://registry.example.com/org/conjur-cli' },
    { repository: 'registry.example.com/org/conjur-cli:latest' },
    { repository: 'conjur-cli' },
    { repository: 'registry.example.com/org/conjur-cli', tags: ['$(id)'] },
    { repository: 'registry.example.com/org/conjur-cli', tags: [] },
    { repository: 'registry.example.com/org/conjur-cli', password: 'nope' },
  ])('refuses %j', (input) => {
    expect(dockerPublisher.options.safeParse(input).success).toBe(false);
  });
});

test('auth files never outlive a run, even a failing one', () => {
  const leftovers = readdirSync(tmp.dir)
    .filter((d) => d.startsWith('ctx-'))
    .flatMap((d) => (existsSync(path.join(tmp.dir, d, 'tmp')) ? readdirSync(path.join(tmp.dir, d, 'tmp')) : []))
    .filter((f) => f.includes('auth'));
  expect(leftovers).toEqual([]);
});
