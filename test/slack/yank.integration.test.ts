import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import type { ServingBot } from '../../app/serve.js';
import { Yanks } from '../../src/store/yanks.js';
import { project } from '../support/projects-file.js';
import { bodyText, CANARY, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

/** Every file under a directory, read as text (the database and its WAL included). */
function everyFile(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(readFileSync(p).toString('latin1'));
    }
  };
  walk(dir);
  return out.join('\n');
}

/**
 * `/release yank` and `/release rollback` through a running `serve`: signed Slack requests, the Conjur
 * stand-in, a real directory destination. Project `tiny` may be released by release/conjur-cli
 * (alice, bob) and yanked only by release/yankers (carol): yank_group is its own gate.
 */
describe('Slack: /release yank and rollback take a version back through the release gates', () => {
  let w: SlackWorld;
  const mirror = (...p: string[]) => path.join(w.mirrorDir, 'tiny', ...p);
  const lastAudit = () => w.server.app.audit.list({ limit: 1 })[0];

  beforeAll(async () => {
    w = await startSlackWorld({
      // The yank group, with its membership sentinel (deploy/conjur/policy.yml); carol joins it below.
      conjur: { groups: { 'release/yankers': [] } },
      extraProjects: {
        tiny: project(
          'tiny',
          [
            // A credential on a destination that can yank: it is fetched for the yank, and must leak nowhere.
            {
              name: 'mirror',
              type: 'directory',
              path: '__MIRROR__/{project}/{version}',
              credentials: { MIRROR_TOKEN: 'release/downloads/token' },
            },
          ],
          { authorized_group: 'release/conjur-cli', yank_group: 'release/yankers' },
        ),
      },
    });
    // The projects file is written before the world knows its mirror: point it there and reload.
    const file = String(w.env.RELEASE_BOT_CONFIG);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('__MIRROR__', w.mirrorDir));
    // Reloaded as an operator's edit is (SIGHUP, through serve's reloader), never behind the reloader's back: a
    // policy swapped in directly left the reloader to find the same file changed later, under load during a test,
    // and audit a config-changed entry after the entry the test reads.
    expect((w.server as ServingBot).reload('SIGHUP')).toMatchObject({ outcome: 'changed' });
    w.conjur.addMember('release/yankers', 'user:carol');

    for (const v of ['1.0.0', '1.1.0']) {
      await w.stage('tiny', v, { [`tiny-${v}.tgz`]: `tiny bytes ${v}` });
      await expect(w.server.app.core.release('tiny', v, { login: 'alice', via: 'cli' })).resolves.toMatchObject({ state: 'published' });
    }
    expect(readFileSync(mirror('1.1.0', 'tiny-1.1.0.tgz'), 'utf8')).toBe('tiny bytes 1.1.0');
  }, 60_000);

  afterAll(async () => {
    await w?.stop();
  });

  it('refuses someone outside the yank group, even a member of the group that may release, and audits it', async () => {
    for (const who of ['mallory', 'alice'] as const) {
      const sent = await w.command(who, 'yank tiny 1.1.0 it is broken');
      const answer = await w.reply(sent.responseUrl);
      expect(text(answer)).toContain(`${who} is not a member of the Conjur group release/yankers, which may yank tiny`);
      expect(lastAudit()).toMatchObject({
        type: 'denied',
        project: 'tiny',
        version: '1.1.0',
        actor: { conjurLogin: who },
        data: { action: 'yank', code: 'NOT_AUTHORIZED', yankReason: 'it is broken' },
      });
    }
    // The invariant: nothing moved, nothing marked, nothing frozen.
    expect(readFileSync(mirror('1.1.0', 'tiny-1.1.0.tgz'), 'utf8')).toBe('tiny bytes 1.1.0');
    expect(existsSync(mirror('1.1.0', 'yanked'))).toBe(false);
    expect(w.server.app.yankRecords.yankedVersions('tiny').size).toBe(0);
    expect(w.server.app.yanks.freezes.get('tiny')).toBeUndefined();
  });

  it('fails closed when Conjur cannot answer the membership question', async () => {
    w.conjur.setDown(true);
    try {
      const sent = await w.command('carol', 'yank tiny 1.1.0 it is broken');
      expect(text(await w.reply(sent.responseUrl))).toContain('cannot check authorization in Conjur');
    } finally {
      w.conjur.setDown(false);
    }
    expect(lastAudit()).toMatchObject({ type: 'denied', data: { action: 'yank', code: 'CONJUR_UNAVAILABLE' } });
    expect(existsSync(mirror('1.1.0', 'yanked'))).toBe(false);
  });

  it('refuses a version that was never released, and audits it', async () => {
    const sent = await w.command('carol', 'yank tiny 9.9.9 never was');
    expect(text(await w.reply(sent.responseUrl))).toContain('tiny 9.9.9 was never released');
    expect(lastAudit()).toMatchObject({ type: 'denied', version: '9.9.9', data: { action: 'yank', code: 'NOT_FOUND' } });
  });

  it('refuses a yank while another process holds the version (a concurrent yank), then runs once that process is gone', async () => {
    // Another live process (a CLI yank) holds the per-version lock: a real process, so the bot cannot take it for dead.
    const holder: ChildProcess = spawn('sleep', ['600']);
    const other = new Yanks(w.server.app.db, () => new Date(), {
      host: hostname(),
      bootId: null,
      pid: holder.pid as number,
      startTime: null,
    });
    const held = other.create({
      project: 'tiny',
      version: '1.0.0',
      reason: 'first',
      requesterLogin: 'carol',
      requesterChat: null,
      via: 'cli',
      approvers: [],
      dryRun: false,
    });
    try {
      const sent = await w.command('carol', 'yank tiny 1.0.0 second one');
      expect(text(await w.reply(sent.responseUrl))).toContain(`tiny 1.0.0 is being yanked right now by carol (${held.id})`);
      expect(lastAudit()).toMatchObject({ type: 'denied', version: '1.0.0', data: { action: 'yank', code: 'IN_PROGRESS' } });
      expect(existsSync(mirror('1.0.0', 'yanked'))).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // The holder died mid-yank: the next yank marks it interrupted (audited) and runs.
    const sent = await w.command('carol', 'yank tiny 1.0.0 second one --no-lock');
    expect(text(await w.reply(sent.responseUrl, 30_000))).toContain('Yanked tiny 1.0.0');
    expect(w.server.app.yankRecords.get(held.id)?.state).toBe('interrupted');
    expect(
      w.server.app.audit.list({ project: 'tiny', limit: 20 }).some((e) => e.type === 'yank-interrupted' && e.data.yankId === held.id),
    ).toBe(true);
    expect(w.server.app.yanks.freezes.get('tiny')).toBeUndefined();
  });

  it('refuses a yank without the approvals the project requires, and audits it', async () => {
    await w.stage('gated', '2.0.0', { 'gated-2.0.0.tgz': 'gated bytes' });
    await expect(
      w.server.app.core.release('gated', '2.0.0', { login: 'alice', via: 'cli' }, { approvers: ['bob'] }),
    ).resolves.toMatchObject({ state: 'published' });
    // Approvals are collected in Slack (test/slack/yank-approvals.integration.test.ts); the CLI cannot collect them.
    const refused = await w.cli('yank', 'gated', '2.0.0', 'bad', '--as', 'alice');
    expect(refused.code).toBe(75);
    expect(refused.stderr).toContain('gated needs 1 approval(s) from members of release/gated other than the requester');
    expect(lastAudit()).toMatchObject({ type: 'denied', project: 'gated', data: { action: 'yank', code: 'APPROVAL_PENDING' } });
    expect(existsSync(path.join(w.mirrorDir, 'gated', '2.0.0', 'yanked'))).toBe(false);
  });

  it('a dry run fetches the credentials and says what it would do, and changes nothing', async () => {
    const before = w.conjur.requests.length;
    const sent = await w.command('carol', 'yank tiny 1.1.0 checking --dry-run');
    const answer = await w.reply(sent.responseUrl, 30_000);
    expect(text(answer)).toContain('Dry run of the yank of tiny 1.1.0');
    expect(text(answer)).toContain(`would: move ${mirror('1.1.0', 'tiny-1.1.0.tgz')} to ${mirror('1.1.0', 'yanked', 'tiny-1.1.0.tgz')}`);
    expect(w.conjur.requests.slice(before).some((r) => r.path.includes('secrets'))).toBe(true);
    expect(readFileSync(mirror('1.1.0', 'tiny-1.1.0.tgz'), 'utf8')).toBe('tiny bytes 1.1.0');
    expect(existsSync(mirror('1.1.0', 'yanked'))).toBe(false);
    expect(w.server.app.yankRecords.yankedVersions('tiny').has('1.1.0')).toBe(false);
    expect(lastAudit()).toMatchObject({ type: 'yank-dry-run', version: '1.1.0' });
  });

  it('yanks: files moved into yanked/ with the reason, the summary in the channel, the project frozen, audited with reason', async () => {
    const sent = await w.command('carol', 'yank tiny 1.1.0 corrupt   build <!channel>');
    const summary = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.body.channel === 'C0RELEASES' && text(c).startsWith('Yanked tiny 1.1.0'),
      30_000,
    );
    expect(text(summary)).toContain(`mirror [directory]: done: 2 file(s) moved into ${mirror('1.1.0', 'yanked')}`);
    // 1.0.0 was yanked before: nothing is left for latest to move back to, and the summary says so.
    expect(text(summary)).toContain('no released version of tiny is left that is not yanked');
    // Text the requester typed reaches the channel escaped: it can mention nobody.
    expect(bodyText(summary)).not.toContain('<!channel>');
    await w.reply(sent.responseUrl);

    expect(existsSync(mirror('1.1.0', 'tiny-1.1.0.tgz'))).toBe(false);
    expect(readFileSync(mirror('1.1.0', 'yanked', 'tiny-1.1.0.tgz'), 'utf8')).toBe('tiny bytes 1.1.0');
    expect(existsSync(mirror('1.1.0', 'yanked', 'tiny-1.1.0.release.json'))).toBe(true);
    expect(JSON.parse(readFileSync(mirror('1.1.0', 'yanked', 'tiny-1.1.0.tgz.yank.json'), 'utf8'))).toMatchObject({
      project: 'tiny',
      version: '1.1.0',
      yanked: true,
      reason: 'corrupt build <!channel>',
    });

    expect(w.server.app.yanks.freezes.get('tiny')).toMatchObject({ by: 'carol', reason: 'yanked 1.1.0: corrupt build <!channel>' });
    const yanked = w.server.app.audit.list({ project: 'tiny', limit: 5 }).find((e) => e.type === 'yanked');
    expect(yanked).toMatchObject({
      version: '1.1.0',
      actor: { conjurLogin: 'carol', chatUserId: 'U0CAROL', via: 'slack' },
      data: { reason: 'corrupt build <!channel>', approvers: [], credentialIds: ['release/downloads/token'] },
    });
  });

  it('a yank is allowed while frozen and idempotent: the done destination answers already done', async () => {
    expect(w.server.app.yanks.freezes.get('tiny')).toBeDefined();
    const sent = await w.command('carol', 'yank tiny 1.1.0 once more');
    const answer = await w.reply(sent.responseUrl, 30_000);
    expect(text(answer)).toContain('mirror [directory]: already done');
    expect(readFileSync(mirror('1.1.0', 'yanked', 'tiny-1.1.0.tgz'), 'utf8')).toBe('tiny bytes 1.1.0');
  });

  it('a yanked version is never released again (refused and audited), and status and list show it yanked', async () => {
    const unlock = await w.command('alice', 'unlock tiny');
    await w.reply(unlock.responseUrl);
    expect(w.server.app.yanks.freezes.get('tiny')).toBeUndefined();
    const sent = await w.command('alice', 'tiny 1.1.0');
    expect(text(await w.reply(sent.responseUrl))).toContain('tiny 1.1.0 was yanked');
    expect(lastAudit()).toMatchObject({ type: 'denied', version: '1.1.0', data: { code: 'ALREADY_RELEASED' } });
    expect(existsSync(mirror('1.1.0', 'tiny-1.1.0.tgz'))).toBe(false);

    const status = await w.command('alice', 'status tiny');
    const shown = text(await w.reply(status.responseUrl));
    expect(shown).toContain('1.1.0 (yanked: corrupt build');
    const list = await w.command('alice', 'list tiny');
    expect(text(await w.reply(list.responseUrl))).toContain('tiny 1.1.0 (yanked)');
  });

  it('audit trace shows the yank with its reason and approvers', async () => {
    const trace = await w.cli('audit', 'trace', 'tiny', '1.1.0');
    expect(trace.code).toBe(0);
    expect(trace.stdout).toMatch(/YANKED: .* by carol, no approvals recorded: corrupt build <!channel> — yank_/);
    expect(trace.stdout).toContain('mirror  yanked');
  });

  it('rollback yanks the newest released version and says what is latest now', async () => {
    await w.stage('tiny', '1.2.0', { 'tiny-1.2.0.tgz': 'tiny bytes 1.2.0' });
    await expect(w.server.app.core.release('tiny', '1.2.0', { login: 'alice', via: 'cli' })).resolves.toMatchObject({ state: 'published' });
    await w.stage('tiny', '1.3.0', { 'tiny-1.3.0.tgz': 'tiny bytes 1.3.0' });
    await expect(w.server.app.core.release('tiny', '1.3.0', { login: 'alice', via: 'cli' })).resolves.toMatchObject({ state: 'published' });
    const sent = await w.command('carol', 'rollback tiny login page broken --no-lock');
    const answer = text(await w.reply(sent.responseUrl, 30_000));
    expect(answer).toContain('Yanked tiny 1.3.0: rollback: login page broken');
    expect(answer).toContain('latest is now 1.2.0');
    expect(existsSync(mirror('1.3.0', 'yanked', 'tiny-1.3.0.tgz'))).toBe(true);
    expect(existsSync(mirror('1.2.0', 'tiny-1.2.0.tgz'))).toBe(true);
  });

  it('release-bot yank --as runs the same gates from the CLI: refused for a non-member (exit 77, audited), done for a member and posted in the channel by serve', async () => {
    const refused = await w.cli('yank', 'tiny', '1.2.0', 'from', 'the', 'cli', '--as', 'mallory');
    expect(refused.code).toBe(77);
    expect(refused.stderr).toContain('mallory is not a member of the Conjur group release/yankers');
    expect(lastAudit()).toMatchObject({
      type: 'denied',
      version: '1.2.0',
      actor: { via: 'cli', conjurLogin: 'mallory' },
      data: { action: 'yank' },
    });
    expect(existsSync(mirror('1.2.0', 'tiny-1.2.0.tgz'))).toBe(true);

    const done = await w.cli('yank', 'tiny', '1.2.0', 'from', 'the', 'cli', '--as', 'carol', '--no-lock');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('Yanked tiny 1.2.0: from the cli');
    expect(done.stdout).toContain(`mirror [directory]: done: 2 file(s) moved into ${mirror('1.2.0', 'yanked')}`);
    expect(existsSync(mirror('1.2.0', 'yanked', 'tiny-1.2.0.tgz'))).toBe(true);
    // The CLI ran in another process: serve finds its yank in the shared audit log and posts the summary.
    const posted = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.body.channel === 'C0RELEASES' && text(c).startsWith('Yanked tiny 1.2.0'),
      30_000,
    );
    expect(text(posted)).toContain('from the cli');
    expect(text(posted)).toContain(`mirror [directory]: done: 2 file(s) moved into ${mirror('1.2.0', 'yanked')}`);
    expect(text(posted)).toContain('requested by: carol');
  });

  it('the longest reason on a long version still freezes the project after the yank (shortened in the freeze, whole in the audit)', async () => {
    const v = `1.4.0-${'a'.repeat(60)}`;
    await w.stage('tiny', v, { [`tiny-${v}.tgz`]: 'tiny bytes long' });
    await expect(w.server.app.core.release('tiny', v, { login: 'alice', via: 'cli' })).resolves.toMatchObject({ state: 'published' });
    const reason = `long ${'x'.repeat(295)}`;
    const sent = await w.command('carol', `yank tiny ${v} ${reason}`);
    expect(text(await w.reply(sent.responseUrl, 30_000))).toContain(`Yanked tiny ${v}`);
    const freeze = w.server.app.yanks.freezes.get('tiny');
    expect(freeze?.reason.startsWith(`yanked ${v}: long xxx`)).toBe(true);
    expect(freeze?.reason.length).toBeLessThanOrEqual(300);
    expect(w.server.app.audit.list({ project: 'tiny', limit: 5 }).find((e) => e.type === 'yanked')?.data.reason).toBe(reason);
  });

  it('no credential value reached a log line, a chat message, the audit log or the data directory', () => {
    const chat = JSON.stringify(w.slack.calls);
    const audit = JSON.stringify(w.server.app.audit.list({ limit: 1000 }));
    const data = everyFile(String(w.env.RELEASE_BOT_DATA_DIR));
    for (const [where, haystack] of [
      ['logs', w.logLines.join('\n')],
      ['chat', chat],
      ['audit', audit],
      ['data directory', data],
    ] as const) {
      expect({ where, leaked: haystack.includes(CANARY.downloadsToken) }).toEqual({ where, leaked: false });
    }
  });
});
