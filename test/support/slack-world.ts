import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startSlackFrontEnd, type MountSlackOptions, type SlackHandle } from '../../handlers/slack/mount.js';
import {
  membershipSentinels,
  startConjurStandIn,
  type ConjurStandIn,
  type ConjurStandInOptions,
  type RoleRef,
} from '../../dev/conjur-stand-in.js';
import {
  buttonClick,
  sendSlackRequest,
  slashCommand,
  slashCommandFields,
  type ButtonClickFields,
  type SentRequest,
  type SlashCommandFields,
} from '../../dev/slack-requests.js';
import {
  startSlackStandIn,
  type RecordedSlackCall,
  type SlackStandIn,
  type SocketModeAck,
  type StandInUser,
} from '../../dev/slack-stand-in.js';
import { createAppWiring, type CreateAppOptions } from '../../app/create.js';
import { serve, type RunningServer } from '../../app/serve.js';
import { createHttpApp, listen } from '../../src/server.js';
import { repoRoot, runCli, type CliResult } from './cli.js';
import { freePort } from './ports.js';
import { project, type DestinationSpec, type ProjectSpec, type ProjectsFileSpec } from './projects-file.js';
import { makeWorld } from './world.js';

// Canaries: if one of these shows up in a chat message, a log line or the audit, a secret leaked.
export const CANARY = {
  conjurApiKey: `apikey-canary-${'q'.repeat(41)}`,
  downloadsToken: 'dl-token-canary-5b8e0c2f7a',
  slackBotToken: 'xoxb-canary-000000000-slack-bot-token',
  slackAppToken: 'xapp-1-canary-A0RELEASEBOT-000000000-app-level-token',
  signingSecret: 'signing-secret-canary-8d1f4e6a9c2b',
};

/** Slack users of the test workspace and their Conjur logins (identity map / email). */
export const USERS = {
  alice: { id: 'U0ALICE', login: 'alice', email: 'alice@example.com' },
  bob: { id: 'U0BOB', login: 'bob', email: 'Bob@Example.com' },
  carol: { id: 'U0CAROL', login: 'carol', email: 'carol@example.com' },
  mallory: { id: 'U0MALLORY', login: 'mallory', email: 'mallory@example.com' },
} as const;
export type UserName = keyof typeof USERS;

export interface SlackWorldOptions {
  identity?: 'map' | 'email-localpart';
  /** More keys of the projects file's identity section (`{ allow_guests: true }`); email-localpart gets `email_domains: [example.com]` unless given. */
  identityKeys?: Partial<ProjectsFileSpec['identity']>;
  /** The projects file's audit_group. */
  auditGroup?: string;
  /** Enterprise Grid: the stand-in workspace's organisation (auth.test answers it). */
  enterpriseId?: string;
  /** auth.test answers `{ ok: false, error }` from the start (until `slack.failMethod('auth.test', undefined)`). */
  authTestFails?: string;
  /** Extra Slack users the stand-in knows (email-localpart tests). */
  extraUsers?: StandInUser[];
  /** How long the slow destination's script sleeps. */
  sleepSeconds?: number;
  /** Socket Mode (SLACK_APP_TOKEN, no signing secret) instead of signed HTTP requests. */
  socketMode?: boolean;
  /** Start the bot while nothing answers at SLACK_API_URL; `startSlack()` brings the stand-in up on that address later. */
  slackStartsLate?: boolean;
  /**
   * Mount the Slack front end with these options (an injected clock, short timers) on a server built
   * as `serve()` builds it, instead of through `serve()` itself, which takes no Slack options.
   */
  mount?: MountSlackOptions;
  /** More projects, typed (see projects-file.ts). */
  extraProjects?: Record<string, ProjectSpec>;
  /** More Conjur variables the bot may read (for the extra projects' credentials). */
  variables?: Record<string, { value?: string; readers: RoleRef[] }>;
  /** The downloads destination's script (default test/fixtures/slack/slow-publish.sh). */
  publishScript?: string;
  /** The value of its credential in Conjur (default CANARY.downloadsToken). */
  downloadsToken?: string;
  /** More of the Conjur organisation: groups (merged over the default ones), owners, layers, visibility, webservices (replacing the default membership sentinels). */
  conjur?: Pick<ConjurStandInOptions, 'groups' | 'layers' | 'owners' | 'visibility' | 'webservices'>;
}

export interface SlackWorld {
  dir: string;
  outDir: string;
  mirrorDir: string;
  conjur: ConjurStandIn;
  readonly slack: SlackStandIn;
  /** The environment the bot runs with (give it to `runCli` for a CLI process on the same database). */
  env: NodeJS.ProcessEnv;
  readonly server: RunningServer;
  /** With `mount`: the Slack front end's handle. */
  readonly slackHandle: SlackHandle | undefined;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>/slack/events` */
  readonly eventsUrl: string;
  logLines: string[];
  /** Stops the bot and starts it again on the same data (a new port): what a restart after a crash does. */
  restart(): Promise<void>;
  /** Writes files into the staging directory and records the build through the core (as Jenkins or `release-bot stage` would). */
  stage(project: string, version: string, files: Record<string, string>, buildNumber?: number): Promise<number>;
  /** Only writes files into the staging directory (for `release-bot stage` in another process). */
  stageFiles(project: string, version: string, files: Record<string, string>): void;
  /** Runs the built CLI as a separate process on the bot's database. */
  cli(...args: string[]): Promise<CliResult>;
  /** With `slackStartsLate`: starts the Slack stand-in where the bot already looks for it. */
  startSlack(): Promise<SlackStandIn>;
  /** Socket Mode: delivers `/release <text>` from `user` as an envelope; resolves with the app's ack. */
  socketCommand(user: UserName, text: string): Promise<{ ack: SocketModeAck; responseUrl: string }>;
  /** Sends a signed `/release <text>` as `user`; returns the HTTP answer and the response_url it carried. */
  command(user: UserName, text: string): Promise<SentRequest & { responseUrl: string }>;
  /** Sends a signed button click as `user`. */
  click(user: UserName, actionId: string, value: string): Promise<SentRequest & { responseUrl: string }>;
  /** Sends a signed `/release <text>` from any Slack user id, any slash-command field overridden. */
  commandFrom(fields: Partial<SlashCommandFields> & { user_id: string }, text: string): Promise<SentRequest & { responseUrl: string }>;
  /** Sends a signed button click from any Slack user id, with the payload's workspace fields overridden. */
  clickFrom(
    fields: Omit<ButtonClickFields, 'actionId' | 'value' | 'responseUrl'>,
    actionId: string,
    value: string,
  ): Promise<SentRequest & { responseUrl: string }>;
  /** The first answer posted to a response_url. */
  reply(responseUrl: string, timeoutMs?: number): Promise<RecordedSlackCall>;
  stop(): Promise<void>;
}

/**
 * A running release-bot (`serve()` from app/serve.ts) with Slack on, its Web API pointed at the
 * loopback Slack stand-in, Conjur answered by the Conjur stand-in, and two projects:
 * `conjur-cli` (a slow exec destination plus a directory) and `gated` (one approval needed).
 */
export async function startSlackWorld(options: SlackWorldOptions = {}): Promise<SlackWorld> {
  const base = makeWorld({ prefix: 'release-bot-slack-' });
  const outDir = path.join(base.dir, 'downloads');
  const mirrorDir = path.join(base.dir, 'mirror');
  const groups: Record<string, RoleRef[]> = {
    'release/conjur-cli': ['group:release/core-team'],
    'release/core-team': ['user:alice', 'user:bob'],
    'release/gated': ['user:alice', 'user:bob'],
    'release/approvers': ['user:bob', 'user:carol'],
  };
  const conjur = await startConjurStandIn({
    account: 'acme',
    apiKeys: { 'host/release-bot': CANARY.conjurApiKey },
    // Each group's membership sentinel, as deploy/conjur/policy.yml declares it.
    webservices: membershipSentinels([...Object.keys(groups), ...Object.keys(options.conjur?.groups ?? {})]),
    ...options.conjur,
    groups: { ...groups, ...options.conjur?.groups },
    variables: {
      'release/downloads/token': { value: options.downloadsToken ?? CANARY.downloadsToken, readers: ['host:release-bot'] },
      ...options.variables,
    },
  });
  const slackPort = options.slackStartsLate ? await freePort() : 0;
  const startStandIn = () =>
    startSlackStandIn({
      token: CANARY.slackBotToken,
      appToken: CANARY.slackAppToken,
      port: slackPort,
      ...(options.enterpriseId ? { enterpriseId: options.enterpriseId } : {}),
      users: [...Object.values(USERS).map((u) => ({ id: u.id, email: u.email, name: u.login })), ...(options.extraUsers ?? [])],
    });
  let slack: SlackStandIn | undefined = options.slackStartsLate ? undefined : await startStandIn();
  if (options.authTestFails) slack?.failMethod('auth.test', options.authTestFails);
  const slackApiUrl = slack ? slack.apiUrl : `http://127.0.0.1:${slackPort}/api/`;
  const identity: ProjectsFileSpec['identity'] =
    options.identity === 'email-localpart'
      ? { strategy: 'email-localpart', email_domains: ['example.com'], ...options.identityKeys }
      : { strategy: 'map', map: Object.fromEntries(Object.values(USERS).map((u) => [u.id, u.login])), ...options.identityKeys };
  const mirror: DestinationSpec = { name: 'mirror', type: 'directory', path: `${mirrorDir}/{project}/{version}` };
  const downloads: DestinationSpec = {
    name: 'downloads',
    type: 'exec',
    command: [options.publishScript ?? path.join(repoRoot, 'test/fixtures/slack/slow-publish.sh'), '{project}', '{version}', '{dir}'],
    env: { OUT_DIR: outDir, SLEEP_SECONDS: String(options.sleepSeconds ?? 4) },
    credentials: { DOWNLOADS_TOKEN: 'release/downloads/token' },
  };
  const extra = options.extraProjects ?? {};
  base.writeProjects({
    identity,
    ...(options.auditGroup ? { audit_group: options.auditGroup } : {}),
    projects: {
      'conjur-cli': project('conjur-cli', [downloads, mirror]),
      gated: project('gated', [mirror], { channel: 'C0GATED', approvals: 1, approver_group: 'release/approvers' }),
      ...extra,
    },
  });
  const logLines: string[] = [];
  const env: NodeJS.ProcessEnv = {
    ...base.env(
      { url: conjur.url, apiKey: CANARY.conjurApiKey },
      {
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'debug',
        ...(options.socketMode ? { SLACK_APP_TOKEN: CANARY.slackAppToken } : { SLACK_SIGNING_SECRET: CANARY.signingSecret }),
        SLACK_BOT_TOKEN: CANARY.slackBotToken,
        SLACK_API_URL: slackApiUrl,
      },
    ),
  };
  const appOptions: CreateAppOptions = {
    env,
    logDestination: new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }),
    retryBaseMs: 5,
  };
  let slackHandle: SlackHandle | undefined;
  const start = async (): Promise<RunningServer> => {
    if (!options.mount) return serve(appOptions);
    const mounted = await serveWithSlackOptions(appOptions, options.mount);
    slackHandle = mounted.slack;
    return mounted.running;
  };
  const urlOf = (s: RunningServer) => `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  const stopServer = async () => {
    await server.stop();
    // serve() closes the database; the Slack front end notices and closes its Socket Mode connection.
    if (options.socketMode && slack) await slack.socketMode.waitForNoConnection(10_000);
  };
  let server = await start();
  let build = 100;
  const standIn = () => {
    if (!slack) throw new Error('the Slack stand-in is not started yet: call startSlack()');
    return slack;
  };

  const world: SlackWorld = {
    dir: base.dir,
    outDir,
    mirrorDir,
    conjur,
    get slack() {
      return standIn();
    },
    env,
    get server() {
      return server;
    },
    get slackHandle() {
      return slackHandle;
    },
    get baseUrl() {
      return urlOf(server);
    },
    get eventsUrl() {
      return `${urlOf(server)}/slack/events`;
    },
    logLines,
    async restart() {
      await stopServer();
      server = await start();
    },
    stageFiles(name, version, files) {
      base.stageFiles(name, version, files);
    },
    // Its own directory as working directory: a `.env` lying in the repository must not be read.
    cli: (...args) => runCli(args, env, base.dir),
    async startSlack() {
      slack ??= await startStandIn();
      return slack;
    },
    async socketCommand(user, text) {
      const responseUrl = standIn().responseUrl();
      const u = USERS[user];
      const ack = await standIn().socketMode.send('slash_commands', {
        ...slashCommandFields({ text, user_id: u.id, user_name: u.login, response_url: responseUrl }),
      });
      return { ack, responseUrl };
    },
    async stage(project, version, files, buildNumber = ++build) {
      world.stageFiles(project, version, files);
      const result = await server.app.core.stage({
        project,
        version,
        build: {
          job: project,
          number: buildNumber,
          url: `https://jenkins.example/job/${project}/${buildNumber}/`,
          commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
        },
        reportedBy: `jenkins:${project}`,
        actor: { via: `jenkins:${project}` },
      });
      return result.staged.id;
    },
    command: (user, text) => world.commandFrom({ user_id: USERS[user].id, user_name: USERS[user].login }, text),
    click: (user, actionId, value) => world.clickFrom({ userId: USERS[user].id, userName: USERS[user].login }, actionId, value),
    async commandFrom(fields, text) {
      const responseUrl = standIn().responseUrl();
      const sent = await sendSlackRequest(world.eventsUrl, slashCommand({ ...fields, text, response_url: responseUrl }), {
        signingSecret: CANARY.signingSecret,
      });
      return { ...sent, responseUrl };
    },
    async clickFrom(fields, actionId, value) {
      const responseUrl = standIn().responseUrl();
      const sent = await sendSlackRequest(world.eventsUrl, buttonClick({ ...fields, actionId, value, responseUrl }), {
        signingSecret: CANARY.signingSecret,
      });
      return { ...sent, responseUrl };
    },
    reply(responseUrl, timeoutMs = 15_000) {
      const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
      return standIn().waitFor((c) => c.method === 'response_url' && c.responseId === id, timeoutMs);
    },
    async stop() {
      await stopServer();
      await slack?.close();
      await conjur.close();
      base.cleanup();
    },
  };
  return world;
}

/**
 * What `serve()` does, with options for the Slack front end: marks interrupted releases, mounts
 * Slack on the HTTP server, listens; stopping stops Slack, closes the server and the database.
 */
async function serveWithSlackOptions(
  appOptions: CreateAppOptions,
  mount: MountSlackOptions,
): Promise<{ running: RunningServer; slack: SlackHandle | undefined }> {
  const { app } = createAppWiring(appOptions);
  app.core.recoverInterrupted();
  const http = createHttpApp(app.core);
  let slack: SlackHandle | undefined;
  let server: Server;
  try {
    slack = await startSlackFrontEnd(http, app, mount);
    server = await listen(http, app.config.env.HOST, app.config.env.PORT, app.log);
  } catch (err) {
    await slack?.stop();
    app.close();
    throw err;
  }
  const stop = async () => {
    await app.core.drain();
    await slack?.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    app.close();
  };
  return { running: { app, server, stop }, slack };
}

/** All text of a recorded call's body, for "contains" assertions. */
export function bodyText(call: RecordedSlackCall): string {
  return JSON.stringify(call.body);
}
