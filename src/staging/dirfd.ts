import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ErrorCode, ReleaseBotError } from '../errors.js';

/**
 * Path resolution that never follows a symlink at any component, for trees the build side controls.
 *
 * Decision: each component is opened relative to the already-open descriptor of its parent, through
 * `/proc/self/fd/<dirfd>/<name>` with O_NOFOLLOW (O_DIRECTORY for directories), and every opened
 * descriptor is fstat'ed before use. `/proc/self/fd/<n>` is a magic link to the open directory itself,
 * not to a path that is looked up again, and `<name>` is a single component (never a `/`), so the
 * kernel follows no symlink the build side planted, wherever in the tree it is swapped in. An lstat
 * followed by an open by path (what the staging checks did before) protects only the last component.
 * Node has no openat(2); this is openat through procfs (Linux only, as the product is).
 */

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_NONBLOCK: a FIFO swapped in for a file must not hang the open; fstat then refuses it. */
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The path of `name` inside the directory open as `dir`. */
export function childPath(dir: FileHandle, name: string): string {
  if (name.length === 0 || name.includes('/') || name === '.' || name === '..')
    throw new ReleaseBotError(ErrorCode.BadInput, `not a single path component: ${JSON.stringify(name.slice(0, 120))}`);
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** Why an open refused, in words for a person: ELOOP is a symlink, ENOTDIR a file where a directory should be. */
function refusal(rel: string, err: NodeJS.ErrnoException, wanted: 'directory' | 'file'): ReleaseBotError {
  if (err.code === 'ENOENT') return new ReleaseBotError(ErrorCode.NotStaged, `${rel} does not exist`, { cause: err });
  const what =
    err.code === 'ELOOP' ? 'a symlink' : err.code === 'ENOTDIR' ? 'a symlink or not a directory' : `unreadable (${err.code ?? 'error'})`;
  return new ReleaseBotError(
    ErrorCode.ArtifactMismatch,
    `${rel} is ${what}: only plain ${wanted === 'directory' ? 'directories' : 'files'} are read, never through a symlink`,
    { cause: err },
  );
}

/** Opens an absolute directory the operator configured (the staging root, the bot's own store). */
export async function openRootDir(dir: string): Promise<FileHandle> {
  try {
    return await open(dir, DIR_FLAGS);
  } catch (err) {
    throw refusal(dir, err as NodeJS.ErrnoException, 'directory');
  }
}

/**
 * Opens `name` of `parent` and fstats it; when it is not what `refusal` wants (it returns why, or
 * undefined), closes it and refuses. A failed open is refused in words for a person (see refusal).
 */
async function openChild(
  parent: FileHandle,
  name: string,
  rel: string,
  notWanted: (st: Stats) => string | undefined,
): Promise<{ handle: FileHandle; st: Stats }> {
  let handle: FileHandle;
  try {
    handle = await open(childPath(parent, name), FILE_FLAGS);
  } catch (err) {
    throw refusal(rel, err as NodeJS.ErrnoException, 'file');
  }
  const st = await handle.stat();
  const why = notWanted(st);
  if (why !== undefined) {
    await handle.close();
    throw new ReleaseBotError(ErrorCode.ArtifactMismatch, why);
  }
  return { handle, st };
}

/**
 * Opens the sub-directory `name` of `parent`; a symlink or anything but a directory is refused. No
 * fstat: the kernel refuses both at the open (O_NOFOLLOW: ELOOP for a symlink as the last component;
 * O_DIRECTORY: ENOTDIR for anything but a directory), so a descriptor this returns is a directory.
 */
export async function openChildDir(parent: FileHandle, name: string, rel = name): Promise<FileHandle> {
  try {
    return await open(childPath(parent, name), DIR_FLAGS);
  } catch (err) {
    throw refusal(rel, err as NodeJS.ErrnoException, 'directory');
  }
}

/** An open regular file with its size and allocated 512-byte blocks, as fstat'ed at open. */
export interface OpenedFile {
  handle: FileHandle;
  size: number;
  blocks: number;
}

/** Opens the regular file `name` of `parent` for reading; a symlink, FIFO, socket or device is refused. */
export async function openChildFile(parent: FileHandle, name: string, rel = name): Promise<OpenedFile> {
  const { handle, st } = await openChild(parent, name, rel, (st) =>
    st.isFile() ? undefined : `${rel} is ${st.isDirectory() ? 'a directory' : 'a special file'}: only plain files can be staged`,
  );
  return { handle, size: st.size, blocks: st.blocks };
}

/**
 * Opens the directory at `segments` below `root`, one component at a time, each through the
 * descriptor of its parent. The caller closes the result; intermediate descriptors are closed here.
 */
export async function openDirPath(root: FileHandle, segments: readonly string[]): Promise<FileHandle> {
  let current = root;
  const done: string[] = [];
  try {
    for (const name of segments) {
      done.push(name);
      const next = await openChildDir(current, name, done.join('/'));
      if (current !== root) await current.close();
      current = next;
    }
  } catch (err) {
    if (current !== root) await current.close();
    throw err;
  }
  return current;
}

/** Opens the regular file at the relative path `rel` (`a/b/c`) below `root`, never through a symlink. */
export async function openFilePath(root: FileHandle, rel: string): Promise<OpenedFile> {
  const segments = rel.split('/');
  const name = segments.pop() as string;
  const dir = await openDirPath(root, segments);
  try {
    return await openChildFile(dir, name, rel);
  } finally {
    if (dir !== root) await dir.close();
  }
}
