import { existsSync } from 'node:fs';
import { Quarantine } from '../../src/staging/quarantine.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { makeTmpDir } from '../support/tmp.js';

const DAY_MS = 24 * 3600_000;

/** `release-bot gc`: what it removes from the quarantine, and what it must keep. */
describe('quarantine gc', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let f: CoreFixture;
  afterEach(() => {
    f.close();
    tmp.cleanup();
  });

  const stage = async (version: string, files: Record<string, string>) => {
    f.stageFiles('app', version, files);
    await f.core.stage({ project: 'app', version, build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } });
    const staged = f.staged.current('app', version);
    if (staged?.artifact.kind !== 'files') throw new Error('not staged');
    return f.core.quarantine.treeDir(staged.artifact.files);
  };
  /** What `release-bot gc` does, at `now` with a retention of `days`. */
  const gc = (now: Date, days: number) => {
    const keep = f.staged.quarantineKeep(new Date(now.getTime() - days * DAY_MS).toISOString());
    return f.core.quarantine.collect(
      new Set(keep.map((s) => (s.artifact.kind === 'files' ? Quarantine.treeDigest(s.artifact.files) : ''))),
      now,
    );
  };

  it('removes superseded builds and builds released longer ago than the retention; keeps current, unreleased and recently released ones', async () => {
    tmp = makeTmpDir();
    f = makeCore(
      tmp.dir,
      appProject([{ name: 'mirror', type: 'directory', path: `${tmp.dir}/mirror/{project}/{version}` }]),
      memoryConjur({ 'release/app': ['alice'] }),
    );
    const superseded = await stage('1.0.0', { 'app-1.0.0.tgz': 'first build' });
    const current = await stage('1.0.0', { 'app-1.0.0.tgz': 'second build' });
    const released = await stage('2.0.0', { 'app-2.0.0.tgz': 'released' });
    expect((await f.core.release('app', '2.0.0', { login: 'alice', via: 'cli' })).state).toBe('published');
    // Current and never released (a failed or interrupted release of it would resume from these files).
    const failing = await stage('3.0.0', { 'app-3.0.0.tgz': 'to resume' });

    // Within the grace period nothing goes (a stage in another process may be about to record its tree).
    expect((await gc(new Date(), 30)).removed).toEqual([]);
    const later = new Date(Date.now() + 2 * 3600_000);
    const first = await gc(later, 30);
    expect(first.removed).toEqual([superseded.split('/').pop()]);
    expect([current, released, failing].map(existsSync)).toEqual([true, true, true]);
    expect(existsSync(superseded)).toBe(false);

    const muchLater = new Date(Date.now() + 31 * DAY_MS);
    expect((await gc(muchLater, 30)).removed).toEqual([released.split('/').pop()]);
    expect([current, failing].map(existsSync)).toEqual([true, true]);
    // The current build still releases from its quarantined copy.
    expect((await f.core.release('app', '1.0.0', { login: 'alice', via: 'cli' })).state).toBe('published');
  });
});
