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
  if (path.posix.isAbsolute(p)) throw bad("is absolute: paths are relative to the version's staging directory");
  const segments = p.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === ''))
    throw bad('escapes or wanders in the staging directory ("..", "." or an empty segment)');
  return segments.join('/');
}
