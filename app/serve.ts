import type { Server } from 'node:http';
import type { Express } from 'express';
import { jenkinsRouter } from './jenkins-router.js';
import { mountSlack } from '../handlers/slack/mount.js';
import type { App } from '../src/app.js';
import { startAuditForwarding } from '../src/audit/forwarding.js';
import { PolicyReloader, type ReloadOutcome } from '../src/config/reload.js';
import { mountMetrics } from '../src/metrics.js';
import { conjurCheck, databaseCheck, membershipCheck, policyCheck, Readiness, slackCheck, type ReadinessCheck } from '../src/readiness.js';
import { Redactor } from '../src/redact.js';
import { checkPortFree, createHttpApp, listen } from '../src/server.js';
import { createApp, loadAppConfig, type CreateAppOptions } from './create.js';
import { releaseThreadAvailable, ThreadedReleaseCore } from './release-thread.js';

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

export interface ServeOptions extends CreateAppOptions {
  /**
   * Releases run in a worker thread (release-thread.ts), off the event loop that answers Slack and
   * the webhook. On by default where the compiled worker exists (dist/) and Conjur is not a test's
   * in-process object, which a thread could not share.
   */
  releaseThread?: boolean;
}

export async function serve(options: ServeOptions = {}): Promise<ServingBot> {
  // The port before anything is written: a port in use leaves no database behind.
  const { env: listenOn } = loadAppConfig(options.env ?? process.env, new Redactor());
  await checkPortFree(listenOn.HOST, listenOn.PORT);
  const { releaseThread = releaseThreadAvailable() && !options.conjur, ...createOptions } = options;
  let threaded: ThreadedReleaseCore | undefined;
  const app = createApp({
    ...createOptions,
    ...(releaseThread
      ? {
          core: (deps) =>
            (threaded = new ThreadedReleaseCore(deps, {
              init: {
                env: { ...(options.env ?? process.env) },
                logFormat: options.logFormat,
                retryBaseMs: options.retryBaseMs,
                appending: new SharedArrayBuffer(4),
              },
              logDestination: options.logDestination ?? process.stdout,
              metrics: () => app.metrics,
            })),
        }
      : {}),
  });
  try {
    await threaded?.start();
  } catch (err) {
    await threaded?.stopThread();
    app.close();
    throw err;
  }
  const forwarding = startAuditForwarding({ ...app, audit: app.core.audit });
  const interrupted = app.core.recoverInterrupted();
  if (interrupted.length > 0) app.log.warn({ releases: interrupted.map((r) => r.id) }, 'releases left mid-way were marked interrupted');
  // A reload validates with the environment read at start: only the projects file is reloadable.
  const env = options.env ?? process.env;
  const policy = new PolicyReloader({
    holder: app.core,
    load: (bytes) => loadAppConfig(env, app.redactor, bytes),
    log: app.log.child({ component: 'policy' }),
  });
  let server: Server;
  let handlers: { stop(): Promise<void> } | undefined;
  try {
    const http = createHttpApp(app.core, { readiness: new Readiness(readinessChecks(app, policy), (t) => app.redactor.redact(t)) });
    handlers = await mountHandlers(http, app);
    server = await listen(http, app.config.env.HOST, app.config.env.PORT, app.log);
  } catch (err) {
    await handlers?.stop();
    await forwarding.stop();
    await threaded?.stopThread();
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
      await threaded?.stopThread();
      app.close();
    })());
  return { app, server, policy, reload: (trigger) => policy.reload(trigger), stop };
}

/** What `/readyz` asks: Conjur, the membership sentinels, Slack (when it is on), the database, the policy. */
function readinessChecks(app: App, policy: PolicyReloader): ReadinessCheck[] {
  const env = app.config.env;
  const checks = [
    conjurCheck(app.conjur, env.CONJUR_AUTHN_LOGIN),
    membershipCheck(app.conjur, () => app.core.config, env.CONJUR_AUTHN_LOGIN),
  ];
  if ((env.SLACK_SIGNING_SECRET || env.SLACK_APP_TOKEN) && env.SLACK_BOT_TOKEN)
    checks.push(slackCheck(env.SLACK_API_URL, env.SLACK_BOT_TOKEN));
  checks.push(
    databaseCheck(app.db, app.config.dataDir),
    policyCheck(() => policy.status),
  );
  return checks;
}
