import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { runCommand, tail } from '../src/exec.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { PublishContext } from '../src/publishing/types.js';
import { yankExec } from './exec-yank.js';
import { execType } from './destination-types.js';
import { type ExecOptions } from './exec/options.js';

type Options = ExecOptions;

export function expandPlaceholders(arg: string, ctx: Pick<PublishContext, 'project' | 'version' | 'dir' | 'build'>): string {
  const values: Record<string, string> = {
    project: ctx.project,
    version: ctx.version,
    dir: ctx.dir,
    build: ctx.build.number === undefined ? '' : String(ctx.build.number),
  };
  return arg.replace(/\{(project|version|dir|build)\}/g, (_, key: string) => values[key] ?? '');
}

/**
 * Every credential also as a file, `<NAME>_FILE` holding the path of a 0600 file with the value's
 * exact bytes, in the destination's private temporary directory (0700, removed afterwards). A binary
 * value (a keystore, a signing key) arrives only that way: an environment variable cannot hold a NUL
 * byte, and bytes that are not UTF-8 would not survive as text. Text values keep their variable too,
 * so a script can always read `<NAME>_FILE`, whether or not the value turns binary after a rotation.
 */
export async function credentialFiles(
  ctx: Pick<PublishContext, 'credentials' | 'binaryCredentials' | 'tmpDir'>,
  env: Readonly<Record<string, string>>,
): Promise<{ dir?: string; files: Record<string, string> }> {
  const values: Array<[string, string | Buffer]> = [...Object.entries(ctx.credentials), ...Object.entries(ctx.binaryCredentials ?? {})];
  if (values.length === 0) return { files: {} };
  const taken = new Set([...Object.keys(env), ...values.map(([name]) => name)]);
  const clash = values.map(([name]) => `${name}_FILE`).find((f) => taken.has(f));
  if (clash !== undefined) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `${clash} is both a variable of the exec destination and the file of its credential ${clash.slice(0, -'_FILE'.length)}: rename one of them`,
    );
  }
  // One directory per attempt (mkdtemp: 0700), removed when the script ends.
  const dir = await mkdtemp(path.join(ctx.tmpDir, 'credentials-'));
  const files: Record<string, string> = {};
  for (const [name, value] of values) {
    const file = path.join(dir, name);
    await writeFile(file, value, { mode: 0o600, flag: 'wx' });
    files[`${name}_FILE`] = file;
  }
  return { dir, files };
}

/** The publishing script of the old architecture: run without a shell, credentials in its environment and in files. */
export const execPublisher = definePublisher<Options>({
  ...execType,
  description: "runs a publishing script with the verified files and this destination's credentials",
  binaryCredentials: true,
  yank: yankExec,
  plan: (ctx, opts) => ({ actions: [`run ${opts.command.map((a) => expandPlaceholders(a, ctx)).join(' ')}`] }),
  async publish(ctx, opts) {
    const [file, ...args] = opts.command.map((a) => expandPlaceholders(a, ctx)) as [string, ...string[]];
    const result = await runScript(ctx, opts.env, file, args, {
      RELEASE_PROJECT: ctx.project,
      RELEASE_VERSION: ctx.version,
      RELEASE_DIR: ctx.dir,
      RELEASE_LABEL: ctx.labelFile,
    });
    ctx.log.info({ stdout: tail(result.stdout, 40), stderr: tail(result.stderr, 40) }, 'publishing script output');
    const out = tail(result.stdout, 3);
    return { status: 'published', ...(out ? { detail: out } : {}) };
  },
});

/**
 * Runs a destination's script, for publish and yank alike: argv without a shell, the allowlisted
 * environment plus the destination's own variables, its credentials (also as `<NAME>_FILE`, removed
 * afterwards) and the step's `vars`, its own process group (a script's children, a sleep or a
 * backgrounded upload, stop with it, on timeout too), output redacted.
 */
export async function runScript(
  ctx: Pick<PublishContext, 'credentials' | 'binaryCredentials' | 'tmpDir' | 'signal' | 'redact' | 'progress'>,
  env: Readonly<Record<string, string>>,
  file: string,
  args: string[],
  vars: Readonly<Record<string, string>>,
  okExitCodes: readonly number[] = [],
) {
  const { dir: credentialDir, files } = await credentialFiles(ctx, env);
  ctx.progress(`running ${file}`);
  return runCommand(file, args, {
    env: { ...env, ...ctx.credentials, ...files, ...vars },
    cwd: ctx.tmpDir,
    timeoutMs: 24 * 3600 * 1000, // the destination's own timeout aborts `signal` first
    signal: ctx.signal,
    redact: ctx.redact,
    okExitCodes,
    ownProcessGroup: true,
  }).finally(() => (credentialDir === undefined ? undefined : rm(credentialDir, { recursive: true, force: true })));
}
