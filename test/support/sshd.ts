import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { stopChild } from './stop-child.js';
import { requireBinary } from './require-binary.js';
import { makeTmpDir } from './tmp.js';

const execFileAsync = promisify(execFile);

export interface KeyPair {
  privateKeyPath: string;
  /** The private key file's content (an OpenSSH key, ending with a newline). */
  privateKey: string;
  /** `ssh-ed25519 AAAA... <comment>`: one authorized_keys / known_hosts key. */
  publicKey: string;
}

/** A fresh ed25519 key pair without passphrase in `dir/<name>` (ssh-keygen, Debian package openssh-client). */
export async function generateKeyPair(dir: string, name = 'id_ed25519', comment = 'release-bot-test'): Promise<KeyPair> {
  requireBinary('ssh-keygen', 'openssh-client');
  const privateKeyPath = path.join(dir, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKeyPath]);
  return {
    privateKeyPath,
    privateKey: readFileSync(privateKeyPath, 'utf8'),
    publicKey: readFileSync(`${privateKeyPath}.pub`, 'utf8').trim(),
  };
}

export interface SshdOptions {
  /**
   * authorized_keys content, given the generated client public key line; default: that line alone.
   * E.g. `(key) => \`command="/usr/bin/release-bot ssh-command --as alice",restrict ${key}\``.
   */
  authorizedKeys?: string | ((clientPublicKey: string) => string);
  /** Extra sshd_config lines (e.g. `SetEnv RELEASE_BOT_CONFIG=/tmp/x/releases.yml`). */
  extraConfig?: string[];
}

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  /** The account clients log in as: the user running the tests (root here). */
  user: string;
  /** `[127.0.0.1]:<port> ssh-ed25519 AAAA...`: the line a known_hosts file needs to trust this server. */
  hostKeyLine: string;
  /** A file holding hostKeyLine. */
  knownHostsFile: string;
  clientKeyPath: string;
  clientKey: KeyPair;
  /**
   * ssh client arguments that reach this server with host key checking on and only the client key:
   * `ssh ...sshArgs -- 127.0.0.1 <command>`.
   */
  sshArgs: string[];
  /** Replaces authorized_keys (sshd reads it on every login). */
  setAuthorizedKeys: (content: string) => void;
  /** A scratch directory of this server (config, keys); removed by stop(). */
  dir: string;
  /** What sshd logged so far (for a failing test's message). */
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts a real sshd (Debian package openssh-server) on 127.0.0.1:<free port> with its own host key,
 * config and authorized_keys in a temp dir (`StrictModes no` so key files under /tmp are accepted).
 * Call `stop()` in afterAll.
 */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  const sshd = existsSync('/usr/sbin/sshd') ? '/usr/sbin/sshd' : requireBinary('sshd', 'openssh-server');
  requireBinary('ssh', 'openssh-client');
  const tmp = makeTmpDir('release-bot-sshd-');
  const dir = tmp.dir;
  const port = await freePort();
  const user = userInfo().username;
  const hostKey = await generateKeyPair(dir, 'host_ed25519', 'release-bot-test-host');
  const clientKey = await generateKeyPair(dir, 'client_ed25519');
  const authorizedKeysFile = path.join(dir, 'authorized_keys');
  const setAuthorizedKeys = (content: string) =>
    writeFileSync(authorizedKeysFile, content.endsWith('\n') ? content : `${content}\n`, { mode: 0o600 });
  const ak = options.authorizedKeys;
  setAuthorizedKeys(typeof ak === 'function' ? ak(clientKey.publicKey) : (ak ?? clientKey.publicKey));

  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_ed25519')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeysFile}`,
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      `AllowUsers ${user}`,
      'PrintMotd no',
      'Subsystem sftp internal-sftp',
      'LogLevel VERBOSE',
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  // sshd's privilege separation directory (created by the service unit on a normal boot).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await execFileAsync(sshd, ['-t', '-f', config]);

  const child = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const stop = async () => {
    await stopChild(child);
    tmp.cleanup();
  };
  try {
    await waitForBanner(
      port,
      () => child.exitCode,
      () => output,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const [type, key] = hostKey.publicKey.split(' ');
  const hostKeyLine = `[127.0.0.1]:${port} ${type} ${key}`;
  const knownHostsFile = path.join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `${hostKeyLine}\n`, { mode: 0o600 });
  const sshArgs = [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'LogLevel=ERROR',
    '-i',
    clientKey.privateKeyPath,
    '-p',
    String(port),
    '-l',
    user,
  ];
  return {
    host: '127.0.0.1',
    port,
    user,
    hostKeyLine,
    knownHostsFile,
    clientKeyPath: clientKey.privateKeyPath,
    clientKey,
    sshArgs,
    setAuthorizedKeys,
    dir,
    output: () => output,
    stop,
  };
}

/** Waits until the port greets with an SSH banner (a bare TCP accept is not enough: sshd may still be loading). */
async function waitForBanner(port: number, exitCode: () => number | null, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exitCode() !== null) throw new Error(`sshd exited with ${exitCode()}:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const done = (v: boolean) => {
        socket.destroy();
        resolve(v);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.once('data', (d) => done(String(d).startsWith('SSH-')));
      socket.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within 15 s:\n${output()}`);
}
