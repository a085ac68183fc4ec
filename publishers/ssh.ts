import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { MAX_ATTESTATION_BYTES } from '../src/provenance/envelope-file.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { DryRunPlan, PublishContext, PublishResult } from '../src/publishing/types.js';
import { sshRun, type Connection } from './ssh/connection.js';
import { sshType } from './destination-types.js';
import { assertSafeName, q, type SshOptions } from './ssh/options.js';
import { compare, conflictError, remoteDigests, upload, withConnection, type Upload } from './ssh/upload.js';
import { yankSsh } from './ssh-yank.js';

export { classifySshFailure, connect, sshRun, type Connection, type SshContext, type SshFailureReason } from './ssh/connection.js';
export { assertSafeName, q, remoteDir, type SshOptions } from './ssh/options.js';
export { digestScript, parseDigests } from './ssh/upload.js';

type Options = SshOptions;

/** Uploads the verified files and the release label to a download host over ssh (scp or rsync). */
export const sshPublisher = definePublisher<Options>({
  ...sshType,
  description: 'uploads the verified files and the release label to a download host with scp or rsync over ssh',
  yank: (ctx, opts) => yankSsh(ctx, opts),

  plan: (ctx, opts): Promise<DryRunPlan> =>
    withConnection(ctx, opts, async (conn, up) => {
      const check = compare(up, await remoteDigests(ctx, opts, conn, up));
      if (check.conflicts.length > 0) throw conflictError(up, check.conflicts);
      if (check.missing.length === 0)
        return {
          actions: [`${up.target}:${up.dir} already holds all ${up.files.length} file(s) with the staged digests: nothing to upload`],
        };
      return {
        actions: [
          `${opts.method} ${check.missing.join(' ')}${check.labelPresent ? '' : ` ${up.label}`} to ${up.target}:${up.dir} (port ${opts.port}), then read back sha256`,
        ],
      };
    }),

  publish: (ctx, opts): Promise<PublishResult> =>
    withConnection(ctx, opts, async (conn, up) => {
      ctx.progress(`checking ${up.target}:${up.dir}`);
      const before = compare(up, await remoteDigests(ctx, opts, conn, up));
      if (before.conflicts.length > 0) throw conflictError(up, before.conflicts);
      const location = `${up.target}:${up.dir}`;
      const readBack = (m: Map<string, string>) => up.files.map((f) => `${f.path}:${m.get(f.path) ?? 'missing'}`).join(' ');
      const names = [...before.missing, ...(before.labelPresent ? [] : [up.label])];
      if (names.length === 0) {
        return {
          status: 'already-present',
          location,
          readBackDigest: readBack(new Map(up.files.map((f) => [f.path, f.sha256]))),
          detail: `all ${up.files.length} file(s) already there`,
        };
      }
      const after = await upload(ctx, opts, conn, up, names);
      ctx.progress(`verifying ${up.files.length} file(s) on ${up.target}`);
      const check = compare(up, after);
      if (check.conflicts.length > 0) throw conflictError(up, check.conflicts);
      if (check.missing.length > 0 || !check.labelPresent) {
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `after the upload ${location} lacks ${[...check.missing, ...(check.labelPresent ? [] : [up.label])].join(', ')}`,
          { retryable: true },
        );
      }
      ctx.log.info({ location, files: up.files.length, uploaded: names.length }, 'files uploaded and read back');
      const uploaded = before.missing.length;
      return {
        status: uploaded === 0 ? 'already-present' : 'published',
        location,
        readBackDigest: readBack(after),
        detail: uploaded === 0 ? 'files already there; release label added' : `${uploaded} file(s) uploaded, sha256 read back`,
      };
    }),

  /**
   * `<file>.intoto.jsonl` beside the file, with the same care as the files: one already there is
   * read and kept when equivalent (else a conflict, never overwritten); a new one goes through the
   * hidden upload directory, is linked into place and its sha256 read back.
   */
  attest: (ctx, opts, att) =>
    withConnection(ctx, opts, async (conn, up) => {
      const name = assertSafeName(att.fileName);
      const location = `${up.target}:${up.dir}/${name}`;
      const existing = await remoteAttestation(ctx, opts, conn, up, name);
      if (existing !== undefined) {
        if (existing.equals(att.envelope) || att.equivalent?.(existing)) return { location };
        throw new ReleaseBotError(
          ErrorCode.DestinationConflict,
          `${location} already holds another attestation: not overwriting it (remove it by hand only if that release never happened)`,
        );
      }
      const localDir = path.join(ctx.tmpDir, `attestation-${randomBytes(6).toString('hex')}`);
      await mkdir(path.join(localDir, path.posix.dirname(name)), { recursive: true, mode: 0o700 });
      await writeFile(path.join(localDir, name), att.envelope, { mode: 0o644, flag: 'wx' });
      try {
        const after = await upload(ctx, opts, conn, up, [name], localDir, [name]);
        const digest = after.get(name);
        if (digest !== att.digest) {
          // A different one that appeared meanwhile is judged like one found before.
          const now = digest === undefined ? undefined : await remoteAttestation(ctx, opts, conn, up, name);
          if (now !== undefined && att.equivalent?.(now)) return { location };
          throw new ReleaseBotError(
            ErrorCode.DestinationFailed,
            `${location} reads back as ${digest ? `sha256 ${digest.slice(0, 12)}…` : 'missing'}, expected the attestation's sha256 ${att.digest.slice(0, 12)}…`,
            { retryable: digest === undefined },
          );
        }
      } finally {
        await rm(localDir, { recursive: true, force: true });
      }
      return { location };
    }),
});

/** The content of an attestation already on the host (at most MAX_ATTESTATION_BYTES + 1 bytes); undefined when there is none. */
async function remoteAttestation(
  ctx: PublishContext,
  opts: Options,
  conn: Connection,
  up: Upload,
  name: string,
): Promise<Buffer | undefined> {
  const d = q(up.dir);
  const stdout = await sshRun(
    ctx,
    opts,
    conn,
    `checking ${up.target}:${up.dir}/${name}`,
    `cd ${d} 2>/dev/null || exit 0; if [ -f ${q(name)} ]; then echo present; head -c ${MAX_ATTESTATION_BYTES + 1} -- ${q(name)} | base64; elif [ -e ${q(name)} ] || [ -L ${q(name)} ]; then echo notafile; fi`,
  );
  const [first, ...rest] = stdout.split('\n');
  if (first === 'notafile')
    throw new ReleaseBotError(ErrorCode.DestinationConflict, `${up.target}:${up.dir}/${name} exists and is not a plain file`);
  if (first !== 'present') return undefined;
  return Buffer.from(rest.join(''), 'base64');
}
