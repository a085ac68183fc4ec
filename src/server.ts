import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { ReleaseCore } from './release/core.js';

/** The bot's one HTTP server: `/healthz` here; Slack, Jenkins and metrics mount their routes on it. */
export function createHttpApp(core: ReleaseCore): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, inFlight: core.inFlightCount });
  });
  return app;
}

export function listen(app: Express, host: string, port: number, log: Logger): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => {
      const address = server.address();
      log.info({ address }, 'release-bot listening');
      resolve(server);
    });
    server.once('error', reject);
  });
}
