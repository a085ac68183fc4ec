import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';
import { connect, run, sshRun, TRANSFER_MS, type Connection } from './connection.js';
import { assertSafeName, q, remoteDir, type SshOptions as Options } from './options.js';

export interface Upload {
  dir: string;
  /** Artifact files, relative to `dir`. */
  files: Array<{ path: string; sha256: string }>;
  label: string;
  target: string;
}

export function describe(ctx: PublishContext, opts: Options): Upload {
  if (ctx.artifact.kind !== 'files')
    throw new ReleaseBotError(ErrorCode.BadInput, 'an ssh destination uploads files: set artifact: files for this project');
  const label = assertSafeName(path.basename(ctx.labelFile));
  const files = ctx.artifact.files.map((f) => ({ path: assertSafeName(f.path), sha256: f.sha256 }));
  return { dir: remoteDir(ctx, opts.path), files, label, target: `${opts.user}@${opts.host}` };
}
/** Prints `<sha256>  <name>` for each name present in the current dir, `notafile <name>` for anything else there, nothing for a missing one. */
export function digestScript(names: string[]): string {
  return `for f in ${names.map(q).join(' ')}; do if [ -f "$f" ]; then sha256sum -- "$f" || exit 3; elif [ -e "$f" ] || [ -L "$f" ]; then echo "notafile $f"; fi; done`;
}

export function parseDigests(stdout: string, names: string[]): Map<string, string> {
  const known = new Set(names);
  const out = new Map<string, string>();
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line) ?? /^(notafile) (.+)$/.exec(line);
    if (!m || !known.has(m[2] as string)) {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `unexpected answer from the download host: ${JSON.stringify(clip(line, 120))} (a login script that prints something? the remote needs a POSIX sh and sha256sum)`,
      );
    }
    out.set(m[2] as string, m[1] as string);
  }
  return out;
}

export async function remoteDigests(ctx: PublishContext, opts: Options, conn: Connection, up: Upload): Promise<Map<string, string>> {
  const names = [...up.files.map((f) => f.path), up.label];
  const d = q(up.dir);
  const stdout = await sshRun(
    ctx,
    opts,
    conn,
    `checking ${up.target}:${up.dir}`,
    `if [ -d ${d} ]; then cd ${d} || exit 3; ${digestScript(names)}; elif [ -e ${d} ]; then echo 'notadir'; fi`,
  );
  if (stdout.trim() === 'notadir')
    throw new ReleaseBotError(ErrorCode.DestinationConflict, `${up.target}:${up.dir} exists and is not a directory`);
  return parseDigests(stdout, names);
}

export interface Check {
  missing: string[];
  conflicts: string[];
  labelPresent: boolean;
}

export function compare(up: Upload, remote: Map<string, string>): Check {
  const missing: string[] = [];
  const conflicts: string[] = [];
  for (const f of up.files) {
    const digest = remote.get(f.path);
    if (digest === undefined) missing.push(f.path);
    else if (digest !== f.sha256)
      conflicts.push(
        `${f.path} (${digest === 'notafile' ? 'not a plain file' : `sha256 ${digest.slice(0, 12)}…, staged ${f.sha256.slice(0, 12)}…`})`,
      );
  }
  return { missing, conflicts, labelPresent: remote.has(up.label) };
}

export function conflictError(up: Upload, conflicts: string[]): ReleaseBotError {
  return new ReleaseBotError(
    ErrorCode.DestinationConflict,
    `${up.target}:${up.dir} already holds other content: ${conflicts.join(', ')}; a published file is never overwritten`,
    {
      details: { files: conflicts },
    },
  );
}

export async function withConnection<T>(
  ctx: PublishContext,
  opts: Options,
  body: (conn: Connection, up: Upload) => Promise<T>,
): Promise<T> {
  const up = describe(ctx, opts);
  const conn = await connect(ctx, opts);
  try {
    return await body(conn, up);
  } finally {
    await conn.cleanup();
  }
}

/** Copies files into a fresh hidden directory beside the release, so a cut transfer never leaves a half file under a final name. */
async function transfer(
  ctx: PublishContext,
  opts: Options,
  conn: Connection,
  up: Upload,
  names: string[],
  staging: string,
  localDir: string,
): Promise<void> {
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  if (opts.method === 'rsync') {
    // rsync splits -e on blanks: the temp paths inside it must have none.
    if (!/^[A-Za-z0-9_./-]+$/.test(conn.keyFile + conn.knownHostsFile)) {
      throw new ReleaseBotError(
        ErrorCode.BadInput,
        `the temp dir ${JSON.stringify(clip(ctx.tmpDir))} has characters rsync -e cannot carry: use method: scp or a plain temp path`,
      );
    }
    const local = names.map((n) => `${localDir}/./${n}`);
    await run(
      ctx,
      `rsync to ${up.target}:${up.dir}`,
      'rsync',
      [
        '-s',
        '--relative',
        '--times',
        '--chmod=D755,F644',
        '-e',
        ['ssh', ...conn.ssh, '-p', String(opts.port)].join(' '),
        '--',
        ...local,
        `${opts.user}@${hostPart}:${up.dir}/${staging}/`,
      ],
      TRANSFER_MS,
    );
    return;
  }
  // scp (SFTP mode) has no --relative: one call per subdirectory.
  const byDir = new Map<string, string[]>();
  for (const name of names) byDir.set(path.posix.dirname(name), [...(byDir.get(path.posix.dirname(name)) ?? []), name]);
  for (const [dir, files] of byDir) {
    const dest = dir === '.' ? `${up.dir}/${staging}/` : `${up.dir}/${staging}/${dir}/`;
    await run(
      ctx,
      `scp to ${up.target}:${up.dir}`,
      'scp',
      ['-q', ...conn.ssh, '-P', String(opts.port), '--', ...files.map((f) => path.join(localDir, f)), `${opts.user}@${hostPart}:${dest}`],
      TRANSFER_MS,
    );
  }
}

/**
 * Uploads `names` (relative to `localDir`, the private copy by default) into a hidden directory, links
 * each into place, and reads back the digests of `readBack` (every artifact file and the label by default).
 */
export async function upload(
  ctx: PublishContext,
  opts: Options,
  conn: Connection,
  up: Upload,
  names: string[],
  localDir = ctx.dir,
  readBack = [...up.files.map((f) => f.path), up.label],
): Promise<Map<string, string>> {
  const staging = `.release-bot-upload-${randomBytes(8).toString('hex')}`;
  const d = q(up.dir);
  const subdirs = [...new Set(names.map((n) => path.posix.dirname(n)).filter((x) => x !== '.'))];
  await sshRun(
    ctx,
    opts,
    conn,
    `creating ${up.target}:${up.dir}`,
    `umask 022 && mkdir -p -- ${d} ${[staging, ...subdirs.map((s) => `${staging}/${s}`)].map((s) => q(`${up.dir}/${s}`)).join(' ')}`,
  );
  try {
    ctx.progress(`uploading ${names.length} file(s) to ${up.target}:${up.dir} with ${opts.method}`);
    await transfer(ctx, opts, conn, up, names, staging, localDir);
    // ln never replaces an existing name: a file someone else put there meanwhile stays, and the read-back below judges it.
    const moves = names.map(
      (n) => `{ ln -- ${q(`${staging}/${n}`)} ${q(n)} 2>/dev/null || [ -e ${q(n)} ] || mv -- ${q(`${staging}/${n}`)} ${q(n)} || exit 4; }`,
    );
    const all = readBack;
    const stdout = await sshRun(
      ctx,
      opts,
      conn,
      `placing files in ${up.target}:${up.dir}`,
      `cd ${d} || exit 3; ${subdirs.length ? `mkdir -p -- ${subdirs.map(q).join(' ')} || exit 3; ` : ''}${moves.join('; ')}; rm -rf -- ${q(staging)}; ${digestScript(all)}`,
    );
    return parseDigests(stdout, all);
  } catch (err) {
    await sshRun(ctx, opts, conn, 'cleaning up', `rm -rf -- ${q(`${up.dir}/${staging}`)}`).catch((cleanupErr: unknown) => {
      ctx.log.warn(
        { err: ctx.redact(String(cleanupErr)), dir: `${up.dir}/${staging}` },
        'could not remove the upload directory on the download host',
      );
    });
    throw err;
  }
}
