import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { openChildDir } from './dirfd.js';
import { Problems, reportedPathProblem, type StagingLimits } from './limits.js';
import { assertSafeRelativePath } from './scan.js';

export interface ReportedFile {
  path: string;
  sha256: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The report's digests by normalised path; a report over the limits is refused before the disk is read. */
export function expectedDigests(reported: readonly ReportedFile[], limits: StagingLimits): Map<string, string> {
  if (reported.length === 0) throw new ReleaseBotError(ErrorCode.BadInput, 'the report lists no artifacts');
  if (reported.length > limits.maxFiles) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the report lists ${reported.length} artifacts, more than staging.max_files (${limits.maxFiles})`,
      { details: { reported: reported.length, limit: limits.maxFiles } },
    );
  }
  const problems = new Problems();
  const wanted = new Map<string, string>();
  for (const r of reported) {
    const rel = assertSafeRelativePath(r.path);
    const why = reportedPathProblem(rel, limits);
    if (why) problems.add(why);
    const digest = String(r.sha256).toLowerCase();
    if (!SHA256_HEX.test(digest))
      throw new ReleaseBotError(ErrorCode.BadInput, `artifact ${rel.slice(0, 120)}: sha256 must be 64 hex characters`);
    if (wanted.has(rel)) throw new ReleaseBotError(ErrorCode.BadInput, `artifact ${rel.slice(0, 120)} is listed twice`);
    wanted.set(rel, digest);
  }
  if (!problems.empty) throw problems.error(ErrorCode.BadInput, 'the report names paths the staging limits refuse');
  return wanted;
}

export async function openVersionDir(stagingRoot: FileHandle, project: string, version: string, shown: string): Promise<FileHandle> {
  const projectDir = await openChildDir(stagingRoot, project, shown).catch((err: unknown) => {
    throw err instanceof ReleaseBotError && err.code === ErrorCode.NotStaged
      ? new ReleaseBotError(ErrorCode.NotStaged, `nothing is staged at ${shown}`)
      : err;
  });
  try {
    return await openChildDir(projectDir, version, shown).catch((err: unknown) => {
      throw err instanceof ReleaseBotError && err.code === ErrorCode.NotStaged
        ? new ReleaseBotError(ErrorCode.NotStaged, `nothing is staged at ${shown}`)
        : err;
    });
  } finally {
    await projectDir.close();
  }
}
