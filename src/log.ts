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

/**
 * JSON logs (pino) whose every line passes the redactor before it is written: a secret registered
 * anywhere in the process cannot reach the log, whichever field or message carries it. Lines written
 * inside withLogContext carry its fields (unless the logger already binds them: no duplicate keys).
 */
export function createLogger(options: { level: LevelWithSilent; redactor: Redactor; destination?: NodeJS.WritableStream }): Logger {
  const out = options.destination ?? process.stdout;
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      out.write(options.redactor.redact(String(chunk)));
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
