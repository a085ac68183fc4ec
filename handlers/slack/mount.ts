import { App as BoltApp, ExpressReceiver, SocketModeReceiver, webApi } from '@slack/bolt';
import type { Express } from 'express';
import { ConfigError } from '../../src/config/load.js';
import type { App } from '../../src/app.js';
import { Approvals } from '../../src/release/approvals.js';
import { Freezes } from '../../src/release/freeze.js';
import { ReleaseAnnouncer } from './announcer.js';
import { AuditWatcher } from './audit-watcher.js';
import { BackgroundTasks } from './background.js';
import { boltLogger } from './bolt-logger.js';
import { SlackChat } from './chat.js';
import type { SlackFlowDeps } from './flows.js';
import { slackDirectory } from './directory.js';
import { SlackIdentity } from './identity.js';
import { registerListeners } from './listeners.js';
import { SocketConnection } from './socket-connection.js';

/** Where Slack sends slash commands and interactivity (both), on the bot's own HTTP server. */
export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackHandle {
  bolt: BoltApp;
  approvals: Approvals;
  freezes: Freezes;
  announcer: ReleaseAnnouncer;
  /** Announces what other processes (CLI, ssh) staged and released. */
  watcher: AuditWatcher;
  mode: 'http' | 'socket';
  /** Socket Mode: the connection, opened in the background. */
  socket?: SocketConnection | undefined;
  /** Settles when every background task and channel message started so far is done. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface MountSlackOptions {
  /** Clock for approval expiry (tests). */
  now?: () => Date;
  /** How often expired approval requests are closed (default 30 s). */
  approvalSweepMs?: number;
  /** How often the audit log is read for work done by other processes (default 1 s). */
  auditPollMs?: number;
  /** Socket Mode: first wait after a failed connection attempt (default 1 s; doubles up to a minute). */
  socketRetryMs?: number;
  /** Least time between two writes of a release's channel message (default UPDATE_INTERVAL_MS, 1 s). */
  updateIntervalMs?: number;
}

/**
 * Mounts the Slack front end: over HTTP at POST /slack/events on the bot's express app (Bolt verifies
 * each request's signature with SLACK_SIGNING_SECRET and rejects stale ones), or over Socket Mode when
 * SLACK_APP_TOKEN is set (no inbound traffic). Without Slack settings it mounts nothing.
 *
 * It also runs two timers for as long as the database is open: one announces what other processes
 * staged and released (see audit-watcher.ts), one closes approval requests that expired unanswered.
 */
export async function mountSlack(http: Express, app: App, options: MountSlackOptions = {}): Promise<SlackHandle | undefined> {
  const env = app.config.env;
  const log = app.log.child({ component: 'slack' });
  if (!env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN) {
    log.info('Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) to turn it on');
    return undefined;
  }
  const token = env.SLACK_BOT_TOKEN;
  if (!token)
    throw new ConfigError([
      'SLACK_BOT_TOKEN: is not set, and Slack is on: put the bot token (xoxb-...) from your Slack app\'s "OAuth & Permissions" page in .env (see deploy/slack/README.md)',
    ]);

  const logger = boltLogger(log);
  const clientOptions: webApi.WebClientOptions = {
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL.endsWith('/') ? env.SLACK_API_URL : `${env.SLACK_API_URL}/` } : {}),
    logger,
    timeout: 15_000,
    // A few quick retries: a chat message late by half an hour helps nobody.
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
  };
  const client = new webApi.WebClient(token, clientOptions);
  const chat = new SlackChat(client, app.redactor, log);
  const freezes = new Freezes(app.core, app.db, options.now);
  const approvals = new Approvals(app.core, app.db, { freezes, log, ...(options.now ? { now: options.now } : {}) });
  const announcer = new ReleaseAnnouncer(app.core, approvals, chat, log, options.updateIntervalMs).attach();
  announcer.announceRecovered(new Date(Date.now() - process.uptime() * 1000).toISOString());
  const watcher = new AuditWatcher(app.core, announcer, log, app.audit).start();
  const tasks = new BackgroundTasks(log);
  // The identity section is read at each request: a reloaded projects file applies at once.
  const identity = new SlackIdentity(() => app.core.config.identity, slackDirectory(client), log);
  identity.start();

  // One bot token for one workspace: no auth.test per request, nothing to install. (Identity asks
  // auth.test once, for the home workspace, unless the projects file names it.)
  const authorize = async () => ({ botToken: token });
  const common = { authorize, logger, clientOptions, ignoreSelf: false, convoStore: false as const };
  let bolt: BoltApp;
  let mode: SlackHandle['mode'];
  let socket: SocketConnection | undefined;
  if (env.SLACK_APP_TOKEN) {
    // The receiver is built here, not by Bolt, so that apps.connections.open is sent where
    // SLACK_API_URL says (its own copy of the client options, whatever Bolt's defaults), and so
    // that reconnecting is ours: the Socket Mode client's retries reject unhandled (see socket-connection.ts).
    const receiver = new SocketModeReceiver({
      appToken: env.SLACK_APP_TOKEN,
      logger,
      autoReconnectEnabled: false,
      // One attempt per try: SocketConnection waits and tries again, and logs each failure.
      installerOptions: { clientOptions: { ...clientOptions, retryConfig: { retries: 0 } } },
    });
    bolt = new BoltApp({ ...common, receiver });
    socket = new SocketConnection(receiver, {
      log,
      ...(options.socketRetryMs !== undefined ? { retryBaseMs: options.socketRetryMs } : {}),
    });
    mode = 'socket';
  } else {
    const receiver = new ExpressReceiver({
      signingSecret: env.SLACK_SIGNING_SECRET as string,
      endpoints: SLACK_EVENTS_PATH,
      app: http,
      logger,
      processBeforeResponse: false,
    });
    bolt = new BoltApp({ ...common, receiver });
    mode = 'http';
  }
  bolt.error(async (err) => {
    log.error({ err: err.message, code: (err as { code?: string }).code }, 'Slack listener failed');
  });

  const deps: SlackFlowDeps = {
    core: app.core,
    approvals,
    freezes,
    yanks: app.yanks,
    denials: app.denials,
    audit: app.audit,
    chat,
    log,
    resolveLogin: (origin) => identity.resolve(origin),
  };
  registerListeners(bolt, deps, chat, tasks);
  // Never awaited: the HTTP server listens whether or not Slack answers (see socket-connection.ts).
  socket?.start();
  log.info({ mode, path: mode === 'http' ? SLACK_EVENTS_PATH : undefined, apiUrl: env.SLACK_API_URL }, 'Slack front end mounted');

  const sweep: NodeJS.Timeout = setInterval(() => {
    if (!app.db.open) return void stop();
    try {
      const closed = approvals.closeStale();
      if (closed.length > 0)
        log.info({ requests: closed.map((r) => `${r.id} ${r.status}`) }, 'closed approval requests nobody can approve any more');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not close expired approval requests');
    }
  }, options.approvalSweepMs ?? 30_000);
  sweep.unref();
  // serve() closes the database when it stops: the timers and the Socket Mode connection stop with it.
  const tick = setInterval(() => {
    if (!app.db.open) return void stop();
    watcher.poll();
  }, options.auditPollMs ?? 1_000);
  tick.unref();

  const idle = async () => {
    await tasks.idle();
    await announcer.idle();
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(sweep);
      clearInterval(tick);
      watcher.stop();
      await socket?.stop();
      await idle();
    })());
  return { bolt, approvals, freezes, announcer, watcher, mode, socket, idle, stop };
}
