import { createHash, generateKeyPairSync } from 'node:crypto';
import { fetchImageAttestations } from '../../publishers/docker-attestation.js';
import { checkAttestation } from '../../src/provenance/verify.js';
import { stagedImageDigest } from '../../publishers/docker-tags.js';
import { inspectDigest } from '../../src/staging/skopeo.js';
import { pushTinyImage } from '../support/oci-image.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { makeTmpDir } from '../support/tmp.js';

const ed = generateKeyPairSync('ed25519');
const OTHER = generateKeyPairSync('ed25519');
const PEM = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/**
 * A docker release to a real Debian docker-registry publishes its attestation as the cosign-style
 * `sha256-<digest>.att` artifact (publishers/docker-attestation.ts), which `provenance verify`
 * reads back through fetchImageAttestations.
 */
describe('signed provenance of a docker release', () => {
  const tmp = makeTmpDir('release-bot-provenance-docker-');
  let source: TestRegistry | undefined;
  let dest: TestRegistry | undefined;
  let f: CoreFixture | undefined;

  afterAll(async () => {
    f?.close();
    await Promise.all([source?.stop(), dest?.stop()]);
    tmp.cleanup();
  });

  it('publishes sha256-<digest>.att in the destination repository; it verifies against the pushed manifest digest and not with another key or project', async () => {
    [source, dest] = await Promise.all([startRegistry(), startRegistry()]);
    const staged = await pushTinyImage({ workDir: tmp.dir, host: source.host, path: 'builds/app', tag: '1.0.0' });
    const conjur = memoryConjur({ 'release/app': ['alice'] }, { 'release/provenance/key': PEM });
    f = makeCore(
      tmp.dir,
      appProject([{ name: 'registry', type: 'docker', repository: `${dest.host}/org/app`, tls_verify: false, tags: ['{version}'] }], {
        artifact: 'docker',
        image: { repository: staged.repository, tls_verify: false },
        provenance: { signing_key: 'release/provenance/key' },
      }),
      conjur,
      [],
      {
        inspectImage: (ref, tlsVerify) => inspectDigest(ref, { tlsVerify, redact: (t) => t }),
        recheckImage: (ref, tlsVerify) => stagedImageDigest(ref, { tlsVerify, redact: (t) => t }),
      },
    );
    await f.core.stage({
      project: 'app',
      version: '1.0.0',
      build: { job: 'app', number: 3, url: 'https://jenkins.example/job/app/3/' },
      image: { ref: staged.ref, digest: staged.digest },
      reportedBy: 'test',
      actor: { via: 'test' },
    });
    const summary = await f.core.release('app', '1.0.0', { login: 'alice', via: 'cli' });
    expect([summary.state, summary.destinations[0]?.error]).toEqual(['published', undefined]);
    expect(summary.destinations[0]?.attestations).toHaveLength(1);

    const found = await fetchImageAttestations(`${dest.host}/org/app:1.0.0`, { tlsVerify: false });
    expect(found.subjectDigest).toBe(staged.digest);
    expect(found.envelopes.map((e) => createHash('sha256').update(e).digest('hex'))).toContain(
      summary.destinations[0]?.attestations?.[0]?.digest,
    );
    const hex = staged.digest.replace(/^sha256:/, '');
    const ok = found.envelopes.map((e) => checkAttestation(e, ed.publicKey, hex, { project: 'app', builderJob: 'app' }));
    expect(ok.some((r) => r.ok)).toBe(true);
    expect(found.envelopes.some((e) => checkAttestation(e, OTHER.publicKey, hex, {}).ok)).toBe(false);
    expect(found.envelopes.some((e) => checkAttestation(e, ed.publicKey, hex, { project: 'other' }).ok)).toBe(false);
    expect(found.envelopes.some((e) => checkAttestation(e, ed.publicKey, 'f'.repeat(64), {}).ok)).toBe(false);
  }, 300_000);
});
