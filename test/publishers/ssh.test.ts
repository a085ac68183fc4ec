import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { ErrorCode, isReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { sha256File } from '../../src/staging/hash.js';
import { destinationTypes } from '../../publishers/registry.js';
import { classifySshFailure, sshPublisher } from '../../publishers/ssh.js';
import { freePort } from '../support/ports.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { requireBinary } from '../support/require-binary.js';
import { generateKeyPair, startSshd, type TestSshd } from '../support/sshd.js';
import { makeTmpDir } from '../support/tmp.js';

const execFileAsync = promisify(execFile);
const tmp = makeTmpDir('release-bot-ssh-test-');
/** The "download host" is this machine through a real sshd: what lands under remoteRoot can be read directly. */
const remoteRoot = path.join(tmp.dir, 'downloads');
const FILES = {
  'conjur-cli-4.2.0.tar.gz': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256)),
  'checksums/SHA256SUMS': 'abc  conjur-cli-4.2.0.tar.gz\n',
};
let sshd: TestSshd;
let n = 0;

beforeAll(async () => {
  requireBinary('ssh', 'openssh-client');
  requireBinary('scp', 'openssh-client');
  requireBinary('rsync', 'rsync');
  requireBinary('sha256sum', 'coreutils');
  mkdirSync(remoteRoot);
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.stop();
  tmp.cleanup();
});

async function context(overrides: Partial<PublishContext> = {}, files: Record<string, string | Buffer> = FILES): Promise<TestContext> {
  n += 1;
  return publishContext(path.join(tmp.dir, `ctx-${n}`), files, {
    credentials: { SSH_PRIVATE_KEY: sshd.clientKey.privateKey },
    ...overrides,
  });
}

const options = (extra: Record<string, unknown> = {}) =>
  sshPublisher.options.parse({
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    path: `${remoteRoot}/{project}/{version}`,
    known_hosts: sshd.hostKeyLine,
    ...extra,
  });

/** Every text a run left behind: the error with its causes and details, logs, progress. */
function everything(ctx: TestContext, err?: unknown): string {
  const parts = [...ctx.logLines, ...ctx.progressLines];
  for (let e = err; e; e = (e as { cause?: unknown }).cause) {
    parts.push(String(e), (e as Error).stack ?? '', JSON.stringify((e as { details?: unknown }).details ?? {}));
  }
  return parts.join('\n');
}

/** No line of a private key (nor the key's base64 body as one string) in a text. */
function expectNoKey(text: string, key: string): void {
  for (const line of key.split('\n').filter((l) => l.length >= 12)) expect(text).not.toContain(line);
}

function uploadLeftovers(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.release-bot-upload-')) : [];
}

test('uploads the files and the release label over scp; the remote digests match and nothing is left behind', async () => {
  const ctx = await context();
  const result = await sshPublisher.publish(ctx, options());
  const dir = path.join(remoteRoot, 'conjur-cli', '4.2.0');
  expect(result).toMatchObject({ status: 'published', location: `${sshd.user}@127.0.0.1:${dir}` });
  for (const file of ctx.artifact.kind === 'files' ? ctx.artifact.files : []) {
    await expect(sha256File(path.join(dir, file.path))).resolves.toBe(file.sha256);
    expect(result.readBackDigest).toContain(`${file.path}:${file.sha256}`);
  }
  expect(readFileSync(path.join(dir, 'conjur-cli-4.2.0.release.json'), 'utf8')).toBe(readFileSync(ctx.labelFile, 'utf8'));
  expect(uploadLeftovers(dir)).toEqual([]);
  // The key and the known_hosts copy lived in the private temp dir only while the run lasted.
  expect(readdirSync(ctx.tmpDir)).toEqual([]);
  expectNoKey(everything(ctx), sshd.clientKey.privateKey);
  expect(ctx.progressLines.join('\n')).toMatch(/uploading 3 file\(s\)/);
});

test('a second run finds the same digests: already-present, nothing written', async () => {
  const dir = path.join(remoteRoot, 'conjur-cli', '4.2.0');
  const mtime = statSync(path.join(dir, 'conjur-cli-4.2.0.tar.gz')).mtimeMs;
  const ctx = await context();
  await expect(sshPublisher.publish(ctx, options())).resolves.toMatchObject({ status: 'already-present' });
  expect(statSync(path.join(dir, 'conjur-cli-4.2.0.tar.gz')).mtimeMs).toBe(mtime);
  expect(ctx.progressLines.join('\n')).not.toMatch(/uploading/);
});

test('rsync uploads too, and only the files that are missing', async () => {
  const dir = path.join(remoteRoot, 'conjur-cli', '4.3.0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'conjur-cli-4.2.0.tar.gz'), FILES['conjur-cli-4.2.0.tar.gz']);
  const ctx = await context({ version: '4.3.0' });
  const result = await sshPublisher.publish(ctx, options({ method: 'rsync' }));
  expect(result).toMatchObject({ status: 'published', detail: '1 file(s) uploaded, sha256 read back' });
  expect(readFileSync(path.join(dir, 'checksums', 'SHA256SUMS'), 'utf8')).toBe(FILES['checksums/SHA256SUMS']);
  expect(existsSync(path.join(dir, 'conjur-cli-4.3.0.release.json'))).toBe(true);
  expect(uploadLeftovers(dir)).toEqual([]);
});

test('a host key that is not the configured one is refused: final, nothing uploaded', async () => {
  const other = await generateKeyPair(tmp.dir, `impostor-${(n += 1)}`);
  const [type, key] = other.publicKey.split(' ');
  const ctx = await context({ version: '5.0.0' });
  const err = await sshPublisher.publish(ctx, options({ known_hosts: `[127.0.0.1]:${sshd.port} ${type} ${key}` })).catch((e: unknown) => e);
  expect(isReleaseBotError(err, ErrorCode.DestinationFailed)).toBe(true);
  expect(err).toMatchObject({ retryable: false, details: { reason: 'host-key' } });
  expect((err as Error).message).toMatch(/host key does not match known_hosts/);
  expect(existsSync(path.join(remoteRoot, 'conjur-cli', '5.0.0'))).toBe(false);
  // A known_hosts entry for another host name does not vouch for this one either.
  const [, hostType, hostKey] = sshd.hostKeyLine.split(' ');
  await expect(
    sshPublisher.publish(await context({ version: '5.0.0' }), options({ known_hosts: `downloads.example.com ${hostType} ${hostKey}` })),
  ).rejects.toMatchObject({
    details: { reason: 'host-key' },
    retryable: false,
  });
  expect(existsSync(path.join(remoteRoot, 'conjur-cli', '5.0.0'))).toBe(false);
});

test('a file already there with other content is a conflict: it stays as it was and nothing else is uploaded', async () => {
  const dir = path.join(remoteRoot, 'conjur-cli', '6.0.0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'conjur-cli-4.2.0.tar.gz'), "somebody else's tarball");
  const ctx = await context({ version: '6.0.0' });
  const err = await sshPublisher.publish(ctx, options()).catch((e: unknown) => e);
  expect(isReleaseBotError(err, ErrorCode.DestinationConflict)).toBe(true);
  expect((err as Error).message).toContain('conjur-cli-4.2.0.tar.gz');
  expect(readFileSync(path.join(dir, 'conjur-cli-4.2.0.tar.gz'), 'utf8')).toBe("somebody else's tarball");
  expect(readdirSync(dir)).toEqual(['conjur-cli-4.2.0.tar.gz']);
  await expect(sshPublisher.plan!(await context({ version: '6.0.0' }), options())).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
  });
});

test('a remote path that is a file, not a directory, is a conflict', async () => {
  mkdirSync(path.join(remoteRoot, 'conjur-cli'), { recursive: true });
  writeFileSync(path.join(remoteRoot, 'conjur-cli', '6.1.0'), 'not a dir');
  await expect(sshPublisher.publish(await context({ version: '6.1.0' }), options())).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
  });
});

test('a key the host does not accept is a final auth failure', async () => {
  const stranger = await generateKeyPair(tmp.dir, `stranger-${(n += 1)}`);
  const ctx = await context({ version: '7.0.0', credentials: { SSH_PRIVATE_KEY: stranger.privateKey } });
  await expect(sshPublisher.publish(ctx, options())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'unauthorized' },
  });
  expectNoKey(everything(ctx), stranger.privateKey);
});

test('a broken key carrying a canary never shows the canary in errors, logs or progress', async () => {
  const canary = 'CANARY-ssh-key-5d41402abc4b2a76b9719d911017c592';
  const broken = `-----BEGIN OPENSSH PRIVATE KEY-----\n${canary}\n${canary.split('').reverse().join('')}\n-----END OPENSSH PRIVATE KEY-----`;
  const ctx = await context({ version: '7.1.0', credentials: { SSH_PRIVATE_KEY: broken } });
  const err = await sshPublisher.publish(ctx, options()).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false });
  const text = everything(ctx, err);
  expect(text).not.toContain(canary);
  expect(text).not.toContain('5d41402abc4b2a76');
  expect(readdirSync(ctx.tmpDir)).toEqual([]);
});

test('no key configured is a configuration error that says what to add', async () => {
  await expect(sshPublisher.publish(await context({ credentials: {} }), options())).rejects.toMatchObject({
    code: ErrorCode.ConfigInvalid,
    message: expect.stringContaining('SSH_PRIVATE_KEY'),
  });
});

test('nothing listening is retryable', async () => {
  const port = await freePort();
  await expect(
    sshPublisher.publish(
      await context({ version: '8.0.0' }),
      options({ port, known_hosts: sshd.hostKeyLine.replace(`:${sshd.port}]`, `:${port}]`) }),
    ),
  ).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: true,
    details: { reason: 'network' },
  });
});

test('the dry run reads the remote and says what it would upload, without creating anything', async () => {
  const plan = await sshPublisher.plan!(await context({ version: '9.0.0' }), options());
  expect(plan.actions).toEqual([
    `scp conjur-cli-4.2.0.tar.gz checksums/SHA256SUMS conjur-cli-9.0.0.release.json to ${sshd.user}@127.0.0.1:${remoteRoot}/conjur-cli/9.0.0 (port ${sshd.port}), then read back sha256`,
  ]);
  expect(existsSync(path.join(remoteRoot, 'conjur-cli', '9.0.0'))).toBe(false);
  const present = await sshPublisher.plan!(await context(), options());
  expect(present.actions[0]).toMatch(/nothing to upload/);
});

describe('hostile input never reaches the remote shell', () => {
  const marker = () => path.join(tmp.dir, 'pwned');

  test.each([
    `${remoteRoot}/$(touch ${tmp.dir}/pwned)`,
    `${remoteRoot}/a;touch ${tmp.dir}/pwned`,
    `${remoteRoot}/../etc`,
    `${remoteRoot}/\`id\``,
    'relative/path',
    `${remoteRoot}/a b`,
    `${remoteRoot}/'q'`,
  ])('path %s is refused by the options schema', (p) => {
    expect(sshPublisher.options.safeParse({ host: '127.0.0.1', user: 'u', path: p, known_hosts: sshd.hostKeyLine }).success).toBe(false);
  });

  test('a version or a file name with shell syntax is refused before any connection', async () => {
    await expect(sshPublisher.publish(await context({ version: '1.0.0$(id)' }), options())).rejects.toMatchObject({
      code: ErrorCode.BadInput,
    });
    await expect(sshPublisher.publish(await context({ version: '..' }), options())).rejects.toMatchObject({ code: ErrorCode.BadInput });
    for (const name of ['-oProxyCommand=touch pwned', 'a;touch pwned', "it's", '.hidden']) {
      await expect(sshPublisher.publish(await context({ version: '10.0.0' }, { [name]: 'x' }), options())).rejects.toMatchObject({
        code: ErrorCode.BadInput,
      });
    }
    expect(existsSync(marker())).toBe(false);
    expect(existsSync(path.join(remoteRoot, 'conjur-cli', '10.0.0'))).toBe(false);
  });

  test.each([
    { host: '-oProxyCommand=touch /tmp/pwned' },
    { host: 'a b' },
    { user: '-lroot' },
    { user: 'root@evil' },
    { known_hosts: '' },
    { known_hosts: 'not a key line' },
    { known_hosts: undefined },
    { method: 'ftp' },
    { StrictHostKeyChecking: 'no' },
  ])('options %j are refused', (bad) => {
    const input = { host: '127.0.0.1', user: 'u', path: '/srv/{project}', known_hosts: sshd.hostKeyLine, ...bad };
    expect(sshPublisher.options.safeParse(input).success).toBe(false);
  });
});

test('classifySshFailure sorts ssh, scp and rsync messages', () => {
  expect(classifySshFailure('Host key verification failed.\r\nlost connection')).toEqual({ reason: 'host-key', retryable: false });
  expect(classifySshFailure('root@127.0.0.1: Permission denied (publickey).')).toEqual({ reason: 'unauthorized', retryable: false });
  expect(classifySshFailure('ssh: connect to host 127.0.0.1 port 1: Connection refused')).toEqual({ reason: 'network', retryable: true });
  expect(classifySshFailure('kex_exchange_identification: read: Connection reset by peer')).toEqual({ reason: 'network', retryable: true });
  expect(classifySshFailure("mkdir: cannot create directory '/srv/x': Permission denied")).toEqual({ reason: 'remote', retryable: false });
});

test('the test sshd serves forced commands too (for the ssh-command tests)', async () => {
  sshd.setAuthorizedKeys(`command="printf 'forced:%s' \\"$SSH_ORIGINAL_COMMAND\\"",restrict ${sshd.clientKey.publicKey}`);
  try {
    const { stdout } = await execFileAsync('ssh', [...sshd.sshArgs, '--', sshd.host, 'publish conjur-cli 4.2.0; rm -rf /'], {
      env: { PATH: process.env.PATH, HOME: tmp.dir },
    });
    expect(stdout).toBe('forced:publish conjur-cli 4.2.0; rm -rf /');
  } finally {
    sshd.setAuthorizedKeys(sshd.clientKey.publicKey);
  }
});

describe('the example destinations in test/fixtures/publishers load through the real config loader', () => {
  const fixtures = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'publishers');
  const env = (file: string) => ({
    CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
    CONJUR_ACCOUNT: 'example',
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: 'not-a-real-api-key',
    RELEASE_BOT_CONFIG: path.join(fixtures, file),
  });

  test('docker and ssh destinations parse with their defaults', () => {
    const config = loadConfig(env('releases.yml'), { destinationTypes });
    expect(config.projects.get('conjur-cli-image')?.destinations[0]?.options).toEqual({
      repository: 'registry.example.com/org/conjur-cli',
      tls_verify: true,
      tags: ['{version}', '{version}-build.{build}'],
      latest: false,
      delete_version_tag: false,
    });
    expect(config.projects.get('conjur-cli')?.destinations[0]).toMatchObject({
      type: 'ssh',
      credentials: { SSH_PRIVATE_KEY: 'release/downloads/ssh-key' },
      options: { host: 'downloads.example.com', port: 2222, user: 'release', path: '/srv/downloads/{project}/{version}', method: 'rsync' },
    });
  });

  test('bad destinations are each reported with their key path', () => {
    let problems: string[] = [];
    expect(() => {
      try {
        loadConfig(env('releases-bad.yml'), { destinationTypes });
      } catch (err) {
        problems = (err as { problems: string[] }).problems;
        throw err;
      }
    }).toThrow(expect.objectContaining({ code: ErrorCode.ConfigInvalid }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^releases-bad\.yml: projects\.conjur-cli-image\.destinations\[0\]\.repository: /),
        expect.stringMatching(/^releases-bad\.yml: projects\.conjur-cli\.destinations\[0\]\.path: /),
        expect.stringMatching(/^releases-bad\.yml: projects\.conjur-cli\.destinations\[0\]\.known_hosts: /),
      ]),
    );
  });
});
