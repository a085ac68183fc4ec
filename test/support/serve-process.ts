import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';
import { freePort } from './ports.js';
import { stopChild } from './stop-child.js';

/** Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Everything serve wrote to stdout and stderr so far. */
  output(): string;
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
}

/** What serve's Slack handler is started with: the secrets and the Web API it calls (a stand-in). */
export interface ServeSlack {
  signingSecret: string;
  botToken: string;
  apiUrl: string;
}

/**
 * Starts `release-bot serve` as a real process on a free loopback port, with the bot's environment and
 * Slack pointed at a stand-in, and waits until it answers /healthz. `script`: a file under the repository
 * that starts serve its own way instead (e.g. with a release worker that dies).
 */
export async function spawnServe(env: NodeJS.ProcessEnv, slack: ServeSlack, options: { script?: string } = {}): Promise<ServeProcess> {
  const port = await freePort();
  const args = options.script ? [path.join(repoRoot, options.script)] : [path.join(repoRoot, 'bin/release-bot.js'), 'serve'];
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH,
      ...env,
      PORT: String(port),
      SLACK_SIGNING_SECRET: slack.signingSecret,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_API_URL: slack.apiUrl,
    },
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor('serve to answer /healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { child, port, base, output: () => output, exited };
}
