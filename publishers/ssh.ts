import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { ExecError, runCommand, tail } from '../src/exec.js';
import { MAX_ATTESTATION_BYTES } from '../src/provenance/envelope-file.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { DryRunPlan, PublishContext, PublishResult } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { credential } from './http.js';
import { yankSsh } from './ssh-yank.js';

/**
 * Remote names are restricted to a charset with no shell meaning, and single-quoted on top: the
 * remote side runs our commands through the login shell, so nothing from a project file, a version
 * or an artifact name may ever be read as shell syntax there.
 */
const SAFE_SEGMENT = /^[A-Za-z0-9_+][A-Za-z0-9_.+-]*$/;
const HOSTNAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)$/;
const KNOWN_HOSTS_LINE = /^(?:@(?:cert-authority|revoked) )?[^\s#]\S* (?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}(?: .*)?$/;

const options = z
  .object({
    host: z.string().regex(HOSTNAME, 'a host name or an IP address'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/, 'a user name (letters, digits, "_", "." and "-")'),
    /** Absolute remote directory; {project} and {version} are replaced. */
    path: z.string().refine((p) => isSafeRemoteDir(expand(p, 'project', '1.0.0')), {
      message:
        'an absolute path of letters, digits, "_", ".", "+" and "-" segments (no "..", no segment starting with "." or "-"), with {project} and {version}',
    }),
    /**
     * The host's public key line(s), as `ssh-keyscan` prints them (`[host]:port` for a port other than 22).
     * Required: host key checking is never turned off, and no other known_hosts file is consulted.
     */
    known_hosts: z
      .string({
        error:
          "is required: the download host's key line(s), as `ssh-keyscan -p <port> <host>` prints them (host key checking is never turned off)",
      })
      .refine((text) => knownHostsLines(text).length > 0 && knownHostsLines(text).every((l) => KNOWN_HOSTS_LINE.test(l)), {
        message: 'one or more known_hosts lines such as "[downloads.example.com]:2222 ssh-ed25519 AAAA..." (see ssh-keyscan)',
      }),
    method: z.enum(['scp', 'rsync']).default('scp'),
  })
  .strict();
export type SshOptions = z.infer<typeof options>;
type Options = SshOptions;
/** What the connection helpers use of a context: the publish's and the yank's both have it. */
export type SshContext = Pick<PublishContext, 'project' | 'version' | 'credentials' | 'redact' | 'log' | 'signal' | 'tmpDir'>;

/**
 * Upper bounds for a hung tool only: the destination's own timeout (ctx.signal, at most 6 h) normally
 * ends a run first. Remote commands hash the files, which takes a while for big artifacts.
 */
const REMOTE_COMMAND_MS = 30 * 60_000;
const TRANSFER_MS = 6 * 3_600_000;

/** The private key, from Conjur, for `user` on the download host. */
const KEY = 'SSH_PRIVATE_KEY';

function knownHostsLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function expand(template: string, project: string, version: string): string {
  return template.replaceAll('{project}', project).replaceAll('{version}', version).replace(/\/+$/, '');
}

function isSafeRemoteDir(dir: string): boolean {
  return (
    dir.startsWith('/') &&
    dir
      .split('/')
      .slice(1)
      .every((s) => SAFE_SEGMENT.test(s))
  );
}

export function remoteDir(ctx: Pick<PublishContext, 'project' | 'version'>, template: string): string {
  const dir = expand(template, ctx.project, ctx.version);
  if (!isSafeRemoteDir(dir)) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `remote path ${JSON.stringify(clip(dir))} is not safe: use an absolute path of letters, digits, "_", ".", "+" and "-", no "..", no empty segment, no segment starting with "." or "-"`,
    );
  }
  return dir;
}

export function assertSafeName(name: string): string {
  if (!name.split('/').every((s) => SAFE_SEGMENT.test(s))) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `file ${JSON.stringify(clip(name))} cannot be uploaded over ssh: names are limited to letters, digits, "_", ".", "+" and "-" (no leading "." or "-")`,
    );
  }
  return name;
}

/** Single quotes around a name already limited to SAFE_SEGMENT characters: belt and braces. */
export const q = (s: string) => `'${s}'`;

interface Upload {
  dir: string;
  /** Artifact files, relative to `dir`. */
  files: Array<{ path: string; sha256: string }>;
  label: string;
  target: string;
}

function describe(ctx: PublishContext, opts: Options): Upload {
  if (ctx.artifact.kind !== 'files')
    throw new ReleaseBotError(ErrorCode.BadInput, 'an ssh destination uploads files: set artifact: files for this project');
  const label = assertSafeName(path.basename(ctx.labelFile));
  const files = ctx.artifact.files.map((f) => ({ path: assertSafeName(f.path), sha256: f.sha256 }));
  return { dir: remoteDir(ctx, opts.path), files, label, target: `${opts.user}@${opts.host}` };
}

export interface Connection {
  ssh: string[];
  keyFile: string;
  knownHostsFile: string;
  cleanup: () => Promise<void>;
}

/** The key and the trusted host key in private 0600 files, removed afterwards. */
export async function connect(ctx: SshContext, opts: Options): Promise<Connection> {
  const key = credential(ctx, 'ssh', KEY);
  const id = randomUUID();
  const keyFile = path.join(ctx.tmpDir, `ssh-key-${id}`);
  const knownHostsFile = path.join(ctx.tmpDir, `known-hosts-${id}`);
  const cleanup = async () => {
    await Promise.all([rm(keyFile, { force: true }), rm(knownHostsFile, { force: true })]);
  };
  try {
    // ssh refuses a key without its final newline; Conjur values often lose it.
    const normalized = key.replace(/\r\n/g, '\n');
    await writeFile(keyFile, normalized.endsWith('\n') ? normalized : `${normalized}\n`, { mode: 0o600, flag: 'wx' });
    await writeFile(knownHostsFile, `${knownHostsLines(opts.known_hosts).join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    await cleanup();
    throw err;
  }
  const ssh = [
    '-F',
    '/dev/null', // no user or system ssh_config (ProxyCommand, other identities, relaxed checking)
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'UpdateHostKeys=no',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'KbdInteractiveAuthentication=no',
    '-o',
    'ConnectTimeout=20',
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=4',
    '-o',
    'LogLevel=ERROR',
    '-i',
    keyFile,
  ];
  return { ssh, keyFile, knownHostsFile, cleanup };
}

export type SshFailureReason = 'host-key' | 'unauthorized' | 'network' | 'remote';

/** Sorts a failed ssh/scp/rsync run: only a connection that could not be made or was lost is worth retrying. */
export function classifySshFailure(stderr: string): { reason: SshFailureReason; retryable: boolean } {
  if (
    /host key verification failed|remote host identification has changed|host key for \S+ has changed|no \S+ host key is known/i.test(
      stderr,
    )
  ) {
    return { reason: 'host-key', retryable: false };
  }
  if (
    /permission denied \(|too many authentication failures|load key .*: (invalid format|incorrect passphrase|error in libcrypto)/i.test(
      stderr,
    )
  ) {
    return { reason: 'unauthorized', retryable: false };
  }
  if (
    /connection refused|connection timed out|operation timed out|connection reset|connection closed|connection lost|lost connection|no route to host|network is unreachable|could not resolve hostname|temporary failure in name resolution|kex_exchange_identification|broken pipe/i.test(
      stderr,
    )
  ) {
    return { reason: 'network', retryable: true };
  }
  return { reason: 'remote', retryable: false };
}

const HINTS: Record<SshFailureReason, string> = {
  'host-key':
    'the host key does not match known_hosts: refusing to talk to it (if the host key really changed, update known_hosts in the projects file)',
  unauthorized: "the download host refused the key: check SSH_PRIVATE_KEY in Conjur and the upload user's authorized_keys",
  network: 'the download host could not be reached (will be retried)',
  remote: 'the command failed on the download host',
};

async function run(ctx: SshContext, what: string, file: string, args: string[], timeoutMs: number, input?: string): Promise<string> {
  try {
    const result = await runCommand(file, args, {
      cwd: ctx.tmpDir,
      timeoutMs,
      signal: ctx.signal,
      redact: ctx.redact,
      ...(input === undefined ? {} : { input }),
    });
    return result.stdout;
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    const { reason, retryable } = classifySshFailure(err.stderr);
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `${what}: ${HINTS[reason]} (${clip(tail(err.stderr, 3, 400), 400)})`, {
      retryable,
      cause: err,
      details: { reason, exitCode: err.exitCode },
    });
  }
}

/** Runs one command on the download host; `input` (text that must never be part of a command, like a yank's reason) goes to its stdin. */
export function sshRun(
  ctx: SshContext,
  opts: Options,
  conn: Connection,
  what: string,
  command: string,
  timeoutMs = REMOTE_COMMAND_MS,
  input?: string,
): Promise<string> {
  return run(ctx, what, 'ssh', [...conn.ssh, '-T', '-p', String(opts.port), '-l', opts.user, '--', opts.host, command], timeoutMs, input);
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

async function remoteDigests(ctx: PublishContext, opts: Options, conn: Connection, up: Upload): Promise<Map<string, string>> {
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

interface Check {
  missing: string[];
  conflicts: string[];
  labelPresent: boolean;
}

function compare(up: Upload, remote: Map<string, string>): Check {
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

function conflictError(up: Upload, conflicts: string[]): ReleaseBotError {
  return new ReleaseBotError(
    ErrorCode.DestinationConflict,
    `${up.target}:${up.dir} already holds other content: ${conflicts.join(', ')}; a published file is never overwritten`,
    {
      details: { files: conflicts },
    },
  );
}

async function withConnection<T>(ctx: PublishContext, opts: Options, body: (conn: Connection, up: Upload) => Promise<T>): Promise<T> {
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
async function upload(
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

/** Uploads the verified files and the release label to a download host over ssh (scp or rsync). */
export const sshPublisher = definePublisher<Options>({
  type: 'ssh',
  description: 'uploads the verified files and the release label to a download host with scp or rsync over ssh',
  artifacts: ['files'],
  options,
  tools: (opts) => ['ssh', opts.method],
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
