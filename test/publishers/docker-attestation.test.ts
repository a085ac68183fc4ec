import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode } from '../../src/errors.js';
import { IN_TOTO_PAYLOAD_TYPE, keyIdOf, signEnvelope, verifyEnvelope } from '../../src/provenance/dsse.js';
import type { AttestationToPublish, PublishContext } from '../../src/publishing/types.js';
import { writeAuthFile } from '../../src/staging/skopeo.js';
import { attestImage, attestationTag, fetchImageAttestations } from '../../publishers/docker-attestation.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { buildMultiArchImage, pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * The docker destination's attestation against a real Debian docker-registry (distribution 2.8,
 * htpasswd -B), read back independently with skopeo. The layout it must have is cosign's
 * (sigstore/cosign specs/ATTESTATION_SPEC.md, pkg/types/payload.go, cmd/cosign/cli/attest/attest.go).
 */
const run = promisify(execFile);
const tmp = makeTmpDir('release-bot-docker-attest-');
const USER = 'release-bot';
const PASSWORD = 'canary-attest-registry-pw-51d9e0b7';
const canaryForms = [
  PASSWORD,
  Buffer.from(PASSWORD).toString('base64').replace(/=+$/, ''),
  Buffer.from(`${USER}:${PASSWORD}`).toString('base64').replace(/=+$/, ''),
];
const botKey = generateKeyPairSync('ed25519');
let source: TestRegistry;
let dest: TestRegistry;
let n = 0;

beforeAll(async () => {
  requireBinary('skopeo', 'skopeo');
  requireBinary('umoci', 'umoci');
  [source, dest] = await Promise.all([startRegistry(), startRegistry({ auth: { username: USER, password: PASSWORD } })]);
});

afterAll(async () => {
  await Promise.all([source?.stop(), dest?.stop()]);
  tmp.cleanup();
});

const REPO = () => `${dest.host}/org/conjur-cli`;
const options = () => dockerPublisher.options.parse({ repository: REPO(), tls_verify: false });
const access = (password = PASSWORD) => ({ username: USER, password, tlsVerify: false });

async function stage(version: string, content = `build of ${version}\n`): Promise<PushedImage> {
  return pushTinyImage({ workDir: tmp.dir, host: source.host, path: 'builds/conjur-cli', tag: `${version}-staged`, content });
}

async function context(version: string, staged: PushedImage, overrides: Partial<PublishContext> = {}): Promise<TestContext> {
  n += 1;
  return publishContext(
    path.join(tmp.dir, `ctx-${n}`),
    {},
    {
      version,
      artifact: { kind: 'docker', ref: staged.repository, digest: staged.digest, tlsVerify: false },
      credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD },
      ...overrides,
    },
  );
}

/**
 * An in-toto Statement v1 (in-toto/attestation spec/v1/statement.md) with a SLSA Provenance v1 predicate
 * (slsa-framework/slsa docs/spec/v1.0/provenance.md), signed into a DSSE envelope as the bot writes one:
 * one JSON line and a newline (the content of a `.intoto.jsonl` file).
 */
function attestation(subjectDigest: string, key: KeyObject = botKey.privateKey, note = 'release'): AttestationToPublish {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: REPO(), digest: { sha256: subjectDigest.slice('sha256:'.length) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://release-bot.example/jenkins/v1',
        externalParameters: { job: 'conjur-cli', build: 123, note },
        resolvedDependencies: [],
      },
      runDetails: { builder: { id: 'https://jenkins.example/job/conjur-cli/' }, metadata: { invocationId: 'rel_test' } },
    },
  };
  const envelope = Buffer.from(`${JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), key))}\n`);
  return {
    envelope,
    digest: createHash('sha256').update(envelope).digest('hex'),
    keyId: keyIdOf(key),
    fileName: 'conjur-cli.intoto.jsonl',
  };
}

async function authFile(): Promise<string> {
  const file = path.join(tmp.dir, `auth-${(n += 1)}.json`);
  await writeAuthFile(file, dest.host, USER, PASSWORD);
  return file;
}

/** The `.att` manifest as skopeo sees it: raw bytes and parsed. */
async function rawAttManifest(digest: string): Promise<{
  digest: string;
  manifest: {
    config: { mediaType: string };
    layers: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }>;
  };
}> {
  const { stdout } = await run(
    'skopeo',
    ['inspect', '--raw', '--tls-verify=false', '--authfile', await authFile(), `docker://${REPO()}:${attestationTag(digest)}`],
    { env: { PATH: process.env.PATH, HOME: tmp.dir } },
  );
  return { digest: `sha256:${createHash('sha256').update(stdout).digest('hex')}`, manifest: JSON.parse(stdout) };
}

/** Every text a run left behind: error (with causes and details), logs, progress. */
function everything(ctx: TestContext, err?: unknown): string {
  const parts = [...ctx.logLines, ...ctx.progressLines];
  for (let e = err; e; e = (e as { cause?: unknown }).cause)
    parts.push(String(e), (e as Error).stack ?? '', JSON.stringify((e as { details?: unknown }).details ?? {}));
  return parts.join('\n');
}

async function publishAndAttest(version: string, staged: PushedImage, att: AttestationToPublish) {
  const ctx = await context(version, staged);
  await expect(dockerPublisher.publish(ctx, options())).resolves.toMatchObject({ status: 'published', readBackDigest: staged.digest });
  return { ctx, result: await dockerPublisher.attest!(ctx, options(), att) };
}

test("the attestation is an OCI artifact tagged sha256-<hex>.att beside the published image, in cosign's layout; skopeo and fetchImageAttestations read it back", async () => {
  const staged = await stage('4.2.0');
  const att = attestation(staged.digest);
  const { ctx, result } = await publishAndAttest('4.2.0', staged, att);
  const tag = `sha256-${staged.digest.slice('sha256:'.length)}.att`;
  expect(result).toMatchObject({ status: 'published', location: `${REPO()}:${tag}` });

  const { digest, manifest } = await rawAttManifest(staged.digest);
  expect(result).toMatchObject({ manifestDigest: digest });
  expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
  expect(manifest.layers).toEqual([
    {
      mediaType: 'application/vnd.dsse.envelope.v1+json',
      digest: `sha256:${att.digest}`,
      size: att.envelope.length,
      annotations: { predicateType: 'https://slsa.dev/provenance/v1', 'dev.cosignproject.cosign/signature': '' },
    },
  ]);

  // The layer's bytes, copied out with skopeo into an OCI layout: the very envelope, and it verifies.
  const layout = path.join(tmp.dir, `att-layout-${(n += 1)}`);
  await run(
    'skopeo',
    ['copy', '--quiet', '--src-tls-verify=false', '--src-authfile', await authFile(), `docker://${REPO()}:${tag}`, `oci:${layout}:att`],
    { env: { PATH: process.env.PATH, HOME: tmp.dir } },
  );
  const blob = readFileSync(path.join(layout, 'blobs', 'sha256', att.digest));
  expect(blob.equals(att.envelope)).toBe(true);
  expect(verifyEnvelope(JSON.parse(blob.toString('utf8')), botKey.publicKey)).toMatchObject({ ok: true });

  for (const ref of [`${REPO()}:4.2.0`, `${REPO()}:4.2.0-build.123`, `${REPO()}@${staged.digest}`]) {
    const found = await fetchImageAttestations(ref, access());
    expect(found.subjectDigest).toBe(staged.digest);
    expect(found.envelopes.map((e) => e.toString('utf8'))).toEqual([att.envelope.toString('utf8')]);
  }
  expect(everything(ctx)).not.toMatch(new RegExp(canaryForms.join('|')));
});

test('a multi-arch image is attested by its index digest, the one its tags resolve to', async () => {
  const multi = await pushTinyImage({
    workDir: tmp.dir,
    host: source.host,
    path: 'builds/conjur-cli',
    tag: '4.2.1-staged',
    image: await buildMultiArchImage(tmp.dir),
  });
  const att = attestation(multi.digest);
  const { result } = await publishAndAttest('4.2.1', multi, att);
  expect(result).toMatchObject({ status: 'published', location: `${REPO()}:${attestationTag(multi.digest)}` });
  await expect(fetchImageAttestations(`${REPO()}:4.2.1`, access())).resolves.toEqual({
    subjectDigest: multi.digest,
    envelopes: [att.envelope],
  });
  // A platform's own manifest is another subject: it has no attestation of its own.
  const platform = Object.values(multi.image.platforms ?? {})[0] as string;
  await expect(fetchImageAttestations(`${REPO()}@${platform}`, access())).resolves.toEqual({ subjectDigest: platform, envelopes: [] });
});

test("a second attest of the same envelope is a no-op: already-present, the tag's manifest unchanged", async () => {
  const staged = await stage('4.3.0');
  const att = attestation(staged.digest);
  const { result: first } = await publishAndAttest('4.3.0', staged, att);
  const before = await rawAttManifest(staged.digest);
  const ctx = await context('4.3.0', staged);
  await expect(dockerPublisher.attest!(ctx, options(), att)).resolves.toEqual({ ...first, status: 'already-present' });
  await expect(rawAttManifest(staged.digest)).resolves.toEqual(before);
  expect(ctx.progressLines).toEqual([]);
});

test("another signer's envelope already under the tag is kept: ours is appended, and attesting again changes nothing", async () => {
  const staged = await stage('4.4.0');
  const ctx = await context('4.4.0', staged);
  await dockerPublisher.publish(ctx, options());
  const theirs = attestation(staged.digest, generateKeyPairSync('ed25519').privateKey, 'someone else');
  await expect(dockerPublisher.attest!(ctx, options(), theirs)).resolves.toMatchObject({ status: 'published' });
  const ours = attestation(staged.digest);
  await expect(dockerPublisher.attest!(await context('4.4.0', staged), options(), ours)).resolves.toMatchObject({ status: 'published' });
  const { manifest } = await rawAttManifest(staged.digest);
  expect(manifest.layers.map((l) => l.digest)).toEqual([`sha256:${theirs.digest}`, `sha256:${ours.digest}`]);
  const found = await fetchImageAttestations(`${REPO()}:4.4.0`, access());
  expect(found.envelopes.map((e) => e.toString())).toEqual([theirs.envelope.toString(), ours.envelope.toString()]);
  await expect(dockerPublisher.attest!(await context('4.4.0', staged), options(), ours)).resolves.toMatchObject({
    status: 'already-present',
  });
});

test('a .att tag holding something that is not a DSSE attestation is a conflict: refused, nothing overwritten; fetch refuses it too', async () => {
  const staged = await stage('4.5.0');
  const ctx = await context('4.5.0', staged);
  await dockerPublisher.publish(ctx, options());
  // Someone pushed an ordinary image (a tar layer) under the attestation tag.
  const squatter = await pushTinyImage({
    workDir: tmp.dir,
    host: dest.host,
    path: 'org/conjur-cli',
    tag: attestationTag(staged.digest),
    content: 'not an attestation\n',
    auth: { username: USER, password: PASSWORD },
  });
  await expect(dockerPublisher.attest!(ctx, options(), attestation(staged.digest))).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
    retryable: false,
    message: expect.stringContaining('not a DSSE envelope'),
  });
  await expect(rawAttManifest(staged.digest)).resolves.toMatchObject({ digest: squatter.digest });
  await expect(fetchImageAttestations(`${REPO()}:4.5.0`, access())).rejects.toMatchObject({ code: ErrorCode.ArtifactMismatch });
});

test('a changed byte in the stored envelope is detected on read-back, by a second attest and by fetchImageAttestations', async () => {
  const staged = await stage('4.6.0');
  const att = attestation(staged.digest);
  await publishAndAttest('4.6.0', staged, att);
  const hex = att.digest;
  const data = path.join(dest.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  const bytes = readFileSync(data);
  expect(bytes.equals(att.envelope)).toBe(true);
  const at = bytes.indexOf('"sig":"') + 8;
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
  writeFileSync(data, bytes);

  await expect(dockerPublisher.attest!(await context('4.6.0', staged), options(), att)).rejects.toMatchObject({
    code: ErrorCode.ArtifactMismatch,
    message: expect.stringContaining(`sha256:${hex}`),
  });
  await expect(fetchImageAttestations(`${REPO()}:4.6.0`, access())).rejects.toMatchObject({ code: ErrorCode.ArtifactMismatch });
});

test('wrong credentials: a final auth failure that names the credential, no secret anywhere, nothing attached', async () => {
  const other = await stage('4.7.1');
  await dockerPublisher.publish(await context('4.7.1', other), options());
  const wrong = `${PASSWORD}-wrong`;
  const ctx = await context('4.7.1', other, { credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: wrong } });
  const err = await dockerPublisher.attest!(ctx, options(), attestation(other.digest)).catch((e: unknown) => e);
  expect(err).toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'auth', status: 401 },
    message: expect.stringContaining('REGISTRY_PASSWORD'),
  });
  const text = everything(ctx, err);
  for (const form of [...canaryForms, wrong, Buffer.from(`${USER}:${wrong}`).toString('base64').replace(/=+$/, '')])
    expect(text).not.toContain(form);
  await expect(fetchImageAttestations(`${REPO()}:4.7.1`, access())).resolves.toEqual({ subjectDigest: other.digest, envelopes: [] });
  await expect(fetchImageAttestations(`${REPO()}:4.7.1`, access(wrong))).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    details: { reason: 'auth' },
  });
  // No credentials at all against a registry that wants them.
  await expect(
    dockerPublisher.attest!(await context('4.7.1', other, { credentials: {} }), options(), attestation(other.digest)),
  ).rejects.toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'auth' } });
});

test('attack: whoever can push to the staging registry cannot choose what is attested; the subject is the published digest', async () => {
  const staged = await stage('4.8.0', 'the reviewed build\n');
  // After staging recorded the digest, the attacker moves the staging tag to their own image and plants
  // a forged attestation (their key, the real subject) beside the real digest in the staging repository.
  const attackerKey = generateKeyPairSync('ed25519').privateKey;
  const swapped = await pushTinyImage({
    workDir: tmp.dir,
    host: source.host,
    path: 'builds/conjur-cli',
    tag: '4.8.0-staged',
    content: "the attacker's build\n",
  });
  expect(swapped.digest).not.toBe(staged.digest);
  const forged = attestation(staged.digest, attackerKey, 'forged');
  const attackerCtx = await publishContext(path.join(tmp.dir, `ctx-${(n += 1)}`), {}, {});
  await attestImage(attackerCtx, staged.repository, staged.digest, forged, { tlsVerify: false });
  await expect(fetchImageAttestations(`${staged.repository}@${staged.digest}`, { tlsVerify: false })).resolves.toMatchObject({
    envelopes: [forged.envelope],
  });

  const ours = attestation(staged.digest);
  const { result } = await publishAndAttest('4.8.0', staged, ours);
  expect(result).toMatchObject({ status: 'published', location: `${REPO()}:${attestationTag(staged.digest)}` });
  const found = await fetchImageAttestations(`${REPO()}:4.8.0`, access());
  expect(found).toEqual({ subjectDigest: staged.digest, envelopes: [ours.envelope] });
  await expect(fetchImageAttestations(`${REPO()}@${swapped.digest}`, access())).rejects.toMatchObject({ code: ErrorCode.NotFound });

  // An envelope about the attacker's image is never attached under the published image's tag.
  const ctx = await context('4.8.0', staged);
  await expect(dockerPublisher.attest!(ctx, options(), attestation(swapped.digest))).rejects.toMatchObject({
    code: ErrorCode.ArtifactMismatch,
    message: expect.stringContaining('names another subject'),
  });
  await expect(fetchImageAttestations(`${REPO()}:4.8.0`, access())).resolves.toEqual({
    subjectDigest: staged.digest,
    envelopes: [ours.envelope],
  });
});
