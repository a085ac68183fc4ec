import { Writable } from 'node:stream';
import pino from 'pino';
import { AuditLog } from '../../src/audit/log.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { runPipeline, type Pipeline, type Stage } from '../../src/release/pipeline.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase, type Db } from '../../src/store/db.js';
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
        data: { stage: failure?.stage.name, code: failure?.error.code, ran: ctx.ran },
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
      data: { stage: 'verify', code: ErrorCode.ArtifactMismatch, ran: ['admit', 'verify'] },
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
    expect(audit.list({ limit: 1 })[0]).toMatchObject({ type: 'failed', data: { stage: 'label', code: ErrorCode.Internal } });
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
    expect(audit.list({ limit: 1 })[0]).toMatchObject({ type: 'published', data: { ran: ['admit', 'finalize'] } });
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
