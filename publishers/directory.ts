import { copyFile, chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { sha256File } from '../src/staging/hash.js';
import type { PublisherDefinition } from '../src/publishing/types.js';

const options = z
  .object({
    /** Target directory; {project} and {version} are replaced. Files land there with the release label beside them. */
    path: z.string().min(1),
  })
  .strict();
type Options = z.infer<typeof options>;

function target(ctx: { project: string; version: string }, template: string): string {
  return path.resolve(template.replaceAll('{project}', ctx.project).replaceAll('{version}', ctx.version));
}

/** Copies the verified files into a directory; a file already there with another digest is never overwritten. */
export const directoryPublisher: PublisherDefinition<Options> = {
  type: 'directory',
  description: 'copies the verified files (and the release label) into a directory',
  artifacts: ['files'],
  options,
  tools: [],
  plan: (ctx, opts) => ({ actions: [`copy ${ctx.artifact.kind === 'files' ? ctx.artifact.files.length : 0} file(s) and the release label to ${target(ctx, opts.path)}`] }),
  async publish(ctx, opts) {
    if (ctx.artifact.kind !== 'files') throw new ReleaseBotError(ErrorCode.BadInput, 'a directory destination publishes files');
    const dest = target(ctx, opts.path);
    await mkdir(dest, { recursive: true });
    let copied = 0;
    for (const file of ctx.artifact.files) {
      const to = path.join(dest, file.path);
      const existing = await digestIfExists(to);
      if (existing === file.sha256) continue;
      if (existing !== undefined) {
        throw new ReleaseBotError(ErrorCode.DestinationConflict, `${to} already exists with another digest (sha256 ${existing.slice(0, 12)}…): not overwriting a published file`);
      }
      await mkdir(path.dirname(to), { recursive: true });
      await copyFile(path.join(ctx.dir, file.path), to);
      await chmod(to, 0o444);
      const readBack = await sha256File(to);
      if (readBack !== file.sha256) throw new ReleaseBotError(ErrorCode.DestinationFailed, `${to} reads back with sha256 ${readBack.slice(0, 12)}…, expected ${file.sha256.slice(0, 12)}…`, { retryable: true });
      copied += 1;
    }
    const labelTo = path.join(dest, path.basename(ctx.labelFile));
    await copyFile(ctx.labelFile, labelTo);
    await readFile(labelTo);
    return { status: copied === 0 ? 'already-present' : 'published', location: dest, detail: `${copied} file(s) copied` };
  },
};

async function digestIfExists(file: string): Promise<string | undefined> {
  try {
    await stat(file);
  } catch {
    return undefined;
  }
  return sha256File(file);
}
