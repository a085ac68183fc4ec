import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../src/audit/canonical.js';
import { startBotEnv, type BotEnv } from './bot-env.js';

const TOKEN = 'mirror-token-canary-7c1e5b3f9a';

describe('release-bot audit verify / show / export / trace (as processes)', () => {
  let bot: BotEnv;
  const sqlite = () => new Database(path.join(bot.dataDir, 'release-bot.sqlite'));

  beforeAll(async () => {
    bot = await startBotEnv(
      (dir) => [
        '  conjur-cli:',
        '    authorized_group: release/conjur-cli',
        '    jenkins_job: conjur-cli',
        '    artifact: files',
        '    destinations:',
        '      - name: mirror',
        '        type: directory',
        `        path: ${dir}/mirror/{project}/{version}`,
        '        credentials: { MIRROR_TOKEN: release/mirror/token }',
      ],
      { variables: { 'release/mirror/token': { value: TOKEN, readers: ['host:release-bot'] } } },
    );
    bot.stageFiles('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' });
    expect((await bot.cli('stage', 'conjur-cli', '4.2.0', '--build-number', '123', '--build-url', 'https://jenkins.example/job/conjur-cli/123/', '--commit', '9fceb02d0ae598e95dc970b74767f19372d61af8')).code).toBe(0);
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

  it('names the first edited entry and exits 65', async () => {
    const db = sqlite();
    try {
      const row = db.prepare('SELECT id, data_json FROM audit_log WHERE seq = 2').get() as { id: string; data_json: string };
      db.prepare('UPDATE audit_log SET data_json = ? WHERE seq = 2').run(canonicalJson({ ...JSON.parse(row.data_json), reason: 'all fine' }));
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
