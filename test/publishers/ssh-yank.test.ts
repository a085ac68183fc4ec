import { jest } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sshPublisher } from '../../publishers/ssh.js';
import type { PublishedRecord, YankContext } from '../../src/publishing/types.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { requireBinary } from '../support/require-binary.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { makeTmpDir } from '../support/tmp.js';

// A publish and two yanks start about twenty ssh and scp processes (each a key exchange): on 2 cores shared
// with a dozen other jobs the first test took over a minute.
jest.setTimeout(300_000);

const tmp = makeTmpDir('release-bot-ssh-yank-');
/** The "download host" is this machine through a real sshd: what lands under remoteRoot can be read directly. */
const remoteRoot = path.join(tmp.dir, 'downloads');
let sshd: TestSshd;
let n = 0;

beforeAll(async () => {
  requireBinary('ssh', 'openssh-client');
  requireBinary('scp', 'openssh-client');
  requireBinary('sha256sum', 'coreutils');
  mkdirSync(remoteRoot);
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.stop();
  tmp.cleanup();
});

const options = () =>
  sshPublisher.options.parse({
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    path: `${remoteRoot}/{project}/{version}`,
    known_hosts: sshd.hostKeyLine,
  });

/** Publishes `files` as project `p` with the real publisher (scp), as a release did. */
async function release(
  p: string,
  version: string,
  files: Record<string, string>,
): Promise<{ published: PublishedRecord; ctx: TestContext }> {
  const ctx = await publishContext(path.join(tmp.dir, `ctx-${(n += 1)}`), files, {
    project: p,
    version,
    credentials: { SSH_PRIVATE_KEY: sshd.clientKey.privateKey },
  });
  const result = await sshPublisher.publish(ctx, options());
  expect(result.status).toBe('published');
  return { published: { version, artifact: ctx.artifact, readBackDigest: result.readBackDigest, location: result.location }, ctx };
}

function yankContext(ctx: TestContext, published: PublishedRecord, reason: string, dryRun = false): YankContext {
  return {
    project: ctx.project,
    version: published.version,
    yankId: 'yank_test',
    reason,
    published,
    dryRun,
    credentials: ctx.credentials,
    redact: ctx.redact,
    log: ctx.log,
    signal: ctx.signal,
    tmpDir: ctx.tmpDir,
    progress: () => undefined,
  };
}

test('moves the files and the label into yanked/ on the host with the reason beside each; a second run is already-yanked', async () => {
  const { published, ctx } = await release('dl', '1.0.0', { 'dl-1.0.0.tar.gz': 'tarball bytes', 'docs/NOTES': 'notes' });
  const dir = path.join(remoteRoot, 'dl', '1.0.0');

  const reason = "bad build; $(touch /tmp/pwned) 'quoted' `id`";
  await expect(sshPublisher.yank!(yankContext(ctx, published, reason, true), options())).resolves.toMatchObject({
    status: 'planned',
    actions: expect.arrayContaining([expect.stringContaining(`${dir}/dl-1.0.0.tar.gz to ${dir}/yanked/dl-1.0.0.tar.gz`)]),
  });
  expect(existsSync(path.join(dir, 'yanked'))).toBe(false);

  await expect(sshPublisher.yank!(yankContext(ctx, published, reason), options())).resolves.toMatchObject({
    status: 'yanked',
    location: `${sshd.user}@127.0.0.1:${dir}/yanked`,
  });
  expect(existsSync(path.join(dir, 'dl-1.0.0.tar.gz'))).toBe(false);
  expect(existsSync(path.join(dir, 'docs', 'NOTES'))).toBe(false);
  expect(readFileSync(path.join(dir, 'yanked', 'dl-1.0.0.tar.gz'), 'utf8')).toBe('tarball bytes');
  expect(readFileSync(path.join(dir, 'yanked', 'docs', 'NOTES'), 'utf8')).toBe('notes');
  expect(existsSync(path.join(dir, 'yanked', 'dl-1.0.0.release.json'))).toBe(true);
  // The reason travels as data (stdin), never as shell: it is in the note as typed, and nothing ran.
  expect(JSON.parse(readFileSync(path.join(dir, 'yanked', 'dl-1.0.0.tar.gz.yank.json'), 'utf8'))).toMatchObject({
    project: 'dl',
    version: '1.0.0',
    yanked: true,
    reason,
  });
  expect(existsSync('/tmp/pwned')).toBe(false);

  await expect(sshPublisher.yank!(yankContext(ctx, published, reason), options())).resolves.toMatchObject({ status: 'already-yanked' });
  expect(ctx.logLines.join('\n')).not.toContain(sshd.clientKey.privateKey.split('\n')[1] as string);
});

test('refuses to move files through a symlinked yanked/ (or to follow a symlinked file), and moves nothing', async () => {
  const { published, ctx } = await release('dl', '2.0.0', { 'dl-2.0.0.tar.gz': 'tarball 2' });
  const dir = path.join(remoteRoot, 'dl', '2.0.0');
  const elsewhere = path.join(tmp.dir, 'elsewhere');
  mkdirSync(elsewhere);
  symlinkSync(elsewhere, path.join(dir, 'yanked'));
  await expect(sshPublisher.yank!(yankContext(ctx, published, 'bad'), options())).rejects.toMatchObject({
    code: 'DESTINATION_CONFLICT',
    message: expect.stringContaining('/yanked is a symlink'),
  });
  expect(readFileSync(path.join(dir, 'dl-2.0.0.tar.gz'), 'utf8')).toBe('tarball 2');
  expect(existsSync(path.join(elsewhere, 'dl-2.0.0.tar.gz'))).toBe(false);
});

test('a file replaced by a symlink on the host is refused, not followed', async () => {
  const { published, ctx } = await release('dl', '3.0.0', { 'dl-3.0.0.tar.gz': 'tarball 3' });
  const dir = path.join(remoteRoot, 'dl', '3.0.0');
  const secret = path.join(tmp.dir, 'secret.txt');
  writeFileSync(secret, 'tarball 3');
  const { rmSync } = await import('node:fs');
  rmSync(path.join(dir, 'dl-3.0.0.tar.gz'), { force: true });
  symlinkSync(secret, path.join(dir, 'dl-3.0.0.tar.gz'));
  await expect(sshPublisher.yank!(yankContext(ctx, published, 'bad'), options())).rejects.toMatchObject({
    code: 'DESTINATION_CONFLICT',
    message: expect.stringContaining('is a symlink'),
  });
  expect(existsSync(path.join(dir, 'yanked'))).toBe(false);
  expect(readFileSync(secret, 'utf8')).toBe('tarball 3');
});
