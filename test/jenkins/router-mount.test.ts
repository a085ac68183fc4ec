import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { createAppWiring, type WiredApp } from '../../app/create.js';
import { createHttpApp } from '../../src/server.js';
import { jenkinsRouter } from '../../app/jenkins-router.js';
import { startBot, type Bot } from './helpers/bot.js';
import { botReport } from './helpers/reports.js';
import { token } from './helpers/tokens.js';

describe('the Jenkins router mounted behind a JSON body parser', () => {
  let bot: Bot;
  let app: WiredApp;
  let server: Server;
  const logs: string[] = [];

  beforeAll(async () => {
    bot = await startBot();
    const logDestination = new Writable({ write: (chunk, _enc, cb) => (logs.push(String(chunk)), cb()) });
    app = createAppWiring({ env: bot.env, logDestination }).app;
    const http = createHttpApp(app.core);
    http.use(express.json());
    http.use('/webhooks/jenkins', jenkinsRouter(app));
    server = await new Promise<Server>((resolve) => {
      const s = http.listen(0, '127.0.0.1', () => resolve(s));
    });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    app.close();
    await bot.stop();
  });

  it('refuses with 500 and says why in the log, instead of checking a signature over nothing', async () => {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/jenkins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}` },
      body: JSON.stringify(botReport({ artifacts: [{ path: 'a', sha256: 'a'.repeat(64) }] })),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: 'INTERNAL', error: 'internal error: see the release-bot log' });
    expect(logs.join('')).toContain('a body parser mounted before /webhooks/jenkins consumed the raw body');
  });
});
