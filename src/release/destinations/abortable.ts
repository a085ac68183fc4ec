import { ErrorCode, ReleaseBotError } from '../../errors.js';

/** A publisher that ignores its signal still cannot hold the release past its timeout. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal, timeoutSeconds: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const timedOut = signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError';
      reject(
        timedOut
          ? new ReleaseBotError(ErrorCode.Timeout, `no answer within ${timeoutSeconds} s (timeout_seconds)`, { retryable: true })
          : new ReleaseBotError(ErrorCode.Timeout, 'stopped: release-bot is shutting down', { retryable: false }),
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Waits `ms`; resolves early when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
