import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../../errors.js';
import { errnoOf, renameStagingFile, writeStagingFile } from '../../staging/label.js';
import { labelFileName, pendingLabelFileName } from '../../staging/scan.js';
import { need, versionDir } from '../services.js';
import type { RunStage } from './context.js';
import { releaseLabel } from './label-text.js';

/** Label: the release label beside the verified copy, handed to every destination; the copy becomes read-only. */
export const label: RunStage = {
  name: 'label',
  run: async (r) => {
    const dir = need(r.dir);
    r.labelFile = path.join(dir, labelFileName(r.project.name, r.release.version));
    r.labelText = `${JSON.stringify(releaseLabel(r, r.s.now()), null, 2)}\n`;
    await writeFile(r.labelFile, r.labelText, { mode: 0o444 });
    await chmod(dir, 0o555);
  },
};

/**
 * The label goes beside the staged files too. Decision: a label that cannot be written there fails
 * the release BEFORE any destination runs (a dry run reports it too). Writing it only afterwards let
 * a release report published while the staging directory never got its label, with only a warning in
 * the log to say so. So it is written first under a pending name (the staging checks ignore it), and
 * renamed into place once every destination succeeded; a failed or dry run removes it (the cleanup).
 */
export const stagingLabel: RunStage = {
  name: 'staging-label',
  skip: (r) => r.staged.artifact.kind !== 'files' && 'a docker project has no staging directory',
  run: async (r) => {
    const { s, project, release } = r;
    const pending = pendingLabelFileName(project.name, release.version, r.dryRun);
    try {
      await writeStagingFile(s.config.stagingDir, project.name, release.version, pending, need(r.labelText));
    } catch (err) {
      const dir = versionDir(s.policy().stagingDir, project.name, release.version);
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `cannot write the release label into the staging directory ${dir} (${errnoOf(err)}): release-bot writes it beside the staged files; give it write access there (ReadWritePaths in its unit). It writes only into a real directory, never through a symlink (ELOOP). Nothing was published`,
        { cause: err },
      );
    }
    r.pendingLabel = pending;
  },
};

/** Place label: the pending label renamed into place; the destinations have published, so a failure here is recorded, not thrown. */
export const placeLabel: RunStage = {
  name: 'place-label',
  skip: (r) =>
    (!r.pendingLabel && 'no pending label') ||
    (r.dryRun && 'a dry run leaves no label') ||
    (r.outcomes.some((o) => o.status === 'failed') && 'a destination failed'),
  run: async (r) => {
    const { s, project, release } = r;
    try {
      await renameStagingFile(
        s.config.stagingDir,
        project.name,
        release.version,
        need(r.pendingLabel),
        labelFileName(project.name, release.version),
      );
      r.labelWritten = true;
    } catch (err) {
      r.log.error(
        { err: (err as Error).message },
        'the release is published but its label could not be put in place in the staging directory',
      );
      r.labelWritten = false;
    }
    r.pendingLabel = undefined;
  },
};
