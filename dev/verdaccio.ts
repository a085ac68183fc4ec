/** DEVELOPMENT STAND-IN helper: a real Verdaccio npm registry on loopback, for tests and `npm run demo`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort } from './free-port.js';
import { guarded } from './parent-death.js';

export interface Verdaccio {
  url: string;
  /** Registers a user (the PUT that `npm adduser` sends) and returns its token. */
  addUser(name: string, password: string): Promise<string>;
  /** Lines Verdaccio printed, for diagnosing a failed start. */
  output: string[];
  stop(): Promise<void>;
}

/**
 * A real Verdaccio registry on 127.0.0.1:<free port>, with its own config, storage and htpasswd file
 * under `root`; reading and publishing need a logged-in user, like a private company registry.
 */
export async function startVerdaccio(root: string): Promise<Verdaccio> {
  const port = await freePort();
  mkdirSync(root, { recursive: true });
  const config = path.join(root, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${path.join(root, 'storage')}`,
      'auth:',
      `  htpasswd: { file: ${path.join(root, 'htpasswd')}, max_users: 100 }`,
      'uplinks: {}',
      'web: { enable: false }',
      'packages:',
      "  '**': { access: $authenticated, publish: $authenticated, unpublish: $authenticated }",
      'log: { type: stdout, format: json, level: warn }',
      '',
    ].join('\n'),
  );
  const bin = path.join(path.dirname(createRequire(import.meta.url).resolve('verdaccio/package.json')), 'bin', 'verdaccio');
  // It dies with this process, even on SIGKILL (a test runner's worker killed, npm run dev killed).
  const [command, args] = await guarded(process.execPath, [bin, '--config', config, '--listen', `127.0.0.1:${port}`]);
  const child: ChildProcess = spawn(command, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(String(d)));
  child.stderr?.on('data', (d: Buffer) => output.push(String(d)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}:\n${output.join('')}`);
    try {
      const res = await fetch(`${url}/-/ping`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`verdaccio did not answer /-/ping within 30 s:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    output,
    stop,
    async addUser(name, password) {
      const res = await fetch(`${url}/-/user/org.couchdb.user:${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, password, type: 'user', roles: [] }),
      });
      const body = (await res.json()) as { token?: string };
      if (!res.ok || !body.token) throw new Error(`verdaccio refused to add user ${name}: ${res.status}`);
      return body.token;
    },
  };
}
