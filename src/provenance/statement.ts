import { canonicalJson } from '../audit/canonical.js';
import type { BuildInfo } from '../publishing/types.js';

/**
 * The in-toto Statement v1 (github.com/in-toto/attestation, spec/v1/statement.md: `_type`, `subject`
 * of ResourceDescriptors with name and digest, `predicateType`, `predicate`) carrying a SLSA
 * Provenance v1 predicate (github.com/slsa-framework/slsa, docs/provenance/v1/index.md:
 * `buildDefinition` {buildType, externalParameters, internalParameters, resolvedDependencies} and
 * `runDetails` {builder {id}, metadata {invocationId, startedOn, finishedOn}, byproducts}).
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/**
 * The buildType: names the template of "a release by release-bot" (what externalParameters and
 * internalParameters mean), versioned, as the SLSA spec asks of a buildType URI.
 */
export const RELEASE_BUILD_TYPE = 'https://github.com/cyberark/release-bot/provenance/release/v1';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface StatementInput {
  subjects: Subject[];
  project: string;
  version: string;
  releaseId: string;
  /** The Conjur login of the person who asked. */
  requester: string;
  approvers: readonly string[];
  /** sha256 (hex) of the projects file the release ran under. */
  policySha256: string;
  /** The bot's own Conjur identity (CONJUR_AUTHN_LOGIN). */
  conjurIdentity: string;
  /** The Conjur variable ids the release read, never their values. */
  conjurVariables: readonly string[];
  build: BuildInfo;
  /** The audit entry written when the release was authorized, before anything was pushed. */
  audit: { seq: number; id: string; hash: string };
  startedOn: Date;
  finishedOn: Date;
}

/** The builder: the Jenkins job's URL (the build URL without its number), else a URN of the job's name. */
export function builderId(build: BuildInfo): string {
  if (build.url) {
    const url = build.url.replace(/\/+$/, '');
    const job = build.number !== undefined && url.endsWith(`/${build.number}`) ? url.slice(0, -String(build.number).length - 1) : url;
    return `${job}/`;
  }
  return `urn:release-bot:jenkins-job:${encodeURIComponent(build.job ?? 'unknown')}`;
}

/** Second precision, as the spec's Timestamp (<YYYY>-<MM>-<DD>T<hh>:<mm>:<ss>Z) reads. */
const timestamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function buildStatement(s: StatementInput): Record<string, unknown> {
  const invocation = s.build.url ?? (s.build.number !== undefined ? `${builderId(s.build)}#${s.build.number}` : s.releaseId);
  return {
    _type: STATEMENT_TYPE,
    subject: s.subjects.map((x) => ({ name: x.name, digest: { sha256: x.digest.sha256 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: RELEASE_BUILD_TYPE,
        externalParameters: { project: s.project, version: s.version },
        internalParameters: {
          releaseId: s.releaseId,
          requester: s.requester,
          approvers: [...s.approvers],
          policySha256: s.policySha256,
          conjurIdentity: s.conjurIdentity,
          conjurVariables: [...new Set(s.conjurVariables)].sort(),
          jenkins: { job: s.build.job, buildNumber: s.build.number, buildUrl: s.build.url },
        },
        resolvedDependencies: s.build.commit ? [{ name: 'source', digest: { gitCommit: s.build.commit } }] : [],
      },
      runDetails: {
        builder: { id: builderId(s.build) },
        metadata: { invocationId: invocation, startedOn: timestamp(s.startedOn), finishedOn: timestamp(s.finishedOn) },
        // The audit entry of the authorization: its chain hash ties this statement to the bot's log.
        byproducts: [
          {
            name: `audit/${s.audit.id}`,
            uri: `release-bot:audit:${s.audit.seq}`,
            digest: { sha256: s.audit.hash },
            annotations: { kind: 'audit-entry', seq: s.audit.seq },
          },
        ],
      },
    },
  };
}

/** The statement's bytes: canonical JSON (keys sorted at every level), so one statement has one encoding. */
export function statementBytes(statement: Record<string, unknown>): Buffer {
  return Buffer.from(canonicalJson(statement), 'utf8');
}
