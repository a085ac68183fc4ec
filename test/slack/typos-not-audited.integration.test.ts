import { auditCode } from '../../src/audit/entries.js';
import { startSlackWorld, type SlackWorld } from '../support/slack-world.js';

/**
 * Typos and no-op commands are answered privately, at once, and leave no audit entry: a denial in the
 * audit log means someone was refused something, and a mistyped subcommand must not push real
 * releases and refusals out of `/release status` and `/release audit`. A real refusal (an unknown
 * project, a version that is not staged) is still audited.
 */
describe('Slack: typos and no-ops are answered privately and not audited', () => {
  let w: SlackWorld;
  const auditRows = () => (w.server.app.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;

  beforeAll(async () => {
    w = await startSlackWorld();
    await w.stage('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes' }, 7);
    // The readiness note of that build goes out in the background: let it, before calls are counted.
    await w.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.text).startsWith('conjur-cli 4.2.0 is ready to release'));
  });

  afterAll(async () => {
    await w.stop();
  });

  it.each([
    ['no arguments', '', /release-bot commands:/],
    ['help', 'help', /release-bot commands:/],
    ['a mistyped subcommand', 'stauts conjur-cli', /invalid version "conjur-cli"/],
    ['a mistyped subcommand with a version', 'lsit conjur-cli 4.2.0', /unknown option "4\.2\.0"|invalid version/],
    ['one unknown word', 'lsit', /unknown command "lsit"/],
    ['a malformed version', 'conjur-cli 4.2.0;rm', /invalid version "4\.2\.0;rm"/],
    ['a mistyped option', 'conjur-cli 4.2.0 --dryrun', /unknown option "--dryrun"/],
    ['a subcommand without its arguments', 'status', /usage: `\/release status &lt;project&gt; \[version\]`/],
  ])('%s: an ephemeral answer in the ack, no audit entry, nothing in the channel', async (_what, text, answer) => {
    const before = auditRows();
    const mark = w.slack.mark();
    const sent = await w.command('mallory', text);
    expect(sent.status).toBe(200);
    const body = JSON.parse(sent.body) as { response_type?: string; text?: string; blocks?: unknown[] };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(answer);
    // Anything the bot would do about it happens after the ack: give it the time to do it, then count.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(auditRows()).toBe(before);
    expect(w.slack.callsSince(mark).filter((c) => c.method.startsWith('chat.'))).toEqual([]);
  });

  it('a resume with nothing to resume: answered privately, no audit entry, no release recorded', async () => {
    const before = auditRows();
    const releases = () => w.server.app.releases.latest('conjur-cli', '4.2.0', 10).length;
    const recorded = releases();
    const sent = await w.command('alice', 'conjur-cli 4.2.0 resume');
    const reply = await w.reply(sent.responseUrl);
    expect(String(reply.body.text)).toContain('conjur-cli 4.2.0 has no interrupted or failed release to resume');
    expect(reply.body.response_type ?? 'ephemeral').toBe('ephemeral');
    expect([auditRows() - before, releases() - recorded]).toEqual([0, 0]);
  });

  it.each([
    ['an unknown project', 'conjur-cly 4.2.0', 'UNKNOWN_PROJECT'],
    ['a version that is not staged', 'conjur-cli 9.9.9', 'NOT_STAGED'],
  ])('%s is still a refusal: answered privately and audited as denied', async (_what, text, code) => {
    const before = auditRows();
    const sent = await w.command('alice', text);
    const reply = await w.reply(sent.responseUrl);
    expect(String(reply.body.text)).toMatch(/unknown project|is not staged/);
    const deadline = Date.now() + 30_000;
    while (auditRows() === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const [latest] = w.server.app.audit.list({ limit: 1 });
    expect([auditRows() - before, latest?.type, latest && auditCode(latest)]).toEqual([1, 'denied', code]);
  });
});
