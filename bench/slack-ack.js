// Part 1: slash-command acknowledgement latency. Signed `/release <project> <version>` requests,
// 1, 50 and 200 at once, against the bot's Slack front end and against a bare Bolt app whose
// listener only acks, both in one server process, interleaved. Slack's limit is 3 s; the goal is a
// p99 within 1.5x of the bare app's.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { botEnv, GROUP } from './lib/bot.js';
import { runLoad } from './lib/load.js';
import { slashCommand } from './lib/signed-requests.js';
import {
  freePort,
  makeTmpDir,
  ms,
  percentile,
  ratio,
  removeTmpDir,
  repoRoot,
  sleep,
  SMOKE,
  startProcess,
  stopProcess,
  waitForOutput,
} from './lib/util.js';

export const id = 'slack-ack';
export const title = 'Slash-command acknowledgement latency (issue 7, item 1)';

/** Per concurrency level: how many bursts of that many simultaneous requests make one run (BENCH_LEVELS=50,200: only those). */
const ALL_LEVELS = SMOKE
  ? [
      { c: 1, bursts: 10 },
      { c: 10, bursts: 1 },
    ]
  : [
      { c: 1, bursts: 50 },
      { c: 50, bursts: 4 },
      { c: 200, bursts: 2 },
    ];
const PLAN = process.env.BENCH_LEVELS ? ALL_LEVELS.filter((p) => process.env.BENCH_LEVELS.split(',').includes(String(p.c))) : ALL_LEVELS;
// BENCH_ROUNDS: fewer rounds on a machine too busy for three (the report says how many ran).
const ROUNDS = SMOKE ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);
const PROJECT = 'bench-slack';

export async function available() {
  const built = (rel) => existsSync(fileURLToPath(new URL(`../dist/${rel}`, import.meta.url)));
  if (!built('handlers/slack/mount.js'))
    return { ok: false, reason: 'the Slack front end (handlers/slack) is not in dist/: run `npm run build`' };
  if (!readFileSync(fileURLToPath(new URL('../dist/app/serve.js', import.meta.url)), 'utf8').includes('startSlackFrontEnd')) {
    return { ok: false, reason: 'app/serve.ts does not start the Slack front end (startSlackFrontEnd) yet' };
  }
  return { ok: true };
}

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-slack-');
  let server;
  // Three processes: this one (the load generator), the stand-ins (Conjur, Slack's Web API and
  // response_url) and the server (the bot and the bare app): neither app pays for the stand-ins' work.
  const standIns = startProcess(process.execPath, [path.join(repoRoot, 'bench', 'stand-ins-child.js')], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  try {
    await waitForOutput(standIns, /"ready":true/, 60_000);
    const ready = JSON.parse(
      standIns
        .output()
        .split('\n')
        .find((l) => l.includes('"ready":true')),
    );
    const conjur = { url: ready.conjurUrl };
    const apiKey = ready.apiKey;
    const slack = { url: ready.slackUrl, responseUrl: (n) => `${ready.responseBase}${n}` };
    const slackCalls = () =>
      new Promise((resolve) => {
        standIns.child.once('message', (m) => resolve(m.calls));
        standIns.child.send('calls');
      });
    const signingSecret = randomBytes(16).toString('hex');
    const botRequests = ROUNDS * PLAN.reduce((n, p) => n + p.c * p.bursts, 0);
    const warmup = 5;
    const projectYaml = [
      `  ${PROJECT}:`,
      `    authorized_group: ${GROUP}`,
      `    jenkins_job: ${PROJECT}`,
      '    artifact: files',
      '    destinations:',
      '      - name: mirror',
      '        type: directory',
      `        path: ${root}/out/{project}/{version}`,
    ].join('\n');
    const [port, barePort] = [await freePort(), await freePort()];
    const env = botEnv(root, conjur, apiKey, projectYaml, {
      PORT: String(port),
      BARE_PORT: String(barePort),
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(8).toString('hex')}`,
      SLACK_API_URL: slack.url,
      BENCH_PROJECT: PROJECT,
      BENCH_STAGE: String(botRequests + warmup),
      ...(process.env.RELEASE_BOT_MAX_CONCURRENT_RELEASES
        ? { RELEASE_BOT_MAX_CONCURRENT_RELEASES: process.env.RELEASE_BOT_MAX_CONCURRENT_RELEASES }
        : {}),
    });
    log(`staging ${botRequests + warmup} versions in the server process`);
    server = startProcess(process.execPath, [path.join(repoRoot, 'bench', 'slack-servers-child.js')], {
      env,
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    await waitForOutput(server, /"ready":true/, 10 * 60_000);

    // The bot's requests walk through the staged versions; the bare app's get the same shape of text.
    const seq = { bot: 0, bare: 0, help: 0 };
    /** A slash command for the next version, signed as Slack signs it, when it is sent. */
    const command = (name) => {
      const n = seq[name]++;
      const version = `5.${Math.floor(n / 1000)}.${n % 1000}`;
      return slashCommand(signingSecret, {
        text: name === 'help' ? 'help' : `${PROJECT} ${version}`,
        responseUrl: slack.responseUrl(`${name}-${n}`),
      });
    };
    const ask = (m) =>
      new Promise((resolve) => {
        server.child.once('message', resolve);
        server.child.send(m);
      });
    /** Waits until the bot has no release in flight and its Slack messages have stopped. */
    const settle = async () => {
      for (let quiet = 0, last = -1; quiet < 3;) {
        const { inFlight } = await ask('states');
        const calls = await slackCalls();
        quiet = inFlight === 0 && calls === last ? quiet + 1 : 0;
        last = calls;
        await sleep(100);
      }
    };
    const urls = {
      bot: `http://127.0.0.1:${port}/slack/events`,
      help: `http://127.0.0.1:${port}/slack/events`,
      bare: `http://127.0.0.1:${barePort}/slack/events`,
    };
    const delays = Object.fromEntries(PLAN.map((p) => [p.c, { bot: [], bare: [], help: [] }]));
    const profiled = new Map();
    const loads = [];
    const burst = async (name, c) => {
      // BENCH_CPU_PROF=<dir>: the serving thread's CPU profile of each burst of 50 or more, to see what holds its loop.
      const profile =
        process.env.BENCH_CPU_PROF && c >= 50
          ? path.join(process.env.BENCH_CPU_PROF, `${name}-c${c}-${profiled.set(name, (profiled.get(name) ?? 0) + 1).get(name)}.cpuprofile`)
          : undefined;
      if (profile) await ask({ profile: 'start' });
      await ask('delay-reset');
      loads.push(loadavg()[0]);
      const result = await runLoad({ url: urls[name], concurrency: c, requests: c, build: () => command(name), expect: 200 });
      // The profile covers the burst and the releases it started, until they settle.
      if (profile && name === 'bot') await settle();
      if (profile) await ask({ profile: 'stop', file: profile });
      const level = delays[c];
      if (level) level[name].push(await ask('delay'));
      return result;
    };

    for (const name of ['bot', 'help', 'bare']) for (let i = 0; i < warmup; i++) await burst(name, 1);
    await settle();

    const latencies = Object.fromEntries(PLAN.map((p) => [p.c, { bot: [], bare: [], help: [] }]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const { c, bursts } of PLAN) {
        log(`round ${r + 1} of ${ROUNDS}: ${bursts} burst(s) of ${c}`);
        for (const name of r % 2 === 0 ? ['bot', 'help', 'bare'] : ['bare', 'help', 'bot']) {
          for (let b = 0; b < bursts; b++) {
            latencies[c][name].push(...(await burst(name, c)).latencies);
            // Every release the burst started finishes before the next burst: each starts from the same state.
            if (name === 'bot') await settle();
          }
        }
      }
    }
    const { states } = await ask('states');
    // A release refused (on a loaded machine the Conjur stand-in can answer late) was still acked: counted, and said below.
    if ((states.published ?? 0) + (states.denied ?? 0) !== seq.bot || (states.published ?? 0) < seq.bot * 0.9)
      throw new Error(`${states.published ?? 0} of the ${seq.bot} releases the bench asked for were published: ${JSON.stringify(states)}`);

    const rows = [];
    const diagnostics = [];
    const summary = [];
    for (const { c } of PLAN) {
      const { bot, bare, help } = latencies[c];
      const worst = (name, key) => Math.max(...delays[c][name].map((d) => d[key]));
      diagnostics.push([
        c,
        ms(percentile(help, 50)),
        ms(percentile(help, 99)),
        ms(worst('bot', 'max')),
        ms(worst('help', 'max')),
        ms(worst('bare', 'max')),
      ]);
      const [b50, b99, r50, r99] = [percentile(bot, 50), percentile(bot, 99), percentile(bare, 50), percentile(bare, 99)];
      rows.push([c, bot.length, ms(b50), ms(r50), ratio(b50, r50), ms(b99), ms(r99), ratio(b99, r99), ms(Math.max(...bot))]);
      summary.push({
        figure: `/release ack at ${c} concurrent: p99 ms (p50)`,
        bot: `${ms(b99)} (${ms(b50)})`,
        baseline: `${ms(r99)} (${ms(r50)})`,
        ratio: `${ratio(b99, r99)} p99`,
      });
    }
    return {
      summary,
      tables: [
        {
          caption: `Ack latency in ms (request sent to response read), over ${ROUNDS} interleaved round(s); goal: bot p99 within 1.5x of the bare app, and far below Slack's 3 s`,
          headers: ['concurrent', 'requests each', 'bot p50', 'bare p50', 'p50 ratio', 'bot p99', 'bare p99', 'p99 ratio', 'bot max'],
          rows,
        },
        {
          caption:
            "Where the time goes: the bot's ack of `/release help` (same process, same path, no release started after it) and the longest event-loop stall in the server process during a burst (monitorEventLoopDelay)",
          headers: [
            'concurrent',
            'bot `help` p50',
            'bot `help` p99',
            'loop stall max: bot `/release`',
            'loop stall max: bot `help`',
            'loop stall max: bare',
          ],
          rows: diagnostics,
        },
      ],
      notes: [
        'Both apps are Bolt 5 ExpressReceivers in one server process (bench/slack-servers-child.js): the bot through serve() (as `release-bot serve` runs it: signature check, command parsing, ack, then the release in its release thread), the bare app on a second port with a listener that only acks. The load generator (the bench process) signs each request as Slack does when it sends it; the Conjur and Slack Web API stand-ins run in a third process (bench/stand-ins-child.js), so their work is counted against neither app.',
        `Load average (1 min) during the bursts: ${loads.length ? `${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}` : 'n/a'} on ${cpus().length} cores.`,
        `Every bot request asks for a different staged version, so every ack is followed by a real release (Conjur membership, verified copy, a directory destination, messages to a loopback Slack Web API): the requests of a burst are acknowledged while the releases of the ones acked first already run. After each burst the bench waits until all of them have finished (${states.published ?? 0} published in all${states.denied ? `, ${states.denied} refused (a loaded machine: Conjur stand-in answers too late count as refusals)` : ''}).`,
        `A burst of N opens N connections at once; the latency includes connecting. Requests per level: bursts × N per round, rounds × that in all.`,
      ],
    };
  } finally {
    if (server) await stopProcess(server);
    await stopProcess(standIns);
    removeTmpDir(root);
  }
}
