import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { bodyText, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');
const tsOf = (c: RecordedSlackCall) => String((c.response as { ts?: string }).ts);

/**
 * An approval request nobody answers expires after `approval_ttl_seconds` (3600 for `gated`). The
 * running bot closes it on its own (a sweep every 50 ms here, on an injected clock): audited as
 * `approval-void` with status expired, its message updated without the Approve button, no longer
 * listed as waiting by `/release status`.
 */
describe('Slack: approval requests that expire unanswered', () => {
  let w: SlackWorld;
  let clock = Date.parse('2031-03-01T09:00:00Z');

  beforeAll(async () => {
    w = await startSlackWorld({ mount: { now: () => new Date(clock), approvalSweepMs: 50 } });
  });

  afterAll(async () => {
    await w.stop();
  });

  async function ask(version: string): Promise<{ requestId: string; message: RecordedSlackCall }> {
    await w.stage('gated', version, { [`gated-${version}.tgz`]: `gated ${version}` });
    const sent = await w.command('alice', `gated ${version}`);
    expect(text(await w.reply(sent.responseUrl))).toContain('Waiting for 1 approval(s) from release/approvers');
    const message = await w.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && c.body.channel === 'C0GATED' && text(c).startsWith(`alice asks to release gated ${version}`),
    );
    const requestId = /approval request `(apr_[A-Za-z0-9_-]+)`/.exec(bodyText(message))?.[1] as string;
    expect(requestId).toBeDefined();
    return { requestId, message };
  }

  it('closes an expired request nobody touched: audited, message updated without the button, not listed as waiting', async () => {
    const { requestId, message } = await ask('2.0.0');
    expect(bodyText(message)).toContain('"action_id":"approve_release"');
    const waiting = await w.command('bob', 'status gated 2.0.0');
    expect((await w.reply(waiting.responseUrl)).body.blocks as Array<{ text?: { text?: string } }>).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ text: expect.objectContaining({ text: expect.stringContaining('Waiting for approval') }) }),
      ]),
    );

    clock += 3_601_000;
    const updated = await w.slack.waitFor(
      (c) => c.method === 'chat.update' && c.body.ts === tsOf(message) && bodyText(c).includes('Expired'),
    );
    expect(bodyText(updated)).not.toContain('approve_release');
    expect(text(updated)).toMatch(/; expired$/);

    const voids = w.server.app.audit.list({ project: 'gated', version: '2.0.0', limit: 20 }).filter((e) => e.type === 'approval-void');
    expect(voids).toHaveLength(1);
    expect(voids[0]).toMatchObject({ actor: { via: 'api', conjurLogin: 'release-bot' }, data: { requestId, status: 'expired' } });

    const status = await w.command('bob', 'status gated 2.0.0');
    expect(JSON.stringify((await w.reply(status.responseUrl)).body.blocks)).not.toContain('Waiting for approval');
    // A click on a button someone still sees is refused, and says why.
    const late = await w.click('bob', 'approve_release', requestId);
    expect(text(await w.reply(late.responseUrl))).toContain('this request expired at');
  });

  it('says in the channel when a request asked before a restart expires (its message is not known any more)', async () => {
    const { requestId } = await ask('2.1.0');
    await w.restart();
    clock += 3_601_000;
    const note = await w.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && text(c).startsWith(`The approval request ${requestId} for gated 2.1.0 (asked by alice) expired`),
    );
    expect(note.body.channel).toBe('C0GATED');
    expect(
      w.server.app.audit.list({ project: 'gated', version: '2.1.0', limit: 20 }).filter((e) => e.type === 'approval-void'),
    ).toHaveLength(1);
  });

  it('a yank request expires the same way, and its button then yanks nothing', async () => {
    await w.stage('gated', '3.0.0', { 'gated-3.0.0.tgz': 'gated 3.0.0' });
    await expect(
      w.server.app.core.release('gated', '3.0.0', { login: 'alice', via: 'cli' }, { approvers: ['carol'] }),
    ).resolves.toMatchObject({
      state: 'published',
    });
    const sent = await w.command('alice', 'yank gated 3.0.0 broken');
    expect(text(await w.reply(sent.responseUrl))).toContain('The yank of gated 3.0.0 waits for 1 approval(s) from release/gated');
    const message = await w.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && c.body.channel === 'C0GATED' && text(c).startsWith('alice asks to yank gated 3.0.0 (broken)'),
    );
    const requestId = /approval request `(apr_[A-Za-z0-9_-]+)`/.exec(bodyText(message))?.[1] as string;

    clock += 3_601_000;
    const updated = await w.slack.waitFor(
      (c) => c.method === 'chat.update' && c.body.ts === tsOf(message) && bodyText(c).includes('Expired'),
    );
    expect(bodyText(updated)).toContain('ask for the yank again');
    expect(bodyText(updated)).not.toContain('approve_release');
    expect(w.server.app.audit.list({ project: 'gated', version: '3.0.0', limit: 20 }).filter((e) => e.type === 'approval-void')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ requestId, action: 'yank', status: 'expired' }) }),
    ]);
    const late = await w.click('bob', 'approve_release', requestId);
    expect(text(await w.reply(late.responseUrl))).toContain('this request expired at');
    expect(existsSync(path.join(w.mirrorDir, 'gated', '3.0.0', 'gated-3.0.0.tgz'))).toBe(true);
    expect(existsSync(path.join(w.mirrorDir, 'gated', '3.0.0', 'yanked'))).toBe(false);
    expect(w.server.app.yankRecords.yankedVersions('gated').size).toBe(0);
  });
});
