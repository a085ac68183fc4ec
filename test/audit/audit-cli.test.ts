import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../src/audit/canonical.js';
import { AuditLog } from '../../src/audit/log.js';
import { Redactor } from '../../src/redact.js';
import { migrations } from '../../src/store/migrations.js';
import { repoRoot, type CliResult } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';
import { startBotEnv, type BotEnv, mirrorProject } from './bot-env.js';

const DB = 'release-bot.sqlite';

/**
 * Runs the built CLI as someone who may only read: `nobody` when the tests run as root (root writes
 * through any mode bits), else the current user. `--data-dir` is passed, never the bot's environment.
 */
function cliAsReader(args: string[]): Promise<CliResult> {
  const argv = [process.execPath, path.join(repoRoot, 'bin', 'release-bot.js'), ...args];
  const [cmd, ...rest] = process.getuid?.() === 0 ? ['runuser', '-u', 'nobody', '--', ...argv] : argv;
  return new Promise((resolve) => {
    execFile(cmd as string, rest, { env: { PATH: process.env.PATH }, cwd: repoRoot, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Each file's name, sha256 and mtime: what must stay exactly as it was after a read. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [
        f,
        `${createHash('sha256')
          .update(readFileSync(path.join(dir, f)))
          .digest('hex')} ${statSync(path.join(dir, f)).mtimeMs}`,
      ]),
  );
}

function makeReadOnly(dir: string): void {
  for (const f of readdirSync(dir)) chmodSync(path.join(dir, f), 0o444);
  chmodSync(dir, 0o555);
}

const TOKEN = 'mirror-token-canary-7c1e5b3f9a';

describe('release-bot audit verify / show / export / trace (as processes)', () => {
  let bot: BotEnv;
  const sqlite = () => new Database(path.join(bot.dataDir, 'release-bot.sqlite'));

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: TOKEN, readers: ['host:release-bot'] } },
    });
    bot.stageFiles('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' });
    expect(
      (
        await bot.cli(
          'stage',
          'conjur-cli',
          '4.2.0',
          '--build-number',
          '123',
          '--build-url',
          'https://jenkins.example/job/conjur-cli/123/',
          '--commit',
          '9fceb02d0ae598e95dc970b74767f19372d61af8',
        )
      ).code,
    ).toBe(0);
    expect((await bot.cli('publish', 'conjur-cli', '4.2.0', '--as', 'bob')).code).toBe(77);
    const published = await bot.cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice');
    expect(published.code).toBe(0);
  });

  afterAll(async () => {
    await bot.close();
  });

  it('verifies an intact chain, prints the head hash and says a truncated tail needs an anchor', async () => {
    const r = await bot.cli('audit', 'verify');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^audit chain intact: 4 entries, seq 1–4/);
    const head = sqlite().prepare('SELECT id, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { id: string; hash: string };
    expect(r.stdout).toContain(`head: seq 4 ${head.id} ${head.hash}`);
    expect(r.stdout).toContain('--anchor <hash>');
    const anchored = await bot.cli('audit', 'verify', '--anchor', head.hash);
    expect(anchored.code).toBe(0);
    expect(anchored.stdout).toContain(`anchor ${head.hash}: found at seq 4`);
  });

  it('traces the published version on one screen', async () => {
    const r = await bot.cli('audit', 'trace', 'conjur-cli', '4.2.0');
    expect(r.code).toBe(0);
    const sha = (await bot.cli('audit', 'list', '--json', '--limit', '1')).stdout;
    const published = JSON.parse(sha);
    const digest = published.data.artifact.files[0].sha256 as string;
    expect(r.stdout).toMatch(/^conjur-cli 4\.2\.0: PUBLISHED at \S+ — release rel_\S+, audit aud_\S+ \(seq 4\)/);
    expect(r.stdout).toContain('audit chain: intact, 4 entries');
    expect(r.stdout).toContain('build #123 https://jenkins.example/job/conjur-cli/123/, commit 9fceb02d0ae598e95dc970b74767f19372d61af8');
    expect(r.stdout).toMatch(/staged: +\S+ by cli:\S+ \(audit aud_\S+, seq 1\)/);
    expect(r.stdout).toContain(`sha256:${digest}  conjur-cli-4.2.0.gem (15 bytes)`);
    expect(r.stdout).toContain('at publish:  same digests as at staging');
    expect(r.stdout).toContain('requested:   alice via cli');
    expect(r.stdout).toContain('Conjur:      as host/release-bot, read release/mirror/token');
    expect(r.stdout).toMatch(/mirror \[directory\] +published/);
    expect(r.stdout).toMatch(/denied by bob \(NOT_AUTHORIZED\)/);
    expect(r.stdout.split('\n').length).toBeLessThan(25);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('says so, with exit 66, for a version that was never published', async () => {
    const r = await bot.cli('audit', 'trace', 'conjur-cli', '9.9.9');
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('no entry for conjur-cli 9.9.9');
    const bad = await bot.cli('audit', 'trace', 'conjur-cli', '4.2.0;id');
    expect(bad.code).toBe(64);
  });

  it('shows one entry and refuses a malformed id', async () => {
    const latest = JSON.parse((await bot.cli('audit', 'list', '--json', '--limit', '1')).stdout);
    const r = await bot.cli('audit', 'show', latest.id);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: latest.id, seq: 4, type: 'published', hash: latest.hash, prevHash: latest.prevHash });
    expect((await bot.cli('audit', 'show', 'aud_doesnotexist')).code).toBe(66);
    expect((await bot.cli('audit', 'show', "aud_x' OR 1=1")).code).toBe(64);
  });

  it('exports JSON Lines that verify on their own, and never overwrites a file', async () => {
    const file = path.join(bot.dir, 'export.jsonl');
    expect((await bot.cli('audit', 'export', '--jsonl', '--output', file)).code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3, 4]);
    const stdout = (await bot.cli('audit', 'export', '--jsonl')).stdout;
    expect(stdout.trim().split('\n')).toEqual(lines);
    const v = await bot.cli('audit', 'verify', '--input', file);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`audit chain intact: 4 entries, seq 1–4 (${file})`);
    const again = await bot.cli('audit', 'export', '--output', file);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('EEXIST');
  });

  describe('read-only: an audit read writes nothing and works on a read-only copy', () => {
    const copies = makeTmpDir('release-bot-audit-copy-');
    afterAll(() => copies.cleanup());
    let n = 0;
    /** A fresh directory `nobody` can reach, holding `files` (name in it -> path to copy). */
    const copyDir = (files: Record<string, string>): string => {
      chmodSync(copies.dir, 0o755);
      const dir = path.join(copies.dir, `data-${++n}`);
      mkdirSync(dir);
      for (const [name, from] of Object.entries(files)) copyFileSync(from, path.join(dir, name));
      return dir;
    };
    /** The bot's database with every entry in the main file (the WAL checkpointed and emptied). */
    const checkpointed = (): string => {
      const db = new Database(path.join(bot.dataDir, DB));
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      return path.join(bot.dataDir, DB);
    };

    it('verifies, lists, shows, exports and traces a read-only copy of the database, and changes no byte of it', async () => {
      const dir = copyDir({ [DB]: checkpointed() });
      makeReadOnly(dir);
      const before = snapshot(dir);
      const verify = await cliAsReader(['audit', 'verify', '--data-dir', dir]);
      expect(verify.stderr).toBe('');
      expect(verify.code).toBe(0);
      expect(verify.stdout).toMatch(/^audit chain intact: 4 entries, seq 1–4 \(database\)/);
      const list = await cliAsReader(['audit', 'list', '--json', '--data-dir', dir]);
      expect(list.code).toBe(0);
      const entries = list.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; seq: number });
      expect(entries.map((e) => e.seq)).toEqual([4, 3, 2, 1]);
      expect((await cliAsReader(['audit', 'show', entries[0]?.id as string, '--data-dir', dir])).code).toBe(0);
      expect((await cliAsReader(['audit', 'export', '--jsonl', '--data-dir', dir])).stdout.trim().split('\n')).toHaveLength(4);
      expect((await cliAsReader(['audit', 'trace', 'conjur-cli', '4.2.0', '--data-dir', dir])).code).toBe(0);
      // Same files, same bytes, same mtimes: no -wal or -shm created, no migration, no journal mode set.
      expect(snapshot(dir)).toEqual(before);
      expect(Object.keys(before)).toEqual([DB]);
    });

    it('reads the entries still in the WAL of a copy that kept its -wal and -shm, and changes none of the three', async () => {
      const src = copyDir({ [DB]: checkpointed() });
      const db = new Database(path.join(src, DB));
      db.pragma('wal_autocheckpoint = 0');
      new AuditLog(db, new Redactor()).append({
        type: 'frozen',
        project: 'conjur-cli',
        actor: { via: 'cli:auditor-test' },
        data: { reason: 'only in the WAL' },
      });
      // Copied while open, as an auditor copies a running bot's files: the fifth entry is only in the -wal.
      const dir = copyDir({
        [DB]: path.join(src, DB),
        [`${DB}-wal`]: path.join(src, `${DB}-wal`),
        [`${DB}-shm`]: path.join(src, `${DB}-shm`),
      });
      db.close();
      makeReadOnly(dir);
      const before = snapshot(dir);
      const verify = await cliAsReader(['audit', 'verify', '--data-dir', dir]);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toMatch(/^audit chain intact: 5 entries, seq 1–5/);
      const latest = JSON.parse((await cliAsReader(['audit', 'list', '--json', '--limit', '1', '--data-dir', dir])).stdout) as {
        type: string;
        data: { reason: string };
      };
      expect(latest).toMatchObject({ type: 'frozen', data: { reason: 'only in the WAL' } });
      expect(snapshot(dir)).toEqual(before);
    });

    it('refuses a -wal with entries but without its -shm, saying what to copy, and creates nothing', async () => {
      const src = copyDir({ [DB]: checkpointed() });
      const db = new Database(path.join(src, DB));
      db.pragma('wal_autocheckpoint = 0');
      new AuditLog(db, new Redactor()).append({
        type: 'frozen',
        project: 'conjur-cli',
        actor: { via: 'cli:auditor-test' },
        data: { reason: 'only in the WAL' },
      });
      const dir = copyDir({ [DB]: path.join(src, DB), [`${DB}-wal`]: path.join(src, `${DB}-wal`) });
      db.close();
      const before = snapshot(dir);
      const r = await cliAsReader(['audit', 'verify', '--data-dir', dir]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`${DB}-shm is missing: copy all three files together, or checkpoint before copying`);
      expect(snapshot(dir)).toEqual(before);
    });

    const withSchema = (version: number): string => {
      const dir = copyDir({ [DB]: checkpointed() });
      const db = new Database(path.join(dir, DB));
      db.pragma(`user_version = ${version}`);
      db.close();
      makeReadOnly(dir);
      return dir;
    };

    it('refuses a schema newer or older than this release-bot knows, and never migrates', async () => {
      const newer = withSchema(migrations.length + 1);
      const r = await cliAsReader(['audit', 'verify', '--data-dir', newer]);
      expect(r.code).toBe(78);
      expect(r.stderr).toContain(`is at schema version ${migrations.length + 1}, newer than this release-bot knows (${migrations.length})`);

      const older = withSchema(migrations.length - 1);
      const before = snapshot(older);
      const o = await cliAsReader(['audit', 'list', '--data-dir', older]);
      expect(o.code).toBe(78);
      expect(o.stderr).toContain(
        `is at schema version ${migrations.length - 1}, older than this release-bot (${migrations.length}), and a read never migrates it`,
      );
      expect(snapshot(older)).toEqual(before);
    });

    it('refuses a database release-bot never set up, without creating its tables', async () => {
      const dir = copyDir({});
      new Database(path.join(dir, DB)).close();
      makeReadOnly(dir);
      const before = snapshot(dir);
      const r = await cliAsReader(['audit', 'verify', '--data-dir', dir]);
      expect(r.code).toBe(66);
      expect(r.stderr).toContain('has no release-bot schema');
      expect(snapshot(dir)).toEqual(before);
    });
  });

  it('names the first edited entry and exits 65', async () => {
    const db = sqlite();
    try {
      const row = db.prepare('SELECT id, data_json FROM audit_log WHERE seq = 2').get() as { id: string; data_json: string };
      db.prepare('UPDATE audit_log SET data_json = ? WHERE seq = 2').run(
        canonicalJson({ ...JSON.parse(row.data_json), reason: 'all fine' }),
      );
      const r = await bot.cli('audit', 'verify');
      expect(r.code).toBe(65);
      expect(r.stdout).toMatch(new RegExp(`^audit chain BROKEN at seq 2 \\(${row.id}\\): changed: its content was changed`));
      expect(r.stdout).toMatch(/intact before it: seq 1–1/);
      const trace = await bot.cli('audit', 'trace', 'conjur-cli', '4.2.0');
      expect(trace.code).toBe(65);
      expect(trace.stdout).toContain('audit chain: BROKEN at seq 2');
      const json = JSON.parse((await bot.cli('audit', 'verify', '--json')).stdout);
      expect(json).toMatchObject({ ok: false, break: { seq: 2, id: row.id, kind: 'changed' } });
    } finally {
      db.close();
    }
  });

  it('refuses an anchor that is not a hash', async () => {
    const r = await bot.cli('audit', 'verify', '--anchor', 'abc');
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('64 hex digits');
  });
});
