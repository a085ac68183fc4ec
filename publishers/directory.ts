import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, chmod, link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { sha256File } from '../src/staging/hash.js';
import type { AttestationToPublish } from '../src/publishing/types.js';
import { MAX_ATTESTATION_BYTES } from '../src/provenance/envelope-file.js';
import { yankDirectory } from './directory-yank.js';
import { directoryType } from './destination-types.js';
import { type DirectoryOptions } from './directory/options.js';
import { definePublisher } from '../src/publishing/define-publisher.js';

type Options = DirectoryOptions;

function target(ctx: { project: string; version: string }, template: string): string {
  return path.resolve(template.replaceAll('{project}', ctx.project).replaceAll('{version}', ctx.version));
}

/**
 * Copies the verified files into a directory, each made read-only (0444), and the release label
 * beside them. Read back, never overwrite: a file already there with the same digest is left alone,
 * one with another digest fails the destination; the same holds for the label.
 */
export const directoryPublisher = definePublisher<Options>({
  ...directoryType,
  description: 'copies the verified files (and the release label) into a directory',
  plan: (ctx, opts) => ({
    actions: [
      `copy ${ctx.artifact.kind === 'files' ? ctx.artifact.files.length : 0} file(s) and the release label to ${target(ctx, opts.path)}`,
    ],
  }),
  yank: (ctx, opts) => yankDirectory(ctx, target(ctx, opts.path)),
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
        throw new ReleaseBotError(
          ErrorCode.DestinationConflict,
          `${to} already exists with another digest (sha256 ${existing.slice(0, 12)}…): not overwriting a published file`,
        );
      }
      await mkdir(path.dirname(to), { recursive: true });
      // EXCL: a file that appeared since the check above is not overwritten either.
      await copyFile(path.join(ctx.dir, file.path), to, constants.COPYFILE_EXCL);
      await chmod(to, 0o444);
      const readBack = await sha256File(to);
      if (readBack !== file.sha256)
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `${to} reads back with sha256 ${readBack.slice(0, 12)}…, expected ${file.sha256.slice(0, 12)}…`,
          { retryable: true },
        );
      copied += 1;
    }
    const label = await placeLabel(ctx.labelFile, path.join(dest, path.basename(ctx.labelFile)));
    return {
      status: copied === 0 && label !== 'written' ? 'already-present' : 'published',
      location: dest,
      detail: `${copied} file(s) copied, release label ${label}`,
    };
  },
  async attest(ctx, opts, attestation) {
    const to = path.join(target(ctx, opts.path), attestation.fileName);
    await placeAttestation(to, attestation);
    return { location: to };
  },
});

/**
 * Puts `<file>.intoto.jsonl` beside the file as the files are put: never over another (an equivalent
 * one, from an earlier attempt, is kept), written whole under a temporary name and linked into place
 * (a link never replaces a name), 0444, then read back.
 */
async function placeAttestation(to: string, att: AttestationToPublish): Promise<void> {
  const kept = async (): Promise<boolean> => {
    const existing = await readBounded(to);
    if (existing === undefined) return false;
    if (existing.equals(att.envelope) || att.equivalent?.(existing)) return true;
    throw new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `${to} already holds another attestation: not overwriting it (remove it by hand only if that release never happened)`,
    );
  };
  if (await kept()) return;
  await mkdir(path.dirname(to), { recursive: true });
  const temp = path.join(path.dirname(to), `.${path.basename(to)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o444);
  try {
    await handle.writeFile(att.envelope);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Someone put one there meanwhile: judged like one found before.
    if (await kept()) return;
  } finally {
    await rm(temp, { force: true });
  }
  const back = await readBounded(to);
  if (!back?.equals(att.envelope))
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `${to} does not read back as the attestation that was written`, {
      retryable: true,
    });
}

/** A file's bytes, at most MAX_ATTESTATION_BYTES + 1 of them; undefined when there is none. */
async function readBounded(file: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(MAX_ATTESTATION_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The facts a label states about the build; an earlier attempt's label (another release id and time) states the same. */
function labelFacts(text: string): string | undefined {
  try {
    const l = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify([l.project, l.version, l.build, l.artifact]);
  } catch {
    return undefined;
  }
}

/**
 * Puts the release label beside the files. A label already there (it is 0444: copying over it fails
 * for anyone but root, and would overwrite it for root) is read back instead: byte for byte the same,
 * or the label an earlier attempt of this release wrote for the same build (a resume: only the release
 * id and time differ), is kept as it is; a label of another build fails the destination untouched.
 */
async function placeLabel(from: string, to: string): Promise<'written' | 'already there'> {
  const wanted = await readFile(from, 'utf8');
  let existing: string | undefined;
  try {
    existing = await readFile(to, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing === undefined) {
    await copyFile(from, to, constants.COPYFILE_EXCL);
    await chmod(to, 0o444);
    if ((await readFile(to, 'utf8')) !== wanted)
      throw new ReleaseBotError(ErrorCode.DestinationFailed, `${to} does not read back as the release label that was written`, {
        retryable: true,
      });
    return 'written';
  }
  const facts = labelFacts(existing);
  if (existing === wanted || (facts !== undefined && facts === labelFacts(wanted))) return 'already there';
  throw new ReleaseBotError(
    ErrorCode.DestinationConflict,
    `${to} already holds a release label of another build: not overwriting it (remove it by hand only if that release never happened)`,
  );
}

async function digestIfExists(file: string): Promise<string | undefined> {
  try {
    await stat(file);
  } catch {
    return undefined;
  }
  return sha256File(file);
}
