import { createHash, type Hash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
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

/**
 * Copies `from` to a new file `to` (never overwriting) and returns the sha256 of the bytes that were
 * written, in one streamed pass: what is hashed is exactly what was copied.
 */
export async function copyWithSha256(from: string, to: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(from, READ_FLAGS);
  await pipeline(
    handle.createReadStream({ highWaterMark: CHUNK }),
    tap(hash, (n) => (size += n)),
    createWriteStream(to, { flags: 'wx', mode: 0o600 }),
  );
  return { sha256: hash.digest('hex'), size };
}

function tap(hash: Hash, count: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      count(chunk.length);
      cb(null, chunk);
    },
  });
}
