import { jest } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';
import { stopChild } from '../support/stop-child.js';
import { makeTmpDir } from '../support/tmp.js';

// npm run dev starts four servers and a registry; on a busy machine that takes a while.
jest.setTimeout(300_000);

/** `npm run dev` is `npm run build:dev && node dist-dev/dev.js`; `npm test` has built both already. */
function startDev(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist-dev', 'dev.js')], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += String(d)));
  child.stderr?.on('data', (d: Buffer) => (out += String(d)));
  return { child, output: () => out };
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs a line exactly as printed, in a POSIX shell, as a person would paste it. */
function shell(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', line], { cwd: repoRoot, env, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const answers = (url: string) =>
  fetch(url).then(
    () => true,
    () => false,
  );
const printedUrl = (out: string, label: string) => new RegExp(`^ {2}${label} +(http://127\\.0\\.0\\.1:\\d+)`, 'm').exec(out)?.[1];

describe('npm run dev', () => {
  const tmp = makeTmpDir('release-bot-dev-test-');
  const env = { PATH: process.env.PATH, HOME: tmp.dir, RELEASE_BOT_DEV_STATE: path.join(tmp.dir, 'state.json') };
  const started: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of started) await stopChild(child);
    tmp.cleanup();
  });

  it('stays up, takes a report and a /release the printed way, and Ctrl-C stops every part of it', async () => {
    requireBinary('npm', 'npm');
    const dev = startDev(env);
    started.push(dev.child);
    const commands = await waitFor('the printed commands', () => {
      const found = [...dev.output().matchAll(/^ {2}\$ (.+)$/gm)].map((m) => m[1] as string);
      return found.length === 3 ? found : undefined;
    });
    const [notify, slash, other] = commands as [string, string, string];
    expect(slash).toBe("npm run dev -- slash alice 'hello-cli 1.0.0'");
    const serveUrl = printedUrl(dev.output(), 'serve');
    const registryUrl = printedUrl(dev.output(), 'npm registry');
    const workDir = /config +(\S+)\/releases\.yml,/.exec(dev.output())?.[1];
    expect(serveUrl && registryUrl && workDir).toBeTruthy();

    // The report, as Jenkins sends it.
    const reported = await shell(notify, env);
    expect(reported.stderr).toBe('');
    expect(reported.stdout).toMatch(/^staged: hello-cli 1\.0\.0$/m);
    await waitFor('the readiness note', () =>
      /^ {2}slack \[#C0DEVRELEASES\] hello-cli 1\.0\.0 is ready to release/m.test(dev.output()) ? true : undefined,
    );

    // The /release, as Slack posts it, signed.
    const asked = await shell(slash, env);
    expect(asked.stdout).toMatch(/^\/release hello-cli 1\.0\.0 as alice \(U0DEVALICE\): HTTP 200/m);
    expect(asked.code).toBe(0);
    await waitFor('the release summary', () =>
      /^ {2}slack \[#C0DEVRELEASES updated\] Released hello-cli 1\.0\.0 \(published\)$/m.test(dev.output()) ? true : undefined,
    );
    expect(dev.output()).toMatch(/^ {2}slack \[only the requester sees\] hello-cli 1\.0\.0: published; audit entry aud_/m);

    // The same bot from the CLI, as printed.
    const status = await shell(other, env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('hello-cli');
    // Generated secrets stay in the 0600 files: the window shows neither the bot's Slack token nor its API key.
    expect(dev.output()).not.toMatch(/xoxb-dev-[0-9a-f]/);
    expect(dev.output()).not.toMatch(/CONJUR_AUTHN_API_KEY/);

    // Ctrl-C: every server goes, and the temp dir with them.
    const exited = new Promise<number | null>((resolve) => dev.child.once('exit', (code) => resolve(code)));
    dev.child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await answers(`${serveUrl}/healthz`)).toBe(false);
    expect(await answers(`${registryUrl}/-/ping`)).toBe(false);
    expect(existsSync(workDir as string)).toBe(false);
    expect(existsSync(env.RELEASE_BOT_DEV_STATE)).toBe(false);
  });

  it('serve and the registry die with it even on SIGKILL', async () => {
    const dev = startDev(env);
    started.push(dev.child);
    await waitFor('the printed commands', () => (/^ {2}\$ npm run dev -- slash/m.test(dev.output()) ? true : undefined));
    const serveUrl = printedUrl(dev.output(), 'serve') as string;
    const registryUrl = printedUrl(dev.output(), 'npm registry') as string;
    const workDir = /config +(\S+)\/releases\.yml,/.exec(dev.output())?.[1] as string;
    expect(await answers(`${serveUrl}/healthz`)).toBe(true);
    dev.child.kill('SIGKILL');
    await waitFor('serve to die', async () => ((await answers(`${serveUrl}/healthz`)) ? undefined : true), 60_000);
    await waitFor('the registry to die', async () => ((await answers(`${registryUrl}/-/ping`)) ? undefined : true), 60_000);
    const slash = await shell("npm run dev -- slash alice 'hello-cli 1.0.0'", env);
    expect(slash.code).toBe(1);
    expect(slash.stderr).toMatch(/npm run dev is not running \(process \d+ of .* is gone\)/);
    rmSync(workDir, { recursive: true, force: true }); // nothing could clean up after a SIGKILL
  });

  it('slash without npm run dev says to start it', async () => {
    const r = await shell("node dist-dev/dev.js slash alice 'hello-cli 1.0.0'", {
      PATH: process.env.PATH,
      RELEASE_BOT_DEV_STATE: path.join(tmp.dir, 'none.json'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('npm run dev is not running (no ');
  });
});
