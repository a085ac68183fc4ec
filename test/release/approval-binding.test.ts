import { existsSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { ErrorCode } from '../../src/errors.js';
import { Approvals } from '../../src/release/approvals.js';
import { Freezes } from '../../src/release/freeze.js';
import type { Conjur } from '../../src/conjur/types.js';
import { makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { project } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

/** A Conjur whose membership answers for `login` wait until the test lets them through. */
function gatedConjur(inner: Conjur, login: string) {
  let open: () => void = () => undefined;
  let entered: () => void = () => undefined;
  const gate = new Promise<void>((r) => (open = r));
  const waiting = new Promise<void>((r) => (entered = r));
  const conjur: Conjur = {
    ...inner,
    async isMember(who, group) {
      if (who === login) {
        entered();
        await gate;
      }
      return inner.isMember(who, group);
    },
  };
  return { conjur, open: () => open(), waiting };
}

const projects = (mirror: string, approvals: number) => ({
  gated: project('gated', [{ name: 'mirror', type: 'directory', path: `${mirror}/{project}/{version}` }], {
    approvals,
    approver_group: 'release/approvers',
  }),
});

/**
 * The approval is bound to one staged build (id + fingerprint) across processes: a re-stage through
 * another database connection (another `release-bot stage` process) while a Conjur call is pending
 * must not let the approval release the new build.
 */
describe('approvals and releases stay bound to the staged build across processes', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  const open: CoreFixture[] = [];
  const members = { 'release/gated': ['alice'], 'release/approvers': ['bob', 'carol'] };
  afterEach(() => {
    for (const f of open.splice(0)) f.close();
    tmp.cleanup();
  });

  const setup = async (approvals: number, conjur: Conjur) => {
    tmp = makeTmpDir();
    const mirror = path.join(tmp.dir, 'mirror');
    const f = makeCore(tmp.dir, projects(mirror, approvals), conjur);
    // A second process on the same data: its own connection, its own core, no shared events.
    const other = makeCore(tmp.dir, projects(mirror, approvals), memoryConjur(members));
    open.push(f, other);
    f.stageFiles('gated', '1.0.0', { 'gated-1.0.0.tgz': 'approved bytes' });
    const staged = (
      await f.core.stage({ project: 'gated', version: '1.0.0', build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } })
    ).staged;
    const restage = async () => {
      other.stageFiles('gated', '1.0.0', { 'gated-1.0.0.tgz': 'bytes nobody approved' });
      return (
        await other.core.stage({ project: 'gated', version: '1.0.0', build: { number: 2 }, reportedBy: 'test', actor: { via: 'test' } })
      ).staged;
    };
    return { f, staged, restage, mirror };
  };

  it("refuses the approval when the build was re-staged by another process during the approver's Conjur check", async () => {
    const gated = gatedConjur(memoryConjur(members), 'bob');
    const { f, restage, mirror } = await setup(1, gated.conjur);
    const approvals = new Approvals(f.core, f.db, {
      ...{ audit: f.audit, staged: f.staged, releases: f.releases },
      freezes: new Freezes(f.core, f.audit, f.db),
      log: pino({ level: 'silent' }),
    });
    const { request } = await approvals.request('gated', '1.0.0', { login: 'alice', via: 'slack' });

    const approving = approvals.approve(request.id, { login: 'bob', via: 'slack' });
    await gated.waiting;
    const restaged = await restage();
    expect(restaged.id).not.toBe(request.stagedBuildId);
    gated.open();

    await expect(approving).rejects.toMatchObject({ code: ErrorCode.Conflict, details: { reason: 'void' } });
    expect(approvals.get(request.id)).toMatchObject({ status: 'void', approvals: [] });
    expect(f.releases.latest('gated', '1.0.0').filter((r) => r.state !== 'denied')).toEqual([]);
    expect(existsSync(path.join(mirror, 'gated/1.0.0'))).toBe(false);
    const types = f.audit.list({ limit: 3 }).map((e) => e.type);
    expect(types).toEqual(['denied', 'approval-void', 'staged']);
  });

  it('core.release refuses, and audits, an expected staged build that is not the one staged now', async () => {
    const { f, staged, restage, mirror } = await setup(0, memoryConjur(members));
    await restage();
    await expect(
      f.core.release(
        'gated',
        '1.0.0',
        { login: 'alice', via: 'slack' },
        { expectedStaged: { id: staged.id, fingerprint: staged.fingerprint } },
      ),
    ).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      details: { reason: 'restaged' },
    });
    await expect(
      f.core.release('gated', '1.0.0', { login: 'alice', via: 'slack' }, { expectedStaged: { fingerprint: staged.fingerprint } }),
    ).rejects.toMatchObject({ code: ErrorCode.Conflict });
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({
      type: 'denied',
      actor: { conjurLogin: 'alice' },
      data: { code: ErrorCode.Conflict },
    });
    expect(existsSync(path.join(mirror, 'gated/1.0.0'))).toBe(false);
    // The build staged now, named as expected, is released.
    const now = f.staged.current('gated', '1.0.0');
    const summary = await f.core.release(
      'gated',
      '1.0.0',
      { login: 'alice', via: 'slack' },
      { expectedStaged: { id: now?.id, fingerprint: now?.fingerprint } },
    );
    expect(summary.state).toBe('published');
  });

  it('core.release refuses a build re-staged by another process during its own Conjur check', async () => {
    const gated = gatedConjur(memoryConjur(members), 'alice');
    const { f, restage, mirror } = await setup(0, gated.conjur);
    const releasing = f.core.release('gated', '1.0.0', { login: 'alice', via: 'cli' });
    await gated.waiting;
    await restage();
    gated.open();
    await expect(releasing).rejects.toMatchObject({ code: ErrorCode.Conflict, details: { reason: 'restaged' } });
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'denied', data: { code: ErrorCode.Conflict } });
    expect(existsSync(path.join(mirror, 'gated/1.0.0'))).toBe(false);
  });
});
