import { createHash, createPublicKey, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { execFile } from 'node:child_process';
import { repoRoot } from '../support/cli.js';
import { project, writeProjectsFile, type DestinationSpec, type ProjectSpec } from '../support/projects-file.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { makeTmpDir } from '../support/tmp.js';

const API_KEY = `apikey-canary-${'p'.repeat(40)}`;
/** The provenance key, generated as README tells operators (`openssl genpkey -algorithm ed25519` writes this PKCS#8 PEM). */
const SIGNING = generateKeyPairSync('ed25519');
const SIGNING_PEM = SIGNING.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const SIGNING_DER = SIGNING.privateKey.export({ type: 'pkcs8', format: 'der' });
const SEED = Buffer.from(SIGNING.privateKey.export({ format: 'jwk' }).d as string, 'base64url');
const OTHER = generateKeyPairSync('ed25519');
const BUILD_URL = 'https://jenkins.example/job/conjur-cli/42/';
const COMMIT = '9fceb02d0ae598e95dc970b74767f19372d61af8';
const TGZ = 'the conjur-cli 4.2.0 tarball\n';
const SUMS = `${createHash('sha256').update(TGZ).digest('hex')}  conjur-cli-4.2.0.tgz\n`;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The built CLI as a process (as test/support/cli.ts runs it), with room for ssh round trips on a busy machine. */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'bin', 'release-bot.js'), ...args],
      { env: { PATH: process.env.PATH, ...env }, cwd: repoRoot, timeout: 300_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * DSSE's PAE, written out here from the spec's text (secure-systems-lab/dsse, protocol.md:
 * PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body) + SP + body, LEN the
 * length in bytes as ASCII decimal), so the envelope is checked by no code of src/provenance.
 */
function independentPae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `, 'utf8'), body]);
}

/**
 * A release to a directory and to an ssh download host (a real sshd on loopback) with a provenance
 * key in Conjur, through `release-bot stage` / `publish` / `provenance verify` as separate
 * processes: each file gets its signed `.intoto.jsonl` beside it, a downstream user verifies it
 * offline, and every tampering is refused.
 */
describe('signed provenance of a files release (directory and ssh)', () => {
  const tmp = makeTmpDir('release-bot-provenance-');
  const staging = path.join(tmp.dir, 'staging');
  const dataDir = path.join(tmp.dir, 'data');
  const downloads = path.join(tmp.dir, 'downloads');
  const remote = path.join(tmp.dir, 'remote');
  const publicKeyFile = path.join(tmp.dir, 'release-bot.pub.pem');
  let conjur: ConjurStandIn;
  let sshd: TestSshd;
  let env: NodeJS.ProcessEnv;
  const allOutput: string[] = [];
  const cli = async (...args: string[]) => {
    const result = await runCli(args, env);
    allOutput.push(result.stdout, result.stderr);
    return result;
  };
  const cliProject = (name: string, destinations: DestinationSpec[], more: Partial<ProjectSpec> = {}) =>
    project(name, destinations, { authorized_group: 'release/cli', ...more });

  beforeAll(async () => {
    sshd = await startSshd();
    mkdirSync(remote, { recursive: true });
    conjur = await startConjurStandIn({
      account: 'acme',
      apiKeys: { 'host/release-bot': API_KEY },
      groups: { 'release/cli': ['user:alice'] },
      variables: {
        'release/provenance/signing-key': { value: SIGNING_PEM, readers: ['host:release-bot'] },
        'release/downloads/ssh-key': { value: sshd.clientKey.privateKey, readers: ['host:release-bot'] },
      },
    });
    const toDownloads: DestinationSpec = { name: 'downloads', type: 'directory', path: `${downloads}/{project}/{version}` };
    writeProjectsFile(path.join(tmp.dir, 'releases.yml'), {
      staging_dir: staging,
      provenance: { signing_key: 'release/provenance/signing-key' },
      projects: {
        'conjur-cli': cliProject('conjur-cli', [
          toDownloads,
          {
            name: 'mirror',
            type: 'ssh',
            host: '127.0.0.1',
            port: sshd.port,
            user: sshd.user,
            path: `${remote}/{project}/{version}`,
            known_hosts: sshd.hostKeyLine,
            credentials: { SSH_PRIVATE_KEY: 'release/downloads/ssh-key' },
          },
        ]),
        // A key the stand-in does not have: the release must fail before anything is pushed.
        keyless: cliProject('keyless', [toDownloads], { provenance: { signing_key: 'release/provenance/missing' } }),
      },
    });
    env = {
      CONJUR_APPLIANCE_URL: conjur.url,
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: API_KEY,
      RELEASE_BOT_CONFIG: path.join(tmp.dir, 'releases.yml'),
      RELEASE_BOT_DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
    };
    for (const name of ['conjur-cli', 'keyless']) {
      mkdirSync(path.join(staging, name, '4.2.0', 'checksums'), { recursive: true });
      writeFileSync(path.join(staging, name, '4.2.0', 'conjur-cli-4.2.0.tgz'), TGZ);
      writeFileSync(path.join(staging, name, '4.2.0', 'checksums', 'SHA256SUMS'), SUMS);
    }
  }, 60_000);

  afterAll(async () => {
    await conjur?.close();
    await sshd?.stop();
    tmp.cleanup();
  });

  const released = (root: string, file: string) => path.join(root, 'conjur-cli', '4.2.0', file);

  it('publishes every file with its .intoto.jsonl beside it, in the directory and on the ssh host; the summary says signed with the key id', async () => {
    expect((await cli('stage', 'conjur-cli', '4.2.0', '--build-number', '42', '--build-url', BUILD_URL, '--commit', COMMIT)).code).toBe(0);
    const r = await cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice');
    expect([r.code, r.stdout, r.code === 0 ? '' : r.stderr.slice(-3000)]).toEqual([
      0,
      expect.stringContaining('Released conjur-cli 4.2.0'),
      '',
    ]);
    const keyId = sha256(createPublicKey(SIGNING.privateKey).export({ type: 'spki', format: 'der' }));
    expect(r.stdout).toContain(`downloads [directory]: published`);
    expect(r.stdout.match(new RegExp(`provenance: signed \\(key id ${keyId.slice(0, 16)}\\)`, 'g'))).toHaveLength(2);
    for (const root of [downloads, remote]) {
      for (const file of ['conjur-cli-4.2.0.tgz', 'checksums/SHA256SUMS'])
        expect(existsSync(released(root, `${file}.intoto.jsonl`))).toBe(true);
    }
    expect(statSync(released(downloads, 'conjur-cli-4.2.0.tgz.intoto.jsonl')).mode & 0o777).toBe(0o444);
    // The same statement reached both places: it is about the release, not the destination's copy.
    const pub = await cli('provenance', 'public-key');
    expect(pub.code).toBe(0);
    expect(pub.stdout).toContain('-----BEGIN PUBLIC KEY-----');
    expect(pub.stdout).toContain(`key id ${keyId}`);
    writeFileSync(publicKeyFile, pub.stdout);
  }, 400_000);

  it('the envelope verifies by hand: PAE from the DSSE spec and crypto.verify, an in-toto Statement v1 with a SLSA v1 predicate about the file', () => {
    const line = readFileSync(released(downloads, 'conjur-cli-4.2.0.tgz.intoto.jsonl'), 'utf8');
    expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
    const envelope = JSON.parse(line) as { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
    const body = Buffer.from(envelope.payload, 'base64');
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(envelope.signatures).toHaveLength(1);
    const sig = Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64');
    expect(cryptoVerify(null, independentPae(envelope.payloadType, body), createPublicKey(SIGNING.privateKey), sig)).toBe(true);
    expect(cryptoVerify(null, independentPae(envelope.payloadType, body), OTHER.publicKey, sig)).toBe(false);
    const statement = JSON.parse(body.toString('utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'conjur-cli-4.2.0.tgz', digest: { sha256: sha256(TGZ) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          externalParameters: { project: 'conjur-cli', version: '4.2.0' },
          internalParameters: {
            requester: 'alice',
            approvers: [],
            conjurIdentity: 'host/release-bot',
            conjurVariables: ['release/downloads/ssh-key', 'release/provenance/signing-key'],
          },
          resolvedDependencies: [{ digest: { gitCommit: COMMIT } }],
        },
        runDetails: { builder: { id: 'https://jenkins.example/job/conjur-cli/' }, metadata: { invocationId: BUILD_URL } },
      },
    });
    expect(statement.predicate.buildDefinition.internalParameters.policySha256).toBe(
      sha256(readFileSync(path.join(tmp.dir, 'releases.yml'))),
    );
    const audit = statement.predicate.runDetails.byproducts[0];
    expect(audit).toMatchObject({ annotations: { kind: 'audit-entry' }, digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });

  it('the audit entry named in the statement is the authorization, written before anything was pushed', async () => {
    const statement = JSON.parse(
      Buffer.from(
        (JSON.parse(readFileSync(released(remote, 'conjur-cli-4.2.0.tgz.intoto.jsonl'), 'utf8')) as { payload: string }).payload,
        'base64',
      ).toString('utf8'),
    );
    const byproduct = statement.predicate.runDetails.byproducts[0];
    const exported = await cli('audit', 'export', '--jsonl');
    const entries = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; type: string; hash: string; releaseId: string });
    const entry = entries.find((e) => e.seq === byproduct.annotations.seq);
    expect(entry).toMatchObject({
      type: 'requested',
      hash: byproduct.digest.sha256,
      releaseId: statement.predicate.buildDefinition.internalParameters.releaseId,
    });
    const trace = await cli('audit', 'trace', 'conjur-cli', '4.2.0');
    const envelopeDigest = sha256(readFileSync(released(downloads, 'conjur-cli-4.2.0.tgz.intoto.jsonl')));
    expect(trace.stdout).toContain(`attestation sha256:${envelopeDigest}  conjur-cli-4.2.0.tgz`);
  }, 120_000);

  it('provenance verify accepts each released file from both places with the expectations that hold', async () => {
    for (const root of [downloads, remote]) {
      for (const file of ['conjur-cli-4.2.0.tgz', 'checksums/SHA256SUMS']) {
        const r = await cli(
          'provenance',
          'verify',
          released(root, file),
          '--public-key',
          publicKeyFile,
          '--project',
          'conjur-cli',
          '--version',
          '4.2.0',
          '--builder-job',
          'https://jenkins.example/job/conjur-cli/',
        );
        expect([r.code, r.stdout.split('\n')[0]]).toEqual([0, `VERIFIED: ${released(root, file)}`]);
      }
    }
    // With no expectation but the key, and the attestation given explicitly.
    const copy = path.join(tmp.dir, 'elsewhere.tgz');
    writeFileSync(copy, TGZ);
    const r = await cli(
      'provenance',
      'verify',
      copy,
      '--attestation',
      released(downloads, 'conjur-cli-4.2.0.tgz.intoto.jsonl'),
      '--public-key',
      publicKeyFile,
    );
    expect(r.code).toBe(0);
  }, 300_000);

  it('refuses a changed artifact byte, a changed envelope byte, another key, another project or version, another builder job', async () => {
    const att = released(downloads, 'conjur-cli-4.2.0.tgz.intoto.jsonl');
    const changedFile = path.join(tmp.dir, 'changed.tgz');
    writeFileSync(
      changedFile,
      Buffer.from(TGZ).map((b, i) => (i === 5 ? b ^ 1 : b)),
    );
    const changedEnvelope = path.join(tmp.dir, 'changed.intoto.jsonl');
    const bytes = readFileSync(att);
    // A byte inside the signed payload (not at its end, where base64 padding lives).
    const at = bytes.indexOf('"payload":"') + 40;
    writeFileSync(
      changedEnvelope,
      bytes.map((b, i) => (i === at ? (b === 0x41 ? 0x42 : 0x41) : b)),
    );
    const otherKey = path.join(tmp.dir, 'other.pub.pem');
    writeFileSync(otherKey, OTHER.publicKey.export({ type: 'spki', format: 'pem' }));
    const file = released(downloads, 'conjur-cli-4.2.0.tgz');
    const cases: [string, string[], RegExp][] = [
      ['a changed artifact byte', [changedFile, '--attestation', att, '--public-key', publicKeyFile], /\[FAIL\] subject/],
      ['a changed envelope byte', [file, '--attestation', changedEnvelope, '--public-key', publicKeyFile], /\[FAIL\] signature/],
      ['another key', [file, '--public-key', otherKey], /\[FAIL\] signature/],
      ['another project', [file, '--public-key', publicKeyFile, '--project', 'conjur-api'], /\[FAIL\] project/],
      ['another version', [file, '--public-key', publicKeyFile, '--version', '4.2.1'], /\[FAIL\] version/],
      [
        'another builder job',
        [file, '--public-key', publicKeyFile, '--builder-job', 'https://jenkins.example/job/evil/'],
        /\[FAIL\] builder/,
      ],
      ['another builder job by name', [file, '--public-key', publicKeyFile, '--builder-job', 'evil'], /\[FAIL\] builder/],
    ];
    for (const [what, args, failed] of cases) {
      const r = await cli('provenance', 'verify', ...args);
      expect([what, r.code, r.stdout.split('\n')[0]?.startsWith('NOT VERIFIED')]).toEqual([what, 65, true]);
      expect([what, r.stdout]).toEqual([what, expect.stringMatching(failed)]);
    }
  }, 300_000);

  it('a project whose key is missing from Conjur fails before anything is pushed, and the failure is audited', async () => {
    expect((await cli('stage', 'keyless', '4.2.0', '--build-number', '43')).code).toBe(0);
    const r = await cli('publish', 'keyless', '4.2.0', '--as', 'alice');
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('FAILED');
    expect(existsSync(path.join(downloads, 'keyless'))).toBe(false);
    const audit = await cli('audit', 'list', '--project', 'keyless');
    expect(audit.stdout).toMatch(/failed\s+keyless 4\.2\.0/);
  }, 300_000);

  it('never lets the signing key, in any form, reach output, logs, the audit log, the database or any file under the data directory', async () => {
    const audit = await cli('audit', 'export', '--jsonl');
    expect(audit.stdout).toContain('release/provenance/signing-key'); // the variable id is named, the value never
    const files = readdirSync(dataDir, { recursive: true, encoding: 'utf8' })
      .map((f) => path.join(dataDir, f))
      .filter((f) => statSync(f).isFile())
      .map((f) => readFileSync(f));
    const pemBody = SIGNING_PEM.split('\n').filter((l) => l && !l.startsWith('-----'));
    const canaries = [
      SIGNING_PEM.trim(),
      ...pemBody,
      SIGNING_DER.toString('base64'),
      SIGNING_DER.toString('hex'),
      SEED.toString('base64'),
      SEED.toString('base64url'),
      SEED.toString('hex'),
    ];
    const published = [downloads, remote].flatMap((root) =>
      readdirSync(root, { recursive: true, encoding: 'utf8' })
        .map((f) => path.join(root, f))
        .filter((f) => statSync(f).isFile())
        .map((f) => readFileSync(f, 'latin1')),
    );
    for (const text of [...allOutput, audit.stdout, ...files.map((b) => b.toString('latin1')), ...published]) {
      for (const canary of canaries) expect(text.includes(canary) ? canary : 'absent').toBe('absent');
    }
    for (const file of files) {
      expect(file.indexOf(SIGNING_DER)).toBe(-1);
      expect(file.indexOf(SEED)).toBe(-1);
    }
  }, 120_000);
});
