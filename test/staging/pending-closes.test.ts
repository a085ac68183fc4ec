import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PendingCloses } from '../../src/staging/dirfd.js';
import { DEFAULT_STAGING_LIMITS } from '../../src/staging/limits.js';
import { Quarantine } from '../../src/staging/quarantine.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const openFds = () => readdirSync('/proc/self/fd').length;

describe('the build side descriptors an ingest closes without waiting for each', () => {
  let work: string;
  beforeEach(() => (work = mkdtempSync(path.join(tmpdir(), 'pending-closes-'))));
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const ingest = (version: string, reported: { path: string; sha256: string }[]) =>
    new Quarantine(path.join(work, 'q')).ingest({
      stagingDir: path.join(work, 'staging'),
      project: 'p',
      version,
      reported,
      ignore: new Set(),
      limits: DEFAULT_STAGING_LIMITS,
    });

  it('are all closed when ingest returns, whether it copied the files or refused them', async () => {
    const dir = path.join(work, 'staging', 'p', '1.0.0');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    const files = { 'a.gem': randomBytes(4096), 'sub/b.txt': randomBytes(10) };
    for (const [rel, bytes] of Object.entries(files)) writeFileSync(path.join(dir, rel), bytes);
    const reported = Object.entries(files).map(([p, b]) => ({ path: p, sha256: sha(b) }));
    await ingest('1.0.0', reported); // the quarantine made, modules loaded
    const before = openFds();
    mkdirSync(path.join(work, 'staging', 'p', '1.0.1', 'sub'), { recursive: true });
    for (const [rel, bytes] of Object.entries(files)) writeFileSync(path.join(work, 'staging', 'p', '1.0.1', rel), bytes);
    await expect(ingest('1.0.1', reported)).resolves.toHaveLength(2);
    expect(openFds()).toBe(before);
    await expect(ingest('1.0.1', [{ path: 'a.gem', sha256: 'f'.repeat(64) }, reported[1]!])).rejects.toThrow(/sha256/);
    expect(openFds()).toBe(before);
    await expect(ingest('9.9.9', reported)).rejects.toThrow(/nothing is staged/);
    expect(openFds()).toBe(before);
  });

  it('settle waits for every close and throws the first that failed', async () => {
    writeFileSync(path.join(work, 'f'), 'x');
    const closes = new PendingCloses();
    const a = await open(path.join(work, 'f'), 'r');
    const b = await open(path.join(work, 'f'), 'r');
    closes.close(a);
    closes.close(b);
    await expect(closes.settle()).resolves.toBeUndefined();
    const c = await open(path.join(work, 'f'), 'r');
    await c.close();
    const failing = { close: () => Promise.reject(new Error('EIO on close')) } as unknown as typeof c;
    closes.close(failing);
    await expect(closes.settle()).rejects.toThrow('EIO on close');
  });
});
