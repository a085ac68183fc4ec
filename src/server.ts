import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Readiness } from './readiness.js';
import type { ReleaseCore } from './release/core.js';

/**
 * The bot's one HTTP server: `/healthz` (liveness: the process answers) and `/readyz` (readiness:
 * Conjur, Slack, the database and the policy) here; Slack, Jenkins and metrics mount their routes on it.
 */
export function createHttpApp(core: ReleaseCore, options: { readiness?: Readiness } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, inFlight: core.inFlightCount });
  });
  const readiness = options.readiness;
  if (readiness) {
    app.get('/readyz', (_req, res, next) => {
      readiness.report().then((report) => {
        res.status(report.ready ? 200 : 503).json({ ...report, policySha256: core.config.policySha256, inFlight: core.inFlightCount });
      }, next);
    });
  }
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
