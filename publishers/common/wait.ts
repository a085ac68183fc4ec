import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';

/** Waits, unless the destination's timeout or a shutdown aborts first. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw timedOut('waiting');
  }
}

export function timedOut(what: string): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.Timeout, `${what}: the destination's timeout passed or the bot is shutting down`, {
    retryable: true,
  });
}
