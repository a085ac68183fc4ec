import { createHash, generateKeyPairSync } from 'node:crypto';
import { Redactor } from '../../src/redact.js';
import { signAttestation } from '../../src/provenance/envelope-file.js';
import { signingKeyFrom } from '../../src/provenance/signing-key.js';
import { buildStatement, statementBytes, type StatementInput } from '../../src/provenance/statement.js';
import { checkAttestation } from '../../src/provenance/verify.js';

const pair = generateKeyPairSync('ed25519');
const PEM = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const FILE = Buffer.from('the released bytes\n');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const input = (over: Partial<StatementInput> = {}): StatementInput => ({
  subjects: [{ name: 'app-1.0.0.tgz', digest: { sha256: sha256(FILE) } }],
  project: 'app',
  version: '1.0.0',
  releaseId: 'rel_abc',
  requester: 'alice',
  approvers: ['bob'],
  policySha256: 'f'.repeat(64),
  conjurIdentity: 'host/release-bot',
  conjurVariables: ['release/b', 'release/a'],
  build: { job: 'app', number: 7, url: 'https://jenkins.example/job/app/7/', commit: 'a'.repeat(40) },
  audit: { seq: 12, id: 'aud_x', hash: 'e'.repeat(64) },
  startedOn: new Date('2026-12-02T07:00:00.123Z'),
  finishedOn: new Date('2026-12-02T07:01:00.456Z'),
  ...over,
});

test('the statement is deterministic canonical JSON: same facts, same bytes; keys sorted, variable ids sorted, times to the second', () => {
  const a = statementBytes(buildStatement(input()));
  expect(statementBytes(buildStatement(input({ conjurVariables: ['release/a', 'release/b'] })))).toEqual(a);
  const text = a.toString('utf8');
  expect(text.startsWith('{"_type":"https://in-toto.io/Statement/v1","predicate":{')).toBe(true);
  expect(text).toContain('"startedOn":"2026-12-02T07:00:00Z"');
  expect(text).toContain('"builder":{"id":"https://jenkins.example/job/app/"}');
});

test('every single changed byte of the envelope is refused (XOR 1 at each position)', () => {
  const key = signingKeyFrom('release/provenance/key', PEM, new Redactor());
  const att = signAttestation(input(), key, 'app-1.0.0.tgz.intoto.jsonl');
  expect(checkAttestation(att.envelope, pair.publicKey, sha256(FILE), { project: 'app' }).ok).toBe(true);
  const accepted: number[] = [];
  for (let i = 0; i < att.envelope.length; i += 1) {
    const changed = Buffer.from(att.envelope);
    changed[i] = (changed[i] as number) ^ 1;
    if (checkAttestation(changed, pair.publicKey, sha256(FILE), { project: 'app' }).ok) accepted.push(i);
  }
  expect(accepted.map((i) => att.envelope.subarray(i - 10, i + 10).toString())).toEqual([]);
});

test('a key that is not a PEM private key, or not Ed25519, is refused with what to do, and never quoted', () => {
  const redactor = new Redactor();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  expect(() => signingKeyFrom('release/k', 'not a key at all, just text', redactor)).toThrow(
    /not a PEM private key: store a PKCS#8 PEM Ed25519 private key/,
  );
  expect(() => signingKeyFrom('release/k', rsa, redactor)).toThrow(/is a rsa key, not Ed25519/);
  expect(() => signingKeyFrom('release/k', '', redactor)).toThrow(/is empty in Conjur/);
  // Registered for redaction the moment it is read, in its DER forms too.
  const key = signingKeyFrom('release/k', PEM, redactor);
  const der = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
  expect(redactor.redact(`a ${der.toString('hex')} b ${der.toString('base64')} c ${PEM}`)).not.toMatch(
    new RegExp(`${der.toString('hex').slice(0, 20)}|${PEM.split('\n')[1]?.slice(0, 20)}`),
  );
  expect(key.keyId).toMatch(/^[0-9a-f]{64}$/);
});
