import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { sendSlackRequest, signSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { Releases } from '../../src/store/releases.js';
import { bodyText, CANARY, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

/** The releases table as a process that has since died wrote it: its pid no longer runs. */
function crashedProcess(w: SlackWorld): Releases {
  const gone = spawnSync(process.execPath, ['-e', '']);
  return new Releases(w.server.app.db, undefined, { host: hostname(), bootId: null, pid: gone.pid as number, startTime: null });
}

describe('Slack: signed requests to a running release-bot, Web API on a loopback stand-in', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    w = await startSlackWorld();
  });

  afterAll(async () => {
    await w.stop();
  });

  it('posts a readiness note with a Release button when a build is staged', async () => {
    const stagedId = await w.stage('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' }, 123);
    const note = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && text(c).startsWith('conjur-cli 4.2.0 is ready to release'),
    );
    expect(note.authorized).toBe(true);
    expect(note.body.channel).toBe('C0RELEASES');
    const button = JSON.stringify(note.body.blocks);
    expect(button).toContain('"action_id":"release_staged"');
    expect(button).toContain(JSON.stringify(JSON.stringify({ p: 'conjur-cli', v: '4.2.0', s: stagedId })).slice(1, -1));
    expect(button).toContain('<https://jenkins.example/job/conjur-cli/123/|#123>');
  });

  it('acknowledges /release in under 3 s while the destination takes 4 s, then shows progress and the audit summary', async () => {
    const sent = await w.command('alice', 'conjur-cli 4.2.0');
    expect(sent.status).toBe(200);
    expect(sent.elapsedMs).toBeLessThan(3000);
    expect(JSON.parse(sent.body)).toMatchObject({ response_type: 'ephemeral' });

    const started = await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('Releasing conjur-cli 4.2.0'));
    const ts = String((started.response as { ts: string }).ts);
    const final = await w.slack.waitFor(
      (c) => c.method === 'chat.update' && c.body.ts === ts && text(c).startsWith('Released conjur-cli 4.2.0'),
      30_000,
    );

    // The release really took longer than the ack: the contract is "ack first, work after".
    const summaryLine = text(final);
    const total = /total: ([\d.]+) s/.exec(summaryLine);
    expect(Number(total?.[1])).toBeGreaterThanOrEqual(4);
    expect(sent.elapsedMs).toBeLessThan(Number(total?.[1]) * 1000);

    // Progress: the one message updated as states change (at most once a second); one reply per destination outcome in its thread.
    const updates = w.slack.callsTo('chat.update').filter((c) => c.body.ts === ts);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.some((c) => text(c).includes('publishing') && text(c).includes('- downloads: running'))).toBe(true);
    const thread = w.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.body.thread_ts === ts)
      .map(text);
    expect(thread).toHaveLength(2);
    expect(thread.some((t) => /^downloads \[exec\]: published in [\d.]+ s$/.test(t))).toBe(true);
    expect(thread.some((t) => /^mirror \[directory\]: published/.test(t))).toBe(true);

    // The final message is the audit summary, with everything the issue lists.
    const blocks = JSON.stringify(final.body.blocks);
    expect(blocks).toContain('<https://jenkins.example/job/conjur-cli/123/|#123>');
    expect(blocks).toContain('`9fceb02d0ae5`');
    expect(blocks).toMatch(/`conjur-cli-4\.2\.0\.gem` `[0-9a-f]{12}`/);
    expect(blocks).toContain('alice (<@U0ALICE>)');
    expect(blocks).toContain('_no approvals required_');
    // The script sleeps 4 s: at least that, however busy the machine (no upper bound is asserted).
    expect(blocks).toMatch(/\*downloads\* \[exec\]: published in (?:[4-9]|\d{2,})\.\d s/);
    expect(blocks).toMatch(/\*mirror\* \[directory\]: published in/);
    const published = w.server.app.audit.list({ project: 'conjur-cli', limit: 5 }).find((e) => e.type === 'published');
    expect(published).toBeDefined();
    expect(blocks).toContain(`audit entry \`${published?.id}\``);
    expect(summaryLine).toContain(`audit entry ${published?.id}`);

    // The requester hears back privately, and the files are out.
    const note = await w.reply(sent.responseUrl);
    expect(note.body).toMatchObject({ response_type: 'ephemeral' });
    expect(text(note)).toContain('conjur-cli 4.2.0: published');
    expect(readFileSync(path.join(w.outDir, 'conjur-cli/4.2.0/conjur-cli-4.2.0.gem'), 'utf8')).toBe('gem bytes 4.2.0');
  });

  it('denies a user outside the group privately, naming the group, and publishes nothing', async () => {
    await w.stage('conjur-cli', '4.3.0', { 'conjur-cli-4.3.0.gem': 'gem bytes 4.3.0' });
    const postsBefore = w.slack.callsTo('chat.postMessage').length;
    const sent = await w.command('mallory', 'conjur-cli 4.3.0');
    expect(sent.status).toBe(200);
    const denial = await w.reply(sent.responseUrl);
    expect(denial.body.response_type).toBe('ephemeral');
    expect(text(denial)).toContain('mallory is not a member of the Conjur group release/conjur-cli');
    expect(bodyText(denial)).toContain('`release/conjur-cli`');
    expect(
      w.slack
        .callsTo('chat.postMessage')
        .slice(postsBefore)
        .filter((c) => text(c).startsWith('Releasing')),
    ).toHaveLength(0);
    expect(existsSync(path.join(w.outDir, 'conjur-cli/4.3.0'))).toBe(false);
    expect(w.server.app.audit.list({ project: 'conjur-cli', limit: 1 })[0]).toMatchObject({
      type: 'denied',
      actor: { conjurLogin: 'mallory', chatUserId: 'U0MALLORY', via: 'slack' },
      data: { code: 'NOT_AUTHORIZED' },
    });
  });

  it('rejects forged, stale and unsigned requests with 401 and runs nothing', async () => {
    const auditBefore = w.server.app.audit.list({ limit: 1 })[0]?.id;
    const callsBefore = w.slack.calls.length;
    const body = slashCommand({ text: 'conjur-cli 4.3.0', user_id: 'U0ALICE', response_url: w.slack.responseUrl() });

    const forged = await sendSlackRequest(w.eventsUrl, body, { signingSecret: 'not-the-signing-secret' });
    expect(forged.status).toBe(401);
    const stale = await sendSlackRequest(w.eventsUrl, body, {
      signingSecret: CANARY.signingSecret,
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect(stale.status).toBe(401);
    // A valid signature for another body (the text changed in flight).
    const other = signSlackRequest(CANARY.signingSecret, slashCommand({ text: 'help' }));
    const swapped = await sendSlackRequest(w.eventsUrl, body, {
      signingSecret: CANARY.signingSecret,
      signature: other['x-slack-signature'],
    });
    expect(swapped.status).toBe(401);
    const unsigned = await fetch(w.eventsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(unsigned.status).toBe(401);

    // And the same request, signed as Slack signs it, is accepted: the 401s were about the signature.
    const fresh = await sendSlackRequest(w.eventsUrl, slashCommand({ text: 'help' }), { signingSecret: CANARY.signingSecret });
    expect(fresh.status).toBe(200);
    expect(w.server.app.audit.list({ limit: 1 })[0]?.id).toBe(auditBefore);
    expect(w.slack.calls.length).toBe(callsBefore);
  });

  it('says when and by whom a version was already released', async () => {
    const sent = await w.command('bob', 'conjur-cli 4.2.0');
    const reply = await w.reply(sent.responseUrl);
    expect(text(reply)).toMatch(/^Already released: conjur-cli 4\.2\.0 was already released on \S+ by alice/);
    expect(bodyText(reply)).toContain('by alice (`rel_');
  });

  it('answers help and malformed text in the ack; list, status and audit privately once it knows who asks', async () => {
    const help = JSON.parse((await w.command('mallory', 'help')).body);
    expect(help).toMatchObject({ response_type: 'ephemeral' });
    // The fallback is escaped like any mrkdwn: Slack would read <project> as markup.
    expect(help.text).toContain('/release &lt;project&gt; &lt;version&gt; --dry-run');

    for (const bad of [
      'conjur-cli',
      'conjur-cli 4.2.0 --force',
      'conjur-cli 4.2.0;rm -rf /',
      '../etc 1.0.0',
      'status',
      'audit x 1000',
      'lock conjur-cli',
    ]) {
      const usage = JSON.parse((await w.command('alice', bad)).body);
      expect(usage.response_type).toBe('ephemeral');
      expect(usage.text).toMatch(/Usage: \/release &lt;project&gt; &lt;version&gt;/);
    }

    // Reads need users.info first: an empty ack, then the answer through response_url, only to the asker.
    const read = async (t: string) => {
      const sent = await w.command('alice', t);
      expect(sent.body).toBe('');
      const reply = await w.reply(sent.responseUrl);
      expect(reply.body.response_type).toBe('ephemeral');
      return reply;
    };
    const list = text(await read('list'));
    expect(list).toContain('conjur-cli 4.3.0');
    expect(list).toContain('conjur-cli 4.2.0 (published)');

    expect(text(await read('status conjur-cli 4.2.0'))).toContain('releases: 4.2.0 published');

    const lines = text(await read('audit conjur-cli 3'))
      .split('\n')
      .slice(1);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('denied conjur-cli 4.2.0 bob ALREADY_RELEASED');

    expect(text(await read('status nope'))).toContain('unknown project "nope"');
  });

  it('freezes a project: releases are refused with who, when and why; only the authorized group may lock; unlock lifts it', async () => {
    const denied = await w.command('mallory', 'lock conjur-cli because I can');
    expect(text(await w.reply(denied.responseUrl))).toContain('not a member of the Conjur group release/conjur-cli');

    const lock = await w.command('alice', 'lock conjur-cli  release window closed for the audit ');
    expect(text(await w.reply(lock.responseUrl))).toContain('conjur-cli is frozen by alice');
    await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.body.channel === 'C0RELEASES' && text(c).startsWith('conjur-cli is frozen by alice'),
    );

    const release = await w.command('bob', 'conjur-cli 4.3.0');
    const refused = await w.reply(release.responseUrl);
    expect(text(refused)).toMatch(/^Releases are frozen: conjur-cli is frozen by alice since \S+: release window closed for the audit$/m);
    expect(existsSync(path.join(w.outDir, 'conjur-cli/4.3.0'))).toBe(false);

    const unlock = await w.command('bob', 'unlock conjur-cli');
    expect(text(await w.reply(unlock.responseUrl))).toContain('conjur-cli is no longer frozen (unlocked by bob');
    const types = w.server.app.audit.list({ project: 'conjur-cli', limit: 6 }).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['frozen', 'unfrozen']));
  });

  it('runs a Release button click as the clicker, and refuses a button whose build was re-staged', async () => {
    const oldId = await w.stage('conjur-cli', '4.5.0', { 'conjur-cli-4.5.0.gem': 'first build' });
    const newId = await w.stage('conjur-cli', '4.5.0', { 'conjur-cli-4.5.0.gem': 'second build' });
    expect(newId).not.toBe(oldId);
    const stale = await w.click('bob', 'release_staged', JSON.stringify({ p: 'conjur-cli', v: '4.5.0', s: oldId }));
    expect(stale.status).toBe(200);
    expect(stale.elapsedMs).toBeLessThan(3000);
    expect(text(await w.reply(stale.responseUrl))).toContain(`conjur-cli 4.5.0 was re-staged (build`);

    const forged = await w.click('bob', 'release_staged', '{"p":"../etc","v":"1","s":1}');
    expect(text(await w.reply(forged.responseUrl))).toContain('this button does not name a staged build');

    const click = await w.click('bob', 'release_staged', JSON.stringify({ p: 'conjur-cli', v: '4.5.0', s: newId }));
    expect(click.elapsedMs).toBeLessThan(3000);
    const final = await w.slack.waitFor((c) => c.method === 'chat.update' && text(c).startsWith('Released conjur-cli 4.5.0'), 30_000);
    expect(text(final)).toContain('requested by: bob');
    expect(readFileSync(path.join(w.outDir, 'conjur-cli/4.5.0/conjur-cli-4.5.0.gem'), 'utf8')).toBe('second build');
  });

  it('attack: a re-stage after the readiness note, however late before the core reads the build, is refused, not released', async () => {
    const shownId = await w.stage('conjur-cli', '4.5.1', { 'conjur-cli-4.5.1.gem': 'the build the note showed' });
    const core = w.server.app.core;
    const release = core.release.bind(core);
    // The latest a re-stage can land: committed by another process (a second Jenkins report, `release-bot
    // stage`) after the handler has decided and before the core reads the staged build. SQLite (WAL)
    // lets another process commit between any two statements of this one, and nothing in between has to
    // be synchronous (a release run in a worker is not).
    const spy = jest.spyOn(core, 'release').mockImplementation(async (...args: Parameters<typeof release>) => {
      await w.stage('conjur-cli', '4.5.1', { 'conjur-cli-4.5.1.gem': 'a build nobody was shown' });
      return release(...args);
    });
    try {
      const click = await w.click('bob', 'release_staged', JSON.stringify({ p: 'conjur-cli', v: '4.5.1', s: shownId }));
      expect(text(await w.reply(click.responseUrl, 30_000))).toContain('conjur-cli 4.5.1 was re-staged (build');
    } finally {
      spy.mockRestore();
    }
    // The invariant: nothing but the build the note showed is published from its button.
    expect(existsSync(path.join(w.outDir, 'conjur-cli/4.5.1'))).toBe(false);
    expect(existsSync(path.join(w.mirrorDir, 'conjur-cli/4.5.1'))).toBe(false);
    expect(w.server.app.releases.latest('conjur-cli', '4.5.1', 10).map((r) => r.state)).not.toContain('published');
    const [denied] = w.server.app.audit.list({ project: 'conjur-cli', version: '4.5.1', limit: 1 });
    expect(denied).toMatchObject({ type: 'denied', actor: { conjurLogin: 'bob' }, data: { code: 'CONFLICT' } });
  });

  it('keeps a dry run with its requester: summary privately, nothing in the channel, nothing published', async () => {
    await w.stage('conjur-cli', '4.6.0', { 'conjur-cli-4.6.0.gem': 'gem bytes 4.6.0' });
    const sent = await w.command('alice', 'conjur-cli 4.6.0 --dry-run');
    const reply = await w.reply(sent.responseUrl, 20_000);
    expect(text(reply)).toMatch(/^Dry run of conjur-cli 4\.6\.0 \(dry-run\)/);
    expect(text(reply)).toContain('downloads [exec]: would run');
    expect(w.slack.callsTo('chat.postMessage').filter((c) => text(c).startsWith('Releasing conjur-cli 4.6.0'))).toHaveLength(0);
    expect(existsSync(path.join(w.outDir, 'conjur-cli/4.6.0'))).toBe(false);
  });

  it('two-person rule: the requester cannot approve, a non-approver cannot, a second person can and the release runs', async () => {
    await w.stage('gated', '1.0.0', { 'gated-1.0.0.tgz': 'gated bytes' });
    const ask = await w.command('alice', 'gated 1.0.0');
    expect(ask.elapsedMs).toBeLessThan(3000);
    expect(text(await w.reply(ask.responseUrl))).toContain('Waiting for 1 approval(s) from release/approvers');
    const request = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && c.body.channel === 'C0GATED' && text(c).startsWith('alice asks to release gated 1.0.0'),
    );
    const requestId = /approval request `(apr_[A-Za-z0-9_-]+)`/.exec(bodyText(request))?.[1] as string;
    expect(requestId).toBeDefined();
    expect(bodyText(request)).toContain('"action_id":"approve_release"');

    const own = await w.click('alice', 'approve_release', requestId);
    expect(text(await w.reply(own.responseUrl))).toContain('alice requested this release and cannot approve it');
    const outsider = await w.click('mallory', 'approve_release', requestId);
    expect(text(await w.reply(outsider.responseUrl))).toContain('mallory is not a member of the Conjur group release/approvers');
    expect(existsSync(path.join(w.mirrorDir, 'gated/1.0.0'))).toBe(false);

    const carol = await w.click('carol', 'approve_release', requestId);
    expect(text(await w.reply(carol.responseUrl))).toContain('Approved: the release of gated 1.0.0 runs now');
    const final = await w.slack.waitFor(
      (c) => c.method === 'chat.update' && c.body.channel === 'C0GATED' && text(c).startsWith('Released gated 1.0.0'),
      30_000,
    );
    expect(text(final)).toContain('requested by: alice; approved by: carol');
    expect(readFileSync(path.join(w.mirrorDir, 'gated/1.0.0/gated-1.0.0.tgz'), 'utf8')).toBe('gated bytes');
    // The approval message now says it was approved and has no button left.
    const closed = await w.slack.waitFor(
      (c) =>
        c.method === 'chat.update' &&
        c.body.ts === (request.response as { ts: string }).ts &&
        bodyText(c).includes('Approved: the release is running'),
    );
    expect(bodyText(closed)).not.toContain('approve_release');

    const again = await w.click('bob', 'approve_release', requestId);
    expect(text(await w.reply(again.responseUrl))).toContain('already approved and the release started');
    const types = w.server.app.audit.list({ project: 'gated', limit: 20 }).map((e) => `${e.type}:${e.actor.conjurLogin}`);
    expect(types).toEqual(
      expect.arrayContaining([
        'approval-requested:alice',
        'denied:alice',
        'denied:mallory',
        'approved:carol',
        'requested:alice',
        'published:alice',
      ]),
    );
  });

  it('warns the channel when another build is reported for a released version', async () => {
    await expect(w.stage('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'a different build' }, 124)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    const warning = await w.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        text(c).startsWith('Warning: jenkins:conjur-cli reported another build (#124) for conjur-cli 4.2.0'),
    );
    expect(warning.body.channel).toBe('C0RELEASES');
    expect(text(warning)).toContain('which alice already released or is releasing');
  });

  it('announces a release a crash left mid-way, after the restart, with how to resume it', async () => {
    await w.stage('conjur-cli', '4.7.0', { 'conjur-cli-4.7.0.gem': 'crashed' });
    const staged = w.server.app.staged.current('conjur-cli', '4.7.0');
    // What a SIGKILL in the middle of publishing leaves behind: a live release nobody runs.
    const dead = crashedProcess(w);
    const release = dead.create({
      project: 'conjur-cli',
      version: '4.7.0',
      stagedBuildId: staged?.id ?? null,
      requesterLogin: 'alice',
      requesterChat: 'U0ALICE',
      via: 'slack',
      dryRun: false,
      resumeOf: null,
      approvers: [],
    });
    dead.setState(release.id, 'publishing');
    await w.restart();
    const note = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && text(c).startsWith(`Release ${release.id} of conjur-cli 4.7.0`),
    );
    expect(text(note)).toContain('was interrupted');
    expect(text(note)).toContain('resume with /release conjur-cli 4.7.0 resume');
    expect(note.body.channel).toBe('C0RELEASES');
    // The restarted bot still answers signed requests.
    expect(JSON.parse((await w.command('alice', 'help')).body).response_type).toBe('ephemeral');
  });

  it('resumes an interrupted release with /release <p> <v> resume: only the unfinished destination runs, the summary says so', async () => {
    await w.stage('conjur-cli', '4.8.0', { 'conjur-cli-4.8.0.gem': 'resumed' });
    const staged = w.server.app.staged.current('conjur-cli', '4.8.0');
    // A crash after `downloads` finished and while `mirror` ran: what the killed process left in the database.
    const dead = crashedProcess(w);
    const crashed = dead.create({
      project: 'conjur-cli',
      version: '4.8.0',
      stagedBuildId: staged?.id ?? null,
      requesterLogin: 'alice',
      requesterChat: 'U0ALICE',
      via: 'slack',
      dryRun: false,
      resumeOf: null,
      approvers: [],
    });
    dead.setState(crashed.id, 'publishing');
    const finishedAt = new Date().toISOString();
    dead.upsertDestination({
      releaseId: crashed.id,
      destination: 'downloads',
      type: 'exec',
      status: 'published',
      attempts: 1,
      startedAt: finishedAt,
      finishedAt,
      durationMs: 4000,
      location: 'downloads.example',
    });
    dead.upsertDestination({
      releaseId: crashed.id,
      destination: 'mirror',
      type: 'directory',
      status: 'running',
      attempts: 1,
      startedAt: finishedAt,
    });
    await w.restart();
    await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith(`Release ${crashed.id} of conjur-cli 4.8.0`));
    expect(w.server.app.releases.get(crashed.id)?.state).toBe('interrupted');

    // Someone outside the group cannot resume it either.
    const refused = await w.command('mallory', 'conjur-cli 4.8.0 resume');
    expect(text(await w.reply(refused.responseUrl))).toContain('mallory is not a member of the Conjur group release/conjur-cli');

    const sent = await w.command('bob', 'conjur-cli 4.8.0 resume');
    expect(sent.status).toBe(200);
    expect(JSON.parse(sent.body).text).toContain('Resuming the release of conjur-cli 4.8.0');
    const final = await w.slack.waitFor((c) => c.method === 'chat.update' && text(c).startsWith('Released conjur-cli 4.8.0'), 30_000);
    expect(final.body.channel).toBe('C0RELEASES');
    expect(text(final)).toContain('requested by: bob');
    expect(text(final)).toMatch(/- downloads \[exec\]: skipped/);
    expect(text(final)).toMatch(/- mirror \[directory\]: published/);
    const blocks = bodyText(final);
    expect(blocks).toContain(`resumes \`${crashed.id}\``);
    expect(blocks).toContain(`(done in ${crashed.id})`);
    expect(text(await w.reply(sent.responseUrl))).toContain('conjur-cli 4.8.0: published');

    // The finished destination did not run again (its script writes the files), the unfinished one did.
    expect(existsSync(path.join(w.outDir, 'conjur-cli/4.8.0'))).toBe(false);
    expect(readFileSync(path.join(w.mirrorDir, 'conjur-cli/4.8.0/conjur-cli-4.8.0.gem'), 'utf8')).toBe('resumed');
    const published = w.server.app.audit.list({ project: 'conjur-cli', version: '4.8.0', limit: 10 }).find((e) => e.type === 'published');
    expect(published).toMatchObject({ actor: { conjurLogin: 'bob', chatUserId: 'U0BOB', via: 'slack' }, data: { resumeOf: crashed.id } });
    expect(
      (published?.data.destinations as Array<{ name: string; status: string; attempts: number }>).map(
        (d) => `${d.name}:${d.status}:${d.attempts}`,
      ),
    ).toEqual(['downloads:skipped:0', 'mirror:published:1']);
  });

  it('never lets a secret reach a chat message, an ack, a log line or the audit', async () => {
    const everything = [
      ...w.slack.calls.map((c) => JSON.stringify(c.body)),
      ...w.logLines,
      JSON.stringify(w.server.app.audit.list({ limit: 1000 })),
    ].join('\n');
    expect(w.slack.calls.length).toBeGreaterThan(20);
    expect(everything).toContain('conjur-cli'); // the scan read real content
    for (const secret of Object.values(CANARY)) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
    }
    // The bot did present its token to the Web API, in the header where it belongs.
    expect(w.slack.calls.filter((c) => c.method !== 'response_url').every((c) => c.authorized)).toBe(true);
  });
});
