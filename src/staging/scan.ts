import { lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../errors.js';

/** The bot's own file beside a released version's files; never part of the artifact. */
export function labelFileName(project: string, version: string): string {
  return `${project}-${version}.release.json`;
}

/**
 * The label while its release runs: written before any destination, renamed to labelFileName when all
 * succeeded. Dry runs (which hold no lock and may run beside the real release) write their own.
 */
export function pendingLabelFileName(project: string, version: string, dryRun = false): string {
  return `${labelFileName(project, version)}.${dryRun ? 'dry-run' : 'pending'}`;
}

/** The bot's own files in a version's staging directory, which the staging checks skip. */
export function botFileNames(project: string, version: string): ReadonlySet<string> {
  return new Set([labelFileName(project, version), pendingLabelFileName(project, version), pendingLabelFileName(project, version, true)]);
}

/**
 * A staged file path as reported by a build: relative, `/`-separated, no `..`, no absolute path,
 * no hidden tricks (backslashes, NUL, empty segments). Returns the normalised form.
 */
export function assertSafeRelativePath(p: string): string {
  const bad = (why: string) => new ReleaseBotError(ErrorCode.BadInput, `artifact path ${JSON.stringify(p.slice(0, 120))} ${why}`);
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024) throw bad('must be a non-empty relative path');
  if (p.includes('\0') || p.includes('\\')) throw bad('contains a NUL or a backslash');
  if (path.posix.isAbsolute(p)) throw bad('is absolute: paths are relative to the version\'s staging directory');
  const segments = p.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === '')) throw bad('escapes or wanders in the staging directory ("..", "." or an empty segment)');
  return segments.join('/');
}

/**
 * Every regular file under `root`, as sorted relative paths. A symlink, a device or anything that is
 * not a plain file or directory is refused: the artifact is exactly the plain files Jenkins copied.
 */
export async function listStagedFiles(root: string, ignore: ReadonlySet<string> = new Set()): Promise<string[]> {
  let rootStat;
  try {
    rootStat = await lstat(root);
  } catch {
    throw new ReleaseBotError(ErrorCode.NotStaged, `nothing is staged at ${root}`);
  }
  if (!rootStat.isDirectory()) throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `${root} is not a directory`);
  // The staging root itself must not be reached through a symlink that leads elsewhere.
  if ((await realpath(root)) !== path.resolve(root)) {
    throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `${root} is reached through a symlink: refusing to read a staging directory outside its place`);
  }
  const out: string[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), relPath);
      else if (entry.isFile()) {
        if (!ignore.has(relPath)) out.push(relPath);
      } else {
        throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `${relPath} in the staging directory is a ${entry.isSymbolicLink() ? 'symlink' : 'special file'}: only plain files can be staged`);
      }
    }
  }
  await walk(root, '');
  return out.sort();
}
