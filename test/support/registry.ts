import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';
import { stopChild } from './stop-child.js';
import { makeTmpDir } from './tmp.js';
import { requireBinary } from './require-binary.js';

export interface RegistryOptions {
  /** Basic auth through an htpasswd file (bcrypt, `htpasswd -B`); anonymous access when absent. */
  auth?: { username: string; password: string };
  /** `storage.delete.enabled: true`: DELETE of a manifest by digest is allowed (405 UNSUPPORTED otherwise). */
  deletes?: boolean;
  /**
   * Token auth instead (distribution docs/content/about/configuration.md `auth: token`): clients are sent
   * to `realm` for a JWT signed by the key of a certificate in `rootCertBundle` (PEM), issued by `issuer` for `service`.
   */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** TLS with this PEM certificate and key (`http: tls:`); plain HTTP when absent. */
  tls?: { certificate: string; key: string };
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`: the host part of an image reference (plain HTTP: use tls_verify false). */
  host: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The registry's filesystem storage (`docker/registry/v2/...`), for tests that alter what it serves. */
  storage: string;
  /** Everything the registry wrote to stdout/stderr so far (for a failing test's message). */
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts a real docker-registry (Debian package `docker-registry`, distribution v2) on
 * 127.0.0.1:<free port> with its own config and storage in a temp dir. Call `stop()` in afterAll.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const binary = requireBinary('docker-registry', 'docker-registry');
  const tmp = makeTmpDir('release-bot-registry-');
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(path.join(tmp.dir, 'storage'))}`,
    ...(options.deletes ? ['  delete:', '    enabled: true'] : []),
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (options.tls)
    lines.push('  tls:', `    certificate: ${JSON.stringify(options.tls.certificate)}`, `    key: ${JSON.stringify(options.tls.key)}`);
  if (options.auth) {
    requireBinary('htpasswd', 'apache2-utils');
    // -i reads the password from stdin: it never sits on a command line.
    const htpasswd = await runWithInput('htpasswd', ['-niB', options.auth.username], options.auth.password);
    writeFileSync(path.join(tmp.dir, 'htpasswd'), htpasswd, { mode: 0o600 });
    lines.push('auth:', '  htpasswd:', '    realm: release-bot-test', `    path: ${JSON.stringify(path.join(tmp.dir, 'htpasswd'))}`);
  }
  if (options.token) {
    const t = options.token;
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(t.realm)}`,
      `    service: ${JSON.stringify(t.service)}`,
      `    issuer: ${JSON.stringify(t.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(t.rootCertBundle)}`,
    );
  }
  const config = path.join(tmp.dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);

  const child = spawn(binary, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const stop = async () => {
    await stopChild(child);
    tmp.cleanup();
  };
  try {
    // A TLS registry answers plain HTTP with 400 ("Client sent an HTTP request to an HTTPS server"): it is up.
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, child, () => output, options.tls ? [400] : []);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    port,
    storage: path.join(tmp.dir, 'storage'),
    output: () => output,
    stop,
  };
}

async function runWithInput(file: string, args: string[], input: string): Promise<string> {
  const child = execFile(file, args, { encoding: 'utf8' });
  const done = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => (out += String(d)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited with ${code}`))));
  });
  child.stdin?.end(input);
  return done;
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string, alsoUp: number[] = []): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200 || res.status === 401 || alsoUp.includes(res.status)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer on ${url} within 15 s:\n${output()}`);
}
