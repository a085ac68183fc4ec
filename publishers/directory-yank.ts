import { link, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { YankContext, YankResult } from '../src/publishing/types.js';
import { childPath, openChildFile, openDirPath, openRootDir } from '../src/staging/dirfd.js';
import { sha256Handle } from '../src/staging/hash.js';
import { labelFileName } from '../src/staging/scan.js';
import { clip } from '../src/validate.js';
import { yankByMoving } from './common/yank-by-moving.js';

/** The folder, inside the version's directory, that yanked files move into. */
export const YANKED_DIR = 'yanked';

/** What a `<file>.yank.json` beside a yanked file says. */
export function yankNote(ctx: YankContext, file: { path: string; sha256?: string | undefined }): string {
  return `${JSON.stringify({ project: ctx.project, version: ctx.version, file: file.path, sha256: file.sha256, yanked: true, reason: ctx.reason, yankId: ctx.yankId, yankedAt: new Date().toISOString() }, null, 2)}\n`;
}

/** The files a yank moves: the artifact's files and the release label, by their path relative to the version's directory. */
export function yankedFiles(ctx: YankContext): Array<{ path: string; sha256?: string | undefined }> {
  if (ctx.published.artifact.kind !== 'files')
    throw new ReleaseBotError(ErrorCode.BadInput, 'this destination yanks files, and this version published an image');
  return [
    ...ctx.published.artifact.files.map((f) => ({ path: f.path, sha256: f.sha256 })),
    { path: labelFileName(ctx.project, ctx.version) },
  ];
}

type Where = 'there' | 'yanked' | 'both' | 'gone';

/**
 * Moves the version's files (and its release label) into `yanked/` inside the directory they were
 * published to, each with a `<file>.yank.json` saying why, then reads the move back.
 *
 * Decision: every step goes through directory descriptors with O_NOFOLLOW (src/staging/dirfd.ts), and a
 * file is moved with link + unlink, never rename: a symlink planted in the published directory (for a
 * file, a sub-directory or `yanked/` itself) is refused instead of followed, and nothing already in
 * `yanked/` is ever replaced. A file found with another digest than the one published is left alone.
 */
export async function yankDirectory(ctx: YankContext, dest: string): Promise<YankResult> {
  const files = yankedFiles(ctx);
  const location = path.join(dest, YANKED_DIR);
  let root: FileHandle;
  try {
    root = await openRootDir(dest);
  } catch (err) {
    throw refusal(dest, err);
  }
  try {
    const state = await Promise.all(files.map(async (f) => ({ f, where: await whereIs(root, f) })));
    const gone = state.filter((s) => s.where === 'gone').map((s) => s.f.path);
    if (gone.length > 0) {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${dest} holds neither ${gone.map((g) => JSON.stringify(clip(g))).join(', ')} nor its copy in ${YANKED_DIR}/: someone removed it; check the directory by hand`,
      );
    }
    return await yankByMoving(ctx, {
      files,
      toMove: state.filter((s) => s.where === 'there' || s.where === 'both').map((s) => s.f),
      location,
      planned: (f) => `move ${path.join(dest, f.path)} to ${path.join(location, f.path)} with ${f.path}.yank.json`,
      move: async (toMove) => {
        for (const f of toMove) await moveOne(ctx, root, f);
      },
      // Every file only in yanked/, with the digest that was published.
      notOnlyYanked: async () => {
        const after = await Promise.all(files.map((f) => whereIs(root, f)));
        return files.filter((_, i) => after[i] !== 'yanked');
      },
    });
  } finally {
    await root.close();
  }
}

/** Where a file is: in the published directory, in yanked/, in both (a move cut short), or nowhere. */
async function whereIs(root: FileHandle, f: { path: string; sha256?: string | undefined }): Promise<Where> {
  const segments = f.path.split('/');
  const there = await presentWithDigest(root, segments, f);
  const yanked = await presentWithDigest(root, [YANKED_DIR, ...segments], f);
  return there && yanked ? 'both' : there ? 'there' : yanked ? 'yanked' : 'gone';
}

/** Whether the file at `segments` exists as a plain file with the published digest; a symlink or another digest refuses. */
async function presentWithDigest(root: FileHandle, segments: string[], f: { path: string; sha256?: string | undefined }): Promise<boolean> {
  const rel = segments.join('/');
  let dir: FileHandle;
  try {
    dir = await openDirPath(root, segments.slice(0, -1));
  } catch (err) {
    if (isMissing(err)) return false;
    throw refusal(rel, err);
  }
  try {
    const name = segments.at(-1) as string;
    let opened;
    try {
      opened = await openChildFile(dir, name, rel);
    } catch (err) {
      if (isMissing(err)) return false;
      throw refusal(rel, err);
    }
    try {
      if (f.sha256 === undefined) return true; // the release label: its content differs per attempt
      const { sha256 } = await sha256Handle(opened.handle);
      if (sha256 !== f.sha256) {
        throw new ReleaseBotError(
          ErrorCode.DestinationConflict,
          `${rel} has sha256 ${sha256.slice(0, 12)}…, not the published ${f.sha256.slice(0, 12)}…: it is not what this release put there, so it is left alone`,
        );
      }
      return true;
    } finally {
      await opened.handle.close();
    }
  } finally {
    if (dir !== root) await dir.close();
  }
}

async function moveOne(ctx: YankContext, root: FileHandle, f: { path: string; sha256?: string | undefined }): Promise<void> {
  const segments = f.path.split('/');
  const name = segments.pop() as string;
  const from = await openDirPath(root, segments);
  const to = await ensureDirs(root, [YANKED_DIR, ...segments]);
  try {
    try {
      // link never replaces an existing name and never follows a symlink at the source.
      await link(childPath(from, name), childPath(to, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A move cut short earlier: the copy in yanked/ was checked by whereIs.
    }
    await writeFile(childPath(to, `${name}.yank.json`), yankNote(ctx, f), { mode: 0o444, flag: 'wx' }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      },
    );
    await unlink(childPath(from, name));
  } finally {
    if (from !== root) await from.close();
    await to.close();
  }
}

/** Opens (creating when missing) the directory at `segments` below `root`, never through a symlink. */
function ensureDirs(root: FileHandle, segments: string[]): Promise<FileHandle> {
  return openDirPath(root, segments, { createMode: 0o755, refuse: refusal });
}

function isMissing(err: unknown): boolean {
  return err instanceof ReleaseBotError && err.code === ErrorCode.NotStaged;
}

/** dirfd's refusals speak of staging; here a symlink or a special file is a conflict in the published directory. */
function refusal(rel: string, err: unknown): ReleaseBotError {
  if (err instanceof ReleaseBotError && err.code === ErrorCode.DestinationConflict) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new ReleaseBotError(
    ErrorCode.DestinationConflict,
    `${rel}: ${clip(why, 200)}: the yank moves only plain files and directories, never through a symlink; nothing was moved past this point`,
    { cause: err },
  );
}
