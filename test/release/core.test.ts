import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { currentProcess, procStartTime } from '../../src/release/owner.js';
import type { PublishContext, PublisherDefinition } from '../../src/publishing/types.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { testDestination, type DestinationCommon, type ProjectSpec } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

const scriptedType = { type: 'scripted', options: z.object({ script: z.string() }).strict() };

/** A destination type whose behaviour each test scripts: a queue of outcomes, one per attempt. */
function scripted() {
  const calls: { name: string; at: number; credentials: Record<string, string>; files: string[] }[] = [];
  const scripts = new Map<string, (ctx: PublishContext) => Promise<void>>();
  let running = 0;
  let maxRunning = 0;
  const def: PublisherDefinition<{ script: string }> = {
    ...scriptedType,
    description: 'test double',
    artifacts: ['files'],
    tools: [],
    plan: (_ctx, o) => ({ actions: [`would run ${o.script}`] }),
    async publish(ctx, o) {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      calls.push({ name: o.script, at: Date.now(), credentials: { ...ctx.credentials }, files: readdirSync(ctx.dir) });
      try {
        await (scripts.get(o.script) ?? (async () => undefined))(ctx);
        return { status: 'published' };
      } finally {
        running -= 1;
      }
    },
  };
  return { def: def as unknown as PublisherDefinition, calls, scripts, maxRunning: () => maxRunning };
}

const dest = (name: string, common: DestinationCommon = { retries: 2 }, credentials?: Record<string, string>) =>
  testDestination(scriptedType, name, { script: name }, { ...common, ...(credentials ? { credentials } : {}) });

describe('the release core', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let f: CoreFixture;
  let s: ReturnType<typeof scripted>;
  const conjur = memoryConjur(
    { 'release/app': ['alice', 'carol'] },
    { 'release/a/token': 'token-a-canary', 'release/b/token': 'token-b-canary' },
  );
  const alice = { login: 'alice', via: 'cli' as const };

  const setup = async (destinations: ProjectSpec['destinations'], extra: Partial<ProjectSpec> = {}) => {
    tmp = makeTmpDir();
    s = scripted();
    f = makeCore(tmp.dir, appProject(destinations, extra), conjur, [s.def]);
    f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': 'bytes' });
    await f.core.stage({ project: 'app', version: '1.0.0', build: { number: 7 }, reportedBy: 'test', actor: { via: 'test' } });
  };
  afterEach(() => {
    f.close();
    tmp.cleanup();
  });

  it('runs a release once when two requests race: the second is told it is in progress', async () => {
    await setup([dest('slow')]);
    s.scripts.set('slow', () => new Promise((r) => setTimeout(r, 300)));
    const [first, second] = await Promise.allSettled([
      f.core.release('app', '1.0.0', alice),
      f.core.release('app', '1.0.0', { login: 'carol', via: 'cli' }),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.InProgress });
    expect(s.calls).toHaveLength(1);
    await expect(f.core.release('app', '1.0.0', alice)).rejects.toMatchObject({ code: ErrorCode.AlreadyReleased });
  });

  it('audits why a destination was skipped: the destination it waits for failed', async () => {
    await setup([dest('upload', { retries: 0 }), dest('heroku', { after: ['upload'] })]);
    s.scripts.set('upload', async () => {
      throw new ReleaseBotError(ErrorCode.DestinationFailed, 'the download host said no');
    });
    const summary = await f.core.release('app', '1.0.0', alice);
    expect(summary.state).toBe('failed');
    expect(s.calls.map((c) => c.name)).toEqual(['upload']);
    const entry = f.audit.list({ project: 'app', limit: 1 })[0];
    const heroku = entry?.type === 'failed' ? entry.data.destinations?.find((d) => d.name === 'heroku') : undefined;
    expect(heroku).toMatchObject({ status: 'skipped', detail: expect.stringContaining('upload') });
  });

  it('retries a retryable failure with backoff, never a final one, and one failure hides no success', async () => {
    await setup([dest('flaky'), dest('broken'), dest('fine')]);
    let flaky = 0;
    s.scripts.set('flaky', async () => {
      flaky += 1;
      if (flaky < 3) throw new ReleaseBotError(ErrorCode.DestinationFailed, 'HTTP 503', { retryable: true });
    });
    s.scripts.set('broken', async () => {
      throw new ReleaseBotError(ErrorCode.DestinationConflict, 'version exists with another digest');
    });
    const summary = await f.core.release('app', '1.0.0', alice);
    expect(summary.state).toBe('failed');
    const by = Object.fromEntries(summary.destinations.map((d) => [d.name, d]));
    expect(by.flaky).toMatchObject({ status: 'published', attempts: 3 });
    expect(by.broken).toMatchObject({ status: 'failed', attempts: 1, error: { code: ErrorCode.DestinationConflict, retryable: false } });
    expect(by.fine).toMatchObject({ status: 'published', attempts: 1 });
  });

  it('gives up on a destination that passes its timeout', async () => {
    await setup([dest('hangs', { timeout_seconds: 1, retries: 0 })]);
    s.scripts.set('hangs', () => new Promise(() => undefined));
    const summary = await f.core.release('app', '1.0.0', alice);
    expect(summary.destinations[0]).toMatchObject({ status: 'failed', error: { code: ErrorCode.Timeout } });
    expect(summary.state).toBe('failed');
  });

  it('runs destinations concurrently up to the project limit', async () => {
    await setup([dest('a'), dest('b'), dest('c')], { concurrency: 2 });
    for (const n of ['a', 'b', 'c']) s.scripts.set(n, () => new Promise((r) => setTimeout(r, 100)));
    await f.core.release('app', '1.0.0', alice);
    expect(s.maxRunning()).toBe(2);
  });

  it('hands each destination only its own credentials, fetched in one batch', async () => {
    await setup([dest('a', {}, { TOKEN: 'release/a/token' }), dest('b', {}, { TOKEN: 'release/b/token' })]);
    conjur.calls.length = 0;
    const summary = await f.core.release('app', '1.0.0', alice);
    expect(conjur.calls.filter((c) => c.startsWith('getSecrets'))).toEqual(['getSecrets release/a/token,release/b/token']);
    expect(s.calls.find((c) => c.name === 'a')?.credentials).toEqual({ TOKEN: 'token-a-canary' });
    expect(s.calls.find((c) => c.name === 'b')?.credentials).toEqual({ TOKEN: 'token-b-canary' });
    expect(summary.credentialIds).toEqual(['release/a/token', 'release/b/token']);
    expect(JSON.stringify(f.audit.list())).not.toContain('canary');
  });

  it('gives publishers a private copy of the verified files with the release label', async () => {
    await setup([dest('a')]);
    await f.core.release('app', '1.0.0', alice);
    expect(s.calls[0]?.files.sort()).toEqual(['app-1.0.0.release.json', 'app-1.0.0.tgz']);
    expect(existsSync(path.join(f.stagingDir, 'app/1.0.0/app-1.0.0.release.json'))).toBe(true);
  });

  it('dry run: every check and the credential fetch run, nothing is pushed, the plan is reported', async () => {
    await setup([dest('a', {}, { TOKEN: 'release/a/token' })]);
    conjur.calls.length = 0;
    const summary = await f.core.release('app', '1.0.0', alice, { dryRun: true });
    expect(summary).toMatchObject({ state: 'dry-run', dryRun: true });
    expect(summary.destinations[0]).toMatchObject({ status: 'planned', plan: ['would run a'] });
    expect(s.calls).toHaveLength(0);
    expect(conjur.calls.some((c) => c.startsWith('getSecrets'))).toBe(true);
    // A dry run holds no lock: the real release can follow.
    expect((await f.core.release('app', '1.0.0', alice)).state).toBe('published');
  });

  it('resume runs only the destinations that had not finished', async () => {
    await setup([dest('ok'), dest('down')]);
    s.scripts.set('down', async () => {
      throw new ReleaseBotError(ErrorCode.DestinationFailed, 'auth failed');
    });
    const first = await f.core.release('app', '1.0.0', alice);
    expect(first.state).toBe('failed');
    s.scripts.delete('down');
    s.calls.length = 0;
    const resumed = await f.core.release('app', '1.0.0', alice, { resume: true });
    expect(resumed.state).toBe('published');
    expect(resumed.resumeOf).toBe(first.releaseId);
    expect(s.calls.map((c) => c.name)).toEqual(['down']);
    expect(resumed.destinations.find((d) => d.name === 'ok')).toMatchObject({ status: 'skipped' });
  });

  it('refuses a resume when there is nothing to resume, and when the version was re-staged', async () => {
    await setup([dest('a')]);
    await expect(f.core.release('app', '1.0.0', alice, { resume: true })).rejects.toMatchObject({ code: ErrorCode.NotFound });
    s.scripts.set('a', async () => {
      throw new ReleaseBotError(ErrorCode.DestinationFailed, 'down');
    });
    const failed = await f.core.release('app', '1.0.0', alice);
    expect(failed.state).toBe('failed');
    // A failed release holds no lock: another build may be staged, and the failed one is then not resumable.
    f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': 'rebuilt bytes' });
    await f.core.stage({ project: 'app', version: '1.0.0', build: { number: 8 }, reportedBy: 'test', actor: { via: 'test' } });
    s.scripts.delete('a');
    s.calls.length = 0;
    await expect(f.core.release('app', '1.0.0', alice, { resume: true })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      message: expect.stringContaining(`re-staged after release ${failed.releaseId}`),
    });
    expect(s.calls).toHaveLength(0);
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'denied', data: { code: ErrorCode.Conflict } });
    // A new release of the build staged now is what it takes.
    expect((await f.core.release('app', '1.0.0', alice)).state).toBe('published');
  });

  it('refuses a re-stage of a released version, and treats the same report twice as one staged build', async () => {
    await setup([dest('a')]);
    const again = await f.core.stage({
      project: 'app',
      version: '1.0.0',
      build: { number: 7 },
      reportedBy: 'test',
      actor: { via: 'test' },
    });
    expect(again.outcome).toBe('unchanged');
    await f.core.release('app', '1.0.0', alice);
    f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': 'other bytes' });
    await expect(
      f.core.stage({ project: 'app', version: '1.0.0', build: { number: 8 }, reportedBy: 'test', actor: { via: 'test' } }),
    ).rejects.toMatchObject({ code: ErrorCode.Conflict });
  });

  it('denies a user outside the group before anything runs, and audits it', async () => {
    await setup([dest('a')]);
    await expect(f.core.release('app', '1.0.0', { login: 'mallory', via: 'cli' })).rejects.toMatchObject({
      code: ErrorCode.NotAuthorized,
      details: { group: 'release/app' },
    });
    expect(s.calls).toHaveLength(0);
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({
      type: 'denied',
      actor: { conjurLogin: 'mallory' },
      data: { code: ErrorCode.NotAuthorized },
    });
  });

  it('refuses a release of a project with approvals from the CLI path', async () => {
    await setup([dest('a')], { approvals: 1 });
    await expect(f.core.release('app', '1.0.0', alice)).rejects.toMatchObject({ code: ErrorCode.ApprovalPending });
    expect(s.calls).toHaveLength(0);
  });

  it('marks releases of a dead process as interrupted on recovery', async () => {
    await setup([dest('a')]);
    const rec = f.releases.create({
      project: 'app',
      version: '1.0.0',
      stagedBuildId: 1,
      requesterLogin: 'alice',
      requesterChat: null,
      via: 'cli',
      dryRun: false,
      resumeOf: null,
      approvers: [],
    });
    const events: string[] = [];
    f.core.events.on('release-interrupted', (e) => events.push(e.release.id));
    // Our own live release is never taken for a dead one.
    expect(f.core.recoverInterrupted()).toEqual([]);
    const gone = { self: currentProcess(), lookup: () => ({ running: false as const }) };
    f.db.prepare('UPDATE releases SET owner_pid = ? WHERE id = ?').run(currentProcess().pid + 1, rec.id);
    const recovered = f.core.recoverInterrupted(gone);
    expect(recovered.map((r) => r.id)).toEqual([rec.id]);
    expect(f.releases.get(rec.id)?.state).toBe('interrupted');
    expect(events).toEqual([rec.id]);
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'interrupted', releaseId: rec.id });
    // A second recovery (another process at the same moment) changes and audits nothing.
    f.db.prepare(`UPDATE releases SET state = 'publishing' WHERE id = ?`).run(rec.id);
    f.releases.markInterrupted(rec.id, { code: 'INTERRUPTED', message: 'x' });
    expect(f.core.recoverInterrupted(gone)).toEqual([]);
  });

  it('recovers, before a release, a live release whose pid now belongs to another running process, and then releases', async () => {
    await setup([dest('a')]);
    const rec = f.releases.create({
      project: 'app',
      version: '1.0.0',
      stagedBuildId: 1,
      requesterLogin: 'alice',
      requesterChat: null,
      via: 'cli',
      dryRun: false,
      resumeOf: null,
      approvers: [],
    });
    // The pid is reused by some other process (as after a reboot, or a container restart); the start time recorded is not its own.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => other.once('spawn', r));
      f.db.prepare('UPDATE releases SET owner_pid = ? WHERE id = ?').run(other.pid, rec.id);
      await expect(f.core.release('app', '1.0.0', alice)).resolves.toMatchObject({ state: 'published' });
    } finally {
      other.kill('SIGKILL');
    }
    expect(f.releases.get(rec.id)).toMatchObject({ state: 'interrupted', errorCode: 'INTERRUPTED' });
    const types = f.audit.list({ limit: 10 }).map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['published', 'requested', 'interrupted']);
  });

  it('leaves a live release alone while its owner runs: a new release is told it is in progress', async () => {
    await setup([dest('a')]);
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => other.once('spawn', r));
      const rec = f.releases.create({
        project: 'app',
        version: '1.0.0',
        stagedBuildId: 1,
        requesterLogin: 'alice',
        requesterChat: null,
        via: 'cli',
        dryRun: false,
        resumeOf: null,
        approvers: [],
      });
      // The owner is that running process, recorded with its own start time.
      f.db
        .prepare('UPDATE releases SET owner_pid = ?, owner_start_time = ? WHERE id = ?')
        .run(other.pid, procStartTime(other.pid as number), rec.id);
      await expect(f.core.release('app', '1.0.0', alice)).rejects.toMatchObject({ code: ErrorCode.InProgress });
      expect(f.releases.get(rec.id)?.state).toBe('requested');
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('while draining, the running release finishes and a new request is refused (audited)', async () => {
    await setup([dest('slow')]);
    f.stageFiles('app', '2.0.0', { 'app-2.0.0.tgz': 'bytes 2' });
    await f.core.stage({ project: 'app', version: '2.0.0', build: { number: 8 }, reportedBy: 'test', actor: { via: 'test' } });
    let finish: () => void = () => undefined;
    s.scripts.set('slow', () => new Promise<void>((r) => (finish = r)));
    const running = f.core.release('app', '1.0.0', alice);
    await new Promise<void>((r) => f.core.events.once('destination-started', () => r()));
    const drained = f.core.drain();
    await expect(f.core.release('app', '2.0.0', alice)).rejects.toMatchObject({
      code: ErrorCode.InProgress,
      message: expect.stringContaining('shutting down'),
    });
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'denied', version: '2.0.0', data: { code: ErrorCode.InProgress } });
    finish();
    await expect(running).resolves.toMatchObject({ state: 'published' });
    await drained;
    expect(s.calls.map((c) => c.name)).toEqual(['slow']);
  });
});
