import type { Server } from 'node:http';
import type { Express } from 'express';
import { jenkinsRouter } from './jenkins-router.js';
import { startSlackFrontEnd } from '../handlers/slack/mount.js';
import { startAuditForwarding, type AuditForwarding } from '../src/audit/forwarding.js';
import type { AuditLog } from '../src/audit/log.js';
import { PolicyReloader, type ReloadOutcome } from '../src/config/reload.js';
import { mountMetrics } from '../src/metrics.js';
import { conjurCheck, databaseCheck, membershipCheck, policyCheck, Readiness, slackCheck, type ReadinessCheck } from '../src/readiness.js';
import { Redactor } from '../src/redact.js';
import { policyHolder } from '../src/release/policy-holder.js';
import { checkPortFree, createHttpApp, listen } from '../src/server.js';
import { AppendsOnTheirWay } from './bus-bridge.js';
import { createAppWiring, loadAppConfig, type CreateAppOptions, type WiredApp } from './create.js';
import { releaseThreadAvailable, ThreadedReleaseCore, type ThreadDeath } from './release-thread.js';

/** Mounts every handler's routes on the bot's HTTP server; `stop()` ends their background work. */
export async function mountHandlers(http: Express, app: WiredApp): Promise<{ stop(): Promise<void> }> {
  mountMetrics(http, app); // first, so that the webhook counter sees every webhook answer
  const slack = await startSlackFrontEnd(http, app);
  http.use('/webhooks/jenkins', jenkinsRouter(app));
  return { stop: async () => void (await slack?.stop()) };
}

export interface RunningServer {
  app: WiredApp;
  server: Server;
  /** Stops taking requests, lets in-flight releases finish, closes the database. */
  stop(): Promise<void>;
}

/** `release-bot serve`: the server, and the reloader that keeps its policy equal to the projects file. */
export interface ServingBot extends RunningServer {
  /**
   * Resolves with the exit code (70, EX_SOFTWARE) once serve stopped because its release thread died:
   * it cannot release any more, and only a restart (systemd's Restart=on-failure) brings the thread back.
   */
  died: Promise<number>;
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
  /**
   * The release thread's file (tests: a worker made to die). Only a caller in code can set it: no
   * configuration, environment variable or flag reaches it, and the CLI's serve never passes it.
   */
  releaseWorkerFile?: string;
  /**
   * What happens once serve stopped because its release thread died: by default the process exits
   * 70 (EX_SOFTWARE) for systemd's Restart=on-failure. In-process tests pass their own.
   */
  onThreadDeath?: (exitCode: number) => void;
}

export async function serve(options: ServeOptions = {}): Promise<ServingBot> {
  // The port before anything is written: a port in use leaves no database behind.
  const { env: listenOn } = loadAppConfig(options.env ?? process.env, new Redactor());
  await checkPortFree(listenOn.HOST, listenOn.PORT);
  const { onThreadDeath = (code) => process.exit(code) } = options;
  let threadDied: (death: ThreadDeath) => void = () => undefined;
  const { app, audit, threaded } = await startApp(options, (death) => threadDied(death));
  const forwarding = startAuditForwarding(app);
  const interrupted = app.core.recoverInterrupted();
  if (interrupted.length > 0) app.log.warn({ releases: interrupted.map((r) => r.id) }, 'releases left mid-way were marked interrupted');
  // A reload validates with the environment read at start: only the projects file is reloadable.
  const env = options.env ?? process.env;
  const policy = new PolicyReloader({
    holder: policyHolder(app.core, audit),
    load: (bytes) => loadAppConfig(env, app.redactor, bytes),
    log: app.log.child({ component: 'policy' }),
  });
  const { server, handlers } = await startServer({ app, policy, forwarding, threaded });
  policy.start();
  const shutDown = shutDownOnce({ app, server, handlers, policy, forwarding, threaded });
  const died = new Promise<number>((resolve) => {
    threadDied = (death) => {
      app.log.error(
        { exitCode: death.exitCode, reason: death.reason, inFlight: app.core.inFlightCount },
        `the release thread died: serve is not ready, refuses releases and exits ${EX_SOFTWARE} for its supervisor to restart it`,
      );
      const exit = () => {
        resolve(EX_SOFTWARE);
        onThreadDeath(EX_SOFTWARE);
      };
      void shutDown(true).then(exit, exit);
    };
    // Died while serve was still starting up: the same.
    const death = threaded?.death;
    if (death) threadDied(death);
  });
  return { app, server, died, policy, reload: (trigger) => policy.reload(trigger), stop: () => shutDown(false) };
}

/** What serve runs, as it stops it. */
interface Serving {
  app: WiredApp;
  policy: PolicyReloader;
  forwarding: AuditForwarding;
  threaded: ThreadedReleaseCore | undefined;
}

/** The app, its release core in a worker thread when serve runs one (its death told to `onDeath`), the thread started. */
async function startApp(
  options: ServeOptions,
  onDeath: (death: ThreadDeath) => void,
): Promise<{ app: WiredApp; audit: AuditLog; threaded: ThreadedReleaseCore | undefined }> {
  const {
    releaseThread = releaseThreadAvailable() && !options.conjur,
    releaseWorkerFile,
    onThreadDeath: _onThreadDeath,
    ...createOptions
  } = options;
  let threaded: ThreadedReleaseCore | undefined;
  const appending = new SharedArrayBuffer(4);
  const onTheirWay = new AppendsOnTheirWay(appending);
  const { app, audit } = createAppWiring({
    ...createOptions,
    ...(releaseThread
      ? {
          audit: { unheardAppends: () => onTheirWay.pending() },
          core: (deps) =>
            (threaded = new ThreadedReleaseCore(deps, {
              init: {
                env: { ...(options.env ?? process.env) },
                logFormat: options.logFormat,
                retryBaseMs: options.retryBaseMs,
                appending,
              },
              logDestination: options.logDestination ?? process.stdout,
              metrics: () => app.metrics,
              workerFile: releaseWorkerFile,
              onDeath,
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
  return { app, audit, threaded };
}

/** The HTTP server with `/readyz` and every handler mounted, listening; what started is stopped when it cannot. */
async function startServer({
  app,
  policy,
  forwarding,
  threaded,
}: Serving): Promise<{ server: Server; handlers: { stop(): Promise<void> } }> {
  let handlers: { stop(): Promise<void> } | undefined;
  try {
    const checks = readinessChecks(app, policy);
    if (threaded) checks.push(releaseThreadCheck(threaded));
    const http = createHttpApp(app.core, { readiness: new Readiness(checks, (t) => app.redactor.redact(t)) });
    handlers = await mountHandlers(http, app);
    const server = await listen(http, app.config.env.HOST, app.config.env.PORT, app.log);
    return { server, handlers };
  } catch (err) {
    await handlers?.stop();
    await forwarding.stop();
    await threaded?.stopThread();
    app.close();
    throw err;
  }
}

/** serve's stop, once however often it is asked; `fatal` when the release thread died. */
function shutDownOnce(s: Serving & { server: Server; handlers: { stop(): Promise<void> } }): (fatal: boolean) => Promise<void> {
  const { app, server, handlers, policy, forwarding, threaded } = s;
  const closeServer = () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    return closed;
  };
  let stopping: Promise<void> | undefined;
  return (fatal) =>
    (stopping ??= (async () => {
      app.log.info({ inFlight: app.core.inFlightCount }, 'stopping: draining in-flight releases');
      // Without its release thread serve keeps answering until its last replies are out: /readyz says
      // not ready and a release gets its coded refusal, rather than a refused connection.
      const closed = fatal ? undefined : closeServer();
      policy.stop();
      await app.core.drain();
      if (fatal) await handlers.stop();
      const closing = closed ?? closeServer();
      server.closeAllConnections();
      await closing;
      // The last summaries reach the channel, and the Slack timers stop, before the database closes.
      await handlers.stop();
      await forwarding.stop();
      await threaded?.stopThread();
      app.close();
    })());
}

/** sysexits.h EX_SOFTWARE: serve lost its release thread; not 78 (EX_CONFIG), so systemd restarts it. */
const EX_SOFTWARE = 70;

/** `/readyz` fails once the release thread died: serve is still up, but cannot release any more. */
function releaseThreadCheck(core: ThreadedReleaseCore): ReadinessCheck {
  return {
    name: 'release-thread',
    run: () =>
      Promise.resolve(
        core.threadAlive
          ? { ok: true, detail: 'the release thread runs' }
          : { ok: false, detail: 'the release thread died: serve stops for its supervisor to restart it' },
      ),
  };
}

/** What `/readyz` asks: Conjur, the membership sentinels, Slack (when it is on), the database, the policy. */
function readinessChecks(app: WiredApp, policy: PolicyReloader): ReadinessCheck[] {
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
