import { Writable } from 'node:stream';
import pino, { type Logger, type LevelWithSilent } from 'pino';
import type { Redactor } from './redact.js';

/**
 * JSON logs (pino) whose every line passes the redactor before it is written: a secret registered
 * anywhere in the process cannot reach the log, whichever field or message carries it.
 */
export function createLogger(options: { level: LevelWithSilent; redactor: Redactor; destination?: NodeJS.WritableStream }): Logger {
  const out = options.destination ?? process.stdout;
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      out.write(options.redactor.redact(String(chunk)));
      cb();
    },
  });
  return pino({ level: options.level, base: { service: 'release-bot' }, timestamp: pino.stdTimeFunctions.isoTime }, sink);
}
