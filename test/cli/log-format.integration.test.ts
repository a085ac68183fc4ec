import { spawn } from 'node:child_process';
import path from 'node:path';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { repoRoot, runCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { stopChild } from '../support/stop-child.js';

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const isJson = (line: string) => {
  try {
    return typeof (JSON.parse(line) as { msg?: unknown }).msg === 'string';
  } catch {
    return false;
  }
};

/**
 * The CLI's output: results on stdout, human lines on stderr; pino JSON only when asked for
 * (`--log-format json`, `LOG_FORMAT=json`), and always under `serve`, whose logs a machine reads.
 */
describe('release-bot log format', () => {
  let bot: BotEnv;
  // A dry run logs (release refused or started, the Conjur client) and prints its summary on stdout.
  const dryRun = ['publish', 'conjur-cli', '1.0.0', '--as', 'alice', '--dry-run'];

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: 'log-format-canary-3e9b1c', readers: ['host:release-bot'] } },
    });
    bot.stageFiles('conjur-cli', '1.0.0', { 'conjur-cli-1.0.0.tar.gz': 'bytes' });
    expect((await bot.cli('stage', 'conjur-cli', '1.0.0')).code).toBe(0);
  });

  afterAll(async () => {
    await bot.close();
  });

  it('writes human lines to stderr by default, no JSON, and the result to stdout', async () => {
    const r = await runCli(dryRun, { ...bot.env, LOG_LEVEL: 'debug' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dry run/i);
    expect(lines(r.stderr).length).toBeGreaterThan(0);
    expect(lines(r.stderr).filter(isJson)).toEqual([]);
    expect(lines(r.stderr).every((l) => l.startsWith('release-bot: '))).toBe(true);
    expect(r.stdout.split('\n').filter(isJson)).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain('log-format-canary-3e9b1c');
  });

  it.each([
    ['LOG_FORMAT=json', [], { LOG_FORMAT: 'json' }],
    ['--log-format json after the command', ['--log-format', 'json'], {}],
  ])('writes pino JSON lines to stderr with %s', async (_what, flag, env) => {
    const r = await runCli([...dryRun, ...flag], { ...bot.env, LOG_LEVEL: 'debug', ...env });
    expect(r.code).toBe(0);
    expect(lines(r.stderr).length).toBeGreaterThan(0);
    expect(lines(r.stderr).every(isJson)).toBe(true);
    expect(r.stdout).toMatch(/dry run/i);
  });

  it('takes --log-format before the command too, and refuses a format it does not know', async () => {
    const r = await runCli(['--log-format', 'json', ...dryRun], { ...bot.env, LOG_LEVEL: 'debug' });
    expect(lines(r.stderr).every(isJson)).toBe(true);
    const bad = await runCli([...dryRun, '--log-format', 'yaml'], bot.env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("option '--log-format <format>' argument 'yaml' is invalid");
  });

  it('serve logs JSON whatever LOG_FORMAT says', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'release-bot.js'), 'serve'], {
      env: { PATH: process.env.PATH, ...bot.env, LOG_FORMAT: 'human', PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('release-bot listening') && Date.now() < deadline && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 100));
      const listening = lines(out).find((l) => l.includes('release-bot listening'));
      expect(listening).toBeDefined();
      expect(lines(out).every(isJson)).toBe(true);
    } finally {
      await stopChild(child);
    }
  });
});
