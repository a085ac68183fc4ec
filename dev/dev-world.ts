/**
 * DEVELOPMENT world of `npm run demo` and `npm run dev`: the Conjur and Slack stand-ins, a real npm
 * registry (Verdaccio), `release-bot serve` (RELEASE_BOT_MODE=demo) on a generated configuration, and
 * hello-cli packed and put in the staging directory as a Jenkinsfile's scp would. The one builder of both.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn } from './conjur-stand-in.js';
import { freePort } from './free-port.js';
import { npmPack } from './npm-pack.js';
import { startSlackStandIn, type SlackStandIn } from './slack-stand-in.js';
import { startServe, stopServe } from './serve-process.js';
import { startVerdaccio, type Verdaccio } from './verdaccio.js';

export const PROJECT = 'hello-cli';
export const VERSION = '1.0.0';

export interface DevWorldOptions {
  /** `demo` or `dev`: the Conjur account and the prefix of the bot token. */
  name: string;
  /** The temp dir everything lives in. */
  work: string;
  channel: string;
  /** Slack users and their Conjur logins: `alice` is in release/hello-cli through release/hello-team, the others in no group. */
  users: Record<string, { id: string; login: string }>;
  /** Where serve's JSON log goes. */
  serveLog: string;
  /** The staged package's index.js. */
  packageBody: string;
}

export interface DevWorld {
  registry: Verdaccio;
  /** The bot's token for the registry (Conjur variable release/npm/token). */
  npmToken: string;
  conjur: ConjurStandIn;
  slack: SlackStandIn;
  staging: string;
  /** The projects file. */
  config: string;
  signingSecret: string;
  jwtSecret: string;
  /** The environment serve runs with (and any other release-bot command against it), without PATH and HOME. */
  botEnv: Record<string, string>;
  bot: { url: string };
  /** The packed hello-cli (its integrity is what the registry must end up holding). */
  packed: { file: string; integrity: string };
  /** Its copy in the staging directory. */
  stagedFile: string;
}

/** Starts the world; every server it starts is stopped by a function pushed onto `cleanups` (run them in reverse). */
export async function startDevWorld(o: DevWorldOptions, cleanups: (() => Promise<void> | void)[]): Promise<DevWorld> {
  const registry = await startVerdaccio(path.join(o.work, 'registry'));
  cleanups.push(() => registry.stop());
  const npmToken = await registry.addUser('release-bot', randomBytes(18).toString('base64url'));
  const apiKey = randomBytes(27).toString('hex');
  const conjur = await startConjurStandIn({
    account: o.name,
    apiKeys: { 'host/release-bot': apiKey },
    // alice is in the release group through a nested team group; the others are in no group.
    groups: { [`release/${PROJECT}`]: ['group:release/hello-team'], 'release/hello-team': ['user:alice'] },
    // The group's membership sentinel, as deploy/conjur/policy.yml declares it: how the bot asks who is in it.
    webservices: membershipSentinels([`release/${PROJECT}`]),
    variables: { 'release/npm/token': { value: npmToken, readers: ['host:release-bot'] } },
  });
  cleanups.push(() => conjur.close());
  const botToken = `xoxb-${o.name}-${randomBytes(12).toString('hex')}`;
  const slack = await startSlackStandIn({ token: botToken, users: Object.values(o.users).map((u) => ({ id: u.id, name: u.login })) });
  cleanups.push(() => slack.close());

  const staging = path.join(o.work, 'staging');
  mkdirSync(staging, { recursive: true });
  const config = path.join(o.work, 'releases.yml');
  writeFileSync(config, projectsFile(o, staging, registry.url));
  const signingSecret = randomBytes(16).toString('hex');
  const jwtSecret = randomBytes(32).toString('base64url');
  const botEnv: Record<string, string> = {
    RELEASE_BOT_MODE: 'demo',
    CONJUR_APPLIANCE_URL: conjur.url,
    CONJUR_ACCOUNT: o.name,
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: apiKey,
    RELEASE_BOT_CONFIG: config,
    RELEASE_BOT_DATA_DIR: path.join(o.work, 'data'),
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_BOT_TOKEN: botToken,
    SLACK_API_URL: slack.apiUrl,
    JENKINS_JWT_SECRET: jwtSecret,
  };
  const bot = await startServe({ PATH: process.env.PATH ?? '', HOME: o.work, ...botEnv }, o.work, o.serveLog);
  cleanups.push(() => stopServe(bot.child));

  const packed = await npmPack(path.join(o.work, 'jenkins-workspace'), { name: PROJECT, version: VERSION, body: o.packageBody });
  const stagedDir = path.join(staging, PROJECT, VERSION);
  mkdirSync(stagedDir, { recursive: true });
  const stagedFile = path.join(stagedDir, path.basename(packed.file));
  copyFileSync(packed.file, stagedFile); // what the Jenkinsfile's scp does
  return {
    registry,
    npmToken,
    conjur,
    slack,
    staging,
    config,
    signingSecret,
    jwtSecret,
    botEnv,
    bot: { url: bot.url },
    packed,
    stagedFile,
  };
}

function projectsFile(o: DevWorldOptions, staging: string, registryUrl: string): string {
  return [
    `channel: ${o.channel}`,
    `staging_dir: ${staging}`,
    `identity: { strategy: map, map: { ${Object.values(o.users)
      .map((u) => `${u.id}: ${u.login}`)
      .join(', ')} } }`,
    'projects:',
    `  ${PROJECT}:`,
    `    authorized_group: release/${PROJECT}`,
    `    jenkins_job: ${PROJECT}`,
    '    artifact: files',
    '    destinations:',
    '      - name: npm',
    '        type: npm',
    `        registry: ${registryUrl}/`,
    '        credentials: { NPM_TOKEN: release/npm/token }',
    '',
  ].join('\n');
}
