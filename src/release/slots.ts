/**
 * A counting semaphore: at most `size` holders at once, the rest wait in arrival order.
 *
 * Releases take one while they verify and publish. On a release machine a burst of requests must
 * not become a burst of parallel pushes, and every release running in the one event loop delays
 * the answers Slack waits for (its 3 s limit): the requests beyond the limit are acknowledged,
 * authorized and locked at once, then wait for a slot.
 */
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a slot count must be a whole number of at least 1, not ${size}`);
  }

  /** Whether an acquire now would wait. */
  get full(): boolean {
    return this.used >= this.size;
  }

  /** How many holders wait for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with the release function once a slot is held; call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.used < this.size) this.used += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      // The slot passes straight to the next in line: `used` only drops when nobody waits.
      const next = this.waiting.shift();
      if (next) next();
      else this.used -= 1;
    };
  }
}
