import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startConjurStandIn, type ConjurStandIn } from '../../src/dev/conjur-stand-in.js';
import { buttonClick, sendSlackRequest, slashCommand, type SentRequest } from '../../src/dev/slack-requests.js';
import { startSlackStandIn, type RecordedSlackCall, type SlackStandIn, type StandInUser } from '../../src/dev/slack-stand-in.js';
import { serve, type RunningServer } from '../../src/main.js';
import { repoRoot } from './cli.js';
import { makeTmpDir } from './tmp.js';

// Canaries: if one of these shows up in a chat message, a log line or the audit, a secret leaked.
export const CANARY = {
  conjurApiKey: `apikey-canary-${'q'.repeat(41)}`,
  downloadsToken: 'dl-token-canary-5b8e0c2f7a',
  slackBotToken: 'xoxb-canary-000000000-slack-bot-token',
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
  /** Extra Slack users the stand-in knows (email-localpart tests). */
  extraUsers?: StandInUser[];
  /** How long the slow destination's script sleeps. */
  sleepSeconds?: number;
}

export interface SlackWorld {
  dir: string;
  outDir: string;
  mirrorDir: string;
  conjur: ConjurStandIn;
  slack: SlackStandIn;
  readonly server: RunningServer;
  /** `http://127.0.0.1:<port>/slack/events` */
  readonly eventsUrl: string;
  logLines: string[];
  /** Stops the bot and starts it again on the same data (a new port): what a restart after a crash does. */
  restart(): Promise<void>;
  /** Writes files into the staging directory and records the build through the core (as Jenkins or `release-bot stage` would). */
  stage(project: string, version: string, files: Record<string, string>, buildNumber?: number): Promise<number>;
  /** Sends a signed `/release <text>` as `user`; returns the HTTP answer and the response_url it carried. */
  command(user: UserName, text: string): Promise<SentRequest & { responseUrl: string }>;
  /** Sends a signed button click as `user`. */
  click(user: UserName, actionId: string, value: string): Promise<SentRequest & { responseUrl: string }>;
  /** The first answer posted to a response_url. */
  reply(responseUrl: string, timeoutMs?: number): Promise<RecordedSlackCall>;
  stop(): Promise<void>;
}

/**
 * A running release-bot (`serve()` from src/main.ts) with Slack on, its Web API pointed at the
 * loopback Slack stand-in, Conjur answered by the Conjur stand-in, and two projects:
 * `conjur-cli` (a slow exec destination plus a directory) and `gated` (one approval needed).
 */
export async function startSlackWorld(options: SlackWorldOptions = {}): Promise<SlackWorld> {
  const tmp = makeTmpDir('release-bot-slack-');
  const staging = path.join(tmp.dir, 'staging');
  const outDir = path.join(tmp.dir, 'downloads');
  const mirrorDir = path.join(tmp.dir, 'mirror');
  mkdirSync(staging, { recursive: true });
  const conjur = await startConjurStandIn({
    account: 'acme',
    apiKeys: { 'host/release-bot': CANARY.conjurApiKey },
    groups: {
      'release/conjur-cli': ['group:release/core-team'],
      'release/core-team': ['user:alice', 'user:bob'],
      'release/gated': ['user:alice', 'user:bob'],
      'release/approvers': ['user:bob', 'user:carol'],
    },
    variables: { 'release/downloads/token': { value: CANARY.downloadsToken, readers: ['host:release-bot'] } },
  });
  const slack = await startSlackStandIn({
    token: CANARY.slackBotToken,
    users: [...Object.values(USERS).map((u) => ({ id: u.id, email: u.email, name: u.login })), ...(options.extraUsers ?? [])],
  });
  const identity =
    options.identity === 'email-localpart'
      ? 'identity: { strategy: email-localpart }'
      : `identity: { strategy: map, map: { ${Object.values(USERS).map((u) => `${u.id}: ${u.login}`).join(', ')} } }`;
  writeFileSync(
    path.join(tmp.dir, 'releases.yml'),
    [
      'channel: C0RELEASES',
      `staging_dir: ${staging}`,
      identity,
      'projects:',
      '  conjur-cli:',
      '    authorized_group: release/conjur-cli',
      '    jenkins_job: conjur-cli',
      '    artifact: files',
      '    destinations:',
      '      - name: downloads',
      '        type: exec',
      `        command: ["${path.join(repoRoot, 'test/fixtures/slack/slow-publish.sh')}", "{project}", "{version}", "{dir}"]`,
      `        env: { OUT_DIR: "${outDir}", SLEEP_SECONDS: "${options.sleepSeconds ?? 4}" }`,
      '        credentials: { DOWNLOADS_TOKEN: release/downloads/token }',
      '      - name: mirror',
      '        type: directory',
      `        path: ${mirrorDir}/{project}/{version}`,
      '  gated:',
      '    authorized_group: release/gated',
      '    jenkins_job: gated',
      '    artifact: files',
      '    channel: C0GATED',
      '    approvals: 1',
      '    approver_group: release/approvers',
      '    destinations:',
      '      - name: mirror',
      '        type: directory',
      `        path: ${mirrorDir}/{project}/{version}`,
      '',
    ].join('\n'),
  );
  const logLines: string[] = [];
  const env: NodeJS.ProcessEnv = {
    CONJUR_APPLIANCE_URL: conjur.url,
    CONJUR_ACCOUNT: 'acme',
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: CANARY.conjurApiKey,
    RELEASE_BOT_CONFIG: path.join(tmp.dir, 'releases.yml'),
    RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'debug',
    SLACK_SIGNING_SECRET: CANARY.signingSecret,
    SLACK_BOT_TOKEN: CANARY.slackBotToken,
    SLACK_API_URL: slack.apiUrl,
  };
  const start = () =>
    serve({
      env,
      logDestination: new Writable({
        write(chunk, _enc, cb) {
          logLines.push(String(chunk));
          cb();
        },
      }),
      retryBaseMs: 5,
    });
  const urlOf = (s: RunningServer) => `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/slack/events`;
  let server = await start();
  let build = 100;

  const world: SlackWorld = {
    dir: tmp.dir,
    outDir,
    mirrorDir,
    conjur,
    slack,
    get server() {
      return server;
    },
    get eventsUrl() {
      return urlOf(server);
    },
    logLines,
    async restart() {
      await server.stop();
      server = await start();
    },
    async stage(project, version, files, buildNumber = ++build) {
      const dir = path.join(staging, project, version);
      mkdirSync(dir, { recursive: true });
      for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
      const result = await server.app.core.stage({
        project,
        version,
        build: { job: project, number: buildNumber, url: `https://jenkins.example/job/${project}/${buildNumber}/`, commit: '9fceb02d0ae598e95dc970b74767f19372d61af8' },
        reportedBy: `jenkins:${project}`,
        actor: { via: `jenkins:${project}` },
      });
      return result.staged.id;
    },
    async command(user, text) {
      const responseUrl = slack.responseUrl();
      const u = USERS[user];
      const sent = await sendSlackRequest(world.eventsUrl, slashCommand({ text, user_id: u.id, user_name: u.login, response_url: responseUrl }), { signingSecret: CANARY.signingSecret });
      return { ...sent, responseUrl };
    },
    async click(user, actionId, value) {
      const responseUrl = slack.responseUrl();
      const sent = await sendSlackRequest(world.eventsUrl, buttonClick({ actionId, value, userId: USERS[user].id, userName: USERS[user].login, responseUrl }), { signingSecret: CANARY.signingSecret });
      return { ...sent, responseUrl };
    },
    reply(responseUrl, timeoutMs = 15_000) {
      const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
      return slack.waitFor((c) => c.method === 'response_url' && c.responseId === id, timeoutMs);
    },
    async stop() {
      await server.stop();
      await slack.close();
      await conjur.close();
      tmp.cleanup();
    },
  };
  return world;
}

/** All text of a recorded call's body, for "contains" assertions. */
export function bodyText(call: RecordedSlackCall): string {
  return JSON.stringify(call.body);
}
