import { execa } from 'execa';
import { ErrorCode, ReleaseBotError } from './errors.js';
import { clip } from './validate.js';

/**
 * The environment a child process inherits from the bot: only what programs need to run.
 * Everything else (the bot's own Conjur API key, Slack tokens, other releases' credentials) stays out.
 */
export const INHERITED_ENV = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS'] as const;

export interface RunOptions {
  /** Extra variables for this one command: its own credentials and settings. */
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Applied to stdout and stderr before they leave this function, in results and in errors. */
  redact: (text: string) => string;
  input?: string;
  /** Exit codes that are not failures (e.g. `npm view` exits 1 when a version is missing). */
  okExitCodes?: readonly number[];
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program without a shell: argv is passed as is, so no argument can be read as shell syntax.
 * The child gets an allowlisted environment plus `env`; HOME points at `cwd` so no user config leaks in.
 */
export async function runCommand(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const inherited = Object.fromEntries(
    INHERITED_ENV.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k] as string]])),
  );
  const command = [file, ...args].join(' ');
  const result = await execa(file, args, {
    env: { ...inherited, HOME: options.cwd ?? '/nonexistent', ...options.env },
    extendEnv: false,
    cwd: options.cwd,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    reject: false,
    all: false,
    stripFinalNewline: true,
    maxBuffer: 16 * 1024 * 1024,
    forceKillAfterDelay: 5_000,
  });
  const stdout = options.redact(String(result.stdout ?? ''));
  const stderr = options.redact(String(result.stderr ?? ''));
  const safeCommand = options.redact(command);
  if (result.timedOut || result.isCanceled) {
    throw new ReleaseBotError(ErrorCode.Timeout, `${clip(safeCommand, 200)} ${result.timedOut ? `timed out after ${options.timeoutMs} ms` : 'was cancelled'}`, {
      retryable: true,
      details: { command: safeCommand, stderr: tail(stderr) },
    });
  }
  if (result.failed && result.exitCode === undefined) {
    const missing = (result as { code?: string }).code === 'ENOENT';
    throw new ReleaseBotError(ErrorCode.ExecFailed, missing ? `${file} is not installed or not on PATH` : `${clip(safeCommand, 200)} could not run: ${options.redact(result.shortMessage ?? '')}`, {
      details: { command: safeCommand },
    });
  }
  const exitCode = result.exitCode ?? 1;
  if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
    throw new ExecError(safeCommand, exitCode, stdout, stderr);
  }
  return { exitCode, stdout, stderr };
}

/** A command that ran and exited non-zero; carries the (redacted) command, exit code and output. */
export class ExecError extends ReleaseBotError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(ErrorCode.ExecFailed, `${clip(command, 200)} exited with ${exitCode}${stderr ? `: ${tail(stderr)}` : ''}`, {
      details: { command, exitCode, stderr: tail(stderr) },
    });
  }
}

/** The last lines of an output, which is where tools say what went wrong. */
export function tail(text: string, lines = 8, chars = 1_500): string {
  const t = text.trim().split('\n').slice(-lines).join('\n');
  return t.length > chars ? t.slice(-chars) : t;
}
