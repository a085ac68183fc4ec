import { createPublicKey, type KeyObject } from 'node:crypto';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { IN_TOTO_PAYLOAD_TYPE, keyIdOf, verifyEnvelope } from './dsse.js';
import { parseEnvelopeLine } from './envelope-file.js';
import { SLSA_PROVENANCE_V1, STATEMENT_TYPE } from './statement.js';

export interface Expectations {
  project?: string | undefined;
  version?: string | undefined;
  /** The Jenkins job: its URL (the builder id) or its name. */
  builderJob?: string | undefined;
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

export interface AttestationReport {
  ok: boolean;
  checks: Check[];
  /** What the statement says, when its signature verified: shown, never trusted before that. */
  facts?: string[] | undefined;
}

/** A PEM public key (as `provenance public-key` prints it); Ed25519 only. */
export function readPublicKey(pem: string | Buffer, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${source} is not a PEM public key: give the file \`release-bot provenance public-key\` printed`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${source} is a ${key.asymmetricKeyType ?? 'unknown'} key: release-bot signs with Ed25519`,
    );
  return key;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const trimSlash = (s: string) => s.replace(/\/+$/, '');

/** The statement's types, and the subject the digest must be one of. */
function statementChecks(statement: Json, payloadType: string | undefined, subjectSha256: string): Check[] {
  const typeOk =
    payloadType === IN_TOTO_PAYLOAD_TYPE && statement._type === STATEMENT_TYPE && statement.predicateType === SLSA_PROVENANCE_V1;
  const subjects = (Array.isArray(statement.subject) ? statement.subject : []).map(obj);
  const match = subjects.find((s) => obj(s.digest).sha256 === subjectSha256);
  return [
    {
      what: 'statement',
      ok: typeOk,
      detail: typeOk
        ? 'in-toto Statement v1, SLSA Provenance v1'
        : `payloadType ${String(payloadType)}, _type ${String(statement._type)}, predicateType ${String(statement.predicateType)}`,
    },
    {
      what: 'subject',
      ok: match !== undefined,
      detail: match
        ? `${String(match.name)} sha256:${subjectSha256}`
        : `sha256:${subjectSha256} is not a subject of this attestation (it names ${subjects.map((s) => `${String(s.name)} sha256:${String(obj(s.digest).sha256)}`).join(', ') || 'nothing'})`,
    },
  ];
}

/** The project, version and builder job the caller expects, each checked only when given. */
function expectationChecks(predicate: Json, expect: Expectations): Check[] {
  const definition = obj(predicate.buildDefinition);
  const external = obj(definition.externalParameters);
  const jenkins = obj(obj(definition.internalParameters).jenkins);
  const builder = str(obj(obj(predicate.runDetails).builder).id);
  const checks: Check[] = [];
  for (const [what, want, have] of [
    ['project', expect.project, external.project],
    ['version', expect.version, external.version],
  ] as const) {
    if (want !== undefined) checks.push({ what, ok: have === want, detail: `${String(have)}${have === want ? '' : `, expected ${want}`}` });
  }
  if (expect.builderJob !== undefined) {
    const want = expect.builderJob;
    const ok = (builder !== undefined && trimSlash(builder) === trimSlash(want)) || jenkins.job === want;
    checks.push({ what: 'builder', ok, detail: `${String(builder)} (job ${String(jenkins.job)})${ok ? '' : `, expected ${want}`}` });
  }
  return checks;
}

/** What the signed predicate says of the release, the build, the time, the policy and the audit entry. */
function predicateFacts(predicate: Json): string[] {
  const definition = obj(predicate.buildDefinition);
  const external = obj(definition.externalParameters);
  const internal = obj(definition.internalParameters);
  const run = obj(predicate.runDetails);
  const builder = str(obj(run.builder).id);
  const meta = obj(run.metadata);
  const audit = obj((Array.isArray(run.byproducts) ? run.byproducts : []).map(obj).find((b) => obj(b.annotations).kind === 'audit-entry'));
  const deps = (Array.isArray(definition.resolvedDependencies) ? definition.resolvedDependencies : []).map(obj);
  const commit = str(obj(deps[0]?.digest).gitCommit);
  const approvers = Array.isArray(internal.approvers) ? internal.approvers.map(String) : [];
  return [
    `release:     ${String(external.project)} ${String(external.version)}, ${String(internal.releaseId)}, requested by ${String(internal.requester)}${approvers.length ? `, approved by ${approvers.join(', ')}` : ''}`,
    `build:       ${String(builder)} ${String(meta.invocationId)}${commit ? ` commit ${commit}` : ''}`,
    `time:        ${String(meta.startedOn)} – ${String(meta.finishedOn)}`,
    `policy:      sha256:${String(internal.policySha256)}; Conjur identity ${String(internal.conjurIdentity)}`,
    `audit entry: seq ${String(obj(audit.annotations).seq)}, chain hash ${String(obj(audit.digest).sha256)}`,
  ];
}

/**
 * Checks one `.intoto.jsonl` content against a subject digest (sha256 hex of the file, or of the
 * image manifest) and the caller's expectations. Everything but the signature is read only from the
 * signed payload, never from the JSON around it: an attacker can edit the envelope freely.
 */
export function checkAttestation(
  envelopeBytes: Buffer,
  publicKey: KeyObject,
  subjectSha256: string,
  expect: Expectations,
): AttestationReport {
  const checks: Check[] = [];
  const envelope = parseEnvelopeLine(envelopeBytes);
  const signed =
    envelope === undefined ? { ok: false as const, reason: 'the attestation is not a JSON line' } : verifyEnvelope(envelope, publicKey);
  if (!signed.ok) {
    checks.push({ what: 'signature', ok: false, detail: signed.reason });
    return { ok: false, checks };
  }
  checks.push({ what: 'signature', ok: true, detail: `Ed25519, key id ${keyIdOf(publicKey)}` });
  const payloadType = str(obj(envelope).payloadType);
  let statement: Json;
  try {
    statement = obj(JSON.parse(signed.payload.toString('utf8')));
  } catch {
    checks.push({ what: 'statement', ok: false, detail: 'the signed payload is not JSON' });
    return { ok: false, checks };
  }
  const predicate = obj(statement.predicate);
  checks.push(...statementChecks(statement, payloadType, subjectSha256), ...expectationChecks(predicate, expect));
  return { ok: checks.every((c) => c.ok), checks, facts: predicateFacts(predicate) };
}

/** The one-screen report `provenance verify` prints. */
export function reportText(target: string, attestationSource: string, r: AttestationReport): string {
  const lines = [`${r.ok ? 'VERIFIED' : 'NOT VERIFIED'}: ${target}`, `attestation: ${attestationSource}`];
  for (const c of r.checks) lines.push(`  [${c.ok ? ' ok ' : 'FAIL'}] ${c.what.padEnd(9)} ${c.detail}`);
  for (const f of r.facts ?? []) lines.push(`  ${f}`);
  return `${lines.join('\n')}\n`;
}
