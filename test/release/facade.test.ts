import type { App } from '../../src/app.js';
import type { ReleaseCore } from '../../src/release/core.js';
import { appProject, makeCore, memoryConjur } from '../support/core-fixture.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * The core is a facade (issue 14): it keeps its audit log and its repositories. The other services get
 * the audit's append and read-only views from app/create.ts, the ways in read-only views only. The
 * type checks below run in `tsc --noEmit` (tsconfig.json includes test/): each `@ts-expect-error` fails
 * the type check the day the member it names is reachable again.
 */
export function reachesNoRepository(core: ReleaseCore, app: App): unknown[] {
  return [
    // @ts-expect-error the core's audit log is its own
    core.audit,
    // @ts-expect-error the core's staged builds are its own
    core.staged,
    // @ts-expect-error the core's releases are its own
    core.releases,
    // @ts-expect-error a way in reads the audit log, never appends
    app.audit.append,
    // @ts-expect-error a way in never records a staged build
    app.staged.insert,
    // @ts-expect-error a way in never records a release
    app.releases.create,
    // @ts-expect-error nor changes one's state
    app.releases.setState,
    // @ts-expect-error nor marks one interrupted
    app.releases.markInterrupted,
    // @ts-expect-error nor records a destination's outcome
    app.releases.upsertDestination,
    // @ts-expect-error the yank service keeps its repository: a way in reads app.yankRecords
    app.yanks.yanks,
    // @ts-expect-error a way in never records a yank
    app.yankRecords.create,
    // @ts-expect-error nor finishes one
    app.yankRecords.finish,
    // @ts-expect-error nor marks one interrupted
    app.yankRecords.markInterrupted,
    // @ts-expect-error nor records a destination's yank
    app.yankRecords.setDestination,
    // @ts-expect-error a way in never holds the database: it asks the app (storeOpen, databaseHealth, forwardingBacklog)
    app.db,
  ];
}

describe('the release core facade', () => {
  const tmp = makeTmpDir('release-bot-facade-');
  afterAll(() => tmp.cleanup());

  it('hands out neither its audit log nor its repositories, and still records through them', async () => {
    const f = makeCore(tmp.dir, appProject([{ name: 'out', type: 'directory', path: `${tmp.dir}/out` }]), memoryConjur({}));
    try {
      for (const member of ['audit', 'staged', 'releases']) expect(member in f.core).toBe(false);
      // What it was given is what it writes: a refusal lands in the same audit log and releases table.
      await expect(f.core.release('app', '1.0.0', { login: 'alice', via: 'cli' })).rejects.toThrow('not staged');
      expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'denied', project: 'app', version: '1.0.0' });
    } finally {
      f.close();
    }
  });
});
