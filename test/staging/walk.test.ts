import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    try {
      await listTree(root, DEFAULT_STAGING_LIMITS, problems, new Set(), counters);
    } finally {
      delay.disable();
      await root.close();
    }
    expect(problems.listed).toEqual([
      expect.stringContaining(`more than ${DEFAULT_STAGING_LIMITS.maxFiles} files and directories (staging.max_files)`),
    ]);
    expect(counters.entriesRead).toBe(DEFAULT_STAGING_LIMITS.maxFiles + 1);
    // Generous: Slack's acknowledgement limit is 3 s.
    expect(delay.max / 1e6).toBeLessThan(1000);
  }, 60_000);
});
