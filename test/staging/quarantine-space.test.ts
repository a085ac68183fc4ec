import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_STAGING_LIMITS } from '../../src/staging/limits.js';
import { Quarantine } from '../../src/staging/quarantine.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** Bytes of every regular file below `dir`, as allocated on disk. */
function diskBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += diskBytes(p);
    else if (e.isFile()) total += statSync(p).blocks * 512;
  }
  return total;
}

/** A report must not be able to fill the bot's data directory: not with a sparse file, not past the free-space margin. */
describe("quarantine and the data directory's space", () => {
  let work: string;
  let staging: string;
  let quarantine: Quarantine;
  const stage = (version: string, files: Record<string, string>) => {
    const dir = path.join(staging, 'conjur-cli', version);
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    return dir;
  };
  const ingest = (version: string, reported: { path: string; sha256: string }[], limits = DEFAULT_STAGING_LIMITS) =>
    quarantine.ingest({ stagingDir: staging, project: 'conjur-cli', version, reported, ignore: new Set(), limits });

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'quarantine-space-'));
    staging = path.join(work, 'staging');
    quarantine = new Quarantine(path.join(work, 'data', 'quarantine'));
  });
  afterEach(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('a 1 GiB sparse file is refused before it is copied, whatever its reported digest', async () => {
    const dir = stage('7.0.0', { 'conjur-cli-7.0.0.gem': 'gem' });
    writeFileSync(path.join(dir, 'hole.bin'), '');
    truncateSync(path.join(dir, 'hole.bin'), 1 << 30);
    await expect(
      ingest('7.0.0', [
        { path: 'conjur-cli-7.0.0.gem', sha256: sha('gem') },
        { path: 'hole.bin', sha256: 'a'.repeat(64) },
      ]),
    ).rejects.toThrow(/hole\.bin is a sparse file/);
    expect(diskBytes(quarantine.root)).toBeLessThan(1 << 20);
  });

  it('a report whose sha256 list is malformed is refused before anything is opened or copied', async () => {
    const dir = stage('7.3.0', { 'conjur-cli-7.3.0.gem': 'gem' });
    writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(4 << 20, 1));
    await expect(
      ingest('7.3.0', [
        { path: 'big.bin', sha256: 'not-a-digest' },
        { path: 'conjur-cli-7.3.0.gem', sha256: sha('gem') },
      ]),
    ).rejects.toThrow(/big\.bin: sha256 must be 64 hex characters/);
    expect(existsSync(quarantine.root)).toBe(false);
  });

  it("a copy that would leave the data directory's filesystem with less than staging.min_free_bytes is refused, nothing kept", async () => {
    stage('7.1.0', { 'conjur-cli-7.1.0.gem': 'gem' });
    const limits = { ...DEFAULT_STAGING_LIMITS, minFreeBytes: Number.MAX_SAFE_INTEGER };
    await expect(ingest('7.1.0', [{ path: 'conjur-cli-7.1.0.gem', sha256: sha('gem') }], limits)).rejects.toThrow(
      /staging\.min_free_bytes/,
    );
    expect(readdirSync(path.join(quarantine.root, 'trees'))).toEqual([]);
    expect(readdirSync(path.join(quarantine.root, 'incoming'))).toEqual([]);
  });

  it('by default (1 GiB margin) an ordinary build is quarantined', async () => {
    stage('7.2.0', { 'conjur-cli-7.2.0.gem': 'gem' });
    await expect(ingest('7.2.0', [{ path: 'conjur-cli-7.2.0.gem', sha256: sha('gem') }])).resolves.toEqual([
      { path: 'conjur-cli-7.2.0.gem', sha256: sha('gem'), size: 3 },
    ]);
  });
});
