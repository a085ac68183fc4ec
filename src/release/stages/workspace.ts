import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunStage } from './context.js';

/** Workspace: the release's private directory (removed by the cleanup), with the artifact's and the destinations' folders. */
export const workspace: RunStage = {
  name: 'workspace',
  run: async (r) => {
    const runDir = await mkdtemp(path.join(tmpdir(), `release-bot-${r.release.id}-`));
    r.runDir = runDir;
    r.dir = path.join(runDir, 'artifact');
    r.tmpRoot = path.join(runDir, 'tmp');
    await mkdir(r.dir, { mode: 0o700 });
    await mkdir(r.tmpRoot, { mode: 0o700 });
  },
};
