import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';
import { startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { project } from '../support/projects-file.js';

const bin = path.join(repoRoot, 'bin', 'release-bot.js');

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000, explain: () => unknown = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(explain())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Running, not a zombie: a killed child whose parent is gone may wait a while to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Parent, process group and state of a process, for a failure message. */
function describeStat(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${ppid}/${pgid}/${state}`;
  } catch {
    return 'gone';
  }
}

/** Live children of a process running `program`, from /proc. */
function childrenOf(parent: number, program: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const argv0 = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0] ?? '';
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent &&
          alive(Number(entry)) &&
          path.basename(argv0) === program
          ? [Number(entry)]
          : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

function killAll(pids: number[]): void {
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
}

/**
 * `kill -9` of the bot mid-release: nothing it started may keep running (with a credential in its
 * environment). The exec destination's script sleeps and leaves a background child; each writes its
 * pid first. Only the bot is killed, never its group or its children.
 */
describe('children die with the bot, even on SIGKILL', () => {
  let bot: BotEnv;
  let marks: string;
  const started: number[] = [];

  beforeAll(async () => {
    requireBinary('setpriv', 'util-linux');
    bot = await startBotEnv((dir) => {
      marks = path.join(dir, 'marks');
      mkdirSync(marks);
      const script = path.join(dir, 'publish.sh');
      writeFileSync(
        script,
        [
          '#!/bin/sh',
          'sleep 600 &',
          'background=$!',
          'sleep 601 &',
          'foreground=$!',
          'echo "$$ $background $foreground" > "$MARKS/pids.tmp"',
          'mv "$MARKS/pids.tmp" "$MARKS/pids"',
          'wait $foreground',
          '',
        ].join('\n'),
      );
      chmodSync(script, 0o755);
      return {
        'conjur-cli': project('conjur-cli', [
          {
            name: 'script',
            type: 'exec',
            command: [script, '{project}', '{version}'],
            env: { MARKS: marks },
            retries: 0,
            timeout_seconds: 600,
          },
        ]),
      };
    });
  });

  afterAll(async () => {
    killAll(started);
    await bot.close();
  });

  it('a SIGKILL of `release-bot publish` kills the publishing script, its sleep and its background child', async () => {
    bot.stageFiles('conjur-cli', '1.0.0', { 'conjur-cli-1.0.0.gem': 'gem bytes' });
    expect((await bot.cli('stage', 'conjur-cli', '1.0.0', '--build-number', '7')).code).toBe(0);
    const child = spawn(process.execPath, [bin, 'publish', 'conjur-cli', '1.0.0', '--as', 'alice'], {
      env: { PATH: process.env.PATH, ...bot.env },
      cwd: repoRoot,
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pidsFile = path.join(marks, 'pids');
    await waitFor('the script to write its pids', () => existsSync(pidsFile) || child.exitCode !== null);
    const pids = readFileSync(pidsFile, 'utf8').trim().split(' ').map(Number);
    started.push(...pids);
    expect(pids).toHaveLength(3);
    expect(pids.every(alive)).toBe(true);

    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    const survivors = () =>
      pids
        .filter(alive)
        .map(
          (pid) =>
            `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()} (ppid/pgid/state: ${describeStat(pid)})`,
        );
    await waitFor('every process the script started to be gone', () => !pids.some(alive), 60_000, survivors);
  }, 180_000);

  it('a child run without a process group of its own (npm, gem, skopeo, scp) dies with the bot too', async () => {
    const exec = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'exec.js')).href;
    const code = `import { runCommand } from '${exec}'; await runCommand('sleep', ['600'], { timeoutMs: 600000, redact: (t) => t });`;
    const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { PATH: process.env.PATH },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let sleeper: number[] = [];
    await waitFor('the sleep to start', () => (sleeper = childrenOf(child.pid as number, 'sleep')).length > 0 || child.exitCode !== null);
    started.push(...sleeper);
    expect(sleeper).toHaveLength(1);

    child.kill('SIGKILL');
    await exited;
    await waitFor('the sleep to be gone', () => !sleeper.some(alive));
  }, 180_000);
});
