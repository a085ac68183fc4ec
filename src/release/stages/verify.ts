import { ErrorCode, ReleaseBotError } from '../../errors.js';
import type { ArtifactFile } from '../../publishing/types.js';
import { need, setState } from '../services.js';
import type { RunStage } from './context.js';

/**
 * Verify: the staged build, byte for byte. Files are copied out of the quarantine (never the staging
 * directory: the build side may have changed it since) and re-hashed; an image is asked for by digest.
 */
export const verify: RunStage = {
  name: 'verify',
  run: async (r) => {
    const { s, staged } = r;
    setState(s, r.release.id, 'verifying');
    if (staged.artifact.kind === 'files') {
      try {
        r.measured = { kind: 'files', files: await s.quarantine.copyOut(staged.artifact.files, need(r.dir)) };
      } catch (thrown) {
        const found = thrown instanceof ReleaseBotError ? (thrown.details.measured as ArtifactFile[] | undefined) : undefined;
        if (found) r.measured = { kind: 'files', files: found };
        throw thrown;
      }
      return;
    }
    // Is the digest still there: one registry HEAD answers that (the copy then checks every byte against it).
    if (!s.recheckImage) throw new ReleaseBotError(ErrorCode.Internal, 'no image re-check is configured');
    const now = await s.recheckImage(`${staged.artifact.ref}@${staged.artifact.digest}`, staged.artifact.tlsVerify);
    r.measured = { ...staged.artifact, digest: now };
    if (now !== staged.artifact.digest)
      throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `the staged image now has digest ${now}, staged ${staged.artifact.digest}`);
  },
};
