import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ArtifactFile } from '../publishing/types.js';
import { copyWithSha256 } from '../staging/hash.js';
import { assertSafeRelativePath, listStagedFiles } from '../staging/scan.js';

/**
 * Copies the staged files into `privateDir` and checks the copies against the digests recorded at
 * staging: a file changed, added or missing refuses the release. Publishers read only the copies,
 * so nothing that happens in the staging directory afterwards can change what is published.
 */
export async function copyVerifiedFiles(stagingVersionDir: string, recorded: readonly ArtifactFile[], privateDir: string, ignore: ReadonlySet<string>): Promise<void> {
  const present = await listStagedFiles(stagingVersionDir, ignore);
  const expected = new Map(recorded.map((f) => [assertSafeRelativePath(f.path), f]));
  const problems: string[] = [];
  for (const p of present) if (!expected.has(p)) problems.push(`${p} was added after staging`);
  for (const p of expected.keys()) if (!present.includes(p)) problems.push(`${p} is missing`);
  if (problems.length === 0) {
    for (const [rel, file] of expected) {
      const to = path.join(privateDir, rel);
      await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
      const copy = await copyWithSha256(path.join(stagingVersionDir, rel), to);
      await chmod(to, 0o444);
      if (copy.sha256 !== file.sha256) problems.push(`${rel} changed after staging (sha256 ${copy.sha256.slice(0, 12)}…, staged ${file.sha256.slice(0, 12)}…)`);
    }
  }
  if (problems.length > 0) {
    throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `the staged files are not what the build reported: ${problems.join('; ')}`, { details: { problems } });
  }
}
