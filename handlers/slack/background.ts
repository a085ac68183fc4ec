import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

/** The longest the work of an acknowledged request waits for the other requests' acks. */
export const ACKS_FIRST_MAX_WAIT_MS = 2_000;

/**
 * Counts the Slack requests on the bot's HTTP server that have not been answered yet. A burst of
 * slash commands is acknowledged before the work of any of them starts: that work (identity, the
 * release's messages) runs on the same event loop, and Slack gives each ack 3 s.
 */
export class PendingAcks {
  private count = 0;
  private waiting: Array<() => void> = [];

  /** Mounted on the Slack route before Bolt's receiver: a request counts from its arrival until its response is closed. */
  middleware(): RequestHandler {
    return (_req, res, next) => {
      this.count++;
      res.once('close', () => {
        this.count--;
        if (this.count > 0) return;
        const waiting = this.waiting;
        this.waiting = [];
        for (const wake of waiting) wake();
      });
      next();
    };
  }

  /** Resolves once no request waits for its answer, or after `maxWaitMs` (a steady stream never starves the work). */
  quiet(maxWaitMs = ACKS_FIRST_MAX_WAIT_MS): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/**
 * Work a listener starts after it acknowledged Slack: never awaited by the listener (Slack's 3 s
 * limit is a contract), started once the requests waiting for their acks have them (PendingAcks),
 * tracked so that shutdown and tests can wait for it, and never left to reject unhandled.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly log: Logger,
    private readonly acks?: PendingAcks,
  ) {}

  run(name: string, work: () => Promise<void>): void {
    const task = (this.acks ? this.acks.quiet() : Promise.resolve())
      .then(work)
      .catch((err: unknown) => this.log.error({ task: name, err: (err as Error).message }, 'background task failed'));
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
