// Part 6: memory. RSS of an idle `release-bot serve` (the real CLI, Slack and the Jenkins webhook on)
// against a bare express server; the same process after N releases driven over HTTP the way they
// come in production (a signed Jenkins report stages each version, a signed Slack /release releases
// it); and a serve() process doing N stage + release cycles in-process with forced gc (leak check).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { botEnv, filesProjectYaml, MEMBER, startConjur, writeStagedFiles } from './lib/bot.js';
import { runLoad } from './lib/load.js';
import { buildReport, slashCommand } from './lib/signed-requests.js';
import { startSlackApi } from './lib/slack-api.js';
import {
  freePort,
  makeTmpDir,
  median,
  mib,
  ms,
  percentile,
  performance,
  ratio,
  removeTmpDir,
  repoRoot,
  runNodeJson,
  sleep,
  SMOKE,
  startProcess,
  stopProcess,
  procStatus,
  waitForHttp,
} from './lib/util.js';

export const id = 'memory';
export const title = 'Memory (issue 7, item 6)';

const RELEASES = SMOKE ? 20 : 1000;
const BATCH = 10;
const IDLE_ROUNDS = SMOKE ? 1 : 3;
const SETTLE_MS = SMOKE ? 500 : 3000;
const PROJECT = 'bench-files';

/** Samples a process's VmRSS a few times and keeps the median. */
async function rssOf(pid) {
  const rss = [];
  for (let i = 0; i < 5; i++) {
    rss.push(procStatus(pid).VmRSS);
    await sleep(100);
  }
  return median(rss);
}

/** heap used as the bot's /metrics reports it (prom-client's default metrics), when it has them. */
async function heapFromMetrics(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function idleRss(file, args, env) {
  const port = await freePort();
  const proc = startProcess(file, args, { env: { ...env, PORT: String(port) }, cwd: repoRoot });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, proc);
    await sleep(SETTLE_MS);
    return await rssOf(proc.child.pid);
  } finally {
    await stopProcess(proc);
  }
}

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-memory-');
  const { conjur, apiKey } = await startConjur();
  const slack = await startSlackApi();
  try {
    const signingSecret = randomBytes(16).toString('hex');
    const jwtSecret = randomBytes(32).toString('hex');
    const env = botEnv(root, conjur, apiKey, filesProjectYaml(root, PROJECT, 2), {
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(8).toString('hex')}`,
      SLACK_API_URL: slack.url,
      JENKINS_JWT_SECRET: jwtSecret,
    });
    const bin = path.join(repoRoot, 'bin', 'release-bot.js');

    log(`idle RSS: release-bot serve vs bare express, ${IDLE_ROUNDS} interleaved round(s)`);
    const bot = [];
    const bare = [];
    for (let r = 0; r < IDLE_ROUNDS; r++) {
      bot.push(await idleRss(process.execPath, [bin, 'serve'], env));
      bare.push(await idleRss(process.execPath, [path.join(repoRoot, 'bench', 'bare-express-child.js')], { PATH: process.env.PATH }));
    }

    // The real CLI server, with releases coming in over HTTP as they do in production.
    log(`${RELEASES} releases over HTTP (Jenkins report, then Slack /release) into release-bot serve`);
    const port = await freePort();
    const server = startProcess(process.execPath, [bin, 'serve'], { env: { ...env, PORT: String(port) }, cwd: repoRoot });
    const http = { idle: 0, idleHeap: undefined, checkpoints: [], after: 0, afterHeap: undefined, ms: 0, published: 0 };
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
      await sleep(SETTLE_MS);
      http.idle = await rssOf(server.child.pid);
      http.idleHeap = await heapFromMetrics(port);
      const db = new Database(path.join(env.RELEASE_BOT_DATA_DIR, 'release-bot.sqlite'), { readonly: true, fileMustExist: true });
      const states = () =>
        Object.fromEntries(
          db
            .prepare('SELECT state, count(*) AS n FROM releases GROUP BY state')
            .all()
            .map((s) => [s.state, s.n]),
        );
      const started = performance.now();
      try {
        for (let done = 0; done < RELEASES; done += BATCH) {
          const versions = Array.from(
            { length: Math.min(BATCH, RELEASES - done) },
            (_, i) => `6.${Math.floor((done + i) / 100)}.${(done + i) % 100}`,
          );
          const reports = versions.map((v, i) => buildReport(path.join(root, 'staging'), jwtSecret, PROJECT, v, done + i + 1));
          await runLoad({
            url: `http://127.0.0.1:${port}/webhooks/jenkins`,
            concurrency: BATCH,
            requests: reports.length,
            build: (i) => reports[i],
            expect: 202,
          });
          const commands = versions.map((v) => slashCommand(signingSecret, { text: `${PROJECT} ${v}`, responseUrl: slack.responseUrl(v) }));
          await runLoad({
            url: `http://127.0.0.1:${port}/slack/events`,
            concurrency: BATCH,
            requests: commands.length,
            build: (i) => commands[i],
            expect: 200,
          });
          const deadline = Date.now() + 120_000;
          for (;;) {
            const s = states();
            if ((s.published ?? 0) === done + versions.length) break;
            const bad = Object.entries(s).filter(
              ([state]) => !['published', 'requested', 'authorized', 'verifying', 'publishing'].includes(state),
            );
            if (bad.length > 0 || Date.now() > deadline) throw new Error(`releases did not all publish: ${JSON.stringify(s)}`);
            await sleep(10);
          }
          const n = done + versions.length;
          if (n % Math.max(BATCH, RELEASES / 10) === 0) http.checkpoints.push({ releases: n, rss: procStatus(server.child.pid).VmRSS });
        }
        http.ms = performance.now() - started;
        await sleep(SETTLE_MS);
        http.after = await rssOf(server.child.pid);
        http.afterHeap = await heapFromMetrics(port);
        http.hwm = procStatus(server.child.pid).VmHWM;
        http.published = states().published;
      } finally {
        db.close();
      }
    } finally {
      await stopProcess(server);
    }

    log(`${RELEASES} stage + release cycles in a serve() process, with gc`);
    const inProcessPort = await freePort();
    const versions = Array.from({ length: RELEASES }, (_, i) => `2.${Math.floor(i / 100)}.${i % 100}`);
    for (const v of versions) writeStagedFiles(root, PROJECT, v);
    const result = await runNodeJson('memory-child.js', [], {
      nodeArgs: ['--expose-gc'],
      cwd: repoRoot,
      env: {
        ...env,
        RELEASE_BOT_DATA_DIR: path.join(root, 'data-in-process'),
        PORT: String(inProcessPort),
        BENCH_PROJECT: PROJECT,
        BENCH_VERSIONS: versions.join(','),
        BENCH_LOGIN: MEMBER,
      },
      timeoutMs: 30 * 60_000,
    });
    if (result.health !== 200) throw new Error(`/healthz answered ${result.health} after the releases`);
    const at = (label) => result.samples.find((s) => s.label === label);
    const idle = at('idle');
    const idleGc = at('idle, after gc');
    const after = at(`after ${RELEASES} releases`);
    const afterGc = at(`after ${RELEASES} releases, after gc`);
    const checkpoints = result.samples.filter((s) => s.gc && s.releases > 0);
    const heapSlope =
      checkpoints.length >= 2
        ? (checkpoints.at(-1).heapUsed - checkpoints[0].heapUsed) / (checkpoints.at(-1).releases - checkpoints[0].releases)
        : NaN;
    const heap = (x) => (x === undefined ? 'n/a' : `${mib(x)} MiB`);

    return {
      summary: [
        {
          figure: 'idle RSS: `release-bot serve` vs bare express (MiB)',
          bot: mib(median(bot)),
          baseline: mib(median(bare)),
          ratio: ratio(median(bot), median(bare)),
        },
        {
          figure: `\`release-bot serve\` RSS after ${RELEASES} releases over HTTP vs idle (MiB)`,
          bot: mib(http.after),
          baseline: mib(http.idle),
          ratio: ratio(http.after, http.idle),
        },
        {
          figure: `heap after gc, ${RELEASES} releases in-process vs idle (MiB)`,
          bot: mib(afterGc.heapUsed),
          baseline: mib(idleGc.heapUsed),
          ratio: ratio(afterGc.heapUsed, idleGc.heapUsed),
        },
      ],
      tables: [
        {
          caption: `Idle RSS (VmRSS, median of 5 samples ${SETTLE_MS / 1000} s after /healthz first answered; median of ${IDLE_ROUNDS} interleaved start(s))`,
          headers: ['process', 'idle RSS', 'vs bare express'],
          rows: [
            [
              '`node bin/release-bot.js serve` (Slack front end and Jenkins webhook on, SQLite store, Conjur client)',
              `${mib(median(bot))} MiB`,
              ratio(median(bot), median(bare)),
            ],
            ['bare express server, one JSON route (baseline)', `${mib(median(bare))} MiB`, '1.00x'],
          ],
        },
        {
          caption: `\`release-bot serve\` through ${RELEASES} releases over HTTP, ${BATCH} at a time: a signed Jenkins report stages each version (202), a signed Slack \`/release\` releases it (2 directory destinations, credentials from Conjur, messages to a loopback Slack Web API)`,
          headers: ['when', 'RSS', 'heap used (from /metrics)'],
          rows: [
            ['idle', `${mib(http.idle)} MiB`, heap(http.idleHeap)],
            ...http.checkpoints.map((c) => [`after ${c.releases} releases`, `${mib(c.rss)} MiB`, '']),
            [`after ${RELEASES} releases, ${SETTLE_MS / 1000} s later`, `${mib(http.after)} MiB`, heap(http.afterHeap)],
            ['peak RSS (VmHWM)', `${mib(http.hwm)} MiB`, ''],
          ],
        },
        {
          caption: `One serve() process (what \`release-bot serve\` runs, Slack on) through ${RELEASES} stage + release cycles in-process, one at a time, run with --expose-gc`,
          headers: ['when', 'RSS', 'heap used', 'external', 'peak RSS so far'],
          rows: [idle, idleGc, after, afterGc].map((s) => [
            s.label,
            `${mib(s.rss)} MiB`,
            `${mib(s.heapUsed)} MiB`,
            `${mib(s.external)} MiB`,
            `${mib(s.hwm)} MiB`,
          ]),
        },
        {
          caption: 'Heap used after gc at checkpoints of the in-process run (leak check)',
          headers: ['releases', 'heap used', 'RSS'],
          rows: [idleGc, ...checkpoints].map((s) => [s.releases, `${mib(s.heapUsed)} MiB`, `${mib(s.rss)} MiB`]),
        },
      ],
      notes: [
        `Over HTTP: ${http.published} releases published in ${(http.ms / 1000).toFixed(1)} s; RSS grew ${mib(http.after - http.idle)} MiB.`,
        `In-process: heap growth between the first and last checkpoint ${Number.isFinite(heapSlope) ? `${(heapSlope / 1024).toFixed(2)} KiB per release` : 'n/a'}; RSS growth ${mib(after.rss - idle.rss)} MiB (${mib(afterGc.rss - idleGc.rss)} MiB after gc); stage + release cycle median ${ms(median(result.durations))} ms, p99 ${ms(percentile(result.durations, 99))} ms.`,
        "RSS includes SQLite's page cache and the allocator's retained pages, which a process keeps after a burst; heap used after gc is the figure that would show a leak.",
      ],
    };
  } finally {
    await slack.close();
    await conjur.close();
    removeTmpDir(root);
  }
}
