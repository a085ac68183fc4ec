import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { ExecError, runCommand, tail } from '../../src/exec.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';
import { credential } from '../common/credential.js';
import { knownHostsLines, type SshOptions as Options } from './options.js';

/** What the connection helpers use of a context: the publish's and the yank's both have it. */
export type SshContext = Pick<PublishContext, 'project' | 'version' | 'credentials' | 'redact' | 'log' | 'signal' | 'tmpDir'>;

/**
 * Upper bounds for a hung tool only: the destination's own timeout (ctx.signal, at most 6 h) normally
 * ends a run first. Remote commands hash the files, which takes a while for big artifacts.
 */
const REMOTE_COMMAND_MS = 30 * 60_000;
export const TRANSFER_MS = 6 * 3_600_000;

/** The private key, from Conjur, for `user` on the download host. */
const KEY = 'SSH_PRIVATE_KEY';
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

export async function run(ctx: SshContext, what: string, file: string, args: string[], timeoutMs: number, input?: string): Promise<string> {
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
