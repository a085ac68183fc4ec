import type { Logger } from 'pino';

/**
 * Work a listener starts after it acknowledged Slack: never awaited by the listener (Slack's 3 s
 * limit is a contract), but tracked so that shutdown and tests can wait for it, and never left to
 * reject unhandled.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly log: Logger) {}

  run(name: string, work: () => Promise<void>): void {
    const task = Promise.resolve()
      .then(work)
      .catch((err: unknown) => this.log.error({ task: name, err: (err as Error).message }, 'background task failed'));
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
