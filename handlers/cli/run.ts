import { existsSync } from 'node:fs';
import { InvalidArgumentError } from './commander.js';
import { ConfigError, exitCodes, toReleaseBotError, type ReleaseBotError } from '../../src/errors.js';
import { Redactor } from '../../src/redact.js';

/**
 * Loads `.env` from the working directory when there is one; variables already set win. Never in
 * demo mode: `.env` is where production credentials live, and the demo must not pick them up.
 */
export async function loadDotEnv(): Promise<void> {
  if (process.env.RELEASE_BOT_MODE === 'demo' || !existsSync('.env')) return;
  const dotenv = await import('dotenv');
  dotenv.config({ path: '.env', override: false, quiet: true } as Parameters<typeof dotenv.config>[0]);
}

/**
 * The redactor of this CLI process: commands create their app with it (cliLogs), so every secret
 * their app registered (its environment, Conjur's values and tokens) is also redacted from the error
 * `fail` prints, which does not pass through the logger.
 */
export const cliRedactor = new Redactor();

/** Renders any error for a terminal and sets the documented exit code. */
export function fail(err: unknown): never {
  const coded: ReleaseBotError = toReleaseBotError(err);
  const text =
    coded instanceof ConfigError
      ? `release-bot: the configuration has ${coded.problems.length} problem(s):\n${coded.problems.map((p) => `  - ${p}`).join('\n')}\n`
      : `release-bot: ${coded.message} [${coded.code}]\n`;
  process.stderr.write(cliRedactor.redact(text));
  process.exit(exitCodes[coded.code] ?? 1);
}

/** Runs a command body; any throw becomes a rendered error and an exit code. */
export function action<A extends unknown[]>(body: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await body(...args);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    } catch (err) {
      fail(err);
    }
  };
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('a whole number');
  return n;
}

/** CLI commands log to stderr, so that stdout is only their answer; plain lines unless JSON is asked for (LOG_FORMAT, --log-format). */
export const cliLogs = { logDestination: process.stderr, redactor: cliRedactor, logFormat: 'human' as const };
