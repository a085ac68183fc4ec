import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, openSync, readFileSync, writeSync } from 'node:fs';
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
 * `sizeHint` (the size the caller fstat'ed already) saves an fstat; it only sizes the buffers: the file
 * is read to its end whatever it says, and a read that fills a fitted buffer grows them to HASH_CHUNK.
 */
export async function sha256Handle(handle: FileHandle, sizeHint?: number): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let chunk = Math.min(HASH_CHUNK, (sizeHint ?? (await handle.stat()).size) + 1);
  let buffers: Buffer[] = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let size = 0;
  let i = 0;
  let pending = handle.read(buffers[0] as Buffer, 0, chunk, 0);
  for (;;) {
    const { bytesRead, buffer } = await pending;
    if (bytesRead === 0) break;
    size += bytesRead;
    i++;
    if (bytesRead === chunk && chunk < HASH_CHUNK) {
      // Larger than the hint said (or than the fstat, if it grew since): the rest in full-size reads.
      hash.update(buffer.subarray(0, bytesRead));
      chunk = HASH_CHUNK;
      buffers = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
      pending = handle.read(buffers[i % 2] as Buffer, 0, chunk, size);
      continue;
    }
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
 * the speed on the same machine (BENCHMARKS.md, quarantine). The copy ends 0444. `sizeHint`: the
 * source's size as fstat'ed at open (see sha256Handle).
 */
export async function copyHandleWithSha256(src: FileHandle, to: string, sizeHint?: number): Promise<{ sha256: string; size: number }> {
  await copyFile(`/proc/self/fd/${src.fd}`, to, constants.COPYFILE_EXCL);
  const copy = await open(to, READ_FLAGS);
  try {
    // Both through the thread pool at once: the mode and the bytes are independent.
    const [, measured] = await Promise.all([copy.chmod(0o444), sha256Handle(copy, sizeHint)]);
    return measured;
  } finally {
    await copy.close();
  }
}

/** Files up to this size are copied into the quarantine through memory (copySmallWithSha256); larger ones by the kernel. */
export const SMALL_COPY_BYTES = 256 * 1024;

/**
 * Copies the open file `src`, fstat'ed at `size` bytes (at most SMALL_COPY_BYTES), into a new file `to`
 * (never an existing one) and returns the sha256 of the copy read back, as copyHandleWithSha256 does.
 * The source is read through the thread pool (the build side's filesystem may be slow: the event loop
 * never waits for it), at most `size` + 1 bytes, so a file grown since its fstat costs no more (the
 * caller refuses it: its size is not the one checked). The copy is written, closed 0444 and read back
 * on the bot's own disk synchronously, as its SQLite commits are: microseconds each, where every hop
 * through the thread pool cost about 0.4 ms on a busy machine (BENCHMARKS.md, webhook).
 */
export async function copySmallWithSha256(src: FileHandle, to: string, size: number): Promise<{ sha256: string; size: number }> {
  const buffer = Buffer.allocUnsafe(size + 1);
  let read = 0;
  while (read < buffer.length) {
    const wanted = buffer.length - read;
    const { bytesRead } = await src.read(buffer, read, wanted, read);
    read += bytesRead;
    // A short read of a regular file ends at its end: at the fstat'ed size, no read more to find it (one hop fewer).
    if (bytesRead === 0 || (bytesRead < wanted && read === size)) break;
  }
  const fd = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    for (let written = 0; written < read;) written += writeSync(fd, buffer, written, read - written);
    fchmodSync(fd, 0o444);
  } finally {
    closeSync(fd);
  }
  const back = openSync(to, READ_FLAGS);
  let copy: Buffer;
  try {
    copy = readFileSync(back);
  } finally {
    closeSync(back);
  }
  return { sha256: createHash('sha256').update(copy).digest('hex'), size: copy.length };
}
