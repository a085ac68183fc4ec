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
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { channelTranscript, saveBlockKit } from './demo-transcript.js';
import { PROJECT, startDevWorld, VERSION } from './dev-world.js';
import { cli } from './serve-process.js';
import { sendSlackRequest, slashCommand } from './slack-requests.js';
import type { RecordedSlackCall, SlackStandIn } from './slack-stand-in.js';
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

    step(1, 'start a Conjur stand-in, a Slack Web API stand-in, a real npm registry (Verdaccio) and release-bot serve');
    const serveLog = path.join(outDir, 'serve.log');
    const world = await startDevWorld(
      { name: 'demo', work, channel: CHANNEL, users: USERS, serveLog, packageBody: "module.exports = () => 'hello from release-bot';\n" },
      cleanups,
    );
    const { registry, npmToken, conjur, slack, bot, packed, stagedFile } = world;
    say(`   Conjur stand-in ${conjur.url} (account demo): group release/hello-cli <- group release/hello-team <- user alice`);
    say(`   Slack stand-in  ${slack.apiUrl}`);
    say(`   npm registry    ${registry.url}/ (the bot's token for it is the Conjur variable release/npm/token)`);

    step(2, 'release-bot serve runs on a generated configuration (RELEASE_BOT_MODE=demo)');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: work, ...world.botEnv };
    const signingSecret = world.signingSecret;
    copyFileSync(world.config, path.join(outDir, 'releases.yml'));
    const eventsUrl = `${bot.url}/slack/events`;
    say(
      `   ${bot.url}: POST /slack/events, POST /webhooks/jenkins, GET /healthz, GET /metrics (its JSON log: ${path.relative(process.cwd(), serveLog)})`,
    );

    step(3, `Jenkins: build ${PROJECT} ${VERSION}, copy it to the staging directory, notify the bot (signed JWT)`);
    const jenkinsEnv = { PATH: env.PATH, HOME: work, RELEASE_BOT_MODE: 'demo', JENKINS_JWT_SECRET: world.jwtSecret, JOB_NAME: PROJECT };
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
