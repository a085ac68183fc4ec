import path from 'node:path';
import { jest } from '@jest/globals';
import type { PublishedRecord } from '../../src/publishing/types.js';
import { digestIfPresent, writeAuthFile } from '../../src/staging/skopeo.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { publishContext } from '../support/publish-context.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { yankContext } from '../publishers/helpers/yank-context.js';

/**
 * `delete_version_tag` deletes the yanked manifest by digest, and a registry then drops every tag on
 * it (distribution-spec: DELETE /v2/<name>/manifests/<digest>), not only the yanked version's. When
 * another version was released from the same image (a rebuild that reproduced the same bytes), the yank
 * of 4.2.0 must not take 4.2.1 with it. Real Debian docker-registry with deletes enabled, read back
 * with `skopeo inspect`.
 */
jest.setTimeout(300_000);
const tmp = makeTmpDir('release-bot-attack-docker-yank-');
const USER = 'release-bot';
const PASSWORD = 'canary-attack-registry-pw-71c0d3';
const CREDENTIALS = { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD };
let staging: TestRegistry;
let deletes: TestRegistry;
let v1: PushedImage;
let v2: PushedImage;
let n = 0;

beforeAll(async () => {
  requireBinary('skopeo', 'skopeo');
  requireBinary('umoci', 'umoci');
  [staging, deletes] = await Promise.all([startRegistry(), startRegistry({ auth: { username: USER, password: PASSWORD }, deletes: true })]);
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
  await Promise.all([staging?.stop(), deletes?.stop()]);
  tmp.cleanup();
});

const options = (repo: string) =>
  dockerPublisher.options.parse({ repository: `${deletes.host}/${repo}`, tls_verify: false, latest: true, delete_version_tag: true });

async function publish(repo: string, version: string, image: PushedImage): Promise<PublishedRecord> {
  const artifact = { kind: 'docker' as const, ref: image.repository, digest: image.digest, tlsVerify: false };
  const ctx = await publishContext(path.join(tmp.dir, `pub-${(n += 1)}`), {}, { version, artifact, credentials: CREDENTIALS });
  const result = await dockerPublisher.publish(ctx, options(repo));
  expect(result.status).toBe('published');
  return { version, artifact, readBackDigest: result.readBackDigest, location: result.location };
}

async function served(ref: string): Promise<string | undefined> {
  const authFile = path.join(tmp.dir, `check-auth-${(n += 1)}.json`);
  await writeAuthFile(authFile, deletes.host, USER, PASSWORD);
  return digestIfPresent(`${deletes.host}/${ref}`, { tlsVerify: false, authFile, redact: (t) => t });
}

test('yanking 4.2.0 never deletes the image another released version (4.2.1) still serves: cannot-yank for the delete, latest still moved back', async () => {
  const repo = 'org/shared-digest';
  const previous = await publish(repo, '4.1.0', v1);
  const published = await publish(repo, '4.2.0', v2);
  await publish(repo, '4.2.1', v2);
  const ctx = yankContext(path.join(tmp.dir, 'yank'), { published, previous, credentials: CREDENTIALS });
  const result = await dockerPublisher.yank!(ctx, options(repo));
  // The invariant: 4.2.1's tags still serve its image.
  await expect(served(`${repo}:4.2.1`)).resolves.toBe(v2.digest);
  await expect(served(`${repo}:latest`)).resolves.toBe(v1.digest);
  expect(result).toMatchObject({ status: 'cannot-yank', detail: expect.stringContaining('4.2.1') });
});
