import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { z } from 'zod';
import { releaseSummaryMessage } from '../../handlers/slack/messages/release-summary.js';
import { summaryFromAudit } from '../../handlers/slack/summary-from-audit.js';
import { ErrorCode } from '../../src/errors.js';
import { keyIdOf } from '../../src/provenance/dsse.js';
import { checkAttestation } from '../../src/provenance/verify.js';
import type { PublisherDefinition } from '../../src/publishing/types.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { testDestination, type ProjectSpec } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

const ed = generateKeyPairSync('ed25519');
const PEM = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const TOKEN = 'ghp_canaryTOKEN0123456789abcdefABCDEF';
const TGZ = 'app tarball bytes\n';
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const alice = { login: 'alice', via: 'cli' as const };
const KEY_ID = keyIdOf(ed.publicKey);

let tmp: ReturnType<typeof makeTmpDir>;
let f: CoreFixture | undefined;
beforeEach(() => (tmp = makeTmpDir('release-bot-provenance-core-')));
afterEach(() => {
  f?.close();
  f = undefined;
  tmp.cleanup();
});

function world(
  destinations: ProjectSpec['destinations'],
  secrets: Record<string, string>,
  provenance: ProjectSpec['provenance'] = { signing_key: 'release/provenance/key' },
  extra: PublisherDefinition[] = [],
): CoreFixture {
  const conjur = memoryConjur({ 'release/app': ['alice'] }, { 'release/provenance/key': PEM, ...secrets });
  f = makeCore(tmp.dir, appProject(destinations, { provenance }), conjur, extra);
  f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': TGZ });
  return f;
}

const stage = (fx: CoreFixture) =>
  fx.core.stage({
    project: 'app',
    version: '1.0.0',
    build: { job: 'app', number: 7, url: 'https://jenkins.example/job/app/7/', commit: 'a'.repeat(40) },
    reportedBy: 'test',
    actor: { via: 'test' },
  });
const check = (envelope: Buffer, key: KeyObject = ed.publicKey) =>
  checkAttestation(envelope, key, sha256(TGZ), { project: 'app', version: '1.0.0', builderJob: 'app' });

/**
 * The release asset upload as GitHub documents it (docs.github.com, REST "Upload a release asset":
 * POST to the release's upload_url on uploads.github.com, `?name=`, the raw bytes with a Content-Type;
 * the same exchange test/publishers/github.test.ts models for the files).
 */
test('github: the attestation is uploaded as the release asset <file>.intoto.jsonl, read back by digest, and verifies', async () => {
  const fx = world([{ name: 'gh', type: 'github', repository: 'acme/app', credentials: { GITHUB_TOKEN: 'release/github/token' } }], {
    'release/github/token': TOKEN,
  });
  await stage(fx);
  const API = 'https://api.github.com';
  const UPLOADS = 'https://uploads.github.com';
  const headers = { authorization: `Bearer ${TOKEN}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  const release = {
    id: 7,
    tag_name: 'v1.0.0',
    html_url: 'https://github.com/acme/app/releases/tag/v1.0.0',
    upload_url: `${UPLOADS}/repos/acme/app/releases/7/assets{?name,label}`,
    body: '',
    author: { login: 'bot' },
  };
  const asset = (name: string, content: Buffer | string) => ({
    id: name.length,
    name,
    size: Buffer.byteLength(content),
    state: 'uploaded',
    digest: `sha256:${sha256(content)}`,
    browser_download_url: `https://github.com/acme/app/releases/download/v1.0.0/${name}`,
  });
  const github = () => nock(API, { reqheaders: headers });
  github().get('/repos/acme/app/releases/tags/v1.0.0').reply(404, { message: 'Not Found' });
  github().post('/repos/acme/app/releases').reply(201, release);
  nock(UPLOADS, { reqheaders: { ...headers, 'content-type': 'application/octet-stream' } })
    .post('/repos/acme/app/releases/7/assets', TGZ)
    .query({ name: 'app-1.0.0.tgz' })
    .reply(201, asset('app-1.0.0.tgz', TGZ));
  github()
    .get('/repos/acme/app/releases/7/assets')
    .query({ per_page: '100', page: '1' })
    .reply(200, [asset('app-1.0.0.tgz', TGZ)]);
  // The attest step: the release again, its assets (no attestation yet), the upload, the read-back.
  github().get('/repos/acme/app/releases/tags/v1.0.0').reply(200, release);
  github()
    .get('/repos/acme/app/releases/7/assets')
    .query({ per_page: '100', page: '1' })
    .reply(200, [asset('app-1.0.0.tgz', TGZ)]);
  let uploaded: Buffer | undefined;
  // nock hands a body matcher JSON it has parsed; the reply gets the raw text, byte for byte.
  nock(UPLOADS, { reqheaders: { ...headers, 'content-type': 'application/octet-stream' } })
    .post('/repos/acme/app/releases/7/assets', (body: { payloadType?: string }) => body.payloadType === 'application/vnd.in-toto+json')
    .query({ name: 'app-1.0.0.tgz.intoto.jsonl' })
    .reply((_uri, body) => {
      uploaded = Buffer.from(typeof body === 'string' ? body : '', 'utf8');
      return [201, asset('app-1.0.0.tgz.intoto.jsonl', uploaded)];
    });
  github()
    .get('/repos/acme/app/releases/7/assets')
    .query({ per_page: '100', page: '1' })
    .reply(200, () => [asset('app-1.0.0.tgz', TGZ), asset('app-1.0.0.tgz.intoto.jsonl', uploaded as Buffer)]);

  const summary = await fx.core.release('app', '1.0.0', alice);
  expect([summary.state, fx.logLines.filter((l) => l.includes('attempt failed'))]).toEqual(['published', []]);
  expect(uploaded).toBeDefined();
  const report = check(uploaded as Buffer);
  expect([report.ok, report.checks.filter((c) => !c.ok)]).toEqual([true, []]);
  expect(summary.destinations[0]?.attestations).toEqual([
    {
      subject: 'app-1.0.0.tgz',
      digest: sha256(uploaded as Buffer),
      keyId: KEY_ID,
      location: 'https://github.com/acme/app/releases/download/v1.0.0/app-1.0.0.tgz.intoto.jsonl',
    },
  ]);
  expect(fx.logLines.join('')).not.toContain(TOKEN);
});

test('a signing key that is not Ed25519 fails the release before any destination runs; the key reaches no log, audit entry or row', async () => {
  const conjur = memoryConjur({ 'release/app': ['alice'] }, { 'release/provenance/key': RSA_PEM });
  const out = path.join(tmp.dir, 'out');
  f = makeCore(
    tmp.dir,
    appProject([{ name: 'files', type: 'directory', path: out }], { provenance: { signing_key: 'release/provenance/key' } }),
    conjur,
  );
  f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': TGZ });
  await stage(f);
  const summary = await f.core.release('app', '1.0.0', alice);
  expect(summary).toMatchObject({
    state: 'failed',
    error: { code: ErrorCode.ConfigInvalid, message: expect.stringContaining('not Ed25519') },
    destinations: [],
  });
  expect(existsSync(out)).toBe(false);
  const body = RSA_PEM.split('\n').filter((l) => l && !l.startsWith('-----'));
  const rows = JSON.stringify([...f.audit.all()]) + JSON.stringify(f.db.prepare('SELECT * FROM releases').all());
  for (const text of [f.logLines.join(''), rows]) for (const line of body) expect(text.includes(line) ? line : 'absent').toBe('absent');
});

test('a failing attestation fails its destination; resume publishes only what is missing, and the destination done before keeps its attestation', async () => {
  const a = path.join(tmp.dir, 'a');
  const b = path.join(tmp.dir, 'b');
  const fx = world(
    [
      { name: 'first', type: 'directory', path: a },
      { name: 'second', type: 'directory', path: b },
    ],
    {},
  );
  await stage(fx);
  // Someone else's attestation already sits where the second destination's goes.
  mkdirSync(b, { recursive: true });
  writeFileSync(path.join(b, 'app-1.0.0.tgz.intoto.jsonl'), '{"payloadType":"x","payload":"","signatures":[]}\n');
  const failed = await fx.core.release('app', '1.0.0', alice);
  expect(failed.state).toBe('failed');
  expect(failed.destinations.map((d) => [d.name, d.status, d.error?.code])).toEqual([
    ['first', 'published', undefined],
    ['second', 'failed', ErrorCode.DestinationConflict],
  ]);
  expect(readFileSync(path.join(b, 'app-1.0.0.tgz.intoto.jsonl'), 'utf8')).toContain('"payloadType":"x"'); // never overwritten
  const firstAttestation = readFileSync(path.join(a, 'app-1.0.0.tgz.intoto.jsonl'));

  unlinkSync(path.join(b, 'app-1.0.0.tgz.intoto.jsonl'));
  const resumed = await fx.core.release('app', '1.0.0', alice, { resume: true });
  expect(resumed.state).toBe('published');
  expect(resumed.destinations.map((d) => [d.name, d.status])).toEqual([
    ['first', 'skipped'],
    ['second', 'already-present'],
  ]);
  expect(resumed.destinations[0]?.attestations).toEqual([
    { subject: 'app-1.0.0.tgz', digest: sha256(firstAttestation), keyId: KEY_ID, location: path.join(a, 'app-1.0.0.tgz.intoto.jsonl') },
  ]);
  expect(readFileSync(path.join(a, 'app-1.0.0.tgz.intoto.jsonl'))).toEqual(firstAttestation);
  expect(check(readFileSync(path.join(b, 'app-1.0.0.tgz.intoto.jsonl'))).ok).toBe(true);
  // The resumed release's statement names the resumed release, and both verify.
  expect(check(firstAttestation).ok).toBe(true);
});

test('a destination type that cannot hold an attestation puts it in provenance.store, through that destination; one already there that says the same is kept', async () => {
  const archive = path.join(tmp.dir, 'archive');
  const pushed: string[] = [];
  const registryLike: PublisherDefinition = {
    type: 'registry-like',
    description: 'a package registry stand-in: publishes, cannot carry a file beside the package',
    artifacts: ['files'],
    options: z.object({}).strict() as unknown as z.ZodType<Record<string, unknown>>,
    tools: [],
    async publish(ctx) {
      pushed.push(ctx.version);
      return { status: 'published', location: 'registry://app' };
    },
  };
  const fx = world(
    [
      { name: 'archive', type: 'directory', path: `${archive}/{project}/{version}` },
      testDestination(registryLike, 'registry', {}, { after: ['archive'] }),
    ],
    {},
    { signing_key: 'release/provenance/key', store: 'archive' },
    [registryLike],
  );
  await stage(fx);
  const summary = await fx.core.release('app', '1.0.0', alice);
  expect(summary.state).toBe('published');
  expect(pushed).toEqual(['1.0.0']);
  const stored = path.join(archive, 'app', '1.0.0', 'app-1.0.0.tgz.intoto.jsonl');
  expect(summary.destinations.map((d) => d.attestations?.map((x) => x.location))).toEqual([[stored], [stored]]);
  expect(readdirSync(path.join(archive, 'app', '1.0.0')).sort()).toEqual([
    'app-1.0.0.release.json',
    'app-1.0.0.tgz',
    'app-1.0.0.tgz.intoto.jsonl',
  ]);
  expect(check(readFileSync(stored)).ok).toBe(true);
});

test('the chat summary of a signed release says "provenance: signed (key id …)" per destination and carries no key material', async () => {
  const out = path.join(tmp.dir, 'out');
  const fx = world([{ name: 'files', type: 'directory', path: out }], {});
  await stage(fx);
  const summary = await fx.core.release('app', '1.0.0', alice);
  const message = releaseSummaryMessage(summary);
  const text = JSON.stringify(message);
  expect(message.text).toContain(`provenance: signed (key id ${KEY_ID.slice(0, 16)})`);
  expect(JSON.stringify(message.blocks)).toContain(`provenance: signed (key id ${KEY_ID.slice(0, 16)})`);
  for (const line of PEM.split('\n').filter((l) => l && !l.startsWith('-----')))
    expect(text.includes(line) ? line : 'absent').toBe('absent');
  // The same line when another process ran the release and the channel rebuilds it from the audit entry.
  const entry = fx.audit.get(summary.auditId);
  const rebuilt = summaryFromAudit(
    entry as NonNullable<typeof entry>,
    fx.releases.get(summary.releaseId) as NonNullable<ReturnType<typeof fx.releases.get>>,
    fx.staged.current('app', '1.0.0'),
  );
  expect(releaseSummaryMessage(rebuilt as NonNullable<typeof rebuilt>).text).toContain(
    `provenance: signed (key id ${KEY_ID.slice(0, 16)})`,
  );
});

test('a dry run reads and checks the key but signs and publishes nothing', async () => {
  const out = path.join(tmp.dir, 'out');
  const fx = world([{ name: 'files', type: 'directory', path: out }], {});
  await stage(fx);
  const summary = await fx.core.release('app', '1.0.0', alice, { dryRun: true });
  expect(summary.state).toBe('dry-run');
  expect(summary.destinations[0]?.attestations).toBeUndefined();
  expect(existsSync(out)).toBe(false);
  expect(summary.credentialIds).toEqual(['release/provenance/key']);
});

test('attack: a build that stages its own <file>.intoto.jsonl (a forged attestation) is refused before anything is pushed', async () => {
  const out = path.join(tmp.dir, 'out');
  const conjur = memoryConjur({ 'release/app': ['alice'] }, { 'release/provenance/key': PEM });
  f = makeCore(
    tmp.dir,
    appProject([{ name: 'files', type: 'directory', path: out }], { provenance: { signing_key: 'release/provenance/key' } }),
    conjur,
  );
  const forged = `${JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from('{"forged":true}').toString('base64'), signatures: [{ keyid: KEY_ID, sig: 'AAAA' }] })}\n`;
  f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': TGZ, 'app-1.0.0.tgz.intoto.jsonl': forged });
  await stage(f);
  const summary = await f.core.release('app', '1.0.0', alice);
  expect(summary).toMatchObject({
    state: 'failed',
    error: { code: ErrorCode.BadInput, message: expect.stringContaining('app-1.0.0.tgz.intoto.jsonl') },
    destinations: [],
  });
  expect(existsSync(out)).toBe(false);
});
