import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** Files whose SQL their owners are moving into src/store/ now (eslint.config.js names them too): the integrator removes them. */
/**
 * The rule ids and lines ESLint reports for `code` as if it were each of `files` in the repository:
 * one ESLint process for all of them (the repository's own eslint.config.js), outside Jest's module loader.
 */
function lint(files: readonly string[], code: string): Record<string, { ruleId: string | null; line: number }[]> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const script = `
    import { ESLint } from 'eslint';
    const eslint = new ESLint();
    const out = {};
    for (const file of JSON.parse(process.argv[1])) {
      const [result] = await eslint.lintText(process.env.LINT_CODE, { filePath: file });
      out[file] = (result?.messages ?? []).map(({ ruleId, line }) => ({ ruleId, line }));
    }
    process.stdout.write(JSON.stringify(out));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...env, LINT_CODE: code },
  });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, { ruleId: string | null; line: number }[]>;
}

const SQL = [
  "import type { Db } from '../store/db.js';",
  "export const one = (db: Db) => db.prepare('SELECT 1').get();",
  "export const wipe = (app: { db: Db }) => app.db.exec('DELETE FROM audit_log');",
  "export const version = (db: Db) => db.pragma('user_version', { simple: true });",
  'export const words = (s: string) => /^(\\w+)/.exec(s);',
  '',
].join('\n');

describe('every SQL statement lives in src/store/', () => {
  it('the lint refuses a prepare, a db.exec and a pragma outside src/store/, and leaves a RegExp#exec alone', () => {
    const outside = [
      'src/release/freeze.ts',
      'src/audit/log.ts',
      'src/metrics.ts',
      'handlers/cli/commands/doctor.ts',
      'app/create.ts',
      'publishers/npm.ts',
    ];
    const found = lint([...outside, 'src/store/audit.ts'], SQL);
    // A handler's line 3 is refused twice: its SQL, and `app.db`, the database a handler never holds (test/handlers/boundary.test.ts).
    const refused = (file: string) =>
      (file.startsWith('handlers/') ? [2, 3, 3, 4] : [2, 3, 4]).map((line) => ({ ruleId: 'no-restricted-syntax', line }));
    expect(found).toEqual({ ...Object.fromEntries(outside.map((file) => [file, refused(file)])), 'src/store/audit.ts': [] });
  });

  it('no product file outside src/store/ prepares a statement', () => {
    const found: string[] = [];
    for (const top of ['src', 'app', 'handlers', 'publishers']) {
      for (const entry of readdirSync(path.join(root, top), { recursive: true, withFileTypes: true })) {
        const file = path.relative(root, path.join(entry.parentPath ?? (entry as { path: string }).path, entry.name));
        if (!entry.isFile() || !/\.m?ts$/.test(file) || file.startsWith('src/store/')) continue;
        if (/\.(prepare|pragma)\(/.test(readFileSync(path.join(root, file), 'utf8'))) found.push(file);
      }
    }
    expect(found).toEqual([]);
  });
});
