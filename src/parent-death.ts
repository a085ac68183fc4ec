import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Children die with the bot, even when the bot is killed with SIGKILL and can run no handler: a
 * publishing script left running would keep its credentials and keep publishing for a release the
 * bot no longer follows. On Linux every child is started as `setpriv --pdeathsig KILL -- <program>`
 * (util-linux): the kernel kills it when the bot's thread that started it dies. Elsewhere (no setpriv,
 * or one too old for --pdeathsig) children are started as before and only a supervisor that kills
 * the whole service (systemd's control group) stops them.
 */
let wrapper: Promise<readonly string[]> | undefined;

/** The argv prefix that gives a child a parent-death signal, or none where there is no way to. */
export function parentDeathPrefix(): Promise<readonly string[]> {
  wrapper ??= findSetpriv();
  return wrapper;
}

async function findSetpriv(): Promise<readonly string[]> {
  const setpriv = await findExecutable('setpriv', process.env.PATH);
  if (setpriv === undefined) return [];
  const prefix = [setpriv, '--pdeathsig', 'KILL', '--'];
  // Tried once for real: an old setpriv without --pdeathsig, or a sandbox refusing the prctl,
  // fails here rather than every command afterwards.
  const works = await new Promise<boolean>((resolve) => {
    execFile(setpriv, [...prefix.slice(1), setpriv, '--version'], { env: {}, timeout: 30_000 }, (err) => resolve(err === null));
  });
  return works ? prefix : [];
}

/**
 * Where execvp would find `file` with this PATH (relative to `cwd` when it has a slash), or undefined
 * when it would not. A program that cannot be found is then started without the prefix, so its error
 * is Node's own (ENOENT) rather than setpriv's exit 127.
 */
export async function findExecutable(file: string, pathVar: string | undefined, cwd = process.cwd()): Promise<string | undefined> {
  const candidates = file.includes('/')
    ? [path.resolve(cwd, file)]
    : (pathVar ?? '').split(':').map((dir) => path.resolve(cwd, dir || '.', file));
  for (const candidate of candidates) {
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    // missing or not executable: the next candidate
    return false;
  }
}

/**
 * A parent-death signal reaches the direct child only: a script's own children (a `sleep`, a
 * backgrounded upload) would be left running when the bot is killed, since the group kill the bot
 * does when the script exits never runs. So a script is started through a small `sh` that first puts
 * a watcher in the new process group and then execs the script in its place (same pid, the group's
 * leader): the watcher reads fd 3, a pipe only the bot holds, and when the bot dies, however, the pipe
 * closes and the watcher kills its own group with SIGKILL. The watcher exists before the script's
 * first instruction, so there is no moment in which the script runs unguarded (an earlier guard, told
 * the group id after the spawn, missed the children of a script that got ahead of a descheduled bot).
 * It works without setpriv too. What it cannot reach: a descendant that left the group (setsid, a
 * daemon), which only a control group kill stops.
 *
 * Returns the argv that runs `argv` guarded; the caller opens fd 3 as a pipe and never writes to it.
 * `sh` exports PWD to what it runs: it is unset unless the caller meant to pass it.
 */
export function guardedArgv(argv: readonly string[], env: Readonly<Record<string, string>>): string[] {
  const script = `${env.PWD === undefined ? 'unset PWD; ' : ''}(read _ <&3; kill -s KILL 0) </dev/null >/dev/null 2>&1 & exec 3<&-; exec "$@"`;
  return ['/bin/sh', '-c', script, 'release-bot-guard', ...argv];
}
