import { registerSecret } from '../../conjur/secret-value.js';
import { releaseProvenance } from '../../provenance/release-provenance.js';
import { need } from '../services.js';
import type { RunStage } from './context.js';

/** Credentials: every credential of the release in one Conjur batch, each registered for redaction the moment it arrives. */
export const credentials: RunStage = {
  name: 'credentials',
  skip: (r) => r.credentialIds.length === 0 && 'no destination and no signing key names a credential',
  run: async (r) => {
    r.secrets = await r.s.conjur.getSecrets(r.credentialIds);
    for (const value of r.secrets.values()) registerSecret(r.s.redactor, value);
  },
};

/** Provenance: the signing key parsed from the batch; missing, unreadable or not Ed25519 fails here, before any destination runs. */
export const provenance: RunStage = {
  name: 'provenance',
  skip: (r) => !r.project.provenance && 'the project signs nothing',
  run: (r) => {
    const { s, project, release, staged } = r;
    const requested = need(r.requested);
    r.provenance = releaseProvenance({
      project,
      artifact: staged.artifact,
      secrets: r.secrets,
      redactor: s.redactor,
      publishers: s.publishers,
      now: s.now,
      facts: {
        project: project.name,
        version: release.version,
        releaseId: release.id,
        requester: r.requester.login,
        approvers: r.approvers,
        policySha256: release.policySha256 ?? '',
        conjurIdentity: s.policy().env.CONJUR_AUTHN_LOGIN,
        conjurVariables: r.credentialIds,
        build: staged.build,
        audit: { seq: requested.seq, id: requested.id, hash: requested.hash },
        startedOn: new Date(r.startedMs),
      },
    });
  },
};
