import type { webApi } from '@slack/bolt';
import { App as BoltApp, ExpressReceiver, SocketModeReceiver } from '@slack/bolt';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { SlackSettings } from '../../src/config/handler-settings.js';
import type { PendingAcks } from './background.js';
import { boltLogger } from './bolt-logger.js';
import { SocketConnection } from './socket-connection.js';

/** Where Slack sends slash commands and interactivity (both), on the bot's own HTTP server. */
export const SLACK_EVENTS_PATH = '/slack/events';

/** The Web API client's options from the checked settings: where SLACK_API_URL says, a few quick retries. */
export function slackClientOptions(settings: SlackSettings, log: Logger): webApi.WebClientOptions {
  return {
    ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
    logger: boltLogger(log),
    timeout: 15_000,
    // A few quick retries: a chat message late by half an hour helps nobody.
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
  };
}

export interface SlackReceiver {
  bolt: BoltApp;
  mode: SlackSettings['mode'];
  /** Socket Mode: the connection, to open in the background. */
  socket?: SocketConnection | undefined;
}

/**
 * The Bolt app over the receiver the settings name: Socket Mode with the app-level token, or HTTP at
 * POST /slack/events on the bot's express app, where Bolt verifies each request's signature with the
 * signing secret and rejects stale ones.
 */
export function slackReceiver(
  settings: SlackSettings,
  http: Express,
  clientOptions: webApi.WebClientOptions,
  { log, socketRetryMs, acks }: { log: Logger; socketRetryMs?: number | undefined; acks?: PendingAcks | undefined },
): SlackReceiver {
  const logger = clientOptions.logger ?? boltLogger(log);
  // One bot token for one workspace: no auth.test per request, nothing to install. (Identity asks
  // auth.test once, for the home workspace, unless the projects file names it.)
  const authorize = async () => ({ botToken: settings.botToken });
  const common = { authorize, logger, clientOptions, ignoreSelf: false, convoStore: false as const };
  if (settings.mode === 'http') {
    // Before Bolt's routes: every request counts until its answer is sent (see PendingAcks).
    if (acks) http.use(SLACK_EVENTS_PATH, acks.middleware());
    const receiver = new ExpressReceiver({
      signingSecret: settings.signingSecret,
      endpoints: SLACK_EVENTS_PATH,
      app: http,
      logger,
      processBeforeResponse: false,
    });
    return { bolt: new BoltApp({ ...common, receiver }), mode: 'http' };
  }
  // The receiver is built here, not by Bolt, so that apps.connections.open is sent where
  // SLACK_API_URL says (its own copy of the client options, whatever Bolt's defaults), and so
  // that reconnecting is ours: the Socket Mode client's retries reject unhandled (see socket-connection.ts).
  const receiver = new SocketModeReceiver({
    appToken: settings.appToken,
    logger,
    autoReconnectEnabled: false,
    // One attempt per try: SocketConnection waits and tries again, and logs each failure.
    installerOptions: { clientOptions: { ...clientOptions, retryConfig: { retries: 0 } } },
  });
  const socket = new SocketConnection(receiver, { log, ...(socketRetryMs !== undefined ? { retryBaseMs: socketRetryMs } : {}) });
  return { bolt: new BoltApp({ ...common, receiver }), mode: 'socket', socket };
}
