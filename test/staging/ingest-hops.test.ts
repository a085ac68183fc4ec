import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { copySmallWithSha256, sha256Handle } from '../../src/staging/hash.js';
import { DEFAULT_STAGING_LIMITS } from '../../src/staging/limits.js';
import { Quarantine } from '../../src/staging/quarantine.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Every file-system call of `fn` that goes through libuv's thread pool (an fs request of fs/promises, a
 * FileHandle's close, a Dir's read), by kind: on a busy machine each is a hop between threads, and they
 * were most of a webhook report's time (BENCHMARKS.md, "Where a report's time went"). Counted, not timed.
 */
async function fsRequests<T>(fn: () => Promise<T>): Promise<{ result: T; counts: Map<string, number>; total: number }> {
  const als = new AsyncLocalStorage<object>();
  const mine = {};
  const counts = new Map<string, number>();
  const hook = createHook({
    init(_id, type) {
      if (als.getStore() === mine && /^FSREQ|^FILEHANDLECLOSEREQ$|^DIRHANDLE$/.test(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
    },
  }).enable();
  try {
    const result = await als.run(mine, fn);
    return { result, counts, total: [...counts.values()].reduce((a, b) => a + b, 0) };
  } finally {
    hook.disable();
  }
}

describe('a staged report costs few thread-pool hops', () => {
  let work: string;
  let staging: string;
  let quarantine: Quarantine;
  const stage = (version: string, files: Record<string, Buffer>) => {
    for (const [rel, bytes] of Object.entries(files)) {
      const file = path.join(staging, 'conjur-cli', version, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, bytes);
    }
    return Object.entries(files).map(([p, bytes]) => ({ path: p, sha256: sha(bytes) }));
  };
  const ingest = (version: string, reported: { path: string; sha256: string }[]) =>
    quarantine.ingest({ stagingDir: staging, project: 'conjur-cli', version, reported, ignore: new Set(), limits: DEFAULT_STAGING_LIMITS });

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'ingest-hops-'));
    staging = path.join(work, 'staging');
    quarantine = new Quarantine(path.join(work, 'data', 'quarantine'));
  });
  afterEach(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("one 4 KiB file, the quarantine made already: at most 15 requests through the thread pool, all on the build side's files", async () => {
    await ingest('1.0.0', stage('1.0.0', { 'conjur-cli-1.0.0.gem': randomBytes(4096) }));
    const bytes = randomBytes(4096);
    const { result, total, counts } = await fsRequests(() => ingest('1.0.1', stage('1.0.1', { 'conjur-cli-1.0.1.gem': bytes })));
    expect(result).toEqual([{ path: 'conjur-cli-1.0.1.gem', sha256: sha(bytes), size: 4096 }]);
    // 30 before: the quarantine's two mkdir -p per stage and the file's own mkdir -p, an fstat after each directory's
    // open (O_DIRECTORY says it), an fstat before each hash (the open's fstat says it), a utimes of a fresh tree, and
    // the copy, its mode, its read-back, the statfs, the rename and the tree's mode on the bot's own disk.
    expect(total).toBeLessThanOrEqual(14);
    // What is left is the build side's: its directories and the file opened (and closed), the file read to its end.
    expect(Object.fromEntries(counts)).toEqual({ FSREQPROMISE: 6, FILEHANDLECLOSEREQ: 4, FSREQCALLBACK: 4 });
  });

  it('the first stage makes the quarantine (trees/ and incoming/), and so does a stage after it was removed, or trees/ alone', async () => {
    const a = randomBytes(100);
    await expect(ingest('2.0.0', stage('2.0.0', { 'a.gem': a }))).resolves.toEqual([{ path: 'a.gem', sha256: sha(a), size: 100 }]);
    rmSync(quarantine.root, { recursive: true, force: true });
    const b = randomBytes(100);
    await expect(ingest('2.0.1', stage('2.0.1', { 'docs/b.txt': b }))).resolves.toEqual([
      { path: 'docs/b.txt', sha256: sha(b), size: 100 },
    ]);
    expect(existsSync(path.join(quarantine.treeDir([{ path: 'docs/b.txt', sha256: sha(b) }]), 'docs', 'b.txt'))).toBe(true);
    rmSync(path.join(quarantine.root, 'trees'), { recursive: true, force: true });
    const c = randomBytes(100);
    await expect(ingest('2.0.2', stage('2.0.2', { 'c.gem': c }))).resolves.toEqual([{ path: 'c.gem', sha256: sha(c), size: 100 }]);
    expect(existsSync(path.join(quarantine.treeDir([{ path: 'c.gem', sha256: sha(c) }]), 'c.gem'))).toBe(true);
  });
});

describe('an open file hashed or copied', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'hash-hint-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  describe('sha256Handle with a size hint', () => {
    it('a hint smaller than the file (it grew since its fstat): the whole file is hashed, in full-size reads after the first', async () => {
      const bytes = randomBytes((9 << 20) + 5);
      const file = path.join(work, 'grown.bin');
      writeFileSync(file, bytes);
      const handle = await open(file, 'r');
      try {
        const { result, counts } = await fsRequests(() => sha256Handle(handle, 0));
        expect(result).toEqual({ sha256: sha(bytes), size: bytes.length });
        // 1 byte, then 4 MiB reads: 1 + 3 (9 MiB + 4 bytes left) + the read that finds the end; no fstat.
        expect(Object.fromEntries(counts)).toEqual({ FSREQPROMISE: 5 });
      } finally {
        await handle.close();
      }
    });

    it('a right hint: one read of the file and one that finds its end, no fstat', async () => {
      const bytes = randomBytes(4096);
      const file = path.join(work, 'small.bin');
      writeFileSync(file, bytes);
      const handle = await open(file, 'r');
      try {
        const { result, counts } = await fsRequests(() => sha256Handle(handle, 4096));
        expect(result).toEqual({ sha256: sha(bytes), size: 4096 });
        expect(Object.fromEntries(counts)).toEqual({ FSREQPROMISE: 2 });
      } finally {
        await handle.close();
      }
    });
  });

  describe('copySmallWithSha256', () => {
    it('copies the file 0444 and returns the sha256 of the copy', async () => {
      const bytes = randomBytes(1000);
      writeFileSync(path.join(work, 'a.bin'), bytes);
      const handle = await open(path.join(work, 'a.bin'), 'r');
      try {
        await expect(copySmallWithSha256(handle, path.join(work, 'a.copy'), 1000)).resolves.toEqual({ sha256: sha(bytes), size: 1000 });
      } finally {
        await handle.close();
      }
      expect(readFileSync(path.join(work, 'a.copy')).equals(bytes)).toBe(true);
      expect(statSync(path.join(work, 'a.copy')).mode & 0o777).toBe(0o444);
    });

    it('a file larger than its fstat said (grown by the build side): one byte more is read, never the rest', async () => {
      writeFileSync(path.join(work, 'grown.bin'), randomBytes(64 * 1024));
      const handle = await open(path.join(work, 'grown.bin'), 'r');
      try {
        await expect(copySmallWithSha256(handle, path.join(work, 'grown.copy'), 10)).resolves.toMatchObject({ size: 11 });
      } finally {
        await handle.close();
      }
      expect(statSync(path.join(work, 'grown.copy')).size).toBe(11);
    });

    it('a file of its fstat size is read once (the short read is its end); one cut since its fstat is read to its real end', async () => {
      const bytes = randomBytes(4096);
      writeFileSync(path.join(work, 'exact.bin'), bytes);
      const handle = await open(path.join(work, 'exact.bin'), 'r');
      try {
        const { result, counts } = await fsRequests(() => copySmallWithSha256(handle, path.join(work, 'exact.copy'), 4096));
        expect(result).toEqual({ sha256: sha(bytes), size: 4096 });
        expect(Object.fromEntries(counts)).toEqual({ FSREQPROMISE: 1 });
        // Cut to 100 bytes after a 4096-byte fstat: 100 bytes copied, so the caller refuses it (not the size checked).
        writeFileSync(path.join(work, 'exact.bin'), bytes.subarray(0, 100));
        await expect(copySmallWithSha256(handle, path.join(work, 'cut.copy'), 4096)).resolves.toEqual({
          sha256: sha(bytes.subarray(0, 100)),
          size: 100,
        });
      } finally {
        await handle.close();
      }
    });

    it('never writes over an existing file', async () => {
      writeFileSync(path.join(work, 'b.bin'), 'b');
      writeFileSync(path.join(work, 'b.copy'), 'already there');
      const handle = await open(path.join(work, 'b.bin'), 'r');
      try {
        await expect(copySmallWithSha256(handle, path.join(work, 'b.copy'), 1)).rejects.toThrow(/EEXIST/);
      } finally {
        await handle.close();
      }
      expect(readFileSync(path.join(work, 'b.copy'), 'utf8')).toBe('already there');
    });
  });
});
