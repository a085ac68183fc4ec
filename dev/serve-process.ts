/** DEVELOPMENT helpers of `npm run demo` and `npm run dev`: the built `release-bot` CLI and `serve` as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { guarded } from './parent-death.js';

/** The checkout these helpers run from (dist-dev/ is built at its top). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const releaseBotBin = path.join(repoRoot, 'bin', 'release-bot.js');

/** Runs the built CLI as a separate process and returns its exit code and output. */
export function cli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [releaseBotBin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Starts `release-bot serve` (its output appended to `logFile`; it dies with this process) and resolves once GET /healthz answers 200. */
export async function startServe(env: NodeJS.ProcessEnv, cwd: string, logFile: string): Promise<{ child: ChildProcess; url: string }> {
  const log = openSync(logFile, 'a');
  const [command, args] = await guarded(process.execPath, [releaseBotBin, 'serve']);
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`release-bot serve exited with ${child.exitCode}: see ${logFile}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`release-bot serve did not answer ${url}/healthz within 30 s: see ${logFile}`);
}

/** SIGTERM (serve drains in-flight releases), SIGKILL after 15 s; resolves once it has exited. */
export function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
