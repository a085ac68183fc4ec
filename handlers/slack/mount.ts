import { webApi, type App as BoltApp } from '@slack/bolt';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { App } from '../../src/app.js';
import type { Approvals } from '../../src/release/approvals.js';
import type { Freezes } from '../../src/release/freeze.js';
import { ReleaseAnnouncer } from './announcer.js';
import { AuditWatcher } from './audit-watcher.js';
import { BackgroundTasks, PendingAcks } from './background.js';
import { SlackChat } from './chat.js';
import type { SlackFlowDeps } from './flows.js';
import { slackDirectory } from './directory.js';
import { SlackIdentity } from './identity.js';
import { registerListeners } from './listeners.js';
import { SLACK_EVENTS_PATH, slackClientOptions, slackReceiver } from './receiver.js';
import type { SocketConnection } from './socket-connection.js';

export { SLACK_EVENTS_PATH } from './receiver.js';

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
 * Starts the Slack front end: mounted over HTTP at POST /slack/events on the bot's express app (Bolt verifies
 * each request's signature with SLACK_SIGNING_SECRET and rejects stale ones), or over Socket Mode when
 * SLACK_APP_TOKEN is set (no inbound traffic). Without Slack settings it mounts nothing.
 *
 * It also runs two timers for as long as the database is open: one announces what other processes
 * staged and released (see audit-watcher.ts), one closes approval requests that expired unanswered.
 */
export async function startSlackFrontEnd(http: Express, app: App, options: MountSlackOptions = {}): Promise<SlackHandle | undefined> {
  // Checked with the rest of the configuration at load (src/config/handler-settings.ts): absent means off.
  const settings = app.config.slack;
  const log = app.log.child({ component: 'slack' });
  if (!settings) {
    log.info('Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) to turn it on');
    return undefined;
  }
  const clientOptions = slackClientOptions(settings, log);
  const client = new webApi.WebClient(settings.botToken, clientOptions);
  const chat = new SlackChat(client, app.redactor, log);
  const { freezes, approvals } = app.approvalServices({ log, now: options.now });
  const announcer = new ReleaseAnnouncer(app.core, app, approvals, chat, log, options.updateIntervalMs).attach();
  announcer.announceRecovered(new Date(Date.now() - process.uptime() * 1000).toISOString());
  const watcher = new AuditWatcher(app, announcer, log).start();
  const acks = new PendingAcks();
  const tasks = new BackgroundTasks(log, acks);
  // The identity section is read at each request: a reloaded projects file applies at once.
  const identity = new SlackIdentity(() => app.core.config.identity, slackDirectory(client), log);
  identity.start();

  const { bolt, mode, socket } = slackReceiver(settings, http, clientOptions, { log, socketRetryMs: options.socketRetryMs, acks });
  bolt.error(async (err) => {
    log.error({ err: err.message, code: (err as { code?: string }).code }, 'Slack listener failed');
  });

  registerListeners(bolt, flowDeps(app, { approvals, freezes }, chat, log, identity), chat, tasks);
  // Never awaited: the HTTP server listens whether or not Slack answers (see socket-connection.ts).
  socket?.start();
  log.info(
    { mode, path: mode === 'http' ? SLACK_EVENTS_PATH : undefined, apiUrl: app.config.env.SLACK_API_URL },
    'Slack front end mounted',
  );

  // serve() closes the database when it stops: the timers and the Socket Mode connection stop with it.
  const clearTimers = startTimers(app, approvals, watcher, log, options, () => void stop());

  const idle = async () => {
    await tasks.idle();
    await announcer.idle();
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearTimers();
      watcher.stop();
      await socket?.stop();
      await idle();
    })());
  return { bolt, approvals, freezes, announcer, watcher, mode, socket, idle, stop };
}

/** What the Slack flows get of the app: the core, the approval services, the read-only views, the chat and the identity. */
function flowDeps(
  app: App,
  services: { approvals: Approvals; freezes: Freezes },
  chat: SlackChat,
  log: Logger,
  identity: SlackIdentity,
): SlackFlowDeps {
  return {
    core: app.core,
    approvals: services.approvals,
    freezes: services.freezes,
    yanks: app.yanks,
    yankRecords: app.yankRecords,
    denials: app.denials,
    audit: app.audit,
    staged: app.staged,
    releases: app.releases,
    projectStatus: (project, version) => app.projectStatus(project, version),
    chat,
    log,
    resolveLogin: (origin) => identity.resolve(origin),
  };
}

/**
 * The two timers that run for as long as the database is open: one closes approval requests that
 * expired unanswered, one announces what other processes staged and released. Returns what clears them.
 */
function startTimers(
  app: App,
  approvals: Approvals,
  watcher: AuditWatcher,
  log: Logger,
  options: MountSlackOptions,
  stop: () => void,
): () => void {
  const sweep: NodeJS.Timeout = setInterval(() => {
    if (!app.storeOpen()) return stop();
    try {
      const closed = approvals.closeStale();
      if (closed.length > 0)
        log.info({ requests: closed.map((r) => `${r.id} ${r.status}`) }, 'closed approval requests nobody can approve any more');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not close expired approval requests');
    }
  }, options.approvalSweepMs ?? 30_000);
  sweep.unref();
  const tick = setInterval(() => {
    if (!app.storeOpen()) return stop();
    watcher.poll();
  }, options.auditPollMs ?? 1_000);
  tick.unref();
  return () => {
    clearInterval(sweep);
    clearInterval(tick);
  };
}
