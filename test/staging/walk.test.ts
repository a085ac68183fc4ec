import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openRootDir } from '../../src/staging/dirfd.js';
import { DEFAULT_STAGING_LIMITS, Problems } from '../../src/staging/limits.js';
import { listTree } from '../../src/staging/walk.js';

/** A flat directory far larger than staging.max_files: the walk must stop at the cap, not load it all first. */
describe('listTree on one huge flat directory', () => {
  let dir: string;
  const FILES = 20_000;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'walk-flat-'));
    for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, `f${i}`), '');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused after reading max_files + 1 entries, the event loop never blocked', async () => {
    const root = await openRootDir(dir);
    const problems = new Problems();
    const counters = { entriesRead: 0 };
    // The loop's other work runs while the walk reads: count the turns a setImmediate chain gets (a walk that
    // blocked would leave it none until the end). Counted, not timed: a busy machine cannot make it flaky.
    let turns = 0;
    let walking = true;
    const turn = () => {
      if (!walking) return;
      turns += 1;
      setImmediate(turn);
    };
    setImmediate(turn);
    try {
      await listTree(root, DEFAULT_STAGING_LIMITS, problems, new Set(), counters);
    } finally {
      walking = false;
      await root.close();
    }
    expect(problems.listed).toEqual([
      expect.stringContaining(`more than ${DEFAULT_STAGING_LIMITS.maxFiles} files and directories (staging.max_files)`),
    ]);
    expect(counters.entriesRead).toBe(DEFAULT_STAGING_LIMITS.maxFiles + 1);
    expect(turns).toBeGreaterThan(10);
  }, 60_000);
});
