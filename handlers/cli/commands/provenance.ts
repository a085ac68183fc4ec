import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fetchImageAttestations } from '../../../publishers/docker-attestation.js';
import { ErrorCode, ReleaseBotError } from '../../../src/errors.js';
import { createApp } from '../../../app/create.js';
import { publicKeyPem, signingKeyFrom } from '../../../src/provenance/signing-key.js';
import { sha256File } from '../../../src/staging/hash.js';
import { checkAttestation, readPublicKey, reportText, type AttestationReport, type Expectations } from '../../../src/provenance/verify.js';
import { action, cliLogs } from '../run.js';

/** `provenance verify` exits with this when the attestation does not hold (EX_DATAERR, as `audit verify`). */
export const NOT_VERIFIED_EXIT = 65;

const IMAGE_REF = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+(?:[:@].+)?$/;

function readInput(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ReleaseBotError(ErrorCode.NotFound, `cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

type VerifyOptions = {
  publicKey: string;
  attestation?: string;
  project?: string;
  version?: string;
  builderJob?: string;
  tlsVerify: boolean;
};

async function printPublicKey(o: { project?: string }): Promise<void> {
  const app = createApp(cliLogs);
  try {
    const variable = o.project !== undefined ? app.core.project(o.project).provenance?.signing_key : app.config.provenance?.signing_key;
    if (!variable)
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `${o.project ?? 'the projects file'} names no provenance.signing_key: set it to the Conjur variable that holds the Ed25519 key`,
      );
    const secrets = await app.conjur.getSecrets([variable]);
    const key = signingKeyFrom(variable, secrets.get(variable), app.redactor);
    process.stdout.write(
      `${publicKeyPem(key.publicKey)}# key id ${key.keyId} (sha256 of the DER SubjectPublicKeyInfo), from Conjur variable ${variable}\n`,
    );
  } finally {
    app.close();
  }
}

async function verifyTarget(target: string, o: VerifyOptions): Promise<number> {
  const key = readPublicKey(readInput(o.publicKey, 'the public key'), o.publicKey);
  const expect: Expectations = { project: o.project, version: o.version, builderJob: o.builderJob };
  let report: AttestationReport;
  let source: string;
  if (!existsSync(target) && IMAGE_REF.test(target)) {
    const found = await fetchImageAttestations(target, { tlsVerify: o.tlsVerify });
    const hex = found.subjectDigest.replace(/^sha256:/, '');
    const attestations = o.attestation !== undefined ? [readInput(o.attestation, 'the attestation')] : found.envelopes;
    if (attestations.length === 0)
      throw new ReleaseBotError(
        ErrorCode.NotFound,
        `${target} (${found.subjectDigest}) has no attestation in its registry (tag sha256-${hex}.att)`,
      );
    // The first that holds wins; else the report of the first, which says why.
    const reports = attestations.map((a) => checkAttestation(a, key, hex, expect));
    report = reports.find((r) => r.ok) ?? (reports[0] as AttestationReport);
    source = o.attestation ?? `${attestations.length} envelope(s) under sha256-${hex}.att`;
  } else {
    const digest = await sha256File(target).catch((err: unknown) => {
      throw new ReleaseBotError(ErrorCode.NotFound, `cannot read the file ${target} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    });
    source = o.attestation ?? `${target}.intoto.jsonl`;
    report = checkAttestation(readInput(source, 'the attestation'), key, digest, expect);
  }
  process.stdout.write(reportText(target, source, report));
  return report.ok ? 0 : NOT_VERIFIED_EXIT;
}

export function registerProvenance(program: Command): void {
  const provenance = program.command('provenance').description('signed release provenance (in-toto / SLSA attestations in DSSE envelopes)');

  provenance
    .command('public-key')
    .description('print the public key that verifies the attestations, and its key id (reads the private key from Conjur)')
    .option('--project <project>', "the project's own key, when it overrides the file's provenance.signing_key")
    .action(action(printPublicKey));

  provenance
    .command('verify')
    .description('check a released file or image against its attestation, offline: the signature, the subject digest, the expectations')
    .argument('<target>', 'a released file, or an image reference (registry/repository:tag or @sha256:...)')
    .requiredOption('--public-key <file>', 'the PEM public key, as `release-bot provenance public-key` prints it')
    .option('--attestation <file>', 'the .intoto.jsonl file (default: <file>.intoto.jsonl; images: read from the registry)')
    .option('--project <project>', 'the project the release must be of')
    .option('--version <version>', 'the version it must be')
    .option('--builder-job <job>', 'the Jenkins job (its URL or its name) it must come from')
    .option('--no-tls-verify', 'images: talk to a registry without TLS verification')
    .action(action(verifyTarget));
}
