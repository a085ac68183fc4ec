/** The staged files' digests, as the single-file notify reports them (only `node:` imports here). */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NotifyError } from './errors.mjs';

/**
 * The path a file is reported under, as the bot accepts it (src/staging/scan.ts assertSafeRelativePath,
 * which the bot applies again: this is only the early, local refusal).
 */
function safeRelativePath(p: string): string {
  const bad = (why: string) => new NotifyError('BAD_INPUT', `artifact path ${JSON.stringify(p.slice(0, 120))} ${why}`);
  if (p.length === 0 || p.length > 1024) throw bad('must be a non-empty relative path');
  if (p.includes('\0') || p.includes('\\')) throw bad('contains a NUL or a backslash');
  if (path.posix.isAbsolute(p)) throw bad("is absolute: paths are relative to the version's staging directory");
  if (p.split('/').some((s) => s === '..' || s === '.' || s === ''))
    throw bad('escapes or wanders in the staging directory ("..", "." or an empty segment)');
  return p;
}

/** sha256 of each file, streamed; the path reported is the one the file has in the staging directory. */
export async function digests(files: string[], base: string | undefined): Promise<{ path: string; sha256: string }[]> {
  const out: { path: string; sha256: string }[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const rel = safeRelativePath(
      base === undefined ? path.basename(file) : path.relative(path.resolve(base), path.resolve(file)).split(path.sep).join('/'),
    );
    if (seen.has(rel)) throw new NotifyError('BAD_INPUT', `${rel} is named twice`);
    seen.add(rel);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new NotifyError('BAD_INPUT', `${file} is not a readable file`);
    try {
      out.push({ path: rel, sha256: await sha256File(file) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new NotifyError(
        'BAD_INPUT',
        `${file} cannot be hashed (${code === 'ELOOP' ? 'it is a symlink: name the file itself' : (code ?? (err as Error).message)})`,
      );
    }
  }
  return out;
}

/** sha256 (hex) of a file, streamed, never through a symlink (src/staging/hash.ts sha256File). */
async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  await pipeline(handle.createReadStream({ highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}
