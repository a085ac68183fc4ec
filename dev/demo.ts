/**
 * `npm run demo`: the whole release flow on loopback, with no accounts anywhere.
 *
 * Starts the DEVELOPMENT STAND-INS for Conjur and the Slack Web API, a real npm registry (Verdaccio)
 * as the destination, and the real `release-bot serve` (a child process, RELEASE_BOT_MODE=demo) on a
 * generated configuration. Then it stages a package as Jenkins would (`release-bot notify`: a signed
 * webhook), asks for the release with signed `/release` commands as an unauthorized and an authorized
 * user, prints what the release channel shows and `release-bot audit verify`, and saves the Block Kit
 * messages as JSON. Exit 0 only if the package really is in the registry with the staged bytes.
 *
 *   node dist-dev/demo.js [--output DIR]    (default DIR: ./demo-output)
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { membershipSentinels, startConjurStandIn } from './conjur-stand-in.js';
import { freePort } from './free-port.js';
import { npmPack } from './npm-pack.js';
import { sendSlackRequest, slashCommand } from './slack-requests.js';
import { startSlackStandIn, type RecordedSlackCall, type SlackStandIn } from './slack-stand-in.js';
import { startVerdaccio } from './verdaccio.js';
import { channelTranscript, saveBlockKit } from './demo-transcript.js';
import { cli, startServe, stopServe } from './serve-process.js';

const PROJECT = 'hello-cli';
const VERSION = '1.0.0';
const BUILD = 42;
const COMMIT = createHash('sha1').update('hello-cli 1.0.0 demo commit').digest('hex');
const CHANNEL = 'C0DEMORELEASES';
const USERS = {
  alice: { id: 'U0DEMOALICE', login: 'alice' },
  mallory: { id: 'U0DEMOMALLORY', login: 'mallory' },
};

const say = (line = '') => process.stdout.write(`${line}\n`);
const step = (n: number, what: string) => say(`\n== ${n}. ${what}`);
const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

async function slash(
  slack: SlackStandIn,
  eventsUrl: string,
  signingSecret: string,
  user: keyof typeof USERS,
  commandText: string,
): Promise<RecordedSlackCall> {
  const responseUrl = slack.responseUrl();
  const u = USERS[user];
  say(`   ${u.login} (${u.id}) types: /release ${commandText}`);
  const sent = await sendSlackRequest(
    eventsUrl,
    slashCommand({ text: commandText, user_id: u.id, user_name: u.login, channel_id: CHANNEL, response_url: responseUrl }),
    { signingSecret },
  );
  say(
    `   Slack got its answer in ${sent.elapsedMs.toFixed(0)} ms (HTTP ${sent.status}): ${String((JSON.parse(sent.body) as { text?: string }).text ?? '')}`,
  );
  const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
  return slack.waitFor((c) => c.method === 'response_url' && c.responseId === id, 120_000);
}

async function main(): Promise<number> {
  const outArg = process.argv.indexOf('--output');
  const outDir = path.resolve(outArg > 0 ? (process.argv[outArg + 1] ?? 'demo-output') : 'demo-output');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir(), 'release-bot-demo-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  try {
    say('release-bot demo: everything below runs on 127.0.0.1; the Conjur and Slack servers are development stand-ins.');

    step(1, 'start a Conjur stand-in, a Slack Web API stand-in and a real npm registry (Verdaccio)');
    const registry = await startVerdaccio(path.join(work, 'registry'));
    cleanups.push(() => registry.stop());
    const npmToken = await registry.addUser('release-bot', randomBytes(18).toString('base64url'));
    const apiKey = randomBytes(27).toString('hex');
    const conjur = await startConjurStandIn({
      account: 'demo',
      apiKeys: { 'host/release-bot': apiKey },
      // alice is in the release group through a nested team group; mallory is in no group.
      groups: { 'release/hello-cli': ['group:release/hello-team'], 'release/hello-team': ['user:alice'] },
      // The group's membership sentinel, as deploy/conjur/policy.yml declares it: how the bot asks who is in it.
      webservices: membershipSentinels(['release/hello-cli']),
      variables: { 'release/npm/token': { value: npmToken, readers: ['host:release-bot'] } },
    });
    cleanups.push(() => conjur.close());
    const botToken = `xoxb-demo-${randomBytes(12).toString('hex')}`;
    const slack = await startSlackStandIn({ token: botToken, users: Object.values(USERS).map((u) => ({ id: u.id, name: u.login })) });
    cleanups.push(() => slack.close());
    say(`   Conjur stand-in ${conjur.url} (account demo): group release/hello-cli <- group release/hello-team <- user alice`);
    say(`   Slack stand-in  ${slack.apiUrl}`);
    say(`   npm registry    ${registry.url}/ (the bot's token for it is the Conjur variable release/npm/token)`);

    step(2, 'start release-bot serve on a generated configuration (RELEASE_BOT_MODE=demo)');
    const staging = path.join(work, 'staging');
    mkdirSync(staging, { recursive: true });
    const config = path.join(work, 'releases.yml');
    writeFileSync(
      config,
      [
        `channel: ${CHANNEL}`,
        `staging_dir: ${staging}`,
        `identity: { strategy: map, map: { ${USERS.alice.id}: alice, ${USERS.mallory.id}: mallory } }`,
        'projects:',
        `  ${PROJECT}:`,
        `    authorized_group: release/${PROJECT}`,
        `    jenkins_job: ${PROJECT}`,
        '    artifact: files',
        '    destinations:',
        '      - name: npm',
        '        type: npm',
        `        registry: ${registry.url}/`,
        '        credentials: { NPM_TOKEN: release/npm/token }',
        '',
      ].join('\n'),
    );
    const signingSecret = randomBytes(16).toString('hex');
    const jwtSecret = randomBytes(32).toString('base64url');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      RELEASE_BOT_MODE: 'demo',
      CONJUR_APPLIANCE_URL: conjur.url,
      CONJUR_ACCOUNT: 'demo',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: apiKey,
      RELEASE_BOT_CONFIG: config,
      RELEASE_BOT_DATA_DIR: path.join(work, 'data'),
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: botToken,
      SLACK_API_URL: slack.apiUrl,
      JENKINS_JWT_SECRET: jwtSecret,
    };
    copyFileSync(config, path.join(outDir, 'releases.yml'));
    const serveLog = path.join(outDir, 'serve.log');
    const bot = await startServe(env, work, serveLog);
    cleanups.push(() => stopServe(bot.child));
    const eventsUrl = `${bot.url}/slack/events`;
    say(
      `   ${bot.url}: POST /slack/events, POST /webhooks/jenkins, GET /healthz, GET /metrics (its JSON log: ${path.relative(process.cwd(), serveLog)})`,
    );

    step(3, `Jenkins: build ${PROJECT} ${VERSION}, copy it to the staging directory, notify the bot (signed JWT)`);
    const packed = await npmPack(path.join(work, 'jenkins-workspace'), {
      name: PROJECT,
      version: VERSION,
      body: "module.exports = () => 'hello from release-bot';\n",
    });
    const stagedDir = path.join(staging, PROJECT, VERSION);
    mkdirSync(stagedDir, { recursive: true });
    const stagedFile = path.join(stagedDir, path.basename(packed.file));
    copyFileSync(packed.file, stagedFile); // what the Jenkinsfile's scp does
    const jenkinsEnv = { PATH: env.PATH, HOME: work, RELEASE_BOT_MODE: 'demo', JENKINS_JWT_SECRET: jwtSecret, JOB_NAME: PROJECT };
    const notify = await cli(
      [
        'notify',
        '--url',
        bot.url,
        '--project',
        PROJECT,
        '--version',
        VERSION,
        '--build-number',
        String(BUILD),
        '--build-url',
        `https://jenkins.example/job/${PROJECT}/${BUILD}/`,
        '--commit',
        COMMIT,
        stagedFile,
      ],
      jenkinsEnv,
      work,
    );
    say(
      `   $ release-bot notify --url ${bot.url} --project ${PROJECT} --version ${VERSION} --build-number ${BUILD} ... ${path.basename(stagedFile)}`,
    );
    for (const line of (notify.stdout + notify.stderr).trim().split('\n')) say(`   ${line}`);
    if (notify.code !== 0) throw new Error(`release-bot notify exited with ${notify.code}: the build was not staged`);
    await slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).includes('is ready to release'));

    step(4, `mallory (not in release/${PROJECT}) asks for the release`);
    const denial = await slash(slack, eventsUrl, signingSecret, 'mallory', `${PROJECT} ${VERSION}`);
    say(`   only mallory sees (ephemeral): ${text(denial)}`);

    step(5, 'alice (in release/hello-team, a member group of release/hello-cli) asks for the release');
    const done = await slash(slack, eventsUrl, signingSecret, 'alice', `${PROJECT} ${VERSION}`);
    say(`   only alice sees (ephemeral): ${text(done).split('\n')[0]}`);
    const started = await slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith(`Releasing ${PROJECT} ${VERSION}`));
    const ts = String((started.response as { ts?: string }).ts);
    await slack.waitFor((c) => c.method === 'chat.update' && c.body.ts === ts && !text(c).startsWith('Releasing '), 60_000);

    step(6, `what the release channel ${CHANNEL} shows`);
    say(channelTranscript(slack, CHANNEL));

    step(7, 'the audit: release-bot audit verify, and the chain of custody');
    const verify = await cli(['audit', 'verify'], env, work);
    for (const line of verify.stdout.trim().split('\n')) say(`   ${line}`);
    const trace = await cli(['audit', 'trace', PROJECT, VERSION], env, work);
    writeFileSync(path.join(outDir, 'audit-trace.txt'), trace.stdout);
    say(`\n   $ release-bot audit trace ${PROJECT} ${VERSION}`);
    for (const line of trace.stdout.trim().split('\n')) say(`   ${line}`);

    step(8, `is ${PROJECT}@${VERSION} really in the registry, with the staged bytes?`);
    const res = await fetch(`${registry.url}/${PROJECT}`, { headers: { authorization: `Bearer ${npmToken}` } });
    const doc = res.ok ? ((await res.json()) as { versions?: Record<string, { dist?: { integrity?: string } }> }) : {};
    const integrity = doc.versions?.[VERSION]?.dist?.integrity;
    const saved = saveBlockKit(slack, outDir);
    say(`   registry: ${integrity ?? `no ${PROJECT}@${VERSION} (HTTP ${res.status})`}`);
    say(`   staged:   ${packed.integrity}`);
    say(
      `\nBlock Kit messages (paste into https://app.slack.com/block-kit-builder): ${saved.length} files in ${path.relative(process.cwd(), outDir) || '.'}/blocks/`,
    );
    const ok = integrity === packed.integrity && verify.code === 0;
    say(
      ok
        ? `\ndemo passed: ${PROJECT}@${VERSION} is in the registry, byte for byte what Jenkins staged; the audit chain is intact.`
        : '\ndemo FAILED: see above',
    );
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
