import { ErrorCode, ReleaseBotError } from '../../errors.js';
import { assertNotYanked } from '../../store/yanks.js';
import { need } from '../services.js';
import type { GateStage } from './context.js';
import { assertExpectedStaged } from './expected-staged.js';

/**
 * Lock: the release record is created under one write lock (at most one live release of a version).
 * The staged build is read again under that lock: a re-stage (from another process) during the
 * Conjur call must not be released as the build checked before it.
 */
export const lock: GateStage = {
  name: 'lock',
  deniedWithBuild: false,
  run: (r) => {
    const { s, version, requester, options } = r;
    const project = need(r.project);
    const authorized = need(r.staged);
    r.release = s.db
      .transaction(() => {
        const now = s.staged.current(project.name, version);
        if (now?.id !== authorized.id || now.fingerprint !== authorized.fingerprint) {
          throw new ReleaseBotError(
            ErrorCode.Conflict,
            `${project.name} ${version} was re-staged while this release was being authorized: ask again to release the build staged now`,
            { details: { reason: 'restaged', stagedBuildId: now?.id } },
          );
        }
        assertExpectedStaged(now, options.expectedStaged);
        // A yanked version (or one being yanked) is never released again: its users were told to move off it.
        assertNotYanked(s.db, project.name, version);
        // A dry run takes no lock but runs every check a release does: "already released" is one.
        if (options.dryRun) s.releases.assertUnlocked(project.name, version);
        const record = {
          project: project.name,
          version,
          stagedBuildId: authorized.id,
          requesterLogin: requester.login,
          requesterChat: requester.chatUserId ?? null,
          via: requester.via,
          dryRun: Boolean(options.dryRun),
          resumeOf: r.previous?.id ?? null,
          approvers: r.approvers,
          policySha256: r.policy.policySha256,
        };
        return s.releases.create(record, r.releaseId);
      })
      .immediate();
  },
};
