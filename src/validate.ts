import { ErrorCode, ReleaseBotError } from './errors.js';

/** Project names: lower-case, no separators that could mean a path or a shell word. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
/**
 * Versions are semver-like (`4.2.0`, `4.2.0-rc.1`, `4.2.0+build.7`). The pattern admits no `/`,
 * no whitespace and no shell metacharacter; `..` is refused separately because it is a path step.
 */
export const VERSION = /^v?[0-9]+(\.[0-9A-Za-z]+){0,3}([-+][0-9A-Za-z][0-9A-Za-z.+-]{0,63})?$/;

export function assertProjectName(name: string): string {
  if (!PROJECT_NAME.test(name) || name.includes('..')) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `invalid project name ${JSON.stringify(clip(name))}: use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit`,
    );
  }
  return name;
}

export function assertVersion(version: string): string {
  if (!VERSION.test(version) || version.includes('..')) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `invalid version ${JSON.stringify(clip(version))}: use a semver-like version such as 4.2.0 or 4.2.0-rc.1`,
    );
  }
  return version;
}

/** Keeps hostile input from flooding an error message. */
export function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
