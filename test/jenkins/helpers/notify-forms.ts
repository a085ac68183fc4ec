import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runCli, type CliResult } from '../../support/cli.js';
import { makeTmpDir } from '../../support/tmp.js';

/** The single file as the package ships it (`npm run build` emits it; the tarball holds this path). */
export const singleFile = path.join(repoRoot, 'dist', 'handlers', 'cli', 'release-bot-notify.mjs');

/**
 * Runs the single file as a Jenkins agent would: copied alone into an empty directory, run from there
 * with an empty NODE_PATH, so nothing but Node itself can be resolved. `dirAfter`: what the directory
 * held when it exited.
 */
export function runSingleFile(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult & { dirAfter: string[] }> {
  const tmp = makeTmpDir('release-bot-notify-alone-');
  const file = path.join(tmp.dir, 'release-bot-notify.mjs');
  copyFileSync(singleFile, file);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...args],
      { env: { PATH: process.env.PATH, NODE_PATH: '', ...env }, cwd: tmp.dir, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const dirAfter = readdirSync(tmp.dir);
        tmp.cleanup();
        resolve({ code, stdout, stderr, dirAfter });
      },
    );
  });
}

export interface NotifyForm {
  name: string;
  run: (args: string[], env: NodeJS.ProcessEnv) => Promise<CliResult>;
}

/** `release-bot notify` and the single file: the same arguments, the same answers, the same exit codes. */
export const notifyForms: NotifyForm[] = [
  { name: 'release-bot notify', run: (args, env) => runCli(['notify', ...args], env) },
  { name: 'release-bot-notify.mjs alone', run: runSingleFile },
];
