import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rename, rm, statfs, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ArtifactFile } from '../publishing/types.js';
import { openChildDir, openFilePath, openRootDir } from './dirfd.js';
import { copyHandleWithSha256 } from './hash.js';
import { Problems, reportedPathProblem, type StagingLimits } from './limits.js';
import { assertSafeRelativePath } from './scan.js';
import { listTree } from './walk.js';

export interface ReportedFile {
  path: string;
  sha256: string;
}

export interface IngestRequest {
  /** The operator's staging root (trusted: opened as configured); everything below it is the build side's. */
  stagingDir: string;
  project: string;
  version: string;
  /** Files as the build reported them; absent when the digests are taken now (operator `stage`, Notification plugin). */
  reported?: readonly ReportedFile[] | undefined;
  /** The bot's own files in the version directory (the release label), skipped. */
  ignore: ReadonlySet<string>;
  limits: StagingLimits;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/**
 * A staged file with more than this many bytes, and more than an eighth of its size, unallocated is
 * sparse and refused. The build side's copy of an artifact is written out in full, so it cannot need
 * holes; a 1 GiB hole costs 12 KB in staging but a full 1 GiB in the quarantine (the copy is written
 * out too), whatever the report's digests. The margin keeps filesystem rounding and tail packing
 * clear of it; a staging directory on a compressing filesystem (ZFS, btrfs compress) may need it raised.
 */
const SPARSE_SLACK_BYTES = 1 << 20;
/** A tree being filled (`incoming/`) or unreferenced this recently is left alone by gc: a stage in another process may be about to record it. */
export const GC_GRACE_MS = 60 * 60_000;

/**
 * The bot's own copy of every staged build (`<RELEASE_BOT_DATA_DIR>/quarantine`). At staging, the
 * reported files are copied out of the staging directory, which the build side controls, hashing
 * the copies; from then on releases, dry runs and resumes read only these copies, so nothing the
 * build side does to the staging directory afterwards (a swapped file, directory or symlink) can
 * change what is published.
 *
 * Layout: `trees/<digest>/<the build's relative paths>`, where `<digest>` is the sha256 of the
 * canonical list of [path, sha256] pairs (content-addressed: the same files staged twice are one
 * tree); files 0444, directories 0555. `incoming/<random>` holds a tree while it is copied.
 */
export class Quarantine {
  constructor(readonly root: string) {}

  /** The content address of a build's files. */
  static treeDigest(files: readonly Pick<ArtifactFile, 'path' | 'sha256'>[]): string {
    return sha256Hex(canonicalJson(files.map((f) => [f.path, f.sha256]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1))));
  }

  treeDir(files: readonly Pick<ArtifactFile, 'path' | 'sha256'>[]): string {
    return path.join(this.root, 'trees', Quarantine.treeDigest(files));
  }

  /**
   * Checks the version's staging directory against the report and copies the files into the
   * quarantine; returns the digests of the copies. Refusals list at most MAX_LISTED_PROBLEMS problems.
   */
  async ingest(req: IngestRequest): Promise<ArtifactFile[]> {
    const expected = req.reported ? expectedDigests(req.reported, req.limits) : undefined;
    const versionDir = path.join(req.stagingDir, req.project, req.version);
    const stagingRoot = await openRootDir(req.stagingDir).catch((err: unknown) => {
      throw new ReleaseBotError(
        ErrorCode.NotStaged,
        `the staging directory ${req.stagingDir} cannot be opened (${(err as ReleaseBotError).message})`,
        { cause: err },
      );
    });
    let dir: FileHandle | undefined;
    try {
      dir = await openVersionDir(stagingRoot, req.project, req.version, versionDir);
      const problems = new Problems();
      const present = await listTree(dir, req.limits, problems, req.ignore);
      if (present.length === 0 && problems.empty) throw new ReleaseBotError(ErrorCode.NotStaged, `no files are staged in ${versionDir}`);
      if (expected) {
        const there = new Set(present);
        for (const p of present) if (!expected.has(p)) problems.add(`${p} is in the staging directory but was not reported`);
        for (const p of expected.keys()) if (!there.has(p)) problems.add(`${p} was reported but is not in the staging directory`);
      }
      if (!problems.empty) throw problems.error(ErrorCode.ArtifactMismatch, 'the staged files do not match the report');
      return await this.copyIn(dir, present, expected, req.limits);
    } finally {
      await dir?.close();
      await stagingRoot.close();
    }
  }

  private async copyIn(
    dir: FileHandle,
    wanted: readonly string[],
    expected: ReadonlyMap<string, string> | undefined,
    limits: StagingLimits,
  ): Promise<ArtifactFile[]> {
    await mkdir(path.join(this.root, 'trees'), { recursive: true, mode: 0o700 });
    await mkdir(path.join(this.root, 'incoming'), { recursive: true, mode: 0o700 });
    const incoming = path.join(this.root, 'incoming', randomBytes(12).toString('hex'));
    await mkdir(incoming, { mode: 0o700 });
    const problems = new Problems();
    const files: ArtifactFile[] = [];
    const dirs = new Set<string>();
    let total = 0;
    try {
      for (const rel of wanted) {
        // Opened again component by component: a directory swapped for a symlink since the listing is refused here.
        const opened = await openFilePath(dir, rel).catch((err: unknown) => {
          problems.add(err instanceof ReleaseBotError ? err.message : `${rel}: ${String(err)}`);
          return undefined;
        });
        if (!opened) continue;
        try {
          const unallocated = opened.size - opened.blocks * 512;
          if (unallocated > SPARSE_SLACK_BYTES && unallocated > opened.size / 8) {
            problems.add(
              `${rel} is a sparse file (${opened.size} bytes, ${opened.blocks * 512} on disk): a build writes its artifacts out in full, and the copy would not be sparse`,
            );
            continue;
          }
          total += opened.size;
          if (limits.maxTotalBytes > 0 && total > limits.maxTotalBytes) {
            problems.add(`the files are larger than staging.max_total_bytes (${limits.maxTotalBytes} bytes) together`);
            break;
          }
          if (limits.minFreeBytes > 0) {
            // Fail closed before the bot's own disk fills: the audit chain and the database live there too.
            const fsStat = await statfs(this.root);
            const free = fsStat.bavail * fsStat.bsize;
            if (free - opened.size < limits.minFreeBytes) {
              problems.add(
                `copying ${rel} (${opened.size} bytes) would leave less than staging.min_free_bytes (${limits.minFreeBytes} bytes) free where ${this.root} is (${free} bytes free): free space there or lower the margin`,
              );
              break;
            }
          }
          for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
          await mkdir(path.dirname(path.join(incoming, rel)), { recursive: true, mode: 0o700 });
          const copy = await copyHandleWithSha256(opened.handle, path.join(incoming, rel));
          // The size and free space were checked at open; a file grown (or cut) since is not the file checked.
          if (copy.size !== opened.size) {
            problems.add(
              `${rel} changed size while it was copied (${opened.size} bytes at open, ${copy.size} copied): the build side is still writing it`,
            );
            break;
          }
          const want = expected?.get(rel);
          if (want !== undefined && copy.sha256 !== want)
            problems.add(`${rel} has sha256 ${copy.sha256.slice(0, 12)}…, the build reported ${want.slice(0, 12)}…`);
          files.push({ path: rel, sha256: copy.sha256, size: copy.size });
        } finally {
          await opened.handle.close();
        }
      }
      if (!problems.empty) throw problems.error(ErrorCode.ArtifactMismatch, 'the staged files do not match the report');
      // Deepest first: a 0555 directory can no longer get entries.
      for (const d of [...dirs].sort((a, b) => b.length - a.length)) await chmod(path.join(incoming, d), 0o555);
      const tree = this.treeDir(files);
      try {
        // Renamed while still writable (moving a directory updates its ".."), then closed.
        await rename(incoming, tree);
        await chmod(tree, 0o555);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // The same files were quarantined before: keep that tree (re-hashed before every release).
        await removeTree(incoming);
      }
      // Fresh for gc's grace period, until the staged build that names it is recorded.
      const now = new Date();
      await utimes(tree, now, now);
      return files;
    } catch (err) {
      await removeTree(incoming).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Copies a build's quarantined files into `privateDir` and hashes the copies: a file missing or
   * changed in the bot's own store (disk corruption, tampering) refuses the release. Returns the
   * digests measured; a refusal carries them in `details.measured`.
   */
  async copyOut(recorded: readonly ArtifactFile[], privateDir: string): Promise<ArtifactFile[]> {
    const digest = Quarantine.treeDigest(recorded);
    const trees = await openRootDir(path.join(this.root, 'trees')).catch(() => undefined);
    const tree = trees && (await openChildDir(trees, digest, `quarantine/trees/${digest}`).catch(() => undefined));
    await trees?.close();
    if (!tree) {
      throw new ReleaseBotError(
        ErrorCode.NotStaged,
        `the bot's quarantined copy of this build (${path.join(this.root, 'trees', digest)}) is missing: stage the build again (its report, or \`release-bot stage\`); releases never read the staging directory itself`,
      );
    }
    const problems = new Problems();
    const measured: ArtifactFile[] = [];
    const dirs = new Set<string>();
    try {
      for (const file of recorded) {
        const rel = assertSafeRelativePath(file.path);
        const opened = await openFilePath(tree, rel).catch(() => undefined);
        if (!opened) {
          problems.add(`${rel} is missing from the quarantine`);
          continue;
        }
        try {
          for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
          const to = path.join(privateDir, rel);
          await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
          const copy = await copyHandleWithSha256(opened.handle, to);
          measured.push({ path: rel, sha256: copy.sha256, size: copy.size });
          if (copy.sha256 !== file.sha256)
            problems.add(
              `${rel} changed in the quarantine since staging (sha256 ${copy.sha256.slice(0, 12)}…, staged ${file.sha256.slice(0, 12)}…)`,
            );
        } finally {
          await opened.handle.close();
        }
      }
    } finally {
      await tree.close();
    }
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) await chmod(path.join(privateDir, d), 0o555);
    measured.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (!problems.empty)
      throw problems.error(
        ErrorCode.ArtifactMismatch,
        "the quarantined copy is not what was staged (the bot's own store was changed: disk corruption or tampering)",
        { measured },
      );
    return measured;
  }

  /**
   * Removes every tree whose digest is not in `keep` and that was not touched within `graceMs`, and
   * abandoned `incoming/` copies as old. Returns the removed tree digests.
   */
  async collect(keep: ReadonlySet<string>, now: Date, graceMs = GC_GRACE_MS): Promise<{ removed: string[]; kept: number }> {
    const removed: string[] = [];
    let kept = 0;
    const old = async (p: string) => now.getTime() - (await lstat(p)).mtimeMs > graceMs;
    for (const name of await readdir(path.join(this.root, 'trees')).catch(() => [] as string[])) {
      const p = path.join(this.root, 'trees', name);
      if (keep.has(name) || !(await old(p))) {
        kept++;
        continue;
      }
      await removeTree(p);
      removed.push(name);
    }
    for (const name of await readdir(path.join(this.root, 'incoming')).catch(() => [] as string[])) {
      const p = path.join(this.root, 'incoming', name);
      if (await old(p)) await removeTree(p);
    }
    return { removed, kept };
  }
}

/** The report's digests by normalised path; a report over the limits is refused before the disk is read. */
function expectedDigests(reported: readonly ReportedFile[], limits: StagingLimits): Map<string, string> {
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

async function openVersionDir(stagingRoot: FileHandle, project: string, version: string, shown: string): Promise<FileHandle> {
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

/** Removes a read-only tree: a file in a 0555 directory cannot be unlinked, so directories are opened up first. */
export async function removeTree(root: string): Promise<void> {
  const unlock = async (dir: string): Promise<void> => {
    await chmod(dir, 0o700).catch(() => undefined);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await unlock(path.join(dir, e.name));
  };
  await unlock(root);
  await rm(root, { recursive: true, force: true });
}
