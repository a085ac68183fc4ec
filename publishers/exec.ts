import { z } from 'zod';
import { runCommand, tail } from '../src/exec.js';
import type { PublishContext, PublisherDefinition } from '../src/publishing/types.js';

const options = z
  .object({
    /** argv, never a shell string: placeholders {project} {version} {dir} {build} are replaced whole-word inside each element. */
    command: z.array(z.string().min(1)).min(1, 'command is an argv array such as ["/opt/release/publish", "{project}", "{version}", "{dir}"]'),
    /** Extra, non-secret environment for the script. */
    env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).default({}),
  })
  .strict();
type Options = z.infer<typeof options>;

export function expandPlaceholders(arg: string, ctx: Pick<PublishContext, 'project' | 'version' | 'dir' | 'build'>): string {
  const values: Record<string, string> = {
    project: ctx.project,
    version: ctx.version,
    dir: ctx.dir,
    build: ctx.build.number === undefined ? '' : String(ctx.build.number),
  };
  return arg.replace(/\{(project|version|dir|build)\}/g, (_, key: string) => values[key] ?? '');
}

/** The publishing script of the old architecture: run without a shell, credentials only in its environment. */
export const execPublisher: PublisherDefinition<Options> = {
  type: 'exec',
  description: 'runs a publishing script with the verified files and this destination\'s credentials',
  artifacts: ['files', 'docker'],
  options,
  tools: [],
  plan: (ctx, opts) => ({ actions: [`run ${opts.command.map((a) => expandPlaceholders(a, ctx)).join(' ')}`] }),
  async publish(ctx, opts) {
    const [file, ...args] = opts.command.map((a) => expandPlaceholders(a, ctx)) as [string, ...string[]];
    ctx.progress(`running ${file}`);
    const result = await runCommand(file, args, {
      env: {
        ...opts.env,
        ...ctx.credentials,
        RELEASE_PROJECT: ctx.project,
        RELEASE_VERSION: ctx.version,
        RELEASE_DIR: ctx.dir,
        RELEASE_LABEL: ctx.labelFile,
      },
      cwd: ctx.tmpDir,
      timeoutMs: 24 * 3600 * 1000, // the destination's own timeout aborts `signal` first
      signal: ctx.signal,
      redact: ctx.redact,
      // A script's own children (a sleep, a backgrounded upload) stop with it, on timeout too.
      ownProcessGroup: true,
    });
    ctx.log.info({ stdout: tail(result.stdout, 40), stderr: tail(result.stderr, 40) }, 'publishing script output');
    const out = tail(result.stdout, 3);
    return { status: 'published', ...(out ? { detail: out } : {}) };
  },
};
