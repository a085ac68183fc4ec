import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ArtifactFile } from '../publishing/types.js';
import { copyFileIn, sealTree, type CopyIn } from './copy-in.js';
import { openChildDir, openFilePath, openRootDir } from './dirfd.js';
import { copyHandleWithSha256, sha256Handle } from './hash.js';
import { Problems, type StagingLimits } from './limits.js';
import { removeTree } from './remove-tree.js';
import { expectedDigests, openVersionDir, type ReportedFile } from './reported-files.js';
import { assertSafeRelativePath } from './scan.js';
import { listTree } from './walk.js';

export { removeTree } from './remove-tree.js';
export type { ReportedFile } from './reported-files.js';

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
      await Promise.all([dir?.close(), stagingRoot.close()]);
    }
  }

  /**
   * Durability: the copies and the tree's rename are not fsync'd; the staged build's record is (one
   * SQLite commit, synchronous=FULL). A crash after that commit may leave the tree missing, or files in
   * it empty, short or zero-filled, never other bytes passing as the recorded ones: every release
   * re-hashes the copy (copyOut) and refuses one that is not what was recorded, and staging the same
   * files again replaces a torn tree (sealTree). Waiting for the disk here would buy only that a
   * release after a crash need not ask for the build to be staged again.
   */
  private async copyIn(
    dir: FileHandle,
    wanted: readonly string[],
    expected: ReadonlyMap<string, string> | undefined,
    limits: StagingLimits,
  ): Promise<ArtifactFile[]> {
    const incoming = path.join(this.root, 'incoming', randomBytes(12).toString('hex'));
    this.mkdirIncoming(incoming);
    const c: CopyIn = {
      root: this.root,
      incoming,
      limits,
      expected,
      problems: new Problems(),
      files: [],
      dirs: new Set(),
      total: 0,
      startedAt: Date.now(),
    };
    try {
      for (const rel of wanted) if (!(await copyFileIn(dir, rel, c))) break;
      if (!c.problems.empty) throw c.problems.error(ErrorCode.ArtifactMismatch, 'the staged files do not match the report');
      await sealTree(c, this.treeDir(c.files), (tree) => holds(tree, c.files));
      return c.files;
    } catch (err) {
      await removeTree(incoming).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Makes `incoming/<random>` (0700), and the quarantine's `trees/` and `incoming/` when they are missing:
   * once, not at every stage. On the bot's own disk, synchronously (see copySmallWithSha256).
   */
  private mkdirIncoming(incoming: string): void {
    try {
      mkdirSync(incoming, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(path.join(this.root, 'trees'), { recursive: true, mode: 0o700 });
      mkdirSync(path.join(this.root, 'incoming'), { recursive: true, mode: 0o700 });
      mkdirSync(incoming, { mode: 0o700 });
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

/** Whether `tree` holds every file with its recorded size and sha256 (read through directory descriptors). */
async function holds(tree: string, files: readonly ArtifactFile[]): Promise<boolean> {
  const root = await openRootDir(tree).catch(() => undefined);
  if (!root) return false;
  try {
    for (const file of files) {
      const opened = await openFilePath(root, file.path).catch(() => undefined);
      if (!opened) return false;
      try {
        const measured = await sha256Handle(opened.handle);
        if (measured.sha256 !== file.sha256 || measured.size !== file.size) return false;
      } finally {
        await opened.handle.close();
      }
    }
    return true;
  } finally {
    await root.close();
  }
}
