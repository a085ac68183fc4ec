/**
 * DEVELOPMENT helper: children of `npm run dev` and the demo die with them, even on SIGKILL. On Linux a child
 * is started as `setpriv --pdeathsig KILL -- <program>` (util-linux); elsewhere (no setpriv, or one without
 * --pdeathsig) as it is, and only a clean stop (Ctrl-C, SIGTERM) ends it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

let prefix: Promise<string[]> | undefined;

/** The argv to put before a child's program so that it dies with this process, or [] where there is none. */
export function deathSignalPrefix(): Promise<string[]> {
  prefix ??= find();
  return prefix;
}

async function find(): Promise<string[]> {
  const setpriv = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, 'setpriv'))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (setpriv === undefined) return [];
  const candidate = [setpriv, '--pdeathsig', 'KILL', '--'];
  const works = await new Promise<boolean>((resolve) =>
    execFile(setpriv, [...candidate.slice(1), setpriv, '--version'], { timeout: 30_000 }, (err) => resolve(err === null)),
  );
  return works ? candidate : [];
}

/** `[command, args]` of `program args...` started with the death signal prefix. */
export async function guarded(program: string, args: string[]): Promise<[string, string[]]> {
  const p = await deathSignalPrefix();
  return p.length === 0 ? [program, args] : [p[0] as string, [...p.slice(1), program, ...args]];
}
