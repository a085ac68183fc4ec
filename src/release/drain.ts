import { ErrorCode, ReleaseBotError } from '../errors.js';

/**
 * The work the core runs (releases, yanks) and the bot's shutdown: `drain` (SIGTERM) lets what runs
 * finish and starts nothing new; past its timeout, or once drained, the shutdown signal aborts and
 * running destinations stop.
 */
export class InFlight {
  private readonly work = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private isDraining = false;

  /** Aborts when the bot stops for good. */
  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  /** Set once `drain` was called: the releases already running finish, nothing new starts. */
  get draining(): boolean {
    return this.isDraining;
  }

  get count(): number {
    return this.work.size;
  }

  /** Counts `work` as in flight until it settles. */
  add<T>(work: Promise<T>): Promise<T> {
    this.work.add(work);
    const forget = () => this.work.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Waits for the work in flight; after `timeoutMs` it is told to stop. */
  async drain(timeoutMs = 10 * 60_000): Promise<void> {
    this.isDraining = true;
    const pending = [...this.work];
    if (pending.length === 0) {
      this.shutdown.abort();
      return;
    }
    const timer = setTimeout(() => this.shutdown.abort(), timeoutMs);
    await Promise.allSettled(pending);
    clearTimeout(timer);
    this.shutdown.abort();
  }

  /** Runs `start` as in flight, refused while the bot shuts down. */
  track<T>(start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.isDraining || this.shutdown.signal.aborted) {
      return Promise.reject(
        new ReleaseBotError(ErrorCode.InProgress, 'release-bot is shutting down and finishing the work it runs: ask again in a minute'),
      );
    }
    return this.add(start(this.shutdown.signal));
  }
}
