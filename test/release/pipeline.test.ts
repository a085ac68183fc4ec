import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { z } from 'zod';
import { AuditLog } from '../../src/audit/log.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { definePublisher } from '../../src/publishing/define-publisher.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { assertExpectedStaged } from '../../src/release/core.js';
import { runPipeline, type Pipeline, type Stage } from '../../src/release/pipeline.js';
import type { StagedBuild } from '../../src/store/staged-builds.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { testDestination } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

/** The runner every release and staging runs through: skip, logging, timing, the failing stage as the outcome. */
describe('runPipeline', () => {
  const tmp = makeTmpDir();
  let db: Db;
  let audit: AuditLog;
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c)) as never), cb()) }));

  beforeAll(() => {
    db = openDatabase(tmp.dir);
    audit = new AuditLog(db, new Redactor(), () => new Date());
  });
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });
  beforeEach(() => (lines.length = 0));

  interface Run {
    ran: string[];
    dryRun: boolean;
    cleaned?: boolean;
  }
  const stage = (name: string, run: (ctx: Run) => void = () => undefined, skip?: Stage<Run>['skip']): Stage<Run> => ({
    name,
    skip,
    run: (ctx) => {
      ctx.ran.push(name);
      run(ctx);
    },
  });
  /** An outcome as the release's: the failing stage's error is audited, and the answer names it. */
  const pipeline = (stages: Stage<Run>[]): Pipeline<Run, Stage<Run>, string> => ({
    name: 'test',
    stages,
    cleanup: (ctx) => void (ctx.cleaned = true),
    outcome: (ctx, failure) => {
      audit.append({
        type: failure ? 'failed' : 'published',
        project: 'app',
        version: '1.0.0',
        actor: { via: 'test' },
        // A release's own outcome entry (ReleaseEndData): the failing stage and its code as the error.
        data: { error: failure && { code: failure.error.code, message: `failed in ${failure.stage.name}` } },
      });
      return failure ? `failed in ${failure.stage.name}` : 'done';
    },
  });

  it('stops at a stage that throws: the later stages do not run, the cleanup does, and the failure is audited as the outcome', async () => {
    const boom = stage('verify', () => {
      throw new ReleaseBotError(ErrorCode.ArtifactMismatch, 'the bytes changed');
    });
    const ctx: Run = { ran: [], dryRun: false };
    await expect(runPipeline(pipeline([stage('admit'), boom, stage('publish')]), ctx, log)).resolves.toBe('failed in verify');
    expect(ctx).toEqual({ ran: ['admit', 'verify'], dryRun: false, cleaned: true });
    expect(audit.list({ limit: 1 })[0]).toMatchObject({
      type: 'failed',
      data: { error: { code: ErrorCode.ArtifactMismatch, message: 'failed in verify' } },
    });
    expect(lines.filter((l) => l.msg === 'stage failed')).toEqual([
      expect.objectContaining({ pipeline: 'test', stage: 'verify', code: ErrorCode.ArtifactMismatch, durationMs: expect.any(Number) }),
    ]);
    expect(lines.some((l) => l.stage === 'publish')).toBe(false);
  });

  it('gives the outcome a coded error when a stage throws something else', async () => {
    const ctx: Run = { ran: [], dryRun: false };
    const raw = stage('label', () => {
      throw new Error('EACCES');
    });
    await runPipeline(pipeline([raw]), ctx, log);
    expect(audit.list({ limit: 1 })[0]).toMatchObject({
      type: 'failed',
      data: { error: { code: ErrorCode.Internal, message: 'failed in label' } },
    });
  });

  it('logs a skipped stage as skipped with its reason, and never runs it', async () => {
    const ctx: Run = { ran: [], dryRun: true };
    const plan = stage('publish', undefined, (c) => c.dryRun && 'a dry run pushes nothing');
    await expect(runPipeline(pipeline([stage('admit'), plan, stage('finalize')]), ctx, log)).resolves.toBe('done');
    expect(ctx.ran).toEqual(['admit', 'finalize']);
    expect(lines.filter((l) => l.msg === 'stage skipped')).toEqual([
      expect.objectContaining({ pipeline: 'test', stage: 'publish', reason: 'a dry run pushes nothing' }),
    ]);
    expect(lines.filter((l) => l.msg === 'stage done').map((l) => l.stage)).toEqual(['admit', 'finalize']);
    expect(audit.list({ limit: 1 })[0]).toMatchObject({ type: 'published', data: {} });
  });

  it('logs a cleanup that throws and still gives the outcome', async () => {
    const ctx: Run = { ran: [], dryRun: false };
    const failingCleanup = {
      ...pipeline([stage('admit')]),
      cleanup: () => {
        throw new Error('ENOTEMPTY');
      },
    };
    await expect(runPipeline(failingCleanup, ctx, log)).resolves.toBe('done');
    expect(lines.filter((l) => l.msg === 'cleanup after the stages failed')).toHaveLength(1);
  });
});

/** The release itself runs through the runner: its stages in order, skipped ones logged, a failing one its outcome. */
describe('the release pipeline', () => {
  const tmp = makeTmpDir();
  const published: string[] = [];
  const spy = definePublisher({
    type: 'spy',
    description: 'records the versions it is asked to publish',
    artifacts: ['files'],
    options: z.object({}).strict(),
    tools: [],
    publish: (ctx: PublishContext) => {
      published.push(ctx.version);
      return Promise.resolve({ status: 'published' as const });
    },
  });
  const alice = { login: 'alice', via: 'cli' as const };
  const project = (credentials?: Record<string, string>) =>
    appProject([testDestination(spy, 'spy', {}, credentials ? { credentials } : {})]);
  const logged = (f: CoreFixture) =>
    f.logLines.map((l) => JSON.parse(l) as { msg: string; stage?: string; reason?: string; code?: string });
  afterAll(() => tmp.cleanup());
  beforeEach(() => (published.length = 0));

  const staged = async (f: CoreFixture, version: string) => {
    f.stageFiles('app', version, { [`app-${version}.tgz`]: `bytes ${version}` });
    await f.core.stage({ project: 'app', version, build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } });
    f.logLines.length = 0;
  };

  it('runs the gates then the release stages in order, and logs the ones that do not apply as skipped', async () => {
    const f = makeCore(path.join(tmp.dir, 'a'), project(), memoryConjur({ 'release/app': ['alice'] }), [spy]);
    await staged(f, '1.0.0');
    await expect(f.core.release('app', '1.0.0', alice)).resolves.toMatchObject({ state: 'published' });
    const lines = logged(f);
    expect(lines.filter((l) => l.msg === 'stage done').map((l) => l.stage)).toEqual(
      ['admit', 'authorize', 'recover', 'approvals', 'lock'].concat([
        'start',
        'workspace',
        'verify',
        'label',
        'staging-label',
        'destinations',
        'publish',
        'place-label',
      ]),
    );
    expect(lines.filter((l) => l.msg === 'stage skipped').map((l) => [l.stage, l.reason])).toEqual([
      ['resume', 'not a resume'],
      ['credentials', 'no destination and no signing key names a credential'],
      ['provenance', 'the project signs nothing'],
    ]);
    f.close();
  });

  it('stops a release at the stage that throws: audited as its outcome, nothing published', async () => {
    const conjur = memoryConjur({ 'release/app': ['alice'] });
    conjur.getSecrets = () => Promise.reject(new ReleaseBotError(ErrorCode.ConjurUnavailable, 'Conjur answered 503'));
    const f = makeCore(path.join(tmp.dir, 'b'), project({ TOKEN: 'release/app/token' }), conjur, [spy]);
    await staged(f, '1.0.0');
    await expect(f.core.release('app', '1.0.0', alice)).resolves.toMatchObject({
      state: 'failed',
      error: { code: ErrorCode.ConjurUnavailable },
    });
    expect(published).toEqual([]);
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'failed', data: { error: { code: ErrorCode.ConjurUnavailable } } });
    const lines = logged(f);
    expect(lines.filter((l) => l.msg === 'stage failed')).toEqual([
      expect.objectContaining({ stage: 'credentials', code: 'CONJUR_UNAVAILABLE' }),
    ]);
    expect(lines.some((l) => l.stage === 'publish' || l.stage === 'destinations')).toBe(false);
    f.close();
  });

  it('refuses at the gate that says no (MEMBERSHIP_UNDETERMINED through the one membership check): denied, never locked', async () => {
    const conjur = memoryConjur({});
    conjur.isMember = () => Promise.reject(new ReleaseBotError(ErrorCode.MembershipUndetermined, 'the group release/app has no sentinel'));
    const f = makeCore(path.join(tmp.dir, 'c'), project(), conjur, [spy]);
    await staged(f, '1.0.0');
    await expect(f.core.release('app', '1.0.0', alice)).rejects.toMatchObject({ code: ErrorCode.MembershipUndetermined });
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'denied', data: { code: ErrorCode.MembershipUndetermined } });
    expect(f.releases.latest('app', '1.0.0').map((r) => r.state)).toEqual(['denied']);
    const lines = logged(f);
    expect(lines.filter((l) => l.msg === 'stage failed').map((l) => l.stage)).toEqual(['authorize']);
    expect(lines.some((l) => l.stage === 'lock')).toBe(false);
    expect(published).toEqual([]);
    f.close();
  });

  it('fails closed at authorize: a Conjur that cannot answer refuses (CONJUR_UNAVAILABLE), a 404 is a member of nothing; no credential is read', async () => {
    const answers: Array<[() => Promise<boolean>, ErrorCode]> = [
      [() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:443')), ErrorCode.ConjurUnavailable],
      [() => Promise.reject(new ReleaseBotError(ErrorCode.Internal, 'Conjur answered 500')), ErrorCode.ConjurUnavailable],
      [() => Promise.reject(new ReleaseBotError(ErrorCode.ConjurNotFound, 'Conjur answered 404')), ErrorCode.NotAuthorized],
    ];
    for (const [i, [answer, code]] of answers.entries()) {
      const conjur = memoryConjur({ 'release/app': ['alice'] });
      conjur.isMember = answer;
      const f = makeCore(path.join(tmp.dir, `d${i}`), project({ TOKEN: 'release/app/token' }), conjur, [spy]);
      await staged(f, '1.0.0');
      await expect(f.core.release('app', '1.0.0', alice)).rejects.toMatchObject({ code });
      expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'denied', data: { code } });
      expect(conjur.calls.filter((c) => c.startsWith('getSecrets'))).toEqual([]);
      expect(published).toEqual([]);
      f.close();
    }
  });
});

/** The staged-build binding, one function every way in calls (the Slack Release button too). */
describe('assertExpectedStaged', () => {
  const build: StagedBuild = {
    id: 7,
    project: 'app',
    version: '1.0.0',
    artifact: { kind: 'files', files: [] },
    build: { number: 12 },
    reportedBy: 'test',
    fingerprint: 'f'.repeat(64),
    stagedAt: '2026-01-01T00:00:00.000Z',
  };

  it('refuses a caller bound to another build than the one staged now, and a binding that names none', () => {
    expect(() => assertExpectedStaged(build, { id: 6 })).toThrow(expect.objectContaining({ code: ErrorCode.Conflict }));
    expect(() => assertExpectedStaged(build, { id: 7, fingerprint: 'e'.repeat(64) })).toThrow(
      expect.objectContaining({ code: ErrorCode.Conflict }),
    );
    expect(() => assertExpectedStaged(build, {})).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
    expect(() => assertExpectedStaged(build, { id: 7, fingerprint: 'f'.repeat(64) })).not.toThrow();
    expect(() => assertExpectedStaged(build, undefined)).not.toThrow();
  });
});
