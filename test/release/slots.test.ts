import { z } from 'zod';
import { ErrorCode } from '../../src/errors.js';
import type { PublisherDefinition } from '../../src/publishing/types.js';
import { Slots } from '../../src/release/slots.js';
import { appProject, makeCore, memoryConjur } from '../support/core-fixture.js';
import { testDestination } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

describe('Slots', () => {
  it('lets `size` holders in, queues the rest in arrival order, and hands a freed slot on', async () => {
    const slots = new Slots(2);
    const order: string[] = [];
    const a = await slots.acquire();
    const b = await slots.acquire();
    expect(slots.full).toBe(true);
    const c = slots.acquire().then((free) => (order.push('c'), free));
    const d = slots.acquire().then((free) => (order.push('d'), free));
    await new Promise((r) => setImmediate(r));
    expect([order, slots.queued]).toEqual([[], 2]);
    a();
    a(); // a second call frees nothing more
    (await c)();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['c', 'd']);
    b();
    (await d)();
    expect(slots.full).toBe(false);
  });

  it('refuses a size that is not a whole number of at least 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new Slots(bad)).toThrow(RangeError);
  });
});

describe('the release core with one release slot', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());

  it('runs the releases of a burst one after the other: authorized and locked at once, published in turn', async () => {
    let running = 0;
    let maxRunning = 0;
    const gates: (() => void)[] = [];
    const gated: PublisherDefinition = {
      type: 'gated',
      description: 'test double that waits until the test lets it finish',
      artifacts: ['files'],
      options: z.object({}).strict() as unknown as PublisherDefinition['options'],
      tools: [],
      async publish() {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((r) => gates.push(r));
        running -= 1;
        return { status: 'published' };
      },
    };
    const f = makeCore(tmp.dir, appProject([testDestination(gated, 'out')]), memoryConjur({ 'release/app': ['alice'] }), [gated], {
      maxConcurrentReleases: 1,
    });
    try {
      for (const v of ['1.0.0', '1.0.1']) {
        f.stageFiles('app', v, { [`app-${v}.tgz`]: v });
        await f.core.stage({ project: 'app', version: v, build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } });
      }
      const alice = { login: 'alice', via: 'cli' as const };
      const first = f.core.release('app', '1.0.0', alice);
      const second = f.core.release('app', '1.0.1', alice);
      while (gates.length === 0) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      // The second waits for the slot, holding its lock: asking again is "in progress", not a second run.
      expect(gates).toHaveLength(1);
      await expect(f.core.release('app', '1.0.1', alice)).rejects.toMatchObject({ code: ErrorCode.InProgress });
      expect(f.logLines.join('')).toContain('release authorized; waiting for a free release slot');
      gates.shift()?.();
      await expect(first).resolves.toMatchObject({ state: 'published' });
      while (gates.length === 0) await new Promise((r) => setTimeout(r, 5));
      gates.shift()?.();
      await expect(second).resolves.toMatchObject({ state: 'published' });
      expect(maxRunning).toBe(1);
    } finally {
      f.close();
    }
  });
});
