import { rename, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { childPath, openDirPath, openRootDir } from './dirfd.js';

/**
 * The release label is the one thing the bot writes into the staging directory, which the build
 * side controls: the version directory is reached component by component through directory
 * descriptors (dirfd.ts), so a project or version directory swapped for a symlink cannot redirect
 * the write elsewhere; it fails instead, as any failure to write the label does.
 */
async function inVersionDir<T>(stagingDir: string, project: string, version: string, body: (dir: FileHandle) => Promise<T>): Promise<T> {
  const root = await openRootDir(stagingDir);
  try {
    const dir = await openDirPath(root, [project, version]);
    try {
      return await body(dir);
    } finally {
      await dir.close();
    }
  } finally {
    await root.close();
  }
}

/** Writes `name` anew (O_EXCL, 0444) in the version's staging directory, replacing a leftover of an earlier run. */
export function writeStagingFile(stagingDir: string, project: string, version: string, name: string, text: string): Promise<void> {
  return inVersionDir(stagingDir, project, version, async (dir) => {
    await rm(childPath(dir, name), { force: true });
    await writeFile(childPath(dir, name), text, { mode: 0o444, flag: 'wx' });
  });
}

export function renameStagingFile(stagingDir: string, project: string, version: string, from: string, to: string): Promise<void> {
  return inVersionDir(stagingDir, project, version, (dir) => rename(childPath(dir, from), childPath(dir, to)));
}

export function removeStagingFile(stagingDir: string, project: string, version: string, name: string): Promise<void> {
  return inVersionDir(stagingDir, project, version, (dir) => rm(childPath(dir, name), { force: true }));
}

/** The errno behind a failed write (ELOOP for a symlink on the way), for the refusal's message. */
export function errnoOf(err: unknown): string {
  const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
  return cause?.code ?? (err as NodeJS.ErrnoException).code ?? 'error';
}
