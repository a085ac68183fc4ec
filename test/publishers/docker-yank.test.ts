import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { jest } from '@jest/globals';
import { ErrorCode } from '../../src/errors.js';
import type { PublishedRecord, YankContext } from '../../src/publishing/types.js';
import { digestIfPresent, writeAuthFile } from '../../src/staging/skopeo.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { freePort } from '../support/ports.js';
import { publishContext } from '../support/publish-context.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { everything, yankContext } from './helpers/yank-context.js';

/**
 * Yank on real docker-registry instances (Debian `docker-registry`, distribution 2.8), read back
 * independently with `skopeo inspect`: two destination registries (both with htpasswd auth; the
 * second allows deletes), and a staging registry holding the builds of 4.1.0 and 4.2.0.
 */
// Every step is a skopeo run against a real registry: slow on a busy machine, never timed.
jest.setTimeout(300_000);
const tmp = makeTmpDir('release-bot-docker-yank-');
const PASSWORD = 'canary-yank-registry-pw-5d1c8e2b';
const USER = 'release-bot';
const canaryForms = [
  PASSWORD,
  Buffer.from(PASSWORD).toString('base64').replace(/=+$/, ''),
  Buffer.from(`${USER}:${PASSWORD}`).toString('base64').replace(/=+$/, ''),
];
const CREDENTIALS = { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD };
let staging: TestRegistry;
let noDeletes: TestRegistry;
let deletes: TestRegistry;
let v1: PushedImage;
let v2: PushedImage;
let n = 0;

beforeAll(async () => {
  requireBinary('skopeo', 'skopeo');
  requireBinary('umoci', 'umoci');
  [staging, noDeletes, deletes] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: { username: USER, password: PASSWORD } }),
    startRegistry({ auth: { username: USER, password: PASSWORD }, deletes: true }),
  ]);
  v1 = await pushTinyImage({
    workDir: tmp.dir,
    host: staging.host,
    path: 'builds/conjur-cli',
    tag: '4.1.0-staged',
    content: 'conjur-cli 4.1.0\n',
  });
  v2 = await pushTinyImage({
    workDir: tmp.dir,
    host: staging.host,
    path: 'builds/conjur-cli',
    tag: '4.2.0-staged',
    content: 'conjur-cli 4.2.0\n',
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([staging?.stop(), noDeletes?.stop(), deletes?.stop()]);
  tmp.cleanup();
});

const options = (registry: TestRegistry, repo: string, extra: Record<string, unknown> = {}) =>
  dockerPublisher.options.parse({ repository: `${registry.host}/${repo}`, tls_verify: false, latest: true, ...extra });

/** Publishes a staged build with the docker destination itself; answers what the store would record. */
async function publish(
  registry: TestRegistry,
  repo: string,
  version: string,
  image: PushedImage,
  extra: Record<string, unknown> = {},
): Promise<PublishedRecord> {
  const artifact = { kind: 'docker' as const, ref: image.repository, digest: image.digest, tlsVerify: false };
  const ctx = await publishContext(path.join(tmp.dir, `pub-${(n += 1)}`), {}, { version, artifact, credentials: CREDENTIALS });
  const result = await dockerPublisher.publish(ctx, options(registry, repo, extra));
  expect(result.status).toBe('published');
  return { version, artifact, readBackDigest: result.readBackDigest, location: result.location };
}

function yank(overrides: Partial<YankContext> & Pick<YankContext, 'published'>) {
  return yankContext(path.join(tmp.dir, `yank-${(n += 1)}`), { credentials: CREDENTIALS, ...overrides });
}

/** `skopeo inspect` of a tag or digest, with an auth file of the test's own (not the publisher's code path). */
async function served(registry: TestRegistry, ref: string): Promise<string | undefined> {
  const authFile = path.join(tmp.dir, `check-auth-${(n += 1)}.json`);
  await writeAuthFile(authFile, registry.host, USER, PASSWORD);
  return digestIfPresent(`${registry.host}/${ref}`, { tlsVerify: false, authFile, redact: (t) => t });
}

function expectNoCanary(text: string): void {
  for (const form of canaryForms) expect(text).not.toContain(form);
}

function expectNoAuthFileLeft(tmpDir: string): void {
  expect(existsSync(tmpDir) ? readdirSync(tmpDir).filter((f) => f.includes('auth')) : []).toEqual([]);
}

test("on two registries, latest moves back to 4.1.0's digest (read back by skopeo inspect), the version tags stay, a second yank is already-yanked", async () => {
  for (const registry of [noDeletes, deletes]) {
    const repo = `org/app-${(n += 1)}`;
    const previous = await publish(registry, repo, '4.1.0', v1);
    const published = await publish(registry, repo, '4.2.0', v2);
    await expect(served(registry, `${repo}:latest`)).resolves.toBe(v2.digest);

    const ctx = yank({ published, previous });
    const result = await dockerPublisher.yank!(ctx, options(registry, repo));
    expect(result).toMatchObject({ status: 'yanked', location: `${registry.host}/${repo}@${v1.digest}` });
    expect(result.detail).toMatch(/latest -> 4\.1\.0/);
    await expect(served(registry, `${repo}:latest`)).resolves.toBe(v1.digest);
    // A version's own tags name that version's image and are never pointed elsewhere.
    await expect(served(registry, `${repo}:4.2.0`)).resolves.toBe(v2.digest);
    await expect(served(registry, `${repo}:4.2.0-build.123`)).resolves.toBe(v2.digest);
    await expect(served(registry, `${repo}:4.1.0`)).resolves.toBe(v1.digest);

    const again = yank({ published, previous });
    await expect(dockerPublisher.yank!(again, options(registry, repo))).resolves.toMatchObject({ status: 'already-yanked' });
    await expect(served(registry, `${repo}:latest`)).resolves.toBe(v1.digest);
    expectNoCanary(everything(ctx, result) + everything(again));
    expectNoAuthFileLeft(ctx.tmpDir);
  }
});

test('a hotfix of an older line (4.1.1 after 4.2.0) leaves latest with 4.2.0: latest never moves backwards', async () => {
  const repo = `org/app-${(n += 1)}`;
  await publish(noDeletes, repo, '4.2.0', v2);
  await expect(served(noDeletes, `${repo}:latest`)).resolves.toBe(v2.digest);
  // The core tells the destination that 4.2.0, newer, is released (src/release/newer-released.ts).
  const artifact = { kind: 'docker' as const, ref: v1.repository, digest: v1.digest, tlsVerify: false };
  const ctx = await publishContext(
    path.join(tmp.dir, `pub-${(n += 1)}`),
    {},
    { version: '4.1.1', artifact, credentials: CREDENTIALS, newerReleased: '4.2.0' },
  );
  const result = await dockerPublisher.publish(ctx, options(noDeletes, repo));
  expect(result.status).toBe('published');
  expect(result.detail).not.toMatch(/latest/);
  await expect(served(noDeletes, `${repo}:latest`)).resolves.toBe(v2.digest);
  await expect(served(noDeletes, `${repo}:4.1.1`)).resolves.toBe(v1.digest);
}, 300_000);

test('a literal tag of the tags option moves back too; a tag someone moved to another image since is left alone', async () => {
  const repo = `org/app-${(n += 1)}`;
  const previous = await publish(noDeletes, repo, '4.1.0', v1, { latest: false, tags: ['{version}', 'edge'] });
  const published = await publish(noDeletes, repo, '4.2.0', v2, { latest: false });
  // `edge` could only be set once (a release never overwrites a tag): 4.1.0 holds it; `latest` was moved by hand to 4.2.0.
  await pushTinyImage({
    workDir: tmp.dir,
    host: noDeletes.host,
    path: repo,
    tag: 'latest',
    image: v2.image,
    auth: { username: USER, password: PASSWORD },
  });
  const ctx = yank({ published, previous });
  const result = await dockerPublisher.yank!(ctx, options(noDeletes, repo, { tags: ['{version}', 'edge'] }));
  expect(result).toMatchObject({ status: 'yanked' });
  // `edge` held 4.1.0 already and stays; `latest` pointed at 4.2.0 and moves back.
  await expect(served(noDeletes, `${repo}:latest`)).resolves.toBe(v1.digest);
  await expect(served(noDeletes, `${repo}:edge`)).resolves.toBe(v1.digest);

  const other = await pushTinyImage({
    workDir: tmp.dir,
    host: noDeletes.host,
    path: repo,
    tag: 'latest',
    content: "someone else's hotfix\n",
    auth: { username: USER, password: PASSWORD },
  });
  await expect(dockerPublisher.yank!(yank({ published, previous }), options(noDeletes, repo))).resolves.toMatchObject({
    status: 'already-yanked',
  });
  await expect(served(noDeletes, `${repo}:latest`)).resolves.toBe(other.digest);
});

test('dry run: planned with one action per tag, nothing changes', async () => {
  const repo = `org/app-${(n += 1)}`;
  const previous = await publish(deletes, repo, '4.1.0', v1);
  const published = await publish(deletes, repo, '4.2.0', v2);
  const ctx = yank({ published, previous, dryRun: true });
  const result = await dockerPublisher.yank!(ctx, options(deletes, repo, { delete_version_tag: true }));
  expect(result.status).toBe('planned');
  expect(result.actions).toEqual([
    `skopeo copy ${deletes.host}/${repo}@${v1.digest} to ${deletes.host}/${repo}:latest (4.1.0)`,
    `skopeo delete ${deletes.host}/${repo}@${v2.digest} (removes 4.2.0's own tags)`,
  ]);
  await expect(served(deletes, `${repo}:latest`)).resolves.toBe(v2.digest);
  await expect(served(deletes, `${repo}:4.2.0`)).resolves.toBe(v2.digest);
  expect(ctx.progressLines).toEqual([]);
});

test('no earlier version: cannot-yank, latest is left on the yanked image (a registry cannot delete one tag)', async () => {
  const repo = `org/app-${(n += 1)}`;
  const published = await publish(noDeletes, repo, '4.2.0', v2);
  const result = await dockerPublisher.yank!(yank({ published }), options(noDeletes, repo));
  expect(result).toMatchObject({
    status: 'cannot-yank',
    detail: expect.stringMatching(/:latest still points at 4\.2\.0's image and there is no earlier released version of conjur-cli/),
  });
  await expect(served(noDeletes, `${repo}:latest`)).resolves.toBe(v2.digest);
});

test('the previous image missing from the repository (published elsewhere then): cannot-yank, nothing changed', async () => {
  const repo = `org/app-${(n += 1)}`;
  const published = await publish(noDeletes, repo, '4.2.0', v2);
  const previous: PublishedRecord = {
    version: '4.1.0',
    artifact: { kind: 'docker', ref: v1.repository, digest: v1.digest, tlsVerify: false },
    readBackDigest: v1.digest,
  };
  const result = await dockerPublisher.yank!(yank({ published, previous }), options(noDeletes, repo));
  expect(result).toMatchObject({
    status: 'cannot-yank',
    detail: expect.stringContaining(`4.1.0's image ${v1.digest.slice(0, 19)}… is not in`),
  });
  await expect(served(noDeletes, `${repo}:latest`)).resolves.toBe(v2.digest);
});

describe('delete_version_tag', () => {
  test("a registry that allows deletes: latest moved back, 4.2.0's manifest and its tags gone, 4.1.0 untouched", async () => {
    const repo = `org/app-${(n += 1)}`;
    const previous = await publish(deletes, repo, '4.1.0', v1);
    const published = await publish(deletes, repo, '4.2.0', v2);
    const result = await dockerPublisher.yank!(yank({ published, previous }), options(deletes, repo, { delete_version_tag: true }));
    expect(result).toMatchObject({ status: 'yanked', detail: expect.stringContaining("4.2.0's manifest and tags deleted") });
    await expect(served(deletes, `${repo}:latest`)).resolves.toBe(v1.digest);
    await expect(served(deletes, `${repo}:4.2.0`)).resolves.toBeUndefined();
    await expect(served(deletes, `${repo}@${v2.digest}`)).resolves.toBeUndefined();
    await expect(served(deletes, `${repo}:4.1.0`)).resolves.toBe(v1.digest);
    await expect(
      dockerPublisher.yank!(yank({ published, previous }), options(deletes, repo, { delete_version_tag: true })),
    ).resolves.toMatchObject({ status: 'already-yanked' });
  });

  test('a registry that refuses deletes (405): latest still moved back, the version tag stays, cannot-yank says why', async () => {
    const repo = `org/app-${(n += 1)}`;
    const previous = await publish(noDeletes, repo, '4.1.0', v1);
    const published = await publish(noDeletes, repo, '4.2.0', v2);
    const ctx = yank({ published, previous });
    const result = await dockerPublisher.yank!(ctx, options(noDeletes, repo, { delete_version_tag: true }));
    expect(result).toMatchObject({
      status: 'cannot-yank',
      detail: expect.stringMatching(/latest -> 4\.1\.0 .*could not be deleted: .* does not allow deletes \(405/),
    });
    await expect(served(noDeletes, `${repo}:latest`)).resolves.toBe(v1.digest);
    await expect(served(noDeletes, `${repo}:4.2.0`)).resolves.toBe(v2.digest);
    expectNoCanary(everything(ctx, result));
  });
});

describe('failures', () => {
  test('a registry that is down is retryable, and no form of the password reaches the error or the logs', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const published: PublishedRecord = {
      version: '4.2.0',
      artifact: { kind: 'docker', ref: v2.repository, digest: v2.digest, tlsVerify: false },
    };
    const ctx = yank({ published });
    const err = await dockerPublisher.yank!(
      ctx,
      dockerPublisher.options.parse({ repository: `${host}/org/app`, tls_verify: false, latest: true }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: true });
    expectNoCanary(everything(ctx, err));
    expectNoAuthFileLeft(ctx.tmpDir);
  });

  test('a recorded digest that is not a sha256 digest is refused before any registry is asked', async () => {
    const published: PublishedRecord = {
      version: '4.2.0',
      artifact: { kind: 'docker', ref: v2.repository, digest: 'sha256:abc --authfile=/etc/shadow', tlsVerify: false },
    };
    const ctx = yank({ published });
    await expect(dockerPublisher.yank!(ctx, options(noDeletes, 'org/app'))).rejects.toMatchObject({ code: ErrorCode.BadInput });
    expect(ctx.progressLines).toEqual([]);
  });

  test('a wrong password is final', async () => {
    const repo = `org/app-${(n += 1)}`;
    const published = await publish(noDeletes, repo, '4.2.0', v2);
    const ctx = yank({ published, credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: 'canary-wrong-pw-0c4f1e7a' } });
    const err = await dockerPublisher.yank!(ctx, options(noDeletes, repo)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'unauthorized' } });
    expect(everything(ctx, err)).not.toContain('canary-wrong-pw-0c4f1e7a');
  });
});
