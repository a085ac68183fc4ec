import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/main.js';
import { repoRoot } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { stopChild } from '../support/stop-child.js';
import { startBotEnv, type BotEnv } from '../audit/bot-env.js';

const bin = path.join(repoRoot, 'bin', 'release-bot.js');

/** The CLI as a child in its own process group, so the test can kill it and its publishing scripts at once. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, ...env }, cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  return { child, output: () => output };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0);

/**
 * SIGKILL in the middle of a release, then a restart: the release is marked interrupted, audited and
 * announced; nothing is published again on its own; `publish --resume` runs only the destination
 * that had not finished. Two exec destinations, one at a time: `first` finishes, `blocked` waits for
 * a marker file. Each script counts its runs in marker files.
 */
describe('crash safety: SIGKILL mid-release, restart, resume', () => {
  let bot: BotEnv;
  let marks: string;
  const runs = (name: string) => lines(path.join(marks, name));

  beforeAll(async () => {
    bot = await startBotEnv((dir) => {
      marks = path.join(dir, 'marks');
      mkdirSync(marks);
      const first = path.join(dir, 'first.sh');
      const blocked = path.join(dir, 'blocked.sh');
      writeFileSync(first, '#!/bin/sh\nset -eu\necho "$1 $2" >> "$MARKS/first.runs"\n');
      writeFileSync(blocked, '#!/bin/sh\nset -eu\necho "$1 $2" >> "$MARKS/blocked.started"\nwhile [ ! -e "$MARKS/go" ]; do sleep 0.05; done\necho "$1 $2" >> "$MARKS/blocked.done"\n');
      chmodSync(first, 0o755);
      chmodSync(blocked, 0o755);
      return [
        '  conjur-cli:',
        '    authorized_group: release/conjur-cli',
        '    jenkins_job: conjur-cli',
        '    artifact: files',
        '    concurrency: 1',
        '    destinations:',
        '      - name: first',
        '        type: exec',
        `        command: ["${first}", "{project}", "{version}"]`,
        `        env: { MARKS: "${marks}" }`,
        '        retries: 0',
        '      - name: blocked',
        '        type: exec',
        `        command: ["${blocked}", "{project}", "{version}"]`,
        `        env: { MARKS: "${marks}" }`,
        '        retries: 0',
        '        timeout_seconds: 600',
      ];
    });
  });

  afterAll(async () => {
    writeFileSync(path.join(marks, 'go'), '');
    await bot.close();
  });

  /** Starts `publish` and SIGKILLs it (and its scripts) once `blocked` is running; returns the release id. */
  async function killMidRelease(version: string): Promise<string> {
    bot.stageFiles('conjur-cli', version, { [`conjur-cli-${version}.gem`]: `gem bytes ${version}` });
    expect((await bot.cli('stage', 'conjur-cli', version, '--build-number', '41')).code).toBe(0);
    const before = lines(path.join(marks, 'blocked.started'));
    const { child, output } = spawnCli(['publish', 'conjur-cli', version, '--as', 'alice'], bot.env);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitFor('the blocked destination to start', () => lines(path.join(marks, 'blocked.started')) > before || child.exitCode !== null);
    expect(child.exitCode).toBeNull();
    // The whole process group, as systemd's KillMode=control-group does when it stops a dead unit.
    process.kill(-(child.pid as number), 'SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(output()).not.toContain('release finished');
    const status = JSON.parse((await bot.cli('status', 'conjur-cli', version, '--json')).stdout);
    expect(status.releases[0].state).toBe('publishing');
    return status.releases[0].id as string;
  }

  it('marks the release interrupted on restart, audits and announces it, publishes nothing by itself, and resumes only the unfinished destination', async () => {
    const releaseId = await killMidRelease('4.2.0');
    expect(runs('first.runs')).toBe(1);
    expect(runs('blocked.started')).toBe(1);
    expect(runs('blocked.done')).toBe(0);

    // Restart the server.
    const port = await freePort();
    const server = spawnCli(['serve'], { ...bot.env, PORT: String(port) });
    try {
      await waitFor('serve to answer /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true);
      const recovered = server.output().split('\n').filter((l) => l.includes('releases left mid-way were marked interrupted'));
      expect(recovered).toHaveLength(1);
      expect(JSON.parse(recovered[0] as string)).toMatchObject({ level: 40, releases: [releaseId] });

      const status = JSON.parse((await bot.cli('status', 'conjur-cli', '4.2.0', '--json')).stdout);
      expect(status.releases[0]).toMatchObject({ id: releaseId, state: 'interrupted', errorCode: 'INTERRUPTED' });
      const audit = (await bot.cli('audit', 'list', '--json', '--version', '4.2.0')).stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(audit[0]).toMatchObject({ type: 'interrupted', releaseId, actor: { via: 'release-bot' }, data: { previousState: 'publishing' } });
      expect(audit[0].data.destinations).toEqual([
        { name: 'first', status: 'published' },
        { name: 'blocked', status: 'running' },
      ]);
      // Written before the kill, and still there: WAL + synchronous=FULL lost nothing.
      expect(audit.map((e) => e.type)).toEqual(['interrupted', 'requested', 'staged']);

      // Nothing is published again on its own, even with the go-ahead file present.
      writeFileSync(path.join(marks, 'go'), '');
      await new Promise((r) => setTimeout(r, 1500));
      expect(runs('first.runs')).toBe(1);
      expect(runs('blocked.started')).toBe(1);
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
    expect(runs('first.runs')).toBe(1);
    expect(runs('blocked.started')).toBe(2);
    expect(runs('blocked.done')).toBe(1);

    const trace = await bot.cli('audit', 'trace', 'conjur-cli', '4.2.0');
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain(`resuming ${releaseId}`);
    expect(trace.stdout).toMatch(/first \[exec\] +skipped/);
    expect(trace.stdout).toMatch(/interrupted by release-bot/);
    const again = await bot.cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice', '--resume');
    expect(again.code).not.toBe(0);
    expect(runs('first.runs') + runs('blocked.started')).toBe(3);
  });

  it('emits release-interrupted for the channel when it recovers a killed release', async () => {
    // The go-ahead file of the previous test must not let this release finish.
    rmSync(path.join(marks, 'go'), { force: true });
    const releaseId = await killMidRelease('4.3.0');
    const app = createApp({ env: bot.env, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
    try {
      const events: { id: string; state: string; auditId: string; project?: string }[] = [];
      app.core.events.on('release-interrupted', (e) => events.push({ id: e.release.id, state: e.release.state, auditId: e.auditId, project: e.project?.name }));
      app.core.recoverInterrupted();
      expect(events).toEqual([{ id: releaseId, state: 'interrupted', auditId: expect.stringMatching(/^aud_/), project: 'conjur-cli' }]);
      expect(app.core.audit.get(events[0]?.auditId as string)).toMatchObject({ type: 'interrupted', releaseId });
    } finally {
      app.close();
    }
  });
});
