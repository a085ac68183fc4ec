import { opendir, type FileHandle } from 'node:fs/promises';
import { ReleaseBotError } from '../errors.js';
import { openChildDir } from './dirfd.js';
import { nameProblem, type Problems, type StagingLimits } from './limits.js';

/**
 * Lists the regular files below the open directory `root` as relative paths, never following a
 * symlink (each directory is opened through its parent's descriptor, see dirfd.ts) and within the
 * limits: names are read as bytes (readdir's strings hide invalid UTF-8), and the walk stops as soon
 * as it has seen more than `maxFiles` entries, so a huge tree costs no more than a refusal. A
 * symlink, special file, bad name, too deep or too long path is a problem, not a throw: the caller
 * refuses with all of them, bounded. `ignore` holds the bot's own files (the release label);
 * `counters.entriesRead` counts the directory entries read.
 *
 * Decision: each directory is read entry by entry (opendir, a small buffer), never whole: readdir
 * built every entry of one directory before the cap was counted, and 200,000 files in one flat
 * directory stalled the event loop for 7 s and took 179 MB for a report that is refused anyway.
 */
export async function listTree(
  root: FileHandle,
  limits: StagingLimits,
  problems: Problems,
  ignore: ReadonlySet<string>,
  counters = { entriesRead: 0 },
): Promise<string[]> {
  const files: string[] = [];
  let stopped = false;
  const walk = async (dir: FileHandle, rel: string, depth: number): Promise<void> => {
    // The iterator closes the Dir when the loop ends, returns or throws.
    // Names as bytes ('buffer' works at run time; @types/node types opendir's encoding as text only).
    const reader = await opendir(`/proc/self/fd/${dir.fd}`, { encoding: 'buffer' as BufferEncoding, bufferSize: 64 });
    for await (const entry of reader) {
      if (stopped) return;
      // A tree of many small directories, or one large one, is read in many small steps; let other requests in between.
      if (counters.entriesRead % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
      if (++counters.entriesRead > limits.maxFiles) {
        problems.add(`more than ${limits.maxFiles} files and directories (staging.max_files): the rest were not looked at`);
        stopped = true;
        return;
      }
      const checked = entryPath(entry.name as unknown as Buffer, rel, depth, limits);
      if ('problem' in checked) {
        problems.add(checked.problem);
        continue;
      }
      const { name, relPath } = checked;
      if (entry.isDirectory()) {
        // The dirent's type is a hint; openChildDir (O_NOFOLLOW, fstat) decides.
        const child = await openChildDir(dir, name, relPath).catch((err: unknown) => {
          problems.add(err instanceof ReleaseBotError ? err.message : `${relPath}: ${String(err)}`);
          return undefined;
        });
        if (!child) continue;
        try {
          await walk(child, relPath, depth + 1);
        } finally {
          await child.close();
        }
      } else if (entry.isFile()) {
        if (!ignore.has(relPath)) files.push(relPath);
      } else {
        problems.add(
          `${relPath} in the staging directory is a ${entry.isSymbolicLink() ? 'symlink' : 'special file'}: only plain files can be staged`,
        );
      }
    }
  };
  await walk(root, '', 0);
  return files.sort();
}

/** An entry's name and path below the root, or why it is refused: a bad name, a path too long, too deep. */
function entryPath(
  raw: Buffer,
  rel: string,
  depth: number,
  limits: StagingLimits,
): { name: string; relPath: string } | { problem: string } {
  const bad = nameProblem(raw);
  const name = raw.toString('utf8');
  const relPath = rel ? `${rel}/${name}` : name;
  if (bad) return { problem: `${rel ? `${JSON.stringify(rel.slice(0, 80))}/` : ''}${bad}` };
  if (Buffer.byteLength(relPath) > limits.maxPathBytes)
    return { problem: `${JSON.stringify(relPath.slice(0, 80))}…: longer than staging.max_path_bytes (${limits.maxPathBytes} bytes)` };
  if (depth + 1 > limits.maxDepth)
    return { problem: `${JSON.stringify(relPath.slice(0, 80))}: deeper than staging.max_depth (${limits.maxDepth})` };
  return { name, relPath };
}
