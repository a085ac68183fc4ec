/**
 * `npm run dev`: release-bot on loopback, to try by hand, up until Ctrl-C.
 *
 * Starts the DEVELOPMENT STAND-INS for Conjur and the Slack Web API, a real npm registry (Verdaccio) as
 * the destination, and the real `release-bot serve` (a child process, RELEASE_BOT_MODE=demo) on a
 * configuration generated in a temp dir; puts hello-cli 1.0.0 in the staging directory as a Jenkinsfile's
 * scp would; prints the commands that report that build and ask for its release, then every message the
 * bot sends to Slack as it comes. Ctrl-C (SIGINT, SIGTERM, SIGHUP) stops serve, the registry and the
 * stand-ins and removes the temp dir; serve and the registry also die with this process on SIGKILL.
 *
 *   node dist-dev/dev.js                          start                           (npm run dev)
 *   node dist-dev/dev.js slash <user> "<text>"    a signed /release <text> as <user>  (npm run dev -- slash ...)
 *
 * The two meet through a state file (0600): $RELEASE_BOT_DEV_STATE, default <tmpdir>/release-bot-dev-<uid>.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT, startDevWorld, VERSION } from './dev-world.js';
import { releaseBotBin } from './serve-process.js';
import { sendSlackRequest, slashCommand } from './slack-requests.js';
import type { RecordedSlackCall, SlackStandIn } from './slack-stand-in.js';
const CHANNEL = 'C0DEVRELEASES';
const USERS: Record<string, { id: string; login: string }> = {
  alice: { id: 'U0DEVALICE', login: 'alice' },
  mallory: { id: 'U0DEVMALLORY', login: 'mallory' },
};

/** What `slash` needs of the running `npm run dev`. */
interface DevState {
  pid: number;
  eventsUrl: string;
  slackUrl: string;
  signingSecret: string;
  channel: string;
  users: typeof USERS;
}

const say = (line = '') => process.stdout.write(`${line}\n`);
const stateFile = () => process.env.RELEASE_BOT_DEV_STATE ?? path.join(tmpdir(), `release-bot-dev-${process.getuid?.() ?? 'user'}.json`);
/** A word for a POSIX shell, quoted only when it needs to be. */
const sh = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

function readState(): DevState {
  const file = stateFile();
  let state: DevState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as DevState;
  } catch {
    throw new Error(`npm run dev is not running (no ${file}): start it in another terminal first`);
  }
  try {
    process.kill(state.pid, 0);
  } catch {
    throw new Error(`npm run dev is not running (process ${state.pid} of ${file} is gone): start it again`);
  }
  return state;
}

/** `slash <user> "<text>"`: the signed form post Slack makes for `/release <text>` typed by <user>. */
async function slash(args: string[]): Promise<number> {
  const [user, commandText] = args;
  if (args.length !== 2 || user === undefined || commandText === undefined) {
    process.stderr.write('usage: npm run dev -- slash <user> "<project> <version>"   (users: alice, mallory)\n');
    return 64;
  }
  const state = readState();
  const who = state.users[user];
  if (!who) throw new Error(`no user ${user} in npm run dev: one of ${Object.keys(state.users).join(', ')}`);
  const responseUrl = `${state.slackUrl}/response/${randomBytes(6).toString('hex')}`;
  const body = slashCommand({
    text: commandText,
    user_id: who.id,
    user_name: who.login,
    channel_id: state.channel,
    response_url: responseUrl,
  });
  const sent = await sendSlackRequest(state.eventsUrl, body, { signingSecret: state.signingSecret });
  let ack = sent.body;
  try {
    ack = String((JSON.parse(sent.body) as { text?: string }).text ?? '');
  } catch {
    // not JSON: shown as it came
  }
  say(`/release ${commandText} as ${user} (${who.id}): HTTP ${sent.status} in ${sent.elapsedMs.toFixed(0)} ms: ${ack}`);
  say('what follows (replies, the channel) shows in the npm run dev window');
  return sent.status === 200 ? 0 : 1;
}

/** One line (and its continuation lines) per message the bot sent Slack. */
function describe(call: RecordedSlackCall, userNames: Map<string, string>): string | undefined {
  const text = String(call.body.text ?? '');
  const where = (label: string) => `[${label}] ${text.split('\n').join('\n    ')}`;
  switch (call.method) {
    case 'chat.postMessage':
      return where(call.body.thread_ts ? `#${String(call.body.channel)} thread` : `#${String(call.body.channel)}`);
    case 'chat.update':
      return where(`#${String(call.body.channel)} updated`);
    case 'chat.postEphemeral':
      return where(`only ${userNames.get(String(call.body.user)) ?? String(call.body.user)} sees`);
    case 'response_url':
      return where('only the requester sees');
    default:
      return undefined;
  }
}

/** Prints every new Slack call as it is recorded, until the returned function is called. */
function follow(slack: SlackStandIn): () => void {
  const names = new Map(Object.entries(USERS).map(([name, u]) => [u.id, name]));
  let seen = 0;
  const timer = setInterval(() => {
    while (seen < slack.calls.length) {
      const call = slack.calls[seen++];
      const line = call && describe(call, names);
      if (line) say(`  slack ${line}`);
    }
  }, 200);
  return () => clearInterval(timer);
}

async function up(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'release-bot-dev-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
      say('npm run dev: stopped, temp dir removed');
      process.exit(code);
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
  try {
    const serveLog = path.join(work, 'serve.log');
    const world = await startDevWorld(
      {
        name: 'dev',
        work,
        channel: CHANNEL,
        users: USERS,
        serveLog,
        packageBody: "module.exports = () => 'hello from release-bot dev';\n",
      },
      cleanups,
    );
    const { registry, conjur, slack, bot, staging, config, signingSecret, jwtSecret, stagedFile } = world;
    const envFile = path.join(work, 'bot.env');
    writeFileSync(
      envFile,
      Object.entries(world.botEnv)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
      { mode: 0o600 },
    );

    const file = stateFile();
    const state: DevState = {
      pid: process.pid,
      eventsUrl: `${bot.url}/slack/events`,
      slackUrl: slack.url,
      signingSecret,
      channel: CHANNEL,
      users: USERS,
    };
    writeFileSync(file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    cleanups.push(() => {
      // Another npm run dev may have started since; its state file is its own.
      const now = (() => {
        try {
          return (JSON.parse(readFileSync(file, 'utf8')) as DevState).pid;
        } catch {
          return undefined;
        }
      })();
      if (now === process.pid) rmSync(file, { force: true });
    });

    const commit = createHash('sha1').update(`${PROJECT} ${VERSION} dev`).digest('hex');
    const notify = [
      `JENKINS_JWT_SECRET=${jwtSecret}`,
      `JOB_NAME=${PROJECT}`,
      'RELEASE_BOT_MODE=demo',
      'node',
      releaseBotBin,
      'notify',
      ...['--url', bot.url, '--project', PROJECT, '--version', VERSION, '--build-number', '1'],
      ...['--build-url', `https://jenkins.example/job/${PROJECT}/1/`, '--commit', commit, stagedFile],
    ];
    say('release-bot dev: everything runs on 127.0.0.1; Conjur and Slack are development stand-ins. Ctrl-C stops it all.');
    say(`  serve         ${bot.url} (RELEASE_BOT_MODE=demo; its log: ${serveLog})`);
    say(`  Conjur        ${conjur.url} (account dev): alice is in release/${PROJECT} through release/hello-team, mallory in no group`);
    say(`  Slack         ${slack.apiUrl} (channel ${CHANNEL}; what the bot sends is printed below)`);
    say(`  npm registry  ${registry.url}/ (the bot's token for it: Conjur variable release/npm/token)`);
    say(`  config        ${config}, staging ${staging}, environment ${envFile}`);
    say('');
    say(`Report the staged build as Jenkins does (${PROJECT} ${VERSION} is in the staging directory already):`);
    say(`  $ ${notify.map(sh).join(' ')}`);
    say('Ask for its release as alice (may) or mallory (may not):');
    say(`  $ npm run dev -- slash alice ${sh(`${PROJECT} ${VERSION}`)}`);
    say('Any other command against the same bot (status, audit verify, audit trace, publish --dry-run ...):');
    say(`  $ env $(cat ${sh(envFile)}) node ${sh(releaseBotBin)} status ${PROJECT}`);
    say('');
    cleanups.push(follow(slack));
  } catch (err) {
    process.stderr.write(`npm run dev FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
}

const [command, ...rest] = process.argv.slice(2);
if (command === undefined) {
  await up();
} else if (command === 'slash') {
  await slash(rest).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`npm run dev -- slash: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  process.stderr.write(`unknown command ${command}: npm run dev (start), npm run dev -- slash <user> "<project> <version>"\n`);
  process.exit(64);
}
