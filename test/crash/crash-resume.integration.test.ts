import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import { startSlackStandIn, type RecordedSlackCall, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { createApp } from '../../app/create.js';
import { repoRoot } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { stopChild } from '../support/stop-child.js';
import { startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { project } from '../support/projects-file.js';

const bin = path.join(repoRoot, 'bin', 'release-bot.js');

/** The CLI as a child in its own process group, so the test can kill it and its publishing scripts at once. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH, ...env },
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  return { child, output: () => output };
}

/**
 * SIGKILL to a process and everything it started, whatever their process group (exec publishers run
 * scripts in groups of their own): what systemd's KillMode=control-group does to the unit's cgroup.
 */
function killTree(root: number): void {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const all: number[] = [];
  const walk = (pid: number) => {
    all.push(pid);
    for (const child of parents.get(pid) ?? []) walk(child);
  };
  walk(root);
  for (const pid of all) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or already gone
      }
    }
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lines of a marker file, of one version when given (each line is "<project> <version>"). */
const lines = (file: string, version?: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l && (version === undefined || l.endsWith(` ${version}`))).length
    : 0;

const SIGNING_SECRET = 'signing-secret-crash-test-7c4d1e9a';
const BOT_TOKEN = 'xoxb-crash-test-000000000-bot-token';

/**
 * SIGKILL in the middle of a release, then a restart: the release is marked interrupted, audited and
 * announced in the channel; nothing is published again on its own; a resume runs only the destination
 * that had not finished. Two exec destinations, one at a time: `first` finishes, `blocked` waits for
 * a marker file. Each script counts its runs in marker files, one line per run naming the version.
 */
// Each test drives several bot processes (publish, serve, restarts) one after another: on a busy
// 2-core machine one such test takes over a minute, so the per-test limit is generous (no duration
// is asserted; a leftover test running past its limit would race the next one's marker files).
jest.setTimeout(300_000);

describe('crash safety: SIGKILL mid-release, restart, resume', () => {
  let bot: BotEnv;
  let slack: SlackStandIn;
  let marks: string;
  let slackEnv: NodeJS.ProcessEnv;
  const runs = (name: string, version?: string) => lines(path.join(marks, name), version);
  const go = (on: boolean) => (on ? writeFileSync(path.join(marks, 'go'), '') : rmSync(path.join(marks, 'go'), { force: true }));

  beforeAll(async () => {
    bot = await startBotEnv((dir) => {
      marks = path.join(dir, 'marks');
      mkdirSync(marks);
      const first = path.join(dir, 'first.sh');
      const blocked = path.join(dir, 'blocked.sh');
      writeFileSync(first, '#!/bin/sh\nset -eu\necho "$1 $2" >> "$MARKS/first.runs"\n');
      writeFileSync(
        blocked,
        '#!/bin/sh\nset -eu\necho "$1 $2" >> "$MARKS/blocked.started"\nwhile [ ! -e "$MARKS/go" ]; do sleep 0.05; done\necho "$1 $2" >> "$MARKS/blocked.done"\n',
      );
      chmodSync(first, 0o755);
      chmodSync(blocked, 0o755);
      return {
        'conjur-cli': project(
          'conjur-cli',
          [
            { name: 'first', type: 'exec', command: [first, '{project}', '{version}'], env: { MARKS: marks }, retries: 0 },
            {
              name: 'blocked',
              type: 'exec',
              command: [blocked, '{project}', '{version}'],
              env: { MARKS: marks },
              retries: 0,
              timeout_seconds: 600,
            },
          ],
          { concurrency: 1 },
        ),
      };
    });
    slack = await startSlackStandIn({ token: BOT_TOKEN, users: [{ id: 'U024BE7LH', name: 'alice', email: 'alice@example.com' }] });
    slackEnv = { ...bot.env, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: slack.apiUrl };
  });

  afterAll(async () => {
    go(true);
    await slack.close();
    await bot.close();
  });

  const stage = async (version: string) => {
    bot.stageFiles('conjur-cli', version, { [`conjur-cli-${version}.gem`]: `gem bytes ${version}` });
    expect((await bot.cli('stage', 'conjur-cli', version, '--build-number', '41')).code).toBe(0);
  };

  const statusOf = async (version: string) =>
    JSON.parse((await bot.cli('status', 'conjur-cli', version, '--json')).stdout).releases as {
      id: string;
      state: string;
      errorCode?: string;
    }[];

  /** Starts `publish` and SIGKILLs it (and its scripts) once `blocked` is running; returns the release id. */
  async function killMidRelease(version: string): Promise<string> {
    go(false);
    await stage(version);
    const { child, output } = spawnCli(['publish', 'conjur-cli', version, '--as', 'alice'], bot.env);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitFor('the blocked destination to start', () => runs('blocked.started', version) > 0 || child.exitCode !== null);
    expect(child.exitCode).toBeNull();
    killTree(child.pid as number);
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(output()).not.toContain('release finished');
    const releases = await statusOf(version);
    expect(releases[0]?.state).toBe('publishing');
    return releases[0]?.id as string;
  }

  /** `release-bot serve` as a process, with Slack pointed at the stand-in; resolves once it answers /healthz. */
  async function startServe(): Promise<{ child: ChildProcess; output: () => string; port: number }> {
    const port = await freePort();
    const server = spawnCli(['serve'], { ...slackEnv, PORT: String(port) });
    await waitFor(
      'serve to answer /healthz',
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true,
    );
    return { ...server, port };
  }

  const announcement = (releaseId: string) => (c: RecordedSlackCall) =>
    c.method === 'chat.postMessage' &&
    c.body.channel === 'C0RELEASES' &&
    typeof c.body.text === 'string' &&
    c.body.text.includes(releaseId) &&
    c.body.text.includes('was interrupted');

  it('marks the release interrupted on restart, audits it, announces it in the channel with the resume hint, publishes nothing by itself, and resumes only the unfinished destination', async () => {
    const releaseId = await killMidRelease('4.2.0');
    expect(runs('first.runs', '4.2.0')).toBe(1);
    expect(runs('blocked.started', '4.2.0')).toBe(1);
    expect(runs('blocked.done', '4.2.0')).toBe(0);

    // Restart the server, with Slack on.
    const server = await startServe();
    try {
      const recovered = server
        .output()
        .split('\n')
        .filter((l) => l.includes('releases left mid-way were marked interrupted'));
      expect(recovered).toHaveLength(1);
      expect(JSON.parse(recovered[0] as string)).toMatchObject({ level: 40, releases: [releaseId] });

      const announced = await slack.waitFor(announcement(releaseId));
      expect(announced.authorized).toBe(true);
      expect(announced.body.text).toContain('Release ' + releaseId + ' of conjur-cli 4.2.0 (requested by alice) was interrupted');
      expect(announced.body.text).toContain('resume with /release conjur-cli 4.2.0 resume');
      expect(JSON.stringify(announced.body.blocks)).toContain('/release conjur-cli 4.2.0 resume');
      expect(JSON.stringify(announced.body.blocks)).toMatch(/\*first\*: published.*\*blocked\*: running/);

      expect((await statusOf('4.2.0'))[0]).toMatchObject({ id: releaseId, state: 'interrupted', errorCode: 'INTERRUPTED' });
      const audit = (await bot.cli('audit', 'list', '--json', '--version', '4.2.0')).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(audit[0]).toMatchObject({
        type: 'interrupted',
        releaseId,
        actor: { via: 'release-bot' },
        data: { previousState: 'publishing' },
      });
      expect(audit[0].data.destinations).toEqual([
        { name: 'first', status: 'published' },
        { name: 'blocked', status: 'running' },
      ]);
      // Written before the kill, and still there: WAL + synchronous=FULL lost nothing.
      expect(audit.map((e) => e.type)).toEqual(['interrupted', 'requested', 'staged']);
      expect(announced.body.text).toContain(audit[0].id);

      // Nothing is published again on its own, even with the go-ahead file present.
      go(true);
      await new Promise((r) => setTimeout(r, 1500));
      expect(runs('first.runs', '4.2.0')).toBe(1);
      expect(runs('blocked.started', '4.2.0')).toBe(1);
    } finally {
      await stopChild(server.child);
    }
    expect(server.child.exitCode).toBe(0);
    const verify = await bot.cli('audit', 'verify');
    expect(verify.code).toBe(0);

    // Resume: only the destination that had not finished runs.
    const resumed = await bot.cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice', '--resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^Released conjur-cli 4\.2\.0 \(published\)/);
    expect(resumed.stdout).toMatch(/- first \[exec\]: skipped/);
    expect(resumed.stdout).toMatch(/- blocked \[exec\]: published/);
    expect(runs('first.runs', '4.2.0')).toBe(1);
    expect(runs('blocked.started', '4.2.0')).toBe(2);
    expect(runs('blocked.done', '4.2.0')).toBe(1);

    const trace = await bot.cli('audit', 'trace', 'conjur-cli', '4.2.0');
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain(`resuming ${releaseId}`);
    expect(trace.stdout).toMatch(/first \[exec\] +skipped/);
    expect(trace.stdout).toMatch(/interrupted by release-bot/);
    const again = await bot.cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice', '--resume');
    expect(again.code).not.toBe(0);
    expect(runs('first.runs', '4.2.0') + runs('blocked.started', '4.2.0')).toBe(3);
  });

  it('without a restart of serve: the next `publish --resume` recovers the killed CLI release itself and runs only the unfinished destination', async () => {
    const server = await startServe();
    try {
      const releaseId = await killMidRelease('4.4.0');
      // serve runs all along and never restarted: the dead release is still live in the database.
      expect((await statusOf('4.4.0'))[0]).toMatchObject({ id: releaseId, state: 'publishing' });
      go(true);
      const resumed = await bot.cli('publish', 'conjur-cli', '4.4.0', '--as', 'alice', '--resume');
      expect(resumed.stderr).not.toContain('no interrupted or failed release');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/^Released conjur-cli 4\.4\.0 \(published\)/);
      expect(resumed.stdout).toMatch(/- first \[exec\]: skipped/);
      expect(resumed.stdout).toMatch(/- blocked \[exec\]: published/);
      expect(runs('first.runs', '4.4.0')).toBe(1);
      expect(runs('blocked.started', '4.4.0')).toBe(2);
      expect(runs('blocked.done', '4.4.0')).toBe(1);
      const releases = await statusOf('4.4.0');
      expect(releases.find((r) => r.id === releaseId)).toMatchObject({ state: 'interrupted', errorCode: 'INTERRUPTED' });
      const audit = (await bot.cli('audit', 'list', '--json', '--version', '4.4.0')).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(audit.map((e) => e.type)).toEqual(['published', 'requested', 'interrupted', 'requested', 'staged']);
      expect(audit[2]).toMatchObject({ type: 'interrupted', releaseId, data: { previousState: 'publishing' } });
    } finally {
      await stopChild(server.child);
    }
    expect(server.child.exitCode).toBe(0);
  });

  it('a `serve` SIGKILLed while running a release asked for by a signed Slack /release: restarted, it marks it interrupted, updates the release’s own channel message in place (interrupted, what finished, the resume command), and `/release … resume` runs only the unfinished destination', async () => {
    go(false);
    await stage('4.5.0');
    const first = await startServe();
    const killed = new Promise<void>((resolve) => first.child.once('exit', () => resolve()));
    const events = `http://127.0.0.1:${first.port}/slack/events`;
    const ask = await sendSlackRequest(events, slashCommand({ text: 'conjur-cli 4.5.0', response_url: slack.responseUrl() }), {
      signingSecret: SIGNING_SECRET,
    });
    expect(ask.status).toBe(200);
    await waitFor('the blocked destination to start', () => runs('blocked.started', '4.5.0') > 0);
    const releaseId = (await statusOf('4.5.0'))[0]?.id as string;
    expect((await statusOf('4.5.0'))[0]?.state).toBe('publishing');
    // The release's own channel message, and a thread reply under it (sent once its ts was known and recorded).
    const original = await slack.waitFor(
      (c) => c.method === 'chat.postMessage' && !c.body.thread_ts && String(c.body.text).includes(`release ${releaseId}`),
    );
    const ts = original.response.ts as string;
    expect(original.body.text).toContain('- blocked: ');
    await slack.waitFor((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts);
    killTree(first.child.pid as number);
    await killed;
    expect(first.child.signalCode).toBe('SIGKILL');

    const server = await startServe();
    try {
      // Updated in place: the message that said "running" now says interrupted, what finished, and how to resume.
      const updated = await slack.waitFor(
        (c) => c.method === 'chat.update' && c.body.ts === ts && String(c.body.text).includes('was interrupted'),
      );
      expect(updated.body.channel).toBe('C0RELEASES');
      expect(updated.body.text).toContain(`Release ${releaseId} of conjur-cli 4.5.0 (requested by alice) was interrupted`);
      expect(updated.body.text).toContain('resume with /release conjur-cli 4.5.0 resume');
      expect(JSON.stringify(updated.body.blocks)).toMatch(/\*first\*: published.*\*blocked\*: running/);
      expect(JSON.stringify(updated.body.blocks)).toContain('/release conjur-cli 4.5.0 resume');
      expect(slack.calls.some(announcement(releaseId))).toBe(false);
      expect((await statusOf('4.5.0'))[0]).toMatchObject({ id: releaseId, state: 'interrupted', errorCode: 'INTERRUPTED' });
      expect(runs('first.runs', '4.5.0')).toBe(1);

      go(true);
      const resume = await sendSlackRequest(
        `http://127.0.0.1:${server.port}/slack/events`,
        slashCommand({ text: 'conjur-cli 4.5.0 resume', response_url: slack.responseUrl() }),
        { signingSecret: SIGNING_SECRET },
      );
      expect(resume.status).toBe(200);
      await waitFor('the resumed release to finish', async () => (await statusOf('4.5.0'))[0]?.state === 'published');
      expect(runs('first.runs', '4.5.0')).toBe(1);
      expect(runs('blocked.started', '4.5.0')).toBe(2);
      expect(runs('blocked.done', '4.5.0')).toBe(1);
      const audit = (await bot.cli('audit', 'list', '--json', '--version', '4.5.0', '--limit', '1')).stdout.trim();
      expect(JSON.parse(audit)).toMatchObject({ type: 'published', data: { resumeOf: releaseId } });
      expect(JSON.parse(audit).data.destinations.map((d: { name: string; status: string }) => `${d.name}:${d.status}`)).toEqual([
        'first:skipped',
        'blocked:published',
      ]);
    } finally {
      await stopChild(server.child);
    }
  });

  it('emits release-interrupted for the channel when it recovers a killed release', async () => {
    const releaseId = await killMidRelease('4.3.0');
    const app = createApp({ env: bot.env, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
    try {
      const events: { id: string; state: string; auditId: string; project?: string }[] = [];
      app.core.events.on('release-interrupted', (e) =>
        events.push({ id: e.release.id, state: e.release.state, auditId: e.auditId, project: e.project?.name }),
      );
      app.core.recoverInterrupted();
      expect(events).toEqual([{ id: releaseId, state: 'interrupted', auditId: expect.stringMatching(/^aud_/), project: 'conjur-cli' }]);
      expect(app.audit.get(events[0]?.auditId as string)).toMatchObject({ type: 'interrupted', releaseId });
    } finally {
      app.close();
    }
  });
});
