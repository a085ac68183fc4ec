import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ArtifactFile } from '../publishing/types.js';
import { sha256File } from './hash.js';
import { assertSafeRelativePath, listStagedFiles } from './scan.js';

export interface ReportedFile {
  path: string;
  sha256: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Checks the files in a version's staging directory against what the build reported: every reported
 * file is there (no path escapes the directory), has the reported sha256, and nothing unreported sits
 * beside them. Without a report (operator `stage`, Notification plugin) the digests are taken now.
 */
export async function verifyStagedFiles(versionDir: string, reported: readonly ReportedFile[] | undefined, ignore: ReadonlySet<string>): Promise<ArtifactFile[]> {
  const present = await listStagedFiles(versionDir, ignore);
  if (present.length === 0) throw new ReleaseBotError(ErrorCode.NotStaged, `no files are staged in ${versionDir}`);
  const problems: string[] = [];
  let wanted: Map<string, string | undefined>;
  if (reported) {
    if (reported.length === 0) throw new ReleaseBotError(ErrorCode.BadInput, 'the report lists no artifacts');
    wanted = new Map();
    for (const r of reported) {
      const rel = assertSafeRelativePath(r.path);
      const digest = String(r.sha256).toLowerCase();
      if (!SHA256_HEX.test(digest)) throw new ReleaseBotError(ErrorCode.BadInput, `artifact ${rel}: sha256 must be 64 hex characters`);
      if (wanted.has(rel)) throw new ReleaseBotError(ErrorCode.BadInput, `artifact ${rel} is listed twice`);
      wanted.set(rel, digest);
    }
    for (const p of present) if (!wanted.has(p)) problems.push(`${p} is in the staging directory but was not reported`);
    for (const p of wanted.keys()) if (!present.includes(p)) problems.push(`${p} was reported but is not in the staging directory`);
  } else {
    wanted = new Map(present.map((p) => [p, undefined]));
  }
  const files: ArtifactFile[] = [];
  if (problems.length === 0) {
    for (const [rel, expected] of wanted) {
      const full = path.join(versionDir, rel);
      const sha256 = await sha256File(full);
      if (expected !== undefined && sha256 !== expected) problems.push(`${rel} has sha256 ${sha256.slice(0, 12)}…, the build reported ${expected.slice(0, 12)}…`);
      files.push({ path: rel, sha256, size: (await stat(full)).size });
    }
  }
  if (problems.length > 0) {
    throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `the staged files do not match the report: ${problems.join('; ')}`, { details: { problems } });
  }
  return files;
}
