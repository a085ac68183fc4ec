import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { inspectDigest, writeAuthFile } from '../../src/staging/skopeo.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { selfSignedLoopbackCert } from '../support/tls-cert.js';

const tmp = makeTmpDir('release-bot-docker-tls-');
const USER = 'release-bot';
const PASSWORD = 'canary-tls-registry-pw-5e2b8d40';

/**
 * A destination registry on TLS with a certificate of a private CA (a real docker-registry with
 * `http: tls:` and htpasswd), published to with tls_verify on. The tag checks (registry HEADs) must
 * trust exactly what the skopeo copy trusts: the CAs in SSL_CERT_FILE (Go's crypto/x509 reads that
 * file instead of the system bundle, src/crypto/x509/root_unix.go), never Node's own bundled roots.
 */
let staging: TestRegistry;
let dest: TestRegistry;
let image: PushedImage;
let withCa: string;
let n = 0;
const savedCertFile = process.env.SSL_CERT_FILE;

beforeAll(async () => {
  requireBinary('skopeo', 'skopeo');
  const { key, cert } = await selfSignedLoopbackCert(tmp.dir);
  withCa = path.join(tmp.dir, 'bundle-with-ca.pem');
  writeFileSync(withCa, readFileSync(cert, 'utf8'));
  [staging, dest] = await Promise.all([
    startRegistry(),
    startRegistry({ tls: { certificate: cert, key }, auth: { username: USER, password: PASSWORD } }),
  ]);
  image = await pushTinyImage({ workDir: tmp.dir, host: staging.host, path: 'builds/app', tag: '1.0.0-staged' });
});

afterAll(async () => {
  if (savedCertFile === undefined) delete process.env.SSL_CERT_FILE;
  else process.env.SSL_CERT_FILE = savedCertFile;
  await Promise.all([staging?.stop(), dest?.stop()]);
  tmp.cleanup();
});

async function context(): Promise<TestContext> {
  return publishContext(
    path.join(tmp.dir, `ctx-${(n += 1)}`),
    {},
    {
      version: '1.0.0',
      artifact: { kind: 'docker', ref: image.repository, digest: image.digest, tlsVerify: false },
      credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD },
    },
  );
}

const everything = (ctx: TestContext, err?: unknown) =>
  [...ctx.logLines, ...ctx.progressLines, String(err ?? ''), JSON.stringify((err as { details?: unknown })?.details ?? {})].join('\n');

test('with the private CA in SSL_CERT_FILE the tag checks and the copy both trust the registry: published, and the digest read back is the staged one', async () => {
  process.env.SSL_CERT_FILE = withCa;
  const ctx = await context();
  const options = dockerPublisher.options.parse({ repository: `${dest.host}/org/app`, tls_verify: true, tags: ['{version}'] });
  await expect(dockerPublisher.publish(ctx, options)).resolves.toMatchObject({ status: 'published', readBackDigest: image.digest });
  const authFile = path.join(tmp.dir, 'read-back-auth.json');
  await writeAuthFile(authFile, dest.host, USER, PASSWORD);
  await expect(inspectDigest(`${dest.host}/org/app:1.0.0`, { tlsVerify: true, authFile, redact: (t) => t })).resolves.toBe(image.digest);
  expect(everything(ctx)).not.toContain(PASSWORD);
});

test('without it the registry is not trusted: a final TLS failure before any credential is sent, nothing copied', async () => {
  process.env.SSL_CERT_FILE = path.join(tmp.dir, 'no-such-bundle.pem');
  const ctx = await context();
  const options = dockerPublisher.options.parse({ repository: `${dest.host}/org/other`, tls_verify: true, tags: ['{version}'] });
  const err = await dockerPublisher.publish(ctx, options).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'tls' } });
  expect(everything(ctx, err)).not.toContain(PASSWORD);
  expect(everything(ctx, err)).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64').replace(/=+$/, ''));
});
