import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';
import pino, { type Logger, type LevelWithSilent } from 'pino';
import type { Redactor } from './redact.js';

/** Fields every log line written inside a context carries (a release: releaseId, project, version). */
export type LogContext = Readonly<Record<string, string | number | undefined>>;

const contexts = new AsyncLocalStorage<LogContext>();

/**
 * Runs `work` with `fields` added to every log line written while it runs, in this async context:
 * code that knows nothing of a release (the Conjur client, a publisher, a chat listener) still logs
 * the release id, so one grep finds every line of a release.
 */
export function withLogContext<T>(fields: LogContext, work: () => T): T {
  return contexts.run({ ...contexts.getStore(), ...fields }, work);
}

/** The fields of the current log context, if any (for code that hands work to another context). */
export function currentLogContext(): LogContext | undefined {
  return contexts.getStore();
}

/** `json`: pino lines, for machines (always under serve); `human`: one plain line each, for a terminal. */
export type LogFormat = 'json' | 'human';

/** Fields a human line leaves out: pino's own, and what every line of the process would repeat. */
const PLAIN_OMIT = new Set(['level', 'time', 'service', 'msg', 'pid', 'hostname']);

/**
 * A pino JSON line as one line for a person: `release-bot: warn: <message> (key=value, ...)`.
 * Values are JSON (strings quoted) so that a value cannot pass for another field or line.
 */
export function plainLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = typeof entry.level === 'number' ? (pino.levels.labels[entry.level] ?? String(entry.level)) : String(entry.level);
  const fields = Object.entries(entry)
    .filter(([k]) => !PLAIN_OMIT.has(k))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `release-bot: ${level}: ${String(entry.msg ?? '')}${fields.length ? ` (${fields.join(', ')})` : ''}\n`;
}

/**
 * Logs (pino) whose every line passes the redactor before it is written: a secret registered
 * anywhere in the process cannot reach the log, whichever field or message carries it. Lines written
 * inside withLogContext carry its fields (unless the logger already binds them: no duplicate keys).
 * JSON unless `format` is `human` (a CLI command's terminal).
 */
export function createLogger(options: {
  level: LevelWithSilent;
  redactor: Redactor;
  destination?: NodeJS.WritableStream;
  format?: LogFormat;
}): Logger {
  const out = options.destination ?? process.stdout;
  const human = options.format === 'human';
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      // Rendered first, redacted last: the redactor sees exactly the text that is written.
      out.write(options.redactor.redact(human ? plainLogLine(String(chunk)) : String(chunk)));
      cb();
    },
  });
  return pino(
    {
      level: options.level,
      base: { service: 'release-bot' },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin(_merge, _level, logger) {
        const context = contexts.getStore();
        if (!context) return {};
        const bound = logger.bindings();
        return Object.fromEntries(Object.entries(context).filter(([k, v]) => v !== undefined && !(k in bound)));
      },
    },
    sink,
  );
}
