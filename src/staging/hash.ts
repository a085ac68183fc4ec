import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** Never follow a symlink planted where a staged file should be. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const CHUNK = 1 << 20;

/** sha256 (hex) of a file, streamed: memory stays flat whatever the file's size. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, READ_FLAGS);
  await pipeline(handle.createReadStream({ highWaterMark: CHUNK }), hash);
  return hash.digest('hex');
}

/** Bytes per read when hashing an open file; two buffers, so the next read overlaps hashing this one. */
export const HASH_CHUNK = 4 << 20;

/**
 * sha256 (hex) and length of an open file, read by offset from the start, double-buffered. The buffers
 * fit the file when it is smaller than HASH_CHUNK (one byte more, so the first read can reach the end):
 * two 4 MiB buffers for every 4 KiB artifact a webhook stages kept the garbage collector busy (BENCHMARKS.md).
 */
export async function sha256Handle(handle: FileHandle): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const chunk = Math.min(HASH_CHUNK, (await handle.stat()).size + 1);
  const buffers: Buffer[] = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let size = 0;
  let i = 0;
  let pending = handle.read(buffers[0] as Buffer, 0, chunk, 0);
  for (;;) {
    const { bytesRead, buffer } = await pending;
    if (bytesRead === 0) break;
    size += bytesRead;
    i++;
    pending = handle.read(buffers[i % 2] as Buffer, 0, chunk, size);
    hash.update(buffer.subarray(0, bytesRead));
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Copies the open file `src` into a new file `to` (never an existing one) and returns the sha256 of
 * the copy, read back from it: what is recorded is exactly what the copy holds, and the copy is what
 * is published. The source is the descriptor already opened and checked (dirfd.ts), reached through
 * its `/proc/self/fd` magic link, which names that open file, not a path looked up again. The copy is
 * made by the kernel (copy_file_range, or a reflink where the filesystem has them) and then hashed,
 * which costs little more than hashing alone: reading, hashing and writing in user space ran at half
 * the speed on the same machine (BENCHMARKS.md, quarantine). The copy ends 0444.
 */
export async function copyHandleWithSha256(src: FileHandle, to: string): Promise<{ sha256: string; size: number }> {
  await copyFile(`/proc/self/fd/${src.fd}`, to, constants.COPYFILE_EXCL);
  const copy = await open(to, READ_FLAGS);
  try {
    await copy.chmod(0o444);
    return await sha256Handle(copy);
  } finally {
    await copy.close();
  }
}
