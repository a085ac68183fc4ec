import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { jenkinsRouter } from '../handlers/jenkins/jenkins-router.js';
import { destinationTypes, publishers } from '../publishers/registry.js';
import { mountSlack } from '../handlers/slack/mount.js';
import { startAuditForwarding } from './audit/forwarding.js';
import { loadConfig, type Config } from './config/load.js';
import { ConjurClient } from './conjur/client.js';
import { measuredConjur } from './conjur/measured.js';
import type { Conjur } from './conjur/types.js';
import { createLogger } from './log.js';
import { Metrics, mountMetrics } from './metrics.js';
import { Redactor } from './redact.js';
import { ReleaseCore } from './release/core.js';
import { createHttpApp, listen } from './server.js';
import { openDatabase, type Db } from './store/db.js';
import { inspectDigest } from './staging/skopeo.js';

/**
 * The one place that wires the core to its ways in (handlers) and out (publishers).
 */
export interface App {
  config: Config;
  core: ReleaseCore;
  conjur: Conjur;
  db: Db;
  log: Logger;
  redactor: Redactor;
  metrics: Metrics;
  close(): void;
}

export interface CreateAppOptions {
  env?: NodeJS.ProcessEnv;
  redactor?: Redactor;
  /** Where logs go; the CLI sends them to stderr so that stdout stays its answer. */
  logDestination?: NodeJS.WritableStream;
  conjur?: Conjur;
  retryBaseMs?: number;
}

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env, redactor = new Redactor()): Config {
  return loadConfig(env, { destinationTypes, redactor });
}

export function createApp(options: CreateAppOptions = {}): App {
  const redactor = options.redactor ?? new Redactor();
  const config = loadAppConfig(options.env ?? process.env, redactor);
  const log = createLogger({ level: config.env.LOG_LEVEL, redactor, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const metrics = new Metrics();
  const rawConjur =
    options.conjur ??
    new ConjurClient({
      applianceUrl: config.env.CONJUR_APPLIANCE_URL,
      account: config.env.CONJUR_ACCOUNT,
      login: config.env.CONJUR_AUTHN_LOGIN,
      ...(config.env.CONJUR_AUTHN_API_KEY ? { apiKey: config.env.CONJUR_AUTHN_API_KEY } : {}),
      ...(config.env.CONJUR_AUTHN_TOKEN_FILE ? { tokenFile: config.env.CONJUR_AUTHN_TOKEN_FILE } : {}),
      ...(config.env.CONJUR_CERT_FILE ? { certFile: config.env.CONJUR_CERT_FILE } : {}),
      ...(config.env.CONJUR_SSL_CERTIFICATE ? { sslCertificate: config.env.CONJUR_SSL_CERTIFICATE } : {}),
      redactor,
      log: log.child({ component: 'conjur' }),
    });
  const conjur = measuredConjur(rawConjur, metrics);
  const db = openDatabase(config.dataDir);
  const core = new ReleaseCore({
    config,
    db,
    conjur,
    publishers,
    redactor,
    log,
    inspectImage: (ref, tlsVerify) => inspectDigest(ref, { tlsVerify, redact: (t) => redactor.redact(t) }),
    maxConcurrentReleases: config.env.RELEASE_BOT_MAX_CONCURRENT_RELEASES,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
  });
  return { config, core, conjur, db, log, redactor, metrics, close: () => db.close() };
}

/** Mounts every handler's routes on the bot's HTTP server; `stop()` ends their background work. */
export async function mountHandlers(http: Express, app: App): Promise<{ stop(): Promise<void> }> {
  mountMetrics(http, app); // first, so that the webhook counter sees every webhook answer
  const slack = await mountSlack(http, app);
  http.use('/webhooks/jenkins', jenkinsRouter(app));
  return { stop: async () => void (await slack?.stop()) };
}

export interface RunningServer {
  app: App;
  server: Server;
  /** Stops taking requests, lets in-flight releases finish, closes the database. */
  stop(): Promise<void>;
}

export async function serve(options: CreateAppOptions = {}): Promise<RunningServer> {
  const app = createApp(options);
  const forwarding = startAuditForwarding({ ...app, audit: app.core.audit });
  const interrupted = app.core.recoverInterrupted();
  if (interrupted.length > 0) app.log.warn({ releases: interrupted.map((r) => r.id) }, 'releases left mid-way were marked interrupted');
  let server: Server;
  let handlers: { stop(): Promise<void> } | undefined;
  try {
    const http = createHttpApp(app.core);
    handlers = await mountHandlers(http, app);
    server = await listen(http, app.config.env.HOST, app.config.env.PORT, app.log);
  } catch (err) {
    await handlers?.stop();
    await forwarding.stop();
    app.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      app.log.info({ inFlight: app.core.inFlightCount }, 'stopping: draining in-flight releases');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await app.core.drain();
      server.closeAllConnections();
      await closed;
      // The last summaries reach the channel, and the Slack timers stop, before the database closes.
      await handlers?.stop();
      await forwarding.stop();
      app.close();
    })());
  return { app, server, stop };
}
