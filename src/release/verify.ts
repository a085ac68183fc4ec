import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ArtifactFile } from '../publishing/types.js';
import { copyWithSha256, sha256File } from '../staging/hash.js';
import { assertSafeRelativePath, listStagedFiles } from '../staging/scan.js';

/**
 * The digests measured while verifying, file by file, sorted by path: what was actually read before
 * publishing (the audit records them beside the staging digests, so a trace compares measurements).
 */
export type MeasuredFiles = ArtifactFile[];

/**
 * Copies the staged files into `privateDir` and checks the copies against the digests recorded at
 * staging: a file changed, added or missing refuses the release. Publishers read only the copies,
 * so nothing that happens in the staging directory afterwards can change what is published.
 * Returns the digests measured while copying. A refusal carries them too (`details.measured`); when
 * a file was added or is missing nothing is copied and the files present are hashed in place, so the
 * audit shows what was there.
 *
 * The copy is read-only all the way down: every file 0444 and every directory 0555 (the caller makes
 * `privateDir` itself 0555 once it has added the release label), so neither a publisher nor a script
 * it runs can add or change a file that is then handed to the next destination.
 */
export async function copyVerifiedFiles(stagingVersionDir: string, recorded: readonly ArtifactFile[], privateDir: string, ignore: ReadonlySet<string>): Promise<MeasuredFiles> {
  const present = await listStagedFiles(stagingVersionDir, ignore);
  const expected = new Map(recorded.map((f) => [assertSafeRelativePath(f.path), f]));
  const problems: string[] = [];
  const measured: MeasuredFiles = [];
  for (const p of present) if (!expected.has(p)) problems.push(`${p} was added after staging`);
  for (const p of expected.keys()) if (!present.includes(p)) problems.push(`${p} is missing`);
  if (problems.length > 0) {
    for (const rel of present) {
      const from = path.join(stagingVersionDir, rel);
      measured.push({ path: rel, sha256: await sha256File(from), size: (await stat(from)).size });
    }
  } else {
    const dirs = new Set<string>();
    for (const [rel, file] of expected) {
      const to = path.join(privateDir, rel);
      for (let d = path.dirname(rel); d !== '.'; d = path.dirname(d)) dirs.add(d);
      await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
      const copy = await copyWithSha256(path.join(stagingVersionDir, rel), to);
      await chmod(to, 0o444);
      measured.push({ path: rel, sha256: copy.sha256, size: copy.size });
      if (copy.sha256 !== file.sha256) problems.push(`${rel} changed after staging (sha256 ${copy.sha256.slice(0, 12)}…, staged ${file.sha256.slice(0, 12)}…)`);
    }
    for (const d of dirs) await chmod(path.join(privateDir, d), 0o555);
  }
  measured.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (problems.length > 0) {
    throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `the staged files are not what the build reported: ${problems.join('; ')}`, { details: { problems, measured } });
  }
  return measured;
}

/**
 * Removes a private copy made read-only by copyVerifiedFiles. Not running as root, a file in a 0555
 * directory cannot be unlinked, so every directory is made writable again first.
 */
export async function removePrivateCopy(root: string): Promise<void> {
  const unlock = async (dir: string): Promise<void> => {
    await chmod(dir, 0o700).catch(() => undefined);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await unlock(path.join(dir, e.name));
  };
  await unlock(root);
  await rm(root, { recursive: true, force: true });
}
