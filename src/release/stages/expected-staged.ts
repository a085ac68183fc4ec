import { ErrorCode, ReleaseBotError } from '../../errors.js';
import type { StagedBuild } from '../../store/staged-builds.js';
import type { ExpectedStaged } from '../types.js';

/**
 * The staged-build binding, one rule for every way in: refuses when the caller (an approval, the
 * Release button under a readiness note) was bound to another staged build than the one staged now.
 */
export function assertExpectedStaged(staged: StagedBuild, expected: ExpectedStaged | undefined): void {
  if (expected === undefined) return;
  if (expected.id === undefined && expected.fingerprint === undefined) {
    throw new ReleaseBotError(ErrorCode.BadInput, 'expectedStaged names no build: give its id and/or fingerprint');
  }
  if (
    (expected.id !== undefined && expected.id !== staged.id) ||
    (expected.fingerprint !== undefined && expected.fingerprint !== staged.fingerprint)
  ) {
    throw new ReleaseBotError(
      ErrorCode.Conflict,
      `${staged.project} ${staged.version} was re-staged (build ${staged.build.number ?? '?'}) after this release was requested or approved: ask for the release of the build staged now`,
      {
        details: { reason: 'restaged', expected, stagedBuildId: staged.id },
      },
    );
  }
}
