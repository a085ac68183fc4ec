import { createServer, type Server } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { ErrorCode, ReleaseBotError } from './errors.js';
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
    // Express 5 hands a listen error to this callback too: without the check a port in use was
    // logged as "listening" and the process ended with nothing said.
    const server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(listenError(err, host, port));
      const address = server.address();
      log.info({ address }, 'release-bot listening');
      resolve(server);
    });
    // Node closes an idle keep-alive connection after 5 s; proxies and load balancers keep theirs
    // 60 s (AWS ALB's idle timeout, nginx's upstream keepalive_timeout). Longer here, so the client
    // side closes an idle connection, never the bot at the moment a request is sent on it (a reset).
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Above the keep-alive timeout, as Node requires for a reused connection's next request headers.
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  });
}

export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Fails, as a configuration error, when `host:port` cannot be listened on: `serve` asks before it
 * opens the database, so a port in use ends with one line and exit 78, and leaves nothing behind.
 */
export async function checkPortFree(host: string, port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err) => reject(listenError(err, host, port)));
    probe.listen(port, host, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

function listenError(err: Error, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `port ${port} on ${host} is already in use (${where}): stop what listens there, or set PORT (or HOST) to a free one`,
    );
  if (code === 'EACCES')
    return new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `may not listen on port ${port} on ${host} (${where}): use a port above 1023, or set HOST and PORT to one the service may bind`,
    );
  if (code === 'EADDRNOTAVAIL')
    return new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `cannot listen on ${where}: ${host} is not an address of this machine; set HOST to one of its addresses`,
    );
  return err;
}
