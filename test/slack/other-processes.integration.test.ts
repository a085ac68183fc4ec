import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Releases } from '../../src/store/releases.js';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { bodyText, CANARY, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');
const posts = (w: SlackWorld, prefix: string) => w.slack.callsTo('chat.postMessage').filter((c) => text(c).startsWith(prefix));

/**
 * Only `serve` speaks in Slack; `release-bot stage` and `release-bot publish` run as other processes
 * on the same database (the built CLI, `npm run build` first). serve reads the audit log they write
 * and posts what the channel must read: the readiness note with its Release button, the audit summary.
 */
describe('Slack: announcing what CLI processes staged and released', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    w = await startSlackWorld({ sleepSeconds: 1 });
  });

  afterAll(async () => {
    await w.stop();
  });

  it('posts the readiness note with a Release button for a build staged by `release-bot stage`', async () => {
    w.stageFiles('conjur-cli', '5.0.0', { 'conjur-cli-5.0.0.gem': 'staged from the CLI' });
    const staged = await w.cli(
      'stage',
      'conjur-cli',
      '5.0.0',
      '--build-number',
      '77',
      '--build-url',
      'https://jenkins.example/job/conjur-cli/77/',
      '--json',
    );
    expect(staged.code).toBe(0);
    const stagedId = (JSON.parse(staged.stdout) as { staged: { id: number } }).staged.id;

    const note = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && text(c).startsWith('conjur-cli 5.0.0 is ready to release'),
    );
    expect(note.body.channel).toBe('C0RELEASES');
    const blocks = JSON.stringify(note.body.blocks);
    expect(blocks).toContain('"action_id":"release_staged"');
    expect(blocks).toContain(JSON.stringify(JSON.stringify({ p: 'conjur-cli', v: '5.0.0', s: stagedId })).slice(1, -1));
    expect(blocks).toContain('<https://jenkins.example/job/conjur-cli/77/|#77>');
    expect(blocks).toMatch(/by cli:\S+/);
  });

  it('posts the audit summary of a release run by `release-bot publish` in the project channel', async () => {
    const published = await w.cli('publish', 'conjur-cli', '5.0.0', '--as', 'alice');
    expect(published.code).toBe(0);
    const entry = w.server.app.audit.list({ project: 'conjur-cli', version: '5.0.0', limit: 5 }).find((e) => e.type === 'published');
    expect(entry).toBeDefined();

    const summary = await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('Released conjur-cli 5.0.0'));
    expect(summary.body.channel).toBe('C0RELEASES');
    expect(text(summary)).toContain('requested by: alice');
    expect(text(summary)).toContain(`audit entry ${entry?.id}`);
    const blocks = bodyText(summary);
    expect(blocks).toContain(`audit entry \`${entry?.id}\``);
    expect(blocks).toMatch(/\*downloads\* \[exec\]: published in/);
    expect(blocks).toMatch(/\*mirror\* \[directory\]: published in/);
    expect(blocks).toContain('<https://jenkins.example/job/conjur-cli/77/|#77>');
  });

  it('posts the summary of a failed CLI release too, with why', async () => {
    w.stageFiles('conjur-cli', '5.0.1', { 'conjur-cli-5.0.1.gem': 'will fail' });
    expect((await w.cli('stage', 'conjur-cli', '5.0.1')).code).toBe(0);
    // The mirror already holds another file under that name: it refuses to overwrite it, and the release fails.
    mkdirSync(path.join(w.mirrorDir, 'conjur-cli', '5.0.1'), { recursive: true });
    writeFileSync(path.join(w.mirrorDir, 'conjur-cli', '5.0.1', 'conjur-cli-5.0.1.gem'), 'someone else put this here');
    expect((await w.cli('publish', 'conjur-cli', '5.0.1', '--as', 'alice')).code).toBe(1);
    const failed = w.server.app.audit.list({ project: 'conjur-cli', version: '5.0.1', limit: 1 })[0];
    expect(failed?.type).toBe('failed');

    const summary = await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('Release FAILED: conjur-cli 5.0.1'));
    expect(summary.body.channel).toBe('C0RELEASES');
    expect(text(summary)).toContain(`audit entry ${failed?.id}`);
    expect(bodyText(summary)).toMatch(/\*mirror\* \[directory\]: failed \(DESTINATION_CONFLICT\): \S+ already exists with another digest/);
    expect(bodyText(summary)).toMatch(/\*downloads\* \[exec\]: published/);
  });

  it('announces a release that a CLI process found interrupted (its owner died), with the resume hint', async () => {
    w.stageFiles('conjur-cli', '5.0.2', { 'conjur-cli-5.0.2.gem': 'owner died' });
    expect((await w.cli('stage', 'conjur-cli', '5.0.2')).code).toBe(0);
    const staged = w.server.app.staged.current('conjur-cli', '5.0.2');
    // A release row written by a process that has since died: the next CLI publish of the version recovers it.
    const gone = spawnSync(process.execPath, ['-e', '']);
    const dead = new Releases(w.server.app.db, undefined, { host: hostname(), bootId: null, pid: gone.pid as number, startTime: null });
    const crashed = dead.create({
      project: 'conjur-cli',
      version: '5.0.2',
      stagedBuildId: staged?.id ?? null,
      requesterLogin: 'alice',
      requesterChat: null,
      via: 'cli',
      dryRun: false,
      resumeOf: null,
      approvers: [],
    });
    dead.setState(crashed.id, 'publishing');
    expect((await w.cli('publish', 'conjur-cli', '5.0.2', '--as', 'alice', '--resume')).code).toBe(0);

    const note = await w.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && text(c).startsWith(`Release ${crashed.id} of conjur-cli 5.0.2`),
    );
    expect(note.body.channel).toBe('C0RELEASES');
    expect(text(note)).toContain('was interrupted');
    expect(text(note)).toContain('/release conjur-cli 5.0.2 resume');
    await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('Released conjur-cli 5.0.2'));
    expect(posts(w, `Release ${crashed.id} of conjur-cli 5.0.2`)).toHaveLength(1);
  });

  it('announces nothing twice: not its own stagings, not after a restart; dry runs stay private', async () => {
    // Staged in serve's own process: announced once, from the in-process event.
    await w.stage('conjur-cli', '5.1.0', { 'conjur-cli-5.1.0.gem': 'in process' });
    expect((await w.cli('publish', 'conjur-cli', '5.0.1', '--as', 'alice', '--dry-run')).code).toBe(0);
    await w.restart();
    // A barrier: the watcher reads the log in order, so once this note is out, anything older was seen.
    w.stageFiles('conjur-cli', '5.2.0', { 'conjur-cli-5.2.0.gem': 'after the restart' });
    expect((await w.cli('stage', 'conjur-cli', '5.2.0')).code).toBe(0);
    await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('conjur-cli 5.2.0 is ready to release'));

    expect(posts(w, 'conjur-cli 5.0.0 is ready to release')).toHaveLength(1);
    expect(posts(w, 'Released conjur-cli 5.0.0')).toHaveLength(1);
    expect(posts(w, 'conjur-cli 5.1.0 is ready to release')).toHaveLength(1);
    expect(posts(w, 'conjur-cli 5.2.0 is ready to release')).toHaveLength(1);
    expect(posts(w, 'Dry run of conjur-cli 5.0.1')).toHaveLength(0);
  });

  it('never lets a secret reach a chat message or a log line', async () => {
    const everything = [...w.slack.calls.map((c) => JSON.stringify(c.body)), ...w.logLines].join('\n');
    expect(everything).toContain('conjur-cli 5.0.0');
    for (const secret of Object.values(CANARY)) expect(everything).not.toContain(secret);
  });
});
