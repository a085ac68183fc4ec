import { format } from 'node:util';
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';

/**
 * Bolt and the Web API client log through the bot's pino logger, so their lines are JSON and pass
 * the same redaction as every other line. The bot's LOG_LEVEL decides; Bolt's setLevel is recorded only.
 */
export function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const line = (...msg: unknown[]) => format(...msg);
  return {
    debug: (...msg: unknown[]) => log.debug(line(...msg)),
    info: (...msg: unknown[]) => log.info(line(...msg)),
    warn: (...msg: unknown[]) => log.warn(line(...msg)),
    error: (...msg: unknown[]) => log.error(line(...msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
