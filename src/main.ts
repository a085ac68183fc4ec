import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { jenkinsRouter } from '../handlers/jenkins/jenkins-router.js';
import { destinationTypes, publishers } from '../publishers/registry.js';
import { mountSlack } from '../handlers/slack/mount.js';
import { startAuditForwarding } from './audit/forwarding.js';
import { loadConfig, type Config } from './config/load.js';
import { PolicyReloader, type ReloadOutcome } from './config/reload.js';
import { ConjurClient } from './conjur/client.js';
import { measuredConjur } from './conjur/measured.js';
import type { Conjur } from './conjur/types.js';
import { createLogger, type LogFormat } from './log.js';
import { Metrics, mountMetrics } from './metrics.js';
import { conjurCheck, databaseCheck, policyCheck, Readiness, slackCheck, type ReadinessCheck } from './readiness.js';
import { Redactor } from './redact.js';
import { ReleaseCore } from './release/core.js';
import { checkPortFree, createHttpApp, listen } from './server.js';
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
  /** `human` for a CLI command's terminal, unless LOG_FORMAT=json (or --log-format json) asks for JSON; serve leaves it: JSON. */
  logFormat?: LogFormat;
  conjur?: Conjur;
  retryBaseMs?: number;
}

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env, redactor = new Redactor(), projectsFile?: Buffer | null): Config {
  return loadConfig(env, { destinationTypes, redactor, ...(projectsFile !== undefined ? { projectsFile } : {}) });
}

export function createApp(options: CreateAppOptions = {}): App {
  const redactor = options.redactor ?? new Redactor();
  const config = loadAppConfig(options.env ?? process.env, redactor);
  const format: LogFormat = options.logFormat === 'human' && config.env.LOG_FORMAT !== 'json' ? 'human' : 'json';
  const log = createLogger({ level: config.env.LOG_LEVEL, redactor, format, ...(options.logDestination ? { destination: options.logDestination } : {}) });
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
  return {
    // The core holds the policy in force (serve reloads it): every reader sees the current one.
    get config() {
      return core.config;
    },
    core,
    conjur,
    db,
    log,
    redactor,
    metrics,
    close: () => db.close(),
  };
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

/** `release-bot serve`: the server, and the reloader that keeps its policy equal to the projects file. */
export interface ServingBot extends RunningServer {
  policy: PolicyReloader;
  /** What SIGHUP does: re-reads the projects file now. */
  reload(trigger: 'SIGHUP'): ReloadOutcome;
}

export async function serve(options: CreateAppOptions = {}): Promise<ServingBot> {
  // The port before anything is written: a port in use leaves no database behind.
  const { env: listenOn } = loadAppConfig(options.env ?? process.env, new Redactor());
  await checkPortFree(listenOn.HOST, listenOn.PORT);
  const app = createApp(options);
  const forwarding = startAuditForwarding({ ...app, audit: app.core.audit });
  const interrupted = app.core.recoverInterrupted();
  if (interrupted.length > 0) app.log.warn({ releases: interrupted.map((r) => r.id) }, 'releases left mid-way were marked interrupted');
  // A reload validates with the environment read at start: only the projects file is reloadable.
  const env = options.env ?? process.env;
  const policy = new PolicyReloader({ holder: app.core, load: (bytes) => loadAppConfig(env, app.redactor, bytes), log: app.log.child({ component: 'policy' }) });
  let server: Server;
  let handlers: { stop(): Promise<void> } | undefined;
  try {
    const http = createHttpApp(app.core, { readiness: new Readiness(readinessChecks(app, policy), (t) => app.redactor.redact(t)) });
    handlers = await mountHandlers(http, app);
    server = await listen(http, app.config.env.HOST, app.config.env.PORT, app.log);
  } catch (err) {
    await handlers?.stop();
    await forwarding.stop();
    app.close();
    throw err;
  }
  policy.start();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      app.log.info({ inFlight: app.core.inFlightCount }, 'stopping: draining in-flight releases');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      policy.stop();
      await app.core.drain();
      server.closeAllConnections();
      await closed;
      // The last summaries reach the channel, and the Slack timers stop, before the database closes.
      await handlers?.stop();
      await forwarding.stop();
      app.close();
    })());
  return { app, server, policy, reload: (trigger) => policy.reload(trigger), stop };
}

/** What `/readyz` asks: Conjur, Slack (when it is on), the database, the policy. */
function readinessChecks(app: App, policy: PolicyReloader): ReadinessCheck[] {
  const env = app.config.env;
  const checks = [conjurCheck(app.conjur, env.CONJUR_AUTHN_LOGIN)];
  if ((env.SLACK_SIGNING_SECRET || env.SLACK_APP_TOKEN) && env.SLACK_BOT_TOKEN) checks.push(slackCheck(env.SLACK_API_URL, env.SLACK_BOT_TOKEN));
  checks.push(databaseCheck(app.db, app.config.dataDir), policyCheck(() => policy.status));
  return checks;
}
