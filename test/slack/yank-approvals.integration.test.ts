import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import type { ServingBot } from '../../app/serve.js';
import { runCli } from '../support/cli.js';
import { project } from '../support/projects-file.js';
import { bodyText, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');
const requestIdOf = (c: RecordedSlackCall) => /approval request `(apr_[A-Za-z0-9_-]+)`/.exec(bodyText(c))?.[1] as string;

/**
 * Yanks of projects that require approvals (issue 17), attacked through a running `serve` with signed
 * Slack requests and real directory destinations. `gated` needs 1 approval: it is released by
 * release/gated (alice, bob), its releases are approved by release/approvers (bob, carol), and it has
 * no yank_group, so its yanks are asked for and approved by release/gated. `twice` needs 2 approvals
 * and yanks through release/undo (alice, bob, carol).
 */
describe('Slack: a yank of a project that requires approvals waits for them, bound to what was asked', () => {
  let w: SlackWorld;
  const gated = (...p: string[]) => path.join(w.mirrorDir, 'gated', ...p);
  const twice = (...p: string[]) => path.join(w.mirrorDir, 'twice', ...p);
  const audit = (project: string) => w.server.app.audit.list({ project, limit: 200 });
  const lastAudit = () => w.server.app.audit.list({ limit: 1 })[0];
  /** The invariant of every refusal: the files are where the release put them, nothing marked yanked, nothing frozen (by a yank). */
  const untouched = (project: string, version: string, frozenBefore = false) => {
    const file = path.join(w.mirrorDir, project, version, `${project}-${version}.tgz`);
    expect(readFileSync(file, 'utf8')).toBe(`${project} bytes ${version}`);
    expect(existsSync(path.join(w.mirrorDir, project, version, 'yanked'))).toBe(false);
    expect(w.server.app.yankRecords.yankedVersions(project).has(version)).toBe(false);
    if (!frozenBefore) expect(w.server.app.yanks.freezes.get(project)).toBeUndefined();
  };
  /** The request posted in the channel for `who asks to yank <project> <version>`, the newest first. */
  const yankRequest = async (who: string, project: string, version: string, reason: string) =>
    w.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === 'C0GATED' &&
        text(c).startsWith(`${who} asks to yank ${project} ${version} (${reason}`),
    );

  beforeAll(async () => {
    w = await startSlackWorld({
      conjur: { groups: { 'release/undo': ['user:alice', 'user:bob', 'user:carol'] } },
      extraProjects: {
        twice: project('twice', [{ name: 'mirror', type: 'directory', path: '__MIRROR__/{project}/{version}' }], {
          authorized_group: 'release/gated',
          channel: 'C0GATED',
          approvals: 2,
          approver_group: 'release/approvers',
          yank_group: 'release/undo',
        }),
      },
    });
    const file = String(w.env.RELEASE_BOT_CONFIG);
    writeFileSync(file, readFileSync(file, 'utf8').replace('__MIRROR__', w.mirrorDir));
    // Reloaded as an operator's edit is (SIGHUP, through serve's reloader), never behind the reloader's back: a
    // policy swapped in directly left the reloader to find the same file changed later, under load during a test,
    // and audit a config-changed entry after the entry the test reads.
    expect((w.server as ServingBot).reload('SIGHUP')).toMatchObject({ outcome: 'changed' });
    for (const [project, version] of [
      ['gated', '2.0.0'],
      ['twice', '1.0.0'],
    ] as const) {
      await w.stage(project, version, { [`${project}-${version}.tgz`]: `${project} bytes ${version}` });
      const approvers = project === 'gated' ? ['carol'] : ['bob', 'carol'];
      await expect(w.server.app.core.release(project, version, { login: 'alice', via: 'cli' }, { approvers })).resolves.toMatchObject({
        state: 'published',
      });
    }
  }, 60_000);

  afterAll(async () => {
    await w?.stop();
  });

  it('a release approval never authorizes a yank: the approved release request, its button clicked again, the CLI and the ssh command all leave the version in place', async () => {
    await w.stage('gated', '3.0.0', { 'gated-3.0.0.tgz': 'gated bytes 3.0.0' });
    const ask = await w.command('alice', 'gated 3.0.0');
    expect(text(await w.reply(ask.responseUrl))).toContain('Waiting for 1 approval(s) from release/approvers');
    const releaseRequest = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.body.channel === 'C0GATED' && text(c).startsWith('alice asks to release gated 3.0.0'),
    );
    const releaseId = requestIdOf(releaseRequest);
    const approve = await w.click('carol', 'approve_release', releaseId);
    expect(text(await w.reply(approve.responseUrl))).toContain('Approved: the release of gated 3.0.0 runs now');
    await w.slack.waitFor((c) => c.body.channel === 'C0GATED' && text(c).startsWith('Released gated 3.0.0'), 30_000);
    untouched('gated', '3.0.0');

    // The same button again (by a member of the yank group this time) starts nothing: that approval was for the release.
    const again = await w.click('bob', 'approve_release', releaseId);
    expect(text(await w.reply(again.responseUrl))).toContain('already approved and the release started');

    // The CLI and the ssh forced command cannot collect approvals: refused as a release is (exit 75), audited.
    const cli = await w.cli('yank', 'gated', '3.0.0', 'bad', 'build', '--as', 'alice');
    expect(cli.code).toBe(75);
    expect(cli.stderr).toContain('gated needs 1 approval(s) from members of release/gated other than the requester');
    expect(cli.stderr).toContain('request the yank in Slack');
    expect(lastAudit()).toMatchObject({
      type: 'denied',
      version: '3.0.0',
      actor: { via: 'cli' },
      data: { action: 'yank', code: 'APPROVAL_PENDING' },
    });
    const ssh = await runCli(['ssh-command', '--as', 'alice'], { ...w.env, SSH_ORIGINAL_COMMAND: 'yank gated 3.0.0 bad build' }, w.dir);
    expect(ssh.code).toBe(75);
    expect(lastAudit()).toMatchObject({ type: 'denied', version: '3.0.0', data: { action: 'yank', code: 'APPROVAL_PENDING' } });
    untouched('gated', '3.0.0');

    // In Slack the yank asks for its own approvals: a request of its own, not the release's.
    const yank = await w.command('alice', 'yank gated 3.0.0 bad build');
    expect(text(await w.reply(yank.responseUrl))).toContain('The yank of gated 3.0.0 waits for 1 approval(s) from release/gated');
    const request = await yankRequest('alice', 'gated', '3.0.0', 'bad build');
    expect(requestIdOf(request)).not.toBe(releaseId);
    expect(w.server.app.db.prepare(`SELECT action FROM approval_requests WHERE id = ?`).get(requestIdOf(request))).toEqual({
      action: 'yank',
    });
    untouched('gated', '3.0.0');
  });

  it('the requester cannot approve their own yank; neither can someone outside the yank group, even an approver of releases; each refusal audited', async () => {
    const request = await yankRequest('alice', 'gated', '3.0.0', 'bad build');
    const id = requestIdOf(request);
    const own = await w.click('alice', 'approve_release', id);
    expect(text(await w.reply(own.responseUrl))).toContain('alice requested this yank and cannot approve it');
    expect(lastAudit()).toMatchObject({
      type: 'denied',
      actor: { conjurLogin: 'alice' },
      data: { action: 'approve', approving: 'yank', requestId: id, code: 'NOT_AUTHORIZED' },
    });
    for (const who of ['carol', 'mallory'] as const) {
      const click = await w.click(who, 'approve_release', id);
      expect(text(await w.reply(click.responseUrl))).toContain(
        `${who} is not a member of the Conjur group release/gated, whose members approve yanks of gated`,
      );
      expect(lastAudit()).toMatchObject({
        type: 'denied',
        actor: { conjurLogin: who },
        data: { action: 'approve', code: 'NOT_AUTHORIZED' },
      });
    }
    expect(w.server.app.db.prepare(`SELECT COUNT(*) AS n FROM approvals WHERE request_id = ?`).get(id)).toEqual({ n: 0 });
    untouched('gated', '3.0.0');
  });

  it('a dry run needs no approval: it says what it would do and opens no request', async () => {
    const open = () => w.server.app.db.prepare(`SELECT COUNT(*) AS n FROM approval_requests WHERE status = 'open'`).get();
    const before = open();
    const sent = await w.command('alice', 'yank gated 3.0.0 checking --dry-run');
    expect(text(await w.reply(sent.responseUrl, 30_000))).toContain('Dry run of the yank of gated 3.0.0');
    expect(open()).toEqual(before);
    untouched('gated', '3.0.0');
  });

  it('an approval given for one reason is void for another: asking again in other words voids the first request, whose button then does nothing', async () => {
    const first = requestIdOf(await yankRequest('alice', 'gated', '3.0.0', 'bad build'));
    const reask = await w.command('alice', 'yank gated 3.0.0 leaked a debug endpoint');
    expect(text(await w.reply(reask.responseUrl))).toContain('waits for 1 approval(s)');
    const second = requestIdOf(await yankRequest('alice', 'gated', '3.0.0', 'leaked a debug endpoint'));
    expect(second).not.toBe(first);
    expect(audit('gated')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'approval-void', data: expect.objectContaining({ requestId: first, action: 'yank' }) }),
      ]),
    );
    const stale = await w.click('bob', 'approve_release', first);
    expect(text(await w.reply(stale.responseUrl))).toContain('the approvals are void');
    expect(lastAudit()).toMatchObject({
      type: 'denied',
      actor: { conjurLogin: 'bob' },
      data: { action: 'approve', requestId: first, code: 'CONFLICT' },
    });
    untouched('gated', '3.0.0');
  });

  it('happy path: one approval by another member of the yank group runs the yank as asked; the channel, the destination, the audit and the trace show the approver', async () => {
    const id = requestIdOf(await yankRequest('alice', 'gated', '3.0.0', 'leaked a debug endpoint'));
    const bob = await w.click('bob', 'approve_release', id);
    expect(text(await w.reply(bob.responseUrl))).toContain('Approved: the yank of gated 3.0.0 runs now');
    const summary = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.body.channel === 'C0GATED' && text(c).startsWith('Yanked gated 3.0.0'),
      30_000,
    );
    expect(text(summary)).toContain('requested by: alice; approved by: bob');
    expect(text(summary)).toContain('leaked a debug endpoint');
    expect(existsSync(gated('3.0.0', 'gated-3.0.0.tgz'))).toBe(false);
    expect(JSON.parse(readFileSync(gated('3.0.0', 'yanked', 'gated-3.0.0.tgz.yank.json'), 'utf8'))).toMatchObject({
      version: '3.0.0',
      yanked: true,
      reason: 'leaked a debug endpoint',
    });
    expect(w.server.app.yanks.freezes.get('gated')).toMatchObject({ by: 'alice', reason: 'yanked 3.0.0: leaked a debug endpoint' });
    expect(audit('gated').find((e) => e.type === 'yanked')).toMatchObject({
      version: '3.0.0',
      actor: { conjurLogin: 'alice' },
      data: { reason: 'leaked a debug endpoint', approvers: ['bob'] },
    });
    const trace = await w.cli('audit', 'trace', 'gated', '3.0.0');
    expect(trace.stdout).toMatch(/YANKED: .* by alice, approved by bob: leaked a debug endpoint/);
    // The request closed: its button is gone from the channel message.
    await w.slack.waitFor((c) => c.method === 'chat.update' && bodyText(c).includes('Approved: the yank is running'));
  });

  it('with N-1 approvals nothing happens, and approvals do not carry over to a yank asked in other words', async () => {
    const askA = await w.command('alice', 'yank twice 1.0.0 reason A');
    expect(text(await w.reply(askA.responseUrl))).toContain('waits for 2 approval(s) from release/undo');
    const a = requestIdOf(await yankRequest('alice', 'twice', '1.0.0', 'reason A'));
    const bobA = await w.click('bob', 'approve_release', a);
    expect(text(await w.reply(bobA.responseUrl))).toContain('Approval recorded (1 of 2)');
    untouched('twice', '1.0.0');
    // One approval in: the CLI still refuses (approvals are not looked up by version).
    expect((await w.cli('yank', 'twice', '1.0.0', 'reason', 'A', '--as', 'alice')).code).toBe(75);

    const askB = await w.command('alice', 'yank twice 1.0.0 reason B --no-lock');
    await w.reply(askB.responseUrl);
    const b = requestIdOf(await yankRequest('alice', 'twice', '1.0.0', 'reason B, --no-lock'));
    const carolB = await w.click('carol', 'approve_release', b);
    // bob's approval was for reason A: B starts from none.
    expect(text(await w.reply(carolB.responseUrl))).toContain('Approval recorded (1 of 2)');
    untouched('twice', '1.0.0');

    const bobB = await w.click('bob', 'approve_release', b);
    expect(text(await w.reply(bobB.responseUrl))).toContain('Approved: the yank of twice 1.0.0 runs now');
    await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('Yanked twice 1.0.0'), 30_000);
    expect(JSON.parse(readFileSync(twice('1.0.0', 'yanked', 'twice-1.0.0.tgz.yank.json'), 'utf8'))).toMatchObject({ reason: 'reason B' });
    expect(audit('twice').find((e) => e.type === 'yanked')).toMatchObject({ data: { reason: 'reason B', approvers: ['carol', 'bob'] } });
    // --no-lock was part of what was approved.
    expect(w.server.app.yanks.freezes.get('twice')).toBeUndefined();
  });

  it('/release rollback asks for approvals of the yank of the newest release, and runs once approved', async () => {
    const ask = await w.command('alice', 'rollback gated broken again --no-lock');
    expect(text(await w.reply(ask.responseUrl))).toContain('The yank of gated 2.0.0 waits for 1 approval(s)');
    untouched('gated', '2.0.0', true);
    const id = requestIdOf(await yankRequest('alice', 'gated', '2.0.0', 'rollback: broken again'));
    const bob = await w.click('bob', 'approve_release', id);
    await w.reply(bob.responseUrl);
    await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && text(c).startsWith('Yanked gated 2.0.0: rollback: broken again'),
      30_000,
    );
    expect(existsSync(gated('2.0.0', 'yanked', 'gated-2.0.0.tgz'))).toBe(true);
  });
});
