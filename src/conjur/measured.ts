import { performance } from 'node:perf_hooks';
import { ReleaseBotError } from '../errors.js';
import type { Conjur } from './types.js';

/** Receives one observation per Conjur call (the metrics registry implements it). */
export interface ConjurObserver {
  conjurCall(operation: keyof Conjur, seconds: number, errorCode?: string): void;
}

/**
 * A Conjur that measures every call of the one it wraps: latency, and the error code of each
 * failure. It changes nothing else: results and errors pass through untouched, so failing closed
 * still happens where it did.
 */
export function measuredConjur(inner: Conjur, observer: ConjurObserver, clock: () => number = () => performance.now()): Conjur {
  const measure = async <T>(operation: keyof Conjur, call: () => Promise<T>): Promise<T> => {
    const started = clock();
    try {
      const result = await call();
      observer.conjurCall(operation, (clock() - started) / 1000);
      return result;
    } catch (err) {
      observer.conjurCall(operation, (clock() - started) / 1000, err instanceof ReleaseBotError ? err.code : 'INTERNAL');
      throw err;
    }
  };
  const sentinel = inner.membershipSentinel?.bind(inner);
  return {
    whoami: () => measure('whoami', () => inner.whoami()),
    isMember: (login, group) => measure('isMember', () => inner.isMember(login, group)),
    getSecrets: (ids) => measure('getSecrets', () => inner.getSecrets(ids)),
    canRead: (id) => measure('canRead', () => inner.canRead(id)),
    ...(sentinel ? { membershipSentinel: (group: string) => measure('membershipSentinel', () => sentinel(group)) } : {}),
  };
}
