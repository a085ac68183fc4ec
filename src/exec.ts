import type { execa as Execa, Options } from 'execa';
import { ErrorCode, ReleaseBotError } from './errors.js';
import { findExecutable, guardedArgv, parentDeathPrefix } from './parent-death.js';
import { CUT_MARK } from './redact.js';
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
  /**
   * Runs the child as the leader of its own process group, and signals the whole group: on timeout
   * or cancellation (SIGTERM, SIGKILL 5 s later) and when the child exits (SIGKILL to whatever it
   * left running). For scripts, whose children (a `sleep`, a backgrounded upload) would otherwise
   * outlive a timeout and keep publishing after the release gave up on them.
   */
  ownProcessGroup?: boolean;
  /**
   * Keep stdout as the exact bytes the program wrote (in `stdoutBytes`; `stdout` is then empty):
   * for output that is hashed (a raw image manifest), which neither decoding, newline stripping nor
   * redaction may change. Such output must never be shown; stderr is redacted as always.
   */
  rawStdout?: boolean;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** With `rawStdout`: stdout byte for byte. */
  stdoutBytes?: Buffer;
}

type ExecaResult = Awaited<ReturnType<typeof Execa>>;

/** How a child ended: execa's result, and whether its timeout or the caller's signal stopped it. */
interface Ran {
  result: ExecaResult;
  timedOut: boolean;
  canceled: boolean;
}

/**
 * Runs a program without a shell: argv is passed as is, so no argument can be read as shell syntax.
 * The child gets an allowlisted environment plus `env`; HOME points at `cwd` so no user config leaks in.
 * It dies with the bot, even on SIGKILL, where the system allows (see `parent-death.ts`).
 */
export async function runCommand(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const inherited = Object.fromEntries(INHERITED_ENV.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k] as string]])));
  const command = [file, ...args].join(' ');
  const env: Record<string, string> = { ...inherited, HOME: options.cwd ?? '/nonexistent', ...options.env };
  // setpriv passes the environment through untouched; the program is found as the spawn would find it.
  // execa loads on the first spawn: commands that never spawn (status, audit) start without it.
  const { execa } = await import('execa');
  const prefix = await parentDeathPrefix();
  const program = prefix.length === 0 ? undefined : await findExecutable(file, env.PATH, options.cwd);
  const argv = program === undefined ? [file, ...args] : [...prefix, program, ...args];
  const common = spawnOptions(env, options);
  let ran: Ran;
  if (options.ownProcessGroup) ran = await runInOwnGroup(execa, argv, program !== undefined, common, options);
  else {
    const [spawnFile, ...spawnArgs] = argv;
    const result = await execa(spawnFile as string, spawnArgs, {
      ...common,
      timeout: options.timeoutMs,
      cancelSignal: options.signal,
      forceKillAfterDelay: 5_000,
    });
    ran = { result, timedOut: result.timedOut, canceled: result.isCanceled };
  }
  return settle(ran, file, command, options);
}

/** execa's options for either way of spawning: the environment alone, no rejection, output bounded. */
function spawnOptions(env: Record<string, string>, options: RunOptions) {
  return {
    env,
    extendEnv: false,
    cwd: options.cwd,
    input: options.input,
    stdin: options.input === undefined ? ('ignore' as const) : ('pipe' as const),
    reject: false,
    all: false,
    stripFinalNewline: !options.rawStdout,
    ...(options.rawStdout ? { encoding: 'buffer' as const } : {}),
    maxBuffer: 16 * 1024 * 1024,
  };
}

/** Runs the child as the leader of its own process group (`ownProcessGroup`), signalling the whole group. */
async function runInOwnGroup(
  execa: typeof Execa,
  argv: readonly string[],
  found: boolean,
  common: ReturnType<typeof spawnOptions>,
  options: RunOptions,
): Promise<Ran> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const stop = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  // Listening before the child exists: a signal that arrived between the spawn and the listener
  // would take its default course (the bot dies at once) and leave the new group running.
  watchSignals(1);
  // Guarded (see guardedArgv): fd 3 is the pipe whose closing, when the bot dies, kills the group.
  // A program that cannot be found is started as is, to fail with Node's own ENOENT.
  const [guardFile, ...guardArgs] = found ? guardedArgv(argv, common.env) : argv;
  const { stdin, ...rest } = common;
  const guarded: Options = { ...rest, stdio: [stdin, 'pipe', 'pipe', 'pipe'], detached: true };
  const child = execa(guardFile as string, guardArgs, guarded);
  const group = child.pid;
  let force: NodeJS.Timeout | undefined;
  const onStop = () => {
    if (group === undefined) return;
    signalGroup(group, 'SIGTERM');
    force = setTimeout(() => signalGroup(group, 'SIGKILL'), 5_000);
  };
  if (group === undefined) watchSignals();
  else {
    liveGroups.add(group);
    // What the child left behind dies with it: its output pipes close, and nothing publishes on.
    child.once('exit', () => signalGroup(group, 'SIGKILL'));
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  }
  let result: ExecaResult;
  try {
    result = await child;
  } finally {
    stop.removeEventListener('abort', onStop);
    clearTimeout(force);
    if (group !== undefined) {
      liveGroups.delete(group);
      watchSignals();
    }
  }
  const canceled = options.signal?.aborted === true;
  return { result, canceled, timedOut: !canceled && deadline.aborted };
}

/** The child's output, redacted, as the result; or the coded error of a timeout, a failed start or a failing exit code. */
function settle({ result, timedOut, canceled }: Ran, file: string, command: string, options: RunOptions): RunResult {
  // Redacted whole, before anything shortens it: a secret cut in two by a truncation would leave
  // a piece no redactor recognises. Output execa cut at maxBuffer is marked as cut, so the
  // redactor also takes the start of a secret at its very end.
  const cut = result.isMaxBuffer ? CUT_MARK : '';
  // In raw mode execa neither decodes nor strips: stderr gets the treatment it gets otherwise.
  const text = (out: unknown) => (out instanceof Uint8Array ? Buffer.from(out).toString('utf8').replace(/\n$/, '') : String(out ?? ''));
  const stdoutBytes = options.rawStdout && result.stdout instanceof Uint8Array ? Buffer.from(result.stdout) : undefined;
  const stdout = options.rawStdout ? '' : options.redact(`${text(result.stdout)}${cut}`);
  const stderr = options.redact(`${text(result.stderr)}${cut}`);
  const safeCommand = options.redact(command);
  if (timedOut || canceled) {
    throw new ReleaseBotError(
      ErrorCode.Timeout,
      `${clip(safeCommand, 200)} ${timedOut ? `timed out after ${options.timeoutMs} ms` : 'was cancelled'}`,
      {
        retryable: true,
        details: { command: safeCommand, stderr: tail(stderr) },
      },
    );
  }
  if (result.failed && result.exitCode === undefined) {
    const missing = (result as { code?: string }).code === 'ENOENT';
    throw new ReleaseBotError(
      ErrorCode.ExecFailed,
      missing
        ? `${file} is not installed or not on PATH`
        : `${clip(safeCommand, 200)} could not run: ${options.redact(result.shortMessage ?? '')}`,
      {
        details: { command: safeCommand },
      },
    );
  }
  const exitCode = result.exitCode ?? 1;
  if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
    throw new ExecError(safeCommand, exitCode, stdout, stderr);
  }
  return { exitCode, stdout, stderr, ...(stdoutBytes ? { stdoutBytes } : {}) };
}

/** Process groups of running children started with `ownProcessGroup`. */
const liveGroups = new Set<number>();
const FATAL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function killGroups(): void {
  for (const group of liveGroups) signalGroup(group, 'SIGKILL');
}

/**
 * A child in its own process group is not reached by the signal that stops the bot (Ctrl-C in a
 * terminal, sshd's SIGHUP when the session drops): while such children run, a fatal signal the
 * process does not handle itself kills their groups first, then takes its default course. A process
 * that handles the signal (serve drains on SIGTERM) decides for itself; its children are stopped
 * through their cancel signal. Exiting kills them too.
 */
function onFatalSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killGroups();
  for (const s of FATAL_SIGNALS) process.removeListener(s, onFatalSignal);
  process.kill(process.pid, signal);
}

/** Installs the handlers while groups run (or `starting` are about to), removes them after. */
function watchSignals(starting = 0): void {
  const installed = process.listeners('exit').includes(killGroups);
  if (liveGroups.size + starting > 0 && !installed) {
    process.on('exit', killGroups);
    // First in line: a `once` handler of the process's own is removed before it runs, so only
    // ahead of it can this one see that the process handles the signal itself.
    for (const s of FATAL_SIGNALS) process.prependListener(s, onFatalSignal);
  } else if (liveGroups.size + starting === 0 && installed) {
    process.removeListener('exit', killGroups);
    for (const s of FATAL_SIGNALS) process.removeListener(s, onFatalSignal);
  }
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

/** The last lines of an output, which is where tools say what went wrong. Give it redacted text: it cuts. */
export function tail(text: string, lines = 8, chars = 1_500): string {
  const t = text.trim().split('\n').slice(-lines).join('\n');
  return t.length > chars ? t.slice(-chars) : t;
}
