import { ErrorCode, ReleaseBotError } from '../../errors.js';
import { freezeOf } from '../../store/freeze-lookup.js';
import { assertVersion, clip } from '../../validate.js';
import { CONJUR_LOGIN, projectOf } from '../services.js';
import { assertExpectedStaged } from './expected-staged.js';
import type { GateStage, ReleaseRequest } from './context.js';

/**
 * Admit: the request names a known project, a valid version and login; the bot is not shutting down,
 * the project is not frozen, and the build staged now is there (and is the one the caller was bound to).
 */
export const admit: GateStage = {
  name: 'admit',
  deniedWithBuild: true,
  run: (r: ReleaseRequest) => {
    // Draining (SIGTERM): the releases already running finish; nothing new starts.
    if (r.s.work.draining)
      throw new ReleaseBotError(
        ErrorCode.InProgress,
        'release-bot is shutting down and finishing the releases it runs: ask again in a minute',
      );
    const project = projectOf(r.projectName, r.policy);
    r.project = project;
    assertVersion(r.version);
    if (!CONJUR_LOGIN.test(r.requester.login))
      throw new ReleaseBotError(ErrorCode.IdentityUnresolved, `invalid Conjur login ${JSON.stringify(clip(r.requester.login))}`);
    const freeze = freezeOf(r.s.db, project.name);
    if (freeze) {
      throw new ReleaseBotError(
        ErrorCode.Frozen,
        `${project.name} is frozen by ${freeze.lockedBy} since ${freeze.lockedAt}: ${freeze.reason}`,
        {
          details: { by: freeze.lockedBy, at: freeze.lockedAt, reason: freeze.reason },
        },
      );
    }
    r.staged = r.s.staged.current(project.name, r.version);
    if (!r.staged)
      throw new ReleaseBotError(
        ErrorCode.NotStaged,
        `${project.name} ${r.version} is not staged: Jenkins has not reported this build (see \`release-bot stage\`)`,
      );
    assertExpectedStaged(r.staged, r.options.expectedStaged);
  },
};
