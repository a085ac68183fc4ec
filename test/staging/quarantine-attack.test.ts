import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openFilePath, openRootDir } from '../../src/staging/dirfd.js';
import { startBot, type Bot } from '../jenkins/helpers/bot.js';
import { botReport } from '../jenkins/helpers/reports.js';
import { token } from '../jenkins/helpers/tokens.js';
import { stopChild } from '../support/stop-child.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
/** What the build side must never get published: a file outside staging that the bot can read. */
const CANARY = `CONJUR_AUTHN_API_KEY=canary-outside-staging-${'q'.repeat(32)}\n`;
const alice = { login: 'alice', via: 'cli' as const };

/** Every regular file below `dir` (recursively, not following symlinks), as text. */
function allFileText(dir: string): string {
  if (!existsSync(dir)) return '';
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out.join('\n');
}

/**
 * The build side writes into the staging directory and sends correctly signed reports. Whatever it
 * does to the tree (symlinks at any component, swaps while the bot reads, swaps after the report),
 * no byte from outside the staging directory is recorded, quarantined or published.
 */
describe('staging quarantine against a hostile build side (release-bot serve, signed webhook)', () => {
  let bot: Bot;
  let outside: string;
  const post = (version: string, artifacts: { path: string; sha256: string }[]) =>
    bot.post('/webhooks/jenkins', botReport({ version, artifacts }), { authorization: `Bearer ${token()}` });
  /** The invariant: the canary is nowhere the bot records or publishes. */
  const expectCanaryNowhere = () => {
    const everything = [allFileText(path.join(bot.dataDir, 'quarantine')), allFileText(bot.published), bot.logs.join('')];
    const db = bot.running.app.db.prepare('SELECT group_concat(files_json) AS f FROM staged_builds').get() as { f: string | null };
    const audit = JSON.stringify(bot.running.app.audit.list({ limit: 1000 }));
    for (const text of [...everything, db.f ?? '', audit]) {
      expect(text).not.toContain(CANARY.trim());
      expect(text).not.toContain(sha(CANARY));
    }
  };

  beforeAll(async () => {
    bot = await startBot();
    outside = path.join(bot.tmpDir, 'outside');
    mkdirSync(path.join(outside, 'sub'), { recursive: true });
    writeFileSync(path.join(outside, 'sub', 'app.env'), CANARY);
    writeFileSync(path.join(outside, 'app.env'), CANARY);
  });
  afterAll(async () => {
    await bot.stop();
  });

  it('the resolver refuses sub/file when sub is a symlink (any component, not only the last)', async () => {
    const dir = bot.stageFiles('conjur-cli', '0.0.1', { 'a.gem': 'gem' });
    symlinkSync(path.join(outside, 'sub'), path.join(dir, 'sub'));
    const root = await openRootDir(dir);
    try {
      await expect(openFilePath(root, 'sub/app.env')).rejects.toThrow(/sub is a symlink or not a directory/);
      await expect(openFilePath(root, 'a.gem').then(async (f) => (await f.handle.close(), f.size))).resolves.toBe(3);
    } finally {
      await root.close();
    }
  });

  it('a sub-directory that is a symlink to a canary outside staging at report time: refused, nothing recorded', async () => {
    const dir = bot.stageFiles('conjur-cli', '5.0.0', { 'conjur-cli-5.0.0.gem': 'gem 5.0.0' });
    symlinkSync(path.join(outside, 'sub'), path.join(dir, 'sub'));
    const r = await post('5.0.0', [
      { path: 'conjur-cli-5.0.0.gem', sha256: sha('gem 5.0.0') },
      { path: 'sub/app.env', sha256: sha(CANARY) },
    ]);
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({ code: 'ARTIFACT_MISMATCH', error: expect.stringMatching(/sub in the staging directory is a symlink/) });
    expect(bot.running.app.staged.current('conjur-cli', '5.0.0')).toBeUndefined();
    expectCanaryNowhere();
  });

  it('a sub-directory swapped for a symlink to the canary, again and again, while the bot copies a large first file: never recorded, quarantined or published', async () => {
    const version = '5.1.0';
    const big = Buffer.alloc(48 << 20, 7);
    const dir = bot.stageFiles('conjur-cli', version, { 'a-big.bin': big, 'sub/app.env': 'decoy' });
    // The swap material lives outside the version directory (same filesystem): a real directory and a symlink to the canary's.
    const swap = path.join(bot.tmpDir, 'swap');
    mkdirSync(swap, { recursive: true });
    renameSync(path.join(dir, 'sub'), path.join(swap, 'real'));
    symlinkSync(path.join(outside, 'sub'), path.join(swap, 'link'));
    renameSync(path.join(swap, 'real'), path.join(dir, 'sub'));
    const swapper: ChildProcess = spawn(process.execPath, [
      '-e',
      `const fs = require('fs'); const [d, s] = process.argv.slice(1);
       for (;;) { try { fs.renameSync(d + '/sub', s + '/real'); fs.renameSync(s + '/link', d + '/sub'); fs.renameSync(d + '/sub', s + '/link'); fs.renameSync(s + '/real', d + '/sub'); } catch {} }`,
      dir,
      swap,
    ]);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        // The attacker reports the canary's digest: only reading the canary would make the digests match.
        const r = await post(version, [
          { path: 'a-big.bin', sha256: sha(big) },
          { path: 'sub/app.env', sha256: sha(CANARY) },
        ]);
        statuses.push(r.status);
        expect(r.raw).not.toContain(CANARY.trim());
      }
      expect(statuses.every((s) => s === 422 || s === 404)).toBe(true);
    } finally {
      await stopChild(swapper);
    }
    expect(bot.running.app.staged.current('conjur-cli', version)).toBeUndefined();
    expectCanaryNowhere();
  }, 120_000);

  it('a sub-directory swapped for a symlink after the report: the release publishes the quarantined bytes', async () => {
    const version = '5.2.0';
    const files = { 'conjur-cli-5.2.0.gem': 'gem 5.2.0', 'sub/app.env': 'the real config' };
    const dir = bot.stageFiles('conjur-cli', version, files);
    const r = await post(
      version,
      Object.entries(files).map(([p, c]) => ({ path: p, sha256: sha(c) })),
    );
    expect(r.status).toBe(202);
    rmSync(path.join(dir, 'sub'), { recursive: true });
    symlinkSync(path.join(outside, 'sub'), path.join(dir, 'sub'));
    const summary = await bot.running.app.core.release('conjur-cli', version, alice);
    expect(summary.state).toBe('published');
    const out = path.join(bot.published, 'conjur-cli', version);
    expect(readFileSync(path.join(out, 'sub/app.env'), 'utf8')).toBe('the real config');
    expect(readFileSync(path.join(out, 'conjur-cli-5.2.0.gem'), 'utf8')).toBe('gem 5.2.0');
    expectCanaryNowhere();
  });

  it('the whole version directory swapped for a symlink after the report: nothing published, no label written outside', async () => {
    const version = '5.3.0';
    const dir = bot.stageFiles('conjur-cli', version, { 'conjur-cli-5.3.0.gem': 'gem 5.3.0' });
    expect((await post(version, [{ path: 'conjur-cli-5.3.0.gem', sha256: sha('gem 5.3.0') }])).status).toBe(202);
    rmSync(dir, { recursive: true });
    symlinkSync(outside, dir);
    const summary = await bot.running.app.core.release('conjur-cli', version, alice);
    expect(summary).toMatchObject({ state: 'failed', error: { code: 'CONFIG_INVALID', message: expect.stringContaining('ELOOP') } });
    expect(existsSync(path.join(bot.published, 'conjur-cli', version))).toBe(false);
    expect(readdirSync(outside).sort()).toEqual(['app.env', 'sub']);
    expectCanaryNowhere();
  });

  it('a file changed in staging after the report changes nothing published', async () => {
    const version = '5.4.0';
    const dir = bot.stageFiles('conjur-cli', version, { 'conjur-cli-5.4.0.gem': 'gem 5.4.0' });
    expect((await post(version, [{ path: 'conjur-cli-5.4.0.gem', sha256: sha('gem 5.4.0') }])).status).toBe(202);
    rmSync(path.join(dir, 'conjur-cli-5.4.0.gem'));
    symlinkSync(path.join(outside, 'app.env'), path.join(dir, 'conjur-cli-5.4.0.gem'));
    expect((await bot.running.app.core.release('conjur-cli', version, alice)).state).toBe('published');
    expect(readFileSync(path.join(bot.published, 'conjur-cli', version, 'conjur-cli-5.4.0.gem'), 'utf8')).toBe('gem 5.4.0');
    // The quarantine's copies are read-only: files 0444, directories 0555.
    const staged = bot.running.app.staged.current('conjur-cli', version);
    if (staged?.artifact.kind !== 'files') throw new Error('not staged');
    const tree = bot.running.app.core.quarantine.treeDir(staged.artifact.files);
    expect(statSync(tree).mode & 0o777).toBe(0o555);
    expect(statSync(path.join(tree, 'conjur-cli-5.4.0.gem')).mode & 0o777).toBe(0o444);
    expectCanaryNowhere();
  });
});
