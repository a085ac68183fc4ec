import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import {
  SkopeoError,
  classifySkopeoFailure,
  copyImage,
  describeManifest,
  digestIfPresent,
  inspectDigest,
  inspectManifest,
  parseImageReference,
  parseRepository,
  writeAuthFile,
} from '../../src/staging/skopeo.js';
import { buildMultiArchImage, pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { freePort } from '../support/ports.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';

const tmp = makeTmpDir('release-bot-skopeo-test-');
const auth = { username: 'stager', password: 'skopeo-test-pw-4c1d9e' };
const redact = (t: string) => t;
let open: TestRegistry;
let locked: TestRegistry;
let image: PushedImage;

beforeAll(async () => {
  requireBinary('skopeo', 'skopeo');
  [open, locked] = await Promise.all([startRegistry(), startRegistry({ auth })]);
  image = await pushTinyImage({ workDir: tmp.dir, host: open.host, path: 'org/conjur-cli', tag: 'staged' });
});

afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
  tmp.cleanup();
});

describe('inspectDigest against a real registry', () => {
  test('returns the manifest digest of a tag and of a digest reference, with or without docker://', async () => {
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(inspectDigest(image.ref, { tlsVerify: false, redact })).resolves.toBe(image.digest);
    await expect(inspectDigest(`docker://${image.repository}@${image.digest}`, { tlsVerify: false, redact })).resolves.toBe(image.digest);
  });

  test('an absent tag or repository is NOT_FOUND, and digestIfPresent says undefined', async () => {
    await expect(inspectDigest(`${open.host}/org/conjur-cli:9.9.9`, { tlsVerify: false, redact })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
      reason: 'not-found',
      retryable: false,
    });
    await expect(digestIfPresent(`${open.host}/org/nothing-here:1.0.0`, { tlsVerify: false, redact })).resolves.toBeUndefined();
  });

  test('a registry behind basic auth: refused anonymously (final), answered with an auth file', async () => {
    const pushed = await pushTinyImage({ workDir: tmp.dir, host: locked.host, path: 'org/private', tag: '1.0.0', auth });
    const err = await inspectDigest(pushed.ref, { tlsVerify: false, redact }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkopeoError);
    expect(err).toMatchObject({ code: ErrorCode.ExecFailed, reason: 'unauthorized', retryable: false });

    const authFile = path.join(tmp.dir, 'stager-auth.json');
    await writeAuthFile(authFile, locked.host, auth.username, auth.password);
    expect(statSync(authFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(authFile, 'utf8'))).toEqual({
      auths: { [locked.host]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } },
    });
    await expect(inspectDigest(pushed.ref, { tlsVerify: false, authFile, redact })).resolves.toBe(pushed.digest);
    // An auth file is never silently replaced (it is created, not opened).
    await expect(writeAuthFile(authFile, locked.host, 'x', 'y')).rejects.toThrow(/EEXIST/);
  });

  test('wrong credentials are a final unauthorized failure', async () => {
    const authFile = path.join(tmp.dir, 'wrong-auth.json');
    await writeAuthFile(authFile, locked.host, auth.username, 'not-the-password');
    await expect(inspectDigest(`${locked.host}/org/private:1.0.0`, { tlsVerify: false, authFile, redact })).rejects.toMatchObject({
      reason: 'unauthorized',
      retryable: false,
    });
  });

  test('nothing listening is a retryable network failure', async () => {
    const port = await freePort();
    await expect(inspectDigest(`127.0.0.1:${port}/org/x:1`, { tlsVerify: false, redact })).rejects.toMatchObject({
      code: ErrorCode.ExecFailed,
      reason: 'network',
      retryable: true,
    });
  });

  test('TLS required against a plain-HTTP registry is a final tls failure that says so', async () => {
    const err = await inspectDigest(image.ref, { tlsVerify: true, redact }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'tls', retryable: false });
    expect((err as Error).message).toMatch(/tls_verify/);
  });

  test('output passes the redaction before it reaches an error', async () => {
    const err = await inspectDigest(`${open.host}/org/conjur-cli:9.9.9`, {
      tlsVerify: false,
      redact: (t) => t.replaceAll('conjur-cli', '[REDACTED]'),
    }).catch((e: unknown) => e);
    expect((err as SkopeoError).message).toContain('[REDACTED]');
    expect(JSON.stringify((err as SkopeoError).details)).not.toContain('org/conjur-cli:');
  });
});

describe("a multi-arch image whose platforms are not the machine's (OCI index: linux/s390x, linux/ppc64le)", () => {
  let multi: PushedImage;
  beforeAll(async () => {
    multi = await pushTinyImage({
      workDir: tmp.dir,
      host: open.host,
      path: 'org/multi',
      tag: '1.0.0',
      image: await buildMultiArchImage(tmp.dir),
    });
  });

  test("skopeo without --raw picks the machine's own platform and fails on it (why the bot reads the raw manifest)", async () => {
    const plain = promisify(execFile)('skopeo', ['inspect', '--tls-verify=false', '--no-creds', `docker://${multi.ref}`], {
      env: { PATH: process.env.PATH, HOME: tmp.dir },
    });
    await expect(plain).rejects.toThrow(/no image found in (manifest list|image index) for architecture/i);
  });

  test('inspectManifest gives the index digest (sha256 of the raw index bytes) and its platforms, by tag and by digest', async () => {
    expect(multi.digest).toBe(multi.image.digest);
    await expect(inspectManifest(multi.ref, { tlsVerify: false, redact })).resolves.toEqual({
      digest: multi.image.digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      platforms: ['linux/s390x', 'linux/ppc64le'],
    });
    await expect(inspectDigest(`${multi.repository}@${multi.digest}`, { tlsVerify: false, redact })).resolves.toBe(multi.digest);
    // Each platform's own manifest is there too, under its own digest.
    for (const digest of Object.values(multi.image.platforms ?? {})) {
      await expect(inspectManifest(`${multi.repository}@${digest}`, { tlsVerify: false, redact })).resolves.toMatchObject({
        digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        platforms: [],
      });
    }
  });

  test('copyImage copies every platform and keeps the index digest', async () => {
    const dest = `${open.host}/org/multi-copy:1.0.0`;
    await expect(
      copyImage(`${multi.repository}@${multi.digest}`, dest, {
        srcTlsVerify: false,
        destTlsVerify: false,
        digestFile: path.join(tmp.dir, 'multi-digest'),
        redact,
      }),
    ).resolves.toBe(multi.digest);
    await expect(inspectDigest(dest, { tlsVerify: false, redact })).resolves.toBe(multi.digest);
    for (const digest of Object.values(multi.image.platforms ?? {}))
      await expect(inspectDigest(`${open.host}/org/multi-copy@${digest}`, { tlsVerify: false, redact })).resolves.toBe(digest);
  });
});

describe('describeManifest (the raw bytes a registry served)', () => {
  const bytes = (o: unknown) => Buffer.from(JSON.stringify(o));

  test('the digest is the sha256 of the bytes exactly, whitespace and all', () => {
    const a = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{}}\n');
    const b = Buffer.from('{"schemaVersion":2, "mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{}}\n');
    expect(describeManifest(a, 'x').digest).not.toBe(describeManifest(b, 'x').digest);
    expect(describeManifest(a, 'x').digest).toBe(`sha256:${createHash('sha256').update(a).digest('hex')}`);
  });

  test('Docker manifest lists and OCI documents without mediaType are recognised', () => {
    expect(
      describeManifest(
        bytes({
          schemaVersion: 2,
          mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
          manifests: [{ platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }],
        }),
        'x',
      ),
    ).toMatchObject({ platforms: ['linux/arm/v7'] });
    expect(describeManifest(bytes({ schemaVersion: 2, manifests: [] }), 'x').mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(describeManifest(bytes({ schemaVersion: 2, config: {}, layers: [] }), 'x').mediaType).toBe(
      'application/vnd.oci.image.manifest.v1+json',
    );
  });

  test.each([
    [
      'schema 1 (its digest is not the sha256 of its bytes)',
      bytes({ schemaVersion: 1, name: 'x', fsLayers: [], signatures: [] }),
      /not schema version 2/,
    ],
    ['not JSON', Buffer.from('<html>'), /not JSON/],
    [
      'an artifact that is not an image',
      bytes({ schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' }),
      /not an image or an image index/,
    ],
  ])('%s is BAD_INPUT', (_what, raw, message) => {
    expect(() => describeManifest(raw, 'x')).toThrow(
      expect.objectContaining({ code: ErrorCode.BadInput, message: expect.stringMatching(message) }),
    );
  });
});

describe('registry server errors (a loopback HTTP server answering like a sick registry)', () => {
  let server: Server;
  let port: number;
  let status = 500;
  beforeAll(async () => {
    port = await freePort();
    server = createServer((req, res) => {
      if (req.url === '/v2/') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '1' });
      // Bodies as distribution sends them; a bare status (no body) for the 5xx a proxy would answer.
      if (status === 429) res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
      else if (status === 403)
        res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }));
      else res.end();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test.each([
    [500, 'server-error'],
    [502, 'server-error'],
    [503, 'server-error'],
    [429, 'rate-limited'],
  ])('HTTP %i is retryable (%s)', async (code, reason) => {
    status = code;
    await expect(inspectDigest(`127.0.0.1:${port}/org/x:1`, { tlsVerify: false, redact })).rejects.toMatchObject({
      reason,
      retryable: true,
    });
  });

  test('HTTP 403 (denied) is final', async () => {
    status = 403;
    await expect(inspectDigest(`127.0.0.1:${port}/org/x:1`, { tlsVerify: false, redact })).rejects.toMatchObject({
      reason: 'unauthorized',
      retryable: false,
    });
  });

  test('HTTP 404 on a manifest is NOT_FOUND', async () => {
    status = 404;
    await expect(digestIfPresent(`127.0.0.1:${port}/org/x:1`, { tlsVerify: false, redact })).resolves.toBeUndefined();
  });
});

describe('copyImage', () => {
  test('copies by digest between two registries and keeps the digest', async () => {
    const dest = `${locked.host}/org/copied:2.0.0`;
    const destAuthFile = path.join(tmp.dir, 'copy-auth.json');
    await writeAuthFile(destAuthFile, locked.host, auth.username, auth.password);
    const pushed = await copyImage(`${image.repository}@${image.digest}`, dest, {
      srcTlsVerify: false,
      destTlsVerify: false,
      destAuthFile,
      digestFile: path.join(tmp.dir, 'copy-digest'),
      redact,
    });
    expect(pushed).toBe(image.digest);
    await expect(inspectDigest(dest, { tlsVerify: false, authFile: destAuthFile, redact })).resolves.toBe(image.digest);
  });

  test('a source by tag or a destination by digest is refused before anything runs', async () => {
    const o = { srcTlsVerify: false, destTlsVerify: false, digestFile: path.join(tmp.dir, 'never'), redact };
    await expect(copyImage(image.ref, `${locked.host}/org/x:1`, o)).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(copyImage(`${image.repository}@${image.digest}`, `${locked.host}/org/x@${image.digest}`, o)).rejects.toMatchObject({
      code: ErrorCode.BadInput,
    });
  });
});

describe('references are validated before skopeo sees them', () => {
  test.each([
    '-v',
    '--authfile=/etc/passwd',
    'oci:/tmp/layout:tag',
    'docker-daemon:x:1',
    'conjur-cli:4.2.0',
    'registry.example.com/org/conjur-cli',
    'registry.example.com/Org/conjur-cli:1',
    'registry.example.com/org/conjur-cli:4.2.0;rm -rf /',
    'registry.example.com/org/conjur-cli:4.2.0 --debug',
    'registry.example.com/org/../etc:1',
    'registry.example.com/org/conjur-cli@sha256:abc',
    `registry.example.com/org/conjur-cli:$(id)`,
  ])('%s is BAD_INPUT', async (ref) => {
    expect(() => parseImageReference(ref)).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
    await expect(inspectDigest(ref, { tlsVerify: true, redact })).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });

  test('good references and repositories parse into host and path', () => {
    expect(parseImageReference('registry.example.com/org/conjur-cli:4.2.0-build.123')).toMatchObject({
      host: 'registry.example.com',
      path: 'org/conjur-cli',
      tag: '4.2.0-build.123',
    });
    expect(parseImageReference(`127.0.0.1:5000/conjur-cli@sha256:${'a'.repeat(64)}`)).toMatchObject({
      host: '127.0.0.1:5000',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(parseRepository('localhost:5000/org/sub/name')).toEqual({ host: 'localhost:5000', path: 'org/sub/name' });
    expect(() => parseRepository('docker.io')).toThrow(/not valid/);
  });
});

describe('classifySkopeoFailure', () => {
  test.each([
    ['reading manifest x in 127.0.0.1:500/org/cli: manifest unknown: manifest unknown', 'not-found', false],
    ['reading manifest x in r.example.com/org/cli: unauthorized: authentication required', 'unauthorized', false],
    ['requested access to the resource is denied', 'unauthorized', false],
    ['pinging container registry r.example.com: Get "https://r.example.com/v2/": net/http: TLS handshake timeout', 'network', true],
    ['dial tcp 10.0.0.1:443: connect: connection refused', 'network', true],
    ['dial tcp: lookup nowhere.example: no such host', 'network', true],
    ['pinging container registry r.example.com: invalid status code from registry 503 (Service Unavailable)', 'server-error', true],
    ['received unexpected HTTP status: 502 Bad Gateway', 'server-error', true],
    ['pinging container registry r.example.com: too many requests to registry', 'rate-limited', true],
    ['x509: certificate signed by unknown authority', 'tls', false],
    ['copying system image from manifest list: something odd', 'other', false],
  ])('%s → %s', (stderr, reason, retryable) => {
    expect(classifySkopeoFailure(stderr)).toEqual({ reason, retryable });
  });
});
