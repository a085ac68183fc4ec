import { lint } from '../support/lint.js';

/**
 * Handlers parse, call the core and render (issue 14): they never open the store and never write the
 * audit log. A refusal at a way in is audited by the core (app.denials); the boundary lint refuses a
 * handler that imports the store or calls the audit log's append, wherever in handlers/ it sits.
 */
const WAYS_IN = [
  ['handlers/slack/sneaky.ts', '../../'],
  ['handlers/ssh/sneaky.ts', '../../'],
  ['handlers/jenkins/sneaky.ts', '../../'],
  ['handlers/cli/commands/sneaky.ts', '../../../'],
] as const;

describe('handlers never open the store nor write the audit log', () => {
  it.each(WAYS_IN)(
    'the boundary lint refuses %s opening the store',
    async (file, rel) => {
      const r = await lint(
        file,
        `import { openDatabase } from '${rel}src/store/db.js';\nimport { Releases } from '${rel}src/store/releases.js';\nexport const x = [openDatabase, Releases];\n`,
      );
      expect(r.code).toBe(1);
      expect(r.out.match(/handlers never open the store/g)).toHaveLength(2);
    },
    120_000,
  );

  it.each(WAYS_IN)(
    'the boundary lint refuses %s appending to the audit log, through the core or a reference to it',
    async (file, rel) => {
      const r = await lint(
        file,
        [
          `import type { App } from '${rel}src/app.js';`,
          `export function deny(app: App, audit: App['core']['audit']): void {`,
          `  app.core.audit.append({ type: 'denied', actor: { via: 'slack' }, data: {} });`,
          `  audit.append({ type: 'denied', actor: { via: 'slack' }, data: {} });`,
          `}`,
          '',
        ].join('\n'),
      );
      expect(r.code).toBe(1);
      expect(r.out.match(/handlers never write the audit log/g)).toHaveLength(2);
    },
    120_000,
  );

  it.each(WAYS_IN)(
    'the boundary lint refuses %s writing the store through the read-only views, or reaching into the core for its repositories',
    async (file, rel) => {
      const r = await lint(
        file,
        [
          `import { AuditLog } from '${rel}src/audit/log.js';`,
          `import type { App } from '${rel}src/app.js';`,
          `export function tamper(app: App): unknown {`,
          `  app.releases.setState('rel_1', 'published');`,
          `  app.staged.insert({});`,
          `  const repositories = [app.core.audit, app.core.staged, app.core.releases];`,
          `  return [new AuditLog(app.db, app.redactor), repositories];`,
          `}`,
          '',
        ].join('\n'),
      );
      expect(r.code).toBe(1);
      expect(r.out.match(/handlers never write the audit log: read it through app.audit/g)).toHaveLength(1);
      expect(r.out.match(/handlers never write the store/g)).toHaveLength(2);
      expect(r.out.match(/the core keeps its audit log and repositories/g)).toHaveLength(3);
    },
    120_000,
  );

  it.each(WAYS_IN)(
    'the boundary lint refuses %s writing a yank through the yank service or the read-only yank records',
    async (file, rel) => {
      const r = await lint(
        file,
        [
          `import type { App } from '${rel}src/app.js';`,
          `export function tamper(app: App, deps: { yanks: App['yanks'] }): unknown {`,
          `  app.yankRecords.markInterrupted('yank_1');`,
          `  app.yankRecords.finish('yank_1', 'yanked');`,
          `  app.yankRecords.setDestination({});`,
          `  return [app.yanks.yanks, deps.yanks.yanks.create({})];`,
          `}`,
          '',
        ].join('\n'),
      );
      expect(r.code).toBe(1);
      expect(r.out.match(/handlers never write the store/g)).toHaveLength(3);
      expect(r.out.match(/the yank service keeps its repository/g)).toHaveLength(2);
    },
    120_000,
  );

  it.each(WAYS_IN)(
    'the boundary lint refuses %s reaching for the database, by name or by destructuring',
    async (file, rel) => {
      const r = await lint(
        file,
        [
          `import type { App } from '${rel}src/app.js';`,
          `type Held = App & { db: { open: boolean } };`,
          `export function reach(app: Held, deps: { app: Held }): unknown {`,
          `  const { db } = app;`,
          `  return [app.db.open, deps.app.db, db];`,
          `}`,
          '',
        ].join('\n'),
      );
      expect(r.code).toBe(1);
      expect(r.out.match(/handlers never hold the database/g)).toHaveLength(3);
    },
    120_000,
  );

  it('a handler may name the types of the records it renders, and refuse through app.denials', async () => {
    const r = await lint(
      'handlers/slack/fine.ts',
      [
        `import type { App } from '../../src/app.js';`,
        `import type { StagedBuild } from '../../src/store/staged-builds.js';`,
        `import { ErrorCode, ReleaseBotError } from '../../src/errors.js';`,
        `export function refuse(app: App, s: StagedBuild): ReleaseBotError {`,
        `  return app.denials.deny(new ReleaseBotError(ErrorCode.NotAuthorized, s.project), { actor: { via: 'slack' } });`,
        `}`,
        '',
      ].join('\n'),
    );
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);
});

describe('what a handler may read instead', () => {
  it('the yank records and whether the store is open, through the app', async () => {
    const r = await lint(
      'handlers/slack/fine.ts',
      [
        `import type { App } from '../../src/app.js';`,
        `export function read(app: App, project: string): unknown {`,
        `  if (!app.storeOpen()) return undefined;`,
        `  return [app.yankRecords.yankedVersions(project), app.yankRecords.latest(project), app.yanks.latestVersion(project)];`,
        `}`,
        '',
      ].join('\n'),
    );
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);
});
