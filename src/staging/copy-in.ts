import { chmodSync, mkdirSync, renameSync, statfsSync } from 'node:fs';
import { chmod, mkdir, rename, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ReleaseBotError } from '../errors.js';
import type { ArtifactFile } from '../publishing/types.js';
import { openFilePath } from './dirfd.js';
import { copyHandleWithSha256, copySmallWithSha256, SMALL_COPY_BYTES } from './hash.js';
import type { Problems, StagingLimits } from './limits.js';
import { removeTree } from './remove-tree.js';

/**
 * A staged file with more than this many bytes, and more than an eighth of its size, unallocated is
 * sparse and refused. The build side's copy of an artifact is written out in full, so it cannot need
 * holes; a 1 GiB hole costs 12 KB in staging but a full 1 GiB in the quarantine (the copy is written
 * out too), whatever the report's digests. The margin keeps filesystem rounding and tail packing
 * clear of it; a staging directory on a compressing filesystem (ZFS, btrfs compress) may need it raised.
 */
const SPARSE_SLACK_BYTES = 1 << 20;

/** One copy into `incoming/<random>`: what it has taken so far, and every problem found. */
export interface CopyIn {
  /** The quarantine's root, whose filesystem must keep staging.min_free_bytes free. */
  root: string;
  incoming: string;
  limits: StagingLimits;
  /** The report's digests by path; undefined when the digests are taken now. */
  expected: ReadonlyMap<string, string> | undefined;
  problems: Problems;
  files: ArtifactFile[];
  /** Every directory the files are in, to close (0555) once they are all there. */
  dirs: Set<string>;
  total: number;
  /** When the copy began (ms since the epoch). */
  startedAt: number;
}

/**
 * Copies one staged file into the incoming tree, hashing the copy. False when the copy must stop: a
 * limit is reached, or the file changed size while it was copied (the build side is still writing).
 */
export async function copyFileIn(dir: FileHandle, rel: string, c: CopyIn): Promise<boolean> {
  // Opened again component by component: a directory swapped for a symlink since the listing is refused here.
  const opened = await openFilePath(dir, rel).catch((err: unknown) => {
    c.problems.add(err instanceof ReleaseBotError ? err.message : `${rel}: ${String(err)}`);
    return undefined;
  });
  if (!opened) return true;
  try {
    const unallocated = opened.size - opened.blocks * 512;
    if (unallocated > SPARSE_SLACK_BYTES && unallocated > opened.size / 8) {
      c.problems.add(
        `${rel} is a sparse file (${opened.size} bytes, ${opened.blocks * 512} on disk): a build writes its artifacts out in full, and the copy would not be sparse`,
      );
      return true;
    }
    c.total += opened.size;
    if (c.limits.maxTotalBytes > 0 && c.total > c.limits.maxTotalBytes) {
      c.problems.add(`the files are larger than staging.max_total_bytes (${c.limits.maxTotalBytes} bytes) together`);
      return false;
    }
    if (!leavesFreeSpace(c, rel, opened.size)) return false;
    for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) c.dirs.add(d);
    // A file at the top of the tree goes straight into `incoming/<random>`, made by the caller.
    if (path.posix.dirname(rel) !== '.') await mkdir(path.dirname(path.join(c.incoming, rel)), { recursive: true, mode: 0o700 });
    const to = path.join(c.incoming, rel);
    const copy =
      opened.size <= SMALL_COPY_BYTES
        ? await copySmallWithSha256(opened.handle, to, opened.size)
        : await copyHandleWithSha256(opened.handle, to, opened.size);
    // The size and free space were checked at open; a file grown (or cut) since is not the file checked.
    if (copy.size !== opened.size) {
      c.problems.add(
        `${rel} changed size while it was copied (${opened.size} bytes at open, ${copy.size} copied): the build side is still writing it`,
      );
      return false;
    }
    const want = c.expected?.get(rel);
    if (want !== undefined && copy.sha256 !== want)
      c.problems.add(`${rel} has sha256 ${copy.sha256.slice(0, 12)}…, the build reported ${want.slice(0, 12)}…`);
    c.files.push({ path: rel, sha256: copy.sha256, size: copy.size });
    return true;
  } finally {
    await opened.handle.close();
  }
}

/** Fail closed before the bot's own disk fills: the audit chain and the database live there too. */
function leavesFreeSpace(c: CopyIn, rel: string, size: number): boolean {
  if (c.limits.minFreeBytes <= 0) return true;
  // The bot's own disk, where SQLite already waits synchronously: no hop through the thread pool.
  const fsStat = statfsSync(c.root);
  const free = fsStat.bavail * fsStat.bsize;
  if (free - size >= c.limits.minFreeBytes) return true;
  c.problems.add(
    `copying ${rel} (${size} bytes) would leave less than staging.min_free_bytes (${c.limits.minFreeBytes} bytes) free where ${c.root} is (${free} bytes free): free space there or lower the margin`,
  );
  return false;
}

/** A copy that took less than this leaves its tree fresh for gc (GC_GRACE_MS is an hour). */
const FRESH_MS = 60_000;

/** Moves `from` to `to`, creating the parent of `to` (the quarantine's `trees/`) when it is missing: after an operator removed it. */
function renameInto(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
    renameSync(from, to);
  }
}

/**
 * Closes the incoming tree (0555, deepest first) and moves it to its content address, or keeps the tree
 * already there when `intact` says it holds these files: the copies are not fsync'd (Quarantine), so
 * a tree a crash left torn is replaced by this copy instead of being kept for good.
 */
export async function sealTree(c: CopyIn, tree: string, intact?: (tree: string) => Promise<boolean>): Promise<void> {
  // The bot's own disk, synchronously (as copySmallWithSha256 writes it). Deepest first: a 0555 directory can no longer get entries.
  for (const d of [...c.dirs].sort((a, b) => b.length - a.length)) chmodSync(path.join(c.incoming, d), 0o555);
  try {
    // Renamed while still writable (moving a directory updates its ".."), then closed.
    renameInto(c.incoming, tree);
    chmodSync(tree, 0o555);
    // Its mtime (gc's clock) is when this copy made its last top-level entry, moments ago: no utimes needed.
    if (Date.now() - c.startedAt < FRESH_MS) return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    if (!intact || (await intact(tree))) {
      // The same files were quarantined before: keep that tree (re-hashed before every release).
      await removeTree(c.incoming);
    } else {
      const torn = `${c.incoming}.torn`;
      await chmod(tree, 0o700);
      await rename(tree, torn);
      await rename(c.incoming, tree);
      await chmod(tree, 0o555);
      await removeTree(torn);
    }
  }
  // Fresh for gc's grace period, until the staged build that names it is recorded: a tree kept from an
  // earlier stage (or a copy that took long) may be as old as gc's grace.
  const now = new Date();
  await utimes(tree, now, now);
}
