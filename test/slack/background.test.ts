import type { Server } from 'node:http';
import express from 'express';
import pino from 'pino';
import { BackgroundTasks, PendingAcks } from '../../handlers/slack/background.js';

const log = pino({ level: 'silent' });

/** An express app with PendingAcks on /slack/events, whose answer waits until the test releases it. */
async function heldRoute(acks: PendingAcks): Promise<{ url: string; arrived: Promise<void>; answer(): void; server: Server }> {
  const http = express();
  let answer!: () => void;
  const answered = new Promise<void>((r) => (answer = r));
  let arrive!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  http.use('/slack/events', acks.middleware());
  http.post('/slack/events', (_req, res) => {
    arrive();
    void answered.then(() => res.status(200).send(''));
  });
  const server = await new Promise<Server>((resolve) => {
    const s = http.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/slack/events`, arrived, answer, server };
}

describe('BackgroundTasks with PendingAcks: acknowledge the burst first, work after', () => {
  it('work started while a request waits for its ack starts once that request is answered', async () => {
    const acks = new PendingAcks();
    const tasks = new BackgroundTasks(log, acks);
    const route = await heldRoute(acks);
    try {
      const request = fetch(route.url, { method: 'POST', body: 'x' });
      await route.arrived;
      let started = false;
      tasks.run('work', async () => {
        started = true;
      });
      // Several turns of the event loop: the work still waits.
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(started).toBe(false);
      route.answer();
      expect((await request).status).toBe(200);
      await tasks.idle();
      expect(started).toBe(true);
    } finally {
      route.server.closeAllConnections();
      route.server.close();
    }
  });

  it('starts at once when no request waits, and after the longest wait when one never gets its answer', async () => {
    const acks = new PendingAcks();
    const order: string[] = [];
    new BackgroundTasks(log, acks).run('now', async () => void order.push('now'));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['now']);
    const route = await heldRoute(acks);
    try {
      void fetch(route.url, { method: 'POST', body: 'x' }).catch(() => undefined);
      await route.arrived;
      await acks.quiet(50);
      order.push('after the longest wait');
      expect(order).toEqual(['now', 'after the longest wait']);
    } finally {
      route.answer();
      route.server.closeAllConnections();
      route.server.close();
    }
  });
});
